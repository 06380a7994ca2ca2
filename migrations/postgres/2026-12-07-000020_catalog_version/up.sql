-- One counter that every change to what the catalog lists moves (charts, dashboards, their
-- links and owners, datasets, databases, users): each replica's in-memory catalog index
-- reloads when it sees the counter move, whichever replica or script wrote.
-- The bump runs once per transaction, at its commit (a deferred constraint trigger), so the
-- counter's row is locked only for that moment and never before another lock is taken:
-- concurrent catalog writes cannot deadlock on it.
CREATE TABLE catalog_version (id INTEGER PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL);
INSERT INTO catalog_version (id, n) VALUES (1, 0);
CREATE FUNCTION catalog_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('vizier.catalog_bumped', true) = 'yes' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('vizier.catalog_bumped', 'yes', true);
    UPDATE catalog_version SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER catalog_version_charts AFTER INSERT OR UPDATE OR DELETE ON charts DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_version_bump();
CREATE CONSTRAINT TRIGGER catalog_version_dashboards AFTER INSERT OR UPDATE OR DELETE ON dashboards DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_version_bump();
CREATE CONSTRAINT TRIGGER catalog_version_dashboard_charts AFTER INSERT OR UPDATE OR DELETE ON dashboard_charts DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_version_bump();
CREATE CONSTRAINT TRIGGER catalog_version_dashboard_owners AFTER INSERT OR UPDATE OR DELETE ON dashboard_owners DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_version_bump();
CREATE CONSTRAINT TRIGGER catalog_version_datasets AFTER INSERT OR UPDATE OR DELETE ON datasets DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_version_bump();
CREATE CONSTRAINT TRIGGER catalog_version_databases AFTER INSERT OR UPDATE OR DELETE ON databases DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_version_bump();
CREATE CONSTRAINT TRIGGER catalog_version_users AFTER INSERT OR UPDATE OR DELETE ON users DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_version_bump();

-- One counter that every change to what the catalog lists moves (charts, dashboards, their
-- links and owners, datasets, databases, users): each replica's in-memory catalog index
-- reloads when it sees the counter move, whoever wrote (another process, a script).
CREATE TABLE catalog_version (id INTEGER PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL);
INSERT INTO catalog_version (id, n) VALUES (1, 0);
CREATE TRIGGER catalog_version_charts_insert AFTER INSERT ON charts BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_charts_update AFTER UPDATE ON charts BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_charts_delete AFTER DELETE ON charts BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_dashboards_insert AFTER INSERT ON dashboards BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_dashboards_update AFTER UPDATE ON dashboards BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_dashboards_delete AFTER DELETE ON dashboards BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_dashboard_charts_insert AFTER INSERT ON dashboard_charts BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_dashboard_charts_update AFTER UPDATE ON dashboard_charts BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_dashboard_charts_delete AFTER DELETE ON dashboard_charts BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_dashboard_owners_insert AFTER INSERT ON dashboard_owners BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_dashboard_owners_update AFTER UPDATE ON dashboard_owners BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_dashboard_owners_delete AFTER DELETE ON dashboard_owners BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_datasets_insert AFTER INSERT ON datasets BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_datasets_update AFTER UPDATE ON datasets BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_datasets_delete AFTER DELETE ON datasets BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_databases_insert AFTER INSERT ON databases BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_databases_update AFTER UPDATE ON databases BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_databases_delete AFTER DELETE ON databases BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_users_insert AFTER INSERT ON users BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_users_update AFTER UPDATE ON users BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_version_users_delete AFTER DELETE ON users BEGIN UPDATE catalog_version SET n = n + 1 WHERE id = 1; END;

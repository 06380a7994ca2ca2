-- Contract: the names of the previous migration are no longer unique across tenants.
ALTER TABLE databases DROP CONSTRAINT databases_name_key;
ALTER TABLE dashboards DROP CONSTRAINT dashboards_slug_key;
ALTER TABLE rls_rules DROP CONSTRAINT rls_rules_name_key;

-- Fails if two tenants use the same name: rename one first.
ALTER TABLE rls_rules ADD CONSTRAINT rls_rules_name_key UNIQUE (name);
ALTER TABLE dashboards ADD CONSTRAINT dashboards_slug_key UNIQUE (slug);
ALTER TABLE databases ADD CONSTRAINT databases_name_key UNIQUE (name);

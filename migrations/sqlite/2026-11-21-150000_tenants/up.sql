-- Tenants. NULL everywhere means "no tenant": the only state while tenants.enabled is off.
-- With tenants on, a principal sees only rows of its own tenant; rows with NULL are
-- nobody's (fail closed) until `vizier tenant adopt <tenant>` gives them to one.
-- Datasets, charts, saved queries and query history belong to their database's tenant;
-- API keys to their user's; roles with NULL are shared (the built-in ones) and read-only
-- to tenant principals.
ALTER TABLE users ADD COLUMN tenant TEXT;
ALTER TABLE roles ADD COLUMN tenant TEXT;
ALTER TABLE databases ADD COLUMN tenant TEXT;
ALTER TABLE dashboards ADD COLUMN tenant TEXT;
ALTER TABLE rls_rules ADD COLUMN tenant TEXT;
CREATE INDEX users_tenant ON users(tenant);
CREATE INDEX databases_tenant ON databases(tenant);
CREATE INDEX dashboards_tenant ON dashboards(tenant);
CREATE INDEX audit_log_tenant_created_on ON audit_log(tenant, created_on);

DROP INDEX audit_log_tenant_created_on;
DROP INDEX dashboards_tenant;
DROP INDEX databases_tenant;
DROP INDEX users_tenant;
ALTER TABLE rls_rules DROP COLUMN tenant;
ALTER TABLE dashboards DROP COLUMN tenant;
ALTER TABLE databases DROP COLUMN tenant;
ALTER TABLE roles DROP COLUMN tenant;
ALTER TABLE users DROP COLUMN tenant;

DROP INDEX rls_rules_tenant_name;
DROP INDEX dashboards_tenant_slug;
DROP INDEX databases_tenant_name;

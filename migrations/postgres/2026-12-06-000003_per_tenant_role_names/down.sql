DROP INDEX roles_tenant_name;

DROP INDEX users_tenant_username;

-- Expand: role names are unique per tenant (NULL, the shared roles, counts as one tenant of
-- its own); a tenant's role still cannot take a shared role's name (create_role checks).
-- The global constraint goes in the next migration.
CREATE UNIQUE INDEX roles_tenant_name ON roles ((COALESCE(tenant, '')), name);

-- Expand: usernames are unique per tenant (NULL, users not yet bound to a tenant, counts as
-- one tenant of its own). The global constraint goes in the next migration.
CREATE UNIQUE INDEX users_tenant_username ON users ((COALESCE(tenant, '')), username);

-- Expand: database names, dashboard slugs and RLS rule names are unique per tenant
-- (NULL, no tenant, counts as one tenant of its own), so that a clash never tells one
-- tenant what another has named. The global constraints go in the next migration.
CREATE UNIQUE INDEX databases_tenant_name ON databases ((COALESCE(tenant, '')), name);
CREATE UNIQUE INDEX dashboards_tenant_slug ON dashboards ((COALESCE(tenant, '')), slug)
    WHERE slug IS NOT NULL;
CREATE UNIQUE INDEX rls_rules_tenant_name ON rls_rules ((COALESCE(tenant, '')), name);

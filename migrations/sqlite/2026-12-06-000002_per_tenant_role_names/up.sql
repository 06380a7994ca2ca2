-- Role names are unique per tenant (NULL, the shared roles, counts as one tenant of its
-- own); a tenant's role still cannot take a shared role's name (create_role checks).
-- The roles table is rebuilt without its inline UNIQUE (columns, ids and the AUTOINCREMENT
-- counter kept), outside diesel's transaction with foreign keys off, as in
-- 2026-12-06-000001_per_tenant_names (user_roles, role_permissions and rls_rule_roles refer
-- to roles with ON DELETE CASCADE).

PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE roles_new (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_on TIMESTAMP NOT NULL,
    changed_on TIMESTAMP NOT NULL,
    created_by_fk INTEGER REFERENCES users(id),
    changed_by_fk INTEGER REFERENCES users(id),
    tenant TEXT
);
INSERT INTO roles_new (id, uuid, name, description, created_on, changed_on, created_by_fk, changed_by_fk, tenant)
    SELECT id, uuid, name, description, created_on, changed_on, created_by_fk, changed_by_fk, tenant FROM roles;
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'roles_new', seq FROM sqlite_sequence WHERE name = 'roles'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'roles_new');
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'roles')
    WHERE name = 'roles_new' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'roles');
DROP TABLE roles;
ALTER TABLE roles_new RENAME TO roles;
CREATE UNIQUE INDEX roles_tenant_name ON roles(COALESCE(tenant, ''), name);

-- Every reference must still resolve: a dangling one fails the CHECK, and the migration.
CREATE TEMP TABLE per_tenant_role_names_fk_check (dangling INTEGER CHECK (dangling = 0));
INSERT INTO per_tenant_role_names_fk_check SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE per_tenant_role_names_fk_check;
COMMIT;
PRAGMA foreign_keys = ON;

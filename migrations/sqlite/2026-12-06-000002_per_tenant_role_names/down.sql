-- Fails if two tenants use the same role name: rename one first.

PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE roles_new (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
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

-- Every reference must still resolve: a dangling one fails the CHECK, and the migration.
CREATE TEMP TABLE per_tenant_role_names_fk_check (dangling INTEGER CHECK (dangling = 0));
INSERT INTO per_tenant_role_names_fk_check SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE per_tenant_role_names_fk_check;
COMMIT;
PRAGMA foreign_keys = ON;

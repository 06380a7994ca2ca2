-- Usernames are unique per tenant (NULL, users not yet bound to a tenant, counts as one
-- tenant of its own). The users table is rebuilt without its inline UNIQUE (columns, ids
-- and the AUTOINCREMENT counter kept), outside diesel's transaction with foreign keys off,
-- as in 2026-12-06-000001_per_tenant_names: most tables refer to users.

PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE users_new (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL,
    email TEXT,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_on TIMESTAMP NOT NULL,
    changed_on TIMESTAMP NOT NULL,
    created_by_fk INTEGER REFERENCES users(id),
    changed_by_fk INTEGER REFERENCES users(id),
    tenant TEXT
);
INSERT INTO users_new (id, uuid, username, email, first_name, last_name, active, created_on, changed_on, created_by_fk, changed_by_fk, tenant)
    SELECT id, uuid, username, email, first_name, last_name, active, created_on, changed_on, created_by_fk, changed_by_fk, tenant FROM users;
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'users_new', seq FROM sqlite_sequence WHERE name = 'users'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'users_new');
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'users')
    WHERE name = 'users_new' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'users');
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_tenant ON users(tenant);
CREATE UNIQUE INDEX users_tenant_username ON users(COALESCE(tenant, ''), username);

-- Every reference must still resolve: a dangling one fails the CHECK, and the migration.
CREATE TEMP TABLE per_tenant_usernames_fk_check (dangling INTEGER CHECK (dangling = 0));
INSERT INTO per_tenant_usernames_fk_check SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE per_tenant_usernames_fk_check;
COMMIT;
PRAGMA foreign_keys = ON;

-- Fails if two tenants use the same name: rename one first. Outside diesel's
-- transaction, for the reasons in up.sql.

PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE databases_new (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    engine TEXT NOT NULL,
    connection_encrypted TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    description TEXT NOT NULL DEFAULT '',
    created_on TIMESTAMP NOT NULL,
    changed_on TIMESTAMP NOT NULL,
    created_by_fk INTEGER REFERENCES users(id),
    changed_by_fk INTEGER REFERENCES users(id),
    tenant TEXT
);
INSERT INTO databases_new (id, uuid, name, engine, connection_encrypted, settings, description, created_on, changed_on, created_by_fk, changed_by_fk, tenant)
    SELECT id, uuid, name, engine, connection_encrypted, settings, description, created_on, changed_on, created_by_fk, changed_by_fk, tenant FROM databases;
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'databases_new', seq FROM sqlite_sequence WHERE name = 'databases'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'databases_new');
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'databases')
    WHERE name = 'databases_new' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'databases');
DROP TABLE databases;
ALTER TABLE databases_new RENAME TO databases;
CREATE INDEX databases_tenant ON databases(tenant);

CREATE TABLE dashboards_new (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    slug TEXT UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    published BOOLEAN NOT NULL DEFAULT FALSE,
    layout TEXT NOT NULL DEFAULT '{}',
    json_metadata TEXT NOT NULL DEFAULT '{}',
    version INTEGER NOT NULL DEFAULT 1,
    created_on TIMESTAMP NOT NULL,
    changed_on TIMESTAMP NOT NULL,
    created_by_fk INTEGER REFERENCES users(id),
    changed_by_fk INTEGER REFERENCES users(id),
    deleted_on TIMESTAMP,
    deleted_by_fk INTEGER REFERENCES users(id),
    tenant TEXT
);
INSERT INTO dashboards_new (id, uuid, title, slug, description, published, layout, json_metadata, version, created_on, changed_on, created_by_fk, changed_by_fk, deleted_on, deleted_by_fk, tenant)
    SELECT id, uuid, title, slug, description, published, layout, json_metadata, version, created_on, changed_on, created_by_fk, changed_by_fk, deleted_on, deleted_by_fk, tenant FROM dashboards;
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'dashboards_new', seq FROM sqlite_sequence WHERE name = 'dashboards'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'dashboards_new');
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'dashboards')
    WHERE name = 'dashboards_new' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'dashboards');
DROP TABLE dashboards;
ALTER TABLE dashboards_new RENAME TO dashboards;
CREATE INDEX dashboards_changed_on ON dashboards(changed_on);
CREATE INDEX dashboards_tenant ON dashboards(tenant);

CREATE TABLE rls_rules_new (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    filter_type TEXT NOT NULL CHECK (filter_type IN ('regular', 'base')),
    group_key TEXT,
    clause TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_on TIMESTAMP NOT NULL,
    changed_on TIMESTAMP NOT NULL,
    created_by_fk INTEGER REFERENCES users(id),
    changed_by_fk INTEGER REFERENCES users(id),
    tenant TEXT
);
INSERT INTO rls_rules_new (id, uuid, name, filter_type, group_key, clause, description, created_on, changed_on, created_by_fk, changed_by_fk, tenant)
    SELECT id, uuid, name, filter_type, group_key, clause, description, created_on, changed_on, created_by_fk, changed_by_fk, tenant FROM rls_rules;
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'rls_rules_new', seq FROM sqlite_sequence WHERE name = 'rls_rules'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'rls_rules_new');
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'rls_rules')
    WHERE name = 'rls_rules_new' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'rls_rules');
DROP TABLE rls_rules;
ALTER TABLE rls_rules_new RENAME TO rls_rules;

-- Every reference must still resolve: a dangling one fails the CHECK, and the migration.
CREATE TEMP TABLE per_tenant_names_fk_check (dangling INTEGER CHECK (dangling = 0));
INSERT INTO per_tenant_names_fk_check SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE per_tenant_names_fk_check;
COMMIT;
PRAGMA foreign_keys = ON;

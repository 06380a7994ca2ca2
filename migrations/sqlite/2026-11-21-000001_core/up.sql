-- The metadata store: who may do what, where data lives, and the BI objects built on it.
-- Every catalog object carries a uuid and who/when created and last changed it.

CREATE TABLE users (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL UNIQUE,
    email TEXT,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_on TIMESTAMP NOT NULL,
    changed_on TIMESTAMP NOT NULL,
    created_by_fk INTEGER REFERENCES users(id),
    changed_by_fk INTEGER REFERENCES users(id)
);

CREATE TABLE roles (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_on TIMESTAMP NOT NULL,
    changed_on TIMESTAMP NOT NULL,
    created_by_fk INTEGER REFERENCES users(id),
    changed_by_fk INTEGER REFERENCES users(id)
);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role_id ON user_roles(role_id);

-- A grant: a permission name (a tool family action such as 'catalog.read', or
-- 'database_access' / 'dataset_access' / 'all_datasource_access'), optionally narrowed to
-- one object.
CREATE TABLE role_permissions (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    role_id INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    object_type TEXT,
    object_id INTEGER,
    created_on TIMESTAMP NOT NULL,
    created_by_fk INTEGER REFERENCES users(id),
    UNIQUE (role_id, permission, object_type, object_id)
);
CREATE INDEX role_permissions_role_id ON role_permissions(role_id);

-- A data source. The connection URL (with credentials) is stored only encrypted;
-- settings is JSON (pool size, timeouts, allow_dml, row limit, exposed schemas, ...).
CREATE TABLE databases (
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
    changed_by_fk INTEGER REFERENCES users(id)
);

-- A dataset: a physical table, or virtual when sql is set.
CREATE TABLE datasets (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    database_id INTEGER NOT NULL REFERENCES databases(id),
    schema_name TEXT,
    table_name TEXT NOT NULL,
    sql TEXT,
    description TEXT NOT NULL DEFAULT '',
    main_dttm_col TEXT,
    extra TEXT NOT NULL DEFAULT '{}',
    created_on TIMESTAMP NOT NULL,
    changed_on TIMESTAMP NOT NULL,
    created_by_fk INTEGER REFERENCES users(id),
    changed_by_fk INTEGER REFERENCES users(id),
    deleted_on TIMESTAMP,
    deleted_by_fk INTEGER REFERENCES users(id)
);
CREATE INDEX datasets_database_id ON datasets(database_id);

CREATE TABLE dataset_columns (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    column_name TEXT NOT NULL,
    data_type TEXT NOT NULL DEFAULT '',
    is_temporal BOOLEAN NOT NULL DEFAULT FALSE,
    is_groupable BOOLEAN NOT NULL DEFAULT TRUE,
    is_filterable BOOLEAN NOT NULL DEFAULT TRUE,
    expression TEXT,
    description TEXT NOT NULL DEFAULT '',
    created_on TIMESTAMP NOT NULL,
    changed_on TIMESTAMP NOT NULL,
    created_by_fk INTEGER REFERENCES users(id),
    changed_by_fk INTEGER REFERENCES users(id),
    UNIQUE (dataset_id, column_name)
);

CREATE TABLE dataset_metrics (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    metric_name TEXT NOT NULL,
    expression TEXT NOT NULL,
    verbose_name TEXT,
    description TEXT NOT NULL DEFAULT '',
    d3format TEXT,
    created_on TIMESTAMP NOT NULL,
    changed_on TIMESTAMP NOT NULL,
    created_by_fk INTEGER REFERENCES users(id),
    changed_by_fk INTEGER REFERENCES users(id),
    UNIQUE (dataset_id, metric_name)
);

-- A chart: its type and its typed config as JSON, over one dataset.
CREATE TABLE charts (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    chart_type TEXT NOT NULL,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id),
    config TEXT NOT NULL DEFAULT '{}',
    description TEXT NOT NULL DEFAULT '',
    created_on TIMESTAMP NOT NULL,
    changed_on TIMESTAMP NOT NULL,
    created_by_fk INTEGER REFERENCES users(id),
    changed_by_fk INTEGER REFERENCES users(id),
    deleted_on TIMESTAMP,
    deleted_by_fk INTEGER REFERENCES users(id)
);
CREATE INDEX charts_dataset_id ON charts(dataset_id);
CREATE INDEX charts_changed_on ON charts(changed_on);

CREATE TABLE chart_owners (
    chart_id INTEGER NOT NULL REFERENCES charts(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (chart_id, user_id)
);

-- A dashboard: layout is JSON (rows/tabs of chart positions); version increases on every
-- change so concurrent updates can detect a lost update.
CREATE TABLE dashboards (
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
    deleted_by_fk INTEGER REFERENCES users(id)
);
CREATE INDEX dashboards_changed_on ON dashboards(changed_on);

CREATE TABLE dashboard_charts (
    dashboard_id INTEGER NOT NULL REFERENCES dashboards(id) ON DELETE CASCADE,
    chart_id INTEGER NOT NULL REFERENCES charts(id) ON DELETE CASCADE,
    PRIMARY KEY (dashboard_id, chart_id)
);
CREATE INDEX dashboard_charts_chart_id ON dashboard_charts(chart_id);

CREATE TABLE dashboard_owners (
    dashboard_id INTEGER NOT NULL REFERENCES dashboards(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (dashboard_id, user_id)
);

-- Row-level security: 'regular' rules apply to their roles, 'base' rules to everyone but
-- their roles. Rules sharing a group_key are OR-ed, groups AND-ed.
CREATE TABLE rls_rules (
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
    changed_by_fk INTEGER REFERENCES users(id)
);

CREATE TABLE rls_rule_roles (
    rls_rule_id INTEGER NOT NULL REFERENCES rls_rules(id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (rls_rule_id, role_id)
);

CREATE TABLE rls_rule_datasets (
    rls_rule_id INTEGER NOT NULL REFERENCES rls_rules(id) ON DELETE CASCADE,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    PRIMARY KEY (rls_rule_id, dataset_id)
);
CREATE INDEX rls_rule_datasets_dataset_id ON rls_rule_datasets(dataset_id);

CREATE TABLE saved_queries (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    database_id INTEGER NOT NULL REFERENCES databases(id),
    schema_name TEXT,
    label TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    sql TEXT NOT NULL,
    created_on TIMESTAMP NOT NULL,
    changed_on TIMESTAMP NOT NULL,
    created_by_fk INTEGER REFERENCES users(id),
    changed_by_fk INTEGER REFERENCES users(id)
);

CREATE TABLE query_history (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    user_id INTEGER REFERENCES users(id),
    database_id INTEGER NOT NULL REFERENCES databases(id),
    schema_name TEXT,
    sql TEXT NOT NULL,
    executed_sql TEXT,
    status TEXT NOT NULL,
    error_message TEXT,
    row_count BIGINT,
    duration_ms BIGINT,
    started_on TIMESTAMP NOT NULL,
    finished_on TIMESTAMP
);
CREATE INDEX query_history_user_started ON query_history(user_id, started_on);

-- API keys: only a hash is kept; prefix finds the row without scanning.
CREATE TABLE api_keys (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL,
    scopes TEXT NOT NULL DEFAULT '',
    created_on TIMESTAMP NOT NULL,
    created_by_fk INTEGER REFERENCES users(id),
    expires_on TIMESTAMP,
    last_used_on TIMESTAMP,
    revoked_on TIMESTAMP
);

CREATE TABLE audit_log (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    user_id INTEGER,
    tenant_id TEXT,
    tool TEXT NOT NULL,
    arguments TEXT NOT NULL DEFAULT '{}',
    outcome TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    error_id TEXT,
    created_on TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_created_on ON audit_log(created_on);

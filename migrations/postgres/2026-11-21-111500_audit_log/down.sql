-- Back to the core migration's placeholder table.
DROP TABLE audit_log;

CREATE TABLE audit_log (
    id SERIAL PRIMARY KEY,
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

-- The audit log: one row per tools/call, written in batches by the AuditWriter actor.
-- The core migration created a placeholder `audit_log` that nothing ever wrote to; it is
-- replaced with the shape the writer and `list_audit_log` use (username kept beside
-- user_id so rows stay readable after a user is deleted, sub-millisecond durations).
-- No foreign key on user_id: audit rows outlive the users they name.
-- `tenant` is always NULL until tenants exist.
DROP TABLE audit_log;

CREATE TABLE audit_log (
    id SERIAL PRIMARY KEY,
    created_on TIMESTAMP NOT NULL,
    request_id TEXT NOT NULL,
    user_id INTEGER,
    username TEXT NOT NULL,
    tenant TEXT,
    tool TEXT NOT NULL,
    arguments TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error_id TEXT,
    duration_ms DOUBLE PRECISION NOT NULL
);
-- Retention deletes and time-ordered listing.
CREATE INDEX audit_log_created_on ON audit_log(created_on);
-- "What did this user do, newest first".
CREATE INDEX audit_log_user_created_on ON audit_log(user_id, created_on);

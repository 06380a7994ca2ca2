//! What several tool families share: the answer of a delete or restore ([`Deleted`]), a
//! data source's SQL dialect ([`dialect`]) and the SQL safety layer's refusals as tool
//! errors ([`sql_error`]).

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;

use crate::datasources::Engine;
use crate::error::ToolError;
use crate::sql::{Dialect, SqlError};

/// The answer of `delete_chart`, `delete_dashboard` and `restore_deleted`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Deleted {
    pub object_type: String,
    pub id: i32,
    pub deleted: bool,
    pub hint: String,
}

/// The SQL dialect of a data-source engine.
pub fn dialect(engine: Engine) -> Dialect {
    match engine {
        Engine::Postgres => Dialect::Postgres,
        Engine::MySql => Dialect::MySql,
        Engine::Sqlite => Dialect::Sqlite,
    }
}

/// A refusal from the SQL safety layer, as the caller sees it.
pub fn sql_error(e: SqlError) -> ToolError {
    let kind = match &e {
        SqlError::Parse(_) => "parse",
        SqlError::NotSingleStatement(_) => "not_single_statement",
        SqlError::Forbidden { .. } => "forbidden",
        SqlError::Template(_) => "template",
        SqlError::Rls(_) => "rls",
    };
    let base =
        ToolError::invalid(format!("{e}.")).with_details(json!({"field": "sql", "refusal": kind}));
    if kind == "forbidden" {
        ToolError {
            kind: crate::error::ErrorKind::PermissionDenied,
            ..base
        }
    } else {
        base
    }
}

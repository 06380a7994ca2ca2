//! What several tool families share: the answer of a delete or restore ([`Deleted`]), the
//! insert of a chart with its owner (`insert_owned_chart!`), a data source's SQL dialect
//! ([`dialect`]) and the SQL safety layer's refusals as tool errors ([`sql_error`]).

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

/// Inside a transaction (`c`): insert a `NewChart` and make `user` its owner; evaluates to
/// the new chart's id. Used by `generate_chart` and `duplicate_dashboard`.
macro_rules! insert_owned_chart {
    ($c:expr, $new:expr, $user:expr) => {{
        use ::diesel::ExpressionMethods as _;
        use $crate::db::schema::{chart_owners, charts};
        let id: i32 = ::diesel::insert_into(charts::table)
            .values($new)
            .returning(charts::id)
            .get_result($c)
            .await?;
        ::diesel::insert_into(chart_owners::table)
            .values((
                chart_owners::chart_id.eq(id),
                chart_owners::user_id.eq($user),
            ))
            .execute($c)
            .await?;
        id
    }};
}
pub(crate) use insert_owned_chart;

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

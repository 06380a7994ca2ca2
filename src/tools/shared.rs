//! What the chart and dashboard tools share: the answer of a delete or restore
//! ([`Deleted`]) and the insert of a chart with its owner (`insert_owned_chart!`).

use schemars::JsonSchema;
use serde::Serialize;

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

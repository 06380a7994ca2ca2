//! Charts as stored: the queries behind the chart tools (lookups, ownership, the trash)
//! and the insert of a chart with its owner that `generate_chart` and
//! `duplicate_dashboard` share. They return `diesel::QueryResult`, converted at the tool
//! boundary.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;

use super::MetaConn;
use super::models::NewChart;
use super::schema::{chart_owners, charts, dashboard_charts, dashboards};
use crate::{in_transaction, with_conn};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = charts, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Chart {
    pub id: i32,
    pub uuid: String,
    pub name: String,
    pub chart_type: String,
    pub dataset_id: i32,
    pub config: String,
    pub description: String,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
    pub created_by_fk: Option<i32>,
    pub changed_by_fk: Option<i32>,
    pub deleted_on: Option<NaiveDateTime>,
}

/// What [`Chart::save_live`] writes.
#[derive(Debug)]
pub struct ChartChanges<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub config: &'a str,
    pub chart_type: &'a str,
}

/// Inside a transaction (`c`): insert a `NewChart` and make `user` its owner; evaluates to
/// the new chart's id. Used by [`Chart::create`] and `Dashboard::duplicate`.
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

impl Chart {
    crate::id_and_uuid_lookups!(Chart, charts, "chart");

    /// The live charts among `ids` (in no particular order).
    pub async fn live_among(conn: &mut MetaConn, ids: Vec<i32>) -> QueryResult<Vec<Chart>> {
        with_conn!(conn, |c| {
            charts::table
                .filter(charts::id.eq_any(ids))
                .filter(charts::deleted_on.is_null())
                .select(Chart::as_select())
                .load(c)
                .await
        })
    }

    /// Store `new` with `owner` as its owner, in one transaction; returns its id.
    pub async fn create(conn: &mut MetaConn, new: &NewChart<'_>, owner: i32) -> QueryResult<i32> {
        in_transaction!(conn, |c| Ok::<_, diesel::result::Error>(
            insert_owned_chart!(c, new, owner)
        ))
    }

    /// Save `changes` to chart `id` if it is live, as `user` at `at`; whether it was.
    pub async fn save_live(
        conn: &mut MetaConn,
        id: i32,
        changes: &ChartChanges<'_>,
        user: i32,
        at: NaiveDateTime,
    ) -> QueryResult<bool> {
        let n = with_conn!(conn, |c| {
            diesel::update(
                charts::table
                    .filter(charts::id.eq(id))
                    .filter(charts::deleted_on.is_null()),
            )
            .set((
                charts::name.eq(changes.name),
                charts::description.eq(changes.description),
                charts::config.eq(changes.config),
                charts::chart_type.eq(changes.chart_type),
                charts::changed_on.eq(at),
                charts::changed_by_fk.eq(Some(user)),
            ))
            .execute(c)
            .await
        })?;
        Ok(n > 0)
    }

    /// Whether `user` owns chart `id`.
    pub async fn is_owner(conn: &mut MetaConn, id: i32, user: i32) -> QueryResult<bool> {
        let n: i64 = with_conn!(conn, |c| {
            chart_owners::table
                .filter(chart_owners::chart_id.eq(id))
                .filter(chart_owners::user_id.eq(user))
                .count()
                .get_result(c)
                .await
        })?;
        Ok(n > 0)
    }

    /// The live dashboards chart `id` is on, as (id, title) by id.
    pub async fn dashboards_of(conn: &mut MetaConn, id: i32) -> QueryResult<Vec<(i32, String)>> {
        with_conn!(conn, |c| {
            dashboards::table
                .inner_join(dashboard_charts::table)
                .filter(dashboard_charts::chart_id.eq(id))
                .filter(dashboards::deleted_on.is_null())
                .select((dashboards::id, dashboards::title))
                .order(dashboards::id)
                .load(c)
                .await
        })
    }

    crate::trash_and_restore!(charts, "chart");
}

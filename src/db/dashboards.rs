//! Dashboards as stored: the queries behind the dashboard tools (lookups, owners, slugs,
//! the charts on a dashboard, creating, copying, versioned changes, the trash). They
//! return `diesel::QueryResult`, or [`VersionedError`] for the writes that check the
//! version, converted at the tool boundary.
//!
//! A dashboard's writes each run in one transaction (or one statement) and bump
//! `dashboards.version` only if it is still the version the caller read (`WHERE version =
//! ?`): a write that loses the race is [`VersionedError::Stale`] and writes nothing.
//! Creating and copying take a fault hook (`after_dashboard`, `after_chart`): an error it
//! returns rolls the whole write back.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;

use super::MetaConn;
use super::charts::{Chart, insert_owned_chart};
use super::models::{NewChart, NewDashboard, new_uuid};
use super::schema::{charts, dashboard_charts, dashboard_owners, dashboards, users};
use crate::{in_transaction, with_conn};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = dashboards, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Dashboard {
    pub id: i32,
    pub uuid: String,
    pub title: String,
    pub slug: Option<String>,
    pub description: String,
    pub published: bool,
    pub layout: String,
    pub json_metadata: String,
    pub version: i32,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
    pub created_by_fk: Option<i32>,
    pub changed_by_fk: Option<i32>,
    pub deleted_on: Option<NaiveDateTime>,
}

/// What [`Dashboard::save`] writes: every field a change may touch.
#[derive(Debug)]
pub struct DashboardChanges<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub slug: Option<&'a str>,
    pub published: bool,
    pub layout: &'a str,
    pub json_metadata: &'a str,
}

/// Why a versioned write was not made (nothing was).
#[derive(Debug)]
pub enum VersionedError {
    /// The dashboard is no longer at the version the write was based on.
    Stale,
    Query(diesel::result::Error),
}

impl From<diesel::result::Error> for VersionedError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Query(e)
    }
}

/// Inside a transaction on `$c`: store `$layout` for dashboard `$id` if it is still at
/// `$version`, as `$user`, else return [`VersionedError::Stale`] from the enclosing
/// closure; evaluates to the new version.
macro_rules! bump_layout {
    ($c:expr, $id:expr, $version:expr, $layout:expr, $user:expr) => {{
        let n = diesel::update(
            dashboards::table
                .filter(dashboards::id.eq($id))
                .filter(dashboards::version.eq($version)),
        )
        .set((
            dashboards::layout.eq($layout),
            dashboards::version.eq($version + 1),
            dashboards::changed_on.eq(super::models::now()),
            dashboards::changed_by_fk.eq(Some($user)),
        ))
        .execute($c)
        .await?;
        if n == 0 {
            return Err(VersionedError::Stale);
        }
        $version + 1
    }};
}

/// Inside a transaction on `$c`: put the charts `$chart_ids` on dashboard `$id` and make
/// `$user` its owner.
macro_rules! link_charts_and_owner {
    ($c:expr, $id:expr, $chart_ids:expr, $user:expr) => {
        for chart_id in $chart_ids {
            diesel::insert_into(dashboard_charts::table)
                .values((
                    dashboard_charts::dashboard_id.eq($id),
                    dashboard_charts::chart_id.eq(chart_id),
                ))
                .execute($c)
                .await?;
        }
        diesel::insert_into(dashboard_owners::table)
            .values((
                dashboard_owners::dashboard_id.eq($id),
                dashboard_owners::user_id.eq($user),
            ))
            .execute($c)
            .await?;
    };
}

/// How a caller names a dashboard.
#[derive(Debug, Clone, Copy)]
pub enum DashboardKey<'a> {
    Id(i32),
    Uuid(&'a str),
    Slug(&'a str),
}

impl Dashboard {
    crate::id_and_uuid_lookups!(Dashboard, dashboards, "dashboard");

    /// The id of the live (not deleted) dashboard `key` names, of any tenant, if any.
    pub async fn live_id(conn: &mut MetaConn, key: DashboardKey<'_>) -> QueryResult<Option<i32>> {
        with_conn!(conn, |c| {
            let q = dashboards::table
                .select(dashboards::id)
                .filter(dashboards::deleted_on.is_null());
            match key {
                DashboardKey::Id(i) => q.filter(dashboards::id.eq(i)).first(c).await.optional(),
                DashboardKey::Uuid(u) => q.filter(dashboards::uuid.eq(u)).first(c).await.optional(),
                DashboardKey::Slug(s) => q.filter(dashboards::slug.eq(s)).first(c).await.optional(),
            }
        })
    }

    /// The dashboard of `tenant` (`None`: of no tenant) with slug `slug`, deleted or not,
    /// if any. Slugs are unique per tenant.
    pub async fn by_slug(
        conn: &mut MetaConn,
        slug: &str,
        tenant: Option<&str>,
    ) -> QueryResult<Option<Dashboard>> {
        with_conn!(conn, |c| {
            let q = dashboards::table
                .select(Dashboard::as_select())
                .filter(dashboards::slug.eq(slug));
            match tenant {
                Some(t) => q.filter(dashboards::tenant.eq(t)).first(c).await.optional(),
                None => q
                    .filter(dashboards::tenant.is_null())
                    .first(c)
                    .await
                    .optional(),
            }
        })
    }

    /// The slugs of `tenant`'s dashboards (`None`: of no tenant's) that match `pattern`, a
    /// LIKE pattern escaped with `\`.
    pub async fn slugs_like(
        conn: &mut MetaConn,
        tenant: Option<&str>,
        pattern: &str,
    ) -> QueryResult<Vec<Option<String>>> {
        with_conn!(conn, |c| {
            let q = dashboards::table
                .filter(dashboards::slug.like(pattern).escape('\\'))
                .select(dashboards::slug);
            match tenant {
                Some(t) => q.filter(dashboards::tenant.eq(t)).load(c).await,
                None => q.filter(dashboards::tenant.is_null()).load(c).await,
            }
        })
    }

    /// Whether `user` owns dashboard `id`.
    pub async fn is_owner(conn: &mut MetaConn, id: i32, user: i32) -> QueryResult<bool> {
        let n: i64 = with_conn!(conn, |c| {
            dashboard_owners::table
                .filter(dashboard_owners::dashboard_id.eq(id))
                .filter(dashboard_owners::user_id.eq(user))
                .count()
                .get_result(c)
                .await
        })?;
        Ok(n > 0)
    }

    /// The usernames of dashboard `id`'s owners, sorted.
    pub async fn owners(conn: &mut MetaConn, id: i32) -> QueryResult<Vec<String>> {
        with_conn!(conn, |c| {
            users::table
                .inner_join(dashboard_owners::table)
                .filter(dashboard_owners::dashboard_id.eq(id))
                .select(users::username)
                .order(users::username)
                .load(c)
                .await
        })
    }

    /// The live charts on dashboard `id`, by id.
    pub async fn charts(conn: &mut MetaConn, id: i32) -> QueryResult<Vec<Chart>> {
        with_conn!(conn, |c| {
            charts::table
                .inner_join(dashboard_charts::table)
                .filter(dashboard_charts::dashboard_id.eq(id))
                .filter(charts::deleted_on.is_null())
                .order(charts::id)
                .select(Chart::as_select())
                .load(c)
                .await
        })
    }

    /// Whether chart `chart_id` is linked to dashboard `id`.
    pub async fn links(conn: &mut MetaConn, id: i32, chart_id: i32) -> QueryResult<bool> {
        let n: i64 = with_conn!(conn, |c| {
            dashboard_charts::table
                .filter(dashboard_charts::dashboard_id.eq(id))
                .filter(dashboard_charts::chart_id.eq(chart_id))
                .count()
                .get_result(c)
                .await
        })?;
        Ok(n > 0)
    }

    /// Store `new` with the charts `chart_ids` on it and `owner` as its owner, in one
    /// transaction (which `after_dashboard`, run once the dashboard row is in, may fail);
    /// returns its id.
    pub async fn create<E>(
        conn: &mut MetaConn,
        new: &NewDashboard<'_>,
        chart_ids: &[i32],
        owner: i32,
        after_dashboard: impl FnOnce() -> Result<(), E> + Send,
    ) -> Result<i32, E>
    where
        E: From<diesel::result::Error> + Send,
    {
        in_transaction!(conn, |c| {
            let id: i32 = diesel::insert_into(dashboards::table)
                .values(new)
                .returning(dashboards::id)
                .get_result(c)
                .await?;
            after_dashboard()?;
            link_charts_and_owner!(c, id, chart_ids, owner);
            Ok::<_, E>(id)
        })
    }

    /// Store `new` as a copy showing `charts` (or, with `copy_charts`, copies of them
    /// owned by `owner`, made at `new.created_on`), owned by `owner`, in one transaction
    /// (which `after_chart`, run after each chart copy, may fail). Its layout and metadata
    /// are what `remap` makes of the map from each chart's id to its id on the copy.
    /// Returns the copy's id and its chart ids in the order of `charts`.
    pub async fn duplicate<E>(
        conn: &mut MetaConn,
        mut new: NewDashboard<'_>,
        charts: &[Chart],
        copy_charts: bool,
        owner: i32,
        remap: impl FnOnce(&HashMap<i32, i32>) -> (String, String) + Send,
        after_chart: impl Fn() -> Result<(), E> + Send + Sync,
    ) -> Result<(i32, Vec<i32>), E>
    where
        E: From<diesel::result::Error> + Send,
    {
        let at = new.created_on;
        in_transaction!(conn, |c| {
            let mut map = HashMap::new();
            let mut chart_ids = Vec::new();
            for ch in charts {
                let new_id = if copy_charts {
                    let copy = NewChart {
                        uuid: new_uuid(),
                        name: &ch.name,
                        chart_type: &ch.chart_type,
                        dataset_id: ch.dataset_id,
                        config: ch.config.clone(),
                        description: &ch.description,
                        created_on: at,
                        changed_on: at,
                        created_by_fk: Some(owner),
                        changed_by_fk: Some(owner),
                    };
                    let nid = insert_owned_chart!(c, copy, owner);
                    after_chart()?;
                    nid
                } else {
                    ch.id
                };
                map.insert(ch.id, new_id);
                chart_ids.push(new_id);
            }
            (new.layout, new.json_metadata) = remap(&map);
            let id: i32 = diesel::insert_into(dashboards::table)
                .values(&new)
                .returning(dashboards::id)
                .get_result(c)
                .await?;
            link_charts_and_owner!(c, id, &chart_ids, owner);
            Ok::<_, E>((id, chart_ids))
        })
    }

    /// Save `changes` to dashboard `id` if it is still at `version`, as `user` at `at`, in
    /// one statement; returns the new version.
    pub async fn save(
        conn: &mut MetaConn,
        id: i32,
        version: i32,
        changes: &DashboardChanges<'_>,
        user: i32,
        at: NaiveDateTime,
    ) -> Result<i32, VersionedError> {
        let n = with_conn!(conn, |c| {
            diesel::update(
                dashboards::table
                    .filter(dashboards::id.eq(id))
                    .filter(dashboards::version.eq(version)),
            )
            .set((
                dashboards::title.eq(changes.title),
                dashboards::description.eq(changes.description),
                dashboards::slug.eq(changes.slug),
                dashboards::published.eq(changes.published),
                dashboards::layout.eq(changes.layout),
                dashboards::json_metadata.eq(changes.json_metadata),
                dashboards::version.eq(version + 1),
                dashboards::changed_on.eq(at),
                dashboards::changed_by_fk.eq(Some(user)),
            ))
            .execute(c)
            .await
        })?;
        if n == 0 {
            return Err(VersionedError::Stale);
        }
        Ok(version + 1)
    }

    /// Put chart `chart_id` on dashboard `id` with the new `layout`, if the dashboard is
    /// still at `version`, as `user`, in one transaction; returns the new version.
    pub async fn add_chart(
        conn: &mut MetaConn,
        id: i32,
        version: i32,
        layout: &str,
        chart_id: i32,
        user: i32,
    ) -> Result<i32, VersionedError> {
        in_transaction!(conn, |c| {
            let v = bump_layout!(c, id, version, layout, user);
            diesel::insert_into(dashboard_charts::table)
                .values((
                    dashboard_charts::dashboard_id.eq(id),
                    dashboard_charts::chart_id.eq(chart_id),
                ))
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            Ok::<_, VersionedError>(v)
        })
    }

    /// Take chart `chart_id` off dashboard `id` with the new `layout`, if the dashboard is
    /// still at `version`, as `user`, in one transaction; returns the new version.
    pub async fn remove_chart(
        conn: &mut MetaConn,
        id: i32,
        version: i32,
        layout: &str,
        chart_id: i32,
        user: i32,
    ) -> Result<i32, VersionedError> {
        in_transaction!(conn, |c| {
            let v = bump_layout!(c, id, version, layout, user);
            diesel::delete(
                dashboard_charts::table
                    .filter(dashboard_charts::dashboard_id.eq(id))
                    .filter(dashboard_charts::chart_id.eq(chart_id)),
            )
            .execute(c)
            .await?;
            Ok::<_, VersionedError>(v)
        })
    }

    crate::trash_and_restore!(dashboards, "dashboard");
}

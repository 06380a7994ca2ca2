//! Rows of the metadata store (`Chart`, `NewChart`, …) and the queries on them.
//!
//! Queries take a checked-out [`MetaConn`] and run on either backend through `with_conn!`;
//! they return `diesel::QueryResult`, converted to `ToolError` at the tool boundary.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;

use super::MetaConn;
use super::schema::*;
use crate::with_conn;

/// Now, as stored: UTC without zone, microsecond precision on both backends.
pub fn now() -> NaiveDateTime {
    let t = Utc::now().naive_utc();
    t.with_nanosecond_micros()
}

trait MicrosExt {
    fn with_nanosecond_micros(self) -> Self;
}

impl MicrosExt for NaiveDateTime {
    fn with_nanosecond_micros(self) -> Self {
        use chrono::Timelike;
        let micros = self.nanosecond() / 1000 * 1000;
        self.with_nanosecond(micros).unwrap_or(self)
    }
}

pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct User {
    pub id: i32,
    pub uuid: String,
    pub username: String,
    pub email: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub active: bool,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
    pub tenant: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub uuid: String,
    pub username: &'a str,
    pub email: Option<&'a str>,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub active: bool,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
    pub tenant: Option<&'a str>,
}

/// A change to a user; `None` leaves a column as it is (`email: Some(None)` clears it).
#[derive(Debug, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges<'a> {
    pub active: Option<bool>,
    pub email: Option<Option<&'a str>>,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub changed_on: NaiveDateTime,
    pub changed_by_fk: Option<i32>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = roles)]
pub struct NewRole<'a> {
    pub uuid: String,
    pub name: &'a str,
    pub description: &'a str,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
    /// `None`: shared by every tenant (the built-in roles).
    pub tenant: Option<&'a str>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = role_permissions)]
pub struct NewRolePermission<'a> {
    pub role_id: i32,
    pub permission: &'a str,
    pub object_type: Option<&'a str>,
    pub object_id: Option<i32>,
    pub created_on: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = databases)]
pub struct NewDatabase<'a> {
    pub uuid: String,
    pub name: &'a str,
    pub engine: &'a str,
    pub connection_encrypted: String,
    pub settings: String,
    pub description: &'a str,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
    pub created_by_fk: Option<i32>,
    pub changed_by_fk: Option<i32>,
    pub tenant: Option<&'a str>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = datasets)]
pub struct NewDataset<'a> {
    pub uuid: String,
    pub database_id: i32,
    pub schema_name: Option<&'a str>,
    pub table_name: &'a str,
    pub sql: Option<&'a str>,
    pub description: &'a str,
    pub main_dttm_col: Option<&'a str>,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
    pub created_by_fk: Option<i32>,
    pub changed_by_fk: Option<i32>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = dataset_columns)]
pub struct NewDatasetColumn<'a> {
    pub uuid: String,
    pub dataset_id: i32,
    pub column_name: &'a str,
    pub data_type: &'a str,
    pub is_temporal: bool,
    pub description: &'a str,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
    pub created_by_fk: Option<i32>,
    pub changed_by_fk: Option<i32>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = dataset_metrics)]
pub struct NewDatasetMetric<'a> {
    pub uuid: String,
    pub dataset_id: i32,
    pub metric_name: &'a str,
    pub expression: &'a str,
    pub verbose_name: Option<&'a str>,
    pub description: &'a str,
    pub d3format: Option<&'a str>,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
    pub created_by_fk: Option<i32>,
    pub changed_by_fk: Option<i32>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = charts)]
pub struct NewChart<'a> {
    pub uuid: String,
    pub name: &'a str,
    pub chart_type: &'a str,
    pub dataset_id: i32,
    pub config: String,
    pub description: &'a str,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
    pub created_by_fk: Option<i32>,
    pub changed_by_fk: Option<i32>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = dashboards)]
pub struct NewDashboard<'a> {
    pub uuid: String,
    pub title: &'a str,
    pub slug: Option<&'a str>,
    pub description: &'a str,
    pub published: bool,
    pub layout: String,
    pub json_metadata: String,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
    pub created_by_fk: Option<i32>,
    pub changed_by_fk: Option<i32>,
    pub tenant: Option<&'a str>,
}

/// How many of each object the store holds (soft-deleted objects excluded).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ObjectCounts {
    pub dashboards: i64,
    pub charts: i64,
    pub datasets: i64,
    pub databases: i64,
    pub saved_queries: i64,
    pub users: i64,
    pub roles: i64,
    pub rls_rules: i64,
}

/// The ids of a tenant's databases.
pub async fn tenant_databases(conn: &mut MetaConn, tenant: &str) -> QueryResult<Vec<i32>> {
    let t = tenant.to_string();
    with_conn!(conn, |c| {
        databases::table
            .filter(databases::tenant.eq(t))
            .select(databases::id)
            .load(c)
            .await
    })
}

/// A tenant with the ids of its databases and of the live datasets on them.
#[derive(Debug, Clone)]
pub struct TenantObjects {
    pub tenant: String,
    pub databases: Vec<i32>,
    pub datasets: Vec<i32>,
}

impl TenantObjects {
    pub async fn load(conn: &mut MetaConn, tenant: &str) -> QueryResult<Self> {
        let databases = tenant_databases(conn, tenant).await?;
        let on = databases.clone();
        let datasets: Vec<i32> = with_conn!(conn, |c| {
            datasets::table
                .filter(datasets::database_id.eq_any(on))
                .filter(datasets::deleted_on.is_null())
                .select(datasets::id)
                .load(c)
                .await
        })?;
        Ok(Self {
            tenant: tenant.to_string(),
            databases,
            datasets,
        })
    }
}

impl ObjectCounts {
    /// The counts of one tenant's objects (shared roles included).
    pub async fn load_tenant(conn: &mut MetaConn, objects: &TenantObjects) -> QueryResult<Self> {
        let (dbs, ds, t) = (&objects.databases, &objects.datasets, &objects.tenant);
        let query = diesel::select((
            dashboards::table
                .filter(dashboards::deleted_on.is_null())
                .filter(dashboards::tenant.eq(t.clone()))
                .count()
                .single_value(),
            charts::table
                .filter(charts::deleted_on.is_null())
                .filter(charts::dataset_id.eq_any(ds.clone()))
                .count()
                .single_value(),
            saved_queries::table
                .filter(saved_queries::database_id.eq_any(dbs.clone()))
                .count()
                .single_value(),
            users::table
                .filter(users::tenant.eq(t.clone()))
                .count()
                .single_value(),
            roles::table
                .filter(roles::tenant.eq(t.clone()).or(roles::tenant.is_null()))
                .count()
                .single_value(),
            rls_rules::table
                .filter(rls_rules::tenant.eq(t.clone()))
                .count()
                .single_value(),
        ));
        type Row = (
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        let row: Row = with_conn!(conn, |c| query.get_result(c).await)?;
        let v = |x: Option<i64>| x.unwrap_or(0);
        Ok(Self {
            dashboards: v(row.0),
            charts: v(row.1),
            datasets: ds.len() as i64,
            databases: dbs.len() as i64,
            saved_queries: v(row.2),
            users: v(row.3),
            roles: v(row.4),
            rls_rules: v(row.5),
        })
    }

    /// All counts in one round trip: each is a scalar subquery of a single SELECT.
    pub async fn load(conn: &mut MetaConn) -> QueryResult<Self> {
        let query = diesel::select((
            dashboards::table
                .filter(dashboards::deleted_on.is_null())
                .count()
                .single_value(),
            charts::table
                .filter(charts::deleted_on.is_null())
                .count()
                .single_value(),
            datasets::table
                .filter(datasets::deleted_on.is_null())
                .count()
                .single_value(),
            databases::table.count().single_value(),
            saved_queries::table.count().single_value(),
            users::table.count().single_value(),
            roles::table.count().single_value(),
            rls_rules::table.count().single_value(),
        ));
        type Row = (
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        let row: Row = with_conn!(conn, |c| query.get_result(c).await)?;
        let v = |x: Option<i64>| x.unwrap_or(0);
        Ok(Self {
            dashboards: v(row.0),
            charts: v(row.1),
            datasets: v(row.2),
            databases: v(row.3),
            saved_queries: v(row.4),
            users: v(row.5),
            roles: v(row.6),
            rls_rules: v(row.7),
        })
    }
}

/// One recently changed object, for "recent activity".
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RecentChange {
    pub object_type: &'static str,
    pub id: i32,
    pub name: String,
    pub changed_on: String,
}

/// The most recently changed dashboards and charts, newest first; with a tenant, only its
/// own.
pub async fn recent_changes(
    conn: &mut MetaConn,
    limit: i64,
    tenant: Option<&TenantObjects>,
) -> QueryResult<Vec<RecentChange>> {
    let dash: Vec<(i32, String, NaiveDateTime)> = with_conn!(conn, |c| {
        let mut q = dashboards::table
            .filter(dashboards::deleted_on.is_null())
            .into_boxed();
        if let Some(t) = tenant {
            q = q.filter(dashboards::tenant.eq(t.tenant.clone()));
        }
        q.order(dashboards::changed_on.desc())
            .limit(limit)
            .select((dashboards::id, dashboards::title, dashboards::changed_on))
            .load(c)
            .await
    })?;
    let chart: Vec<(i32, String, NaiveDateTime)> = with_conn!(conn, |c| {
        let mut q = charts::table
            .filter(charts::deleted_on.is_null())
            .into_boxed();
        if let Some(t) = tenant {
            q = q.filter(charts::dataset_id.eq_any(t.datasets.clone()));
        }
        q.order(charts::changed_on.desc())
            .limit(limit)
            .select((charts::id, charts::name, charts::changed_on))
            .load(c)
            .await
    })?;
    let mut all: Vec<(NaiveDateTime, RecentChange)> = dash
        .into_iter()
        .map(|r| (r.2, ("dashboard", r)))
        .chain(chart.into_iter().map(|r| (r.2, ("chart", r))))
        .map(|(t, (kind, (id, name, at)))| {
            (
                t,
                RecentChange {
                    object_type: kind,
                    id,
                    name,
                    changed_on: at.and_utc().to_rfc3339(),
                },
            )
        })
        .collect();
    all.sort_by_key(|r| std::cmp::Reverse(r.0));
    Ok(all
        .into_iter()
        .take(limit as usize)
        .map(|(_, r)| r)
        .collect())
}

impl User {
    /// The user `name` of `tenant` (usernames are unique per tenant). `None` looks among
    /// every tenant — tenants off, or an operator's command — and prefers the user bound to
    /// no tenant, then the oldest: with tenants off the names form one space again.
    pub async fn by_username(
        conn: &mut MetaConn,
        name: &str,
        tenant: Option<&str>,
    ) -> QueryResult<Option<User>> {
        with_conn!(conn, |c| {
            let mut q = users::table.filter(users::username.eq(name)).into_boxed();
            if let Some(t) = tenant {
                q = q.filter(users::tenant.eq(t));
            }
            q.order((users::tenant.is_not_null(), users::id))
                .select(User::as_select())
                .first(c)
                .await
                .optional()
        })
    }

    /// The user `name` of exactly `tenant`; `None`: the user that belongs to no tenant (yet:
    /// with tenants on, the first verified token naming a tenant binds it).
    pub async fn in_tenant(
        conn: &mut MetaConn,
        name: &str,
        tenant: Option<&str>,
    ) -> QueryResult<Option<User>> {
        with_conn!(conn, |c| {
            let q = users::table.filter(users::username.eq(name)).into_boxed();
            match tenant {
                Some(t) => q.filter(users::tenant.eq(t)),
                None => q.filter(users::tenant.is_null()),
            }
            .select(User::as_select())
            .first(c)
            .await
            .optional()
        })
    }

    pub async fn by_id(conn: &mut MetaConn, id: i32) -> QueryResult<Option<User>> {
        with_conn!(conn, |c| {
            users::table
                .find(id)
                .select(User::as_select())
                .first(c)
                .await
                .optional()
        })
    }

    /// Names of the user's roles.
    pub async fn role_names(conn: &mut MetaConn, user_id: i32) -> QueryResult<Vec<String>> {
        with_conn!(conn, |c| {
            user_roles::table
                .inner_join(roles::table)
                .filter(user_roles::user_id.eq(user_id))
                .select(roles::name)
                .order(roles::name)
                .load(c)
                .await
        })
    }

    /// Every grant of the user's roles: (permission, object_type, object_id).
    pub async fn grants(
        conn: &mut MetaConn,
        user_id: i32,
    ) -> QueryResult<Vec<(String, Option<String>, Option<i32>)>> {
        with_conn!(conn, |c| {
            user_roles::table
                .inner_join(
                    role_permissions::table.on(role_permissions::role_id.eq(user_roles::role_id)),
                )
                .filter(user_roles::user_id.eq(user_id))
                .select((
                    role_permissions::permission,
                    role_permissions::object_type,
                    role_permissions::object_id,
                ))
                .distinct()
                .load(c)
                .await
        })
    }
}

/// Every role a principal of `tenant` sees, as (id, name) by name: the shared roles and,
/// with a tenant, the tenant's own (another tenant's roles do not exist for it).
pub async fn visible_roles(
    conn: &mut MetaConn,
    tenant: Option<&str>,
) -> QueryResult<Vec<(i32, String)>> {
    let tenant = tenant.map(str::to_owned);
    with_conn!(conn, |c| {
        let mut q = roles::table.into_boxed();
        if let Some(t) = tenant {
            q = q.filter(roles::tenant.is_null().or(roles::tenant.eq(t)));
        }
        q.order(roles::name)
            .select((roles::id, roles::name))
            .load(c)
            .await
    })
}

/// The id of the role `name` as a principal of `tenant` sees it: a shared role (no tenant)
/// or, with a tenant, the tenant's own. Role names are unique per tenant and a tenant's role
/// cannot take a shared role's name, so there is at most one.
pub async fn role_id(
    conn: &mut MetaConn,
    name: &str,
    tenant: Option<&str>,
) -> QueryResult<Option<i32>> {
    let tenant = tenant.map(str::to_owned);
    with_conn!(conn, |c| {
        let mut q = roles::table
            .filter(roles::name.eq(name))
            .select(roles::id)
            .order(roles::tenant.is_not_null())
            .into_boxed();
        q = match tenant.clone() {
            Some(t) => q.filter(roles::tenant.is_null().or(roles::tenant.eq(t))),
            None => q.filter(roles::tenant.is_null()),
        };
        q.first(c).await.optional()
    })
}

/// One run of `execute_sql`, for the query history (written in batches by `HistoryWriter`;
/// spooled as JSON while the store is down).
#[derive(Debug, Clone, Insertable, Serialize, serde::Deserialize)]
#[diesel(table_name = query_history)]
pub struct NewQueryRecord {
    pub uuid: String,
    pub user_id: Option<i32>,
    pub database_id: i32,
    pub schema_name: Option<String>,
    pub sql: String,
    pub executed_sql: Option<String>,
    pub status: String,
    pub error_message: Option<String>,
    pub row_count: Option<i64>,
    pub duration_ms: Option<i64>,
    pub started_on: NaiveDateTime,
    pub finished_on: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = query_history, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct QueryRecord {
    pub id: i32,
    pub uuid: String,
    pub user_id: Option<i32>,
    pub database_id: i32,
    pub schema_name: Option<String>,
    pub sql: String,
    pub executed_sql: Option<String>,
    pub status: String,
    pub error_message: Option<String>,
    pub row_count: Option<i64>,
    pub duration_ms: Option<i64>,
    pub started_on: NaiveDateTime,
    pub finished_on: Option<NaiveDateTime>,
}

/// One tool call as the audit log keeps it; `arguments` is already redacted.
// `None` is NULL, not DEFAULT: SQLite can then insert a whole batch in one statement.
#[derive(Debug, Clone, Insertable, Serialize, serde::Deserialize)]
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
pub struct NewAuditEntry {
    /// When the call arrived.
    pub created_on: NaiveDateTime,
    pub request_id: String,
    pub user_id: Option<i32>,
    /// Empty when the caller could not be identified.
    pub username: String,
    /// Always `None` until tenants exist.
    pub tenant: Option<String>,
    pub tool: String,
    pub arguments: String,
    /// `ok`, or the `error_type` the caller saw (`protocol_error` for an unknown tool).
    pub outcome: String,
    pub error_id: Option<String>,
    pub duration_ms: f64,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_log, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct AuditEntry {
    pub id: i32,
    pub created_on: NaiveDateTime,
    pub request_id: String,
    pub user_id: Option<i32>,
    pub username: String,
    pub tenant: Option<String>,
    pub tool: String,
    pub arguments: String,
    pub outcome: String,
    pub error_id: Option<String>,
    pub duration_ms: f64,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = saved_queries, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct SavedQuery {
    pub id: i32,
    pub uuid: String,
    pub database_id: i32,
    pub schema_name: Option<String>,
    pub label: String,
    pub description: String,
    pub sql: String,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
    pub created_by_fk: Option<i32>,
    pub changed_by_fk: Option<i32>,
}

/// Every grant of one role, the one named `role` that a principal of `tenant` sees (see
/// [`role_id`]): (permission, object_type, object_id).
pub async fn role_grants(
    conn: &mut MetaConn,
    role: &str,
    tenant: Option<&str>,
) -> QueryResult<Vec<(String, Option<String>, Option<i32>)>> {
    let Some(id) = role_id(conn, role, tenant).await? else {
        return Ok(Vec::new());
    };
    with_conn!(conn, |c| {
        role_permissions::table
            .filter(role_permissions::role_id.eq(id))
            .select((
                role_permissions::permission,
                role_permissions::object_type,
                role_permissions::object_id,
            ))
            .load(c)
            .await
    })
}

/// Give every user, database, dashboard and RLS rule without a tenant to `tenant`, in one
/// transaction; returns how many of each (in that order) it took.
pub async fn adopt(
    conn: &mut MetaConn,
    tenant: &str,
) -> Result<[usize; 4], crate::error::ToolError> {
    let t = tenant.trim();
    if t.is_empty() || t.len() > 255 {
        return Err(crate::error::ToolError::invalid(
            "tenant: 1 to 255 characters, as tokens name it in their tenant_id claim.",
        ));
    }
    // Names are unique per tenant: an unowned object whose name the tenant already uses
    // cannot join it. Nothing is adopted then (one transaction).
    let clash = |what: &'static str| {
        move |e: diesel::result::Error| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => crate::error::ToolError::conflict(format!(
                "Tenant '{t}' already has {what} of the same name as one that belongs to no \
                 tenant; rename one of them, then adopt again. Nothing was adopted."
            ))
            .with_details(serde_json::json!({"object": what})),
            other => other.into(),
        }
    };
    crate::in_transaction!(conn, |c| {
        let u = diesel::update(users::table.filter(users::tenant.is_null()))
            .set(users::tenant.eq(Some(t)))
            .execute(c)
            .await
            .map_err(clash("a user"))?;
        let d = diesel::update(databases::table.filter(databases::tenant.is_null()))
            .set(databases::tenant.eq(Some(t)))
            .execute(c)
            .await
            .map_err(clash("a database"))?;
        let b = diesel::update(dashboards::table.filter(dashboards::tenant.is_null()))
            .set(dashboards::tenant.eq(Some(t)))
            .execute(c)
            .await
            .map_err(clash("a dashboard (slug)"))?;
        let r = diesel::update(rls_rules::table.filter(rls_rules::tenant.is_null()))
            .set(rls_rules::tenant.eq(Some(t)))
            .execute(c)
            .await
            .map_err(clash("an RLS rule"))?;
        Ok::<[usize; 4], crate::error::ToolError>([u, d, b, r])
    })
}

//! Catalog queries: dashboards, charts, datasets and databases, listed with validated
//! [`ListPlan`]s and filtered by the caller's [`Access`].
//!
//! Queries are boxed diesel queries built per backend by macros (`*_where!`), so every
//! filter, search and order goes through diesel's query builder with bound values: no SQL
//! text is built from user input.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use diesel_async::RunQueryDsl;
use serde::Serialize;

use crate::auth::{Permission, Principal};
use crate::db::MetaConn;
use crate::db::schema::*;
use crate::error::ToolError;
use crate::query::list::{Cond, DeletedState, ListPlan, Lit};

#[diesel::declare_sql_function]
extern "SQL" {
    fn lower(x: Nullable<Text>) -> Nullable<Text>;
}

/// Run `body` with `$c` the backend connection and `$db` the backend type.
macro_rules! with_backend {
    ($conn:expr, |$c:ident, $db:ident| $body:expr) => {
        match $conn {
            $crate::db::MetaConn::Pg(pooled) => {
                #[allow(dead_code)]
                type $db = diesel::pg::Pg;
                let $c: &mut ::diesel_async::AsyncPgConnection = &mut *pooled;
                $body
            }
            $crate::db::MetaConn::Sqlite(pooled) => {
                #[allow(dead_code)]
                type $db = diesel::sqlite::Sqlite;
                let $c: &mut $crate::db::SqliteConn = &mut *pooled;
                $body
            }
        }
    };
}

/// Always-false condition on `$col`: the fail-closed answer to a condition that does not fit
/// the column (validation makes it unreachable).
macro_rules! none_of {
    ($q:ident, $col:expr) => {
        $q.filter($col.is_null().and($col.is_not_null()))
    };
}

macro_rules! text_cond {
    ($q:ident, $col:expr, $cond:expr) => {
        match $cond {
            Cond::Eq(Lit::Text(v)) => $q.filter($col.eq(v.clone())),
            Cond::Ne(Lit::Text(v)) => $q.filter($col.ne(v.clone())),
            Cond::In(vs) => $q.filter($col.eq_any(texts(vs))),
            Cond::Nin(vs) => $q.filter($col.ne_all(texts(vs))),
            Cond::Like(p) => $q.filter($col.like(p.clone()).escape('\\')),
            Cond::ILike(p) => $q.filter(lower($col.nullable()).like(p.clone()).escape('\\')),
            Cond::IsNull => $q.filter($col.is_null()),
            Cond::IsNotNull => $q.filter($col.is_not_null()),
            _ => none_of!($q, $col),
        }
    };
}

macro_rules! ntext_cond {
    ($q:ident, $col:expr, $cond:expr) => {
        match $cond {
            Cond::Eq(Lit::Text(v)) => $q.filter($col.eq(v.clone())),
            Cond::Ne(Lit::Text(v)) => $q.filter($col.ne(v.clone())),
            Cond::In(vs) => $q.filter($col.eq_any(texts(vs))),
            Cond::Nin(vs) => $q.filter($col.ne_all(texts(vs))),
            Cond::Like(p) => $q.filter($col.like(p.clone()).escape('\\')),
            Cond::ILike(p) => $q.filter(lower($col).like(p.clone()).escape('\\')),
            Cond::IsNull => $q.filter($col.is_null()),
            Cond::IsNotNull => $q.filter($col.is_not_null()),
            _ => none_of!($q, $col),
        }
    };
}

macro_rules! cmp_cond {
    ($q:ident, $col:expr, $cond:expr, $variant:ident, $list:ident) => {
        match $cond {
            Cond::Eq(Lit::$variant(v)) => $q.filter($col.eq(v.clone())),
            Cond::Ne(Lit::$variant(v)) => $q.filter($col.ne(v.clone())),
            Cond::Gt(Lit::$variant(v)) => $q.filter($col.gt(v.clone())),
            Cond::Gte(Lit::$variant(v)) => $q.filter($col.ge(v.clone())),
            Cond::Lt(Lit::$variant(v)) => $q.filter($col.lt(v.clone())),
            Cond::Lte(Lit::$variant(v)) => $q.filter($col.le(v.clone())),
            Cond::In(vs) => $q.filter($col.eq_any($list(vs))),
            Cond::Nin(vs) => $q.filter($col.ne_all($list(vs))),
            Cond::IsNull => $q.filter($col.is_null()),
            Cond::IsNotNull => $q.filter($col.is_not_null()),
            _ => none_of!($q, $col),
        }
    };
}

macro_rules! bool_cond {
    ($q:ident, $col:expr, $cond:expr) => {
        match $cond {
            Cond::Eq(Lit::Bool(v)) => $q.filter($col.eq(*v)),
            Cond::Ne(Lit::Bool(v)) => $q.filter($col.ne(*v)),
            Cond::IsNull => $q.filter($col.is_null()),
            Cond::IsNotNull => $q.filter($col.is_not_null()),
            _ => none_of!($q, $col),
        }
    };
}

macro_rules! order_by {
    ($q:ident, $desc:expr, $col:expr, $id:expr) => {
        if $desc {
            $q.order(($col.desc(), $id.desc()))
        } else {
            $q.order(($col.asc(), $id.asc()))
        }
    };
}

fn texts(vs: &[Lit]) -> Vec<String> {
    vs.iter()
        .filter_map(|v| {
            if let Lit::Text(s) = v {
                Some(s.clone())
            } else {
                None
            }
        })
        .collect()
}

fn ints(vs: &[Lit]) -> Vec<i32> {
    vs.iter()
        .filter_map(|v| if let Lit::Int(i) = v { Some(*i) } else { None })
        .collect()
}

fn times(vs: &[Lit]) -> Vec<NaiveDateTime> {
    vs.iter()
        .filter_map(|v| if let Lit::Time(t) = v { Some(*t) } else { None })
        .collect()
}

/// What one caller may see, resolved once per call.
#[derive(Debug, Clone)]
pub struct Access {
    pub user_id: i32,
    /// Sees every database and dataset (never with a tenant: then `databases` lists the
    /// tenant's).
    pub all_datasources: bool,
    pub databases: Vec<i32>,
    /// Datasets visible through dataset or database grants (when not `all_datasources`).
    pub datasets: Vec<i32>,
    /// Lacks write permission: sees published dashboards only (and its own drafts).
    pub read_only: bool,
    /// Admins pass ownership checks.
    pub admin: bool,
    /// The caller's tenant: only its databases (and what is built on them), dashboards,
    /// users, roles and rules exist for this call.
    pub tenant: Option<String>,
}

impl Access {
    pub async fn load(conn: &mut MetaConn, p: &Principal) -> QueryResult<Self> {
        let mut access = Access {
            user_id: p.user_id,
            all_datasources: p.all_datasource_access,
            databases: p.database_ids.iter().copied().collect(),
            datasets: Vec::new(),
            read_only: !p.has(Permission::CatalogWrite),
            admin: p.has(Permission::Admin),
            tenant: p.tenant.clone(),
        };
        // A tenant's principal sees at most its tenant's databases, whatever its grants.
        let owned = match &p.tenant {
            Some(t) => Some(crate::db::models::tenant_databases(conn, t).await?),
            None => None,
        };
        if let Some(owned) = &owned {
            if access.all_datasources {
                access.databases = owned.clone();
            } else {
                access.databases.retain(|id| owned.contains(id));
            }
        }
        // Dataset grants are moot where the whole database is open.
        let granted: Vec<i32> = if access.all_datasources {
            Vec::new()
        } else {
            p.dataset_ids.iter().copied().collect()
        };
        if owned.is_some() || !access.all_datasources {
            access.all_datasources = false;
            let dbs = access.databases.clone();
            access.datasets = crate::with_conn!(conn, |c| {
                let mut q = datasets::table
                    .filter(
                        datasets::database_id
                            .eq_any(dbs)
                            .or(datasets::id.eq_any(granted)),
                    )
                    .select(datasets::id)
                    .into_boxed();
                if let Some(owned) = owned {
                    q = q.filter(datasets::database_id.eq_any(owned));
                }
                q.load(c).await
            })?;
        }
        Ok(access)
    }

    /// The refusal for an object this caller may not see: `hidden` (which names what is
    /// missing) within one's tenant, "not found" across tenants, so that another tenant's
    /// objects do not even show that they exist.
    pub fn refuse(
        &self,
        hidden: ToolError,
        object: &str,
        ident: impl std::fmt::Display,
    ) -> ToolError {
        if self.tenant.is_some() {
            ToolError::not_found(object, ident)
        } else {
            hidden
        }
    }

    pub fn sees_dataset(&self, id: i32) -> bool {
        self.all_datasources || self.datasets.contains(&id)
    }
}

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

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = datasets, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Dataset {
    pub id: i32,
    pub uuid: String,
    pub database_id: i32,
    pub schema_name: Option<String>,
    pub table_name: String,
    pub sql: Option<String>,
    pub description: String,
    pub main_dttm_col: Option<String>,
    pub extra: String,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
    pub created_by_fk: Option<i32>,
    pub changed_by_fk: Option<i32>,
    pub deleted_on: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = databases, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Database {
    pub id: i32,
    pub uuid: String,
    pub name: String,
    pub engine: String,
    pub settings: String,
    pub description: String,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = dataset_columns, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct DatasetColumn {
    pub id: i32,
    pub dataset_id: i32,
    pub column_name: String,
    pub data_type: String,
    pub is_temporal: bool,
    pub is_groupable: bool,
    pub is_filterable: bool,
    pub expression: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = dataset_metrics, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct DatasetMetric {
    pub id: i32,
    pub dataset_id: i32,
    pub metric_name: String,
    pub expression: String,
    pub verbose_name: Option<String>,
    pub description: String,
    pub d3format: Option<String>,
    pub changed_on: NaiveDateTime,
}

macro_rules! deleted_filter {
    ($q:ident, $col:expr, $state:expr) => {
        match $state {
            DeletedState::Exclude => $q.filter($col.is_null()),
            DeletedState::Only => $q.filter($col.is_not_null()),
            DeletedState::Include => $q,
        }
    };
}

macro_rules! charts_where {
    ($db:ty, $plan:expr, $access:expr) => {{
        let plan: &ListPlan = $plan;
        let access: &Access = $access;
        let mut q = charts::table.into_boxed::<$db>();
        q = deleted_filter!(q, charts::deleted_on, plan.deleted);
        if !access.all_datasources {
            q = q.filter(charts::dataset_id.eq_any(access.datasets.clone()));
        }
        if let Some(u) = plan.created_by {
            q = q.filter(charts::created_by_fk.eq(u));
        }
        if let Some(u) = plan.changed_by {
            q = q.filter(charts::changed_by_fk.eq(u));
        }
        for (col, cond) in &plan.conds {
            q = match *col {
                "id" => cmp_cond!(q, charts::id, cond, Int, ints),
                "datasource_id" => cmp_cond!(q, charts::dataset_id, cond, Int, ints),
                "uuid" => text_cond!(q, charts::uuid, cond),
                "slice_name" => text_cond!(q, charts::name, cond),
                "viz_type" => text_cond!(q, charts::chart_type, cond),
                "description" => text_cond!(q, charts::description, cond),
                "created_on" => cmp_cond!(q, charts::created_on, cond, Time, times),
                "changed_on" => cmp_cond!(q, charts::changed_on, cond, Time, times),
                _ => none_of!(q, charts::id),
            };
        }
        if let Some(p) = &plan.search {
            q = q.filter(
                lower(charts::name.nullable())
                    .like(p.clone())
                    .escape('\\')
                    .or(lower(charts::description.nullable())
                        .like(p.clone())
                        .escape('\\')),
            );
        }
        q
    }};
}

pub async fn list_charts(
    conn: &mut MetaConn,
    plan: &ListPlan,
    access: &Access,
) -> QueryResult<(Vec<Chart>, i64)> {
    with_backend!(conn, |c, DB| {
        let total: i64 = charts_where!(DB, plan, access)
            .count()
            .get_result(c)
            .await?;
        let q = charts_where!(DB, plan, access);
        let q = match plan.order_column {
            "id" => order_by!(q, plan.descending, charts::id, charts::id),
            "slice_name" => order_by!(q, plan.descending, charts::name, charts::id),
            "viz_type" => order_by!(q, plan.descending, charts::chart_type, charts::id),
            "datasource_id" => order_by!(q, plan.descending, charts::dataset_id, charts::id),
            "created_on" => order_by!(q, plan.descending, charts::created_on, charts::id),
            _ => order_by!(q, plan.descending, charts::changed_on, charts::id),
        };
        let rows = q
            .offset(plan.offset())
            .limit(plan.page_size)
            .select(Chart::as_select())
            .load(c)
            .await?;
        Ok((rows, total))
    })
}

macro_rules! dashboards_where {
    ($db:ty, $plan:expr, $access:expr) => {{
        let plan: &ListPlan = $plan;
        let access: &Access = $access;
        let mut q = dashboards::table.into_boxed::<$db>();
        q = deleted_filter!(q, dashboards::deleted_on, plan.deleted);
        if let Some(t) = &access.tenant {
            q = q.filter(dashboards::tenant.eq(t.clone()));
        }
        let own = dashboard_owners::table
            .filter(dashboard_owners::dashboard_id.eq(dashboards::id))
            .filter(dashboard_owners::user_id.eq(access.user_id));
        if access.read_only {
            q = q.filter(dashboards::published.eq(true).or(diesel::dsl::exists(own)));
        }
        if !access.all_datasources {
            let visible_chart = dashboard_charts::table
                .inner_join(charts::table)
                .filter(dashboard_charts::dashboard_id.eq(dashboards::id))
                .filter(charts::dataset_id.eq_any(access.datasets.clone()));
            let own = dashboard_owners::table
                .filter(dashboard_owners::dashboard_id.eq(dashboards::id))
                .filter(dashboard_owners::user_id.eq(access.user_id));
            q = q.filter(diesel::dsl::exists(visible_chart).or(diesel::dsl::exists(own)));
        }
        if let Some(u) = plan.created_by {
            q = q.filter(dashboards::created_by_fk.eq(u));
        }
        if let Some(u) = plan.changed_by {
            q = q.filter(dashboards::changed_by_fk.eq(u));
        }
        for (col, cond) in &plan.conds {
            q = match *col {
                "id" => cmp_cond!(q, dashboards::id, cond, Int, ints),
                "uuid" => text_cond!(q, dashboards::uuid, cond),
                "dashboard_title" => text_cond!(q, dashboards::title, cond),
                "slug" => ntext_cond!(q, dashboards::slug, cond),
                "description" => text_cond!(q, dashboards::description, cond),
                "published" => bool_cond!(q, dashboards::published, cond),
                "created_on" => cmp_cond!(q, dashboards::created_on, cond, Time, times),
                "changed_on" => cmp_cond!(q, dashboards::changed_on, cond, Time, times),
                _ => none_of!(q, dashboards::id),
            };
        }
        if let Some(p) = &plan.search {
            q = q.filter(
                lower(dashboards::title.nullable())
                    .like(p.clone())
                    .escape('\\')
                    .or(lower(dashboards::slug).like(p.clone()).escape('\\'))
                    .or(lower(dashboards::description.nullable())
                        .like(p.clone())
                        .escape('\\')),
            );
        }
        q
    }};
}

pub async fn list_dashboards(
    conn: &mut MetaConn,
    plan: &ListPlan,
    access: &Access,
) -> QueryResult<(Vec<Dashboard>, i64)> {
    with_backend!(conn, |c, DB| {
        let total: i64 = dashboards_where!(DB, plan, access)
            .count()
            .get_result(c)
            .await?;
        let q = dashboards_where!(DB, plan, access);
        let q = match plan.order_column {
            "id" => order_by!(q, plan.descending, dashboards::id, dashboards::id),
            "dashboard_title" => order_by!(q, plan.descending, dashboards::title, dashboards::id),
            "slug" => order_by!(q, plan.descending, dashboards::slug, dashboards::id),
            "published" => order_by!(q, plan.descending, dashboards::published, dashboards::id),
            "created_on" => order_by!(q, plan.descending, dashboards::created_on, dashboards::id),
            _ => order_by!(q, plan.descending, dashboards::changed_on, dashboards::id),
        };
        let rows = q
            .offset(plan.offset())
            .limit(plan.page_size)
            .select(Dashboard::as_select())
            .load(c)
            .await?;
        Ok((rows, total))
    })
}

macro_rules! datasets_where {
    ($db:ty, $plan:expr, $access:expr) => {{
        let plan: &ListPlan = $plan;
        let access: &Access = $access;
        let mut q = datasets::table.into_boxed::<$db>();
        q = deleted_filter!(q, datasets::deleted_on, plan.deleted);
        if !access.all_datasources {
            q = q.filter(datasets::id.eq_any(access.datasets.clone()));
        }
        if let Some(u) = plan.created_by {
            q = q.filter(datasets::created_by_fk.eq(u));
        }
        if let Some(u) = plan.changed_by {
            q = q.filter(datasets::changed_by_fk.eq(u));
        }
        for (col, cond) in &plan.conds {
            q = match *col {
                "id" => cmp_cond!(q, datasets::id, cond, Int, ints),
                "database_id" => cmp_cond!(q, datasets::database_id, cond, Int, ints),
                "uuid" => text_cond!(q, datasets::uuid, cond),
                "table_name" => text_cond!(q, datasets::table_name, cond),
                "schema" => ntext_cond!(q, datasets::schema_name, cond),
                "description" => text_cond!(q, datasets::description, cond),
                "kind" => match cond {
                    Cond::Eq(Lit::Text(k)) if k == "virtual" => {
                        q.filter(datasets::sql.is_not_null())
                    }
                    Cond::Eq(Lit::Text(k)) if k == "physical" => q.filter(datasets::sql.is_null()),
                    Cond::Ne(Lit::Text(k)) if k == "virtual" => q.filter(datasets::sql.is_null()),
                    Cond::Ne(Lit::Text(k)) if k == "physical" => {
                        q.filter(datasets::sql.is_not_null())
                    }
                    _ => none_of!(q, datasets::id),
                },
                "created_on" => cmp_cond!(q, datasets::created_on, cond, Time, times),
                "changed_on" => cmp_cond!(q, datasets::changed_on, cond, Time, times),
                _ => none_of!(q, datasets::id),
            };
        }
        if let Some(p) = &plan.search {
            q = q.filter(
                lower(datasets::table_name.nullable())
                    .like(p.clone())
                    .escape('\\')
                    .or(lower(datasets::schema_name).like(p.clone()).escape('\\'))
                    .or(lower(datasets::description.nullable())
                        .like(p.clone())
                        .escape('\\')),
            );
        }
        q
    }};
}

pub async fn list_datasets(
    conn: &mut MetaConn,
    plan: &ListPlan,
    access: &Access,
) -> QueryResult<(Vec<Dataset>, i64)> {
    with_backend!(conn, |c, DB| {
        let total: i64 = datasets_where!(DB, plan, access)
            .count()
            .get_result(c)
            .await?;
        let q = datasets_where!(DB, plan, access);
        let q = match plan.order_column {
            "id" => order_by!(q, plan.descending, datasets::id, datasets::id),
            "table_name" => order_by!(q, plan.descending, datasets::table_name, datasets::id),
            "schema" => order_by!(q, plan.descending, datasets::schema_name, datasets::id),
            "database_id" => order_by!(q, plan.descending, datasets::database_id, datasets::id),
            "kind" => order_by!(q, plan.descending, datasets::sql.is_null(), datasets::id),
            "created_on" => order_by!(q, plan.descending, datasets::created_on, datasets::id),
            _ => order_by!(q, plan.descending, datasets::changed_on, datasets::id),
        };
        let rows = q
            .offset(plan.offset())
            .limit(plan.page_size)
            .select(Dataset::as_select())
            .load(c)
            .await?;
        Ok((rows, total))
    })
}

macro_rules! databases_where {
    ($db:ty, $plan:expr, $access:expr) => {{
        let plan: &ListPlan = $plan;
        let access: &Access = $access;
        let mut q = databases::table.into_boxed::<$db>();
        if !access.all_datasources {
            // A database is visible when granted, or when one of its datasets is.
            let via_dataset = datasets::table
                .filter(datasets::database_id.eq(databases::id))
                .filter(datasets::id.eq_any(access.datasets.clone()));
            q = q.filter(
                databases::id
                    .eq_any(access.databases.clone())
                    .or(diesel::dsl::exists(via_dataset)),
            );
        }
        if let Some(u) = plan.created_by {
            q = q.filter(databases::created_by_fk.eq(u));
        }
        if let Some(u) = plan.changed_by {
            q = q.filter(databases::changed_by_fk.eq(u));
        }
        for (col, cond) in &plan.conds {
            q = match *col {
                "id" => cmp_cond!(q, databases::id, cond, Int, ints),
                "uuid" => text_cond!(q, databases::uuid, cond),
                "database_name" => text_cond!(q, databases::name, cond),
                "backend" => text_cond!(q, databases::engine, cond),
                "description" => text_cond!(q, databases::description, cond),
                "allow_dml" => match cond {
                    Cond::Eq(Lit::Bool(b)) | Cond::Ne(Lit::Bool(b)) => {
                        let want = matches!(cond, Cond::Eq(_)) == *b;
                        let pattern = "%\"allow_dml\":true%".to_string();
                        if want {
                            q.filter(databases::settings.like(pattern))
                        } else {
                            q.filter(databases::settings.not_like(pattern))
                        }
                    }
                    _ => none_of!(q, databases::id),
                },
                "created_on" => cmp_cond!(q, databases::created_on, cond, Time, times),
                "changed_on" => cmp_cond!(q, databases::changed_on, cond, Time, times),
                _ => none_of!(q, databases::id),
            };
        }
        if let Some(p) = &plan.search {
            q = q.filter(
                lower(databases::name.nullable())
                    .like(p.clone())
                    .escape('\\')
                    .or(lower(databases::description.nullable())
                        .like(p.clone())
                        .escape('\\')),
            );
        }
        q
    }};
}

pub async fn list_databases(
    conn: &mut MetaConn,
    plan: &ListPlan,
    access: &Access,
) -> QueryResult<(Vec<Database>, i64)> {
    with_backend!(conn, |c, DB| {
        let total: i64 = databases_where!(DB, plan, access)
            .count()
            .get_result(c)
            .await?;
        let q = databases_where!(DB, plan, access);
        let q = match plan.order_column {
            "id" => order_by!(q, plan.descending, databases::id, databases::id),
            "backend" => order_by!(q, plan.descending, databases::engine, databases::id),
            "created_on" => order_by!(q, plan.descending, databases::created_on, databases::id),
            "changed_on" => order_by!(q, plan.descending, databases::changed_on, databases::id),
            _ => order_by!(q, plan.descending, databases::name, databases::id),
        };
        let rows = q
            .offset(plan.offset())
            .limit(plan.page_size)
            .select(Database::as_select())
            .load(c)
            .await?;
        Ok((rows, total))
    })
}

/// Usernames of the creators and last editors of `rows` when `cols` asks for them.
pub async fn editor_names(
    conn: &mut MetaConn,
    pairs: impl Iterator<Item = [Option<i32>; 2]>,
    cols: &[&str],
) -> QueryResult<HashMap<i32, String>> {
    if !cols.iter().any(|c| c.ends_with("_by")) {
        return Ok(HashMap::new());
    }
    let mut ids: Vec<i32> = pairs.flatten().flatten().collect();
    ids.sort_unstable();
    ids.dedup();
    usernames(conn, ids).await
}

/// Usernames by id, for `created_by` / `changed_by`.
pub async fn usernames(conn: &mut MetaConn, ids: Vec<i32>) -> QueryResult<HashMap<i32, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i32, String)> = crate::with_conn!(conn, |c| {
        users::table
            .filter(users::id.eq_any(ids))
            .select((users::id, users::username))
            .load(c)
            .await
    })?;
    Ok(rows.into_iter().collect())
}

/// Chart counts per dashboard (live charts only).
pub async fn dashboard_chart_counts(
    conn: &mut MetaConn,
    ids: Vec<i32>,
) -> QueryResult<HashMap<i32, i64>> {
    let rows: Vec<(i32, i64)> = crate::with_conn!(conn, |c| {
        dashboard_charts::table
            .inner_join(charts::table)
            .filter(dashboard_charts::dashboard_id.eq_any(ids))
            .filter(charts::deleted_on.is_null())
            .group_by(dashboard_charts::dashboard_id)
            .select((dashboard_charts::dashboard_id, diesel::dsl::count_star()))
            .load(c)
            .await
    })?;
    Ok(rows.into_iter().collect())
}

/// Dataset names by id.
pub async fn dataset_names(
    conn: &mut MetaConn,
    ids: Vec<i32>,
) -> QueryResult<HashMap<i32, String>> {
    let rows: Vec<(i32, String)> = crate::with_conn!(conn, |c| {
        datasets::table
            .filter(datasets::id.eq_any(ids))
            .select((datasets::id, datasets::table_name))
            .load(c)
            .await
    })?;
    Ok(rows.into_iter().collect())
}

/// Database names by id.
pub async fn database_names(
    conn: &mut MetaConn,
    ids: Vec<i32>,
) -> QueryResult<HashMap<i32, String>> {
    let rows: Vec<(i32, String)> = crate::with_conn!(conn, |c| {
        databases::table
            .filter(databases::id.eq_any(ids))
            .select((databases::id, databases::name))
            .load(c)
            .await
    })?;
    Ok(rows.into_iter().collect())
}

/// The encrypted connection of a database (only the data-source registry decrypts it).
pub async fn connection_of(conn: &mut MetaConn, database_id: i32) -> QueryResult<String> {
    crate::with_conn!(conn, |c| {
        databases::table
            .filter(databases::id.eq(database_id))
            .select(databases::connection_encrypted)
            .first(c)
            .await
    })
}

/// Whose query history and saved queries a caller sees.
#[derive(Debug, Clone, Default)]
pub struct RunScope {
    /// Only this user's (everyone but admins).
    pub user: Option<i32>,
    /// Only on these databases (a tenant's).
    pub databases: Option<Vec<i32>>,
}

impl RunScope {
    /// Whether a run on `database_id` is within this scope's databases.
    pub fn covers_database(&self, database_id: i32) -> bool {
        self.databases
            .as_ref()
            .is_none_or(|dbs| dbs.contains(&database_id))
    }
}

macro_rules! queries_where {
    ($db:ty, $plan:expr, $scope:expr) => {{
        let plan: &ListPlan = $plan;
        let scope: &RunScope = $scope;
        let mut q = query_history::table.into_boxed::<$db>();
        if let Some(u) = scope.user {
            q = q.filter(query_history::user_id.eq(u));
        }
        if let Some(dbs) = &scope.databases {
            q = q.filter(query_history::database_id.eq_any(dbs.clone()));
        }
        for (col, cond) in &plan.conds {
            q = match *col {
                "id" => cmp_cond!(q, query_history::id, cond, Int, ints),
                "uuid" => text_cond!(q, query_history::uuid, cond),
                "database_id" => cmp_cond!(q, query_history::database_id, cond, Int, ints),
                "schema" => ntext_cond!(q, query_history::schema_name, cond),
                "sql" => text_cond!(q, query_history::sql, cond),
                "executed_sql" => ntext_cond!(q, query_history::executed_sql, cond),
                "status" => text_cond!(q, query_history::status, cond),
                "error_message" => ntext_cond!(q, query_history::error_message, cond),
                "row_count" => match cond {
                    Cond::IsNull => q.filter(query_history::row_count.is_null()),
                    Cond::IsNotNull => q.filter(query_history::row_count.is_not_null()),
                    Cond::Eq(Lit::Int(v)) => q.filter(query_history::row_count.eq(i64::from(*v))),
                    Cond::Gt(Lit::Int(v)) => q.filter(query_history::row_count.gt(i64::from(*v))),
                    Cond::Gte(Lit::Int(v)) => q.filter(query_history::row_count.ge(i64::from(*v))),
                    Cond::Lt(Lit::Int(v)) => q.filter(query_history::row_count.lt(i64::from(*v))),
                    Cond::Lte(Lit::Int(v)) => q.filter(query_history::row_count.le(i64::from(*v))),
                    _ => none_of!(q, query_history::id),
                },
                "duration_ms" => match cond {
                    Cond::IsNull => q.filter(query_history::duration_ms.is_null()),
                    Cond::IsNotNull => q.filter(query_history::duration_ms.is_not_null()),
                    Cond::Gt(Lit::Int(v)) => q.filter(query_history::duration_ms.gt(i64::from(*v))),
                    Cond::Gte(Lit::Int(v)) => {
                        q.filter(query_history::duration_ms.ge(i64::from(*v)))
                    }
                    Cond::Lt(Lit::Int(v)) => q.filter(query_history::duration_ms.lt(i64::from(*v))),
                    Cond::Lte(Lit::Int(v)) => {
                        q.filter(query_history::duration_ms.le(i64::from(*v)))
                    }
                    _ => none_of!(q, query_history::id),
                },
                "started_on" => cmp_cond!(q, query_history::started_on, cond, Time, times),
                _ => none_of!(q, query_history::id),
            };
        }
        if let Some(p) = &plan.search {
            q = q.filter(
                lower(query_history::sql.nullable())
                    .like(p.clone())
                    .escape('\\'),
            );
        }
        q
    }};
}

/// Query history within `scope`.
pub async fn list_queries(
    conn: &mut MetaConn,
    plan: &ListPlan,
    scope: &RunScope,
) -> QueryResult<(Vec<crate::db::models::QueryRecord>, i64)> {
    use crate::db::models::QueryRecord;
    with_backend!(conn, |c, DB| {
        let total: i64 = queries_where!(DB, plan, scope)
            .count()
            .get_result(c)
            .await?;
        let q = queries_where!(DB, plan, scope);
        let q = match plan.order_column {
            "id" => order_by!(q, plan.descending, query_history::id, query_history::id),
            "database_id" => order_by!(
                q,
                plan.descending,
                query_history::database_id,
                query_history::id
            ),
            "schema" => order_by!(
                q,
                plan.descending,
                query_history::schema_name,
                query_history::id
            ),
            "status" => order_by!(q, plan.descending, query_history::status, query_history::id),
            "row_count" => order_by!(
                q,
                plan.descending,
                query_history::row_count,
                query_history::id
            ),
            "duration_ms" => order_by!(
                q,
                plan.descending,
                query_history::duration_ms,
                query_history::id
            ),
            _ => order_by!(
                q,
                plan.descending,
                query_history::started_on,
                query_history::id
            ),
        };
        let rows = q
            .offset(plan.offset())
            .limit(plan.page_size)
            .select(QueryRecord::as_select())
            .load(c)
            .await?;
        Ok((rows, total))
    })
}

macro_rules! saved_where {
    ($db:ty, $plan:expr, $scope:expr) => {{
        let plan: &ListPlan = $plan;
        let scope: &RunScope = $scope;
        let mut q = saved_queries::table.into_boxed::<$db>();
        if let Some(u) = scope.user {
            q = q.filter(saved_queries::created_by_fk.eq(u));
        }
        if let Some(dbs) = &scope.databases {
            q = q.filter(saved_queries::database_id.eq_any(dbs.clone()));
        }
        if let Some(u) = plan.created_by {
            q = q.filter(saved_queries::created_by_fk.eq(u));
        }
        if let Some(u) = plan.changed_by {
            q = q.filter(saved_queries::changed_by_fk.eq(u));
        }
        for (col, cond) in &plan.conds {
            q = match *col {
                "id" => cmp_cond!(q, saved_queries::id, cond, Int, ints),
                "uuid" => text_cond!(q, saved_queries::uuid, cond),
                "label" => text_cond!(q, saved_queries::label, cond),
                "description" => text_cond!(q, saved_queries::description, cond),
                "database_id" => cmp_cond!(q, saved_queries::database_id, cond, Int, ints),
                "schema" => ntext_cond!(q, saved_queries::schema_name, cond),
                "sql" => text_cond!(q, saved_queries::sql, cond),
                "created_on" => cmp_cond!(q, saved_queries::created_on, cond, Time, times),
                "changed_on" => cmp_cond!(q, saved_queries::changed_on, cond, Time, times),
                _ => none_of!(q, saved_queries::id),
            };
        }
        if let Some(p) = &plan.search {
            q = q.filter(
                lower(saved_queries::label.nullable())
                    .like(p.clone())
                    .escape('\\')
                    .or(lower(saved_queries::description.nullable())
                        .like(p.clone())
                        .escape('\\'))
                    .or(lower(saved_queries::sql.nullable())
                        .like(p.clone())
                        .escape('\\')),
            );
        }
        q
    }};
}

/// Saved queries within `scope`.
pub async fn list_saved_queries(
    conn: &mut MetaConn,
    plan: &ListPlan,
    scope: &RunScope,
) -> QueryResult<(Vec<crate::db::models::SavedQuery>, i64)> {
    use crate::db::models::SavedQuery;
    with_backend!(conn, |c, DB| {
        let total: i64 = saved_where!(DB, plan, scope).count().get_result(c).await?;
        let q = saved_where!(DB, plan, scope);
        let q = match plan.order_column {
            "id" => order_by!(q, plan.descending, saved_queries::id, saved_queries::id),
            "label" => order_by!(q, plan.descending, saved_queries::label, saved_queries::id),
            "database_id" => order_by!(
                q,
                plan.descending,
                saved_queries::database_id,
                saved_queries::id
            ),
            "schema" => order_by!(
                q,
                plan.descending,
                saved_queries::schema_name,
                saved_queries::id
            ),
            "created_on" => order_by!(
                q,
                plan.descending,
                saved_queries::created_on,
                saved_queries::id
            ),
            _ => order_by!(
                q,
                plan.descending,
                saved_queries::changed_on,
                saved_queries::id
            ),
        };
        let rows = q
            .offset(plan.offset())
            .limit(plan.page_size)
            .select(SavedQuery::as_select())
            .load(c)
            .await?;
        Ok((rows, total))
    })
}

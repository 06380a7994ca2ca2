//! Catalog queries: dashboards, charts, datasets and databases, listed with validated
//! [`ListPlan`]s and filtered by the caller's [`Access`].
//!
//! Every list runs through one path, [`list_model!`]: each model binds its spec columns to
//! diesel columns once, and the filter, order, count and page follow from that binding.
//! Queries are boxed diesel queries built per backend, so every filter, search and order
//! goes through diesel's query builder with bound values: no SQL text is built from user
//! input.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Nullable, Text};
use diesel_async::RunQueryDsl;

use crate::auth::{Permission, Principal};
use crate::db::MetaConn;
use crate::db::charts::Chart;
use crate::db::dashboards::Dashboard;
use crate::db::databases::Database;
use crate::db::datasets::Dataset;
use crate::db::models::{QueryRecord, SavedQuery};
use crate::db::schema::*;
use crate::error::ToolError;
use crate::query::list::{Cond, DeletedState, ListPlan, Lit};

/// A text expression folded to lower case for a case-insensitive `LIKE`: `lower(e)` on
/// PostgreSQL; `e` itself on SQLite, whose `LIKE` already ignores the case of ASCII letters
/// and whose `lower()` folds nothing else (no ICU), so the matches are the same without a
/// string copy per row and column (most of the cost of a search there).
#[derive(Debug, Clone, Copy, diesel::expression::ValidGrouping, diesel::query_builder::QueryId)]
pub struct Folded<E>(E);

fn folded<E: Expression<SqlType = Nullable<Text>>>(e: E) -> Folded<E> {
    Folded(e)
}

impl<E: Expression> Expression for Folded<E> {
    type SqlType = E::SqlType;
}

impl<E: QueryFragment<diesel::pg::Pg>> QueryFragment<diesel::pg::Pg> for Folded<E> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        out.push_sql("lower(");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}

impl<E: QueryFragment<diesel::sqlite::Sqlite>> QueryFragment<diesel::sqlite::Sqlite> for Folded<E> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, diesel::sqlite::Sqlite>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }
}

impl<E: AppearsOnTable<QS>, QS> AppearsOnTable<QS> for Folded<E> {}

impl<E: SelectableExpression<QS>, QS> SelectableExpression<QS> for Folded<E> {}

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

/// The one list path of every catalog model. Each model says, once:
/// - its table, row type and the scope that decides what the caller sees (`scope`);
/// - one binding per spec column it can filter or sort by: the spec's column name, the
///   diesel column and its kind (`int`, `text`, `ntext` (nullable text), `time`, `bool`,
///   or `custom(q, cond => …)`), and `sort` when the spec sorts by it (with the sort key
///   when it is not the column itself);
/// - its search and its default order.
///
/// From that one table the macro builds the filter and the order (so a column's name and
/// its diesel column are said once), then counts, orders and pages the same way for every
/// model. A spec column without a binding matches nothing (fail-closed; the spec test
/// below keeps the bindings and the spec in step).
macro_rules! list_model {
    (
        $(#[$doc:meta])*
        pub fn $name:ident($scope:ident: &$Scope:ty) -> $Row:ty;
        bindings: $bindings:ident,
        table: $table:ident,
        $(deleted: $deleted:expr,)?
        $(editors: ($created_by:expr, $changed_by:expr),)?
        scope: |$q:ident| $scope_body:block,
        columns: { $( $col:literal => $kind:ident $args:tt $($sortable:ident $(($sort:expr))?)?; )* },
        search: |$p:ident| $search:expr,
        default_order: $default:expr,
    ) => {
        /// The spec columns this model binds, and whether each sorts.
        #[cfg(test)]
        const $bindings: &[(&str, bool)] =
            &[$( ($col, false $(|| list_model!(@true $sortable))?), )*];

        $(#[$doc])*
        pub async fn $name(
            conn: &mut MetaConn,
            plan: &ListPlan,
            $scope: &$Scope,
        ) -> QueryResult<(Vec<$Row>, i64)> {
            with_backend!(conn, |c, DB| {
                let filtered = || {
                    let mut $q = $table::table.into_boxed::<DB>();
                    $(
                        $q = match plan.deleted {
                            DeletedState::Exclude => $q.filter($deleted.is_null()),
                            DeletedState::Only => $q.filter($deleted.is_not_null()),
                            DeletedState::Include => $q,
                        };
                    )?
                    $scope_body
                    $(
                        if let Some(u) = plan.created_by {
                            $q = $q.filter($created_by.eq(u));
                        }
                        if let Some(u) = plan.changed_by {
                            $q = $q.filter($changed_by.eq(u));
                        }
                    )?
                    for (col, cond) in &plan.conds {
                        $q = match *col {
                            $( $col => list_model!(@cond $q, cond, $kind $args), )*
                            _ => list_model!(@none $q, $table::id),
                        };
                    }
                    if let Some($p) = &plan.search {
                        $q = $q.filter($search);
                    }
                    $q
                };
                let total: i64 = filtered().count().get_result(c).await?;
                let q = filtered();
                let q = match plan.order_column {
                    $( $( $col => {
                        let _ = stringify!($sortable);
                        list_model!(@order q, plan.descending, $table::id, [$($sort)?] $args)
                    } )? )*
                    _ => list_model!(@order q, plan.descending, $table::id, [$default] ()),
                };
                let rows = q
                    .offset(plan.offset())
                    .limit(plan.page_size)
                    .select(<$Row>::as_select())
                    .load(c)
                    .await?;
                Ok((rows, total))
            })
        }
    };

    (@true $x:ident) => {
        true
    };

    // Always false on `$col`: the fail-closed answer to a condition that does not fit the
    // column (validation makes it unreachable).
    (@none $q:ident, $col:expr) => {
        $q.filter($col.is_null().and($col.is_not_null()))
    };

    (@order $q:ident, $desc:expr, $id:expr, [$key:expr] $args:tt) => {
        if $desc {
            $q.order(($key.desc(), $id.desc()))
        } else {
            $q.order(($key.asc(), $id.asc()))
        }
    };
    (@order $q:ident, $desc:expr, $id:expr, [] ($col:expr)) => {
        list_model!(@order $q, $desc, $id, [$col] ())
    };

    (@cond $q:ident, $cond:expr, custom ($a:ident, $b:ident => $body:expr)) => {{
        let $a = $q;
        let $b = $cond;
        $body
    }};
    (@cond $q:ident, $cond:expr, int ($col:expr)) => {
        list_model!(@cmp $q, $cond, $col, Int, ints)
    };
    (@cond $q:ident, $cond:expr, time ($col:expr)) => {
        list_model!(@cmp $q, $cond, $col, Time, times)
    };
    (@cond $q:ident, $cond:expr, text ($col:expr)) => {
        list_model!(@text $q, $cond, $col, folded($col.nullable()))
    };
    (@cond $q:ident, $cond:expr, ntext ($col:expr)) => {
        list_model!(@text $q, $cond, $col, folded($col))
    };
    (@cond $q:ident, $cond:expr, bool ($col:expr)) => {
        match $cond {
            Cond::Eq(Lit::Bool(v)) => $q.filter($col.eq(*v)),
            Cond::Ne(Lit::Bool(v)) => $q.filter($col.ne(*v)),
            Cond::IsNull => $q.filter($col.is_null()),
            Cond::IsNotNull => $q.filter($col.is_not_null()),
            _ => list_model!(@none $q, $col),
        }
    };
    (@text $q:ident, $cond:expr, $col:expr, $lowered:expr) => {
        match $cond {
            Cond::Eq(Lit::Text(v)) => $q.filter($col.eq(v.clone())),
            Cond::Ne(Lit::Text(v)) => $q.filter($col.ne(v.clone())),
            Cond::In(vs) => $q.filter($col.eq_any(texts(vs))),
            Cond::Nin(vs) => $q.filter($col.ne_all(texts(vs))),
            Cond::Like(p) => $q.filter($col.like(p.clone()).escape('\\')),
            Cond::ILike(p) => $q.filter($lowered.like(p.clone()).escape('\\')),
            Cond::IsNull => $q.filter($col.is_null()),
            Cond::IsNotNull => $q.filter($col.is_not_null()),
            _ => list_model!(@none $q, $col),
        }
    };
    (@cmp $q:ident, $cond:expr, $col:expr, $variant:ident, $list:ident) => {
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
            _ => list_model!(@none $q, $col),
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
        // A tenant's principal sees at most its tenant's databases, whatever its grants.
        let owned = match &p.tenant {
            Some(t) => Some(crate::db::models::tenant_databases(conn, t).await?),
            None => None,
        };
        let (mut access, granted) = Self::begin(p, owned.as_deref());
        if let Some(granted) = granted {
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

    /// What `p` may see as far as its grants and `owned` (its tenant's databases, when it has
    /// a tenant) decide, and — when it does not see every dataset — the datasets granted one
    /// by one: then `datasets` must become the datasets on `databases` or granted, within
    /// `owned` ([`Self::load`] asks the store; the catalog index reads its snapshot).
    pub fn begin(p: &Principal, owned: Option<&[i32]>) -> (Self, Option<Vec<i32>>) {
        let mut access = Access {
            user_id: p.user_id,
            all_datasources: p.all_datasource_access,
            databases: p.database_ids.iter().copied().collect(),
            datasets: Vec::new(),
            read_only: !p.has(Permission::CatalogWrite),
            admin: p.has(Permission::Admin),
            tenant: p.tenant.clone(),
        };
        if let Some(owned) = owned {
            if access.all_datasources {
                access.databases = owned.to_vec();
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
            return (access, Some(granted));
        }
        (access, None)
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

list_model! {
    pub fn list_charts(access: &Access) -> Chart;
    bindings: CHART_BINDINGS,
    table: charts,
    deleted: charts::deleted_on,
    editors: (charts::created_by_fk, charts::changed_by_fk),
    scope: |q| {
        if !access.all_datasources {
            q = q.filter(charts::dataset_id.eq_any(access.datasets.clone()));
        }
    },
    columns: {
        "id" => int(charts::id) sort;
        "datasource_id" => int(charts::dataset_id) sort;
        "uuid" => text(charts::uuid);
        "slice_name" => text(charts::name) sort;
        "viz_type" => text(charts::chart_type) sort;
        "description" => text(charts::description);
        "created_on" => time(charts::created_on) sort;
        "changed_on" => time(charts::changed_on) sort;
    },
    search: |p| folded(charts::name.nullable())
        .like(p.clone())
        .escape('\\')
        .or(folded(charts::description.nullable())
            .like(p.clone())
            .escape('\\')),
    default_order: charts::changed_on,
}

list_model! {
    pub fn list_dashboards(access: &Access) -> Dashboard;
    bindings: DASHBOARD_BINDINGS,
    table: dashboards,
    deleted: dashboards::deleted_on,
    editors: (dashboards::created_by_fk, dashboards::changed_by_fk),
    scope: |q| {
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
    },
    columns: {
        "id" => int(dashboards::id) sort;
        "uuid" => text(dashboards::uuid);
        "dashboard_title" => text(dashboards::title) sort;
        "slug" => ntext(dashboards::slug) sort;
        "description" => text(dashboards::description);
        "published" => bool(dashboards::published) sort;
        "created_on" => time(dashboards::created_on) sort;
        "changed_on" => time(dashboards::changed_on) sort;
    },
    search: |p| folded(dashboards::title.nullable())
        .like(p.clone())
        .escape('\\')
        .or(folded(dashboards::slug).like(p.clone()).escape('\\'))
        .or(folded(dashboards::description.nullable())
            .like(p.clone())
            .escape('\\')),
    default_order: dashboards::changed_on,
}

list_model! {
    pub fn list_datasets(access: &Access) -> Dataset;
    bindings: DATASET_BINDINGS,
    table: datasets,
    deleted: datasets::deleted_on,
    editors: (datasets::created_by_fk, datasets::changed_by_fk),
    scope: |q| {
        if !access.all_datasources {
            q = q.filter(datasets::id.eq_any(access.datasets.clone()));
        }
    },
    columns: {
        "id" => int(datasets::id) sort;
        "database_id" => int(datasets::database_id) sort;
        "uuid" => text(datasets::uuid);
        "table_name" => text(datasets::table_name) sort;
        "schema" => ntext(datasets::schema_name) sort;
        "description" => text(datasets::description);
        "kind" => custom(q, cond => match cond {
            Cond::Eq(Lit::Text(k)) if k == "virtual" => q.filter(datasets::sql.is_not_null()),
            Cond::Eq(Lit::Text(k)) if k == "physical" => q.filter(datasets::sql.is_null()),
            Cond::Ne(Lit::Text(k)) if k == "virtual" => q.filter(datasets::sql.is_null()),
            Cond::Ne(Lit::Text(k)) if k == "physical" => q.filter(datasets::sql.is_not_null()),
            _ => list_model!(@none q, datasets::id),
        }) sort(datasets::sql.is_null());
        "created_on" => time(datasets::created_on) sort;
        "changed_on" => time(datasets::changed_on) sort;
    },
    search: |p| folded(datasets::table_name.nullable())
        .like(p.clone())
        .escape('\\')
        .or(folded(datasets::schema_name).like(p.clone()).escape('\\'))
        .or(folded(datasets::description.nullable())
            .like(p.clone())
            .escape('\\')),
    default_order: datasets::changed_on,
}

list_model! {
    pub fn list_databases(access: &Access) -> Database;
    bindings: DATABASE_BINDINGS,
    table: databases,
    editors: (databases::created_by_fk, databases::changed_by_fk),
    scope: |q| {
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
    },
    columns: {
        "id" => int(databases::id) sort;
        "uuid" => text(databases::uuid);
        "database_name" => text(databases::name) sort;
        "backend" => text(databases::engine) sort;
        "description" => text(databases::description);
        "allow_dml" => custom(q, cond => match cond {
            Cond::Eq(Lit::Bool(b)) | Cond::Ne(Lit::Bool(b)) => {
                let want = matches!(cond, Cond::Eq(_)) == *b;
                let pattern = "%\"allow_dml\":true%".to_string();
                if want {
                    q.filter(databases::settings.like(pattern))
                } else {
                    q.filter(databases::settings.not_like(pattern))
                }
            }
            _ => list_model!(@none q, databases::id),
        });
        "created_on" => time(databases::created_on) sort;
        "changed_on" => time(databases::changed_on) sort;
    },
    search: |p| folded(databases::name.nullable())
        .like(p.clone())
        .escape('\\')
        .or(folded(databases::description.nullable())
            .like(p.clone())
            .escape('\\')),
    default_order: databases::name,
}

/// A saved metric as `list_metrics` lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dataset_metrics, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct MetricRow {
    pub id: i32,
    pub uuid: String,
    pub dataset_id: i32,
    pub metric_name: String,
    pub expression: String,
    pub verbose_name: Option<String>,
    pub description: String,
    pub d3format: Option<String>,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
    pub created_by_fk: Option<i32>,
    pub changed_by_fk: Option<i32>,
}

list_model! {
    /// Saved metrics of the datasets `access` sees (datasets in the trash left out).
    pub fn list_metrics(access: &Access) -> MetricRow;
    bindings: METRIC_BINDINGS,
    table: dataset_metrics,
    editors: (dataset_metrics::created_by_fk, dataset_metrics::changed_by_fk),
    scope: |q| {
        let live = datasets::table
            .filter(datasets::id.eq(dataset_metrics::dataset_id))
            .filter(datasets::deleted_on.is_null());
        q = q.filter(diesel::dsl::exists(live));
        if !access.all_datasources {
            q = q.filter(dataset_metrics::dataset_id.eq_any(access.datasets.clone()));
        }
    },
    columns: {
        "id" => int(dataset_metrics::id) sort;
        "uuid" => text(dataset_metrics::uuid);
        "metric_name" => text(dataset_metrics::metric_name) sort;
        "verbose_name" => ntext(dataset_metrics::verbose_name) sort;
        "expression" => text(dataset_metrics::expression);
        "description" => text(dataset_metrics::description);
        "d3format" => ntext(dataset_metrics::d3format);
        "dataset_id" => int(dataset_metrics::dataset_id) sort;
        "created_on" => time(dataset_metrics::created_on) sort;
        "changed_on" => time(dataset_metrics::changed_on) sort;
    },
    search: |p| folded(dataset_metrics::metric_name.nullable())
        .like(p.clone())
        .escape('\\')
        .or(folded(dataset_metrics::verbose_name)
            .like(p.clone())
            .escape('\\'))
        .or(folded(dataset_metrics::description.nullable())
            .like(p.clone())
            .escape('\\'))
        .or(folded(dataset_metrics::expression.nullable())
            .like(p.clone())
            .escape('\\')),
    default_order: dataset_metrics::metric_name,
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

list_model! {
    /// Query history within `scope`.
    pub fn list_queries(scope: &RunScope) -> QueryRecord;
    bindings: QUERY_BINDINGS,
    table: query_history,
    scope: |q| {
        if let Some(u) = scope.user {
            q = q.filter(query_history::user_id.eq(u));
        }
        if let Some(dbs) = &scope.databases {
            q = q.filter(query_history::database_id.eq_any(dbs.clone()));
        }
    },
    columns: {
        "id" => int(query_history::id) sort;
        "uuid" => text(query_history::uuid);
        "database_id" => int(query_history::database_id) sort;
        "schema" => ntext(query_history::schema_name) sort;
        "sql" => text(query_history::sql);
        "executed_sql" => ntext(query_history::executed_sql);
        "status" => text(query_history::status) sort;
        "error_message" => ntext(query_history::error_message);
        "row_count" => custom(q, cond => match cond {
            Cond::IsNull => q.filter(query_history::row_count.is_null()),
            Cond::IsNotNull => q.filter(query_history::row_count.is_not_null()),
            Cond::Eq(Lit::Int(v)) => q.filter(query_history::row_count.eq(i64::from(*v))),
            Cond::Gt(Lit::Int(v)) => q.filter(query_history::row_count.gt(i64::from(*v))),
            Cond::Gte(Lit::Int(v)) => q.filter(query_history::row_count.ge(i64::from(*v))),
            Cond::Lt(Lit::Int(v)) => q.filter(query_history::row_count.lt(i64::from(*v))),
            Cond::Lte(Lit::Int(v)) => q.filter(query_history::row_count.le(i64::from(*v))),
            _ => list_model!(@none q, query_history::id),
        }) sort(query_history::row_count);
        "duration_ms" => custom(q, cond => match cond {
            Cond::IsNull => q.filter(query_history::duration_ms.is_null()),
            Cond::IsNotNull => q.filter(query_history::duration_ms.is_not_null()),
            Cond::Gt(Lit::Int(v)) => q.filter(query_history::duration_ms.gt(i64::from(*v))),
            Cond::Gte(Lit::Int(v)) => q.filter(query_history::duration_ms.ge(i64::from(*v))),
            Cond::Lt(Lit::Int(v)) => q.filter(query_history::duration_ms.lt(i64::from(*v))),
            Cond::Lte(Lit::Int(v)) => q.filter(query_history::duration_ms.le(i64::from(*v))),
            _ => list_model!(@none q, query_history::id),
        }) sort(query_history::duration_ms);
        "started_on" => time(query_history::started_on) sort;
    },
    search: |p| folded(query_history::sql.nullable())
        .like(p.clone())
        .escape('\\'),
    default_order: query_history::started_on,
}

list_model! {
    /// Saved queries within `scope`.
    pub fn list_saved_queries(scope: &RunScope) -> SavedQuery;
    bindings: SAVED_QUERY_BINDINGS,
    table: saved_queries,
    editors: (saved_queries::created_by_fk, saved_queries::changed_by_fk),
    scope: |q| {
        if let Some(u) = scope.user {
            q = q.filter(saved_queries::created_by_fk.eq(u));
        }
        if let Some(dbs) = &scope.databases {
            q = q.filter(saved_queries::database_id.eq_any(dbs.clone()));
        }
    },
    columns: {
        "id" => int(saved_queries::id) sort;
        "uuid" => text(saved_queries::uuid);
        "label" => text(saved_queries::label) sort;
        "description" => text(saved_queries::description);
        "database_id" => int(saved_queries::database_id) sort;
        "schema" => ntext(saved_queries::schema_name) sort;
        "sql" => text(saved_queries::sql);
        "created_on" => time(saved_queries::created_on) sort;
        "changed_on" => time(saved_queries::changed_on) sort;
    },
    search: |p| folded(saved_queries::label.nullable())
        .like(p.clone())
        .escape('\\')
        .or(folded(saved_queries::description.nullable())
            .like(p.clone())
            .escape('\\'))
        .or(folded(saved_queries::sql.nullable())
            .like(p.clone())
            .escape('\\')),
    default_order: saved_queries::changed_on,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::spec::ModelSpec;

    /// Spec columns that the spec calls sortable but whose list sorts by the default order
    /// (kept as they were: changing them would change behaviour).
    const SORTS_BY_DEFAULT: &[(&str, &str)] = &[("database", "allow_dml")];

    #[test]
    fn bindings_follow_the_spec() {
        for (model, bindings) in [
            ("chart", CHART_BINDINGS),
            ("dashboard", DASHBOARD_BINDINGS),
            ("dataset", DATASET_BINDINGS),
            ("database", DATABASE_BINDINGS),
            ("query", QUERY_BINDINGS),
            ("saved_query", SAVED_QUERY_BINDINGS),
            ("metric", METRIC_BINDINGS),
        ] {
            let spec = ModelSpec::find(model).expect("spec");
            for (name, sorts) in bindings {
                let col = spec
                    .columns
                    .iter()
                    .find(|c| c.name == *name)
                    .unwrap_or_else(|| panic!("{model} binds {name}, which its spec lacks"));
                assert!(
                    !col.ty.operators().is_empty(),
                    "{model}.{name} is bound but not filterable"
                );
                assert!(
                    !*sorts || col.sortable,
                    "{model}.{name} sorts, but its spec says it does not"
                );
            }
            for col in spec.columns.iter().filter(|c| c.sortable) {
                let bound = bindings.iter().any(|(n, s)| *n == col.name && *s);
                assert!(
                    bound || SORTS_BY_DEFAULT.contains(&(model, col.name)),
                    "{model}.{} is sortable in the spec but has no sort binding",
                    col.name
                );
            }
        }
    }
}

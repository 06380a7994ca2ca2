//! Dashboard tools: list, inspect, lay out, create, change, duplicate, delete.
//!
//! Writes run in one transaction each and bump `dashboards.version`. Concurrent updates:
//! every write re-reads the dashboard inside its transaction and updates it only if the
//! version is still the one it read (`WHERE version = ?`); a write that loses the race is
//! refused with `conflict` (re-read and retry), so no update is silently lost. Callers may
//! also pass `expected_version` to make the check span their own read.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::shared::Deleted;
use super::{Hints, Registry, ToolCtx, fmt_time, tool};
use crate::actors::PoolKind;
use crate::auth::Permission;
use crate::db::MetaConn;
use crate::db::charts::Chart;
use crate::db::dashboards::{Dashboard, DashboardChanges, VersionedError};
use crate::db::models::{NewDashboard, new_uuid, now};
use crate::error::ToolError;
use crate::layout::{Layout, Position};
use crate::query::catalog::{self, Access};
use crate::query::index;
use crate::query::list::{Cond, DeletedState, Ident, ListArgs, ListPlan, Lit, Page};
use crate::query::spec::ModelSpec;

pub fn register(r: &mut Registry) {
    r.add(tool(
        "list_dashboards",
        "List dashboards",
        "Dashboards you can see; lists as list_charts, get_schema(model=dashboard).",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        list_dashboards,
    ));
    r.add(tool(
        "get_dashboard_info",
        "Dashboard details",
        "One dashboard by id, uuid or slug: its charts, owners, layout summary, native filters and metadata.",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        get_dashboard_info,
    ));
    r.add(tool(
        "get_dashboard_layout",
        "Dashboard layout",
        "The layout of one dashboard: tabs, rows and each chart's position and size on the 12-column grid.",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        get_dashboard_layout,
    ));
    r.add(tool(
        "generate_dashboard",
        "Create a dashboard",
        "Create a dashboard from chart ids; without a layout, two charts per row.",
        PoolKind::Catalog,
        Permission::CatalogWrite,
        Hints::WRITE,
        generate_dashboard,
    ));
    r.add(tool(
        "update_dashboard",
        "Change a dashboard",
        "Change a dashboard's title, description, slug, published flag, layout or metadata; returns what changed.",
        PoolKind::Catalog,
        Permission::CatalogWrite,
        Hints { read_only: false, destructive: false, idempotent: true },
        update_dashboard,
    ));
    r.add(tool(
        "duplicate_dashboard",
        "Duplicate a dashboard",
        "Copy a dashboard under a new title, sharing its charts or (duplicate_charts=true) copying them too.",
        PoolKind::Catalog,
        Permission::CatalogWrite,
        Hints::WRITE,
        duplicate_dashboard,
    ));
    r.add(tool(
        "add_chart_to_existing_dashboard",
        "Add a chart to a dashboard",
        "Place a chart on a dashboard (optionally in a tab) in the first row with room; returns its position.",
        PoolKind::Catalog,
        Permission::CatalogWrite,
        Hints::WRITE,
        add_chart,
    ));
    r.add(tool(
        "remove_chart_from_dashboard",
        "Remove a chart from a dashboard",
        "Take a chart off a dashboard (the chart itself stays).",
        PoolKind::Catalog,
        Permission::CatalogWrite,
        Hints::DESTRUCTIVE,
        remove_chart,
    ));
    r.add(tool(
        "delete_dashboard",
        "Delete a dashboard",
        "Move a dashboard to the trash. list_dashboards(deleted_state=only) shows the trash; restore_deleted \
         brings it back.",
        PoolKind::Catalog,
        Permission::CatalogWrite,
        Hints::DESTRUCTIVE,
        delete_dashboard,
    ));
}

fn spec() -> &'static ModelSpec {
    ModelSpec::find("dashboard").unwrap_or(&crate::query::spec::MODELS[0])
}

async fn list_dashboards(
    ctx: ToolCtx,
    args: ListArgs,
) -> Result<Page<Map<String, Value>>, ToolError> {
    let plan = args.plan(spec(), ctx.principal.user_id)?;
    let (items, total) = if let Some(snap) = ctx.app.catalog().await?
        && let Some((rows, total)) = snap.list_dashboards(&plan, &snap.access(&ctx.principal))
    {
        index::answered("list_dashboards", true);
        let cols = &plan.columns;
        let users = snap.editor_names(
            rows.iter().map(|d| [d.created_by_fk, d.changed_by_fk]),
            cols,
        );
        let counts = if cols.contains(&"chart_count") {
            snap.dashboard_chart_counts(rows.iter().map(|d| d.id))
        } else {
            HashMap::new()
        };
        (render_with(&rows, cols, &users, &counts), total)
    } else {
        index::answered("list_dashboards", false);
        let mut conn = ctx.app.db.conn().await?;
        let access = Access::load(&mut conn, &ctx.principal).await?;
        let (rows, total) = catalog::list_dashboards(&mut conn, &plan, &access).await?;
        (render(&mut conn, &rows, &plan.columns).await?, total)
    };
    Ok(Page::of_plan(
        spec(),
        &plan,
        items,
        total,
        ctx.app.config.limits.response_bytes,
    ))
}

async fn render(
    conn: &mut MetaConn,
    rows: &[Dashboard],
    cols: &[&str],
) -> Result<Vec<Map<String, Value>>, ToolError> {
    let users = catalog::editor_names(
        conn,
        rows.iter().map(|x| [x.created_by_fk, x.changed_by_fk]),
        cols,
    )
    .await?;
    let counts = if cols.contains(&"chart_count") {
        catalog::dashboard_chart_counts(conn, rows.iter().map(|d| d.id).collect()).await?
    } else {
        HashMap::new()
    };
    Ok(render_with(rows, cols, &users, &counts))
}

fn render_with(
    rows: &[Dashboard],
    cols: &[&str],
    users: &HashMap<i32, String>,
    counts: &HashMap<i32, i64>,
) -> Vec<Map<String, Value>> {
    rows.iter()
        .map(|d| {
            let mut m = Map::new();
            for c in cols {
                let v = match *c {
                    "id" => json!(d.id),
                    "uuid" => json!(d.uuid),
                    "dashboard_title" => json!(d.title),
                    "slug" => json!(d.slug),
                    "description" => json!(d.description),
                    "published" => json!(d.published),
                    "chart_count" => json!(counts.get(&d.id).copied().unwrap_or(0)),
                    "created_by" => json!(d.created_by_fk.and_then(|u| users.get(&u))),
                    "changed_by" => json!(d.changed_by_fk.and_then(|u| users.get(&u))),
                    "created_on" => json!(fmt_time(d.created_on)),
                    "changed_on" => json!(fmt_time(d.changed_on)),
                    "deleted_on" => json!(d.deleted_on.map(fmt_time)),
                    _ => continue,
                };
                m.insert(c.to_string(), v);
            }
            if d.deleted_on.is_some() {
                m.insert("deleted_on".into(), json!(d.deleted_on.map(fmt_time)));
            }
            m
        })
        .collect()
}

/// A plan that selects one object by id through the same visibility rules as the lists.
pub fn probe_plan(id: i32, deleted: DeletedState) -> ListPlan {
    ListPlan {
        conds: vec![("id", Cond::Eq(Lit::Int(id)))],
        search: None,
        order_column: "id",
        descending: false,
        page: 1,
        page_size: 1,
        created_by: None,
        changed_by: None,
        deleted,
        columns: vec![],
        filters_applied: vec![],
        columns_requested: vec![],
    }
}

/// Find a dashboard the caller may see; `permission_denied` when it exists but is hidden.
pub async fn find(
    conn: &mut MetaConn,
    access: &Access,
    ident: &Ident,
    deleted: DeletedState,
) -> Result<Dashboard, ToolError> {
    let row = match ident {
        Ident::Id(i) => Dashboard::by_id(conn, *i).await?,
        Ident::Uuid(u) => Dashboard::by_uuid(conn, u).await?,
        // Slugs are unique per tenant: look only in the caller's (no tenant: the
        // dashboards of none).
        Ident::Slug(s) => Dashboard::by_slug(conn, s, access.tenant.as_deref()).await?,
    };
    let d = row.ok_or_else(|| ToolError::not_found("dashboard", ident))?;
    if deleted == DeletedState::Exclude && d.deleted_on.is_some() {
        return Err(
            ToolError::not_found("dashboard", ident).with_details(json!({
                "object": "dashboard", "identifier": ident.to_string(),
                "hint": "It is in the trash: restore it with restore_deleted."
            })),
        );
    }
    let (_, visible) =
        catalog::list_dashboards(conn, &probe_plan(d.id, DeletedState::Include), access).await?;
    if visible == 0 {
        let why = if access.read_only && !d.published {
            "it is an unpublished draft, visible to its owners only"
        } else {
            "you have no access to any dataset of its charts"
        };
        return Err(access.refuse(ToolError::new(
            crate::error::ErrorKind::PermissionDenied,
            format!("Dashboard {ident} is not visible to you: {why}. Ask an admin for access."),
        )
        .with_details(json!({"object": "dashboard", "identifier": ident.to_string(), "missing": "dataset_access"})), "dashboard", ident));
    }
    Ok(d)
}

/// Writers must own the dashboard (admins may change any).
pub async fn require_owner(
    conn: &mut MetaConn,
    access: &Access,
    d: &Dashboard,
) -> Result<(), ToolError> {
    if access.admin {
        return Ok(());
    }
    if !Dashboard::is_owner(conn, d.id, access.user_id).await? {
        return Err(ToolError::new(
            crate::error::ErrorKind::PermissionDenied,
            format!(
                "Only the owners of dashboard {} (or an admin) may change it.",
                d.id
            ),
        )
        .with_details(json!({"missing": "ownership", "dashboard_id": d.id})));
    }
    Ok(())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentArgs {
    /// Id, uuid or slug.
    pub identifier: Value,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DashboardInfo {
    pub id: i32,
    pub uuid: String,
    pub dashboard_title: String,
    pub slug: Option<String>,
    pub description: String,
    pub published: bool,
    pub version: i32,
    pub owners: Vec<String>,
    pub created_by: Option<String>,
    pub changed_by: Option<String>,
    pub created_on: String,
    pub changed_on: String,
    pub charts: Vec<ChartRef>,
    pub chart_count: usize,
    pub layout_summary: LayoutSummary,
    /// Native filters from the dashboard metadata.
    pub filters: Vec<Value>,
    pub json_metadata: Value,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChartRef {
    pub id: i32,
    pub slice_name: String,
    pub viz_type: String,
    pub datasource_id: i32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LayoutSummary {
    pub rows: usize,
    pub tabs: Vec<String>,
    pub positioned_charts: usize,
    /// Markdown cells, headers and dividers, in reading order (as in get_dashboard_layout).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub text_cells: Vec<Position>,
}

pub async fn charts_of(conn: &mut MetaConn, dashboard_id: i32) -> Result<Vec<Chart>, ToolError> {
    Ok(Dashboard::charts(conn, dashboard_id).await?)
}

async fn get_dashboard_info(ctx: ToolCtx, args: IdentArgs) -> Result<DashboardInfo, ToolError> {
    let ident = Ident::parse(&args.identifier, true)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let d = find(&mut conn, &access, &ident, DeletedState::Exclude).await?;
    let charts = charts_of(&mut conn, d.id).await?;
    let owners = Dashboard::owners(&mut conn, d.id).await?;
    let users = catalog::usernames(
        &mut conn,
        [d.created_by_fk, d.changed_by_fk]
            .into_iter()
            .flatten()
            .collect(),
    )
    .await?;
    let layout = Layout::parse(&d.layout)?;
    let meta: Value = serde_json::from_str(&d.json_metadata).unwrap_or_else(|_| json!({}));
    Ok(DashboardInfo {
        id: d.id,
        uuid: d.uuid,
        dashboard_title: d.title,
        slug: d.slug,
        description: d.description,
        published: d.published,
        version: d.version,
        owners,
        created_by: d.created_by_fk.and_then(|u| users.get(&u).cloned()),
        changed_by: d.changed_by_fk.and_then(|u| users.get(&u).cloned()),
        created_on: fmt_time(d.created_on),
        changed_on: fmt_time(d.changed_on),
        chart_count: charts.len(),
        charts: charts
            .into_iter()
            .map(|c| ChartRef {
                id: c.id,
                slice_name: c.name,
                viz_type: c.chart_type,
                datasource_id: c.dataset_id,
            })
            .collect(),
        layout_summary: LayoutSummary {
            rows: layout.rows.len() + layout.tabs.iter().map(|t| t.rows.len()).sum::<usize>(),
            tabs: layout.tabs.iter().map(|t| t.title.clone()).collect(),
            positioned_charts: layout.chart_ids().len(),
            text_cells: layout
                .positions()
                .into_iter()
                .filter(|p| p.chart_id().is_none())
                .collect(),
        },
        filters: meta
            .get("native_filters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        json_metadata: meta,
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DashboardLayout {
    pub dashboard_id: i32,
    pub grid_columns: u32,
    pub tabs: Vec<String>,
    pub positions: Vec<Position>,
    pub layout: Layout,
}

async fn get_dashboard_layout(ctx: ToolCtx, args: IdentArgs) -> Result<DashboardLayout, ToolError> {
    let ident = Ident::parse(&args.identifier, true)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let d = find(&mut conn, &access, &ident, DeletedState::Exclude).await?;
    let layout = Layout::parse(&d.layout)?;
    Ok(DashboardLayout {
        dashboard_id: d.id,
        grid_columns: layout.grid_columns,
        tabs: layout.tabs.iter().map(|t| t.title.clone()).collect(),
        positions: layout.positions(),
        layout,
    })
}

/// Lower-case words joined by dashes, at most 60 characters.
fn slugify(title: &str) -> String {
    let mut s = String::new();
    for ch in title.chars().flat_map(char::to_lowercase) {
        if ch.is_ascii_alphanumeric() {
            s.push(ch);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let s: String = s.trim_matches('-').chars().take(60).collect();
    if s.is_empty() {
        "dashboard".into()
    } else {
        s.trim_end_matches('-').to_string()
    }
}

fn validate_slug(slug: &str) -> Result<(), ToolError> {
    let ok = !slug.is_empty()
        && slug.len() <= 255
        && slug
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && slug.parse::<i64>().is_err();
    if ok {
        Ok(())
    } else {
        Err(ToolError::invalid(format!(
            "slug: '{slug}' is not valid: use letters, digits, '-' and '_' (not only digits), at most 255 characters."
        ))
        .with_details(json!({"field": "slug", "suggestion": slugify(slug)})))
    }
}

/// `base`, or `base-2`, `base-3`… whichever is free in `tenant` (slugs are unique per
/// tenant, so another tenant's slugs neither block nor show through a suggestion).
async fn unique_slug(
    conn: &mut MetaConn,
    tenant: Option<&str>,
    base: &str,
) -> Result<String, ToolError> {
    let pattern = format!("{}%", crate::query::list::escape_like(base));
    let taken = Dashboard::slugs_like(conn, tenant, &pattern).await?;
    let taken: std::collections::HashSet<String> = taken.into_iter().flatten().collect();
    if !taken.contains(base) {
        return Ok(base.to_string());
    }
    Ok((2..)
        .map(|n| format!("{base}-{n}"))
        .find(|s| !taken.contains(s))
        .unwrap_or_else(|| format!("{base}-{}", new_uuid())))
}

/// Load charts by id, checking each exists, is live and is visible.
async fn visible_charts(
    conn: &mut MetaConn,
    access: &Access,
    ids: &[i32],
) -> Result<Vec<Chart>, ToolError> {
    let rows = Chart::live_among(conn, ids.to_vec()).await?;
    for id in ids {
        let Some(ch) = rows.iter().find(|c| c.id == *id) else {
            return Err(ToolError::not_found("chart", id)
                .with_details(json!({"field": "chart_ids", "chart_id": id})));
        };
        if !access.sees_dataset(ch.dataset_id) {
            return Err(access.refuse(
                ToolError::new(
                    crate::error::ErrorKind::PermissionDenied,
                    format!(
                        "You have no access to dataset {} of chart {id}.",
                        ch.dataset_id
                    ),
                )
                .with_details(json!({"missing": "dataset_access", "dataset_id": ch.dataset_id})),
                "chart",
                id,
            ));
        }
    }
    Ok(ids
        .iter()
        .filter_map(|id| rows.iter().find(|c| c.id == *id).cloned())
        .collect())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateArgs {
    /// Charts to put on the dashboard, in order.
    pub chart_ids: Vec<i32>,
    /// Default: from the chart names.
    pub dashboard_title: Option<String>,
    pub description: Option<String>,
    /// URL slug; from the title when omitted; unique.
    pub slug: Option<String>,
    /// Visible to read-only roles (default false: a draft).
    #[serde(default)]
    pub published: bool,
    /// Explicit layout; must place exactly the given charts.
    pub layout: Option<Layout>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Created {
    pub id: i32,
    pub uuid: String,
    pub dashboard_title: String,
    pub slug: Option<String>,
    pub published: bool,
    pub chart_ids: Vec<i32>,
    pub positions: Vec<Position>,
}

async fn generate_dashboard(ctx: ToolCtx, args: GenerateArgs) -> Result<Created, ToolError> {
    if args.chart_ids.is_empty() {
        return Err(ToolError::invalid("chart_ids: give at least one chart id.")
            .with_details(json!({"field": "chart_ids"})));
    }
    let mut ids = args.chart_ids.clone();
    ids.dedup();
    if ids.len() != args.chart_ids.len() || {
        let mut s = ids.clone();
        s.sort_unstable();
        s.dedup();
        s.len() != ids.len()
    } {
        return Err(
            ToolError::invalid("chart_ids: a chart appears more than once.")
                .with_details(json!({"field": "chart_ids"})),
        );
    }
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let charts = visible_charts(&mut conn, &access, &ids).await?;
    let layout = match args.layout {
        Some(l) => {
            l.validate()?;
            let mut placed = l.chart_ids();
            placed.sort_unstable();
            let mut want = ids.clone();
            want.sort_unstable();
            if placed != want {
                return Err(ToolError::invalid(
                    "layout: it must place exactly the charts in chart_ids.",
                )
                .with_details(json!({"field": "layout", "chart_ids": want, "placed": placed})));
            }
            l
        }
        None => Layout::auto(&ids),
    };
    let title = match args
        .dashboard_title
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
    {
        Some(t) if t.len() > 500 => {
            return Err(ToolError::invalid(
                "dashboard_title: at most 500 characters.",
            ));
        }
        Some(t) => t,
        None => {
            let names: Vec<&str> = charts.iter().take(3).map(|c| c.name.as_str()).collect();
            let more = if charts.len() > 3 {
                format!(" and {} more", charts.len() - 3)
            } else {
                String::new()
            };
            format!("Dashboard: {}{more}", names.join(", "))
        }
    };
    let base = match &args.slug {
        Some(s) => {
            validate_slug(s)?;
            s.clone()
        }
        None => slugify(&title),
    };
    let slug = unique_slug(&mut conn, ctx.principal.tenant.as_deref(), &base).await?;
    if args.slug.is_some() && slug != base {
        return Err(
            ToolError::conflict(format!("slug '{base}' is taken; '{slug}' is free."))
                .with_details(json!({"field": "slug", "suggestion": slug})),
        );
    }
    let user = ctx.principal.user_id;
    let faults = &ctx.app.config.faults;
    let at = now();
    let uuid = new_uuid();
    let description = args.description.unwrap_or_default();
    let new = NewDashboard {
        uuid: uuid.clone(),
        title: &title,
        slug: Some(&slug),
        description: &description,
        published: args.published,
        layout: layout.to_json(),
        json_metadata: "{}".into(),
        created_on: at,
        changed_on: at,
        created_by_fk: Some(user),
        changed_by_fk: Some(user),
        tenant: ctx.principal.tenant.as_deref(),
    };
    let id = Dashboard::create(&mut conn, &new, &ids, user, || {
        faults.check("generate_dashboard.after_dashboard")
    })
    .await?;
    Ok(Created {
        id,
        uuid,
        dashboard_title: title,
        slug: Some(slug),
        published: args.published,
        chart_ids: ids,
        positions: layout.positions(),
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateArgs {
    /// Id, uuid or slug.
    pub identifier: Value,
    pub dashboard_title: Option<String>,
    pub description: Option<String>,
    pub slug: Option<String>,
    pub published: Option<bool>,
    /// A full new layout (generate_dashboard's shape) of charts already on the dashboard.
    #[schemars(with = "Option<Map<String, Value>>")]
    pub layout: Option<Layout>,
    /// Merged into the metadata (null removes a key).
    pub json_metadata: Option<Map<String, Value>>,
    /// Refuse (`conflict`) unless still at this version.
    pub expected_version: Option<i32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Updated {
    pub id: i32,
    pub version: i32,
    pub changed_fields: Vec<String>,
}

/// The live dashboard `ident` names, for a change by its owner: refused unless the caller
/// owns it, and, when `expected_version` is given, unless it is at that version.
pub(super) async fn to_change(
    conn: &mut MetaConn,
    access: &Access,
    ident: &Ident,
    expected_version: Option<i32>,
) -> Result<Dashboard, ToolError> {
    let d = find(conn, access, ident, DeletedState::Exclude).await?;
    require_owner(conn, access, &d).await?;
    if let Some(v) = expected_version
        && v != d.version
    {
        return Err(ToolError::conflict(format!(
            "Dashboard {} is at version {}, not {v}. Re-read it and retry.",
            d.id, d.version
        ))
        .with_details(json!({"dashboard_id": d.id, "version": d.version})));
    }
    Ok(d)
}

fn stale(d: &Dashboard) -> ToolError {
    ToolError::conflict(format!(
        "Dashboard {} was changed by someone else meanwhile (version {} is stale). Re-read it and retry.",
        d.id, d.version
    ))
    .with_details(json!({"dashboard_id": d.id, "stale_version": d.version}))
}

/// A versioned write's refusal as the caller sees it: `conflict` when `d` was stale.
fn versioned(d: &Dashboard, e: VersionedError) -> ToolError {
    match e {
        VersionedError::Stale => stale(d),
        VersionedError::Query(e) => e.into(),
    }
}

/// Save `d` with the given changes if its version is still `d.version` (one statement).
#[allow(clippy::too_many_arguments)]
pub(super) async fn save_versioned(
    c: &mut MetaConn,
    d: &Dashboard,
    title: &str,
    description: &str,
    slug: Option<&str>,
    published: bool,
    layout: &str,
    meta: &str,
    user: i32,
) -> Result<i32, ToolError> {
    let changes = DashboardChanges {
        title,
        description,
        slug,
        published,
        layout,
        json_metadata: meta,
    };
    Dashboard::save(c, d.id, d.version, &changes, user, now())
        .await
        .map_err(|e| versioned(d, e))
}

async fn update_dashboard(ctx: ToolCtx, args: UpdateArgs) -> Result<Updated, ToolError> {
    let ident = Ident::parse(&args.identifier, true)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let d = to_change(&mut conn, &access, &ident, args.expected_version).await?;
    let mut changed = Vec::new();
    let mut title = d.title.clone();
    if let Some(t) = args.dashboard_title.map(|t| t.trim().to_string()) {
        if t.is_empty() || t.len() > 500 {
            return Err(ToolError::invalid("dashboard_title: 1 to 500 characters.")
                .with_details(json!({"field": "dashboard_title"})));
        }
        if t != title {
            title = t;
            changed.push("dashboard_title");
        }
    }
    let mut description = d.description.clone();
    if let Some(x) = args.description.filter(|x| *x != description) {
        description = x;
        changed.push("description");
    }
    let mut slug = d.slug.clone();
    if let Some(s) = args.slug.filter(|s| Some(s) != d.slug.as_ref()) {
        validate_slug(&s)?;
        let free = unique_slug(&mut conn, ctx.principal.tenant.as_deref(), &s).await?;
        if free != s {
            return Err(
                ToolError::conflict(format!("slug '{s}' is taken; '{free}' is free."))
                    .with_details(json!({"field": "slug", "suggestion": free})),
            );
        }
        slug = Some(s);
        changed.push("slug");
    }
    let mut published = d.published;
    if let Some(p) = args.published.filter(|p| *p != d.published) {
        published = p;
        changed.push("published");
    }
    let mut layout = d.layout.clone();
    if let Some(l) = args.layout {
        l.validate()?;
        let on: std::collections::HashSet<i32> = charts_of(&mut conn, d.id)
            .await?
            .iter()
            .map(|c| c.id)
            .collect();
        if let Some(stray) = l.chart_ids().into_iter().find(|id| !on.contains(id)) {
            return Err(ToolError::invalid(format!(
                "layout: chart {stray} is not on this dashboard; add it with add_chart_to_existing_dashboard first."
            ))
            .with_details(json!({"field": "layout", "chart_id": stray})));
        }
        let json = l.to_json();
        if json != layout {
            layout = json;
            changed.push("layout");
        }
    }
    let mut meta = d.json_metadata.clone();
    if let Some(patch) = args.json_metadata {
        // Native filters are checked (columns, scope, defaults) by manage_native_filters;
        // a metadata patch would store them unchecked, or drop them.
        if patch.contains_key("native_filters") {
            return Err(ToolError::invalid(
                "json_metadata.native_filters cannot be set here: add, update or remove native filters with manage_native_filters.",
            )
            .with_details(json!({"field": "json_metadata.native_filters", "use": "manage_native_filters"})));
        }
        let mut current: Map<String, Value> =
            serde_json::from_str(&d.json_metadata).unwrap_or_default();
        for (k, v) in patch {
            if v.is_null() {
                current.remove(&k);
            } else {
                current.insert(k, v);
            }
        }
        let json = Value::Object(current).to_string();
        if json != meta {
            meta = json;
            changed.push("json_metadata");
        }
    }
    if changed.is_empty() {
        return Ok(Updated {
            id: d.id,
            version: d.version,
            changed_fields: vec![],
        });
    }
    let user = ctx.principal.user_id;
    let version = save_versioned(
        &mut conn,
        &d,
        &title,
        &description,
        slug.as_deref(),
        published,
        &layout,
        &meta,
        user,
    )
    .await?;
    Ok(Updated {
        id: d.id,
        version,
        changed_fields: changed.into_iter().map(str::to_owned).collect(),
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicateArgs {
    /// Id, uuid or slug.
    pub identifier: Value,
    /// Title of the copy; "<title> (copy)" when omitted.
    pub dashboard_title: Option<String>,
    /// Copy the charts too (default: the copy shows the same charts).
    #[serde(default)]
    pub duplicate_charts: bool,
}

async fn duplicate_dashboard(ctx: ToolCtx, args: DuplicateArgs) -> Result<Created, ToolError> {
    let ident = Ident::parse(&args.identifier, true)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let d = find(&mut conn, &access, &ident, DeletedState::Exclude).await?;
    let charts = charts_of(&mut conn, d.id).await?;
    if let Some(hidden) = charts.iter().find(|c| !access.sees_dataset(c.dataset_id)) {
        return Err(ToolError::new(
            crate::error::ErrorKind::PermissionDenied,
            format!(
                "You have no access to dataset {} of chart {}, so the dashboard cannot be copied.",
                hidden.dataset_id, hidden.id
            ),
        )
        .with_details(json!({"missing": "dataset_access", "dataset_id": hidden.dataset_id})));
    }
    let title = args
        .dashboard_title
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| format!("{} (copy)", d.title));
    let slug = unique_slug(&mut conn, ctx.principal.tenant.as_deref(), &slugify(&title)).await?;
    let mut layout = Layout::parse(&d.layout)?;
    let user = ctx.principal.user_id;
    let faults = &ctx.app.config.faults;
    let at = now();
    let uuid = new_uuid();
    let new = NewDashboard {
        uuid: uuid.clone(),
        title: &title,
        slug: Some(&slug),
        description: &d.description,
        published: false,
        // Made from the copy's chart ids inside the transaction.
        layout: String::new(),
        json_metadata: String::new(),
        created_on: at,
        changed_on: at,
        created_by_fk: Some(user),
        changed_by_fk: Some(user),
        tenant: ctx.principal.tenant.as_deref(),
    };
    let (id, chart_ids) = Dashboard::duplicate(
        &mut conn,
        new,
        &charts,
        args.duplicate_charts,
        user,
        |map| {
            layout.remap(map);
            let meta = crate::charts::native_filters::remap_charts(&d.json_metadata, map);
            (layout.to_json(), meta)
        },
        || faults.check("duplicate_dashboard.after_chart"),
    )
    .await?;
    Ok(Created {
        id,
        uuid,
        dashboard_title: title,
        slug: Some(slug),
        published: false,
        chart_ids,
        positions: layout.positions(),
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddChartArgs {
    /// Id, uuid or slug.
    pub dashboard_id: Value,
    pub chart_id: i32,
    /// Title of the tab to place it in (dashboards with tabs).
    pub target_tab: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChartPlaced {
    pub dashboard_id: i32,
    pub version: i32,
    pub position: Position,
}

async fn add_chart(ctx: ToolCtx, args: AddChartArgs) -> Result<ChartPlaced, ToolError> {
    let ident = Ident::parse(&args.dashboard_id, true)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let d = find(&mut conn, &access, &ident, DeletedState::Exclude).await?;
    require_owner(&mut conn, &access, &d).await?;
    visible_charts(&mut conn, &access, &[args.chart_id]).await?;
    let mut layout = Layout::parse(&d.layout)?;
    if layout.chart_ids().contains(&args.chart_id) {
        return Err(ToolError::conflict(format!(
            "Chart {} is on dashboard {} already.",
            args.chart_id, d.id
        )));
    }
    let position = layout.add(args.chart_id, args.target_tab.as_deref())?;
    let version = Dashboard::add_chart(
        &mut conn,
        d.id,
        d.version,
        &layout.to_json(),
        args.chart_id,
        ctx.principal.user_id,
    )
    .await
    .map_err(|e| versioned(&d, e))?;
    Ok(ChartPlaced {
        dashboard_id: d.id,
        version,
        position,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveChartArgs {
    /// Id, uuid or slug.
    pub dashboard_id: Value,
    pub chart_id: i32,
}

async fn remove_chart(ctx: ToolCtx, args: RemoveChartArgs) -> Result<Updated, ToolError> {
    let ident = Ident::parse(&args.dashboard_id, true)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let d = find(&mut conn, &access, &ident, DeletedState::Exclude).await?;
    require_owner(&mut conn, &access, &d).await?;
    let mut layout = Layout::parse(&d.layout)?;
    let in_layout = layout.remove(args.chart_id);
    let chart_id = args.chart_id;
    if !in_layout && !Dashboard::links(&mut conn, d.id, chart_id).await? {
        return Err(ToolError::not_found("chart on this dashboard", chart_id));
    }
    let version = Dashboard::remove_chart(
        &mut conn,
        d.id,
        d.version,
        &layout.to_json(),
        chart_id,
        ctx.principal.user_id,
    )
    .await
    .map_err(|e| versioned(&d, e))?;
    Ok(Updated {
        id: d.id,
        version,
        changed_fields: vec!["layout".into(), "charts".into()],
    })
}

async fn delete_dashboard(ctx: ToolCtx, args: IdentArgs) -> Result<Deleted, ToolError> {
    let ident = Ident::parse(&args.identifier, true)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let d = find(&mut conn, &access, &ident, DeletedState::Exclude).await?;
    require_owner(&mut conn, &access, &d).await?;
    let (id, user, at) = (d.id, ctx.principal.user_id, now());
    Dashboard::trash(&mut conn, id, user, at).await?;
    Ok(Deleted {
        object_type: "dashboard".into(),
        id,
        deleted: true,
        hint: format!(
            "Moved to the trash. restore_deleted(object_type=dashboard, identifier={id}) brings it back."
        ),
    })
}

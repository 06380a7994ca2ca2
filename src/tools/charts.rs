//! Chart catalog tools: `list_charts`, `get_chart_info`, `delete_chart`, and
//! `restore_deleted` for everything the trash holds. (Creating charts and their data and
//! pictures belong to the chart tools of the charts work.)

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::shared::Deleted;
use super::{Hints, Registry, ToolCtx, fmt_time, tool};
use crate::actors::PoolKind;
use crate::auth::Permission;
use crate::db::MetaConn;
use crate::db::charts::Chart;
use crate::db::dashboards::Dashboard;
use crate::db::datasets::Dataset;
use crate::error::{ErrorKind, ToolError};
use crate::query::catalog::{self, Access};
use crate::query::index::{self, Snapshot};
use crate::query::list::{DeletedState, Ident, ListArgs, Page};
use crate::query::spec::ModelSpec;

pub fn register(r: &mut Registry) {
    r.add(tool(
        "list_charts",
        "List charts",
        "Charts you can see: filters, search, select_columns (`config` adds it), order, pages; see get_schema(model=chart).",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        list_charts,
    ));
    r.add(tool(
        "get_chart_info",
        "Chart details",
        "One chart by id or uuid. Lean by default; select_columns adds fields such as `config`.",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        get_chart_info,
    ));
    r.add(tool(
        "delete_chart",
        "Delete a chart",
        "Move a chart to the trash; dashboards stop showing it until restore_deleted brings it back.",
        PoolKind::Catalog,
        Permission::CatalogWrite,
        Hints::DESTRUCTIVE,
        delete_chart,
    ));
    r.add(tool(
        "restore_deleted",
        "Restore from the trash",
        "Bring a deleted dashboard or chart back from the trash.",
        PoolKind::Catalog,
        Permission::CatalogWrite,
        Hints {
            read_only: false,
            destructive: false,
            idempotent: true,
        },
        restore_deleted,
    ));
}

fn spec() -> &'static ModelSpec {
    ModelSpec::find("chart").unwrap_or(&crate::query::spec::MODELS[1])
}

async fn render(
    conn: &mut MetaConn,
    rows: &[Chart],
    cols: &[&str],
) -> Result<Vec<Map<String, Value>>, ToolError> {
    let users = catalog::editor_names(
        conn,
        rows.iter().map(|x| [x.created_by_fk, x.changed_by_fk]),
        cols,
    )
    .await?;
    let names = if cols.contains(&"datasource_name") {
        catalog::dataset_names(conn, rows.iter().map(|c| c.dataset_id).collect()).await?
    } else {
        HashMap::new()
    };
    Ok(render_with(rows, cols, &users, &names))
}

/// [`render`] from the in-memory catalog (no store round trip; `config` is not there).
fn render_from(snap: &Snapshot, rows: &[Chart], cols: &[&str]) -> Vec<Map<String, Value>> {
    let users = snap.editor_names(
        rows.iter().map(|c| [c.created_by_fk, c.changed_by_fk]),
        cols,
    );
    let names = if cols.contains(&"datasource_name") {
        snap.dataset_names(rows.iter().map(|c| c.dataset_id))
    } else {
        HashMap::new()
    };
    render_with(rows, cols, &users, &names)
}

fn render_with(
    rows: &[Chart],
    cols: &[&str],
    users: &HashMap<i32, String>,
    names: &HashMap<i32, String>,
) -> Vec<Map<String, Value>> {
    rows.iter()
        .map(|c| {
            let mut m = Map::new();
            for col in cols {
                let v = match *col {
                    "id" => json!(c.id),
                    "uuid" => json!(c.uuid),
                    "slice_name" => json!(c.name),
                    "viz_type" => json!(c.chart_type),
                    "description" => json!(c.description),
                    "datasource_id" => json!(c.dataset_id),
                    "datasource_name" => json!(names.get(&c.dataset_id)),
                    "config" => serde_json::from_str(&c.config).unwrap_or(Value::Null),
                    "created_by" => json!(c.created_by_fk.and_then(|u| users.get(&u))),
                    "changed_by" => json!(c.changed_by_fk.and_then(|u| users.get(&u))),
                    "created_on" => json!(fmt_time(c.created_on)),
                    "changed_on" => json!(fmt_time(c.changed_on)),
                    _ => continue,
                };
                m.insert(col.to_string(), v);
            }
            if c.deleted_on.is_some() {
                m.insert("deleted_on".into(), json!(c.deleted_on.map(fmt_time)));
            }
            m
        })
        .collect()
}

async fn list_charts(ctx: ToolCtx, args: ListArgs) -> Result<Page<Map<String, Value>>, ToolError> {
    let plan = args.plan(spec(), ctx.principal.user_id)?;
    let (items, total) = if !plan.columns.contains(&"config")
        && let Some(snap) = ctx.app.catalog().await?
        && let Some((rows, total)) = snap.list_charts(&plan, &snap.access(&ctx.principal))
    {
        index::answered("list_charts", true);
        (render_from(&snap, &rows, &plan.columns), total)
    } else {
        index::answered("list_charts", false);
        let mut conn = ctx.app.db.conn().await?;
        let access = Access::load(&mut conn, &ctx.principal).await?;
        let (rows, total) = catalog::list_charts(&mut conn, &plan, &access).await?;
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

/// Find a chart the caller may see; `permission_denied` names the dataset it lacks.
pub async fn find(
    conn: &mut MetaConn,
    access: &Access,
    ident: &Ident,
    deleted: DeletedState,
) -> Result<Chart, ToolError> {
    let row = match ident {
        Ident::Id(i) => Chart::by_id(conn, *i).await?,
        Ident::Uuid(u) => Chart::by_uuid(conn, u).await?,
        Ident::Slug(_) => None,
    };
    visible(row, access, ident, deleted)
}

/// `row` (the chart `ident` names, if any) if the caller may see it, else why not.
fn visible(
    row: Option<Chart>,
    access: &Access,
    ident: &Ident,
    deleted: DeletedState,
) -> Result<Chart, ToolError> {
    let chart = row.ok_or_else(|| ToolError::not_found("chart", ident))?;
    if deleted == DeletedState::Exclude && chart.deleted_on.is_some() {
        return Err(ToolError::not_found("chart", ident).with_details(json!({
            "object": "chart", "identifier": ident.to_string(),
            "hint": "It is in the trash: restore it with restore_deleted."
        })));
    }
    if !access.sees_dataset(chart.dataset_id) {
        return Err(access.refuse(ToolError::new(
            ErrorKind::PermissionDenied,
            format!("Chart {ident} is built on dataset {}, which you have no access to. Ask an admin for dataset access.", chart.dataset_id),
        )
        .with_details(json!({"missing": "dataset_access", "dataset_id": chart.dataset_id})), "chart", ident));
    }
    Ok(chart)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetChartArgs {
    /// Id or uuid.
    pub identifier: Value,
    /// Extra fields, e.g. ["config", "created_by"]; see get_schema(model=chart).
    #[serde(default)]
    pub select_columns: Vec<String>,
}

async fn get_chart_info(ctx: ToolCtx, args: GetChartArgs) -> Result<Map<String, Value>, ToolError> {
    let ident = Ident::parse(&args.identifier, false)?;
    let list = ListArgs {
        select_columns: args.select_columns.clone(),
        ..Default::default()
    };
    let mut plan = list.plan(spec(), ctx.principal.user_id)?;
    if !args.select_columns.is_empty() {
        // Lean fields always come along; select_columns adds to them.
        for c in spec().columns.iter().filter(|c| c.default) {
            if !plan.columns.contains(&c.name) {
                plan.columns.push(c.name);
            }
        }
    } else {
        plan.columns
            .extend(["uuid", "description", "datasource_name"]);
    }
    let (mut item, on) = if !plan.columns.contains(&"config")
        && let Some(snap) = ctx.app.catalog().await?
    {
        index::answered("get_chart_info", true);
        let access = snap.access(&ctx.principal);
        let row = match &ident {
            Ident::Id(i) => snap.charts.by_id(*i),
            Ident::Uuid(u) => snap.charts.by_uuid(u),
            Ident::Slug(_) => None,
        };
        let chart = visible(row.cloned(), &access, &ident, DeletedState::Exclude)?;
        let item = render_from(&snap, std::slice::from_ref(&chart), &plan.columns)
            .pop()
            .unwrap_or_default();
        (item, snap.dashboards_of(chart.id))
    } else {
        index::answered("get_chart_info", false);
        let mut conn = ctx.app.db.conn().await?;
        let access = Access::load(&mut conn, &ctx.principal).await?;
        let chart = find(&mut conn, &access, &ident, DeletedState::Exclude).await?;
        let item = render(&mut conn, std::slice::from_ref(&chart), &plan.columns)
            .await?
            .pop()
            .unwrap_or_default();
        (item, Chart::dashboards_of(&mut conn, chart.id).await?)
    };
    item.insert(
        "dashboards".into(),
        Value::Array(
            on.into_iter()
                .map(|(id, title)| json!({"id": id, "dashboard_title": title}))
                .collect(),
        ),
    );
    Ok(item)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartIdent {
    /// Id or uuid.
    pub identifier: Value,
}

pub async fn require_owner(
    conn: &mut MetaConn,
    access: &Access,
    chart: &Chart,
) -> Result<(), ToolError> {
    if access.admin {
        return Ok(());
    }
    let id = chart.id;
    if !Chart::is_owner(conn, id, access.user_id).await? {
        return Err(ToolError::new(
            ErrorKind::PermissionDenied,
            format!("Only the owners of chart {id} (or an admin) may change it."),
        )
        .with_details(json!({"missing": "ownership", "chart_id": id})));
    }
    Ok(())
}

async fn delete_chart(ctx: ToolCtx, args: ChartIdent) -> Result<Deleted, ToolError> {
    let ident = Ident::parse(&args.identifier, false)?;
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let chart = find(&mut conn, &access, &ident, DeletedState::Exclude).await?;
    require_owner(&mut conn, &access, &chart).await?;
    let (id, user, at) = (chart.id, ctx.principal.user_id, crate::db::models::now());
    Chart::trash(&mut conn, id, user, at).await?;
    Ok(Deleted {
        object_type: "chart".into(),
        id,
        deleted: true,
        hint: format!(
            "Moved to the trash. restore_deleted(object_type=chart, identifier={id}) brings it back."
        ),
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreArgs {
    /// dashboard or chart.
    pub object_type: String,
    /// Id or uuid (or slug for dashboards).
    pub identifier: Value,
}

async fn restore_deleted(ctx: ToolCtx, args: RestoreArgs) -> Result<Deleted, ToolError> {
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let id = match args.object_type.as_str() {
        "dashboard" => {
            let ident = Ident::parse(&args.identifier, true)?;
            let d =
                super::dashboards::find(&mut conn, &access, &ident, DeletedState::Include).await?;
            super::dashboards::require_owner(&mut conn, &access, &d).await?;
            if d.deleted_on.is_none() {
                return Err(ToolError::invalid(format!(
                    "Dashboard {ident} is not in the trash."
                )));
            }
            Dashboard::restore(&mut conn, d.id).await?;
            d.id
        }
        "chart" => {
            let ident = Ident::parse(&args.identifier, false)?;
            let chart = find(&mut conn, &access, &ident, DeletedState::Include).await?;
            require_owner(&mut conn, &access, &chart).await?;
            if chart.deleted_on.is_none() {
                return Err(ToolError::invalid(format!(
                    "Chart {ident} is not in the trash."
                )));
            }
            let id = chart.id;
            if !Dataset::is_live(&mut conn, chart.dataset_id).await? {
                return Err(ToolError::conflict(format!(
                    "Chart {id}'s dataset {} is deleted; restore it first.",
                    chart.dataset_id
                )));
            }
            Chart::restore(&mut conn, id).await?;
            id
        }
        other => {
            let allowed = ["dashboard", "chart"];
            return Err(ToolError::invalid_field(
                "object_type",
                format!("'{other}' cannot be restored."),
                &allowed,
                Some(other),
            ));
        }
    };
    Ok(Deleted {
        object_type: args.object_type,
        id,
        deleted: false,
        hint: "Restored.".into(),
    })
}

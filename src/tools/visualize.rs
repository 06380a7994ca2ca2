//! Chart tools: `get_chart_type_schema`, `generate_chart`, `update_chart`,
//! `update_chart_preview`, `get_chart_data`, `get_chart_sql`, `get_chart_preview`,
//! `generate_explore_link` and `get_dashboard_screenshot`.
//!
//! Every tool follows one path: resolve the chart (a saved chart, or a dataset and a
//! config) → check the config against the dataset → build the query with the one query
//! builder → run it through the SQL engine (guard, row-level security, row cap) → shape
//! the rows → draw on the screenshot actor (its own threads and queue; never on a tool
//! worker). PNG pictures come back as MCP image content.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use futures::{FutureExt as _, StreamExt as _};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::shared::dialect;
use super::sql::{Run, SqlResult, run_sql};
use super::{Hints, Registry, ToolCtx, tool};
use crate::actors::PoolKind;
use crate::actors::screenshot::{RenderRefusal, Rendered};
use crate::auth::Permission;
use crate::charts::config::{self, ChartConfig};
use crate::charts::native_filters::{self as nf, FilterState, FilterValue, InForce};
use crate::charts::picture::{self, DEFAULT_HEIGHT, DEFAULT_WIDTH, PreviewFormat};
use crate::charts::query::{self, Notes, Plan};
use crate::datasources::StatementPriority;
use crate::db::charts::{Chart, ChartChanges};
use crate::db::datasets::{Dataset, DatasetColumn, DatasetMetric};
use crate::db::models::{NewChart, new_uuid, now};
use crate::error::{ErrorKind, ToolError};
use crate::layout::{HeaderSize, Position};
use crate::output::{Image, WithImages};
use crate::query::builder::Metric;
use crate::query::catalog::Access;
use crate::query::list::{DeletedState, Ident};
use crate::render::{ChartData, FilterChip, Placement, RenderSpec, TableData, Tile};

/// Seconds a chart query may run.
const CHART_TIMEOUT_SECS: u64 = 60;

/// Charts of one dashboard screenshot resolved and queried at once. Each query holds a
/// data-source connection and (on SQLite) a background thread; a few at a time use both
/// cores without taking every connection of a source from other callers.
const DASHBOARD_CHARTS_AT_ONCE: usize = 4;

pub fn register(r: &mut Registry) {
    r.add_internal(tool(
        EXPLORE_PAGE,
        "Explore page",
        "The chart of an explore link, as the chart view draws it (SVG, Vega-Lite, data).",
        PoolKind::Charts,
        Permission::CatalogRead,
        Hints::READ,
        explore_page,
    ));
    r.add_app_only(tool(
        VIEW_CHART,
        "Chart for a view",
        "App-only (MCP Apps views): a chart's SVG, Vega-Lite spec and data, under extra filters.",
        PoolKind::Charts,
        Permission::CatalogRead,
        Hints::READ,
        view_chart,
    ));
    r.add(tool(
        "get_chart_type_schema",
        "Chart config schema",
        "The JSON Schema of a chart type's config (xy table pie big_number pivot_table funnel treemap waterfall gauge heatmap histogram box_plot) with examples. \
         Read it before generate_chart.",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        get_chart_type_schema,
    ));
    r.add(tool(
        "generate_chart",
        "Create a chart",
        "Build a chart from a dataset and a config (get_chart_type_schema); a preview unless save_chart.",
        PoolKind::Charts,
        Permission::CatalogWrite,
        Hints::WRITE,
        generate_chart,
    ));
    r.add(tool(
        "update_chart",
        "Change a chart",
        "Change a chart you own: config fields (merged), name, description; preview_formats show the result.",
        PoolKind::Charts,
        Permission::CatalogWrite,
        Hints {
            read_only: false,
            destructive: false,
            idempotent: true,
        },
        update_chart,
    ));
    r.add(tool(
        "update_chart_preview",
        "Preview a chart change",
        "What a chart would look like with config changes; nothing is saved.",
        PoolKind::Charts,
        Permission::CatalogRead,
        Hints::READ,
        update_chart_preview,
    ));
    r.add(tool(
        "get_chart_data",
        "Chart data",
        "A chart's data as json or csv, with summary statistics.",
        PoolKind::Charts,
        Permission::CatalogRead,
        Hints::READ,
        get_chart_data,
    ));
    r.add(tool(
        "get_chart_sql",
        "Chart SQL",
        "The SQL a chart runs for you, with row-level security and row limits.",
        PoolKind::Charts,
        Permission::CatalogRead,
        Hints::READ,
        get_chart_sql,
    ));
    r.add(tool(
        "get_chart_preview",
        "Chart picture",
        "A picture of a chart: a PNG image, or svg, ascii, table or vega_lite text.",
        PoolKind::Charts,
        Permission::CatalogRead,
        Hints::READ,
        get_chart_preview,
    ));
    r.add(tool(
        "generate_explore_link",
        "Link to a chart page",
        "A signed, expiring URL of a page with the chart and its data (as you see it), for a browser.",
        PoolKind::Charts,
        Permission::CatalogRead,
        Hints::READ,
        generate_explore_link,
    ));
    r.add(tool(
        "get_dashboard_screenshot",
        "Dashboard picture",
        "One PNG of a dashboard: its filter bar, then each chart where its layout puts it.",
        PoolKind::Charts,
        Permission::CatalogRead,
        Hints::READ,
        get_dashboard_screenshot,
    ));
}

// ---------------------------------------------------------------------------------------
// The shared path

/// A chart to work on: saved, or a dataset with a config.
pub struct Target {
    pub chart: Option<Chart>,
    pub dataset: Dataset,
    pub columns: Vec<DatasetColumn>,
    pub metrics: Vec<DatasetMetric>,
    pub config: ChartConfig,
    pub name: String,
    /// What the caller may see, loaded once by [`resolve`] and reused by the query.
    pub access: Access,
}

/// What a tool names: `identifier` of a saved chart, or `dataset_id` and `config`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ChartRef {
    /// Saved chart id or uuid.
    pub identifier: Option<Value>,
    /// For an unsaved chart, with `config`.
    pub dataset_id: Option<Value>,
    /// An unsaved chart's config, with `dataset_id`.
    pub config: Option<Value>,
}

/// Apply `patch` to a config: fields are replaced (null removes one); a different
/// chart_type starts over from the patch alone.
pub fn merge_config(base: &Value, patch: &Value) -> Value {
    let (Some(b), Some(p)) = (base.as_object(), patch.as_object()) else {
        return patch.clone();
    };
    if p.get("chart_type")
        .is_some_and(|t| Some(t) != b.get("chart_type"))
    {
        return patch.clone();
    }
    let mut out = b.clone();
    for (k, v) in p {
        if v.is_null() {
            out.remove(k);
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn default_name(c: &ChartConfig, d: &Dataset) -> String {
    let metrics = |ms: &[Metric]| ms.iter().map(Metric::label).collect::<Vec<_>>().join(", ");
    match c {
        ChartConfig::Xy(x) => match &x.x {
            Some(col) => format!("{} by {col}", metrics(&x.metrics)),
            None => format!("{} over time", metrics(&x.metrics)),
        },
        ChartConfig::MixedTimeseries(x) => {
            let both = format!(
                "{} and {}",
                metrics(&x.metrics),
                metrics(&x.secondary_metrics)
            );
            match &x.x {
                Some(col) => format!("{both} by {col}"),
                None => format!("{both} over time"),
            }
        }
        ChartConfig::Pie(p) => format!("{} by {}", p.metric.label(), p.dimension),
        ChartConfig::BigNumber(b) => b.metric.label(),
        ChartConfig::Table(_) => format!("{} table", d.table_name),
        ChartConfig::PivotTable(p) => format!("{} by {}", metrics(&p.metrics), p.rows.join(", ")),
        ChartConfig::Funnel(p) | ChartConfig::Treemap(p) => {
            format!("{} by {}", p.metric.label(), p.dimension)
        }
        ChartConfig::Waterfall(w) => format!("{} by {}", w.metric.label(), w.x),
        ChartConfig::Gauge(g) => g.metric.label(),
        ChartConfig::Heatmap(h) => format!("{} by {} and {}", h.metric.label(), h.x, h.y),
        ChartConfig::Histogram(h) => format!("{} distribution", h.column),
        ChartConfig::BoxPlot(b) => match &b.group_by {
            Some(g) => format!("{} by {g}", b.column),
            None => format!("{} distribution", b.column),
        },
    }
}

async fn dataset_parts(
    conn: &mut crate::db::MetaConn,
    d: &Dataset,
) -> Result<(Vec<DatasetColumn>, Vec<DatasetMetric>), ToolError> {
    super::datasets::columns_and_metrics_of(conn, d.id).await
}

/// Resolve what a tool names into a checked [`Target`]. With an identifier, `config` is a
/// patch over the saved config.
pub async fn resolve(ctx: &ToolCtx, r: &ChartRef) -> Result<Target, ToolError> {
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let (chart, dataset, config_json, name) = match (&r.identifier, &r.dataset_id) {
        (Some(ident), None) => {
            let ident = Ident::parse(ident, false)?;
            let chart =
                super::charts::find(&mut conn, &access, &ident, DeletedState::Exclude).await?;
            let d = super::datasets::find_dataset(&mut conn, &access, &Ident::Id(chart.dataset_id))
                .await?;
            let saved: Value = serde_json::from_str(&chart.config).unwrap_or(json!({}));
            let config = match &r.config {
                Some(patch) => merge_config(&saved, patch),
                None => saved,
            };
            let name = chart.name.clone();
            (Some(chart), d, config, name)
        }
        (None, Some(dataset)) => {
            let Some(config) = &r.config else {
                return Err(ToolError::invalid(
                    "config: a chart on dataset_id needs a config; see get_chart_type_schema.",
                )
                .with_details(json!({"field": "config"})));
            };
            let d =
                super::datasets::find_dataset(&mut conn, &access, &Ident::parse(dataset, false)?)
                    .await?;
            (None, d, config.clone(), String::new())
        }
        (Some(_), Some(_)) => {
            return Err(ToolError::invalid(
                "Give either identifier (a saved chart) or dataset_id with config, not both.",
            )
            .with_details(json!({"field": "identifier"})));
        }
        (None, None) => {
            return Err(ToolError::invalid(
                "Name the chart: identifier (a saved chart's id or uuid), or dataset_id with config.",
            )
            .with_details(json!({"field": "identifier"})));
        }
    };
    let config = ChartConfig::parse(&config_json)?;
    let (columns, metrics) = dataset_parts(&mut conn, &dataset).await?;
    config.check(&columns, &metrics)?;
    let name = if name.is_empty() {
        default_name(&config, &dataset)
    } else {
        name
    };
    Ok(Target {
        chart,
        dataset,
        columns,
        metrics,
        config,
        name,
        access,
    })
}

/// A chart's query, run (or only planned, with `dry_run`).
pub struct ChartQuery {
    pub plan: Plan,
    pub result: SqlResult,
    pub dialect: &'static str,
}

/// Build the chart's SQL and run it through the SQL engine as the caller. `priority`:
/// `Interactive` for data an assistant reads (get_chart_data, get_chart_sql), the render
/// priority for the query of a picture (see [`drawable`]).
pub async fn run_query(
    ctx: &ToolCtx,
    t: &Target,
    dry_run: bool,
    limit: Option<u64>,
    fit_to_response: bool,
    priority: StatementPriority,
) -> Result<ChartQuery, ToolError> {
    let plan = query::plan(&t.config, &t.dataset, &t.columns)?;
    let mut conn = ctx.app.db.conn().await?;
    let (db, source) =
        super::datasets::source_for(ctx, &mut conn, &t.access, &json!(t.dataset.database_id))
            .await?;
    let conn = crate::actors::db::LazyConn::holding(&ctx.app.db, conn);
    let dialect = dialect(source.engine);
    let text =
        crate::query::builder::build(dialect, &t.dataset, &t.columns, &t.metrics, &plan.spec)?;
    let run = Run {
        database_id: db.id,
        schema: t.dataset.schema_name.clone(),
        limit: limit.unwrap_or(plan.limit),
        timeout: CHART_TIMEOUT_SECS,
        dry_run,
        allow_dml: false,
        original: text.clone(),
        fit_to_response,
        priority,
        cache_for: super::chart_data::rows_ttl(&ctx.app.config.cache, t.dataset.cache_timeout),
    };
    let mut result = run_sql(ctx, conn, &source, &text, run).await?;
    let names: Vec<String> = result.columns.iter().map(|c| c.name.clone()).collect();
    for name in query::add_percent_columns(&t.config, &names, &mut result.rows) {
        result.columns.push(super::sql::Column {
            name,
            data_type: "FLOAT".into(),
            is_nullable: Some(true),
        });
    }
    Ok(ChartQuery {
        plan,
        result,
        dialect: dialect.name(),
    })
}

/// The chart drawn: its spec and data, ready for any format.
pub struct Drawable {
    pub spec: RenderSpec,
    pub data: ChartData,
    pub notes: Notes,
    pub row_count: usize,
    pub truncated: bool,
    pub executed_sql: String,
    /// The query's columns and rows (the data table of the explore page).
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

fn check_size(width: Option<u32>, height: Option<u32>) -> Result<(u32, u32), ToolError> {
    let (w, h) = (
        width.unwrap_or(DEFAULT_WIDTH),
        height.unwrap_or(DEFAULT_HEIGHT),
    );
    crate::render::model::check_size(w, h).map_err(|e| {
        ToolError::invalid(e.to_string()).with_details(json!({
            "field": if (crate::render::model::MIN_WIDTH..=crate::render::model::MAX_WIDTH).contains(&w) { "height" } else { "width" },
        }))
    })?;
    Ok((w, h))
}

/// Query and shape a target for drawing at `width` × `height`.
pub async fn drawable(
    ctx: &ToolCtx,
    t: &Target,
    width: u32,
    height: u32,
) -> Result<Drawable, ToolError> {
    // A picture's query yields the CPU like its drawing (when done in this process, SQLite):
    // a flood of pictures takes only what the data and catalog tools leave.
    let priority = StatementPriority::Background(ctx.app.config.screenshots.priority);
    let started = std::time::Instant::now();
    let q = run_query(ctx, t, false, None, false, priority).await?;
    tracing::debug!(
        chart = %t.name,
        query_ms = started.elapsed().as_millis() as u64,
        execution_ms = q.result.execution_time_ms,
        rows = q.result.row_count,
        "chart query"
    );
    let names: Vec<String> = q.result.columns.iter().map(|c| c.name.clone()).collect();
    let (data, mut notes) = query::shape(&t.config, &q.plan, &names, &q.result.rows)?;
    if q.result.truncated {
        notes.0.push(format!(
            "The query hit its row limit ({} rows): the picture shows only those rows. Filter or aggregate more.",
            q.result.row_count
        ));
    }
    let formats = |m: &Metric| match m {
        Metric::Saved { saved_metric } => t
            .metrics
            .iter()
            .find(|s| &s.metric_name == saved_metric)
            .and_then(|s| s.d3format.clone()),
        _ => None,
    };
    let spec = query::render_spec(&t.config, &q.plan, &t.name, width, height, formats);
    Ok(Drawable {
        spec,
        data,
        notes,
        row_count: q.result.row_count,
        truncated: q.result.truncated,
        executed_sql: q.result.executed_sql,
        columns: names,
        rows: q.result.rows,
    })
}

fn refusal(e: RenderRefusal) -> ToolError {
    match e {
        RenderRefusal::Overloaded { retry_after, .. } => {
            ToolError::overloaded("screenshot", retry_after.as_secs().max(1))
        }
        RenderRefusal::TimedOut { limit } => {
            ToolError::timeout("Rendering the picture", limit.as_millis() as u64)
        }
        RenderRefusal::Failed(msg) => ToolError::new(
            ErrorKind::Internal,
            format!("The picture could not be drawn: {msg}"),
        ),
        RenderRefusal::Stopped => ToolError::unavailable(
            "The renderer is shutting down; retry on another replica.",
            1,
        ),
    }
}

fn fingerprint(format: &str, spec: &RenderSpec, data: &ChartData) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    format.hash(&mut h);
    serde_json::to_string(spec).unwrap_or_default().hash(&mut h);
    serde_json::to_string(data).unwrap_or_default().hash(&mut h);
    h.finish()
}

/// Draw on the screenshot actor (deduplicated, cached, bounded).
pub async fn draw(
    ctx: &ToolCtx,
    format: PreviewFormat,
    spec: &RenderSpec,
    data: &Arc<ChartData>,
) -> Result<Rendered, ToolError> {
    let key = fingerprint(format.as_str(), spec, data);
    let (spec, data) = (spec.clone(), data.clone());
    let mime = format.mime();
    let delay = ctx.app.config.faults.render_delay_ms;
    ctx.app
        .screenshots
        .render(key, move || {
            if delay > 0 {
                std::thread::sleep(std::time::Duration::from_millis(delay));
            }
            picture::draw(format, &spec, &data).map(|bytes| Rendered {
                bytes: bytes.into(),
                mime,
            })
        })
        .await
        .map_err(refusal)
}

/// One picture in a result: text formats inline, PNG as image content.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Preview {
    pub format: PreviewFormat,
    pub mime_type: String,
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
    /// svg, ascii and table: the text; vega_lite: the spec. PNG comes as image content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
}

/// Pictures of a drawable in each format, and the PNGs to attach as images.
async fn previews(
    ctx: &ToolCtx,
    d: &Drawable,
    formats: &[PreviewFormat],
) -> Result<(Vec<Preview>, Vec<Image>), ToolError> {
    let data = Arc::new(d.data.clone());
    let mut out = Vec::new();
    let mut images = Vec::new();
    let mut seen = Vec::new();
    for &f in formats {
        if seen.contains(&f) {
            continue;
        }
        seen.push(f);
        let r = draw(ctx, f, &d.spec, &data).await?;
        let content = match f {
            PreviewFormat::Png => {
                images.push(Image {
                    data: B64.encode(&r.bytes),
                    mime_type: r.mime.to_string(),
                });
                None
            }
            PreviewFormat::VegaLite => {
                Some(serde_json::from_slice(&r.bytes).map_err(ToolError::internal)?)
            }
            _ => Some(Value::String(
                String::from_utf8_lossy(&r.bytes).into_owned(),
            )),
        };
        out.push(Preview {
            format: f,
            mime_type: r.mime.to_string(),
            width: d.spec.width,
            height: d.spec.height,
            bytes: r.bytes.len(),
            content,
        });
    }
    Ok((out, images))
}

fn with_images<T>(result: T, images: Vec<Image>) -> Result<WithImages<T>, ToolError> {
    Ok(WithImages { result, images })
}

/// How long the page link of a chart just saved stays valid.
const SAVED_CHART_LINK_MINUTES: i64 = 60;

/// The page of a saved chart for the caller: a signed explore link (as
/// `generate_explore_link` makes), and when it expires.
fn chart_link(ctx: &ToolCtx, id: i32) -> (String, String) {
    let (key, expires_at) = explore_key(ctx, Some(id), None, None, SAVED_CHART_LINK_MINUTES);
    (explore_url(ctx, &key), expires_at)
}

/// The signed key of an explore page for the caller — a saved chart (`chart`) or a dataset
/// with a config — valid `minutes`, and when it expires (RFC 3339).
fn explore_key(
    ctx: &ToolCtx,
    chart: Option<i32>,
    dataset: Option<i32>,
    config: Option<Value>,
    minutes: i64,
) -> (String, String) {
    let exp = chrono::Utc::now() + chrono::Duration::minutes(minutes);
    let claim = ExploreClaim {
        u: ctx.principal.username.clone(),
        t: ctx.principal.tenant.clone(),
        c: chart,
        d: dataset,
        cfg: config,
        exp: exp.timestamp(),
    };
    (
        sign_claim(&ctx.app.cipher, &claim),
        exp.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

fn explore_url(ctx: &ToolCtx, key: &str) -> String {
    format!("{}/explore/{key}", ctx.base_url)
}

// ---------------------------------------------------------------------------------------
// Tools

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TypeSchemaArgs {
    /// One of the types above.
    pub chart_type: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TypeSchema {
    pub chart_type: String,
    pub schema: Value,
    pub examples: Vec<Value>,
    pub metric_forms: Value,
    pub filter_operators: Vec<&'static str>,
    pub time_grains: Vec<&'static str>,
}

async fn get_chart_type_schema(
    _ctx: ToolCtx,
    args: TypeSchemaArgs,
) -> Result<TypeSchema, ToolError> {
    let mut schema = config::type_schema(&args.chart_type)?;
    // The same portable subset as the tools' own schemas: clients may validate with it.
    if let Value::Object(object) = &mut schema {
        super::schema::portable(object);
    }
    Ok(TypeSchema {
        examples: config::examples(&args.chart_type),
        chart_type: args.chart_type,
        schema,
        metric_forms: json!([
            {"saved_metric": "a saved metric of the dataset (see get_dataset_info)"},
            {"column": "a column", "aggregate": crate::query::builder::AGGREGATES, "label": "optional result name"},
            {"sql": "an aggregate SQL expression", "label": "its result name"}
        ]),
        filter_operators: crate::query::builder::OPERATORS.to_vec(),
        time_grains: crate::query::builder::GRAINS.to_vec(),
    })
}

fn default_formats() -> Vec<PreviewFormat> {
    vec![PreviewFormat::Png]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateArgs {
    /// Id or uuid.
    pub dataset_id: Value,
    /// See get_chart_type_schema.
    pub config: Value,
    /// Chart name (default: made from the config).
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Save the chart (default false: preview only).
    #[serde(default)]
    pub save_chart: bool,
    /// Pictures to return (default ["png"]; [] for none).
    #[serde(default = "default_formats")]
    pub preview_formats: Vec<PreviewFormat>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SavedChart {
    pub id: i32,
    pub uuid: String,
    pub name: String,
    /// A page showing the chart and its data table as you see them, for people to open
    /// in a browser (a signed link; generate_explore_link makes a fresh one later).
    pub url: String,
    /// When `url` stops working.
    pub url_expires_at: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChartResult {
    /// Whether the chart was saved.
    pub saved: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart: Option<SavedChart>,
    pub name: String,
    pub dataset_id: i32,
    /// The config as stored (defaults filled in).
    pub config: Value,
    pub row_count: usize,
    pub truncated: bool,
    pub executed_sql: String,
    pub previews: Vec<Preview>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ChartResult {
    /// The result of a chart tool: the target, the saved chart (if any), and what was drawn.
    fn new(
        target: Target,
        chart: Option<SavedChart>,
        drawn: Option<&Drawable>,
        previews: Vec<Preview>,
        notes: Vec<String>,
    ) -> Self {
        Self {
            saved: chart.is_some(),
            chart,
            config: target.config.to_json(),
            name: target.name,
            dataset_id: target.dataset.id,
            row_count: drawn.map_or(0, |d| d.row_count),
            truncated: drawn.is_some_and(|d| d.truncated),
            executed_sql: drawn.map(|d| d.executed_sql.clone()).unwrap_or_default(),
            previews,
            notes,
        }
    }
}

fn check_name(name: &str) -> Result<(), ToolError> {
    if name.trim().is_empty() || name.chars().count() > 250 {
        return Err(
            ToolError::invalid("name: 1 to 250 characters.").with_details(json!({"field": "name"}))
        );
    }
    Ok(())
}

async fn generate_chart(
    ctx: ToolCtx,
    args: GenerateArgs,
) -> Result<WithImages<ChartResult>, ToolError> {
    let (width, height) = check_size(args.width, args.height)?;
    let mut target = resolve(
        &ctx,
        &ChartRef {
            identifier: None,
            dataset_id: Some(args.dataset_id.clone()),
            config: Some(args.config.clone()),
        },
    )
    .await?;
    if let Some(n) = &args.name {
        check_name(n)?;
        target.name = n.clone();
    }
    // Draw first: a chart whose query fails is not saved.
    let d = drawable(&ctx, &target, width, height).await?;
    let (previews, images) = previews(&ctx, &d, &args.preview_formats).await?;
    let config_json = target.config.to_json();
    let chart = if args.save_chart {
        let mut conn = ctx.app.db.conn().await?;
        let (user, at) = (ctx.principal.user_id, now());
        let (name, description) = (
            target.name.clone(),
            args.description.clone().unwrap_or_default(),
        );
        let uuid = new_uuid();
        let new = NewChart {
            uuid: uuid.clone(),
            name: &name,
            chart_type: target.config.chart_type(),
            dataset_id: target.dataset.id,
            config: config_json.to_string(),
            description: &description,
            created_on: at,
            changed_on: at,
            created_by_fk: Some(user),
            changed_by_fk: Some(user),
        };
        let id = Chart::create(&mut conn, &new, user).await?;
        ctx.app.invalidate_caches();
        let (url, url_expires_at) = chart_link(&ctx, id);
        Some(SavedChart {
            id,
            uuid,
            url,
            url_expires_at,
            name,
        })
    } else {
        None
    };
    let notes = d.notes.0.clone();
    with_images(
        ChartResult::new(target, chart, Some(&d), previews, notes),
        images,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateArgs {
    /// Id or uuid.
    pub identifier: Value,
    /// Merged into the saved config; null removes a field; a new chart_type replaces it.
    pub config: Option<Value>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Pictures of the saved result (default none).
    #[serde(default)]
    pub preview_formats: Vec<PreviewFormat>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

async fn update_chart(
    ctx: ToolCtx,
    args: UpdateArgs,
) -> Result<WithImages<ChartResult>, ToolError> {
    let (width, height) = check_size(args.width, args.height)?;
    if args.config.is_none() && args.name.is_none() && args.description.is_none() {
        return Err(
            ToolError::invalid("Nothing to change: give config, name or description.")
                .with_details(json!({"field": "config"})),
        );
    }
    if let Some(n) = &args.name {
        check_name(n)?;
    }
    let mut target = resolve(
        &ctx,
        &ChartRef {
            identifier: Some(args.identifier.clone()),
            dataset_id: None,
            config: args.config.clone(),
        },
    )
    .await?;
    let chart = target
        .chart
        .clone()
        .ok_or_else(|| ToolError::internal("resolved chart without a row"))?;
    {
        let mut conn = ctx.app.db.conn().await?;
        super::charts::require_owner(&mut conn, &target.access, &chart).await?;
    }
    if let Some(n) = &args.name {
        target.name = n.clone();
    }
    // The changed config must still produce a query.
    let checked = run_query(
        &ctx,
        &target,
        true,
        None,
        false,
        StatementPriority::Interactive,
    )
    .await?;
    drop(checked);
    let config_json = target.config.to_json();
    {
        let mut conn = ctx.app.db.conn().await?;
        let id = chart.id;
        let description = args
            .description
            .clone()
            .unwrap_or(chart.description.clone());
        let config = config_json.to_string();
        let changes = ChartChanges {
            name: &target.name,
            description: &description,
            config: &config,
            chart_type: target.config.chart_type(),
        };
        let saved = Chart::save_live(&mut conn, id, &changes, ctx.principal.user_id, now()).await?;
        if !saved {
            return Err(ToolError::conflict(format!(
                "Chart {id} was deleted while it was being changed."
            )));
        }
    }
    ctx.app.invalidate_caches();
    let (url, url_expires_at) = chart_link(&ctx, chart.id);
    let saved = SavedChart {
        id: chart.id,
        uuid: chart.uuid.clone(),
        name: target.name.clone(),
        url,
        url_expires_at,
    };
    if args.preview_formats.is_empty() {
        return with_images(
            ChartResult::new(target, Some(saved), None, Vec::new(), Vec::new()),
            Vec::new(),
        );
    }
    // A preview is extra: its failure never undoes the save.
    let drawn = match drawable(&ctx, &target, width, height).await {
        Ok(d) => previews(&ctx, &d, &args.preview_formats)
            .await
            .map(|p| (d, p)),
        Err(e) => Err(e),
    };
    match drawn {
        Ok((d, (previews, images))) => {
            let notes = d.notes.0.clone();
            with_images(
                ChartResult::new(target, Some(saved), Some(&d), previews, notes),
                images,
            )
        }
        Err(e) => {
            let notes = vec![format!("Saved; the preview failed: {}", e.message)];
            with_images(
                ChartResult::new(target, Some(saved), None, Vec::new(), notes),
                Vec::new(),
            )
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePreviewArgs {
    /// Id or uuid.
    pub identifier: Value,
    /// Config fields to try, merged into the saved config.
    pub config: Value,
    #[serde(default = "default_formats")]
    pub preview_formats: Vec<PreviewFormat>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

async fn update_chart_preview(
    ctx: ToolCtx,
    args: UpdatePreviewArgs,
) -> Result<WithImages<ChartResult>, ToolError> {
    let (width, height) = check_size(args.width, args.height)?;
    let target = resolve(
        &ctx,
        &ChartRef {
            identifier: Some(args.identifier.clone()),
            dataset_id: None,
            config: Some(args.config.clone()),
        },
    )
    .await?;
    let d = drawable(&ctx, &target, width, height).await?;
    let (previews, images) = previews(&ctx, &d, &args.preview_formats).await?;
    let notes = d.notes.0.clone();
    with_images(
        ChartResult::new(target, None, Some(&d), previews, notes),
        images,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartDataArgs {
    #[serde(flatten)]
    pub chart: ChartRef,
    /// json (default) or csv.
    #[serde(default)]
    pub format: DataFormat,
    /// Most rows, 1..=10000 (default: the chart's).
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    #[default]
    Json,
    Csv,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ColumnSummary {
    pub column: String,
    pub count: usize,
    pub nulls: usize,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub sum: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChartRows {
    pub name: String,
    pub columns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<Vec<Value>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csv: Option<String>,
    pub row_count: usize,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncation_reason: Option<String>,
    pub summary: Vec<ColumnSummary>,
    pub executed_sql: String,
    pub execution_time_ms: f64,
}

/// Count, nulls, min, max, mean and sum of every column with numbers.
pub fn summarize(columns: &[String], rows: &[Vec<Value>]) -> Vec<ColumnSummary> {
    let mut out = Vec::new();
    for (i, name) in columns.iter().enumerate() {
        let values: Vec<&Value> = rows.iter().filter_map(|r| r.get(i)).collect();
        let nulls = values.iter().filter(|v| v.is_null()).count();
        let nums: Vec<f64> = values
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.parse::<f64>().ok().filter(|_| !s.is_empty()),
                _ => None,
            })
            .collect::<Option<Vec<f64>>>()
            .unwrap_or_default();
        if nums.is_empty() {
            continue;
        }
        let sum: f64 = nums.iter().sum();
        out.push(ColumnSummary {
            column: name.clone(),
            count: nums.len(),
            nulls,
            min: nums.iter().copied().fold(f64::INFINITY, f64::min),
            max: nums.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            mean: sum / nums.len() as f64,
            sum,
        });
    }
    out
}

/// RFC 4180 CSV with a header line.
pub fn to_csv(columns: &[String], rows: &[Vec<Value>]) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    }
    let mut out = columns
        .iter()
        .map(|c| field(c))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    for r in rows {
        let line = r
            .iter()
            .map(|v| match v {
                Value::Null => String::new(),
                Value::String(s) => field(s),
                other => field(&other.to_string()),
            })
            .collect::<Vec<_>>()
            .join(",");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out
}

async fn get_chart_data(ctx: ToolCtx, args: ChartDataArgs) -> Result<ChartRows, ToolError> {
    if let Some(l) = args.limit
        && !(1..=config::MAX_ROW_LIMIT).contains(&l)
    {
        return Err(
            ToolError::invalid(format!("limit: {l} is out of range 1..=10000."))
                .with_details(json!({"field": "limit"})),
        );
    }
    let target = resolve(&ctx, &args.chart).await?;
    let mut q = run_query(
        &ctx,
        &target,
        false,
        args.limit,
        true,
        StatementPriority::Interactive,
    )
    .await?;
    let mut columns: Vec<String> = q.result.columns.iter().map(|c| c.name.clone()).collect();
    crate::charts::query::without_helper_columns(&mut columns, &mut q.result.rows);
    let summary = summarize(&columns, &q.result.rows);
    let (rows, csv) = match args.format {
        DataFormat::Json => (Some(q.result.rows), None),
        DataFormat::Csv => (None, Some(to_csv(&columns, &q.result.rows))),
    };
    Ok(ChartRows {
        name: target.name,
        columns,
        rows,
        csv,
        row_count: q.result.row_count,
        truncated: q.result.truncated,
        truncation_reason: q.result.truncation_reason,
        summary,
        executed_sql: q.result.executed_sql,
        execution_time_ms: q.result.execution_time_ms,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartSqlArgs {
    #[serde(flatten)]
    pub chart: ChartRef,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChartSql {
    pub name: String,
    pub database_id: i32,
    pub dialect: String,
    /// The SQL as it would run for you: RLS-rewritten and row-capped.
    pub sql: String,
    /// Table references filtered by row-level security for you.
    pub rls_tables_filtered: usize,
}

async fn get_chart_sql(ctx: ToolCtx, args: ChartSqlArgs) -> Result<ChartSql, ToolError> {
    let target = resolve(&ctx, &args.chart).await?;
    let q = run_query(
        &ctx,
        &target,
        true,
        None,
        false,
        StatementPriority::Interactive,
    )
    .await?;
    Ok(ChartSql {
        name: target.name,
        database_id: target.dataset.database_id,
        dialect: q.dialect.to_string(),
        sql: q.result.executed_sql,
        rls_tables_filtered: q.result.rls_tables_filtered,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewArgs {
    #[serde(flatten)]
    pub chart: ChartRef,
    /// png (default), svg, ascii, table or vega_lite.
    #[serde(default = "png")]
    pub format: PreviewFormat,
    /// Pixels, 200..=4000 (default 800).
    pub width: Option<u32>,
    /// Pixels, 150..=3000 (default 600).
    pub height: Option<u32>,
}

fn png() -> PreviewFormat {
    PreviewFormat::Png
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PreviewResult {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_id: Option<i32>,
    pub preview: Preview,
    pub row_count: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

async fn get_chart_preview(
    ctx: ToolCtx,
    args: PreviewArgs,
) -> Result<WithImages<PreviewResult>, ToolError> {
    let (width, height) = check_size(args.width, args.height)?;
    let target = resolve(&ctx, &args.chart).await?;
    let d = drawable(&ctx, &target, width, height).await?;
    let (mut previews, images) = previews(&ctx, &d, &[args.format]).await?;
    let preview = previews
        .pop()
        .ok_or_else(|| ToolError::internal("no preview drawn"))?;
    with_images(
        PreviewResult {
            name: target.name,
            chart_id: target.chart.as_ref().map(|c| c.id),
            preview,
            row_count: d.row_count,
            notes: d.notes.0,
        },
        images,
    )
}

// ---------------------------------------------------------------------------------------
// Explore links

/// The internal tool behind `/explore/{key}` (see [`Registry::internal`]).
pub const EXPLORE_PAGE: &str = "explore_page";

/// A chart's picture as SVG and its data, as the chart view (in a host or on the explore
/// page) shows them; [`ChartView`] adds the rest.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ExplorePage {
    pub title: String,
    pub chart_type: String,
    pub dataset: String,
    pub row_count: usize,
    /// The chart as SVG, without an XML prolog (it sits inline in HTML).
    pub svg: String,
    pub columns: Vec<String>,
    /// The first `table_rows` rows.
    pub rows: Vec<Vec<Value>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ExplorePageArgs {
    /// The chart the link names.
    pub chart: ChartRef,
    /// How many rows of data the page shows at most.
    pub table_rows: usize,
}

/// The explore page is the chart view outside a host: it gets what `view_chart` answers.
async fn explore_page(ctx: ToolCtx, args: ExplorePageArgs) -> Result<ChartView, ToolError> {
    let target = resolve(&ctx, &args.chart).await?;
    chart_view(&ctx, &target, args.table_rows).await
}

/// A drawn chart as the explore page and the views show it: SVG and the first `rows` rows.
fn explore_page_of(target: &Target, d: &Drawable, svg: &Rendered, rows: usize) -> ExplorePage {
    let svg = String::from_utf8_lossy(&svg.bytes);
    // Drawn by vizier's own renderer from escaped text.
    let svg = svg
        .trim_start()
        .strip_prefix("<?xml")
        .and_then(|rest| rest.split_once("?>").map(|(_, s)| s))
        .unwrap_or(&svg)
        .to_string();
    ExplorePage {
        title: target.name.clone(),
        chart_type: target.config.chart_type().to_string(),
        dataset: target.dataset.table_name.clone(),
        row_count: d.row_count,
        svg,
        columns: d.columns.clone(),
        rows: d.rows.iter().take(rows).cloned().collect(),
    }
}

/// The app-only tool behind vizier's MCP Apps views (see [`Registry::callable`]).
pub const VIEW_CHART: &str = "view_chart";

/// Most data rows a view's table shows.
const VIEW_MAX_ROWS: usize = 1000;

/// A chart as a view draws it: the explore page's fields and vizier's Vega-Lite spec.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ChartView {
    #[serde(flatten)]
    pub page: ExplorePage,
    pub chart_id: Option<i32>,
    pub dataset_id: i32,
    /// The chart as Vega-Lite, with its data inline (the view draws from it).
    pub vega_lite: Value,
    pub notes: Vec<String>,
    /// A big number as text (the view shows it as text, which reads at any size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub big_number: Option<BigNumberView>,
    /// A pivot table's cells as text (the view shows them as a table with row headers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pivot: Option<PivotView>,
}

/// A big number's figures as text, in the chart's number format.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct BigNumberView {
    /// The value; none when there is no data.
    pub value: Option<String>,
    /// The change from the comparison value, e.g. "▲ +12.3%".
    pub change: Option<String>,
    /// What the change is against, e.g. "vs previous month ($1,200)".
    pub against: Option<String>,
    /// "up", "down" or "flat".
    pub direction: String,
    /// The trendline, oldest first.
    pub trend: Vec<f64>,
}

/// A pivot table as the picture shows it: headers and cells as text.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PivotView {
    pub columns: Vec<String>,
    /// How many leading columns label the rows.
    pub index_columns: usize,
    /// The first rows of cells (the view's `table_rows`).
    pub rows: Vec<Vec<String>>,
    /// Right-aligned (numeric) columns.
    pub numeric: Vec<bool>,
    pub row_count: usize,
}

/// What the view draws as text rather than from Vega-Lite: a big number, a pivot table.
fn text_parts(d: &Drawable, rows: usize) -> (Option<BigNumberView>, Option<PivotView>) {
    match d.spec.kind {
        crate::render::ChartKind::BigNumber => {
            let h = crate::render::derive::headline(&d.spec, &d.data);
            let view = BigNumberView {
                value: h.value,
                change: h.change,
                against: h.against,
                direction: h.direction.to_string(),
                trend: h.trend,
            };
            (Some(view), None)
        }
        crate::render::ChartKind::Pivot => {
            let mut p = crate::render::table::prepare(&d.spec, &d.data);
            let row_count = p.rows.len();
            p.rows.truncate(rows);
            let view = PivotView {
                columns: p.columns,
                index_columns: p.index_columns,
                rows: p.rows,
                numeric: p.numeric,
                row_count,
            };
            (None, Some(view))
        }
        _ => (None, None),
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartViewArgs {
    /// A saved chart (identifier, with config: changes previewed), or dataset_id + config.
    pub chart: ChartRef,
    /// Filters added to the chart's own (a dashboard's native filters), [{col, opr, value}].
    #[serde(default)]
    pub filters: Vec<crate::query::builder::QueryFilter>,
    /// Data rows returned for the table (default 200, at most 1000).
    pub table_rows: Option<usize>,
}

/// `config` with `extra` filters after its own.
fn with_filters(
    config: &ChartConfig,
    extra: &[crate::query::builder::QueryFilter],
) -> Result<ChartConfig, ToolError> {
    if extra.is_empty() {
        return Ok(config.clone());
    }
    let mut json = config.to_json();
    let extra = serde_json::to_value(extra).map_err(ToolError::internal)?;
    if let (Some(obj), Value::Array(extra)) = (json.as_object_mut(), extra) {
        let filters = obj.entry("filters").or_insert_with(|| json!([]));
        if let Value::Array(own) = filters {
            own.extend(extra);
        }
    }
    ChartConfig::parse(&json)
}

async fn view_chart(ctx: ToolCtx, args: ChartViewArgs) -> Result<ChartView, ToolError> {
    let mut target = resolve(&ctx, &args.chart).await?;
    target.config = with_filters(&target.config, &args.filters)?;
    target.config.check(&target.columns, &target.metrics)?;
    let rows = args.table_rows.unwrap_or(200).min(VIEW_MAX_ROWS);
    chart_view(&ctx, &target, rows).await
}

/// `target` drawn as the chart view shows it, with its first `rows` rows of data.
async fn chart_view(ctx: &ToolCtx, target: &Target, rows: usize) -> Result<ChartView, ToolError> {
    let d = drawable(ctx, target, 960, 540).await?;
    let data = Arc::new(d.data.clone());
    let svg = draw(ctx, PreviewFormat::Svg, &d.spec, &data).await?;
    let vega = draw(ctx, PreviewFormat::VegaLite, &d.spec, &data).await?;
    let vega_lite = serde_json::from_slice(&vega.bytes).map_err(ToolError::internal)?;
    let (big_number, pivot) = text_parts(&d, rows);
    Ok(ChartView {
        page: explore_page_of(target, &d, &svg, rows),
        chart_id: target.chart.as_ref().map(|c| c.id),
        dataset_id: target.dataset.id,
        vega_lite,
        notes: d.notes.0.clone(),
        big_number,
        pivot,
    })
}

/// What an explore link grants: one chart, shown as its creator sees it, until `exp`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct ExploreClaim {
    /// Username of the link's creator: the page runs the query as them.
    pub u: String,
    /// The creator's tenant (usernames are unique per tenant); links made while tenants
    /// were off carry none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t: Option<String>,
    /// Saved chart id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<i32>,
    /// Dataset id and config of an unsaved chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cfg: Option<Value>,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

/// `payload.tag`, both base64url.
pub fn sign_claim(cipher: &crate::db::secrets::Cipher, claim: &ExploreClaim) -> String {
    let payload = B64URL.encode(serde_json::to_vec(claim).unwrap_or_default());
    let tag = B64URL.encode(cipher.sign(payload.as_bytes()));
    format!("{payload}.{tag}")
}

/// The claim of a key, if its signature holds and it has not expired.
pub fn verify_claim(
    cipher: &crate::db::secrets::Cipher,
    key: &str,
    now_unix: i64,
) -> Result<ExploreClaim, &'static str> {
    let (payload, tag) = key.split_once('.').ok_or("malformed link")?;
    let tag = B64URL.decode(tag).map_err(|_| "malformed link")?;
    if !cipher.verify(payload.as_bytes(), &tag) {
        return Err("invalid link signature");
    }
    let bytes = B64URL.decode(payload).map_err(|_| "malformed link")?;
    let claim: ExploreClaim = serde_json::from_slice(&bytes).map_err(|_| "malformed link")?;
    if claim.exp <= now_unix {
        return Err("the link has expired");
    }
    Ok(claim)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExploreArgs {
    #[serde(flatten)]
    pub chart: ChartRef,
    /// Minutes the link works, 1..=1440 (default 60).
    pub expires_in_minutes: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ExploreLink {
    pub url: String,
    pub expires_at: String,
    pub name: String,
}

async fn generate_explore_link(ctx: ToolCtx, args: ExploreArgs) -> Result<ExploreLink, ToolError> {
    let minutes = args.expires_in_minutes.unwrap_or(60);
    if !(1..=1440).contains(&minutes) {
        return Err(ToolError::invalid(format!(
            "expires_in_minutes: {minutes} is out of range 1..=1440."
        ))
        .with_details(json!({"field": "expires_in_minutes"})));
    }
    // Resolve now so a bad chart fails here, not when a person opens the link.
    let target = resolve(&ctx, &args.chart).await?;
    let (key, expires_at) = explore_key(
        &ctx,
        target.chart.as_ref().map(|c| c.id),
        target.chart.is_none().then_some(target.dataset.id),
        target.chart.is_none().then(|| target.config.to_json()),
        minutes,
    );
    if key.len() > 6_000 {
        return Err(ToolError::invalid(
            "config: too large for a link; save the chart (generate_chart with save_chart) and link to it.",
        )
        .with_details(json!({"field": "config"})));
    }
    Ok(ExploreLink {
        url: explore_url(&ctx, &key),
        expires_at,
        name: target.name,
    })
}

impl ExploreClaim {
    /// What the claim names, as a tool would name it.
    pub fn chart_ref(&self) -> ChartRef {
        ChartRef {
            identifier: self.c.map(|c| json!(c)),
            dataset_id: self.d.map(|d| json!(d)),
            config: self.cfg.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Dashboards

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DashboardShotArgs {
    /// Id, uuid or slug.
    pub identifier: Value,
    /// Pixels, 400..=4000 (default 1600).
    pub width: Option<u32>,
    /// As apply_dashboard_filters.
    #[serde(default)]
    pub filters: Vec<FilterValue>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DashboardShot {
    pub dashboard_id: i32,
    pub title: String,
    pub width: u32,
    pub charts: usize,
    pub bytes: usize,
    /// The native filters in the picture's filter bar, with the values in force.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<FilterState>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Grid row units (1/24 of the picture width) for a stored chart height (50 = default).
fn row_units(height: u32) -> u32 {
    ((height as f64 * 8.0 / 50.0).round() as u32).clamp(4, 24)
}

async fn get_dashboard_screenshot(
    ctx: ToolCtx,
    args: DashboardShotArgs,
) -> Result<WithImages<DashboardShot>, ToolError> {
    let width = args.width.unwrap_or(1600);
    if !(400..=4000).contains(&width) {
        return Err(
            ToolError::invalid(format!("width: {width} is out of range 400..=4000."))
                .with_details(json!({"field": "width"})),
        );
    }
    let (dashboard, positions) = {
        let mut conn = ctx.app.db.conn().await?;
        let access = Access::load(&mut conn, &ctx.principal).await?;
        let d = super::dashboards::find(
            &mut conn,
            &access,
            &Ident::parse(&args.identifier, true)?,
            DeletedState::Exclude,
        )
        .await?;
        let layout = crate::layout::Layout::parse(&d.layout)?;
        (d, layout.positions())
    };
    // The filter values in force, checked and scoped as apply_dashboard_filters does.
    let meta: serde_json::Map<String, Value> =
        serde_json::from_str(&dashboard.json_metadata).unwrap_or_default();
    let in_force = InForce::new(&nf::parsed(&nf::stored(&meta)), &args.filters, "filters")?;
    // Rows stack: each starts below the tallest cell of the row before. Headers and
    // dividers take one row unit.
    let mut placements = Vec::new();
    let (mut y, mut current_row, mut row_height) = (0u32, None, 0u32);
    for p in &positions {
        let key = (p.tab.clone(), p.row);
        if current_row.as_ref() != Some(&key) {
            y += row_height;
            row_height = 0;
            current_row = Some(key);
        }
        let h = if p.cell.header.is_some() || p.cell.divider.is_some() {
            1
        } else {
            row_units(p.height)
        };
        row_height = row_height.max(h);
        placements.push(Placement {
            x: p.x.min(11),
            y,
            w: p.width.clamp(1, 12 - p.x.min(11)),
            h,
        });
    }
    // The charts' queries are most of a cold screenshot: run a few at once, each starting
    // as soon as any other ends (a slow chart does not hold back the ones after it), and
    // put them back in layout order.
    let started = std::time::Instant::now();
    let ctx = &ctx;
    let in_force = &in_force;
    let ids: Vec<i32> = positions.iter().filter_map(Position::chart_id).collect();
    let mut drawn: Vec<_> = futures::stream::iter(ids.into_iter().enumerate())
        .map(|(at, id)| {
            async move {
                let mut t = resolve(
                    ctx,
                    &ChartRef {
                        identifier: Some(json!(id)),
                        ..Default::default()
                    },
                )
                .await?;
                let mut skipped = Vec::new();
                let conds = in_force.conditions_for(
                    id,
                    t.dataset.id,
                    |col| t.columns.iter().any(|c| c.column_name == col),
                    &mut skipped,
                )?;
                t.config.filters_mut().extend(conds);
                drawable(ctx, &t, 800, 600).await.map(|d| (d, skipped))
            }
            .map(move |drawn| (at, drawn))
        })
        .buffer_unordered(DASHBOARD_CHARTS_AT_ONCE)
        .collect()
        .await;
    drawn.sort_by_key(|(at, _)| *at);
    let mut drawn = drawn.into_iter().map(|(_, d)| d);
    let charts_ms = started.elapsed().as_millis() as u64;
    let mut placed = Vec::new();
    let mut notes = in_force.notes.clone();
    for (p, placement) in positions.iter().zip(placements) {
        let c = &p.cell;
        let tile = match (c.chart_id, &c.markdown, &c.header) {
            (Some(id), _, _) => match drawn.next() {
                Some(Ok((d, skipped))) => {
                    notes.extend(skipped);
                    Tile::chart(d.spec, d.data)
                }
                Some(Err(e)) => {
                    notes.push(format!("chart {id}: {}", e.message));
                    let mut spec =
                        RenderSpec::new(format!("Chart {id}"), crate::render::ChartKind::Table);
                    spec.show_legend = false;
                    Tile::chart(
                        spec,
                        ChartData::table(TableData {
                            columns: vec!["error".into()],
                            rows: vec![vec![Value::String(e.message)]],
                            index_columns: 0,
                        }),
                    )
                }
                None => continue,
            },
            (_, Some(text), _) => Tile::Markdown(text.clone()),
            (_, _, Some(text)) => Tile::Header {
                text: text.clone(),
                level: match c.size.unwrap_or_default() {
                    HeaderSize::Large => 1,
                    HeaderSize::Medium => 2,
                    HeaderSize::Small => 3,
                },
            },
            _ => Tile::Divider,
        };
        placed.push((placement, tile));
    }
    let title = dashboard.title.clone();
    let bar: Vec<FilterChip> = in_force
        .states
        .iter()
        .map(|f| FilterChip {
            name: f.name.clone(),
            value: f.shown(),
        })
        .collect();
    let key = {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        "dashboard".hash(&mut h);
        title.hash(&mut h);
        width.hash(&mut h);
        serde_json::to_string(&bar).unwrap_or_default().hash(&mut h);
        serde_json::to_string(&placed)
            .unwrap_or_default()
            .hash(&mut h);
        h.finish()
    };
    let charts = placed.len();
    let job_title = title.clone();
    let started = std::time::Instant::now();
    let r = ctx
        .app
        .screenshots
        .render(key, move || {
            crate::render::render_dashboard_png(&job_title, &bar, &placed, width)
                .map(|bytes| Rendered {
                    bytes: bytes.into(),
                    mime: "image/png",
                })
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(refusal)?;
    tracing::debug!(
        dashboard_id = dashboard.id,
        charts,
        charts_ms,
        render_ms = started.elapsed().as_millis() as u64,
        "dashboard screenshot"
    );
    let images = vec![Image {
        data: B64.encode(&r.bytes),
        mime_type: "image/png".into(),
    }];
    with_images(
        DashboardShot {
            dashboard_id: dashboard.id,
            title,
            width,
            charts,
            bytes: r.bytes.len(),
            filters: in_force.states.clone(),
            notes,
        },
        images,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_replaces_fields_and_a_new_type_starts_over() {
        let base = json!({"chart_type": "xy", "kind": "line", "metrics": [1], "stacked": true});
        assert_eq!(
            merge_config(&base, &json!({"kind": "bar", "stacked": null})),
            json!({"chart_type": "xy", "kind": "bar", "metrics": [1]})
        );
        let pie = json!({"chart_type": "pie", "dimension": "d"});
        assert_eq!(merge_config(&base, &pie), pie);
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let csv = to_csv(
            &["a".into(), "b,c".into()],
            &[
                vec![json!("x\"y"), json!(1.5)],
                vec![Value::Null, json!("line\nbreak")],
            ],
        );
        assert_eq!(csv, "a,\"b,c\"\r\n\"x\"\"y\",1.5\r\n,\"line\nbreak\"\r\n");
    }

    #[test]
    fn summary_covers_numeric_columns_only() {
        let s = summarize(
            &["name".into(), "v".into()],
            &[
                vec![json!("a"), json!(1)],
                vec![json!("b"), json!("3")],
                vec![json!("c"), Value::Null],
            ],
        );
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].count, s[0].nulls, s[0].min, s[0].max, s[0].sum),
            (2, 1, 1.0, 3.0, 4.0)
        );
    }

    #[test]
    fn explore_keys_are_signed_and_expire() {
        let cipher = crate::db::secrets::Cipher::from_base64(&B64.encode([7u8; 32])).unwrap();
        let claim = ExploreClaim {
            u: "alice".into(),
            t: None,
            c: Some(3),
            d: None,
            cfg: None,
            exp: 2_000,
        };
        let key = sign_claim(&cipher, &claim);
        assert_eq!(verify_claim(&cipher, &key, 1_000).unwrap(), claim);
        assert_eq!(
            verify_claim(&cipher, &key, 2_000),
            Err("the link has expired")
        );
        let (payload, tag) = key.split_once('.').unwrap();
        let forged = B64URL.encode(br#"{"u":"admin","c":3,"exp":9999999999}"#);
        assert_eq!(
            verify_claim(&cipher, &format!("{forged}.{tag}"), 1_000),
            Err("invalid link signature")
        );
        assert!(verify_claim(&cipher, payload, 1_000).is_err());
        let other = crate::db::secrets::Cipher::from_base64(&B64.encode([8u8; 32])).unwrap();
        assert!(verify_claim(&other, &key, 1_000).is_err());
    }
}

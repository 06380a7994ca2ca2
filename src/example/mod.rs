//! The example retail data source of the embedded default: generated deterministically on
//! first start (`data.rs`) and registered in the metadata store with datasets, saved
//! metrics, charts of several types and a dashboard, so a fresh `vizier serve` is useful at
//! once. Later starts find it registered and only check that the data file is whole.

pub mod data;

use std::path::Path;

use anyhow::Context;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::config::Config;
use crate::db::MetaConn;
use crate::db::models::*;
use crate::db::schema::{
    chart_owners, charts, dashboard_charts, dashboard_owners, databases, datasets,
};
use crate::db::secrets::Cipher;
use crate::{in_transaction, with_conn};

pub const DATABASE_NAME: &str = "examples";

/// The joined "sales" dataset: one row per order line with its order, customer, store,
/// region and product.
///
/// The unary `+` on each join's foreign key is SQLite's way to keep a term from driving an
/// index: without it SQLite starts from the stores and walks `orders_store_id` and
/// `order_lines_order_id` (a random read per order and per line), with it the only plan is
/// one pass over `order_lines` and a primary-key lookup per joined row, about twice as
/// fast for every chart on this dataset (EXPLAIN QUERY PLAN shows both).
const SALES_SQL: &str = "SELECT ol.order_line_id, o.order_id, o.order_date, o.channel, o.status, \
c.segment, r.name AS region, s.name AS store, p.category, p.subcategory, p.name AS product, \
ol.quantity, ol.unit_price, ol.discount, ol.line_total, ol.quantity * p.unit_cost AS line_cost \
FROM order_lines ol JOIN orders o ON o.order_id = +ol.order_id \
JOIN customers c ON c.customer_id = +o.customer_id JOIN stores s ON s.store_id = +o.store_id \
JOIN regions r ON r.region_id = +s.region_id JOIN products p ON p.product_id = +ol.product_id";

/// (column, type, temporal, description) of the sales dataset.
const SALES_COLUMNS: &[(&str, &str, bool, &str)] = &[
    ("order_line_id", "INTEGER", false, "Order line id"),
    ("order_id", "INTEGER", false, "Order id"),
    ("order_date", "TIMESTAMP", true, "When the order was placed"),
    ("channel", "TEXT", false, "store, online or phone"),
    ("status", "TEXT", false, "completed, returned or cancelled"),
    ("segment", "TEXT", false, "Customer segment"),
    ("region", "TEXT", false, "Region of the store"),
    ("store", "TEXT", false, "Store name"),
    ("category", "TEXT", false, "Product category"),
    ("subcategory", "TEXT", false, "Product subcategory"),
    ("product", "TEXT", false, "Product name"),
    ("quantity", "INTEGER", false, "Units on the line"),
    ("unit_price", "REAL", false, "Price per unit"),
    ("discount", "REAL", false, "Discount rate 0..0.3"),
    (
        "line_total",
        "REAL",
        false,
        "quantity × unit_price × (1 − discount)",
    ),
    ("line_cost", "REAL", false, "quantity × unit cost"),
];

/// (name, SQL expression, description, d3 format) of the sales dataset's saved metrics.
const SALES_METRICS: &[(&str, &str, &str, &str)] = &[
    (
        "revenue",
        "SUM(line_total)",
        "Revenue after discounts",
        "$,.2f",
    ),
    (
        "orders",
        "COUNT(DISTINCT order_id)",
        "Number of orders",
        ",d",
    ),
    ("units", "SUM(quantity)", "Units sold", ",d"),
    (
        "avg_order_value",
        "SUM(line_total) / COUNT(DISTINCT order_id)",
        "Revenue per order",
        "$,.2f",
    ),
    (
        "gross_margin",
        "SUM(line_total - line_cost)",
        "Revenue minus cost",
        "$,.2f",
    ),
];

/// Make sure the example data file exists and is whole, and that it is registered.
pub async fn ensure(
    conn: &mut MetaConn,
    config: &Config,
    cipher: &Cipher,
    owner: &str,
) -> anyhow::Result<()> {
    let path = config.examples.path.clone();
    let generate_path = path.clone();
    let stats = tokio::task::spawn_blocking(move || data::ensure(&generate_path))
        .await
        .context("example data task panicked")??;
    let registered: i64 = with_conn!(conn, |c| {
        databases::table
            .filter(databases::name.eq(DATABASE_NAME))
            // In any tenant: names are unique per tenant, but once `vizier tenant adopt`
            // has given the example to a tenant it is still registered, and a start must not
            // register a second, unowned copy.
            .count()
            .get_result(c)
            .await
    })?;
    if registered == 0 {
        let owner_id = crate::db::models::User::by_username(conn, owner, None)
            .await?
            .map(|u| u.id);
        register(conn, cipher, &path, owner_id).await?;
        tracing::info!(
            order_lines = stats.order_lines,
            "registered the example data source"
        );
    }
    Ok(())
}

async fn register(
    conn: &mut MetaConn,
    cipher: &Cipher,
    path: &Path,
    owner: Option<i32>,
) -> anyhow::Result<()> {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let url = format!("sqlite://{}", abs.display());
    let encrypted = cipher.encrypt(&url)?;
    let at = now();
    in_transaction!(conn, |c| {
        let database_id: i32 = diesel::insert_into(databases::table)
            .values(NewDatabase {
                uuid: new_uuid(),
                name: DATABASE_NAME,
                engine: "sqlite",
                connection_encrypted: encrypted,
                settings: json!({
                    "allow_dml": false,
                    "row_limit": 10000,
                    "statement_timeout_ms": 30000,
                    "pool_size": 4,
                })
                .to_string(),
                description: "Example retail data: regions, stores, products, customers, orders and order lines (2024–2025).",
                created_on: at,
                changed_on: at,
                created_by_fk: owner,
                changed_by_fk: owner,
                tenant: None,
            })
            .returning(databases::id)
            .get_result(c)
            .await?;

        let new_dataset = |table_name: &'static str,
                           sql: Option<&'static str>,
                           description: &'static str,
                           dttm: Option<&'static str>| NewDataset {
            uuid: new_uuid(),
            database_id,
            schema_name: None,
            table_name,
            sql,
            description,
            main_dttm_col: dttm,
            created_on: at,
            changed_on: at,
            created_by_fk: owner,
            changed_by_fk: owner,
        };
        for table in data::tables() {
            let dttm = table
                .columns
                .iter()
                .find(|col| col.is_temporal)
                .map(|col| col.name);
            let id: i32 = diesel::insert_into(datasets::table)
                .values(new_dataset(table.name, None, table.description, dttm))
                .returning(datasets::id)
                .get_result(c)
                .await?;
            for col in table.columns {
                diesel::insert_into(crate::db::schema::dataset_columns::table)
                    .values(NewDatasetColumn {
                        uuid: new_uuid(),
                        dataset_id: id,
                        column_name: col.name,
                        data_type: col.sql_type,
                        is_temporal: col.is_temporal,
                        description: col.description,
                        created_on: at,
                        changed_on: at,
                        created_by_fk: owner,
                        changed_by_fk: owner,
                    })
                    .execute(c)
                    .await?;
            }
        }

        let sales: i32 = diesel::insert_into(datasets::table)
            .values(new_dataset(
                "sales",
                Some(SALES_SQL),
                "One row per order line, joined with its order, customer, store, region and product.",
                Some("order_date"),
            ))
            .returning(datasets::id)
            .get_result(c)
            .await?;
        for (name, ty, temporal, description) in SALES_COLUMNS {
            diesel::insert_into(crate::db::schema::dataset_columns::table)
                .values(NewDatasetColumn {
                    uuid: new_uuid(),
                    dataset_id: sales,
                    column_name: name,
                    data_type: ty,
                    is_temporal: *temporal,
                    description,
                    created_on: at,
                    changed_on: at,
                    created_by_fk: owner,
                    changed_by_fk: owner,
                })
                .execute(c)
                .await?;
        }
        for (name, expression, description, format) in SALES_METRICS {
            diesel::insert_into(crate::db::schema::dataset_metrics::table)
                .values(NewDatasetMetric {
                    uuid: new_uuid(),
                    dataset_id: sales,
                    metric_name: name,
                    expression,
                    verbose_name: None,
                    description,
                    d3format: Some(format),
                    created_on: at,
                    changed_on: at,
                    created_by_fk: owner,
                    changed_by_fk: owner,
                })
                .execute(c)
                .await?;
        }

        let mut chart_ids = Vec::new();
        for (name, chart_type, config, description) in example_charts() {
            let id: i32 = diesel::insert_into(charts::table)
                .values(NewChart {
                    uuid: new_uuid(),
                    name,
                    chart_type,
                    dataset_id: sales,
                    config: config.to_string(),
                    description,
                    created_on: at,
                    changed_on: at,
                    created_by_fk: owner,
                    changed_by_fk: owner,
                })
                .returning(charts::id)
                .get_result(c)
                .await?;
            if let Some(user) = owner {
                diesel::insert_into(chart_owners::table)
                    .values((
                        chart_owners::chart_id.eq(id),
                        chart_owners::user_id.eq(user),
                    ))
                    .execute(c)
                    .await?;
            }
            chart_ids.push(id);
        }

        // A 12-column grid: the headline number beside the trend, then breakdowns.
        let layout = json!({
            "version": 1,
            "grid_columns": 12,
            "rows": [
                {"charts": [{"chart_id": chart_ids[3], "width": 4, "height": 50}, {"chart_id": chart_ids[0], "width": 8, "height": 50}]},
                {"charts": [{"chart_id": chart_ids[1], "width": 6, "height": 50}, {"chart_id": chart_ids[2], "width": 6, "height": 50}]},
                {"charts": [{"chart_id": chart_ids[6], "width": 12, "height": 50}]},
                {"charts": [{"chart_id": chart_ids[4], "width": 6, "height": 60}, {"chart_id": chart_ids[5], "width": 6, "height": 60}]},
            ],
        });
        let dashboard: i32 = diesel::insert_into(crate::db::schema::dashboards::table)
            .values(NewDashboard {
                uuid: new_uuid(),
                title: "Retail overview",
                slug: Some("retail-overview"),
                description: "Revenue, orders and margins of the example retail business across regions, channels and categories.",
                published: true,
                layout: layout.to_string(),
                json_metadata: json!({
                    "refresh_frequency": 0,
                    "native_filters": example_filters(sales, &chart_ids),
                })
                .to_string(),
                created_on: at,
                changed_on: at,
                created_by_fk: owner,
                changed_by_fk: owner,
                tenant: None,
            })
            .returning(crate::db::schema::dashboards::id)
            .get_result(c)
            .await?;
        for chart_id in &chart_ids {
            diesel::insert_into(dashboard_charts::table)
                .values((
                    dashboard_charts::dashboard_id.eq(dashboard),
                    dashboard_charts::chart_id.eq(chart_id),
                ))
                .execute(c)
                .await?;
        }
        if let Some(user) = owner {
            diesel::insert_into(dashboard_owners::table)
                .values((
                    dashboard_owners::dashboard_id.eq(dashboard),
                    dashboard_owners::user_id.eq(user),
                ))
                .execute(c)
                .await?;
        }
        Ok::<(), diesel::result::Error>(())
    })?;
    Ok(())
}

/// The example dashboard's native filters in their stored form (`charts::native_filters`,
/// as manage_native_filters writes it): region and sales channel (several values each) and
/// the order date, on every chart (all are on `sales`), none set by default.
fn example_filters(sales: i32, chart_ids: &[i32]) -> serde_json::Value {
    let filter = |id: &str, name: &str, filter_type: &str, column: &str| {
        let mut f = json!({
            "id": format!("NATIVE_FILTER-example-{id}"), "name": name,
            "filter_type": filter_type,
            "targets": [{"dataset_id": sales, "column": column}],
            "default_value": null, "chart_ids": chart_ids,
        });
        if filter_type == "filter_select" {
            f["multiple"] = json!(true);
        }
        f
    };
    json!([
        filter("region", "Region", "filter_select", "region"),
        filter("channel", "Sales channel", "filter_select", "channel"),
        filter("date", "Order date", "filter_time", "order_date"),
    ])
}

/// (name, chart_type, config, description) of the example charts, in dashboard order.
fn example_charts() -> Vec<(&'static str, &'static str, serde_json::Value, &'static str)> {
    let revenue = json!({"saved_metric": "revenue"});
    vec![
        (
            "Monthly revenue",
            "xy",
            json!({"chart_type": "xy", "kind": "line", "x": "order_date", "time_grain": "month",
                   "metrics": [revenue], "x_axis_title": "Month", "y_axis_title": "Revenue", "y_axis_format": "$,.0f"}),
            "Revenue per month over 2024–2025.",
        ),
        (
            "Revenue by category",
            "xy",
            json!({"chart_type": "xy", "kind": "bar", "x": "category", "metrics": [revenue],
                   "order_desc": true, "y_axis_format": "$,.0f"}),
            "Revenue of each product category.",
        ),
        (
            "Sales channel share",
            "pie",
            json!({"chart_type": "pie", "dimension": "channel", "metric": revenue, "donut": true}),
            "Share of revenue by sales channel.",
        ),
        (
            "This month's revenue",
            "big_number",
            json!({"chart_type": "big_number", "metric": revenue, "x": "order_date", "time_grain": "month",
                   "show_trendline": true, "compare_to_previous_period": true, "format": "$,.0f"}),
            "Revenue of the latest month, its monthly trend and the change from the month before.",
        ),
        (
            "Top products",
            "table",
            json!({"chart_type": "table", "mode": "aggregate", "group_by": ["product", "category"],
                   "metrics": [revenue, {"saved_metric": "units"}], "order_by": "revenue", "order_desc": true, "row_limit": 20}),
            "The 20 products with the most revenue.",
        ),
        (
            "Revenue by region and category",
            "pivot_table",
            json!({"chart_type": "pivot_table", "rows": ["region"], "columns": ["category"],
                   "metrics": [revenue], "aggregate_function": "sum", "show_totals": true}),
            "Revenue per region (rows) and category (columns).",
        ),
        (
            "Weekly orders by segment",
            "xy",
            json!({"chart_type": "xy", "kind": "area", "x": "order_date", "time_grain": "week",
                   "metrics": [{"saved_metric": "orders"}], "group_by": ["segment"], "stacked": true}),
            "Orders per week, stacked by customer segment.",
        ),
    ]
}

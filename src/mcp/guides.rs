//! The reference service's resource and prompt for building charts: `chart://configs` (a
//! valid example config of every chart type, with the metric forms, filter operators and
//! time grains a config may use) and the prompt `create_chart_guided` (the steps from a
//! question to a saved chart, with the chosen dataset's columns and metrics inline).

use serde_json::{Map, Value, json};

use crate::charts::config::{self, CHART_TYPES};

pub const CHART_CONFIGS_RESOURCE: &str = "chart://configs";
pub const CREATE_CHART_PROMPT: &str = "create_chart_guided";

/// What each chart type is for, in a line (the resource and the prompt say it alike).
fn purpose(chart_type: &str) -> &'static str {
    match chart_type {
        "xy" => {
            "trends and comparisons: line, bar, area or scatter over an x column, optionally split into series"
        }
        "table" => "exact values: aggregated by groups, or raw rows",
        "pie" => "shares of a whole over one dimension (few categories)",
        "big_number" => {
            "one headline figure, optionally with a trendline and the change on the previous period"
        }
        "pivot_table" => "a metric across two dimensions, rows by columns, with totals",
        "funnel" => "how a metric narrows over stages, widest first",
        "treemap" => "parts of a whole as nested rectangles (many categories)",
        "waterfall" => "how steps (periods or categories) add up to a total",
        "gauge" => "one figure against a target range",
        "heatmap" => "a metric across two dimensions as coloured cells",
        "histogram" => "how a numeric column's values are distributed",
        "box_plot" => "a numeric column's spread (median, quartiles, whiskers) per group",
        "mixed_timeseries" => {
            "two metric groups over one x, each on its own y axis (e.g. revenue bars, order line)"
        }
        _ => "",
    }
}

/// The `chart://configs` document. Every example is a config `generate_chart` accepts on
/// the bundled example data (a unit test parses each).
pub fn chart_configs() -> Value {
    let types: Map<String, Value> = CHART_TYPES
        .iter()
        .map(|t| {
            (
                (*t).to_owned(),
                json!({"use_for": purpose(t), "examples": config::examples(t)}),
            )
        })
        .collect();
    json!({
        "about": "Example configs of every chart type for generate_chart, update_chart and \
                  get_chart_preview (config + dataset_id). Column and metric names are those of \
                  the bundled example `sales` dataset; use your dataset's (get_dataset_info). \
                  get_chart_type_schema(chart_type) gives the full JSON Schema of one type.",
        "chart_types": types,
        "metric_forms": [
            {"saved_metric": "a saved metric of the dataset"},
            {"column": "a column", "aggregate": crate::query::builder::AGGREGATES, "label": "optional result name"},
            {"sql": "an aggregate SQL expression", "label": "its result name"}
        ],
        "filter_operators": crate::query::builder::OPERATORS,
        "time_grains": crate::query::builder::GRAINS,
    })
}

/// The prompt's text. `dataset` is the chosen dataset's details (`get_dataset_info`'s
/// answer) when the caller named one it may see.
pub fn create_chart_text(goal: Option<&str>, dataset: Option<&Value>) -> String {
    let goal = goal
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(|g| format!("The goal: {g}\n\n"))
        .unwrap_or_default();
    let dataset_part = match dataset {
        Some(d) => {
            let columns: Vec<String> = d["columns"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    let temporal = if c["is_temporal"] == true {
                        ", temporal"
                    } else {
                        ""
                    };
                    format!(
                        "{} ({}{temporal})",
                        c["column_name"].as_str().unwrap_or_default(),
                        c["type"].as_str().unwrap_or_default()
                    )
                })
                .collect();
            let metrics: Vec<String> = d["metrics"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    format!(
                        "{} = {}",
                        m["metric_name"].as_str().unwrap_or_default(),
                        m["expression"].as_str().unwrap_or_default()
                    )
                })
                .collect();
            format!(
                "The dataset: '{}' (id {}). Columns: {}. Saved metrics: {}.\n\n",
                d["table_name"].as_str().unwrap_or_default(),
                d["id"],
                if columns.is_empty() {
                    "none".to_owned()
                } else {
                    columns.join(", ")
                },
                if metrics.is_empty() {
                    "none (use {column, aggregate} or {sql, label} metrics)".to_owned()
                } else {
                    metrics.join("; ")
                },
            )
        }
        None => "1. Find the dataset: list_datasets with a search for the subject, then \
                 get_dataset_info for its columns (which are temporal) and saved metrics.\n"
            .to_owned(),
    };
    let kinds: Vec<String> = CHART_TYPES
        .iter()
        .map(|t| format!("- {t}: {}", purpose(t)))
        .collect();
    format!(
        "Build a chart with vizier, step by step.\n\n{goal}{dataset_part}\
         2. Choose the chart type that answers the question:\n{kinds}\n\
         3. Read get_chart_type_schema for that type (or the chart://configs resource for an \
            example of every type). Metrics are saved metric names ({{\"saved_metric\": …}}), \
            {{\"column\", \"aggregate\"}} or {{\"sql\", \"label\"}}; a time series needs a temporal \
            x column and a time_grain.\n\
         4. Preview before saving: generate_chart with dataset_id and config, save_chart false, \
            preview_formats [\"png\"] (or [\"ascii\"] where images do not show). Check the picture \
            and the row count; adjust with update_chart_preview.\n\
         5. Save it: generate_chart with save_chart true and a clear name. To share it, \
            generate_explore_link, or add_chart_to_existing_dashboard / generate_dashboard.\n\
         Row-level security applies to every preview and to the saved chart alike.",
        kinds = kinds.join("\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_config_in_the_resource_is_valid() {
        let doc = chart_configs();
        let types = doc["chart_types"].as_object().expect("types");
        assert_eq!(types.len(), CHART_TYPES.len());
        for (name, entry) in types {
            let examples = entry["examples"].as_array().expect("examples");
            assert!(!examples.is_empty(), "{name}");
            for e in examples {
                let parsed = config::ChartConfig::parse(e).expect("parses");
                assert_eq!(parsed.chart_type(), name);
            }
            assert!(!entry["use_for"].as_str().unwrap_or_default().is_empty());
        }
    }

    #[test]
    fn the_prompt_names_the_dataset_and_every_chart_type() {
        let dataset = json!({"id": 7, "table_name": "sales",
            "columns": [{"column_name": "order_date", "type": "DATE", "is_temporal": true}],
            "metrics": [{"metric_name": "revenue", "expression": "SUM(line_total)"}]});
        let text = create_chart_text(Some("revenue by month"), Some(&dataset));
        assert!(text.contains("The goal: revenue by month"));
        assert!(text.contains("'sales' (id 7)"));
        assert!(text.contains("order_date (DATE, temporal)"));
        assert!(text.contains("revenue = SUM(line_total)"));
        for t in CHART_TYPES {
            assert!(text.contains(&format!("- {t}:")), "{t}");
        }
        assert!(create_chart_text(None, None).contains("list_datasets"));
    }
}

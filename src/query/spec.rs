//! What each listable model offers: selectable, filterable (with operators), sortable and
//! searchable columns, and the list defaults. `get_schema` publishes this, and the list
//! tools validate their arguments against it, so the two can never disagree.

use schemars::JsonSchema;
use serde::Serialize;

/// Filter operators of the list tools.
pub const TEXT_OPS: &[&str] = &[
    "eq",
    "ne",
    "sw",
    "ew",
    "in",
    "nin",
    "like",
    "ilike",
    "ct",
    "is_null",
    "is_not_null",
];
pub const NUMBER_OPS: &[&str] = &[
    "eq",
    "ne",
    "in",
    "nin",
    "gt",
    "gte",
    "lt",
    "lte",
    "is_null",
    "is_not_null",
];
pub const BOOL_OPS: &[&str] = &["eq", "ne", "is_null", "is_not_null"];
pub const TIME_OPS: &[&str] = &[
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "is_null",
    "is_not_null",
];

pub const DEFAULT_PAGE_SIZE: u32 = 10;
pub const MAX_PAGE_SIZE: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    Text,
    Number,
    Bool,
    Time,
    /// Structured JSON: selectable only.
    Json,
    /// Derived from other tables (names, counts): selectable only.
    DerivedText,
    DerivedNumber,
}

impl ColType {
    pub fn operators(self) -> &'static [&'static str] {
        match self {
            Self::Text => TEXT_OPS,
            Self::Number => NUMBER_OPS,
            Self::Bool => BOOL_OPS,
            Self::Time => TIME_OPS,
            Self::Json | Self::DerivedText | Self::DerivedNumber => &[],
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Self::Text | Self::DerivedText => "string",
            Self::Number | Self::DerivedNumber => "integer",
            Self::Bool => "boolean",
            Self::Time => "datetime",
            Self::Json => "object",
        }
    }
}

pub struct Column {
    pub name: &'static str,
    pub ty: ColType,
    pub sortable: bool,
    pub searchable: bool,
    /// Part of the lean default selection.
    pub default: bool,
    pub description: &'static str,
}

const fn col(
    name: &'static str,
    ty: ColType,
    sortable: bool,
    searchable: bool,
    default: bool,
    description: &'static str,
) -> Column {
    Column {
        name,
        ty,
        sortable,
        searchable,
        default,
        description,
    }
}

pub struct ModelSpec {
    pub model: &'static str,
    pub list_tool: &'static str,
    pub columns: &'static [Column],
    pub default_order: (&'static str, &'static str),
    /// Deleted objects go to a trash (`deleted_state` lists it); otherwise deletes are
    /// final and the list tool does not offer `deleted_state`.
    pub trash: bool,
}

use ColType::*;

pub const MODELS: &[ModelSpec] = &[
    ModelSpec {
        model: "dashboard",
        list_tool: "list_dashboards",
        trash: true,
        default_order: ("changed_on", "desc"),
        columns: &[
            col("id", Number, true, false, true, "Numeric id"),
            col("uuid", Text, false, false, false, "Stable uuid"),
            col("dashboard_title", Text, true, true, true, "Title"),
            col("slug", Text, true, true, true, "URL slug, unique"),
            col("description", Text, false, true, false, "Description"),
            col(
                "published",
                Bool,
                true,
                false,
                true,
                "Visible to read-only roles",
            ),
            col(
                "chart_count",
                Number,
                false,
                false,
                false,
                "Charts on the dashboard",
            ),
            col(
                "created_by",
                Text,
                false,
                false,
                false,
                "Creator's username",
            ),
            col(
                "changed_by",
                Text,
                false,
                false,
                false,
                "Last editor's username",
            ),
            col(
                "created_on",
                Time,
                true,
                false,
                false,
                "Creation time (UTC)",
            ),
            col("changed_on", Time, true, false, true, "Last change (UTC)"),
        ],
    },
    ModelSpec {
        model: "chart",
        list_tool: "list_charts",
        trash: true,
        default_order: ("changed_on", "desc"),
        columns: &[
            col("id", Number, true, false, true, "Numeric id"),
            col("uuid", Text, false, false, false, "Stable uuid"),
            col("slice_name", Text, true, true, true, "Chart name"),
            col("viz_type", Text, true, false, true, "Chart type"),
            col("description", Text, false, true, false, "Description"),
            col("datasource_id", Number, true, false, true, "Dataset id"),
            col(
                "datasource_name",
                DerivedText,
                false,
                false,
                false,
                "Dataset name",
            ),
            col(
                "config",
                Json,
                false,
                false,
                false,
                "The typed chart config",
            ),
            col(
                "created_by",
                Text,
                false,
                false,
                false,
                "Creator's username",
            ),
            col(
                "changed_by",
                Text,
                false,
                false,
                false,
                "Last editor's username",
            ),
            col(
                "created_on",
                Time,
                true,
                false,
                false,
                "Creation time (UTC)",
            ),
            col("changed_on", Time, true, false, true, "Last change (UTC)"),
        ],
    },
    ModelSpec {
        model: "dataset",
        list_tool: "list_datasets",
        trash: true,
        default_order: ("changed_on", "desc"),
        columns: &[
            col("id", Number, true, false, true, "Numeric id"),
            col("uuid", Text, false, false, false, "Stable uuid"),
            col(
                "table_name",
                Text,
                true,
                true,
                true,
                "Table or virtual dataset name",
            ),
            col(
                "schema",
                Text,
                true,
                true,
                true,
                "Schema in the data source",
            ),
            col("database_id", Number, true, false, true, "Database id"),
            col(
                "database_name",
                DerivedText,
                false,
                false,
                false,
                "Database name",
            ),
            col("kind", Text, true, false, true, "physical or virtual"),
            col("description", Text, false, true, false, "Description"),
            col("sql", Text, false, false, false, "SQL of a virtual dataset"),
            col(
                "main_dttm_col",
                Text,
                false,
                false,
                false,
                "Main time column",
            ),
            col("columns", Json, false, false, false, "Columns with types"),
            col("metrics", Json, false, false, false, "Saved metrics"),
            col(
                "created_on",
                Time,
                true,
                false,
                false,
                "Creation time (UTC)",
            ),
            col("changed_on", Time, true, false, true, "Last change (UTC)"),
        ],
    },
    ModelSpec {
        model: "database",
        list_tool: "list_databases",
        trash: false,
        default_order: ("database_name", "asc"),
        columns: &[
            col("id", Number, true, false, true, "Numeric id"),
            col("uuid", Text, false, false, false, "Stable uuid"),
            col("database_name", Text, true, true, true, "Name"),
            col(
                "backend",
                Text,
                true,
                false,
                true,
                "Engine: postgresql, mysql, sqlite",
            ),
            col(
                "allow_dml",
                Bool,
                true,
                false,
                true,
                "Whether execute_sql may change data",
            ),
            col("description", Text, false, true, false, "Description"),
            col(
                "created_on",
                Time,
                true,
                false,
                false,
                "Creation time (UTC)",
            ),
            col("changed_on", Time, true, false, true, "Last change (UTC)"),
        ],
    },
    ModelSpec {
        model: "query",
        list_tool: "list_queries",
        trash: false,
        default_order: ("started_on", "desc"),
        columns: &[
            col("id", Number, true, false, true, "Numeric id"),
            col("uuid", Text, false, false, false, "Stable uuid"),
            col("database_id", Number, true, false, true, "Database id"),
            col("schema", Text, true, false, false, "Schema"),
            col("sql", Text, false, true, true, "SQL as sent"),
            col(
                "executed_sql",
                Text,
                false,
                false,
                false,
                "SQL as it ran (templated, RLS, limits)",
            ),
            col(
                "status",
                Text,
                true,
                false,
                true,
                "success, error, timeout or cancelled",
            ),
            col("error_message", Text, false, false, false, "Why it failed"),
            col("row_count", Number, true, false, true, "Rows returned"),
            col("duration_ms", Number, true, false, true, "Run time"),
            col("username", DerivedText, false, false, false, "Who ran it"),
            col(
                "started_on",
                Time,
                true,
                false,
                true,
                "When it started (UTC)",
            ),
        ],
    },
    ModelSpec {
        model: "saved_query",
        list_tool: "list_saved_queries",
        trash: false,
        default_order: ("changed_on", "desc"),
        columns: &[
            col("id", Number, true, false, true, "Numeric id"),
            col("uuid", Text, false, false, false, "Stable uuid"),
            col("label", Text, true, true, true, "Name"),
            col("description", Text, false, true, false, "Description"),
            col("database_id", Number, true, false, true, "Database id"),
            col("schema", Text, true, false, false, "Schema"),
            col("sql", Text, false, true, false, "The SQL"),
            col(
                "created_on",
                Time,
                true,
                false,
                false,
                "Creation time (UTC)",
            ),
            col("changed_on", Time, true, false, true, "Last change (UTC)"),
        ],
    },
    ModelSpec {
        model: "metric",
        list_tool: "list_metrics",
        trash: false,
        default_order: ("metric_name", "asc"),
        columns: &[
            col("id", Number, true, false, true, "Numeric id"),
            col("uuid", Text, false, false, false, "Stable uuid"),
            col("metric_name", Text, true, true, true, "Name"),
            col("verbose_name", Text, true, true, true, "Display name"),
            col(
                "expression",
                Text,
                false,
                true,
                true,
                "Aggregate SQL expression",
            ),
            col("description", Text, false, true, false, "Description"),
            col("d3format", Text, false, false, false, "Number format"),
            col("dataset_id", Number, true, false, true, "Dataset id"),
            col(
                "dataset_name",
                DerivedText,
                false,
                false,
                true,
                "Dataset (table) name",
            ),
            col(
                "created_by",
                DerivedText,
                false,
                false,
                false,
                "Creator's username",
            ),
            col(
                "changed_by",
                DerivedText,
                false,
                false,
                false,
                "Last editor's username",
            ),
            col(
                "created_on",
                Time,
                true,
                false,
                false,
                "Creation time (UTC)",
            ),
            col("changed_on", Time, true, false, false, "Last change (UTC)"),
        ],
    },
];

/// One model's schema as `get_schema` returns it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ModelSchema {
    pub model: String,
    pub list_tool: String,
    pub select_columns: Vec<ColumnInfo>,
    pub default_select: Vec<String>,
    pub filter_columns: Vec<FilterInfo>,
    pub sortable_columns: Vec<String>,
    pub searchable_columns: Vec<String>,
    pub default_order_column: String,
    pub default_order_direction: String,
    pub default_page_size: u32,
    pub max_page_size: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ColumnInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub description: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FilterInfo {
    pub column: String,
    pub operators: Vec<String>,
}

impl ModelSpec {
    pub fn find(model: &str) -> Option<&'static ModelSpec> {
        MODELS.iter().find(|m| m.model == model)
    }

    pub fn names() -> Vec<&'static str> {
        MODELS.iter().map(|m| m.model).collect()
    }

    pub fn schema(&self) -> ModelSchema {
        let s = |x: &str| x.to_string();
        ModelSchema {
            model: s(self.model),
            list_tool: s(self.list_tool),
            select_columns: self
                .columns
                .iter()
                .map(|c| ColumnInfo {
                    name: s(c.name),
                    ty: s(c.ty.as_str()),
                    description: s(c.description),
                })
                .collect(),
            default_select: self
                .columns
                .iter()
                .filter(|c| c.default)
                .map(|c| s(c.name))
                .collect(),
            filter_columns: self
                .columns
                .iter()
                .filter(|c| !c.ty.operators().is_empty())
                .map(|c| FilterInfo {
                    column: s(c.name),
                    operators: c.ty.operators().iter().map(|o| s(o)).collect(),
                })
                .collect(),
            sortable_columns: self
                .columns
                .iter()
                .filter(|c| c.sortable)
                .map(|c| s(c.name))
                .collect(),
            searchable_columns: self
                .columns
                .iter()
                .filter(|c| c.searchable)
                .map(|c| s(c.name))
                .collect(),
            default_order_column: s(self.default_order.0),
            default_order_direction: s(self.default_order.1),
            default_page_size: DEFAULT_PAGE_SIZE,
            max_page_size: MAX_PAGE_SIZE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_is_consistent() {
        for m in MODELS {
            let names: Vec<_> = m.columns.iter().map(|c| c.name).collect();
            assert!(
                names.contains(&m.default_order.0),
                "{} orders by an unknown column",
                m.model
            );
            assert!(
                m.columns.iter().any(|c| c.default),
                "{} has no default columns",
                m.model
            );
            assert!(
                m.columns.iter().any(|c| c.searchable),
                "{} has nothing to search",
                m.model
            );
            let mut sorted = names.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), names.len(), "{} repeats a column", m.model);
        }
    }
}

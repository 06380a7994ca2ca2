//! The list semantics every list tool shares: arguments, their validation against the
//! model's [`ModelSpec`], the typed filter conditions handed to the query code, the
//! response envelope, and the byte budget.
//!
//! Nothing here builds SQL: conditions are typed values that [`super::catalog`] applies
//! through diesel's query builder, so no user text ever becomes SQL text.

use chrono::NaiveDateTime;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::spec::{ColType, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ModelSpec};
use crate::error::ToolError;

/// One filter as callers send it: `{"col": "slice_name", "opr": "ilike", "value": "%rev%"}`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub col: String,
    /// eq ne sw ew in nin gt gte lt lte like ilike is_null is_not_null ct
    pub opr: String,
    // A list for in/nin (an error says so; the listing does not).
    #[serde(default)]
    pub value: Option<Value>,
}

/// Arguments shared by every list tool (the tool's description and `get_schema` say the
/// rest once: which columns each model filters with which operators, sorts, searches and
/// selects; pages from 1; page_size at most 100, default 10).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    #[serde(default)]
    pub filters: Vec<Filter>,
    pub search: Option<String>,
    #[serde(default)]
    pub select_columns: Vec<String>,
    pub order_column: Option<String>,
    #[schemars(extend("enum" = ["asc", "desc"]))]
    pub order_direction: Option<String>,
    pub page: Option<i64>,
    /// 1..=100, default 10.
    pub page_size: Option<i64>,
    #[serde(default)]
    pub created_by_me: bool,
    #[serde(default)]
    pub changed_by_me: bool,
    /// Trashed objects; default exclude.
    #[schemars(extend("enum" = ["exclude", "include", "only"]))]
    pub deleted_state: Option<String>,
}

/// A literal of the column's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Text(String),
    Int(i32),
    Bool(bool),
    Time(NaiveDateTime),
}

/// A validated condition on one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Eq(Lit),
    Ne(Lit),
    Gt(Lit),
    Gte(Lit),
    Lt(Lit),
    Lte(Lit),
    In(Vec<Lit>),
    Nin(Vec<Lit>),
    /// A LIKE pattern with `\` as escape; case-sensitive.
    Like(String),
    /// A LIKE pattern compared lower-cased on both sides.
    ILike(String),
    IsNull,
    IsNotNull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedState {
    Exclude,
    Include,
    Only,
}

/// A validated list request, ready for the query code.
#[derive(Debug, Clone)]
pub struct ListPlan {
    pub conds: Vec<(&'static str, Cond)>,
    /// Lower-cased LIKE pattern (`%term%`, escaped) over searchable columns.
    pub search: Option<String>,
    pub order_column: &'static str,
    pub descending: bool,
    pub page: i64,
    pub page_size: i64,
    pub created_by: Option<i32>,
    pub changed_by: Option<i32>,
    pub deleted: DeletedState,
    pub columns: Vec<&'static str>,
    pub filters_applied: Vec<Filter>,
    pub columns_requested: Vec<String>,
}

impl ListPlan {
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.page_size
    }
}

/// Escape LIKE wildcards so user text matches literally.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

fn lit(spec_col: &str, ty: ColType, v: &Value) -> Result<Lit, ToolError> {
    let bad = |want: &str| {
        ToolError::invalid(format!(
            "filters: column '{spec_col}' needs {want}, got {v}."
        ))
        .with_details(serde_json::json!({"field": "filters", "column": spec_col, "expected": want}))
    };
    match ty {
        ColType::Text => match v {
            Value::String(s) => Ok(Lit::Text(s.clone())),
            Value::Number(n) => Ok(Lit::Text(n.to_string())),
            _ => Err(bad("a string")),
        },
        ColType::Number => {
            let n = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            n.and_then(|n| i32::try_from(n).ok())
                .map(Lit::Int)
                .ok_or_else(|| bad("an integer"))
        }
        ColType::Bool => match v {
            Value::Bool(b) => Ok(Lit::Bool(*b)),
            Value::String(s) if s == "true" || s == "false" => Ok(Lit::Bool(s == "true")),
            _ => Err(bad("true or false")),
        },
        ColType::Time => {
            let s = v.as_str().ok_or_else(|| bad("an ISO-8601 date or time"))?;
            parse_time(s).map(Lit::Time).ok_or_else(|| {
                bad("an ISO-8601 date or time such as 2025-01-31 or 2025-01-31T12:00:00Z")
            })
        }
        ColType::Json | ColType::DerivedText | ColType::DerivedNumber => {
            Err(bad("nothing: it cannot be filtered"))
        }
    }
}

/// Accept `2025-01-31`, `2025-01-31T12:00:00`, with optional fraction and zone.
pub fn parse_time(s: &str) -> Option<NaiveDateTime> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_utc());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

impl ListArgs {
    /// Validate against `spec`; every error names the field and the allowed values.
    pub fn plan(&self, spec: &'static ModelSpec, user_id: i32) -> Result<ListPlan, ToolError> {
        let filterable: Vec<&str> = spec
            .columns
            .iter()
            .filter(|c| !c.ty.operators().is_empty())
            .map(|c| c.name)
            .collect();
        let mut conds = Vec::new();
        for f in &self.filters {
            let Some(col) = spec
                .columns
                .iter()
                .find(|c| c.name == f.col && !c.ty.operators().is_empty())
            else {
                return Err(ToolError::invalid_field(
                    "filters.col",
                    format!(
                        "'{}' is not a filterable column of {}s; allowed: {}.",
                        f.col,
                        spec.model,
                        filterable.join(", ")
                    ),
                    &filterable,
                    Some(&f.col),
                ));
            };
            let ops = col.ty.operators();
            if !ops.contains(&f.opr.as_str()) {
                return Err(ToolError::invalid_field(
                    "filters.opr",
                    format!(
                        "'{}' is not an operator for column '{}'; allowed: {}.",
                        f.opr,
                        col.name,
                        ops.join(", ")
                    ),
                    ops,
                    Some(&f.opr),
                ));
            }
            let value = |f: &Filter| {
                f.value.clone().filter(|v| !v.is_null()).ok_or_else(|| {
                    ToolError::invalid(format!(
                        "filters: operator '{}' on '{}' needs a value.",
                        f.opr, f.col
                    ))
                    .with_details(serde_json::json!({"field": "filters.value", "column": f.col}))
                })
            };
            let list = |f: &Filter| -> Result<Vec<Lit>, ToolError> {
                match value(f)? {
                    Value::Array(items) if !items.is_empty() => {
                        items.iter().map(|v| lit(col.name, col.ty, v)).collect()
                    }
                    other => Err(ToolError::invalid(format!(
                        "filters: operator '{}' on '{}' needs a non-empty list, got {other}.",
                        f.opr, f.col
                    ))
                    .with_details(serde_json::json!({"field": "filters.value", "column": f.col}))),
                }
            };
            let text = |f: &Filter| -> Result<String, ToolError> {
                match lit(col.name, ColType::Text, &value(f)?)? {
                    Lit::Text(s) => Ok(s),
                    _ => Err(ToolError::invalid("filters: expected text")),
                }
            };
            let cond = match f.opr.as_str() {
                "eq" => Cond::Eq(lit(col.name, col.ty, &value(f)?)?),
                "ne" => Cond::Ne(lit(col.name, col.ty, &value(f)?)?),
                "gt" => Cond::Gt(lit(col.name, col.ty, &value(f)?)?),
                "gte" => Cond::Gte(lit(col.name, col.ty, &value(f)?)?),
                "lt" => Cond::Lt(lit(col.name, col.ty, &value(f)?)?),
                "lte" => Cond::Lte(lit(col.name, col.ty, &value(f)?)?),
                "in" => Cond::In(list(f)?),
                "nin" => Cond::Nin(list(f)?),
                // like/ilike take the caller's pattern (% and _ are wildcards);
                // sw/ew/ct match literal text.
                "like" => Cond::Like(text(f)?),
                "ilike" => Cond::ILike(text(f)?.to_lowercase()),
                "sw" => Cond::Like(format!("{}%", escape_like(&text(f)?))),
                "ew" => Cond::Like(format!("%{}", escape_like(&text(f)?))),
                "ct" => Cond::ILike(format!("%{}%", escape_like(&text(f)?.to_lowercase()))),
                "is_null" => Cond::IsNull,
                "is_not_null" => Cond::IsNotNull,
                other => return Err(ToolError::invalid(format!("unknown operator {other}"))),
            };
            conds.push((col.name, cond));
        }

        let sortable: Vec<&str> = spec
            .columns
            .iter()
            .filter(|c| c.sortable)
            .map(|c| c.name)
            .collect();
        let order_column = match &self.order_column {
            None => spec.default_order.0,
            Some(c) => spec
                .columns
                .iter()
                .find(|x| x.sortable && x.name == c)
                .map(|x| x.name)
                .ok_or_else(|| {
                    ToolError::invalid_field(
                        "order_column",
                        format!("'{c}' is not sortable; allowed: {}.", sortable.join(", ")),
                        &sortable,
                        Some(c),
                    )
                })?,
        };
        let descending = match self.order_direction.as_deref() {
            None => self.order_column.is_none() && spec.default_order.1 == "desc",
            Some(d) if d.eq_ignore_ascii_case("desc") => true,
            Some(d) if d.eq_ignore_ascii_case("asc") => false,
            Some(d) => {
                return Err(ToolError::invalid_field(
                    "order_direction",
                    format!("'{d}' is not asc or desc."),
                    &["asc", "desc"],
                    Some(d),
                ));
            }
        };
        let page = self.page.unwrap_or(1);
        if page < 1 {
            return Err(ToolError::invalid_field(
                "page",
                format!("{page} is not a page number: pages start at 1."),
                &[],
                None,
            ));
        }
        let page_size = self.page_size.unwrap_or(i64::from(DEFAULT_PAGE_SIZE));
        if !(1..=i64::from(MAX_PAGE_SIZE)).contains(&page_size) {
            return Err(ToolError::invalid_field(
                "page_size",
                format!(
                    "{page_size} is out of range: allowed 1..={MAX_PAGE_SIZE}. Use page to get more."
                ),
                &[],
                None,
            ));
        }
        let all: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
        let columns: Vec<&'static str> = if self.select_columns.is_empty() {
            spec.columns
                .iter()
                .filter(|c| c.default)
                .map(|c| c.name)
                .collect()
        } else {
            let mut out = Vec::new();
            for c in &self.select_columns {
                let found = spec.columns.iter().find(|x| x.name == c).ok_or_else(|| {
                    ToolError::invalid_field(
                        "select_columns",
                        format!(
                            "'{c}' is not a column of {}s; allowed: {}.",
                            spec.model,
                            all.join(", ")
                        ),
                        &all,
                        Some(c),
                    )
                })?;
                if !out.contains(&found.name) {
                    out.push(found.name);
                }
            }
            out
        };
        let deleted = match self.deleted_state.as_deref() {
            None | Some("exclude") => DeletedState::Exclude,
            Some(_) if !spec.trash => {
                return Err(ToolError::invalid(format!(
                    "deleted_state: {} has no trash (deletes are final); leave deleted_state out.",
                    spec.list_tool
                ))
                .with_details(serde_json::json!({"field": "deleted_state"})));
            }
            Some("include") => DeletedState::Include,
            Some("only") => DeletedState::Only,
            Some(other) => {
                let allowed = ["exclude", "include", "only"];
                return Err(ToolError::invalid_field(
                    "deleted_state",
                    format!("'{other}' is not allowed."),
                    &allowed,
                    Some(other),
                ));
            }
        };
        let search = self
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| format!("%{}%", escape_like(&s.to_lowercase())));
        Ok(ListPlan {
            conds,
            search,
            order_column,
            descending,
            page,
            page_size,
            created_by: self.created_by_me.then_some(user_id),
            changed_by: self.changed_by_me.then_some(user_id),
            deleted,
            columns,
            filters_applied: self.filters.clone(),
            columns_requested: self.select_columns.clone(),
        })
    }
}

/// Keep as many whole items as fit in `budget` bytes after `reserved` bytes of envelope
/// (always the first item), and say whether any were left out.
fn fit_items<T: Serialize>(items: Vec<T>, reserved: usize, budget: usize) -> (Vec<T>, bool) {
    let offered = items.len();
    let mut used = reserved;
    let mut kept = Vec::with_capacity(offered);
    for it in items {
        let size = serde_json::to_string(&it).map_or(usize::MAX / 2, |s| s.len() + 1);
        if used + size > budget && !kept.is_empty() {
            break;
        }
        used += size;
        kept.push(it);
    }
    let truncated = kept.len() < offered;
    (kept, truncated)
}

/// Room kept for the envelope around the items, in bytes.
const ENVELOPE_BYTES: usize = 600;

/// One page of a list: the envelope every list tool answers with (`list_charts`,
/// `list_users`, `list_audit_log`, …). `S` says how the page was selected and is written
/// into the envelope beside the paging fields: the model lists' columns and filters
/// ([`Selection`]), or the filter arguments of a list with named ones ([`NamedFilters`]).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Page<T, S = Selection> {
    pub items: Vec<T>,
    pub count: usize,
    pub total_count: i64,
    pub page: i64,
    pub page_size: i64,
    pub total_pages: i64,
    pub has_next: bool,
    pub has_previous: bool,
    #[serde(flatten)]
    pub selection: S,
    /// True when the byte budget cut the page short; see `truncation_hint`.
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncation_hint: Option<String>,
}

/// How a page of a model list (charts, dashboards, datasets, …) was selected.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Selection {
    pub columns_requested: Vec<String>,
    pub columns_loaded: Vec<String>,
    pub columns_available: Vec<String>,
    pub filters_applied: Vec<Filter>,
}

/// The filter arguments a list with named filters (users, roles, the audit log) applied.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct NamedFilters {
    /// The filters used, by argument name (times as UTC).
    pub filters_applied: serde_json::Map<String, Value>,
}

impl<T: Serialize> Page<T> {
    /// A page of a model list, keeping as many whole items as fit in `budget` bytes.
    pub fn of_plan(
        spec: &ModelSpec,
        plan: &ListPlan,
        items: Vec<T>,
        total_count: i64,
        budget: usize,
    ) -> Self {
        let selection = Selection {
            columns_requested: plan.columns_requested.clone(),
            columns_loaded: plan.columns.iter().map(|c| c.to_string()).collect(),
            columns_available: spec.columns.iter().map(|c| c.name.to_string()).collect(),
            filters_applied: plan.filters_applied.clone(),
        };
        let reserved = ENVELOPE_BYTES + plan.filters_applied.len() * 80;
        Page::build(
            items,
            (plan.page, plan.page_size),
            total_count,
            selection,
            (reserved, budget),
            " or fewer select_columns",
        )
    }
}

impl<T: Serialize> Page<T, NamedFilters> {
    /// A page of a list with named filters, keeping as many whole items as fit in `budget`
    /// bytes.
    pub fn named(
        items: Vec<T>,
        (page, page_size): (i64, i64),
        total_count: i64,
        filters_applied: serde_json::Map<String, Value>,
        budget: usize,
    ) -> Self {
        Page::build(
            items,
            (page, page_size),
            total_count,
            NamedFilters { filters_applied },
            (ENVELOPE_BYTES, budget),
            "",
        )
    }
}

impl<T: Serialize, S> Page<T, S> {
    /// The envelope: items cut to what fits in `budget` bytes after `reserved`;
    /// `other_fix` ends the hint's advice after "ask for a smaller page_size".
    fn build(
        items: Vec<T>,
        (page, page_size): (i64, i64),
        total_count: i64,
        selection: S,
        (reserved, budget): (usize, usize),
        other_fix: &str,
    ) -> Self {
        let offered = items.len();
        let (items, truncated) = fit_items(items, reserved, budget);
        let total_pages = if total_count == 0 {
            0
        } else {
            (total_count + page_size - 1) / page_size
        };
        Self {
            count: items.len(),
            truncation_hint: truncated.then(|| {
                format!(
                    "Only {} of {offered} items on this page fit in the {budget} byte response budget: ask for a smaller page_size{other_fix}.",
                    items.len()
                )
            }),
            items,
            total_count,
            page,
            page_size,
            total_pages,
            has_next: page < total_pages,
            has_previous: page > 1,
            selection,
            truncated,
        }
    }
}

/// Keep as many whole items as fit in `budget` bytes after the envelope (always the first
/// item), and say whether any were left out: for answers that list without pages.
pub fn fit_in_envelope<T: Serialize>(items: Vec<T>, budget: usize) -> (Vec<T>, bool) {
    fit_items(items, ENVELOPE_BYTES, budget)
}

/// An object identifier: a numeric id, a uuid, or (dashboards) a slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ident {
    Id(i32),
    Uuid(String),
    Slug(String),
}

impl Ident {
    pub fn parse(v: &Value, allow_slug: bool) -> Result<Self, ToolError> {
        let bad = || {
            ToolError::invalid(format!(
                "identifier: {v} is not a numeric id{}{}.",
                if allow_slug { ", a uuid" } else { " or a uuid" },
                if allow_slug { " or a slug" } else { "" }
            ))
            .with_details(serde_json::json!({"field": "identifier"}))
        };
        match v {
            Value::Number(n) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Ident::Id)
                .ok_or_else(bad),
            Value::String(s) => {
                let s = s.trim();
                if let Ok(n) = s.parse::<i32>() {
                    Ok(Ident::Id(n))
                } else if uuid::Uuid::parse_str(s).is_ok() {
                    Ok(Ident::Uuid(s.to_lowercase()))
                } else if allow_slug && !s.is_empty() && s.len() <= 255 {
                    Ok(Ident::Slug(s.to_string()))
                } else {
                    Err(bad())
                }
            }
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for Ident {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ident::Id(i) => write!(f, "{i}"),
            Ident::Uuid(u) | Ident::Slug(u) => f.write_str(u),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chart_spec() -> &'static ModelSpec {
        ModelSpec::find("chart").expect("chart spec")
    }

    fn args(v: Value) -> ListArgs {
        serde_json::from_value(v).expect("args")
    }

    #[test]
    fn every_operator_becomes_a_typed_condition() {
        let p = args(json!({"filters": [
            {"col": "slice_name", "opr": "sw", "value": "Rev_%"},
            {"col": "slice_name", "opr": "ct", "value": "ReV"},
            {"col": "id", "opr": "in", "value": [1, "2"]},
            {"col": "changed_on", "opr": "gte", "value": "2025-01-02"},
            {"col": "viz_type", "opr": "is_null"},
        ]}))
        .plan(chart_spec(), 1)
        .expect("plan");
        assert_eq!(p.conds[0].1, Cond::Like("Rev\\_\\%%".into()));
        assert_eq!(p.conds[1].1, Cond::ILike("%rev%".into()));
        assert_eq!(p.conds[2].1, Cond::In(vec![Lit::Int(1), Lit::Int(2)]));
        assert!(matches!(p.conds[3].1, Cond::Gte(Lit::Time(_))));
        assert_eq!(p.conds[4].1, Cond::IsNull);
    }

    #[test]
    fn deleted_state_is_refused_where_the_model_has_no_trash() {
        let query = super::super::spec::ModelSpec::find("query").expect("query model");
        let e = args(json!({"deleted_state": "only"}))
            .plan(query, 1)
            .expect_err("no trash");
        assert!(
            e.message.contains("list_queries has no trash"),
            "{}",
            e.message
        );
        assert_eq!(e.details["field"], "deleted_state");
        args(json!({"deleted_state": "exclude"}))
            .plan(query, 1)
            .expect("exclude is what a model without a trash does anyway");
        assert_eq!(
            args(json!({"deleted_state": "only"}))
                .plan(chart_spec(), 1)
                .expect("charts have a trash")
                .deleted,
            DeletedState::Only
        );
    }

    #[test]
    fn unknown_columns_and_operators_suggest_the_closest() {
        let e = args(json!({"filters": [{"col": "slice_nam", "opr": "eq", "value": "x"}]}))
            .plan(chart_spec(), 1)
            .expect_err("unknown column");
        assert_eq!(e.details["suggestion"], "slice_name");
        let e = args(json!({"filters": [{"col": "id", "opr": "ilike", "value": "x"}]}))
            .plan(chart_spec(), 1)
            .expect_err("wrong operator");
        assert!(e.message.contains("allowed: eq, ne, in"), "{}", e.message);
        let e = args(json!({"filters": [{"col": "id", "opr": "eq", "value": "seven"}]}))
            .plan(chart_spec(), 1)
            .expect_err("wrong type");
        assert!(e.message.contains("needs an integer"), "{}", e.message);
    }

    #[test]
    fn page_bounds() {
        assert!(args(json!({"page_size": 0})).plan(chart_spec(), 1).is_err());
        assert!(
            args(json!({"page_size": 101}))
                .plan(chart_spec(), 1)
                .is_err()
        );
        assert!(args(json!({"page": 0})).plan(chart_spec(), 1).is_err());
        let p = args(json!({"page": 3, "page_size": 100}))
            .plan(chart_spec(), 1)
            .expect("ok");
        assert_eq!(p.offset(), 200);
    }

    #[test]
    fn identifiers() {
        assert_eq!(Ident::parse(&json!(5), true).expect("id"), Ident::Id(5));
        assert_eq!(Ident::parse(&json!("5"), true).expect("id"), Ident::Id(5));
        assert!(matches!(
            Ident::parse(&json!("retail-overview"), true),
            Ok(Ident::Slug(_))
        ));
        assert!(Ident::parse(&json!("retail-overview"), false).is_err());
        assert!(matches!(
            Ident::parse(&json!("6F9619FF-8B86-D011-B42D-00C04FC964FF"), false),
            Ok(Ident::Uuid(_))
        ));
        assert!(Ident::parse(&json!(1.5), false).is_err());
    }

    #[test]
    fn like_escaping() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
    }

    #[test]
    fn pages_keep_whole_items_within_the_budget() {
        let items: Vec<String> = (0..100).map(|i| format!("{i:0>100}")).collect();
        let (kept, cut) = fit_in_envelope(items, 2_000);
        assert!(cut && !kept.is_empty() && kept.len() < 100);
        let (kept, cut) = fit_in_envelope(vec!["x".repeat(10_000)], 1_000);
        assert!(!cut && kept.len() == 1, "the first item is always kept");
    }

    /// Both kinds of page carry the paging fields; model lists add their columns and
    /// filters, lists with named filters their filters by name.
    #[test]
    fn one_envelope_for_both_kinds_of_list() {
        const PAGING: [&str; 9] = [
            "items",
            "count",
            "total_count",
            "page",
            "page_size",
            "total_pages",
            "has_next",
            "has_previous",
            "truncated",
        ];
        let plan = ListArgs::default().plan(chart_spec(), 1).expect("plan");
        let model = serde_json::to_value(Page::of_plan(
            chart_spec(),
            &plan,
            vec![json!({"id": 1})],
            11,
            10_000,
        ))
        .expect("json");
        let mut named_filters = serde_json::Map::new();
        named_filters.insert("search".into(), json!("ann"));
        let named = serde_json::to_value(Page::named(
            vec![json!({"id": 1})],
            (2, 10),
            11,
            named_filters,
            10_000,
        ))
        .expect("json");
        for v in [&model, &named] {
            for key in PAGING {
                assert!(v.get(key).is_some(), "{key} missing: {v}");
            }
            assert!(v.get("truncation_hint").is_none());
            assert_eq!(v["total_pages"], 2);
        }
        for key in ["columns_requested", "columns_loaded", "columns_available"] {
            assert!(model[key].is_array(), "{key}: {model}");
            assert!(named.get(key).is_none(), "{key}: {named}");
        }
        assert_eq!(model["filters_applied"], json!([]));
        assert_eq!(named["filters_applied"], json!({"search": "ann"}));
        assert_eq!(
            (named["has_next"].as_bool(), named["has_previous"].as_bool()),
            (Some(false), Some(true))
        );
        let empty = serde_json::to_value(Page::named(
            Vec::<Value>::new(),
            (1, 10),
            0,
            Default::default(),
            100,
        ))
        .expect("json");
        assert_eq!(
            (empty["total_pages"].as_i64(), empty["has_next"].as_bool()),
            (Some(0), Some(false))
        );
    }
}

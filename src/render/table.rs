//! Tables: turning cells into display text (shared by the SVG table, the text table, the
//! terminal output and the Vega-Lite table), and the aligned text table itself.
//!
//! Cells are raw JSON values. Numbers are formatted (the chart's `y_format` when given,
//! otherwise per column: whole numbers with separators, others with two decimals);
//! strings are shown as they are, since they may be already formatted. A column is
//! right-aligned when every non-empty cell is a number or reads as one ("$1,200", "12%").

use serde_json::Value;

use super::format::{NumberFormat, parse_optional};
use super::model::{ChartData, RenderSpec, TableData, XAxis};
use super::scale::time_category_labels;

/// How a missing value is shown.
pub const NULL_TEXT: &str = "—";

/// Limits for the text table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableLimits {
    /// Rows shown before a "… k more rows" line.
    pub max_rows: usize,
    /// Longest cell, in characters, before it is cut with "…".
    pub max_cell_chars: usize,
    /// Widest line, in characters; wide columns shrink, then trailing columns are dropped.
    pub max_width: usize,
}

impl Default for TableLimits {
    fn default() -> Self {
        Self {
            max_rows: 50,
            max_cell_chars: 40,
            max_width: 160,
        }
    }
}

/// Cells as display text, with per-column alignment.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Right-align this column (numbers).
    pub numeric: Vec<bool>,
    /// Leading columns that label rows (pivots).
    pub index_columns: usize,
}

/// The table a chart shows: `data.table` if present, else the x values and one column
/// per series (pivots use the x values as the row index).
pub fn table_data(spec: &RenderSpec, data: &ChartData) -> TableData {
    if let Some(t) = &data.table {
        return t.clone();
    }
    if data.series.is_empty()
        && let Some(b) = &data.big_number
    {
        // A big number or a gauge: its figures in one row.
        let mut columns = vec!["value".to_string()];
        let mut row = vec![b.value.map_or(Value::Null, number)];
        if spec.kind == crate::render::ChartKind::Gauge
            && let Some((_, lo, hi)) = crate::render::derive::gauge_of(spec, data)
        {
            columns.extend(["min".to_string(), "max".to_string()]);
            row.extend([number(lo), number(hi)]);
        } else if let Some(p) = b.previous {
            columns.push(
                b.comparison_label
                    .clone()
                    .unwrap_or_else(|| "previous".to_string()),
            );
            row.push(number(p));
        }
        return TableData {
            columns,
            rows: vec![row],
            index_columns: 0,
        };
    }
    let x_name = spec.x_title.clone().unwrap_or_else(|| "x".to_string());
    let mut columns = vec![x_name];
    columns.extend(data.series.iter().map(|s| s.name.clone()));
    let labels: Vec<Value> = match &data.x {
        XAxis::Categories(c) => c.iter().map(|s| Value::String(s.clone())).collect(),
        XAxis::Time(t) => time_category_labels(t)
            .into_iter()
            .map(Value::String)
            .collect(),
        XAxis::Numbers(n) => n.iter().map(|v| number(*v)).collect(),
    };
    let rows = labels
        .into_iter()
        .enumerate()
        .map(|(i, label)| {
            let mut row = vec![label];
            row.extend(
                data.series
                    .iter()
                    .map(|s| s.get(i).map_or(Value::Null, number)),
            );
            row
        })
        .collect();
    TableData {
        columns,
        rows,
        index_columns: 1,
    }
}

fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// True for strings that are numbers in disguise: "1234.50", "$1,200", "-12%", "(300)".
fn numeric_like(s: &str) -> bool {
    let t: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | '$' | '€' | '£' | '¥' | '%' | '(' | ')' | ' ' | '+'))
        .collect();
    let t = t.trim_end_matches(['K', 'M', 'B', 'k']);
    !t.is_empty() && t.parse::<f64>().is_ok()
}

/// Headers that name identifiers or years, whose numbers must not get separators
/// ("2,024" is not a year).
fn plain_integer_column(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("year") || n == "id" || n.ends_with("_id") || n.ends_with(" id")
}

/// Formats every cell. A malformed `y_format` falls back to automatic formats (callers
/// that must report it check the format first).
pub fn prepare(spec: &RenderSpec, data: &ChartData) -> Prepared {
    let table = table_data(spec, data);
    let user = parse_optional(spec.y_format.as_deref()).ok().flatten();
    prepare_table(&table, user.as_ref())
}

/// Formats the cells of `table` with an optional user format for value columns.
pub fn prepare_table(table: &TableData, user: Option<&NumberFormat>) -> Prepared {
    let width = table
        .columns
        .len()
        .max(table.rows.iter().map(Vec::len).max().unwrap_or(0));
    let mut columns = table.columns.clone();
    columns.resize(width, String::new());
    let index_columns = table.index_columns.min(width);
    let mut formats = Vec::with_capacity(width);
    let mut numeric = Vec::with_capacity(width);
    for (c, name) in columns.iter().enumerate() {
        let cells = table.rows.iter().filter_map(|r| r.get(c));
        let mut any = false;
        let mut all_numeric = true;
        let mut all_integers = true;
        for cell in cells {
            match cell {
                Value::Null => {}
                Value::Number(n) => {
                    any = true;
                    if n.as_f64().is_some_and(|v| v.fract() != 0.0) {
                        all_integers = false;
                    }
                }
                Value::String(s) => {
                    any = true;
                    all_numeric &= numeric_like(s);
                }
                _ => {
                    any = true;
                    all_numeric = false;
                }
            }
        }
        numeric.push(any && all_numeric);
        let format = match user {
            Some(u) if c >= index_columns => u.clone(),
            _ if plain_integer_column(name) && all_integers => {
                NumberFormat::parse("d").unwrap_or_else(|_| NumberFormat::fixed(0))
            }
            _ if all_integers => NumberFormat::fixed(0),
            _ => NumberFormat::fixed(2),
        };
        formats.push(format);
    }
    let rows = table
        .rows
        .iter()
        .map(|r| {
            (0..width)
                .map(|c| match r.get(c) {
                    None | Some(Value::Null) => NULL_TEXT.to_string(),
                    Some(Value::Number(n)) => match n.as_f64() {
                        Some(v) => formats[c].format(v),
                        None => n.to_string(),
                    },
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Bool(b)) => b.to_string(),
                    Some(other) => other.to_string(),
                })
                .collect()
        })
        .collect();
    Prepared {
        columns,
        rows,
        numeric,
        index_columns,
    }
}

/// Row or column labels that name totals ("Total", "Grand total", "Total 2024"), which
/// tables emphasise and heat scales leave out.
pub fn is_total_label(s: &str) -> bool {
    let l = s.trim().to_lowercase();
    l == "total" || l == "grand total" || l.starts_with("total ")
}

/// Cuts `s` to `max` characters, ending with "…" when something was cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    // Line breaks would break the grid; a table cell is one line.
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().count() <= max {
        return s;
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn pad(s: &str, width: usize, right: bool) -> String {
    let len = s.chars().count();
    let fill = " ".repeat(width.saturating_sub(len));
    if right {
        format!("{fill}{s}")
    } else {
        format!("{s}{fill}")
    }
}

/// The aligned text table: title, header, separator, rows, and notes for what was left out.
pub fn render_text(spec: &RenderSpec, data: &ChartData, limits: &TableLimits) -> String {
    let prepared = prepare(spec, data);
    text_table(&spec.title, &prepared, limits)
}

/// Lays out prepared cells as text within `limits`.
pub fn text_table(title: &str, p: &Prepared, limits: &TableLimits) -> String {
    let max_cell = limits.max_cell_chars.max(3);
    let shown = p.rows.len().min(limits.max_rows);
    let mut widths: Vec<usize> = p
        .columns
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let cells = p.rows[..shown].iter().map(|r| r[c].chars().count());
            cells
                .chain(std::iter::once(name.chars().count()))
                .max()
                .unwrap_or(1)
                .clamp(1, max_cell)
        })
        .collect();
    // Separators take 3 characters (" │ ") between columns.
    let total = |w: &[usize]| w.iter().sum::<usize>() + 3 * w.len().saturating_sub(1);
    let max_width = limits.max_width.max(10);
    while total(&widths) > max_width {
        let Some((i, w)) = widths.iter().enumerate().max_by_key(|(_, w)| **w) else {
            break;
        };
        if *w <= 6 {
            break;
        }
        widths[i] -= 1;
    }
    let mut dropped = 0;
    while total(&widths) > max_width && widths.len() > 1 {
        widths.pop();
        dropped += 1;
    }
    let mut out = String::new();
    if !title.trim().is_empty() {
        out.push_str(&truncate_chars(title.trim(), max_width));
        out.push('\n');
    }
    if p.columns.is_empty() {
        out.push_str("No data\n");
        return out;
    }
    let line = |cells: &mut dyn Iterator<Item = String>| -> String {
        cells.collect::<Vec<_>>().join(" │ ").trim_end().to_string()
    };
    let header = line(
        &mut widths
            .iter()
            .enumerate()
            .map(|(c, w)| pad(&truncate_chars(&p.columns[c], *w), *w, p.numeric[c])),
    );
    out.push_str(&header);
    out.push('\n');
    let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
    out.push_str(&rule.join("─┼─"));
    out.push('\n');
    if p.rows.is_empty() {
        out.push_str("(no rows)\n");
    }
    for row in &p.rows[..shown] {
        let text = line(
            &mut widths
                .iter()
                .enumerate()
                .map(|(c, w)| pad(&truncate_chars(&row[c], *w), *w, p.numeric[c])),
        );
        out.push_str(&text);
        out.push('\n');
    }
    let more = p.rows.len() - shown;
    if more > 0 {
        let s = if more == 1 { "" } else { "s" };
        out.push_str(&truncate_chars(&format!("… {more} more row{s}"), max_width));
        out.push('\n');
    }
    if dropped > 0 {
        let s = if dropped == 1 { "" } else { "s" };
        out.push_str(&truncate_chars(
            &format!("… {dropped} more column{s} not shown"),
            max_width,
        ));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::model::{ChartKind, Series};
    use serde_json::json;

    fn spec() -> RenderSpec {
        RenderSpec::new("Orders by region", ChartKind::Table)
    }

    fn data(rows: usize) -> ChartData {
        ChartData::table(TableData {
            columns: vec![
                "Region".into(),
                "Revenue".into(),
                "Year".into(),
                "Note".into(),
            ],
            rows: (0..rows)
                .map(|i| {
                    vec![
                        json!(format!("Region {i}")),
                        json!(1234.5 * (i + 1) as f64),
                        json!(2020 + i),
                        if i == 1 {
                            Value::Null
                        } else {
                            json!("a rather long note that will not fit in the cell")
                        },
                    ]
                })
                .collect(),
            index_columns: 0,
        })
    }

    #[test]
    fn numbers_are_right_aligned_and_formatted() {
        let text = render_text(&spec(), &data(3), &TableLimits::default());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Orders by region");
        assert!(lines[1].contains("  Revenue"), "{text}");
        assert!(lines[3].contains("1,234.50"), "{text}");
        assert!(lines[3].contains("2020"), "years keep no separator: {text}");
        assert!(lines[4].contains(NULL_TEXT), "{text}");
        // Right alignment: the revenue column ends at the same character in every row.
        let ends: Vec<usize> = lines[3..6]
            .iter()
            .map(|l| l.find(" │ 20").unwrap())
            .collect();
        assert!(ends.windows(2).all(|w| w[0] == w[1]), "{text}");
    }

    #[test]
    fn long_tables_are_cut_with_a_note() {
        let limits = TableLimits {
            max_rows: 5,
            max_cell_chars: 12,
            max_width: 60,
        };
        let text = text_table("", &prepare(&spec(), &data(12)), &limits);
        assert!(text.contains("… 7 more rows"), "{text}");
        assert!(text.contains("a rather lo…"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
    }

    #[test]
    fn narrow_limits_drop_columns() {
        let limits = TableLimits {
            max_rows: 5,
            max_cell_chars: 40,
            max_width: 20,
        };
        let text = text_table("", &prepare(&spec(), &data(2)), &limits);
        assert!(text.contains("more column"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 20), "{text}");
    }

    #[test]
    fn series_become_columns() {
        let mut s = RenderSpec::new("", ChartKind::Pivot);
        s.y_format = Some("$,.0f".into());
        let d = ChartData::series(
            XAxis::Categories(vec!["Q1".into(), "Q2".into()]),
            vec![
                Series::new("North", vec![Some(1200.0), None]),
                Series::new("South", vec![Some(5.0), Some(7.5)]),
            ],
        );
        let p = prepare(&s, &d);
        assert_eq!(p.columns, ["x", "North", "South"]);
        assert_eq!(p.rows[0], ["Q1", "$1,200", "$5"]);
        assert_eq!(p.rows[1][1], NULL_TEXT);
        assert_eq!(p.numeric, [false, true, true]);
    }

    #[test]
    fn numeric_strings_align_right() {
        assert!(numeric_like("$1,200.50"));
        assert!(numeric_like("-12%"));
        assert!(numeric_like("(300)"));
        assert!(!numeric_like("North"));
        assert!(!numeric_like(""));
    }
}

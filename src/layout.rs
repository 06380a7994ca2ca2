//! Dashboard layouts: a 12-column grid of rows of cells, optionally grouped in tabs.
//!
//! Stored as JSON in `dashboards.layout`:
//! `{"version": 1, "grid_columns": 12, "rows": [{"charts": [{"chart_id": 1, "width": 6,
//! "height": 50}, {"markdown": "# Notes", "width": 6}]}, {"charts": [{"header": "Detail",
//! "size": "large"}]}], "tabs": [{"title": "Sales", "rows": [...]}]}`. A cell is a chart, a
//! markdown text, a header or a divider (`{"divider": true}`); headers and dividers fill
//! their row alone, as in Superset. With tabs, cells live in the tabs' rows; without, in the
//! top-level rows. Pure functions, unit-tested.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::ToolError;

pub const GRID_COLUMNS: u32 = 12;
pub const DEFAULT_WIDTH: u32 = 6;
pub const DEFAULT_HEIGHT: u32 = 50;
/// Longest markdown text, in bytes.
pub const MAX_MARKDOWN: usize = 20_000;
/// Longest header text, in characters.
pub const MAX_HEADER: usize = 200;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    #[serde(default = "one")]
    pub version: u32,
    #[serde(default = "grid")]
    pub grid_columns: u32,
    #[serde(default)]
    pub rows: Vec<Row>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tabs: Vec<Tab>,
}

fn one() -> u32 {
    1
}
fn grid() -> u32 {
    GRID_COLUMNS
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tab {
    pub title: String,
    #[serde(default)]
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Row {
    #[serde(default)]
    pub charts: Vec<Cell>,
}

/// What a cell shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Chart(i32),
    /// Markdown text, drawn as formatted text.
    Markdown(String),
    /// A header line; fills its row.
    Header {
        text: String,
        size: HeaderSize,
    },
    /// A horizontal rule; fills its row.
    Divider,
}

/// A header's size (Superset's SMALL_HEADER, MEDIUM_HEADER, LARGE_HEADER).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HeaderSize {
    Small,
    #[default]
    Medium,
    Large,
}

/// One grid cell. JSON: `{"chart_id": 1}`, `{"markdown": "..."}`, `{"header": "...",
/// "size": "large"}` or `{"divider": true}`, with `width` and `height` (charts, markdown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "RawCell", into = "RawCell")]
pub struct Cell {
    pub content: Content,
    /// Grid columns, 1..=12 (12 for headers and dividers).
    pub width: u32,
    /// Height in grid units.
    pub height: u32,
}

/// A cell as JSON: exactly one of chart_id, markdown, header, divider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCell {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_id: Option<i32>,
    /// Or markdown text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
    /// Or a header (own row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<HeaderSize>,
    /// Or a rule (own row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divider: Option<bool>,
    // Grid columns, 1..=grid_columns (the listing says no more: grid_columns is beside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl TryFrom<RawCell> for Cell {
    type Error = String;

    fn try_from(r: RawCell) -> Result<Self, String> {
        let kinds = [
            r.chart_id.is_some(),
            r.markdown.is_some(),
            r.header.is_some(),
            r.divider.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(
                "a cell takes exactly one of chart_id, markdown, header or divider \
                 (e.g. {\"chart_id\": 1}, {\"markdown\": \"# Notes\"}, {\"header\": \"Sales\"}, {\"divider\": true})"
                    .into(),
            );
        }
        if r.size.is_some() && r.header.is_none() {
            return Err("size belongs to a header cell".into());
        }
        if r.divider == Some(false) {
            return Err("divider must be true; leave the cell out instead".into());
        }
        let width = r.width.unwrap_or(DEFAULT_WIDTH);
        let height = r.height.unwrap_or(DEFAULT_HEIGHT);
        Ok(match (r.chart_id, r.markdown, r.header) {
            (Some(id), _, _) => Cell::chart(id, width, height),
            (_, Some(text), _) => Cell {
                content: Content::Markdown(text),
                width,
                height,
            },
            (_, _, Some(text)) => Cell::header(text, r.size.unwrap_or_default()),
            _ => Cell::divider(),
        })
    }
}

impl From<Cell> for RawCell {
    fn from(c: Cell) -> Self {
        let sized = |mut r: RawCell| {
            r.width = Some(c.width);
            r.height = Some(c.height);
            r
        };
        match c.content {
            Content::Chart(id) => sized(RawCell {
                chart_id: Some(id),
                ..Default::default()
            }),
            Content::Markdown(ref text) => sized(RawCell {
                markdown: Some(text.clone()),
                ..Default::default()
            }),
            Content::Header { text, size } => RawCell {
                header: Some(text),
                size: Some(size),
                ..Default::default()
            },
            Content::Divider => RawCell {
                divider: Some(true),
                ..Default::default()
            },
        }
    }
}

/// Nominal heights (grid units) of the cells that have none of their own.
pub const HEADER_HEIGHT: u32 = 10;
pub const DIVIDER_HEIGHT: u32 = 4;

impl Cell {
    pub fn chart(chart_id: i32, width: u32, height: u32) -> Self {
        Self {
            content: Content::Chart(chart_id),
            width,
            height,
        }
    }

    pub fn markdown(text: impl Into<String>, width: u32, height: u32) -> Self {
        Self {
            content: Content::Markdown(text.into()),
            width,
            height,
        }
    }

    pub fn header(text: impl Into<String>, size: HeaderSize) -> Self {
        Self {
            content: Content::Header {
                text: text.into(),
                size,
            },
            width: GRID_COLUMNS,
            height: HEADER_HEIGHT,
        }
    }

    pub fn divider() -> Self {
        Self {
            content: Content::Divider,
            width: GRID_COLUMNS,
            height: DIVIDER_HEIGHT,
        }
    }

    pub fn chart_id(&self) -> Option<i32> {
        match self.content {
            Content::Chart(id) => Some(id),
            _ => None,
        }
    }

    /// Headers and dividers fill their row alone.
    pub fn is_full_row(&self) -> bool {
        matches!(self.content, Content::Header { .. } | Content::Divider)
    }

    /// The cell's kind in words, for messages.
    pub fn describe(&self) -> String {
        match &self.content {
            Content::Chart(id) => format!("chart {id}"),
            Content::Markdown(_) => "a markdown cell".into(),
            Content::Header { text, .. } => format!("header '{text}'"),
            Content::Divider => "a divider".into(),
        }
    }
}

/// Where a cell sits: tab (if any), row, column offset, size; with what it shows
/// (`chart_id`, `markdown`, `header` and `size`, or `divider`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Position {
    #[serde(flatten)]
    pub cell: RawCell,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tab: Option<String>,
    pub row: usize,
    pub x: u32,
    pub width: u32,
    pub height: u32,
}

impl Position {
    pub fn chart_id(&self) -> Option<i32> {
        self.cell.chart_id
    }
}

impl Layout {
    /// Parse stored or caller-given layout JSON.
    pub fn parse(json: &str) -> Result<Self, ToolError> {
        let trimmed = json.trim();
        if trimmed.is_empty() || trimmed == "{}" {
            return Ok(Self {
                version: 1,
                grid_columns: GRID_COLUMNS,
                ..Default::default()
            });
        }
        serde_json::from_str(trimmed).map_err(|e| {
            ToolError::invalid(format!("layout: {e}. Expected {{\"rows\": [{{\"charts\": [{{\"chart_id\": 1, \"width\": 6}}, {{\"markdown\": \"# Notes\", \"width\": 6}}]}}]}}."))
                .with_details(serde_json::json!({"field": "layout"}))
        })
    }

    /// Two charts per row, each half the grid.
    pub fn auto(chart_ids: &[i32]) -> Self {
        let rows = chart_ids
            .chunks(2)
            .map(|pair| Row {
                charts: pair
                    .iter()
                    .map(|id| Cell::chart(*id, GRID_COLUMNS / pair.len() as u32, DEFAULT_HEIGHT))
                    .collect(),
            })
            .collect();
        Self {
            version: 1,
            grid_columns: GRID_COLUMNS,
            rows,
            tabs: vec![],
        }
    }

    fn all_rows(&self) -> impl Iterator<Item = (Option<&str>, usize, &Row)> {
        self.rows
            .iter()
            .enumerate()
            .map(|(i, r)| (None, i, r))
            .chain(self.tabs.iter().flat_map(|t| {
                t.rows
                    .iter()
                    .enumerate()
                    .map(move |(i, r)| (Some(t.title.as_str()), i, r))
            }))
    }

    pub fn chart_ids(&self) -> Vec<i32> {
        self.all_rows()
            .flat_map(|(_, _, r)| r.charts.iter().filter_map(Cell::chart_id))
            .collect()
    }

    pub fn positions(&self) -> Vec<Position> {
        let mut out = Vec::new();
        for (tab, row, r) in self.all_rows() {
            let mut x = 0;
            for c in &r.charts {
                let mut cell = RawCell::from(c.clone());
                cell.width = None;
                cell.height = None;
                out.push(Position {
                    cell,
                    tab: tab.map(str::to_owned),
                    row,
                    x,
                    width: c.width,
                    height: c.height,
                });
                x += c.width;
            }
        }
        out
    }

    /// Check sizes and that every chart appears once.
    pub fn validate(&self) -> Result<(), ToolError> {
        if self.grid_columns != GRID_COLUMNS {
            return Err(ToolError::invalid(format!(
                "layout.grid_columns must be {GRID_COLUMNS}."
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for (tab, row, r) in self.all_rows() {
            let width: u32 = r.charts.iter().map(|c| c.width).sum();
            let place = tab.map_or(format!("row {row}"), |t| format!("tab '{t}' row {row}"));
            if r.charts.len() > 1 && r.charts.iter().any(Cell::is_full_row) {
                return Err(ToolError::invalid(format!(
                    "layout: {place} mixes a header or divider with other cells; put each header and divider in a row of its own."
                ))
                .with_details(serde_json::json!({"field": "layout"})));
            }
            if width > GRID_COLUMNS {
                return Err(ToolError::invalid(format!(
                    "layout: {place} is {width} columns wide; the grid has {GRID_COLUMNS}."
                ))
                .with_details(serde_json::json!({"field": "layout"})));
            }
            for c in &r.charts {
                if c.width == 0 || c.height == 0 || c.height > 1000 {
                    return Err(ToolError::invalid(format!(
                        "layout: {} in {place} has an invalid size.",
                        c.describe()
                    )));
                }
                match &c.content {
                    Content::Chart(id) if !seen.insert(*id) => {
                        return Err(ToolError::invalid(format!(
                            "layout: chart {id} appears more than once."
                        )));
                    }
                    Content::Markdown(text) if text.len() > MAX_MARKDOWN => {
                        return Err(ToolError::invalid(format!(
                            "layout: a markdown cell in {place} is {} bytes; the most is {MAX_MARKDOWN}. Shorten it or split it into several cells.",
                            text.len()
                        ))
                        .with_details(serde_json::json!({"field": "layout"})));
                    }
                    Content::Header { text, .. }
                        if text.trim().is_empty() || text.chars().count() > MAX_HEADER =>
                    {
                        return Err(ToolError::invalid(format!(
                            "layout: a header in {place} needs 1 to {MAX_HEADER} characters of text."
                        ))
                        .with_details(serde_json::json!({"field": "layout"})));
                    }
                    _ => {}
                }
            }
        }
        let mut titles = std::collections::HashSet::new();
        for t in &self.tabs {
            if t.title.trim().is_empty() || !titles.insert(t.title.as_str()) {
                return Err(ToolError::invalid(
                    "layout: every tab needs a unique, non-empty title.",
                ));
            }
        }
        Ok(())
    }

    /// Place a chart in the first row (of `tab`, if given) with room, else a new row.
    pub fn add(&mut self, chart_id: i32, tab: Option<&str>) -> Result<Position, ToolError> {
        let tab_name = tab
            .map(str::to_owned)
            .or_else(|| self.tabs.first().map(|t| t.title.clone()));
        let rows = match tab {
            Some(title) => {
                let titles: Vec<&str> = self.tabs.iter().map(|t| t.title.as_str()).collect();
                let Some(t) = self.tabs.iter().position(|t| t.title == title) else {
                    return Err(ToolError::invalid_field(
                        "target_tab",
                        format!(
                            "the dashboard has no tab '{title}'; tabs: {}.",
                            if titles.is_empty() {
                                "none".into()
                            } else {
                                titles.join(", ")
                            }
                        ),
                        &titles,
                        Some(title),
                    ));
                };
                &mut self.tabs[t].rows
            }
            None if !self.tabs.is_empty() => &mut self.tabs[0].rows,
            None => &mut self.rows,
        };
        let slot = rows.iter().position(|r| {
            r.charts.iter().map(|c| c.width).sum::<u32>() + DEFAULT_WIDTH <= GRID_COLUMNS
        });
        let row = match slot {
            Some(i) => i,
            None => {
                rows.push(Row::default());
                rows.len() - 1
            }
        };
        let x = rows[row].charts.iter().map(|c| c.width).sum();
        rows[row]
            .charts
            .push(Cell::chart(chart_id, DEFAULT_WIDTH, DEFAULT_HEIGHT));
        Ok(Position {
            cell: RawCell {
                chart_id: Some(chart_id),
                ..Default::default()
            },
            tab: tab_name,
            row,
            x,
            width: DEFAULT_WIDTH,
            height: DEFAULT_HEIGHT,
        })
    }

    /// Remove a chart everywhere; drops rows left empty. Returns whether it was there.
    pub fn remove(&mut self, chart_id: i32) -> bool {
        let mut found = false;
        let mut strip = |rows: &mut Vec<Row>| {
            for r in rows.iter_mut() {
                let before = r.charts.len();
                r.charts.retain(|c| c.chart_id() != Some(chart_id));
                found |= r.charts.len() != before;
            }
            rows.retain(|r| !r.charts.is_empty());
        };
        strip(&mut self.rows);
        for t in &mut self.tabs {
            strip(&mut t.rows);
        }
        found
    }

    /// Replace chart ids (duplicating a dashboard with its charts).
    pub fn remap(&mut self, map: &std::collections::HashMap<i32, i32>) {
        let fix = |rows: &mut Vec<Row>| {
            for r in rows {
                for c in &mut r.charts {
                    if let Content::Chart(id) = &mut c.content
                        && let Some(n) = map.get(id)
                    {
                        *id = *n;
                    }
                }
            }
        };
        fix(&mut self.rows);
        for t in &mut self.tabs {
            fix(&mut t.rows);
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_layout_pairs_charts() {
        let l = Layout::auto(&[1, 2, 3]);
        assert_eq!(l.rows.len(), 2);
        assert_eq!(l.rows[1].charts[0].width, 12);
        l.validate().expect("valid");
        let p = l.positions();
        assert_eq!((p[1].row, p[1].x), (0, 6));
    }

    #[test]
    fn add_fills_rows_then_opens_new_ones() {
        let mut l = Layout::auto(&[1]);
        assert_eq!(l.rows[0].charts[0].width, 12);
        let p = l.add(2, None).expect("add");
        assert_eq!((p.row, p.x), (1, 0));
        let p = l.add(3, None).expect("add");
        assert_eq!((p.row, p.x), (1, 6));
        assert!(l.remove(2));
        assert!(!l.remove(99));
        assert_eq!(l.chart_ids(), vec![1, 3]);
    }

    #[test]
    fn tabs_are_targeted_by_title() {
        let mut l =
            Layout::parse(r#"{"tabs":[{"title":"A","rows":[]},{"title":"B"}]}"#).expect("parse");
        let p = l.add(5, Some("B")).expect("add");
        assert_eq!(p.tab.as_deref(), Some("B"));
        let e = l.add(6, Some("b")).expect_err("unknown tab");
        assert_eq!(e.details["suggestion"], "B");
    }

    #[test]
    fn invalid_layouts_are_refused() {
        let too_wide = Layout::parse(
            r#"{"rows":[{"charts":[{"chart_id":1,"width":8},{"chart_id":2,"width":8}]}]}"#,
        )
        .expect("parse");
        assert!(too_wide.validate().is_err());
        let dup = Layout::parse(r#"{"rows":[{"charts":[{"chart_id":1},{"chart_id":1}]}]}"#)
            .expect("parse");
        assert!(dup.validate().is_err());
        assert!(Layout::parse(r#"{"rowz":[]}"#).is_err());
    }

    #[test]
    fn text_cells_parse_validate_and_round_trip() {
        let json = r##"{"rows":[{"charts":[{"chart_id":1},{"markdown":"# Notes\n- a","width":6,"height":30}]},
            {"charts":[{"header":"Detail","size":"large"}]},{"charts":[{"divider":true}]}]}"##;
        let l = Layout::parse(json).expect("parse");
        l.validate().expect("valid");
        assert_eq!(l.chart_ids(), vec![1]);
        assert_eq!(
            l.rows[0].charts[0].width, DEFAULT_WIDTH,
            "old chart cells keep defaults"
        );
        assert_eq!(
            l.rows[1].charts[0].content,
            Content::Header {
                text: "Detail".into(),
                size: HeaderSize::Large
            }
        );
        let again = Layout::parse(&l.to_json()).expect("reparse");
        assert_eq!(again, l);
        let stored: serde_json::Value = serde_json::from_str(&l.to_json()).expect("json");
        assert_eq!(
            stored["rows"][1]["charts"][0],
            serde_json::json!({"header": "Detail", "size": "large"})
        );
        let p = serde_json::to_value(l.positions()).expect("positions");
        assert_eq!(p[1]["markdown"], "# Notes\n- a");
        assert_eq!(
            (p[1]["x"].as_u64(), p[1]["height"].as_u64()),
            (Some(6), Some(30))
        );
        assert_eq!(p[2]["header"], "Detail");
        assert_eq!(p[2]["width"], 12);
        assert_eq!(p[3]["divider"], true);
        // A chart added later never lands in a header's row.
        let mut l = l;
        let pos = l.add(9, None).expect("add");
        assert_eq!(pos.row, 3);
        assert!(l.remove(1));
        assert_eq!(l.rows.len(), 4, "the markdown keeps its row");
    }

    #[test]
    fn bad_cells_are_refused_clearly() {
        let e = Layout::parse(r#"{"rows":[{"charts":[{"image":"x.png"}]}]}"#).unwrap_err();
        assert!(e.message.contains("unknown field `image`"), "{}", e.message);
        assert!(e.message.contains("markdown"), "{}", e.message);
        let e =
            Layout::parse(r#"{"rows":[{"charts":[{"chart_id":1,"markdown":"x"}]}]}"#).unwrap_err();
        assert!(e.message.contains("exactly one of"), "{}", e.message);
        assert!(Layout::parse(r#"{"rows":[{"charts":[{"chart_id":1,"size":"large"}]}]}"#).is_err());
        assert!(Layout::parse(r#"{"rows":[{"charts":[{"header":"x","size":"huge"}]}]}"#).is_err());
        let mixed =
            Layout::parse(r#"{"rows":[{"charts":[{"chart_id":1},{"divider":true}]}]}"#).unwrap();
        assert!(
            mixed
                .validate()
                .unwrap_err()
                .message
                .contains("row of its own")
        );
        let long = format!(
            r#"{{"rows":[{{"charts":[{{"markdown":"{}"}}]}}]}}"#,
            "x".repeat(MAX_MARKDOWN + 1)
        );
        let e = Layout::parse(&long).unwrap().validate().unwrap_err();
        assert!(e.message.contains("20000"), "{}", e.message);
        let blank = Layout::parse(r#"{"rows":[{"charts":[{"header":" "}]}]}"#).unwrap();
        assert!(blank.validate().is_err());
    }
}

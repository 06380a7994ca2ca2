//! Dashboard layouts: a 12-column grid of rows of charts, optionally grouped in tabs.
//!
//! Stored as JSON in `dashboards.layout`:
//! `{"version": 1, "grid_columns": 12, "rows": [{"charts": [{"chart_id": 1, "width": 6,
//! "height": 50}]}], "tabs": [{"title": "Sales", "rows": [...]}]}`. With tabs, charts live
//! in the tabs' rows; without, in the top-level rows. Pure functions, unit-tested.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::ToolError;

pub const GRID_COLUMNS: u32 = 12;
pub const DEFAULT_WIDTH: u32 = 6;
pub const DEFAULT_HEIGHT: u32 = 50;

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    pub chart_id: i32,
    /// Grid columns, 1..=12.
    #[serde(default = "default_width")]
    pub width: u32,
    /// Height in grid units.
    #[serde(default = "default_height")]
    pub height: u32,
}

fn default_width() -> u32 {
    DEFAULT_WIDTH
}
fn default_height() -> u32 {
    DEFAULT_HEIGHT
}

/// Where a chart sits: tab (if any), row, column offset, size.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Position {
    pub chart_id: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tab: Option<String>,
    pub row: usize,
    pub x: u32,
    pub width: u32,
    pub height: u32,
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
            ToolError::invalid(format!("layout: {e}. Expected {{\"rows\": [{{\"charts\": [{{\"chart_id\": 1, \"width\": 6}}]}}]}}."))
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
                    .map(|id| Cell {
                        chart_id: *id,
                        width: GRID_COLUMNS / pair.len() as u32,
                        height: DEFAULT_HEIGHT,
                    })
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
            .flat_map(|(_, _, r)| r.charts.iter().map(|c| c.chart_id))
            .collect()
    }

    pub fn positions(&self) -> Vec<Position> {
        let mut out = Vec::new();
        for (tab, row, r) in self.all_rows() {
            let mut x = 0;
            for c in &r.charts {
                out.push(Position {
                    chart_id: c.chart_id,
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
            if width > GRID_COLUMNS {
                return Err(ToolError::invalid(format!(
                    "layout: {place} is {width} columns wide; the grid has {GRID_COLUMNS}."
                ))
                .with_details(serde_json::json!({"field": "layout"})));
            }
            for c in &r.charts {
                if c.width == 0 || c.height == 0 || c.height > 1000 {
                    return Err(ToolError::invalid(format!(
                        "layout: chart {} in {place} has an invalid size.",
                        c.chart_id
                    )));
                }
                if !seen.insert(c.chart_id) {
                    return Err(ToolError::invalid(format!(
                        "layout: chart {} appears more than once.",
                        c.chart_id
                    )));
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
        rows[row].charts.push(Cell {
            chart_id,
            width: DEFAULT_WIDTH,
            height: DEFAULT_HEIGHT,
        });
        Ok(Position {
            chart_id,
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
                r.charts.retain(|c| c.chart_id != chart_id);
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
                    if let Some(n) = map.get(&c.chart_id) {
                        c.chart_id = *n;
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
}

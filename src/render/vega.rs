//! Vega-Lite v5 specs for the same charts, with the data inline in `data.values`, for
//! clients that draw interactively.
//!
//! Data goes in long form with fixed, safe field names (`x`, `series`, `value`, …):
//! user-facing names may contain dots or brackets, which Vega-Lite would read as nested
//! field access, so they only ever appear as values and titles. Colours match the PNG
//! palette; `y_format` is passed through, since Vega-Lite formats numbers with d3-format.

use serde_json::{Map, Value, json};

use super::derive::{
    PALETTE, big_number_of, gauge_of, headline, items_of, labels_of, pie_slices, slice_color,
    treemap_tiles, waterfall_steps,
};
use super::format::{format_value, parse_optional};
use super::model::{ChartData, ChartKind, RenderSpec, XAxis};
use super::scale::{Grain, grain_of};
use super::table::{is_total_label, prepare};

pub const SCHEMA: &str = "https://vega.github.io/schema/vega-lite/v5.json";

/// A mixed chart: a layer per axis over the same x, each with its own y scale (the right
/// one on the right) and colours that continue from the left layer's.
fn mixed(spec: &RenderSpec, data: &ChartData) -> Map<String, Value> {
    let Some([(ls, ld), (rs, rd)]) = spec.split_axes(data) else {
        return cartesian(spec, data);
    };
    let first = ld.series.len();
    let mut layers: Vec<Map<String, Value>> = vec![cartesian(&ls, &ld), cartesian(&rs, &rd)];
    let colours: Vec<&str> = PALETTE
        .iter()
        .cycle()
        .skip(first)
        .take(PALETTE.len())
        .copied()
        .collect();
    match layers[1]
        .get_mut("encoding")
        .and_then(|e| e.get_mut("color"))
    {
        Some(color) => color["scale"] = json!({"range": colours}),
        // One series: no colour channel, the mark takes the colour.
        None => {
            if let Some(mark) = layers[1].get_mut("mark") {
                mark["color"] = json!(colours[0]);
            }
        }
    }
    if let Some(axis) = layers[1]
        .get_mut("encoding")
        .and_then(|e| e.pointer_mut("/y/axis"))
    {
        axis["orient"] = json!("right");
        axis["grid"] = json!(false);
    }
    // One x scale for both layers: a bar layer's bands when there is one.
    let bar_x = [&ls, &rs]
        .iter()
        .position(|s| s.kind == ChartKind::Bar)
        .and_then(|i| layers[i].get("encoding").and_then(|e| e.get("x")).cloned());
    if let Some(x) = bar_x {
        for layer in &mut layers {
            if let Some(e) = layer.get_mut("encoding") {
                e["x"] = x.clone();
            }
        }
    }
    let mut out = Map::new();
    // The left layer's rows at the top (as every spec has them); the right layer keeps its own.
    if let Some(values) = layers[0].remove("data") {
        out.insert("data".into(), values);
    }
    out.insert("layer".into(), json!(layers));
    out.insert(
        "resolve".into(),
        json!({"scale": {"y": "independent", "color": "independent"}}),
    );
    out
}

/// Most rows a table spec carries inline; more would make the spec unwieldy to ship.
pub const MAX_TABLE_ROWS: usize = 500;

/// The Vega-Lite spec for a chart.
pub fn spec(spec: &RenderSpec, data: &ChartData) -> Value {
    let mut top = Map::new();
    top.insert("$schema".into(), json!(SCHEMA));
    if !spec.title.trim().is_empty() {
        top.insert(
            "title".into(),
            json!({"text": spec.title.trim(), "anchor": "start"}),
        );
    }
    top.insert(
        "config".into(),
        json!({"range": {"category": PALETTE}, "view": {"stroke": null}}),
    );
    let body = match spec.kind {
        _ if spec.secondary.is_some() => mixed(spec, data),
        ChartKind::Line | ChartKind::Bar | ChartKind::Area | ChartKind::Scatter => {
            cartesian(spec, data)
        }
        ChartKind::Pie { donut } => pie(spec, data, donut),
        ChartKind::BigNumber => big_number(spec, data),
        ChartKind::Table | ChartKind::Pivot => table(spec, data),
        ChartKind::Funnel => funnel(spec, data),
        ChartKind::Treemap => treemap(spec, data),
        ChartKind::Waterfall => waterfall(spec, data),
        ChartKind::Gauge => gauge(spec, data),
        ChartKind::Heatmap => heatmap(spec, data),
        ChartKind::BoxPlot => box_plot(spec, data),
    };
    let concat = body.contains_key("vconcat");
    for (k, v) in body {
        top.insert(k, v);
    }
    if matches!(spec.kind, ChartKind::Table | ChartKind::Pivot) {
        // Rows keep a readable height and the table grows downwards, as a table does.
        top.insert("width".into(), json!(spec.width));
        top.insert("height".into(), json!({"step": 22}));
    } else if !concat {
        top.insert("width".into(), json!(spec.width));
        top.insert("height".into(), json!(spec.height));
        top.insert(
            "autosize".into(),
            json!({"type": "fit", "contains": "padding"}),
        );
    }
    Value::Object(top)
}

fn title_or_null(t: &Option<String>) -> Value {
    match t.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => json!(t),
        _ => Value::Null,
    }
}

fn x_value(x: &XAxis, i: usize) -> Value {
    match x {
        XAxis::Categories(c) => c.get(i).map_or(Value::Null, |s| json!(s)),
        XAxis::Time(t) => t.get(i).map_or(Value::Null, |t| {
            json!(t.format("%Y-%m-%dT%H:%M:%S").to_string())
        }),
        XAxis::Numbers(n) => n.get(i).map_or(Value::Null, |v| number(*v)),
    }
}

fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// Vega-Lite's time unit for instants shown as bars.
fn time_unit(grain: Grain) -> &'static str {
    match grain {
        Grain::Year => "year",
        Grain::Quarter => "yearquarter",
        Grain::Month => "yearmonth",
        Grain::Day => "yearmonthdate",
        Grain::Instant => "yearmonthdatehoursminutes",
    }
}

fn value_axis(spec: &RenderSpec) -> Value {
    let mut axis = Map::new();
    if let Some(f) = spec.y_format.as_deref().filter(|f| !f.trim().is_empty()) {
        axis.insert("format".into(), json!(f));
    }
    axis.insert("grid".into(), json!(true));
    Value::Object(axis)
}

fn cartesian(spec: &RenderSpec, data: &ChartData) -> Map<String, Value> {
    let n = data.x.len();
    let multi = data.series.len() > 1;
    let mut values = Vec::with_capacity(n * data.series.len());
    for (j, s) in data.series.iter().enumerate() {
        for i in 0..n {
            values.push(json!({
                "x": x_value(&data.x, i),
                "series": s.name,
                "series_order": j,
                "value": s.get(i).map_or(Value::Null, number),
            }));
        }
    }
    let bar = spec.kind == ChartKind::Bar;
    let x_title = title_or_null(&spec.x_title);
    let x = match &data.x {
        XAxis::Categories(_) => {
            json!({"field": "x", "type": "nominal", "sort": null, "title": x_title})
        }
        XAxis::Time(t) if bar => {
            json!({"field": "x", "type": "ordinal", "timeUnit": time_unit(grain_of(t)), "title": x_title})
        }
        XAxis::Time(_) => json!({"field": "x", "type": "temporal", "title": x_title}),
        XAxis::Numbers(_) if bar => json!({"field": "x", "type": "ordinal", "title": x_title}),
        XAxis::Numbers(_) => {
            json!({"field": "x", "type": "quantitative", "scale": {"zero": false}, "title": x_title})
        }
    };
    let stacked = spec.stacked && multi && matches!(spec.kind, ChartKind::Bar | ChartKind::Area);
    let mut y = json!({
        "field": "value",
        "type": "quantitative",
        "title": title_or_null(&spec.y_title),
        "axis": value_axis(spec),
    });
    if let Some(o) = y.as_object_mut() {
        match spec.kind {
            ChartKind::Bar | ChartKind::Area => {
                o.insert(
                    "stack".into(),
                    if stacked { json!("zero") } else { Value::Null },
                );
            }
            ChartKind::Scatter => {
                o.insert("scale".into(), json!({"zero": false}));
            }
            _ => {}
        }
    }
    let names: Vec<&str> = data.series.iter().map(|s| s.name.as_str()).collect();
    let mut encoding = Map::new();
    let horizontal = bar && spec.horizontal;
    if horizontal {
        encoding.insert("y".into(), x);
        encoding.insert("x".into(), y);
    } else {
        encoding.insert("x".into(), x);
        encoding.insert("y".into(), y);
    }
    if multi {
        let legend = if spec.show_legend {
            json!({"orient": "top", "title": null})
        } else {
            Value::Null
        };
        encoding.insert(
            "color".into(),
            json!({"field": "series", "type": "nominal", "sort": names, "legend": legend}),
        );
        if stacked {
            encoding.insert(
                "order".into(),
                json!({"field": "series_order", "type": "quantitative"}),
            );
        } else if bar {
            // Grouped bars: one offset band per series inside each category.
            let channel = if horizontal { "yOffset" } else { "xOffset" };
            encoding.insert(
                channel.into(),
                json!({"field": "series", "type": "nominal", "sort": names}),
            );
        }
    }
    let mut tooltip = vec![json!({"field": "series", "type": "nominal"})];
    // A tooltip field definition takes no sort, scale or axis: keep what it accepts.
    let x_def = encoding
        .get(if horizontal { "y" } else { "x" })
        .and_then(Value::as_object);
    let x_tip: Map<String, Value> = x_def
        .map(|d| {
            d.iter()
                .filter(|(k, _)| matches!(k.as_str(), "field" | "type" | "timeUnit" | "title"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    tooltip.push(Value::Object(x_tip));
    let mut value_tip = json!({"field": "value", "type": "quantitative"});
    if let (Some(f), Some(o)) = (spec.y_format.as_deref(), value_tip.as_object_mut()) {
        o.insert("format".into(), json!(f));
    }
    tooltip.push(value_tip);
    encoding.insert("tooltip".into(), Value::Array(tooltip));
    let mark = match spec.kind {
        ChartKind::Line => json!({"type": "line", "point": n <= 40, "strokeWidth": 2}),
        ChartKind::Bar => json!({"type": "bar"}),
        ChartKind::Area => {
            json!({"type": "area", "line": true, "opacity": if stacked { 0.85 } else { 0.3 }})
        }
        _ => json!({"type": "point", "filled": true, "opacity": 0.75, "size": 50}),
    };
    let mut out = Map::new();
    out.insert("data".into(), json!({"values": values}));
    out.insert("mark".into(), mark);
    out.insert("encoding".into(), Value::Object(encoding));
    out
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn format_or_null(spec: &RenderSpec) -> Value {
    spec.y_format
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map_or(Value::Null, |f| json!(f))
}

/// Stages as bars centred on one axis, widest first.
fn funnel(spec: &RenderSpec, data: &ChartData) -> Map<String, Value> {
    let values: Vec<Value> = items_of(data)
        .iter()
        .enumerate()
        .map(|(i, (l, v))| json!({"stage": l, "value": v, "order": i}))
        .collect();
    let format = format_or_null(spec);
    obj(json!({
        "data": {"values": values},
        "encoding": {
            "y": {"field": "stage", "type": "nominal", "sort": {"field": "order"}, "title": null},
        },
        "layer": [
            {"mark": {"type": "bar", "tooltip": true},
             "encoding": {
                "x": {"field": "value", "type": "quantitative", "stack": "center", "axis": null},
                "color": {"field": "stage", "type": "nominal", "sort": {"field": "order"}, "legend": null}}},
            {"mark": {"type": "text", "fontWeight": "bold"},
             "encoding": {"text": {"field": "value", "type": "quantitative", "format": format}}}
        ]
    }))
}

/// Tiles laid out here (the same squarified layout as the PNG), drawn as rectangles.
fn treemap(spec: &RenderSpec, data: &ChartData) -> Map<String, Value> {
    let items = items_of(data);
    let values: Vec<f64> = items.iter().map(|i| i.1).collect();
    let (w, h) = (f64::from(spec.width), f64::from(spec.height));
    let tiles = treemap_tiles(&values, w, h);
    let rows: Vec<Value> = tiles
        .iter()
        .map(|t| {
            let (label, v) = &items[t.index];
            json!({"name": label, "value": v, "order": t.index,
                   "x": t.x, "x2": t.x + t.w, "y": t.y, "y2": t.y + t.h})
        })
        .collect();
    let scale = |d: f64| json!({"domain": [0.0, d], "nice": false, "zero": true});
    let format = format_or_null(spec);
    obj(json!({
        "data": {"values": rows},
        "encoding": {
            "x": {"field": "x", "type": "quantitative", "scale": scale(w), "axis": null},
            "x2": {"field": "x2"},
            "y": {"field": "y", "type": "quantitative", "scale": {"domain": [h, 0.0], "nice": false}, "axis": null},
            "y2": {"field": "y2"}
        },
        "layer": [
            {"mark": {"type": "rect", "stroke": "#ffffff", "strokeWidth": 1.5, "tooltip": true},
             "encoding": {"color": {"field": "name", "type": "nominal", "sort": {"field": "order"}, "legend": null}}},
            {"mark": {"type": "text", "align": "left", "baseline": "top", "dx": 6, "dy": 6, "fontWeight": "bold", "color": "#ffffff"},
             "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y2", "type": "quantitative"},
                          "text": {"field": "name", "type": "nominal"}}},
            {"mark": {"type": "text", "align": "left", "baseline": "top", "dx": 6, "dy": 22, "color": "#ffffff"},
             "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y2", "type": "quantitative"},
                          "text": {"field": "value", "type": "quantitative", "format": format}}}
        ]
    }))
}

/// Floating bars from the running total, then the total.
fn waterfall(spec: &RenderSpec, data: &ChartData) -> Map<String, Value> {
    let steps = waterfall_steps(data);
    let rows: Vec<Value> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let kind = if s.total {
                "total"
            } else if s.end >= s.start {
                "up"
            } else {
                "down"
            };
            json!({"step": s.label, "order": i, "start": s.start, "end": s.end,
                   "change": s.end - s.start, "kind": kind})
        })
        .collect();
    let mut axis = value_axis(spec);
    if let Some(a) = axis.as_object_mut() {
        a.insert("title".into(), title_or_null(&spec.y_title));
    }
    obj(json!({
        "data": {"values": rows},
        "mark": {"type": "bar", "tooltip": true},
        "encoding": {
            "x": {"field": "step", "type": "nominal", "sort": {"field": "order"}, "title": title_or_null(&spec.x_title)},
            "y": {"field": "start", "type": "quantitative", "axis": axis},
            "y2": {"field": "end"},
            "color": {"field": "kind", "type": "nominal",
                      "scale": {"domain": ["up", "down", "total"], "range": ["#15803d", "#b91c1c", PALETTE[0]]},
                      "legend": null}
        }
    }))
}

/// A half-circle dial: the full range as a grey arc, the value as a coloured one.
fn gauge(spec: &RenderSpec, data: &ChartData) -> Map<String, Value> {
    let Some((value, lo, hi)) = gauge_of(spec, data) else {
        return obj(json!({"data": {"values": []}, "mark": "text"}));
    };
    let share = ((value - lo) / (hi - lo)).clamp(0.0, 1.0);
    let half = std::f64::consts::FRAC_PI_2;
    let radius = (f64::from(spec.width.min(spec.height)) / 2.0 - 40.0)
        .max(20.0)
        .round();
    let text = match parse_optional(spec.y_format.as_deref()).ok().flatten() {
        Some(u) => u.headline(value).format(value),
        None => format_value(None, value),
    };
    obj(json!({
        "data": {"values": [
            {"part": "range", "theta": -half, "theta2": half, "min": lo, "max": hi},
            {"part": "value", "theta": -half, "theta2": -half + share * 2.0 * half, "value": value}
        ]},
        "layer": [
            {"mark": {"type": "arc", "outerRadius": radius, "innerRadius": (radius * 0.78).round(), "tooltip": true},
             "encoding": {
                "theta": {"field": "theta", "type": "quantitative", "scale": null},
                "theta2": {"field": "theta2"},
                "color": {"field": "part", "type": "nominal",
                          "scale": {"domain": ["range", "value"], "range": ["#e5e7eb", PALETTE[0]]}, "legend": null}}},
            {"mark": {"type": "text", "fontSize": 36, "fontWeight": "bold", "dy": -10, "text": text}}
        ]
    }))
}

/// Cells coloured by value, x by y.
fn heatmap(spec: &RenderSpec, data: &ChartData) -> Map<String, Value> {
    let xs = labels_of(data);
    let mut rows = Vec::new();
    for (j, s) in data.series.iter().enumerate() {
        for (i, x) in xs.iter().enumerate() {
            if let Some(v) = s.get(i) {
                rows.push(json!({"x": x, "x_order": i, "y": s.name, "y_order": j, "value": v}));
            }
        }
    }
    let format = format_or_null(spec);
    obj(json!({
        "data": {"values": rows},
        "mark": {"type": "rect", "tooltip": true},
        "encoding": {
            "x": {"field": "x", "type": "ordinal", "sort": {"field": "x_order"}, "title": title_or_null(&spec.x_title)},
            "y": {"field": "y", "type": "ordinal", "sort": {"field": "y_order"}, "title": title_or_null(&spec.y_title)},
            "color": {"field": "value", "type": "quantitative", "scale": {"scheme": "blues"},
                      "legend": {"title": null, "format": format}}
        }
    }))
}

/// Precomputed quartiles and whiskers as a rule, a bar and a tick per group.
fn box_plot(spec: &RenderSpec, data: &ChartData) -> Map<String, Value> {
    let labels = labels_of(data);
    let rows: Vec<Value> = labels
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let p: Vec<f64> = (0..5)
                .map(|k| data.series.get(k).and_then(|s| s.get(i)))
                .collect::<Option<_>>()?;
            Some(
                json!({"group": l, "order": i, "lower": p[0], "q1": p[1], "median": p[2],
                        "q3": p[3], "upper": p[4]}),
            )
        })
        .collect();
    let mut axis = value_axis(spec);
    if let Some(a) = axis.as_object_mut() {
        a.insert("title".into(), title_or_null(&spec.y_title));
    }
    obj(json!({
        "data": {"values": rows},
        "encoding": {"x": {"field": "group", "type": "nominal", "sort": {"field": "order"},
                           "title": title_or_null(&spec.x_title)}},
        "layer": [
            {"mark": {"type": "rule"},
             "encoding": {"y": {"field": "lower", "type": "quantitative", "axis": axis}, "y2": {"field": "upper"}}},
            {"mark": {"type": "bar", "size": 28, "tooltip": true},
             "encoding": {"y": {"field": "q1", "type": "quantitative"}, "y2": {"field": "q3"},
                          "color": {"field": "group", "type": "nominal", "sort": {"field": "order"}, "legend": null}}},
            {"mark": {"type": "tick", "color": "#1f2937", "size": 28, "thickness": 2},
             "encoding": {"y": {"field": "median", "type": "quantitative"}}}
        ]
    }))
}

fn pie(spec: &RenderSpec, data: &ChartData, donut: bool) -> Map<String, Value> {
    let slices = pie_slices(data);
    let values: Vec<Value> = slices
        .iter()
        .enumerate()
        .map(|(i, (label, v))| json!({"category": label, "value": v, "order": i}))
        .collect();
    let radius = (f64::from(spec.width.min(spec.height)) / 2.0 - 40.0)
        .max(20.0)
        .round();
    let mut arc = json!({"type": "arc", "outerRadius": radius, "stroke": "#ffffff", "strokeWidth": 1.5, "tooltip": true});
    if donut && let Some(o) = arc.as_object_mut() {
        o.insert("innerRadius".into(), json!((radius * 0.58).round()));
    }
    let label_radius = if donut {
        (radius * 0.79).round()
    } else {
        (radius * 0.66).round()
    };
    let names: Vec<&str> = slices.iter().map(|(l, _)| l.as_str()).collect();
    // Explicit colours so "Other" is grey here too.
    let colors: Vec<&str> = slices
        .iter()
        .enumerate()
        .map(|(i, (l, _))| slice_color(i, l, slices.len()))
        .collect();
    let legend = if spec.show_legend {
        json!({"title": null})
    } else {
        Value::Null
    };
    let mut out = Map::new();
    out.insert("data".into(), json!({"values": values}));
    out.insert(
        "transform".into(),
        json!([
            {"joinaggregate": [{"op": "sum", "field": "value", "as": "total"}]},
            {"calculate": "datum.value / datum.total", "as": "share"}
        ]),
    );
    out.insert(
        "encoding".into(),
        json!({
            "theta": {"field": "value", "type": "quantitative", "stack": true},
            "order": {"field": "order", "type": "quantitative"}
        }),
    );
    out.insert(
        "layer".into(),
        json!([
            {
                "mark": arc,
                "encoding": {"color": {"field": "category", "type": "nominal", "sort": names, "legend": legend, "scale": {"domain": names, "range": colors}}}
            },
            {
                "transform": [{"filter": "datum.share >= 0.03"}],
                "mark": {"type": "text", "radius": label_radius, "fontWeight": "bold", "color": "#ffffff"},
                "encoding": {"text": {"field": "share", "type": "quantitative", "format": ".0%"}}
            }
        ]),
    );
    out
}

fn big_number(spec: &RenderSpec, data: &ChartData) -> Map<String, Value> {
    let b = big_number_of(data);
    let value = b.as_ref().and_then(|b| b.value).filter(|v| v.is_finite());
    let previous = b
        .as_ref()
        .and_then(|b| b.previous)
        .filter(|v| v.is_finite());
    let h = headline(spec, data);
    let delta_text = match (&h.change, &h.against) {
        (Some(change), Some(against)) => format!("{change}  {against}"),
        _ => String::new(),
    };
    let direction = h.direction;
    let mut text = json!({"field": "value", "type": "quantitative"});
    if let (Some(f), Some(o)) = (spec.y_format.as_deref(), text.as_object_mut()) {
        o.insert("format".into(), json!(f));
    }
    let row = json!({
        "value": value.map_or(Value::Null, number),
        "previous": previous.map_or(Value::Null, number),
        "delta_text": delta_text,
        "direction": direction,
    });
    let size = f64::from(spec.width.min(spec.height)) * 0.16;
    let layer = json!([
        {
            "mark": {"type": "text", "fontSize": size.round(), "fontWeight": "bold", "baseline": "middle", "color": "#1f2937"},
            "encoding": {"text": text}
        },
        {
            "mark": {"type": "text", "fontSize": (size * 0.28).round().max(12.0), "baseline": "top", "dy": (size * 0.7).round()},
            "encoding": {
                "text": {"field": "delta_text", "type": "nominal"},
                "color": {
                    "field": "direction", "type": "nominal",
                    "scale": {"domain": ["up", "down", "flat"], "range": ["#15803d", "#b91c1c", "#6b7280"]},
                    "legend": null
                }
            }
        }
    ]);
    let trend: Vec<Value> = b
        .as_ref()
        .map(|b| {
            b.trendline
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, v)| json!({"index": i, "value": v}))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Map::new();
    out.insert("data".into(), json!({"values": [row]}));
    if trend.len() >= 2 {
        let w = spec.width.saturating_sub(40).max(50);
        let text_h = (f64::from(spec.height) * 0.55).round();
        let spark_h = (f64::from(spec.height) * 0.2).round();
        out.insert(
            "vconcat".into(),
            json!([
                {"width": w, "height": text_h, "layer": layer},
                {
                    "data": {"values": trend},
                    "width": w,
                    "height": spark_h,
                    "mark": {"type": "area", "line": true, "opacity": 0.2, "color": PALETTE[0]},
                    "encoding": {
                        "x": {"field": "index", "type": "quantitative", "axis": null},
                        "y": {"field": "value", "type": "quantitative", "axis": null, "scale": {"zero": false}}
                    }
                }
            ]),
        );
    } else {
        out.insert("layer".into(), layer);
    }
    out
}

/// Tables as a grid of text marks (columns along the top, one row per record); pivots
/// add a heat layer behind numeric cells.
fn table(spec: &RenderSpec, data: &ChartData) -> Map<String, Value> {
    let p = prepare(spec, data);
    let raw = super::table::table_data(spec, data);
    let rows = p.rows.len().min(MAX_TABLE_ROWS);
    let mut values = Vec::with_capacity(rows * p.columns.len());
    // Totals would dominate the heat scale, so only the cells they sum are shaded.
    for (r, row) in p.rows[..rows].iter().enumerate() {
        let total_row = row.first().is_some_and(|c| is_total_label(c));
        for (c, text) in row.iter().enumerate() {
            let number = raw
                .rows
                .get(r)
                .and_then(|cells| cells.get(c))
                .and_then(Value::as_f64)
                .filter(|_| c >= p.index_columns && !total_row && !is_total_label(&p.columns[c]))
                .map_or(Value::Null, number);
            values.push(json!({
                "row": r,
                "column": p.columns[c],
                "column_index": c,
                "value": text,
                "number": number,
            }));
        }
    }
    let columns = &p.columns;
    let x = json!({
        "field": "column", "type": "ordinal", "sort": columns, "title": null,
        "axis": {"orient": "top", "labelAngle": 0, "domain": false, "ticks": false, "labelFontWeight": "bold", "labelLimit": 200}
    });
    let y = json!({"field": "row", "type": "ordinal", "axis": null});
    let text_layer = json!({
        "mark": {"type": "text", "align": "center", "baseline": "middle", "limit": 180},
        "encoding": {"text": {"field": "value", "type": "nominal"}}
    });
    let mut out = Map::new();
    out.insert("data".into(), json!({"values": values}));
    out.insert("encoding".into(), json!({"x": x, "y": y}));
    if spec.kind == ChartKind::Pivot {
        out.insert(
            "layer".into(),
            json!([
                {
                    "transform": [{"filter": "isValid(datum.number)"}],
                    "mark": {"type": "rect", "opacity": 0.8},
                    "encoding": {"color": {"field": "number", "type": "quantitative", "scale": {"scheme": {"name": "blues", "extent": [0.05, 0.65]}}, "legend": null}}
                },
                text_layer
            ]),
        );
    } else {
        out.insert("layer".into(), json!([text_layer]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::samples::gallery;

    const MARKS: [&str; 6] = ["line", "bar", "area", "point", "arc", "text"];
    const MORE_MARKS: [&str; 3] = ["rect", "rule", "tick"];
    const CHANNELS: [&str; 13] = [
        "x", "y", "xOffset", "yOffset", "color", "theta", "text", "order", "tooltip", "size", "x2",
        "y2", "theta2",
    ];
    const TYPES: [&str; 4] = ["quantitative", "temporal", "ordinal", "nominal"];

    /// Checks a (sub)view against the Vega-Lite v5 rules this module relies on; `fields`
    /// are the data fields in scope (inherited from the parent unless the view has data).
    fn check_view(view: &Value, inherited: &[String], path: &str) {
        let obj = view
            .as_object()
            .unwrap_or_else(|| panic!("{path}: a view is an object"));
        let mut fields: Vec<String> = inherited.to_vec();
        if let Some(values) = obj.get("data").map(|d| &d["values"]) {
            let values = values
                .as_array()
                .unwrap_or_else(|| panic!("{path}: data.values is an array"));
            fields = values
                .iter()
                .flat_map(|v| v.as_object().unwrap().keys().cloned())
                .collect();
        }
        if let Some(t) = obj.get("transform") {
            for step in t.as_array().unwrap() {
                if let Some(a) = step.get("as").and_then(Value::as_str) {
                    fields.push(a.into());
                }
                if let Some(ja) = step.get("joinaggregate") {
                    for a in ja.as_array().unwrap() {
                        fields.push(a["as"].as_str().unwrap().into());
                    }
                }
            }
        }
        let views = ["layer", "vconcat", "hconcat"];
        let composite: Vec<&str> = views
            .iter()
            .copied()
            .filter(|k| obj.contains_key(*k))
            .collect();
        assert!(composite.len() <= 1, "{path}: one composition at most");
        if let Some(k) = composite.first() {
            assert!(!obj.contains_key("mark"), "{path}: a {k} view has no mark");
            for (i, v) in obj[*k].as_array().unwrap().iter().enumerate() {
                check_view(v, &fields, &format!("{path}.{k}[{i}]"));
            }
        } else {
            let mark = &obj["mark"];
            let kind = mark
                .as_str()
                .or_else(|| mark["type"].as_str())
                .unwrap_or_else(|| panic!("{path}: a unit view has a mark"));
            assert!(
                MARKS.contains(&kind) || MORE_MARKS.contains(&kind),
                "{path}: mark {kind}"
            );
        }
        if let Some(enc) = obj.get("encoding") {
            for (channel, def) in enc.as_object().unwrap() {
                assert!(
                    CHANNELS.contains(&channel.as_str()),
                    "{path}: channel {channel}"
                );
                let defs = def.as_array().cloned().unwrap_or_else(|| vec![def.clone()]);
                for d in defs {
                    let field = d["field"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{path}.{channel}: field"));
                    // An empty data set has no records to take field names from.
                    assert!(
                        fields.is_empty() || fields.iter().any(|f| f == field),
                        "{path}.{channel}: field {field} not in data {fields:?}"
                    );
                    // Secondary channels (x2, y2, theta2) share their primary's type.
                    if channel.ends_with('2') {
                        continue;
                    }
                    let t = d["type"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{path}.{channel}: type"));
                    assert!(TYPES.contains(&t), "{path}.{channel}: type {t}");
                    if channel == "tooltip" {
                        let allowed = ["field", "type", "timeUnit", "title", "format"];
                        assert!(
                            d.as_object()
                                .unwrap()
                                .keys()
                                .all(|k| allowed.contains(&k.as_str())),
                            "{path}.tooltip: {d}"
                        );
                    }
                    if let Some(stack) = d.get("stack") {
                        assert!(
                            stack.is_null()
                                || stack == "zero"
                                || stack == "center"
                                || stack == true,
                            "{path}.{channel}: stack {stack}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_gallery_chart_is_a_valid_v5_spec() {
        for (name, spec_, data) in gallery() {
            let v = spec(&spec_, &data);
            assert_eq!(v["$schema"], SCHEMA, "{name}");
            check_view(&v, &[], &name);
            assert!(
                v["data"]["values"].is_array(),
                "{name}: data inline at the top"
            );
        }
    }

    #[test]
    fn marks_and_encodings_follow_the_kind() {
        let g = gallery();
        let get = |name: &str| {
            let (_, s, d) = g.iter().find(|(n, _, _)| n == name).unwrap();
            spec(s, d)
        };
        let line = get("line_revenue_by_channel");
        assert_eq!(line["mark"]["type"], "line");
        assert_eq!(line["encoding"]["x"]["type"], "temporal");
        assert_eq!(line["encoding"]["y"]["axis"]["format"], "$,.0f");
        assert_eq!(line["encoding"]["color"]["field"], "series");

        let grouped = get("bar_grouped_by_region");
        assert_eq!(grouped["encoding"]["xOffset"]["field"], "series");
        assert!(grouped["encoding"]["y"]["stack"].is_null());
        assert_eq!(grouped["encoding"]["x"]["timeUnit"], "yearquarter");

        let stacked = get("bar_stacked_units");
        assert_eq!(stacked["encoding"]["y"]["stack"], "zero");
        assert!(stacked["encoding"].get("xOffset").is_none());

        let horizontal = get("bar_horizontal_top_products");
        assert_eq!(horizontal["encoding"]["x"]["field"], "value");
        assert_eq!(horizontal["encoding"]["y"]["sort"], Value::Null);

        let pie = get("donut_payment_methods");
        assert_eq!(pie["encoding"]["theta"]["field"], "value");
        assert_eq!(pie["layer"][0]["mark"]["type"], "arc");
        assert!(pie["layer"][0]["mark"]["innerRadius"].as_f64().unwrap() > 0.0);

        let big = get("big_number_revenue");
        assert_eq!(big["vconcat"][0]["layer"][0]["mark"]["type"], "text");
        assert_eq!(big["data"]["values"][0]["direction"], "up");

        let table = get("table_recent_orders");
        assert_eq!(table["layer"][0]["mark"]["type"], "text");
        assert_eq!(table["encoding"]["x"]["axis"]["orient"], "top");
        let pivot = get("pivot_region_quarter");
        assert_eq!(pivot["layer"][0]["mark"]["type"], "rect");
    }

    #[test]
    fn gaps_stay_null() {
        let g = gallery();
        let (_, s, d) = g
            .iter()
            .find(|(n, _, _)| n == "line_daily_orders_1000")
            .unwrap();
        let v = spec(s, d);
        let values = v["data"]["values"].as_array().unwrap();
        assert_eq!(values.len(), 1000);
        assert!(values.iter().any(|r| r["value"].is_null()));
    }
}

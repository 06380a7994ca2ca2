//! The picture layer: charts as SVG, PNG, terminal text, text tables and Vega-Lite specs,
//! and whole dashboards as one PNG. Pure Rust: no system libraries, no browser, no system
//! fonts.
//!
//! What belongs where:
//! - [`model`]: the input types ([`RenderSpec`], [`ChartData`]) and their validation;
//! - [`format`]: numbers to text (a d3-format subset and automatic formats);
//! - [`scale`]: nice numeric ticks, calendar ticks, data-to-pixel maps;
//! - [`svg`]: every chart kind drawn as SVG — the one drawing code path;
//! - [`png`]: SVG rasterised with resvg using the bundled font;
//! - [`ascii`]: terminal charts (block characters, braille);
//! - [`table`]: cell formatting shared by every table output, and the text table;
//! - [`vega`]: Vega-Lite v5 specs with the data inline;
//! - [`dashboard`]: several charts on a 12-column grid in one picture;
//! - `markdown`: a dashboard's markdown cells laid out as wrapped, formatted text;
//! - [`samples`]: made-up retail data drawn as every kind, for eyeballing output;
//! - `fonts`: the bundled DejaVu Sans faces and text measurement.
//!
//! Rendering is CPU-bound and synchronous: callers on an async runtime should run it on a
//! blocking or dedicated thread (the screenshot actor does).

pub mod ascii;
pub mod dashboard;
pub mod derive;
mod fonts;
pub mod format;
mod markdown;
pub mod model;
pub mod png;
pub mod samples;
pub mod scale;
pub mod svg;
pub mod table;
pub mod vega;

pub use dashboard::{FilterChip, Placement, Tile};
pub use model::{BigNumber, ChartData, ChartKind, RenderSpec, Series, TableData, XAxis};
pub use table::TableLimits;

/// Why a picture could not be drawn. Every message names the offending input so a caller
/// (often a language model) can correct it.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("width {value} is out of bounds: it must be between {min} and {max} pixels")]
    Width { value: u32, min: u32, max: u32 },
    #[error("height {value} is out of bounds: it must be between {min} and {max} pixels")]
    Height { value: u32, min: u32, max: u32 },
    #[error("invalid number format {spec:?}: {reason}")]
    Format { spec: String, reason: String },
    #[error("series {series:?} has {got} values but the x axis has {expected}")]
    SeriesLength {
        series: String,
        got: usize,
        expected: usize,
    },
    #[error("invalid dashboard placement: {0}")]
    Placement(String),
    #[error("could not rasterise the picture: {0}")]
    Raster(String),
    #[error("could not write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// The chart as a standalone SVG document of `spec.width` × `spec.height` pixels.
pub fn render_svg(spec: &RenderSpec, data: &ChartData) -> Result<String, RenderError> {
    svg::render(spec, data)
}

/// The chart as a PNG of `spec.width` × `spec.height` pixels.
pub fn render_png(spec: &RenderSpec, data: &ChartData) -> Result<Vec<u8>, RenderError> {
    let svg = svg::render(spec, data)?;
    png::rasterize(&svg, spec.width, spec.height)
}

/// The chart drawn with text for a terminal of `width_cols` × `height_rows` characters.
/// Never fails: problems are written into the text.
pub fn render_ascii(
    spec: &RenderSpec,
    data: &ChartData,
    width_cols: usize,
    height_rows: usize,
) -> String {
    ascii::render(spec, data, width_cols, height_rows)
}

/// The data as an aligned text table (any kind: charts show their x and series columns).
pub fn render_table(spec: &RenderSpec, data: &ChartData, limits: &TableLimits) -> String {
    table::render_text(spec, data, limits)
}

/// A Vega-Lite v5 spec drawing the same chart, with the data inline.
pub fn vega_lite(spec: &RenderSpec, data: &ChartData) -> serde_json::Value {
    vega::spec(spec, data)
}

/// Several charts (and markdown, headers, dividers) on a 12-column grid, with a dashboard title
/// and its filter bar, as one PNG `width` pixels
/// wide (the height follows from the placements).
pub fn render_dashboard_png(
    title: &str,
    filters: &[FilterChip],
    charts: &[(Placement, Tile)],
    width: u32,
) -> Result<Vec<u8>, RenderError> {
    dashboard::render_png(title, filters, charts, width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use resvg::tiny_skia::Pixmap;
    use resvg::usvg;
    use std::time::{Duration, Instant};

    fn parse_svg(svg: &str) -> usvg::Tree {
        let options = usvg::Options {
            fontdb: fonts::database(),
            ..usvg::Options::default()
        };
        usvg::Tree::from_str(svg, &options).expect("the SVG parses")
    }

    fn bars(values: Vec<Option<f64>>) -> ChartData {
        let n = values.len();
        ChartData::series(
            XAxis::Categories((0..n).map(|i| format!("c{i}")).collect()),
            vec![Series::new("v", values)],
        )
    }

    #[test]
    fn every_kind_renders_to_valid_svg_and_png_of_the_right_size() {
        for (name, spec, data) in samples::gallery() {
            let svg = render_svg(&spec, &data).unwrap_or_else(|e| panic!("{name}: {e}"));
            let tree = parse_svg(&svg);
            assert_eq!(tree.size().width() as u32, spec.width, "{name}");
            let png = render_png(&spec, &data).unwrap();
            let pixmap = Pixmap::decode_png(&png).unwrap();
            assert_eq!(
                (pixmap.width(), pixmap.height()),
                (spec.width, spec.height),
                "{name}"
            );
        }
    }

    #[test]
    fn sizes_outside_the_bounds_are_errors_naming_the_bound() {
        let data = bars(vec![Some(1.0)]);
        let mut spec = RenderSpec::new("t", ChartKind::Bar);
        spec.width = 199;
        let e = render_png(&spec, &data).unwrap_err();
        assert_eq!(
            e.to_string(),
            "width 199 is out of bounds: it must be between 200 and 4000 pixels"
        );
        spec.width = 800;
        spec.height = 3001;
        let e = render_svg(&spec, &data).unwrap_err();
        assert!(
            e.to_string().contains("height 3001") && e.to_string().contains("3000"),
            "{e}"
        );
        spec.width = 200;
        spec.height = 150;
        for kind in [
            ChartKind::Line,
            ChartKind::Pie { donut: true },
            ChartKind::BigNumber,
            ChartKind::Table,
        ] {
            spec.kind = kind;
            let png = render_png(&spec, &data).unwrap();
            assert_eq!(Pixmap::decode_png(&png).unwrap().width(), 200);
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        let mut spec = RenderSpec::new("t", ChartKind::Line);
        spec.y_format = Some(".2q".into());
        let e = render_svg(&spec, &bars(vec![Some(1.0)])).unwrap_err();
        assert!(e.to_string().contains("\".2q\""), "{e}");
        spec.y_format = None;
        let mut data = bars(vec![Some(1.0), Some(2.0)]);
        data.series[0].values.pop();
        let e = render_svg(&spec, &data).unwrap_err();
        assert!(
            matches!(
                e,
                RenderError::SeriesLength {
                    got: 1,
                    expected: 2,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn empty_data_says_no_data() {
        let empty = ChartData::series(XAxis::Categories(vec![]), vec![]);
        let all_missing = bars(vec![None, Some(f64::NAN)]);
        for kind in [
            ChartKind::Line,
            ChartKind::Bar,
            ChartKind::Area,
            ChartKind::Scatter,
            ChartKind::Pie { donut: false },
            ChartKind::BigNumber,
        ] {
            let spec = RenderSpec::new("Empty", kind);
            for data in [&empty, &all_missing] {
                let svg = render_svg(&spec, data).unwrap();
                assert!(svg.contains(">No data<"), "{kind:?}");
            }
        }
        let table = ChartData::table(TableData {
            columns: vec![],
            rows: vec![],
            index_columns: 0,
        });
        assert!(
            render_svg(&RenderSpec::new("", ChartKind::Table), &table)
                .unwrap()
                .contains("No data")
        );
    }

    #[test]
    fn missing_values_are_gaps_and_negatives_get_a_zero_line() {
        let spec = RenderSpec::new("t", ChartKind::Line);
        let data = bars(vec![
            Some(1.0),
            Some(-2.0),
            None,
            Some(3.0),
            Some(f64::NAN),
            Some(4.0),
            Some(5.0),
        ]);
        let svg = render_svg(&spec, &data).unwrap();
        // Runs: [1, -2], [3] (an isolated dot), [4, 5].
        assert_eq!(svg.matches("fill=\"none\" stroke=").count(), 2, "{svg}");
        assert!(svg.contains("stroke=\"#6b7280\""), "zero line");
        assert!(
            svg.contains("\u{2212}2"),
            "negative ticks use a true minus sign"
        );
    }

    #[test]
    fn stacked_bars_share_a_column_and_grouped_bars_do_not() {
        let x = XAxis::Categories(vec!["a".into(), "b".into()]);
        let series = vec![
            Series::new("s1", vec![Some(1.0), Some(2.0)]),
            Series::new("s2", vec![Some(3.0), Some(4.0)]),
        ];
        let data = ChartData::series(x, series);
        let xs = |svg: &str| -> std::collections::BTreeSet<String> {
            svg.lines()
                .filter(|l| l.starts_with("<rect") && l.contains("<title>"))
                .filter_map(|l| l.split("x=\"").nth(1)?.split('"').next().map(String::from))
                .collect()
        };
        let mut spec = RenderSpec::new("t", ChartKind::Bar);
        assert_eq!(xs(&render_svg(&spec, &data).unwrap()).len(), 4);
        spec.stacked = true;
        let svg = render_svg(&spec, &data).unwrap();
        assert_eq!(xs(&svg).len(), 2);
        assert!(svg.contains(">6<"), "stack totals are labelled: {svg}");
        spec.horizontal = true;
        parse_svg(&render_svg(&spec, &data).unwrap());
    }

    #[test]
    fn pies_label_big_slices_only_and_donuts_show_the_total() {
        let data = bars(vec![Some(60.0), Some(39.5), Some(0.5)]);
        let mut spec = RenderSpec::new("t", ChartKind::Pie { donut: true });
        let svg = render_svg(&spec, &data).unwrap();
        // Slice labels take the legend's precision: "60.0%" beside "39.5%", never "60%".
        assert_eq!(svg.matches(">60.0%<").count(), 2, "{svg}");
        assert_eq!(svg.matches(">39.5%<").count(), 2, "{svg}");
        assert!(!svg.contains(">60%<"), "{svg}");
        // The legend gives every share; the tiny slice has no label of its own.
        assert_eq!(svg.matches(">0.5%<").count(), 1, "{svg}");
        assert!(svg.contains(">Total<") && svg.contains(">100<"));
        // A total of money drops the cents its metric's format has.
        spec.y_format = Some("$,.2f".into());
        let big = bars(vec![Some(600_000.25), Some(395_000.5), Some(5_000.0)]);
        let svg = render_svg(&spec, &big).unwrap();
        assert!(svg.contains(">$1,000,001<"), "{svg}");
        spec.y_format = None;
        spec.kind = ChartKind::Pie { donut: false };
        assert!(!render_svg(&spec, &data).unwrap().contains(">Total<"));
    }

    #[test]
    fn big_numbers_show_direction_delta_and_trend() {
        let mut spec = RenderSpec::new("Revenue", ChartKind::BigNumber);
        spec.y_format = Some("$,.0f".into());
        let data = ChartData::big_number(BigNumber {
            value: Some(1200.0),
            trendline: vec![900.0, 1000.0, 1100.0, 1200.0],
            previous: Some(1000.0),
            comparison_label: Some("vs last week".into()),
        });
        let svg = render_svg(&spec, &data).unwrap();
        assert!(
            svg.contains(">$1,200<")
                && svg.contains("▲ +20.0%")
                && svg.contains("vs last week ($1,000)")
        );
        assert!(svg.contains("fill=\"#15803d\""), "up is green");
        assert!(svg.contains("fill-opacity=\"0.14\""), "trend area");
    }

    #[test]
    fn a_headline_is_the_big_number_as_text() {
        let mut spec = RenderSpec::new("Revenue", ChartKind::BigNumber);
        spec.y_format = Some("$,.0f".into());
        let data = ChartData::big_number(BigNumber {
            value: Some(900.0),
            trendline: vec![1000.0, f64::NAN, 900.0],
            previous: Some(1000.0),
            comparison_label: Some("vs last week".into()),
        });
        let h = derive::headline(&spec, &data);
        assert_eq!(h.value.as_deref(), Some("$900"));
        assert!(
            h.change
                .as_deref()
                .is_some_and(|c| c.starts_with("▼ ") && c.ends_with("10.0%"))
        );
        assert_eq!(h.against.as_deref(), Some("vs last week ($1,000)"));
        assert_eq!((h.direction, h.trend), ("down", vec![1000.0, 900.0]));
        let none = derive::headline(
            &spec,
            &ChartData::big_number(BigNumber {
                value: None,
                trendline: Vec::new(),
                previous: Some(1.0),
                comparison_label: None,
            }),
        );
        assert_eq!(
            (none.value, none.change, none.direction),
            (None, None, "flat")
        );
    }

    /// Writes the sample gallery; set `RENDER_SAMPLES_DIR` to keep the files, e.g.
    /// `RENDER_SAMPLES_DIR=/tmp/samples cargo test --release --lib render::tests::samples_are_written`.
    #[test]
    fn samples_are_written() {
        let dir = std::env::var_os("RENDER_SAMPLES_DIR").map_or_else(
            || std::env::temp_dir().join(format!("render-samples-{}", std::process::id())),
            std::path::PathBuf::from,
        );
        let paths = samples::write_samples(&dir).unwrap();
        let pngs: Vec<_> = paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "png"))
            .collect();
        assert_eq!(
            pngs.len(),
            samples::gallery().len() + 1,
            "one per chart and the dashboard"
        );
        for p in &pngs {
            let pixmap = Pixmap::decode_png(&std::fs::read(p).unwrap()).unwrap();
            assert!(pixmap.width() >= 400, "{}", p.display());
        }
        if std::env::var_os("RENDER_SAMPLES_DIR").is_none() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    /// Release-build timings: `cargo test --release --lib render::tests::timings -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing; run in release"]
    fn timings() {
        let g = samples::gallery();
        let find = |n: &str| {
            g.iter()
                .find(|(name, _, _)| name == n)
                .map(|(_, s, d)| (s.clone(), d.clone()))
                .unwrap()
        };
        let time = |f: &dyn Fn()| -> Duration {
            f();
            let mut runs: Vec<Duration> = (0..15)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed()
                })
                .collect();
            runs.sort();
            runs[runs.len() / 2]
        };
        let (line, line_data) = find("line_daily_orders_1000");
        let (pie, pie_data) = find("pie_twelve_months");
        let png_line = time(&|| drop(render_png(&line, &line_data)));
        let png_pie = time(&|| drop(render_png(&pie, &pie_data)));
        let ascii = time(&|| drop(render_ascii(&line, &line_data, 100, 30)));
        let svg = time(&|| drop(render_svg(&line, &line_data)));
        println!(
            "median of 15: PNG 1000-point line {png_line:?}, PNG 12-slice pie {png_pie:?}, SVG 1000-point line {svg:?}, ASCII 1000-point line {ascii:?}"
        );
        assert!(png_line < Duration::from_millis(30) && png_pie < Duration::from_millis(30));
        assert!(ascii < Duration::from_millis(1));
    }
}

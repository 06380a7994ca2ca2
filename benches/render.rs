//! Render timings, release build: `cargo bench --bench render`.
//!
//! A 1,000-point line chart and a 12-slice pie as PNG (targets: under 30 ms each) and the
//! line chart as ASCII (target: under 1 ms), each drawn repeatedly on one thread; prints
//! the median and the 90th percentile. No harness and no extra dependency: the numbers are
//! plain wall-clock samples of the same calls the screenshot actor makes.

// A failed render is how this benchmark reports; panicking is right here.
#![allow(clippy::expect_used)]

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use vizier::render::{ChartData, ChartKind, RenderSpec, Series, XAxis};

fn sample(mut f: impl FnMut(), n: usize) -> (Duration, Duration) {
    f(); // warm-up: fonts load once per process
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    (times[n / 2], times[n * 9 / 10])
}

fn main() {
    let start = NaiveDate::from_ymd_opt(2024, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date");
    let times = (0..1000)
        .map(|i| start + chrono::Duration::hours(6 * i))
        .collect();
    let values = (0..1000)
        .map(|i| Some(1000.0 + (i as f64 / 40.0).sin() * 300.0 + i as f64))
        .collect();
    let line_data = ChartData::series(XAxis::Time(times), vec![Series::new("revenue", values)]);
    let mut line = RenderSpec::new("1,000-point line", ChartKind::Line);
    line.y_format = Some("$,.0f".into());
    line.x_title = Some("Time".into());
    line.y_title = Some("Revenue".into());

    let slices: Vec<String> = (1..=12).map(|i| format!("Slice {i}")).collect();
    let pie_data = ChartData::series(
        XAxis::Categories(slices),
        vec![Series::new(
            "share",
            (1..=12).map(|i| Some(f64::from(i * 7))).collect(),
        )],
    );
    let pie = RenderSpec::new("12-slice pie", ChartKind::Pie { donut: false });

    let runs = [
        ("png line 1000 points 800x600", 50, &line, &line_data, "png"),
        ("png pie 12 slices 800x600", 50, &pie, &pie_data, "png"),
        (
            "ascii line 1000 points 100x30",
            500,
            &line,
            &line_data,
            "ascii",
        ),
    ];
    for (name, n, spec, data, format) in runs {
        let (median, p90) = match format {
            "png" => sample(
                || {
                    vizier::render::render_png(spec, data).expect("png");
                },
                n,
            ),
            _ => sample(
                || {
                    std::hint::black_box(vizier::render::render_ascii(spec, data, 100, 30));
                },
                n,
            ),
        };
        println!(
            "{name:<32} median {:>8.3} ms   p90 {:>8.3} ms   ({n} runs)",
            median.as_secs_f64() * 1e3,
            p90.as_secs_f64() * 1e3
        );
    }
}

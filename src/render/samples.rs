//! Made-up but realistic retail data drawn as every chart kind, for looking at the output
//! (`write_samples`) and for tests that need plausible inputs (`gallery`). Deterministic:
//! the same files come out on every run.

use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde_json::json;

use super::dashboard::{Placement, Tile};
use super::model::{
    BigNumber, ChartData, ChartKind, RenderSpec, SecondaryAxis, Series, TableData, XAxis,
};
use super::table::TableLimits;
use super::{RenderError, render_ascii, render_dashboard_png, render_png, render_table, vega_lite};

/// A tiny deterministic generator (xorshift), so samples need no random-number crate.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal noise around zero with the given spread.
    fn around(&mut self, spread: f64) -> f64 {
        (self.next() + self.next() + self.next() - 1.5) * spread
    }
}

fn month(y: i32, m: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, 1)
        .unwrap_or_default()
        .and_time(chrono::NaiveTime::MIN)
}

fn cats(names: &[&str]) -> XAxis {
    XAxis::Categories(names.iter().map(|s| s.to_string()).collect())
}

fn spec(title: &str, kind: ChartKind) -> RenderSpec {
    RenderSpec::new(title, kind)
}

/// Named sample charts: (file stem, spec, data).
pub fn gallery() -> Vec<(String, RenderSpec, ChartData)> {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();

    // Monthly revenue by channel over two years, with seasonality.
    let months: Vec<NaiveDateTime> = (0..24)
        .map(|i| month(2023 + i / 12, (i % 12) as u32 + 1))
        .collect();
    let season = |i: usize| {
        1.0 + 0.25 * ((i % 12) as f64 / 12.0 * std::f64::consts::TAU - 2.0).cos()
            + if i % 12 == 10 || i % 12 == 11 {
                0.35
            } else {
                0.0
            }
    };
    let channel = |base: f64, growth: f64, noise: &mut Noise| -> Vec<Option<f64>> {
        (0..24)
            .map(|i| {
                Some(
                    (base * season(i) * (1.0 + growth * i as f64) + noise.around(base * 0.08))
                        .round(),
                )
            })
            .collect()
    };
    let online = channel(420_000.0, 0.02, &mut noise);
    let store = channel(610_000.0, -0.004, &mut noise);
    let wholesale = channel(180_000.0, 0.01, &mut noise);
    let mut s = spec("Monthly revenue by channel", ChartKind::Line);
    s.y_format = Some("$,.0f".into());
    s.y_title = Some("Revenue".into());
    s.x_title = Some("Month".into());
    out.push((
        "line_revenue_by_channel".into(),
        s,
        ChartData::series(
            XAxis::Time(months.clone()),
            vec![
                Series::new("Online", online.clone()),
                Series::new("In-store", store.clone()),
                Series::new("Wholesale", wholesale.clone()),
            ],
        ),
    ));

    // 1,000 days of orders, with an outage gap.
    let start = NaiveDate::from_ymd_opt(2022, 1, 1)
        .unwrap_or_default()
        .and_time(chrono::NaiveTime::MIN);
    let days: Vec<NaiveDateTime> = (0..1000).map(|i| start + Duration::days(i)).collect();
    let orders: Vec<Option<f64>> = (0..1000)
        .map(|i| {
            if (400..412).contains(&i) {
                return None;
            }
            let weekly = if i % 7 == 5 || i % 7 == 6 { 1.3 } else { 1.0 };
            let trend = 800.0 + i as f64 * 0.9;
            let yearly = 1.0 + 0.2 * (i as f64 / 365.0 * std::f64::consts::TAU).sin();
            Some((trend * weekly * yearly + noise.around(160.0)).round())
        })
        .collect();
    let mut s = spec("Daily orders", ChartKind::Line);
    s.y_format = Some(",d".into());
    s.y_title = Some("Orders".into());
    out.push((
        "line_daily_orders_1000".into(),
        s,
        ChartData::series(
            XAxis::Time(days.clone()),
            vec![Series::new("Orders", orders)],
        ),
    ));

    // Revenue by category, one bar each.
    let categories = [
        "Electronics",
        "Home & Garden",
        "Clothing",
        "Sports",
        "Beauty",
        "Toys",
        "Grocery",
        "Books",
    ];
    let by_cat = [
        1_284_500.0,
        862_300.0,
        745_900.0,
        512_400.0,
        398_700.0,
        276_100.0,
        221_800.0,
        98_400.0,
    ];
    let mut s = spec("Revenue by category, 2024", ChartKind::Bar);
    s.y_format = Some("$,.0f".into());
    s.y_title = Some("Revenue".into());
    out.push((
        "bar_revenue_by_category".into(),
        s,
        ChartData::series(
            cats(&categories),
            vec![Series::new(
                "Revenue",
                by_cat.iter().map(|v| Some(*v)).collect(),
            )],
        ),
    ));

    // Quarterly revenue by region, grouped.
    let regions = ["North", "South", "East", "West"];
    let quarters: Vec<NaiveDateTime> = [1, 4, 7, 10].iter().map(|m| month(2024, *m)).collect();
    let region_series: Vec<Series> = regions
        .iter()
        .enumerate()
        .map(|(r, name)| {
            Series::new(
                *name,
                (0..4)
                    .map(|q| {
                        Some(
                            (1.2e6
                                + r as f64 * 2.1e5
                                + q as f64 * 1.5e5 * (1.0 + r as f64 * 0.3)
                                + noise.around(1.5e5))
                            .round(),
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let mut s = spec("Quarterly revenue by region", ChartKind::Bar);
    s.y_format = Some("$.3~s".into());
    s.y_title = Some("Revenue".into());
    out.push((
        "bar_grouped_by_region".into(),
        s,
        ChartData::series(XAxis::Time(quarters), region_series.clone()),
    ));

    // Units by channel per month, stacked.
    let mut s = spec("Units sold by channel", ChartKind::Bar);
    s.stacked = true;
    s.y_format = Some(",d".into());
    s.y_title = Some("Units".into());
    let units = |base: f64, noise: &mut Noise| -> Vec<Option<f64>> {
        (0..12)
            .map(|i| Some((base * season(i) + noise.around(base * 0.1)).round()))
            .collect()
    };
    out.push((
        "bar_stacked_units".into(),
        s,
        ChartData::series(
            XAxis::Time(months[12..].to_vec()),
            vec![
                Series::new("Online", units(5200.0, &mut noise)),
                Series::new("In-store", units(7400.0, &mut noise)),
                Series::new("Marketplace", units(2100.0, &mut noise)),
            ],
        ),
    ));

    // Top products, horizontal, long names.
    let products = [
        "Wireless Noise-Cancelling Headphones",
        "Stainless Steel Water Bottle 750ml",
        "Organic Cotton T-Shirt",
        "Smart LED Light Bulb (4-pack)",
        "Yoga Mat Pro",
        "Espresso Machine Deluxe",
        "Running Shoes Air Light",
        "Bluetooth Speaker Mini",
        "Ceramic Plant Pot Set",
        "Kids Building Blocks 500pc",
        "Vitamin C Serum",
        "Cast Iron Skillet 12\"",
    ];
    let sold: Vec<Option<f64>> = (0..products.len())
        .map(|i| Some((9800.0 * 0.82f64.powi(i as i32) + noise.around(300.0)).round()))
        .collect();
    let mut s = spec("Top products by units sold", ChartKind::Bar);
    s.horizontal = true;
    s.y_format = Some(",d".into());
    s.y_title = Some("Units sold".into());
    out.push((
        "bar_horizontal_top_products".into(),
        s,
        ChartData::series(cats(&products), vec![Series::new("Units", sold)]),
    ));

    // Margin change by store, negative values.
    let stores = [
        "Downtown",
        "Airport",
        "Mall East",
        "Mall West",
        "Harbor",
        "University",
        "Suburb N",
        "Suburb S",
        "Outlet",
        "Station",
    ];
    let change = [
        0.042, -0.018, 0.025, -0.031, 0.008, 0.051, -0.006, 0.013, -0.044, 0.019,
    ];
    let mut s = spec("Change in gross margin vs last year", ChartKind::Bar);
    s.y_format = Some("+.1%".into());
    s.x_title = Some("Store".into());
    out.push((
        "bar_negative_margin".into(),
        s,
        ChartData::series(
            cats(&stores),
            vec![Series::new(
                "Margin change",
                change.iter().map(|v| Some(*v)).collect(),
            )],
        ),
    ));

    // Weekly web sessions by source, stacked area.
    let weeks: Vec<NaiveDateTime> = (0..52).map(|i| start + Duration::weeks(i + 104)).collect();
    let traffic = |base: f64, amp: f64, noise: &mut Noise| -> Vec<Option<f64>> {
        (0..52)
            .map(|i| {
                Some(
                    (base * (1.0 + amp * (i as f64 / 52.0 * std::f64::consts::TAU).sin())
                        + noise.around(base * 0.1))
                    .round(),
                )
            })
            .collect()
    };
    let mut s = spec("Weekly sessions by traffic source", ChartKind::Area);
    s.stacked = true;
    s.y_title = Some("Sessions".into());
    out.push((
        "area_stacked_sessions".into(),
        s,
        ChartData::series(
            XAxis::Time(weeks.clone()),
            vec![
                Series::new("Organic search", traffic(42_000.0, 0.15, &mut noise)),
                Series::new("Paid search", traffic(21_000.0, 0.3, &mut noise)),
                Series::new("Social", traffic(12_000.0, 0.4, &mut noise)),
                Series::new("Email", traffic(8_000.0, 0.1, &mut noise)),
            ],
        ),
    ));

    // Inventory on hand, single area with a gap.
    let inventory: Vec<Option<f64>> = (0..90)
        .map(|i| {
            if (40..45).contains(&i) {
                None
            } else {
                Some(((12_000.0 - (i % 30) as f64 * 310.0) + noise.around(400.0)).round())
            }
        })
        .collect();
    let mut s = spec("Warehouse inventory on hand", ChartKind::Area);
    s.y_format = Some(",d".into());
    s.y_title = Some("Units".into());
    out.push((
        "area_inventory".into(),
        s,
        ChartData::series(
            XAxis::Time(days[700..790].to_vec()),
            vec![Series::new("Units on hand", inventory)],
        ),
    ));

    // Price vs units, two product lines.
    let prices: Vec<f64> = (0..120)
        .map(|_| (5.0 + noise.next() * 195.0).round())
        .collect();
    let own: Vec<Option<f64>> = prices
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (i % 2 == 0).then(|| {
                (5200.0 / (p / 10.0 + 1.0) + noise.around(250.0))
                    .max(20.0)
                    .round()
            })
        })
        .collect();
    let branded: Vec<Option<f64>> = prices
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (i % 2 == 1).then(|| {
                (7800.0 / (p / 14.0 + 1.0) + noise.around(300.0))
                    .max(20.0)
                    .round()
            })
        })
        .collect();
    let mut s = spec("Price vs units sold", ChartKind::Scatter);
    s.x_title = Some("Unit price ($)".into());
    s.y_title = Some("Units sold".into());
    s.y_format = Some(",d".into());
    out.push((
        "scatter_price_units".into(),
        s,
        ChartData::series(
            XAxis::Numbers(prices),
            vec![
                Series::new("Private label", own),
                Series::new("Branded", branded),
            ],
        ),
    ));

    // Category share, with small slices.
    let share_cats = [
        "Electronics",
        "Home & Garden",
        "Clothing",
        "Sports",
        "Beauty",
        "Toys",
        "Grocery",
        "Books",
        "Gift cards",
    ];
    let share_vals = [
        1_284_500.0,
        862_300.0,
        745_900.0,
        512_400.0,
        398_700.0,
        276_100.0,
        121_800.0,
        58_400.0,
        21_000.0,
    ];
    let mut s = spec("Sales mix by category", ChartKind::Pie { donut: false });
    s.y_format = Some("$,.0f".into());
    out.push((
        "pie_sales_mix".into(),
        s,
        ChartData::series(
            cats(&share_cats),
            vec![Series::new(
                "Revenue",
                share_vals.iter().map(|v| Some(*v)).collect(),
            )],
        ),
    ));

    // Twelve-slice pie, the performance case.
    let twelve: Vec<String> = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let s = spec("Revenue by month", ChartKind::Pie { donut: false });
    out.push((
        "pie_twelve_months".into(),
        s,
        ChartData::series(
            XAxis::Categories(twelve),
            vec![Series::new("Revenue", store[..12].to_vec())],
        ),
    ));

    // Payment methods, donut.
    let mut s = spec("Orders by payment method", ChartKind::Pie { donut: true });
    s.y_format = Some(",d".into());
    out.push((
        "donut_payment_methods".into(),
        s,
        ChartData::series(
            cats(&[
                "Credit card",
                "Debit card",
                "PayPal",
                "Apple Pay",
                "Gift card",
                "Cash on delivery",
            ]),
            vec![Series::new(
                "Orders",
                vec![
                    Some(48_210.0),
                    Some(22_940.0),
                    Some(15_380.0),
                    Some(9_120.0),
                    Some(2_310.0),
                    Some(640.0),
                ],
            )],
        ),
    ));

    // Big numbers: revenue up, return rate down.
    let mut s = spec("Revenue this month", ChartKind::BigNumber);
    s.y_format = Some("$,.0f".into());
    let trend: Vec<f64> = online
        .iter()
        .zip(&store)
        .map(|(a, b)| a.unwrap_or(0.0) + b.unwrap_or(0.0))
        .collect();
    out.push((
        "big_number_revenue".into(),
        s,
        ChartData::big_number(BigNumber {
            value: trend.last().copied(),
            trendline: trend.clone(),
            previous: trend.get(trend.len().saturating_sub(2)).copied(),
            comparison_label: Some("vs last month".into()),
        }),
    ));
    let mut s = spec("Return rate", ChartKind::BigNumber);
    s.y_format = Some(".1%".into());
    out.push((
        "big_number_return_rate".into(),
        s,
        ChartData::big_number(BigNumber {
            value: Some(0.064),
            trendline: vec![0.071, 0.069, 0.073, 0.070, 0.068, 0.066, 0.067, 0.064],
            previous: Some(0.067),
            comparison_label: Some("vs last quarter".into()),
        }),
    ));

    // Recent orders table.
    let customers = [
        "Ava Thompson",
        "Liam Garcia",
        "Noah Müller",
        "Emma Rossi",
        "Olivia Chen",
        "Lucas Martin",
        "Mia Johansson",
        "Ethan O'Brien",
        "Sofia Alvarez",
        "Mason Patel",
    ];
    let rows: Vec<Vec<serde_json::Value>> = (0..42)
        .map(|i| {
            let day = start + Duration::days(1000 - i as i64);
            vec![
                json!(100_245 + i * 7),
                json!(customers[i % customers.len()]),
                json!(regions[i % 4]),
                json!(day.format("%Y-%m-%d").to_string()),
                json!(1 + (i * 7) % 9),
                json!((20.0 + noise.next() * 1800.0 * 100.0).round() / 100.0),
                if i % 9 == 4 {
                    serde_json::Value::Null
                } else {
                    json!(["Standard", "Express", "Pickup"][i % 3])
                },
            ]
        })
        .collect();
    let s = spec("Recent orders", ChartKind::Table);
    out.push((
        "table_recent_orders".into(),
        s,
        ChartData::table(TableData {
            columns: [
                "Order ID", "Customer", "Region", "Date", "Items", "Total", "Shipping",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            rows,
            index_columns: 0,
        }),
    ));

    // Pivot: revenue by region and quarter.
    let mut s = spec("Revenue by region and quarter", ChartKind::Pivot);
    s.y_format = Some("$,.0f".into());
    s.x_title = Some("Region".into());
    let pivot_rows: Vec<Vec<serde_json::Value>> = regions
        .iter()
        .enumerate()
        .map(|(r, name)| {
            let mut row = vec![json!(name)];
            let values: Vec<f64> = (0..4)
                .map(|q| region_series[r].values[q].unwrap_or(0.0))
                .collect();
            row.extend(values.iter().map(|v| json!(v)));
            row.push(json!(values.iter().sum::<f64>()));
            row
        })
        .collect();
    out.push((
        "pivot_region_quarter".into(),
        s,
        ChartData::table(TableData {
            columns: [
                "Region", "Q1 2024", "Q2 2024", "Q3 2024", "Q4 2024", "Total",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            rows: pivot_rows,
            index_columns: 1,
        }),
    ));

    // Nothing to show.
    out.push((
        "empty_no_data".into(),
        spec("Returns by carrier", ChartKind::Bar),
        ChartData::series(XAxis::Categories(Vec::new()), Vec::new()),
    ));

    // The kinds beyond xy, pie, big number and tables.
    let stages = cats(&[
        "Visited",
        "Signed up",
        "Added to cart",
        "Checked out",
        "Paid",
    ]);
    out.push((
        "funnel_checkout".into(),
        spec("Checkout funnel", ChartKind::Funnel),
        ChartData::series(
            stages,
            vec![Series::new(
                "sessions",
                vec![
                    Some(48_200.0),
                    Some(12_950.0),
                    Some(7_310.0),
                    Some(4_020.0),
                    Some(3_585.0),
                ],
            )],
        ),
    ));
    let categories = [
        "Electronics",
        "Home & Garden",
        "Clothing",
        "Sports",
        "Toys",
        "Books",
        "Beauty",
        "Grocery",
        "Automotive",
        "Office",
    ];
    out.push((
        "treemap_categories".into(),
        {
            let mut s = spec("Revenue by category", ChartKind::Treemap);
            s.y_format = Some("$,.0f".into());
            s
        },
        ChartData::series(
            cats(&categories),
            vec![Series::new(
                "revenue",
                [
                    412e3, 288e3, 231e3, 164e3, 120e3, 96e3, 71e3, 52e3, 33e3, 18e3,
                ]
                .iter()
                .map(|v| Some(*v))
                .collect(),
            )],
        ),
    ));
    out.push((
        "waterfall_quarters".into(),
        {
            let mut s = spec("Profit bridge", ChartKind::Waterfall);
            s.y_format = Some("$,.0f".into());
            s.x_title = Some("Quarter".into());
            s.y_title = Some("Profit".into());
            s
        },
        ChartData::series(
            cats(&[
                "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2",
            ]),
            vec![Series::new(
                "profit",
                vec![
                    Some(120e3),
                    Some(45e3),
                    Some(-30e3),
                    Some(80e3),
                    Some(-12e3),
                    Some(64e3),
                ],
            )],
        ),
    ));
    out.push((
        "mixed_revenue_orders".into(),
        {
            let mut s = spec("Revenue and orders by month", ChartKind::Bar);
            s.y_format = Some("$,.0f".into());
            s.x_title = Some("Month".into());
            s.y_title = Some("Revenue".into());
            s.secondary = Some(SecondaryAxis {
                metrics: 1,
                of: 2,
                kind: ChartKind::Line,
                y_title: Some("Orders".into()),
                y_format: Some(",d".into()),
            });
            s
        },
        {
            let mut rng = Noise(41);
            let months: Vec<NaiveDateTime> = (1..=12).map(|m| month(2024, m)).collect();
            let revenue = (0..12)
                .map(|i| Some(180e3 + 9e3 * f64::from(i) + rng.around(25e3)))
                .collect();
            let orders = (0..12)
                .map(|i| Some((2_400.0 + 60.0 * f64::from(i) + rng.around(300.0)).round()))
                .collect();
            ChartData::series(
                XAxis::Time(months),
                vec![
                    Series::new("revenue", revenue),
                    Series::new("orders", orders),
                ],
            )
        },
    ));
    out.push((
        "gauge_order_value".into(),
        {
            let mut s = spec("Average order value", ChartKind::Gauge);
            s.y_format = Some("$,.2f".into());
            s.range = Some((0.0, Some(1000.0)));
            s
        },
        ChartData::big_number(BigNumber {
            value: Some(734.25),
            trendline: Vec::new(),
            previous: None,
            comparison_label: None,
        }),
    ));
    let regions = ["Central", "East", "North", "South", "West"];
    out.push((
        "heatmap_region_category".into(),
        {
            let mut s = spec("Revenue by region and category", ChartKind::Heatmap);
            s.y_format = Some("$,.0f".into());
            s.x_title = Some("Category".into());
            s.y_title = Some("Region".into());
            s
        },
        ChartData::series(
            cats(&categories[..6]),
            regions
                .iter()
                .map(|r| {
                    Series::new(
                        *r,
                        (0..6)
                            .map(|_| Some((1.0 + noise.around(0.6)) * 80_000.0))
                            .collect(),
                    )
                })
                .collect(),
        ),
    ));
    out.push((
        "box_plot_channels".into(),
        {
            let mut s = spec("Order value by channel", ChartKind::BoxPlot);
            s.y_format = Some("$,.0f".into());
            s.x_title = Some("Channel".into());
            s.y_title = Some("Order value".into());
            s
        },
        ChartData::series(
            cats(&["online", "phone", "store"]),
            vec![
                Series::new("lower whisker", vec![Some(4.0), Some(12.0), Some(2.0)]),
                Series::new("q1", vec![Some(38.0), Some(55.0), Some(21.0)]),
                Series::new("median", vec![Some(72.0), Some(96.0), Some(44.0)]),
                Series::new("q3", vec![Some(131.0), Some(170.0), Some(88.0)]),
                Series::new("upper whisker", vec![Some(270.0), Some(340.0), Some(190.0)]),
            ],
        ),
    ));

    // The same revenue chart small and large.
    for (stem, w, h) in [
        ("line_revenue_400x300", 400, 300),
        ("line_revenue_1600x1200", 1600, 1200),
    ] {
        if let Some((_, s, d)) = out.first() {
            let mut s = s.clone();
            s.width = w;
            s.height = h;
            out.push((stem.into(), s, d.clone()));
        }
    }
    if let Some((_, s, d)) = out.iter().find(|(n, _, _)| n == "bar_grouped_by_region") {
        let mut s = s.clone();
        s.width = 400;
        s.height = 300;
        out.push(("bar_grouped_400x300".into(), s, d.clone()));
    }
    out
}

/// A dashboard of several gallery charts on the 12-column grid, with a header, a markdown
/// note and a divider.
pub fn dashboard() -> Vec<(Placement, Tile)> {
    let g = gallery();
    let pick = |name: &str| {
        g.iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, s, d)| (s.clone(), d.clone()))
    };
    let layout = [
        (
            "big_number_revenue",
            Placement {
                x: 0,
                y: 0,
                w: 4,
                h: 5,
            },
        ),
        (
            "big_number_return_rate",
            Placement {
                x: 4,
                y: 0,
                w: 4,
                h: 5,
            },
        ),
        (
            "donut_payment_methods",
            Placement {
                x: 8,
                y: 0,
                w: 4,
                h: 5,
            },
        ),
        (
            "line_revenue_by_channel",
            Placement {
                x: 0,
                y: 5,
                w: 8,
                h: 8,
            },
        ),
        (
            "bar_horizontal_top_products",
            Placement {
                x: 8,
                y: 5,
                w: 4,
                h: 8,
            },
        ),
        (
            "bar_stacked_units",
            Placement {
                x: 0,
                y: 13,
                w: 6,
                h: 7,
            },
        ),
        (
            "pivot_region_quarter",
            Placement {
                x: 6,
                y: 13,
                w: 6,
                h: 7,
            },
        ),
    ];
    let at = |x, y, w, h| Placement { x, y, w, h };
    let mut out = vec![(
        at(0, 0, 12, 1),
        Tile::Header {
            text: "Sales at a glance".into(),
            level: 2,
        },
    )];
    out.extend(layout.iter().filter_map(|(name, p)| {
        pick(name).map(|(s, d)| {
            let mut p = *p;
            p.y += 1;
            (p, Tile::chart(s, d))
        })
    }));
    out.push((at(0, 21, 12, 1), Tile::Divider));
    out.push((
        at(0, 22, 6, 6),
        Tile::Markdown(
            "# Notes\nRevenue is **net of returns**; see [the glossary](https://example.com) \
             for how channels are counted.\n\n## Next steps\n- Check the *West* region's \
             return rate\n- Compare Q4 with last year\n  - by channel\n1. Draft the report"
                .into(),
        ),
    ));
    out.push((
        at(6, 22, 6, 6),
        Tile::Markdown(
            "<h2>Data</h2>\n> Orders from the retail warehouse, refreshed nightly.\n\n---\nOwner: `analytics_team`"
                .into(),
        ),
    ));
    out
}

/// Writes every gallery chart as PNG (plus its terminal rendering as `.txt` and its
/// Vega-Lite spec as `.vl.json`) and a dashboard PNG into `dir`; returns the paths.
pub fn write_samples(dir: &Path) -> Result<Vec<PathBuf>, RenderError> {
    let write = |path: PathBuf, bytes: &[u8]| -> Result<PathBuf, RenderError> {
        std::fs::write(&path, bytes).map_err(|source| RenderError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(path)
    };
    std::fs::create_dir_all(dir).map_err(|source| RenderError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut paths = Vec::new();
    for (stem, spec, data) in gallery() {
        paths.push(write(
            dir.join(format!("{stem}.png")),
            &render_png(&spec, &data)?,
        )?);
        let text = match spec.kind {
            ChartKind::Table | ChartKind::Pivot => {
                render_table(&spec, &data, &TableLimits::default())
            }
            _ => render_ascii(&spec, &data, 80, 24),
        };
        paths.push(write(dir.join(format!("{stem}.txt")), text.as_bytes())?);
        let vl = serde_json::to_string_pretty(&vega_lite(&spec, &data)).unwrap_or_default();
        paths.push(write(dir.join(format!("{stem}.vl.json")), vl.as_bytes())?);
    }
    let png = render_dashboard_png("Retail overview — 2024", &[], &dashboard(), 1400)?;
    paths.push(write(dir.join("dashboard_retail.png"), &png)?);
    Ok(paths)
}

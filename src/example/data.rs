//! The bundled example data source: a synthetic retail business (regions, stores, products,
//! customers, orders and order lines over 2024–2025) generated into a SQLite file.
//!
//! Everything about that dataset belongs here: its schema, the generator, and the table and
//! column documentation used to register it as datasets. Nothing else (connections, dataset
//! registration, start-up decisions) does. The word lists the generator draws from (regions
//! and cities, product categories, names, domains) are data, not code: they live in
//! `assets/example/`, are compiled into the binary and parsed when generation starts.
//!
//! The generator is deterministic: a fixed seed, a self-contained PRNG (splitmix64) and only
//! floating-point operations IEEE 754 rounds exactly (`+ - * /`, `sqrt`, `floor`, `round` — no
//! `powf`/`exp`/`ln`, whose last bit varies between platform math libraries). Every install gets
//! the same rows, so documentation and tests can quote real numbers.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{Datelike, NaiveDate, TimeDelta};
use rusqlite::{Connection, OpenFlags, params};

/// Row counts of what was generated.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExampleStats {
    pub regions: u64,
    pub stores: u64,
    pub products: u64,
    pub customers: u64,
    pub orders: u64,
    pub order_lines: u64,
}

/// Documentation of one generated table, for registering it as a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TableDoc {
    pub name: &'static str,
    pub description: &'static str,
    pub columns: &'static [ColumnDoc],
}

/// Documentation of one column; `sql_type` is exactly what `PRAGMA table_info` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ColumnDoc {
    pub name: &'static str,
    pub sql_type: &'static str,
    pub is_temporal: bool,
    pub description: &'static str,
}

/// Changing the seed (or any generation rule) changes every row: bump [`FORMAT_VERSION`] too.
const SEED: u64 = 0x5649_5A49_4552_0001;

/// Stored in `PRAGMA user_version`, so a file from an older generator can be told apart.
const FORMAT_VERSION: i32 = 1;

const FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2024, 1, 1) {
    Some(day) => day,
    None => panic!("2024-01-01 is a valid date"),
};
/// 2024-01-01 ..= 2025-12-31 (2024 is a leap year).
const ORDER_DAYS: i64 = 366 + 365;
const TARGET_ORDERS: f64 = 80_000.0;
const CUSTOMERS: usize = 20_000;
/// Customers who signed up before the order history starts, so 2024 has a customer base.
const EARLY_CUSTOMERS: usize = 6_500;
const PRODUCTS_PER_CATEGORY: usize = 50;

const SCHEMA: &str = "
CREATE TABLE regions (
    region_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    country TEXT NOT NULL
);
CREATE TABLE stores (
    store_id INTEGER PRIMARY KEY,
    region_id INTEGER NOT NULL REFERENCES regions (region_id),
    name TEXT NOT NULL,
    city TEXT NOT NULL,
    opened_on DATE NOT NULL,
    square_meters INTEGER NOT NULL
);
CREATE TABLE products (
    product_id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    subcategory TEXT NOT NULL,
    unit_price REAL NOT NULL,
    unit_cost REAL NOT NULL
);
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    segment TEXT NOT NULL CHECK (segment IN ('Consumer', 'Corporate', 'Home Office')),
    region_id INTEGER NOT NULL REFERENCES regions (region_id),
    signup_date DATE NOT NULL
);
CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
    store_id INTEGER NOT NULL REFERENCES stores (store_id),
    order_date TIMESTAMP NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('store', 'online', 'phone')),
    status TEXT NOT NULL CHECK (status IN ('completed', 'returned', 'cancelled'))
);
CREATE TABLE order_lines (
    order_line_id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders (order_id),
    product_id INTEGER NOT NULL REFERENCES products (product_id),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price REAL NOT NULL,
    discount REAL NOT NULL CHECK (discount BETWEEN 0 AND 0.3),
    line_total REAL NOT NULL
);
";

/// Built after the rows are in: one sort per index is much cheaper than maintaining them per insert.
const INDEXES: &str = "
CREATE INDEX stores_region_id ON stores (region_id);
CREATE INDEX customers_region_id ON customers (region_id);
CREATE INDEX orders_customer_id ON orders (customer_id);
CREATE INDEX orders_store_id ON orders (store_id);
CREATE INDEX orders_order_date ON orders (order_date);
CREATE INDEX order_lines_order_id ON order_lines (order_id);
CREATE INDEX order_lines_product_id ON order_lines (product_id);
";

const fn col(name: &'static str, sql_type: &'static str, description: &'static str) -> ColumnDoc {
    let is_temporal = matches!(sql_type.as_bytes(), b"DATE" | b"TIMESTAMP");
    ColumnDoc {
        name,
        sql_type,
        is_temporal,
        description,
    }
}

static TABLES: &[TableDoc] = &[
    TableDoc {
        name: "regions",
        description: "Sales regions of the example retailer (United States and Canada). \
                      Stores and customers each belong to one region.",
        columns: &[
            col("region_id", "INTEGER", "Primary key."),
            col("name", "TEXT", "Region name, e.g. 'Northeast'."),
            col(
                "country",
                "TEXT",
                "Country of the region: 'United States' or 'Canada'.",
            ),
        ],
    },
    TableDoc {
        name: "stores",
        description: "Physical stores. A few opened during 2024–2025 and only have orders \
                      from their opening date on.",
        columns: &[
            col("store_id", "INTEGER", "Primary key."),
            col(
                "region_id",
                "INTEGER",
                "Region of the store; references regions.region_id.",
            ),
            col("name", "TEXT", "Store name, e.g. 'Boston Downtown'."),
            col("city", "TEXT", "City the store is in."),
            col("opened_on", "DATE", "Opening date (YYYY-MM-DD)."),
            col(
                "square_meters",
                "INTEGER",
                "Sales floor area in square meters.",
            ),
        ],
    },
    TableDoc {
        name: "products",
        description: "Product catalogue: about 300 products in 6 categories, each split into \
                      subcategories. Prices are in US dollars.",
        columns: &[
            col("product_id", "INTEGER", "Primary key."),
            col(
                "sku",
                "TEXT",
                "Unique stock keeping unit, e.g. 'ELE-AUD-0007'.",
            ),
            col("name", "TEXT", "Product name."),
            col(
                "category",
                "TEXT",
                "Top-level category: Electronics, Home & Kitchen, Clothing, \
                 Sports & Outdoors, Beauty or Grocery.",
            ),
            col(
                "subcategory",
                "TEXT",
                "Subcategory within the category, e.g. 'Audio'.",
            ),
            col(
                "unit_price",
                "REAL",
                "Current list price per unit in USD. Order lines record the price actually \
                 charged, which was lower in 2024 for some products.",
            ),
            col(
                "unit_cost",
                "REAL",
                "Cost per unit in USD, for margin analysis.",
            ),
        ],
    },
    TableDoc {
        name: "customers",
        description: "Customers; customer_id increases with signup_date. Some signed up \
                      before 2024, the rest during 2024–2025.",
        columns: &[
            col("customer_id", "INTEGER", "Primary key."),
            col("name", "TEXT", "Full name (synthetic)."),
            col(
                "email",
                "TEXT",
                "Email address (synthetic, on reserved example domains).",
            ),
            col(
                "segment",
                "TEXT",
                "Customer segment: 'Consumer', 'Corporate' or 'Home Office'. Corporate \
                 customers buy larger quantities.",
            ),
            col(
                "region_id",
                "INTEGER",
                "Home region; references regions.region_id.",
            ),
            col(
                "signup_date",
                "DATE",
                "Date the customer signed up (YYYY-MM-DD).",
            ),
        ],
    },
    TableDoc {
        name: "orders",
        description: "Orders from 2024-01-01 to 2025-12-31, with weekly and yearly seasonality \
                      (weekends, Black Friday, December) and gentle growth. order_id increases \
                      with order_date.",
        columns: &[
            col("order_id", "INTEGER", "Primary key."),
            col(
                "customer_id",
                "INTEGER",
                "Ordering customer; references customers.customer_id.",
            ),
            col(
                "store_id",
                "INTEGER",
                "Store credited with the sale; references stores.store_id. Online and phone \
                 orders are credited to a store in the customer's region.",
            ),
            col(
                "order_date",
                "TIMESTAMP",
                "When the order was placed, local time (YYYY-MM-DD HH:MM:SS).",
            ),
            col(
                "channel",
                "TEXT",
                "Sales channel: 'store', 'online' or 'phone'.",
            ),
            col(
                "status",
                "TEXT",
                "'completed' (most orders), 'returned' or 'cancelled'. Filter on \
                 status = 'completed' for net revenue.",
            ),
        ],
    },
    TableDoc {
        name: "order_lines",
        description: "Order line items: one product per line, a few lines per order. Revenue \
                      is the sum of line_total.",
        columns: &[
            col("order_line_id", "INTEGER", "Primary key."),
            col(
                "order_id",
                "INTEGER",
                "Order of the line; references orders.order_id.",
            ),
            col(
                "product_id",
                "INTEGER",
                "Product sold; references products.product_id.",
            ),
            col("quantity", "INTEGER", "Units sold (at least 1)."),
            col(
                "unit_price",
                "REAL",
                "Price per unit charged, in USD, before discount.",
            ),
            col(
                "discount",
                "REAL",
                "Discount rate from 0 to 0.3 in steps of 0.05 (0.1 means 10% off).",
            ),
            col(
                "line_total",
                "REAL",
                "Revenue of the line in USD: quantity * unit_price * (1 - discount), rounded \
                 half up to the cent.",
            ),
        ],
    },
];

/// Table and column descriptions for registering datasets; matches the generated schema exactly.
pub fn tables() -> &'static [TableDoc] {
    TABLES
}

/// Generate the retail example into `path` (written to a temporary file beside it, then renamed
/// into place, so a crash never leaves a half-written file). Same seed, same bytes of data:
/// deterministic. Creates the parent directory if needed.
pub fn generate(path: &Path) -> Result<ExampleStats> {
    let started = Instant::now();
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating directory {}", dir.display()))?;
    }
    let tmp = temp_path(path)?;
    // A previous run may have crashed mid-way with our pid reused; SQLite would append to it.
    remove_if_exists(&tmp)?;
    let result = write_database(&tmp).and_then(|stats| {
        publish(&tmp, path)?;
        Ok(stats)
    });
    match result {
        Ok(stats) => {
            // Debug only: the caller decides how to report a (re)generation.
            tracing::debug!(
                path = %path.display(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                ?stats,
                "generated example retail data"
            );
            Ok(stats)
        }
        Err(err) => {
            if let Err(cleanup) = remove_if_exists(&tmp) {
                tracing::warn!(path = %tmp.display(), error = %cleanup, "leaving partial example file");
            }
            Err(err)
        }
    }
}

/// The row counts of the example file at `path`, generating it first when it is missing or
/// not whole.
pub fn ensure(path: &Path) -> Result<ExampleStats> {
    if let Some(stats) = whole(path) {
        return Ok(stats);
    }
    let started = Instant::now();
    let stats = generate(path)?;
    tracing::info!(
        path = %path.display(),
        order_lines = stats.order_lines,
        duration_ms = started.elapsed().as_millis() as u64,
        "generated the example data"
    );
    Ok(stats)
}

/// The row counts of the example file at `path` when it exists and is whole; None when it
/// has to be generated.
pub fn whole(path: &Path) -> Option<ExampleStats> {
    stats(path).ok().filter(|s| s.order_lines > 0)
}

/// Count rows of an existing example file (opened read-only) — used on later starts to check it
/// is whole.
pub fn stats(path: &Path) -> Result<ExampleStats> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening example data {}", path.display()))?;
    let count = |table: &str| -> Result<u64> {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .with_context(|| format!("counting {table} in {}", path.display()))?;
        u64::try_from(n).context("negative row count")
    };
    Ok(ExampleStats {
        regions: count("regions")?,
        stores: count("stores")?,
        products: count("products")?,
        customers: count("customers")?,
        orders: count("orders")?,
        order_lines: count("order_lines")?,
    })
}

/// Beside the target (so the rename stays on one file system), unique per process and call (so
/// concurrent generations never write into the same file).
fn temp_path(path: &Path) -> Result<PathBuf> {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .with_context(|| format!("example data path {} has no file name", path.display()))?;
    Ok(path.with_file_name(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    )))
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(err).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Generation runs with `synchronous=OFF`, so the bytes must be made durable before the rename
/// makes them visible under the real name.
fn publish(tmp: &Path, path: &Path) -> Result<()> {
    fs::File::open(tmp)
        .and_then(|file| file.sync_all())
        .with_context(|| format!("syncing {}", tmp.display()))?;
    fs::rename(tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        fs::File::open(dir)
            .and_then(|dir| dir.sync_all())
            .with_context(|| format!("syncing directory {}", dir.display()))?;
    }
    Ok(())
}

fn write_database(path: &Path) -> Result<ExampleStats> {
    let mut conn =
        Connection::open(path).with_context(|| format!("creating {}", path.display()))?;
    // No journal and no fsync while filling: the file is private until renamed, and a failure
    // throws it away anyway. SQLite's default page cache (2 MB), not a bigger one: SQLite
    // allocates through the C library, which can keep memory freed after large blocks, and
    // with an 8 MB cache a first start often kept ~10 MB more for good (index builds sort
    // in buffers the size of the cache).
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -2000;",
    )
    .context("setting generation pragmas")?;
    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA)
        .context("creating example schema")?;
    let stats = fill(&tx)?;
    tx.execute_batch(INDEXES)
        .context("creating example indexes")?;
    tx.execute_batch("ANALYZE")
        .context("analyzing example data")?;
    tx.commit().context("committing example data")?;
    conn.execute_batch(&format!(
        "PRAGMA user_version = {FORMAT_VERSION}; PRAGMA journal_mode = DELETE;"
    ))
    .context("finishing example data")?;
    conn.close()
        .map_err(|(_, err)| err)
        .with_context(|| format!("closing {}", path.display()))?;
    Ok(stats)
}

// ---------------------------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------------------------

/// splitmix64: tiny, fast and fully specified, so the data never depends on a crate's version.
struct Rng(u64);

impl Rng {
    /// Each table draws from its own stream, so changing how one table is generated does not
    /// reshuffle the others.
    fn stream(stream: u64) -> Self {
        let mut rng = Rng(SEED ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.next_u64();
        rng
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits (exactly representable).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n) by multiply-shift (no modulo bias worth mentioning at these sizes).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Sampling by cumulative weights and binary search.
struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Weighted { cumulative }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.unit() * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len().saturating_sub(1))
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Retail "charm" pricing: 7.99, 49.99, 249.99.
fn charm_price(x: f64) -> f64 {
    if x < 100.0 {
        round2(x.floor().max(1.0) + 0.99)
    } else {
        round2((x / 10.0).floor() * 10.0 + 9.99)
    }
}

fn day_date(day: i64) -> Result<NaiveDate> {
    FIRST_DAY
        .checked_add_signed(TimeDelta::days(day))
        .with_context(|| format!("day {day} out of range"))
}

fn date_text(date: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

// ---------------------------------------------------------------------------------------------
// Word lists
// ---------------------------------------------------------------------------------------------

/// The bundled word lists (`assets/example/`), compiled into the binary: generation never
/// reads a file or the network for them. Tables are comma-separated with a header line, a
/// field that holds a list separates its items with `|`; plain lists have one item a line.
/// No value holds a comma or a bar, so there is no quoting. Numbers are parsed as Rust
/// parses its own literals (correctly rounded), so the generated rows do not depend on where
/// the numbers are written.
mod asset {
    pub const REGIONS: &str = include_str!("../../assets/example/regions.csv");
    pub const CATEGORIES: &str = include_str!("../../assets/example/categories.csv");
    pub const SUBCATEGORIES: &str = include_str!("../../assets/example/subcategories.csv");
    pub const SEGMENTS: &str = include_str!("../../assets/example/segments.csv");
    pub const STORE_SUFFIXES: &str = include_str!("../../assets/example/store_suffixes.txt");
    pub const FIRST_NAMES: &str = include_str!("../../assets/example/first_names.txt");
    pub const LAST_NAMES: &str = include_str!("../../assets/example/last_names.txt");
    pub const CONSUMER_DOMAINS: &str = include_str!("../../assets/example/consumer_domains.txt");
    /// Companies on the reserved `.example` top-level domain.
    pub const COMPANY_DOMAINS: &str = include_str!("../../assets/example/company_domains.txt");
}

/// What the generator draws names, places and proportions from.
struct WordLists {
    regions: Vec<RegionSpec>,
    store_suffixes: Vec<&'static str>,
    categories: Vec<CategorySpec>,
    first_names: Vec<&'static str>,
    last_names: Vec<&'static str>,
    consumer_domains: Vec<&'static str>,
    company_domains: Vec<&'static str>,
    /// Customer segments and their shares.
    segments: Vec<(&'static str, f64)>,
}

struct RegionSpec {
    name: &'static str,
    country: &'static str,
    /// The first city gets the region's flagship store.
    cities: Vec<&'static str>,
    stores: usize,
    /// The last this many stores of the region open during the order history.
    new_stores: usize,
}

struct SubcategorySpec {
    name: &'static str,
    code: &'static str,
    min_price: f64,
    max_price: f64,
    nouns: Vec<&'static str>,
}

struct CategorySpec {
    name: &'static str,
    code: &'static str,
    brands: Vec<&'static str>,
    descriptors: Vec<&'static str>,
    /// Most units one line of this category usually has.
    max_quantity: usize,
    /// Demand multiplier per month (January first).
    season: [f64; 12],
    subcategories: Vec<SubcategorySpec>,
}

impl WordLists {
    /// Parses the bundled lists. An error here is a broken asset, caught by the tests.
    fn load() -> Result<Self> {
        let regions = records(
            "regions.csv",
            asset::REGIONS,
            "name,country,stores,new_stores,cities",
        )?
        .into_iter()
        .map(|(line, f)| {
            Ok(RegionSpec {
                name: f[0],
                country: f[1],
                stores: number("regions.csv", line, f[2])?,
                new_stores: number("regions.csv", line, f[3])?,
                cities: items(f[4]),
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let mut categories = records(
            "categories.csv",
            asset::CATEGORIES,
            "name,code,max_quantity,season,brands,descriptors",
        )?
        .into_iter()
        .map(|(line, f)| {
            let season: Vec<f64> = items(f[3])
                .into_iter()
                .map(|v| number("categories.csv", line, v))
                .collect::<Result<_>>()?;
            Ok(CategorySpec {
                name: f[0],
                code: f[1],
                max_quantity: number("categories.csv", line, f[2])?,
                season: season.try_into().map_err(|season: Vec<f64>| {
                    anyhow::anyhow!(
                        "categories.csv line {line}: {} monthly factors, not 12",
                        season.len()
                    )
                })?,
                brands: items(f[4]),
                descriptors: items(f[5]),
                subcategories: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
        for (line, f) in records(
            "subcategories.csv",
            asset::SUBCATEGORIES,
            "category,name,code,min_price,max_price,nouns",
        )? {
            let Some(category) = categories.iter_mut().find(|c| c.name == f[0]) else {
                bail!("subcategories.csv line {line}: no category {:?}", f[0]);
            };
            category.subcategories.push(SubcategorySpec {
                name: f[1],
                code: f[2],
                min_price: number("subcategories.csv", line, f[3])?,
                max_price: number("subcategories.csv", line, f[4])?,
                nouns: items(f[5]),
            });
        }
        let segments = records("segments.csv", asset::SEGMENTS, "name,weight")?
            .into_iter()
            .map(|(line, f)| Ok((f[0], number("segments.csv", line, f[1])?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            regions,
            store_suffixes: lines(asset::STORE_SUFFIXES),
            categories,
            first_names: lines(asset::FIRST_NAMES),
            last_names: lines(asset::LAST_NAMES),
            consumer_domains: lines(asset::CONSUMER_DOMAINS),
            company_domains: lines(asset::COMPANY_DOMAINS),
            segments,
        })
    }
}

/// The records of a bundled table after its header (which must be `header`), each with its
/// line number and exactly as many fields as the header.
fn records(
    file: &str,
    text: &'static str,
    header: &str,
) -> Result<Vec<(usize, Vec<&'static str>)>> {
    let mut rows = text.lines().enumerate().filter(|(_, l)| !l.is_empty());
    if rows.next().map(|(_, l)| l) != Some(header) {
        bail!("{file}: the header is not {header:?}");
    }
    let width = header.split(',').count();
    rows.map(|(i, l)| {
        let fields: Vec<&'static str> = l.split(',').collect();
        if fields.len() != width {
            bail!(
                "{file} line {}: {} fields, not {width}",
                i + 1,
                fields.len()
            );
        }
        Ok((i + 1, fields))
    })
    .collect()
}

/// The items of a list field.
fn items(field: &'static str) -> Vec<&'static str> {
    field.split('|').collect()
}

/// The non-empty lines of a plain list.
fn lines(text: &'static str) -> Vec<&'static str> {
    text.lines().filter(|l| !l.is_empty()).collect()
}

fn number<T: std::str::FromStr>(file: &str, line: usize, field: &str) -> Result<T> {
    field
        .parse()
        .map_err(|_| anyhow::anyhow!("{file} line {line}: {field:?} is not a number"))
}

/// Lines per order: 1..=8, averaging about three.
const LINES_PER_ORDER: [f64; 8] = [22.0, 24.0, 20.0, 14.0, 9.0, 6.0, 3.0, 2.0];
/// Relative frequency of the discount steps 0.05, 0.10, ..., 0.30 when a line is discounted.
const DISCOUNT_STEPS: [f64; 6] = [30.0, 25.0, 18.0, 12.0, 9.0, 6.0];
const WEEKDAY_FACTOR: [f64; 7] = [0.86, 0.84, 0.9, 0.96, 1.1, 1.38, 1.2];
const MONTH_FACTOR: [f64; 12] = [
    0.84, 0.8, 0.92, 0.95, 1.0, 1.0, 0.97, 1.02, 0.95, 1.0, 1.3, 1.55,
];
/// Store orders by hour from 09:00 to 20:59.
const STORE_HOURS: (u32, [f64; 12]) = (
    9,
    [0.5, 0.8, 1.0, 1.3, 1.3, 1.1, 1.0, 1.1, 1.3, 1.4, 1.1, 0.6],
);
/// Phone orders by hour from 08:00 to 19:59.
const PHONE_HOURS: (u32, [f64; 12]) = (
    8,
    [0.6, 1.0, 1.2, 1.2, 1.0, 1.1, 1.1, 1.0, 0.9, 0.8, 0.6, 0.4],
);
/// Online orders by hour from midnight, peaking in the evening.
const ONLINE_HOURS: [f64; 24] = [
    0.3, 0.2, 0.12, 0.08, 0.08, 0.12, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.0, 0.95, 0.95, 1.0, 1.1,
    1.3, 1.5, 1.6, 1.5, 1.1, 0.6,
];

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

struct Store {
    region: usize,
    opened_day: i64,
    square_meters: i64,
}

struct Product {
    category: usize,
    price: f64,
    /// Some prices went up on 2025-01-01; 2024 order lines use the old one.
    price_2024: f64,
    popularity: f64,
}

struct Customer {
    region: usize,
    corporate: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Channel {
    Store,
    Online,
    Phone,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Channel::Store => "store",
            Channel::Online => "online",
            Channel::Phone => "phone",
        }
    }
}

fn fill(conn: &Connection) -> Result<ExampleStats> {
    let words = WordLists::load()?;
    insert_regions(conn, &words)?;
    let stores = insert_stores(conn, &words)?;
    let products = insert_products(conn, &words)?;
    let (customers, signup_days) = insert_customers(conn, &words)?;
    let (orders, order_lines) =
        insert_orders(conn, &words, &stores, &products, &customers, &signup_days)?;
    Ok(ExampleStats {
        regions: words.regions.len() as u64,
        stores: stores.len() as u64,
        products: products.len() as u64,
        customers: customers.len() as u64,
        orders,
        order_lines,
    })
}

fn insert_regions(conn: &Connection, words: &WordLists) -> Result<()> {
    let mut insert = conn.prepare("INSERT INTO regions VALUES (?1, ?2, ?3)")?;
    for (i, region) in words.regions.iter().enumerate() {
        insert
            .execute(params![i as i64 + 1, region.name, region.country])
            .context("inserting region")?;
    }
    Ok(())
}

fn insert_stores(conn: &Connection, words: &WordLists) -> Result<Vec<Store>> {
    let mut rng = Rng::stream(1);
    let mut names = HashSet::new();
    let mut rows = Vec::new();
    for (region, spec) in words.regions.iter().enumerate() {
        for k in 0..spec.stores {
            let city = if k == 0 {
                spec.cities[0]
            } else {
                *rng.pick(&spec.cities)
            };
            let mut name = String::new();
            for _ in 0..100 {
                name = format!("{city} {}", rng.pick(&words.store_suffixes));
                if !names.contains(&name) {
                    break;
                }
            }
            names.insert(name.clone());
            let opened_day = if k + spec.new_stores >= spec.stores {
                60 + rng.below(640) as i64
            } else if k == 0 {
                // The flagship predates everything, so every region can always take an order.
                -5800 + rng.below(1500) as i64
            } else {
                -5800 + rng.below(5700) as i64
            };
            let u = rng.unit();
            let mut square_meters = 400.0 + 2800.0 * u * u;
            if k == 0 {
                square_meters += 1200.0;
            }
            let square_meters = ((square_meters / 10.0).round() * 10.0) as i64;
            rows.push((
                opened_day,
                name,
                city,
                Store {
                    region,
                    opened_day,
                    square_meters,
                },
            ));
        }
    }
    // Store ids follow opening order, as a real system would assign them.
    rows.sort_by_key(|row| row.0);
    let mut insert = conn.prepare("INSERT INTO stores VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    let mut stores = Vec::with_capacity(rows.len());
    for (i, (opened_day, name, city, store)) in rows.into_iter().enumerate() {
        insert
            .execute(params![
                i as i64 + 1,
                store.region as i64 + 1,
                name,
                city,
                date_text(day_date(opened_day)?),
                store.square_meters
            ])
            .context("inserting store")?;
        stores.push(store);
    }
    Ok(stores)
}

fn insert_products(conn: &Connection, words: &WordLists) -> Result<Vec<Product>> {
    let mut rng = Rng::stream(2);
    let mut insert = conn.prepare("INSERT INTO products VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
    let mut products = Vec::new();
    for (category, spec) in words.categories.iter().enumerate() {
        let mut names = HashSet::new();
        for n in 0..PRODUCTS_PER_CATEGORY {
            let subcategory = &spec.subcategories[n % spec.subcategories.len()];
            let mut name = String::new();
            for attempt in 0..100 {
                name = format!(
                    "{} {} {}",
                    rng.pick(&spec.brands),
                    rng.pick(&spec.descriptors),
                    rng.pick(&subcategory.nouns)
                );
                if attempt == 99 {
                    name = format!("{name} {}", n + 1);
                }
                if !names.contains(&name) {
                    break;
                }
            }
            names.insert(name.clone());
            // Squaring skews prices towards the cheap end of the range, as in real assortments.
            let u = rng.unit();
            let price = charm_price(
                subcategory.min_price + (subcategory.max_price - subcategory.min_price) * u * u,
            );
            let price_2024 = if rng.chance(0.4) {
                charm_price(price * (0.9 + 0.06 * rng.unit()))
            } else {
                price
            };
            let cost = round2(price * (0.4 + 0.3 * rng.unit()));
            // Heavy-tailed popularity, cheaper products selling more often.
            let p = rng.unit();
            let popularity = (0.08 + p * p * p) / (price / 40.0 + 1.0).sqrt();
            let id = products.len() as i64 + 1;
            insert
                .execute(params![
                    id,
                    format!("{}-{}-{id:04}", spec.code, subcategory.code),
                    name,
                    spec.name,
                    subcategory.name,
                    price,
                    cost
                ])
                .context("inserting product")?;
            products.push(Product {
                category,
                price,
                price_2024,
                popularity,
            });
        }
    }
    Ok(products)
}

fn insert_customers(conn: &Connection, words: &WordLists) -> Result<(Vec<Customer>, Vec<i64>)> {
    let mut rng = Rng::stream(3);
    // Signup days first, sorted, so customer ids increase with signup date.
    let mut days: Vec<i64> = (0..CUSTOMERS)
        .map(|i| {
            let u = rng.unit();
            if i < EARLY_CUSTOMERS {
                // Five years before the history starts, more of them recently.
                -1826 + (1826.0 * u.sqrt()) as i64
            } else if rng.chance(0.5) {
                (ORDER_DAYS as f64 * u) as i64
            } else {
                (ORDER_DAYS as f64 * u.sqrt()) as i64
            }
        })
        .collect();
    days.sort_unstable();

    let region_weights = Weighted::new(words.regions.iter().map(|r| r.stores as f64));
    let segment_weights = Weighted::new(words.segments.iter().map(|s| s.1));
    let mut insert = conn.prepare("INSERT INTO customers VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    let mut customers = Vec::with_capacity(CUSTOMERS);
    for (i, &day) in days.iter().enumerate() {
        let id = i as i64 + 1;
        let first = *rng.pick(&words.first_names);
        let last = *rng.pick(&words.last_names);
        let segment = segment_weights.sample(&mut rng);
        let corporate = words.segments[segment].0 == "Corporate";
        let domain = if corporate {
            *rng.pick(&words.company_domains)
        } else {
            *rng.pick(&words.consumer_domains)
        };
        let local: String = format!("{first}.{last}")
            .chars()
            .filter(|c| c.is_ascii_alphabetic() || *c == '.')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let region = region_weights.sample(&mut rng);
        insert
            .execute(params![
                id,
                format!("{first} {last}"),
                // The id keeps addresses unique across namesakes.
                format!("{local}{id}@{domain}"),
                words.segments[segment].0,
                region as i64 + 1,
                date_text(day_date(day)?)
            ])
            .context("inserting customer")?;
        customers.push(Customer { region, corporate });
    }
    Ok((customers, days))
}

/// Day-level calendar effects, from day 0 = 2024-01-01.
struct DayInfo {
    weight: f64,
    store_closed: bool,
    promo: bool,
    cyber_monday: bool,
}

fn calendar() -> Result<Vec<DayInfo>> {
    let mut days = Vec::with_capacity(ORDER_DAYS as usize);
    for day in 0..ORDER_DAYS {
        let date = day_date(day)?;
        let (month, dom) = (date.month(), date.day());
        // Black Friday: the day after the fourth Thursday of November.
        let black_friday = if month == 11 {
            let nov1 = day_date(day - i64::from(dom) + 1)?;
            let first_thursday = 1 + (10 - nov1.weekday().num_days_from_monday()) % 7;
            first_thursday + 22
        } else {
            0
        };
        let special = match (month, dom) {
            (11, d) if d == black_friday => 2.4,
            (11, d) if d == black_friday + 1 => 1.5,
            (11, d) if d == black_friday + 3 => 1.8,
            (12, 24) => 0.7,
            (12, 25) => 0.3,
            (12, 26) => 1.6,
            (1, 1) => 0.45,
            _ => 1.0,
        };
        let growth = 1.0 + 0.28 * day as f64 / (ORDER_DAYS - 1) as f64;
        let weight = WEEKDAY_FACTOR[date.weekday().num_days_from_monday() as usize]
            * MONTH_FACTOR[month as usize - 1]
            * growth
            * special;
        days.push(DayInfo {
            weight,
            store_closed: matches!((month, dom), (12, 25) | (1, 1)),
            promo: (month == 11 && dom >= black_friday && black_friday > 0)
                || (month == 12 && dom >= 26)
                || (month == 1 && dom <= 7),
            cyber_monday: month == 11 && dom == black_friday + 3,
        });
    }
    Ok(days)
}

fn insert_orders(
    conn: &Connection,
    words: &WordLists,
    stores: &[Store],
    products: &[Product],
    customers: &[Customer],
    signup_days: &[i64],
) -> Result<(u64, u64)> {
    let mut day_rng = Rng::stream(4);
    let mut rng = Rng::stream(5);
    let days = calendar()?;
    let total_weight: f64 = days.iter().map(|d| d.weight).sum();

    let by_month: Vec<Weighted> = (0..12)
        .map(|m| {
            Weighted::new(
                products
                    .iter()
                    .map(|p| p.popularity * words.categories[p.category].season[m]),
            )
        })
        .collect();
    let lines_per_order = Weighted::new(LINES_PER_ORDER);
    let discount_steps = Weighted::new(DISCOUNT_STEPS);
    let store_hours = Weighted::new(STORE_HOURS.1);
    let phone_hours = Weighted::new(PHONE_HOURS.1);
    let online_hours = Weighted::new(ONLINE_HOURS);
    let mut stores_by_region: Vec<Vec<usize>> = vec![Vec::new(); words.regions.len()];
    for (i, store) in stores.iter().enumerate() {
        stores_by_region[store.region].push(i);
    }

    let mut insert_order = conn.prepare("INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    let mut insert_line =
        conn.prepare("INSERT INTO order_lines VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
    let mut order_id: i64 = 0;
    let mut line_id: i64 = 0;
    let mut eligible = 0usize;
    let mut todays: Vec<(u32, Channel)> = Vec::new();
    let mut chosen: Vec<usize> = Vec::new();

    for (day, info) in days.iter().enumerate() {
        let day = day as i64;
        let date = day_date(day)?;
        let month = date.month0() as usize;
        let date = date_text(date);
        let expected = info.weight * TARGET_ORDERS / total_weight;
        let count = (expected * (0.88 + 0.24 * day_rng.unit())).round() as usize;
        while eligible < signup_days.len() && signup_days[eligible] <= day {
            eligible += 1;
        }
        if eligible == 0 {
            bail!("no customer has signed up by day {day}");
        }

        // Draw the day's orders first and sort them by time, so order ids follow order_date.
        todays.clear();
        let online_share = 0.34
            + 0.10 * day as f64 / ORDER_DAYS as f64
            + if info.cyber_monday { 0.3 } else { 0.0 };
        for _ in 0..count {
            let x = rng.unit();
            let channel = if x < online_share || (info.store_closed && x < 0.94) {
                Channel::Online
            } else if x >= 0.94 {
                Channel::Phone
            } else {
                Channel::Store
            };
            let hour = match channel {
                Channel::Store => STORE_HOURS.0 + store_hours.sample(&mut rng) as u32,
                Channel::Phone => PHONE_HOURS.0 + phone_hours.sample(&mut rng) as u32,
                Channel::Online => online_hours.sample(&mut rng) as u32,
            };
            todays.push((hour * 3600 + rng.below(3600) as u32, channel));
        }
        todays.sort_unstable();

        for &(second, channel) in &todays {
            // Mostly established customers, some just signed up and placing a first order.
            let customer = if rng.chance(0.15) {
                let recent = eligible.saturating_sub(300);
                recent + rng.below(eligible - recent)
            } else {
                // Linearly decreasing density: the oldest customer orders twice as often as
                // the newest, without a few ids dominating the way a power law would.
                let u = rng.unit();
                ((eligible as f64 * (1.0 - (1.0 - u).sqrt())) as usize).min(eligible - 1)
            };
            let region = customers[customer].region;
            let open = || {
                stores_by_region[region]
                    .iter()
                    .copied()
                    .filter(|&s| stores[s].opened_day <= day)
            };
            let total: f64 = open().map(|s| stores[s].square_meters as f64).sum();
            let mut x = rng.unit() * total;
            let mut store = None;
            for s in open() {
                store = Some(s);
                x -= stores[s].square_meters as f64;
                if x < 0.0 {
                    break;
                }
            }
            let Some(store) = store else {
                bail!("region {region} has no open store on day {day}");
            };
            let s = rng.unit();
            let status = match channel {
                Channel::Store if s < 0.04 => "returned",
                Channel::Store if s < 0.045 => "cancelled",
                Channel::Online if s < 0.08 => "returned",
                Channel::Online if s < 0.12 => "cancelled",
                Channel::Phone if s < 0.05 => "returned",
                Channel::Phone if s < 0.10 => "cancelled",
                _ => "completed",
            };
            order_id += 1;
            insert_order
                .execute(params![
                    order_id,
                    customer as i64 + 1,
                    store as i64 + 1,
                    format!(
                        "{date} {:02}:{:02}:{:02}",
                        second / 3600,
                        second / 60 % 60,
                        second % 60
                    ),
                    channel.as_str(),
                    status
                ])
                .context("inserting order")?;

            let lines = 1 + lines_per_order.sample(&mut rng);
            chosen.clear();
            for _ in 0..lines {
                // Distinct products per order; give up on a line rather than loop forever.
                let Some(product) = (0..20)
                    .map(|_| by_month[month].sample(&mut rng))
                    .find(|p| !chosen.contains(p))
                else {
                    continue;
                };
                chosen.push(product);
                let p = &products[product];
                let extra = words.categories[p.category].max_quantity - 1;
                let u = rng.unit();
                let mut quantity = 1 + extra.min(((extra + 1) as f64 * u * u * u * u) as usize);
                if customers[customer].corporate && rng.chance(0.4) {
                    quantity += 1 + rng.below(4);
                }
                let unit_price = if day < 366 { p.price_2024 } else { p.price };
                let discount_chance = if info.promo { 0.55 } else { 0.22 };
                // Discount in twentieths (steps of 0.05).
                let twentieths = if rng.chance(discount_chance) {
                    discount_steps.sample(&mut rng) as i64 + 1
                } else {
                    0
                };
                // Division is correctly rounded, so k/20 is exactly the literal 0.05·k.
                let discount = twentieths as f64 / 20.0;
                // In whole cents with half-up rounding: binary floating point would round
                // half-cent ties (e.g. 5 × 119.99 × 0.9 = 539.955) differently from SQL's round().
                let exact =
                    (unit_price * 100.0).round() as i64 * quantity as i64 * (20 - twentieths);
                let line_total = ((exact + 10) / 20) as f64 / 100.0;
                line_id += 1;
                insert_line
                    .execute(params![
                        line_id,
                        order_id,
                        product as i64 + 1,
                        quantity as i64,
                        unit_price,
                        discount,
                        line_total
                    ])
                    .context("inserting order line")?;
            }
        }
    }
    Ok((order_id as u64, line_id as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query_i64(conn: &Connection, sql: &str) -> Result<i64> {
        Ok(conn.query_row(sql, [], |row| row.get(0))?)
    }

    #[test]
    fn generated_file_is_complete_and_consistent() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("retail.sqlite");
        let generated = generate(&path)?;

        assert_eq!(stats(&path)?, generated);
        assert_eq!(generated.regions, 6);
        assert_eq!(generated.stores, 40);
        assert_eq!(generated.products, 300);
        assert_eq!(generated.customers, 20_000);
        assert!(generated.orders >= 75_000, "{generated:?}");
        assert!(generated.order_lines >= 200_000, "{generated:?}");

        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        assert_tables_documented(&conn)?;
        let mut fk = conn.prepare("PRAGMA foreign_key_check")?;
        assert!(!fk.exists([])?, "foreign key violations");
        assert_eq!(
            query_i64(&conn, "PRAGMA user_version")?,
            i64::from(FORMAT_VERSION)
        );
        assert_eq!(
            conn.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))?,
            "delete"
        );
        assert_eq!(
            conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))?,
            "ok"
        );

        let checks = [
            // line_total follows its documented formula, exactly (in integer cents and twentieths;
            // SQL round() on doubles treats half-cent ties differently across SQLite versions).
            "SELECT count(*) FROM order_lines \
             WHERE (CAST(round(unit_price * 100) AS INTEGER) * quantity \
                    * (20 - CAST(round(discount * 20) AS INTEGER)) + 10) / 20 \
                   <> CAST(round(line_total * 100) AS INTEGER) \
                OR abs(line_total - quantity * unit_price * (1 - discount)) > 0.0051",
            "SELECT count(*) FROM order_lines \
             WHERE discount < 0 OR discount > 0.3 OR abs(discount * 20 - round(discount * 20)) > 1e-9",
            "SELECT count(*) FROM orders \
             WHERE order_date NOT BETWEEN '2024-01-01 00:00:00' AND '2025-12-31 23:59:59' \
                OR order_date NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]'",
            // Nobody orders before signing up, and no store sells before it opens.
            "SELECT count(*) FROM orders o JOIN customers c USING (customer_id) \
             WHERE c.signup_date > substr(o.order_date, 1, 10)",
            "SELECT count(*) FROM orders o JOIN stores s USING (store_id) \
             WHERE s.opened_on > substr(o.order_date, 1, 10)",
            "SELECT count(*) FROM orders o JOIN customers c USING (customer_id) \
             JOIN stores s USING (store_id) WHERE s.region_id <> c.region_id",
            "SELECT count(*) FROM orders o WHERE NOT EXISTS \
             (SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id)",
            "SELECT count(*) FROM (SELECT order_id, product_id FROM order_lines \
             GROUP BY 1, 2 HAVING count(*) > 1)",
            "SELECT count(*) FROM (SELECT email FROM customers GROUP BY 1 HAVING count(*) > 1)",
            "SELECT count(*) FROM (SELECT name FROM stores GROUP BY 1 HAVING count(*) > 1)",
            "SELECT count(*) FROM products WHERE unit_cost >= unit_price OR unit_price <= 0",
            // Ids increase with time.
            "SELECT count(*) FROM orders a JOIN orders b ON b.order_id = a.order_id + 1 \
             WHERE b.order_date < a.order_date",
        ];
        for sql in checks {
            assert_eq!(query_i64(&conn, sql)?, 0, "{sql}");
        }

        // The seasonality the descriptions promise.
        let orders_in = |pattern: &str| {
            query_i64(
                &conn,
                &format!("SELECT count(*) FROM orders WHERE order_date LIKE '{pattern}%'"),
            )
        };
        assert!(orders_in("2024-12")? > orders_in("2024-02")? * 3 / 2);
        assert!(orders_in("2025-")? > orders_in("2024-")?);
        let weekend_avg = query_i64(
            &conn,
            "SELECT count(*) / 2 FROM orders WHERE strftime('%w', order_date) IN ('0', '6')",
        )?;
        let weekday_avg = query_i64(
            &conn,
            "SELECT count(*) / 5 FROM orders WHERE strftime('%w', order_date) NOT IN ('0', '6')",
        )?;
        assert!(weekend_avg > weekday_avg * 5 / 4);
        let completed = query_i64(
            &conn,
            "SELECT count(*) FROM orders WHERE status = 'completed'",
        )?;
        assert!(completed as u64 > generated.orders * 85 / 100);
        Ok(())
    }

    /// tables() must describe exactly what generate() created: every table, every column, in
    /// order, with the declared type.
    fn assert_tables_documented(conn: &Connection) -> Result<()> {
        let mut actual_tables: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master \
                 WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
            )?
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut documented: Vec<String> = tables().iter().map(|t| t.name.to_owned()).collect();
        actual_tables.sort();
        documented.sort();
        assert_eq!(actual_tables, documented);

        for table in tables() {
            assert!(!table.description.is_empty());
            let actual: Vec<(String, String)> = conn
                .prepare(&format!("PRAGMA table_info({})", table.name))?
                .query_map([], |row| Ok((row.get(1)?, row.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let declared: Vec<(String, String)> = table
                .columns
                .iter()
                .map(|c| (c.name.to_owned(), c.sql_type.to_owned()))
                .collect();
            assert_eq!(actual, declared, "columns of {}", table.name);
            for column in table.columns {
                assert!(
                    !column.description.is_empty(),
                    "{}.{}",
                    table.name,
                    column.name
                );
                assert_eq!(
                    column.is_temporal,
                    matches!(column.sql_type, "DATE" | "TIMESTAMP"),
                    "{}.{}",
                    table.name,
                    column.name
                );
            }
        }
        Ok(())
    }

    #[test]
    fn generation_is_deterministic_and_replaces_atomically() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let a = dir.path().join("a.sqlite");
        let b = dir.path().join("b.sqlite");
        // An existing (here: corrupt) file is replaced whole, not appended to.
        fs::write(&b, b"not a database")?;
        assert!(stats(&b).is_err());

        let stats_a = generate(&a)?;
        let stats_b = generate(&b)?;
        assert_eq!(stats_a, stats_b);
        assert_eq!(fs::read(&a)?, fs::read(&b)?, "generated files differ");

        // Independently of the byte comparison: every row of every table is the same.
        let conn = Connection::open(&a)?;
        conn.execute("ATTACH DATABASE ?1 AS other", [b.to_string_lossy()])?;
        for table in tables() {
            let differing = query_i64(
                &conn,
                &format!(
                    "SELECT count(*) FROM (SELECT * FROM main.{t} EXCEPT SELECT * FROM other.{t})",
                    t = table.name
                ),
            )?;
            assert_eq!(differing, 0, "{}", table.name);
        }
        let sample: (i64, String, f64) = conn.query_row(
            "SELECT count(*), max(order_date), sum(line_total) \
             FROM orders JOIN order_lines USING (order_id)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )?;
        assert!(sample.0 >= 200_000 && sample.1.starts_with("2025-12-31") && sample.2 > 0.0);
        drop(conn);

        let mut names: Vec<String> = fs::read_dir(dir.path())?
            .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_>>()?;
        names.sort();
        assert_eq!(
            names,
            ["a.sqlite", "b.sqlite"],
            "temporary files left behind"
        );
        Ok(())
    }

    #[test]
    fn stats_fails_on_a_missing_file() {
        let path = std::env::temp_dir().join(format!(
            "vizier-example-missing-{}.sqlite",
            std::process::id()
        ));
        assert!(stats(&path).is_err());
        // Opening read-only must not have created it.
        assert!(!path.exists());
    }

    #[test]
    fn rng_is_splitmix64() {
        // Reference outputs of splitmix64 seeded with 0 (Vigna's reference implementation).
        let mut rng = Rng(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn bundled_word_lists_parse_whole() -> Result<()> {
        let words = WordLists::load()?;
        assert_eq!(words.regions.len(), 6);
        assert_eq!(words.regions.iter().map(|r| r.stores).sum::<usize>(), 40);
        let northeast = &words.regions[0];
        assert_eq!(
            (
                northeast.name,
                northeast.country,
                northeast.stores,
                northeast.new_stores
            ),
            ("Northeast", "United States", 9, 1)
        );
        assert_eq!(northeast.cities.first(), Some(&"New York"));
        assert_eq!(words.regions[2].cities[6], "St. Louis");
        assert!(
            words
                .regions
                .iter()
                .all(|r| r.new_stores < r.stores && !r.cities.is_empty())
        );

        assert_eq!(words.categories.len(), 6);
        let names: Vec<&str> = words.categories.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "Electronics",
                "Home & Kitchen",
                "Clothing",
                "Sports & Outdoors",
                "Beauty",
                "Grocery"
            ]
        );
        assert_eq!(
            words
                .categories
                .iter()
                .map(|c| c.subcategories.len())
                .sum::<usize>(),
            25
        );
        let electronics = &words.categories[0];
        assert_eq!((electronics.code, electronics.max_quantity), ("ELE", 2));
        assert_eq!(electronics.season[2], 0.85);
        assert_eq!(electronics.season[11], 1.7);
        assert_eq!(electronics.brands.len(), 8);
        assert_eq!(electronics.descriptors.len(), 10);
        let audio = &electronics.subcategories[0];
        assert_eq!(
            (audio.name, audio.code, audio.min_price, audio.max_price),
            ("Audio", "AUD", 25.0, 350.0)
        );
        assert_eq!(audio.nouns.first(), Some(&"Wireless Headphones"));
        assert_eq!(words.categories[5].max_quantity, 6);
        for category in &words.categories {
            assert!(!category.subcategories.is_empty(), "{}", category.name);
            assert!(
                category
                    .subcategories
                    .iter()
                    .all(|s| s.min_price < s.max_price)
            );
        }

        assert_eq!(words.store_suffixes.len(), 10);
        assert_eq!(words.first_names.len(), 80);
        assert_eq!(words.first_names.first(), Some(&"Olivia"));
        assert_eq!(words.last_names.len(), 70);
        assert_eq!(words.last_names.first(), Some(&"Smith"));
        assert_eq!(
            words.consumer_domains,
            ["example.com", "example.net", "example.org"]
        );
        assert_eq!(words.company_domains.len(), 10);
        assert!(
            words
                .company_domains
                .iter()
                .all(|d| d.ends_with(".example"))
        );
        assert_eq!(
            words.segments,
            [
                ("Consumer", 0.6),
                ("Corporate", 0.25),
                ("Home Office", 0.15)
            ]
        );
        Ok(())
    }

    #[test]
    fn broken_tables_are_refused() {
        assert!(records("x.csv", "a,b\n1,2\n", "a,b").is_ok());
        assert!(records("x.csv", "a,c\n1,2\n", "a,b").is_err());
        assert!(records("x.csv", "a,b\n1,2,3\n", "a,b").is_err());
        assert!(number::<usize>("x.csv", 2, "two").is_err());
    }
}

//! `driver` — the same SQL run straight through the database driver, without vizier: the
//! baseline for execute_sql's added latency (issue 4: under 0.5 ms at p50).
//!
//! ```text
//! cargo bench --bench driver -- (--postgres URL | --sqlite PATH) --sql 'SELECT …' \
//!     [--calls 2000] [--warmup 200]
//! ```
//!
//! One connection, calls one after another (concurrency 1), each the plain use of the
//! driver: PostgreSQL `client.query(sql, &[])` (prepare and execute, two round trips, every
//! value's bytes received); SQLite `prepare_cached` and every value of every row read. Prints
//! calls/s and p50/p95/p99 in ms. Run without arguments it prints a note and exits, so a plain
//! `cargo bench` does not fail.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use tokio_postgres::types::{FromSql, Type};

#[derive(Parser)]
struct Args {
    /// PostgreSQL URL (postgres://user@host:port/db).
    #[arg(long)]
    postgres: Option<String>,
    /// SQLite database file, opened read-only.
    #[arg(long)]
    sqlite: Option<String>,
    #[arg(long)]
    sql: Option<String>,
    #[arg(long, default_value_t = 2000)]
    calls: usize,
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Ignored: `cargo bench` passes it to every bench target.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Any value, kept as the bytes the server sent: receiving, not converting.
struct Raw;

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, _: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw)
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let Some(sql) = args.sql.clone() else {
        eprintln!("driver: nothing to do (give --postgres URL or --sqlite PATH, and --sql)");
        return Ok(());
    };
    if args.calls == 0 {
        bail!("--calls must be at least 1");
    }
    let mut times = match (&args.postgres, &args.sqlite) {
        (Some(url), None) => postgres(url, &sql, &args)?,
        (None, Some(path)) => sqlite(path, &sql, &args)?,
        _ => bail!("give exactly one of --postgres and --sqlite"),
    };
    times.sort();
    let total: Duration = times.iter().sum();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    println!(
        "driver {} calls={} calls/s={:.0} p50={:.3}ms p95={:.3}ms p99={:.3}ms",
        if args.postgres.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        times.len(),
        times.len() as f64 / total.as_secs_f64(),
        at(0.50),
        at(0.95),
        at(0.99),
    );
    Ok(())
}

fn postgres(url: &str, sql: &str, args: &Args) -> Result<Vec<Duration>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .context("connecting to PostgreSQL")?;
        tokio::spawn(connection);
        let mut times = Vec::with_capacity(args.calls);
        for i in 0..args.warmup + args.calls {
            let started = Instant::now();
            let rows = client.query(sql, &[]).await?;
            for row in &rows {
                for c in 0..row.len() {
                    row.try_get::<_, Raw>(c)?;
                }
            }
            if i >= args.warmup {
                times.push(started.elapsed());
            }
        }
        Ok(times)
    })
}

fn sqlite(path: &str, sql: &str, args: &Args) -> Result<Vec<Duration>> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening {path}"))?;
    let mut times = Vec::with_capacity(args.calls);
    for i in 0..args.warmup + args.calls {
        let started = Instant::now();
        let mut statement = conn.prepare_cached(sql)?;
        let columns = statement.column_count();
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            for c in 0..columns {
                row.get_ref(c)?;
            }
        }
        if i >= args.warmup {
            times.push(started.elapsed());
        }
    }
    Ok(times)
}

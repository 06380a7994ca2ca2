//! `Supervisor`: starts the DbActor and the tool pools on arbiters of their own, and keeps
//! them running.
//!
//! Each child runs under `actix::Supervisor`, which restarts it in place when it stops
//! (a worker stops itself after a panic); the restart keeps the child's address and
//! mailbox, so callers never see a dead address. The Supervisor owns the arbiter threads
//! and stops them on [`Shutdown`].

use actix::prelude::*;

use super::datasource::DataSources;
use super::db::{Db, DbActor};
use super::pool::ToolPools;
use crate::config::Config;
use crate::db::MetaPool;

/// What the rest of the service talks to.
pub struct Topology {
    pub db: Db,
    pub history: super::history::History,
    pub audit: super::audit::Audit,
    pub datasources: DataSources,
    pub pools: ToolPools,
    /// The render threads and their queue (chart pictures).
    pub screenshots: super::screenshot::Screenshots,
    pub supervisor: Addr<Supervisor>,
}

pub struct Supervisor {
    arbiters: Vec<Arbiter>,
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

/// Stop every child and the arbiter threads they run on.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

impl Handler<Shutdown> for Supervisor {
    type Result = ();

    fn handle(&mut self, _msg: Shutdown, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Supervisor {
    /// Start the topology: one arbiter for the DbActor, and `pools.arbiters` (default: one
    /// per core) each for the catalog and admin workers, for the SQL workers with the data
    /// sources, and for the chart workers. Must be called inside a running actix System.
    pub fn launch(config: &Config, pool: MetaPool) -> Topology {
        let backend = pool.backend();
        let db_arbiter = Arbiter::new();
        let outage = pool.outage().clone();
        let liveness = std::sync::Arc::new(super::db::Liveness::default());
        let kept = liveness.clone();
        let db_addr = actix::Supervisor::start_in_arbiter(&db_arbiter.handle(), move |_| {
            DbActor::new(pool, kept)
        });
        let db = Db::new(db_addr, backend, outage, liveness);
        let history = super::history::History::start(
            db.clone(),
            open_spool(config, "history"),
            &db_arbiter.handle(),
        );
        let audit = super::audit::Audit::start(
            db.clone(),
            &config.audit,
            open_spool(config, "audit"),
            &db_arbiter.handle(),
        );
        let n = match config.pools.arbiters {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let tool_arbiters: Vec<Arbiter> = (0..n).map(|_| Arbiter::new()).collect();
        let handles: Vec<ArbiterHandle> = tool_arbiters.iter().map(Arbiter::handle).collect();
        // The chart tools' workers run on arbiters of their own at normal priority: some of
        // them answer data an assistant waits for (get_chart_data, get_chart_sql), which must
        // never wait behind idle-priority scheduling. What yields the CPU is the drawing
        // itself (render threads, `screenshot`) and, for picture calls only, their queries'
        // own work on SQLite sources (StatementPriority::Background, see tools::visualize).
        let chart_arbiters: Vec<Arbiter> = (0..n).map(|_| Arbiter::new()).collect();
        let chart_handles: Vec<ArbiterHandle> =
            chart_arbiters.iter().map(Arbiter::handle).collect();
        // Data sources get arbiters of their own: analytics I/O never shares a thread with
        // the metadata pool or the catalog workers. The SQL workers run there too, next to
        // the data-source actors they send to (see `datasource`).
        let source_arbiters: Vec<Arbiter> = (0..n).map(|_| Arbiter::new()).collect();
        for (index, arbiter) in source_arbiters.iter().enumerate() {
            arbiter.spawn_fn(move || super::datasource::mark_arbiter(index));
        }
        let source_handles: Vec<ArbiterHandle> =
            source_arbiters.iter().map(Arbiter::handle).collect();
        let pools = ToolPools::start(config, &handles, &source_handles, &chart_handles);
        let datasources = DataSources::new(source_handles);
        // Pictures are drawn on threads of their own (a sync arbiter) behind their own
        // bounded queue: a flood of renders never takes a tool worker or a data source.
        let screenshots = super::screenshot::Screenshots::start(
            super::screenshot::ScreenshotSettings::from_config(&config.screenshots),
        );
        let mut arbiters = vec![db_arbiter];
        arbiters.extend(tool_arbiters);
        arbiters.extend(source_arbiters);
        arbiters.extend(chart_arbiters);
        let supervisor = Supervisor { arbiters }.start();
        Topology {
            db,
            history,
            audit,
            datasources,
            pools,
            screenshots,
            supervisor,
        }
    }
}

/// The spool of `log` under `spool.dir`, or None when spooling is off or the directory
/// cannot be used (then records the store cannot take are dropped, as the WARN says).
fn open_spool(config: &Config, log: &'static str) -> Option<std::sync::Arc<super::spool::Spool>> {
    if config.spool.max_bytes == 0 {
        return None;
    }
    let dir = config.spool.dir_for(config);
    match super::spool::Spool::open(&dir, log, config.spool.max_bytes) {
        Ok(spool) => Some(std::sync::Arc::new(spool)),
        Err(e) => {
            tracing::warn!(
                log,
                dir = %dir.display(),
                error = %e,
                "the spool cannot be opened: records the metadata store cannot take will be dropped"
            );
            None
        }
    }
}

//! The actor topology.
//!
//! ```text
//! Supervisor ──starts/restarts──┬─ DbActor            owns the metadata pool (bb8)
//!                               ├─ ToolPool × 4       catalog · sql · charts · admin
//!                               │    └─ ToolWorker × N   one call at a time each
//!                               ├─ DataSourceActor × databases   one pool per data source
//!                               └─ RenderWorker × N   sync arbiter: chart pictures
//! ```
//!
//! A tool call is a [`pool::RunTool`] message. Each pool admits at most `workers + queue`
//! calls; beyond that a call is refused at once as `overloaded` with a retry hint, so no
//! queue grows without bound. Workers are spread over their own arbiter threads, away from
//! the HTTP workers, and the DbActor has an arbiter of its own.

pub mod audit;
pub mod datasource;
pub mod db;
pub mod history;
pub mod inbox;
pub mod pool;
pub mod screenshot;
pub mod spool;
pub mod supervisor;

pub use datasource::DataSources;
pub use db::Db;
pub use pool::{PoolKind, ToolPools};
pub use supervisor::{Supervisor, Topology};

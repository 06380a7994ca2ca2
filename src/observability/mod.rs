//! Metrics, logs and the audit log's record of each call.

pub mod audit;
pub mod logging;
pub mod metrics;

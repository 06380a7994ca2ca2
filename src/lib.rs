//! vizier: an MCP server for business intelligence.
//!
//! Module map (see `shared/DESIGN.md`):
//! - [`app`]: assembly shared by `main` and the tests;
//! - [`actors`]: Supervisor, DbActor, tool pools;
//! - [`mcp`]: the rmcp handler, HTTP and stdio transports;
//! - [`tools`]: the tool registry, one module per tool family;
//! - [`auth`]: principals and permissions;
//! - [`datasources`]: connectors to the databases users register (what SQL runs on);
//! - [`db`]: the metadata store (schema, models, migrations, secrets at rest);
//! - [`example`]: the bundled example data source;
//! - [`sql`]: SQL safety — the read-only guard, row caps, RLS rewriting, templating;
//! - [`query`]: the query model: list specs, filters and plans, catalog queries, the dataset
//!   query builder;
//! - [`charts`]: chart configs, their queries and picture formats;
//! - [`superset`]: Superset export bundles, read, imported and written;
//! - [`render`]: chart pictures (PNG, SVG, terminal, table, Vega-Lite) in pure Rust;
//! - [`limits`]: rate limits per principal, tool and tenant, in process or in Redis;
//! - [`observability`]: metrics and logs; [`config`]; [`error`]: the one error model;
//!   [`output`]: what a successful call answers (JSON and pictures);
//! - [`priority`]: CPU priority of background threads (renders, chart queries).

pub mod actors;
pub mod app;
pub mod auth;
pub mod charts;
pub mod config;
pub mod datasources;
pub mod db;
pub mod error;
pub mod example;
pub mod layout;
pub mod limits;
pub mod mcp;
pub mod observability;
pub mod outage;
pub mod output;
pub mod priority;
pub mod query;
pub mod render;
pub mod sql;
pub mod superset;
pub mod tools;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

//! vizier's one integration test binary: every test starts the real app on a free port
//! and drives it through a real MCP client (rmcp) or plain HTTP, on SQLite and PostgreSQL.

// A failed expectation is how a test reports; panicking is right in test support code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod integration {
    pub mod admin;
    pub mod apps;
    pub mod audit;
    pub mod auth;
    pub mod bad_input;
    pub mod browser;
    pub mod catalog;
    pub mod catalog_index;
    pub mod charts;
    pub mod cli;
    pub mod dataset_updates;
    pub mod datasources;
    pub mod exposure;
    pub mod filters;
    pub mod jwks;
    pub mod layers;
    pub mod outages;
    pub mod resilience;
    pub mod rls_views;
    pub mod semantic;
    pub mod speed;
    pub mod spine;
    pub mod sql;
    pub mod superset;
    pub mod support;
    pub mod tenants;
}

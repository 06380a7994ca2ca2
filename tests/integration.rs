//! vizier's one integration test binary: every test starts the real app on a free port
//! and drives it through a real MCP client (rmcp) or plain HTTP, on SQLite and PostgreSQL.

mod integration {
    pub mod bad_input;
    pub mod cli;
    pub mod resilience;
    pub mod spine;
    pub mod support;
}

//! `vizier stdio`: the same handler over stdin/stdout for desktop MCP clients. Nothing but
//! protocol goes to stdout; logs go to stderr.

use std::sync::Arc;

use anyhow::Context;
use rmcp::ServiceExt;

use super::McpHandler;
use crate::tools::state::AppState;

/// With auth on, the stdio caller proves who it is with an API key in this variable.
pub const API_KEY_ENV: &str = "VIZIER_API_KEY";

pub async fn serve(app: Arc<AppState>) -> anyhow::Result<()> {
    // Held to the end: dropping the last reference stops the actors, audit writer included.
    let held = app.clone();
    let handler = if app.config.auth.enabled {
        let key = std::env::var(API_KEY_ENV).map_err(|_| {
            anyhow::anyhow!("auth is enabled: set {API_KEY_ENV} to an API key (`vizier api-key create`) for stdio")
        })?;
        let principal = crate::auth::resolve::authenticate(&app.auth(), None, Some(&key))
            .await
            .map_err(|f| anyhow::anyhow!("{API_KEY_ENV} was refused ({})", f.reason()))?;
        McpHandler::for_principal(app, principal)
    } else {
        McpHandler::new(app)
    };
    let transport = rmcp::transport::io::stdio();
    let service = handler
        .serve(transport)
        .await
        .context("the stdio client did not complete the MCP handshake")?;
    let waited = service.waiting().await;
    if !held
        .audit
        .drain(crate::actors::audit::AUDIT_DRAIN_TIMEOUT)
        .await
    {
        tracing::warn!("audit records still unwritten at exit");
    }
    waited.context("stdio service failed")?;
    Ok(())
}

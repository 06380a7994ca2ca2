//! `vizier stdio`: the same handler over stdin/stdout for desktop MCP clients. Nothing but
//! protocol goes to stdout; logs go to stderr.

use std::sync::Arc;

use anyhow::Context;
use rmcp::ServiceExt;

use super::McpHandler;
use crate::app::AppState;

pub async fn serve(app: Arc<AppState>) -> anyhow::Result<()> {
    let transport = rmcp::transport::io::stdio();
    let service = McpHandler::new(app)
        .serve(transport)
        .await
        .context("the stdio client did not complete the MCP handshake")?;
    service.waiting().await.context("stdio service failed")?;
    Ok(())
}

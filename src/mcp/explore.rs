//! `/explore/{key}`: the page behind `generate_explore_link` — a chart and its data table
//! for people in a browser.
//!
//! The key is the capability: a claim (creator, chart, expiry) signed with the server's
//! key (see `tools::visualize::sign_claim`). The page runs the chart's query as the link's
//! creator, so row-level security and dataset access are theirs, checked again now (a
//! deactivated creator or a deleted chart ends the link).
//!
//! The page is the MCP Apps chart view ([`super::apps::page`]: the same script and styles)
//! outside a host: the view gets inline the payload a host would have it fetch through
//! `view_chart`, so hover values, legend toggles and the data tab are the view's own. The
//! page is self-contained, and its Content-Security-Policy runs only the view's script
//! (by hash) and loads nothing. A browser without JavaScript sees the chart as vizier's
//! SVG, inline in a `<noscript>` (inline SVG needs nothing the policy refuses).

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use actix_web::{HttpResponse, http::StatusCode, web};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::apps::{self, VIEW_JS};
use crate::auth::{Principal, Who};
use crate::error::ToolError;
use crate::tools::ToolCtx;
use crate::tools::state::AppState;
use crate::tools::visualize::{ChartView, EXPLORE_PAGE, verify_claim};

/// Rows shown in the page's data table.
const TABLE_ROWS: usize = 500;

/// The page's policy: the view's script, named by its hash (the data it reads is JSON, not
/// run); its inline styles; the data: images a drawn SVG may hold; nothing from anywhere.
static CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = ring::digest::digest(&ring::digest::SHA256, VIEW_JS.as_bytes());
    format!(
        "default-src 'none'; script-src 'sha256-{}'; style-src 'unsafe-inline'; img-src data:; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
});

/// The chart view as a page, starting from `data`: a chart view, or `{error, title}`;
/// `fallback` is what a browser without JavaScript shows.
fn page(status: StatusCode, title: &str, data: &Value, fallback: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Content-Security-Policy", CSP.as_str()))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("Cache-Control", "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(apps::page(
            "chart",
            &format!("{title} · vizier"),
            data,
            fallback,
        ))
}

/// A page that shows an error, with and without JavaScript.
fn error(status: StatusCode, page_title: &str, title: &str, message: &str) -> HttpResponse {
    page(
        status,
        page_title,
        &json!({"title": title, "error": message}),
        &apps::static_error(title, message),
    )
}

fn error_page(e: &ToolError) -> HttpResponse {
    // A page has no caller to authenticate again: an unknown or deactivated creator
    // ends the link (403), as a refused permission does.
    let status = match e.kind {
        crate::error::ErrorKind::Unauthenticated => StatusCode::FORBIDDEN,
        _ => StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    };
    error(
        status,
        "Chart unavailable",
        "This chart cannot be shown",
        &format!("{} (error id {})", e.message, e.error_id),
    )
}

/// GET /explore/{key}
pub async fn explore_page(app: web::Data<Arc<AppState>>, key: web::Path<String>) -> HttpResponse {
    let app = app.get_ref().clone();
    let claim = match verify_claim(&app.cipher, &key, chrono::Utc::now().timestamp()) {
        Ok(c) => c,
        Err(why) => {
            tracing::info!(reason = why, "explore link refused");
            let status = if why.contains("expired") {
                StatusCode::GONE
            } else {
                StatusCode::FORBIDDEN
            };
            return error(
                status,
                "Link not valid",
                "This link is not valid",
                &format!("{why}. Ask for a new link (generate_explore_link)."),
            );
        }
    };
    match render(app, claim).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::info!(error_type = e.error_type(), error_id = %e.error_id, error = %e.message, "explore page failed");
            error_page(&e)
        }
    }
}

async fn principal(
    app: &Arc<AppState>,
    claim: &crate::tools::visualize::ExploreClaim,
) -> Result<Arc<Principal>, ToolError> {
    let tenants = app.config.auth.tenants;
    if tenants && claim.t.is_none() {
        // A username alone may name users of several tenants.
        return Err(ToolError::new(
            crate::error::ErrorKind::PermissionDenied,
            "This link names no tenant, and tenants are on. Ask for a new link.",
        ));
    }
    let who = Who::named(&claim.u, claim.t.as_deref().filter(|_| tenants));
    let p = app.principals.fetch(&app.db, &who, tenants).await?;
    if tenants && p.tenant.is_none() {
        return Err(ToolError::new(
            crate::error::ErrorKind::PermissionDenied,
            format!(
                "User '{}' belongs to no tenant, and tenants are on.",
                claim.u
            ),
        ));
    }
    Ok(p)
}

/// The page of `claim`: its chart drawn by the `explore_page` tool, run as the link's
/// creator through the charts pool like any call (permission, rate limits, admission,
/// deadline, audit, metrics, the shutdown drain).
async fn render(
    app: Arc<AppState>,
    claim: crate::tools::visualize::ExploreClaim,
) -> Result<HttpResponse, ToolError> {
    let started = Instant::now();
    let _in_flight = crate::tools::state::InFlight::enter(app.clone());
    let request_id: Arc<str> = Arc::from(uuid::Uuid::new_v4().simple().to_string());
    let span = tracing::info_span!("explore", request_id = %request_id, tool = EXPLORE_PAGE);
    let args = serde_json::json!({"chart": claim.chart_ref(), "table_rows": TABLE_ROWS});
    let principal = principal(&app, &claim).await;
    let outcome = match (&principal, app.registry.internal(EXPLORE_PAGE)) {
        (Err(e), _) => Err(e.clone()),
        (Ok(_), None) => Err(ToolError::internal(
            "the explore_page tool is not registered",
        )),
        (Ok(p), Some(tool)) => {
            let ctx = ToolCtx {
                base_url: app.public_base_url().into(),
                app: app.clone(),
                principal: p.clone(),
                request_id: request_id.clone(),
                ct: CancellationToken::new(),
                progress: None,
                span: span.clone(),
            };
            tracing::Instrument::instrument(super::run_tool(tool.clone(), ctx, args.clone()), span)
                .await
        }
    };
    super::finish_call(
        &app,
        super::Finished {
            request_id: &request_id,
            caller: principal.as_deref().ok(),
            requested: EXPLORE_PAGE,
            arguments: Some(&args),
            tool: EXPLORE_PAGE,
            status: outcome.as_ref().map_or_else(|e| e.error_type(), |_| "ok"),
            error_id: outcome.as_ref().err().map(|e| e.error_id.as_str()),
            elapsed: started.elapsed(),
        },
    );
    let mut view: ChartView = serde_json::from_value(outcome?.json).map_err(ToolError::internal)?;
    // Rows are the creator's (row-level security): say whose.
    view.notes
        .push(format!("Data as {} sees it (the link's creator).", claim.u));
    let data = serde_json::to_value(&view).map_err(ToolError::internal)?;
    // Without JavaScript, the same chart as vizier's picture.
    let fallback = apps::static_chart(&view.page.svg);
    Ok(page(StatusCode::OK, &view.page.title, &data, &fallback))
}

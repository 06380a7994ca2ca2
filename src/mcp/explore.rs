//! `/explore/{key}`: the page behind `generate_explore_link` — a chart and its data table
//! for people in a browser.
//!
//! The key is the capability: a claim (creator, chart, expiry) signed with the server's
//! key (see `tools::visualize::sign_claim`). The page runs the chart's query as the link's
//! creator, so row-level security and dataset access are theirs, checked again now (a
//! deactivated creator or a deleted chart ends the link). The page is self-contained: the
//! chart is inline SVG, there are no scripts, and the Content-Security-Policy forbids
//! loading anything.

use std::sync::Arc;
use std::time::Instant;

use actix_web::{HttpResponse, http::StatusCode, web};
use tokio_util::sync::CancellationToken;

use crate::auth::{Principal, Who};
use crate::error::ToolError;
use crate::tools::ToolCtx;
use crate::tools::state::AppState;
use crate::tools::visualize::{EXPLORE_PAGE, ExplorePage, verify_claim};

/// Rows shown in the page's data table.
const TABLE_ROWS: usize = 500;

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// HTML-escape text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · vizier</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    );
    HttpResponse::build(status)
        .insert_header(("Content-Security-Policy", CSP))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("Cache-Control", "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(html)
}

const STYLE: &str = "body{font-family:'DejaVu Sans',system-ui,sans-serif;margin:0;background:#f3f4f6;color:#1f2933}\
main{max-width:1000px;margin:24px auto;padding:0 16px}\
.card{background:#fff;border:1px solid #e2e5ea;border-radius:8px;padding:16px;margin-bottom:16px}\
h1{font-size:22px;margin:0 0 4px}p.meta{color:#616e7c;font-size:13px;margin:0 0 12px}\
svg{max-width:100%;height:auto}table{border-collapse:collapse;font-size:13px;width:100%}\
th,td{border-bottom:1px solid #e2e5ea;padding:4px 8px;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}\
th{background:#f8f9fa;position:sticky;top:0}.scroll{max-height:480px;overflow:auto}";

fn error_page(e: &ToolError) -> HttpResponse {
    // A page has no caller to authenticate again: an unknown or deactivated creator
    // ends the link (403), as a refused permission does.
    let status = match e.kind {
        crate::error::ErrorKind::Unauthenticated => StatusCode::FORBIDDEN,
        _ => StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    };
    page(
        status,
        "Chart unavailable",
        &format!(
            "<main><div class=\"card\"><h1>This chart cannot be shown</h1><p>{}</p><p class=\"meta\">error id {}</p></div></main>",
            escape(&e.message),
            escape(&e.error_id)
        ),
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
            return page(
                status,
                "Link not valid",
                &format!(
                    "<main><div class=\"card\"><h1>This link is not valid</h1><p>{}. Ask for a new link (generate_explore_link).</p></div></main>",
                    escape(why)
                ),
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
    let shown: ExplorePage = serde_json::from_value(outcome?.json).map_err(ToolError::internal)?;
    let mut table = String::from("<table><thead><tr>");
    for c in &shown.columns {
        table.push_str(&format!("<th>{}</th>", escape(c)));
    }
    table.push_str("</tr></thead><tbody>");
    for row in &shown.rows {
        table.push_str("<tr>");
        for v in row {
            let (class, text) = match v {
                serde_json::Value::Number(n) => (" class=\"n\"", n.to_string()),
                serde_json::Value::Null => ("", String::new()),
                serde_json::Value::String(s) => ("", s.clone()),
                other => ("", other.to_string()),
            };
            table.push_str(&format!("<td{class}>{}</td>", escape(&text)));
        }
        table.push_str("</tr>");
    }
    table.push_str("</tbody></table>");
    let more = if shown.row_count > shown.rows.len() {
        format!(
            "<p class=\"meta\">Showing {} of {} rows.</p>",
            shown.rows.len(),
            shown.row_count
        )
    } else {
        String::new()
    };
    let body = format!(
        "<main><div class=\"card\"><h1 id=\"title\">{title}</h1><p class=\"meta\">{kind} chart on dataset {dataset} · {rows} rows · as seen by {user}</p>\
         <div id=\"chart\">{svg}</div></div>\
         <div class=\"card\"><h2>Data</h2><div class=\"scroll\" id=\"data\">{table}</div>{more}</div></main>",
        title = escape(&shown.title),
        kind = escape(&shown.chart_type),
        dataset = escape(&shown.dataset),
        rows = shown.row_count,
        svg = shown.svg,
        user = escape(&claim.u),
    );
    Ok(page(StatusCode::OK, &shown.title, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_html_metacharacters() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }
}

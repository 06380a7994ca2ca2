//! The HTTP surface on actix-web: `POST /mcp` (MCP Streamable HTTP via rmcp-actix-web),
//! `/health` (liveness, no database), `/ready` (metadata store reachable and migrated),
//! `/metrics` (Prometheus text).
//!
//! Why rmcp-actix-web rather than a transport of our own: it hands every wire decision to
//! rmcp's own Streamable HTTP service — version negotiation across the handshake era and
//! the stateless 2026-07-28 era, `_meta` and header validation, SSE fallback when a call
//! sends progress — so vizier follows rmcp as the protocol moves. vizier adds what is
//! operational around it: a request id on every call and the HTTP 503 + `Retry-After`
//! mapping of an `overloaded` refusal.

use std::sync::Arc;

use actix_web::dev::{Service, ServiceRequest};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpMessage, HttpResponse, web};
use metrics_exporter_prometheus::PrometheusHandle;
use rmcp_actix_web::transport::{LocalSessionManager, StreamableHttpService};

use super::{CallScope, McpHandler};
use crate::app::AppState;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request id: `X-Request-Id` when the caller sends a sane one, else the trace id of a
/// W3C `traceparent`, else a fresh one.
fn request_id(req: &ServiceRequest) -> String {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(id) = header(REQUEST_ID_HEADER)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
    {
        return id.to_owned();
    }
    if let Some(trace) = header("traceparent")
        .and_then(|t| t.split('-').nth(1))
        .filter(|t| t.len() == 32)
    {
        return trace.to_owned();
    }
    uuid::Uuid::new_v4().simple().to_string()
}

/// Mount vizier's routes. `metrics` is None when metrics are off.
pub fn configure(
    cfg: &mut web::ServiceConfig,
    app: Arc<AppState>,
    metrics: Option<PrometheusHandle>,
) {
    let config = &app.config.server;
    let handler_app = app.clone();
    let mcp = StreamableHttpService::builder()
        .service_factory(Arc::new(move || Ok(McpHandler::new(handler_app.clone()))))
        .session_manager(Arc::new(LocalSessionManager::default()))
        .stateful_mode(false)
        .json_response(true)
        .max_request_body_bytes(config.max_body_bytes)
        .allowed_hosts(config.allowed_hosts.clone())
        .allowed_origins(config.allowed_origins.clone())
        .on_request_fn(|req, ext| {
            if let Some(scope) = req.extensions().get::<Arc<CallScope>>() {
                ext.insert(scope.clone());
            }
        })
        .build();
    // rmcp validates Origin against a non-empty list; an empty list would let rmcp skip the
    // check, so vizier refuses every Origin itself then (fail closed).
    let refuse_all_origins = config.allowed_origins.is_empty();
    cfg.app_data(web::Data::new(app.clone()));
    if let Some(handle) = metrics {
        cfg.app_data(web::Data::new(handle));
        cfg.route("/metrics", web::get().to(metrics_route));
    }
    cfg.route("/health", web::get().to(health))
        .route("/ready", web::get().to(ready))
        .service(
            web::scope("/mcp")
                .wrap_fn(move |req, srv| {
                    let app = req.app_data::<web::Data<Arc<AppState>>>().map(|d| d.get_ref().clone());
                    if app.as_ref().is_some_and(|a| a.draining()) {
                        let res = HttpResponse::ServiceUnavailable()
                            .insert_header((actix_web::http::header::RETRY_AFTER, "1"))
                            .json(serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {
                                "code": -32000, "message": "This replica is shutting down; retry (another replica will answer)."}}));
                        return futures::future::Either::Left(std::future::ready(Ok(req.into_response(res))));
                    }
                    if refuse_all_origins
                        && req.headers().contains_key(actix_web::http::header::ORIGIN)
                    {
                        let res = HttpResponse::Forbidden().body(
                            "Forbidden: Origin not allowed (server.allowed_origins is empty)",
                        );
                        return futures::future::Either::Left(std::future::ready(Ok(
                            req.into_response(res)
                        )));
                    }
                    let scope = Arc::new(CallScope {
                        request_id: request_id(&req),
                        ..Default::default()
                    });
                    req.extensions_mut().insert(scope.clone());
                    let guard = app.map(InFlight::enter);
                    let fut = srv.call(req);
                    futures::future::Either::Right(async move {
                        let mut res = fut.await?;
                        drop(guard);
                        let retry = scope.overloaded_retry_after.lock().ok().and_then(|s| *s);
                        let headers = res.headers_mut();
                        if let Ok(v) = HeaderValue::from_str(&scope.request_id) {
                            headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
                        }
                        if let Some(secs) = retry {
                            headers.insert(
                                actix_web::http::header::RETRY_AFTER,
                                HeaderValue::from(secs),
                            );
                            *res.response_mut().status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                        }
                        Ok(res)
                    })
                })
                .service(mcp.scope()),
        );
}

/// Liveness: the process answers. Touches no database, so a slow store never gets the pod
/// killed.
async fn health(app: web::Data<Arc<AppState>>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "status": "ok",
        "version": crate::VERSION,
        "uptime_seconds": app.started_at.elapsed().as_secs(),
    }))
}

/// Readiness: the metadata store answers and has every migration this build expects.
async fn ready(app: web::Data<Arc<AppState>>) -> HttpResponse {
    if app.draining() {
        return HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "draining"}));
    }
    let check = async {
        let mut conn = app.db.conn().await.map_err(|e| e.message)?;
        crate::db::migrations_current(&mut conn)
            .await
            .map_err(|e| e.to_string())
    };
    match check.await {
        Ok(true) => HttpResponse::Ok().json(serde_json::json!({"status": "ready"})),
        Ok(false) => HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "status": "not_ready",
            "reason": "the metadata store is missing migrations: run `vizier migrate`",
        })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({
                "status": "not_ready",
                "reason": "the metadata store is unreachable",
            }))
        }
    }
}

/// Counts a request on /mcp as in flight until dropped.
struct InFlight(Arc<AppState>);

impl InFlight {
    fn enter(app: Arc<AppState>) -> Self {
        app.in_flight
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Self(app)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

pub async fn metrics_route(
    app: web::Data<Arc<AppState>>,
    handle: web::Data<PrometheusHandle>,
) -> HttpResponse {
    crate::observability::metrics::refresh_gauges(&app).await;
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}

//! The HTTP surface on actix-web: `POST /mcp` (MCP Streamable HTTP via rmcp-actix-web),
//! `/health` (liveness, no database), `/ready` (metadata store reachable and migrated),
//! `/metrics` (Prometheus text).
//!
//! Why rmcp-actix-web rather than a transport of our own: it hands every wire decision to
//! rmcp's own Streamable HTTP service — version negotiation across the handshake era and
//! the stateless 2026-07-28 era, `_meta` and header validation, SSE fallback when a call
//! sends progress — so vizier follows rmcp as the protocol moves. vizier adds what is
//! operational around it: a request id on every call, the HTTP 503 + `Retry-After`
//! mapping of an `overloaded` refusal, a time limit on reading a request's body, and a
//! bound on the connections one client address may hold.

use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpMessage, HttpResponse, web};
use metrics_exporter_prometheus::PrometheusHandle;
use rmcp_actix_web::transport::{LocalSessionManager, StreamableHttpService};

use rmcp::model::ErrorCode;
use serde_json::Value;

use super::{CallScope, McpHandler, PROTOCOL_VERSIONS};
use crate::auth::resolve::AuthFailure;
use crate::tools::state::AppState;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Requests refused before they ran, by `reason`: `body_timeout` (the body did not arrive in
/// `server.request_body_timeout_ms`) or `connections` (its client held more than
/// `server.max_connections_per_client` connections).
const HTTP_REFUSALS: &str = "vizier_http_refusals_total";

/// Open connections per client address, bounded by `server.max_connections_per_client`.
/// Counted when actix accepts a connection ([`ClientConnections::opened`]); a connection
/// over the bound is marked, and its requests are refused by [`connection_limit`].
#[derive(Clone)]
pub struct ClientConnections {
    limit: usize,
    open: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
}

/// One connection's place in its client's count; freed when actix drops the connection.
struct ConnectionSlot {
    clients: ClientConnections,
    ip: std::net::IpAddr,
    over_limit: bool,
}

impl ClientConnections {
    /// `limit` 0: no limit (nothing is counted).
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            open: Arc::default(),
        }
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<std::net::IpAddr, usize>> {
        // A count map stays consistent between statements: a poisoned lock is still good.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// actix's `on_connect` hook: count the connection against its client address.
    pub fn opened(&self, conn: &dyn std::any::Any, ext: &mut actix_web::dev::Extensions) {
        if self.limit == 0 {
            return;
        }
        let Some(peer) = conn
            .downcast_ref::<actix_web::rt::net::TcpStream>()
            .and_then(|s| s.peer_addr().ok())
        else {
            return;
        };
        let ip = peer.ip();
        let count = {
            let mut open = self.lock();
            let n = open.entry(ip).or_insert(0);
            *n += 1;
            *n
        };
        ext.insert(ConnectionSlot {
            clients: self.clone(),
            ip,
            over_limit: count > self.limit,
        });
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.clients.lock();
        if let Some(n) = open.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Refuse every request on a connection its client opened beyond
/// `server.max_connections_per_client`: 503 with `Retry-After`, and the connection closes.
pub async fn connection_limit<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if req
        .conn_data::<ConnectionSlot>()
        .is_some_and(|slot| slot.over_limit)
    {
        metrics::counter!(HTTP_REFUSALS, "reason" => "connections").increment(1);
        let limit = req
            .conn_data::<ConnectionSlot>()
            .map_or(0, |slot| slot.clients.limit);
        tracing::info!(
            client = %req.conn_data::<ConnectionSlot>().map_or_else(String::new, |s| s.ip.to_string()),
            limit,
            "connection refused: too many connections from one client"
        );
        let mut res = HttpResponse::ServiceUnavailable()
            .insert_header((actix_web::http::header::RETRY_AFTER, "1"))
            .json(serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {
                "code": -32000,
                "message": format!(
                    "Too many connections from your address (at most {limit} at once, \
                     server.max_connections_per_client); close some or retry after 1 s."),
                "data": {"error_type": "overloaded", "reason": "connections", "limit": limit}}}));
        res.head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
        return Ok(req.into_response(res).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

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
    // Authorization headers are checked by vizier (mcp_gate) before rmcp sees the request.
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
    cfg.app_data(web::Data::new(app.clone()));
    if let Some(handle) = metrics {
        cfg.app_data(web::Data::new(handle));
        cfg.route("/metrics", web::get().to(metrics_route));
    }
    cfg.route("/health", web::get().to(health))
        .route(
            "/explore/{key}",
            web::get().to(super::explore::explore_page),
        )
        .route("/ready", web::get().to(ready))
        .route(
            "/.well-known/oauth-protected-resource",
            web::get().to(resource_metadata),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            web::get().to(resource_metadata),
        )
        .service(
            web::scope("/mcp")
                .wrap(from_fn(mcp_gate))
                .service(mcp.scope()),
        );
}

/// The public base URL: configured, or from the request.
fn base_url(app: &AppState, req: &actix_web::HttpRequest) -> String {
    match &app.config.auth.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// RFC 9728 protected-resource metadata: where to get tokens and which scopes exist.
async fn resource_metadata(
    app: web::Data<Arc<AppState>>,
    req: actix_web::HttpRequest,
) -> HttpResponse {
    let base = base_url(&app, &req);
    HttpResponse::Ok().json(serde_json::json!({
        "resource": format!("{base}/mcp"),
        "authorization_servers": app.config.auth.authorization_servers,
        "scopes_supported": crate::auth::Permission::SCOPES,
        "bearer_methods_supported": ["header"],
        "resource_name": "vizier",
    }))
}

/// `"…"`-quoted for a header parameter.
fn quoted(s: &str) -> String {
    let clean: String = s
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' || c == '\\' { '\'' } else { c })
        .collect();
    format!("\"{clean}\"")
}

/// The answer to a request that did not authenticate (MCP authorization spec semantics).
fn auth_refusal(
    app: &AppState,
    req: &actix_web::HttpRequest,
    failure: AuthFailure,
    request_id: &str,
) -> HttpResponse {
    metrics::counter!("vizier_auth_failures_total", "reason" => failure.reason()).increment(1);
    let meta = format!(
        "{}/.well-known/oauth-protected-resource/mcp",
        base_url(app, req)
    );
    let (status, challenge, message) = match &failure {
        AuthFailure::Missing => (
            StatusCode::UNAUTHORIZED,
            format!("Bearer resource_metadata={}", quoted(&meta)),
            "Authentication required: send `Authorization: Bearer <token or API key>`.".to_string(),
        ),
        AuthFailure::Invalid { description, .. } => (
            StatusCode::UNAUTHORIZED,
            format!(
                "Bearer error=\"invalid_token\", error_description={}, resource_metadata={}",
                quoted(description),
                quoted(&meta)
            ),
            format!("The credentials were refused: {description}."),
        ),
        AuthFailure::Forbidden(why) => (StatusCode::FORBIDDEN, String::new(), why.clone()),
        AuthFailure::InsufficientScope(missing) => (
            StatusCode::FORBIDDEN,
            format!(
                "Bearer error=\"insufficient_scope\", scope={}",
                quoted(&missing.join(" "))
            ),
            format!(
                "The token lacks the scope(s) this server requires: {}.",
                missing.join(", ")
            ),
        ),
        AuthFailure::Unavailable(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            String::new(),
            format!("Authentication is unavailable right now: {why}."),
        ),
    };
    tracing::info!(
        request_id,
        reason = failure.reason(),
        status = status.as_u16(),
        "request not authenticated"
    );
    let mut res = HttpResponse::build(status);
    if !challenge.is_empty() {
        res.insert_header((actix_web::http::header::WWW_AUTHENTICATE, challenge));
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.insert_header((actix_web::http::header::RETRY_AFTER, "5"));
    }
    res.insert_header((REQUEST_ID_HEADER, request_id.to_string()));
    res.json(serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32001, "message": message,
        "data": {"error_type": if status == StatusCode::FORBIDDEN { "permission_denied" } else { "unauthenticated" }, "reason": failure.reason()}}}))
}

/// Everything around an MCP request: drain refusal, Origin, authentication, request id,
/// in-flight count, and the HTTP status of overload and scope refusals.
async fn mcp_gate<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let Some(app) = req
        .app_data::<web::Data<Arc<AppState>>>()
        .map(|d| d.get_ref().clone())
    else {
        return Ok(req
            .into_response(HttpResponse::InternalServerError().finish())
            .map_into_right_body());
    };
    if app.draining() {
        let res = HttpResponse::ServiceUnavailable()
            .insert_header((actix_web::http::header::RETRY_AFTER, "1"))
            .json(serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {
                "code": -32000, "message": "This replica is shutting down; retry (another replica will answer)."}}));
        return Ok(req.into_response(res).map_into_right_body());
    }
    // The whole body, within its time limit, before anything else may wait on it.
    let limit = app.config.server.max_body_bytes;
    let timeout = std::time::Duration::from_millis(app.config.server.request_body_timeout_ms);
    let body = match read_body_in_time(&mut req, limit, timeout).await? {
        BodyRead::Ready(body) => body,
        BodyRead::TooLarge => {
            let mut res = HttpResponse::PayloadTooLarge().json(serde_json::json!({
                "jsonrpc": "2.0", "id": null, "error": {"code": ErrorCode::INVALID_REQUEST.0,
                "message": format!("The request body is larger than {limit} bytes (server.max_body_bytes).")}}));
            res.head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
            return Ok(req.into_response(res).map_into_right_body());
        }
        BodyRead::TimedOut => {
            metrics::counter!(HTTP_REFUSALS, "reason" => "body_timeout").increment(1);
            tracing::info!(
                timeout_ms = timeout.as_millis() as u64,
                "request body not received in time: connection closed"
            );
            let mut res = HttpResponse::RequestTimeout().json(serde_json::json!({
                "jsonrpc": "2.0", "id": null, "error": {"code": -32000,
                "message": format!(
                    "The request body did not arrive within {} ms (server.request_body_timeout_ms).",
                    timeout.as_millis())}}));
            res.head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
            return Ok(req.into_response(res).map_into_right_body());
        }
    };
    // rmcp validates Origin against a non-empty list; with an empty list it would skip the
    // check, so vizier refuses every Origin itself then (fail closed).
    if app.config.server.allowed_origins.is_empty()
        && req.headers().contains_key(actix_web::http::header::ORIGIN)
    {
        let res = HttpResponse::Forbidden()
            .body("Forbidden: Origin not allowed (server.allowed_origins is empty)");
        return Ok(req.into_response(res).map_into_right_body());
    }
    let request_id = request_id(&req);
    let principal = if app.config.auth.enabled {
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        match crate::auth::resolve::authenticate(
            &app.auth(),
            header(actix_web::http::header::AUTHORIZATION.as_str()),
            header("x-api-key"),
        )
        .await
        {
            Ok(p) => Some(p),
            Err(failure) => {
                let res = auth_refusal(&app, req.request(), failure, &request_id);
                return Ok(req.into_response(res).map_into_right_body());
            }
        }
    } else {
        None
    };
    if let Some(requested) = unsupported_version(&req) {
        // An initialize may name any version (the answer says which one this server
        // speaks); any other request is refused.
        let message: Option<Value> = serde_json::from_slice(&body).ok();
        let initialize = message
            .as_ref()
            .is_some_and(|m| m.get("method").and_then(|m| m.as_str()) == Some("initialize"));
        if !initialize {
            let id = message.as_ref().map_or(Value::Null, json_rpc_id);
            let res = unsupported_version_response(&requested, id, &request_id);
            return Ok(req.into_response(res).map_into_right_body());
        }
    }
    // A handshake-era initialize that declares MCP Apps gets a session id saying so, which
    // the client sends back with every request (HTTP keeps no session state).
    let apps_initialize = req.method() == actix_web::http::Method::POST
        && body.windows(12).any(|w| w == b"\"initialize\"")
        && serde_json::from_slice::<Value>(&body)
            .is_ok_and(|m| super::apps::initialize_declares(&m));
    // rmcp answers a body it cannot decode with a plain-text 415; the body read above (a
    // shared reference, not a copy) tells a parse error from an invalid request afterwards.
    let body_copy = (req.method() == actix_web::http::Method::POST && has_json_content_type(&req))
        .then_some(body);
    let apps_session = req
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|id| id.starts_with(super::apps::APPS_SESSION_PREFIX));
    let scope = Arc::new(CallScope {
        request_id,
        principal,
        base_url: Some(base_url(&app, req.request())),
        apps_session,
        ..Default::default()
    });
    req.extensions_mut().insert(scope.clone());
    let guard = crate::tools::state::InFlight::enter(app.clone());
    let mut res = next.call(req).await?;
    drop(guard);
    if res.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE
        && let Some(body) = body_copy
    {
        let answer = undecodable_body_response(&body, &scope.request_id);
        let (http_req, _) = res.into_parts();
        return Ok(ServiceResponse::new(http_req, answer).map_into_right_body());
    }
    if let Ok(v) = HeaderValue::from_str(&scope.request_id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    if apps_initialize
        && res.status() == StatusCode::OK
        && let Ok(v) = HeaderValue::from_str(&super::apps::session_id())
    {
        res.headers_mut()
            .insert(HeaderName::from_static("mcp-session-id"), v);
    }
    if let Some(refusal) = scope.refusal() {
        if let Some(secs) = refusal.retry_after_secs {
            res.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                HeaderValue::from(secs),
            );
        }
        if let Some(v) = refusal
            .challenge
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok())
        {
            res.headers_mut()
                .insert(actix_web::http::header::WWW_AUTHENTICATE, v);
        }
        if let Ok(status) = StatusCode::from_u16(refusal.status) {
            *res.response_mut().status_mut() = status;
        }
    }
    Ok(res.map_into_left_body())
}

/// The `MCP-Protocol-Version` header when it names a version vizier does not serve.
/// rmcp's own check accepts every version rmcp knows (2024-11-05 too), whatever the
/// server serves, and answers unknown ones in plain text.
fn unsupported_version(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get("mcp-protocol-version")?;
    let supported = value
        .to_str()
        .is_ok_and(|v| PROTOCOL_VERSIONS.iter().any(|p| p.as_str() == v));
    (!supported).then(|| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// What became of reading a request's body.
enum BodyRead {
    /// Read whole and put back for the next reader; the same bytes, shared.
    Ready(web::Bytes),
    /// Announced or found larger than the limit.
    TooLarge,
    /// Not all there within the time limit.
    TimedOut,
}

/// Read the whole body within `timeout` and put it back for rmcp to read. A body announced
/// (Content-Length) larger than `limit` is refused unread.
async fn read_body_in_time(
    req: &mut ServiceRequest,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<BodyRead, actix_web::Error> {
    use futures::StreamExt;
    let announced = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Ok(BodyRead::TooLarge);
    }
    let mut payload = req.take_payload();
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk?;
            if body.len() + chunk.len() > limit {
                return Ok::<_, actix_web::error::PayloadError>(None);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body.freeze()))
    };
    match tokio::time::timeout(timeout, read).await {
        Err(_elapsed) => Ok(BodyRead::TimedOut),
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(None)) => Ok(BodyRead::TooLarge),
        Ok(Ok(Some(body))) => {
            req.set_payload(actix_web::dev::Payload::from(body.clone()));
            Ok(BodyRead::Ready(body))
        }
    }
}

/// A JSON-RPC request id (string or number) of `message`, else null.
fn json_rpc_id(message: &Value) -> Value {
    match message.get("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => id.clone(),
        _ => Value::Null,
    }
}

/// HTTP 400 with a JSON-RPC error naming the versions this server serves; the code and
/// data are rmcp's `unsupported_protocol_version`, so rmcp clients retry with one of them.
fn unsupported_version_response(requested: &str, id: Value, request_id: &str) -> HttpResponse {
    let supported: Vec<&str> = PROTOCOL_VERSIONS.iter().map(|v| v.as_str()).collect();
    HttpResponse::BadRequest()
        .insert_header((REQUEST_ID_HEADER, request_id.to_string()))
        .json(serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {
            "code": ErrorCode::UNSUPPORTED_PROTOCOL_VERSION.0,
            "message": format!(
                "Unsupported MCP-Protocol-Version {requested:?}: this server supports {}.",
                supported.join(", ")
            ),
            "data": {"requested": requested, "supported": supported},
        }}))
}

fn has_json_content_type(req: &ServiceRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// A body with a JSON content type that rmcp could not decode: JSON-RPC parse error
/// (-32700) when it is not JSON, invalid request (-32600) when it is JSON but no JSON-RPC
/// message; HTTP 400 either way.
fn undecodable_body_response(body: &[u8], request_id: &str) -> HttpResponse {
    let (id, code, message) = match serde_json::from_slice::<Value>(body) {
        Err(e) => (
            Value::Null,
            ErrorCode::PARSE_ERROR,
            format!("Parse error: the body is not valid JSON ({e})."),
        ),
        Ok(v) => (
            json_rpc_id(&v),
            ErrorCode::INVALID_REQUEST,
            "Invalid request: the body is JSON but not a JSON-RPC 2.0 request, notification or \
             response (jsonrpc \"2.0\", a string or number id, a method name, params an object)."
                .to_string(),
        ),
    };
    HttpResponse::BadRequest()
        .insert_header((REQUEST_ID_HEADER, request_id.to_string()))
        .json(serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": code.0, "message": message}}))
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

pub async fn metrics_route(
    app: web::Data<Arc<AppState>>,
    handle: web::Data<PrometheusHandle>,
) -> HttpResponse {
    crate::observability::metrics::refresh_gauges(
        &app.config,
        &app.db,
        &app.audit,
        &app.history,
        &app.datasources,
        &app.pools,
    )
    .await;
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}

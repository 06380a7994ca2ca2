//! MCP protocol glue: the rmcp `ServerHandler` that serves vizier's tools, resources and
//! prompts, shared by the HTTP transport (`http.rs`, Streamable HTTP through
//! rmcp-actix-web, stateless) and the stdio transport (`stdio.rs`).
//!
//! A tool call: resolve the principal → find the tool (unknown: JSON-RPC invalid params) →
//! check its permission (denied: a `permission_denied` tool error) → hand it to its pool
//! (full: `overloaded`) → return structured content plus the same JSON as text. Whatever
//! the outcome, the call is then handed to the audit log (`crate::actors::audit`) without
//! waiting for it to be written.

pub mod apps;
pub mod explore;
pub mod guides;
pub mod http;
pub mod stdio;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rmcp::model::*;
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::Value;

use crate::auth::{Principal, Who};
use crate::error::{ErrorKind, ToolError};
use crate::observability::audit::CallRecord;
use crate::output::ToolOutput;
use crate::tools::state::AppState;
use crate::tools::{Progress, ToolCtx, search};

pub use crate::tools::system::PROTOCOL_VERSIONS;

pub const METADATA_RESOURCE: &str = "instance://metadata";

/// Per-HTTP-request facts shared between the actix middleware and the MCP handler.
#[derive(Debug, Default)]
pub struct CallScope {
    pub request_id: String,
    /// The authenticated caller (auth on).
    pub principal: Option<Arc<Principal>>,
    /// The server's public base URL as the client reached it (links handed to users).
    pub base_url: Option<String>,
    /// The client declared MCP Apps at `initialize` (its session id says so).
    pub apps_session: bool,
    /// How HTTP answers a call refused before its tool ran, as the error says
    /// ([`ToolError::http_refusal`]). rmcp writes the response, so the middleware that
    /// owns the status reads the error's answer here once the call is done.
    refusal: std::sync::OnceLock<crate::error::HttpRefusal>,
}

impl CallScope {
    /// Record how HTTP must answer `e`, if it refused the call.
    fn refused(&self, e: &ToolError) {
        if let Some(answer) = e.http_refusal() {
            // One call per request: the first answer stands.
            let _ = self.refusal.set(answer);
        }
    }

    /// How HTTP must answer this request's call, if it was refused.
    pub fn refusal(&self) -> Option<&crate::error::HttpRefusal> {
        self.refusal.get()
    }
}

#[derive(Clone)]
pub struct McpHandler {
    app: Arc<AppState>,
    /// The caller of every request on this connection (stdio with auth on: the API key's).
    fixed: Option<Arc<Principal>>,
}

impl McpHandler {
    pub fn new(app: Arc<AppState>) -> Self {
        Self { app, fixed: None }
    }

    pub fn for_principal(app: Arc<AppState>, principal: Arc<Principal>) -> Self {
        Self {
            app,
            fixed: Some(principal),
        }
    }

    fn scope(context: &RequestContext<RoleServer>) -> Option<Arc<CallScope>> {
        let parts = context.extensions.get::<::http::request::Parts>()?;
        parts
            .extensions
            .get::<Arc<CallScope>>()
            .or_else(|| {
                parts
                    .extensions
                    .get::<Extensions>()?
                    .get::<Arc<CallScope>>()
            })
            .cloned()
    }

    /// The caller: authenticated by the HTTP gate, fixed for a stdio connection, or — only
    /// while auth is off (loopback only, enforced at start) — the dev user. Fail closed.
    async fn principal(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<Arc<Principal>, ToolError> {
        if let Some(p) = Self::scope(context).and_then(|s| s.principal.clone()) {
            return Ok(p);
        }
        if let Some(p) = &self.fixed {
            return Ok(p.clone());
        }
        if self.app.config.auth.enabled {
            return Err(ToolError::new(
                ErrorKind::Unauthenticated,
                "This request carries no authenticated caller.",
            ));
        }
        let dev = Who::named(self.app.config.auth.dev_user(), None);
        self.app.principals.fetch(&self.app.db, &dev, false).await
    }

    fn protocol_error(e: ToolError) -> McpError {
        let code = match e.kind {
            ErrorKind::InvalidArgument | ErrorKind::NotFound => ErrorCode::INVALID_PARAMS,
            _ => ErrorCode::INTERNAL_ERROR,
        };
        McpError::new(code, e.message.clone(), Some(e.to_json()))
    }

    async fn run_call(
        &self,
        request: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
        request_id: Arc<str>,
        principal: Result<Arc<Principal>, ToolError>,
        caller: &mut Option<Arc<Principal>>,
        refused: Option<ToolError>,
    ) -> Result<Result<ToolOutput, ToolError>, McpError> {
        if let Some(e) = refused {
            *caller = principal.ok();
            return Ok(Err(e));
        }
        let name = request.name.as_ref();
        let Some(tool) = self.app.registry.callable(name).cloned() else {
            // Only for the audit log: who asked for a tool that does not exist.
            *caller = principal.ok();
            if let Some(reason) = self.app.registry.withheld(name) {
                return Err(McpError::invalid_params(
                    format!("Tool '{name}' is not exposed by this server: {reason}."),
                    None,
                ));
            }
            let names: Vec<&str> = self.app.registry.names().collect();
            let hint = crate::error::closest(name, &names)
                .map(|s| format!(" Did you mean '{s}'?"))
                .unwrap_or_default();
            return Err(McpError::invalid_params(
                format!("Unknown tool '{name}'.{hint} Call tools/list for the tools you can use."),
                None,
            ));
        };
        let principal = match principal {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        *caller = Some(principal.clone());
        // Cancelled when the client cancels, or when this handler is dropped (the client
        // went away): the worker stops the call instead of finishing it for no one.
        let ct = context.ct.child_token();
        let _cancel_on_drop = ct.clone().drop_guard();
        let progress = context.meta.get_progress_token().map(|token| Progress {
            peer: context.peer.clone(),
            token,
        });
        let ctx = ToolCtx {
            app: self.app.clone(),
            principal,
            request_id,
            ct,
            progress,
            span: tracing::Span::current(),
            base_url: Self::scope(context)
                .and_then(|s| s.base_url.clone())
                .unwrap_or_else(|| self.app.public_base_url())
                .into(),
        };
        let args = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        Ok(run_tool(tool, ctx, args).await)
    }
}

/// A call that ended, whatever its outcome.
pub(crate) struct Finished<'a> {
    pub request_id: &'a str,
    /// `None` when the caller could not be identified.
    pub caller: Option<&'a Principal>,
    /// The tool name as requested (it may not exist).
    pub requested: &'a str,
    pub arguments: Option<&'a Value>,
    /// The metrics label: a tool's name, or `unknown`.
    pub tool: &'static str,
    /// `ok`, an `error_type`, or `protocol_error`.
    pub status: &'static str,
    pub error_id: Option<&'a str>,
    pub elapsed: Duration,
}

/// After a call, as every way in ends one: the audit record, the call metrics and the log
/// line.
pub(crate) fn finish_call(app: &AppState, call: Finished<'_>) {
    let Finished {
        request_id,
        tool,
        status,
        elapsed,
        error_id,
        ..
    } = call;
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    match error_id {
        None if status == "ok" => {
            tracing::debug!(request_id = %request_id, tool, duration_ms, "tool call")
        }
        None => {}
        Some(error_id) => tracing::info!(
            request_id = %request_id, tool, duration_ms, error_type = status,
            error_id = %error_id, "tool call failed"
        ),
    }
    app.audit.record(CallRecord {
        request_id,
        principal: call.caller,
        tool: call.requested,
        arguments: call.arguments,
        outcome: status,
        error_id,
        elapsed,
    });
    app.call_metrics
        .record(app.registry.names(), tool, status, elapsed);
    let slow_ms = app.config.logging.slow_call_ms;
    if slow_ms > 0 && elapsed.as_millis() >= u128::from(slow_ms) {
        tracing::warn!(duration_ms, status, "slow call");
    }
}

/// Run `tool` as `ctx.principal`, as every way in runs a tool: its permission, the rate
/// limits, the response cache (read-only catalog tools), then its pool (admission,
/// deadline, drain), with progress heartbeats when the caller asked for them. An inline
/// tool (`health_check`) runs on this task instead of a worker (`ToolPool::call_inline`).
pub(crate) async fn run_tool(
    tool: Arc<crate::tools::ToolSpec>,
    ctx: ToolCtx,
    args: Value,
) -> Result<ToolOutput, ToolError> {
    let app = ctx.app.clone();
    let principal = ctx.principal.clone();
    principal.require(tool.permission, &format!("call {}", tool.name))?;
    let decision = app
        .limiter
        .check(
            &principal.rate_key(),
            principal.tenant.as_deref(),
            tool.name,
        )
        .await;
    match decision {
        crate::limits::Decision::Allowed => {}
        crate::limits::Decision::Limited { limit, retry_after } => {
            let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            return Err(ToolError::rate_limited(&limit, secs));
        }
        // Fail closed on the server's side: not the caller's limit, so 503, not 429.
        crate::limits::Decision::Unavailable { retry_after } => {
            let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            return Err(ToolError::refused_unavailable(
                format!(
                    "Rate limits cannot be checked right now ({}), so the call was not run. \
                     Retry after {secs} s.",
                    crate::limits::STORE_UNAVAILABLE
                ),
                secs,
            ));
        }
    }
    let progress = ctx.progress.clone();
    let cache_key = app.cache.as_ref().filter(|_| tool.cacheable).map(|cache| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        tool.name.hash(&mut h);
        args.to_string().hash(&mut h);
        principal.fingerprint().hash(&mut h);
        (cache, h.finish())
    });
    let changes_metadata = tool.changes_metadata;
    let Some((cache, key)) = cache_key else {
        let pool = app.pools.get(tool.pool);
        let result = if tool.inline {
            pool.call_inline(tool.job(ctx, args)).await
        } else {
            McpHandler::with_progress(pool.call(tool.job(ctx, args)), progress, &app).await
        };
        // A write makes every cached catalog answer suspect. (A failed one too, for the
        // in-memory catalog: reloading it costs less than reasoning about what was kept.)
        if changes_metadata {
            if result.is_ok() {
                app.invalidate_caches();
            } else {
                app.catalog.changed();
            }
        }
        return result;
    };
    if let Some(hit) = cache.get(&key) {
        metrics::counter!("vizier_cache_hits_total", "tool" => tool.name).increment(1);
        return Ok((*hit).clone());
    }
    // One computation per key at a time: a miss while the key's call runs waits for it.
    let (flight, joined) = app.flights.join_or_start(key, || {
        metrics::counter!("vizier_cache_misses_total", "tool" => tool.name).increment(1);
        let job = tool.clone().job(ctx.clone(), args.clone());
        let (app, cache, pool) = (app.clone(), cache.clone(), tool.pool);
        let flight = async move {
            let result = app.pools.get(pool).call(job).await.map(Arc::new);
            if let Ok(v) = &result {
                cache.insert(key, v.clone());
            }
            app.flights.land(key);
            result
        };
        futures::FutureExt::shared(futures::FutureExt::boxed(flight))
    });
    let shared = McpHandler::with_progress(flight, progress.clone(), &app).await;
    match shared {
        Ok(v) => {
            if joined {
                metrics::counter!("vizier_cache_coalesced_total", "tool" => tool.name).increment(1);
            }
            Ok(Arc::unwrap_or_clone(v))
        }
        Err(e) if !joined => Err(e),
        // Another caller's failure (its cancellation, a refusal) is not this caller's
        // answer: run the call for this caller.
        Err(_) => {
            metrics::counter!("vizier_cache_misses_total", "tool" => tool.name).increment(1);
            let call = app.pools.get(tool.pool).call(tool.job(ctx, args));
            let result = McpHandler::with_progress(call, progress, &app).await;
            if let Ok(v) = &result {
                cache.insert(key, Arc::new(v.clone()));
            }
            result
        }
    }
}

impl McpHandler {
    /// Await `call`, with progress heartbeats when the caller asked for them.
    async fn with_progress<T>(
        call: impl std::future::Future<Output = Result<T, ToolError>>,
        progress: Option<Progress>,
        app: &AppState,
    ) -> Result<T, ToolError> {
        match progress {
            None => call.await,
            Some(progress) => {
                Self::with_heartbeat(call, progress, app.config.server.progress_interval_ms).await
            }
        }
    }
}

impl McpHandler {
    /// Await `call`, sending a progress notification every `interval_ms` meanwhile so
    /// clients and proxies see a long call is alive.
    async fn with_heartbeat<T>(
        call: impl std::future::Future<Output = Result<T, ToolError>>,
        progress: Progress,
        interval_ms: u64,
    ) -> Result<T, ToolError> {
        let interval = Duration::from_millis(interval_ms);
        let started = Instant::now();
        tokio::pin!(call);
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            tokio::select! {
                result = &mut call => return result,
                _ = ticker.tick() => {
                    let secs = started.elapsed().as_secs_f64();
                    progress.report(secs, None, format!("running for {secs:.1} s")).await;
                }
            }
        }
    }
}

impl McpHandler {
    /// The context of work done for a resource or prompt request (no progress, no caller
    /// link base): the same fields a tool call gets.
    fn side_ctx(&self, principal: Arc<Principal>, context: &RequestContext<RoleServer>) -> ToolCtx {
        ToolCtx {
            app: self.app.clone(),
            principal,
            request_id: Arc::from(uuid::Uuid::new_v4().simple().to_string()),
            ct: context.ct.child_token(),
            progress: None,
            span: tracing::Span::current(),
            base_url: self.app.public_base_url().into(),
        }
    }

    /// The dataset a prompt names (id, uuid or table name), as `get_dataset_info` answers
    /// it for the caller: through the catalog pool, with the caller's permission and
    /// dataset access.
    async fn dataset_for_prompt(
        &self,
        principal: Arc<Principal>,
        wanted: &str,
        context: &RequestContext<RoleServer>,
    ) -> Result<Value, ToolError> {
        let ctx = self.side_ctx(principal.clone(), context);
        let run = |name: &'static str, args: Value| {
            let ctx = ctx.clone();
            let principal = principal.clone();
            async move {
                let spec = self.app.registry.get(name).cloned().ok_or_else(|| {
                    ToolError::new(
                        ErrorKind::PermissionDenied,
                        format!("{name} is not exposed by this server."),
                    )
                })?;
                principal.require(spec.permission, &format!("call {name}"))?;
                let out = self
                    .app
                    .pools
                    .get(spec.pool)
                    .call(spec.job(ctx, args))
                    .await?;
                Ok::<Value, ToolError>(out.json)
            }
        };
        let is_ident =
            wanted.chars().all(|c| c.is_ascii_digit()) || uuid::Uuid::parse_str(wanted).is_ok();
        if is_ident {
            return run(
                "get_dataset_info",
                serde_json::json!({"identifier": wanted}),
            )
            .await;
        }
        let found = run(
            "list_datasets",
            serde_json::json!({
                "filters": [{"col": "table_name", "opr": "eq", "value": wanted}],
                "select_columns": ["id", "table_name", "columns", "metrics"],
                "page_size": 1,
            }),
        )
        .await?;
        found["items"].get(0).cloned().ok_or_else(|| {
            ToolError::invalid_field(
                "dataset",
                format!("no dataset named '{wanted}' that you can see; list_datasets shows them."),
                &[],
                None,
            )
        })
    }
}

/// A page of `items` after `cursor` (an opaque base64 offset).
fn page<T: Clone>(
    items: &[T],
    cursor: Option<&str>,
    size: usize,
) -> Result<(Vec<T>, Option<String>), McpError> {
    let start = match cursor {
        None => 0,
        Some(c) => B64
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse::<usize>().ok()))
            .filter(|n| *n <= items.len())
            .ok_or_else(|| {
                McpError::invalid_params(
                    "Invalid cursor: pass back a nextCursor exactly as received.",
                    None,
                )
            })?,
    };
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| B64.encode(format!("o:{end}")));
    Ok((items[start..end].to_vec(), next))
}

impl ServerHandler for McpHandler {
    fn get_info(&self) -> ServerConfig {
        let mut extensions = ExtensionCapabilities::new();
        extensions.insert(apps::EXTENSION_ID.into(), JsonObject::new());
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_prompts()
            .enable_extensions_with(extensions)
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("vizier", crate::VERSION))
            .with_instructions(
                "vizier: business intelligence over MCP. Start with get_instance_info, then \
                 get_schema to learn the list filters. The `quickstart` prompt explains more.",
            )
    }

    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        std::borrow::Cow::Borrowed(&PROTOCOL_VERSIONS)
    }

    /// The completions capability is not declared, so the method does not exist here
    /// (rmcp's default answers an empty list, which reads as "no matches").
    async fn complete(
        &self,
        _request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        Err(McpError::new(
            ErrorCode::METHOD_NOT_FOUND,
            "completion/complete is not supported: this server does not declare the completions capability.",
            None,
        ))
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let principal = self
            .principal(&context)
            .await
            .map_err(Self::protocol_error)?;
        let mut tools = self.app.registry.listed(&principal);
        if apps::declared(context.client_capabilities().as_ref())
            || Self::scope(&context).is_some_and(|s| s.apps_session)
        {
            apps::point_at_views(&mut tools);
        }
        let cursor = request.as_ref().and_then(|r| r.cursor.as_deref());
        let (tools, next) = page(&tools, cursor, self.app.config.server.list_page_size)?;
        let mut result = ListToolsResult::with_all_items(tools);
        result.next_cursor = next;
        Ok(result)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        let registry = &self.app.registry;
        registry
            .entry(name)
            .or_else(|| registry.get(name).map(|t| &t.tool))
            .cloned()
    }

    async fn call_tool(
        &self,
        mut request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let started = Instant::now();
        // Search mode's call entries become the call of the tool they name, before
        // anything else sees the call: permissions, limits, audit and metrics are the
        // tool's own.
        // A malformed entry call is refused below, audited and counted like any call.
        let mut refused = None;
        let entry = request.name.as_ref();
        if self.app.registry.search_mode()
            && (entry == search::CALL_READ_TOOL || entry == search::CALL_WRITE_TOOL)
        {
            let arguments = request.arguments.clone();
            match search::unwrap_call(&self.app.registry, entry, arguments) {
                Ok((name, arguments)) => {
                    request.name = name.into();
                    request.arguments = arguments;
                }
                Err(e) => refused = Some(e),
            }
        }
        let scope = Self::scope(&context);
        let request_id: Arc<str> = scope
            .as_ref()
            .map(|s| Arc::from(s.request_id.as_str()))
            .unwrap_or_else(|| Arc::from(uuid::Uuid::new_v4().simple().to_string()));
        let tool_label: &'static str = self
            .app
            .registry
            .callable(request.name.as_ref())
            .map(|t| t.name)
            .unwrap_or("unknown");
        // The caller is known before the span opens: recording a field later makes the JSON
        // log formatter parse and re-serialize the span's fields on every call.
        let principal = self.principal(&context).await;
        let user_id = principal.as_ref().ok().map(|p| p.user_id);
        let span =
            tracing::info_span!("call", request_id = %request_id, tool = tool_label, user_id);
        let requested = request.name.clone();
        let audit_args = self
            .app
            .audit
            .enabled()
            .then(|| request.arguments.clone().map(Value::Object))
            .flatten();
        let mut caller = None;
        let outcome = tracing::Instrument::instrument(
            self.run_call(
                request,
                &context,
                request_id.clone(),
                principal,
                &mut caller,
                refused,
            ),
            span.clone(),
        )
        .await;
        let _entered = span.enter();
        let status = match &outcome {
            Ok(Ok(_)) => "ok",
            Ok(Err(e)) => e.error_type(),
            Err(_) => "protocol_error",
        };
        let error_id = match &outcome {
            Ok(Err(e)) => Some(e.error_id.as_str()),
            _ => None,
        };
        finish_call(
            &self.app,
            Finished {
                request_id: &request_id,
                caller: caller.as_deref(),
                requested: &requested,
                arguments: audit_args.as_ref(),
                tool: tool_label,
                status,
                error_id,
                elapsed: started.elapsed(),
            },
        );
        if let Err(e) = &outcome {
            tracing::info!(request_id = %request_id, tool = tool_label, error = %e.message, "tool call refused");
        }
        match outcome? {
            Ok(ToolOutput { json, images }) => {
                // Straight into a buffer: `Value::to_string` goes through `fmt::Write`
                // one token at a time.
                let text = serde_json::to_string(&json).map_err(|e| {
                    McpError::internal_error(format!("result not serializable: {e}"), None)
                })?;
                let mut content = vec![ContentBlock::text(text)];
                // Pictures travel as image content beside the JSON.
                content.extend(
                    images
                        .into_iter()
                        .map(|i| ContentBlock::image(i.data, i.mime_type)),
                );
                let mut result = CallToolResult::success(content);
                result.structured_content = Some(json);
                Ok(result.into())
            }
            Err(e) => {
                if let Some(scope) = &scope {
                    scope.refused(&e);
                }
                Ok(e.into_call_result().into())
            }
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let resource = Resource::new(METADATA_RESOURCE, "instance-metadata")
            .with_title("Instance metadata")
            .with_description(
                "What get_instance_info reports: object counts, recent activity, current user and server facts (JSON).",
            )
            .with_mime_type("application/json");
        let configs = Resource::new(guides::CHART_CONFIGS_RESOURCE, "chart-configs")
            .with_title("Chart config examples")
            .with_description(
                "A valid example config of every chart type, with the metric forms, filter operators and time grains (JSON).",
            )
            .with_mime_type("application/json");
        let mut all = vec![resource, configs];
        all.extend(apps::resources());
        Ok(ListResourcesResult::with_all_items(all))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        // The views are vizier's own static pages: nothing in them depends on the caller.
        if let Some(view) = apps::read(&request.uri) {
            return Ok(ReadResourceResult::new(vec![view]).into());
        }
        let configs = request.uri == guides::CHART_CONFIGS_RESOURCE;
        if request.uri != METADATA_RESOURCE && !configs {
            return Err(McpError::resource_not_found(
                format!(
                    "No resource '{}'. Available: {METADATA_RESOURCE}, {}, {}, {}.",
                    request.uri,
                    guides::CHART_CONFIGS_RESOURCE,
                    apps::CHART_VIEW,
                    apps::DASHBOARD_VIEW,
                ),
                None,
            ));
        }
        let principal = self
            .principal(&context)
            .await
            .map_err(Self::protocol_error)?;
        if configs {
            principal
                .require(
                    crate::auth::Permission::CatalogRead,
                    "read chart config examples",
                )
                .map_err(Self::protocol_error)?;
            let text = serde_json::to_string_pretty(&guides::chart_configs())
                .map_err(|e| Self::protocol_error(ToolError::internal(e)))?;
            return Ok(ReadResourceResult::new(vec![
                ResourceContents::text(text, guides::CHART_CONFIGS_RESOURCE)
                    .with_mime_type("application/json"),
            ])
            .into());
        }
        principal
            .require(
                crate::auth::Permission::SystemRead,
                "read instance metadata",
            )
            .map_err(Self::protocol_error)?;
        let ctx = self.side_ctx(principal, &context);
        let info = crate::tools::system::instance_info(&ctx)
            .await
            .map_err(Self::protocol_error)?;
        let text = serde_json::to_string_pretty(&info)
            .map_err(|e| Self::protocol_error(ToolError::internal(e)))?;
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text, METADATA_RESOURCE).with_mime_type("application/json"),
        ])
        .into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(vec![
            Prompt::new(
                "quickstart",
                Some(
                    "How to explore this vizier instance: what exists, which tools to call first, and how lists filter.",
                ),
                None,
            ),
            Prompt::new(
                guides::CREATE_CHART_PROMPT,
                Some("Build a chart step by step: dataset, chart type, config, preview, save."),
                Some(vec![
                    PromptArgument::new("dataset")
                        .with_description("The dataset's id, uuid or name (optional)."),
                    PromptArgument::new("goal")
                        .with_description("What the chart should show (optional)."),
                ]),
            ),
        ]))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        if request.name != "quickstart" && request.name != guides::CREATE_CHART_PROMPT {
            return Err(McpError::invalid_params(
                format!(
                    "Unknown prompt '{}'. Available: quickstart, {}.",
                    request.name,
                    guides::CREATE_CHART_PROMPT
                ),
                None,
            ));
        }
        let principal = self
            .principal(&context)
            .await
            .map_err(Self::protocol_error)?;
        if request.name == guides::CREATE_CHART_PROMPT {
            let argument = |name: &str| {
                request
                    .arguments
                    .as_ref()
                    .and_then(|a| a.get(name))
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            let dataset = match argument("dataset") {
                Some(wanted) => Some(
                    self.dataset_for_prompt(principal, &wanted, &context)
                        .await
                        .map_err(Self::protocol_error)?,
                ),
                None => None,
            };
            let goal = argument("goal");
            return Ok(GetPromptResult::new(vec![PromptMessage::new_text(
                Role::User,
                guides::create_chart_text(goal.as_deref(), dataset.as_ref()),
            )])
            .with_description("Build a chart step by step")
            .into());
        }
        let ctx = self.side_ctx(principal, &context);
        let info = crate::tools::system::instance_info(&ctx)
            .await
            .map_err(Self::protocol_error)?;
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(
            Role::User,
            quickstart_text(&info),
        )])
        .with_description("Explore this vizier instance")
        .into())
    }
}

fn quickstart_text(info: &crate::tools::system::InstanceInfo) -> String {
    let c = &info.counts;
    let recent = if info.recent_activity.is_empty() {
        "nothing yet".to_string()
    } else {
        info.recent_activity
            .iter()
            .map(|r| format!("{} #{} \"{}\"", r.object_type, r.id, r.name))
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "You are connected to vizier {version}, a business-intelligence server, as '{user}' (roles: {roles}).\n\
         It holds {d} dashboards, {ch} charts, {ds} datasets on {db} databases, and {sq} saved queries.\n\
         Recently changed: {recent}.\n\n\
         How to explore:\n\
         1. Call get_instance_info for this overview at any time.\n\
         2. Call get_schema to see, for each kind of object, which columns list tools can select, filter \
            (with which operators), sort and search.\n\
         3. The tools you may call are: {tools}.\n\
         Lists take filters as [{{\"col\": ..., \"opr\": ..., \"value\": ...}}], plus search, order_column, \
         order_direction, page (from 1) and page_size (at most 100). Errors name the field at fault and the \
         closest valid value.",
        version = info.server.version,
        user = info.current_user.username,
        roles = info.current_user.roles.join(", "),
        d = c.dashboards,
        ch = c.charts,
        ds = c.datasets,
        db = c.databases,
        sq = c.saved_queries,
        tools = info.server.tools.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_and_end() {
        let items: Vec<u32> = (0..5).collect();
        let (a, next) = page(&items, None, 2).expect("page");
        assert_eq!(a, vec![0, 1]);
        let (b, next) = page(&items, next.as_deref(), 2).expect("page");
        assert_eq!(b, vec![2, 3]);
        let (c, next) = page(&items, next.as_deref(), 2).expect("page");
        assert_eq!(c, vec![4]);
        assert!(next.is_none());
        assert!(page(&items, Some("garbage"), 2).is_err());
    }
}

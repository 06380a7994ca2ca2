//! The tool registry: every tool's name, schemas, annotations, permission and pool, and the
//! typed adapter that turns JSON arguments into a Rust call and the result back into JSON.
//!
//! One module per tool family; each exposes `fn register(&mut Registry)`.

mod accounts;
pub mod admin;
pub mod audit;
pub mod chart_data;
pub mod charts;
pub mod dashboards;
pub mod datasets;
pub mod filters;
pub mod history;
pub mod permissions;
pub mod roles;
pub mod schema;
pub mod search;
pub mod semantic;
pub mod shared;
pub mod sql;
pub mod state;
pub mod superset;
pub mod system;
pub mod users;
pub mod visualize;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use rmcp::model::{JsonObject, ProgressNotificationParam, ProgressToken, Tool, ToolAnnotations};
use rmcp::service::{Peer, RoleServer};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::actors::PoolKind;
use crate::actors::pool::Job;
use crate::auth::{Permission, Principal};
use crate::error::ToolError;
use crate::output::{IntoOutput, ToolOutput};
use state::AppState;

/// Everything a tool may use during one call.
#[derive(Clone)]
pub struct ToolCtx {
    pub app: Arc<AppState>,
    pub principal: Arc<Principal>,
    pub request_id: Arc<str>,
    /// Cancelled when the client cancels the call or goes away.
    pub ct: CancellationToken,
    pub progress: Option<Progress>,
    /// The call's span (request id, tool, principal): every log line of the call is in it.
    pub span: tracing::Span,
    /// The server's base URL as the caller reached it, for links in results.
    pub base_url: Arc<str>,
}

/// Sends MCP progress notifications for a call that asked for them.
#[derive(Clone)]
pub struct Progress {
    pub peer: Peer<RoleServer>,
    pub token: ProgressToken,
}

impl Progress {
    /// Report progress; `progress` must grow from one report to the next.
    pub async fn report(&self, progress: f64, total: Option<f64>, message: impl Into<String>) {
        let mut p = ProgressNotificationParam::new(self.token.clone(), progress);
        p.total = total;
        p.message = Some(message.into());
        if let Err(e) = self.peer.notify_progress(p).await {
            tracing::debug!(error = %e, "progress notification not delivered");
        }
    }
}

/// A stored time as ISO-8601 UTC.
pub fn fmt_time(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub type ToolFn =
    Arc<dyn Fn(ToolCtx, Value) -> BoxFuture<'static, Result<ToolOutput, ToolError>> + Send + Sync>;

/// Behaviour hints published as MCP tool annotations.
#[derive(Debug, Clone, Copy)]
pub struct Hints {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
}

impl Hints {
    pub const READ: Hints = Hints {
        read_only: true,
        destructive: false,
        idempotent: true,
    };
    pub const WRITE: Hints = Hints {
        read_only: false,
        destructive: false,
        idempotent: false,
    };
    pub const DESTRUCTIVE: Hints = Hints {
        read_only: false,
        destructive: true,
        idempotent: true,
    };
}

#[derive(Clone)]
pub struct ToolSpec {
    pub name: &'static str,
    pub pool: PoolKind,
    pub permission: Permission,
    /// Changes nothing: its result may be cached, and its success does not clear the cache.
    pub read_only: bool,
    /// Results may be served from the response cache (read-only catalog tools).
    pub cacheable: bool,
    /// Answered on the caller's task, not by a pool worker (`ToolPool::call_inline`): a tool
    /// that does no I/O and must answer while its pool is full ([`ToolSpec::liveness`]).
    pub inline: bool,
    /// A success changes the metadata store, so cached answers and lookups are dropped.
    pub changes_metadata: bool,
    /// Writes only where configuration lets it (`execute_sql` on a database that allows
    /// DML): under `tools.read_only` it stays, listed read-only, and the tool reads only.
    pub reads_when_read_only: bool,
    /// The MCP description of the tool as listed (schemas, annotations), built once.
    pub tool: Tool,
    /// The full output schema (the listing says only "an object": see `schema`).
    pub output_schema: Arc<JsonObject>,
    pub run: ToolFn,
}

impl ToolSpec {
    /// The list tool of a model without a trash: `deleted_state` is not offered (the list
    /// plan refuses it if sent anyway).
    pub fn without_trash(mut self) -> Self {
        let mut schema = Arc::unwrap_or_clone(self.tool.input_schema.clone());
        if let Some(Value::Object(props)) = schema.get_mut("properties") {
            props.remove("deleted_state");
        }
        self.tool.input_schema = Arc::new(schema);
        self
    }

    /// A liveness check: always measured, never remembered, and answered on the caller's
    /// task. It must read only what is kept (the last store check, the pools' counters),
    /// since it needs no worker, and one queued behind a full pool would report nothing.
    pub fn liveness(mut self) -> Self {
        self.cacheable = false;
        self.inline = true;
        self
    }

    /// A call of this tool with `ctx` and `args`, as a job for its pool.
    pub fn job(self: Arc<Self>, ctx: ToolCtx, args: Value) -> Job {
        Job {
            name: self.name,
            cancel: ctx.ct.clone(),
            span: ctx.span.clone(),
            run: Box::new(move || (self.run)(ctx, args)),
        }
    }
}

/// Declare a tool from a typed async function `f(ctx, args) -> Result<Out, ToolError>`.
#[allow(clippy::too_many_arguments)]
pub fn tool<A, O, F, Fut>(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    pool: PoolKind,
    permission: Permission,
    hints: Hints,
    f: F,
) -> ToolSpec
where
    A: DeserializeOwned + JsonSchema + Send + 'static,
    O: IntoOutput + JsonSchema + 'static,
    F: Fn(ToolCtx, A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
{
    let mut input_schema = Arc::unwrap_or_clone(portable_schema(
        rmcp::handler::server::common::schema_for_type::<A>(),
    ));
    schema::compact_input(&mut input_schema);
    let input_schema = Arc::new(input_schema);
    let output_schema = portable_schema(rmcp::handler::server::common::schema_for_output::<O>());
    let listed_output = Arc::new(schema::listed_output());
    // The title is said once, on the tool; destructive and idempotent mean something only
    // for a tool that writes (MCP's rule), so a read-only tool leaves them out. A hint at
    // MCP's default (readOnlyHint false, destructiveHint true, idempotentHint false,
    // openWorldHint true) is left out too: the listing is paid for in every conversation.
    // openWorldHint stays at its default, true: the data sources vizier reaches are systems
    // outside it.
    let mut annotations = ToolAnnotations::new();
    if hints.read_only {
        annotations = annotations.read_only(true);
    } else {
        if !hints.destructive {
            annotations = annotations.destructive(false);
        }
        if hints.idempotent {
            annotations = annotations.idempotent(true);
        }
    }
    let tool = Tool::new(name, description, input_schema.clone())
        .with_title(title)
        .with_raw_output_schema(listed_output)
        .with_annotations(annotations);
    let schema = input_schema;
    let f = Arc::new(f);
    let run: ToolFn = Arc::new(move |ctx, args| {
        let parsed = parse_args::<A>(&schema, args);
        let f = f.clone();
        Box::pin(async move {
            f(ctx, parsed?)
                .await?
                .into_output()
                .map_err(ToolError::internal)
        })
    });
    let cacheable = hints.read_only && pool == PoolKind::Catalog;
    ToolSpec {
        name,
        pool,
        permission,
        read_only: hints.read_only,
        cacheable,
        inline: false,
        changes_metadata: !hints.read_only,
        reads_when_read_only: false,
        tool,
        output_schema,
        run,
    }
}

/// `spec` as `tools.read_only` serves it: annotated and cached as a read.
fn read_only_variant(spec: &ToolSpec) -> ToolSpec {
    let mut spec = spec.clone();
    spec.read_only = true;
    spec.changes_metadata = false;
    spec.tool.annotations = Some(ToolAnnotations::new().read_only(true));
    spec
}

/// A generated schema in the subset every client accepts (see [`schema`]).
fn portable_schema(generated: Arc<JsonObject>) -> Arc<JsonObject> {
    let mut schema = Arc::unwrap_or_clone(generated);
    schema::portable(&mut schema);
    Arc::new(schema)
}

/// Parse arguments, accepting arrays and objects sent as JSON-encoded strings (some clients
/// do), and turning serde's message into an error that names the field.
pub fn parse_args<A: DeserializeOwned>(schema: &JsonObject, args: Value) -> Result<A, ToolError> {
    let mut args = match args {
        Value::Null => Value::Object(Default::default()),
        other => other,
    };
    if let (Some(obj), Some(props)) = (
        args.as_object_mut(),
        schema.get("properties").and_then(Value::as_object),
    ) {
        for (key, value) in obj.iter_mut() {
            let wants_structured = props.get(key).is_some_and(|p| {
                let t = p.get("type");
                let is = |want: &str| {
                    t.is_some_and(|t| {
                        t == want || t.as_array().is_some_and(|a| a.iter().any(|x| x == want))
                    })
                };
                is("array") || is("object") || p.get("$ref").is_some() || p.get("anyOf").is_some()
            });
            if let (true, Value::String(s)) = (wants_structured, &*value)
                && (s.trim_start().starts_with('[') || s.trim_start().starts_with('{'))
                && let Ok(parsed) = serde_json::from_str::<Value>(s)
            {
                *value = parsed;
            }
        }
    }
    let allowed: Vec<&str> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let given: Vec<String> = args
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    serde_json::from_value(args).map_err(|e| {
        let msg = e.to_string();
        // serde names unknown fields as `name`; suggest the closest allowed one. An unknown
        // field inside an argument (a layout cell, a filter) is that argument's problem:
        // serde's message, which lists what is expected there, says it.
        let unknown = msg
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
            .filter(|f| given.iter().any(|g| g == f))
            .map(str::to_owned);
        match unknown {
            Some(field) => ToolError::invalid_field(
                &field,
                format!(
                    "unknown argument; allowed arguments are: {}.",
                    allowed.join(", ")
                ),
                &allowed,
                Some(&field),
            ),
            None => ToolError::invalid(format!("Invalid arguments: {msg}."))
                .with_details(serde_json::json!({ "allowed_arguments": allowed })),
        }
    })
}

/// Every exposed tool, by name, and how the server lists them.
pub struct Registry {
    tools: Vec<Arc<ToolSpec>>,
    by_name: HashMap<&'static str, usize>,
    /// Tools the configuration withholds, with the reason (for a clear refusal).
    withheld: HashMap<&'static str, &'static str>,
    /// Set in search mode (`tools.search`): the ranking over `tools`.
    search: Option<search::Index>,
    /// Search mode's call entries (`call_read_tool`, `call_write_tool`), built once.
    entries: Vec<Tool>,
    /// Tools that serve vizier's own pages rather than MCP clients: never listed, not
    /// callable through `tools/call`, but run like every tool (pool, limits, audit,
    /// metrics) by the way in that owns them.
    internal: HashMap<&'static str, Arc<ToolSpec>>,
    /// MCP Apps' app-only tools (`visibility: ["app"]`): what vizier's views call through
    /// their host. Never in `tools/list` (the model does not see them), callable through
    /// `tools/call` by any client like every tool (permission, limits, pool, audit).
    app_only: HashMap<&'static str, Arc<ToolSpec>>,
}

/// The groups `tools.enabled` / `tools.disabled` may name: the tool pools.
const GROUPS: [PoolKind; 4] = PoolKind::ALL;

impl Registry {
    /// Every tool, listed in full (the default configuration).
    pub fn new() -> Self {
        let mut r = Self {
            tools: Vec::new(),
            by_name: HashMap::new(),
            withheld: HashMap::new(),
            search: None,
            entries: Vec::new(),
            internal: HashMap::new(),
            app_only: HashMap::new(),
        };
        system::register(&mut r);
        dashboards::register(&mut r);
        charts::register(&mut r);
        datasets::register(&mut r);
        semantic::register(&mut r);
        filters::register(&mut r);
        sql::register(&mut r);
        history::register(&mut r);
        admin::register(&mut r);
        users::register(&mut r);
        roles::register(&mut r);
        permissions::register(&mut r);
        audit::register(&mut r);
        visualize::register(&mut r);
        superset::register(&mut r);
        r
    }

    /// The tools `config` exposes, listed as it says. An unknown tool or group name is an
    /// error naming the closest valid one.
    pub fn configured(config: &crate::config::ToolsConfig) -> anyhow::Result<Self> {
        let all = Self::new();
        let mut valid: Vec<&str> = all.names().collect();
        valid.extend(GROUPS.iter().map(|g| g.as_str()));
        for (key, names) in [("enabled", &config.enabled), ("disabled", &config.disabled)] {
            for name in names {
                if !valid.contains(&name.as_str()) {
                    let hint = crate::error::closest(name, &valid)
                        .map(|c| format!(" Did you mean '{c}'?"))
                        .unwrap_or_default();
                    anyhow::bail!(
                        "config key tools.{key}: '{name}' is neither a tool nor a group                          (catalog, sql, charts, admin).{hint}"
                    );
                }
            }
        }
        let names = |list: &[String], spec: &ToolSpec| {
            list.iter()
                .any(|n| n == spec.name || n == spec.pool.as_str())
        };
        let mut r = Self {
            tools: Vec::new(),
            by_name: HashMap::new(),
            withheld: HashMap::new(),
            search: None,
            entries: Vec::new(),
            internal: all.internal,
            app_only: HashMap::new(),
        };
        for (name, spec) in all.app_only {
            let on = (config.enabled.is_empty() || names(&config.enabled, &spec))
                && !names(&config.disabled, &spec);
            if on {
                r.app_only.insert(name, spec);
            }
        }
        for spec in all.tools {
            let reason = if !config.enabled.is_empty() && !names(&config.enabled, &spec) {
                Some("tools.enabled does not name it or its group")
            } else if names(&config.disabled, &spec) {
                Some("tools.disabled names it or its group")
            } else if config.read_only && !spec.read_only && !spec.reads_when_read_only {
                Some("tools.read_only is set and it changes things")
            } else {
                None
            };
            let spec = if config.read_only && spec.reads_when_read_only {
                Arc::new(read_only_variant(&spec))
            } else {
                spec
            };
            match reason {
                Some(reason) => {
                    r.withheld.insert(spec.name, reason);
                }
                None => {
                    r.by_name.insert(spec.name, r.tools.len());
                    r.tools.push(spec);
                }
            }
        }
        if config.search {
            r.search = Some(search::Index::build(&r.tools));
            r.add(search::search_tool());
            r.entries = vec![search::call_entry(false), search::call_entry(true)];
        }
        Ok(r)
    }

    pub fn add(&mut self, spec: ToolSpec) {
        self.by_name.insert(spec.name, self.tools.len());
        self.tools.push(Arc::new(spec));
    }

    /// Add a tool of vizier's own pages (see `internal`).
    fn add_internal(&mut self, spec: ToolSpec) {
        self.internal.insert(spec.name, Arc::new(spec));
    }

    /// Add an app-only tool (see `app_only`).
    fn add_app_only(&mut self, spec: ToolSpec) {
        self.app_only.insert(spec.name, Arc::new(spec));
    }

    /// A tool `tools/call` runs: an exposed tool or an app-only one.
    pub fn callable(&self, name: &str) -> Option<&Arc<ToolSpec>> {
        self.get(name).or_else(|| self.app_only.get(name))
    }

    /// A tool of vizier's own pages, by name.
    pub fn internal(&self, name: &str) -> Option<&Arc<ToolSpec>> {
        self.internal.get(name)
    }

    /// An exposed tool.
    pub fn get(&self, name: &str) -> Option<&Arc<ToolSpec>> {
        self.by_name.get(name).map(|i| &self.tools[*i])
    }

    /// Why the configuration withholds `name`, if it does.
    pub fn withheld(&self, name: &str) -> Option<&'static str> {
        self.withheld.get(name).copied()
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.tools.iter().map(|t| t.name)
    }

    /// A search-mode call entry by name (none outside search mode).
    pub fn entry(&self, name: &str) -> Option<&Tool> {
        self.entries.iter().find(|t| t.name == name)
    }

    /// Search mode: `tools/list` holds the entry tools only.
    pub fn search_mode(&self) -> bool {
        self.search.is_some()
    }

    /// The exposed tools `principal` may call, in registration order.
    pub fn visible_to<'a>(
        &'a self,
        principal: &'a Principal,
    ) -> impl Iterator<Item = &'a Arc<ToolSpec>> + 'a {
        self.tools.iter().filter(|t| principal.has(t.permission))
    }

    /// What `tools/list` shows `principal`: every tool it may call, or in search mode the
    /// entry tools (the call entries only where it may call a tool of that kind).
    pub fn listed(&self, principal: &Principal) -> Vec<Tool> {
        if !self.search_mode() {
            // The full listing is paid for in every conversation: a tool's title (a display
            // form of its name) stays with search_tools and get_instance_info, not here.
            return self
                .visible_to(principal)
                .map(|t| {
                    let mut tool = t.tool.clone();
                    tool.title = None;
                    tool
                })
                .collect();
        }
        let visible: Vec<&Arc<ToolSpec>> = self.visible_to(principal).collect();
        let mut listed: Vec<Tool> = visible
            .iter()
            .filter(|t| t.name == search::SEARCH_TOOLS || search::LISTED_DIRECTLY.contains(&t.name))
            .map(|t| t.tool.clone())
            .collect();
        let (read, write) = (&self.entries[0], &self.entries[1]);
        if visible.iter().any(|t| t.read_only) {
            listed.push(read.clone());
        }
        if visible.iter().any(|t| !t.read_only) {
            listed.push(write.clone());
        }
        listed
    }

    /// Search mode: the tools `principal` may call that match `query`, best first.
    pub fn ranked<'a>(
        &'a self,
        query: &str,
        principal: &Principal,
    ) -> Vec<(&'a Arc<ToolSpec>, f64)> {
        let Some(index) = &self.search else {
            return Vec::new();
        };
        let mut ranked: Vec<(&Arc<ToolSpec>, f64)> = index
            .scores(query)
            .into_iter()
            .zip(&self.tools)
            .filter(|(score, t)| *score > 0.0 && principal.has(t.permission))
            .map(|(score, t)| (t, score))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.name.cmp(b.0.name)));
        ranked
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Args {
        #[allow(dead_code)]
        filters: Option<Vec<String>>,
        #[allow(dead_code)]
        page: Option<u32>,
    }

    /// Every registered tool's schemas are in the subset strict clients accept: object
    /// schemas (never a bare `true`/`false`) and standard `format` values only.
    #[test]
    fn every_tool_schema_is_portable() {
        let registry = Registry::new();
        let mut found = Vec::new();
        for spec in &registry.tools {
            let input = Value::Object(spec.tool.input_schema.as_ref().clone());
            assert_eq!(input["type"], "object", "{}: input schema", spec.name);
            for p in schema::problems(&input) {
                found.push(format!("{} input {p}", spec.name));
            }
            let listed = spec.tool.output_schema.as_ref().expect("output schema");
            for output in [listed, &spec.output_schema] {
                for p in schema::problems(&Value::Object(output.as_ref().clone())) {
                    found.push(format!("{} output {p}", spec.name));
                }
            }
        }
        assert!(found.is_empty(), "{}", found.join("\n"));
    }

    /// The full listing of a default server stays small: assistants pay for it in every
    /// conversation. Measured as `tools/list` serves it to an admin.
    #[test]
    fn the_full_listing_fits_its_budget() {
        let registry = Registry::new();
        let admin = crate::auth::Principal {
            user_id: 1,
            username: "admin".into(),
            roles: vec!["admin".into()],
            permissions: Permission::ALL.iter().map(|p| p.as_str()).collect(),
            all_datasource_access: true,
            database_ids: Default::default(),
            dataset_ids: Default::default(),
            token_scopes: None,
            tenant: None,
        };
        let tools = registry.listed(&admin);
        let mut sizes: Vec<(usize, &str)> = tools
            .iter()
            .map(|t| {
                (
                    serde_json::to_string(t).map_or(0, |s| s.len()),
                    t.name.as_ref(),
                )
            })
            .collect();
        sizes.sort();
        for (bytes, name) in &sizes {
            println!("{bytes:>6} {name}");
        }
        let bytes = serde_json::to_string(&serde_json::json!({ "tools": tools }))
            .expect("serializes")
            .len();
        println!("{} tools, {bytes} bytes", tools.len());
        assert_eq!(
            tools.len(),
            registry.tools.len(),
            "an admin sees every tool"
        );
        assert!(bytes <= 45_000, "the listing is {bytes} bytes");
    }

    #[test]
    fn json_encoded_arrays_are_accepted() {
        let schema = rmcp::handler::server::common::schema_for_type::<Args>();
        let a: Args =
            parse_args(&schema, serde_json::json!({"filters": "[\"a\",\"b\"]"})).expect("parses");
        assert_eq!(
            a.filters.as_deref(),
            Some(&["a".to_string(), "b".to_string()][..])
        );
    }

    #[test]
    fn unknown_arguments_name_the_closest_allowed() {
        let schema = rmcp::handler::server::common::schema_for_type::<Args>();
        let e = parse_args::<Args>(&schema, serde_json::json!({"pgae": 2})).expect_err("unknown");
        assert_eq!(e.error_type(), "invalid_argument");
        assert_eq!(e.details["suggestion"], "page", "{}", e.to_json());
    }

    #[test]
    fn wrong_types_are_invalid_arguments() {
        let schema = rmcp::handler::server::common::schema_for_type::<Args>();
        let e = parse_args::<Args>(&schema, serde_json::json!({"page": "two"})).expect_err("type");
        assert!(
            e.message.contains("page") || e.message.contains("invalid type"),
            "{}",
            e.message
        );
    }
}

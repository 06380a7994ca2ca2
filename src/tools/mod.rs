//! The tool registry: every tool's name, schemas, annotations, permission and pool, and the
//! typed adapter that turns JSON arguments into a Rust call and the result back into JSON.
//!
//! One module per tool family; each exposes `fn register(&mut Registry)`.

pub mod admin;
pub mod audit;
pub mod charts;
pub mod dashboards;
pub mod datasets;
pub mod history;
pub mod layout;
pub mod list;
pub mod list_spec;
pub mod query_builder;
pub mod sql;
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
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::actors::PoolKind;
use crate::app::AppState;
use crate::auth::{Permission, Principal};
use crate::error::ToolError;

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

/// A tool result may carry pictures under this key, as `[{data: base64, mime_type}]`: the
/// handler removes them from the structured result and returns each as MCP image content.
pub const IMAGES_FIELD: &str = "__images";

pub type ToolFn =
    Arc<dyn Fn(ToolCtx, Value) -> BoxFuture<'static, Result<Value, ToolError>> + Send + Sync>;

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

pub struct ToolSpec {
    pub name: &'static str,
    pub pool: PoolKind,
    pub permission: Permission,
    /// Changes nothing: its result may be cached, and its success does not clear the cache.
    pub read_only: bool,
    /// Results may be served from the response cache (read-only catalog tools).
    pub cacheable: bool,
    /// A success changes the metadata store, so cached answers and lookups are dropped.
    pub changes_metadata: bool,
    /// The MCP description of the tool (schemas, annotations), built once.
    pub tool: Tool,
    pub run: ToolFn,
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
    O: Serialize + JsonSchema + 'static,
    F: Fn(ToolCtx, A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
{
    let input_schema = rmcp::handler::server::common::schema_for_type::<A>();
    let output_schema = rmcp::handler::server::common::schema_for_output::<O>();
    let annotations = ToolAnnotations::with_title(title)
        .read_only(hints.read_only)
        .destructive(hints.destructive)
        .idempotent(hints.idempotent)
        .open_world(false);
    let tool = Tool::new(name, description, input_schema.clone())
        .with_title(title)
        .with_raw_output_schema(output_schema)
        .with_annotations(annotations);
    let schema = input_schema;
    let f = Arc::new(f);
    let run: ToolFn = Arc::new(move |ctx, args| {
        let parsed = parse_args::<A>(&schema, args);
        let f = f.clone();
        Box::pin(async move { into_json(f(ctx, parsed?).await?) })
    });
    // Health must always be measured, not remembered.
    let cacheable = hints.read_only && pool == PoolKind::Catalog && name != "health_check";
    ToolSpec {
        name,
        pool,
        permission,
        read_only: hints.read_only,
        cacheable,
        changes_metadata: !hints.read_only,
        tool,
        run,
    }
}

/// A tool's result as the call's JSON: serialized, except SQL results, whose rows are JSON
/// already and are moved in (`SqlResult::into_json`) instead of copied value by value.
fn into_json<O: Serialize + 'static>(out: O) -> Result<Value, ToolError> {
    let mut out = Some(out);
    let any: &mut dyn std::any::Any = &mut out;
    if let Some(result) = any
        .downcast_mut::<Option<sql::SqlResult>>()
        .and_then(Option::take)
    {
        return result.into_json().map_err(ToolError::internal);
    }
    serde_json::to_value(out).map_err(ToolError::internal)
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
    serde_json::from_value(args).map_err(|e| {
        let msg = e.to_string();
        // serde names unknown fields as `name`; suggest the closest allowed one.
        let unknown = msg
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
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

/// Every tool, by name.
pub struct Registry {
    tools: Vec<Arc<ToolSpec>>,
    by_name: HashMap<&'static str, usize>,
}

impl Registry {
    pub fn new() -> Self {
        let mut r = Self {
            tools: Vec::new(),
            by_name: HashMap::new(),
        };
        system::register(&mut r);
        dashboards::register(&mut r);
        charts::register(&mut r);
        datasets::register(&mut r);
        sql::register(&mut r);
        history::register(&mut r);
        admin::register(&mut r);
        users::register(&mut r);
        audit::register(&mut r);
        visualize::register(&mut r);
        r
    }

    pub fn add(&mut self, spec: ToolSpec) {
        self.by_name.insert(spec.name, self.tools.len());
        self.tools.push(Arc::new(spec));
    }

    pub fn get(&self, name: &str) -> Option<&Arc<ToolSpec>> {
        self.by_name.get(name).map(|i| &self.tools[*i])
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.tools.iter().map(|t| t.name)
    }

    /// The tools `principal` may call, in registration order.
    pub fn visible_to<'a>(
        &'a self,
        principal: &'a Principal,
    ) -> impl Iterator<Item = &'a Arc<ToolSpec>> + 'a {
        self.tools.iter().filter(|t| principal.has(t.permission))
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

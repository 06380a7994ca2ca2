//! Tool search (`tools.search = true`): `tools/list` holds a few entry tools, and the rest
//! is found with `search_tools` and called through `call_read_tool` / `call_write_tool`.
//!
//! The ranking is BM25 over each tool's name, title, description and parameter names,
//! built once at start over the exposed tools. The two call entries carry the annotations a
//! client uses to decide whether to ask a person first: `call_read_tool` is read-only and
//! refuses a tool that writes; `call_write_tool` is annotated as writing and destructive.
//! The MCP layer unwraps an entry call into the call of the tool it names before auth,
//! permissions, rate limits, audit and metrics, so those see the real tool.

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Hints, Registry, ToolCtx, ToolSpec, tool};
use crate::actors::PoolKind;
use crate::auth::Permission;
use crate::error::ToolError;

pub const SEARCH_TOOLS: &str = "search_tools";
pub const CALL_READ_TOOL: &str = "call_read_tool";
pub const CALL_WRITE_TOOL: &str = "call_write_tool";
/// Listed beside the search entries: the orienting first call.
pub const LISTED_DIRECTLY: &[&str] = &["get_instance_info"];

const DEFAULT_LIMIT: usize = 5;
const MAX_LIMIT: usize = 20;
/// BM25 parameters (the usual ones).
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// How often each part of a tool counts as a term occurrence (a weighted BM25F).
const NAME_WEIGHT: usize = 3;
const TITLE_WEIGHT: usize = 2;
const PARAM_WEIGHT: usize = 2;
const DESCRIPTION_WEIGHT: usize = 1;

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "be", "by", "for", "from", "in", "is", "it", "its", "of", "on",
    "or", "the", "to", "with", "you", "your", "can", "me", "i", "my", "what", "which", "how", "do",
    "does", "show", "get", "all",
];

/// Words people use for what a tool says another way: each also counts as the second.
const SYNONYMS: &[(&str, &str)] = &[
    ("run", "execute"),
    ("remove", "delete"),
    ("drop", "delete"),
    ("trash", "delete"),
    ("new", "create"),
    ("make", "create"),
    ("build", "create"),
    ("generate", "create"),
    ("edit", "update"),
    ("change", "update"),
    ("modify", "update"),
    ("image", "picture"),
    ("screenshot", "picture"),
    ("preview", "picture"),
    ("png", "picture"),
    ("graph", "chart"),
    ("plot", "chart"),
    ("visualization", "chart"),
    ("rls", "security"),
    ("token", "key"),
    // What people ask of BI data, in the words the tools use for it.
    ("revenue", "metric"),
    ("sale", "metric"),
    ("total", "metric"),
    ("sum", "metric"),
    ("average", "metric"),
    ("avg", "metric"),
    ("count", "metric"),
    ("kpi", "metric"),
    ("measure", "metric"),
    ("month", "time"),
    ("monthly", "time"),
    ("week", "time"),
    ("weekly", "time"),
    ("year", "time"),
    ("yearly", "time"),
    ("day", "time"),
    ("daily", "time"),
    ("quarter", "time"),
    ("trend", "time"),
    ("visualize", "chart"),
];

/// Lower-cased words of `text`, split at anything but letters and digits (so snake_case
/// names split too), without stop words, each reduced to a crude singular.
pub fn terms(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .map(|w| singular(&w))
}

/// [`terms`], each followed by the word [`SYNONYMS`] reads it as, if any. Used for queries
/// and for tools' names, titles and descriptions, not for parameter names (`expires_in_days`
/// says nothing about time series).
pub fn terms_with_synonyms(text: &str) -> impl Iterator<Item = String> + '_ {
    terms(text).flat_map(|w| {
        let also = SYNONYMS
            .iter()
            .find(|(from, _)| *from == w)
            .map(|(_, to)| (*to).to_owned());
        std::iter::once(w).chain(also)
    })
}

fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies")
        && stem.len() >= 2
    {
        return format!("{stem}y");
    }
    if word.len() > 3
        && word.ends_with('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
        && !word.ends_with("is")
    {
        return word[..word.len() - 1].to_owned();
    }
    word.to_owned()
}

/// Every property name in a schema, at any depth (parameters of nested objects count).
fn parameter_names(schema: &JsonObject, out: &mut Vec<String>) {
    for (key, value) in schema {
        match (key.as_str(), value) {
            ("properties", Value::Object(props)) => {
                for (name, sub) in props {
                    out.push(name.clone());
                    if let Value::Object(sub) = sub {
                        parameter_names(sub, out);
                    }
                }
            }
            (_, Value::Object(sub)) => parameter_names(sub, out),
            (_, Value::Array(list)) => {
                for sub in list.iter().filter_map(Value::as_object) {
                    parameter_names(sub, out);
                }
            }
            _ => {}
        }
    }
}

/// The BM25 index over the exposed tools.
pub struct Index {
    /// Per tool (by registry position): term frequencies and document length.
    docs: Vec<(HashMap<String, usize>, usize)>,
    /// Per term: how many tools hold it.
    doc_freq: HashMap<String, usize>,
    avg_len: f64,
}

impl Index {
    pub fn build(tools: &[Arc<ToolSpec>]) -> Self {
        let mut docs = Vec::with_capacity(tools.len());
        let mut doc_freq: HashMap<String, usize> = HashMap::new();
        for spec in tools {
            let mut tf: HashMap<String, usize> = HashMap::new();
            let mut add = |words: Vec<String>, weight: usize| {
                for term in words {
                    *tf.entry(term).or_default() += weight;
                }
            };
            let words = |text: &str| terms_with_synonyms(text).collect::<Vec<_>>();
            add(words(spec.name), NAME_WEIGHT);
            add(
                words(spec.tool.title.as_deref().unwrap_or_default()),
                TITLE_WEIGHT,
            );
            add(
                words(spec.tool.description.as_deref().unwrap_or_default()),
                DESCRIPTION_WEIGHT,
            );
            let mut params = Vec::new();
            parameter_names(&spec.tool.input_schema, &mut params);
            params.sort();
            params.dedup();
            for p in &params {
                add(terms(p).collect(), PARAM_WEIGHT);
            }
            for term in tf.keys() {
                *doc_freq.entry(term.clone()).or_default() += 1;
            }
            let len = tf.values().sum();
            docs.push((tf, len));
        }
        let avg_len = if docs.is_empty() {
            1.0
        } else {
            docs.iter().map(|(_, l)| *l as f64).sum::<f64>() / docs.len() as f64
        };
        Self {
            docs,
            doc_freq,
            avg_len,
        }
    }

    /// The BM25 score of every tool for `query`, by registry position (0 for no match).
    pub fn scores(&self, query: &str) -> Vec<f64> {
        let n = self.docs.len() as f64;
        let mut query_terms: Vec<String> = terms_with_synonyms(query).collect();
        query_terms.sort();
        query_terms.dedup();
        self.docs
            .iter()
            .map(|(tf, len)| {
                query_terms
                    .iter()
                    .filter_map(|t| Some((tf.get(t)?, self.doc_freq.get(t)?)))
                    .map(|(&f, &df)| {
                        let idf = (1.0 + (n - df as f64 + 0.5) / (df as f64 + 0.5)).ln();
                        let f = f as f64;
                        idf * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * *len as f64 / self.avg_len))
                    })
                    .sum()
            })
            .collect()
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// What you want to do or find, in words or tool and parameter names.
    pub query: String,
    /// Most tools to return, 1..=20 (default 5).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchResult {
    pub query: String,
    /// Best first: full definitions, to call through `call_with`.
    pub tools: Vec<FoundTool>,
    /// Tools that matched at all, of those you may call.
    pub total_matches: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FoundTool {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub input_schema: Map<String, Value>,
    pub output_schema: Map<String, Value>,
    pub annotations: Option<Value>,
    /// `call_read_tool` or `call_write_tool`, with {name, arguments}.
    pub call_with: &'static str,
    pub score: f64,
}

async fn search_tools(ctx: ToolCtx, args: SearchArgs) -> Result<SearchResult, ToolError> {
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ToolError::invalid_field(
            "limit",
            format!("must be 1..={MAX_LIMIT}."),
            &[],
            None,
        ));
    }
    if terms(&args.query).next().is_none() {
        return Err(ToolError::invalid_field(
            "query",
            "needs at least one word, e.g. \"chart data\" or \"delete dashboard\".",
            &[],
            None,
        ));
    }
    let registry = &ctx.app.registry;
    let mut ranked = registry.ranked(&args.query, &ctx.principal);
    let total_matches = ranked.len();
    ranked.truncate(limit);
    let tools = ranked
        .into_iter()
        .map(|(spec, score)| FoundTool {
            name: spec.name.to_owned(),
            title: spec.tool.title.clone(),
            description: spec.tool.description.as_deref().map(str::to_owned),
            input_schema: spec.tool.input_schema.as_ref().clone(),
            output_schema: spec.output_schema.as_ref().clone(),
            annotations: spec.tool.annotations.as_ref().and_then(|a| {
                // The listing leaves out hints at MCP's defaults; a search answers them all.
                let mut a = a.clone();
                if a.read_only_hint != Some(true) {
                    a.read_only_hint = Some(false);
                    a.destructive_hint.get_or_insert(true);
                    a.idempotent_hint.get_or_insert(false);
                }
                serde_json::to_value(a).ok()
            }),
            call_with: if spec.read_only {
                CALL_READ_TOOL
            } else {
                CALL_WRITE_TOOL
            },
            score: (score * 1000.0).round() / 1000.0,
        })
        .collect();
    Ok(SearchResult {
        query: args.query,
        tools,
        total_matches,
    })
}

/// `search_tools` as a registered tool (search mode only).
pub fn search_tool() -> ToolSpec {
    tool(
        SEARCH_TOOLS,
        "Search tools",
        "Find this server's tools by what you want to do (e.g. \"revenue chart by month\", \
         \"row level security\"): ranked full definitions, each to call with call_read_tool \
         or call_write_tool as its call_with says.",
        PoolKind::Catalog,
        Permission::SystemRead,
        Hints::READ,
        search_tools,
    )
}

/// Arguments of the call entries.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallArgs {
    /// A tool name from search_tools.
    pub name: String,
    /// The tool's arguments, as its input_schema says.
    #[serde(default)]
    pub arguments: Option<Map<String, Value>>,
}

/// The definition of `call_read_tool` (write = false) or `call_write_tool`.
pub fn call_entry(write: bool) -> Tool {
    let mut input =
        Arc::unwrap_or_clone(rmcp::handler::server::common::schema_for_type::<CallArgs>());
    super::schema::portable(&mut input);
    super::schema::compact_input(&mut input);
    let (name, title, description, annotations) = if write {
        (
            CALL_WRITE_TOOL,
            "Call a tool that changes things",
            "Call a tool that search_tools marks call_with: call_write_tool (it creates, \
             changes or deletes). Same permissions, limits and audit as calling it directly.",
            ToolAnnotations::new()
                .read_only(false)
                .destructive(true)
                .idempotent(false),
        )
    } else {
        (
            CALL_READ_TOOL,
            "Call a read-only tool",
            "Call a read-only tool found with search_tools (call_with: call_read_tool); a \
             tool that changes things is refused here. Same permissions, limits and audit \
             as calling it directly.",
            ToolAnnotations::new().read_only(true),
        )
    };
    Tool::new(name, description, Arc::new(input))
        .with_title(title)
        .with_raw_output_schema(Arc::new(super::schema::listed_output()))
        .with_annotations(annotations)
}

/// An entry call unwrapped: the tool it names and that tool's arguments, or why not.
pub fn unwrap_call(
    registry: &Registry,
    entry: &str,
    arguments: Option<JsonObject>,
) -> Result<(String, Option<JsonObject>), ToolError> {
    let schema = rmcp::handler::server::common::schema_for_type::<CallArgs>();
    let args: CallArgs =
        super::parse_args(&schema, arguments.map(Value::Object).unwrap_or(Value::Null))?;
    if let Some(spec) = registry.get(&args.name)
        && entry == CALL_READ_TOOL
        && !spec.read_only
    {
        return Err(ToolError::invalid_field(
            "name",
            format!(
                "'{}' changes things: call it through {CALL_WRITE_TOOL}, which your client \
                 may confirm with you first.",
                args.name
            ),
            &[],
            None,
        ));
    }
    Ok((args.name, args.arguments))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(registry: &Registry, query: &str) -> Vec<&'static str> {
        let index = Index::build(&registry.tools);
        let scores = index.scores(query);
        let mut ranked: Vec<(f64, &'static str)> = scores
            .into_iter()
            .zip(registry.tools.iter().map(|t| t.name))
            .filter(|(s, _)| *s > 0.0)
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.into_iter().take(3).map(|(_, n)| n).collect()
    }

    #[test]
    fn searches_find_the_tool_a_person_means() {
        let registry = Registry::new();
        for (query, want) in [
            ("run sql query", "execute_sql"),
            ("delete a dashboard", "delete_dashboard"),
            ("row level security rule", "create_rls_rule"),
            ("chart picture png", "get_chart_preview"),
            ("api keys", "list_api_keys"),
            ("audit log of calls", "list_audit_log"),
            ("add saved metric to dataset", "update_dataset_metric"),
            ("calculated column on a dataset", "update_dataset"),
            ("change dataset owners", "update_dataset"),
            ("revenue by month", "query_dataset"),
            ("make a revenue chart by month", "generate_chart"),
        ] {
            let found = top(&registry, query);
            assert!(found.contains(&want), "{query}: {found:?}");
        }
    }

    #[test]
    fn terms_split_names_and_drop_plurals() {
        let t: Vec<String> = terms("list_dashboards of Queries, and CHARTS").collect();
        assert_eq!(t, vec!["list", "dashboard", "query", "chart"]);
        let t: Vec<String> = terms_with_synonyms("run monthly").collect();
        assert_eq!(t, vec!["run", "execute", "monthly", "time"]);
    }
}

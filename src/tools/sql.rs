//! `execute_sql`: run one statement on a data source, safely.
//!
//! The pipeline (every step fails closed): permission and database access → templating
//! (only where the database enables it) → `sql::check` (one statement; read-only unless the
//! database allows DML; no side-effect functions) → row-level security rewrite → row cap →
//! the checked text (never the caller's raw text) runs on the data-source actor, read-only
//! at the database too, under the statement timeout and the caller's cancellation → the
//! largest prefix of rows that fits the byte budget.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::datasets::{source_for, source_for_lazy};
use super::shared::{dialect, sql_error};
use super::{Hints, Registry, ToolCtx, tool};
use crate::actors::PoolKind;
use crate::actors::db::LazyConn;
use crate::auth::{Permission, Principal};
use crate::datasources::{QueryOptions, ResultSet, StatementPriority};
use crate::db::MetaConn;
use crate::db::rls;
use crate::error::ToolError;
use crate::query::catalog::Access;
use crate::sql::{
    self, Dialect, GuardPolicy, RlsRule, SqlError, StatementKind, TableName, TemplateContext,
};

pub const DEFAULT_LIMIT: u64 = 1000;
pub const MAX_LIMIT: u64 = 10_000;
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;
pub const MAX_TIMEOUT_SECS: u64 = 300;

pub fn register(r: &mut Registry) {
    let mut execute = tool(
        "execute_sql",
        "Run SQL",
        "Run one SQL statement on a database you can access: read-only unless it allows DML, row-level security applied, at most `limit` rows within `timeout`. `dry_run`: the SQL as it would run and the engine's `plan`, nothing run.",
        PoolKind::Sql,
        Permission::SqlExecute,
        Hints {
            read_only: false,
            destructive: false,
            idempotent: false,
        },
        |ctx, args| async move { execute_sql(ctx, args).await.map(SqlAnswer) },
    );
    // It may change a data source (where DML is allowed), never the metadata store: the
    // catalog caches stay valid.
    execute.changes_metadata = false;
    execute.reads_when_read_only = true;
    r.add(execute);
    r.add(tool(
        "query_dataset",
        "Query a dataset",
        "Compute metrics over a dataset without writing SQL: grouped by columns, filtered, over a time range and grain. Row-level security applies.",
        PoolKind::Sql,
        Permission::CatalogRead,
        Hints::READ,
        |ctx, args| async move { query_dataset(ctx, args).await.map(SqlAnswer) },
    ));
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteSqlArgs {
    /// Id or uuid.
    pub database_id: Value,
    /// One SQL statement.
    pub sql: String,
    /// Schema for unqualified names (where supported).
    pub schema: Option<String>,
    /// Most rows, 1..=10000 (default 1000); caps any LIMIT in the SQL.
    pub limit: Option<u64>,
    /// Seconds, default 30, at most 300 (and the database's cap).
    pub timeout: Option<u64>,
    /// Values for `{{ name }}` placeholders (templating databases).
    pub template_params: Option<Map<String, Value>>,
    /// Answer the SQL and its plan; run nothing.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
    pub is_nullable: Option<bool>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SqlResult {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    pub row_count: usize,
    /// More rows exist than were returned; see `truncation_reason` and `how_to_get_more`.
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncation_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub how_to_get_more: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_affected: Option<u64>,
    pub execution_time_ms: f64,
    /// The statement as it ran (or would run): templated, RLS-rewritten, row-capped.
    pub executed_sql: String,
    pub statement_kind: String,
    /// Table references filtered by row-level security.
    pub rls_tables_filtered: usize,
    pub dry_run: bool,
    /// With `dry_run`: the engine's plan of the statement, nothing executed (PostgreSQL
    /// `EXPLAIN (FORMAT JSON)`, MySQL/MariaDB `EXPLAIN FORMAT=JSON`, SQLite `EXPLAIN QUERY
    /// PLAN` as `[{id, parent, detail}]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Value>,
}

/// An SQL result as a tool answers it: its rows moved into the JSON ([`SqlResult::into_json`])
/// rather than serialized value by value. Its schema is the result's.
#[derive(Debug, JsonSchema)]
#[schemars(transparent)]
pub struct SqlAnswer(pub SqlResult);

impl crate::output::IntoOutput for SqlAnswer {
    fn into_output(self) -> Result<crate::output::ToolOutput, serde_json::Error> {
        self.0.into_json().map(crate::output::ToolOutput::json)
    }
}

impl SqlResult {
    /// The result as JSON, its rows moved in rather than copied value by value (they are
    /// JSON already, and copying them was most of a large result's conversion cost).
    pub fn into_json(mut self) -> Result<Value, serde_json::Error> {
        let rows = std::mem::take(&mut self.rows);
        let mut value = serde_json::to_value(&self)?;
        if let Some(slot) = value.get_mut("rows") {
            *slot = Value::Array(rows.into_iter().map(Value::Array).collect());
        }
        Ok(value)
    }
}

/// The rules that apply to the caller on `database_id`, combined per table; remembered
/// briefly per principal (`cache.ttl_ms`, cleared by any write through this replica), like
/// the database lookup, so a repeated query costs no metadata query.
pub async fn remembered_rls_rules(
    ctx: &ToolCtx,
    conn: &mut LazyConn,
    database_id: i32,
    dialect: Dialect,
) -> Result<std::sync::Arc<Vec<RlsRule>>, ToolError> {
    let key = super::state::lookup_key(&("rls", database_id, ctx.principal.fingerprint()));
    if let Some(hit) = ctx.app.lookup::<Vec<RlsRule>>(key) {
        return Ok(hit);
    }
    let rules = rls_rules_for(conn.get().await?, &ctx.principal, database_id, dialect).await?;
    Ok(ctx.app.remember(key, rules))
}

/// The rules that apply to `principal` on `database_id`, combined per table.
///
/// A templated clause sees only who the caller is (`current_username`, `current_user_id`,
/// `current_user_roles`), never the caller's `template_params`: a rule's filter must not be
/// steerable by the person it filters.
async fn rls_rules_for(
    conn: &mut MetaConn,
    principal: &Principal,
    database_id: i32,
    dialect: Dialect,
) -> Result<Vec<RlsRule>, ToolError> {
    let template = &template_context(principal, Map::new());
    let rows = rls::RlsRule::on_tables_of(conn, database_id).await?;
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<i32> = rows.iter().map(|r| r.0).collect();
    let rule_roles = rls::RlsRule::roles_of(conn, ids).await?;
    let mut by_rule: HashMap<i32, Vec<String>> = HashMap::new();
    for (id, role) in rule_roles {
        by_rule.entry(id).or_default().push(role);
    }
    /// (group key, clause) of each rule on one table.
    type Clauses = Vec<(Option<String>, String)>;
    let mut per_table: Vec<(TableName, Clauses)> = Vec::new();
    for (id, kind, group, clause, schema, table) in rows {
        let listed = by_rule
            .get(&id)
            .is_some_and(|r| r.iter().any(|x| principal.roles.contains(x)));
        // regular: applies to the listed roles; base: to everyone except them.
        let applies = if kind == "base" { !listed } else { listed };
        if !applies {
            continue;
        }
        let clause = if clause.contains("{{") || clause.contains("{%") {
            sql::render_template(dialect, &clause, template).map_err(sql_error)?
        } else {
            clause
        };
        let name = TableName::new(schema.as_deref(), &table);
        match per_table.iter_mut().find(|(t, _)| *t == name) {
            Some((_, list)) => list.push((group, clause)),
            None => per_table.push((name, vec![(group, clause)])),
        }
    }
    let mut out = Vec::new();
    for (table, clauses) in per_table {
        if let Some(clause) = sql::combine(dialect, &clauses).map_err(sql_error)? {
            out.push(RlsRule { table, clause });
        }
    }
    Ok(out)
}

pub fn template_context(p: &Principal, params: Map<String, Value>) -> TemplateContext {
    TemplateContext {
        username: p.username.clone(),
        user_id: i64::from(p.user_id),
        roles: p.roles.clone(),
        params,
    }
}

/// Counts the bytes written to it: the size of a row's JSON without building the string.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How a size bound counts a string, quotes included.
type StringLen = fn(&str) -> usize;

/// A string's exact escaped length.
fn escaped_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// At least a string's escaped length, from its length alone (no byte read): every byte
/// counted as a six-byte `\u00XX` escape.
fn escape_ceiling(s: &str) -> usize {
    2 + 6 * s.len()
}

/// At least the length of `value`'s compact JSON, found without formatting it: numbers
/// count as the longest a number of their kind can print (an integer 20 bytes, a float 32),
/// strings as `string` counts them.
fn json_len_bound(value: &Value, string: StringLen) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(_) => 5,
        Value::Number(n) if n.is_f64() => 32,
        Value::Number(_) => 20,
        Value::String(s) => string(s),
        Value::Array(items) => array_len_bound(items, string),
        Value::Object(map) => {
            2 + map.len() * 2
                + map
                    .iter()
                    .map(|(k, v)| string(k) + json_len_bound(v, string))
                    .sum::<usize>()
        }
    }
}

/// [`json_len_bound`] of an array of `items`.
fn array_len_bound(items: &[Value], string: StringLen) -> usize {
    2 + items.len()
        + items
            .iter()
            .map(|item| json_len_bound(item, string))
            .sum::<usize>()
}

/// Keep the largest prefix of rows whose JSON fits in `budget` bytes.
///
/// Most results fit with room to spare: when an upper bound of their size fits, every row
/// is kept without printing a single number. Only results near or over the budget are
/// measured row by row.
pub fn fit_rows(rows: Vec<Vec<Value>>, budget: usize) -> (Vec<Vec<Value>>, bool) {
    // A ceiling from lengths alone first (no byte of any string read), then the tighter
    // bound: each is at least the printed size, so a result under either keeps every row.
    for string in [escape_ceiling as StringLen, escaped_len] {
        let bound: usize = rows.iter().map(|row| array_len_bound(row, string)).sum();
        if bound <= budget {
            return (rows, false);
        }
    }
    let mut used = 0;
    let total = rows.len();
    let mut kept = Vec::with_capacity(rows.len());
    for row in rows {
        let mut counted = ByteCount(0);
        let size =
            serde_json::to_writer(&mut counted, &row).map_or(usize::MAX / 2, |()| counted.0 + 1);
        if used + size > budget {
            break;
        }
        used += size;
        kept.push(row);
    }
    let cut = kept.len() < total;
    (kept, cut)
}

async fn execute_sql(ctx: ToolCtx, args: ExecuteSqlArgs) -> Result<SqlResult, ToolError> {
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(
            ToolError::invalid(format!("limit: {limit} is out of range 1..={MAX_LIMIT}."))
                .with_details(json!({"field": "limit"})),
        );
    }
    let timeout = args.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS);
    if !(1..=MAX_TIMEOUT_SECS).contains(&timeout) {
        return Err(ToolError::invalid(format!(
            "timeout: {timeout} s is out of range 1..={MAX_TIMEOUT_SECS}."
        ))
        .with_details(json!({"field": "timeout"})));
    }
    let mut conn = LazyConn::new(&ctx.app.db);
    let (db, source) = source_for_lazy(&ctx, &mut conn, &args.database_id).await?;
    let dialect = dialect(source.engine);
    let settings = &source.settings;
    let template = template_context(
        &ctx.principal,
        args.template_params.clone().unwrap_or_default(),
    );
    let text = if settings.templating {
        sql::render_template(dialect, &args.sql, &template).map_err(sql_error)?
    } else if args.template_params.as_ref().is_some_and(|p| !p.is_empty()) {
        return Err(ToolError::invalid(format!(
            "template_params: templating is off for database '{}'; send plain SQL or ask an admin to enable it.",
            db.name
        ))
        .with_details(json!({"field": "template_params"})));
    } else {
        args.sql.clone()
    };
    let run = Run {
        database_id: db.id,
        schema: args.schema.clone(),
        limit,
        timeout,
        dry_run: args.dry_run,
        // `tools.read_only`: this server changes nothing, whatever the database allows.
        allow_dml: settings.allow_dml && !ctx.app.config.tools.read_only,
        original: args.sql.clone(),
        fit_to_response: true,
        priority: StatementPriority::Interactive,
        cache_for: None,
    };
    run_sql(&ctx, conn, &source, &text, run).await
}

/// How one statement runs.
pub struct Run {
    pub database_id: i32,
    pub schema: Option<String>,
    pub limit: u64,
    pub timeout: u64,
    pub dry_run: bool,
    pub allow_dml: bool,
    /// What the caller sent (for the history).
    pub original: String,
    /// Cut the rows to the response byte budget (rows returned to the caller); charts
    /// that only draw the rows read them all.
    pub fit_to_response: bool,
    /// Whose CPU time the statement takes (the chart tools run theirs in the background).
    pub priority: StatementPriority,
    /// Serve and keep the rows in the chart data cache for this long (chart queries;
    /// see [`super::chart_data::rows_ttl`]); `None` runs the statement every time.
    pub cache_for: Option<Duration>,
}

/// Everything the statement that runs is made from: the SQL as sent (after templating), the
/// guard's policy, the caller's RLS rules, the default schema and the row cap. Borrowed to
/// look up, owned once remembered.
#[derive(Clone, Hash, PartialEq)]
struct PrepareKey<'a> {
    database_id: i32,
    dialect: Dialect,
    text: Cow<'a, str>,
    allow_dml: bool,
    rules: Cow<'a, [RlsRule]>,
    default_schema: Option<Cow<'a, str>>,
    cap: u64,
}

impl PrepareKey<'_> {
    fn into_owned(self) -> PrepareKey<'static> {
        PrepareKey {
            text: Cow::Owned(self.text.into_owned()),
            rules: Cow::Owned(self.rules.into_owned()),
            default_schema: self.default_schema.map(|s| Cow::Owned(s.into_owned())),
            database_id: self.database_id,
            dialect: self.dialect,
            allow_dml: self.allow_dml,
            cap: self.cap,
        }
    }
}

/// One SQL text checked, RLS-rewritten and row-capped, with the whole key it was made
/// from: a hit must match it exactly, so no hash collision can hand one caller's rewrite
/// to another.
struct Prepared {
    key: PrepareKey<'static>,
    executed_sql: String,
    kind: StatementKind,
    rls_tables_filtered: usize,
    /// What the statement as sent names, for the view and function check; collected only
    /// when the caller has rules.
    reads: Option<sql::Reads>,
}

/// Check → RLS → row cap for `key`, remembered like the lookups (`cache.ttl_ms`, cleared
/// by any write through this replica): dashboards, charts and assistants repeat the same
/// SQL, and parsing and rewriting it is a large share of a short query's cost. Refusals are
/// not remembered; they are cheap to repeat and must name the current reason.
fn prepare(ctx: &ToolCtx, key: PrepareKey<'_>) -> Result<std::sync::Arc<Prepared>, ToolError> {
    let hash = super::state::lookup_key(&("prepared", &key));
    if let Some(hit) = ctx.app.lookup::<Prepared>(hash).filter(|p| p.key == key) {
        return Ok(hit);
    }
    let checked = sql::check(
        key.dialect,
        &key.text,
        &GuardPolicy {
            allow_dml: key.allow_dml,
        },
    )
    .map_err(sql_error)?;
    let mut statement = checked.statement;
    let reads = (!key.rules.is_empty()).then(|| sql::reads_of(&statement));
    let filtered = sql::apply_rls(
        &mut statement,
        key.dialect,
        &key.rules,
        key.default_schema.as_deref(),
    )
    .map_err(sql_error)?;
    // One row more than returned is asked for, which tells whether the result was cut.
    sql::cap_limit(&mut statement, key.dialect, key.cap + 1);
    Ok(ctx.app.remember(
        hash,
        Prepared {
            key: key.into_owned(),
            executed_sql: sql::to_sql(&statement),
            kind: checked.kind,
            rls_tables_filtered: filtered,
            reads,
        },
    ))
}

/// How long reading a source's catalog for the view and function check may take.
const CATALOG_TIMEOUT: Duration = Duration::from_secs(10);
/// Most rows one catalog query may answer; more is refused rather than half-checked.
const CATALOG_MAX_ROWS: usize = 200_000;

/// The catalog facts of `source`: remembered per source for [`sql::depends::FACTS_TTL`], read
/// again on a miss (one reader at a time; the others wait for its answer). An unreadable
/// catalog is an error, so the caller's query is refused (fails closed).
async fn catalog_facts(
    ctx: &ToolCtx,
    source: &crate::actors::datasource::Source,
) -> Result<std::sync::Arc<sql::CatalogFacts>, ToolError> {
    let mut slot = source.catalog_facts.lock().await;
    if let Some((read_at, facts)) = slot.as_ref()
        && read_at.elapsed() < sql::depends::FACTS_TTL
    {
        return Ok(facts.clone());
    }
    let refuse = |why: String| {
        sql_error(SqlError::Rls(format!(
            "you have rules on database '{}', and its catalog could not be read to find the              views and functions your query depends on ({why}), so the query is refused",
            source.name
        )))
    };
    let dialect = dialect(source.engine);
    let mut results = Vec::new();
    for text in sql::depends::catalog_queries(dialect) {
        let options = QueryOptions {
            max_rows: CATALOG_MAX_ROWS,
            timeout: CATALOG_TIMEOUT,
            read_only: true,
            session_settings: Vec::new(),
            search_path: None,
            priority: StatementPriority::Interactive,
        };
        let rs = source
            .query((*text).to_string(), options, ctx.ct.clone())
            .await
            .map_err(|e| refuse(e.message))?;
        if rs.truncated {
            return Err(refuse(format!("more than {CATALOG_MAX_ROWS} catalog rows")));
        }
        results.push(rs.rows);
    }
    let facts =
        std::sync::Arc::new(sql::CatalogFacts::from_rows(dialect, &results).map_err(refuse)?);
    *slot = Some((std::time::Instant::now(), facts.clone()));
    Ok(facts)
}

/// The source's per-query settings for this caller (PostgreSQL native RLS).
fn session_settings(
    ctx: &ToolCtx,
    settings: &crate::datasources::settings::SourceSettings,
) -> Vec<(String, String)> {
    settings
        .session_settings
        .iter()
        .map(|(k, v)| {
            let value = v
                .replace("{username}", &ctx.principal.username)
                .replace("{user_id}", &ctx.principal.user_id.to_string())
                .replace("{roles}", &ctx.principal.roles.join(","));
            (k.clone(), value)
        })
        .collect()
}

/// The engine's plan of `executed_sql` (already checked, RLS-rewritten and capped), asked
/// in a read-only transaction; EXPLAIN without ANALYZE executes nothing.
async fn explain(
    ctx: &ToolCtx,
    source: &crate::actors::datasource::Source,
    dialect: Dialect,
    executed_sql: &str,
    session_settings: Vec<(String, String)>,
    run: &Run,
) -> Result<Value, ToolError> {
    let text = match dialect {
        Dialect::Postgres => format!("EXPLAIN (FORMAT JSON) {executed_sql}"),
        Dialect::MySql => format!("EXPLAIN FORMAT=JSON {executed_sql}"),
        Dialect::Sqlite => format!("EXPLAIN QUERY PLAN {executed_sql}"),
    };
    let options = QueryOptions {
        max_rows: 10_000,
        timeout: Duration::from_secs(run.timeout),
        read_only: true,
        session_settings,
        search_path: run.schema.clone(),
        priority: run.priority,
    };
    let rs = source.query(text, options, ctx.ct.clone()).await?;
    let as_json = |v: &Value| match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    };
    Ok(match dialect {
        Dialect::Sqlite => Value::Array(
            rs.rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": <[Value]>::first(r), "parent": r.get(1), "detail": r.get(3).or(r.last()),
                    })
                })
                .collect(),
        ),
        _ => <[Vec<Value>]>::first(&rs.rows)
            .and_then(|r| <[Value]>::first(r))
            .map(as_json)
            .unwrap_or(Value::Null),
    })
}

/// The shared pipeline: check → RLS → row cap → run → byte budget → history.
pub async fn run_sql(
    ctx: &ToolCtx,
    mut conn: LazyConn,
    source: &crate::actors::datasource::Source,
    text: &str,
    run: Run,
) -> Result<SqlResult, ToolError> {
    let dialect = dialect(source.engine);
    let settings = &source.settings;
    let rules = remembered_rls_rules(ctx, &mut conn, run.database_id, dialect).await?;
    // The metadata connection is not held while the query runs.
    conn.release();
    let default_schema = run.schema.clone().or_else(|| match dialect {
        Dialect::Postgres => Some("public".into()),
        _ => None,
    });
    let cap = run.limit.min(settings.row_limit.max(1));
    let prepared = prepare(
        ctx,
        PrepareKey {
            database_id: run.database_id,
            dialect,
            text: Cow::Borrowed(text),
            allow_dml: run.allow_dml,
            rules: Cow::Borrowed(&rules),
            default_schema: default_schema.as_deref().map(Cow::Borrowed),
            cap,
        },
    )?;
    // Rules bind to table names, which a view or function hides: for a caller with rules,
    // everything the query reads is looked up in the source's catalog (callers without
    // rules skip this).
    if let Some(reads) = &prepared.reads {
        let facts = catalog_facts(ctx, source).await?;
        sql::check_reads(dialect, reads, &rules, &facts).map_err(sql_error)?;
    }
    let executed_sql = prepared.executed_sql.clone();
    let filtered = prepared.rls_tables_filtered;
    let kind = match prepared.kind {
        StatementKind::Query => "query",
        StatementKind::Explain => "explain",
        StatementKind::Dml => "dml",
    };
    if run.dry_run {
        let plan = match prepared.kind {
            // An EXPLAIN is its own plan.
            StatementKind::Explain => None,
            _ => Some(
                explain(
                    ctx,
                    source,
                    dialect,
                    &executed_sql,
                    session_settings(ctx, settings),
                    &run,
                )
                .await?,
            ),
        };
        return Ok(SqlResult {
            columns: vec![],
            rows: vec![],
            row_count: 0,
            truncated: false,
            truncation_reason: None,
            how_to_get_more: None,
            rows_affected: None,
            execution_time_ms: 0.0,
            executed_sql,
            statement_kind: kind.into(),
            rls_tables_filtered: filtered,
            dry_run: true,
            plan,
        });
    }
    let session_settings = session_settings(ctx, settings);
    let cache = match (&ctx.app.chart_data, run.cache_for, prepared.kind) {
        (Some(cache), Some(ttl), StatementKind::Query) => Some((
            ttl,
            cache,
            super::chart_data::ChartDataKey {
                database_id: run.database_id,
                schema: run.schema.clone(),
                executed_sql: executed_sql.clone(),
                cap,
                rules: super::state::lookup_key(&*rules),
                session_settings: session_settings.clone(),
            },
        )),
        _ => None,
    };
    let started = std::time::Instant::now();
    // A miss while the same query runs for another caller waits for its rows; a miss
    // with the turn runs it for both (the turn is let go when this call ends).
    let (hit, _turn) = match &cache {
        Some((_, c, key)) => match (*c).lookup(key).await {
            super::chart_data::Lookup::Hit(rows) => (Some(rows), None),
            super::chart_data::Lookup::Miss(turn) => (None, turn),
        },
        None => (None, None),
    };
    let rs = match hit {
        // Nothing ran, so nothing goes to the query history.
        Some(rows) => ResultSet {
            execution_time_ms: started.elapsed().as_secs_f64() * 1000.0,
            ..(*rows).clone()
        },
        None => {
            let options = QueryOptions {
                max_rows: cap as usize,
                timeout: Duration::from_secs(run.timeout),
                read_only: prepared.kind != StatementKind::Dml,
                session_settings,
                search_path: run.schema.clone(),
                priority: run.priority,
            };
            let outcome = source
                .query(executed_sql.clone(), options, ctx.ct.clone())
                .await;
            crate::tools::history::record(
                ctx,
                run.database_id,
                run.schema.as_deref(),
                &run.original,
                &executed_sql,
                &outcome,
                started.elapsed(),
            );
            let rs = outcome?;
            if let Some((ttl, c, key)) = cache {
                c.insert(key, std::sync::Arc::new(rs.clone()), ttl);
            }
            // Rows cached before this change are stale now.
            if prepared.kind == StatementKind::Dml
                && let Some(c) = &ctx.app.chart_data
            {
                c.invalidate_all();
            }
            rs
        }
    };
    let (rows, cut_by_budget) = if run.fit_to_response {
        fit_rows(
            rs.rows,
            ctx.app.config.limits.response_bytes.saturating_sub(2_000),
        )
    } else {
        (rs.rows, false)
    };
    let truncated = rs.truncated || cut_by_budget;
    let reason = if cut_by_budget {
        Some(format!(
            "byte_budget: the rows that fit in {} bytes were returned",
            ctx.app.config.limits.response_bytes
        ))
    } else if rs.truncated {
        Some(format!("row_limit: {cap} rows"))
    } else {
        None
    };
    Ok(SqlResult {
        columns: rs
            .columns
            .into_iter()
            .map(|c| Column { name: c.name, data_type: c.data_type, is_nullable: c.is_nullable })
            .collect(),
        row_count: rows.len(),
        rows,
        truncated,
        how_to_get_more: reason.as_ref().map(|_| {
            "Aggregate or filter in SQL, select fewer columns, or page with ORDER BY … LIMIT n OFFSET m.".to_string()
        }),
        truncation_reason: reason,
        rows_affected: rs.rows_affected,
        execution_time_ms: (rs.execution_time_ms * 1000.0).round() / 1000.0,
        executed_sql,
        statement_kind: kind.into(),
        rls_tables_filtered: filtered,
        dry_run: false,
        plan: None,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryDatasetArgs {
    /// Id or uuid.
    pub dataset_id: Value,
    #[serde(flatten)]
    pub spec: crate::query::builder::QuerySpec,
    /// Most rows, 1..=10000 (default 1000).
    pub row_limit: Option<u64>,
    /// Seconds the query may run (default 30, at most 300).
    pub timeout: Option<u64>,
    /// Return the SQL without running it.
    #[serde(default)]
    pub dry_run: bool,
}

async fn query_dataset(ctx: ToolCtx, args: QueryDatasetArgs) -> Result<SqlResult, ToolError> {
    let limit = args.row_limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ToolError::invalid(format!(
            "row_limit: {limit} is out of range 1..={MAX_LIMIT}."
        ))
        .with_details(json!({"field": "row_limit"})));
    }
    let timeout = args.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS);
    if !(1..=MAX_TIMEOUT_SECS).contains(&timeout) {
        return Err(ToolError::invalid(format!(
            "timeout: {timeout} s is out of range 1..={MAX_TIMEOUT_SECS}."
        ))
        .with_details(json!({"field": "timeout"})));
    }
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let d = super::datasets::find_dataset(
        &mut conn,
        &access,
        &crate::query::list::Ident::parse(&args.dataset_id, false)?,
    )
    .await?;
    let (columns, metrics) = super::datasets::columns_and_metrics_of(&mut conn, d.id).await?;
    let (db, source) = source_for(&ctx, &mut conn, &access, &json!(d.database_id)).await?;
    let conn = LazyConn::holding(&ctx.app.db, conn);
    let dialect = dialect(source.engine);
    let text = crate::query::builder::build(dialect, &d, &columns, &metrics, &args.spec)?;
    let run = Run {
        database_id: db.id,
        schema: d.schema_name.clone(),
        limit,
        timeout,
        dry_run: args.dry_run,
        // Dataset queries only read.
        allow_dml: false,
        original: text.clone(),
        fit_to_response: true,
        priority: StatementPriority::Interactive,
        cache_for: None,
    };
    run_sql(&ctx, conn, &source, &text, run).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(value: &Value) -> usize {
        serde_json::to_string(value).expect("serializes").len()
    }

    #[test]
    fn the_size_bound_is_never_below_the_printed_size() {
        let values = vec![
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(-f64::MAX),
            json!(f64::MIN_POSITIVE),
            json!(-2.2250738585072014e-308),
            json!(-5e-324),
            json!(-0.000_123_456_789_012_345_67),
            json!(-123_456_789_012_345.67),
            json!(-1.234_567_890_123_456_7e21),
            json!(""),
            json!("plain"),
            json!("quote \" backslash \\ newline \n tab \t cr \r bell \u{7} nul \u{0} del \u{7f}"),
            json!("ünïcödé ✓ 𝄞"),
            json!({"a\"b": [1, 2.5, "x", null], "nested": {"deep": [[], {}]}}),
        ];
        for value in &values {
            let (bound, ceiling) = (
                json_len_bound(value, escaped_len),
                json_len_bound(value, escape_ceiling),
            );
            assert!(
                bound >= exact(value),
                "{value}: bound {bound} < printed {}",
                exact(value)
            );
            assert!(
                ceiling >= bound,
                "{value}: ceiling {ceiling} < bound {bound}"
            );
        }
        let row: Vec<Value> = values.clone();
        let bound = array_len_bound(&row, escaped_len);
        assert!(bound >= exact(&Value::Array(row.clone())));
        assert!(array_len_bound(&row, escape_ceiling) >= bound);
    }

    #[test]
    fn into_json_is_the_serialized_result() {
        let result = || SqlResult {
            columns: vec![Column {
                name: "n".into(),
                data_type: "INTEGER".into(),
                is_nullable: Some(false),
            }],
            rows: vec![vec![json!(1), json!("a")], vec![json!(null), json!(2.5)]],
            row_count: 2,
            truncated: true,
            truncation_reason: Some("row_limit: 2 rows".into()),
            how_to_get_more: None,
            rows_affected: None,
            execution_time_ms: 0.25,
            executed_sql: "SELECT 1".into(),
            statement_kind: "query".into(),
            rls_tables_filtered: 0,
            dry_run: false,
            plan: None,
        };
        let moved = result().into_json().expect("json");
        assert_eq!(moved, serde_json::to_value(result()).expect("json"));
        assert_eq!(
            moved.to_string(),
            serde_json::to_string(&result()).expect("json")
        );
    }

    #[test]
    fn fit_rows_keeps_the_largest_prefix_that_fits() {
        let rows: Vec<Vec<Value>> = (0..50)
            .map(|i| {
                vec![
                    json!(i),
                    json!(f64::from(i) * 1.25),
                    json!(format!("row \"{i}\"")),
                ]
            })
            .collect();
        let sizes: Vec<usize> = rows.iter().map(|r| exact(&json!(r)) + 1).collect();
        let total: usize = sizes.iter().sum();
        // Everything fits (the bounds' shortcuts and the exact count agree).
        for budget in [usize::MAX, 6 * total, total] {
            let (kept, cut) = fit_rows(rows.clone(), budget);
            assert_eq!((kept.len(), cut), (50, false), "budget {budget}");
        }
        // Budgets between the bound and the exact total, and below: the exact prefix.
        for budget in [total - 1, total / 2, sizes[0], sizes[0] - 1, 0] {
            let mut used = 0;
            let expected = sizes
                .iter()
                .take_while(|s| {
                    used += **s;
                    used <= budget
                })
                .count();
            let (kept, cut) = fit_rows(rows.clone(), budget);
            assert_eq!(kept.len(), expected, "budget {budget}");
            assert_eq!(kept[..], rows[..expected]);
            assert!(cut);
        }
    }
}

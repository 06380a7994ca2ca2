//! SQL safety core of the `execute_sql` tool: pure functions, no I/O.
//!
//! What lives where:
//! - `mod.rs` (this file): the [`Dialect`] switch, the [`SqlError`] type, parsing with the
//!   size/complexity limits every entry point shares, [`to_sql`], and the threat model below.
//! - [`guard`]: [`check`] — is this text exactly one statement we positively recognise as safe
//!   (read-only unless DML is allowed)? Holds the function and catalog denylists as data.
//! - [`limit`]: [`cap_limit`] — bound the number of rows a query can return.
//! - [`rls`]: [`apply_rls`] and [`combine`] — row-level security by rewriting every reference
//!   to a protected table into a filtered derived table.
//! - [`template`]: [`render_template`] — the restricted Jinja dialect used for SQL templates.
//! - [`depends`]: [`check_reads`] — for a caller with rules, refuse views, materialized views
//!   and user-defined functions that read protected tables (facts from the engine's catalog).
//!
//! # Threat model
//!
//! The SQL (and SQL templates) reaching these functions come from AI prompts, i.e. from anyone
//! who can talk to the model, so every input is treated as hostile. The attacker wants to:
//! change or destroy data, read data outside their row-level-security (RLS) scope, read
//! secrets (password hashes, other sessions' queries, files on the database host), run code
//! or touch the network/filesystem through the database, exhaust the database or this server
//! (sleep, huge results, deep ASTs, template blow-up), or leave state behind on a pooled
//! connection for the next user.
//!
//! The defence is fail-closed: only what the parser positively recognises is accepted.
//! - Exactly one statement, parsed by `sqlparser` with the configured dialect; the caller must
//!   send [`to_sql`] of the *checked and rewritten AST* to the database, never the original
//!   text. Comments, MySQL `/*! */` executable comments and tokenizer quirks therefore cannot
//!   smuggle anything past the checks: what runs is what was checked. [`check`] also insists
//!   that printing is a fixpoint and returns (and checks) the re-parsed statement.
//! - Statement kinds are allowlisted; everything inside (CTEs, subqueries, expressions, table
//!   factors) is walked with `sqlparser`'s visitor; side-effecting functions and secret-bearing
//!   catalogs are denylisted per dialect (all lists apply to every dialect, see `guard`).
//! - RLS is applied to the AST after `check`, and DML against an RLS-protected table is refused.
//! - Templates are rendered by a cut-down Jinja (see `template`) and the result goes through
//!   [`check`] like any SQL.
//! - Inputs are bounded ([`MAX_SQL_BYTES`], [`MAX_SQL_TOKENS`]) so that recursive AST
//!   processing (visitors, printing, dropping) cannot overflow a 2 MiB worker stack.
//!
//! The intended pipeline: `render_template` (if templated) → [`check`] → [`apply_rls`] →
//! [`cap_limit`] → [`to_sql`] → database. Any error means the query is refused.
//!
//! # What the deployment must guarantee
//!
//! - A least-privilege database role (read-only for read-only sources; no superuser, no
//!   `pg_read_server_files`/`pg_execute_server_program`, no MySQL `FILE`/`SUPER`/`PROCESS`),
//!   and a statement timeout set by the server.
//! - Session settings that match how `sqlparser` reads string literals, pinned by the
//!   connector: PostgreSQL `standard_conforming_strings = on` (the default); MySQL `sql_mode`
//!   without `NO_BACKSLASH_ESCAPES` and `ANSI_QUOTES`, connection character set `utf8mb4`. If
//!   the database lexes a literal differently from the parser, text that was checked as a
//!   string could run as code.
//! - The default database of a MySQL source is not `mysql` (unqualified `user` is allowed).
//!
//! # Known gaps
//!
//! - Views and user-defined functions are opaque to the rewrite. For a caller with rules, a
//!   query that reads a view depending on a protected table, or calls a user-defined
//!   function, is refused ([`depends`]); this needs the catalog facts, read by the caller.
//!   PostgreSQL partitions and inheritance children (and parents) of a protected table are
//!   refused too. Other paths into a protected table's rows (operators, casts and defaults
//!   backed by user functions) are not checked.
//! - The filtered derived table is not an optimisation fence: the planner may evaluate the
//!   user's predicates on rows the RLS clause later removes, so errors or timing can leak
//!   facts about hidden rows (PostgreSQL solves this for views with `security_barrier`).
//!   Aggregate metadata (row estimates in `EXPLAIN`, `pg_class.reltuples`,
//!   `information_schema.TABLES.TABLE_ROWS`) is not hidden either.
//! - The denylists cannot be complete (extensions add functions); the database role is the
//!   real boundary. `sqlparser`'s grammar can differ from the database's in ways the checks
//!   do not know about (`FROM ONLY t` was one; unquoted reserved words as names are refused
//!   for that reason).

pub mod depends;
pub mod guard;
pub mod limit;
pub mod rls;
pub mod template;

pub use depends::{CatalogFacts, Reads, check_reads, reads_of};
pub use guard::{CheckedSql, GuardPolicy, StatementKind, check};
pub use limit::cap_limit;
pub use rls::{RlsRule, TableName, apply_rls, combine};
pub use template::{TemplateContext, render_template};

use sqlparser::ast::{Expr, Statement};
use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::{Parser, ParserOptions};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

/// Largest SQL text accepted, in bytes. Analytics queries are far smaller; the bound keeps
/// tokenizing and parsing cheap.
pub const MAX_SQL_BYTES: usize = 256 * 1024;

/// Largest number of non-whitespace tokens accepted. Operator chains (`1+1+1…`, `a AND b AND
/// …`, `UNION` chains) are parsed iteratively into left-deep trees whose depth is not bounded by
/// the parser's recursion limit; every later pass (visitors, `Display`, `Drop`) recurses over
/// that depth. 20 000 tokens give at most ~10 000 levels, which a test runs through the whole
/// pipeline on a 2 MiB stack.
pub const MAX_SQL_TOKENS: usize = 20_000;

/// The SQL dialect of a data source; selects the `sqlparser` dialect used for every step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    Postgres,
    MySql,
    Sqlite,
}

impl Dialect {
    fn parser_dialect(self) -> &'static dyn sqlparser::dialect::Dialect {
        static POSTGRES: PostgreSqlDialect = PostgreSqlDialect {};
        static MYSQL: MySqlDialect = MySqlDialect {};
        static SQLITE: SQLiteDialect = SQLiteDialect {};
        match self {
            Dialect::Postgres => &POSTGRES,
            Dialect::MySql => &MYSQL,
            Dialect::Sqlite => &SQLITE,
        }
    }

    /// Human name for error messages.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "PostgreSQL",
            Dialect::MySql => "MySQL",
            Dialect::Sqlite => "SQLite",
        }
    }
}

/// Why a piece of SQL (or a template, or an RLS rule) was refused. `Display` is a complete
/// sentence meant to be shown to the model/user so that it can correct the query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    #[error("the SQL could not be parsed: {0}. Fix the syntax and send a single statement")]
    Parse(String),
    #[error("{}", not_single_message(*.0))]
    NotSingleStatement(usize),
    #[error("refused {what}: {why}")]
    Forbidden { what: String, why: String },
    #[error("the SQL template could not be rendered: {0}")]
    Template(String),
    #[error("row-level security could not be applied: {0}")]
    Rls(String),
}

fn not_single_message(found: usize) -> String {
    if found == 0 {
        "no SQL statement was found (the text is empty or only comments); send one query"
            .to_string()
    } else {
        format!(
            "exactly one SQL statement is allowed, but {found} were found; send one statement \
             without stacking several with ';'"
        )
    }
}

impl SqlError {
    pub(crate) fn forbidden(what: impl Into<String>, why: impl Into<String>) -> Self {
        SqlError::Forbidden {
            what: what.into(),
            why: why.into(),
        }
    }
}

/// Renders a statement back to SQL text. This (not the user's original text) is what must be
/// sent to the database: comments are gone and the text is exactly what was checked.
pub fn to_sql(stmt: &Statement) -> String {
    stmt.to_string()
}

fn parser_options() -> ParserOptions {
    // `unescape(false)` keeps string literals exactly as written so that printing them back
    // reproduces the original escapes (MySQL backslash escapes in particular); with unescaping,
    // a literal like 'a\\' would print as 'a\' and swallow the rest of the statement.
    ParserOptions::new()
        .with_unescape(false)
        .with_trailing_commas(false)
}

/// Tokenizes `sql` with the size and complexity limits applied, ready for a parser.
fn limited_parser(dialect: Dialect, sql: &str) -> Result<Parser<'static>, SqlError> {
    Ok(Parser::new(dialect.parser_dialect())
        .with_options(parser_options())
        .with_tokens_with_locations(limited_tokens(dialect, sql)?))
}

/// The tokens of `sql`, with the size and complexity limits applied.
fn limited_tokens(dialect: Dialect, sql: &str) -> Result<Vec<TokenWithSpan>, SqlError> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(SqlError::forbidden(
            format!("SQL of {} bytes", sql.len()),
            format!("the limit is {MAX_SQL_BYTES} bytes; simplify or split the query"),
        ));
    }
    if sql.contains('\0') {
        return Err(SqlError::forbidden(
            "a NUL character",
            "NUL bytes are never valid in SQL text; remove it",
        ));
    }
    let d = dialect.parser_dialect();
    let tokens = Tokenizer::new(d, sql)
        .with_unescape(false)
        .tokenize_with_location()
        .map_err(|e| SqlError::Parse(e.to_string()))?;
    let significant = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .count();
    if significant > MAX_SQL_TOKENS {
        return Err(SqlError::forbidden(
            format!("SQL with {significant} tokens"),
            format!(
                "the limit is {MAX_SQL_TOKENS} tokens, which keeps query trees shallow enough to \
                 analyse safely; simplify the query"
            ),
        ));
    }
    Ok(tokens)
}

/// Parses `sql` into statements with the dialect and the shared limits. PostgreSQL's and
/// MySQL's `TABLE name` is read as the `SELECT * FROM name` it stands for.
pub(crate) fn parse_statements(dialect: Dialect, sql: &str) -> Result<Vec<Statement>, SqlError> {
    let mut tokens = limited_tokens(dialect, sql)?;
    if matches!(dialect, Dialect::Postgres | Dialect::MySql) {
        tokens = expand_table_commands(tokens);
    }
    Parser::new(dialect.parser_dialect())
        .with_options(parser_options())
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| SqlError::Parse(e.to_string()))
}

/// Replaces each `TABLE` command (`TABLE name`, the shorthand of `SELECT * FROM name`) that
/// starts a query — the statement, a parenthesised subquery, or a set operation's right side
/// — by `SELECT * FROM`. sqlparser does not read a statement starting with `TABLE`, and the
/// `SetExpr::Table` it builds elsewhere keeps neither quoting nor a table reference that the
/// guard and row-level security could see (the guard refuses what is left of it). After the
/// rewrite the table is an ordinary reference: checked, filtered by RLS, and sent as SELECT.
fn expand_table_commands(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::Whitespace;
    let keyword = |t: &Token| match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.keyword),
        _ => None,
    };
    let set_operator = |t: Option<&Token>| {
        matches!(
            t.and_then(keyword),
            Some(Keyword::UNION | Keyword::EXCEPT | Keyword::INTERSECT)
        )
    };
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    // The last two significant tokens before the current one.
    let (mut prev, mut prev2): (Option<Token>, Option<Token>) = (None, None);
    for t in tokens {
        if matches!(t.token, Token::Whitespace(_)) {
            out.push(t);
            continue;
        }
        let starts_query = keyword(&t.token) == Some(Keyword::TABLE)
            && match prev.as_ref() {
                None | Some(Token::SemiColon | Token::LParen) => true,
                Some(p) if set_operator(Some(p)) => true,
                Some(p) => {
                    matches!(keyword(p), Some(Keyword::ALL | Keyword::DISTINCT))
                        && set_operator(prev2.as_ref())
                }
            };
        prev2 = prev.take();
        prev = Some(t.token.clone());
        if starts_query {
            let span = t.span;
            for token in [
                Token::make_keyword("SELECT"),
                Token::Whitespace(Whitespace::Space),
                Token::Mul,
                Token::Whitespace(Whitespace::Space),
                Token::make_keyword("FROM"),
            ] {
                out.push(TokenWithSpan { token, span });
            }
        } else {
            out.push(t);
        }
    }
    out
}

/// Parses `sql` as exactly one expression (nothing may follow it).
pub(crate) fn parse_expression(dialect: Dialect, sql: &str) -> Result<Expr, SqlError> {
    let mut parser = limited_parser(dialect, sql)?;
    let expr = parser
        .parse_expr()
        .map_err(|e| SqlError::Parse(e.to_string()))?;
    parser
        .expect_token(&Token::EOF)
        .map_err(|e| SqlError::Parse(format!("unexpected text after the expression: {e}")))?;
    Ok(expr)
}

#[cfg(test)]
pub(crate) mod test_support {
    /// Small deterministic PRNG (xorshift64*) so that fuzz-style tests are reproducible
    /// without a dependency.
    pub struct Rng(u64);

    impl Rng {
        pub fn new(seed: u64) -> Self {
            Rng(seed.max(1))
        }
        pub fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        pub fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % (n.max(1) as u64)) as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_sentences() {
        let e = SqlError::NotSingleStatement(2);
        assert!(e.to_string().contains("2 were found"));
        let e = SqlError::NotSingleStatement(0);
        assert!(e.to_string().contains("no SQL statement"));
        let e = SqlError::forbidden("DROP TABLE", "schema changes are not allowed");
        assert_eq!(
            e.to_string(),
            "refused DROP TABLE: schema changes are not allowed"
        );
    }

    #[test]
    fn size_limits() {
        let long = format!("SELECT '{}'", "x".repeat(MAX_SQL_BYTES));
        assert!(matches!(
            parse_statements(Dialect::Postgres, &long),
            Err(SqlError::Forbidden { .. })
        ));
        let many = format!("SELECT {}1", "1+".repeat(MAX_SQL_TOKENS));
        assert!(matches!(
            parse_statements(Dialect::Postgres, &many),
            Err(SqlError::Forbidden { .. })
        ));
        assert!(matches!(
            parse_statements(Dialect::Postgres, "SELECT 1\0"),
            Err(SqlError::Forbidden { .. })
        ));
    }

    #[test]
    fn string_literals_round_trip_with_their_escapes() {
        // If literals were unescaped, 'c\\' would print as 'c\' and MySQL would read past it.
        let stmts = parse_statements(Dialect::MySql, r"SELECT 'a\'b', 'c\\', 'it''s'").unwrap();
        assert_eq!(to_sql(&stmts[0]), r"SELECT 'a\'b', 'c\\', 'it''s'");
        let stmts = parse_statements(Dialect::Postgres, r"SELECT E'\\', $$a;b$$").unwrap();
        assert_eq!(to_sql(&stmts[0]), r"SELECT E'\\', $$a;b$$");
    }

    #[test]
    fn expression_must_be_complete() {
        assert!(parse_expression(Dialect::Postgres, "a = 1").is_ok());
        assert!(matches!(
            parse_expression(Dialect::Postgres, "a = 1) OR (1 = 1"),
            Err(SqlError::Parse(_))
        ));
        assert!(matches!(
            parse_expression(Dialect::Postgres, "a = 1; DROP TABLE t"),
            Err(SqlError::Parse(_))
        ));
    }
}

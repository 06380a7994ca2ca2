//! Row cap: [`cap_limit`] bounds how many rows a query can return.
//!
//! Belongs here: everything about `LIMIT`/`FETCH` on the outermost query. Only
//! `Statement::Query` is touched: DML keeps its own `LIMIT` semantics (MySQL `DELETE … LIMIT`)
//! and returns no rows to cap, and `EXPLAIN` returns a plan, not the rows (capping its inner
//! query would change the plan being asked about).
//!
//! - An integer literal limit becomes `min(limit, cap)`; `OFFSET` is kept; MySQL's
//!   `LIMIT offset, count` keeps its form.
//! - No limit, `LIMIT ALL` (parsed as no limit) and `LIMIT NULL` become `LIMIT cap`.
//! - `FETCH FIRST n ROWS ONLY` is capped like a limit (`FETCH FIRST ROWS ONLY` is one row).
//! - Anything else — a limit expression, a placeholder, a negative number (no limit on
//!   SQLite), `FETCH … WITH TIES` or `PERCENT` — cannot be capped in place, so the query is
//!   wrapped: `SELECT * FROM (<query>) AS vizier_capped LIMIT cap`. (The inner query keeps its
//!   own `ORDER BY`/`LIMIT`, which decide which rows are returned; the outer order of the at
//!   most `cap` rows is then not guaranteed by SQL, though the engines preserve it in
//!   practice.)
//! - The set operation's limit is the outer query's, so `UNION` results are capped as a whole.
//! - `TOP` is refused by `check` (not part of these dialects) and ignored here.

use sqlparser::ast::{Expr, LimitClause, Query, SetExpr, Statement, TableFactor, Value};

use super::{Dialect, parse_statements};

/// Sets the outer query's row limit to `min(existing, cap)`, adding one if absent. Leaves any
/// other statement alone.
pub fn cap_limit(stmt: &mut Statement, dialect: Dialect, cap: u64) {
    if let Statement::Query(query) = stmt {
        cap_query(query, dialect, cap);
    }
}

/// What an existing limit expression says.
enum Limit {
    Rows(u64),
    Unlimited,
    Unknown,
}

fn classify(expr: &Expr) -> Limit {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(text, _) => match text.parse::<u64>() {
                Ok(n) => Limit::Rows(n),
                Err(_) => Limit::Unknown,
            },
            Value::Null => Limit::Unlimited,
            _ => Limit::Unknown,
        },
        _ => Limit::Unknown,
    }
}

fn number(n: u64) -> Expr {
    Expr::value(Value::Number(n.to_string(), false))
}

/// Caps `slot` in place; returns false when it cannot be capped in place.
fn cap_expr(slot: &mut Expr, cap: u64) -> bool {
    match classify(slot) {
        Limit::Rows(n) => {
            if n > cap {
                *slot = number(cap);
            }
            true
        }
        Limit::Unlimited => {
            *slot = number(cap);
            true
        }
        Limit::Unknown => false,
    }
}

fn cap_query(query: &mut Box<Query>, dialect: Dialect, cap: u64) {
    let mut in_place = true;
    if let Some(fetch) = &mut query.fetch {
        if fetch.with_ties || fetch.percent {
            in_place = false;
        } else if let Some(quantity) = &mut fetch.quantity {
            in_place &= cap_expr(quantity, cap);
        }
    }
    // With FETCH present (already capped above) no LIMIT may be added: the engines refuse
    // both at once. An OFFSET alone is stored as a limit clause without a limit.
    let has_fetch = query.fetch.is_some();
    match &mut query.limit_clause {
        None => {
            if !has_fetch {
                query.limit_clause = Some(LimitClause::LimitOffset {
                    limit: Some(number(cap)),
                    offset: None,
                    limit_by: Vec::new(),
                });
            }
        }
        Some(LimitClause::LimitOffset {
            limit, limit_by, ..
        }) => {
            if !limit_by.is_empty() {
                in_place = false;
            } else {
                match limit {
                    None if has_fetch => {}
                    None => *limit = Some(number(cap)),
                    Some(expr) => in_place &= cap_expr(expr, cap),
                }
            }
        }
        Some(LimitClause::OffsetCommaLimit { limit, .. }) => {
            in_place &= cap_expr(limit, cap);
        }
    }
    if !in_place {
        wrap(query, dialect, cap);
    }
}

/// Replaces `query` with `SELECT * FROM (query) AS vizier_capped LIMIT cap`. The query is
/// moved, not cloned: cloning a deep tree costs far more stack than moving it.
fn wrap(query: &mut Box<Query>, dialect: Dialect, cap: u64) {
    let sql = format!("SELECT * FROM (SELECT 1) AS vizier_capped LIMIT {cap}");
    let mut outer = match parse_statements(dialect, &sql)
        .ok()
        .and_then(|mut s| s.pop())
    {
        Some(Statement::Query(outer)) => outer,
        _ => return cap_in_place(query, cap),
    };
    if derived_slot(&mut outer).is_none() {
        return cap_in_place(query, cap);
    }
    let inner = std::mem::replace(query, outer);
    match derived_slot(query) {
        Some(slot) => *slot = inner,
        None => {
            *query = inner;
            cap_in_place(query, cap);
        }
    }
}

/// Cannot be needed (the wrapper text is fixed); still, never leave a query uncapped: replace
/// whatever limit it has with the cap itself.
fn cap_in_place(query: &mut Query, cap: u64) {
    query.fetch = None;
    query.limit_clause = Some(LimitClause::LimitOffset {
        limit: Some(number(cap)),
        offset: None,
        limit_by: Vec::new(),
    });
}

/// The subquery slot of `SELECT * FROM (…) AS x`.
fn derived_slot(query: &mut Query) -> Option<&mut Box<Query>> {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    match &mut select.from.first_mut()?.relation {
        TableFactor::Derived { subquery, .. } => Some(subquery),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{GuardPolicy, check, to_sql};
    use Dialect::{MySql as My, Postgres as Pg, Sqlite as Lite};

    /// Caps `sql` and returns the printed result, after checking that it parses and passes the
    /// guard again.
    fn capped(dialect: Dialect, sql: &str, cap: u64) -> String {
        let policy = GuardPolicy { allow_dml: true };
        let mut statement = check(dialect, sql, &policy).expect(sql).statement;
        cap_limit(&mut statement, dialect, cap);
        let printed = to_sql(&statement);
        check(dialect, &printed, &policy)
            .unwrap_or_else(|e| panic!("capped {printed:?} refused: {e}"));
        printed
    }

    #[test]
    fn literal_limits_are_capped_or_kept() {
        assert_eq!(
            capped(Pg, "SELECT * FROM t", 100),
            "SELECT * FROM t LIMIT 100"
        );
        assert_eq!(
            capped(Pg, "SELECT * FROM t LIMIT 10", 100),
            "SELECT * FROM t LIMIT 10"
        );
        assert_eq!(
            capped(Pg, "SELECT * FROM t LIMIT 1000", 100),
            "SELECT * FROM t LIMIT 100"
        );
        assert_eq!(
            capped(Pg, "SELECT * FROM t ORDER BY a LIMIT 1000 OFFSET 50", 100),
            "SELECT * FROM t ORDER BY a LIMIT 100 OFFSET 50"
        );
        assert_eq!(
            capped(Pg, "SELECT * FROM t OFFSET 50", 100),
            "SELECT * FROM t LIMIT 100 OFFSET 50"
        );
        assert_eq!(
            capped(Pg, "SELECT * FROM t LIMIT 0", 100),
            "SELECT * FROM t LIMIT 0"
        );
        assert_eq!(
            capped(Lite, "SELECT * FROM t LIMIT 500", 100),
            "SELECT * FROM t LIMIT 100"
        );
    }

    #[test]
    fn mysql_keeps_its_comma_form() {
        assert_eq!(
            capped(My, "SELECT * FROM t LIMIT 5, 1000", 100),
            "SELECT * FROM t LIMIT 5, 100"
        );
        assert_eq!(
            capped(My, "SELECT * FROM t LIMIT 5, 10", 100),
            "SELECT * FROM t LIMIT 5, 10"
        );
        assert_eq!(
            capped(My, "SELECT * FROM t", 100),
            "SELECT * FROM t LIMIT 100"
        );
    }

    #[test]
    fn unlimited_forms_get_the_cap() {
        assert_eq!(
            capped(Pg, "SELECT * FROM t LIMIT ALL", 100),
            "SELECT * FROM t LIMIT 100"
        );
        assert_eq!(
            capped(Pg, "SELECT * FROM t LIMIT NULL", 100),
            "SELECT * FROM t LIMIT 100"
        );
    }

    #[test]
    fn fetch_first() {
        assert_eq!(
            capped(Pg, "SELECT * FROM t FETCH FIRST 500 ROWS ONLY", 100),
            "SELECT * FROM t FETCH FIRST 100 ROWS ONLY"
        );
        assert_eq!(
            capped(
                Pg,
                "SELECT * FROM t OFFSET 2 ROWS FETCH FIRST 5 ROWS ONLY",
                100
            ),
            "SELECT * FROM t OFFSET 2 ROWS FETCH FIRST 5 ROWS ONLY"
        );
        assert_eq!(
            capped(
                Pg,
                "SELECT * FROM t ORDER BY a FETCH FIRST 5 ROWS WITH TIES",
                100
            ),
            "SELECT * FROM (SELECT * FROM t ORDER BY a FETCH FIRST 5 ROWS WITH TIES) AS \
             vizier_capped LIMIT 100"
        );
    }

    #[test]
    fn expressions_are_wrapped() {
        assert_eq!(
            capped(Pg, "SELECT * FROM t LIMIT (SELECT 5)", 100),
            "SELECT * FROM (SELECT * FROM t LIMIT (SELECT 5)) AS vizier_capped LIMIT 100"
        );
        // SQLite reads a negative limit as "no limit".
        assert_eq!(
            capped(Lite, "SELECT * FROM t LIMIT -1", 100),
            "SELECT * FROM (SELECT * FROM t LIMIT -1) AS vizier_capped LIMIT 100"
        );
        assert_eq!(
            capped(Pg, "SELECT * FROM t LIMIT $1", 100),
            "SELECT * FROM (SELECT * FROM t LIMIT $1) AS vizier_capped LIMIT 100"
        );
        assert_eq!(
            capped(Pg, "WITH x AS (SELECT 1) SELECT * FROM x LIMIT 1e3", 7),
            "SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x LIMIT 1e3) AS vizier_capped \
             LIMIT 7"
        );
    }

    #[test]
    fn set_operations_are_capped_as_a_whole() {
        assert_eq!(
            capped(Pg, "SELECT a FROM t UNION SELECT a FROM u LIMIT 10 ", 100),
            "SELECT a FROM t UNION SELECT a FROM u LIMIT 10"
        );
        assert_eq!(
            capped(
                Pg,
                "SELECT a FROM t UNION ALL (SELECT a FROM u LIMIT 5000)",
                100
            ),
            "SELECT a FROM t UNION ALL (SELECT a FROM u LIMIT 5000) LIMIT 100"
        );
        assert_eq!(capped(Pg, "VALUES (1), (2)", 1), "VALUES (1), (2) LIMIT 1");
    }

    #[test]
    fn other_statements_are_left_alone() {
        for (dialect, sql) in [
            (Pg, "EXPLAIN SELECT * FROM t"),
            (Pg, "DELETE FROM t WHERE a = 1"),
            (My, "DELETE FROM t WHERE a = 1 LIMIT 5000"),
            (Pg, "INSERT INTO t SELECT * FROM u"),
        ] {
            let before = check(dialect, sql, &GuardPolicy { allow_dml: true })
                .expect(sql)
                .statement;
            assert_eq!(capped(dialect, sql, 1), to_sql(&before));
        }
    }
}

//! Row-level security by AST rewrite: [`apply_rls`] and [`combine`].
//!
//! Belongs here: matching table references against rules (names, schemas, CTE scoping),
//! building the filtered derived tables, and combining rule clauses.
//!
//! Every reference to a protected table — in `FROM`, any `JOIN`, derived tables, `LATERAL`,
//! subqueries anywhere in expressions, CTE bodies, set-operation branches, under `EXPLAIN`,
//! and in the read side of DML — is replaced by
//! `(SELECT * FROM <name as written> WHERE <clause>) AS <alias or bare table name>`, so that
//! outer references (`o.id`, `orders.id`) keep working. Unqualified column names at the top
//! level of the clause are qualified with the bare table name so that a column the table lacks
//! cannot silently bind to an outer query (it fails instead).
//!
//! Name matching is deliberately over-inclusive: table and schema names compare
//! case-insensitively in every dialect, quoted or not (a rule can only add a filter, so a
//! spurious match fails closed; a missed match would leak rows). An unqualified reference
//! matches rules without a schema, rules for `default_schema`, and — when `default_schema` is
//! `None` — rules for any schema. A name is a CTE (and is not rewritten) only where the
//! database certainly resolves it to the CTE: single-part, same name after PostgreSQL case
//! folding (exactly equal on MySQL/SQLite), and in scope — later CTEs and the main query see
//! earlier CTEs, a CTE body sees itself only under `WITH RECURSIVE`.
//!
//! DML whose target (INSERT/REPLACE table, UPDATE tables, DELETE tables, MERGE target) is
//! protected is refused with [`SqlError::Forbidden`]: filtering the target correctly (and
//! checking inserted rows) is out of scope, and refusing is safe.
//!
//! Callers must run [`super::check`] first. Every refusal is found by a read-only pass before
//! anything is changed, so on a refusal the statement is unchanged. (The statement is not
//! cloned for this: cloning a deep expression tree needs several KiB of stack per level in
//! debug builds.)

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, FromTable, Ident, ObjectName, ObjectNamePart, Query, SetExpr, Statement, TableAlias,
    TableFactor, TableObject, TableWithJoins, Visit, VisitMut, Visitor, VisitorMut,
};

use super::guard::check_expr;
use super::{Dialect, SqlError, parse_expression, parse_statements};

/// A possibly schema-qualified table name (for MySQL the schema is the database).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    pub fn new(schema: Option<&str>, name: &str) -> Self {
        TableName {
            schema: schema.map(str::to_string),
            name: name.to_string(),
        }
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// One table's filter: `clause` is a SQL boolean expression (already combined, see
/// [`combine`]); rows of `table` are visible only where it is true.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RlsRule {
    pub table: TableName,
    pub clause: String,
}

/// Combines rule clauses: clauses sharing a group key are OR-ed, groups (each keyless clause is
/// its own group) are AND-ed; every clause is parenthesised. Each clause is parsed with the
/// dialect and checked like a query, and the result is printed from the AST, so a clause such
/// as `a = 1) OR (1 = 1` cannot escape its parentheses. `None` when there are no rules.
pub fn combine(
    dialect: Dialect,
    rules: &[(Option<String>, String)],
) -> Result<Option<String>, SqlError> {
    let mut groups: Vec<(Option<&str>, Vec<Expr>)> = Vec::new();
    for (key, clause) in rules {
        let expr = parse_clause(dialect, clause, None)?;
        match key {
            Some(key) => match groups.iter_mut().find(|(k, _)| *k == Some(key.as_str())) {
                Some((_, exprs)) => exprs.push(expr),
                None => groups.push((Some(key.as_str()), vec![expr])),
            },
            None => groups.push((None, vec![expr])),
        }
    }
    let combined = groups
        .into_iter()
        .filter_map(|(_, exprs)| join(exprs, sqlparser::ast::BinaryOperator::Or))
        .map(nested);
    Ok(join(combined.collect(), sqlparser::ast::BinaryOperator::And).map(|e| e.to_string()))
}

fn nested(expr: Expr) -> Expr {
    match expr {
        already @ Expr::Nested(_) => already,
        other => Expr::Nested(Box::new(other)),
    }
}

/// `(a) op (b) op (c)`; `None` for no operands.
fn join(exprs: Vec<Expr>, op: sqlparser::ast::BinaryOperator) -> Option<Expr> {
    exprs
        .into_iter()
        .map(nested)
        .reduce(|left, right| Expr::BinaryOp {
            left: Box::new(left),
            op: op.clone(),
            right: Box::new(right),
        })
}

fn parse_clause(
    dialect: Dialect,
    clause: &str,
    table: Option<&TableName>,
) -> Result<Expr, SqlError> {
    let subject = match table {
        Some(table) => format!("the rule clause for table {table}"),
        None => format!("the rule clause `{clause}`"),
    };
    let expr = parse_expression(dialect, clause)
        .map_err(|e| SqlError::Rls(format!("{subject} is not a valid expression: {e}")))?;
    check_expr(dialect, &expr).map_err(|e| SqlError::Rls(format!("{subject} is refused: {e}")))?;
    Ok(expr)
}

/// Rewrites every reference to a protected table (see the module docs). Returns the number of
/// references rewritten. Refuses DML on protected tables and rules whose clause does not parse
/// or is not safe; on error `stmt` is unchanged.
pub fn apply_rls(
    stmt: &mut Statement,
    dialect: Dialect,
    rules: &[RlsRule],
    default_schema: Option<&str>,
) -> Result<usize, SqlError> {
    if rules.is_empty() {
        return Ok(0);
    }
    let parsed = rules
        .iter()
        .map(|rule| {
            parse_clause(dialect, &rule.clause, Some(&rule.table)).map(|expr| (&rule.table, expr))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let matcher = Matcher {
        rules: &parsed,
        default_schema,
    };
    let mut validator = Validator { matcher: &matcher };
    if let ControlFlow::Break(err) = Visit::visit(&*stmt, &mut validator) {
        return Err(err);
    }
    let template = derived_template(dialect)?;
    let mut rewriter = Rewriter {
        dialect,
        matcher: &matcher,
        template: &template,
        scopes: Vec::new(),
        saved_with: Vec::new(),
        count: 0,
    };
    match VisitMut::visit(stmt, &mut rewriter) {
        ControlFlow::Break(err) => Err(err),
        ControlFlow::Continue(()) => Ok(rewriter.count),
    }
}

/// A parsed `SELECT * FROM placeholder WHERE TRUE` to clone for each rewrite: building it from
/// the parser keeps this code independent of `Select`'s many fields.
fn derived_template(dialect: Dialect) -> Result<Query, SqlError> {
    let internal = || SqlError::Rls("internal error building the filtered table".to_string());
    let mut statements =
        parse_statements(dialect, "SELECT * FROM vizier_rls_placeholder WHERE TRUE")?;
    match statements.pop() {
        Some(Statement::Query(query)) => Ok(*query),
        _ => Err(internal()),
    }
}

type ParsedRule<'r> = (&'r TableName, Expr);

/// Which rules apply to a table name (over-inclusive, see the module docs).
struct Matcher<'a> {
    rules: &'a [ParsedRule<'a>],
    default_schema: Option<&'a str>,
}

struct Rewriter<'a> {
    dialect: Dialect,
    matcher: &'a Matcher<'a>,
    template: &'a Query,
    /// CTE names in scope, innermost last.
    scopes: Vec<Vec<Ident>>,
    /// The `WITH` clause taken out of each query being visited (restored afterwards), so that
    /// the generic walk does not visit CTE bodies with the wrong scope.
    saved_with: Vec<Option<sqlparser::ast::With>>,
    count: usize,
}

type Flow = ControlFlow<SqlError>;

fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

impl<'a> Matcher<'a> {
    /// Rules whose table this name may refer to (over-inclusive, see the module docs).
    fn matching(&self, name: &ObjectName) -> Result<Vec<&'a Expr>, SqlError> {
        let mut idents = Vec::with_capacity(name.0.len());
        for part in &name.0 {
            match part {
                ObjectNamePart::Identifier(ident) => idents.push(ident),
                ObjectNamePart::Function(_) => {
                    return Err(SqlError::Rls(format!(
                        "the computed table name {name} cannot be matched against the rules"
                    )));
                }
            }
        }
        let (schema, table) = match idents.as_slice() {
            [] => return Ok(Vec::new()),
            [table] => (None, *table),
            [.., schema, table] => (Some(*schema), *table),
        };
        Ok(self
            .rules
            .iter()
            .filter(|(rule, _)| same_name(&table.value, &rule.name))
            .filter(|(rule, _)| match (&rule.schema, schema) {
                (None, _) => true,
                (Some(rule_schema), Some(schema)) => same_name(&schema.value, rule_schema),
                (Some(rule_schema), None) => self
                    .default_schema
                    .is_none_or(|default| same_name(default, rule_schema)),
            })
            .map(|(_, expr)| expr)
            .collect())
    }

    fn refuse_dml_target(&self, verb: &str, name: &ObjectName) -> Result<(), SqlError> {
        if self.matching(name)?.is_empty() {
            return Ok(());
        }
        Err(SqlError::forbidden(
            format!("{verb} on {name}"),
            "the table is protected by row-level security, and changing protected tables \
             through execute_sql is not supported; only reading them is",
        ))
    }

    fn check_dml(&self, statement: &Statement) -> Result<(), SqlError> {
        match statement {
            Statement::Insert(insert) => match &insert.table {
                TableObject::TableName(name) => self.refuse_dml_target("INSERT", name),
                _ => Err(SqlError::Rls(
                    "INSERT into a table function cannot be checked".to_string(),
                )),
            },
            Statement::Update(update) => tables_in(std::slice::from_ref(&update.table))
                .try_for_each(|name| self.refuse_dml_target("UPDATE", name)),
            Statement::Delete(delete) => {
                delete
                    .tables
                    .iter()
                    .try_for_each(|name| self.refuse_dml_target("DELETE", name))?;
                let from = match &delete.from {
                    FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables) => {
                        tables
                    }
                };
                tables_in(from).try_for_each(|name| self.refuse_dml_target("DELETE", name))
            }
            Statement::Merge(merge) => tables_in_factor(&merge.table)
                .into_iter()
                .try_for_each(|name| self.refuse_dml_target("MERGE", name)),
            _ => Ok(()),
        }
    }
}

/// Finds every refusal before anything is rewritten.
struct Validator<'a> {
    matcher: &'a Matcher<'a>,
}

impl Visitor for Validator<'_> {
    type Break = SqlError;

    fn pre_visit_statement(&mut self, statement: &Statement) -> Flow {
        as_flow(self.matcher.check_dml(statement))
    }

    fn pre_visit_query(&mut self, query: &Query) -> Flow {
        if contains_table_command(&query.body) {
            return ControlFlow::Break(SqlError::Rls(
                "the TABLE command is not supported; use SELECT * FROM".to_string(),
            ));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> Flow {
        match factor {
            TableFactor::Table { name, .. } => as_flow(self.matcher.matching(name).map(|_| ())),
            _ => ControlFlow::Continue(()),
        }
    }
}

fn as_flow(result: Result<(), SqlError>) -> Flow {
    match result {
        Ok(()) => ControlFlow::Continue(()),
        Err(err) => ControlFlow::Break(err),
    }
}

impl<'a> Rewriter<'a> {
    fn child(&self, visible: Vec<Ident>) -> Rewriter<'a> {
        let mut scopes = self.scopes.clone();
        scopes.push(visible);
        Rewriter {
            dialect: self.dialect,
            matcher: self.matcher,
            template: self.template,
            scopes,
            saved_with: Vec::new(),
            count: 0,
        }
    }

    /// Is this single-part name certainly a CTE in scope?
    fn is_cte(&self, name: &ObjectName) -> bool {
        let [ObjectNamePart::Identifier(ident)] = name.0.as_slice() else {
            return false;
        };
        // PostgreSQL folds only ASCII letters; folding more would call two different names
        // the same CTE and leave a real table unfiltered.
        let fold = |i: &Ident| match (self.dialect, i.quote_style) {
            (Dialect::Postgres, None) => i.value.to_ascii_lowercase(),
            _ => i.value.clone(),
        };
        let wanted = fold(ident);
        self.scopes.iter().flatten().any(|cte| fold(cte) == wanted)
    }

    /// Builds `(SELECT * FROM <factor without alias> WHERE <clauses>) AS <alias>`.
    fn filtered(&self, factor: &TableFactor, clauses: &[&Expr]) -> Result<TableFactor, SqlError> {
        let internal = || SqlError::Rls("internal error building the filtered table".to_string());
        let TableFactor::Table { name, alias, .. } = factor else {
            return Err(internal());
        };
        let bare = match name.0.last() {
            Some(ObjectNamePart::Identifier(ident)) => ident.clone(),
            _ => return Err(internal()),
        };
        let mut inner = factor.clone();
        if let TableFactor::Table { alias, .. } = &mut inner {
            *alias = None;
        }
        let qualified: Vec<Expr> = clauses
            .iter()
            .map(|clause| qualify_columns((*clause).clone(), &bare))
            .collect();
        let condition =
            join(qualified, sqlparser::ast::BinaryOperator::And).ok_or_else(internal)?;

        let mut query = self.template.clone();
        let SetExpr::Select(select) = query.body.as_mut() else {
            return Err(internal());
        };
        let Some(from) = select.from.first_mut() else {
            return Err(internal());
        };
        from.relation = inner;
        select.selection = Some(condition);

        let alias = alias.clone().unwrap_or(TableAlias {
            explicit: true,
            name: bare,
            columns: Vec::new(),
            at: None,
        });
        Ok(TableFactor::Derived {
            lateral: false,
            subquery: Box::new(query),
            alias: Some(alias),
            sample: None,
        })
    }
}

/// Names of the plain tables in a FROM list (through joins and parenthesised joins).
fn tables_in(tables: &[TableWithJoins]) -> impl Iterator<Item = &ObjectName> {
    tables.iter().flat_map(|twj| {
        std::iter::once(&twj.relation)
            .chain(twj.joins.iter().map(|j| &j.relation))
            .flat_map(tables_in_factor)
    })
}

fn tables_in_factor(factor: &TableFactor) -> Vec<&ObjectName> {
    match factor {
        TableFactor::Table { name, .. } => vec![name],
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => tables_in(std::slice::from_ref(table_with_joins.as_ref())).collect(),
        _ => Vec::new(),
    }
}

/// Words that parse as bare identifiers but are not columns.
const NOT_COLUMNS: &[&str] = &[
    "current_role",
    "current_schema",
    "current_catalog",
    "current_user",
    "current_path",
    "session_user",
    "system_user",
    "user",
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "true",
    "false",
    "null",
];

/// Qualifies the bare column names of a clause (outside its subqueries) with `table`.
fn qualify_columns(mut clause: Expr, table: &Ident) -> Expr {
    struct Qualifier<'t> {
        table: &'t Ident,
        query_depth: usize,
    }
    impl VisitorMut for Qualifier<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
            self.query_depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
            self.query_depth = self.query_depth.saturating_sub(1);
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
            if self.query_depth > 0 {
                return ControlFlow::Continue(());
            }
            if let Expr::Identifier(ident) = expr {
                let keyword = ident.quote_style.is_none()
                    && NOT_COLUMNS.contains(&ident.value.to_ascii_lowercase().as_str());
                let variable = ident.value.starts_with(['@', '$', ':', '?']);
                if !keyword && !variable {
                    *expr = Expr::CompoundIdentifier(vec![self.table.clone(), ident.clone()]);
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut qualifier = Qualifier {
        table,
        query_depth: 0,
    };
    let _ = VisitMut::visit(&mut clause, &mut qualifier);
    clause
}

impl VisitorMut for Rewriter<'_> {
    type Break = SqlError;

    fn pre_visit_query(&mut self, query: &mut Query) -> Flow {
        let Some(mut with) = query.with.take() else {
            self.saved_with.push(None);
            return ControlFlow::Continue(());
        };
        // Each CTE body sees the CTEs before it (and itself under RECURSIVE), so it is walked
        // by a child rewriter with exactly that scope.
        let names: Vec<Ident> = with
            .cte_tables
            .iter()
            .map(|c| c.alias.name.clone())
            .collect();
        for (index, cte) in with.cte_tables.iter_mut().enumerate() {
            let mut visible: Vec<Ident> = names.iter().take(index).cloned().collect();
            if with.recursive {
                visible.push(cte.alias.name.clone());
            }
            let mut child = self.child(visible);
            if let ControlFlow::Break(err) = VisitMut::visit(&mut cte.query, &mut child) {
                query.with = Some(with);
                return ControlFlow::Break(err);
            }
            self.count += child.count;
        }
        self.scopes.push(names);
        self.saved_with.push(Some(with));
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &mut Query) -> Flow {
        if let Some(Some(with)) = self.saved_with.pop() {
            query.with = Some(with);
            self.scopes.pop();
        }
        ControlFlow::Continue(())
    }

    // Rewriting after the children have been visited means the new derived table (whose inner
    // FROM names the same table) is never visited again.
    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> Flow {
        let TableFactor::Table {
            name,
            args: None,
            with_ordinality: false,
            ..
        } = &*factor
        else {
            return ControlFlow::Continue(());
        };
        if self.is_cte(name) {
            return ControlFlow::Continue(());
        }
        let clauses = match self.matcher.matching(name) {
            Ok(clauses) if clauses.is_empty() => return ControlFlow::Continue(()),
            Ok(clauses) => clauses,
            Err(err) => return ControlFlow::Break(err),
        };
        match self.filtered(factor, &clauses) {
            Ok(derived) => {
                *factor = derived;
                self.count += 1;
                ControlFlow::Continue(())
            }
            Err(err) => ControlFlow::Break(err),
        }
    }
}

fn contains_table_command(body: &SetExpr) -> bool {
    match body {
        SetExpr::Table(_) => true,
        SetExpr::SetOperation { left, right, .. } => {
            contains_table_command(left) || contains_table_command(right)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{GuardPolicy, check, to_sql};
    use Dialect::{MySql as My, Postgres as Pg, Sqlite as Lite};

    fn rule(schema: Option<&str>, name: &str, clause: &str) -> RlsRule {
        RlsRule {
            table: TableName::new(schema, name),
            clause: clause.to_string(),
        }
    }

    /// One filtered derived table found in a rewritten statement.
    #[derive(Debug, PartialEq)]
    struct Filtered {
        /// The table inside, as written (`public.orders`).
        table: String,
        /// The derived table's alias as printed (`o`, `"Orders"`, `o (a, b)`).
        alias: String,
        /// The WHERE clause inside.
        clause: String,
    }

    /// What a statement contains: filtered derived tables, and plain table references
    /// (including the one inside each filtered derived table).
    #[derive(Debug, Default)]
    struct Shape {
        filtered: Vec<Filtered>,
        plain: Vec<String>,
    }

    impl Shape {
        /// Plain references to `table` that are not the inside of a filter.
        fn unfiltered(&self, table: &str) -> usize {
            let plain = self
                .plain
                .iter()
                .filter(|p| p.eq_ignore_ascii_case(table))
                .count();
            let filtered = self
                .filtered
                .iter()
                .filter(|f| f.table.eq_ignore_ascii_case(table))
                .count();
            plain - filtered
        }
        fn filtered_count(&self, table: &str) -> usize {
            self.filtered
                .iter()
                .filter(|f| f.table.eq_ignore_ascii_case(table))
                .count()
        }
        fn aliases(&self) -> Vec<&str> {
            self.filtered.iter().map(|f| f.alias.as_str()).collect()
        }
    }

    fn shape_of(statement: &Statement) -> Shape {
        struct Collector(Shape);
        impl Visitor for Collector {
            type Break = ();
            fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
                match factor {
                    TableFactor::Table {
                        name, args: None, ..
                    } => self.0.plain.push(name.to_string()),
                    TableFactor::Derived {
                        subquery,
                        alias: Some(alias),
                        ..
                    } => {
                        if let SetExpr::Select(select) = subquery.body.as_ref()
                            && let [from] = select.from.as_slice()
                            && from.joins.is_empty()
                            && let TableFactor::Table {
                                name, alias: None, ..
                            } = &from.relation
                            && let Some(clause) = &select.selection
                            && select.projection.len() == 1
                            && select.projection[0].to_string() == "*"
                        {
                            self.0.filtered.push(Filtered {
                                table: name.to_string(),
                                alias: alias.to_string().trim_start_matches("AS ").to_string(),
                                clause: clause.to_string(),
                            });
                        }
                    }
                    _ => {}
                }
                ControlFlow::Continue(())
            }
        }
        let mut collector = Collector(Shape::default());
        let _ = Visit::visit(statement, &mut collector);
        collector.0
    }

    /// Checks, rewrites, prints, and re-parses + re-checks the printed SQL (so the rewrite is
    /// valid SQL that the guard accepts), returning the count and the re-parsed shape.
    fn rewrite_with(
        dialect: Dialect,
        sql: &str,
        rules: &[RlsRule],
        default_schema: Option<&str>,
    ) -> (usize, Shape, String) {
        let policy = GuardPolicy { allow_dml: true };
        let mut checked = check(dialect, sql, &policy).expect(sql);
        let n = apply_rls(&mut checked.statement, dialect, rules, default_schema).expect(sql);
        let printed = to_sql(&checked.statement);
        let again = check(dialect, &printed, &policy)
            .unwrap_or_else(|e| panic!("rewritten {printed:?} refused: {e}"));
        (n, shape_of(&again.statement), printed)
    }

    fn rewrite(sql: &str) -> (usize, Shape, String) {
        rewrite_with(Pg, sql, &[rule(None, "orders", "tenant_id = 7")], None)
    }

    #[test]
    fn plain_reference_gets_the_table_name_as_alias() {
        let (n, shape, printed) = rewrite("SELECT orders.id FROM orders");
        assert_eq!(n, 1);
        assert_eq!(
            shape.filtered,
            vec![Filtered {
                table: "orders".into(),
                alias: "orders".into(),
                clause: "(orders.tenant_id = 7)".into(),
            }]
        );
        assert_eq!(shape.unfiltered("orders"), 0);
        assert_eq!(
            printed,
            "SELECT orders.id FROM (SELECT * FROM orders WHERE (orders.tenant_id = 7)) AS orders"
        );
    }

    #[test]
    fn aliases_and_column_lists_are_kept() {
        let (n, shape, _) = rewrite("SELECT o.id, x.a FROM orders o, orders AS x (a, b)");
        assert_eq!(n, 2);
        assert_eq!(shape.aliases(), vec!["o", "x (a, b)"]);
        assert_eq!(shape.unfiltered("orders"), 0);
    }

    #[test]
    fn every_join_is_filtered() {
        let (n, shape, _) = rewrite(
            "SELECT * FROM customers c JOIN orders o ON o.cid = c.id LEFT JOIN orders o2 ON \
             o2.id = o.parent_id CROSS JOIN (items i JOIN orders o3 ON o3.id = i.order_id)",
        );
        assert_eq!(n, 3);
        assert_eq!(shape.aliases(), vec!["o", "o2", "o3"]);
        assert_eq!(shape.unfiltered("orders"), 0);
        assert_eq!(shape.unfiltered("customers"), 1);
    }

    #[test]
    fn subqueries_everywhere_are_filtered() {
        let (n, shape, _) = rewrite(
            "SELECT (SELECT count(*) FROM orders) AS total, c.id FROM customers c \
             WHERE c.id IN (SELECT cid FROM orders) \
             AND EXISTS (SELECT 1 FROM orders o WHERE o.cid = c.id) \
             AND c.score > ALL (SELECT score FROM orders) \
             GROUP BY c.id HAVING count(*) > (SELECT min(n) FROM orders) \
             ORDER BY (SELECT max(id) FROM orders)",
        );
        assert_eq!(n, 6);
        assert_eq!(shape.unfiltered("orders"), 0);
    }

    #[test]
    fn derived_tables_lateral_and_unions_are_filtered() {
        let (n, shape, _) = rewrite(
            "SELECT * FROM (SELECT * FROM (SELECT * FROM orders) a) b, \
             LATERAL (SELECT * FROM orders o WHERE o.id = b.id) l",
        );
        assert_eq!(n, 2);
        assert_eq!(shape.unfiltered("orders"), 0);
        let (n, shape, _) = rewrite(
            "SELECT id FROM orders UNION SELECT id FROM archive INTERSECT SELECT id FROM orders \
             EXCEPT (SELECT id FROM orders)",
        );
        assert_eq!(n, 3);
        assert_eq!(shape.unfiltered("orders"), 0);
        assert_eq!(shape.unfiltered("archive"), 1);
    }

    #[test]
    fn cte_bodies_are_filtered_but_cte_references_are_not() {
        let (n, shape, printed) = rewrite(
            "WITH recent AS (SELECT * FROM orders WHERE d > now()) SELECT * FROM recent r JOIN \
             recent r2 ON true",
        );
        assert_eq!(n, 1, "{printed}");
        assert_eq!(shape.unfiltered("orders"), 0);
        assert_eq!(shape.unfiltered("recent"), 2);
        // A later CTE sees an earlier one.
        let (n, shape, _) =
            rewrite("WITH a AS (SELECT * FROM orders), b AS (SELECT * FROM a) SELECT * FROM b");
        assert_eq!(n, 1);
        assert_eq!(shape.unfiltered("orders"), 0);
        assert_eq!(shape.unfiltered("a"), 1);
    }

    #[test]
    fn a_cte_shadowing_the_table_is_handled() {
        // Inside its own (non-recursive) body the name is the real table; outside, the CTE.
        let (n, shape, printed) =
            rewrite("WITH orders AS (SELECT * FROM orders WHERE paid) SELECT * FROM orders");
        assert_eq!(n, 1, "{printed}");
        assert_eq!(shape.filtered_count("orders"), 1);
        assert!(
            printed.starts_with(
                "WITH orders AS (SELECT * FROM (SELECT * FROM orders WHERE (orders.tenant_id = \
                 7)) AS orders WHERE paid) SELECT * FROM orders"
            ),
            "{printed}"
        );
        // A qualified name is never a CTE.
        let (n, _, _) = rewrite("WITH orders AS (SELECT 1 AS x) SELECT * FROM public.orders");
        assert_eq!(n, 1);
        // An earlier CTE cannot see a later one: there `orders` is still the table.
        let (n, _, _) =
            rewrite("WITH a AS (SELECT * FROM orders), orders AS (SELECT 1 AS x) SELECT * FROM a");
        assert_eq!(n, 1);
        // A CTE defined in a subquery does not hide the table outside it.
        let (n, shape, _) = rewrite(
            "SELECT * FROM (WITH orders AS (SELECT 1 AS x) SELECT * FROM orders) s, orders",
        );
        assert_eq!(n, 1);
        assert_eq!(shape.filtered_count("orders"), 1);
        // Under RECURSIVE the CTE's own name inside its body is the CTE.
        let (n, _, _) = rewrite(
            "WITH RECURSIVE orders AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM orders WHERE \
             n < 3) SELECT * FROM orders",
        );
        assert_eq!(n, 0);
        // PostgreSQL folds unquoted names: ORDERS is the CTE; "Orders" is not.
        let (n, _, _) = rewrite("WITH orders AS (SELECT 1 AS x) SELECT * FROM ORDERS");
        assert_eq!(n, 0);
        // ...but only ASCII letters: ÖRDERS and örders are different names to PostgreSQL.
        let rules = [rule(None, "örders", "tenant_id = 7")];
        let (n, _, _) = rewrite_with(
            Pg,
            "WITH ÖRDERS AS (SELECT 1 AS x) SELECT * FROM örders",
            &rules,
            None,
        );
        assert_eq!(n, 1);
        let (n, _, _) = rewrite("WITH orders AS (SELECT 1 AS x) SELECT * FROM \"Orders\"");
        assert_eq!(n, 1);
    }

    #[test]
    fn quoting_and_case() {
        let (n, shape, _) = rewrite("SELECT * FROM \"orders\", ORDERS, \"Orders\" AS q");
        // Over-inclusive on purpose: a spurious filter fails closed, a missed one leaks.
        assert_eq!(n, 3);
        assert_eq!(shape.aliases(), vec!["\"orders\"", "ORDERS", "q"]);
        let rules = [rule(None, "orders", "tenant_id = 7")];
        let (n, shape, printed) = rewrite_with(
            My,
            "SELECT * FROM `Orders` JOIN shop.`orders` o USING (id)",
            &rules,
            None,
        );
        assert_eq!(n, 2, "{printed}");
        assert_eq!(shape.aliases(), vec!["`Orders`", "o"]);
        let (n, _, _) = rewrite_with(Lite, "SELECT * FROM [orders], \"ORDERS\"", &rules, None);
        assert_eq!(n, 2);
    }

    #[test]
    fn schema_qualification_and_default_schema() {
        let rules = [rule(Some("public"), "orders", "tenant_id = 7")];
        let count = |sql: &str, default: Option<&str>| rewrite_with(Pg, sql, &rules, default).0;
        assert_eq!(count("SELECT * FROM public.orders", None), 1);
        assert_eq!(count("SELECT * FROM PUBLIC.ORDERS", None), 1);
        assert_eq!(count("SELECT * FROM db.public.orders", None), 1);
        assert_eq!(count("SELECT * FROM sales.orders", None), 0);
        assert_eq!(count("SELECT * FROM orders", Some("public")), 1);
        assert_eq!(count("SELECT * FROM orders", Some("sales")), 0);
        // Unknown default schema: an unqualified name may be any schema's table.
        assert_eq!(count("SELECT * FROM orders", None), 1);
        // A rule without a schema applies in every schema.
        let any = [rule(None, "orders", "tenant_id = 7")];
        assert_eq!(
            rewrite_with(Pg, "SELECT * FROM sales.orders", &any, None).0,
            1
        );
        let (_, shape, _) = rewrite_with(Pg, "SELECT * FROM sales.orders", &any, None);
        assert_eq!(shape.filtered[0].table, "sales.orders");
        assert_eq!(shape.filtered[0].alias, "orders");
    }

    #[test]
    fn multiple_rules_and_groups() {
        let rules = [
            rule(None, "orders", "tenant_id = 7"),
            rule(Some("public"), "orders", "deleted = false"),
            rule(None, "customers", "region = 'EU'"),
        ];
        let (n, shape, _) = rewrite_with(
            Pg,
            "SELECT * FROM orders o JOIN customers c ON c.id = o.cid",
            &rules,
            Some("public"),
        );
        assert_eq!(n, 2);
        assert_eq!(
            shape.filtered[0].clause,
            "(o.tenant_id = 7) AND (o.deleted = false)".replace("o.", "orders.")
        );
        assert_eq!(shape.filtered[1].clause, "(customers.region = 'EU')");

        let combined = combine(
            Pg,
            &[
                (Some("region".into()), "region = 'EU'".into()),
                (None, "deleted = false".into()),
                (Some("region".into()), "region = 'US'".into()),
                (Some("team".into()), "team_id IN (1, 2)".into()),
            ],
        )
        .expect("combine");
        assert_eq!(
            combined.as_deref(),
            Some(
                "((region = 'EU') OR (region = 'US')) AND (deleted = false) AND (team_id IN (1, 2))"
            )
        );
        assert_eq!(combine(Pg, &[]).expect("empty"), None);
        let one = combine(Pg, &[(None, "a = 1 OR b = 2".into())]).expect("one");
        assert_eq!(one.as_deref(), Some("(a = 1 OR b = 2)"));
        // The combined clause works as a rule.
        let rules = [rule(
            None,
            "orders",
            combined.as_deref().unwrap_or_default(),
        )];
        let (_, shape, _) = rewrite_with(Pg, "SELECT * FROM orders", &rules, None);
        let clause = &shape.filtered[0].clause;
        assert!(
            clause.starts_with("(((orders.region = 'EU') OR"),
            "{clause}"
        );
    }

    #[test]
    fn clauses_cannot_escape_or_misbehave() {
        let bad = [
            "a = 1) OR (1 = 1",
            "a = 1; DROP TABLE t",
            "",
            "pg_sleep(1) IS NULL",
            "a IN (SELECT pg_read_file('x'))",
            "EXISTS (SELECT 1 FROM pg_authid)",
            "a IN (WITH d AS (DELETE FROM t RETURNING id) SELECT id FROM d)",
        ];
        for clause in bad {
            let err = combine(Pg, &[(None, clause.to_string())]).expect_err(clause);
            assert!(matches!(err, SqlError::Rls(_)), "{clause}: {err}");
            let mut statement = check(Pg, "SELECT * FROM orders", &GuardPolicy::default())
                .expect("query")
                .statement;
            let before = to_sql(&statement);
            let err = apply_rls(&mut statement, Pg, &[rule(None, "orders", clause)], None)
                .expect_err(clause);
            assert!(matches!(err, SqlError::Rls(_)), "{clause}: {err}");
            assert_eq!(to_sql(&statement), before);
        }
        // A subquery over an ordinary table is fine in a clause.
        let rules = [rule(
            None,
            "orders",
            "region IN (SELECT region FROM user_regions WHERE user_id = 5)",
        )];
        let (_, shape, _) = rewrite_with(Pg, "SELECT * FROM orders", &rules, None);
        assert_eq!(
            shape.filtered[0].clause,
            "(orders.region IN (SELECT region FROM user_regions WHERE user_id = 5))"
        );
    }

    #[test]
    fn non_columns_in_clauses_are_not_qualified() {
        let rules = [rule(
            None,
            "orders",
            "owner = current_user AND created <= CURRENT_DATE AND \"Team\" = \
             current_setting('app.team')",
        )];
        let (_, shape, _) = rewrite_with(Pg, "SELECT * FROM orders", &rules, None);
        assert_eq!(
            shape.filtered[0].clause,
            "(orders.owner = current_user AND orders.created <= CURRENT_DATE AND \
             orders.\"Team\" = current_setting('app.team'))"
        );
    }

    #[test]
    fn dml_on_protected_tables_is_refused_but_reads_inside_dml_are_filtered() {
        let rules = [rule(None, "orders", "tenant_id = 7")];
        let policy = GuardPolicy { allow_dml: true };
        for sql in [
            "DELETE FROM orders WHERE id = 1",
            "UPDATE orders SET paid = true",
            "INSERT INTO orders (id) VALUES (1)",
            "WITH d AS (DELETE FROM public.orders RETURNING id) SELECT * FROM d",
            "MERGE INTO orders t USING staging s ON t.id = s.id WHEN MATCHED THEN DELETE",
        ] {
            let mut statement = check(Pg, sql, &policy).expect(sql).statement;
            let before = to_sql(&statement);
            let err = apply_rls(&mut statement, Pg, &rules, None).expect_err(sql);
            assert!(
                matches!(&err, SqlError::Forbidden { what, .. } if what.contains("orders")),
                "{sql}: {err}"
            );
            assert_eq!(to_sql(&statement), before, "unchanged after a refusal");
        }
        let mut statement = check(My, "DELETE o FROM orders o JOIN t ON t.id = o.id", &policy)
            .expect("multi-table delete")
            .statement;
        assert!(apply_rls(&mut statement, My, &rules, None).is_err());

        let (n, shape, _) = rewrite_with(
            Pg,
            "INSERT INTO report (n) SELECT count(*) FROM orders",
            &rules,
            None,
        );
        assert_eq!(n, 1);
        assert_eq!(shape.unfiltered("orders"), 0);
        let (n, _, _) = rewrite_with(
            Pg,
            "UPDATE customers SET total = o.s FROM (SELECT cid, sum(x) AS s FROM orders GROUP BY \
             cid) o WHERE o.cid = customers.id",
            &rules,
            None,
        );
        assert_eq!(n, 1);
    }

    #[test]
    fn explain_and_values_and_functions() {
        let (n, _, _) = rewrite("EXPLAIN SELECT * FROM orders");
        assert_eq!(n, 1);
        let (n, _, _) = rewrite("VALUES ((SELECT count(*) FROM orders))");
        assert_eq!(n, 1);
        // A table function of the same name is not the table.
        let (n, _, _) = rewrite("SELECT * FROM orders(1)");
        assert_eq!(n, 0);
        let (n, _, _) = rewrite("SELECT * FROM unrelated");
        assert_eq!(n, 0);
        let mut statement = check(Pg, "SELECT 1", &GuardPolicy::default())
            .expect("query")
            .statement;
        assert_eq!(apply_rls(&mut statement, Pg, &[], None), Ok(0));
    }

    #[test]
    fn mysql_table_options_move_inside() {
        let rules = [rule(None, "orders", "tenant_id = 7")];
        let (n, _, printed) = rewrite_with(
            My,
            "SELECT * FROM orders PARTITION (p1) AS o USE INDEX (i) WHERE o.id = 1",
            &rules,
            None,
        );
        assert_eq!(n, 1);
        assert!(
            printed.contains("FROM orders PARTITION (p1) USE INDEX (i) WHERE"),
            "{printed}"
        );
        assert!(printed.contains(") AS o WHERE o.id = 1"), "{printed}");
    }
}

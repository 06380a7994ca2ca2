//! What a query reads that the RLS rewrite cannot see into: views, materialized views and
//! user-defined functions, checked against the caller's rules with facts from the engine's
//! own catalog ([`check_reads`]).
//!
//! Belongs here: the catalog queries of each engine, turning their rows into
//! [`CatalogFacts`] (PostgreSQL's `pg_depend` edges as they are; MySQL/MariaDB and SQLite view
//! definitions parsed; PostgreSQL partition and inheritance pairs from `pg_inherits`),
//! collecting the relations and functions a statement names ([`reads_of`]), and deciding
//! whether any of them depends, directly or through other views, on a table with rules. No
//! I/O: the caller runs the queries and caches the facts.
//!
//! The answer is a refusal, never a rewrite: expanding a view's definition would re-implement
//! the engine's view semantics (column renames, `security_barrier`, owner privileges, check
//! options), a materialized view's rows are a snapshot no rewrite can filter by the base
//! table's rule, and a function body cannot be rewritten at all. A refusal names the view
//! and the protected table so that the caller can query the table itself, where the rules
//! apply.
//!
//! Name matching is over-inclusive, as in [`super::rls`]: names compare case-insensitively, an
//! unqualified name matches a view of that name in any schema, and a view whose definition
//! cannot be read or parsed (or that calls a user-defined function) is refused whatever it
//! reads. A false refusal is safe; a missed dependency would leak rows.

use std::ops::ControlFlow;

use serde_json::Value;
use sqlparser::ast::{Expr, ObjectName, ObjectNamePart, Statement, TableFactor, Visit, Visitor};

use super::rls::{RlsRule, TableName};
use super::{Dialect, SqlError, parse_statements};

/// How long catalog facts are trusted before they are read again.
pub const FACTS_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// The relations (tables, views, table functions' names excluded) and the functions a
/// statement names, each as its name parts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reads {
    pub relations: Vec<Vec<String>>,
    pub functions: Vec<Vec<String>>,
}

fn parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => ident.value.clone(),
            // A computed name never matches a catalog name; apply_rls refuses it anyway.
            ObjectNamePart::Function(f) => f.to_string(),
        })
        .collect()
}

/// Every relation and function `statement` names, CTE names included (over-inclusive: a CTE
/// named like a view is checked as that view).
pub fn reads_of(statement: &Statement) -> Reads {
    struct Collector(Reads);
    impl Visitor for Collector {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            match factor {
                TableFactor::Table {
                    name, args: None, ..
                } => self.0.relations.push(parts(name)),
                TableFactor::Table { name, .. } | TableFactor::Function { name, .. } => {
                    self.0.functions.push(parts(name));
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if let Expr::Function(f) = expr {
                self.0.functions.push(parts(&f.name));
            }
            ControlFlow::Continue(())
        }
    }
    let mut collector = Collector(Reads::default());
    let _ = Visit::visit(statement, &mut collector);
    let mut reads = collector.0;
    for list in [&mut reads.relations, &mut reads.functions] {
        list.sort();
        list.dedup();
    }
    reads
}

/// One view or materialized view and the relations it reads directly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependent {
    pub name: TableName,
    /// "view" or "materialized view".
    pub kind: &'static str,
    pub reads: Vec<TableName>,
    /// Why its definition cannot be trusted to list everything it reads (unreadable,
    /// unparsable, or it calls a user-defined function).
    pub opaque: Option<String>,
}

/// What the catalog of one data source says about views and functions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogFacts {
    pub dependents: Vec<Dependent>,
    /// User-defined functions (PostgreSQL outside `pg_catalog`, MySQL stored functions).
    pub functions: Vec<TableName>,
    /// PostgreSQL (child, parent) pairs of partitions and inheritance: a child's rows are
    /// rows of its parent, and a parent's rows include its children's.
    pub inherits: Vec<(TableName, TableName)>,
}

/// The queries whose results [`CatalogFacts::from_rows`] reads, in order.
pub fn catalog_queries(dialect: Dialect) -> &'static [&'static str] {
    match dialect {
        Dialect::Postgres => &[
            // Views' and materialized views' rewrite rules depend on every relation they read.
            "SELECT DISTINCT vn.nspname::text, v.relname::text, v.relkind::text, \
             tn.nspname::text, t.relname::text \
             FROM pg_catalog.pg_class v \
             JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace \
             JOIN pg_catalog.pg_rewrite r ON r.ev_class = v.oid \
             JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass \
               AND d.objid = r.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass \
             JOIN pg_catalog.pg_class t ON t.oid = d.refobjid AND t.oid <> v.oid \
             JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace \
             WHERE v.relkind IN ('v', 'm') \
               AND vn.nspname NOT IN ('pg_catalog', 'information_schema')",
            // ...and on every function they call.
            "SELECT DISTINCT vn.nspname::text, v.relname::text, v.relkind::text, \
             pn.nspname::text, p.proname::text \
             FROM pg_catalog.pg_class v \
             JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace \
             JOIN pg_catalog.pg_rewrite r ON r.ev_class = v.oid \
             JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass \
               AND d.objid = r.oid AND d.refclassid = 'pg_catalog.pg_proc'::regclass \
             JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid \
             JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace \
             WHERE v.relkind IN ('v', 'm') \
               AND vn.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND pn.nspname NOT IN ('pg_catalog', 'information_schema')",
            "SELECT DISTINCT n.nspname::text, p.proname::text \
             FROM pg_catalog.pg_proc p \
             JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')",
            "SELECT cn.nspname::text, c.relname::text, pn.nspname::text, p.relname::text \
             FROM pg_catalog.pg_inherits i \
             JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid \
             JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace \
             JOIN pg_catalog.pg_class p ON p.oid = i.inhparent \
             JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace",
        ],
        Dialect::MySql => &[
            "SELECT ROUTINE_SCHEMA, ROUTINE_NAME FROM information_schema.ROUTINES \
             WHERE ROUTINE_TYPE = 'FUNCTION'",
            "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS \
             WHERE TABLE_SCHEMA NOT IN ('mysql', 'sys', 'performance_schema', 'information_schema')",
        ],
        Dialect::Sqlite => &["SELECT name, sql FROM main.sqlite_schema WHERE type = 'view'"],
    }
}

fn text(row: &[Value], index: usize) -> Option<&str> {
    row.get(index).and_then(Value::as_str)
}

fn malformed(what: &str) -> String {
    format!("the catalog answered an unexpected row for {what}")
}

impl CatalogFacts {
    /// Facts from the results of [`catalog_queries`] (one list of rows per query, in order).
    pub fn from_rows(dialect: Dialect, results: &[Vec<Vec<Value>>]) -> Result<Self, String> {
        let mut facts = CatalogFacts::default();
        let result = |i: usize| {
            results
                .get(i)
                .ok_or_else(|| "a catalog query answered nothing".to_string())
        };
        match dialect {
            Dialect::Postgres => {
                for (index, row) in result(0)?.iter().chain(result(1)?).enumerate() {
                    let (Some(schema), Some(name), Some(kind), Some(dep_schema), Some(dep)) = (
                        text(row, 0),
                        text(row, 1),
                        text(row, 2),
                        text(row, 3),
                        text(row, 4),
                    ) else {
                        return Err(malformed("a view"));
                    };
                    let function = index >= result(0)?.len();
                    let kind = if kind == "m" {
                        "materialized view"
                    } else {
                        "view"
                    };
                    let entry = facts.dependent(TableName::new(Some(schema), name), kind);
                    let dep = TableName::new(Some(dep_schema), dep);
                    if function {
                        entry.opaque = Some(format!("it calls the user-defined function {dep}"));
                    } else {
                        entry.reads.push(dep);
                    }
                }
                for row in result(2)? {
                    let (Some(schema), Some(name)) = (text(row, 0), text(row, 1)) else {
                        return Err(malformed("a function"));
                    };
                    facts.functions.push(TableName::new(Some(schema), name));
                }
                for row in result(3)? {
                    let (Some(schema), Some(name), Some(parent_schema), Some(parent)) =
                        (text(row, 0), text(row, 1), text(row, 2), text(row, 3))
                    else {
                        return Err(malformed("a partition"));
                    };
                    facts.inherits.push((
                        TableName::new(Some(schema), name),
                        TableName::new(Some(parent_schema), parent),
                    ));
                }
            }
            Dialect::MySql => {
                for row in result(0)? {
                    let (Some(schema), Some(name)) = (text(row, 0), text(row, 1)) else {
                        return Err(malformed("a function"));
                    };
                    facts.functions.push(TableName::new(Some(schema), name));
                }
                for row in result(1)? {
                    let (Some(schema), Some(name)) = (text(row, 0), text(row, 1)) else {
                        return Err(malformed("a view"));
                    };
                    let definition = text(row, 2).unwrap_or_default();
                    let parsed = facts.parse_definition(dialect, definition, Some(schema));
                    let entry = facts.dependent(TableName::new(Some(schema), name), "view");
                    match parsed {
                        Ok(reads) => entry.reads = reads,
                        Err(why) => entry.opaque = Some(why),
                    }
                }
            }
            Dialect::Sqlite => {
                for row in result(0)? {
                    let Some(name) = text(row, 0) else {
                        return Err(malformed("a view"));
                    };
                    let definition = text(row, 1).unwrap_or_default();
                    let parsed = facts.parse_definition(dialect, definition, None);
                    let entry = facts.dependent(TableName::new(None, name), "view");
                    match parsed {
                        Ok(reads) => entry.reads = reads,
                        Err(why) => entry.opaque = Some(why),
                    }
                }
            }
        }
        Ok(facts)
    }

    fn dependent(&mut self, name: TableName, kind: &'static str) -> &mut Dependent {
        let at = match self.dependents.iter().position(|d| d.name == name) {
            Some(at) => at,
            None => {
                self.dependents.push(Dependent {
                    name,
                    kind,
                    reads: Vec::new(),
                    opaque: None,
                });
                self.dependents.len() - 1
            }
        };
        &mut self.dependents[at]
    }

    /// The relations a view definition reads; unqualified names are in `schema` (the view's
    /// own). Errors say why the definition cannot be trusted.
    fn parse_definition(
        &self,
        dialect: Dialect,
        definition: &str,
        schema: Option<&str>,
    ) -> Result<Vec<TableName>, String> {
        if definition.trim().is_empty() {
            return Err("its definition cannot be read with this database's account".into());
        }
        let statements = parse_statements(dialect, definition)
            .map_err(|e| format!("its definition could not be parsed ({e})"))?;
        let mut reads = Reads::default();
        for statement in &statements {
            let more = reads_of(statement);
            reads.relations.extend(more.relations);
            reads.functions.extend(more.functions);
        }
        if let Some(function) = reads
            .functions
            .iter()
            .find(|f| self.user_function(dialect, f))
        {
            return Err(format!(
                "it calls the user-defined function {}",
                function.join(".")
            ));
        }
        Ok(reads
            .relations
            .iter()
            .filter_map(|name| match name.as_slice() {
                [] => None,
                [table] => Some(TableName::new(schema, table)),
                [.., s, table] => Some(TableName::new(Some(s.as_str()), table)),
            })
            .collect())
    }

    /// Whether a function name may be a user-defined function (over-inclusive).
    fn user_function(&self, dialect: Dialect, name: &[String]) -> bool {
        match name {
            [] => false,
            [function] => self.functions.iter().any(|f| same_name(&f.name, function)),
            [.., schema, _] => !(dialect == Dialect::Postgres && same_name(schema, "pg_catalog")),
        }
    }
}

fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// Does a name as written in a query (`parts`) possibly refer to `relation`?
fn may_be(parts: &[String], relation: &TableName) -> bool {
    match parts {
        [] => false,
        [name] => same_name(name, &relation.name),
        [.., schema, name] => {
            same_name(name, &relation.name)
                && relation
                    .schema
                    .as_deref()
                    .is_none_or(|s| same_name(s, schema))
        }
    }
}

/// Does a rule protect the catalog table `table`? (A rule without a schema protects the name
/// in every schema; a table without one — SQLite — matches rules of any schema.)
fn protected<'r>(rules: &'r [RlsRule], table: &TableName) -> Option<&'r RlsRule> {
    rules.iter().find(|rule| {
        same_name(&rule.table.name, &table.name)
            && match (&rule.table.schema, &table.schema) {
                (Some(a), Some(b)) => same_name(a, b),
                _ => true,
            }
    })
}

fn as_parts(name: &TableName) -> Vec<String> {
    name.schema
        .iter()
        .cloned()
        .chain(std::iter::once(name.name.clone()))
        .collect()
}

/// Refuses a statement whose `reads` include a view (or materialized view) that depends,
/// directly or through other views, on a table `rules` protect; a view whose definition
/// cannot be checked; or a user-defined function. Call it only when `rules` is not empty.
pub fn check_reads(
    dialect: Dialect,
    reads: &Reads,
    rules: &[RlsRule],
    facts: &CatalogFacts,
) -> Result<(), SqlError> {
    if let Some(function) = reads
        .functions
        .iter()
        .find(|f| facts.user_function(dialect, f))
    {
        return Err(SqlError::forbidden(
            format!("calling the function {}", function.join(".")),
            "it is not a built-in function, and a user-defined function can read tables that \
             row-level security rules restrict for you, where vizier cannot apply the rules; \
             only built-in functions are allowed to you on this database",
        ));
    }
    for name in &reads.relations {
        check_inheritance(rules, facts, name, None)?;
        for root in facts.dependents.iter().filter(|d| may_be(name, &d.name)) {
            check_dependent(rules, facts, root)?;
        }
    }
    Ok(())
}

/// Refuses reading `name` (a name as written, or a table a view reads) when one of its
/// ancestors (its rows are theirs) or descendants (their rows are in it) is protected: the
/// rules apply to the name the query reads, not along the hierarchy. `view` is the view that
/// reads the table, if any.
fn check_inheritance(
    rules: &[RlsRule],
    facts: &CatalogFacts,
    name: &[String],
    view: Option<&Dependent>,
) -> Result<(), SqlError> {
    if facts.inherits.is_empty() {
        return Ok(());
    }
    // Upwards (child to parent) and downwards, each walked transitively.
    for upwards in [true, false] {
        let mut frontier: Vec<Vec<String>> = vec![name.to_vec()];
        let mut seen: Vec<&TableName> = Vec::new();
        while let Some(current) = frontier.pop() {
            for (child, parent) in &facts.inherits {
                let (from, to) = if upwards {
                    (child, parent)
                } else {
                    (parent, child)
                };
                if !may_be(&current, from) || seen.contains(&to) {
                    continue;
                }
                seen.push(to);
                if let Some(rule) = protected(rules, to) {
                    let read = name.join(".");
                    let relation = if upwards {
                        format!("its rows are rows of {to}")
                    } else {
                        format!("it includes the rows of {to}")
                    };
                    let (what, inside) = match view {
                        Some(view) => (
                            format!("reading the {} {}", view.kind, view.name),
                            format!("it reads {read}, and "),
                        ),
                        None => (format!("reading {read}"), String::new()),
                    };
                    return Err(SqlError::forbidden(
                        what,
                        format!(
                            "{inside}{relation} (a partition or inheritance hierarchy), which \
                             row-level security rules (on {}) restrict for you; the rules apply \
                             only where the query names {to}, so query {to} itself",
                            rule.table
                        ),
                    ));
                }
                frontier.push(as_parts(to));
            }
        }
    }
    Ok(())
}

/// Walks everything `root` reads, through other views, breadth first.
fn check_dependent(
    rules: &[RlsRule],
    facts: &CatalogFacts,
    root: &Dependent,
) -> Result<(), SqlError> {
    let what = format!("reading the {} {}", root.kind, root.name);
    // (view, the views between root and it)
    let mut queue: std::collections::VecDeque<(&Dependent, Vec<&TableName>)> =
        std::collections::VecDeque::from([(root, Vec::new())]);
    let mut seen: Vec<&TableName> = vec![&root.name];
    while let Some((view, path)) = queue.pop_front() {
        let through = |path: &[&TableName]| {
            if path.is_empty() {
                String::new()
            } else {
                let names: Vec<String> = path.iter().map(ToString::to_string).collect();
                format!(" (through {})", names.join(", "))
            }
        };
        let mut path_here = path.clone();
        if !std::ptr::eq(view, root) {
            path_here.push(&view.name);
        }
        if let Some(why) = &view.opaque {
            return Err(SqlError::forbidden(
                what,
                format!(
                    "you have row-level security rules on this database, and what the {} {}{} \
                     reads cannot be checked against them: {why}",
                    view.kind,
                    view.name,
                    through(&path)
                ),
            ));
        }
        for table in &view.reads {
            check_inheritance(rules, facts, &as_parts(table), Some(root))?;
            if let Some(rule) = protected(rules, table) {
                return Err(SqlError::forbidden(
                    what,
                    format!(
                        "it reads {table}{}, which row-level security rules (on {}) restrict \
                         for you; vizier applies the rules to the tables a query names and \
                         cannot apply them inside a {}, so query {table} itself",
                        through(&path_here),
                        rule.table,
                        root.kind
                    ),
                ));
            }
            let parts = as_parts(table);
            for next in facts.dependents.iter().filter(|d| may_be(&parts, &d.name)) {
                if !seen.contains(&&next.name) {
                    seen.push(&next.name);
                    queue.push_back((next, path_here.clone()));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sql::{GuardPolicy, check};

    fn rule(schema: Option<&str>, table: &str) -> RlsRule {
        RlsRule {
            table: TableName::new(schema, table),
            clause: "region = 'EU'".into(),
        }
    }

    fn reads(dialect: Dialect, sql: &str) -> Reads {
        reads_of(
            &check(dialect, sql, &GuardPolicy::default())
                .expect(sql)
                .statement,
        )
    }

    fn rows(rows: &[&[&str]]) -> Vec<Vec<Value>> {
        rows.iter()
            .map(|r| r.iter().map(|v| json!(v)).collect())
            .collect()
    }

    fn refusal(result: Result<(), SqlError>) -> String {
        match result {
            Err(SqlError::Forbidden { what, why }) => format!("{what}: {why}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn reads_are_collected_everywhere() {
        let r = reads(
            Dialect::Postgres,
            "WITH c AS (SELECT * FROM s.v1) SELECT f(x), pg_catalog.lower(y) FROM c \
             JOIN v2 ON true WHERE z IN (SELECT a FROM v3) AND EXISTS (SELECT 1 FROM \
             generate_series(1, 2))",
        );
        assert_eq!(
            r.relations,
            vec![
                vec!["c".to_string()],
                vec!["s".into(), "v1".into()],
                vec!["v2".into()],
                vec!["v3".into()]
            ]
        );
        assert!(r.functions.contains(&vec!["f".to_string()]));
        assert!(r.functions.contains(&vec!["generate_series".to_string()]));
        assert!(
            r.functions
                .contains(&vec!["pg_catalog".into(), "lower".into()])
        );
    }

    #[test]
    fn postgres_views_nested_across_schemas_are_refused() {
        let facts = CatalogFacts::from_rows(
            Dialect::Postgres,
            &[
                rows(&[
                    &["public", "sales_v", "v", "public", "sales"],
                    &["reports", "sales_vv", "v", "public", "sales_v"],
                    &["public", "sales_m", "m", "public", "sales"],
                    &["public", "other_v", "v", "public", "other"],
                ]),
                rows(&[&["public", "fv", "v", "public", "leak"]]),
                rows(&[&["public", "leak"]]),
                rows(&[]),
            ],
        )
        .expect("facts");
        let rules = [rule(Some("public"), "sales")];
        let check = |sql: &str| {
            check_reads(
                Dialect::Postgres,
                &reads(Dialect::Postgres, sql),
                &rules,
                &facts,
            )
        };
        let why = refusal(check("SELECT * FROM reports.sales_vv"));
        assert!(why.contains("view reports.sales_vv"), "{why}");
        assert!(
            why.contains("public.sales (through public.sales_v)"),
            "{why}"
        );
        let why = refusal(check("SELECT count(*) FROM SALES_M"));
        assert!(why.contains("materialized view public.sales_m"), "{why}");
        let why = refusal(check("SELECT * FROM fv"));
        assert!(why.contains("public.leak"), "{why}");
        let why = refusal(check("SELECT leak(1)"));
        assert!(why.contains("function leak"), "{why}");
        assert!(check("SELECT * FROM other_v JOIN sales ON true").is_ok());
        assert!(check("SELECT lower(x), count(*), pg_catalog.upper(y) FROM sales").is_ok());
        assert!(
            check("SELECT * FROM sales_vv").is_err(),
            "unqualified: any schema"
        );
        // A schema-qualified function outside pg_catalog is never taken for a built-in.
        assert!(check("SELECT public.lower('a')").is_err());
    }

    #[test]
    fn mysql_and_sqlite_definitions_are_parsed() {
        let facts = CatalogFacts::from_rows(
            Dialect::MySql,
            &[
                rows(&[&["shop", "secret_fn"]]),
                vec![
                    vec![
                        json!("shop"),
                        json!("v1"),
                        json!("select `shop`.`sales`.`id` AS `id` from `shop`.`sales`"),
                    ],
                    vec![
                        json!("other"),
                        json!("v2"),
                        json!("select `v1`.`id` AS `id` from `shop`.`v1`"),
                    ],
                    vec![
                        json!("other"),
                        json!("v3"),
                        json!("select `id` AS `id` from `t`"),
                    ],
                    vec![json!("other"), json!("hidden"), json!("")],
                    vec![
                        json!("other"),
                        json!("fnv"),
                        json!("select `shop`.`secret_fn`(1) AS `x`"),
                    ],
                ],
            ],
        )
        .expect("facts");
        let rules = [rule(Some("shop"), "sales")];
        let check =
            |sql: &str| check_reads(Dialect::MySql, &reads(Dialect::MySql, sql), &rules, &facts);
        let why = refusal(check("SELECT * FROM other.v2"));
        assert!(why.contains("shop.sales (through shop.v1)"), "{why}");
        assert!(check("SELECT * FROM v3").is_ok());
        assert!(refusal(check("SELECT * FROM hidden")).contains("cannot be read"));
        assert!(refusal(check("SELECT * FROM fnv")).contains("secret_fn"));
        assert!(refusal(check("SELECT secret_fn(2)")).contains("secret_fn"));
        // Unqualified names in a MySQL definition are the view's own schema.
        let v3 = facts
            .dependents
            .iter()
            .find(|d| d.name.name == "v3")
            .expect("v3");
        assert_eq!(v3.reads, vec![TableName::new(Some("other"), "t")]);

        let facts = CatalogFacts::from_rows(
            Dialect::Sqlite,
            &[rows(&[
                &["a", "CREATE VIEW a AS SELECT * FROM sales WHERE x > 1"],
                &[
                    "b",
                    "CREATE VIEW \"b\" (n) AS SELECT count(*) FROM (SELECT * FROM a)",
                ],
                &["c", "CREATE VIEW c AS SELECT * FROM stores"],
                &["d", "not sql"],
            ])],
        )
        .expect("facts");
        let rules = [rule(None, "sales")];
        let check = |sql: &str| {
            check_reads(
                Dialect::Sqlite,
                &reads(Dialect::Sqlite, sql),
                &rules,
                &facts,
            )
        };
        let why = refusal(check("SELECT * FROM main.b"));
        assert!(why.contains("sales (through a)"), "{why}");
        assert!(check("SELECT * FROM c").is_ok());
        assert!(refusal(check("SELECT * FROM d")).contains("could not be parsed"));
    }

    #[test]
    fn partitions_and_inheritance_children_are_refused_both_ways() {
        let facts = CatalogFacts::from_rows(
            Dialect::Postgres,
            &[
                rows(&[&["public", "p_v", "v", "public", "sales_2024"]]),
                rows(&[]),
                rows(&[]),
                rows(&[
                    &["public", "sales_2024", "public", "sales"],
                    &["public", "sales_2024_q1", "public", "sales_2024"],
                    &["public", "notes_old", "public", "notes"],
                ]),
            ],
        )
        .expect("facts");
        let check = |sql: &str, rules: &[RlsRule]| {
            check_reads(
                Dialect::Postgres,
                &reads(Dialect::Postgres, sql),
                rules,
                &facts,
            )
        };
        let on_parent = [rule(Some("public"), "sales")];
        assert!(check("SELECT * FROM sales", &on_parent).is_ok());
        assert!(check("SELECT * FROM notes_old", &on_parent).is_ok());
        let why = refusal(check("SELECT * FROM sales_2024_q1", &on_parent));
        assert!(why.contains("rows of public.sales"), "{why}");
        let why = refusal(check("SELECT * FROM p_v", &on_parent));
        assert!(why.contains("view public.p_v"), "{why}");
        let on_child = [rule(None, "sales_2024_q1")];
        let why = refusal(check("SELECT * FROM public.sales", &on_child));
        assert!(
            why.contains("includes the rows of public.sales_2024_q1"),
            "{why}"
        );
        assert!(check("SELECT * FROM sales_2024_q1", &on_child).is_ok());
    }

    #[test]
    fn cycles_and_malformed_rows() {
        let facts = CatalogFacts::from_rows(
            Dialect::Sqlite,
            &[rows(&[
                &["a", "CREATE VIEW a AS SELECT * FROM b"],
                &["b", "CREATE VIEW b AS SELECT * FROM a"],
            ])],
        )
        .expect("facts");
        let rules = [rule(None, "sales")];
        let r = reads(Dialect::Sqlite, "SELECT * FROM a");
        assert!(check_reads(Dialect::Sqlite, &r, &rules, &facts).is_ok());
        assert!(CatalogFacts::from_rows(Dialect::Sqlite, &[vec![vec![json!(1)]]]).is_err());
        assert!(CatalogFacts::from_rows(Dialect::Postgres, &[]).is_err());
    }
}

//! SQL templates: [`render_template`] renders a restricted Jinja dialect with MiniJinja.
//!
//! Belongs here: the template environment, its limits, the SQL-quoting filters and the syntax
//! allowlist. The output is SQL text that the caller must then pass through
//! [`super::check`] (and RLS and the row cap) exactly like SQL typed by the user: rendering
//! makes nothing safe by itself.
//!
//! Templates are untrusted input, so the language is cut down to what SQL templating needs:
//! - `{{ expr }}`, `{% if %}`/`{% elif %}`/`{% else %}`/`{% endif %}`, `{% for %}`/
//!   `{% endfor %}`, `{# comments #}` and `{% raw %}`. No `set`, `macro`, `call`, `filter`,
//!   `with`, `include`/`import`/`extends` (refused by a tag allowlist, whatever MiniJinja
//!   features another crate enables; there is no loader either), and no `+ * / // % ** ~`
//!   (only `-`): string concatenation, repetition and rebinding are what turn a few bytes of
//!   template into gigabytes, which fuel alone cannot stop. The syntax check runs MiniJinja's
//!   own tokenizer (`unstable_machinery`), so it sees exactly the tags the engine will see.
//!   At most [`MAX_TAG_TOKENS`] tokens per tag keep expressions shallow.
//! - Variables: `current_username`, `current_user_id`, `current_user_roles`, `params`, and each
//!   parameter also as a top-level variable (a parameter may not shadow the `current_*` names
//!   or `params`).
//! - Filters: `sql_quote` (a single-quoted SQL string literal for the dialect), `sql_list` (a
//!   comma-separated list of literals for `IN (…)`), `default(value)`. Tests: `defined`,
//!   `undefined`, `none`. Nothing else — in particular no `safe`.
//! - Every `{{ … }}` must produce a number, a boolean, or the output of `sql_quote`/`sql_list`:
//!   a raw string (a parameter, the user name) is refused, so values cannot be spliced into the
//!   SQL unquoted by mistake.
//! - Undefined variables are errors (test with `is defined`, or use `default`); execution is
//!   bounded by fuel and a recursion limit, the template size and the output size are
//!   bounded; auto-escaping is off.

use std::io;

use minijinja::machinery::{Token, WhitespaceConfig, tokenize};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::ValueKind;
use minijinja::{Environment, Error, ErrorKind, Output, State, UndefinedBehavior, Value};

use super::{Dialect, SqlError};

/// Largest template accepted, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 256 * 1024;
/// Largest rendered output, in bytes (the result must still fit [`super::MAX_SQL_BYTES`]).
pub const MAX_OUTPUT_BYTES: usize = super::MAX_SQL_BYTES;
/// Instruction budget for one render.
pub const TEMPLATE_FUEL: u64 = 50_000;
/// Nesting limit for loops and conditionals at run time.
pub const TEMPLATE_RECURSION_LIMIT: usize = 64;
/// Most tokens inside one `{{ … }}` or `{% … %}`. MiniJinja compiles operator chains such as
/// `not not … x` or `1 - 1 - …` recursively without a depth limit; a few thousand overflow a
/// 2 MiB stack. SQL templates need a handful of tokens per tag.
pub const MAX_TAG_TOKENS: usize = 256;

const ALLOWED_TAGS: &[&str] = &["if", "elif", "else", "endif", "for", "endfor"];
const RESERVED_NAMES: &[&str] = &[
    "current_username",
    "current_user_id",
    "current_user_roles",
    "params",
];

/// Who is running the template, and the parameters supplied with it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TemplateContext {
    pub username: String,
    pub user_id: i64,
    pub roles: Vec<String>,
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// Renders `template` for `dialect` (quoting rules differ). The result is SQL text that must
/// still go through [`super::check`].
pub fn render_template(
    dialect: Dialect,
    template: &str,
    ctx: &TemplateContext,
) -> Result<String, SqlError> {
    if template.len() > MAX_TEMPLATE_BYTES {
        return Err(SqlError::Template(format!(
            "the template has {} bytes; the limit is {MAX_TEMPLATE_BYTES}",
            template.len()
        )));
    }
    check_syntax(template)?;
    for name in ctx.params.keys() {
        if RESERVED_NAMES.contains(&name.as_str()) {
            return Err(SqlError::Template(format!(
                "the parameter name `{name}` is reserved; rename the parameter"
            )));
        }
    }

    let env = environment(dialect);
    let compiled = env.template_from_str(template).map_err(template_error)?;

    let mut vars = ctx.params.clone();
    vars.insert(
        "params".into(),
        serde_json::Value::Object(ctx.params.clone()),
    );
    vars.insert("current_username".into(), ctx.username.clone().into());
    vars.insert("current_user_id".into(), ctx.user_id.into());
    vars.insert("current_user_roles".into(), ctx.roles.clone().into());

    let mut out = LimitedWriter {
        buf: Vec::new(),
        overflowed: false,
    };
    let rendered = compiled.render_captured_to(Value::from_serialize(&vars), &mut out);
    if out.overflowed {
        return Err(SqlError::Template(format!(
            "the rendered SQL exceeds {MAX_OUTPUT_BYTES} bytes"
        )));
    }
    rendered.map_err(template_error)?;
    String::from_utf8(out.buf)
        .map_err(|_| SqlError::Template("the rendered SQL is not valid UTF-8".to_string()))
}

fn template_error(err: Error) -> SqlError {
    // `Display` of a MiniJinja error includes the line; the detail chain adds the cause.
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    SqlError::Template(message)
}

/// Refuses tags and operators outside the allowlist (see the module docs).
fn check_syntax(template: &str) -> Result<(), SqlError> {
    let mut expect_tag_name = false;
    let mut tag_tokens: Option<usize> = None;
    // `SyntaxConfig` is a unit struct unless MiniJinja's `custom_syntax` feature is on (another
    // crate could enable it), so `default()` is the spelling that compiles either way.
    #[allow(clippy::default_constructed_unit_structs)]
    let syntax = SyntaxConfig::default();
    for item in tokenize(template, false, syntax, WhitespaceConfig::default()) {
        let (token, span) = item.map_err(template_error)?;
        let line = span.start_line;
        match token {
            Token::VariableStart | Token::BlockStart => tag_tokens = Some(0),
            Token::VariableEnd | Token::BlockEnd => tag_tokens = None,
            _ => {
                if let Some(count) = tag_tokens.as_mut() {
                    *count += 1;
                    if *count > MAX_TAG_TOKENS {
                        return Err(SqlError::Template(format!(
                            "line {line}: a tag has more than {MAX_TAG_TOKENS} tokens; simplify \
                             the expression"
                        )));
                    }
                }
            }
        }
        if expect_tag_name {
            expect_tag_name = false;
            match token {
                Token::Ident(name) if ALLOWED_TAGS.contains(&name) => continue,
                Token::Ident(name) => {
                    return Err(SqlError::Template(format!(
                        "line {line}: the tag `{{% {name} %}}` is not allowed; only if/elif/else/\
                         endif and for/endfor can be used"
                    )));
                }
                _ => {
                    return Err(SqlError::Template(format!(
                        "line {line}: a `{{% … %}}` tag must start with if, elif, else, endif, \
                         for or endfor"
                    )));
                }
            }
        }
        match token {
            Token::BlockStart => expect_tag_name = true,
            Token::Plus
            | Token::Mul
            | Token::Div
            | Token::FloorDiv
            | Token::Mod
            | Token::Pow
            | Token::Tilde => {
                return Err(SqlError::Template(format!(
                    "line {line}: arithmetic and string concatenation ({token}) are not allowed in \
                     templates; compute values in SQL instead"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

fn environment(dialect: Dialect) -> Environment<'static> {
    // `empty()`: no default filters (notably no `safe`), tests or globals, no auto-escaping.
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_recursion_limit(TEMPLATE_RECURSION_LIMIT);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_test("defined", minijinja::tests::is_defined);
    env.add_test("undefined", minijinja::tests::is_undefined);
    env.add_test("none", minijinja::tests::is_none);
    env.add_filter("default", default_filter);
    env.add_filter("sql_quote", move |value: &Value| {
        sql_quote_filter(dialect, value)
    });
    env.add_filter("sql_list", move |value: &Value| {
        sql_list_filter(dialect, value)
    });
    env.set_formatter(format_value);
    env
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

/// `{{ value }}`: numbers, booleans and the quoting filters' output only.
fn format_value(out: &mut Output, _state: &State, value: &Value) -> Result<(), Error> {
    let text = match value.kind() {
        ValueKind::String if value.is_safe() => value.to_string(),
        ValueKind::Number | ValueKind::Bool => scalar_literal(value)?,
        ValueKind::String => {
            return Err(invalid(
                "a string cannot be inserted into SQL as is; use `| sql_quote` (or `| sql_list` \
                 for lists)"
                    .to_string(),
            ));
        }
        other => {
            return Err(invalid(format!(
                "a value of type {other} cannot be inserted into SQL; insert numbers, booleans, \
                 `| sql_quote` or `| sql_list`"
            )));
        }
    };
    out.write_str(&text)
        .map_err(|_| invalid("output failed".to_string()))
}

/// A number or boolean as SQL text. Negative numbers are parenthesised: after a minus in the
/// template, `-3` would otherwise make `--3`, a comment that swallows the rest of the line.
fn scalar_literal(value: &Value) -> Result<String, Error> {
    match value.kind() {
        ValueKind::Bool => Ok(if value.is_true() { "TRUE" } else { "FALSE" }.to_string()),
        ValueKind::Number => {
            let text = value.to_string();
            // Floats print as `inf`/`NaN` when not finite, which SQL would read as names.
            if !text
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'e' | b'E' | b'+'))
            {
                return Err(invalid(format!(
                    "the number {text} has no SQL literal form"
                )));
            }
            Ok(if text.starts_with('-') {
                format!("({text})")
            } else {
                text
            })
        }
        other => Err(invalid(format!(
            "expected a number or boolean, got {other}"
        ))),
    }
}

/// A single-quoted SQL string literal. Embedded quotes are doubled; on MySQL backslashes are
/// doubled too (backslash escapes are on by default there), on PostgreSQL a value with a
/// backslash becomes an `E'…'` literal so that it means the same whatever
/// `standard_conforming_strings` says. NUL is refused: no dialect stores it in text.
pub fn quote_str(dialect: Dialect, text: &str) -> Result<String, String> {
    if text.contains('\0') {
        return Err("a NUL character cannot be part of an SQL string".to_string());
    }
    let doubled = text.replace('\'', "''");
    Ok(match dialect {
        Dialect::MySql => format!("'{}'", doubled.replace('\\', "\\\\")),
        Dialect::Postgres if text.contains('\\') => {
            format!("E'{}'", doubled.replace('\\', "\\\\"))
        }
        Dialect::Postgres | Dialect::Sqlite => format!("'{doubled}'"),
    })
}

fn literal(dialect: Dialect, value: &Value) -> Result<String, Error> {
    match value.kind() {
        ValueKind::String => {
            quote_str(dialect, value.as_str().unwrap_or_default()).map_err(invalid)
        }
        ValueKind::Number | ValueKind::Bool => scalar_literal(value),
        ValueKind::None => Ok("NULL".to_string()),
        other => Err(invalid(format!(
            "a value of type {other} cannot be turned into an SQL literal"
        ))),
    }
}

fn sql_quote_filter(dialect: Dialect, value: &Value) -> Result<Value, Error> {
    match value.kind() {
        ValueKind::String | ValueKind::Number | ValueKind::Bool => {
            let text = match value.as_str() {
                Some(s) => s.to_string(),
                None => value.to_string(),
            };
            Ok(Value::from_safe_string(
                quote_str(dialect, &text).map_err(invalid)?,
            ))
        }
        ValueKind::Undefined => Err(Error::from(ErrorKind::UndefinedError)),
        other => Err(invalid(format!(
            "sql_quote needs a string or number, got {other}; use sql_list for lists"
        ))),
    }
}

fn sql_list_filter(dialect: Dialect, value: &Value) -> Result<Value, Error> {
    if value.kind() != ValueKind::Seq {
        return Err(invalid(format!(
            "sql_list needs a list, got {}",
            value.kind()
        )));
    }
    let mut items = Vec::new();
    for item in value.try_iter()? {
        items.push(literal(dialect, &item)?);
    }
    if items.is_empty() {
        return Err(invalid(
            "sql_list got an empty list, which is not valid in IN (…); guard it with \
             `{% if values %}`"
                .to_string(),
        ));
    }
    Ok(Value::from_safe_string(items.join(", ")))
}

fn default_filter(value: &Value, fallback: Option<&Value>) -> Value {
    if value.is_undefined() {
        fallback.cloned().unwrap_or(Value::from(""))
    } else {
        value.clone()
    }
}

/// Collects output, failing (and remembering why) once it exceeds [`MAX_OUTPUT_BYTES`].
struct LimitedWriter {
    buf: Vec<u8>,
    overflowed: bool,
}

impl io::Write for LimitedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("output limit exceeded"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::test_support::Rng;
    use crate::sql::{GuardPolicy, check};
    use Dialect::{MySql as My, Postgres as Pg, Sqlite as Lite};
    use serde_json::json;

    fn ctx(params: serde_json::Value) -> TemplateContext {
        TemplateContext {
            username: "o'brien".to_string(),
            user_id: 42,
            roles: vec!["analyst".to_string(), "eu".to_string()],
            params: params.as_object().cloned().unwrap_or_default(),
        }
    }

    fn render(
        dialect: Dialect,
        template: &str,
        params: serde_json::Value,
    ) -> Result<String, SqlError> {
        render_template(dialect, template, &ctx(params))
    }

    fn refused(dialect: Dialect, template: &str, params: serde_json::Value) -> String {
        match render(dialect, template, params) {
            Err(SqlError::Template(message)) => message,
            other => panic!("{template:?}: expected a template error, got {other:?}"),
        }
    }

    #[test]
    fn user_variables_and_params() {
        let sql = render(
            Pg,
            "SELECT * FROM orders WHERE owner = {{ current_username | sql_quote }} AND uid = \
             {{ current_user_id }}{% if 'eu' in current_user_roles %} AND region = 'EU'{% endif %}\
             {% if region is defined %} AND r = {{ region | sql_quote }}{% endif %} AND d > \
             {{ params.days }}",
            json!({"region": "north", "days": 30}),
        )
        .expect("render");
        assert_eq!(
            sql,
            "SELECT * FROM orders WHERE owner = 'o''brien' AND uid = 42 AND region = 'EU' AND \
             r = 'north' AND d > 30"
        );
        check(Pg, &sql, &GuardPolicy::default()).expect("rendered SQL passes the guard");
    }

    #[test]
    fn quoting_is_dialect_aware() {
        let t = "SELECT {{ v | sql_quote }}";
        let v = json!({"v": "it's a \\ backslash"});
        assert_eq!(
            render(Pg, t, v.clone()).expect("pg"),
            "SELECT E'it''s a \\\\ backslash'"
        );
        assert_eq!(
            render(My, t, v.clone()).expect("my"),
            "SELECT 'it''s a \\\\ backslash'"
        );
        assert_eq!(
            render(Lite, t, v).expect("lite"),
            "SELECT 'it''s a \\ backslash'"
        );
        // The MySQL classic: a trailing backslash must not escape the closing quote.
        for dialect in [Pg, My, Lite] {
            let sql = render(
                dialect,
                "SELECT {{ v | sql_quote }}",
                json!({"v": "\\' OR 1=1 --"}),
            )
            .expect("render");
            let checked = check(dialect, &sql, &GuardPolicy::default()).expect(&sql);
            let projection = crate::sql::to_sql(&checked.statement);
            assert!(
                !projection.contains("OR 1 = 1"),
                "{dialect:?}: {projection}"
            );
        }
        let message = refused(Pg, t, json!({"v": "a\u{0}b"}));
        assert!(message.contains("NUL"), "{message}");
        assert_eq!(
            render(Pg, "{{ 5 | sql_quote }}", json!({})).expect("n"),
            "'5'"
        );
    }

    #[test]
    fn lists_for_in() {
        let sql = render(
            Pg,
            "SELECT * FROM t WHERE r IN ({{ regions | sql_list }}) AND n IN ({{ ns | sql_list }})",
            json!({"regions": ["EU", "it's"], "ns": [1, 2.5, true, null]}),
        )
        .expect("render");
        assert_eq!(
            sql,
            "SELECT * FROM t WHERE r IN ('EU', 'it''s') AND n IN (1, 2.5, TRUE, NULL)"
        );
        let message = refused(Pg, "{{ xs | sql_list }}", json!({"xs": []}));
        assert!(message.contains("empty"), "{message}");
        refused(Pg, "{{ xs | sql_list }}", json!({"xs": "abc"}));
        refused(Pg, "{{ xs | sql_list }}", json!({"xs": [[1]]}));
        refused(Pg, "{{ xs | sql_quote }}", json!({"xs": [1]}));
    }

    #[test]
    fn raw_strings_are_refused() {
        for template in [
            "SELECT {{ current_username }}",
            "SELECT {{ name }}",
            "SELECT {{ params }}",
            "SELECT {{ current_user_roles }}",
            "SELECT {{ 'literal' }}",
        ] {
            let message = refused(Pg, template, json!({"name": "1; DROP TABLE t"}));
            assert!(message.contains("sql_quote"), "{template}: {message}");
        }
        assert_eq!(
            render(Pg, "{{ 1.5 }} {{ -3 }} {{ true }}", json!({})).expect("scalars"),
            "1.5 (-3) TRUE"
        );
        refused(Pg, "{{ 1e999 }}", json!({}));
        // A negative number after a minus must not become a `--` comment.
        let sql = render(Pg, "SELECT 1 -{{ n }} AS x, 2", json!({"n": -3})).expect("negative");
        assert_eq!(sql, "SELECT 1 -(-3) AS x, 2");
        assert_eq!(
            render(Pg, "{{ ns | sql_list }}", json!({"ns": [-1, 2]})).expect("list"),
            "(-1), 2"
        );
    }

    #[test]
    fn undefined_is_an_error_and_default_works() {
        let message = refused(Pg, "SELECT {{ missing }}", json!({}));
        assert!(message.contains("undefined"), "{message}");
        refused(Pg, "{% if missing %}x{% endif %}", json!({}));
        refused(Pg, "{{ params.missing | sql_quote }}", json!({}));
        assert_eq!(
            render(
                Pg,
                "{{ missing | default(7) }} {{ r | default('x') | sql_quote }}",
                json!({"r": "y"})
            )
            .expect("default"),
            "7 'y'"
        );
    }

    #[test]
    fn reserved_parameter_names_are_refused() {
        let message = refused(Pg, "SELECT 1", json!({"current_username": "admin"}));
        assert!(message.contains("reserved"), "{message}");
        refused(Pg, "SELECT 1", json!({"params": {}}));
    }

    #[test]
    fn escapes_into_the_engine_fail() {
        for template in [
            "{{ ''.__class__ }}",
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "{{ params.__init__ }}",
            "{{ self }}",
            "{{ range(10) }}",
            "{{ namespace() }}",
            "{{ debug() }}",
            "{{ x | safe }}",
            "{{ x | e }}",
            "{{ x.upper() }}",
            "{{ config }}",
            "{{ cycler }}",
            "{{ lipsum() }}",
        ] {
            let result = render(Pg, template, json!({"x": "a"}));
            assert!(
                matches!(result, Err(SqlError::Template(_))),
                "{template}: {result:?}"
            );
        }
    }

    #[test]
    fn forbidden_syntax() {
        for template in [
            "{% include 'other' %}",
            "{% import 'm' as m %}",
            "{% extends 'base' %}",
            "{% set x = 1 %}",
            "{% macro m() %}{% endmacro %}",
            "{% filter upper %}x{% endfilter %}",
            "{% with a = 1 %}{% endwith %}",
            "{% block b %}{% endblock %}",
            "{% call m() %}{% endcall %}",
            "{% autoescape true %}{% endautoescape %}",
            "{%- set x = 1 -%}",
            "{%+ set x = 1 +%}",
            "{{ 'a' ~ 'b' }}",
            "{{ 'a' * 1000000 }}",
            "{{ 'a' + 'b' }}",
            "{{ 2 ** 64 }}",
            "{{ 10 / 3 }}",
            "{{ 10 // 3 }}",
            "{{ 10 % 3 }}",
            "{% if x ~ x %}{% endif %}",
            "{% for i in xs %}{{ i * i }}{% endfor %}",
            "{{ x",
            "{% if %}",
            "{% %}",
            "{# unterminated",
        ] {
            let result = render(Pg, template, json!({"x": "a", "xs": [1]}));
            assert!(
                matches!(result, Err(SqlError::Template(_))),
                "{template}: {result:?}"
            );
        }
        // Operators inside strings and comments are text, not operators.
        assert_eq!(
            render(
                Pg,
                "SELECT a + b * c{# ~ + #}, {{ 'x ~ y + z' | sql_quote }}",
                json!({})
            )
            .expect("text"),
            "SELECT a + b * c, 'x ~ y + z'"
        );
        // Raw blocks pass through verbatim.
        assert_eq!(
            render(Pg, "{% raw %}{{ a ~ b }}{% set %}{% endraw %}", json!({})).expect("raw"),
            "{{ a ~ b }}{% set %}"
        );
    }

    #[test]
    fn loops_and_limits() {
        assert_eq!(
            render(
                Pg,
                "{% for r in rs %}{% if not loop.first %} OR {% endif %}r = {{ r | sql_quote }}\
                 {% endfor %}",
                json!({"rs": ["a", "b"]})
            )
            .expect("loop"),
            "r = 'a' OR r = 'b'"
        );
        // Fuel: nested loops over a modest list run out.
        let xs: Vec<u32> = (0..100).collect();
        let message = refused(
            Pg,
            "{% for a in xs %}{% for b in xs %}{% for c in xs %}{% endfor %}{% endfor %}\
             {% endfor %}",
            json!({ "xs": xs }),
        );
        assert!(message.to_lowercase().contains("fuel"), "{message}");
        // Output size: a large parameter repeated.
        let big = "x".repeat(100_000);
        let message = refused(
            Pg,
            "{% for i in xs %}{{ big | sql_quote }}{% endfor %}",
            json!({ "xs": [1, 2, 3, 4], "big": big }),
        );
        assert!(message.contains("exceeds"), "{message}");
        // Recursion.
        refused(
            Pg,
            "{% for x in xs recursive %}{{ loop(xs) }}{% endfor %}",
            json!({ "xs": [1] }),
        );
        // Template size.
        refused(Pg, &" ".repeat(MAX_TEMPLATE_BYTES + 1), json!({}));
    }

    #[test]
    fn deep_templates_fit_a_small_stack() {
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(|| {
                let ctx = TemplateContext::default();
                let deep = |open: &str, mid: &str, close: &str, n: usize| {
                    format!("{}{mid}{}", open.repeat(n), close.repeat(n))
                };
                let accepted = [
                    format!("{{{{ {}1 }}}}", "not ".repeat(MAX_TAG_TOKENS - 2)),
                    format!("{{{{ 1{} }}}}", " - 1".repeat(MAX_TAG_TOKENS / 2 - 1)),
                    deep("{% if true %}", "x", "{% endif %}", 140),
                ];
                for template in &accepted {
                    render_template(Pg, template, &ctx).expect("deep but allowed");
                }
                let refused = [
                    format!("{{{{ {}1 }}}}", "not ".repeat(60_000)),
                    format!("{{{{ 1{} }}}}", " - 1".repeat(60_000)),
                    format!("{{{{ {}1{} }}}}", "(".repeat(5_000), ")".repeat(5_000)),
                    deep("{% if true %}", "x", "{% endif %}", 5_000),
                    deep("{% for x in [1] %}", "x", "{% endfor %}", 5_000),
                ];
                refused
                    .iter()
                    .all(|template| render_template(Pg, template, &ctx).is_err())
            })
            .expect("spawn");
        assert!(handle.join().expect("no stack overflow"));
    }

    /// Mutated templates never panic.
    #[test]
    fn mutations_never_panic() {
        const SEEDS: &[&str] = &[
            "SELECT * FROM t WHERE a = {{ x | sql_quote }}",
            "{% for r in xs %}{{ r | sql_quote }}{% endfor %}",
            "{% if x is defined %}{{ xs | sql_list }}{% else %}1{% endif %}",
            "{{ current_user_id }} {{ current_username | sql_quote }}",
            "{% raw %}{{ x }}{% endraw %}{# c #}",
        ];
        const FRAGMENTS: &[&str] = &[
            "{{",
            "}}",
            "{%",
            "%}",
            "{#",
            "#}",
            "~",
            "+",
            "*",
            "'",
            "\"",
            "\\",
            "|",
            "(",
            ")",
            "[",
            "]",
            ".",
            "set ",
            "raw",
            "endraw",
            "-",
            "loop",
            "__class__",
            "x",
            "xs",
        ];
        let mut rng = Rng::new(7);
        let params = json!({"x": "v", "xs": ["a", "b"]});
        for _ in 0..3000 {
            let mut text: Vec<char> = SEEDS[rng.below(SEEDS.len())].chars().collect();
            for _ in 0..=rng.below(3) {
                let at = rng.below(text.len() + 1);
                if rng.below(2) == 0 {
                    let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())];
                    text.splice(at..at, fragment.chars());
                } else if at < text.len() {
                    text.remove(at);
                }
            }
            let template: String = text.into_iter().collect();
            let _ = render(Pg, &template, params.clone());
        }
    }
}

//! Tool schemas as every client accepts them.
//!
//! schemars writes valid JSON Schema 2020-12, but some of it trips strict clients: the
//! TypeScript SDK 1.x rejects a whole `tools/list` when one property or item schema is a
//! bare `true` (what schemars writes for `serde_json::Value`), and validators warn on every
//! call about `format` values that are Rust type names (`uint32`, `double`). [`portable`]
//! rewrites a generated schema into the plain subset: object schemas everywhere, standard
//! formats only. `additionalProperties: false` stays: it is a boolean by definition.

use serde_json::{Map, Value};

/// `format` values defined by JSON Schema 2020-12 (the format vocabulary).
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Keywords whose value is one schema.
const ONE_SCHEMA: &[&str] = &[
    "items",
    "additionalItems",
    "unevaluatedItems",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedProperties",
];

/// Keywords whose value maps names to schemas.
const SCHEMA_MAP: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// Keywords whose value is a list of schemas.
const SCHEMA_LIST: &[&str] = &["anyOf", "oneOf", "allOf", "prefixItems"];

/// Rewrite a generated root schema in place into the portable subset (see the module doc).
/// The root's `$schema` is dropped: 2020-12 is MCP's default dialect, and the key costs
/// bytes in every listing.
pub fn portable(schema: &mut Map<String, Value>) {
    schema.remove("$schema");
    portable_object(schema);
}

/// Tighten a portable input schema for the listing without changing what it accepts from
/// a client that follows it: the root's title and description (a Rust type name and a
/// line the tool's own description says better), defaults that say "nothing" (`null`,
/// `[]`, `false`, `{}`: the field is simply optional), `null` as an alternative type (an
/// optional field is omitted; vizier still accepts an explicit `null`), and a choice of
/// documented constants written as the shorter `enum`, and a definition used once written
/// where it is used (a `$ref` and the definition's name cost bytes and say nothing).
pub fn compact_input(schema: &mut Map<String, Value>) {
    schema.remove("title");
    schema.remove("description");
    // A definition's description names the Rust type's role; the field that uses it says
    // what it means there.
    if let Some(Value::Object(defs)) = schema.get_mut("$defs") {
        for def in defs.values_mut() {
            if let Value::Object(def) = def {
                def.remove("description");
            }
        }
    }
    compact_object(schema);
    inline_single_use_definitions(schema);
}

/// Replace each `$ref` to a definition referenced exactly once (and not by itself) by the
/// definition, keys beside the `$ref` (a field's description) winning; drop `$defs` once
/// empty. Definitions used twice or more stay shared.
fn inline_single_use_definitions(schema: &mut Map<String, Value>) {
    loop {
        let Some(Value::Object(defs)) = schema.get("$defs") else {
            return;
        };
        let text = Value::Object(schema.clone()).to_string();
        let once = defs.iter().find_map(|(name, def)| {
            let target = format!("\"#/$defs/{name}\"");
            (text.matches(&target).count() == 1 && !def.to_string().contains(&target))
                .then(|| (name.clone(), def.clone()))
        });
        let Some((name, def)) = once else {
            return;
        };
        if let Some(Value::Object(defs)) = schema.get_mut("$defs") {
            defs.remove(&name);
            if defs.is_empty() {
                schema.remove("$defs");
            }
        }
        let target = format!("#/$defs/{name}");
        for value in schema.values_mut() {
            replace_ref(value, &target, &def);
        }
    }
}

/// Every object in `value` whose `$ref` is `target` takes `def`'s keys instead.
fn replace_ref(value: &mut Value, target: &str, def: &Value) {
    match value {
        Value::Object(object) => {
            if object.get("$ref").and_then(Value::as_str) == Some(target) {
                object.remove("$ref");
                if let Value::Object(def) = def {
                    for (k, v) in def {
                        object.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            object
                .values_mut()
                .for_each(|v| replace_ref(v, target, def));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| replace_ref(v, target, def)),
        _ => {}
    }
}

fn compact_object(schema: &mut Map<String, Value>) {
    if schema
        .get("default")
        .is_some_and(|d| d.is_null() || d == &Value::Bool(false) || is_empty_container(d))
    {
        schema.remove("default");
    }
    if let Some(Value::Array(types)) = schema.get_mut("type")
        && types.len() == 2
        && types.iter().any(|t| t == "null")
    {
        types.retain(|t| t != "null");
        let only = types.pop().unwrap_or(Value::Null);
        schema.insert("type".into(), only);
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(alternatives)) = schema.get_mut(key) else {
            continue;
        };
        let null = Value::Object(Map::from_iter([("type".into(), "null".into())]));
        if alternatives.len() == 2 && alternatives.contains(&null) {
            alternatives.retain(|a| a != &null);
            if let Some(Value::Object(only)) = alternatives.pop() {
                schema.remove(key);
                for (k, v) in only {
                    schema.entry(k).or_insert(v);
                }
            }
        } else if !alternatives.is_empty()
            && alternatives
                .iter()
                .all(|a| a.get("const").is_some_and(Value::is_string))
        {
            let values: Vec<Value> = alternatives
                .iter_mut()
                .filter_map(|a| a.as_object_mut()?.remove("const"))
                .collect();
            schema.remove(key);
            schema.insert("type".into(), "string".into());
            schema.insert("enum".into(), Value::Array(values));
        }
    }
    visit_subschemas(schema, &mut |sub| {
        if let Value::Object(object) = sub {
            compact_object(object);
        }
    });
}

fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Call `f` on every direct subschema of `schema`.
fn visit_subschemas(schema: &mut Map<String, Value>, f: &mut dyn FnMut(&mut Value)) {
    if let Some(extra @ Value::Object(_)) = schema.get_mut("additionalProperties") {
        f(extra);
    }
    for key in ONE_SCHEMA {
        if let Some(sub) = schema.get_mut(*key) {
            f(sub);
        }
    }
    for key in SCHEMA_MAP {
        if let Some(Value::Object(map)) = schema.get_mut(*key) {
            map.values_mut().for_each(&mut *f);
        }
    }
    for key in SCHEMA_LIST {
        if let Some(Value::Array(list)) = schema.get_mut(*key) {
            list.iter_mut().for_each(&mut *f);
        }
    }
}

/// What the listing says of a tool's output: a JSON object. The listing is paid for in
/// every conversation, and the full output schemas of all tools would be half of it; the
/// full schema is what `search_tools` answers, and every result also carries its JSON as
/// text. Structured results conform to this as to the full schema.
pub fn listed_output() -> Map<String, Value> {
    Map::from_iter([("type".into(), "object".into())])
}

/// A subschema in the place of a schema: `true` becomes `{}` (anything), `false` becomes
/// `{"not": {}}` (nothing).
fn portable_value(value: &mut Value) {
    match value {
        Value::Bool(true) => *value = Value::Object(Map::new()),
        Value::Bool(false) => {
            let mut nothing = Map::new();
            nothing.insert("not".into(), Value::Object(Map::new()));
            *value = Value::Object(nothing);
        }
        Value::Object(object) => portable_object(object),
        _ => {}
    }
}

fn portable_object(schema: &mut Map<String, Value>) {
    if schema
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| !STANDARD_FORMATS.contains(&f))
    {
        schema.remove("format");
    }
    // `additionalProperties: true` says what no keyword says already.
    if schema.get("additionalProperties") == Some(&Value::Bool(true)) {
        schema.remove("additionalProperties");
    }
    visit_subschemas(schema, &mut portable_value);
}

/// What makes a schema non-portable, as `path: problem` lines (empty when portable). Used
/// by the registry's test over every tool; public so the check is the same everywhere.
pub fn problems(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match schema {
        Value::Object(object) => {
            if object.get("type").is_some_and(|t| t != "object") {
                out.push("$: the root is not an object schema".into());
            }
            check_object(object, "$", &mut out);
        }
        _ => out.push("$: not a schema object".into()),
    }
    out
}

fn check_value(value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(object) => check_object(object, path, out),
        Value::Bool(b) => out.push(format!("{path}: bare `{b}` in place of a schema")),
        other => out.push(format!("{path}: {other} in place of a schema")),
    }
}

fn check_object(schema: &Map<String, Value>, path: &str, out: &mut Vec<String>) {
    if let Some(format) = schema.get("format").and_then(Value::as_str)
        && !STANDARD_FORMATS.contains(&format)
    {
        out.push(format!("{path}: non-standard format `{format}`"));
    }
    match schema.get("additionalProperties") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => out.push(format!("{path}: additionalProperties: true")),
        Some(other) => check_value(other, &format!("{path}.additionalProperties"), out),
    }
    for key in ONE_SCHEMA {
        if let Some(sub) = schema.get(*key) {
            check_value(sub, &format!("{path}.{key}"), out);
        }
    }
    for key in SCHEMA_MAP {
        match schema.get(*key) {
            None => {}
            Some(Value::Object(map)) => {
                for (name, sub) in map {
                    check_value(sub, &format!("{path}.{key}.{name}"), out);
                }
            }
            Some(_) => out.push(format!("{path}.{key}: not a map of schemas")),
        }
    }
    for key in SCHEMA_LIST {
        match schema.get(*key) {
            None => {}
            Some(Value::Array(list)) => {
                for (i, sub) in list.iter().enumerate() {
                    check_value(sub, &format!("{path}.{key}[{i}]"), out);
                }
            }
            Some(_) => out.push(format!("{path}.{key}: not a list of schemas")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bare_booleans_and_rust_formats_are_rewritten() {
        let mut schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "any": true,
                "never": false,
                "rows": {"type": "array", "items": {"type": "array", "items": true}},
                "n": {"type": "integer", "format": "uint32", "minimum": 0},
                "at": {"type": "string", "format": "date-time"},
                "map": {"type": "object", "additionalProperties": true},
                "either": {"anyOf": [true, {"$ref": "#/$defs/X"}]}
            },
            "additionalProperties": false,
            "$defs": {"X": {"type": "number", "format": "double"}}
        });
        assert!(!problems(&schema).is_empty());
        let Value::Object(object) = &mut schema else {
            unreachable!("built as an object")
        };
        portable(object);
        assert_eq!(problems(&schema), Vec::<String>::new());
        assert_eq!(schema["properties"]["any"], json!({}));
        assert_eq!(schema["properties"]["never"], json!({"not": {}}));
        assert_eq!(schema["properties"]["rows"]["items"]["items"], json!({}));
        assert_eq!(
            schema["properties"]["n"],
            json!({"type": "integer", "minimum": 0})
        );
        assert_eq!(schema["properties"]["at"]["format"], "date-time");
        assert_eq!(schema["properties"]["map"], json!({"type": "object"}));
        assert_eq!(schema["additionalProperties"], json!(false));
        assert_eq!(schema["$defs"]["X"], json!({"type": "number"}));
        assert!(schema.get("$schema").is_none());
    }

    #[test]
    fn problems_name_the_place() {
        let schema =
            json!({"type": "object", "properties": {"a": {"type": "array", "items": true}}});
        assert_eq!(
            problems(&schema),
            vec!["$.properties.a.items: bare `true` in place of a schema".to_string()]
        );
    }

    #[test]
    fn definitions_used_once_are_inlined_and_shared_ones_stay() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "layout": {"description": "The layout.", "$ref": "#/$defs/Layout"},
                "tree": {"$ref": "#/$defs/Node"}
            },
            "$defs": {
                "Layout": {"type": "object", "properties": {
                    "rows": {"type": "array", "items": {"$ref": "#/$defs/Row"}},
                    "tabs": {"type": "array", "items": {"$ref": "#/$defs/Tab"}}
                }, "description": "Rust's words."},
                "Tab": {"type": "object", "properties": {
                    "rows": {"type": "array", "items": {"$ref": "#/$defs/Row"}}
                }},
                "Row": {"type": "object", "properties": {"width": {"type": "integer"}}},
                "Node": {"type": "object", "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
                }}
            }
        });
        let Value::Object(object) = &mut schema else {
            unreachable!("built as an object")
        };
        compact_input(object);
        assert_eq!(
            schema["properties"]["layout"]["description"], "The layout.",
            "the field's words win"
        );
        assert_eq!(
            schema["properties"]["layout"]["properties"]["tabs"]["items"]["properties"]["rows"]["items"],
            json!({"$ref": "#/$defs/Row"}),
            "used twice: still shared"
        );
        let mut kept: Vec<&String> = schema["$defs"].as_object().expect("defs").keys().collect();
        kept.sort();
        assert_eq!(
            kept,
            ["Node", "Row"],
            "recursive and shared definitions stay"
        );
        assert_eq!(
            schema["properties"]["tree"],
            json!({"$ref": "#/$defs/Node"})
        );
    }
}

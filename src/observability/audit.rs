//! What the audit log keeps of a tool call: who, which tool, the arguments with secrets
//! redacted and long values cut, the outcome, the duration and the error id.
//!
//! Redaction is by key and by shape. A value whose key names a secret (password, secret,
//! token, API key, key material, credentials, a URI/URL or connection string) at any depth
//! becomes `"***"`. Inside every other string, the password of a URL
//! (`postgres://u:PASSWORD@h`), `password=`/`pwd=` settings, `Bearer` credentials, JWTs and
//! vizier API keys (`vz_…`) are masked too. Strings longer than [`MAX_VALUE_CHARS`] (long
//! SQL) are cut with a `…[truncated N chars]` marker, and the whole text is held to
//! [`MAX_ARGUMENTS_BYTES`]. The bearer token of the request is never part of the arguments.
//! The writer is `crate::actors::audit`.

use std::time::Duration;

use serde_json::Value;

use crate::auth::Principal;
use crate::db::models::{NewAuditEntry, now};

/// What a redacted value shows.
pub const REDACTED: &str = "***";
/// Strings longer than this (in characters) are cut.
pub const MAX_VALUE_CHARS: usize = 2000;
/// The stored arguments text is at most this long (bytes).
pub const MAX_ARGUMENTS_BYTES: usize = 8 * 1024;
/// Second pass when the arguments are still too long: every string cut to this.
const SHORT_VALUE_CHARS: usize = 200;
/// Tool names, usernames and request ids are stored at most this long (characters).
const MAX_NAME_CHARS: usize = 200;

/// A finished tool call, as the MCP handler knows it.
pub struct CallRecord<'a> {
    pub request_id: &'a str,
    /// Who called; `None` when the caller could not be identified.
    pub principal: Option<&'a Principal>,
    /// The tool name as requested (it may not exist).
    pub tool: &'a str,
    /// The call's arguments as sent (an object, or none).
    pub arguments: Option<&'a Value>,
    /// `ok`, or the `error_type` the caller saw (`protocol_error` for an unknown tool).
    pub outcome: &'a str,
    pub error_id: Option<&'a str>,
    pub elapsed: Duration,
}

/// The row to write for `call`.
pub fn entry(call: &CallRecord<'_>) -> NewAuditEntry {
    let finished = now();
    let started = finished
        - chrono::Duration::microseconds(
            i64::try_from(call.elapsed.as_micros()).unwrap_or(i64::MAX),
        );
    let arguments = match call.arguments {
        Some(args) => redact_arguments(args),
        None => "{}".to_string(),
    };
    NewAuditEntry {
        created_on: started,
        request_id: clean_name(call.request_id),
        user_id: call.principal.map(|p| p.user_id),
        username: call
            .principal
            .map(|p| clean_name(&p.username))
            .unwrap_or_default(),
        tenant: call
            .principal
            .and_then(|p| p.tenant.as_deref())
            .map(clean_name),
        tool: clean_name(call.tool),
        arguments,
        outcome: clean_name(call.outcome),
        error_id: call.error_id.map(clean_name),
        // Microsecond precision is all a duration needs.
        duration_ms: (call.elapsed.as_secs_f64() * 1e6).round() / 1e3,
    }
}

/// Control characters dropped (PostgreSQL text refuses NUL) and the length capped: tool
/// names of unknown tools and request ids come from the caller.
fn clean_name(s: &str) -> String {
    let cleaned: String = s.chars().filter(|c| !c.is_control()).collect();
    cut(&cleaned, MAX_NAME_CHARS)
}

/// The arguments as stored: JSON text with secrets redacted, long strings cut, and at most
/// [`MAX_ARGUMENTS_BYTES`] long. Always valid JSON; when even short strings do not fit,
/// the text's beginning is kept as one JSON string.
pub fn redact_arguments(args: &Value) -> String {
    let pass = |limit| serde_json::to_string(&redact(args, limit)).unwrap_or_default();
    let text = pass(MAX_VALUE_CHARS);
    if text.len() <= MAX_ARGUMENTS_BYTES {
        return text;
    }
    let text = pass(SHORT_VALUE_CHARS);
    if text.len() <= MAX_ARGUMENTS_BYTES {
        return text;
    }
    // Escaping makes the JSON string longer than its content: shrink until it fits.
    let mut keep = MAX_ARGUMENTS_BYTES / 2;
    loop {
        let fitted = serde_json::to_string(&Value::String(cut(&text, keep))).unwrap_or_default();
        if fitted.len() <= MAX_ARGUMENTS_BYTES || keep == 0 {
            return fitted;
        }
        keep = keep * 3 / 4;
    }
}

/// A copy of `v` with secret-named values replaced and strings masked and cut to `limit`.
fn redact(v: &Value, limit: usize) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if v.is_null() || !is_secret_key(k) {
                        redact(v, limit)
                    } else {
                        Value::String(REDACTED.into())
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| redact(v, limit)).collect()),
        Value::String(s) => Value::String(cut(&mask(s), limit)),
        other => other.clone(),
    }
}

/// Whether a key names a secret: compared without case, `_`, `-` or spaces, so `apiKey`,
/// `API-KEY` and `api_key` all match.
pub fn is_secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' ' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    const EXACT: &[&str] = &["key", "pass", "pwd", "auth", "cookie"];
    const CONTAINS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "privatekey",
        "secretkey",
        "accesskey",
        "encryptionkey",
        "signingkey",
        "keymaterial",
        "credential",
        "authorization",
        "sqlalchemy",
        "connectionstring",
        "connstr",
        "encrypted",
    ];
    const SUFFIX: &[&str] = &["uri", "url", "dsn", "pem", "cert"];
    EXACT.contains(&k.as_str())
        || CONTAINS.iter().any(|s| k.contains(s))
        || SUFFIX.iter().any(|s| k.ends_with(s))
}

/// `s` cut to `limit` characters, with a marker saying how many were cut.
fn cut(s: &str, limit: usize) -> String {
    match s.char_indices().nth(limit) {
        None => s.to_string(),
        Some((end, _)) => {
            let rest = s[end..].chars().count();
            format!("{}…[truncated {rest} chars]", &s[..end])
        }
    }
}

/// Secrets that may hide inside any string (SQL, descriptions, unknown arguments) masked.
fn mask(s: &str) -> String {
    let s = mask_url_passwords(s);
    let s = mask_settings(&s);
    mask_tokens(&s)
}

/// `scheme://user:PASSWORD@host` → `scheme://user:***@host`.
fn mask_url_passwords(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#' | '"' | '\'' | '`') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(userinfo_end) => {
                let userinfo = &authority[..userinfo_end];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..=colon]);
                        out.push_str(REDACTED);
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[userinfo_end..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

/// `password=VALUE`, `pwd=VALUE` and similar (connection strings, query strings) → `***`.
fn mask_settings(s: &str) -> String {
    const NAMES: &[&str] = &[
        "password=",
        "passwd=",
        "pwd=",
        "secret=",
        "token=",
        "api_key=",
        "apikey=",
    ];
    if !s.contains('=') {
        return s.to_owned();
    }
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let hit = NAMES.iter().find(|n| {
            lower[i..].starts_with(*n)
                && (i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphanumeric())
        });
        match hit {
            Some(name) => {
                let start = i + name.len();
                let end = s[start..]
                    .find(|c: char| {
                        matches!(c, ';' | '&' | '\'' | '"' | ',' | ')') || c.is_whitespace()
                    })
                    .map_or(s.len(), |n| start + n);
                out.push_str(&s[i..start]);
                if end > start {
                    out.push_str(REDACTED);
                }
                i = end;
            }
            None => {
                let c = s[i..].chars().next().unwrap_or(' ');
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// Words that are credentials by their shape: `Bearer X`, JWTs, vizier API keys.
fn mask_tokens(s: &str) -> String {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let mut out = String::with_capacity(s.len());
    let mut after_bearer = false;
    let mut rest = s;
    while !rest.is_empty() {
        let word_len = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        if word_len == 0 {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
            after_bearer = after_bearer && c == ' ';
            continue;
        }
        let word = &rest[..word_len];
        let secret = (after_bearer && word.len() >= 8) || is_jwt(word) || is_api_key(word);
        if secret {
            out.push_str(REDACTED);
        } else {
            out.push_str(word);
        }
        after_bearer = word.eq_ignore_ascii_case("bearer");
        rest = &rest[word_len..];
    }
    out
}

fn is_jwt(word: &str) -> bool {
    if !word.starts_with("eyJ") {
        return false;
    }
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() == 3 && parts[1].len() >= 4
}

fn is_api_key(word: &str) -> bool {
    word.strip_prefix(crate::auth::api_keys::KEY_PREFIX)
        .is_some_and(|rest| rest.len() >= 20)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn redacted(v: Value) -> Value {
        let text = redact_arguments(&v);
        assert!(text.len() <= MAX_ARGUMENTS_BYTES, "{} bytes", text.len());
        serde_json::from_str(&text).expect("always valid JSON")
    }

    #[test]
    fn secret_keys_are_redacted_at_any_depth_and_any_case() {
        let out = redacted(json!({
            "database_name": "sales",
            "url": "postgres://u:hunter2@db/sales",
            "Password": "hunter2",
            "options": {"API-KEY": "k1", "apiKey": "k2", "nested": [{"client_secret": "s"}]},
            "sqlalchemy_uri": "mysql://root:pw@h/db",
            "connection_string": "Server=h;Password=pw",
            "credentials": {"user": "u", "pass": "p"},
            "private_key_pem": "-----BEGIN PRIVATE KEY-----",
            "access_token": "abc",
            "key": "raw",
            "group_key": "region",
            "description": null,
            "password_hint": null,
        }));
        for path in [
            "/url",
            "/Password",
            "/options/API-KEY",
            "/options/apiKey",
            "/options/nested/0/client_secret",
            "/sqlalchemy_uri",
            "/connection_string",
            "/credentials",
            "/private_key_pem",
            "/access_token",
            "/key",
        ] {
            assert_eq!(out.pointer(path), Some(&json!(REDACTED)), "{path}: {out}");
        }
        assert_eq!(out["database_name"], "sales");
        assert_eq!(out["group_key"], "region", "not every *_key is a secret");
        assert_eq!(out["password_hint"], Value::Null, "null reveals nothing");
        assert!(!out.to_string().contains("hunter2"), "{out}");
    }

    #[test]
    fn secrets_inside_ordinary_strings_are_masked() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let key = "vz_abcdefgh_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
        let out = redacted(json!({
            "sql": "SELECT * FROM dblink('host=h user=u password=s3cr3t dbname=x', 'q')",
            "note": format!("see postgres://admin:pa55@db.internal:5432/x and {jwt}"),
            "other": format!("Authorization: Bearer abcdefghijkl, key {key}"),
            "plain": "mysql://reader@db/x has no password",
        }));
        let text = out.to_string();
        for secret in ["s3cr3t", "pa55", jwt, "abcdefghijkl", key] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(
            text.contains("postgres://admin:***@db.internal:5432/x"),
            "{text}"
        );
        assert!(text.contains("password=***"), "{text}");
        assert_eq!(out["plain"], "mysql://reader@db/x has no password");
    }

    #[test]
    fn long_strings_are_cut_with_a_marker() {
        let sql = format!("SELECT {} FROM orders", "x, ".repeat(1000));
        let out = redacted(json!({"sql": sql, "page": 2}));
        let s = out["sql"].as_str().expect("string");
        let cut = sql.chars().count() - MAX_VALUE_CHARS;
        assert!(
            s.ends_with(&format!("…[truncated {cut} chars]")),
            "{}",
            &s[s.len() - 40..]
        );
        assert!(s.starts_with("SELECT x, x, "));
        assert_eq!(out["page"], 2);
        // Multi-byte characters are cut on a character boundary.
        let out = redacted(json!({"title": "é".repeat(MAX_VALUE_CHARS + 3)}));
        assert!(
            out["title"]
                .as_str()
                .is_some_and(|s| s.ends_with("…[truncated 3 chars]"))
        );
    }

    #[test]
    fn the_whole_text_is_capped_and_stays_json() {
        // Many medium strings: the second pass cuts each one.
        let many: Vec<String> = (0..20)
            .map(|i| format!("{i}{}", "y".repeat(1500)))
            .collect();
        let out = redacted(json!({"items": many}));
        assert!(
            out["items"][0]
                .as_str()
                .is_some_and(|s| s.contains("…[truncated"))
        );
        // Too many values for any pass: the beginning is kept as one string.
        let ids: Vec<i64> = (0..5000).collect();
        let out = redacted(json!({"dataset_ids": ids, "q": "\"quoted\""}));
        assert!(
            out.as_str()
                .is_some_and(|s| s.starts_with("{\"dataset_ids\":[0,1,2"))
        );
        assert!(out.as_str().is_some_and(|s| s.contains("…[truncated")));
    }

    #[test]
    fn entries_carry_the_call() {
        let principal = Principal {
            user_id: 7,
            username: "alice".into(),
            roles: vec![],
            permissions: Default::default(),
            all_datasource_access: false,
            database_ids: Default::default(),
            dataset_ids: Default::default(),
            token_scopes: None,
            tenant: None,
        };
        let args = json!({"url": "postgres://u:pw@h/db"});
        let e = entry(&CallRecord {
            request_id: "req-1",
            principal: Some(&principal),
            tool: "register\u{0}_database",
            arguments: Some(&args),
            outcome: "unavailable",
            error_id: Some("err_1"),
            elapsed: Duration::from_micros(1500),
        });
        assert_eq!((e.user_id, e.username.as_str()), (Some(7), "alice"));
        assert_eq!(e.tool, "register_database", "control characters dropped");
        assert_eq!(e.arguments, r#"{"url":"***"}"#);
        assert_eq!(
            (e.outcome.as_str(), e.error_id.as_deref()),
            ("unavailable", Some("err_1"))
        );
        assert!((e.duration_ms - 1.5).abs() < 1e-9, "{}", e.duration_ms);
        assert_eq!(e.tenant, None);
        assert!(e.created_on <= now());
    }
}

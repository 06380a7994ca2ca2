//! The one error model of vizier.
//!
//! Which error type goes where:
//! - `anyhow::Result` outside the request path: start-up, config, migrations, CLI commands,
//!   background work. Those errors end the process or are logged, never shown to a caller.
//! - `diesel::QueryResult` inside query code (`src/db`), converted at the tool boundary.
//! - [`ToolError`] at the boundary of every tool call: it has a stable snake_case
//!   `error_type`, becomes an MCP tool result with `isError: true` and the JSON body
//!   `{error, error_type, details, timestamp, error_id}`, and maps once to an HTTP status
//!   where the transport carries one (see [`ErrorKind::http_status`]).
//!
//! Database "not found" becomes `not_found`; a pool timeout or a closed connection becomes
//! `unavailable` (retryable); everything unexpected becomes `internal`, logged once with its
//! error id, and the caller sees only the id.

use std::fmt;

use chrono::{SecondsFormat, Utc};
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};

/// What went wrong, as a caller can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// An argument is missing, malformed or out of range; `details` names the field.
    InvalidArgument,
    /// The object does not exist (or the caller may not know that it exists).
    NotFound,
    /// The caller is known but lacks a permission; `details` names it.
    PermissionDenied,
    /// The caller could not be identified.
    Unauthenticated,
    /// A tool pool or queue is full; retry after `retry_after_secs`.
    Overloaded,
    /// The caller exceeded a rate limit (named in the message); retry after `retry_after_secs`.
    RateLimited,
    /// A dependency (metadata store, data source) is unreachable; retryable.
    Unavailable,
    /// The call took longer than its time limit.
    Timeout,
    /// The caller cancelled the call.
    Cancelled,
    /// The change conflicts with a concurrent change.
    Conflict,
    /// A bug or an unexpected failure: the caller gets an error id to report.
    Internal,
}

impl ErrorKind {
    /// The stable `error_type` string callers match on.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::NotFound => "not_found",
            Self::PermissionDenied => "permission_denied",
            Self::Unauthenticated => "unauthenticated",
            Self::Overloaded => "overloaded",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::Cancelled => "cancelled",
            Self::Conflict => "conflict",
            Self::Internal => "internal",
        }
    }

    /// The HTTP status this kind maps to where a transport carries one.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::InvalidArgument => 400,
            Self::Unauthenticated => 401,
            Self::PermissionDenied => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::RateLimited => 429,
            Self::Cancelled => 499,
            Self::Internal => 500,
            Self::Overloaded | Self::Unavailable => 503,
            Self::Timeout => 504,
        }
    }
}

/// A failed tool call, as the caller sees it.
#[derive(Debug, Clone)]
pub struct ToolError {
    pub kind: ErrorKind,
    pub message: String,
    pub details: Value,
    pub error_id: String,
    /// Seconds after which a retry may succeed (overloaded, unavailable).
    pub retry_after_secs: Option<u64>,
    /// The server refused the call for a reason of its own (shutting down, a store it needs
    /// is down, a deadline it cannot meet): over HTTP, 503 with `Retry-After` like
    /// `overloaded`, whatever the kind.
    pub server_refusal: bool,
    /// The token scope the call lacked ([`ToolError::insufficient_scope`]): over HTTP, 403
    /// with an `insufficient_scope` challenge (RFC 6750 §3.1).
    pub missing_scope: Option<&'static str>,
}

/// How HTTP answers a call refused before its tool ran: by load, a rate limit, a missing
/// token scope or the server itself. Every other failure is the tool's own answer (HTTP
/// 200 with `isError`). Derived from the error alone ([`ToolError::http_refusal`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRefusal {
    pub status: u16,
    /// `Retry-After`, seconds.
    pub retry_after_secs: Option<u64>,
    /// `WWW-Authenticate`.
    pub challenge: Option<String>,
}

/// A short random id that ties a caller's error to the server's log line.
pub fn new_error_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("err_{}", &id[..16])
}

impl ToolError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            details: Value::Null,
            error_id: new_error_id(),
            retry_after_secs: None,
            server_refusal: false,
            missing_scope: None,
        }
    }

    /// The HTTP status this error maps to where a transport carries one: its kind's, or
    /// 503 for a refusal of the server's own.
    pub fn http_status(&self) -> u16 {
        if self.server_refusal {
            ErrorKind::Unavailable.http_status()
        } else {
            self.kind.http_status()
        }
    }

    /// How HTTP answers this error when it refused the call before its tool ran; `None`
    /// when it is the tool's own answer.
    pub fn http_refusal(&self) -> Option<HttpRefusal> {
        if let Some(scope) = self.missing_scope {
            return Some(HttpRefusal {
                status: self.http_status(),
                retry_after_secs: None,
                challenge: Some(format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
                )),
            });
        }
        let refused = self.server_refusal
            || matches!(self.kind, ErrorKind::Overloaded | ErrorKind::RateLimited);
        let retry_after_secs = self.retry_after_secs.filter(|_| refused)?;
        Some(HttpRefusal {
            status: self.http_status(),
            retry_after_secs: Some(retry_after_secs),
            challenge: None,
        })
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// A validation error naming the field, what is allowed, and the closest valid value.
    pub fn invalid_field(
        field: &str,
        message: impl Into<String>,
        allowed: &[&str],
        given: Option<&str>,
    ) -> Self {
        let suggestion = given.and_then(|g| closest(g, allowed));
        let mut text = format!("{field}: {}", message.into());
        if let Some(s) = suggestion {
            text.push_str(&format!(" Did you mean '{s}'?"));
        }
        Self::invalid(text).with_details(json!({
            "field": field,
            "allowed": allowed,
            "suggestion": suggestion,
        }))
    }

    pub fn not_found(what: &str, ident: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::NotFound,
            format!("{what} '{ident}' was not found."),
        )
        .with_details(json!({ "object": what, "identifier": ident.to_string() }))
    }

    pub fn permission_denied(permission: &str, action: &str) -> Self {
        Self::new(
            ErrorKind::PermissionDenied,
            format!(
                "Permission '{permission}' is required to {action}. Ask an admin to grant it to one of your roles."
            ),
        )
        .with_details(json!({ "missing_permission": permission }))
    }

    /// The token lacks `scope`, needed to `action`: `permission_denied` naming the scope.
    pub fn insufficient_scope(scope: &'static str, action: &str) -> Self {
        let mut e = Self::new(
            ErrorKind::PermissionDenied,
            format!(
                "The token lacks the scope '{scope}' needed to {action}. Request a token with that scope."
            ),
        )
        .with_details(json!({"missing_scope": scope, "error": "insufficient_scope"}));
        e.missing_scope = Some(scope);
        e
    }

    pub fn overloaded(pool: &str, retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            ErrorKind::Overloaded,
            format!(
                "The {pool} tools are at capacity and their queue is full. Retry after {retry_after_secs} s."
            ),
        )
        .with_details(json!({ "pool": pool, "retry_after_secs": retry_after_secs }));
        e.retry_after_secs = Some(retry_after_secs);
        e
    }

    /// A rate limit was exceeded: `limit` names it (e.g. "execute_sql: 10 per minute").
    pub fn rate_limited(limit: &str, retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            ErrorKind::RateLimited,
            format!("Rate limit exceeded ({limit}). Retry after {retry_after_secs} s."),
        )
        .with_details(json!({ "limit": limit, "retry_after_secs": retry_after_secs }));
        e.retry_after_secs = Some(retry_after_secs);
        e
    }

    pub fn unavailable(message: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut e = Self::new(ErrorKind::Unavailable, message)
            .with_details(json!({ "retry_after_secs": retry_after_secs }));
        e.retry_after_secs = Some(retry_after_secs);
        e
    }

    /// The server cannot take the call now (shutting down, a store it needs is down): an
    /// `unavailable` error answered over HTTP with 503 and `Retry-After`.
    pub fn refused_unavailable(message: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut e = Self::unavailable(message, retry_after_secs);
        e.server_refusal = true;
        e
    }

    pub fn timeout(what: &str, limit_ms: u64) -> Self {
        Self::new(
            ErrorKind::Timeout,
            format!("{what} did not finish within its limit of {limit_ms} ms."),
        )
        .with_details(json!({ "limit_ms": limit_ms }))
    }

    pub fn cancelled() -> Self {
        Self::new(
            ErrorKind::Cancelled,
            "The call was cancelled by the client.",
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// An unexpected failure: the cause is logged here, once, with the error id; the caller
    /// sees the id only, so no internal detail (SQL, paths, secrets) leaks.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let e = Self::new(
            ErrorKind::Internal,
            "An internal error occurred. Report the error_id to the operator.",
        );
        tracing::error!(error_id = %e.error_id, cause = %cause, "internal error");
        e
    }

    pub fn error_type(&self) -> &'static str {
        self.kind.as_str()
    }

    /// The JSON body every tool error carries.
    pub fn to_json(&self) -> Value {
        json!({
            "error": self.message,
            "error_type": self.error_type(),
            "details": self.details,
            "timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            "error_id": self.error_id,
        })
    }

    /// The MCP tool result: `isError: true`, the JSON body as structured content and text.
    pub fn into_call_result(self) -> CallToolResult {
        let body = self.to_json();
        let mut result = CallToolResult::error(vec![ContentBlock::text(body.to_string())]);
        result.structured_content = Some(body);
        result
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type(), self.message)
    }
}

impl std::error::Error for ToolError {}

impl From<diesel::result::Error> for ToolError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => Self::new(ErrorKind::NotFound, "The object was not found."),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                Self::conflict(format!(
                    "An object with the same unique value exists already ({}).",
                    info.message()
                ))
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                Self::unavailable("The metadata store closed the connection; retry.", 1)
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                Self::conflict("A concurrent change touched the same objects; retry the call.")
            }
            other => Self::internal(other),
        }
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The allowed value closest to `given`, if any is reasonably close.
pub fn closest<'a>(given: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let g = given.to_ascii_lowercase();
    allowed
        .iter()
        .map(|a| (edit_distance(&g, &a.to_ascii_lowercase()), *a))
        .filter(|(d, a)| *d <= (a.len().max(g.len()) / 2).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_suggests_near_names_only() {
        let allowed = ["dashboard_title", "slug", "published"];
        assert_eq!(closest("dashbord_title", &allowed), Some("dashboard_title"));
        assert_eq!(closest("SLUG", &allowed), Some("slug"));
        assert_eq!(closest("zzzzzzzz", &allowed), None);
    }

    #[test]
    fn error_json_has_the_documented_fields() {
        let e = ToolError::invalid_field("page_size", "must be 1..=100", &[], None);
        let v = e.to_json();
        for key in ["error", "error_type", "details", "timestamp", "error_id"] {
            assert!(v.get(key).is_some(), "missing {key} in {v}");
        }
        assert_eq!(v["error_type"], "invalid_argument");
    }

    #[test]
    fn kinds_map_to_statuses() {
        assert_eq!(ErrorKind::Overloaded.http_status(), 503);
        assert_eq!(ErrorKind::PermissionDenied.http_status(), 403);
        assert_eq!(ErrorKind::Internal.http_status(), 500);
    }

    #[test]
    fn refusals_say_how_http_answers_them() {
        let answer = |e: ToolError| e.http_refusal();
        assert_eq!(
            answer(ToolError::overloaded("sql", 2)),
            Some(HttpRefusal {
                status: 503,
                retry_after_secs: Some(2),
                challenge: None
            })
        );
        assert_eq!(
            answer(ToolError::rate_limited("execute_sql: 1 per minute", 30)),
            Some(HttpRefusal {
                status: 429,
                retry_after_secs: Some(30),
                challenge: None
            })
        );
        let mut deadline = ToolError::timeout("the call", 100);
        deadline.retry_after_secs = Some(1);
        deadline.server_refusal = true;
        assert_eq!(answer(deadline.clone()).map(|a| a.status), Some(503));
        assert_eq!(deadline.http_status(), 503);
        let scope = answer(ToolError::insufficient_scope("vizier:sql", "run SQL")).expect("403");
        assert_eq!(scope.status, 403);
        assert_eq!(
            scope.challenge.as_deref(),
            Some("Bearer error=\"insufficient_scope\", scope=\"vizier:sql\"")
        );
        // A tool's own answer is not the transport's business, retry hint or not.
        assert_eq!(
            answer(ToolError::unavailable("the source is down", 5)),
            None
        );
        assert_eq!(answer(ToolError::not_found("chart", 3)), None);
        assert_eq!(
            answer(ToolError::permission_denied("admin", "list users")),
            None
        );
    }
}

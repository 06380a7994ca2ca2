//! `list_audit_log` (admin): every tool call as the audit log recorded it, newest first,
//! filtered by user, tool, outcome, time and request id.
//!
//! Rows are written by the `AuditWriter` actor within a few hundred milliseconds of a call
//! returning. The tool runs in the admin pool, so its answers are never served from the
//! response cache (only catalog-pool tools are cacheable): every call reads the table.

use chrono::NaiveDateTime;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Hints, Registry, ToolCtx, tool};
use crate::actors::PoolKind;
use crate::auth::Permission;
use crate::db::audit::AuditFilter;
use crate::db::models::AuditEntry;
use crate::error::ToolError;
use crate::query::list::{NamedFilters, Page, parse_time};

/// Entries per page unless asked otherwise.
const DEFAULT_PAGE_SIZE: i64 = 20;
/// Entries per page at most.
const MAX_PAGE_SIZE: i64 = 100;
/// Filter values longer than this cannot match a stored row (names are stored cut to 200).
const MAX_FILTER_CHARS: usize = 256;

pub fn register(r: &mut Registry) {
    r.add(tool(
        "list_audit_log",
        "Audit log",
        "Every tool call, newest first: user, tool, arguments (secrets as \"***\"), outcome, error id, duration.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::READ,
        list_audit_log,
    ));
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditArgs {
    /// Only calls by this username.
    pub user: Option<String>,
    pub tool: Option<String>,
    /// `ok` or an error_type.
    pub outcome: Option<String>,
    /// ISO-8601, inclusive.
    pub since: Option<String>,
    /// ISO-8601, inclusive.
    pub until: Option<String>,
    /// The HTTP X-Request-Id.
    pub request_id: Option<String>,
    /// From 1 (default 1).
    pub page: Option<i64>,
    /// 1 to 100 (default 20).
    pub page_size: Option<i64>,
}

/// One recorded call.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AuditItem {
    pub id: i32,
    /// When the call arrived (UTC).
    pub created_on: String,
    pub request_id: String,
    pub user_id: Option<i32>,
    /// Empty when the caller could not be identified.
    pub username: String,
    /// Always null: tenants are not implemented yet.
    pub tenant: Option<String>,
    pub tool: String,
    /// The arguments as recorded: secrets replaced by "***", long strings cut with
    /// "…[truncated N chars]".
    pub arguments: Value,
    /// `ok`, or the error_type the caller got (`protocol_error`: unknown tool).
    pub outcome: String,
    /// The error id the caller got, to find the server's log line.
    pub error_id: Option<String>,
    pub duration_ms: f64,
}

/// Validated filters and the page asked for.
#[derive(Debug, Default, PartialEq)]
struct Filters {
    /// The rows wanted; `tenant` is the caller's (only its calls).
    matching: AuditFilter,
    page: i64,
    page_size: i64,
}

/// Outcomes a call can have today: `ok`, `protocol_error` (unknown tool) and the stable
/// error types of `ToolError` (new ones are accepted as they come; this list only feeds
/// suggestions).
const KNOWN_OUTCOMES: &[&str] = &[
    "ok",
    "protocol_error",
    "invalid_argument",
    "not_found",
    "permission_denied",
    "unauthenticated",
    "overloaded",
    "rate_limited",
    "unavailable",
    "timeout",
    "cancelled",
    "conflict",
    "internal",
];

fn field_error(field: &str, message: impl std::fmt::Display) -> ToolError {
    ToolError::invalid(format!("{field}: {message}")).with_details(json!({"field": field}))
}

impl AuditArgs {
    fn validate(self) -> Result<Filters, ToolError> {
        // An empty string is no filter (clients send "" for an unset optional argument).
        let text = |field: &str, v: Option<String>| -> Result<Option<String>, ToolError> {
            match v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
                Some(s) if s.chars().count() > MAX_FILTER_CHARS => Err(field_error(
                    field,
                    format!("at most {MAX_FILTER_CHARS} characters."),
                )),
                other => Ok(other),
            }
        };
        let time = |field: &str, v: Option<String>| -> Result<Option<NaiveDateTime>, ToolError> {
            match text(field, v)? {
                None => Ok(None),
                Some(s) => parse_time(&s).map(Some).ok_or_else(|| {
                    field_error(
                        field,
                        format!(
                            "'{s}' is not an ISO-8601 date or time; use e.g. 2026-11-21 or 2026-11-21T10:00:00Z."
                        ),
                    )
                }),
            }
        };
        let outcome = text("outcome", self.outcome)?;
        if let Some(o) = &outcome {
            let well_formed =
                o.len() <= 64 && o.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            if !well_formed {
                return Err(ToolError::invalid_field(
                    "outcome",
                    "must be ok, protocol_error or an error_type (snake_case).",
                    KNOWN_OUTCOMES,
                    Some(o),
                ));
            }
        }
        let (since, until) = (time("since", self.since)?, time("until", self.until)?);
        if let (Some(s), Some(u)) = (since, until)
            && s > u
        {
            return Err(ToolError::invalid(
                "since, until: since is later than until, so nothing can match.",
            )
            .with_details(json!({"field": "since"})));
        }
        let page = self.page.unwrap_or(1);
        if page < 1 {
            return Err(field_error(
                "page",
                format!("{page} is not a page; pages count from 1."),
            ));
        }
        let page_size = self.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(field_error(
                "page_size",
                format!("{page_size} is out of range; allowed 1 to {MAX_PAGE_SIZE}."),
            ));
        }
        Ok(Filters {
            matching: AuditFilter {
                user: text("user", self.user)?,
                tool: text("tool", self.tool)?,
                outcome,
                since,
                until,
                request_id: text("request_id", self.request_id)?,
                tenant: None,
            },
            page,
            page_size,
        })
    }
}

impl Filters {
    fn applied(&self) -> Map<String, Value> {
        let m = &self.matching;
        let t = |x: &Option<NaiveDateTime>| x.map(fmt_millis);
        let pairs = [
            ("user", m.user.clone()),
            ("tool", m.tool.clone()),
            ("outcome", m.outcome.clone()),
            ("since", t(&m.since)),
            ("until", t(&m.until)),
            ("request_id", m.request_id.clone()),
        ];
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), Value::String(v))))
            .collect()
    }
}

/// A stored time as ISO-8601 UTC with milliseconds: calls are often close together.
fn fmt_millis(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn list_audit_log(
    ctx: ToolCtx,
    args: AuditArgs,
) -> Result<Page<AuditItem, NamedFilters>, ToolError> {
    let mut f = args.validate()?;
    f.matching.tenant = ctx.principal.tenant.clone();
    let mut conn = ctx.app.db.conn().await?;
    let offset = (f.page - 1).saturating_mul(f.page_size);
    let (rows, total_count) = AuditEntry::page(&mut conn, &f.matching, f.page_size, offset).await?;
    // A well-formed outcome no call ever had is most likely a typo: say so, with the
    // closest known one (outcomes of error types newer than this list match their rows).
    if let Some(o) = f.matching.outcome.as_deref()
        && total_count == 0
        && !KNOWN_OUTCOMES.contains(&o)
    {
        return Err(ToolError::invalid_field(
            "outcome",
            format!(
                "no recorded call has outcome '{o}'; outcomes are ok, protocol_error or an error_type."
            ),
            KNOWN_OUTCOMES,
            Some(o),
        ));
    }
    let items = rows.into_iter().map(item).collect();
    Ok(page(
        items,
        &f,
        total_count,
        ctx.app.config.limits.response_bytes,
    ))
}

fn item(e: AuditEntry) -> AuditItem {
    let arguments = serde_json::from_str(&e.arguments).unwrap_or(Value::String(e.arguments));
    AuditItem {
        id: e.id,
        created_on: fmt_millis(e.created_on),
        request_id: e.request_id,
        user_id: e.user_id,
        username: e.username,
        tenant: e.tenant,
        tool: e.tool,
        arguments,
        outcome: e.outcome,
        error_id: e.error_id,
        duration_ms: e.duration_ms,
    }
}

/// The page envelope, keeping as many whole entries as fit in `budget` bytes.
fn page(
    items: Vec<AuditItem>,
    f: &Filters,
    total_count: i64,
    budget: usize,
) -> Page<AuditItem, NamedFilters> {
    Page::named(
        items,
        (f.page, f.page_size),
        total_count,
        f.applied(),
        budget,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_reads_are_never_cached() {
        let registry = Registry::new();
        let spec = registry.get("list_audit_log").expect("registered");
        assert!(!spec.cacheable, "audit reads must always hit the table");
        assert_eq!(spec.permission, Permission::Admin);
        assert!(spec.read_only && !spec.changes_metadata);
        let out = spec.tool.output_schema.as_ref().expect("output schema");
        assert_eq!(out.get("type"), Some(&json!("object")));
    }

    #[test]
    fn defaults_and_normalized_filters() {
        let f = AuditArgs {
            user: Some(" alice ".into()),
            tool: Some(String::new()),
            since: Some("2026-11-21".into()),
            until: Some("2026-11-21T12:00:00+01:00".into()),
            ..Default::default()
        }
        .validate()
        .expect("valid");
        assert_eq!((f.page, f.page_size), (1, DEFAULT_PAGE_SIZE));
        assert_eq!(f.matching.user.as_deref(), Some("alice"));
        assert_eq!(f.matching.tool, None, "an empty string is no filter");
        let applied = f.applied();
        assert_eq!(applied["since"], "2026-11-21T00:00:00.000Z");
        assert_eq!(applied["until"], "2026-11-21T11:00:00.000Z");
    }

    #[test]
    fn bad_arguments_name_their_field() {
        let cases = [
            (
                AuditArgs {
                    since: Some("yesterday".into()),
                    ..Default::default()
                },
                "since",
            ),
            (
                AuditArgs {
                    until: Some("2026-13-01".into()),
                    ..Default::default()
                },
                "until",
            ),
            (
                AuditArgs {
                    page: Some(0),
                    ..Default::default()
                },
                "page",
            ),
            (
                AuditArgs {
                    page_size: Some(101),
                    ..Default::default()
                },
                "page_size",
            ),
            (
                AuditArgs {
                    outcome: Some("Permission Denied".into()),
                    ..Default::default()
                },
                "outcome",
            ),
            (
                AuditArgs {
                    user: Some("u".repeat(300)),
                    ..Default::default()
                },
                "user",
            ),
            (
                AuditArgs {
                    since: Some("2026-11-22".into()),
                    until: Some("2026-11-21".into()),
                    ..Default::default()
                },
                "since",
            ),
        ];
        for (args, field) in cases {
            let e = args.validate().expect_err(field);
            assert_eq!(e.error_type(), "invalid_argument");
            assert_eq!(e.details["field"], field, "{}", e.to_json());
            assert!(e.message.starts_with(field), "{}", e.message);
        }
        let e = AuditArgs {
            outcome: Some("permision-denied".into()),
            ..Default::default()
        }
        .validate()
        .expect_err("typo");
        assert_eq!(
            e.details["suggestion"],
            "permission_denied",
            "{}",
            e.to_json()
        );
    }

    #[test]
    fn pages_fit_the_byte_budget() {
        let f = Filters {
            page: 1,
            page_size: 10,
            ..Default::default()
        };
        let big = |id| AuditItem {
            id,
            created_on: "2026-11-21T00:00:00.000Z".into(),
            request_id: "r".into(),
            user_id: Some(1),
            username: "admin".into(),
            tenant: None,
            tool: "execute_sql".into(),
            arguments: json!({"sql": "x".repeat(3000)}),
            outcome: "ok".into(),
            error_id: None,
            duration_ms: 1.0,
        };
        let p = page((0..10).map(big).collect(), &f, 25, 12_000);
        assert!(p.truncated && p.count == 3, "{} kept", p.count);
        assert!(p.truncation_hint.is_some_and(|h| h.contains("page_size")));
        assert_eq!(
            (p.total_pages, p.has_next, p.has_previous),
            (3, true, false)
        );
    }
}

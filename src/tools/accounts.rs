//! What the user, role and permission tools share: argument checks, roles found by name,
//! the refusal of a change that would lock its caller out, and when a change takes effect.
//!
//! Every write runs in one transaction (see [`crate::db::users`]), so a refused or failed
//! change leaves nothing half written. Two rules hold whatever the arguments:
//! - the built-in roles' grants are fixed (start-up restores them) and they cannot be deleted;
//! - no change may deactivate the caller or take the `admin` permission from them. The check
//!   runs inside the transaction, after the change, so every path to a lockout (replacing
//!   roles, revoking `admin` from a custom role, deleting a role) is covered.
//!
//! A change drops the cached principals it affects on this replica at once; other replicas
//! reload theirs within the principal cache TTL.

use std::collections::BTreeSet;
use std::fmt::Display;

use serde_json::json;

use super::ToolCtx;
use crate::auth::Permission;
use crate::auth::roles::BUILTIN_ROLES;
use crate::db::users::{ChangeError, Guard};
use crate::error::{ErrorKind, ToolError};
use crate::query::list::escape_like;

/// Items per page unless asked otherwise.
pub(super) const DEFAULT_PAGE_SIZE: i64 = 10;
/// Items per page at most.
pub(super) const MAX_PAGE_SIZE: i64 = 100;
/// Longest user name, role name, email or search text.
pub(super) const MAX_NAME_CHARS: usize = 255;

pub(super) fn field_error(field: &str, message: impl Display) -> ToolError {
    ToolError::invalid(format!("{field}: {message}")).with_details(json!({"field": field}))
}

/// Validated (page, page_size).
pub(super) fn paging(page: Option<i64>, page_size: Option<i64>) -> Result<(i64, i64), ToolError> {
    let page = page.unwrap_or(1);
    if page < 1 {
        return Err(field_error(
            "page",
            format!("{page} is not a page; pages count from 1."),
        ));
    }
    let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(field_error(
            "page_size",
            format!("{page_size} is out of range; allowed 1 to {MAX_PAGE_SIZE}."),
        ));
    }
    Ok((page, page_size))
}

/// Optional free text: trimmed, empty = not given (clients send "" for unset arguments).
pub(super) fn optional_text(field: &str, v: Option<String>) -> Result<Option<String>, ToolError> {
    match v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > MAX_NAME_CHARS => Err(field_error(
            field,
            format!("at most {MAX_NAME_CHARS} characters."),
        )),
        other => Ok(other),
    }
}

/// A user or role name: trimmed, 1 to 255 characters, no spaces or control characters.
pub(super) fn check_name(field: &str, raw: &str) -> Result<String, ToolError> {
    let name = raw.trim();
    let bad = name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(|c| c.is_whitespace() || c.is_control());
    if bad {
        return Err(field_error(
            field,
            format!(
                "'{name}' is not a usable name; use 1 to {MAX_NAME_CHARS} characters without spaces, e.g. jane.doe or finance_readers."
            ),
        ));
    }
    Ok(name.to_string())
}

pub(super) fn is_builtin(role: &str) -> bool {
    BUILTIN_ROLES.iter().any(|(name, _, _)| *name == role)
}

/// The role named `name`, or an error of `kind` naming `field` and the closest role.
pub(super) fn role_named<'a>(
    all: &'a [(i32, String)],
    field: &str,
    name: &str,
    kind: ErrorKind,
) -> Result<&'a (i32, String), ToolError> {
    all.iter().find(|r| r.1 == name).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|r| r.1.as_str()).collect();
        let suggestion = crate::error::closest(name, &names);
        let hint = suggestion
            .map(|s| format!(" Did you mean '{s}'?"))
            .unwrap_or_default();
        ToolError::new(
            kind,
            format!("{field}: no role is named '{name}'.{hint} list_roles shows the roles."),
        )
        .with_details(json!({"field": field, "allowed": names, "suggestion": suggestion}))
    })
}

/// The ids of the roles named in `names` (argument `field`); unknown names are refused.
pub(super) fn role_ids(
    all: &[(i32, String)],
    field: &str,
    names: &[String],
) -> Result<BTreeSet<i32>, ToolError> {
    names
        .iter()
        .map(|n| role_named(all, field, n.trim(), ErrorKind::InvalidArgument).map(|r| r.0))
        .collect()
}

/// Map a unique violation (a concurrent create) to a conflict naming `field`.
pub(super) fn unique_conflict(e: diesel::result::Error, field: &str, message: &str) -> ToolError {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => ToolError::conflict(message.to_string()).with_details(json!({"field": field})),
        other => ToolError::from(other),
    }
}

/// The refusal of a change that would lock the caller out; `field` is the argument at fault.
pub(super) fn lockout(field: &str, caller: &str, fix: &str) -> ToolError {
    ToolError::invalid(format!(
        "{field}: this change would take the admin permission from you ('{caller}'), and nobody could undo it from this session. {fix}"
    ))
    .with_details(json!({"field": field, "reason": "self_lockout"}))
}

pub(super) fn effect_note(ctx: &ToolCtx) -> String {
    format!(
        "In effect from the next call on this server; other replicas pick it up within {} s.",
        ctx.app.principals.ttl().as_secs().max(1)
    )
}

/// A lower-case LIKE pattern finding `text` anywhere.
pub(super) fn contains_pattern(text: &str) -> String {
    format!("%{}%", escape_like(&text.to_lowercase()))
}

/// The caller as a guarded change keeps them: holding `admin`.
pub(super) fn keeps_admin(ctx: &ToolCtx) -> Guard<'static> {
    Guard {
        user: ctx.principal.user_id,
        permission: Permission::Admin.as_str(),
    }
}

/// A guarded change's error as the caller sees it: `refusal` when the change would have
/// locked them out.
pub(super) fn refused(e: ChangeError, refusal: ToolError) -> ToolError {
    match e {
        ChangeError::Lockout => refusal,
        ChangeError::Query(e) => e.into(),
    }
}

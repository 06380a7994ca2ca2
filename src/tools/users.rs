//! Admin tools for users: `list_users`, `create_user`, `update_user`; and what `vizier user
//! create|list` runs ([`create_user_in`], [`ensure_user`], [`all_users`]). The rules every
//! change keeps are in [`super::accounts`]; the queries in [`crate::db::users`].

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};

use super::accounts::{
    MAX_NAME_CHARS, check_name, contains_pattern, effect_note, field_error, keeps_admin, lockout,
    optional_text, paging, refused, role_ids, role_named, unique_conflict,
};
use super::{Hints, Registry, ToolCtx, fmt_time, tool};
use crate::actors::PoolKind;
use crate::auth::Permission;
use crate::db::MetaConn;
use crate::db::models::{User, UserChanges, now, visible_roles};
use crate::db::users::{NewAccount, UserFilter};
use crate::error::{ErrorKind, ToolError};
use crate::query::list::{NamedFilters, Page};

pub fn register(r: &mut Registry) {
    r.add(tool(
        "list_users",
        "List users",
        "Users with their roles, email, names and active flag.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::READ,
        list_users,
    ));
    r.add(tool(
        "create_user",
        "Create a user",
        "Create a user with roles; the username is what tokens name the user (e.g. preferred_username).",
        PoolKind::Admin,
        Permission::Admin,
        Hints::WRITE,
        create_user,
    ));
    r.add(tool(
        "update_user",
        "Change a user",
        "Change a user's roles (replace, add, remove), email, names or active flag (inactive: refused). Not your own admin role or activity.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::WRITE,
        update_user,
    ));
}

/// An email address as given, or `None` for "" (which clears it on update).
fn check_email(raw: &str) -> Result<Option<String>, ToolError> {
    let email = raw.trim();
    if email.is_empty() {
        return Ok(None);
    }
    let shaped = email.chars().count() <= MAX_NAME_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
    if !shaped {
        return Err(field_error(
            "email",
            format!(
                "'{email}' is not an email address; use e.g. jane@example.com, or \"\" for none."
            ),
        ));
    }
    Ok(Some(email.to_string()))
}

/// One user.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UserItem {
    pub id: i32,
    pub username: String,
    pub email: Option<String>,
    pub first_name: String,
    pub last_name: String,
    /// A deactivated user's calls and API keys are refused.
    pub active: bool,
    /// Role names, sorted.
    pub roles: Vec<String>,
    pub created_on: String,
    pub changed_on: String,
}

impl UserItem {
    fn new(u: User, roles: Vec<String>) -> Self {
        Self {
            id: u.id,
            username: u.username,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            active: u.active,
            roles,
            created_on: fmt_time(u.created_on),
            changed_on: fmt_time(u.changed_on),
        }
    }
}

async fn user_item(conn: &mut MetaConn, id: i32) -> Result<UserItem, ToolError> {
    let user = User::find(conn, id).await?;
    let roles = User::role_names(conn, id).await?;
    Ok(UserItem::new(user, roles))
}

/// `rows` as listed, each with its roles.
async fn user_items(conn: &mut MetaConn, rows: Vec<User>) -> Result<Vec<UserItem>, ToolError> {
    let mut roles = User::roles_of(conn, rows.iter().map(|u| u.id).collect()).await?;
    Ok(rows
        .into_iter()
        .map(|u| {
            let r = roles.remove(&u.id).unwrap_or_default();
            UserItem::new(u, r)
        })
        .collect())
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListUsersArgs {
    /// Case-insensitive text in the username, email, first or last name.
    pub search: Option<String>,
    /// Only users holding this role.
    pub role: Option<String>,
    /// Only active (true) or deactivated (false) users.
    pub active: Option<bool>,
    /// From 1 (default 1).
    pub page: Option<i64>,
    /// Users per page, 1 to 100 (default 10).
    pub page_size: Option<i64>,
}

async fn list_users(
    ctx: ToolCtx,
    args: ListUsersArgs,
) -> Result<Page<UserItem, NamedFilters>, ToolError> {
    let (page, page_size) = paging(args.page, args.page_size)?;
    let mut applied = Map::new();
    let search = optional_text("search", args.search)?;
    let role = optional_text("role", args.role)?;
    let mut conn = ctx.app.db.conn().await?;
    let role_id = match &role {
        None => None,
        Some(name) => {
            let all = visible_roles(&mut conn, ctx.principal.tenant.as_deref()).await?;
            Some(role_named(&all, "role", name, ErrorKind::InvalidArgument)?.0)
        }
    };
    if let Some(s) = &search {
        applied.insert("search".into(), json!(s));
    }
    if let Some(r) = &role {
        applied.insert("role".into(), json!(r));
    }
    if let Some(a) = args.active {
        applied.insert("active".into(), json!(a));
    }
    let f = UserFilter {
        pattern: search.map(|s| contains_pattern(&s)),
        role_id,
        active: args.active,
        tenant: ctx.principal.tenant.clone(),
    };
    let offset = (page - 1).saturating_mul(page_size);
    let (rows, total) = User::page(&mut conn, &f, page_size, offset).await?;
    let items = user_items(&mut conn, rows).await?;
    Ok(Page::named(
        items,
        (page, page_size),
        total,
        applied,
        ctx.app.config.limits.response_bytes,
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserArgs {
    /// 1 to 255 characters without spaces.
    pub username: String,
    /// Role names, e.g. ["gamma"].
    pub roles: Vec<String>,
    /// Default true.
    pub active: Option<bool>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

async fn create_user(ctx: ToolCtx, args: CreateUserArgs) -> Result<UserItem, ToolError> {
    let mut conn = ctx.app.db.conn().await?;
    let tenant = ctx.principal.tenant.as_deref();
    create_user_in(&mut conn, Some(ctx.principal.user_id), tenant, args).await
}

/// Creates a user (in `tenant`, when given) as `caller` (`None`: an operator's command).
/// The `create_user` tool and `vizier user create` both create users through this.
pub async fn create_user_in(
    conn: &mut MetaConn,
    caller: Option<i32>,
    tenant: Option<&str>,
    args: CreateUserArgs,
) -> Result<UserItem, ToolError> {
    let username = check_name("username", &args.username)?;
    let email = match &args.email {
        Some(e) => check_email(e)?,
        None => None,
    };
    let first_name = optional_text("first_name", args.first_name)?.unwrap_or_default();
    let last_name = optional_text("last_name", args.last_name)?.unwrap_or_default();
    let active = args.active.unwrap_or(true);
    let all = visible_roles(conn, tenant).await?;
    let role_ids = role_ids(&all, "roles", &args.roles)?;
    let taken = format!(
        "A user named '{username}' exists already; change it with update_user, or pick another username."
    );
    if User::in_tenant(conn, &username, tenant).await?.is_some() {
        return Err(ToolError::conflict(taken).with_details(json!({"field": "username"})));
    }
    let new = NewAccount {
        username: &username,
        email: email.as_deref(),
        first_name: &first_name,
        last_name: &last_name,
        active,
        tenant,
    };
    let id = User::create(conn, &new, &role_ids, caller)
        .await
        .map_err(|e| unique_conflict(e, "username", &taken))?;
    user_item(conn, id).await
}

/// `vizier user create`: the user with exactly these roles, created when missing. An
/// existing user with the same roles is left as it is (`false`: nothing was created); one
/// with other roles is refused, naming both sets: a bootstrap step run again never changes
/// what an admin changed since.
pub async fn ensure_user(
    conn: &mut MetaConn,
    tenant: Option<&str>,
    args: CreateUserArgs,
) -> Result<(UserItem, bool), ToolError> {
    let username = check_name("username", &args.username)?;
    let wanted: BTreeSet<String> = args.roles.iter().map(|r| r.trim().to_string()).collect();
    let existing = match User::in_tenant(conn, &username, tenant).await? {
        Some(u) => u,
        None => match create_user_in(conn, None, tenant, args).await {
            Ok(item) => return Ok((item, true)),
            Err(e) if e.kind == ErrorKind::Conflict => {
                User::in_tenant(conn, &username, tenant).await?.ok_or(e)?
            }
            Err(e) => return Err(e),
        },
    };
    let item = user_item(conn, existing.id).await?;
    let has: BTreeSet<String> = item.roles.iter().cloned().collect();
    if has != wanted {
        return Err(ToolError::conflict(format!(
            "User '{username}' exists already with roles [{}], not [{}]; this command does not \
             change an existing user. Change the roles with the update_user tool.",
            item.roles.join(", "),
            wanted.into_iter().collect::<Vec<_>>().join(", ")
        ))
        .with_details(json!({"field": "roles", "roles": item.roles})));
    }
    Ok((item, false))
}

/// Every user (of `tenant`, when given), by username: `vizier user list`.
pub async fn all_users(
    conn: &mut MetaConn,
    tenant: Option<&str>,
) -> Result<Vec<UserItem>, ToolError> {
    let f = UserFilter {
        tenant: tenant.map(str::to_owned),
        ..Default::default()
    };
    let rows = User::all(conn, &f).await?;
    user_items(conn, rows).await
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserArgs {
    /// Username (or id).
    pub username: Option<String>,
    /// Id (or username).
    pub id: Option<i32>,
    /// Replace all roles with these.
    pub roles: Option<Vec<String>>,
    /// Roles to give the user.
    #[serde(default)]
    pub add_roles: Vec<String>,
    #[serde(default)]
    pub remove_roles: Vec<String>,
    pub active: Option<bool>,
    /// New email; "" removes it.
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// The user and what the change means for their calls.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UserChanged {
    #[serde(flatten)]
    pub user: UserItem,
    pub note: String,
}

async fn update_user(ctx: ToolCtx, args: UpdateUserArgs) -> Result<UserChanged, ToolError> {
    let username = optional_text("username", args.username.clone())?;
    if username.is_some() == args.id.is_some() {
        return Err(field_error(
            "username",
            "name the user with either username or id (one of them, not both).",
        ));
    }
    if args.roles.is_some() && !(args.add_roles.is_empty() && args.remove_roles.is_empty()) {
        return Err(field_error(
            "roles",
            "give roles (replaces them all) or add_roles/remove_roles (change some), not both.",
        ));
    }
    let changes_roles =
        args.roles.is_some() || !args.add_roles.is_empty() || !args.remove_roles.is_empty();
    let nothing = !changes_roles
        && args.active.is_none()
        && args.email.is_none()
        && args.first_name.is_none()
        && args.last_name.is_none();
    if nothing {
        return Err(ToolError::invalid(
            "Nothing to change: give roles, add_roles, remove_roles, active, email, first_name or last_name.",
        )
        .with_details(json!({"field": "roles"})));
    }
    let email = args.email.as_deref().map(check_email).transpose()?;
    let first_name = args
        .first_name
        .map(|s| optional_text("first_name", Some(s)).map(Option::unwrap_or_default))
        .transpose()?;
    let last_name = args
        .last_name
        .map(|s| optional_text("last_name", Some(s)).map(Option::unwrap_or_default))
        .transpose()?;

    let mut conn = ctx.app.db.conn().await?;
    let user = match (&username, args.id) {
        (Some(name), _) => User::by_username(&mut conn, name, ctx.principal.tenant.as_deref())
            .await?
            .ok_or_else(|| {
                ToolError::not_found("user", name).with_details(json!({
                    "field": "username", "object": "user", "identifier": name,
                    "fix": "list_users(search=...) finds users by part of their name.",
                }))
            })?,
        (None, Some(id)) => User::by_id(&mut conn, id).await?.ok_or_else(|| {
            ToolError::not_found("user", id)
                .with_details(json!({"field": "id", "object": "user", "identifier": id}))
        })?,
        (None, None) => return Err(field_error("username", "name the user.")),
    };
    if let Some(t) = &ctx.principal.tenant
        && user.tenant.as_ref() != Some(t)
    {
        let ident = username.clone().unwrap_or_else(|| user.id.to_string());
        return Err(ToolError::not_found("user", ident));
    }
    let is_self = user.id == ctx.principal.user_id;
    if is_self && args.active == Some(false) {
        return Err(lockout(
            "active",
            &ctx.principal.username,
            "You cannot deactivate yourself; another admin can.",
        ));
    }

    let all = visible_roles(&mut conn, ctx.principal.tenant.as_deref()).await?;
    let new_roles: Option<BTreeSet<i32>> = if changes_roles {
        let held = User::role_ids(&mut conn, user.id).await?;
        let set = match &args.roles {
            Some(names) => role_ids(&all, "roles", names)?,
            None => {
                let add = role_ids(&all, "add_roles", &args.add_roles)?;
                let remove = role_ids(&all, "remove_roles", &args.remove_roles)?;
                if let Some(both) = add.intersection(&remove).next() {
                    let name = all.iter().find(|r| r.0 == *both).map_or("", |r| &r.1);
                    return Err(field_error(
                        "remove_roles",
                        format!("'{name}' is in both add_roles and remove_roles; keep it in one."),
                    ));
                }
                held.union(&add)
                    .filter(|r| !remove.contains(r))
                    .copied()
                    .collect()
            }
        };
        Some(set)
    } else {
        None
    };

    let roles_field = if args.roles.is_some() {
        "roles"
    } else {
        "remove_roles"
    };
    let refusal = lockout(
        roles_field,
        &ctx.principal.username,
        "Keep a role that grants admin (such as admin), or ask another admin to make the change.",
    );
    let changes = UserChanges {
        active: args.active,
        email: email.as_ref().map(|e| e.as_deref()),
        first_name: first_name.as_deref(),
        last_name: last_name.as_deref(),
        changed_on: now(),
        changed_by_fk: Some(ctx.principal.user_id),
    };
    User::update(
        &mut conn,
        user.id,
        &changes,
        new_roles.as_ref(),
        keeps_admin(&ctx),
    )
    .await
    .map_err(|e| refused(e, refusal))?;
    ctx.app.principals.forget(user.id).await;
    Ok(UserChanged {
        user: user_item(&mut conn, user.id).await?,
        note: effect_note(&ctx),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_emails_are_checked() {
        assert_eq!(check_name("username", " ann ").expect("ok"), "ann");
        assert!(check_name("username", "two words").is_err());
        assert!(check_name("username", "").is_err());
        assert_eq!(check_email("").expect("clears"), None);
        assert!(check_email("not-an-email").is_err());
        assert_eq!(
            check_email("a@b.example").expect("ok").as_deref(),
            Some("a@b.example")
        );
    }
}

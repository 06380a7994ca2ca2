//! Admin tools for users, roles and permissions: `list_users`, `create_user`, `update_user`,
//! `list_roles`, `create_role`, `update_role`, `delete_role`, `list_permissions`.
//!
//! Every write runs in one transaction, so a refused or failed change leaves nothing half
//! written. Two rules hold whatever the arguments:
//! - the built-in roles' grants are fixed (start-up restores them) and they cannot be deleted;
//! - no change may deactivate the caller or take the `admin` permission from them. The check
//!   runs inside the transaction, after the change, so every path to a lockout (replacing
//!   roles, revoking `admin` from a custom role, deleting a role) is covered.
//!
//! A change drops the cached principals it affects on this replica at once; other replicas
//! reload theirs within the principal cache TTL.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Display;

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use diesel_async::RunQueryDsl;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Hints, Registry, ToolCtx, fmt_time, tool};
use crate::actors::PoolKind;
use crate::auth::roles::BUILTIN_ROLES;
use crate::auth::{ALL_DATASOURCE_ACCESS, DATA_GRANTS, Permission};
use crate::db::MetaConn;
use crate::db::models::{User, UserChanges, new_uuid, now};
use crate::db::schema::{
    databases, datasets, rls_rule_roles, rls_rules, role_permissions, roles, user_roles, users,
};
use crate::error::{ErrorKind, ToolError};
use crate::query::list::escape_like;
use crate::{in_transaction, with_conn};

/// Items per page unless asked otherwise.
const DEFAULT_PAGE_SIZE: i64 = 10;
/// Items per page at most.
const MAX_PAGE_SIZE: i64 = 100;
/// Longest user name, role name, email or search text.
const MAX_NAME_CHARS: usize = 255;
/// Holders named in a refusal to delete a role; `user_count` says how many there are.
const HOLDERS_SHOWN: usize = 20;

#[diesel::declare_sql_function]
extern "SQL" {
    fn lower(x: Nullable<Text>) -> Nullable<Text>;
}

/// Inside a transaction (`c`): grant `(permission, object_type, object_id)` tuples to role
/// `role`, recorded as made at `at` by `caller`.
macro_rules! insert_grants {
    ($c:expr, $role:expr, $grants:expr, $at:expr, $caller:expr) => {
        for (permission, object_type, object_id) in $grants {
            diesel::insert_into(role_permissions::table)
                .values((
                    role_permissions::role_id.eq($role),
                    role_permissions::permission.eq(permission),
                    role_permissions::object_type.eq(object_type.as_deref()),
                    role_permissions::object_id.eq(object_id),
                    role_permissions::created_on.eq($at),
                    role_permissions::created_by_fk.eq(Some($caller)),
                ))
                .execute($c)
                .await?;
        }
    };
}

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
        "Change a user's roles (replace, add, remove), email, names or active flag (inactive: calls and keys refused). Not your own admin role or activity. From their next call.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::WRITE,
        update_user,
    ));
    r.add(tool(
        "list_roles",
        "List roles",
        "Roles with their grants (permission, object_type, object_id), user counts, and whether built in (fixed grants).",
        PoolKind::Admin,
        Permission::Admin,
        Hints::READ,
        list_roles,
    ));
    r.add(tool(
        "create_role",
        "Create a role",
        "Create a role with grants: permissions (list_permissions) and data grants ({permission: dataset_access, object_type: dataset, object_id: 7}).",
        PoolKind::Admin,
        Permission::Admin,
        Hints::WRITE,
        create_role,
    ));
    r.add(tool(
        "update_role",
        "Change a role",
        "Grant/revoke a role's permissions or change its description (built-in roles' grants are fixed); from its users' next call.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::WRITE,
        update_role,
    ));
    r.add(tool(
        "delete_role",
        "Delete a role",
        "Delete a role that is not built in; refused while users hold it, unless force.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::DESTRUCTIVE,
        delete_role,
    ));
    r.add(tool(
        "list_permissions",
        "List permissions",
        "Every grant a role can hold: tool permissions (with their OAuth scope and tools) and data grants.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::READ,
        list_permissions,
    ));
}

// ---------------------------------------------------------------------------------------
// Shared shapes and checks

/// One page of a list, in the common list envelope.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub count: usize,
    pub total_count: i64,
    pub page: i64,
    pub page_size: i64,
    pub total_pages: i64,
    pub has_next: bool,
    pub has_previous: bool,
    pub filters_applied: Map<String, Value>,
    /// True when the byte budget cut the page short; see `truncation_hint`.
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncation_hint: Option<String>,
}

impl<T: Serialize> Page<T> {
    fn new(
        items: Vec<T>,
        (page, page_size): (i64, i64),
        total_count: i64,
        filters_applied: Map<String, Value>,
        budget: usize,
    ) -> Self {
        let offered = items.len();
        let (items, truncated) = fit(items, budget);
        let total_pages = (total_count + page_size - 1) / page_size;
        Self {
            count: items.len(),
            truncation_hint: truncated.then(|| {
                format!(
                    "Only {} of {offered} items on this page fit in the {budget} byte response budget: ask for a smaller page_size.",
                    items.len()
                )
            }),
            items,
            total_count,
            page,
            page_size,
            total_pages,
            has_next: page < total_pages,
            has_previous: page > 1,
            filters_applied,
            truncated,
        }
    }
}

/// Keep as many whole items as fit in `budget` bytes (always the first), and say whether
/// any were left out.
pub(super) fn fit<T: Serialize>(items: Vec<T>, budget: usize) -> (Vec<T>, bool) {
    // Room for the envelope itself.
    crate::query::list::fit_items(items, 600, budget)
}

fn field_error(field: &str, message: impl Display) -> ToolError {
    ToolError::invalid(format!("{field}: {message}")).with_details(json!({"field": field}))
}

/// Validated (page, page_size).
fn paging(page: Option<i64>, page_size: Option<i64>) -> Result<(i64, i64), ToolError> {
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
fn optional_text(field: &str, v: Option<String>) -> Result<Option<String>, ToolError> {
    match v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > MAX_NAME_CHARS => Err(field_error(
            field,
            format!("at most {MAX_NAME_CHARS} characters."),
        )),
        other => Ok(other),
    }
}

/// A user or role name: trimmed, 1 to 255 characters, no spaces or control characters.
fn check_name(field: &str, raw: &str) -> Result<String, ToolError> {
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

fn is_builtin(role: &str) -> bool {
    BUILTIN_ROLES.iter().any(|(name, _, _)| *name == role)
}

/// With a tenant, a role the caller may change: its tenant's own, not a shared one.
async fn require_own_role(
    conn: &mut MetaConn,
    tenant: Option<&str>,
    role_id: i32,
    name: &str,
) -> Result<(), ToolError> {
    if tenant.is_none() {
        return Ok(());
    }
    let owner: Option<String> = with_conn!(conn, |c| {
        roles::table
            .find(role_id)
            .select(roles::tenant)
            .first(c)
            .await
    })?;
    if owner.is_none() {
        return Err(ToolError::new(
            ErrorKind::PermissionDenied,
            format!(
                "Role '{name}' is shared by every tenant; only an operator (with tenants off) changes it. \
                 Create a role of your own with create_role."
            ),
        )
        .with_details(json!({"field": "name", "reason": "shared_role", "role": name})));
    }
    Ok(())
}

/// The role named `name`, or an error of `kind` naming `field` and the closest role.
fn role_named<'a>(
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
fn role_ids(
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
fn unique_conflict(e: diesel::result::Error, field: &str, message: &str) -> ToolError {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => ToolError::conflict(message.to_string()).with_details(json!({"field": field})),
        other => ToolError::from(other),
    }
}

/// Inside a transaction on `$c`: whether user `$user` is active and holds the admin
/// permission through one of their stored roles.
macro_rules! holds_admin {
    ($c:expr, $user:expr) => {{
        let n: i64 = user_roles::table
            .inner_join(
                role_permissions::table.on(role_permissions::role_id.eq(user_roles::role_id)),
            )
            .inner_join(users::table.on(users::id.eq(user_roles::user_id)))
            .filter(user_roles::user_id.eq($user))
            .filter(users::active.eq(true))
            .filter(role_permissions::permission.eq(Permission::Admin.as_str()))
            .count()
            .get_result($c)
            .await?;
        n > 0
    }};
}

/// The refusal of a change that would lock the caller out; `field` is the argument at fault.
fn lockout(field: &str, caller: &str, fix: &str) -> ToolError {
    ToolError::invalid(format!(
        "{field}: this change would take the admin permission from you ('{caller}'), and nobody could undo it from this session. {fix}"
    ))
    .with_details(json!({"field": field, "reason": "self_lockout"}))
}

fn effect_note(ctx: &ToolCtx) -> String {
    format!(
        "In effect from the next call on this server; other replicas pick it up within {} s.",
        ctx.app.principals.ttl().as_secs().max(1)
    )
}

// ---------------------------------------------------------------------------------------
// Users

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

/// Role names of each of `ids`, sorted.
async fn roles_of(
    conn: &mut MetaConn,
    ids: Vec<i32>,
) -> Result<HashMap<i32, Vec<String>>, ToolError> {
    let pairs: Vec<(i32, String)> = with_conn!(conn, |c| {
        user_roles::table
            .inner_join(roles::table)
            .filter(user_roles::user_id.eq_any(ids))
            .order(roles::name)
            .select((user_roles::user_id, roles::name))
            .load(c)
            .await
    })?;
    let mut out: HashMap<i32, Vec<String>> = HashMap::new();
    for (user, role) in pairs {
        out.entry(user).or_default().push(role);
    }
    Ok(out)
}

async fn user_item(conn: &mut MetaConn, id: i32) -> Result<UserItem, ToolError> {
    let user: User = with_conn!(conn, |c| {
        users::table
            .find(id)
            .select(User::as_select())
            .first(c)
            .await
    })?;
    let roles = roles_of(conn, vec![id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(UserItem::new(user, roles))
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

struct UserFilters {
    /// A lower-case LIKE pattern.
    pattern: Option<String>,
    role_id: Option<i32>,
    active: Option<bool>,
    tenant: Option<String>,
}

/// The users matching `f`, as a boxed query on whichever backend the connection is.
macro_rules! users_matching {
    ($f:expr) => {{
        let f: &UserFilters = $f;
        let mut q = users::table.into_boxed();
        if let Some(t) = &f.tenant {
            q = q.filter(users::tenant.eq(t.clone()));
        }
        if let Some(p) = &f.pattern {
            q = q.filter(
                lower(users::username.nullable())
                    .like(p.clone())
                    .escape('\\')
                    .or(lower(users::email).like(p.clone()).escape('\\'))
                    .or(lower(users::first_name.nullable())
                        .like(p.clone())
                        .escape('\\'))
                    .or(lower(users::last_name.nullable())
                        .like(p.clone())
                        .escape('\\')),
            );
        }
        if let Some(role) = f.role_id {
            q = q.filter(
                users::id.eq_any(
                    user_roles::table
                        .filter(user_roles::role_id.eq(role))
                        .select(user_roles::user_id),
                ),
            );
        }
        if let Some(active) = f.active {
            q = q.filter(users::active.eq(active));
        }
        q
    }};
}

async fn list_users(ctx: ToolCtx, args: ListUsersArgs) -> Result<Page<UserItem>, ToolError> {
    let (page, page_size) = paging(args.page, args.page_size)?;
    let mut applied = Map::new();
    let search = optional_text("search", args.search)?;
    let role = optional_text("role", args.role)?;
    let mut conn = ctx.app.db.conn().await?;
    let role_id = match &role {
        None => None,
        Some(name) => {
            let all = crate::db::models::visible_roles(&mut conn, ctx.principal.tenant.as_deref())
                .await?;
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
    let f = UserFilters {
        pattern: search.map(|s| format!("%{}%", escape_like(&s.to_lowercase()))),
        role_id,
        active: args.active,
        tenant: ctx.principal.tenant.clone(),
    };
    let offset = (page - 1).saturating_mul(page_size);
    let (total, rows): (i64, Vec<User>) = with_conn!(&mut conn, |c| {
        let total: i64 = users_matching!(&f).count().get_result(c).await?;
        let rows = users_matching!(&f)
            .order((users::username, users::id))
            .limit(page_size)
            .offset(offset)
            .select(User::as_select())
            .load(c)
            .await?;
        (total, rows)
    });
    let mut roles = roles_of(&mut conn, rows.iter().map(|u| u.id).collect()).await?;
    let items = rows
        .into_iter()
        .map(|u| {
            let r = roles.remove(&u.id).unwrap_or_default();
            UserItem::new(u, r)
        })
        .collect();
    Ok(Page::new(
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
    let all = crate::db::models::visible_roles(conn, tenant).await?;
    let role_ids = role_ids(&all, "roles", &args.roles)?;
    let taken = format!(
        "A user named '{username}' exists already; change it with update_user, or pick another username."
    );
    if User::in_tenant(conn, &username, tenant).await?.is_some() {
        return Err(ToolError::conflict(taken).with_details(json!({"field": "username"})));
    }
    let at = now();
    let tenant_r = tenant;
    let (u, e, f, l, r, t) = (
        &username,
        &email,
        &first_name,
        &last_name,
        &role_ids,
        &taken,
    );
    let id = in_transaction!(conn, |c| {
        let id: i32 = diesel::insert_into(users::table)
            .values((
                users::uuid.eq(new_uuid()),
                users::username.eq(u),
                users::email.eq(e.as_deref()),
                users::first_name.eq(f),
                users::last_name.eq(l),
                users::active.eq(active),
                users::created_on.eq(at),
                users::changed_on.eq(at),
                users::created_by_fk.eq(caller),
                users::changed_by_fk.eq(caller),
                users::tenant.eq(tenant_r),
            ))
            .returning(users::id)
            .get_result(c)
            .await
            .map_err(|err| unique_conflict(err, "username", t))?;
        for role in r {
            diesel::insert_into(user_roles::table)
                .values((user_roles::user_id.eq(id), user_roles::role_id.eq(role)))
                .execute(c)
                .await?;
        }
        Ok::<i32, ToolError>(id)
    })?;
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
    let f = UserFilters {
        pattern: None,
        role_id: None,
        active: None,
        tenant: tenant.map(str::to_owned),
    };
    let rows: Vec<User> = with_conn!(conn, |c| {
        users_matching!(&f)
            .order((users::username, users::id))
            .select(User::as_select())
            .load(c)
            .await
    })?;
    let mut roles = roles_of(conn, rows.iter().map(|u| u.id).collect()).await?;
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
        (None, Some(id)) => with_conn!(&mut conn, |c| {
            users::table
                .find(id)
                .select(User::as_select())
                .first(c)
                .await
                .optional()
        })?
        .ok_or_else(|| {
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

    let all = crate::db::models::visible_roles(&mut conn, ctx.principal.tenant.as_deref()).await?;
    let new_roles: Option<BTreeSet<i32>> = if changes_roles {
        let held: BTreeSet<i32> = with_conn!(&mut conn, |c| {
            user_roles::table
                .filter(user_roles::user_id.eq(user.id))
                .select(user_roles::role_id)
                .load::<i32>(c)
                .await
        })?
        .into_iter()
        .collect();
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
    let (caller, at, target) = (ctx.principal.user_id, now(), user.id);
    let changes = UserChanges {
        active: args.active,
        email: email.as_ref().map(|e| e.as_deref()),
        first_name: first_name.as_deref(),
        last_name: last_name.as_deref(),
        changed_on: at,
        changed_by_fk: Some(caller),
    };
    let (changes_r, new_roles_r, refusal_r) = (&changes, &new_roles, &refusal);
    in_transaction!(&mut conn, |c| {
        let admin_before = holds_admin!(c, caller);
        diesel::update(users::table.find(target))
            .set(changes_r)
            .execute(c)
            .await?;
        if let Some(set) = new_roles_r {
            let keep: Vec<i32> = set.iter().copied().collect();
            diesel::delete(
                user_roles::table
                    .filter(user_roles::user_id.eq(target))
                    .filter(user_roles::role_id.ne_all(keep)),
            )
            .execute(c)
            .await?;
            let held: Vec<i32> = user_roles::table
                .filter(user_roles::user_id.eq(target))
                .select(user_roles::role_id)
                .load(c)
                .await?;
            for role in set.iter().filter(|r| !held.contains(r)) {
                diesel::insert_into(user_roles::table)
                    .values((user_roles::user_id.eq(target), user_roles::role_id.eq(role)))
                    .execute(c)
                    .await?;
            }
        }
        if admin_before && !holds_admin!(c, caller) {
            return Err(refusal_r.clone());
        }
        Ok::<(), ToolError>(())
    })?;
    ctx.app.principals.forget(user.id).await;
    Ok(UserChanged {
        user: user_item(&mut conn, user.id).await?,
        note: effect_note(&ctx),
    })
}

// ---------------------------------------------------------------------------------------
// Roles and grants

/// One grant of a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct GrantItem {
    pub permission: String,
    /// database or dataset, for grants narrowed to one object.
    pub object_type: Option<String>,
    pub object_id: Option<i32>,
    /// The database's name or the dataset's table, when the object still exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_name: Option<String>,
}

/// One role.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RoleItem {
    pub id: i32,
    pub name: String,
    pub description: String,
    /// Built in: its grants are fixed and it cannot be deleted.
    pub builtin: bool,
    pub permissions: Vec<GrantItem>,
    /// Users holding the role.
    pub user_count: i64,
    pub created_on: String,
    pub changed_on: String,
}

type RoleRow = (
    i32,
    String,
    String,
    chrono::NaiveDateTime,
    chrono::NaiveDateTime,
);

/// Each row with its grants (object names filled in) and holder count.
/// Roles as listed; with a tenant, holders are counted and grants shown within the tenant.
async fn role_items(
    conn: &mut MetaConn,
    rows: Vec<RoleRow>,
    tenant: Option<&str>,
) -> Result<Vec<RoleItem>, ToolError> {
    let tenant = tenant.map(str::to_owned);
    let ids: Vec<i32> = rows.iter().map(|r| r.0).collect();
    let (ids_g, ids_u) = (ids.clone(), ids);
    type GrantRow = (i32, String, Option<String>, Option<i32>);
    let grants: Vec<GrantRow> = with_conn!(conn, |c| {
        role_permissions::table
            .filter(role_permissions::role_id.eq_any(ids_g))
            .order(role_permissions::id)
            .select((
                role_permissions::role_id,
                role_permissions::permission,
                role_permissions::object_type,
                role_permissions::object_id,
            ))
            .load(c)
            .await
    })?;
    // Holders are counted among the tenant's users only.
    let members: Option<Vec<i32>> = match &tenant {
        Some(t) => {
            let t = t.clone();
            Some(with_conn!(conn, |c| {
                users::table
                    .filter(users::tenant.eq(t))
                    .select(users::id)
                    .load(c)
                    .await
            })?)
        }
        None => None,
    };
    let counts: Vec<(i32, i64)> = with_conn!(conn, |c| {
        let q = user_roles::table.filter(user_roles::role_id.eq_any(ids_u));
        match members {
            Some(m) => {
                q.filter(user_roles::user_id.eq_any(m))
                    .group_by(user_roles::role_id)
                    .select((user_roles::role_id, diesel::dsl::count_star()))
                    .load(c)
                    .await
            }
            None => {
                q.group_by(user_roles::role_id)
                    .select((user_roles::role_id, diesel::dsl::count_star()))
                    .load(c)
                    .await
            }
        }
    })?;
    let of_type = |t: &str| -> Vec<i32> {
        grants
            .iter()
            .filter(|g| g.2.as_deref() == Some(t))
            .filter_map(|g| g.3)
            .collect()
    };
    let (ds_ids, db_ids) = (of_type("dataset"), of_type("database"));
    let ds_names: Vec<(i32, String)> = with_conn!(conn, |c| {
        datasets::table
            .filter(datasets::id.eq_any(ds_ids))
            .filter(datasets::deleted_on.is_null())
            .select((datasets::id, datasets::table_name))
            .load(c)
            .await
    })?;
    let db_names: Vec<(i32, String)> = with_conn!(conn, |c| {
        databases::table
            .filter(databases::id.eq_any(db_ids))
            .select((databases::id, databases::name))
            .load(c)
            .await
    })?;
    // A shared role's grants on another tenant's objects are not shown within a tenant.
    let (ds_names, db_names) = match &tenant {
        None => (ds_names, db_names),
        Some(t) => {
            let own = crate::db::models::TenantObjects::load(conn, t).await?;
            (
                ds_names
                    .into_iter()
                    .filter(|d| own.datasets.contains(&d.0))
                    .collect(),
                db_names
                    .into_iter()
                    .filter(|d| own.databases.contains(&d.0))
                    .collect::<Vec<_>>(),
            )
        }
    };
    let hidden = |g: &GrantRow| {
        tenant.is_some() && g.2.is_some() && name_in(g, &ds_names, &db_names).is_none()
    };
    Ok(rows
        .into_iter()
        .map(|(id, name, description, created, changed)| RoleItem {
            id,
            builtin: is_builtin(&name),
            permissions: grants
                .iter()
                .filter(|g| g.0 == id && !hidden(g))
                .map(|g| GrantItem {
                    permission: g.1.clone(),
                    object_type: g.2.clone(),
                    object_id: g.3,
                    object_name: name_in(g, &ds_names, &db_names).map(str::to_owned),
                })
                .collect(),
            user_count: counts.iter().find(|c| c.0 == id).map_or(0, |c| c.1),
            name,
            description,
            created_on: fmt_time(created),
            changed_on: fmt_time(changed),
        })
        .collect())
}

/// The name of a grant's object among `ds` and `db` (id, name) lists.
fn name_in<'a>(
    g: &(i32, String, Option<String>, Option<i32>),
    ds: &'a [(i32, String)],
    db: &'a [(i32, String)],
) -> Option<&'a str> {
    let list = match g.2.as_deref()? {
        "dataset" => ds,
        "database" => db,
        _ => return None,
    };
    let id = g.3?;
    list.iter().find(|x| x.0 == id).map(|x| x.1.as_str())
}

async fn role_item(
    conn: &mut MetaConn,
    id: i32,
    tenant: Option<&str>,
) -> Result<RoleItem, ToolError> {
    let row: RoleRow = with_conn!(conn, |c| {
        roles::table
            .find(id)
            .select((
                roles::id,
                roles::name,
                roles::description,
                roles::created_on,
                roles::changed_on,
            ))
            .first(c)
            .await
    })?;
    role_items(conn, vec![row], tenant)
        .await?
        .pop()
        .ok_or_else(|| ToolError::not_found("role", id))
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRolesArgs {
    /// Case-insensitive text in the role's name.
    pub search: Option<String>,
    /// From 1 (default 1).
    pub page: Option<i64>,
    /// Roles per page, 1 to 100 (default 10).
    pub page_size: Option<i64>,
}

macro_rules! roles_matching {
    ($pattern:expr, $tenant:expr) => {{
        let pattern: &Option<String> = $pattern;
        let tenant: &Option<String> = $tenant;
        let mut q = roles::table.into_boxed();
        if let Some(t) = tenant {
            q = q.filter(roles::tenant.is_null().or(roles::tenant.eq(t.clone())));
        }
        if let Some(p) = pattern {
            q = q.filter(lower(roles::name.nullable()).like(p.clone()).escape('\\'));
        }
        q
    }};
}

async fn list_roles(ctx: ToolCtx, args: ListRolesArgs) -> Result<Page<RoleItem>, ToolError> {
    let (page, page_size) = paging(args.page, args.page_size)?;
    let search = optional_text("search", args.search)?;
    let mut applied = Map::new();
    if let Some(s) = &search {
        applied.insert("search".into(), json!(s));
    }
    let pattern = search.map(|s| format!("%{}%", escape_like(&s.to_lowercase())));
    let offset = (page - 1).saturating_mul(page_size);
    let tenant = ctx.principal.tenant.clone();
    let mut conn = ctx.app.db.conn().await?;
    let (total, rows): (i64, Vec<RoleRow>) = with_conn!(&mut conn, |c| {
        let total: i64 = roles_matching!(&pattern, &tenant)
            .count()
            .get_result(c)
            .await?;
        let rows = roles_matching!(&pattern, &tenant)
            .order((roles::name, roles::id))
            .limit(page_size)
            .offset(offset)
            .select((
                roles::id,
                roles::name,
                roles::description,
                roles::created_on,
                roles::changed_on,
            ))
            .load(c)
            .await?;
        (total, rows)
    });
    let items = role_items(&mut conn, rows, ctx.principal.tenant.as_deref()).await?;
    Ok(Page::new(
        items,
        (page, page_size),
        total,
        applied,
        ctx.app.config.limits.response_bytes,
    ))
}

/// A grant as an argument.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantArg {
    /// A permission (see list_permissions).
    pub permission: String,
    /// database or dataset (inferred if omitted).
    pub object_type: Option<String>,
    /// For database_access and dataset_access.
    pub object_id: Option<i32>,
}

/// A validated grant: (permission, object_type, object_id).
type Grant = (String, Option<String>, Option<i32>);

/// Every name a grant can have.
fn grant_names() -> Vec<&'static str> {
    Permission::ALL
        .iter()
        .map(|p| p.as_str())
        .chain(DATA_GRANTS.iter().map(|g| g.0))
        .collect()
}

/// Check a grant's shape (argument `field`, e.g. `grant[0]`), not whether its object exists.
fn check_grant(field: &str, g: &GrantArg) -> Result<Grant, ToolError> {
    let name = g.permission.trim();
    let object_type = g
        .object_type
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let everywhere = Permission::from_name(name).is_some() || name == ALL_DATASOURCE_ACCESS;
    if everywhere {
        if object_type.is_some() || g.object_id.is_some() {
            return Err(field_error(
                &format!("{field}.object_id"),
                format!(
                    "'{name}' is not narrowed to one object; drop object_type and object_id. To open one dataset \
                     or database, grant dataset_access or database_access with its id."
                ),
            ));
        }
        return Ok((name.to_string(), None, None));
    }
    let Some(&(name, Some(kind), _)) = DATA_GRANTS.iter().find(|d| d.0 == name) else {
        return Err(ToolError::invalid_field(
            &format!("{field}.permission"),
            format!("'{name}' is not a permission; list_permissions shows them."),
            &grant_names(),
            Some(name),
        ));
    };
    if let Some(t) = object_type
        && t != kind
    {
        return Err(ToolError::invalid_field(
            &format!("{field}.object_type"),
            format!("{name} is narrowed to a {kind}, not to '{t}'."),
            &[kind],
            Some(t),
        ));
    }
    let Some(id) = g.object_id else {
        return Err(field_error(
            &format!("{field}.object_id"),
            format!("{name} needs the {kind}'s id (list_{kind}s shows them)."),
        ));
    };
    Ok((name.to_string(), Some(kind.to_string()), Some(id)))
}

/// Check each grant of argument `field` (positions kept, so errors can name them).
fn check_grants(field: &str, grants: &[GrantArg]) -> Result<Vec<Grant>, ToolError> {
    grants
        .iter()
        .enumerate()
        .map(|(i, g)| check_grant(&format!("{field}[{i}]"), g))
        .collect()
}

/// The grants without repeats, in their first order.
fn distinct(grants: Vec<Grant>) -> Vec<Grant> {
    let mut out: Vec<Grant> = Vec::with_capacity(grants.len());
    for g in grants {
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out
}

/// Refuse grants (argument `field`) naming a database or dataset that does not exist (or,
/// with a tenant, is another tenant's).
async fn check_objects(
    conn: &mut MetaConn,
    field: &str,
    grants: &[Grant],
    tenant: Option<&str>,
) -> Result<(), ToolError> {
    let ids = |t: &str| -> Vec<i32> {
        grants
            .iter()
            .filter(|g| g.1.as_deref() == Some(t))
            .filter_map(|g| g.2)
            .collect()
    };
    let (ds_ids, db_ids) = (ids("dataset"), ids("database"));
    let found_ds: Vec<i32> = with_conn!(conn, |c| {
        datasets::table
            .filter(datasets::id.eq_any(ds_ids))
            .filter(datasets::deleted_on.is_null())
            .select(datasets::id)
            .load(c)
            .await
    })?;
    let found_db: Vec<i32> = with_conn!(conn, |c| {
        databases::table
            .filter(databases::id.eq_any(db_ids))
            .select(databases::id)
            .load(c)
            .await
    })?;
    let (found_ds, found_db) = match tenant {
        None => (found_ds, found_db),
        Some(t) => {
            let own = crate::db::models::TenantObjects::load(conn, t).await?;
            (
                found_ds
                    .into_iter()
                    .filter(|d| own.datasets.contains(d))
                    .collect(),
                found_db
                    .into_iter()
                    .filter(|d| own.databases.contains(d))
                    .collect(),
            )
        }
    };
    for (i, (_, kind, id)) in grants.iter().enumerate() {
        let (Some(kind), Some(id)) = (kind.as_deref(), id) else {
            continue;
        };
        let found = match kind {
            "dataset" => &found_ds,
            _ => &found_db,
        };
        if !found.contains(id) {
            return Err(ToolError::new(
                ErrorKind::NotFound,
                format!("{field}[{i}].object_id: there is no {kind} {id}; list_{kind}s shows them."),
            )
            .with_details(json!({"field": format!("{field}[{i}].object_id"), "object": kind, "identifier": id})));
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoleArgs {
    /// Unique, 1 to 255 characters, no spaces.
    pub name: String,
    pub description: Option<String>,
    /// The role's grants.
    #[serde(default)]
    pub permissions: Vec<GrantArg>,
}

async fn create_role(ctx: ToolCtx, args: CreateRoleArgs) -> Result<RoleItem, ToolError> {
    let name = check_name("name", &args.name)?;
    let description = args.description.unwrap_or_default().trim().to_string();
    let grants = check_grants("permissions", &args.permissions)?;
    let mut conn = ctx.app.db.conn().await?;
    check_objects(
        &mut conn,
        "permissions",
        &grants,
        ctx.principal.tenant.as_deref(),
    )
    .await?;
    let grants = distinct(grants);
    let taken = format!(
        "A role named '{name}' exists already; change it with update_role, or pick another name."
    );
    if crate::db::models::visible_roles(&mut conn, ctx.principal.tenant.as_deref())
        .await?
        .iter()
        .any(|r| r.1 == name)
    {
        return Err(ToolError::conflict(taken).with_details(json!({"field": "name"})));
    }
    let (caller, at) = (ctx.principal.user_id, now());
    let (n, d, g, t) = (&name, &description, &grants, &taken);
    let tenant_r = ctx.principal.tenant.as_deref();
    let id = in_transaction!(&mut conn, |c| {
        let id: i32 = diesel::insert_into(roles::table)
            .values((
                roles::uuid.eq(new_uuid()),
                roles::name.eq(n),
                roles::description.eq(d),
                roles::created_on.eq(at),
                roles::changed_on.eq(at),
                roles::created_by_fk.eq(Some(caller)),
                roles::changed_by_fk.eq(Some(caller)),
                roles::tenant.eq(tenant_r),
            ))
            .returning(roles::id)
            .get_result(c)
            .await
            .map_err(|err| unique_conflict(err, "name", t))?;
        insert_grants!(c, id, g, at, caller);
        Ok::<i32, ToolError>(id)
    })?;
    role_item(&mut conn, id, ctx.principal.tenant.as_deref()).await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoleArgs {
    /// The role's name.
    pub name: String,
    /// A new description.
    pub description: Option<String>,
    #[serde(default)]
    pub grant: Vec<GrantArg>,
    #[serde(default)]
    pub revoke: Vec<GrantArg>,
}

/// The role and what the change means for its holders.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RoleChanged {
    #[serde(flatten)]
    pub role: RoleItem,
    pub note: String,
}

async fn update_role(ctx: ToolCtx, args: UpdateRoleArgs) -> Result<RoleChanged, ToolError> {
    let grants = check_grants("grant", &args.grant)?;
    let revokes = check_grants("revoke", &args.revoke)?;
    if grants.is_empty() && revokes.is_empty() && args.description.is_none() {
        return Err(
            ToolError::invalid("Nothing to change: give description, grant or revoke.")
                .with_details(json!({"field": "grant"})),
        );
    }
    if let Some(i) = revokes.iter().position(|r| grants.contains(r)) {
        return Err(field_error(
            &format!("revoke[{i}]"),
            "the same grant is in grant and revoke; keep it in one.",
        ));
    }
    let mut conn = ctx.app.db.conn().await?;
    let all = crate::db::models::visible_roles(&mut conn, ctx.principal.tenant.as_deref()).await?;
    let (role_id, name) = role_named(&all, "name", args.name.trim(), ErrorKind::NotFound)?.clone();
    require_own_role(&mut conn, ctx.principal.tenant.as_deref(), role_id, &name).await?;
    if is_builtin(&name) && !(grants.is_empty() && revokes.is_empty()) {
        let field = if grants.is_empty() { "revoke" } else { "grant" };
        return Err(ToolError::invalid(format!(
            "{field}: '{name}' is a built-in role: its grants are fixed, and vizier restores them at start. \
             Create a role with the grants you need (create_role) and give it to users (update_user add_roles)."
        ))
        .with_details(json!({"field": field, "reason": "builtin_role", "role": name})));
    }
    check_objects(&mut conn, "grant", &grants, ctx.principal.tenant.as_deref()).await?;
    type Held = (i32, String, Option<String>, Option<i32>);
    let held: Vec<Held> = with_conn!(&mut conn, |c| {
        role_permissions::table
            .filter(role_permissions::role_id.eq(role_id))
            .select((
                role_permissions::id,
                role_permissions::permission,
                role_permissions::object_type,
                role_permissions::object_id,
            ))
            .load(c)
            .await
    })?;
    let matches = |h: &Held, g: &Grant| h.1 == g.0 && h.2 == g.1 && h.3 == g.2;
    let mut drop_ids = Vec::new();
    for (i, r) in revokes.iter().enumerate() {
        let found: Vec<i32> = held.iter().filter(|h| matches(h, r)).map(|h| h.0).collect();
        if found.is_empty() {
            return Err(ToolError::invalid(format!(
                "revoke[{i}]: role '{name}' does not hold this grant; list_roles shows its grants."
            ))
            .with_details(json!({"field": format!("revoke[{i}]"), "grant": {"permission": r.0, "object_type": r.1, "object_id": r.2}})));
        }
        drop_ids.extend(found);
    }
    let add: Vec<Grant> = distinct(grants)
        .into_iter()
        .filter(|g| !held.iter().any(|h| matches(h, g)))
        .collect();
    let refusal = lockout(
        "revoke",
        &ctx.principal.username,
        "Keep admin on this role, or hold it through another role first (update_user add_roles).",
    );
    let description = args.description.map(|d| d.trim().to_string());
    let (caller, at) = (ctx.principal.user_id, now());
    let (add_r, drop_r, desc_r, refusal_r) = (&add, &drop_ids, &description, &refusal);
    in_transaction!(&mut conn, |c| {
        let admin_before = holds_admin!(c, caller);
        diesel::update(roles::table.find(role_id))
            .set((
                roles::changed_on.eq(at),
                roles::changed_by_fk.eq(Some(caller)),
            ))
            .execute(c)
            .await?;
        if let Some(d) = desc_r {
            diesel::update(roles::table.find(role_id))
                .set(roles::description.eq(d))
                .execute(c)
                .await?;
        }
        insert_grants!(c, role_id, add_r, at, caller);
        if !drop_r.is_empty() {
            diesel::delete(role_permissions::table.filter(role_permissions::id.eq_any(drop_r)))
                .execute(c)
                .await?;
        }
        if admin_before && !holds_admin!(c, caller) {
            return Err(refusal_r.clone());
        }
        Ok::<(), ToolError>(())
    })?;
    // Every holder's grants changed.
    ctx.app.principals.clear().await;
    Ok(RoleChanged {
        role: role_item(&mut conn, role_id, ctx.principal.tenant.as_deref()).await?,
        note: effect_note(&ctx),
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteRoleArgs {
    /// The role's name.
    pub name: String,
    /// Take the role from its users and RLS rules first.
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RoleDeleted {
    pub name: String,
    pub deleted: bool,
    /// Users who held the role (first 20).
    pub users_unlinked: Vec<String>,
    pub user_count: usize,
    /// RLS rules that named the role. A regular rule left without roles applies to nobody.
    pub rls_rules_unlinked: Vec<String>,
    pub note: String,
}

async fn delete_role(ctx: ToolCtx, args: DeleteRoleArgs) -> Result<RoleDeleted, ToolError> {
    let mut conn = ctx.app.db.conn().await?;
    let all = crate::db::models::visible_roles(&mut conn, ctx.principal.tenant.as_deref()).await?;
    let (role_id, name) = role_named(&all, "name", args.name.trim(), ErrorKind::NotFound)?.clone();
    require_own_role(&mut conn, ctx.principal.tenant.as_deref(), role_id, &name).await?;
    if is_builtin(&name) {
        return Err(ToolError::invalid(format!(
            "name: '{name}' is a built-in role and cannot be deleted; vizier recreates it at start. \
             Take it from users with update_user remove_roles instead."
        ))
        .with_details(json!({"field": "name", "reason": "builtin_role", "role": name})));
    }
    let holders: Vec<String> = with_conn!(&mut conn, |c| {
        user_roles::table
            .inner_join(users::table)
            .filter(user_roles::role_id.eq(role_id))
            .order(users::username)
            .select(users::username)
            .load(c)
            .await
    })?;
    let rules: Vec<String> = with_conn!(&mut conn, |c| {
        rls_rule_roles::table
            .inner_join(rls_rules::table)
            .filter(rls_rule_roles::role_id.eq(role_id))
            .order(rls_rules::name)
            .select(rls_rules::name)
            .load(c)
            .await
    })?;
    let shown: Vec<String> = holders.iter().take(HOLDERS_SHOWN).cloned().collect();
    if !holders.is_empty() && !args.force {
        return Err(ToolError::conflict(format!(
            "force: role '{name}' is held by {} user(s) ({}{}). Take it from them with update_user remove_roles, \
             or call delete_role again with force: true to do that as part of the delete.",
            holders.len(),
            shown.join(", "),
            if holders.len() > shown.len() { ", …" } else { "" },
        ))
        .with_details(json!({"field": "force", "users": shown, "user_count": holders.len(), "rls_rules": rules})));
    }
    let refusal = lockout(
        "name",
        &ctx.principal.username,
        "You hold admin through this role only: get it through another role first (update_user add_roles).",
    );
    let caller = ctx.principal.user_id;
    let refusal_r = &refusal;
    in_transaction!(&mut conn, |c| {
        let admin_before = holds_admin!(c, caller);
        diesel::delete(user_roles::table.filter(user_roles::role_id.eq(role_id)))
            .execute(c)
            .await?;
        diesel::delete(rls_rule_roles::table.filter(rls_rule_roles::role_id.eq(role_id)))
            .execute(c)
            .await?;
        diesel::delete(role_permissions::table.filter(role_permissions::role_id.eq(role_id)))
            .execute(c)
            .await?;
        diesel::delete(roles::table.find(role_id))
            .execute(c)
            .await?;
        if admin_before && !holds_admin!(c, caller) {
            return Err(refusal_r.clone());
        }
        Ok::<(), ToolError>(())
    })?;
    ctx.app.principals.clear().await;
    Ok(RoleDeleted {
        name,
        deleted: true,
        users_unlinked: shown,
        user_count: holders.len(),
        rls_rules_unlinked: rules,
        note: effect_note(&ctx),
    })
}

// ---------------------------------------------------------------------------------------
// Permissions

/// One grant a role can hold.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PermissionItem {
    pub name: String,
    pub description: String,
    /// tool: unlocks tools; data: opens databases and datasets to the tool permissions.
    pub kind: String,
    /// The OAuth scope a token needs to use the permission (when the token carries scopes);
    /// none for data grants.
    pub scope: Option<String>,
    /// For data grants narrowed to one object: database or dataset.
    pub object_type: Option<String>,
    /// Tools the permission unlocks.
    pub tools: Vec<String>,
    /// Built-in roles holding it.
    pub builtin_roles: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PermissionList {
    pub items: Vec<PermissionItem>,
    pub count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

async fn list_permissions(ctx: ToolCtx, _args: NoArgs) -> Result<PermissionList, ToolError> {
    let registry = &ctx.app.registry;
    let builtin_with = |name: &str| -> Vec<String> {
        BUILTIN_ROLES
            .iter()
            .filter(|(_, _, grants)| grants.contains(&name))
            .map(|(role, _, _)| role.to_string())
            .collect()
    };
    let tools_items = Permission::ALL.iter().map(|p| PermissionItem {
        name: p.as_str().into(),
        description: p.description().into(),
        kind: "tool".into(),
        scope: Some(p.scope().into()),
        object_type: None,
        tools: registry
            .names()
            .filter(|n| registry.get(n).is_some_and(|t| t.permission == *p))
            .map(String::from)
            .collect(),
        builtin_roles: builtin_with(p.as_str()),
    });
    let data_items = DATA_GRANTS
        .iter()
        .map(|(name, object_type, description)| PermissionItem {
            name: (*name).into(),
            description: (*description).into(),
            kind: "data".into(),
            scope: None,
            object_type: object_type.map(String::from),
            tools: vec![],
            builtin_roles: builtin_with(name),
        });
    let items: Vec<PermissionItem> = tools_items.chain(data_items).collect();
    Ok(PermissionList {
        count: items.len(),
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(permission: &str, object_type: Option<&str>, object_id: Option<i32>) -> GrantArg {
        GrantArg {
            permission: permission.into(),
            object_type: object_type.map(String::from),
            object_id,
        }
    }

    #[test]
    fn grants_are_checked_and_normalised() {
        assert_eq!(
            check_grant("grant[0]", &g("dataset_access", None, Some(7))).expect("ok"),
            ("dataset_access".into(), Some("dataset".into()), Some(7))
        );
        assert_eq!(
            check_grant("grant[0]", &g(" catalog.read ", None, None)).expect("ok"),
            ("catalog.read".into(), None, None)
        );
        let e = check_grant("grant[0]", &g("catalog.raed", None, None)).expect_err("typo");
        assert_eq!(e.details["field"], "grant[0].permission");
        assert_eq!(e.details["suggestion"], "catalog.read");
        let e = check_grant("grant[1]", &g("dataset_access", Some("database"), Some(1)))
            .expect_err("wrong type");
        assert_eq!(e.details["field"], "grant[1].object_type");
        let e = check_grant("grant[0]", &g("dataset_access", None, None)).expect_err("no id");
        assert_eq!(e.details["field"], "grant[0].object_id");
        let e = check_grant("grant[0]", &g("admin", Some("dataset"), Some(1)))
            .expect_err("global grant narrowed");
        assert_eq!(e.details["field"], "grant[0].object_id");
    }

    #[test]
    fn repeated_grants_collapse() {
        let grants = check_grants(
            "permissions",
            &[
                g("dataset_access", Some("dataset"), Some(3)),
                g("dataset_access", None, Some(3)),
            ],
        )
        .expect("ok");
        assert_eq!(grants.len(), 2, "positions are kept for error messages");
        assert_eq!(distinct(grants).len(), 1);
    }

    #[test]
    fn every_permission_and_data_grant_is_a_grant_name() {
        let names = grant_names();
        for p in Permission::ALL {
            assert!(names.contains(&p.as_str()));
            assert_eq!(Permission::from_name(p.as_str()), Some(p));
        }
        for (role, _, grants) in BUILTIN_ROLES {
            for grant in *grants {
                assert!(names.contains(grant), "{role} grants unknown '{grant}'");
            }
        }
    }

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

    #[test]
    fn pages_keep_whole_items_within_the_budget() {
        let items: Vec<String> = (0..100).map(|i| format!("{i:0>100}")).collect();
        let (kept, cut) = fit(items, 2_000);
        assert!(cut && !kept.is_empty() && kept.len() < 100);
        let (kept, cut) = fit(vec!["x".repeat(10_000)], 1_000);
        assert!(!cut && kept.len() == 1, "the first item is always kept");
    }
}

//! Admin tools for roles and their grants: `list_roles`, `create_role`, `update_role`,
//! `delete_role`. The rules every change keeps are in [`super::accounts`]; the queries in
//! [`crate::db::users`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};

use super::accounts::{
    check_name, contains_pattern, effect_note, field_error, is_builtin, keeps_admin, lockout,
    optional_text, paging, refused, role_named, unique_conflict,
};
use super::{Hints, Registry, ToolCtx, fmt_time, tool};
use crate::actors::PoolKind;
use crate::auth::{ALL_DATASOURCE_ACCESS, DATA_GRANTS, Permission};
use crate::db::MetaConn;
use crate::db::models::{TenantObjects, visible_roles};
use crate::db::users::{Grant, GrantRow, Role, grant_objects};
use crate::error::{ErrorKind, ToolError};
use crate::query::list::{NamedFilters, Page};

/// Holders named in a refusal to delete a role; `user_count` says how many there are.
const HOLDERS_SHOWN: usize = 20;

pub fn register(r: &mut Registry) {
    r.add(tool(
        "list_roles",
        "List roles",
        "Roles with their grants, user counts, and whether built in (fixed grants).",
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
    let owner = Role::tenant_of(conn, role_id).await?;
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

/// Roles as listed, each with its grants (object names filled in) and holder count; with a
/// tenant, holders are counted and grants shown within the tenant.
async fn role_items(
    conn: &mut MetaConn,
    rows: Vec<Role>,
    tenant: Option<&str>,
) -> Result<Vec<RoleItem>, ToolError> {
    let ids: Vec<i32> = rows.iter().map(|r| r.id).collect();
    let grants = Role::grants_of(conn, ids.clone()).await?;
    let counts = Role::holder_counts(conn, ids, tenant).await?;
    let of_type = |t: &str| -> Vec<i32> {
        grants
            .iter()
            .filter(|g| g.2.as_deref() == Some(t))
            .filter_map(|g| g.3)
            .collect()
    };
    let (ds_names, db_names) = grant_objects(conn, of_type("dataset"), of_type("database")).await?;
    // A shared role's grants on another tenant's objects are not shown within a tenant.
    let (ds_names, db_names) = match &tenant {
        None => (ds_names, db_names),
        Some(t) => {
            let own = TenantObjects::load(conn, t).await?;
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
        .map(|role| RoleItem {
            id: role.id,
            builtin: is_builtin(&role.name),
            permissions: grants
                .iter()
                .filter(|g| g.0 == role.id && !hidden(g))
                .map(|g| GrantItem {
                    permission: g.1.clone(),
                    object_type: g.2.clone(),
                    object_id: g.3,
                    object_name: name_in(g, &ds_names, &db_names).map(str::to_owned),
                })
                .collect(),
            user_count: counts.iter().find(|c| c.0 == role.id).map_or(0, |c| c.1),
            created_on: fmt_time(role.created_on),
            changed_on: fmt_time(role.changed_on),
            name: role.name,
            description: role.description,
        })
        .collect())
}

/// The name of a grant's object among `ds` and `db` (id, name) lists.
fn name_in<'a>(g: &GrantRow, ds: &'a [(i32, String)], db: &'a [(i32, String)]) -> Option<&'a str> {
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
    let row = Role::find(conn, id).await?;
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

async fn list_roles(
    ctx: ToolCtx,
    args: ListRolesArgs,
) -> Result<Page<RoleItem, NamedFilters>, ToolError> {
    let (page, page_size) = paging(args.page, args.page_size)?;
    let search = optional_text("search", args.search)?;
    let mut applied = Map::new();
    if let Some(s) = &search {
        applied.insert("search".into(), json!(s));
    }
    let pattern = search.map(|s| contains_pattern(&s));
    let offset = (page - 1).saturating_mul(page_size);
    let tenant = ctx.principal.tenant.as_deref();
    let mut conn = ctx.app.db.conn().await?;
    let (rows, total) =
        Role::page(&mut conn, pattern.as_deref(), tenant, page_size, offset).await?;
    let items = role_items(&mut conn, rows, tenant).await?;
    Ok(Page::named(
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
    let (found_ds, found_db) = grant_objects(conn, ds_ids, db_ids).await?;
    let ids_of =
        |found: Vec<(i32, String)>| -> Vec<i32> { found.into_iter().map(|o| o.0).collect() };
    let (found_ds, found_db) = (ids_of(found_ds), ids_of(found_db));
    let (found_ds, found_db) = match tenant {
        None => (found_ds, found_db),
        Some(t) => {
            let own = TenantObjects::load(conn, t).await?;
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
    if visible_roles(&mut conn, ctx.principal.tenant.as_deref())
        .await?
        .iter()
        .any(|r| r.1 == name)
    {
        return Err(ToolError::conflict(taken).with_details(json!({"field": "name"})));
    }
    let tenant = ctx.principal.tenant.as_deref();
    let id = Role::create(
        &mut conn,
        (&name, &description, tenant),
        &grants,
        ctx.principal.user_id,
    )
    .await
    .map_err(|e| unique_conflict(e, "name", &taken))?;
    role_item(&mut conn, id, tenant).await
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
    let all = visible_roles(&mut conn, ctx.principal.tenant.as_deref()).await?;
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
    let held = Role::held_grants(&mut conn, role_id).await?;
    let matches = |h: &GrantRow, g: &Grant| h.1 == g.0 && h.2 == g.1 && h.3 == g.2;
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
    Role::update(
        &mut conn,
        role_id,
        description.as_deref(),
        (&add, &drop_ids),
        keeps_admin(&ctx),
    )
    .await
    .map_err(|e| refused(e, refusal))?;
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
    let all = visible_roles(&mut conn, ctx.principal.tenant.as_deref()).await?;
    let (role_id, name) = role_named(&all, "name", args.name.trim(), ErrorKind::NotFound)?.clone();
    require_own_role(&mut conn, ctx.principal.tenant.as_deref(), role_id, &name).await?;
    if is_builtin(&name) {
        return Err(ToolError::invalid(format!(
            "name: '{name}' is a built-in role and cannot be deleted; vizier recreates it at start. \
             Take it from users with update_user remove_roles instead."
        ))
        .with_details(json!({"field": "name", "reason": "builtin_role", "role": name})));
    }
    let holders = Role::holders(&mut conn, role_id).await?;
    let rules = Role::rls_rules(&mut conn, role_id).await?;
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
    Role::delete(&mut conn, role_id, keeps_admin(&ctx))
        .await
        .map_err(|e| refused(e, refusal))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::roles::BUILTIN_ROLES;

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
}

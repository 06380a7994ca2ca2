//! The built-in roles and the bootstrap that makes sure they exist.
//!
//! `admin` may do everything; `alpha` creates and edits; `gamma` reads what is shared with
//! it; `sql_lab` runs SQL. Bootstrap is idempotent and runs in one transaction.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::{ALL_DATASOURCE_ACCESS, Permission};
use crate::db::MetaConn;
use crate::db::models::{NewRole, NewRolePermission, NewUser, new_uuid, now, role_id};
use crate::db::schema::{role_permissions, roles, user_roles, users};
use crate::in_transaction;

/// (role, description, grants)
pub const BUILTIN_ROLES: &[(&str, &str, &[&str])] = &[
    (
        "admin",
        "Everything, including users, roles, RLS rules and data sources.",
        &[
            "system.read",
            "catalog.read",
            "catalog.write",
            "sql.execute",
            "admin",
            ALL_DATASOURCE_ACCESS,
        ],
    ),
    (
        "alpha",
        "Create and edit dashboards, charts and datasets on every data source.",
        &[
            "system.read",
            "catalog.read",
            "catalog.write",
            ALL_DATASOURCE_ACCESS,
        ],
    ),
    (
        "gamma",
        "Read dashboards, charts and datasets shared with the role.",
        &["system.read", "catalog.read"],
    ),
    (
        "sql_lab",
        "Run SQL on the databases the user can access.",
        &["sql.execute"],
    ),
];

// Keep the grant names of BUILTIN_ROLES in step with Permission.
const _: () = {
    assert!(Permission::ALL.len() == 5);
};

/// Create the built-in roles and their grants if missing.
pub async fn ensure_builtin_roles(conn: &mut MetaConn) -> Result<(), diesel::result::Error> {
    let at = now();
    in_transaction!(conn, |c| {
        for (name, description, grants) in BUILTIN_ROLES {
            // Shared roles have no tenant; a tenant's role of the same name is another role
            // (names are unique per tenant, on (tenant, name): no conflict target names that
            // index, so any conflict is ignored, as when another replica starting at the same
            // time inserted it first).
            diesel::insert_into(roles::table)
                .values(NewRole {
                    uuid: new_uuid(),
                    name,
                    description,
                    created_on: at,
                    changed_on: at,
                    tenant: None,
                })
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            let id: i32 = roles::table
                .filter(roles::name.eq(name))
                .filter(roles::tenant.is_null())
                .select(roles::id)
                .first(c)
                .await?;
            for grant in *grants {
                let exists: i64 = role_permissions::table
                    .filter(role_permissions::role_id.eq(id))
                    .filter(role_permissions::permission.eq(grant))
                    .filter(role_permissions::object_id.is_null())
                    .count()
                    .get_result(c)
                    .await?;
                if exists == 0 {
                    diesel::insert_into(role_permissions::table)
                        .values(NewRolePermission {
                            role_id: id,
                            permission: grant,
                            object_type: None,
                            object_id: None,
                            created_on: at,
                        })
                        .execute(c)
                        .await?;
                }
            }
        }
        Ok::<(), diesel::result::Error>(())
    })
}

/// Create `username` with `role` (in `tenant`) if no such user exists; returns the user id.
pub async fn ensure_user(
    conn: &mut MetaConn,
    username: &str,
    role: &str,
    tenant: Option<&str>,
) -> Result<i32, diesel::result::Error> {
    let at = now();
    let role = role_id(conn, role, tenant)
        .await?
        .ok_or(diesel::result::Error::NotFound)?;
    in_transaction!(conn, |c| {
        let mut same_name = users::table
            .filter(users::username.eq(username))
            .into_boxed();
        same_name = match tenant {
            Some(t) => same_name.filter(users::tenant.eq(t)),
            None => same_name.filter(users::tenant.is_null()),
        };
        let existing: Option<i32> = same_name.select(users::id).first(c).await.optional()?;
        if let Some(id) = existing {
            return Ok(id);
        }
        let id: i32 = diesel::insert_into(users::table)
            .values(NewUser {
                uuid: new_uuid(),
                username,
                email: None,
                first_name: username,
                last_name: "",
                active: true,
                created_on: at,
                changed_on: at,
                tenant,
            })
            .returning(users::id)
            .get_result(c)
            .await?;
        diesel::insert_into(user_roles::table)
            .values((user_roles::user_id.eq(id), user_roles::role_id.eq(role)))
            .execute(c)
            .await?;
        Ok::<i32, diesel::result::Error>(id)
    })
}

//! The built-in roles and the bootstrap that makes sure they exist.
//!
//! `admin` may do everything; `alpha` creates and edits; `gamma` reads what is shared with
//! it; `sql_lab` runs SQL. Bootstrap is idempotent and runs in one transaction.

use super::{ALL_DATASOURCE_ACCESS, Permission};
use crate::db::MetaConn;
use crate::db::models::{User, role_id};
use crate::db::users::Role;

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

/// Create the built-in roles and their grants if missing, in one transaction.
pub async fn ensure_builtin_roles(conn: &mut MetaConn) -> Result<(), diesel::result::Error> {
    Role::ensure_shared(conn, BUILTIN_ROLES).await
}

/// Create `username` with `role` (in `tenant`) if no such user exists; returns the user id.
pub async fn ensure_user(
    conn: &mut MetaConn,
    username: &str,
    role: &str,
    tenant: Option<&str>,
) -> Result<i32, diesel::result::Error> {
    let role = role_id(conn, role, tenant)
        .await?
        .ok_or(diesel::result::Error::NotFound)?;
    User::ensure_holding(conn, username, role, tenant).await
}

//! Users, roles and their grants: the queries behind the user and role tools and
//! `vizier user`.
//!
//! Reads return `diesel::QueryResult`. Every change runs in one transaction; the changes
//! that could lock their caller out ([`User::update`], [`Role::update`], [`Role::delete`])
//! check inside it, after the change, that the caller still holds the permission a
//! [`Guard`] names, and return [`ChangeError::Lockout`] (nothing written) when not.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use diesel_async::RunQueryDsl;

use super::MetaConn;
use super::models::{NewRole, NewRolePermission, NewUser, User, UserChanges, new_uuid, now};
use super::schema::{
    databases, datasets, rls_rule_roles, rls_rules, role_permissions, roles, user_roles, users,
};
use crate::{in_transaction, with_conn};

#[diesel::declare_sql_function]
extern "SQL" {
    fn lower(x: Nullable<Text>) -> Nullable<Text>;
}

/// A user who must keep a permission through a change: no change may take it from them.
#[derive(Debug, Clone, Copy)]
pub struct Guard<'a> {
    pub user: i32,
    pub permission: &'a str,
}

/// Why a guarded change was not written (nothing was).
#[derive(Debug)]
pub enum ChangeError {
    /// The change would take the [`Guard`]'s permission from its user.
    Lockout,
    Query(diesel::result::Error),
}

impl From<diesel::result::Error> for ChangeError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Query(e)
    }
}

/// Inside a transaction on `$c`: whether the guard's user is active and holds its
/// permission through one of their stored roles.
macro_rules! holds {
    ($c:expr, $guard:expr) => {{
        let g: Guard<'_> = $guard;
        let n: i64 = user_roles::table
            .inner_join(
                role_permissions::table.on(role_permissions::role_id.eq(user_roles::role_id)),
            )
            .inner_join(users::table.on(users::id.eq(user_roles::user_id)))
            .filter(user_roles::user_id.eq(g.user))
            .filter(users::active.eq(true))
            .filter(role_permissions::permission.eq(g.permission))
            .count()
            .get_result($c)
            .await?;
        n > 0
    }};
}

/// A grant: (permission, object_type, object_id).
pub type Grant = (String, Option<String>, Option<i32>);

/// Inside a transaction (`c`): give role `role` the `grants`, recorded as made at `at` by
/// `caller`.
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

// ---------------------------------------------------------------------------------------
// Users

/// Which users a list shows; `None` filters nothing.
#[derive(Debug, Default)]
pub struct UserFilter {
    /// A lower-case LIKE pattern (escaped with `\`) matched against the username, email,
    /// first and last name.
    pub pattern: Option<String>,
    /// Only holders of this role.
    pub role_id: Option<i32>,
    pub active: Option<bool>,
    pub tenant: Option<String>,
}

/// The users matching `f`, as a boxed query on whichever backend the connection is.
macro_rules! users_matching {
    ($f:expr) => {{
        let f: &UserFilter = $f;
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

/// A user to create.
#[derive(Debug)]
pub struct NewAccount<'a> {
    pub username: &'a str,
    pub email: Option<&'a str>,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub active: bool,
    pub tenant: Option<&'a str>,
}

impl User {
    /// The user with id `id` (diesel's `NotFound` when there is none).
    pub async fn find(conn: &mut MetaConn, id: i32) -> QueryResult<User> {
        with_conn!(conn, |c| {
            users::table
                .find(id)
                .select(User::as_select())
                .first(c)
                .await
        })
    }

    /// The users whose id is among `ids` or whose username is among `names` (of every
    /// tenant: the caller narrows them).
    pub async fn among(
        conn: &mut MetaConn,
        ids: Vec<i32>,
        names: Vec<String>,
    ) -> QueryResult<Vec<User>> {
        with_conn!(conn, |c| {
            users::table
                .filter(users::id.eq_any(ids).or(users::username.eq_any(names)))
                .select(User::as_select())
                .load(c)
                .await
        })
    }

    /// The users matching `f` by username, `limit` of them from `offset`, and how many
    /// match in all.
    pub async fn page(
        conn: &mut MetaConn,
        f: &UserFilter,
        limit: i64,
        offset: i64,
    ) -> QueryResult<(Vec<User>, i64)> {
        with_conn!(conn, |c| {
            let total: i64 = users_matching!(f).count().get_result(c).await?;
            let rows = users_matching!(f)
                .order((users::username, users::id))
                .limit(limit)
                .offset(offset)
                .select(User::as_select())
                .load(c)
                .await?;
            Ok((rows, total))
        })
    }

    /// Every user matching `f`, by username.
    pub async fn all(conn: &mut MetaConn, f: &UserFilter) -> QueryResult<Vec<User>> {
        with_conn!(conn, |c| {
            users_matching!(f)
                .order((users::username, users::id))
                .select(User::as_select())
                .load(c)
                .await
        })
    }

    /// The role names of each of `ids`, sorted.
    pub async fn roles_of(
        conn: &mut MetaConn,
        ids: Vec<i32>,
    ) -> QueryResult<HashMap<i32, Vec<String>>> {
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

    /// The ids of the roles user `id` holds.
    pub async fn role_ids(conn: &mut MetaConn, id: i32) -> QueryResult<BTreeSet<i32>> {
        let held: Vec<i32> = with_conn!(conn, |c| {
            user_roles::table
                .filter(user_roles::user_id.eq(id))
                .select(user_roles::role_id)
                .load(c)
                .await
        })?;
        Ok(held.into_iter().collect())
    }

    /// The id of user `username` of `tenant` (`None`: of no tenant), created active with
    /// role `role` (an id) in one transaction when there is none.
    pub async fn ensure_holding(
        conn: &mut MetaConn,
        username: &str,
        role: i32,
        tenant: Option<&str>,
    ) -> QueryResult<i32> {
        let at = now();
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

    /// Bind user `id` to `tenant` if it belongs to no tenant yet; whether it was bound now.
    pub async fn bind_tenant(conn: &mut MetaConn, id: i32, tenant: &str) -> QueryResult<bool> {
        let n = with_conn!(conn, |c| {
            diesel::update(
                users::table
                    .filter(users::id.eq(id))
                    .filter(users::tenant.is_null()),
            )
            .set(users::tenant.eq(Some(tenant)))
            .execute(c)
            .await
        })?;
        Ok(n == 1)
    }

    /// Create `new` holding `roles`, as `caller` (`None`: an operator's command), in one
    /// transaction; returns its id. A taken username is diesel's unique violation.
    pub async fn create(
        conn: &mut MetaConn,
        new: &NewAccount<'_>,
        roles: &BTreeSet<i32>,
        caller: Option<i32>,
    ) -> QueryResult<i32> {
        let at = now();
        in_transaction!(conn, |c| {
            let id: i32 = diesel::insert_into(users::table)
                .values((
                    users::uuid.eq(new_uuid()),
                    users::username.eq(new.username),
                    users::email.eq(new.email),
                    users::first_name.eq(new.first_name),
                    users::last_name.eq(new.last_name),
                    users::active.eq(new.active),
                    users::created_on.eq(at),
                    users::changed_on.eq(at),
                    users::created_by_fk.eq(caller),
                    users::changed_by_fk.eq(caller),
                    users::tenant.eq(new.tenant),
                ))
                .returning(users::id)
                .get_result(c)
                .await?;
            for role in roles {
                diesel::insert_into(user_roles::table)
                    .values((user_roles::user_id.eq(id), user_roles::role_id.eq(role)))
                    .execute(c)
                    .await?;
            }
            Ok::<i32, diesel::result::Error>(id)
        })
    }

    /// Apply `changes` to user `id` and, when given, make `roles` exactly the roles they
    /// hold, in one transaction that `guard` keeps from locking its user out.
    pub async fn update(
        conn: &mut MetaConn,
        id: i32,
        changes: &UserChanges<'_>,
        roles: Option<&BTreeSet<i32>>,
        guard: Guard<'_>,
    ) -> Result<(), ChangeError> {
        in_transaction!(conn, |c| {
            let before = holds!(c, guard);
            diesel::update(users::table.find(id))
                .set(changes)
                .execute(c)
                .await?;
            if let Some(set) = roles {
                let keep: Vec<i32> = set.iter().copied().collect();
                diesel::delete(
                    user_roles::table
                        .filter(user_roles::user_id.eq(id))
                        .filter(user_roles::role_id.ne_all(keep)),
                )
                .execute(c)
                .await?;
                let held: Vec<i32> = user_roles::table
                    .filter(user_roles::user_id.eq(id))
                    .select(user_roles::role_id)
                    .load(c)
                    .await?;
                for role in set.iter().filter(|r| !held.contains(r)) {
                    diesel::insert_into(user_roles::table)
                        .values((user_roles::user_id.eq(id), user_roles::role_id.eq(role)))
                        .execute(c)
                        .await?;
                }
            }
            if before && !holds!(c, guard) {
                return Err(ChangeError::Lockout);
            }
            Ok::<(), ChangeError>(())
        })
    }
}

// ---------------------------------------------------------------------------------------
// Roles

/// A role as listed.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = roles, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Role {
    pub id: i32,
    pub name: String,
    pub description: String,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
}

/// A stored grant: (row id or role id, permission, object_type, object_id).
pub type GrantRow = (i32, String, Option<String>, Option<i32>);

/// The roles matching a lower-case LIKE `pattern` that `tenant` sees (shared roles and,
/// with a tenant, its own), as a boxed query.
macro_rules! roles_matching {
    ($pattern:expr, $tenant:expr) => {{
        let pattern: Option<&str> = $pattern;
        let tenant: Option<&str> = $tenant;
        let mut q = roles::table.into_boxed();
        if let Some(t) = tenant {
            q = q.filter(roles::tenant.is_null().or(roles::tenant.eq(t.to_owned())));
        }
        if let Some(p) = pattern {
            q = q.filter(
                lower(roles::name.nullable())
                    .like(p.to_owned())
                    .escape('\\'),
            );
        }
        q
    }};
}

impl Role {
    /// Create those of `wanted` (name, description, grants) that are missing as shared
    /// roles (of no tenant), and the grants they miss, in one transaction.
    pub async fn ensure_shared(
        conn: &mut MetaConn,
        wanted: &[(&str, &str, &[&str])],
    ) -> QueryResult<()> {
        let at = now();
        in_transaction!(conn, |c| {
            for (name, description, grants) in wanted {
                // A tenant's role of the same name is another role (names are unique per
                // tenant, on (tenant, name): no conflict target names that index, so any
                // conflict is ignored, as when another replica starting at the same time
                // inserted it first).
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

    /// The role with id `id` (diesel's `NotFound` when there is none).
    pub async fn find(conn: &mut MetaConn, id: i32) -> QueryResult<Role> {
        with_conn!(conn, |c| {
            roles::table
                .find(id)
                .select(Role::as_select())
                .first(c)
                .await
        })
    }

    /// The roles of `tenant` matching `pattern` (a lower-case LIKE pattern) by name,
    /// `limit` of them from `offset`, and how many match in all.
    pub async fn page(
        conn: &mut MetaConn,
        pattern: Option<&str>,
        tenant: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> QueryResult<(Vec<Role>, i64)> {
        with_conn!(conn, |c| {
            let total: i64 = roles_matching!(pattern, tenant)
                .count()
                .get_result(c)
                .await?;
            let rows = roles_matching!(pattern, tenant)
                .order((roles::name, roles::id))
                .limit(limit)
                .offset(offset)
                .select(Role::as_select())
                .load(c)
                .await?;
            Ok((rows, total))
        })
    }

    /// The tenant role `id` belongs to; `None`: shared by every tenant.
    pub async fn tenant_of(conn: &mut MetaConn, id: i32) -> QueryResult<Option<String>> {
        with_conn!(conn, |c| {
            roles::table.find(id).select(roles::tenant).first(c).await
        })
    }

    /// The grants of roles `ids` in the order they were made, as (role id, permission,
    /// object_type, object_id).
    pub async fn grants_of(conn: &mut MetaConn, ids: Vec<i32>) -> QueryResult<Vec<GrantRow>> {
        with_conn!(conn, |c| {
            role_permissions::table
                .filter(role_permissions::role_id.eq_any(ids))
                .order(role_permissions::id)
                .select((
                    role_permissions::role_id,
                    role_permissions::permission,
                    role_permissions::object_type,
                    role_permissions::object_id,
                ))
                .load(c)
                .await
        })
    }

    /// The grants role `id` holds, as (grant row id, permission, object_type, object_id).
    pub async fn held_grants(conn: &mut MetaConn, id: i32) -> QueryResult<Vec<GrantRow>> {
        with_conn!(conn, |c| {
            role_permissions::table
                .filter(role_permissions::role_id.eq(id))
                .select((
                    role_permissions::id,
                    role_permissions::permission,
                    role_permissions::object_type,
                    role_permissions::object_id,
                ))
                .load(c)
                .await
        })
    }

    /// How many users hold each of roles `ids` (with a tenant, among its users only);
    /// roles nobody holds are left out.
    pub async fn holder_counts(
        conn: &mut MetaConn,
        ids: Vec<i32>,
        tenant: Option<&str>,
    ) -> QueryResult<Vec<(i32, i64)>> {
        let members: Option<Vec<i32>> = match tenant {
            Some(t) => {
                let t = t.to_owned();
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
        with_conn!(conn, |c| {
            let q = user_roles::table.filter(user_roles::role_id.eq_any(ids));
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
        })
    }

    /// The usernames of role `id`'s holders, sorted.
    pub async fn holders(conn: &mut MetaConn, id: i32) -> QueryResult<Vec<String>> {
        with_conn!(conn, |c| {
            user_roles::table
                .inner_join(users::table)
                .filter(user_roles::role_id.eq(id))
                .order(users::username)
                .select(users::username)
                .load(c)
                .await
        })
    }

    /// The names of the RLS rules naming role `id`, sorted.
    pub async fn rls_rules(conn: &mut MetaConn, id: i32) -> QueryResult<Vec<String>> {
        with_conn!(conn, |c| {
            rls_rule_roles::table
                .inner_join(rls_rules::table)
                .filter(rls_rule_roles::role_id.eq(id))
                .order(rls_rules::name)
                .select(rls_rules::name)
                .load(c)
                .await
        })
    }

    /// Create role `name` of `tenant` with `grants`, as `caller`, in one transaction;
    /// returns its id. A taken name is diesel's unique violation.
    pub async fn create(
        conn: &mut MetaConn,
        (name, description, tenant): (&str, &str, Option<&str>),
        grants: &[Grant],
        caller: i32,
    ) -> QueryResult<i32> {
        let at = now();
        in_transaction!(conn, |c| {
            let id: i32 = diesel::insert_into(roles::table)
                .values((
                    roles::uuid.eq(new_uuid()),
                    roles::name.eq(name),
                    roles::description.eq(description),
                    roles::created_on.eq(at),
                    roles::changed_on.eq(at),
                    roles::created_by_fk.eq(Some(caller)),
                    roles::changed_by_fk.eq(Some(caller)),
                    roles::tenant.eq(tenant),
                ))
                .returning(roles::id)
                .get_result(c)
                .await?;
            insert_grants!(c, id, grants, at, caller);
            Ok::<i32, diesel::result::Error>(id)
        })
    }

    /// Give role `id` the grants `add`, drop its grant rows `dropped`, and set its
    /// description when given, as the guard's user, in one transaction that `guard` keeps
    /// from locking its user out.
    pub async fn update(
        conn: &mut MetaConn,
        id: i32,
        description: Option<&str>,
        (add, dropped): (&[Grant], &[i32]),
        guard: Guard<'_>,
    ) -> Result<(), ChangeError> {
        let (caller, at) = (guard.user, now());
        in_transaction!(conn, |c| {
            let before = holds!(c, guard);
            diesel::update(roles::table.find(id))
                .set((
                    roles::changed_on.eq(at),
                    roles::changed_by_fk.eq(Some(caller)),
                ))
                .execute(c)
                .await?;
            if let Some(d) = description {
                diesel::update(roles::table.find(id))
                    .set(roles::description.eq(d))
                    .execute(c)
                    .await?;
            }
            insert_grants!(c, id, add, at, caller);
            if !dropped.is_empty() {
                diesel::delete(
                    role_permissions::table.filter(role_permissions::id.eq_any(dropped)),
                )
                .execute(c)
                .await?;
            }
            if before && !holds!(c, guard) {
                return Err(ChangeError::Lockout);
            }
            Ok::<(), ChangeError>(())
        })
    }

    /// Delete role `id` with its grants, taking it from its users and RLS rules, in one
    /// transaction that `guard` keeps from locking its user out.
    pub async fn delete(conn: &mut MetaConn, id: i32, guard: Guard<'_>) -> Result<(), ChangeError> {
        in_transaction!(conn, |c| {
            let before = holds!(c, guard);
            diesel::delete(user_roles::table.filter(user_roles::role_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(rls_rule_roles::table.filter(rls_rule_roles::role_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(role_permissions::table.filter(role_permissions::role_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(roles::table.find(id)).execute(c).await?;
            if before && !holds!(c, guard) {
                return Err(ChangeError::Lockout);
            }
            Ok::<(), ChangeError>(())
        })
    }
}

/// The (id, name) of the datasets (not deleted) among `dataset_ids` and of the databases
/// among `database_ids`: the objects grants name.
pub async fn grant_objects(
    conn: &mut MetaConn,
    dataset_ids: Vec<i32>,
    database_ids: Vec<i32>,
) -> QueryResult<(Vec<(i32, String)>, Vec<(i32, String)>)> {
    let ds: Vec<(i32, String)> = with_conn!(conn, |c| {
        datasets::table
            .filter(datasets::id.eq_any(dataset_ids))
            .filter(datasets::deleted_on.is_null())
            .select((datasets::id, datasets::table_name))
            .load(c)
            .await
    })?;
    let db: Vec<(i32, String)> = with_conn!(conn, |c| {
        databases::table
            .filter(databases::id.eq_any(database_ids))
            .select((databases::id, databases::name))
            .load(c)
            .await
    })?;
    Ok((ds, db))
}

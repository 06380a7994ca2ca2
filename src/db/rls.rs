//! Row-level security rules as stored: the queries behind `create_rls_rule`,
//! `list_rls_rules` and `delete_rls_rule`. They return `diesel::QueryResult`, converted at
//! the tool boundary.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::MetaConn;
use super::models::{new_uuid, now};
use super::schema::{databases, datasets, rls_rule_datasets, rls_rule_roles, rls_rules, roles};
use crate::{in_transaction, with_conn};

/// An RLS rule as listed.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = rls_rules, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct RlsRule {
    pub id: i32,
    pub uuid: String,
    pub name: String,
    pub filter_type: String,
    pub group_key: Option<String>,
    pub clause: String,
    pub description: String,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
}

/// A rule to create.
#[derive(Debug)]
pub struct NewRlsRule<'a> {
    pub name: &'a str,
    pub filter_type: &'a str,
    pub group_key: Option<&'a str>,
    pub clause: &'a str,
    pub description: &'a str,
    pub tenant: Option<&'a str>,
}

/// A dataset a rule may filter: (dataset id, database id, the dataset's SQL when virtual,
/// the database's engine).
pub type RuleTarget = (i32, i32, Option<String>, String);

/// A rule on one table: (rule id, filter type, group key, clause, the table's schema, the
/// table's name).
pub type RuleOnTable = (i32, String, Option<String>, String, Option<String>, String);

impl RlsRule {
    /// The datasets among `ids` that exist, with what a rule on them needs to know.
    pub async fn targets(conn: &mut MetaConn, ids: Vec<i32>) -> QueryResult<Vec<RuleTarget>> {
        with_conn!(conn, |c| {
            datasets::table
                .inner_join(databases::table)
                .filter(datasets::id.eq_any(ids))
                .select((
                    datasets::id,
                    datasets::database_id,
                    datasets::sql,
                    databases::engine,
                ))
                .load(c)
                .await
        })
    }

    /// The rules on the physical (not virtual) datasets of database `database_id`, one row
    /// per rule and dataset.
    pub async fn on_tables_of(
        conn: &mut MetaConn,
        database_id: i32,
    ) -> QueryResult<Vec<RuleOnTable>> {
        with_conn!(conn, |c| {
            rls_rules::table
                .inner_join(rls_rule_datasets::table.inner_join(datasets::table))
                .filter(datasets::database_id.eq(database_id))
                .filter(datasets::sql.is_null())
                .select((
                    rls_rules::id,
                    rls_rules::filter_type,
                    rls_rules::group_key,
                    rls_rules::clause,
                    datasets::schema_name,
                    datasets::table_name,
                ))
                .load(c)
                .await
        })
    }

    /// Whether `tenant` (`None`: no tenant) has a rule named `name` already.
    pub async fn name_taken(
        conn: &mut MetaConn,
        name: &str,
        tenant: Option<&str>,
    ) -> QueryResult<bool> {
        let taken: i64 = with_conn!(conn, |c| {
            let q = rls_rules::table.filter(rls_rules::name.eq(name)).count();
            match tenant {
                Some(t) => q.filter(rls_rules::tenant.eq(t)).get_result(c).await,
                None => q.filter(rls_rules::tenant.is_null()).get_result(c).await,
            }
        })?;
        Ok(taken > 0)
    }

    /// Create `new` on `dataset_ids` naming `role_ids`, as `user`, in one transaction;
    /// returns its id and uuid.
    pub async fn create(
        conn: &mut MetaConn,
        new: &NewRlsRule<'_>,
        (dataset_ids, role_ids): (&[i32], &[i32]),
        user: i32,
    ) -> QueryResult<(i32, String)> {
        let (at, uuid) = (now(), new_uuid());
        let uuid_r = &uuid;
        let id = in_transaction!(conn, |c| {
            let id: i32 = diesel::insert_into(rls_rules::table)
                .values((
                    rls_rules::uuid.eq(uuid_r),
                    rls_rules::name.eq(new.name),
                    rls_rules::filter_type.eq(new.filter_type),
                    rls_rules::group_key.eq(new.group_key),
                    rls_rules::clause.eq(new.clause),
                    rls_rules::description.eq(new.description),
                    rls_rules::created_on.eq(at),
                    rls_rules::changed_on.eq(at),
                    rls_rules::created_by_fk.eq(Some(user)),
                    rls_rules::changed_by_fk.eq(Some(user)),
                    rls_rules::tenant.eq(new.tenant),
                ))
                .returning(rls_rules::id)
                .get_result(c)
                .await?;
            for d in dataset_ids {
                diesel::insert_into(rls_rule_datasets::table)
                    .values((
                        rls_rule_datasets::rls_rule_id.eq(id),
                        rls_rule_datasets::dataset_id.eq(d),
                    ))
                    .execute(c)
                    .await?;
            }
            for r in role_ids {
                diesel::insert_into(rls_rule_roles::table)
                    .values((
                        rls_rule_roles::rls_rule_id.eq(id),
                        rls_rule_roles::role_id.eq(r),
                    ))
                    .execute(c)
                    .await?;
            }
            Ok::<i32, diesel::result::Error>(id)
        })?;
        Ok((id, uuid))
    }

    /// The rules of `tenant` (every rule without one), by name; only those filtering
    /// `dataset_id` and naming `role_id`, when given.
    pub async fn list(
        conn: &mut MetaConn,
        tenant: Option<&str>,
        dataset_id: Option<i32>,
        role_id: Option<i32>,
    ) -> QueryResult<Vec<RlsRule>> {
        with_conn!(conn, |c| {
            let mut q = rls_rules::table.into_boxed();
            if let Some(t) = tenant {
                q = q.filter(rls_rules::tenant.eq(t.to_owned()));
            }
            if let Some(d) = dataset_id {
                q = q.filter(
                    rls_rules::id.eq_any(
                        rls_rule_datasets::table
                            .filter(rls_rule_datasets::dataset_id.eq(d))
                            .select(rls_rule_datasets::rls_rule_id),
                    ),
                );
            }
            if let Some(r) = role_id {
                q = q.filter(
                    rls_rules::id.eq_any(
                        rls_rule_roles::table
                            .filter(rls_rule_roles::role_id.eq(r))
                            .select(rls_rule_roles::rls_rule_id),
                    ),
                );
            }
            q.order(rls_rules::name)
                .select(RlsRule::as_select())
                .load(c)
                .await
        })
    }

    /// The datasets rules `ids` filter, by dataset id: (rule id, dataset id, table name).
    pub async fn datasets_of(
        conn: &mut MetaConn,
        ids: Vec<i32>,
    ) -> QueryResult<Vec<(i32, i32, String)>> {
        with_conn!(conn, |c| {
            rls_rule_datasets::table
                .inner_join(datasets::table)
                .filter(rls_rule_datasets::rls_rule_id.eq_any(ids))
                .order(datasets::id)
                .select((
                    rls_rule_datasets::rls_rule_id,
                    datasets::id,
                    datasets::table_name,
                ))
                .load(c)
                .await
        })
    }

    /// The roles rules `ids` name, by name: (rule id, role name).
    pub async fn roles_of(conn: &mut MetaConn, ids: Vec<i32>) -> QueryResult<Vec<(i32, String)>> {
        with_conn!(conn, |c| {
            rls_rule_roles::table
                .inner_join(roles::table)
                .filter(rls_rule_roles::rls_rule_id.eq_any(ids))
                .order(roles::name)
                .select((rls_rule_roles::rls_rule_id, roles::name))
                .load(c)
                .await
        })
    }

    /// The (id, name) of `tenant`'s rule (every rule without one) with id `id` and/or name
    /// `name`, if there is one.
    pub async fn find(
        conn: &mut MetaConn,
        tenant: Option<&str>,
        id: Option<i32>,
        name: Option<&str>,
    ) -> QueryResult<Option<(i32, String)>> {
        with_conn!(conn, |c| {
            let mut q = rls_rules::table.into_boxed();
            if let Some(t) = tenant {
                q = q.filter(rls_rules::tenant.eq(t.to_owned()));
            }
            if let Some(id) = id {
                q = q.filter(rls_rules::id.eq(id));
            }
            if let Some(n) = name {
                q = q.filter(rls_rules::name.eq(n.to_owned()));
            }
            q.select((rls_rules::id, rls_rules::name))
                .first(c)
                .await
                .optional()
        })
    }

    /// Delete rule `id` with its dataset and role links, in one transaction.
    pub async fn delete(conn: &mut MetaConn, id: i32) -> QueryResult<()> {
        in_transaction!(conn, |c| {
            diesel::delete(rls_rule_datasets::table.filter(rls_rule_datasets::rls_rule_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(rls_rule_roles::table.filter(rls_rule_roles::rls_rule_id.eq(id)))
                .execute(c)
                .await?;
            diesel::delete(rls_rules::table.filter(rls_rules::id.eq(id)))
                .execute(c)
                .await?;
            Ok::<(), diesel::result::Error>(())
        })
    }
}

//! API keys as stored: the queries behind `create_api_key` (and `vizier api-key create`),
//! `list_api_keys` and `revoke_api_key`. Only a key's prefix and hash are kept. They return
//! `diesel::QueryResult`, converted at the tool boundary.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::MetaConn;
use super::models::new_uuid;
use super::schema::{api_keys, users};
use crate::with_conn;

/// An API key as listed, with the username of the user it acts as (never the key).
#[derive(Debug, Clone, Queryable)]
pub struct ApiKey {
    pub id: i32,
    pub name: String,
    pub prefix: String,
    pub username: String,
    /// Space-separated scopes; empty: the user's roles decide.
    pub scopes: String,
    pub created_on: NaiveDateTime,
    pub expires_on: Option<NaiveDateTime>,
    pub last_used_on: Option<NaiveDateTime>,
    pub revoked_on: Option<NaiveDateTime>,
}

/// A key to store.
#[derive(Debug)]
pub struct NewApiKey<'a> {
    pub user_id: i32,
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub scopes: &'a str,
    pub created_on: NaiveDateTime,
    pub created_by_fk: Option<i32>,
    pub expires_on: Option<NaiveDateTime>,
}

/// What checking a presented key needs of the stored one.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct StoredKey {
    pub id: i32,
    pub key_hash: String,
    /// Space-separated scopes; empty: the user's roles decide.
    pub scopes: String,
    pub expires_on: Option<NaiveDateTime>,
    pub revoked_on: Option<NaiveDateTime>,
    pub user_id: i32,
}

impl ApiKey {
    /// The key with prefix `prefix` as stored (revoked and expired ones too), if any.
    pub async fn stored_by_prefix(
        conn: &mut MetaConn,
        prefix: &str,
    ) -> QueryResult<Option<StoredKey>> {
        with_conn!(conn, |c| {
            api_keys::table
                .filter(api_keys::prefix.eq(prefix))
                .select(StoredKey::as_select())
                .first(c)
                .await
                .optional()
        })
    }

    /// Record that key `id` was used at `at`.
    pub async fn mark_used(conn: &mut MetaConn, id: i32, at: NaiveDateTime) -> QueryResult<()> {
        with_conn!(conn, |c| {
            diesel::update(api_keys::table.filter(api_keys::id.eq(id)))
                .set(api_keys::last_used_on.eq(Some(at)))
                .execute(c)
                .await
        })?;
        Ok(())
    }

    /// Store `new`; returns its id.
    pub async fn create(conn: &mut MetaConn, new: &NewApiKey<'_>) -> QueryResult<i32> {
        with_conn!(conn, |c| {
            diesel::insert_into(api_keys::table)
                .values((
                    api_keys::uuid.eq(new_uuid()),
                    api_keys::user_id.eq(new.user_id),
                    api_keys::name.eq(new.name),
                    api_keys::prefix.eq(new.prefix),
                    api_keys::key_hash.eq(new.key_hash),
                    api_keys::scopes.eq(new.scopes),
                    api_keys::created_on.eq(new.created_on),
                    api_keys::created_by_fk.eq(new.created_by_fk),
                    api_keys::expires_on.eq(new.expires_on),
                ))
                .returning(api_keys::id)
                .get_result(c)
                .await
        })
    }

    /// Every key, by id; with a tenant, only the keys of the tenant's users.
    pub async fn list(conn: &mut MetaConn, tenant: Option<&str>) -> QueryResult<Vec<ApiKey>> {
        with_conn!(conn, |c| {
            let mut q = api_keys::table
                .inner_join(users::table.on(users::id.eq(api_keys::user_id)))
                .into_boxed();
            if let Some(t) = tenant {
                q = q.filter(users::tenant.eq(t.to_owned()));
            }
            q.order(api_keys::id)
                .select((
                    api_keys::id,
                    api_keys::name,
                    api_keys::prefix,
                    users::username,
                    api_keys::scopes,
                    api_keys::created_on,
                    api_keys::expires_on,
                    api_keys::last_used_on,
                    api_keys::revoked_on,
                ))
                .load(c)
                .await
        })
    }

    /// Revoke key `id` as of `at` if it is active (and, with a tenant, of one of the
    /// tenant's users); whether it was.
    pub async fn revoke(
        conn: &mut MetaConn,
        id: i32,
        tenant: Option<&str>,
        at: NaiveDateTime,
    ) -> QueryResult<bool> {
        let n = with_conn!(conn, |c| {
            let mut mine = users::table.select(users::id).into_boxed();
            if let Some(t) = tenant {
                mine = mine.filter(users::tenant.eq(t.to_owned()));
            }
            diesel::update(
                api_keys::table
                    .filter(api_keys::id.eq(id))
                    .filter(api_keys::revoked_on.is_null())
                    .filter(api_keys::user_id.eq_any(mine)),
            )
            .set(api_keys::revoked_on.eq(Some(at)))
            .execute(c)
            .await
        })?;
        Ok(n > 0)
    }
}

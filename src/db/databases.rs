//! Registered data sources as stored (their URL encrypted, never read here): the queries
//! behind `register_database` (and `vizier database register`) and the database lookups of
//! the dataset tools. They return `diesel::QueryResult`, converted at the tool boundary.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;

use super::MetaConn;
use super::models::NewDatabase;
use super::schema::{databases, datasets};
use crate::with_conn;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = databases, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Database {
    pub id: i32,
    pub uuid: String,
    pub name: String,
    pub engine: String,
    pub settings: String,
    pub description: String,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
}

/// A registered database's id, uuid, name and tenant: what identifies it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = databases, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct DatabaseKey {
    pub id: i32,
    pub uuid: String,
    pub name: String,
    pub tenant: Option<String>,
}

impl Database {
    /// Store `new`; returns its id. A taken name is diesel's unique violation.
    pub async fn create(conn: &mut MetaConn, new: &NewDatabase<'_>) -> QueryResult<i32> {
        with_conn!(conn, |c| {
            diesel::insert_into(databases::table)
                .values(new)
                .returning(databases::id)
                .get_result(c)
                .await
        })
    }

    crate::id_and_uuid_lookups!(Database, databases, "database");

    /// The keys of every registered database, of every tenant.
    pub async fn all_keys(conn: &mut MetaConn) -> QueryResult<Vec<DatabaseKey>> {
        with_conn!(conn, |c| {
            databases::table
                .select(DatabaseKey::as_select())
                .load(c)
                .await
        })
    }

    /// How many live datasets database `id` has.
    pub async fn dataset_count(conn: &mut MetaConn, id: i32) -> QueryResult<i64> {
        with_conn!(conn, |c| {
            datasets::table
                .filter(datasets::database_id.eq(id))
                .filter(datasets::deleted_on.is_null())
                .count()
                .get_result(c)
                .await
        })
    }
}

//! Queries on the SQL history and the saved queries: the batches the `HistoryWriter`
//! (`actors::history`) writes, and `save_query`.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::MetaConn;
use super::models::{NewQueryRecord, QueryRecord, SavedQuery, new_uuid, now};
use super::schema::{query_history, saved_queries};
use crate::with_conn;

impl QueryRecord {
    crate::id_and_uuid_lookups!(QueryRecord, query_history, "query");
}

impl NewQueryRecord {
    /// Write `batch` in one transaction (see [`crate::insert_batch!`]); the number written.
    pub async fn insert_batch(
        conn: &mut MetaConn,
        batch: Vec<NewQueryRecord>,
    ) -> QueryResult<usize> {
        crate::insert_batch!(conn, query_history::table, batch)
    }
}

/// What `save_query` stores.
pub struct NewSaved<'a> {
    pub database_id: i32,
    pub schema: Option<&'a str>,
    pub label: &'a str,
    pub description: &'a str,
    pub sql: &'a str,
    pub user_id: i32,
}

impl SavedQuery {
    crate::id_and_uuid_lookups!(SavedQuery, saved_queries, "saved query");

    /// Store a saved query; its id and uuid.
    pub async fn create(conn: &mut MetaConn, new: NewSaved<'_>) -> QueryResult<(i32, String)> {
        let (at, uuid) = (now(), new_uuid());
        with_conn!(conn, |c| {
            diesel::insert_into(saved_queries::table)
                .values((
                    saved_queries::uuid.eq(&uuid),
                    saved_queries::database_id.eq(new.database_id),
                    saved_queries::schema_name.eq(new.schema),
                    saved_queries::label.eq(new.label),
                    saved_queries::description.eq(new.description),
                    saved_queries::sql.eq(new.sql),
                    saved_queries::created_on.eq(at),
                    saved_queries::changed_on.eq(at),
                    saved_queries::created_by_fk.eq(Some(new.user_id)),
                    saved_queries::changed_by_fk.eq(Some(new.user_id)),
                ))
                .returning((saved_queries::id, saved_queries::uuid))
                .get_result(c)
                .await
        })
    }
}

//! The audit log as stored: the batches the `AuditWriter` (`actors::audit`) writes, its
//! retention deletes, and the filtered pages `list_audit_log` reads. They return
//! `diesel::QueryResult`, converted by the caller.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::MetaConn;
use super::models::{AuditEntry, NewAuditEntry};
use super::schema::audit_log;
use crate::with_conn;

/// Which entries a read wants; each filter given must match exactly (`since` and `until`
/// inclusive), `None` filters nothing.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AuditFilter {
    pub user: Option<String>,
    pub tool: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub request_id: Option<String>,
    /// Only this tenant's calls.
    pub tenant: Option<String>,
}

/// The entries matching `f`, as a boxed query on whichever backend the connection is.
macro_rules! entries_matching {
    ($f:expr) => {{
        let f: &AuditFilter = $f;
        let mut q = audit_log::table.into_boxed();
        if let Some(v) = &f.user {
            q = q.filter(audit_log::username.eq(v));
        }
        if let Some(v) = &f.tool {
            q = q.filter(audit_log::tool.eq(v));
        }
        if let Some(v) = &f.outcome {
            q = q.filter(audit_log::outcome.eq(v));
        }
        if let Some(v) = f.since {
            q = q.filter(audit_log::created_on.ge(v));
        }
        if let Some(v) = f.until {
            q = q.filter(audit_log::created_on.le(v));
        }
        if let Some(v) = &f.request_id {
            q = q.filter(audit_log::request_id.eq(v));
        }
        if let Some(v) = &f.tenant {
            q = q.filter(audit_log::tenant.eq(v));
        }
        q
    }};
}

impl AuditEntry {
    /// The entries matching `f`, newest first, `limit` of them from `offset`, and how many
    /// match in all.
    pub async fn page(
        conn: &mut MetaConn,
        f: &AuditFilter,
        limit: i64,
        offset: i64,
    ) -> QueryResult<(Vec<AuditEntry>, i64)> {
        with_conn!(conn, |c| {
            let total: i64 = entries_matching!(f).count().get_result(c).await?;
            let rows = entries_matching!(f)
                .order((audit_log::created_on.desc(), audit_log::id.desc()))
                .limit(limit)
                .offset(offset)
                .select(AuditEntry::as_select())
                .load(c)
                .await?;
            Ok((rows, total))
        })
    }

    /// Delete at most `limit` of the entries created before `cutoff`; the number deleted.
    pub async fn delete_before(
        conn: &mut MetaConn,
        cutoff: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<usize> {
        with_conn!(conn, |c| {
            let old: Vec<i32> = audit_log::table
                .select(audit_log::id)
                .filter(audit_log::created_on.lt(cutoff))
                .limit(limit)
                .load(c)
                .await?;
            diesel::delete(audit_log::table.filter(audit_log::id.eq_any(old)))
                .execute(c)
                .await
        })
    }
}

impl NewAuditEntry {
    /// Write `batch` in one transaction (see [`crate::insert_batch!`]); the number written.
    pub async fn insert_batch(
        conn: &mut MetaConn,
        batch: Vec<NewAuditEntry>,
    ) -> QueryResult<usize> {
        crate::insert_batch!(conn, audit_log::table, batch)
    }
}

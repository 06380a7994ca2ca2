//! Datasets, their columns and saved metrics as stored: the queries behind the dataset
//! tools (lookups, `create_dataset`, `create_virtual_dataset`, `update_dataset_metric`).
//! They return `diesel::QueryResult`, converted at the tool boundary.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;

use super::MetaConn;
use super::models::{NewDataset, NewDatasetColumn, NewDatasetMetric, new_uuid};
use super::schema::{dataset_columns, dataset_metrics, datasets};
use crate::datasources::ColumnMeta;
use crate::{in_transaction, with_conn};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = datasets, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Dataset {
    pub id: i32,
    pub uuid: String,
    pub database_id: i32,
    pub schema_name: Option<String>,
    pub table_name: String,
    pub sql: Option<String>,
    pub description: String,
    pub main_dttm_col: Option<String>,
    pub extra: String,
    pub created_on: NaiveDateTime,
    pub changed_on: NaiveDateTime,
    pub created_by_fk: Option<i32>,
    pub changed_by_fk: Option<i32>,
    pub deleted_on: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = dataset_columns, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct DatasetColumn {
    pub id: i32,
    pub dataset_id: i32,
    pub column_name: String,
    pub data_type: String,
    pub is_temporal: bool,
    pub is_groupable: bool,
    pub is_filterable: bool,
    pub expression: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = dataset_metrics, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct DatasetMetric {
    pub id: i32,
    pub dataset_id: i32,
    pub metric_name: String,
    pub expression: String,
    pub verbose_name: Option<String>,
    pub description: String,
    pub d3format: Option<String>,
    pub changed_on: NaiveDateTime,
}

/// What a saved metric says, to create or change it.
#[derive(Debug)]
pub struct MetricValues<'a> {
    pub expression: &'a str,
    pub verbose_name: Option<&'a str>,
    pub description: &'a str,
    pub d3format: Option<&'a str>,
}

/// Whether [`DatasetMetric::save`] created the metric or changed the one of that name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Created,
    Updated,
}

impl Dataset {
    /// The live (not deleted) dataset with id `id`, if any.
    pub async fn live_by_id(conn: &mut MetaConn, id: i32) -> QueryResult<Option<Dataset>> {
        with_conn!(conn, |c| {
            datasets::table
                .select(Dataset::as_select())
                .filter(datasets::deleted_on.is_null())
                .filter(datasets::id.eq(id))
                .first(c)
                .await
                .optional()
        })
    }

    /// The live (not deleted) dataset with uuid `uuid`, if any.
    pub async fn live_by_uuid(conn: &mut MetaConn, uuid: &str) -> QueryResult<Option<Dataset>> {
        with_conn!(conn, |c| {
            datasets::table
                .select(Dataset::as_select())
                .filter(datasets::deleted_on.is_null())
                .filter(datasets::uuid.eq(uuid))
                .first(c)
                .await
                .optional()
        })
    }

    /// The live datasets among `ids` (in no particular order).
    pub async fn live_among(conn: &mut MetaConn, ids: Vec<i32>) -> QueryResult<Vec<Dataset>> {
        with_conn!(conn, |c| {
            datasets::table
                .filter(datasets::id.eq_any(ids))
                .filter(datasets::deleted_on.is_null())
                .select(Dataset::as_select())
                .load(c)
                .await
        })
    }

    /// Whether dataset `id` exists and is live (not deleted).
    pub async fn is_live(conn: &mut MetaConn, id: i32) -> QueryResult<bool> {
        let n: i64 = with_conn!(conn, |c| {
            datasets::table
                .filter(datasets::id.eq(id))
                .filter(datasets::deleted_on.is_null())
                .count()
                .get_result(c)
                .await
        })?;
        Ok(n > 0)
    }

    /// How many live physical datasets of database `database_id` are table `table` of
    /// `schema` (`None`: the default schema).
    pub async fn count_physical(
        conn: &mut MetaConn,
        database_id: i32,
        schema: Option<&str>,
        table: &str,
    ) -> QueryResult<i64> {
        with_conn!(conn, |c| {
            let mut q = datasets::table
                .filter(datasets::database_id.eq(database_id))
                .filter(datasets::table_name.eq(table))
                .filter(datasets::sql.is_null())
                .filter(datasets::deleted_on.is_null())
                .into_boxed();
            q = match schema {
                Some(s) => q.filter(datasets::schema_name.eq(s)),
                None => q.filter(datasets::schema_name.is_null()),
            };
            q.count().get_result(c).await
        })
    }

    /// How many live datasets of database `database_id` are named `name`.
    pub async fn count_named(
        conn: &mut MetaConn,
        database_id: i32,
        name: &str,
    ) -> QueryResult<i64> {
        with_conn!(conn, |c| {
            datasets::table
                .filter(datasets::database_id.eq(database_id))
                .filter(datasets::table_name.eq(name))
                .filter(datasets::deleted_on.is_null())
                .count()
                .get_result(c)
                .await
        })
    }

    /// Store `new` and one column for each of `columns`, recorded as made by `new`'s
    /// creator, in one transaction; returns the dataset's id.
    pub async fn create(
        conn: &mut MetaConn,
        new: &NewDataset<'_>,
        columns: &[ColumnMeta],
    ) -> QueryResult<i32> {
        in_transaction!(conn, |c| {
            let id: i32 = diesel::insert_into(datasets::table)
                .values(new)
                .returning(datasets::id)
                .get_result(c)
                .await?;
            for col in columns {
                diesel::insert_into(dataset_columns::table)
                    .values(NewDatasetColumn {
                        uuid: new_uuid(),
                        dataset_id: id,
                        column_name: &col.name,
                        data_type: &col.data_type,
                        is_temporal: col.is_temporal,
                        description: "",
                        created_on: new.created_on,
                        changed_on: new.changed_on,
                        created_by_fk: new.created_by_fk,
                        changed_by_fk: new.changed_by_fk,
                    })
                    .execute(c)
                    .await?;
            }
            Ok::<_, diesel::result::Error>(id)
        })
    }
}

impl DatasetColumn {
    /// The columns of the datasets `ids`, by id.
    pub async fn of(conn: &mut MetaConn, ids: Vec<i32>) -> QueryResult<Vec<DatasetColumn>> {
        with_conn!(conn, |c| {
            dataset_columns::table
                .filter(dataset_columns::dataset_id.eq_any(ids))
                .order(dataset_columns::id)
                .select(DatasetColumn::as_select())
                .load(c)
                .await
        })
    }
}

impl DatasetMetric {
    /// The saved metrics of the datasets `ids`, by id.
    pub async fn of(conn: &mut MetaConn, ids: Vec<i32>) -> QueryResult<Vec<DatasetMetric>> {
        with_conn!(conn, |c| {
            dataset_metrics::table
                .filter(dataset_metrics::dataset_id.eq_any(ids))
                .order(dataset_metrics::id)
                .select(DatasetMetric::as_select())
                .load(c)
                .await
        })
    }

    /// Change metric `name` of dataset `dataset_id` to `values`, or create it when the
    /// dataset has none of that name, as `user` at `at`.
    pub async fn save(
        conn: &mut MetaConn,
        dataset_id: i32,
        name: &str,
        values: &MetricValues<'_>,
        user: i32,
        at: NaiveDateTime,
    ) -> QueryResult<Saved> {
        let existing: Option<i32> = with_conn!(conn, |c| {
            dataset_metrics::table
                .filter(dataset_metrics::dataset_id.eq(dataset_id))
                .filter(dataset_metrics::metric_name.eq(name))
                .select(dataset_metrics::id)
                .first(c)
                .await
                .optional()
        })?;
        match existing {
            Some(id) => {
                with_conn!(conn, |c| {
                    diesel::update(dataset_metrics::table.filter(dataset_metrics::id.eq(id)))
                        .set((
                            dataset_metrics::expression.eq(values.expression),
                            dataset_metrics::verbose_name.eq(values.verbose_name),
                            dataset_metrics::description.eq(values.description),
                            dataset_metrics::d3format.eq(values.d3format),
                            dataset_metrics::changed_on.eq(at),
                            dataset_metrics::changed_by_fk.eq(Some(user)),
                        ))
                        .execute(c)
                        .await
                })?;
                Ok(Saved::Updated)
            }
            None => {
                with_conn!(conn, |c| {
                    diesel::insert_into(dataset_metrics::table)
                        .values(NewDatasetMetric {
                            uuid: new_uuid(),
                            dataset_id,
                            metric_name: name,
                            expression: values.expression,
                            verbose_name: values.verbose_name,
                            description: values.description,
                            d3format: values.d3format,
                            created_on: at,
                            changed_on: at,
                            created_by_fk: Some(user),
                            changed_by_fk: Some(user),
                        })
                        .execute(c)
                        .await
                })?;
                Ok(Saved::Created)
            }
        }
    }
}

//! Datasets, their columns and saved metrics as stored: the queries behind the dataset
//! tools (lookups, `create_dataset`, `create_virtual_dataset`, `update_dataset_metric`).
//! They return `diesel::QueryResult`, converted at the tool boundary.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;

use super::MetaConn;
use super::models::{NewDataset, NewDatasetColumn, NewDatasetMetric, new_uuid};
use super::schema::{dataset_columns, dataset_metrics, dataset_owners, datasets, users};
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
    /// Seconds its chart data stays cached: `None` the server's default, 0 never.
    pub cache_timeout: Option<i32>,
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

/// What `update_dataset` changes in one transaction; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct DatasetChanges {
    pub fields: DatasetFields,
    /// Replaces the owners listed besides the creator.
    pub owners: Option<Vec<i32>>,
    pub columns: Vec<ColumnChange>,
}

/// The dataset's own fields [`DatasetChanges`] sets.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = datasets)]
pub struct DatasetFields {
    pub description: Option<String>,
    /// `Some(None)` returns to the server's default.
    pub cache_timeout: Option<Option<i32>>,
    /// The whole new `extra` JSON (verbose names live there).
    pub extra: Option<String>,
}

/// A column's fields a [`ColumnChange::Update`] sets.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = dataset_columns)]
pub struct ColumnFields {
    pub description: Option<String>,
    pub is_temporal: Option<bool>,
    pub is_filterable: Option<bool>,
    pub is_groupable: Option<bool>,
    /// Calculated columns only.
    pub expression: Option<String>,
    pub data_type: Option<String>,
}

/// One column change of [`DatasetChanges`].
#[derive(Debug)]
pub enum ColumnChange {
    /// Change column `id`.
    Update { id: i32, fields: ColumnFields },
    /// A new calculated column (`expression` is set).
    Add {
        column_name: String,
        fields: ColumnFields,
    },
    /// Remove calculated column `id`.
    Remove { id: i32 },
}

impl Dataset {
    /// Apply `changes` to dataset `id` as `user` at `at`, all or nothing.
    pub async fn update(
        conn: &mut MetaConn,
        id: i32,
        changes: DatasetChanges,
        user: i32,
        at: NaiveDateTime,
    ) -> QueryResult<()> {
        in_transaction!(conn, |c| {
            let stamp = (
                datasets::changed_on.eq(at),
                datasets::changed_by_fk.eq(Some(user)),
            );
            diesel::update(datasets::table.filter(datasets::id.eq(id)))
                .set((stamp, &changes.fields))
                .execute(c)
                .await?;
            if let Some(owners) = &changes.owners {
                diesel::delete(dataset_owners::table.filter(dataset_owners::dataset_id.eq(id)))
                    .execute(c)
                    .await?;
                for u in owners {
                    diesel::insert_into(dataset_owners::table)
                        .values((
                            dataset_owners::dataset_id.eq(id),
                            dataset_owners::user_id.eq(u),
                        ))
                        .execute(c)
                        .await?;
                }
            }
            for change in &changes.columns {
                match change {
                    ColumnChange::Update { id: col, fields } => {
                        let stamp = (
                            dataset_columns::changed_on.eq(at),
                            dataset_columns::changed_by_fk.eq(Some(user)),
                        );
                        diesel::update(dataset_columns::table.filter(dataset_columns::id.eq(col)))
                            .set((stamp, fields))
                            .execute(c)
                            .await?;
                    }
                    ColumnChange::Add {
                        column_name,
                        fields,
                    } => {
                        let new = NewDatasetColumn {
                            uuid: new_uuid(),
                            dataset_id: id,
                            column_name,
                            data_type: fields.data_type.as_deref().unwrap_or(""),
                            is_temporal: fields.is_temporal.unwrap_or(false),
                            description: fields.description.as_deref().unwrap_or(""),
                            created_on: at,
                            changed_on: at,
                            created_by_fk: Some(user),
                            changed_by_fk: Some(user),
                        };
                        diesel::insert_into(dataset_columns::table)
                            .values((
                                new,
                                dataset_columns::expression.eq(&fields.expression),
                                dataset_columns::is_filterable
                                    .eq(fields.is_filterable.unwrap_or(true)),
                                dataset_columns::is_groupable
                                    .eq(fields.is_groupable.unwrap_or(true)),
                            ))
                            .execute(c)
                            .await?;
                    }
                    ColumnChange::Remove { id: col } => {
                        diesel::delete(dataset_columns::table.filter(dataset_columns::id.eq(col)))
                            .execute(c)
                            .await?;
                    }
                }
            }
            Ok::<_, diesel::result::Error>(())
        })
    }

    /// The ids and usernames of dataset `id`'s owners listed besides its creator, by
    /// username.
    pub async fn listed_owners(conn: &mut MetaConn, id: i32) -> QueryResult<Vec<(i32, String)>> {
        with_conn!(conn, |c| {
            users::table
                .inner_join(dataset_owners::table)
                .filter(dataset_owners::dataset_id.eq(id))
                .select((users::id, users::username))
                .order(users::username)
                .load(c)
                .await
        })
    }

    /// Whether `user` owns dataset `d`: its creator or one of its listed owners.
    pub async fn is_owned_by(conn: &mut MetaConn, d: &Dataset, user: i32) -> QueryResult<bool> {
        if d.created_by_fk == Some(user) {
            return Ok(true);
        }
        let id = d.id;
        let n: i64 = with_conn!(conn, |c| {
            dataset_owners::table
                .filter(dataset_owners::dataset_id.eq(id))
                .filter(dataset_owners::user_id.eq(user))
                .count()
                .get_result(c)
                .await
        })?;
        Ok(n > 0)
    }

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

    /// The live datasets, by id; only those among `among` when given.
    pub async fn all_live(
        conn: &mut MetaConn,
        among: Option<Vec<i32>>,
    ) -> QueryResult<Vec<Dataset>> {
        with_conn!(conn, |c| {
            let mut q = datasets::table
                .filter(datasets::deleted_on.is_null())
                .order(datasets::id)
                .select(Dataset::as_select())
                .into_boxed();
            if let Some(ids) = among {
                q = q.filter(datasets::id.eq_any(ids));
            }
            q.load(c).await
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
    /// A calculated column: an SQL expression over the dataset's columns, not a column of
    /// the table or query itself.
    pub fn is_calculated(&self) -> bool {
        self.expression
            .as_deref()
            .is_some_and(|e| !e.trim().is_empty())
    }

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

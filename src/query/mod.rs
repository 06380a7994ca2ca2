//! The query model, below the tools that use it:
//! - [`spec`]: what each listable model (charts, dashboards, datasets, …) offers to select,
//!   filter, search and order, and the page-size bounds;
//! - [`list`]: the common list semantics: arguments validated against a model's spec into a
//!   [`list::ListPlan`] (conditions, order, page), the page envelope, identifiers;
//! - [`catalog`]: the metadata-store queries that run a plan, filtered by what a principal
//!   may see;
//! - [`builder`]: the one dataset query builder (metrics, group-by, filters, time range and
//!   grain → SQL) shared by `query_dataset` and chart data;
//! - [`relative`]: Superset's relative time ranges ("Last week", …) resolved to bounds.

pub mod builder;
pub mod catalog;
pub mod index;
pub mod list;
pub mod relative;
pub mod spec;

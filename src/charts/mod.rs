//! Charts as a domain: the typed chart config ([`config`]), the query a config needs and
//! the shaping of its rows into what renderers draw ([`query`]), and the picture formats
//! ([`picture`]), and a dashboard's native filters ([`native_filters`]). The chart tools
//! (`tools::visualize`) put these together with the SQL
//! engine and the screenshot actor.

pub mod config;
pub mod native_filters;
pub mod picture;
pub mod query;

pub use config::ChartConfig;
pub use picture::PreviewFormat;

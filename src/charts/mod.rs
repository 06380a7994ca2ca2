//! Charts as a domain: the typed chart config ([`config`]), the query a config needs and
//! the shaping of its rows into what renderers draw ([`query`]), and the picture formats
//! ([`picture`]). The chart tools (`tools::visualize`) put these together with the SQL
//! engine and the screenshot actor.

pub mod config;
pub mod picture;
pub mod query;

pub use config::ChartConfig;
pub use picture::PreviewFormat;

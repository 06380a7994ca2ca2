//! Superset interoperability: Superset's export bundle (a ZIP of YAML files linked by UUID)
//! read safely ([`bundle`]), mapped onto vizier's catalog ([`mapping`]: SQLAlchemy URIs,
//! chart params ↔ typed chart configs, dashboard positions ↔ layouts), imported in one
//! metadata transaction ([`import`]) and written back as a bundle Superset accepts
//! ([`export`]).
//!
//! Errors are `ToolError`s that name the bundle file and say how to fix it: the reader runs
//! on hostile input (a tool argument), so nothing here panics or trusts a size it was told.

pub mod bundle;
pub mod export;
pub mod import;
pub mod mapping;

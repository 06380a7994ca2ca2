//! How a registered data source is to be used, as stored with it (JSON in the metadata
//! store's `databases.settings`): DML, row and time limits, pool size, exposed schemas,
//! templating and PostgreSQL session settings.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Settings of a data source as stored (JSON). Never holds credentials: those live only
/// in the encrypted connection column.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct SourceSettings {
    #[serde(default)]
    pub allow_dml: bool,
    #[serde(default = "default_row_limit")]
    pub row_limit: u64,
    #[serde(default = "default_timeout")]
    pub statement_timeout_ms: u64,
    #[serde(default = "default_pool")]
    pub pool_size: u32,
    #[serde(default)]
    pub exposed_schemas: Vec<String>,
    /// `{{ … }}` templating of execute_sql text (sandboxed; off unless enabled).
    #[serde(default)]
    pub templating: bool,
    /// PostgreSQL only: settings made with `set_config(name, value, true)` inside each query's
    /// transaction, for native RLS policies, e.g. {"app.current_user": "{username}"}.
    /// Placeholders: {username}, {user_id}, {roles}.
    #[serde(default)]
    pub session_settings: std::collections::BTreeMap<String, String>,
}

fn default_row_limit() -> u64 {
    10_000
}
fn default_timeout() -> u64 {
    30_000
}
fn default_pool() -> u32 {
    4
}

impl SourceSettings {
    pub fn parse(json: &str) -> Self {
        serde_json::from_str(json).unwrap_or_default()
    }
}

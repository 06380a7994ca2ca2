//! System tools: `health_check`, `get_instance_info`, `get_schema`.

use chrono::{SecondsFormat, Utc};
use rmcp::model::ProtocolVersion;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Hints, Registry, ToolCtx, tool};
use crate::actors::PoolKind;
use crate::auth::Permission;
use crate::db::models::{ObjectCounts, RecentChange, TenantObjects, recent_changes};
use crate::error::ToolError;
use crate::query::spec::{ModelSchema, ModelSpec};

/// Protocol revisions vizier serves: three with the initialize handshake, and the
/// stateless 2026-07-28 revision (per-request `_meta`, `server/discover`).
pub const PROTOCOL_VERSIONS: [ProtocolVersion; 4] = [
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2026_07_28,
];

pub fn register(r: &mut Registry) {
    r.add(tool(
        "health_check",
        "Health check",
        "Is vizier healthy: status, version, uptime, metadata store latency and migrations, tool pool load.",
        PoolKind::Catalog,
        Permission::SystemRead,
        Hints::READ,
        health_check,
    )
    .liveness());
    r.add(tool(
        "get_instance_info",
        "Instance overview",
        "A good first call: object counts, recent changes, who you are (roles, permissions), server version.",
        PoolKind::Catalog,
        Permission::SystemRead,
        Hints::READ,
        get_instance_info,
    ));
    r.add(tool(
        "get_schema",
        "List semantics of each model",
        "Per model (dashboard, chart, dataset, …): the columns list tools can select, filter (with operators), sort, search; defaults.",
        PoolKind::Catalog,
        Permission::SystemRead,
        Hints::READ,
        get_schema,
    ));
}

/// No arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HealthCheck {
    /// `healthy`, or `degraded` when the metadata store is unreachable or behind.
    pub status: String,
    pub version: String,
    pub uptime_seconds: u64,
    pub timestamp: String,
    pub metadata_store: StoreHealth,
    pub pools: Vec<PoolHealth>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StoreHealth {
    /// `ok` or `error`.
    pub status: String,
    pub backend: String,
    /// Of the check reported.
    pub latency_ms: f64,
    /// When that check was made, and its age (the store is checked every second, not per
    /// call).
    pub checked_at: String,
    pub checked_ms_ago: u64,
    pub migrations_current: bool,
    pub connections: u32,
    pub idle_connections: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PoolHealth {
    pub pool: String,
    /// Calls running or waiting.
    pub in_flight: usize,
    pub workers: usize,
    pub queue: usize,
}

async fn health_check(ctx: ToolCtx, _args: NoArgs) -> Result<HealthCheck, ToolError> {
    let app = &ctx.app;
    let check = app.db.store_check().await;
    let latency_ms = check.latency.as_secs_f64() * 1000.0;
    // The pool as the last store check saw it (checked_ms_ago says when): no trip to the
    // store's actor per call.
    let (connections, idle_connections) = check.pool;
    let (status, migrations_current, error) = match check.result {
        Ok(current) => (if current { "ok" } else { "error" }, current, None),
        Err(e) => ("error", false, Some(e)),
    };
    Ok(HealthCheck {
        status: if status == "ok" {
            "healthy"
        } else {
            "degraded"
        }
        .into(),
        version: crate::VERSION.into(),
        uptime_seconds: app.started_at.elapsed().as_secs(),
        timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        metadata_store: StoreHealth {
            status: status.into(),
            backend: app.db.backend().as_str().into(),
            latency_ms: (latency_ms * 1000.0).round() / 1000.0,
            checked_at: check.at_wall.to_rfc3339_opts(SecondsFormat::Millis, true),
            checked_ms_ago: u64::try_from(check.at.elapsed().as_millis()).unwrap_or(u64::MAX),
            migrations_current,
            connections,
            idle_connections,
            error,
        },
        pools: PoolKind::ALL
            .iter()
            .map(|k| {
                let pc = k.config(&app.config);
                PoolHealth {
                    pool: k.as_str().into(),
                    in_flight: app.pools.get(*k).in_flight(),
                    workers: pc.workers,
                    queue: pc.queue,
                }
            })
            .collect(),
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct InstanceInfo {
    pub server: ServerFacts,
    pub counts: ObjectCounts,
    /// Recently changed dashboards and charts, newest first.
    pub recent_activity: Vec<RecentChange>,
    pub current_user: CurrentUser,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ServerFacts {
    pub name: String,
    pub version: String,
    pub metadata_backend: String,
    pub protocol_versions: Vec<String>,
    pub started_at: String,
    pub uptime_seconds: u64,
    pub tools: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CurrentUser {
    pub id: i32,
    pub username: String,
    pub roles: Vec<String>,
    pub permissions: Vec<String>,
}

/// The instance summary; also served as the `instance://metadata` resource.
pub async fn instance_info(ctx: &ToolCtx) -> Result<InstanceInfo, ToolError> {
    let app = &ctx.app;
    let mut conn = app.db.conn().await?;
    // A tenant's objects are looked up once, for the counts and the recent changes.
    let tenant = match &ctx.principal.tenant {
        Some(t) => Some(TenantObjects::load(&mut conn, t).await?),
        None => None,
    };
    let counts = match &tenant {
        Some(t) => ObjectCounts::load_tenant(&mut conn, t).await?,
        None => ObjectCounts::load(&mut conn).await?,
    };
    let recent_activity = recent_changes(&mut conn, 5, tenant.as_ref()).await?;
    drop(conn);
    let p = &ctx.principal;
    let mut permissions: Vec<String> = p.permissions.iter().map(|s| s.to_string()).collect();
    permissions.sort();
    Ok(InstanceInfo {
        server: ServerFacts {
            name: "vizier".into(),
            version: crate::VERSION.into(),
            metadata_backend: app.db.backend().as_str().into(),
            protocol_versions: PROTOCOL_VERSIONS.iter().map(|v| v.to_string()).collect(),
            started_at: app.started_wall.to_rfc3339_opts(SecondsFormat::Secs, true),
            uptime_seconds: app.started_at.elapsed().as_secs(),
            tools: app
                .registry
                .visible_to(p)
                .map(|t| t.name.to_string())
                .collect(),
        },
        counts,
        recent_activity,
        current_user: CurrentUser {
            id: p.user_id,
            username: p.username.clone(),
            roles: p.roles.clone(),
            permissions,
        },
    })
}

async fn get_instance_info(ctx: ToolCtx, _args: NoArgs) -> Result<InstanceInfo, ToolError> {
    instance_info(&ctx).await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetSchemaArgs {
    /// One of dashboard, chart, dataset, database; omit for all.
    pub model: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SchemaInfo {
    pub models: Vec<ModelEntry>,
    /// Filter shape accepted by every list tool.
    pub filter_format: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ModelEntry {
    #[serde(flatten)]
    pub schema: ModelSchema,
    /// Whether this build serves the model's list tool.
    pub list_tool_available: bool,
}

async fn get_schema(ctx: ToolCtx, args: GetSchemaArgs) -> Result<SchemaInfo, ToolError> {
    let specs: Vec<&ModelSpec> = match args.model.as_deref() {
        Some(m) => vec![ModelSpec::find(m).ok_or_else(|| {
            ToolError::invalid_field(
                "model",
                format!("unknown model '{m}'."),
                &ModelSpec::names(),
                Some(m),
            )
        })?],
        None => crate::query::spec::MODELS.iter().collect(),
    };
    Ok(SchemaInfo {
        models: specs
            .into_iter()
            .map(|s| ModelEntry {
                list_tool_available: ctx.app.registry.get(s.list_tool).is_some(),
                schema: s.schema(),
            })
            .collect(),
        filter_format: "filters: [{\"col\": COLUMN, \"opr\": OPERATOR, \"value\": VALUE}]".into(),
    })
}

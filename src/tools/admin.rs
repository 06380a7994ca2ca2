//! Admin tools. Data-source registration: `register_database` checks the connection, then
//! stores the URL encrypted; it is never returned, logged, or shown in an error. Also RLS
//! rules and API keys; users, roles and permissions are in `users.rs`, `roles.rs` and
//! `permissions.rs`.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Hints, Registry, ToolCtx, tool};
use crate::actors::PoolKind;
use crate::auth::Permission;
use crate::datasources::settings::SourceSettings;
use crate::datasources::{Engine, SourceConfig, SourcePool};
use crate::db::api_keys::{ApiKey, NewApiKey};
use crate::db::databases::Database;
use crate::db::models::{NewDatabase, new_uuid, now};
use crate::db::rls::{NewRlsRule, RlsRule};
use crate::error::ToolError;

pub fn register(r: &mut Registry) {
    r.add(tool(
        "register_database",
        "Register a data source",
        "Register a PostgreSQL, MySQL/MariaDB or SQLite database; connection tested, URL stored encrypted, never shown.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::WRITE,
        register_database,
    ));
    r.add(tool(
        "create_rls_rule",
        "Create a row-level security rule",
        "Filter physical datasets' rows for some roles (regular) or all but some (base), in execute_sql, query_dataset and chart data.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::WRITE,
        create_rls_rule,
    ));
    r.add(tool(
        "list_rls_rules",
        "List row-level security rules",
        "Every RLS rule with its clause, the datasets it filters and the roles it names; filter by dataset_id or role.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::READ,
        list_rls_rules,
    ));
    r.add(tool(
        "delete_rls_rule",
        "Delete a row-level security rule",
        "Delete an RLS rule by id or name; it stops filtering from the next call.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::DESTRUCTIVE,
        delete_rls_rule,
    ));
    r.add(tool(
        "create_api_key",
        "Create an API key",
        "An API key acting as a user, optional scopes and expiry; shown once, only its hash kept.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::WRITE,
        create_api_key,
    ));
    r.add(tool(
        "list_api_keys",
        "List API keys",
        "Every API key: owner, name, scopes, expiry, last use, revoked (never the key).",
        PoolKind::Admin,
        Permission::Admin,
        Hints::READ,
        list_api_keys,
    ));
    r.add(tool(
        "revoke_api_key",
        "Revoke an API key",
        "Revoke an API key by id; calls with it are refused from then on.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::DESTRUCTIVE,
        revoke_api_key,
    ));
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterArgs {
    /// A unique name.
    pub database_name: String,
    /// postgres://u:pw@host/db, mysql://u:pw@host/db or sqlite:///abs/path.db (in
    /// datasources.sqlite_dirs).
    pub url: String,
    pub description: Option<String>,
    /// Let execute_sql change data (INSERT/UPDATE/DELETE). Default false.
    #[serde(default)]
    pub allow_dml: bool,
    /// Most rows per query (default 10,000).
    pub row_limit: Option<u64>,
    /// Statement time limit, ms (default 30,000).
    pub statement_timeout_ms: Option<u64>,
    /// Pool connections (default 4).
    pub pool_size: Option<u32>,
    /// Visible schemas; empty: all non-system ones.
    #[serde(default)]
    pub exposed_schemas: Vec<String>,
    /// Sandboxed `{{ … }}` templating in execute_sql. Default false.
    #[serde(default)]
    pub templating: bool,
    /// PostgreSQL native RLS: per-query settings, e.g. {"app.user": "{username}"} (also {user_id}, {roles}).
    #[serde(default)]
    pub session_settings: std::collections::BTreeMap<String, String>,
}

// Never derive Debug on the arguments: the URL holds a password.
impl std::fmt::Debug for RegisterArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterArgs")
            .field("database_name", &self.database_name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Registered {
    pub id: i32,
    pub uuid: String,
    pub database_name: String,
    pub backend: String,
    pub settings: SourceSettings,
}

/// A SQLite source must sit inside an allowed directory and must not be vizier's own store.
pub(crate) fn check_sqlite_path(
    url: &str,
    allowed: &[PathBuf],
    metadata_url: &str,
) -> Result<(), ToolError> {
    let raw = crate::config::sqlite_path(url);
    let path = Path::new(raw);
    let refuse = |why: String| {
        ToolError::invalid(format!("url: {why}"))
            .with_details(json!({"field": "url", "allowed_dirs": allowed}))
    };
    if !path.is_absolute() {
        return Err(refuse(
            "a SQLite source needs an absolute path, e.g. sqlite:///srv/data/sales.db.".into(),
        ));
    }
    let real = path
        .canonicalize()
        .map_err(|_| refuse(format!("no SQLite file at {}.", path.display())))?;
    if !crate::config::within_dirs(&real, allowed) {
        return Err(refuse(
            "the file is outside the directories allowed by datasources.sqlite_dirs.".into(),
        ));
    }
    let meta = Path::new(crate::config::sqlite_path(metadata_url));
    if meta.canonicalize().is_ok_and(|m| m == real) {
        return Err(refuse("that is vizier's own metadata store.".into()));
    }
    Ok(())
}

async fn register_database(ctx: ToolCtx, args: RegisterArgs) -> Result<Registered, ToolError> {
    let mut conn = ctx.app.db.conn().await?;
    register_source(
        &ctx.app.config,
        &ctx.app.cipher,
        &mut conn,
        args,
        Some(ctx.principal.user_id),
        ctx.principal.tenant.as_deref(),
    )
    .await
}

/// Test a data source's connection, then store it with its URL encrypted (tool and CLI),
/// in `tenant` when given.
pub async fn register_source(
    config: &crate::config::Config,
    cipher: &crate::db::secrets::Cipher,
    conn: &mut crate::db::MetaConn,
    args: RegisterArgs,
    user: Option<i32>,
    tenant: Option<&str>,
) -> Result<Registered, ToolError> {
    let name = args.database_name.trim().to_string();
    if name.is_empty() || name.len() > 255 {
        return Err(ToolError::invalid("database_name: 1 to 255 characters.")
            .with_details(json!({"field": "database_name"})));
    }
    let engine = Engine::from_url(&args.url).map_err(|e| {
        ToolError::invalid(format!("url: {e}")).with_details(json!({"field": "url"}))
    })?;
    if engine == Engine::Sqlite {
        check_sqlite_path(
            &args.url,
            &config.datasources.sqlite_dirs,
            config.metadata.url.expose(),
        )?;
    }
    let settings = SourceSettings {
        allow_dml: args.allow_dml,
        row_limit: args.row_limit.unwrap_or(10_000).clamp(1, 1_000_000),
        statement_timeout_ms: args
            .statement_timeout_ms
            .unwrap_or(30_000)
            .clamp(100, 3_600_000),
        pool_size: args.pool_size.unwrap_or(4).clamp(1, 64),
        exposed_schemas: args.exposed_schemas.clone(),
        templating: args.templating,
        session_settings: args.session_settings.clone(),
    };
    if let Some(bad) = settings.session_settings.keys().find(|k| {
        let parts: Vec<&str> = k.split('.').collect();
        parts.len() != 2
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    }) {
        return Err(ToolError::invalid(format!(
            "session_settings: '{bad}' is not a custom setting name; use a dotted name such as app.current_user."
        ))
        .with_details(json!({"field": "session_settings"})));
    }
    if !settings.session_settings.is_empty() && engine != Engine::Postgres {
        return Err(
            ToolError::invalid("session_settings: only PostgreSQL sources have them.")
                .with_details(json!({"field": "session_settings"})),
        );
    }
    let pool = SourcePool::connect(SourceConfig {
        url: args.url.clone(),
        pool_size: 1,
        statement_timeout_ms: settings.statement_timeout_ms,
        allow_dml: settings.allow_dml,
        exposed_schemas: settings.exposed_schemas.clone(),
    })
    .await
    .map_err(|e| crate::actors::datasource::source_error(&name, e))?;
    drop(pool);
    let encrypted = cipher.encrypt(&args.url).map_err(ToolError::internal)?;
    let (at, uuid) = (now(), new_uuid());
    let settings_json = serde_json::to_string(&settings).map_err(ToolError::internal)?;
    let new = NewDatabase {
        uuid: uuid.clone(),
        name: &name,
        engine: engine.as_str(),
        connection_encrypted: encrypted,
        settings: settings_json,
        description: args.description.as_deref().unwrap_or(""),
        created_on: at,
        changed_on: at,
        created_by_fk: user,
        changed_by_fk: user,
        tenant,
    };
    let id = Database::create(conn, &new).await.map_err(|e| match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => ToolError::conflict(format!("A database named '{name}' exists already."))
            .with_details(json!({"field": "database_name"})),
        other => ToolError::from(other),
    })?;
    Ok(Registered {
        id,
        uuid,
        database_name: name,
        backend: engine.as_str().into(),
        settings,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RlsRuleArgs {
    /// A unique name.
    pub name: String,
    /// regular: for the listed roles; base: for everyone but them.
    pub filter_type: String,
    /// Physical datasets it filters.
    pub dataset_ids: Vec<i32>,
    /// Role names.
    pub roles: Vec<String>,
    /// Rules sharing a group key are OR-ed; groups are AND-ed.
    pub group_key: Option<String>,
    /// A SQL condition on the table's columns, e.g. `region = 'West'`; may use template
    /// variables such as `{{ current_username | sql_quote }}`.
    pub clause: String,
    pub description: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RlsRuleCreated {
    pub id: i32,
    pub uuid: String,
    pub name: String,
}

async fn create_rls_rule(ctx: ToolCtx, args: RlsRuleArgs) -> Result<RlsRuleCreated, ToolError> {
    if !["regular", "base"].contains(&args.filter_type.as_str()) {
        return Err(ToolError::invalid_field(
            "filter_type",
            "must be regular or base.",
            &["regular", "base"],
            Some(&args.filter_type),
        ));
    }
    if args.dataset_ids.is_empty() {
        return Err(
            ToolError::invalid("dataset_ids: name at least one dataset.")
                .with_details(json!({"field": "dataset_ids"})),
        );
    }
    let mut conn = ctx.app.db.conn().await?;
    let found = RlsRule::targets(&mut conn, args.dataset_ids.clone()).await?;
    let access = match ctx.principal.tenant {
        Some(_) => Some(crate::query::catalog::Access::load(&mut conn, &ctx.principal).await?),
        None => None,
    };
    for id in &args.dataset_ids {
        let theirs = access.as_ref().is_some_and(|a| !a.sees_dataset(*id));
        match found.iter().find(|f| f.0 == *id) {
            None => return Err(ToolError::not_found("dataset", id)),
            Some(_) if theirs => return Err(ToolError::not_found("dataset", id)),
            Some(f) if f.2.is_some() => {
                return Err(ToolError::invalid(format!(
                    "dataset_ids: dataset {id} is virtual; RLS rules filter physical tables (the virtual dataset's tables are filtered when its SQL runs)."
                )));
            }
            Some(_) => {}
        }
    }
    // The clause must parse and be safe in every dialect it will run in.
    let probe = crate::sql::TemplateContext {
        username: "probe".into(),
        user_id: 0,
        roles: vec![],
        params: Default::default(),
    };
    for (_, _, _, engine) in &found {
        let engine = Engine::from_url(&format!("{engine}://"))
            .map_err(|e| ToolError::internal(e.to_string()))?;
        let dialect = super::shared::dialect(engine);
        let clause = if args.clause.contains("{{") || args.clause.contains("{%") {
            crate::sql::render_template(dialect, &args.clause, &probe)
                .map_err(super::shared::sql_error)?
        } else {
            args.clause.clone()
        };
        crate::sql::combine(dialect, &[(None, clause)]).map_err(super::shared::sql_error)?;
    }
    let tenant = ctx.principal.tenant.clone();
    let role_ids: Vec<(i32, String)> =
        crate::db::models::visible_roles(&mut conn, tenant.as_deref())
            .await?
            .into_iter()
            .filter(|(_, name)| args.roles.contains(name))
            .collect();
    if let Some(missing) = args
        .roles
        .iter()
        .find(|r| !role_ids.iter().any(|(_, n)| n == *r))
    {
        return Err(ToolError::not_found("role", missing));
    }
    // Rule names are unique per tenant; only the caller's tenant is looked at, so a clash
    // never tells of another tenant's rule (the unique index stays the backstop).
    let taken = RlsRule::name_taken(&mut conn, &args.name, tenant.as_deref()).await?;
    if taken {
        return Err(ToolError::conflict(format!(
            "An RLS rule named '{}' exists already.",
            args.name
        ))
        .with_details(json!({"field": "name"})));
    }
    let new = NewRlsRule {
        name: &args.name,
        filter_type: &args.filter_type,
        group_key: args.group_key.as_deref(),
        clause: &args.clause,
        description: args.description.as_deref().unwrap_or(""),
        tenant: tenant.as_deref(),
    };
    let role_ids: Vec<i32> = role_ids.into_iter().map(|(id, _)| id).collect();
    let (id, uuid) = RlsRule::create(
        &mut conn,
        &new,
        (&args.dataset_ids, &role_ids),
        ctx.principal.user_id,
    )
    .await?;
    Ok(RlsRuleCreated {
        id,
        uuid,
        name: args.name,
    })
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRlsArgs {
    /// Only rules filtering this dataset.
    pub dataset_id: Option<i32>,
    /// Only rules naming this role.
    pub role: Option<String>,
}

/// A dataset an RLS rule filters.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RlsDataset {
    pub id: i32,
    pub table_name: String,
}

/// One RLS rule.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RlsRuleItem {
    pub id: i32,
    pub uuid: String,
    pub name: String,
    /// regular: applies to `roles`; base: applies to everyone except `roles`.
    pub filter_type: String,
    pub group_key: Option<String>,
    pub clause: String,
    pub description: String,
    pub datasets: Vec<RlsDataset>,
    pub roles: Vec<String>,
    pub created_on: String,
    pub changed_on: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RlsRuleList {
    pub items: Vec<RlsRuleItem>,
    pub count: usize,
    /// True when the byte budget left some rules out: filter by dataset_id or role.
    pub truncated: bool,
}

async fn list_rls_rules(ctx: ToolCtx, args: ListRlsArgs) -> Result<RlsRuleList, ToolError> {
    let mut conn = ctx.app.db.conn().await?;
    let role = args
        .role
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    let role_id = match &role {
        None => None,
        Some(name) => Some(
            crate::db::models::visible_roles(&mut conn, ctx.principal.tenant.as_deref())
                .await?
                .into_iter()
                .find(|(_, n)| n == name)
                .map(|(id, _)| id)
                .ok_or_else(|| {
                    ToolError::not_found("role", name).with_details(
                        json!({"field": "role", "object": "role", "identifier": name}),
                    )
                })?,
        ),
    };
    let rows = RlsRule::list(
        &mut conn,
        ctx.principal.tenant.as_deref(),
        args.dataset_id,
        role_id,
    )
    .await?;
    let ids: Vec<i32> = rows.iter().map(|r| r.id).collect();
    let ds = RlsRule::datasets_of(&mut conn, ids.clone()).await?;
    let rs = RlsRule::roles_of(&mut conn, ids).await?;
    let items = rows
        .into_iter()
        .map(|r| RlsRuleItem {
            datasets: ds
                .iter()
                .filter(|d| d.0 == r.id)
                .map(|d| RlsDataset {
                    id: d.1,
                    table_name: d.2.clone(),
                })
                .collect(),
            roles: rs
                .iter()
                .filter(|x| x.0 == r.id)
                .map(|x| x.1.clone())
                .collect(),
            id: r.id,
            uuid: r.uuid,
            name: r.name,
            filter_type: r.filter_type,
            group_key: r.group_key,
            clause: r.clause,
            description: r.description,
            created_on: super::fmt_time(r.created_on),
            changed_on: super::fmt_time(r.changed_on),
        })
        .collect();
    let (items, truncated) =
        crate::query::list::fit_in_envelope(items, ctx.app.config.limits.response_bytes);
    Ok(RlsRuleList {
        count: items.len(),
        items,
        truncated,
    })
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteRlsArgs {
    /// The rule's id (or give name).
    pub id: Option<i32>,
    /// The rule's name (or give id).
    pub name: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RlsRuleDeleted {
    pub id: i32,
    pub name: String,
    pub deleted: bool,
}

async fn delete_rls_rule(ctx: ToolCtx, args: DeleteRlsArgs) -> Result<RlsRuleDeleted, ToolError> {
    let name = args
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    if name.is_some() == args.id.is_some() {
        return Err(ToolError::invalid(
            "id: name the rule with either id or name (one of them, not both).",
        )
        .with_details(json!({"field": "id"})));
    }
    let mut conn = ctx.app.db.conn().await?;
    let found = RlsRule::find(
        &mut conn,
        ctx.principal.tenant.as_deref(),
        args.id,
        name.as_deref(),
    )
    .await?;
    let Some((id, rule_name)) = found else {
        let (field, ident) = match (&name, args.id) {
            (Some(n), _) => ("name", n.clone()),
            (None, id) => ("id", id.unwrap_or_default().to_string()),
        };
        return Err(
            ToolError::not_found("RLS rule", &ident).with_details(json!({
                "field": field, "object": "RLS rule", "identifier": ident,
                "fix": "list_rls_rules shows the rules.",
            })),
        );
    };
    RlsRule::delete(&mut conn, id).await?;
    Ok(RlsRuleDeleted {
        id,
        name: rule_name,
        deleted: true,
    })
}

/// Scopes an API key may carry.
fn check_scopes(scopes: &[String]) -> Result<(), ToolError> {
    let allowed = crate::auth::Permission::SCOPES;
    if let Some(bad) = scopes.iter().find(|s| !allowed.contains(&s.as_str())) {
        return Err(ToolError::invalid_field(
            "scopes",
            format!("'{bad}' is not a scope."),
            &allowed,
            Some(bad),
        ));
    }
    Ok(())
}

/// A new API key for `username` (who must be of `tenant`, when given); the key itself is
/// returned once and stored only hashed.
pub async fn issue_api_key(
    conn: &mut crate::db::MetaConn,
    username: &str,
    name: &str,
    scopes: &[String],
    expires_in_days: Option<u32>,
    created_by: Option<i32>,
    tenant: Option<&str>,
) -> Result<(String, i32, String), ToolError> {
    check_scopes(scopes)?;
    let user = crate::db::models::User::by_username(conn, username, tenant)
        .await?
        .ok_or_else(|| ToolError::not_found("user", username))?;
    let (secret, prefix, hash) = crate::auth::api_keys::generate()
        .map_err(|_| ToolError::internal("no randomness for an API key"))?;
    let at = now();
    let expires = expires_in_days.map(|d| at + chrono::Duration::days(i64::from(d)));
    let scopes_text = scopes.join(" ");
    let id = ApiKey::create(
        conn,
        &NewApiKey {
            user_id: user.id,
            name,
            prefix: &prefix,
            key_hash: &hash,
            scopes: &scopes_text,
            created_on: at,
            created_by_fk: created_by,
            expires_on: expires,
        },
    )
    .await?;
    Ok((secret.expose().to_string(), id, prefix))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyArgs {
    /// User it acts as.
    pub username: String,
    /// What the key is for.
    pub name: String,
    /// vizier:read, vizier:write, vizier:sql, vizier:admin; empty: the user's roles decide.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Days to expiry; omit for none.
    pub expires_in_days: Option<u32>,
}

#[derive(Serialize, JsonSchema)]
pub struct KeyCreated {
    pub id: i32,
    pub prefix: String,
    /// The key. Shown once: store it now.
    pub api_key: String,
}

async fn create_api_key(ctx: ToolCtx, args: CreateKeyArgs) -> Result<KeyCreated, ToolError> {
    let mut conn = ctx.app.db.conn().await?;
    let (key, id, prefix) = issue_api_key(
        &mut conn,
        &args.username,
        &args.name,
        &args.scopes,
        args.expires_in_days,
        Some(ctx.principal.user_id),
        ctx.principal.tenant.as_deref(),
    )
    .await?;
    Ok(KeyCreated {
        id,
        prefix,
        api_key: key,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeKeyArgs {
    /// The key's id.
    pub id: i32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyRevoked {
    pub id: i32,
    pub revoked: bool,
}

async fn revoke_api_key(ctx: ToolCtx, args: RevokeKeyArgs) -> Result<KeyRevoked, ToolError> {
    let mut conn = ctx.app.db.conn().await?;
    // With a tenant, only keys of the tenant's users.
    let revoked =
        ApiKey::revoke(&mut conn, args.id, ctx.principal.tenant.as_deref(), now()).await?;
    if !revoked {
        return Err(ToolError::not_found("active API key", args.id));
    }
    Ok(KeyRevoked {
        id: args.id,
        revoked: true,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

async fn list_api_keys(
    ctx: ToolCtx,
    _args: NoArgs,
) -> Result<serde_json::Map<String, serde_json::Value>, ToolError> {
    let mut conn = ctx.app.db.conn().await?;
    let rows = ApiKey::list(&mut conn, ctx.principal.tenant.as_deref()).await?;
    let t = |x: Option<chrono::NaiveDateTime>| x.map(super::fmt_time);
    let items: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|k| {
            json!({"id": k.id, "name": k.name, "prefix": k.prefix, "username": k.username, "scopes": k.scopes.split_whitespace().collect::<Vec<_>>(),
                   "created_on": super::fmt_time(k.created_on), "expires_on": t(k.expires_on), "last_used_on": t(k.last_used_on), "revoked_on": t(k.revoked_on)})
        })
        .collect();
    let mut out = serde_json::Map::new();
    out.insert("count".into(), json!(items.len()));
    out.insert("items".into(), serde_json::Value::Array(items));
    Ok(out)
}

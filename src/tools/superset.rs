//! Superset interoperability tools: `import_superset_bundle` (admin), `export_dashboard` and
//! `export_charts`, and the functions `vizier superset import|export` share with them.
//!
//! The bundle work is in `crate::superset`; here are what needs the running app: deciding
//! which vizier database each bundle database becomes (by UUID, by name, or from a given
//! URL, tested before anything is written) and checking what the caller may export.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Hints, Registry, ToolCtx, tool};
use crate::actors::PoolKind;
use crate::auth::Permission;
use crate::config::Config;
use crate::datasources::{Engine, SourceConfig, SourcePool};
use crate::db::MetaConn;
use crate::db::dashboards::{Dashboard, DashboardKey};
use crate::db::databases::Database;
use crate::db::secrets::Cipher;
use crate::error::ToolError;
use crate::query::catalog::Access;
use crate::query::list::{DeletedState, Ident};
use crate::superset::bundle::{Bundle, Limits};
use crate::superset::export::Exported;
use crate::superset::import::{DbTarget, Report};
use crate::superset::mapping::{SourceUrl, source_url};

pub fn register(r: &mut Registry) {
    r.add(tool(
        "import_superset_bundle",
        "Import Superset bundle",
        "Import a Superset export ZIP (base64, or path under superset.bundle_dirs) in one transaction; re-import updates by UUID. Reports items skipped or partial.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::DESTRUCTIVE,
        import_tool,
    ));
    r.add(tool(
        "export_dashboard",
        "Export dashboard",
        "A dashboard, its charts, datasets and databases as a Superset ZIP (base64).",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        export_dashboard,
    ));
    r.add(tool(
        "export_charts",
        "Export charts",
        "Charts, their datasets and databases as a Superset ZIP (base64).",
        PoolKind::Catalog,
        Permission::CatalogRead,
        Hints::READ,
        export_charts,
    ));
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportArgs {
    /// The ZIP, base64 (or give path).
    pub bundle: Option<String>,
    /// A ZIP file inside a superset.bundle_dirs directory.
    pub path: Option<String>,
    /// Database name: URL, if masked or unknown.
    #[serde(default)]
    pub database_urls: BTreeMap<String, String>,
}

// The URLs hold passwords: never derive Debug.
impl std::fmt::Debug for ImportArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportArgs").finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportDashboardArgs {
    /// id, uuid or slug
    pub identifier: Value,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportChartsArgs {
    /// ids or uuids
    pub identifiers: Vec<Value>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BundleOut {
    /// The ZIP, base64.
    pub bundle: String,
    pub file_name: String,
    pub exported: Exported,
}

/// A URL as given on the command line or in `database_urls`: vizier's form, or a SQLAlchemy
/// URI (`postgresql+psycopg2://`, `sqlite:////abs.db`, …).
fn given_url(url: &str) -> Result<String, ToolError> {
    let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or_default();
    if scheme.contains('+') || url.starts_with("sqlite:////") {
        return match source_url(url) {
            SourceUrl::Url(u) => Ok(u),
            SourceUrl::Masked => Err(ToolError::invalid(
                "database_urls: the URL still has Superset's masked password XXXXXXXXXX; give the real one.",
            )),
            SourceUrl::Unusable(why) => Err(ToolError::invalid(format!("database_urls: {why}."))),
        };
    }
    Ok(url.to_string())
}

/// Test a URL (the same checks as registering a database) and encrypt it.
async fn tested(
    config: &Config,
    cipher: &Cipher,
    name: &str,
    url: &str,
) -> Result<(String, String), ToolError> {
    let engine = Engine::from_url(url).map_err(|e| {
        ToolError::invalid(format!("database '{name}': {e}"))
            .with_details(json!({"field": "database_urls"}))
    })?;
    if engine == Engine::Sqlite {
        super::admin::check_sqlite_path(
            url,
            &config.datasources.sqlite_dirs,
            config.metadata.url.expose(),
        )
        .map_err(|e| ToolError::invalid(format!("database '{name}': {}", e.message)))?;
    }
    let pool = SourcePool::connect(SourceConfig {
        url: url.to_string(),
        pool_size: 1,
        statement_timeout_ms: 30_000,
        allow_dml: false,
        exposed_schemas: vec![],
    })
    .await
    .map_err(|e| crate::actors::datasource::source_error(name, e))?;
    drop(pool);
    let encrypted = cipher.encrypt(url).map_err(ToolError::internal)?;
    Ok((engine.as_str().to_string(), encrypted))
}

/// Decide where each bundle database goes: a URL given by name or uuid (tested), else the
/// registered database of that uuid or name, else the bundle's own URI when it is usable.
async fn targets(
    config: &Config,
    cipher: &Cipher,
    conn: &mut MetaConn,
    bundle: &Bundle,
    urls: &BTreeMap<String, String>,
    tenant: Option<&str>,
) -> Result<HashMap<String, DbTarget>, ToolError> {
    let tenant_s = tenant.map(str::to_owned);
    let known = Database::all_keys(conn).await?;
    for key in urls.keys() {
        if !bundle
            .databases
            .iter()
            .any(|(_, d)| &d.database_name == key || d.uuid.eq_ignore_ascii_case(key))
        {
            let names: Vec<&str> = bundle
                .databases
                .iter()
                .map(|(_, d)| d.database_name.as_str())
                .collect();
            return Err(ToolError::invalid_field(
                "database_urls",
                format!(
                    "'{key}' names no database of the bundle; its databases: {}.",
                    names.join(", ")
                ),
                &names,
                Some(key),
            ));
        }
    }
    let mut out = HashMap::new();
    for (path, d) in &bundle.databases {
        let key = d.uuid.to_ascii_lowercase();
        let by_uuid = known.iter().find(|k| k.uuid.eq_ignore_ascii_case(&key));
        if let Some(k) = by_uuid
            && k.tenant != tenant_s
        {
            return Err(ToolError::conflict(format!(
                "bundle: database {key} exists in vizier outside your tenant."
            )));
        }
        let by_name = known
            .iter()
            .find(|k| k.name == d.database_name && k.tenant == tenant_s);
        let existing = by_uuid.or(by_name).map(|k| k.id);
        let given = urls.get(&d.database_name).or_else(|| {
            urls.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&key))
                .map(|(_, v)| v)
        });
        let target = match (given, existing) {
            (Some(url), existing) => {
                let url = given_url(url)?;
                let (engine, enc) = tested(config, cipher, &d.database_name, &url).await?;
                match existing {
                    Some(id) => DbTarget::Existing {
                        id,
                        connection: Some((engine, enc)),
                    },
                    None => new_target(&d.database_name, engine, enc)?,
                }
            }
            (None, Some(id)) => DbTarget::Existing {
                id,
                connection: None,
            },
            (None, None) => {
                let how = format!(
                    "Register it first (`vizier database register --name '{0}' --url URL`), or give its URL: `--database-url '{0}=URL'` (tool: database_urls {{\"{0}\": URL}}).",
                    d.database_name
                );
                match source_url(&d.sqlalchemy_uri) {
                    SourceUrl::Url(url) => {
                        let (engine, enc) = tested(config, cipher, &d.database_name, &url)
                            .await
                            .map_err(|e| ToolError::invalid(format!("{} {how}", e.message)))?;
                        new_target(&d.database_name, engine, enc)?
                    }
                    SourceUrl::Masked => {
                        return Err(crate::superset::bundle::bad(
                            path,
                            format_args!(
                                "database '{}' has Superset's masked password and matches no vizier database by uuid or name",
                                d.database_name
                            ),
                            &how,
                        ));
                    }
                    SourceUrl::Unusable(why) => {
                        return Err(crate::superset::bundle::bad(
                            path,
                            format_args!("database '{}': {why}", d.database_name),
                            &how,
                        ));
                    }
                }
            }
        };
        out.insert(key, target);
    }
    Ok(out)
}

fn new_target(
    name: &str,
    engine: String,
    connection_encrypted: String,
) -> Result<DbTarget, ToolError> {
    // Default settings; DML stays off whatever Superset allowed.
    let settings: crate::datasources::settings::SourceSettings =
        serde_json::from_str("{}").map_err(ToolError::internal)?;
    Ok(DbTarget::New {
        name: name.to_string(),
        engine,
        connection_encrypted,
        settings: serde_json::to_string(&settings).map_err(ToolError::internal)?,
    })
}

/// Read, plan and import a bundle (tool and CLI).
pub async fn import_bundle(
    config: &Config,
    cipher: &Cipher,
    conn: &mut MetaConn,
    zip: &[u8],
    urls: &BTreeMap<String, String>,
    user: Option<i32>,
    tenant: Option<&str>,
) -> Result<Report, ToolError> {
    let bundle = Bundle::read(zip, &Limits::default())?;
    let targets = targets(config, cipher, conn, &bundle, urls, tenant).await?;
    crate::superset::import::import(conn, &bundle, &targets, user, tenant).await
}

async fn import_tool(ctx: ToolCtx, args: ImportArgs) -> Result<Report, ToolError> {
    let zip = match (&args.bundle, &args.path) {
        (Some(b), None) => base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .map_err(|e| {
                ToolError::invalid(format!(
                    "bundle: not base64 ({e}); send the ZIP's bytes base64-encoded."
                ))
                .with_details(json!({"field": "bundle"}))
            })?,
        (None, Some(p)) => read_bundle_file(p, &ctx.app.config.superset.bundle_dirs).await?,
        _ => {
            return Err(ToolError::invalid(
                "bundle/path: give exactly one: the ZIP base64-encoded as bundle, or the path of a ZIP file under superset.bundle_dirs.",
            )
            .with_details(json!({"field": "bundle"})));
        }
    };
    let mut conn = ctx.app.db.conn().await?;
    import_bundle(
        &ctx.app.config,
        &ctx.app.cipher,
        &mut conn,
        &zip,
        &args.database_urls,
        Some(ctx.principal.user_id),
        ctx.principal.tenant.as_deref(),
    )
    .await
}

/// The bytes of a bundle file, which must be a regular file inside one of `allowed` (links
/// resolved first, so none leads out) and no larger than a bundle may be.
async fn read_bundle_file(raw: &str, allowed: &[std::path::PathBuf]) -> Result<Vec<u8>, ToolError> {
    let refuse = |why: String| {
        ToolError::invalid(format!("path: {why}"))
            .with_details(json!({"field": "path", "allowed_dirs": allowed}))
    };
    if allowed.is_empty() {
        return Err(refuse(
            "importing by path is off: set superset.bundle_dirs (VIZIER_SUPERSET__BUNDLE_DIRS), or send the ZIP base64-encoded as bundle.".into(),
        ));
    }
    let path = std::path::Path::new(raw.trim());
    if !path.is_absolute() {
        return Err(refuse(format!(
            "'{}' is not absolute; give the full path of the ZIP.",
            path.display()
        )));
    }
    let real = path
        .canonicalize()
        .map_err(|_| refuse(format!("no file at {}.", path.display())))?;
    if !crate::config::within_dirs(&real, allowed) {
        return Err(refuse(
            "the file is outside the directories allowed by superset.bundle_dirs.".into(),
        ));
    }
    let meta = tokio::fs::metadata(&real)
        .await
        .map_err(|e| refuse(format!("cannot read {}: {e}.", path.display())))?;
    let max = Limits::default().max_zip_bytes;
    if !meta.is_file() {
        return Err(refuse(format!("{} is not a file.", path.display())));
    }
    if meta.len() > max {
        return Err(refuse(format!(
            "{} is {} bytes; a bundle may be at most {max}.",
            path.display(),
            meta.len()
        )));
    }
    tokio::fs::read(&real)
        .await
        .map_err(|e| refuse(format!("cannot read {}: {e}.", path.display())))
}

fn bundle_out(zip: Vec<u8>, exported: Exported, stem: &str) -> BundleOut {
    BundleOut {
        bundle: base64::engine::general_purpose::STANDARD.encode(zip),
        file_name: format!("{stem}.zip"),
        exported,
    }
}

async fn export_dashboard(ctx: ToolCtx, args: ExportDashboardArgs) -> Result<BundleOut, ToolError> {
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let ident = Ident::parse(&args.identifier, true)?;
    let d = super::dashboards::find(&mut conn, &access, &ident, DeletedState::Exclude).await?;
    // Only the charts the caller may see go out.
    let (zip, exported) =
        crate::superset::export::export(&mut conn, &ctx.app.cipher, &[d.id], &[], Some(&access))
            .await?;
    Ok(bundle_out(zip, exported, &format!("dashboard_{}", d.id)))
}

async fn export_charts(ctx: ToolCtx, args: ExportChartsArgs) -> Result<BundleOut, ToolError> {
    if args.identifiers.is_empty() || args.identifiers.len() > 500 {
        return Err(
            ToolError::invalid("identifiers: give 1 to 500 chart ids or uuids.")
                .with_details(json!({"field": "identifiers"})),
        );
    }
    let mut conn = ctx.app.db.conn().await?;
    let access = Access::load(&mut conn, &ctx.principal).await?;
    let mut ids = Vec::new();
    for v in &args.identifiers {
        let ident = Ident::parse(v, false)?;
        ids.push(
            super::charts::find(&mut conn, &access, &ident, DeletedState::Exclude)
                .await?
                .id,
        );
    }
    let (zip, exported) =
        crate::superset::export::export(&mut conn, &ctx.app.cipher, &[], &ids, Some(&access))
            .await?;
    Ok(bundle_out(zip, exported, "charts"))
}

/// The CLI's export: a dashboard by id, uuid or slug (no tenant), as ZIP bytes.
pub async fn export_for_cli(
    conn: &mut MetaConn,
    cipher: &Cipher,
    dashboard: &str,
) -> Result<(Vec<u8>, Exported), ToolError> {
    let ident = Ident::parse(&Value::String(dashboard.to_string()), true)?;
    let key = match &ident {
        Ident::Id(i) => DashboardKey::Id(*i),
        Ident::Uuid(u) => DashboardKey::Uuid(u),
        Ident::Slug(s) => DashboardKey::Slug(s),
    };
    let id = Dashboard::live_id(conn, key).await?;
    let id = id.ok_or_else(|| ToolError::not_found("dashboard", &ident))?;
    crate::superset::export::export(conn, cipher, &[id], &[], None).await
}

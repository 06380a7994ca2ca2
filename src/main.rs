//! The `vizier` command: `serve` (HTTP), `stdio` (desktop clients), `migrate`, and the
//! operator's one-off commands (`user`, `api-key`, `database`, `tenant`).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use clap::{Parser, Subcommand};
use vizier::config::Config;

/// mimalloc instead of glibc's allocator: the service allocates and frees many short-lived
/// buffers across threads (JSON values, result rows, encoded pictures), where glibc's
/// allocator showed up at the top of CPU profiles under load (see issue notes).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "vizier",
    version,
    about = "An MCP server for business intelligence"
)]
struct Cli {
    /// Configuration file (TOML); see config/default.toml for every key.
    #[arg(long, global = true, env = "VIZIER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve MCP over HTTP at /mcp, with /health, /ready and /metrics.
    Serve {
        /// Listen on this address (IP:PORT, or an IP keeping the configured port); overrides
        /// server.bind. A non-loopback address needs auth on.
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
        /// Listen on this port; overrides the port of server.bind (and of --bind).
        #[arg(long, value_name = "N")]
        port: Option<u16>,
    },
    /// Serve MCP over stdin/stdout for a desktop client (logs go to stderr).
    Stdio,
    /// Apply pending metadata-store migrations and exit.
    Migrate,
    /// Manage API keys.
    #[command(name = "api-key", subcommand)]
    ApiKey(ApiKeyCommand),
    /// Manage data sources.
    #[command(name = "database", subcommand)]
    Database(DatabaseCommand),
    /// Manage tenants (auth.tenants).
    #[command(name = "tenant", subcommand)]
    Tenant(TenantCommand),
    /// Manage users (the first admin, before anyone can sign in).
    #[command(name = "user", subcommand)]
    User(UserCommand),
    /// Import and export Superset bundles.
    #[command(name = "superset", subcommand)]
    Superset(SupersetCommand),
    /// Apply pending migrations (with metadata.auto_migrate) and generate the example data
    /// where it is missing: what a first `serve` or `stdio` runs as a child process (see
    /// `prepare_apart`).
    #[command(name = "prepare", hide = true)]
    Prepare,
}

#[derive(Subcommand)]
enum SupersetCommand {
    /// Import a Superset export ZIP in one transaction; re-importing updates in place.
    Import {
        file: PathBuf,
        /// NAME=URL (name or uuid of a bundle database): its URL, for masked or unknown ones.
        #[arg(long = "database-url", value_name = "NAME=URL")]
        database_urls: Vec<String>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Export a dashboard (id, uuid or slug) with its charts, datasets and databases.
    Export {
        #[arg(long)]
        dashboard: String,
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user with these roles, as the create_user tool does. Idempotent: a user that
    /// exists with the same roles is left alone (exit 0); one with other roles is refused
    /// (exit 1) and not changed.
    Create {
        /// The username: what tokens name in preferred_username, username, email or sub.
        name: String,
        /// A role (built-in admin, alpha, gamma, sql_lab, or a custom one); repeat for more.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        email: Option<String>,
        /// The tenant the user belongs to (auth.tenants); without it, the first token's.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List users with their roles.
    List {
        /// Only this tenant's users.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Give every user, database, dashboard and RLS rule that belongs to no tenant to TENANT
    /// (datasets, charts, saved queries and history follow their database). For switching
    /// tenants on over an existing store.
    Adopt {
        /// The tenant, as tokens name it in their tenant_id claim.
        tenant: String,
    },
}

#[derive(Subcommand)]
enum DatabaseCommand {
    /// Register a data source (the connection is tested first; the URL is stored encrypted).
    Register {
        /// A unique name.
        #[arg(long)]
        name: String,
        /// postgres://…, mysql://… or sqlite:///abs/path.db; better passed in the environment.
        #[arg(long, env = "VIZIER_SOURCE_URL", hide_env_values = true)]
        url: String,
        /// Allow execute_sql to change data.
        #[arg(long)]
        allow_dml: bool,
        #[arg(long)]
        description: Option<String>,
        /// The tenant that owns it (auth.tenants).
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create an API key acting as a user; prints the key (shown once).
    Create {
        /// The user the key acts as.
        #[arg(long)]
        user: String,
        /// What the key is for.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Space-separated scopes (vizier:read vizier:write vizier:sql vizier:admin); empty: roles decide.
        #[arg(long, default_value = "")]
        scopes: String,
        /// Days until it expires.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

fn main() -> std::process::ExitCode {
    // Transparent huge pages off for this process (before much is allocated): mimalloc's
    // arena is advised for them, so a 2 MiB page is charged whole for the few KiB a worker
    // touches in it, and idle RSS doubled (61 MB with, 37 MB without, on a later start).
    // Redis and most databases ask for the same. A kernel without the call changes nothing.
    #[cfg(target_os = "linux")]
    let thp = nix::sys::prctl::set_thp_disable(true);
    let cli = Cli::parse();
    let config = match Config::load_with(cli.config.as_deref(), |config| match &cli.command {
        Command::Serve { bind, port } => config.override_bind(bind.as_deref(), *port),
        _ => Ok(()),
    })
    .and_then(|config| vizier::auth::jwt::validate_config(&config).map(|()| config))
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vizier: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    vizier::observability::logging::init(&config.logging);
    #[cfg(target_os = "linux")]
    if let Err(e) = thp {
        tracing::debug!(error = %e, "transparent huge pages stay as the kernel sets them");
    }
    let serving = matches!(cli.command, Command::Serve { .. });
    if serving || matches!(cli.command, Command::Stdio) {
        prepare_apart(&config, cli.config.as_deref());
    }
    let system = actix_web::rt::System::new();
    let result = system.block_on(run(cli.command, config));
    if serving && result.is_ok() {
        // `serve` has drained within `server.shutdown_grace_ms`. Dropping the System would
        // wait for whatever still runs (a blocking task the runtime joins on drop, a
        // connection actix did not close in time) and hold the exit past the grace that
        // Kubernetes and the operator were promised: end the process here instead.
        std::process::exit(0);
    }
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "vizier stopped");
            eprintln!("vizier: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// On a first start of the embedded default (no example data file yet), the work only a
/// first start does — the migrations and the example data — runs in a child process of this
/// binary (`vizier prepare`) rather than in the server: SQLite allocates through the C
/// library, whose allocator keeps much of what that work frees (its page cache, the index
/// builds' sorts), and the code it runs stays mapped in. Both left a first start ~6 MB
/// larger for good. When the child cannot be started or fails, the server does the work
/// itself as before (`app::build`, which reports any error). Later starts run no child, and
/// only look for the file here: whether it is whole is checked once, by `app::build`.
fn prepare_apart(config: &Config, config_file: Option<&Path>) {
    if !config.examples_enabled() || config.examples.path.exists() {
        return;
    }
    let started = std::time::Instant::now();
    let status = std::env::current_exe().and_then(|exe| {
        let mut child = std::process::Command::new(exe);
        if let Some(file) = config_file {
            child.arg("--config").arg(file);
        }
        child
            .arg("prepare")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
    });
    match status {
        Ok(status) if status.success() => tracing::info!(
            duration_ms = started.elapsed().as_millis() as u64,
            "prepared the first start in a child process (migrations, example data)"
        ),
        Ok(status) => tracing::warn!(
            %status,
            "preparing the first start in a child process failed; the server does it itself"
        ),
        Err(e) => tracing::warn!(
            error = %e,
            "could not start a child process to prepare the first start; the server does it itself"
        ),
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Migrate => {
            let applied = vizier::db::run_migrations(&config).await?;
            if applied.is_empty() {
                println!("metadata store is up to date");
            } else {
                println!(
                    "applied {} migration(s): {}",
                    applied.len(),
                    applied.join(", ")
                );
            }
            Ok(())
        }
        Command::ApiKey(ApiKeyCommand::Create {
            user,
            name,
            scopes,
            expires_in_days,
        }) => {
            let scopes: Vec<String> = scopes.split_whitespace().map(str::to_owned).collect();
            let (key, id) =
                vizier::app::create_api_key(&config, &user, &name, &scopes, expires_in_days)
                    .await?;
            eprintln!("created API key {id} for {user}; it is shown once:");
            println!("{key}");
            Ok(())
        }
        Command::Database(DatabaseCommand::Register {
            name,
            url,
            allow_dml,
            description,
            tenant,
        }) => {
            let registered = vizier::app::register_database(
                &config,
                name,
                url,
                description,
                allow_dml,
                tenant.as_deref(),
            )
            .await?;
            println!(
                "registered database {} '{}' ({})",
                registered.id, registered.database_name, registered.backend
            );
            Ok(())
        }
        Command::Tenant(TenantCommand::Adopt { tenant }) => {
            let mut conn = vizier::app::command_store(&config).await?;
            let adopted = vizier::db::models::adopt(&mut conn, &tenant)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            println!(
                "tenant '{tenant}' adopted {} user(s), {} database(s), {} dashboard(s), {} RLS rule(s)",
                adopted[0], adopted[1], adopted[2], adopted[3]
            );
            Ok(())
        }
        Command::User(UserCommand::Create {
            name,
            roles,
            email,
            tenant,
        }) => {
            let (user, created) =
                vizier::app::create_user(&config, name, roles, email, tenant.as_deref()).await?;
            let roles = user.roles.join(", ");
            if created {
                println!(
                    "created user '{}' (id {}) with roles {roles}",
                    user.username, user.id
                );
            } else {
                println!(
                    "user '{}' (id {}) exists already with roles {roles}; nothing changed",
                    user.username, user.id
                );
            }
            Ok(())
        }
        Command::User(UserCommand::List { tenant }) => {
            let users = vizier::app::list_users(&config, tenant.as_deref()).await?;
            for u in &users {
                println!(
                    "{}\t{}\t{}\t{}",
                    u.username,
                    u.roles.join(","),
                    if u.active { "active" } else { "inactive" },
                    u.email.as_deref().unwrap_or("-")
                );
            }
            eprintln!("{} user(s)", users.len());
            Ok(())
        }
        Command::Superset(SupersetCommand::Import {
            file,
            database_urls,
            tenant,
        }) => {
            let zip = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let mut urls = std::collections::BTreeMap::new();
            for pair in database_urls {
                let Some((name, url)) = pair.split_once('=') else {
                    anyhow::bail!("--database-url takes NAME=URL, got '{pair}'");
                };
                urls.insert(name.to_string(), url.to_string());
            }
            let report =
                vizier::app::superset_import(&config, &zip, &urls, tenant.as_deref()).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Superset(SupersetCommand::Export { dashboard, output }) => {
            let (zip, exported) = vizier::app::superset_export(&config, &dashboard).await?;
            std::fs::write(&output, &zip)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
            eprintln!(
                "wrote {} ({} dashboard(s), {} chart(s), {} dataset(s), {} database(s), {} bytes)",
                output.display(),
                exported.dashboards,
                exported.charts,
                exported.datasets,
                exported.databases,
                exported.bytes
            );
            Ok(())
        }
        Command::Serve { .. } => {
            let app = vizier::app::build(config).await?;
            let running = vizier::app::http_server(app)?;
            tracing::info!(addr = %running.addr, "serving MCP at http://{}/mcp", running.addr);
            vizier::app::serve_until_signal(running).await
        }
        Command::Prepare => vizier::app::prepare(&config).await,
        Command::Stdio => {
            let app = vizier::app::build(config).await?;
            vizier::mcp::stdio::serve(app).await
        }
    }
}

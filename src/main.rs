//! The `vizier` command: `serve` (HTTP), `stdio` (desktop clients), `migrate`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use vizier::config::Config;

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
    Serve,
    /// Serve MCP over stdin/stdout for a desktop client (logs go to stderr).
    Stdio,
    /// Apply pending metadata-store migrations and exit.
    Migrate,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vizier: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    vizier::observability::logging::init(&config.logging);
    let system = actix_web::rt::System::new();
    let result = system.block_on(run(cli.command, config));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "vizier stopped");
            eprintln!("vizier: {e:#}");
            std::process::ExitCode::FAILURE
        }
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
        Command::Serve => {
            let app = vizier::app::build(config).await?;
            let running = vizier::app::http_server(app)?;
            tracing::info!(addr = %running.addr, "serving MCP at http://{}/mcp", running.addr);
            vizier::app::serve_until_signal(running).await
        }
        Command::Stdio => {
            let app = vizier::app::build(config).await?;
            vizier::mcp::stdio::serve(app).await
        }
    }
}

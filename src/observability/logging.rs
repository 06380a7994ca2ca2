//! Logs through `tracing`: JSON when stderr is not a terminal (or `logging.format = json`),
//! human-readable on a terminal. Always to stderr, so `vizier stdio` keeps stdout for the
//! protocol. `RUST_LOG` overrides `logging.level`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LoggingConfig;

/// rmcp logs three info lines for every request of a stateless server (session start with
/// the whole client description, stream end, serve end): noise that cost ~15% of throughput.
/// Its warnings still show; name `rmcp` in `logging.level` to see more.
const QUIET_CRATES: &str = "rmcp=warn";

/// The filter directives for `level`: the configured ones, plus [`QUIET_CRATES`] unless
/// the configuration already names rmcp.
pub fn directives(level: &str) -> String {
    if level.contains("rmcp") || matches!(level.trim(), "off" | "error" | "warn") {
        level.to_string()
    } else {
        format!("{level},{QUIET_CRATES}")
    }
}

pub fn init(config: &LoggingConfig) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(directives(&config.level)));
    let json = match config.format.as_str() {
        "json" => true,
        "text" => false,
        _ => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests start several apps in one process) keeps the first subscriber.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rmcp_is_quiet_unless_named() {
        assert_eq!(directives("info"), "info,rmcp=warn");
        assert_eq!(directives("info,rmcp=debug"), "info,rmcp=debug");
        assert_eq!(directives("off"), "off", "off stays off");
        EnvFilter::try_new(directives("vizier=debug,info")).expect("valid directives");
    }
}

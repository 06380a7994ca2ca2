//! Logs through `tracing`: JSON when stderr is not a terminal (or `logging.format = json`),
//! human-readable on a terminal. Always to stderr, so `vizier stdio` keeps stdout for the
//! protocol. `RUST_LOG` overrides `logging.level`.
//!
//! One thing is changed on the way: actix-http reports a connection it gave up on — a
//! request head it could not parse (an invalid header, a bad request line) or a client that
//! broke off — as an ERROR event, `stream error: …` of target `actix_http::h1::dispatcher`.
//! That is the client's doing, not the server's, and ERROR lines page people: such events
//! are logged again at debug level (target `vizier::http`, "client connection error"),
//! counted in `vizier_http_client_errors_total`, and the ERROR line is left out.

use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LoggingConfig;

/// Where actix-http's HTTP/1 connection errors come from.
const ACTIX_DISPATCHER: &str = "actix_http::h1::dispatcher";
/// Client connection errors (malformed requests, broken connections), see the module doc.
const CLIENT_ERRORS: &str = "vizier_http_client_errors_total";

/// An actix-http ERROR event about one client's connection (see the module doc).
fn is_client_connection_error(meta: &Metadata<'_>) -> bool {
    *meta.level() == Level::ERROR && meta.target() == ACTIX_DISPATCHER
}

/// Logs actix-http's client connection errors again at debug level, and counts them.
struct DemoteClientErrors;

/// The `message` field of an event.
struct MessageOf<'a>(&'a mut String);

impl Visit for MessageOf<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for DemoteClientErrors {
    /// The debug event is dispatched from inside this one: tracing delivers it through the
    /// global subscriber (`init`), not through a scoped one (`with_default`), which drops
    /// events raised while it dispatches.
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if !is_client_connection_error(event.metadata()) {
            return;
        }
        let mut message = String::new();
        event.record(&mut MessageOf(&mut message));
        metrics::counter!(CLIENT_ERRORS).increment(1);
        tracing::debug!(target: "vizier::http", error = %message, "client connection error");
    }
}

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
    // A second init (tests start several apps in one process) keeps the first subscriber.
    let _ = subscriber(filter, json, std::io::stderr).try_init();
}

/// The subscriber `init` installs, writing to `writer`.
fn subscriber<W>(filter: EnvFilter, json: bool, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let lines = tracing_subscriber::fmt::layer().with_writer(writer);
    let lines = if json {
        lines
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .boxed()
    } else {
        lines.boxed()
    };
    // The demoting layer goes last (outermost): it raises its debug event while the ERROR
    // event is being dispatched, after the lines layer has already left that one out.
    tracing_subscriber::registry()
        .with(filter)
        .with(lines.with_filter(filter_fn(|meta| !is_client_connection_error(meta))))
        .with(DemoteClientErrors)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer the log lines go to.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<serde_json::Value> {
            let bytes = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            String::from_utf8_lossy(&bytes)
                .lines()
                .map(|l| serde_json::from_str(l).expect("a JSON line"))
                .collect()
        }
    }

    /// The lines `level` logs for actix-http's error about an invalid header, and for a
    /// server error next to it.
    fn logged(level: &str) -> Vec<serde_json::Value> {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = subscriber(EnvFilter::new(directives(level)), true, move || {
            writer.clone()
        });
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(target: "actix_http::h1::dispatcher", "stream error: Invalid header provided");
            tracing::error!(target: "vizier::app", "a real server error");
        });
        out.lines()
    }

    /// The debug line that replaces it is checked through the binary (tests/integration/
    /// cli.rs): a scoped subscriber, as here, drops events raised while it dispatches.
    #[test]
    fn invalid_client_headers_are_not_error_lines() {
        let lines = logged("info");
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["level"], "ERROR");
        assert_eq!(lines[0]["message"], "a real server error");
        let lines = logged("trace");
        assert!(
            !lines
                .iter()
                .any(|l| l["level"] == "ERROR" && l["target"] == "actix_http::h1::dispatcher"),
            "{lines:?}"
        );
    }

    #[test]
    fn rmcp_is_quiet_unless_named() {
        assert_eq!(directives("info"), "info,rmcp=warn");
        assert_eq!(directives("info,rmcp=debug"), "info,rmcp=debug");
        assert_eq!(directives("off"), "off", "off stays off");
        EnvFilter::try_new(directives("vizier=debug,info")).expect("valid directives");
    }
}

//! `loadgen` — closed-loop load generator for any MCP server speaking Streamable HTTP.
//!
//! Built as a `[[bench]] harness = false` target so it can be run with
//!
//! ```text
//! cargo bench --bench loadgen -- --url http://127.0.0.1:8080/mcp --tool NAME \
//!     [--args '{"k":"v"}'] [--era legacy|2026] [--protocol VERSION] \
//!     [--concurrency 1,16,64] [--duration 10] [--warmup 2] [--max-requests N] \
//!     [--header 'Authorization: Bearer …'] [--rss-pid PID | --rss-port PORT] \
//!     [--label TEXT] [--json] [--verbose]
//! ```
//!
//! It talks to any MCP server URL, so vizier and other MCP servers can be measured
//! side by side (use `--label` to tell the rows apart).
//!
//! # What it does
//!
//! For every concurrency level (in turn) it starts that many slots. Each slot is one
//! tokio task issuing `tools/call` requests back to back (one request in flight per
//! slot, so each slot keeps one keep-alive HTTP/1.1 connection busy). Calls issued
//! during the first `--warmup` seconds are not recorded; calls started during the
//! following `--duration` seconds are (stopping early at `--max-requests`). Every
//! recorded call's latency — successful or not — goes into an HdrHistogram at
//! microsecond resolution; the slots' histograms are merged per level.
//!
//! # Protocol eras
//!
//! * `--era legacy` (default; protocol `2025-11-25` unless `--protocol` says otherwise):
//!   each slot performs its own `initialize` → `notifications/initialized` handshake,
//!   keeps the `Mcp-Session-Id` response header (if any) and sends it, together with
//!   `MCP-Protocol-Version: <negotiated version>`, on every later request. Sessions
//!   are closed with `DELETE` (best effort) when the level ends.
//! * `--era 2026` (protocol `2026-07-28`, stateless, SEP-2575/SEP-2243/SEP-2567): no
//!   handshake. Every request carries, in `params._meta`,
//!   `io.modelcontextprotocol/protocolVersion`, `io.modelcontextprotocol/clientInfo`
//!   and `io.modelcontextprotocol/clientCapabilities`, and the HTTP headers
//!   `MCP-Protocol-Version`, `Mcp-Method` and (for `tools/call`) `Mcp-Name`, plus
//!   `Mcp-Param-<X>` for arguments annotated with `x-mcp-header: X` in the tool's
//!   input schema. Before the first level it issues `server/discover` (skip with
//!   `--skip-discover`) and `tools/list` (to learn those annotations).
//!
//! Responses may be `application/json` or `text/event-stream`; for SSE the `data:`
//! events are parsed until the JSON-RPC response with the request's id arrives. A
//! call's latency ends when its response is complete (for SSE: when the matching
//! event arrived, as a real client sees it). If an SSE stream is still open 5 ms
//! later it is finished in the background and the level prints a note.
//!
//! # Errors
//!
//! A call is an error when the HTTP status is not 2xx (`http`), the JSON-RPC response
//! carries `error` (`jsonrpc`), the tool result has `isError: true` (`tool`), the
//! request could not be sent or timed out (`transport`), or the reply could not be
//! understood (`protocol`). `--verbose` prints the first few error bodies per level.
//!
//! # Output
//!
//! One header line, then one row per level: label, tool, era, concurrency, calls,
//! errors, calls/s, p50/p95/p99/max latency in ms, and the server's RSS (MB) before
//! and after the level when `--rss-pid` or `--rss-port` is given. `--json` also
//! prints one JSON object per level (lines starting with `{`).
//!
//! # Safety rails
//!
//! Only loopback hosts (`127.0.0.0/8`, `::1`, `localhost`) are accepted unless
//! `--allow-remote` is given; only plain `http://` is supported. Every level is bounded
//! by `--warmup + --duration` plus at most one `--timeout` for calls in flight.
//! The generator runs on `--threads` tokio worker threads (default 1) to leave the
//! CPU to the server under test on small machines. Run without arguments it prints a
//! note and exits successfully, so a plain `cargo bench` does not fail.

use std::{
    collections::{BTreeMap, HashSet},
    fmt::Write as _,
    net::IpAddr,
    process::ExitCode,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use reqwest::{
    Method, StatusCode, Url,
    header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue},
};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Map, Value, json};

/// Protocol version used by `--era legacy` unless `--protocol` overrides it.
const DEFAULT_LEGACY_PROTOCOL: &str = "2025-11-25";
/// Protocol version used by `--era 2026` unless `--protocol` overrides it.
const DEFAULT_2026_PROTOCOL: &str = "2026-07-28";

const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";

const HEADER_SESSION_ID: &str = "mcp-session-id";
const HEADER_PROTOCOL_VERSION: &str = "mcp-protocol-version";
const HEADER_METHOD: &str = "mcp-method";
const HEADER_NAME: &str = "mcp-name";
const HEADER_PARAM_PREFIX: &str = "mcp-param-";
const BASE64_HEADER_PREFIX: &str = "=?base64?";
const BASE64_HEADER_SUFFIX: &str = "?=";

const CLIENT_NAME: &str = "vizier-loadgen";
const CLIENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// JSON-RPC id of the handshake / setup requests.
const SETUP_ID: u64 = 0;
/// JSON-RPC id of every `tools/call`: each slot has exactly one request in flight
/// (and, in the legacy era, its own session), so a fixed id is unambiguous.
const CALL_ID: u64 = 1;

/// Highest latency the histograms track (1 h, in µs); larger values saturate.
const HIST_MAX_US: u64 = 3_600_000_000;
/// Error bodies kept per level for `--verbose`.
const MAX_ERROR_SAMPLES: usize = 5;
/// Characters of an error body kept per sample.
const ERROR_SAMPLE_CHARS: usize = 300;
/// Upper bound on --duration, --warmup and --timeout (one day).
const MAX_SECONDS: f64 = 86_400.0;
/// Upper bound on a single level's concurrency.
const MAX_CONCURRENCY: usize = 10_000;
/// How long an SSE stream may take to end after its response before it is finished
/// in the background (not counted in the latency either way).
const SSE_END_GRACE: Duration = Duration::from_millis(5);
/// Pause after a transport error, so a dead server is not hammered in a tight loop.
const TRANSPORT_ERROR_BACKOFF: Duration = Duration::from_millis(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Era {
    /// `initialize` handshake, optional `Mcp-Session-Id` (protocol <= 2025-11-25).
    Legacy,
    /// Stateless 2026-07-28: per-request `_meta` + `Mcp-Method`/`Mcp-Name` headers.
    #[value(name = "2026")]
    V2026,
}

impl Era {
    fn as_str(self) -> &'static str {
        match self {
            Era::Legacy => "legacy",
            Era::V2026 => "2026",
        }
    }
}

/// Closed-loop MCP `tools/call` load generator (Streamable HTTP).
#[derive(Parser, Debug)]
#[command(name = "loadgen", version)]
struct Args {
    /// MCP endpoint URL (plain http).
    #[arg(long, default_value = "http://127.0.0.1:8080/mcp")]
    url: String,
    /// Permit a non-loopback host in --url.
    #[arg(long)]
    allow_remote: bool,
    /// Protocol era.
    #[arg(long, value_enum, default_value_t = Era::Legacy)]
    era: Era,
    /// Protocol version string (default: 2025-11-25 for legacy, 2026-07-28 for 2026).
    #[arg(long)]
    protocol: Option<String>,
    /// Tool to call.
    #[arg(long)]
    tool: String,
    /// Tool arguments as a JSON object.
    #[arg(long, default_value = "{}")]
    args: String,
    /// Concurrency levels to run in turn, e.g. 1,16,64.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    concurrency: Vec<usize>,
    /// Measured seconds per level.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unrecorded warm-up seconds per level.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Stop a level after this many recorded calls.
    #[arg(long)]
    max_requests: Option<u64>,
    /// Extra request header, 'Name: value' (repeatable), e.g. Authorization.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Report VmRSS of this process before/after each level.
    #[arg(long, conflicts_with = "rss_port")]
    rss_pid: Option<u32>,
    /// Report VmRSS of the process listening on this TCP port (best effort).
    #[arg(long)]
    rss_port: Option<u16>,
    /// Also print one JSON object per level.
    #[arg(long)]
    json: bool,
    /// Text printed in every row (default: the URL's host:port).
    #[arg(long)]
    label: Option<String>,
    /// Print setup details and the first few error bodies of each level.
    #[arg(long, short)]
    verbose: bool,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Tokio worker threads for the generator.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Era 2026: do not probe the server with server/discover first.
    #[arg(long)]
    skip_discover: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> ExitCode {
    // reqwest is built with a pluggable TLS provider in this crate; plain http needs one too.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.iter().all(|arg| arg == "--bench") {
        eprintln!(
            "loadgen: nothing to do without arguments; try \
             `cargo bench --bench loadgen -- --help`"
        );
        return ExitCode::SUCCESS;
    }
    let args = Args::parse();
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .context("building the tokio runtime")
        .and_then(|runtime| runtime.block_on(run(args)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("loadgen: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Everything derived from the command line that the levels share.
struct Config {
    url: Url,
    era: Era,
    protocol: String,
    tool: String,
    arguments: Value,
    levels: Vec<usize>,
    duration: Duration,
    warmup: Duration,
    max_requests: Option<u64>,
    extra_headers: HeaderMap,
    label: String,
    json: bool,
    verbose: bool,
    timeout: Duration,
    skip_discover: bool,
}

async fn run(args: Args) -> Result<()> {
    let config = Arc::new(build_config(&args)?);
    let rss_pid = match (args.rss_pid, args.rss_port) {
        (Some(pid), _) => Some(pid),
        (None, Some(port)) => {
            let pid = pid_listening_on(port);
            if pid.is_none() {
                eprintln!("loadgen: no process found listening on port {port}; RSS not reported");
            }
            pid
        }
        (None, None) => None,
    };
    let max_level = config.levels.iter().copied().max().unwrap_or(1);
    let client = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(max_level)
        .pool_idle_timeout(Duration::from_secs(90))
        .connect_timeout(config.timeout)
        .user_agent(concat!("vizier-loadgen/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")?;

    // Era 2026 needs no per-slot setup: every slot sends the same request.
    let shared_2026 = match config.era {
        Era::V2026 => Some(prepare_2026(&client, &config).await?),
        Era::Legacy => None,
    };

    println!(
        "# loadgen url={} era={} protocol={} tool={} args={} duration={}s warmup={}s \
         max_requests={} threads={} rss_pid={}",
        config.url,
        config.era.as_str(),
        config.protocol,
        config.tool,
        config.arguments,
        config.duration.as_secs_f64(),
        config.warmup.as_secs_f64(),
        config
            .max_requests
            .map_or_else(|| "-".to_owned(), |n| n.to_string()),
        args.threads.max(1),
        rss_pid.map_or_else(|| "-".to_owned(), |pid| pid.to_string()),
    );
    println!(
        "{:<20} {:<16} {:<6} {:>5} {:>9} {:>7} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "label",
        "tool",
        "era",
        "conc",
        "calls",
        "errors",
        "calls/s",
        "p50ms",
        "p95ms",
        "p99ms",
        "maxms",
        "rss0MB",
        "rss1MB"
    );

    for &concurrency in &config.levels {
        let report = run_level(&client, &config, shared_2026.as_ref(), concurrency, rss_pid)
            .await
            .with_context(|| format!("level concurrency={concurrency}"))?;
        report.print(&config);
    }
    Ok(())
}

fn build_config(args: &Args) -> Result<Config> {
    let url = Url::parse(&args.url).with_context(|| format!("invalid --url {}", args.url))?;
    check_host(&url, args.allow_remote)?;
    let arguments: Value = serde_json::from_str(&args.args).context("--args is not valid JSON")?;
    if !arguments.is_object() {
        bail!("--args must be a JSON object");
    }
    if args.concurrency.is_empty()
        || args
            .concurrency
            .iter()
            .any(|&c| c == 0 || c > MAX_CONCURRENCY)
    {
        bail!("--concurrency values must be between 1 and {MAX_CONCURRENCY}");
    }
    let duration = seconds("--duration", args.duration)?;
    if duration.is_zero() {
        bail!("--duration must be positive");
    }
    let timeout = seconds("--timeout", args.timeout)?;
    if timeout.is_zero() {
        bail!("--timeout must be positive");
    }
    if args.max_requests == Some(0) {
        bail!("--max-requests must be positive");
    }
    let mut extra_headers = HeaderMap::new();
    for raw in &args.headers {
        let (name, value) = raw
            .split_once(':')
            .ok_or_else(|| anyhow!("--header {raw:?} is not 'Name: value'"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .with_context(|| format!("invalid header name in {raw:?}"))?;
        let value = HeaderValue::from_str(value.trim())
            .with_context(|| format!("invalid header value in {raw:?}"))?;
        extra_headers.append(name, value);
    }
    let protocol = args.protocol.clone().unwrap_or_else(|| {
        match args.era {
            Era::Legacy => DEFAULT_LEGACY_PROTOCOL,
            Era::V2026 => DEFAULT_2026_PROTOCOL,
        }
        .to_owned()
    });
    let label = args.label.clone().unwrap_or_else(|| {
        let host = url.host_str().unwrap_or("?");
        match url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    });
    Ok(Config {
        url,
        era: args.era,
        protocol,
        tool: args.tool.clone(),
        arguments,
        levels: args.concurrency.clone(),
        duration,
        warmup: seconds("--warmup", args.warmup)?,
        max_requests: args.max_requests,
        extra_headers,
        label,
        json: args.json,
        verbose: args.verbose,
        timeout,
        skip_discover: args.skip_discover,
    })
}

fn seconds(flag: &str, value: f64) -> Result<Duration> {
    if !(0.0..=MAX_SECONDS).contains(&value) {
        bail!("{flag} must be between 0 and {MAX_SECONDS} seconds");
    }
    Duration::try_from_secs_f64(value).map_err(|_| anyhow!("{flag} must be a number of seconds"))
}

/// Refuses anything but plain http to a loopback host unless `allow_remote`.
fn check_host(url: &Url, allow_remote: bool) -> Result<()> {
    if url.scheme() != "http" {
        bail!(
            "only plain http:// URLs are supported, got {}",
            url.scheme()
        );
    }
    let host = url.host_str().ok_or_else(|| anyhow!("--url has no host"))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback());
    if !loopback && !allow_remote {
        bail!("refusing non-loopback host {host:?}; pass --allow-remote to override");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Request construction
// ---------------------------------------------------------------------------

/// Headers every request carries: content negotiation plus the user's `--header`s.
fn base_headers(config: &Config) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    // A --header replaces a default of the same name; repeated --headers all go out.
    for name in config.extra_headers.keys() {
        headers.remove(name);
    }
    for (name, value) in &config.extra_headers {
        headers.append(name.clone(), value.clone());
    }
    headers
}

/// Per-request `_meta` required by the 2026-07-28 stateless protocol (SEP-2575).
fn request_meta(protocol: &str) -> Value {
    json!({
        META_PROTOCOL_VERSION: protocol,
        META_CLIENT_INFO: { "name": CLIENT_NAME, "version": CLIENT_VERSION },
        META_CLIENT_CAPABILITIES: {},
    })
}

/// Headers of a 2026-era request for `method` (SEP-2243): protocol version,
/// `Mcp-Method` and, when the method names a target, `Mcp-Name`.
fn headers_2026(config: &Config, method: &str, name: Option<&str>) -> Result<HeaderMap> {
    let mut headers = base_headers(config);
    headers.insert(
        HEADER_PROTOCOL_VERSION,
        HeaderValue::from_str(&config.protocol).context("--protocol is not a valid header")?,
    );
    headers.insert(
        HEADER_METHOD,
        HeaderValue::from_str(method).context("invalid method header")?,
    );
    if let Some(name) = name {
        headers.insert(
            HEADER_NAME,
            HeaderValue::from_str(&encode_header_value(name))
                .context("tool name is not a valid header value")?,
        );
    }
    Ok(headers)
}

/// SEP-2243 value encoding: values that cannot travel verbatim in a header are sent
/// as `=?base64?<standard base64 of the UTF-8 bytes>?=`.
fn encode_header_value(value: &str) -> String {
    let bytes = value.as_bytes();
    let needs_base64 = !value.is_empty()
        && (matches!(bytes.first(), Some(b' ' | b'\t'))
            || matches!(bytes.last(), Some(b' ' | b'\t'))
            || bytes.iter().any(|&b| !(0x20..=0x7e).contains(&b))
            || (value.starts_with(BASE64_HEADER_PREFIX) && value.ends_with(BASE64_HEADER_SUFFIX)));
    if needs_base64 {
        format!(
            "{BASE64_HEADER_PREFIX}{}{BASE64_HEADER_SUFFIX}",
            base64(bytes)
        )
    } else {
        value.to_owned()
    }
}

/// Standard (RFC 4648, padded) base64.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `Mcp-Param-<X>` headers for the arguments the tool's input schema annotates with
/// `"x-mcp-header": "X"` (properties reached through `properties` keys only; values
/// must be primitives — mirrors rmcp's validation).
fn param_headers(input_schema: &Value, arguments: &Value) -> Vec<(String, String)> {
    fn walk<'a>(
        properties: Option<&'a Value>,
        path: &mut Vec<&'a str>,
        out: &mut Vec<(Vec<&'a str>, &'a str)>,
    ) {
        let Some(Value::Object(properties)) = properties else {
            return;
        };
        for (name, schema) in properties {
            path.push(name);
            if let Some(Value::String(header)) = schema.get("x-mcp-header")
                && !header.is_empty()
            {
                out.push((path.clone(), header));
            }
            walk(schema.get("properties"), path, out);
            path.pop();
        }
    }
    let mut annotations = Vec::new();
    walk(
        input_schema.get("properties"),
        &mut Vec::new(),
        &mut annotations,
    );
    annotations
        .into_iter()
        .filter_map(|(path, header)| {
            let value = path
                .iter()
                .try_fold(arguments, |value, key| value.get(key))?;
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((
                format!("{HEADER_PARAM_PREFIX}{header}"),
                encode_header_value(&text),
            ))
        })
        .collect()
}

/// Serialized `tools/call` body; only built once per run (era 2026) or per slot.
fn tools_call_body(config: &Config) -> Result<Vec<u8>> {
    let mut params = Map::new();
    params.insert("name".into(), Value::String(config.tool.clone()));
    params.insert("arguments".into(), config.arguments.clone());
    if config.era == Era::V2026 {
        params.insert("_meta".into(), request_meta(&config.protocol));
    }
    let body = json!({
        "jsonrpc": "2.0",
        "id": CALL_ID,
        "method": "tools/call",
        "params": params,
    });
    serde_json::to_vec(&body).context("serializing tools/call")
}

/// A ready-to-clone `tools/call` request (headers and body are built once).
fn call_template(
    client: &reqwest::Client,
    config: &Config,
    headers: HeaderMap,
    body: Vec<u8>,
) -> Result<reqwest::Request> {
    client
        .post(config.url.clone())
        .headers(headers)
        .timeout(config.timeout)
        .body(body)
        .build()
        .context("building the tools/call request")
}

// ---------------------------------------------------------------------------
// Response handling
// ---------------------------------------------------------------------------

/// A JSON-RPC message as far as the generator cares; `R` is the result type.
#[derive(Deserialize)]
struct RpcEnvelope<R> {
    id: Option<Value>,
    result: Option<R>,
    error: Option<RpcError>,
}

#[derive(Deserialize)]
struct RpcError {
    code: i64,
    #[serde(default)]
    message: String,
}

/// The only part of a `CallToolResult` the hot path inspects.
#[derive(Deserialize)]
struct ToolResultProbe {
    #[serde(rename = "isError", default)]
    is_error: Option<bool>,
}

/// Why a call failed.
#[derive(Debug)]
enum CallError {
    Http { status: StatusCode, body: String },
    Transport(String),
    JsonRpc { code: i64, body: String },
    Tool(String),
    Protocol(String),
}

impl CallError {
    fn describe(&self) -> String {
        match self {
            CallError::Http { status, body } => format!("http {status}: {body}"),
            CallError::Transport(msg) => format!("transport: {msg}"),
            CallError::JsonRpc { code, body } => format!("jsonrpc {code}: {body}"),
            CallError::Tool(body) => format!("tool isError: {body}"),
            CallError::Protocol(msg) => format!("protocol: {msg}"),
        }
    }
}

fn transport_error(err: reqwest::Error) -> CallError {
    let kind = if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "connect"
    } else {
        "request"
    };
    // The Display of a reqwest error hides its source; include the chain.
    let mut msg = format!("{kind}: {err}");
    let mut source = std::error::Error::source(&err);
    while let Some(inner) = source {
        let _ = write!(msg, ": {inner}");
        source = inner.source();
    }
    CallError::Transport(msg)
}

fn truncate(text: &str) -> String {
    match text.char_indices().nth(ERROR_SAMPLE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Minimal `text/event-stream` parser: yields the `data` of each complete event.
#[derive(Default)]
struct SseParser {
    buf: Vec<u8>,
    data: String,
    has_data: bool,
}

impl SseParser {
    fn feed(&mut self, chunk: &[u8], events: &mut Vec<String>) {
        self.buf.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(offset) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + offset;
            let mut line = &self.buf[start..end];
            if let Some(stripped) = line.strip_suffix(b"\r") {
                line = stripped;
            }
            if line.is_empty() {
                if self.has_data {
                    events.push(std::mem::take(&mut self.data));
                    self.has_data = false;
                }
            } else if let Some(value) = line.strip_prefix(b"data:") {
                let value = value.strip_prefix(b" ").unwrap_or(value);
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&String::from_utf8_lossy(value));
                self.has_data = true;
            }
            // Other fields (event:, id:, retry:) and comments are irrelevant here.
            start = end + 1;
        }
        self.buf.drain(..start);
    }

    /// An event left unterminated when the stream ended.
    fn finish(&mut self, events: &mut Vec<String>) {
        if !self.buf.is_empty() {
            self.feed(b"\n", events);
        }
        if self.has_data {
            events.push(std::mem::take(&mut self.data));
            self.has_data = false;
        }
    }
}

/// Outcome of reading one HTTP response: the matching JSON-RPC envelope and the raw
/// text it came from (for error samples).
struct Reply<R> {
    envelope: RpcEnvelope<R>,
    raw: String,
    /// When the response was complete (before any trailing SSE stream end).
    answered: Instant,
    /// The response came on an SSE stream still open `SSE_END_GRACE` afterwards.
    lingering: bool,
}

fn is_response_to<R>(envelope: &RpcEnvelope<R>, id: u64) -> bool {
    (envelope.result.is_some() || envelope.error.is_some())
        && envelope.id.as_ref().is_some_and(|v| v.as_u64() == Some(id))
}

fn is_event_stream(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("text/event-stream"))
}

/// Sends `request` and returns the JSON-RPC response with `id`, or why there is none.
/// Non-2xx statuses are `CallError::Http` (with the body).
async fn exchange<R: DeserializeOwned>(
    client: &reqwest::Client,
    request: reqwest::Request,
    id: u64,
) -> Result<(Reply<R>, HeaderMap), CallError> {
    let mut response = client.execute(request).await.map_err(transport_error)?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(CallError::Http { status, body });
    }
    let event_stream = is_event_stream(&response);
    let headers = std::mem::take(response.headers_mut());
    if event_stream {
        read_sse(response, id).await.map(|reply| (reply, headers))
    } else {
        let bytes = response.bytes().await.map_err(transport_error)?;
        match serde_json::from_slice::<RpcEnvelope<R>>(&bytes) {
            Ok(envelope) if is_response_to(&envelope, id) => Ok((
                Reply {
                    envelope,
                    raw: String::from_utf8_lossy(&bytes).into_owned(),
                    answered: Instant::now(),
                    lingering: false,
                },
                headers,
            )),
            Ok(_) => Err(CallError::Protocol(format!(
                "no JSON-RPC response with id {id} in: {}",
                truncate(&String::from_utf8_lossy(&bytes))
            ))),
            Err(err) => Err(CallError::Protocol(format!(
                "unparseable JSON ({err}): {}",
                truncate(&String::from_utf8_lossy(&bytes))
            ))),
        }
    }
}

async fn read_sse<R: DeserializeOwned>(
    mut response: reqwest::Response,
    id: u64,
) -> Result<Reply<R>, CallError> {
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    let mut ended = false;
    loop {
        match response.chunk().await.map_err(transport_error)? {
            Some(chunk) => parser.feed(&chunk, &mut events),
            None => {
                parser.finish(&mut events);
                ended = true;
            }
        }
        for data in events.drain(..) {
            let Ok(envelope) = serde_json::from_str::<RpcEnvelope<R>>(&data) else {
                continue; // priming events, notifications in foreign shapes, ...
            };
            if is_response_to(&envelope, id) {
                // The call is complete once its response arrived (as for a real
                // client). A well-behaved server ends the stream right after it, which
                // lets the connection go back to the pool; otherwise finish reading in
                // the background (bounded by the request timeout).
                let answered = Instant::now();
                let lingering = !ended && !finish_stream(&mut response).await;
                if lingering {
                    tokio::spawn(async move { while let Ok(Some(_)) = response.chunk().await {} });
                }
                return Ok(Reply {
                    envelope,
                    raw: data,
                    answered,
                    lingering,
                });
            }
        }
        if ended {
            return Err(CallError::Protocol(format!(
                "event stream ended without a response to id {id}"
            )));
        }
    }
}

/// Reads what is left of a response body for up to `SSE_END_GRACE`; true if it ended.
async fn finish_stream(response: &mut reqwest::Response) -> bool {
    let deadline = tokio::time::Instant::now() + SSE_END_GRACE;
    loop {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None) | Err(_)) => return true,
            Err(_elapsed) => return false,
        }
    }
}

/// Sends a setup request and returns its JSON-RPC result (any error is fatal).
async fn setup_call(
    client: &reqwest::Client,
    config: &Config,
    headers: HeaderMap,
    body: &Value,
) -> Result<(Value, HeaderMap)> {
    let method = body
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    let request = client
        .post(config.url.clone())
        .headers(headers)
        .timeout(config.timeout)
        .body(serde_json::to_vec(body)?)
        .build()?;
    let (reply, headers) = exchange::<Value>(client, request, SETUP_ID)
        .await
        .map_err(|err| anyhow!("{method} failed: {}", err.describe()))?;
    if let Some(error) = reply.envelope.error {
        bail!(
            "{method} failed: JSON-RPC error {} {}",
            error.code,
            error.message
        );
    }
    let result = reply
        .envelope
        .result
        .ok_or_else(|| anyhow!("{method}: response has no result"))?;
    Ok((result, headers))
}

// ---------------------------------------------------------------------------
// Era-specific setup
// ---------------------------------------------------------------------------

/// A slot's ready-to-clone `tools/call` request plus its session (legacy era).
struct Slot {
    template: reqwest::Request,
    session: Option<HeaderValue>,
    protocol_header: Option<HeaderValue>,
}

/// Era 2026: probes `server/discover`, reads the tool's schema from `tools/list` and
/// builds the single request template every slot clones.
async fn prepare_2026(client: &reqwest::Client, config: &Config) -> Result<reqwest::Request> {
    if config.verbose {
        eprintln!(
            "loadgen: 2026 request _meta = {}",
            request_meta(&config.protocol)
        );
    }
    if !config.skip_discover {
        discover(client, config).await?;
    }
    let mut headers = headers_2026(config, "tools/call", Some(&config.tool))?;
    match find_tool_schema(client, config).await {
        Ok(Some(schema)) => {
            for (name, value) in param_headers(&schema, &config.arguments) {
                if config.verbose {
                    eprintln!("loadgen: sending {name}: {value}");
                }
                headers.insert(
                    HeaderName::from_bytes(name.as_bytes())
                        .with_context(|| format!("invalid x-mcp-header name {name}"))?,
                    HeaderValue::from_str(&value)
                        .with_context(|| format!("invalid value for {name}"))?,
                );
            }
        }
        Ok(None) => eprintln!(
            "loadgen: warning: tools/list does not list tool {:?}; calling it anyway",
            config.tool
        ),
        Err(err) => {
            eprintln!("loadgen: warning: tools/list failed ({err:#}); Mcp-Param-* headers not sent")
        }
    }
    call_template(client, config, headers, tools_call_body(config)?)
}

/// Era 2026: `server/discover` must succeed and list the protocol version.
async fn discover(client: &reqwest::Client, config: &Config) -> Result<()> {
    let body = json!({
        "jsonrpc": "2.0",
        "id": SETUP_ID,
        "method": "server/discover",
        "params": { "_meta": request_meta(&config.protocol) },
    });
    let headers = headers_2026(config, "server/discover", None)?;
    let (result, _) = setup_call(client, config, headers, &body)
        .await
        .with_context(|| {
            format!(
                "the server does not seem to speak {} statelessly \
                 (use --skip-discover to try anyway)",
                config.protocol
            )
        })?;
    let supported: Vec<&str> = result
        .get("supportedVersions")
        .and_then(Value::as_array)
        .map(|versions| versions.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if config.verbose {
        eprintln!("loadgen: server/discover supportedVersions = {supported:?}");
    }
    if !supported.contains(&config.protocol.as_str()) {
        bail!(
            "server/discover does not list protocol {} (supported: {supported:?})",
            config.protocol
        );
    }
    Ok(())
}

/// Era 2026: input schema of `config.tool` from (paginated) `tools/list`.
async fn find_tool_schema(client: &reqwest::Client, config: &Config) -> Result<Option<Value>> {
    let mut cursor: Option<String> = None;
    for _page in 0..100 {
        let mut params = Map::new();
        params.insert("_meta".into(), request_meta(&config.protocol));
        if let Some(cursor) = &cursor {
            params.insert("cursor".into(), Value::String(cursor.clone()));
        }
        let body =
            json!({ "jsonrpc": "2.0", "id": SETUP_ID, "method": "tools/list", "params": params });
        let (result, _) = setup_call(
            client,
            config,
            headers_2026(config, "tools/list", None)?,
            &body,
        )
        .await?;
        let found = result
            .get("tools")
            .and_then(Value::as_array)
            .and_then(|tools| {
                tools
                    .iter()
                    .find(|tool| tool.get("name").and_then(Value::as_str) == Some(&config.tool))
            })
            .map(|tool| tool.get("inputSchema").cloned().unwrap_or(Value::Null));
        if found.is_some() {
            return Ok(found);
        }
        match result.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// Legacy era: one `initialize` → `notifications/initialized` handshake per slot.
async fn prepare_legacy_slot(client: &reqwest::Client, config: &Config) -> Result<Slot> {
    let initialize = json!({
        "jsonrpc": "2.0",
        "id": SETUP_ID,
        "method": "initialize",
        "params": {
            "protocolVersion": config.protocol,
            "capabilities": {},
            "clientInfo": { "name": CLIENT_NAME, "version": CLIENT_VERSION },
        },
    });
    let (result, response_headers) =
        setup_call(client, config, base_headers(config), &initialize).await?;
    let negotiated = result
        .get("protocolVersion")
        .and_then(Value::as_str)
        .unwrap_or(&config.protocol)
        .to_owned();
    let session = response_headers.get(HEADER_SESSION_ID).cloned();
    if config.verbose && negotiated != config.protocol {
        eprintln!(
            "loadgen: server negotiated protocol {negotiated} (asked for {})",
            config.protocol
        );
    }
    let protocol_header =
        HeaderValue::from_str(&negotiated).context("negotiated protocol is not a header")?;
    let mut headers = base_headers(config);
    headers.insert(HEADER_PROTOCOL_VERSION, protocol_header.clone());
    if let Some(session) = &session {
        headers.insert(HEADER_SESSION_ID, session.clone());
    }

    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    let response = client
        .post(config.url.clone())
        .headers(headers.clone())
        .timeout(config.timeout)
        .body(serde_json::to_vec(&initialized)?)
        .send()
        .await
        .context("notifications/initialized")?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!(
            "notifications/initialized: HTTP {status}: {}",
            truncate(&body)
        );
    }
    Ok(Slot {
        template: call_template(client, config, headers, tools_call_body(config)?)?,
        session,
        protocol_header: Some(protocol_header),
    })
}

/// Legacy era: ends a session with `DELETE` (best effort; stateless servers say 405).
async fn close_session(client: &reqwest::Client, config: &Config, slot: &Slot) {
    let Some(session) = &slot.session else {
        return;
    };
    let mut request = client
        .request(Method::DELETE, config.url.clone())
        .headers(base_headers(config))
        .header(HEADER_SESSION_ID, session.clone())
        .timeout(config.timeout);
    if let Some(protocol) = &slot.protocol_header {
        request = request.header(HEADER_PROTOCOL_VERSION, protocol.clone());
    }
    let _ = request.send().await;
}

// ---------------------------------------------------------------------------
// Running a level
// ---------------------------------------------------------------------------

#[derive(Default)]
struct ErrorCounts {
    http: BTreeMap<u16, u64>,
    jsonrpc: BTreeMap<i64, u64>,
    tool: u64,
    transport: u64,
    protocol: u64,
}

impl ErrorCounts {
    fn add(&mut self, err: &CallError) {
        match err {
            CallError::Http { status, .. } => *self.http.entry(status.as_u16()).or_default() += 1,
            CallError::JsonRpc { code, .. } => *self.jsonrpc.entry(*code).or_default() += 1,
            CallError::Tool(_) => self.tool += 1,
            CallError::Transport(_) => self.transport += 1,
            CallError::Protocol(_) => self.protocol += 1,
        }
    }

    fn merge(&mut self, other: ErrorCounts) {
        for (status, n) in other.http {
            *self.http.entry(status).or_default() += n;
        }
        for (code, n) in other.jsonrpc {
            *self.jsonrpc.entry(code).or_default() += n;
        }
        self.tool += other.tool;
        self.transport += other.transport;
        self.protocol += other.protocol;
    }

    fn http_total(&self) -> u64 {
        self.http.values().sum()
    }

    fn jsonrpc_total(&self) -> u64 {
        self.jsonrpc.values().sum()
    }

    fn total(&self) -> u64 {
        self.http_total() + self.jsonrpc_total() + self.tool + self.transport + self.protocol
    }
}

/// State shared by a level's slots.
struct LevelShared {
    measure_start: Instant,
    end: Instant,
    max_requests: Option<u64>,
    issued: AtomicU64,
    sample_count: AtomicUsize,
    samples: Mutex<Vec<String>>,
}

impl LevelShared {
    fn sample(&self, err: &CallError) {
        if self.sample_count.fetch_add(1, Ordering::Relaxed) < MAX_ERROR_SAMPLES
            && let Ok(mut samples) = self.samples.lock()
        {
            samples.push(truncate(&err.describe()));
        }
    }
}

struct SlotResult {
    histogram: Histogram<u64>,
    errors: ErrorCounts,
    last_done: Option<Instant>,
    lingering: u64,
}

struct LevelReport {
    concurrency: usize,
    histogram: Histogram<u64>,
    errors: ErrorCounts,
    /// Successful calls whose SSE stream was still open after the response.
    lingering: u64,
    elapsed: Duration,
    rss_before_kb: Option<u64>,
    rss_after_kb: Option<u64>,
    samples: Vec<String>,
}

async fn run_level(
    client: &reqwest::Client,
    config: &Arc<Config>,
    shared_2026: Option<&reqwest::Request>,
    concurrency: usize,
    rss_pid: Option<u32>,
) -> Result<LevelReport> {
    let rss_before_kb = rss_pid.and_then(read_rss_kb);

    let slots: Vec<Slot> = match shared_2026 {
        Some(template) => (0..concurrency)
            .map(|_| {
                Ok(Slot {
                    template: template
                        .try_clone()
                        .ok_or_else(|| anyhow!("request template is not cloneable"))?,
                    session: None,
                    protocol_header: None,
                })
            })
            .collect::<Result<_>>()?,
        None => futures::future::try_join_all(
            (0..concurrency).map(|_| prepare_legacy_slot(client, config)),
        )
        .await
        .context("legacy handshake")?,
    };
    let slots: Vec<Arc<Slot>> = slots.into_iter().map(Arc::new).collect();

    let measure_start = Instant::now() + config.warmup;
    let shared = Arc::new(LevelShared {
        measure_start,
        end: measure_start + config.duration,
        max_requests: config.max_requests,
        issued: AtomicU64::new(0),
        sample_count: AtomicUsize::new(0),
        samples: Mutex::new(Vec::new()),
    });

    let mut tasks = Vec::with_capacity(concurrency);
    for slot in &slots {
        let (client, slot, shared) = (client.clone(), Arc::clone(slot), Arc::clone(&shared));
        tasks.push(tokio::spawn(async move {
            run_slot(&client, &slot, &shared).await
        }));
    }
    let mut histogram = new_histogram()?;
    let mut errors = ErrorCounts::default();
    let mut last_done: Option<Instant> = None;
    let mut lingering = 0;
    for task in tasks {
        let result = task.await.context("slot task panicked")??;
        histogram
            .add(&result.histogram)
            .map_err(|err| anyhow!("merging histograms: {err:?}"))?;
        errors.merge(result.errors);
        last_done = last_done.max(result.last_done);
        lingering += result.lingering;
    }
    let elapsed = last_done.map_or(Duration::ZERO, |t| {
        t.saturating_duration_since(measure_start)
    });

    for slot in &slots {
        close_session(client, config, slot).await;
    }
    let rss_after_kb = rss_pid.and_then(read_rss_kb);
    let samples = shared
        .samples
        .lock()
        .map(|samples| samples.clone())
        .unwrap_or_default();
    Ok(LevelReport {
        concurrency,
        histogram,
        errors,
        lingering,
        elapsed,
        rss_before_kb,
        rss_after_kb,
        samples,
    })
}

fn new_histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, HIST_MAX_US, 3).map_err(|err| anyhow!("histogram: {err:?}"))
}

/// One slot: sequential `tools/call`s until the level's deadline (or request budget).
async fn run_slot(
    client: &reqwest::Client,
    slot: &Slot,
    shared: &LevelShared,
) -> Result<SlotResult> {
    let mut histogram = new_histogram()?;
    let mut errors = ErrorCounts::default();
    let mut last_done = None;
    let mut lingering = 0;
    loop {
        let started = Instant::now();
        if started >= shared.end {
            break;
        }
        let measured = started >= shared.measure_start;
        if measured
            && let Some(max) = shared.max_requests
            && shared.issued.fetch_add(1, Ordering::Relaxed) >= max
        {
            break;
        }
        let request = slot
            .template
            .try_clone()
            .ok_or_else(|| anyhow!("request template is not cloneable"))?;
        let (outcome, answered) = call_tool(client, request).await;
        let done = answered.unwrap_or_else(Instant::now);
        if measured {
            let micros =
                u64::try_from(done.duration_since(started).as_micros()).unwrap_or(u64::MAX);
            histogram.saturating_record(micros.max(1));
            last_done = Some(done);
            match &outcome {
                Ok(true) => lingering += 1,
                Ok(false) => {}
                Err(err) => {
                    errors.add(err);
                    shared.sample(err);
                }
            }
        }
        if matches!(outcome, Err(CallError::Transport(_))) {
            tokio::time::sleep(TRANSPORT_ERROR_BACKOFF).await;
        }
    }
    Ok(SlotResult {
        histogram,
        errors,
        last_done,
        lingering,
    })
}

/// One `tools/call`, classified, with the instant its response was complete (if
/// any). `Ok(true)` when its SSE stream outlived the response.
async fn call_tool(
    client: &reqwest::Client,
    request: reqwest::Request,
) -> (Result<bool, CallError>, Option<Instant>) {
    let reply = match exchange::<ToolResultProbe>(client, request, CALL_ID).await {
        Ok((reply, _)) => reply,
        Err(err) => return (Err(err), None),
    };
    let outcome = if let Some(error) = reply.envelope.error {
        Err(CallError::JsonRpc {
            code: error.code,
            body: reply.raw,
        })
    } else {
        match reply.envelope.result {
            Some(ToolResultProbe {
                is_error: Some(true),
            }) => Err(CallError::Tool(reply.raw)),
            Some(_) => Ok(reply.lingering),
            None => Err(CallError::Protocol("response without result".into())),
        }
    };
    (outcome, Some(reply.answered))
}

// ---------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn round(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    (value * factor).round() / factor
}

fn mb(kb: Option<u64>) -> Option<f64> {
    kb.map(|kb| round(kb as f64 / 1024.0, 1))
}

impl LevelReport {
    fn calls(&self) -> u64 {
        self.histogram.len()
    }

    fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.calls() as f64 / secs
        } else {
            0.0
        }
    }

    fn print(&self, config: &Config) {
        let h = &self.histogram;
        let fmt_mb = |kb: Option<u64>| mb(kb).map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
        println!(
            "{:<20} {:<16} {:<6} {:>5} {:>9} {:>7} {:>10.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8} {:>8}",
            config.label,
            config.tool,
            config.era.as_str(),
            self.concurrency,
            self.calls(),
            self.errors.total(),
            self.rate(),
            ms(h.value_at_quantile(0.50)),
            ms(h.value_at_quantile(0.95)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max()),
            fmt_mb(self.rss_before_kb),
            fmt_mb(self.rss_after_kb),
        );
        let e = &self.errors;
        if e.total() > 0 {
            let http: Vec<String> = e.http.iter().map(|(s, n)| format!("{s}x{n}")).collect();
            let rpc: Vec<String> = e.jsonrpc.iter().map(|(c, n)| format!("{c}x{n}")).collect();
            println!(
                "  errors: http={} [{}] jsonrpc={} [{}] tool={} transport={} protocol={}",
                e.http_total(),
                http.join(" "),
                e.jsonrpc_total(),
                rpc.join(" "),
                e.tool,
                e.transport,
                e.protocol
            );
        }
        if self.lingering > 0 {
            println!(
                "  note: {} SSE streams were still open {} ms after their response \
                 (finished in the background)",
                self.lingering,
                SSE_END_GRACE.as_millis()
            );
        }
        if config.verbose {
            for sample in &self.samples {
                println!("  error sample: {sample}");
            }
        }
        if config.json {
            let object = json!({
                "label": config.label,
                "url": config.url.as_str(),
                "tool": config.tool,
                "era": config.era.as_str(),
                "protocol": config.protocol,
                "concurrency": self.concurrency,
                "calls": self.calls(),
                "errors": e.total(),
                "errors_by_kind": {
                    "http": e.http_total(),
                    "http_status": e.http.iter().map(|(s, n)| (s.to_string(), json!(n))).collect::<Map<_, _>>(),
                    "jsonrpc": e.jsonrpc_total(),
                    "jsonrpc_code": e.jsonrpc.iter().map(|(c, n)| (c.to_string(), json!(n))).collect::<Map<_, _>>(),
                    "tool": e.tool,
                    "transport": e.transport,
                    "protocol": e.protocol,
                },
                "sse_streams_left_open": self.lingering,
                "elapsed_s": round(self.elapsed.as_secs_f64(), 3),
                "calls_per_s": round(self.rate(), 1),
                "latency_ms": {
                    "mean": round(h.mean() / 1000.0, 3),
                    "p50": ms(h.value_at_quantile(0.50)),
                    "p95": ms(h.value_at_quantile(0.95)),
                    "p99": ms(h.value_at_quantile(0.99)),
                    "max": ms(h.max()),
                },
                "rss_before_mb": mb(self.rss_before_kb),
                "rss_after_mb": mb(self.rss_after_kb),
            });
            println!("{object}");
        }
    }
}

// ---------------------------------------------------------------------------
// Server RSS
// ---------------------------------------------------------------------------

/// `VmRSS` of `pid` in kB, from `/proc/PID/status`.
fn read_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
}

/// Best effort: the pid owning a socket that listens on TCP `port` (IPv4 or IPv6),
/// found through `/proc/net/tcp{,6}` inodes and `/proc/*/fd` symlinks.
fn pid_listening_on(port: u16) -> Option<u32> {
    const TCP_LISTEN: &str = "0A";
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9))
            else {
                continue;
            };
            let local_port = local
                .rsplit_once(':')
                .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok());
            if local_port == Some(port) && *state == TCP_LISTEN && *inode != "0" {
                inodes.insert(format!("socket:[{inode}]"));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let own = std::process::id();
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&pid| pid != own)
        .collect();
    pids.sort_unstable();
    pids.into_iter().find(|pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
            fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
                .any(|target| inodes.contains(target.to_string_lossy().as_ref()))
        })
    })
}

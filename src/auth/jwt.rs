//! JWT bearer tokens: configuration, verification, and a cache of verified tokens.
//!
//! [`JwtVerifier::verify`] checks, in this order, refusing at the first failure:
//! 1. size (`max_token_bytes`) before anything else, so a huge header costs nothing;
//! 2. the verified-token cache (keyed by the token's SHA-256; a hit still checks `exp`);
//! 3. shape: three base64url parts, a JSON header with a string `alg`, no `crit`;
//! 4. `alg`: never `none`, and only the configured allow-list;
//! 5. the key: the configured HMAC secret or public key, or the JWKS key named by `kid`
//!    (an unknown `kid` may refetch the key set, at a bounded rate). A key only verifies
//!    algorithms of its own family, so a public key is never used as an HMAC secret;
//! 6. the signature (biscuit, on *ring*);
//! 7. claims: `exp` (required), `nbf` and `iat` (not in the future), each with `leeway_secs`;
//!    `iss` in `issuers`; `aud` (string or array) containing `audience`; `required_scopes`
//!    all present in `scope` (space-separated) or `scp` (array or space-separated string).
//!
//! Errors are [`AuthError`]s whose [`reason`](AuthError::reason) is a stable label for
//! metrics (`vizier_auth_jwt_verifications_total{result}`) and whose text never contains
//! the token.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use biscuit::jwa::SignatureAlgorithm;
use biscuit::jws::Compact;
use biscuit::{CompactJson, Empty};
use ring::digest;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::{Host, Url};

use super::jwks::{
    JwksCache, JwksOptions, KeyKind, Lookup, SUPPORTED_ALGORITHMS, VerifyingKey, parse_algorithm,
};
use crate::config::{Config, JwtConfig, Secret};

/// Longest leeway accepted: more would make `exp` meaningless.
const MAX_LEEWAY_SECS: u64 = 300;

/// The `[auth.jwt]` part of checking a loaded configuration, when auth is on: the key source
/// and the algorithms (`Config::validate` checks everything else).
pub fn validate_config(config: &Config) -> anyhow::Result<()> {
    if config.auth.enabled {
        config
            .auth
            .jwt
            .validate()
            .map_err(|e| anyhow::anyhow!("config key auth.jwt: {e}"))?;
    }
    Ok(())
}

/// An invalid `[auth.jwt]` setting. The message names the key and never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JwtConfigError(pub String);

fn config_err(msg: impl Into<String>) -> JwtConfigError {
    JwtConfigError(msg.into())
}

/// Where the verification keys come from, once checked.
enum KeySpec {
    Static(VerifyingKey),
    Jwks(Url, JwksOptions),
}

/// The checked, parsed settings.
struct Settings {
    algorithms: Vec<SignatureAlgorithm>,
    issuers: Vec<String>,
    audience: String,
    leeway: i64,
    required_scopes: Vec<String>,
    max_token_bytes: usize,
}

fn alg_names(algs: &[SignatureAlgorithm]) -> String {
    algs.iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl JwtConfig {
    /// Check every setting (and load the key when it is a PEM). Run at start when auth is on.
    pub fn validate(&self) -> Result<(), JwtConfigError> {
        self.resolve().map(|_| ())
    }

    fn resolve(&self) -> Result<(Settings, KeySpec), JwtConfigError> {
        let mut algorithms = Vec::new();
        for name in &self.algorithms {
            let name = name.trim();
            if name.eq_ignore_ascii_case("none") {
                return Err(config_err(
                    "auth.jwt.algorithms: 'none' (unsigned tokens) is never accepted",
                ));
            }
            let alg = parse_algorithm(name).ok_or_else(|| {
                config_err(format!(
                    "auth.jwt.algorithms: '{}' is not supported; use one of {} (ES512 is not \
                     available: ring cannot verify P-521)",
                    name.escape_debug(),
                    SUPPORTED_ALGORITHMS.join(", ")
                ))
            })?;
            if !algorithms.contains(&alg) {
                algorithms.push(alg);
            }
        }
        if algorithms.is_empty() {
            return Err(config_err(
                "auth.jwt.algorithms is empty: list the algorithms your identity provider signs with, e.g. [\"RS256\"]",
            ));
        }

        let issuers: Vec<String> = self.issuers.iter().map(|i| i.trim().to_string()).collect();
        if issuers.is_empty() || issuers.iter().any(String::is_empty) {
            return Err(config_err(
                "auth.jwt.issuers is empty: name the accepted token issuer(s) (the exact `iss` value)",
            ));
        }
        let audience = self.audience.trim().to_string();
        if audience.is_empty() {
            return Err(config_err(
                "auth.jwt.audience is empty: set the `aud` value tokens for vizier carry",
            ));
        }
        if self.leeway_secs > MAX_LEEWAY_SECS {
            return Err(config_err(format!(
                "auth.jwt.leeway_secs = {} is more than {MAX_LEEWAY_SECS}",
                self.leeway_secs
            )));
        }
        if !(512..=1024 * 1024).contains(&self.max_token_bytes) {
            return Err(config_err(format!(
                "auth.jwt.max_token_bytes = {} is outside 512..=1048576",
                self.max_token_bytes
            )));
        }
        if let Some(s) = self
            .required_scopes
            .iter()
            .find(|s| s.is_empty() || s.contains(char::is_whitespace))
        {
            return Err(config_err(format!(
                "auth.jwt.required_scopes: '{}' is not a scope (empty or contains spaces); list each scope separately",
                s.escape_debug()
            )));
        }

        let hs = self.hs_secret.as_ref().filter(|s| !s.expose().is_empty());
        // Empty values (an unset environment variable) do not count as a key source.
        let pem = self
            .public_key_pem
            .as_deref()
            .filter(|v| !v.trim().is_empty());
        let jwks = self.jwks_uri.as_deref().filter(|v| !v.trim().is_empty());
        let sources =
            usize::from(hs.is_some()) + usize::from(pem.is_some()) + usize::from(jwks.is_some());
        if sources != 1 {
            return Err(config_err(format!(
                "auth.jwt needs exactly one key source: hs_secret (HMAC), public_key_pem (one RSA/EC public key) \
                 or jwks_uri (the identity provider's key set); {sources} are set"
            )));
        }

        let key = match (hs, pem, jwks) {
            (Some(secret), _, _) => Self::hmac_key(secret, &algorithms)?,
            (_, Some(pem), _) => Self::pem_key(pem, &algorithms)?,
            (_, _, Some(uri)) => self.jwks_key(uri, &algorithms)?,
            (None, None, None) => return Err(config_err("auth.jwt: no key source")),
        };

        let settings = Settings {
            algorithms,
            issuers,
            audience,
            leeway: i64::try_from(self.leeway_secs).unwrap_or(0),
            required_scopes: self.required_scopes.clone(),
            max_token_bytes: self.max_token_bytes,
        };
        Ok((settings, key))
    }

    fn hmac_key(
        secret: &Secret,
        algorithms: &[SignatureAlgorithm],
    ) -> Result<KeySpec, JwtConfigError> {
        if let Some(bad) = algorithms.iter().find(|a| !KeyKind::Hmac.accepts(**a)) {
            return Err(config_err(format!(
                "auth.jwt.algorithms lists {bad:?} but the key source is hs_secret (HMAC): list only \
                 HS256/HS384/HS512, e.g. algorithms = [\"HS256\"] (got {})",
                alg_names(algorithms)
            )));
        }
        let bytes = hs_secret_bytes(secret)?;
        let needed = algorithms
            .iter()
            .map(|a| match a {
                SignatureAlgorithm::HS384 => 48,
                SignatureAlgorithm::HS512 => 64,
                _ => 32,
            })
            .max()
            .unwrap_or(32);
        if bytes.len() < needed {
            return Err(config_err(format!(
                "auth.jwt.hs_secret is {} bytes; {} needs at least {needed} (RFC 7518 3.2). Generate one with \
                 `openssl rand -base64 64` and set it as base64:<value>",
                bytes.len(),
                alg_names(algorithms)
            )));
        }
        Ok(KeySpec::Static(VerifyingKey::hmac(bytes)))
    }

    fn pem_key(pem: &str, algorithms: &[SignatureAlgorithm]) -> Result<KeySpec, JwtConfigError> {
        let text = if pem.contains("-----BEGIN") {
            pem.to_string()
        } else {
            std::fs::read_to_string(pem.trim()).map_err(|e| {
                config_err(format!(
                    "auth.jwt.public_key_pem is not PEM text, and reading it as a file path '{}' failed: {e}",
                    pem.trim().escape_debug()
                ))
            })?
        };
        let key = VerifyingKey::from_pem(&text)
            .map_err(|e| config_err(format!("auth.jwt.public_key_pem: {e}")))?;
        if let Some(bad) = algorithms.iter().find(|a| !key.accepts(**a)) {
            return Err(config_err(format!(
                "auth.jwt.algorithms lists {bad:?}, which a {} key cannot verify (RSA: RS*/PS*, EC P-256: ES256, \
                 EC P-384: ES384); got {}",
                key.kind().as_str(),
                alg_names(algorithms)
            )));
        }
        Ok(KeySpec::Static(key))
    }

    fn jwks_key(
        &self,
        raw: &str,
        algorithms: &[SignatureAlgorithm],
    ) -> Result<KeySpec, JwtConfigError> {
        let raw = raw.trim();
        let uri = Url::parse(raw).map_err(|e| {
            config_err(format!(
                "auth.jwt.jwks_uri '{}' is not a URL: {e}",
                raw.escape_debug()
            ))
        })?;
        let loopback = match uri.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        match uri.scheme() {
            "https" => {}
            "http" if loopback || self.jwks_allow_http => {}
            "http" => {
                return Err(config_err(
                    "auth.jwt.jwks_uri uses plain http to a non-loopback host: anyone on the path could \
                     substitute signing keys. Use https, or set auth.jwt.jwks_allow_http = true if the path is trusted",
                ));
            }
            other => {
                return Err(config_err(format!(
                    "auth.jwt.jwks_uri scheme '{other}' is not https"
                )));
            }
        }
        if let Some(bad) = algorithms.iter().find(|a| KeyKind::Hmac.accepts(**a)) {
            return Err(config_err(format!(
                "auth.jwt.algorithms lists {bad:?} with jwks_uri: a key set holds public keys, and HMAC \
                 tokens need hs_secret; list RS*/PS*/ES256/ES384 only"
            )));
        }
        if self.jwks_refresh_secs == 0 || self.jwks_min_refetch_secs == 0 {
            return Err(config_err(
                "auth.jwt.jwks_refresh_secs and auth.jwt.jwks_min_refetch_secs must be at least 1",
            ));
        }
        if !(1..=60).contains(&self.jwks_timeout_secs) {
            return Err(config_err(format!(
                "auth.jwt.jwks_timeout_secs = {} is outside 1..=60",
                self.jwks_timeout_secs
            )));
        }
        Ok(KeySpec::Jwks(
            uri,
            JwksOptions {
                refresh: Duration::from_secs(self.jwks_refresh_secs),
                min_refetch: Duration::from_secs(self.jwks_min_refetch_secs),
                timeout: Duration::from_secs(self.jwks_timeout_secs),
            },
        ))
    }
}

fn hs_secret_bytes(secret: &Secret) -> Result<Vec<u8>, JwtConfigError> {
    let raw = secret.expose();
    let Some(encoded) = raw.strip_prefix("base64:") else {
        return Ok(raw.as_bytes().to_vec());
    };
    let encoded = encoded.trim();
    [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(encoded).ok())
        .ok_or_else(|| {
            config_err("auth.jwt.hs_secret starts with 'base64:' but the rest is not valid base64")
        })
}

/// Who a verified token speaks for, and what it grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    pub iss: String,
    pub sub: Option<String>,
    pub preferred_username: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    /// `roles`, plus Keycloak's `realm_access.roles`.
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    /// From `scope` and `scp`, deduplicated.
    pub scopes: Vec<String>,
    /// `tenant_id`, or Azure AD's `tid`.
    pub tenant_id: Option<String>,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

impl Claims {
    /// The name to look the user up by: `preferred_username`, then `username`, `email`, `sub`.
    pub fn principal_name(&self) -> Option<&str> {
        [
            &self.preferred_username,
            &self.username,
            &self.email,
            &self.sub,
        ]
        .into_iter()
        .find_map(|v| v.as_deref())
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Why a token was refused. `Display` never includes the token; values taken from it
/// (`alg`, `kid`, `iss`) are escaped and truncated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("token is {len} bytes, more than the {max} accepted")]
    Oversized { len: usize, max: usize },
    #[error("token signature does not verify")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet (nbf or iat is in the future)")]
    NotYetValid,
    #[error("token audience does not include '{0}'")]
    WrongAudience(String),
    #[error("token issuer {0} is not accepted")]
    WrongIssuer(String),
    #[error("token algorithm {0} is not accepted")]
    AlgNotAllowed(String),
    #[error("no signing key matches the token's kid {0}")]
    UnknownKid(String),
    #[error("token lacks required scope(s): {}", .0.join(", "))]
    MissingScope(Vec<String>),
    #[error("signing keys are unavailable: {0}")]
    JwksUnavailable(String),
}

impl AuthError {
    /// Stable label for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::Oversized { .. } => "oversized",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongAudience(_) => "wrong_audience",
            Self::WrongIssuer(_) => "wrong_issuer",
            Self::AlgNotAllowed(_) => "alg_not_allowed",
            Self::UnknownKid(_) => "unknown_kid",
            Self::MissingScope(_) => "missing_scope",
            Self::JwksUnavailable(_) => "jwks_unavailable",
        }
    }
}

/// A value taken from a token, safe to print: quoted, escaped, at most 64 characters.
fn quoted(value: &str) -> String {
    let mut s: String = value.chars().take(64).collect();
    if s.len() < value.len() {
        s.push('…');
    }
    format!("\"{}\"", s.escape_debug())
}

/// The claims set as biscuit decodes it: any JSON object.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct RawClaims(Map<String, Value>);

impl CompactJson for RawClaims {}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
    crit: Option<Value>,
}

enum KeySource {
    Static(Arc<VerifyingKey>),
    Jwks(Arc<JwksCache>),
}

/// Verifies bearer tokens against one [`JwtConfig`].
pub struct JwtVerifier {
    settings: Settings,
    keys: KeySource,
    cache: TokenCache,
    /// Signature verifications performed (cache misses that reached the crypto).
    signature_checks: AtomicU64,
    /// Added to the clock; only tests move it.
    clock_skew: AtomicI64,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.keys {
            KeySource::Static(k) => format!("{} key", k.kind().as_str()),
            KeySource::Jwks(c) => format!("{c:?}"),
        };
        f.debug_struct("JwtVerifier")
            .field("algorithms", &self.settings.algorithms)
            .field("issuers", &self.settings.issuers)
            .field("audience", &self.settings.audience)
            .field("keys", &source)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// Check `config` and build the verifier. With `jwks_uri`, nothing is fetched yet: call
    /// [`start`](Self::start) (or let the first token fetch the key set).
    pub fn new(config: &JwtConfig) -> Result<Self, JwtConfigError> {
        Self::build(config, None)
    }

    fn build(config: &JwtConfig, jwks_opts: Option<JwksOptions>) -> Result<Self, JwtConfigError> {
        let (settings, spec) = config.resolve()?;
        let keys = match spec {
            KeySpec::Static(k) => KeySource::Static(Arc::new(k)),
            KeySpec::Jwks(uri, opts) => KeySource::Jwks(Arc::new(
                JwksCache::new(uri, jwks_opts.unwrap_or(opts))
                    .map_err(|e| config_err(format!("auth.jwt.jwks_uri: {e}")))?,
            )),
        };
        Ok(Self {
            settings,
            keys,
            cache: TokenCache::new(config.cache_entries),
            signature_checks: AtomicU64::new(0),
            clock_skew: AtomicI64::new(0),
        })
    }

    /// Start the background JWKS refresh (first fetch immediately). `None` without a JWKS.
    pub fn start(&self, cancel: CancellationToken) -> Option<JoinHandle<()>> {
        match &self.keys {
            KeySource::Jwks(c) => Some(c.spawn_refresh(cancel)),
            KeySource::Static(_) => None,
        }
    }

    /// The key set cache, when keys come from a JWKS.
    pub fn jwks(&self) -> Option<&Arc<JwksCache>> {
        match &self.keys {
            KeySource::Jwks(c) => Some(c),
            KeySource::Static(_) => None,
        }
    }

    /// Signature verifications so far; cache hits do not count.
    pub fn signature_checks(&self) -> u64 {
        self.signature_checks.load(Ordering::Relaxed)
    }

    /// Verify `token` (the bearer value, without `Bearer `).
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let result = self.verify_inner(token).await;
        let label = match &result {
            Ok(_) => "ok",
            Err(e) => e.reason(),
        };
        metrics::counter!("vizier_auth_jwt_verifications_total", "result" => label).increment(1);
        result
    }

    fn now(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.clock_skew.load(Ordering::Relaxed)
    }

    fn key_generation(&self) -> u64 {
        match &self.keys {
            KeySource::Jwks(c) => c.current().generation,
            KeySource::Static(_) => 0,
        }
    }

    async fn verify_inner(&self, token: &str) -> Result<Claims, AuthError> {
        let max = self.settings.max_token_bytes;
        if token.len() > max {
            return Err(AuthError::Oversized {
                len: token.len(),
                max,
            });
        }
        let now = self.now();
        let digest = token_digest(token);
        // Read before the key lookup: if the set changes meanwhile, the entry is merely
        // re-verified next time, never trusted past a key removal.
        let generation = self.key_generation();
        if let Some(claims) = self
            .cache
            .get(&digest, now, self.settings.leeway, generation)
        {
            metrics::counter!("vizier_auth_jwt_cache_hits_total").increment(1);
            return Ok(claims);
        }

        let mut parts = token.split('.');
        let (Some(header), Some(_payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed("not three dot-separated parts"));
        };
        let b64url = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !token.split('.').all(b64url) {
            return Err(AuthError::Malformed(
                "a part contains characters outside base64url",
            ));
        }
        let header = parse_header(header)?;
        let alg = self.check_alg(&header.alg)?;
        if signature.is_empty() {
            return Err(AuthError::Malformed("empty signature"));
        }
        let key = self.key_for(header.kid.as_deref(), alg).await?;
        let payload = self.verify_signature(token, &key, alg)?;
        let claims = self.validate_claims(&payload, now)?;
        self.cache
            .insert(digest, &claims, generation, now, self.settings.leeway);
        Ok(claims)
    }

    fn check_alg(&self, name: &str) -> Result<SignatureAlgorithm, AuthError> {
        if name.eq_ignore_ascii_case("none") {
            return Err(AuthError::AlgNotAllowed(quoted(name)));
        }
        parse_algorithm(name)
            .filter(|a| self.settings.algorithms.contains(a))
            .ok_or_else(|| AuthError::AlgNotAllowed(quoted(name)))
    }

    async fn key_for(
        &self,
        kid: Option<&str>,
        alg: SignatureAlgorithm,
    ) -> Result<Arc<VerifyingKey>, AuthError> {
        match &self.keys {
            // A configured key has no kid to match: whatever the token names, this is the key.
            KeySource::Static(k) => Ok(k.clone()),
            KeySource::Jwks(cache) => {
                // Never reached with a valid config (HS* is refused with jwks_uri), but an
                // HMAC token must not even cause a fetch.
                if KeyKind::Hmac.accepts(alg) {
                    return Err(AuthError::AlgNotAllowed(format!("{alg:?}")));
                }
                match cache.lookup(kid, alg).await {
                    Lookup::Found(k) => Ok(k),
                    Lookup::AlgMismatch => Err(AuthError::AlgNotAllowed(format!(
                        "{alg:?} (for the key with this kid)"
                    ))),
                    Lookup::UnknownKid => Err(AuthError::UnknownKid(
                        kid.map_or_else(|| "(none)".to_string(), quoted),
                    )),
                    Lookup::Unavailable(why) => Err(AuthError::JwksUnavailable(why)),
                }
            }
        }
    }

    fn verify_signature(
        &self,
        token: &str,
        key: &VerifyingKey,
        alg: SignatureAlgorithm,
    ) -> Result<Map<String, Value>, AuthError> {
        // The algorithm-confusion guard, in one place for every key source: an RSA/EC key is
        // never handed to HMAC (and biscuit panics on some mismatched key/algorithm pairs).
        if !key.accepts(alg) {
            return Err(AuthError::AlgNotAllowed(format!(
                "{alg:?} (the key is {})",
                key.kind().as_str()
            )));
        }
        self.signature_checks.fetch_add(1, Ordering::Relaxed);
        let compact: Compact<RawClaims, Empty> = Compact::new_encoded(token);
        match compact.decode(key.jws_secret(), alg) {
            Ok(Compact::Decoded { payload, .. }) => Ok(payload.0),
            Ok(Compact::Encoded(_)) => Err(AuthError::Malformed("token did not decode")),
            Err(e) => Err(map_biscuit_error(&e)),
        }
    }

    fn validate_claims(&self, c: &Map<String, Value>, now: i64) -> Result<Claims, AuthError> {
        let s = &self.settings;
        let exp = numeric_date(c.get("exp"), false, "exp is not a NumericDate")?
            .ok_or(AuthError::Malformed("no exp claim"))?;
        if now >= exp.saturating_add(s.leeway) {
            return Err(AuthError::Expired);
        }
        let latest_start = now.saturating_add(s.leeway);
        if numeric_date(c.get("nbf"), true, "nbf is not a NumericDate")?
            .is_some_and(|nbf| nbf > latest_start)
        {
            return Err(AuthError::NotYetValid);
        }
        if numeric_date(c.get("iat"), true, "iat is not a NumericDate")?
            .is_some_and(|iat| iat > latest_start)
        {
            return Err(AuthError::NotYetValid);
        }
        let iss = match c.get("iss") {
            Some(Value::String(iss)) if s.issuers.contains(iss) => iss.clone(),
            Some(Value::String(iss)) => return Err(AuthError::WrongIssuer(quoted(iss))),
            _ => return Err(AuthError::WrongIssuer("(none)".into())),
        };
        let aud_ok = match c.get("aud") {
            Some(Value::String(a)) => *a == s.audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&s.audience)),
            _ => false,
        };
        if !aud_ok {
            return Err(AuthError::WrongAudience(s.audience.clone()));
        }
        let sub = match c.get("sub") {
            None | Some(Value::Null) => None,
            Some(Value::String(v)) => Some(v.clone()).filter(|v| !v.is_empty()),
            Some(_) => return Err(AuthError::Malformed("sub is not a string")),
        };

        let mut scopes = Vec::new();
        for name in ["scope", "scp"] {
            for scope in string_list(c.get(name), true) {
                if !scopes.contains(&scope) {
                    scopes.push(scope);
                }
            }
        }
        let missing: Vec<String> = s
            .required_scopes
            .iter()
            .filter(|r| !scopes.contains(r))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(AuthError::MissingScope(missing));
        }

        let mut roles = string_list(c.get("roles"), false);
        let realm_roles = c
            .get("realm_access")
            .and_then(|r| r.get("roles"))
            .map(|r| string_list(Some(r), false))
            .unwrap_or_default();
        for role in realm_roles {
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        Ok(Claims {
            iss,
            sub,
            preferred_username: string_claim(c, "preferred_username"),
            username: string_claim(c, "username"),
            email: string_claim(c, "email"),
            roles,
            groups: string_list(c.get("groups"), false),
            scopes,
            tenant_id: string_claim(c, "tenant_id").or_else(|| string_claim(c, "tid")),
            exp,
        })
    }

    /// Test hook: pretend `secs` seconds have passed.
    #[cfg(test)]
    fn advance_clock(&self, secs: i64) {
        self.clock_skew.fetch_add(secs, Ordering::Relaxed);
    }
}

fn token_digest(token: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    out
}

fn parse_header(b64: &str) -> Result<RawHeader, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| AuthError::Malformed("header is not base64url"))?;
    let header: RawHeader = serde_json::from_slice(&bytes)
        .map_err(|_| AuthError::Malformed("header is not a JSON object with a string alg"))?;
    // RFC 7515 4.1.11: extensions listed in crit must be understood; we understand none.
    if header.crit.is_some() {
        return Err(AuthError::Malformed("unsupported crit header"));
    }
    Ok(header)
}

fn map_biscuit_error(e: &biscuit::errors::Error) -> AuthError {
    use biscuit::errors::{Error, ValidationError};
    match e {
        Error::ValidationError(ValidationError::WrongAlgorithmHeader) => {
            AuthError::AlgNotAllowed("(header and key disagree)".into())
        }
        Error::ValidationError(_) | Error::UnspecifiedCryptographicError => AuthError::BadSignature,
        Error::DecodeError(_) | Error::DecodeBase64(_) | Error::Utf8(_) => {
            AuthError::Malformed("a part does not decode")
        }
        Error::JsonError(_) => {
            AuthError::Malformed("header or payload is not the JSON a JWT needs")
        }
        // Key/type mismatches are ruled out before biscuit is called; refuse whatever else.
        _ => AuthError::BadSignature,
    }
}

/// A NumericDate claim: integer or fractional seconds. Fractions round toward refusal
/// (`exp` down, `nbf`/`iat` up).
fn numeric_date(
    value: Option<&Value>,
    round_up: bool,
    what: &'static str,
) -> Result<Option<i64>, AuthError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
            match n.as_f64() {
                // Within ±1e15 s the conversion to i64 is exact and cannot overflow.
                Some(f) if f.is_finite() && f.abs() < 1e15 => {
                    Ok(Some(if round_up { f.ceil() } else { f.floor() } as i64))
                }
                _ => Err(AuthError::Malformed(what)),
            }
        }
        Some(_) => Err(AuthError::Malformed(what)),
    }
}

/// A profile claim: a non-empty string, anything else is ignored.
fn string_claim(c: &Map<String, Value>, name: &str) -> Option<String> {
    c.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// An array of strings (other elements ignored) or one string (split on whitespace when
/// `split`, as OAuth scope strings are).
fn string_list(value: Option<&Value>, split: bool) -> Vec<String> {
    match value {
        Some(Value::String(s)) if split => s.split_whitespace().map(str::to_string).collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

struct CachedToken {
    claims: Claims,
    generation: u64,
}

/// Verified tokens by SHA-256, until their `exp`. Bounded: when full, expired entries go
/// first, then the tenth closest to expiry, so a full cache pays one scan per many inserts.
struct TokenCache {
    capacity: usize,
    entries: Mutex<HashMap<[u8; 32], CachedToken>>,
}

impl TokenCache {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &[u8; 32], now: i64, leeway: i64, generation: u64) -> Option<Claims> {
        if self.capacity == 0 {
            return None;
        }
        // Poisoning cannot leave a half-written entry: insert and remove are single calls.
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let hit = entries.get(key)?;
        if hit.generation == generation && now < hit.claims.exp.saturating_add(leeway) {
            return Some(hit.claims.clone());
        }
        entries.remove(key);
        None
    }

    fn insert(&self, key: [u8; 32], claims: &Claims, generation: u64, now: i64, leeway: i64) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, e| now < e.claims.exp.saturating_add(leeway));
            if entries.len() >= self.capacity {
                let mut exps: Vec<i64> = entries.values().map(|e| e.claims.exp).collect();
                let drop = (self.capacity / 10).clamp(1, exps.len());
                let (_, cutoff, _) = exps.select_nth_unstable(drop - 1);
                let cutoff = *cutoff;
                entries.retain(|_, e| e.claims.exp > cutoff);
            }
        }
        entries.insert(
            key,
            CachedToken {
                claims: claims.clone(),
                generation,
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use biscuit::jws::{Header, RegisteredHeader, Secret as JwsSecret};
    use ring::hmac;
    use serde_json::json;

    use super::super::jwks::test_support::*;
    use super::*;

    const ISS: &str = "https://idp.test/realms/vizier";
    const AUD: &str = "vizier";
    /// 64 bytes: enough for HS512.
    const HS_SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn base(algs: &[&str]) -> JwtConfig {
        JwtConfig {
            algorithms: algs.iter().map(|s| s.to_string()).collect(),
            issuers: vec!["https://other.test".into(), ISS.into()],
            audience: AUD.into(),
            ..JwtConfig::default()
        }
    }

    fn hs_config(algs: &[&str]) -> JwtConfig {
        JwtConfig {
            hs_secret: Some(Secret::new(HS_SECRET)),
            ..base(algs)
        }
    }

    fn pem_config(algs: &[&str], pem: &str) -> JwtConfig {
        JwtConfig {
            public_key_pem: Some(pem.into()),
            ..base(algs)
        }
    }

    fn jwks_config(uri: &Url) -> JwtConfig {
        JwtConfig {
            algorithms: ["RS256", "PS256", "ES256", "ES384"]
                .map(String::from)
                .to_vec(),
            jwks_uri: Some(uri.to_string()),
            ..base(&[])
        }
    }

    fn claims() -> Value {
        let n = now();
        json!({
            "iss": ISS, "aud": AUD, "sub": "u-1", "exp": n + 300, "iat": n, "nbf": n - 5,
            "preferred_username": "alice", "scope": "bi.read bi.write",
            "jti": format!("{}", rand_u64()),
        })
    }

    fn rand_u64() -> u64 {
        use ring::rand::SecureRandom;
        let mut b = [0u8; 8];
        ring::rand::SystemRandom::new().fill(&mut b).unwrap();
        u64::from_le_bytes(b)
    }

    fn with(mut c: Value, key: &str, value: Value) -> Value {
        c[key] = value;
        c
    }

    fn without(mut c: Value, key: &str) -> Value {
        c.as_object_mut().unwrap().remove(key);
        c
    }

    /// Sign with biscuit (the way an identity provider would).
    fn sign(alg: SignatureAlgorithm, key: &JwsSecret, kid: Option<&str>, claims: &Value) -> String {
        let header = Header::from_registered_header(RegisteredHeader {
            algorithm: alg,
            key_id: kid.map(str::to_string),
            ..Default::default()
        });
        let payload = RawClaims(claims.as_object().unwrap().clone());
        Compact::<RawClaims, Empty>::new_decoded(header, payload)
            .encode(key)
            .unwrap()
            .encoded()
            .unwrap()
            .to_string()
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A token assembled by hand, signature included.
    fn hand(header: &Value, claims: &Value, signature: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes()),
            b64(signature)
        )
    }

    /// HS256 over header and claims with `secret`: how an attacker would forge with a
    /// public key as the HMAC secret.
    fn hs256_with(secret: &[u8], header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
        format!("{input}.{}", b64(tag.as_ref()))
    }

    fn rs(claims: &Value) -> String {
        sign(
            SignatureAlgorithm::RS256,
            &rsa_signer(RSA_A_PRIVATE),
            None,
            claims,
        )
    }

    async fn reason(v: &JwtVerifier, token: &str) -> &'static str {
        match v.verify(token).await {
            Ok(c) => panic!("accepted: {c:?}"),
            Err(e) => {
                let text = e.to_string();
                assert!(
                    token.is_empty() || !text.contains(token),
                    "error text contains the token: {text}"
                );
                if let Some(sig) = token.rsplit('.').next().filter(|s| s.len() > 8) {
                    assert!(
                        !text.contains(sig),
                        "error text contains the signature: {text}"
                    );
                }
                e.reason()
            }
        }
    }

    #[tokio::test]
    async fn good_tokens_for_every_algorithm() {
        use SignatureAlgorithm as A;
        let hs = JwtVerifier::new(&hs_config(&["HS256", "HS384"])).unwrap();
        let hs_key = JwsSecret::Bytes(HS_SECRET.as_bytes().to_vec());
        for alg in [A::HS256, A::HS384] {
            let c = hs
                .verify(&sign(alg, &hs_key, None, &claims()))
                .await
                .unwrap();
            assert_eq!(c.principal_name(), Some("alice"), "{alg:?}");
        }

        for pem in [RSA_A_PUBLIC, RSA_A_PUBLIC_PKCS1, RSA_A_CERT] {
            let rsa = JwtVerifier::new(&pem_config(&["RS256", "RS384", "PS256"], pem)).unwrap();
            for alg in [A::RS256, A::RS384, A::PS256] {
                let token = sign(alg, &rsa_signer(RSA_A_PRIVATE), Some("any"), &claims());
                rsa.verify(&token)
                    .await
                    .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
            }
        }

        let es256 = JwtVerifier::new(&pem_config(&["ES256"], EC256_PUBLIC)).unwrap();
        let token = sign(A::ES256, &ec_signer(EC256_PRIVATE, false), None, &claims());
        es256.verify(&token).await.unwrap();
        let es384 = JwtVerifier::new(&pem_config(&["ES384"], EC384_PUBLIC)).unwrap();
        let token = sign(A::ES384, &ec_signer(EC384_PRIVATE, true), None, &claims());
        es384.verify(&token).await.unwrap();
    }

    #[tokio::test]
    async fn bad_tokens_are_refused_with_the_right_reason() {
        let v = JwtVerifier::new(&pem_config(&["RS256"], RSA_A_PUBLIC)).unwrap();
        let n = now();
        let good = claims();
        let none_header = json!({"alg": "none", "typ": "JWT"});
        let rsa_pub_der = der(RSA_A_PUBLIC);
        let hs_header = json!({"alg": "HS256", "typ": "JWT"});
        let good_token = rs(&good);
        let tampered = {
            let parts: Vec<&str> = good_token.split('.').collect();
            let other = with(good.clone(), "sub", json!("admin"));
            format!(
                "{}.{}.{}",
                parts[0],
                b64(other.to_string().as_bytes()),
                parts[2]
            )
        };
        let rsa_header_b64 = b64(json!({"alg": "RS256"}).to_string().as_bytes());

        let corpus: Vec<(&str, String, &str)> = vec![
            (
                "expired",
                rs(&with(good.clone(), "exp", json!(n - 100))),
                "expired",
            ),
            ("no exp", rs(&without(good.clone(), "exp")), "malformed"),
            (
                "exp as string",
                rs(&with(good.clone(), "exp", json!("soon"))),
                "malformed",
            ),
            (
                "nbf in the future",
                rs(&with(good.clone(), "nbf", json!(n + 100))),
                "not_yet_valid",
            ),
            (
                "iat in the future",
                rs(&with(good.clone(), "iat", json!(n + 100))),
                "not_yet_valid",
            ),
            (
                "wrong audience",
                rs(&with(good.clone(), "aud", json!("grafana"))),
                "wrong_audience",
            ),
            (
                "audience array without us",
                rs(&with(good.clone(), "aud", json!(["a", "b"]))),
                "wrong_audience",
            ),
            (
                "no audience",
                rs(&without(good.clone(), "aud")),
                "wrong_audience",
            ),
            (
                "wrong issuer",
                rs(&with(good.clone(), "iss", json!("https://evil.test"))),
                "wrong_issuer",
            ),
            (
                "issuer prefix",
                rs(&with(good.clone(), "iss", json!(format!("{ISS}/x")))),
                "wrong_issuer",
            ),
            (
                "no issuer",
                rs(&without(good.clone(), "iss")),
                "wrong_issuer",
            ),
            (
                "signed by another key",
                sign(
                    SignatureAlgorithm::RS256,
                    &rsa_signer(RSA_B_PRIVATE),
                    None,
                    &good,
                ),
                "bad_signature",
            ),
            ("payload changed after signing", tampered, "bad_signature"),
            (
                "garbage signature",
                format!(
                    "{}.{}",
                    good_token.rsplit_once('.').unwrap().0,
                    b64(b"nope")
                ),
                "bad_signature",
            ),
            (
                "alg none",
                hand(&none_header, &good, b""),
                "alg_not_allowed",
            ),
            (
                "alg none with a signature",
                hand(&none_header, &good, b"sig"),
                "alg_not_allowed",
            ),
            (
                "alg NoNe",
                hand(&json!({"alg": "NoNe"}), &good, b""),
                "alg_not_allowed",
            ),
            (
                "HS256 with the public key PEM as secret",
                hs256_with(RSA_A_PUBLIC.as_bytes(), &hs_header, &good),
                "alg_not_allowed",
            ),
            (
                "HS256 with the public key DER as secret",
                hs256_with(&rsa_pub_der, &hs_header, &good),
                "alg_not_allowed",
            ),
            (
                "RS384 not in the allow-list",
                sign(
                    SignatureAlgorithm::RS384,
                    &rsa_signer(RSA_A_PRIVATE),
                    None,
                    &good,
                ),
                "alg_not_allowed",
            ),
            (
                "ES256 for an RSA key",
                sign(
                    SignatureAlgorithm::ES256,
                    &ec_signer(EC256_PRIVATE, false),
                    None,
                    &good,
                ),
                "alg_not_allowed",
            ),
            (
                "unknown alg",
                hand(&json!({"alg": "EdDSA"}), &good, b"sig"),
                "alg_not_allowed",
            ),
            ("empty", String::new(), "malformed"),
            ("one part", "abc".into(), "malformed"),
            ("two parts", "abc.def".into(), "malformed"),
            ("four parts", format!("{good_token}.x"), "malformed"),
            (
                "not base64url",
                format!("{rsa_header_b64}.a+b/c=.sig"),
                "malformed",
            ),
            ("header not base64", "!!!.e30.c2ln".into(), "malformed"),
            (
                "header not JSON",
                format!("{}.e30.c2ln", b64(b"hello")),
                "malformed",
            ),
            (
                "header without alg",
                format!("{}.e30.c2ln", b64(br#"{"typ":"JWT"}"#)),
                "malformed",
            ),
            (
                "alg not a string",
                format!("{}.e30.c2ln", b64(br#"{"alg":256}"#)),
                "malformed",
            ),
            (
                "crit header",
                hand(
                    &json!({"alg": "RS256", "crit": ["b64"], "b64": false}),
                    &good,
                    b"sig",
                ),
                "malformed",
            ),
            (
                "empty signature",
                format!("{rsa_header_b64}.e30."),
                "malformed",
            ),
            (
                "oversized",
                format!("{rsa_header_b64}.{}.sig", "A".repeat(9000)),
                "oversized",
            ),
        ];
        for (name, token, want) in &corpus {
            assert_eq!(reason(&v, token).await, *want, "{name}");
        }
        // 11 claim failures and 3 bad signatures reached the crypto; nothing else did.
        assert_eq!(v.signature_checks(), 14);

        // A correctly signed payload that is not a JSON object.
        let pair = rsa_pair(RSA_A_PRIVATE);
        let input = format!("{rsa_header_b64}.{}", b64(b"[1,2]"));
        let mut sig = vec![0; pair.public().modulus_len()];
        pair.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .unwrap();
        assert_eq!(
            reason(&v, &format!("{input}.{}", b64(&sig))).await,
            "malformed"
        );

        // Leeway (30 s) and accepted variants.
        for ok in [
            with(good.clone(), "exp", json!(n - 10)),
            with(good.clone(), "nbf", json!(n + 10)),
            with(good.clone(), "exp", json!((n + 60) as f64 + 0.5)),
            with(good.clone(), "aud", json!(["grafana", AUD])),
            with(good.clone(), "iss", json!("https://other.test")),
            without(without(good.clone(), "nbf"), "iat"),
        ] {
            v.verify(&rs(&ok))
                .await
                .unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        // A key embedded in the header is never trusted (nor jku/x5u followed).
        let b_jwk = rsa_jwk(RSA_B_PRIVATE, "b", None);
        let embedded = {
            let header = json!({"alg": "RS256", "jwk": b_jwk, "jku": "https://evil.test/jwks"});
            let input = format!(
                "{}.{}",
                b64(header.to_string().as_bytes()),
                b64(good.to_string().as_bytes())
            );
            let pair = rsa_pair(RSA_B_PRIVATE);
            let mut sig = vec![0; pair.public().modulus_len()];
            pair.sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .unwrap();
            format!("{input}.{}", b64(&sig))
        };
        assert_eq!(reason(&v, &embedded).await, "bad_signature");
        // Extra header fields are fine.
        let extra = sign(
            SignatureAlgorithm::RS256,
            &rsa_signer(RSA_A_PRIVATE),
            Some("k1"),
            &claims(),
        );
        v.verify(&extra).await.unwrap();
    }

    #[tokio::test]
    async fn hmac_verifier_refuses_other_families_and_wrong_secrets() {
        let v = JwtVerifier::new(&hs_config(&["HS256"])).unwrap();
        let good = claims();
        let hs_header = json!({"alg": "HS256"});
        v.verify(&hs256_with(HS_SECRET.as_bytes(), &hs_header, &good))
            .await
            .unwrap();
        assert_eq!(
            reason(
                &v,
                &hs256_with(b"another secret, also 32 bytes long!", &hs_header, &good)
            )
            .await,
            "bad_signature"
        );
        assert_eq!(reason(&v, &rs(&good)).await, "alg_not_allowed");
        let hs384 = sign(
            SignatureAlgorithm::HS384,
            &JwsSecret::Bytes(HS_SECRET.as_bytes().to_vec()),
            None,
            &good,
        );
        assert_eq!(reason(&v, &hs384).await, "alg_not_allowed");
    }

    #[tokio::test]
    async fn scopes_roles_and_names() {
        let mut cfg = pem_config(&["RS256"], RSA_A_PUBLIC);
        cfg.required_scopes = vec!["bi.read".into()];
        let v = JwtVerifier::new(&cfg).unwrap();
        let good = claims();

        let c = v.verify(&rs(&good)).await.unwrap();
        assert_eq!(c.scopes, ["bi.read", "bi.write"]);
        assert_eq!(
            reason(&v, &rs(&with(good.clone(), "scope", json!("bi.write")))).await,
            "missing_scope"
        );
        assert_eq!(
            reason(&v, &rs(&without(good.clone(), "scope"))).await,
            "missing_scope"
        );
        let e = v
            .verify(&rs(&without(good.clone(), "scope")))
            .await
            .unwrap_err();
        assert_eq!(e, AuthError::MissingScope(vec!["bi.read".into()]));

        // `scp` as an array (Okta) and as a string (Azure AD).
        let scp = without(
            with(good.clone(), "scp", json!(["bi.admin", "bi.read"])),
            "scope",
        );
        let c = v.verify(&rs(&scp)).await.unwrap();
        assert_eq!(c.scopes, ["bi.admin", "bi.read"]);
        assert!(c.has_scope("bi.admin"));
        let scp = without(with(good.clone(), "scp", json!("bi.read x")), "scope");
        assert_eq!(v.verify(&rs(&scp)).await.unwrap().scopes, ["bi.read", "x"]);

        let rich = json!({
            "roles": ["analyst", 7, ""], "realm_access": {"roles": ["analyst", "admin"]},
            "groups": "/finance", "tid": "t-42", "email": "a@example.test", "username": "al",
        });
        let mut token_claims = without(good.clone(), "preferred_username");
        for (k, val) in rich.as_object().unwrap() {
            token_claims[k] = val.clone();
        }
        let c = v.verify(&rs(&token_claims)).await.unwrap();
        assert_eq!(c.roles, ["analyst", "admin"]);
        assert_eq!(c.groups, ["/finance"]);
        assert_eq!(c.tenant_id.as_deref(), Some("t-42"));
        assert_eq!(c.principal_name(), Some("al"));
        assert_eq!(c.iss, ISS);
        assert_eq!(c.sub.as_deref(), Some("u-1"));

        let mut c2 = c.clone();
        c2.username = None;
        assert_eq!(c2.principal_name(), Some("a@example.test"));
        c2.email = None;
        assert_eq!(c2.principal_name(), Some("u-1"));
        c2.sub = None;
        assert_eq!(c2.principal_name(), None);
        assert_eq!(
            reason(&v, &rs(&with(good.clone(), "sub", json!(42)))).await,
            "malformed"
        );
    }

    #[tokio::test]
    async fn cache_skips_the_signature_but_not_the_expiry() {
        let mut cfg = pem_config(&["RS256"], RSA_A_PUBLIC);
        cfg.leeway_secs = 0;
        let v = JwtVerifier::new(&cfg).unwrap();
        let token = rs(&with(claims(), "exp", json!(now() + 100)));
        let first = v.verify(&token).await.unwrap();
        assert_eq!(v.signature_checks(), 1);
        for _ in 0..5 {
            assert_eq!(v.verify(&token).await.unwrap(), first);
        }
        assert_eq!(v.signature_checks(), 1, "hits do not re-verify");
        // A different token is a miss.
        v.verify(&rs(&claims())).await.unwrap();
        assert_eq!(v.signature_checks(), 2);

        v.advance_clock(101);
        assert_eq!(reason(&v, &token).await, "expired");

        // Disabled cache.
        cfg.cache_entries = 0;
        let v = JwtVerifier::new(&cfg).unwrap();
        let fresh = rs(&claims());
        v.verify(&fresh).await.unwrap();
        v.verify(&fresh).await.unwrap();
        assert_eq!(v.signature_checks(), 2);
    }

    #[test]
    fn cache_is_bounded() {
        let cache = TokenCache::new(20);
        let n = now();
        let mk = |exp: i64| Claims {
            iss: ISS.into(),
            sub: None,
            preferred_username: None,
            username: None,
            email: None,
            roles: vec![],
            groups: vec![],
            scopes: vec![],
            tenant_id: None,
            exp,
        };
        for i in 0..100u8 {
            let exp = n + 1000 + i64::from(i);
            cache.insert([i; 32], &mk(exp), 0, n, 0);
            assert!(cache.len() <= 20);
        }
        // The newest (latest-expiring) survive; the earliest were dropped.
        assert!(cache.get(&[99; 32], n, 0, 0).is_some());
        assert!(cache.get(&[0; 32], n, 0, 0).is_none());
        // A generation change makes entries misses.
        assert!(cache.get(&[99; 32], n, 0, 1).is_none());
        // Expired entries are dropped first.
        let cache = TokenCache::new(3);
        cache.insert([1; 32], &mk(n - 1), 0, n - 10, 0);
        cache.insert([2; 32], &mk(n + 500), 0, n, 0);
        cache.insert([3; 32], &mk(n + 500), 0, n, 0);
        cache.insert([4; 32], &mk(n + 500), 0, n, 0);
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&[2; 32], n, 0, 0).is_some());
    }

    fn fast(min_refetch_ms: u64) -> JwksOptions {
        JwksOptions {
            refresh: Duration::from_secs(300),
            min_refetch: Duration::from_millis(min_refetch_ms),
            timeout: Duration::from_secs(2),
        }
    }

    #[tokio::test]
    async fn jwks_rotation_refetch_and_outage() {
        use SignatureAlgorithm as A;
        let server = JwksServer::start(json!({"keys": [
            rsa_jwk(RSA_A_PRIVATE, "a", Some("RS256")),
            ec_jwk(EC256_PRIVATE, false, "e256"),
            ec_jwk(EC384_PRIVATE, true, "e384"),
        ]}))
        .await;
        let v = JwtVerifier::build(&jwks_config(&server.url), Some(fast(REFETCH_MS))).unwrap();
        let a = rsa_signer(RSA_A_PRIVATE);
        let b = rsa_signer(RSA_B_PRIVATE);

        let token_a = sign(A::RS256, &a, Some("a"), &claims());
        v.verify(&token_a).await.unwrap();
        v.verify(&sign(
            A::ES256,
            &ec_signer(EC256_PRIVATE, false),
            Some("e256"),
            &claims(),
        ))
        .await
        .unwrap();
        v.verify(&sign(
            A::ES384,
            &ec_signer(EC384_PRIVATE, true),
            Some("e384"),
            &claims(),
        ))
        .await
        .unwrap();
        assert_eq!(server.hits(), 1);
        // The JWK pins key "a" to RS256.
        assert_eq!(
            reason(&v, &sign(A::PS256, &a, Some("a"), &claims())).await,
            "alg_not_allowed"
        );
        // Algorithm confusion through a JWKS: HS256 with the JWK's key bytes, with a kid.
        let forged = hs256_with(
            &der(RSA_A_PUBLIC),
            &json!({"alg": "HS256", "kid": "a"}),
            &claims(),
        );
        assert_eq!(reason(&v, &forged).await, "alg_not_allowed");

        // Rotation: B appears under a new kid.
        server.serve(json!({"keys": [
            rsa_jwk(RSA_A_PRIVATE, "a", Some("RS256")),
            rsa_jwk(RSA_B_PRIVATE, "b", None),
        ]}));
        let token_b = sign(A::RS256, &b, Some("b"), &claims());
        // Right after a fetch the refetch is rate limited.
        assert_eq!(reason(&v, &token_b).await, "unknown_kid");
        assert_eq!(server.hits(), 1);
        tokio::time::sleep(Duration::from_millis(REFETCH_MS + 50)).await;
        v.verify(&token_b).await.unwrap();
        assert_eq!(server.hits(), 2);
        // PS256 with the key that has no alg in its JWK.
        v.verify(&sign(A::PS256, &b, Some("b"), &claims()))
            .await
            .unwrap();
        // Garbage kids right after: no request.
        for i in 0..10 {
            let junk = sign(A::RS256, &b, Some(&format!("junk{i}")), &claims());
            assert_eq!(reason(&v, &junk).await, "unknown_kid");
        }
        assert_eq!(server.hits(), 2);

        // The key set changed, so the cached token A is verified again (still valid).
        let checks = v.signature_checks();
        v.verify(&token_a).await.unwrap();
        assert_eq!(v.signature_checks(), checks + 1);
        v.verify(&token_a).await.unwrap();
        assert_eq!(v.signature_checks(), checks + 1);

        // Outage: cached keys keep working, unknown kids fail after one bounded attempt.
        server.stop().await;
        tokio::time::sleep(Duration::from_millis(REFETCH_MS + 50)).await;
        v.verify(&sign(A::RS256, &a, Some("a"), &claims()))
            .await
            .unwrap();
        v.verify(&sign(A::RS256, &b, Some("b"), &claims()))
            .await
            .unwrap();
        let fetches = v.jwks().unwrap().fetch_count();
        assert_eq!(
            reason(&v, &sign(A::RS256, &b, Some("c"), &claims())).await,
            "unknown_kid"
        );
        assert_eq!(v.jwks().unwrap().fetch_count(), fetches + 1);
        assert_eq!(
            reason(&v, &sign(A::RS256, &b, Some("d"), &claims())).await,
            "unknown_kid"
        );
        assert_eq!(v.jwks().unwrap().fetch_count(), fetches + 1);
        v.verify(&token_b).await.unwrap();
    }

    #[tokio::test]
    async fn removed_key_stops_working_even_for_cached_tokens() {
        use SignatureAlgorithm as A;
        let server = JwksServer::start(json!({"keys": [
            rsa_jwk(RSA_A_PRIVATE, "a", None),
            rsa_jwk(RSA_B_PRIVATE, "b", None),
        ]}))
        .await;
        let v = JwtVerifier::build(&jwks_config(&server.url), Some(fast(0))).unwrap();
        let token_a = sign(A::RS256, &rsa_signer(RSA_A_PRIVATE), Some("a"), &claims());
        v.verify(&token_a).await.unwrap();
        v.verify(&token_a).await.unwrap();
        server.serve(json!({"keys": [rsa_jwk(RSA_B_PRIVATE, "b", None)]}));
        v.jwks().unwrap().refresh().await.unwrap();
        assert_eq!(reason(&v, &token_a).await, "unknown_kid");
        server.stop().await;
    }

    #[tokio::test]
    async fn jwks_unavailable_and_background_start() {
        let port = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/jwks")).unwrap();
        let v = JwtVerifier::new(&jwks_config(&url)).unwrap();
        let token = sign(
            SignatureAlgorithm::RS256,
            &rsa_signer(RSA_A_PRIVATE),
            Some("a"),
            &claims(),
        );
        assert_eq!(reason(&v, &token).await, "jwks_unavailable");

        let server = JwksServer::start(json!({"keys": [rsa_jwk(RSA_A_PRIVATE, "a", None)]})).await;
        let v = JwtVerifier::new(&jwks_config(&server.url)).unwrap();
        let cancel = CancellationToken::new();
        let task = v.start(cancel.clone()).unwrap();
        for _ in 0..100 {
            if v.jwks().unwrap().current().loaded {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(server.hits(), 1);
        v.verify(&token).await.unwrap();
        assert_eq!(server.hits(), 1);
        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .unwrap()
            .unwrap();
        server.stop().await;

        // Static keys have nothing to start.
        let s = JwtVerifier::new(&hs_config(&["HS256"])).unwrap();
        assert!(s.start(CancellationToken::new()).is_none());
    }

    fn config_error(cfg: &JwtConfig) -> String {
        let e = cfg.validate().unwrap_err().0;
        assert!(!e.contains(HS_SECRET), "{e}");
        e
    }

    #[test]
    fn config_validation() {
        hs_config(&["HS256", "HS512"]).validate().unwrap();
        pem_config(&["RS256", "PS512"], RSA_A_PUBLIC)
            .validate()
            .unwrap();
        pem_config(&["ES384"], EC384_PUBLIC).validate().unwrap();

        let e = config_error(&hs_config(&["HS256", "none"]));
        assert!(e.contains("'none'"), "{e}");
        let e = config_error(&hs_config(&["NONE"]));
        assert!(e.contains("never accepted"), "{e}");
        let e = config_error(&hs_config(&["ES512"]));
        assert!(e.contains("P-521"), "{e}");
        let e = config_error(&hs_config(&[]));
        assert!(e.contains("algorithms is empty"), "{e}");
        // The default algorithms do not fit an HMAC secret.
        let e = config_error(&JwtConfig {
            hs_secret: Some(Secret::new(HS_SECRET)),
            ..base(&["RS256", "ES256"])
        });
        assert!(e.contains("HS256/HS384/HS512"), "{e}");
        // Algorithm confusion by configuration: HS with a public key.
        let e = config_error(&pem_config(&["RS256", "HS256"], RSA_A_PUBLIC));
        assert!(e.contains("cannot verify"), "{e}");
        let e = config_error(&pem_config(&["RS256"], EC256_PUBLIC));
        assert!(e.contains("EC P-256"), "{e}");
        let e = config_error(&pem_config(&["RS256"], RSA_A_PRIVATE));
        assert!(e.contains("private key"), "{e}");
        assert!(!e.contains("MII"), "{e}");

        let e = config_error(&base(&["RS256"]));
        assert!(
            e.contains("exactly one key source") && e.contains("0 are set"),
            "{e}"
        );
        let e = config_error(&JwtConfig {
            jwks_uri: Some("https://idp.test/jwks".into()),
            ..pem_config(&["RS256"], RSA_A_PUBLIC)
        });
        assert!(e.contains("2 are set"), "{e}");
        // Empty strings (unset environment variables) do not count as a source.
        pem_config(&["RS256"], RSA_A_PUBLIC)
            .clone()
            .validate()
            .unwrap();
        JwtConfig {
            jwks_uri: Some(" ".into()),
            hs_secret: Some(Secret::new("")),
            ..pem_config(&["RS256"], RSA_A_PUBLIC)
        }
        .validate()
        .unwrap();

        let mut c = hs_config(&["HS256"]);
        c.issuers.clear();
        assert!(config_error(&c).contains("issuers is empty"));
        let mut c = hs_config(&["HS256"]);
        c.audience = " ".into();
        assert!(config_error(&c).contains("audience is empty"));
        let mut c = hs_config(&["HS256"]);
        c.leeway_secs = 3600;
        assert!(config_error(&c).contains("leeway_secs"));
        let mut c = hs_config(&["HS256"]);
        c.required_scopes = vec!["a b".into()];
        assert!(config_error(&c).contains("required_scopes"));
        let mut c = hs_config(&["HS256"]);
        c.max_token_bytes = 10;
        assert!(config_error(&c).contains("max_token_bytes"));

        // HMAC secret length and base64 form.
        let mut c = hs_config(&["HS256"]);
        c.hs_secret = Some(Secret::new("short-secret"));
        let e = config_error(&c);
        assert!(e.contains("12 bytes") && e.contains("at least 32"), "{e}");
        assert!(!e.contains("short-secret"), "{e}");
        c.hs_secret = Some(Secret::new(format!(
            "base64:{}",
            STANDARD.encode([7u8; 32])
        )));
        c.validate().unwrap();
        c.algorithms = vec!["HS512".into()];
        assert!(config_error(&c).contains("at least 64"));
        c.hs_secret = Some(Secret::new("base64:***not base64***"));
        assert!(config_error(&c).contains("not valid base64"));
        assert_eq!(
            hs_secret_bytes(&Secret::new(format!(
                "base64:{}",
                URL_SAFE_NO_PAD.encode([0xfb; 40])
            )))
            .unwrap(),
            [0xfb; 40]
        );

        // JWKS URIs.
        let jwks = |uri: &str| JwtConfig {
            jwks_uri: Some(uri.into()),
            ..base(&["RS256"])
        };
        jwks("https://idp.test/jwks").validate().unwrap();
        jwks("http://127.0.0.1:8080/jwks").validate().unwrap();
        jwks("http://localhost/jwks").validate().unwrap();
        jwks("http://[::1]/jwks").validate().unwrap();
        let e = config_error(&jwks("http://idp.internal/jwks"));
        assert!(e.contains("jwks_allow_http"), "{e}");
        JwtConfig {
            jwks_allow_http: true,
            ..jwks("http://idp.internal/jwks")
        }
        .validate()
        .unwrap();
        assert!(config_error(&jwks("file:///etc/jwks.json")).contains("not https"));
        assert!(config_error(&jwks("not a url")).contains("not a URL"));
        let e = config_error(&JwtConfig {
            algorithms: vec!["RS256".into(), "HS256".into()],
            ..jwks("https://idp.test/jwks")
        });
        assert!(e.contains("HS256 with jwks_uri"), "{e}");
        let mut c = jwks("https://idp.test/jwks");
        c.jwks_min_refetch_secs = 0;
        assert!(config_error(&c).contains("at least 1"));
    }

    #[test]
    fn public_key_from_a_file() {
        let path = std::env::temp_dir().join(format!("vizier-jwt-test-{}.pem", rand_u64()));
        std::fs::write(&path, EC256_PUBLIC).unwrap();
        let c = pem_config(&["ES256"], path.to_str().unwrap());
        c.validate().unwrap();
        std::fs::remove_file(&path).unwrap();
        let e = config_error(&c);
        assert!(e.contains("reading it as a file path"), "{e}");
    }

    #[test]
    fn config_deserializes_with_defaults_and_single_strings() {
        let c: JwtConfig = serde_json::from_value(json!({
            "issuers": ISS, "audience": AUD, "hs_secret": HS_SECRET,
            "algorithms": "HS256", "required_scopes": "bi.read",
        }))
        .unwrap();
        assert_eq!(c.issuers, [ISS]);
        assert_eq!(c.algorithms, ["HS256"]);
        assert_eq!(c.required_scopes, ["bi.read"]);
        assert_eq!(c.leeway_secs, 30);
        assert_eq!(c.max_token_bytes, 8192);
        assert_eq!(c.jwks_refresh_secs, 300);
        assert_eq!(c.jwks_min_refetch_secs, 10);
        c.validate().unwrap();
        let d = JwtConfig::default();
        assert_eq!(d.algorithms, ["RS256", "ES256"]);
        // Secrets never print.
        let dbg = format!("{c:?}");
        assert!(dbg.contains("***") && !dbg.contains(HS_SECRET), "{dbg}");
        let v = JwtVerifier::new(&c).unwrap();
        assert!(!format!("{v:?}").contains(HS_SECRET));
        assert!(
            serde_json::from_value::<JwtConfig>(json!({"audiense": "x"})).is_err(),
            "unknown keys are refused"
        );
    }

    #[test]
    fn verifier_is_shareable_across_tasks() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: &T) {}
        let v = JwtVerifier::new(&hs_config(&["HS256"])).unwrap();
        send_sync(&v);
        send(&v.verify("x"));
    }

    #[test]
    fn missing_keys_take_defaults() {
        let c: JwtConfig = serde_json::from_value(json!({
            "issuers": [ISS], "audience": AUD, "jwks_uri": "https://idp.test/jwks",
        }))
        .unwrap();
        assert_eq!(c.algorithms, ["RS256", "ES256"]);
        assert_eq!(c.cache_entries, 10_000);
        c.validate().unwrap();
    }

    #[test]
    fn reasons_are_stable() {
        let all = [
            (AuthError::Malformed("x"), "malformed"),
            (AuthError::Oversized { len: 2, max: 1 }, "oversized"),
            (AuthError::BadSignature, "bad_signature"),
            (AuthError::Expired, "expired"),
            (AuthError::NotYetValid, "not_yet_valid"),
            (AuthError::WrongAudience("a".into()), "wrong_audience"),
            (AuthError::WrongIssuer("i".into()), "wrong_issuer"),
            (AuthError::AlgNotAllowed("none".into()), "alg_not_allowed"),
            (AuthError::UnknownKid("k".into()), "unknown_kid"),
            (AuthError::MissingScope(vec!["s".into()]), "missing_scope"),
            (
                AuthError::JwksUnavailable("down".into()),
                "jwks_unavailable",
            ),
        ];
        for (e, r) in all {
            assert_eq!(e.reason(), r);
        }
        assert_eq!(quoted("a\"b\n"), r#""a\"b\n""#);
        assert_eq!(quoted(&"x".repeat(100)).chars().count(), 64 + 3);
    }
}

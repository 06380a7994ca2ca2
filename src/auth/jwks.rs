//! Verification keys: where the keys that check JWT signatures come from.
//!
//! Two sources produce a [`VerifyingKey`]:
//! - a configured PEM (`PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`), converted to the DER
//!   forms *ring* wants: PKCS#1 `RSAPublicKey` for RSA, the uncompressed SEC1 point for EC;
//! - a JSON Web Key Set fetched over HTTP(S) by [`JwksCache`]: RSA keys (`n`, `e`) and EC
//!   P-256/P-384 keys (`x`, `y`). Symmetric (`oct`) keys in a key set are ignored on purpose:
//!   a key published on the network must never become an HMAC secret.
//!
//! [`JwksCache`] keeps the last good key set: a failed or empty fetch never drops keys that
//! were working. A background task refreshes every `refresh`; a token with an unknown `kid`
//! may trigger a refetch, at most once per `min_refetch`, so garbage `kid`s cannot turn the
//! server into a load generator against the identity provider.
//!
//! Everything here parses the key set itself (instead of deserializing biscuit's `JWKSet`)
//! so one key biscuit cannot represent (Ed25519, an encryption key, an odd field) is
//! skipped instead of failing the whole set.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use biscuit::jwa::SignatureAlgorithm;
use biscuit::jws::Secret as JwsSecret;
use ring::digest;
use serde::Deserialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

/// A key set larger than this is refused: real ones are a few kilobytes.
pub const MAX_JWKS_BYTES: usize = 512 * 1024;

/// RSA moduli *ring* verifies (`RSA_PKCS1_2048_8192_*`, `RSA_PSS_2048_8192_*`). Checked when a
/// key is loaded so a weak key is reported at start, not as `bad_signature` on every call.
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;

// DER encodings of the object identifiers we recognise in a SubjectPublicKeyInfo.
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_NULL: u8 = 0x05;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_CONTEXT_0: u8 = 0xa0;

/// The family of a key, which decides the algorithms it may verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    EcP256,
    EcP384,
    Hmac,
}

impl KeyKind {
    /// Whether a token signed with `alg` can be checked with a key of this kind. This is
    /// the algorithm-confusion guard: an RSA or EC key never verifies `HS*` (which would
    /// use the public key as an HMAC secret), and an HMAC secret never verifies `RS*`.
    /// It also keeps biscuit away from its `unreachable!` arms for mismatched pairs.
    pub fn accepts(self, alg: SignatureAlgorithm) -> bool {
        use SignatureAlgorithm as A;
        matches!(
            (self, alg),
            (
                KeyKind::Rsa,
                A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512
            ) | (KeyKind::EcP256, A::ES256)
                | (KeyKind::EcP384, A::ES384)
                | (KeyKind::Hmac, A::HS256 | A::HS384 | A::HS512)
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Rsa => "RSA",
            KeyKind::EcP256 => "EC P-256",
            KeyKind::EcP384 => "EC P-384",
            KeyKind::Hmac => "HMAC secret",
        }
    }
}

/// The JWS algorithm names vizier can verify (ES512 is absent: *ring* has no P-521).
pub const SUPPORTED_ALGORITHMS: &[&str] = &[
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
    "ES384",
];

/// Parse a JWS `alg` name (case-sensitive, RFC 7518). `none` and unsupported names give `None`.
pub fn parse_algorithm(name: &str) -> Option<SignatureAlgorithm> {
    use SignatureAlgorithm as A;
    Some(match name {
        "HS256" => A::HS256,
        "HS384" => A::HS384,
        "HS512" => A::HS512,
        "RS256" => A::RS256,
        "RS384" => A::RS384,
        "RS512" => A::RS512,
        "PS256" => A::PS256,
        "PS384" => A::PS384,
        "PS512" => A::PS512,
        "ES256" => A::ES256,
        "ES384" => A::ES384,
        _ => return None,
    })
}

/// Why a key could not be loaded. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no PEM block found (expected -----BEGIN PUBLIC KEY-----)")]
    NotPem,
    #[error("the PEM body is not valid base64")]
    PemBase64,
    #[error(
        "this is a private key ({0}); configure the public key instead (openssl pkey -in key.pem -pubout)"
    )]
    PrivateKey(String),
    #[error("unsupported PEM block '{0}': use PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE")]
    UnsupportedPem(String),
    #[error("the key's DER structure is invalid ({0})")]
    BadDer(&'static str),
    #[error("unsupported key algorithm: {0}")]
    UnsupportedAlgorithm(String),
    #[error("RSA key of {bits} bits: only {RSA_MIN_BITS} to {RSA_MAX_BITS} bits are accepted")]
    RsaSize { bits: usize },
    #[error("EC key is not an uncompressed point of the curve's size")]
    BadEcPoint,
    #[error("JWK: {0}")]
    Jwk(String),
}

/// A key that verifies signatures, with the algorithms it may be used for.
pub struct VerifyingKey {
    kid: Option<String>,
    kind: KeyKind,
    /// The JWK's `alg` when it names one: the key is then used for that algorithm only.
    alg: Option<SignatureAlgorithm>,
    secret: JwsSecret,
    /// SHA-256 over kind, kid, alg and key bytes: tells whether a refreshed key set changed.
    fingerprint: [u8; 32],
}

impl fmt::Debug for VerifyingKey {
    // Public keys are not secret, but an HMAC key is: print neither.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("kind", &self.kind)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    fn new(
        kid: Option<String>,
        kind: KeyKind,
        alg: Option<SignatureAlgorithm>,
        material: Vec<u8>,
    ) -> Self {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(kind.as_str().as_bytes());
        ctx.update(&[0]);
        ctx.update(kid.as_deref().unwrap_or_default().as_bytes());
        ctx.update(&[0]);
        ctx.update(format!("{alg:?}").as_bytes());
        ctx.update(&[0]);
        ctx.update(&material);
        let mut fingerprint = [0u8; 32];
        fingerprint.copy_from_slice(ctx.finish().as_ref());
        let secret = match kind {
            KeyKind::Hmac => JwsSecret::Bytes(material),
            // *ring* takes PKCS#1 DER for RSA and the SEC1 point for EC through the same
            // `UnparsedPublicKey`, which is what biscuit's `PublicKey` variant feeds it.
            KeyKind::Rsa | KeyKind::EcP256 | KeyKind::EcP384 => JwsSecret::PublicKey(material),
        };
        Self {
            kid,
            kind,
            alg,
            secret,
            fingerprint,
        }
    }

    /// An HMAC key from raw secret bytes.
    pub fn hmac(secret: Vec<u8>) -> Self {
        Self::new(None, KeyKind::Hmac, None, secret)
    }

    /// A public key from PEM text: `PUBLIC KEY` (SubjectPublicKeyInfo, RSA or EC P-256/P-384),
    /// `RSA PUBLIC KEY` (PKCS#1) or `CERTIFICATE` (only its public key is used; the
    /// certificate's validity and chain are not checked, it is a key container here).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = pem_decode(pem)?;
        let (kind, material) = match label.as_str() {
            "PUBLIC KEY" => spki_key(&der)?,
            "RSA PUBLIC KEY" => (KeyKind::Rsa, rsa_pkcs1(&der)?),
            "CERTIFICATE" => spki_key(certificate_spki(&der)?)?,
            l if l.contains("PRIVATE KEY") => return Err(KeyError::PrivateKey(label)),
            _ => return Err(KeyError::UnsupportedPem(label)),
        };
        Ok(Self::new(None, kind, None, material))
    }

    /// A key from one JWK object of a key set. Keys that must not or cannot verify
    /// signatures are errors; the caller skips them.
    pub fn from_jwk(value: &serde_json::Value) -> Result<Self, KeyError> {
        let jwk = RawJwk::deserialize(value).map_err(|e| KeyError::Jwk(e.to_string()))?;
        if let Some(u) = jwk.public_key_use.as_deref()
            && u != "sig"
        {
            return Err(KeyError::Jwk(format!(
                "\"use\": \"{u}\" is not a signing key"
            )));
        }
        if let Some(ops) = &jwk.key_ops
            && !ops.iter().any(|op| op == "verify")
        {
            return Err(KeyError::Jwk("key_ops does not include verify".into()));
        }
        let alg = match jwk.alg.as_deref() {
            None => None,
            Some(name) => Some(
                parse_algorithm(name)
                    .ok_or_else(|| KeyError::UnsupportedAlgorithm(format!("alg {name}")))?,
            ),
        };
        let (kind, material) = match jwk.kty.as_str() {
            "RSA" => {
                let n = b64url_field(jwk.n.as_deref(), "n")?;
                let e = b64url_field(jwk.e.as_deref(), "e")?;
                let der = der_tlv(TAG_SEQUENCE, &[der_uint(&n), der_uint(&e)].concat());
                (KeyKind::Rsa, rsa_pkcs1(&der)?)
            }
            "EC" => {
                let (kind, size) = match jwk.crv.as_deref() {
                    Some("P-256") => (KeyKind::EcP256, 32),
                    Some("P-384") => (KeyKind::EcP384, 48),
                    other => {
                        return Err(KeyError::UnsupportedAlgorithm(format!(
                            "EC curve {}",
                            other.unwrap_or("(none)")
                        )));
                    }
                };
                let x = b64url_field(jwk.x.as_deref(), "x")?;
                let y = b64url_field(jwk.y.as_deref(), "y")?;
                if x.len() != size || y.len() != size {
                    return Err(KeyError::BadEcPoint);
                }
                let mut point = Vec::with_capacity(1 + 2 * size);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                (kind, point)
            }
            // Never take a symmetric key from the network (see the module docs).
            "oct" => {
                return Err(KeyError::Jwk(
                    "symmetric (oct) keys are not accepted".into(),
                ));
            }
            other => return Err(KeyError::UnsupportedAlgorithm(format!("kty {other}"))),
        };
        if let Some(a) = alg
            && !kind.accepts(a)
        {
            return Err(KeyError::Jwk(format!(
                "alg {a:?} does not fit a {} key",
                kind.as_str()
            )));
        }
        Ok(Self::new(jwk.kid, kind, alg, material))
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// Whether this key may verify a token signed with `alg`.
    pub fn accepts(&self, alg: SignatureAlgorithm) -> bool {
        self.kind.accepts(alg) && self.alg.is_none_or(|a| a == alg)
    }

    pub(crate) fn jws_secret(&self) -> &JwsSecret {
        &self.secret
    }
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    public_key_use: Option<String>,
    key_ops: Option<Vec<String>>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

fn b64url_field(value: Option<&str>, name: &str) -> Result<Vec<u8>, KeyError> {
    let value = value.ok_or_else(|| KeyError::Jwk(format!("missing \"{name}\"")))?;
    // RFC 7517 says unpadded base64url; some servers pad anyway, which is harmless.
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|_| KeyError::Jwk(format!("\"{name}\" is not base64url")))
}

/// The first PEM block of `text`: its label and DER bytes.
pub(crate) fn pem_decode(text: &str) -> Result<(String, Vec<u8>), KeyError> {
    let start = text.find("-----BEGIN ").ok_or(KeyError::NotPem)?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let label_end = rest.find("-----").ok_or(KeyError::NotPem)?;
    let label = rest[..label_end].trim().to_string();
    let body = &rest[label_end + "-----".len()..];
    let end_marker = format!("-----END {label}-----");
    let body_end = body.find(&end_marker).ok_or(KeyError::NotPem)?;
    let b64: String = body[..body_end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = STANDARD.decode(b64).map_err(|_| KeyError::PemBase64)?;
    Ok((label, der))
}

/// One DER element: (tag, contents, what follows). Definite lengths up to 4 bytes only,
/// which covers every key and certificate we could be given.
fn der_next(input: &[u8]) -> Result<(u8, &[u8], &[u8]), KeyError> {
    let bad = KeyError::BadDer("truncated or invalid length");
    let (&tag, rest) = input.split_first().ok_or(KeyError::BadDer("empty"))?;
    let (&first, rest) = rest.split_first().ok_or(bad.clone())?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad);
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(bad);
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

fn der_expect<'a>(
    input: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), KeyError> {
    let (t, body, rest) = der_next(input)?;
    if t != tag {
        return Err(KeyError::BadDer(what));
    }
    Ok((body, rest))
}

fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![len as u8];
    }
    let bytes: Vec<u8> = len
        .to_be_bytes()
        .into_iter()
        .skip_while(|&b| b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

fn der_tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(body.len()));
    out.extend_from_slice(body);
    out
}

/// A DER INTEGER holding the unsigned big-endian `bytes`.
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = match bytes.iter().position(|&b| b != 0) {
        Some(i) => &bytes[i..],
        None => &[0],
    };
    let mut body = Vec::with_capacity(trimmed.len() + 1);
    // A set high bit would make the INTEGER negative.
    if trimmed[0] & 0x80 != 0 {
        body.push(0);
    }
    body.extend_from_slice(trimmed);
    der_tlv(TAG_INTEGER, &body)
}

/// Check a PKCS#1 `RSAPublicKey` and return exactly its DER (trailing bytes dropped).
fn rsa_pkcs1(der: &[u8]) -> Result<Vec<u8>, KeyError> {
    let (seq, _) = der_expect(der, TAG_SEQUENCE, "RSAPublicKey is not a SEQUENCE")?;
    let (n, rest) = der_expect(seq, TAG_INTEGER, "RSA modulus is not an INTEGER")?;
    let (e, _) = der_expect(rest, TAG_INTEGER, "RSA exponent is not an INTEGER")?;
    let n = match n.iter().position(|&b| b != 0) {
        Some(i) => &n[i..],
        None => &[][..],
    };
    let bits = match n.first() {
        Some(&top) => n.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    };
    if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
        return Err(KeyError::RsaSize { bits });
    }
    if e.iter().all(|&b| b == 0) {
        return Err(KeyError::BadDer("RSA exponent is zero"));
    }
    let (_, _, trailing) = der_next(der)?;
    Ok(der[..der.len() - trailing.len()].to_vec())
}

/// The SubjectPublicKeyInfo inside an X.509 certificate.
fn certificate_spki(der: &[u8]) -> Result<&[u8], KeyError> {
    let (cert, _) = der_expect(der, TAG_SEQUENCE, "certificate is not a SEQUENCE")?;
    let (tbs, _) = der_expect(cert, TAG_SEQUENCE, "tbsCertificate is not a SEQUENCE")?;
    let mut rest = tbs;
    // [0] version is optional (absent means v1).
    if rest.first() == Some(&TAG_CONTEXT_0) {
        rest = der_next(rest)?.2;
    }
    // serialNumber, signature, issuer, validity, subject
    for _ in 0..5 {
        rest = der_next(rest)?.2;
    }
    let (tag, _, after) = der_next(rest)?;
    if tag != TAG_SEQUENCE {
        return Err(KeyError::BadDer("subjectPublicKeyInfo is not a SEQUENCE"));
    }
    // The whole element (tag and length included): `spki_key` parses it from the top.
    Ok(&rest[..rest.len() - after.len()])
}

/// Key kind and *ring* key bytes from a DER SubjectPublicKeyInfo.
fn spki_key(der: &[u8]) -> Result<(KeyKind, Vec<u8>), KeyError> {
    let (spki, _) = der_expect(der, TAG_SEQUENCE, "SubjectPublicKeyInfo is not a SEQUENCE")?;
    let (alg_id, rest) = der_expect(spki, TAG_SEQUENCE, "AlgorithmIdentifier is not a SEQUENCE")?;
    let (bits, _) = der_expect(rest, TAG_BIT_STRING, "public key is not a BIT STRING")?;
    let (&unused, key) = bits
        .split_first()
        .ok_or(KeyError::BadDer("empty BIT STRING"))?;
    if unused != 0 {
        return Err(KeyError::BadDer("BIT STRING with unused bits"));
    }
    let (oid, params) = der_expect(alg_id, TAG_OID, "algorithm is not an OID")?;
    if oid == OID_RSA_ENCRYPTION {
        if !params.is_empty() {
            der_expect(params, TAG_NULL, "RSA parameters are not NULL")?;
        }
        return Ok((KeyKind::Rsa, rsa_pkcs1(key)?));
    }
    if oid == OID_EC_PUBLIC_KEY {
        let (curve, _) = der_expect(params, TAG_OID, "EC curve is not a named curve")?;
        let (kind, len) = if curve == OID_P256 {
            (KeyKind::EcP256, 65)
        } else if curve == OID_P384 {
            (KeyKind::EcP384, 97)
        } else if curve == OID_P521 {
            return Err(KeyError::UnsupportedAlgorithm(
                "EC P-521 (ES512): ring cannot verify it".into(),
            ));
        } else {
            return Err(KeyError::UnsupportedAlgorithm(
                "EC curve (not P-256 or P-384)".into(),
            ));
        };
        if key.len() != len || key[0] != 0x04 {
            return Err(KeyError::BadEcPoint);
        }
        return Ok((kind, key.to_vec()));
    }
    if oid == OID_RSASSA_PSS {
        return Err(KeyError::UnsupportedAlgorithm(
            "RSASSA-PSS-only key: export it as a plain rsaEncryption public key".into(),
        ));
    }
    Err(KeyError::UnsupportedAlgorithm(
        "SubjectPublicKeyInfo algorithm (not RSA or EC)".into(),
    ))
}

/// Why a fetch of the key set failed. The last good key set stays in use.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JwksError {
    #[error("request failed: {0}")]
    Http(String),
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("body larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    #[error("body is not a JSON Web Key Set: {0}")]
    Json(String),
    #[error("no usable signing key in the set ({skipped} skipped)")]
    NoUsableKeys { skipped: usize },
}

/// One version of the key set.
#[derive(Debug, Default)]
pub struct KeySet {
    pub keys: Vec<Arc<VerifyingKey>>,
    /// Bumped whenever the fetched set differs from the previous one; verified tokens cached
    /// under an older generation are checked again, so a removed key stops working.
    pub generation: u64,
    /// Whether any fetch has succeeded yet.
    pub loaded: bool,
}

/// Result of looking a key up.
#[derive(Debug)]
pub enum Lookup {
    Found(Arc<VerifyingKey>),
    /// Keys with this `kid` exist, but none may verify the token's `alg`.
    AlgMismatch,
    UnknownKid,
    /// No key set was ever loaded and fetching it failed (or is rate limited).
    Unavailable(String),
}

impl KeySet {
    /// A token's key: by `kid`; without a `kid`, the one key that fits the algorithm.
    fn find(&self, kid: Option<&str>, alg: SignatureAlgorithm) -> Lookup {
        match kid {
            Some(kid) => {
                let mut same_kid = self.keys.iter().filter(|k| k.kid() == Some(kid)).peekable();
                if same_kid.peek().is_none() {
                    return Lookup::UnknownKid;
                }
                same_kid
                    .find(|k| k.accepts(alg))
                    .map_or(Lookup::AlgMismatch, |k| Lookup::Found(k.clone()))
            }
            None => {
                let mut fitting = self.keys.iter().filter(|k| k.accepts(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(k), None) => Lookup::Found(k.clone()),
                    _ => Lookup::UnknownKid,
                }
            }
        }
    }

    /// Same keys, in any order (identity providers do not promise an order).
    fn same_keys(&self, keys: &[Arc<VerifyingKey>]) -> bool {
        let prints = |keys: &[Arc<VerifyingKey>]| {
            let mut p: Vec<[u8; 32]> = keys.iter().map(|k| k.fingerprint).collect();
            p.sort_unstable();
            p
        };
        prints(&self.keys) == prints(keys)
    }
}

/// Parse a JWKS document; unusable keys are skipped (and logged), not fatal.
pub fn parse_jwks(body: &[u8]) -> Result<Vec<Arc<VerifyingKey>>, JwksError> {
    #[derive(Deserialize)]
    struct Doc {
        keys: Vec<serde_json::Value>,
    }
    let doc: Doc = serde_json::from_slice(body).map_err(|e| JwksError::Json(e.to_string()))?;
    let mut keys = Vec::with_capacity(doc.keys.len());
    let mut skipped = 0;
    for value in &doc.keys {
        match VerifyingKey::from_jwk(value) {
            Ok(k) => keys.push(Arc::new(k)),
            Err(e) => {
                skipped += 1;
                let kid = value.get("kid").and_then(|v| v.as_str()).unwrap_or("");
                tracing::debug!(kid = %kid.escape_debug(), error = %e, "JWKS: key skipped");
            }
        }
    }
    if keys.is_empty() {
        return Err(JwksError::NoUsableKeys { skipped });
    }
    Ok(keys)
}

/// Timing of a [`JwksCache`].
#[derive(Debug, Clone, Copy)]
pub struct JwksOptions {
    /// Background refresh interval.
    pub refresh: Duration,
    /// At most one fetch per this interval for unknown `kid`s (and after failures).
    pub min_refetch: Duration,
    /// Time limit of one fetch, connect included.
    pub timeout: Duration,
}

/// The key set of one JWKS URI, with refresh and bounded refetch.
pub struct JwksCache {
    uri: Url,
    client: reqwest::Client,
    opts: JwksOptions,
    current: RwLock<Arc<KeySet>>,
    /// Serialises fetches (one in flight) and remembers when the last one started.
    gate: tokio::sync::Mutex<Option<Instant>>,
    fetches: AtomicU64,
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksCache")
            .field("uri", &redacted(&self.uri))
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// The URI for logs, without user info or query (either could carry a credential).
fn redacted(uri: &Url) -> String {
    let mut u = uri.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.to_string()
}

impl JwksCache {
    /// A cache for `uri` (http or https; the caller decides whether plain http is allowed).
    /// Nothing is fetched until [`refresh`](Self::refresh), [`spawn_refresh`](Self::spawn_refresh)
    /// or a lookup.
    pub fn new(uri: Url, opts: JwksOptions) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout)
            // A redirect could quietly move key retrieval elsewhere (or to plain http):
            // configure the final URL instead.
            .redirect(reqwest::redirect::Policy::none())
            // Fetches are minutes apart, and lookups run on whichever runtime serves the
            // call (actix has one per worker): a pooled connection would be driven by the
            // runtime that opened it. A fresh connection per fetch avoids both.
            .pool_max_idle_per_host(0)
            .user_agent(concat!("vizier/", env!("CARGO_PKG_VERSION"), " jwks"));
        // reqwest is built without its aws-lc provider (vizier already links ring), and its
        // builder panics when no rustls provider is installed, even for plain-http URLs.
        // Installing fails only when a provider is already there, which is fine.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        match uri.scheme() {
            "https" => {}
            // No TLS for plain http: skip loading the system trust store, which would fail
            // on a machine without CA certificates for no reason.
            "http" => builder = builder.tls_certs_only(std::iter::empty()),
            other => return Err(format!("scheme '{other}' is not http or https")),
        }
        let client = builder.build().map_err(|e| {
            format!(
                "cannot build the HTTPS client ({e}); the system trust store is used \
                 (install ca-certificates, or point SSL_CERT_FILE at a CA bundle)"
            )
        })?;
        Ok(Self {
            uri,
            client,
            opts,
            current: RwLock::new(Arc::new(KeySet::default())),
            gate: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
        })
    }

    /// The key set in use.
    pub fn current(&self) -> Arc<KeySet> {
        // A poisoned lock still holds a whole `Arc`: nothing can be half-written.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Fetch attempts so far (for tests and diagnostics).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Fetch now (waiting for a fetch in flight first), ignoring the refetch rate limit.
    /// On failure the previous key set stays in use.
    pub async fn refresh(&self) -> Result<usize, JwksError> {
        let mut last = self.gate.lock().await;
        *last = Some(Instant::now());
        self.fetch_and_store().await
    }

    /// The key for a token. An unknown `kid` triggers a refetch unless one started less
    /// than `min_refetch` ago.
    pub async fn lookup(&self, kid: Option<&str>, alg: SignatureAlgorithm) -> Lookup {
        match self.current().find(kid, alg) {
            Lookup::UnknownKid => {}
            found => return found,
        }
        let mut last = self.gate.lock().await;
        // Another caller may have fetched while we waited for the gate.
        let set = self.current();
        match set.find(kid, alg) {
            Lookup::UnknownKid => {}
            found => return found,
        }
        if last.is_some_and(|t| t.elapsed() < self.opts.min_refetch) {
            return if set.loaded {
                Lookup::UnknownKid
            } else {
                Lookup::Unavailable("JWKS not loaded; refetch is rate limited".into())
            };
        }
        *last = Some(Instant::now());
        match self.fetch_and_store().await {
            Ok(_) => self.current().find(kid, alg),
            Err(_) if set.loaded => Lookup::UnknownKid,
            Err(e) => Lookup::Unavailable(e.to_string()),
        }
    }

    /// Refresh now and then every `refresh` until `cancel` fires. After a failure the next
    /// try comes sooner (from `min_refetch`, doubling, up to `refresh`).
    pub fn spawn_refresh(self: &Arc<Self>, cancel: CancellationToken) -> JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut failures: u32 = 0;
            loop {
                let outcome = tokio::select! {
                    biased;
                    () = cancel.cancelled() => break,
                    r = this.refresh() => r,
                };
                let delay = match outcome {
                    Ok(_) => {
                        failures = 0;
                        this.opts.refresh
                    }
                    Err(_) => {
                        failures = failures.saturating_add(1);
                        let backoff = this
                            .opts
                            .min_refetch
                            .saturating_mul(1u32 << failures.min(16).saturating_sub(1));
                        backoff.min(this.opts.refresh)
                    }
                };
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(delay) => {}
                }
            }
            tracing::debug!(uri = %redacted(&this.uri), "JWKS refresh stopped");
        })
    }

    async fn fetch_and_store(&self) -> Result<usize, JwksError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match self.fetch().await {
            Ok(keys) => {
                let count = keys.len();
                let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
                if !current.loaded || !current.same_keys(&keys) {
                    let generation = current.generation + 1;
                    *current = Arc::new(KeySet {
                        keys,
                        generation,
                        loaded: true,
                    });
                    tracing::info!(uri = %redacted(&self.uri), keys = count, generation, "JWKS loaded");
                }
                metrics::counter!("vizier_auth_jwks_fetches_total", "result" => "ok").increment(1);
                metrics::gauge!("vizier_auth_jwks_keys").set(count as f64);
                Ok(count)
            }
            Err(e) => {
                let kept = self.current().keys.len();
                tracing::warn!(
                    uri = %redacted(&self.uri),
                    error = %e,
                    kept_keys = kept,
                    "JWKS fetch failed; keeping the last good key set"
                );
                metrics::counter!("vizier_auth_jwks_fetches_total", "result" => "error")
                    .increment(1);
                Err(e)
            }
        }
    }

    async fn fetch(&self) -> Result<Vec<Arc<VerifyingKey>>, JwksError> {
        let mut resp = self
            .client
            .get(self.uri.clone())
            .header(
                reqwest::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .send()
            .await
            // Without the URL: the caller logs a redacted one.
            .map_err(|e| JwksError::Http(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(JwksError::Status(resp.status().as_u16()));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            return Err(JwksError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| JwksError::Http(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(JwksError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        parse_jwks(&body)
    }
}

/// Test keys (fixtures made once with openssl: *ring* cannot generate RSA keys) and a
/// loopback JWKS server.
#[cfg(test)]
pub(crate) mod test_support {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use biscuit::jws::Secret as JwsSecret;
    use ring::rand::SystemRandom;
    use ring::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048` (PKCS#8).
    pub const RSA_A_PRIVATE: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCQrHC6mTMx17p+
qzujkqYn0GGESXgwF7BK1nLKfizTFYDrYDQd0TOlsM+YkkcxfLtZvNrKPR4f8tFi
1U8BGzW+SL7N+tZn62NRr+Uubg3yqLTxt9++qQ3z0CeLrQMDVGc+WwvEDhnu1Yrr
c6PAFJ0DyaKjBs+26DGDO/p2IajuwZMmShyiUpbsKWDWR4TlD1SlSqcDVjAE66KR
GJp6eGzeOV302+LkkbsT2JLijSpKTR/KDNKBTeyxVLEKE+TdaG+VJHPWmxHcpp4G
/7RnwWqPwTBs1BkGuQcdTjl8W8nJT+NPFQQADGuUp/fcHHbQk0hIsXEfBvgRbgLD
2JNbnH3DAgMBAAECggEADJ+nVHjisTIwOTZKxWqZ6fZyU98vSA8BGH6e1JFu6tpA
/gjOc12aQpZrftYgtS47kMh8VNJBays+Xv/a3W9Y4KorUADXrYiqCWouNr9uoyJa
a48OTG4m5APhN3xYu3Ulbxj1rV1HoQHsFcBo5O1HiBmTgeMpw719+IQGxkEIoxCK
Zk/bqlm50IJ7tHgMVElH5I/l8tkZOJygCutk3ZykAOnRy3r+tyrFoMtFtQZI+yLf
+FghDoMq1zIWRQXg1aXBfQCqB+ZHthRboNG/JrnhOnOndmmAGjTFq3CBQ95vPaww
0Gy+pnQFslN2LmPNusA3aqflKjWQnWHTF9lZy/nYwQKBgQDDNIJxSvhrJ54Zr/+z
SWRaHnENgvMj9gDJemrXsJHtfSVYqNyqxoRC/TUULitKuBurArg5xT9zN3rco2TK
1fVLQP4yozZ9jGsIRiKIYk1l2WBsUzFA5k80sj4eAMj0ExKhP4IkVnBHFuJftfjk
+eCcG4M9IrF3R/vKs4SXm6vjwQKBgQC9uxuhe699TN5bGGnwtMb47BPXSpMrI7fw
5xJoHOXpEldL0FZqoTKztxDLIYZKgCLbfJZolNSkZCoe7uc+8DYvgkZlWOTJewEn
nmBoXlBz/QDP03znUNWgW/f4ArGbcV5L8vzEQZvHF36drzGZSji4RPATE8gXkIFZ
8dJmGftygwKBgQCqxy234FclqCtxXcDfIb5h+W/+2inNtFNL8YW33gpNM8eQoWst
HTBpSw088od9f0T1gBOctyyjqE4c6fYsXrOTevDpbFEn1cluG63qk9YS3PK20rGs
jdGN0ML3jMhCgM0ztVQuZlEkYKj8A0AVU2dmK8vNmKSaLqfi1tuRp+fiAQKBgQCv
kArSU2QgutdqTd4B+RXA0prNddlWatfTV86FfnAUSn9yzNaaFo2XFIe6n0vndkhK
9y8qmMVnVLRRKVnbuGU7cv3229ngwixgX8Hv8Y3atjthE96ZIQh8OX3sBXoZTz8l
YjQY2mjuQkRMXwezQ6XWhRvtWzmk7Hd1Jjo9dj9hRwKBgB5YJVuUjPHOuwpM1sC2
XEA9QcOjfu80XdYhSQ6mubrINN30BfS+B21a8v9KDMzS4F/1f6EUJWPWWM4rDD74
JSynL6Aaexer4SOjD3yd1s5reCuKc1Dc61xBt9XkNyjHekIoRx//7Q0Ey1RgHLRJ
Gh/ixCsD06LkvZO5aUT0oDSp
-----END PRIVATE KEY-----
";
    /// `openssl pkey -pubout` of the above (SubjectPublicKeyInfo).
    pub const RSA_A_PUBLIC: &str = r"-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAkKxwupkzMde6fqs7o5Km
J9BhhEl4MBewStZyyn4s0xWA62A0HdEzpbDPmJJHMXy7Wbzayj0eH/LRYtVPARs1
vki+zfrWZ+tjUa/lLm4N8qi08bffvqkN89Ani60DA1RnPlsLxA4Z7tWK63OjwBSd
A8miowbPtugxgzv6diGo7sGTJkocolKW7Clg1keE5Q9UpUqnA1YwBOuikRiaenhs
3jld9Nvi5JG7E9iS4o0qSk0fygzSgU3ssVSxChPk3WhvlSRz1psR3KaeBv+0Z8Fq
j8EwbNQZBrkHHU45fFvJyU/jTxUEAAxrlKf33Bx20JNISLFxHwb4EW4Cw9iTW5x9
wwIDAQAB
-----END PUBLIC KEY-----
";
    /// `openssl rsa -RSAPublicKey_out` of the above (PKCS#1).
    pub const RSA_A_PUBLIC_PKCS1: &str = r"-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAkKxwupkzMde6fqs7o5KmJ9BhhEl4MBewStZyyn4s0xWA62A0HdEz
pbDPmJJHMXy7Wbzayj0eH/LRYtVPARs1vki+zfrWZ+tjUa/lLm4N8qi08bffvqkN
89Ani60DA1RnPlsLxA4Z7tWK63OjwBSdA8miowbPtugxgzv6diGo7sGTJkocolKW
7Clg1keE5Q9UpUqnA1YwBOuikRiaenhs3jld9Nvi5JG7E9iS4o0qSk0fygzSgU3s
sVSxChPk3WhvlSRz1psR3KaeBv+0Z8Fqj8EwbNQZBrkHHU45fFvJyU/jTxUEAAxr
lKf33Bx20JNISLFxHwb4EW4Cw9iTW5x9wwIDAQAB
-----END RSA PUBLIC KEY-----
";
    /// `openssl req -x509 -key rsa_a.pem -subj /CN=vizier-test -days 36500`.
    pub const RSA_A_CERT: &str = r"-----BEGIN CERTIFICATE-----
MIIDDzCCAfegAwIBAgIUb3TpZUhoz4qlNsAF6TKZRMMlpCgwDQYJKoZIhvcNAQEL
BQAwFjEUMBIGA1UEAwwLdml6aWVyLXRlc3QwIBcNMjYxMTIxMDkxMTQxWhgPMjEy
NjEwMjgwOTExNDFaMBYxFDASBgNVBAMMC3Zpemllci10ZXN0MIIBIjANBgkqhkiG
9w0BAQEFAAOCAQ8AMIIBCgKCAQEAkKxwupkzMde6fqs7o5KmJ9BhhEl4MBewStZy
yn4s0xWA62A0HdEzpbDPmJJHMXy7Wbzayj0eH/LRYtVPARs1vki+zfrWZ+tjUa/l
Lm4N8qi08bffvqkN89Ani60DA1RnPlsLxA4Z7tWK63OjwBSdA8miowbPtugxgzv6
diGo7sGTJkocolKW7Clg1keE5Q9UpUqnA1YwBOuikRiaenhs3jld9Nvi5JG7E9iS
4o0qSk0fygzSgU3ssVSxChPk3WhvlSRz1psR3KaeBv+0Z8Fqj8EwbNQZBrkHHU45
fFvJyU/jTxUEAAxrlKf33Bx20JNISLFxHwb4EW4Cw9iTW5x9wwIDAQABo1MwUTAd
BgNVHQ4EFgQUYl5b98BKmK8YiknLIh49/VtsHkIwHwYDVR0jBBgwFoAUYl5b98BK
mK8YiknLIh49/VtsHkIwDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOC
AQEAE5HRjPdAKHjLSmjH22YWKEUGVEU01Nf6ekKrzPZaQ8oxXF1KYZ4fqhhFo08x
DEflKZcdfYROvJ/iNgpWfZI0y6D0+fUk+E/QYQEozv6Dd4d9taYfflEn51beOpQT
82dslbstYV/pI9hf63bFQucVfWicb8pFcWQ6Pgxv1GeU5XbqEeunhMZjuChJVi06
bEF7sCNW7plu8Ya4fSDw5vU0SW/7QviP2tlAd2eltcE3ukVUcWIFSGLfNrXb0SJs
1XgpCNTg3rJVLdw5p9WPdc6htdUWnPGtmbk7RoQcV3cQTYz30zBj016hocyyEcxF
dehgtLJsvhm050KmTFb6abzAtA==
-----END CERTIFICATE-----
";
    pub const RSA_B_PRIVATE: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCS4xaUzkDGFWAX
18t7Ktd3amrvPQl33ppNl4Wp1/8Flo5mL5nhnslcT2hAUiCt3LVtrGpR9efj/qNj
vwzNJrrs0nRZuGejaoK6jFzlmTzqv0fLDTAox/HNAjpoCWXphWGMg1ZYyElh8E09
7RZye2v4XsFKFxb0HGm54CHbh8y3vscoSlK6zcIDhPGeMV8BeZWP/qwwBQK+oMm+
J1xJ7mxj/hFQNoIExBnhL7VDACtkNgHczC7BeVB1jmKv2UgyURs+8dCU3Z+WzMEG
BkeYRfJaqYXtNkyqC6NGJDJpM5ojXA9CD8RHZ22yaW09C+CC2WJp878OZ/X/0gHm
DlcyqmTZAgMBAAECggEAASUwQsuBW0x8+5ZNFbB+UwxulXMtZTjBCfw47xNgYfP9
S2Y8t5INzCcV/RgKHlfkazicEYHpwR4JwRhBAX2P4Xi/4wD+bCEVbqa/L40aYfBJ
HzV/kFW7/m+v0aN1U1w9wjob4G93Ca0uz0BzlpJvmo030HfHLydUEqDniAKSRR5G
zMl38jXKKNI0G5Mwm9ROL5UI0yKx9Xb14E/m4D6mKUo/dGi/vbiXQ1FtxCvX8ICc
qF4hsiz26hF4M9ylv3YxMEW5SFiBz11gpKB4D33IXN43ZnBMQzM9Z8D6avg+9HCs
1jAxTfnKOBDlqoY2C3aqaPTpdSrZFDMoYmj2crtG9wKBgQDChDLA6FN1gYjbEb6W
z7mt372nww34siPxSd6u1+Str5KMOSroo1gQtr6pzU1esdxQKbO6SeHkBq91bmVJ
sKvca4ayo1x6lZkLg8hSubEjoesxdjh/lEVlJcBVKDCmq7vN98/WgpskbDqvAnza
qlu+x04myavI6XZA/Z38EKvGrwKBgQDBUNaHjwcVuoYnN84iOmzUSidDTGC1HxI6
G3Z2Z4E1Ll3tpddgNkEEMe/9qhzTZV1byI0OvzXqnXNUGeEY7wHXM+WOWVPtCpnm
ndYz1ZjX8/mTbAzbyCHnQLEVxR7Wu+1IJcWbaADJSq9I/2gq+Qoo7xrm1uJYsCqH
3SJN9vnu9wKBgQCdKF4xSgQUTmIaTU3lX1OvzbPX1Vp2csdjbcGDFl9mjRIkRRQL
/d1rM5r8ail2ttE/21Gg04y0xUoB4P3o+dsBLccYkbBoQnHywbiaTfl2xp3VyqR/
P3aJ8GRi6SPVpa8JDI1ZzRA371HCkIn7yeRyUWktIYevviCTBdYdEAMZdQKBgB1O
9Dd5J8nTjaNEgqwNz5If6/P4EHFlVI4au8sXxi8Z6IOvMQgVMaZBK/F5aQVjyNOx
hDFILBR16pZFlisBkXXfGF6MjHzTrqGYLHGPYKzdAGmpaAmqPfmhhTeXuyUzOLZH
g74b9oKOICUhE9nwB+pM1fdJfOeVTd1rWVgYqavhAoGAeEYxb5EWCUzSP6rHqwg5
myJ/9RGeAkjJi7Lm1wFcRPC4EGdzsIAob35c3w+wdgXDiIFSXdk3UzG+rGEgPuBG
jQaWvWWT7BZPdO0dcDlgqUwF4CxHcMGSbU8/fQ7V6JKRjQIO8i69k07sGj7pdre7
WEjx72KUOIwtYPzuqLv6jPI=
-----END PRIVATE KEY-----
";
    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` and `-pubout`.
    pub const EC256_PRIVATE: &str = r"-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg05b04NVtn2ErNBCL
cewrZ8QLzT46pOdwScIyU8Jze0ShRANCAAR3BbkW65sT7vYjMD/i1y3JoTUTF7TX
/nu6XTD3v+AZmA2vBE0FUUYrm90kw+zBkG1p0+rp0cLgUWcGYVS1Prc4
-----END PRIVATE KEY-----
";
    pub const EC256_PUBLIC: &str = r"-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEdwW5FuubE+72IzA/4tctyaE1Exe0
1/57ul0w97/gGZgNrwRNBVFGK5vdJMPswZBtadPq6dHC4FFnBmFUtT63OA==
-----END PUBLIC KEY-----
";
    pub const EC384_PRIVATE: &str = r"-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDD73//IT8y6yQw9H8xf
xgfhrCRz2SEKsnRiSN/AhmvUAV2MSRowlDE5pAmOMGaQRxqhZANiAAS2kd1AuON1
5zSU9QGSbZiDkSZhEXHIaQOyfRC2rP5NnNAk5NkKTojpGjDFNOahih49zYPLVpwh
v7MgKJkD9r2kllvnAW+khQkIN07rGyXzImoWk5qifekWkMuXn4cpVuA=
-----END PRIVATE KEY-----
";
    pub const EC384_PUBLIC: &str = r"-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEtpHdQLjjdec0lPUBkm2Yg5EmYRFxyGkD
sn0Qtqz+TZzQJOTZCk6I6RowxTTmoYoePc2Dy1acIb+zICiZA/a9pJZb5wFvpIUJ
CDdO6xsl8yJqFpOaon3pFpDLl5+HKVbg
-----END PUBLIC KEY-----
";
    /// A 1024-bit RSA public key: must be refused.
    pub const RSA_1024_PUBLIC: &str = r"-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDcyV2zZLEsUK/U2aXAHhu3LVZx
dSXcoM3TODAv4RaHFNo6nFzzT4u4ZRVKKqsUDON8rrZ32YLSC3hMEtVNcAlyK6Oy
9ENJ8biHyAakWFnWr7TCjvQRYJsrCg0089AKmKx5ut+TfWsnqvBMTqACr1fURbst
X7z4pJDcV6xS2Jn7WQIDAQAB
-----END PUBLIC KEY-----
";
    /// A P-521 public key: must be refused (ring cannot verify ES512).
    pub const EC521_PUBLIC: &str = r"-----BEGIN PUBLIC KEY-----
MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQBGON+Z9O0OAXbgmcenynUx0EUBJOr
kqx3SqA8gphuBQdJgA9W12hb6Ra4I3oYSZnTPkcx6sC1hmuqBsa9TSV2EuAATDZN
jG7gI6l8upvKv5cDh9hSVSSRJ2fP4Ht4Pcea0KdruNnZwBREPzScvmQzCHJmhCEN
m+QTXrmQuP5nQYDKh78=
-----END PUBLIC KEY-----
";

    /// Long enough that the steps between a fetch and the rate-limit check fit in it even
    /// on a loaded machine.
    pub const REFETCH_MS: u64 = 1000;

    pub fn der(pem: &str) -> Vec<u8> {
        pem_decode(pem).unwrap().1
    }

    pub fn rsa_pair(pem: &str) -> Arc<RsaKeyPair> {
        Arc::new(RsaKeyPair::from_pkcs8(&der(pem)).unwrap())
    }

    pub fn rsa_signer(pem: &str) -> JwsSecret {
        JwsSecret::RsaKeyPair(rsa_pair(pem))
    }

    pub fn ec_signer(pem: &str, p384: bool) -> JwsSecret {
        JwsSecret::EcdsaKeyPair(Arc::new(ec_pair(pem, p384)))
    }

    pub fn ec_pair(pem: &str, p384: bool) -> EcdsaKeyPair {
        let alg = if p384 {
            &signature::ECDSA_P384_SHA384_FIXED_SIGNING
        } else {
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING
        };
        EcdsaKeyPair::from_pkcs8(alg, &der(pem), &SystemRandom::new()).unwrap()
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The public JWK of an RSA private key fixture.
    pub fn rsa_jwk(pem: &str, kid: &str, alg: Option<&str>) -> serde_json::Value {
        let pair = rsa_pair(pem);
        // `public().as_ref()` is the PKCS#1 DER: SEQUENCE { n, e }.
        let (seq, _) = der_expect(pair.public().as_ref(), TAG_SEQUENCE, "seq").unwrap();
        let (n, rest) = der_expect(seq, TAG_INTEGER, "n").unwrap();
        let (e, _) = der_expect(rest, TAG_INTEGER, "e").unwrap();
        let n = &n[n.iter().position(|&b| b != 0).unwrap()..];
        let mut jwk =
            serde_json::json!({"kty": "RSA", "kid": kid, "use": "sig", "n": b64(n), "e": b64(e)});
        if let Some(alg) = alg {
            jwk["alg"] = alg.into();
        }
        jwk
    }

    pub fn ec_jwk(pem: &str, p384: bool, kid: &str) -> serde_json::Value {
        let pair = ec_pair(pem, p384);
        let point = pair.public_key().as_ref();
        let size = (point.len() - 1) / 2;
        serde_json::json!({
            "kty": "EC", "kid": kid, "crv": if p384 { "P-384" } else { "P-256" },
            "x": b64(&point[1..1 + size]), "y": b64(&point[1 + size..]),
        })
    }

    /// A loopback HTTP/1.1 server answering every request with the current body.
    pub(crate) struct JwksServer {
        pub url: Url,
        pub body: Arc<std::sync::Mutex<String>>,
        pub hits: Arc<AtomicU64>,
        pub fail: Arc<AtomicBool>,
        task: JoinHandle<()>,
    }

    impl JwksServer {
        pub async fn start(body: serde_json::Value) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = Url::parse(&format!(
                "http://{}/jwks.json",
                listener.local_addr().unwrap()
            ))
            .unwrap();
            let body = Arc::new(std::sync::Mutex::new(body.to_string()));
            let hits = Arc::new(AtomicU64::new(0));
            let fail = Arc::new(AtomicBool::new(false));
            let (b, h, f) = (body.clone(), hits.clone(), fail.clone());
            let task = tokio::spawn(async move {
                loop {
                    let Ok((mut sock, _)) = listener.accept().await else {
                        return;
                    };
                    let (b, h, f) = (b.clone(), h.clone(), f.clone());
                    tokio::spawn(async move {
                        let mut buf = Vec::new();
                        let mut chunk = [0u8; 1024];
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            match sock.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        h.fetch_add(1, Ordering::SeqCst);
                        let (status, body) = if f.load(Ordering::SeqCst) {
                            ("500 Internal Server Error", "oops".to_string())
                        } else {
                            ("200 OK", b.lock().unwrap().clone())
                        };
                        let resp = format!(
                            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = sock.write_all(resp.as_bytes()).await;
                        let _ = sock.shutdown().await;
                    });
                }
            });
            Self {
                url,
                body,
                hits,
                fail,
                task,
            }
        }

        pub fn serve(&self, body: serde_json::Value) {
            *self.body.lock().unwrap() = body.to_string();
        }

        pub fn hits(&self) -> u64 {
            self.hits.load(Ordering::SeqCst)
        }

        /// Close the listening socket: connections are refused from now on.
        pub async fn stop(self) {
            self.task.abort();
            let _ = self.task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tokio::net::TcpListener;

    use super::test_support::*;
    use super::*;

    #[test]
    fn pem_public_keys_load_with_their_kind() {
        assert_eq!(
            VerifyingKey::from_pem(RSA_A_PUBLIC).unwrap().kind(),
            KeyKind::Rsa
        );
        assert_eq!(
            VerifyingKey::from_pem(RSA_A_PUBLIC_PKCS1).unwrap().kind(),
            KeyKind::Rsa
        );
        assert_eq!(
            VerifyingKey::from_pem(RSA_A_CERT).unwrap().kind(),
            KeyKind::Rsa
        );
        assert_eq!(
            VerifyingKey::from_pem(EC256_PUBLIC).unwrap().kind(),
            KeyKind::EcP256
        );
        assert_eq!(
            VerifyingKey::from_pem(EC384_PUBLIC).unwrap().kind(),
            KeyKind::EcP384
        );
        // SPKI, PKCS#1 and certificate forms of one key give the same key bytes.
        let a = VerifyingKey::from_pem(RSA_A_PUBLIC).unwrap().fingerprint;
        assert_eq!(
            VerifyingKey::from_pem(RSA_A_PUBLIC_PKCS1)
                .unwrap()
                .fingerprint,
            a
        );
        assert_eq!(VerifyingKey::from_pem(RSA_A_CERT).unwrap().fingerprint, a);
        // And the JWK form too.
        let jwk = VerifyingKey::from_jwk(&rsa_jwk(RSA_A_PRIVATE, "", None)).unwrap();
        let pem_der = match VerifyingKey::from_pem(RSA_A_PUBLIC).unwrap().secret {
            JwsSecret::PublicKey(d) => d,
            _ => unreachable!(),
        };
        match jwk.secret {
            JwsSecret::PublicKey(d) => assert_eq!(d, pem_der),
            _ => panic!("not a public key"),
        }
    }

    #[test]
    fn bad_pems_are_refused_with_a_reason() {
        assert_eq!(
            VerifyingKey::from_pem("hello").unwrap_err(),
            KeyError::NotPem
        );
        let e = VerifyingKey::from_pem(RSA_A_PRIVATE).unwrap_err();
        assert!(matches!(e, KeyError::PrivateKey(_)), "{e}");
        // The message never echoes the key.
        assert!(!e.to_string().contains("MII"), "{e}");
        assert!(matches!(
            VerifyingKey::from_pem(RSA_1024_PUBLIC).unwrap_err(),
            KeyError::RsaSize { bits: 1024 }
        ));
        let e = VerifyingKey::from_pem(EC521_PUBLIC).unwrap_err();
        assert!(e.to_string().contains("P-521"), "{e}");
        let broken = "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n";
        assert_eq!(
            VerifyingKey::from_pem(broken).unwrap_err(),
            KeyError::PemBase64
        );
        let truncated = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(&der(RSA_A_PUBLIC)[..100])
        );
        assert!(matches!(
            VerifyingKey::from_pem(&truncated).unwrap_err(),
            KeyError::BadDer(_)
        ));
    }

    #[test]
    fn jwks_parsing_skips_what_cannot_verify() {
        let body = json!({"keys": [
            rsa_jwk(RSA_A_PRIVATE, "rsa", Some("RS256")),
            ec_jwk(EC256_PRIVATE, false, "p256"),
            ec_jwk(EC384_PRIVATE, true, "p384"),
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "small", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "p521", "crv": "P-521", "x": "AA", "y": "AA"},
            {"kty": "EC", "kid": "short", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kid": "no-kty"},
            {"kty": "RSA", "kid": "wrong-alg", "alg": "ES256", "n": "AQAB", "e": "AQAB"},
        ]});
        let keys = parse_jwks(body.to_string().as_bytes()).unwrap();
        let kids: Vec<_> = keys.iter().map(|k| k.kid().unwrap()).collect();
        assert_eq!(kids, ["rsa", "p256", "p384"]);
        assert_eq!(keys[2].kind(), KeyKind::EcP384);
        // A JWK's alg pins the key to that algorithm.
        assert!(keys[0].accepts(SignatureAlgorithm::RS256));
        assert!(!keys[0].accepts(SignatureAlgorithm::PS256));
        assert!(!keys[0].accepts(SignatureAlgorithm::HS256));
        assert!(keys[1].accepts(SignatureAlgorithm::ES256));
        assert!(!keys[1].accepts(SignatureAlgorithm::ES384));

        assert!(matches!(
            parse_jwks(br#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#),
            Err(JwksError::NoUsableKeys { skipped: 1 })
        ));
        assert!(matches!(parse_jwks(b"<html>"), Err(JwksError::Json(_))));
    }

    #[test]
    fn key_kinds_never_cross_families() {
        use SignatureAlgorithm as A;
        for alg in [A::HS256, A::HS384, A::HS512] {
            assert!(!KeyKind::Rsa.accepts(alg));
            assert!(!KeyKind::EcP256.accepts(alg));
            assert!(!KeyKind::EcP384.accepts(alg));
            assert!(KeyKind::Hmac.accepts(alg));
        }
        for alg in [A::RS256, A::PS512, A::ES256, A::ES384, A::None] {
            assert!(!KeyKind::Hmac.accepts(alg));
        }
        assert!(!KeyKind::EcP256.accepts(A::ES384));
        assert!(!KeyKind::Rsa.accepts(A::None));
        assert!(parse_algorithm("none").is_none());
        assert!(parse_algorithm("ES512").is_none());
        assert!(parse_algorithm("rs256").is_none());
    }

    #[test]
    fn der_uint_round_trips() {
        assert_eq!(der_uint(&[0x00, 0x01]), [0x02, 0x01, 0x01]);
        assert_eq!(der_uint(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(der_uint(&[]), [0x02, 0x01, 0x00]);
        assert_eq!(der_len(0x7f), [0x7f]);
        assert_eq!(der_len(0x80), [0x81, 0x80]);
        assert_eq!(der_len(0x1234), [0x82, 0x12, 0x34]);
    }

    fn opts(min_refetch_ms: u64) -> JwksOptions {
        JwksOptions {
            refresh: Duration::from_secs(300),
            min_refetch: Duration::from_millis(min_refetch_ms),
            timeout: Duration::from_secs(2),
        }
    }

    #[tokio::test]
    async fn lookup_fetches_refetches_at_a_bounded_rate_and_keeps_keys() {
        let server = JwksServer::start(json!({"keys": [rsa_jwk(RSA_A_PRIVATE, "a", None)]})).await;
        let cache = JwksCache::new(server.url.clone(), opts(REFETCH_MS)).unwrap();
        let rs = SignatureAlgorithm::RS256;

        // Nothing loaded: the first lookup fetches.
        assert!(matches!(
            cache.lookup(Some("a"), rs).await,
            Lookup::Found(_)
        ));
        assert_eq!(server.hits(), 1);
        let gen1 = cache.current().generation;
        // Known kid: no fetch.
        assert!(matches!(
            cache.lookup(Some("a"), rs).await,
            Lookup::Found(_)
        ));
        assert_eq!(server.hits(), 1);
        // Known kid, wrong algorithm family: no fetch either.
        assert!(matches!(
            cache.lookup(Some("a"), SignatureAlgorithm::ES256).await,
            Lookup::AlgMismatch
        ));

        server.serve(
            json!({"keys": [rsa_jwk(RSA_A_PRIVATE, "a", None), rsa_jwk(RSA_B_PRIVATE, "b", None)]}),
        );
        // Unknown kid right after a fetch: rate limited, no request.
        assert!(matches!(
            cache.lookup(Some("b"), rs).await,
            Lookup::UnknownKid
        ));
        assert_eq!(server.hits(), 1);
        tokio::time::sleep(Duration::from_millis(REFETCH_MS + 50)).await;
        assert!(matches!(
            cache.lookup(Some("b"), rs).await,
            Lookup::Found(_)
        ));
        assert_eq!(server.hits(), 2);
        assert!(cache.current().generation > gen1);
        // A burst of garbage kids costs at most one request per interval.
        for i in 0..20 {
            let kid = format!("junk{i}");
            assert!(matches!(
                cache.lookup(Some(&kid), rs).await,
                Lookup::UnknownKid
            ));
        }
        assert_eq!(server.hits(), 2);

        // Same keys again, even reordered: generation unchanged.
        let gen2 = cache.current().generation;
        cache.refresh().await.unwrap();
        assert_eq!(cache.current().generation, gen2);
        server.serve(json!({"keys": [
            rsa_jwk(RSA_B_PRIVATE, "b", None),
            rsa_jwk(RSA_A_PRIVATE, "a", None),
        ]}));
        cache.refresh().await.unwrap();
        assert_eq!(cache.current().generation, gen2);

        // Failing server: keys stay.
        server.fail.store(true, Ordering::SeqCst);
        assert!(matches!(cache.refresh().await, Err(JwksError::Status(500))));
        assert_eq!(cache.current().keys.len(), 2);
        server.fail.store(false, Ordering::SeqCst);
        // An empty or unusable set does not replace good keys either.
        server.serve(json!({"keys": []}));
        assert!(matches!(
            cache.refresh().await,
            Err(JwksError::NoUsableKeys { .. })
        ));
        assert_eq!(cache.current().keys.len(), 2);

        // Server gone: keys stay, unknown kids stay unknown.
        server.stop().await;
        assert!(matches!(cache.refresh().await, Err(JwksError::Http(_))));
        assert!(matches!(
            cache.lookup(Some("a"), rs).await,
            Lookup::Found(_)
        ));
        tokio::time::sleep(Duration::from_millis(REFETCH_MS + 50)).await;
        assert!(matches!(
            cache.lookup(Some("zz"), rs).await,
            Lookup::UnknownKid
        ));
        assert!(matches!(
            cache.lookup(Some("b"), rs).await,
            Lookup::Found(_)
        ));
    }

    #[tokio::test]
    async fn no_kid_uses_the_single_fitting_key() {
        let server = JwksServer::start(json!({"keys": [
            rsa_jwk(RSA_A_PRIVATE, "a", None),
            ec_jwk(EC256_PRIVATE, false, "e"),
        ]}))
        .await;
        let cache = JwksCache::new(server.url.clone(), opts(0)).unwrap();
        cache.refresh().await.unwrap();
        let Lookup::Found(k) = cache.lookup(None, SignatureAlgorithm::ES256).await else {
            panic!("no key");
        };
        assert_eq!(k.kid(), Some("e"));
        server.serve(json!({"keys": [
            rsa_jwk(RSA_A_PRIVATE, "a", None),
            rsa_jwk(RSA_B_PRIVATE, "b", None),
        ]}));
        cache.refresh().await.unwrap();
        // Two RSA keys: ambiguous without a kid.
        assert!(matches!(
            cache.lookup(None, SignatureAlgorithm::RS256).await,
            Lookup::UnknownKid
        ));
        server.stop().await;
    }

    #[tokio::test]
    async fn unreachable_jwks_is_unavailable_until_loaded() {
        // Bind and drop to get a port nothing listens on.
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/jwks")).unwrap();
        let cache = JwksCache::new(url, opts(10_000)).unwrap();
        let rs = SignatureAlgorithm::RS256;
        assert!(matches!(
            cache.lookup(Some("a"), rs).await,
            Lookup::Unavailable(_)
        ));
        // Rate limited now, and still unavailable (not "unknown kid").
        assert!(matches!(
            cache.lookup(Some("a"), rs).await,
            Lookup::Unavailable(_)
        ));
        assert_eq!(cache.fetch_count(), 1);
    }

    /// Poll instead of sleeping a fixed time: the machine may be busy.
    async fn wait_for(cond: impl Fn() -> bool) {
        for _ in 0..500 {
            if cond() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("condition not met within 5 s");
    }

    #[tokio::test]
    async fn background_refresh_loads_and_stops_on_cancel() {
        let server = JwksServer::start(json!({"keys": [rsa_jwk(RSA_A_PRIVATE, "a", None)]})).await;
        let cache = Arc::new(
            JwksCache::new(
                server.url.clone(),
                JwksOptions {
                    refresh: Duration::from_millis(50),
                    min_refetch: Duration::from_millis(10),
                    timeout: Duration::from_secs(2),
                },
            )
            .unwrap(),
        );
        let cancel = CancellationToken::new();
        let task = cache.spawn_refresh(cancel.clone());
        wait_for(|| cache.current().keys.len() == 1).await;
        server.serve(json!({"keys": [rsa_jwk(RSA_B_PRIVATE, "b", None)]}));
        wait_for(|| cache.current().keys[0].kid() == Some("b")).await;
        assert!(server.hits() >= 2);
        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .unwrap()
            .unwrap();
        let hits = server.hits();
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(server.hits(), hits, "no refresh after cancel");
        server.stop().await;
    }

    #[test]
    fn client_builds_for_https_and_refuses_other_schemes() {
        let o = opts(1000);
        JwksCache::new(Url::parse("https://idp.example/jwks").unwrap(), o).unwrap();
        assert!(JwksCache::new(Url::parse("ftp://idp.example/jwks").unwrap(), o).is_err());
        let c = JwksCache::new(
            Url::parse("https://user:pw@idp.example/jwks?token=x").unwrap(),
            o,
        )
        .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("pw") && !dbg.contains("token"), "{dbg}");
    }
}

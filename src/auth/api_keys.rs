//! API keys for automation (scripts, CI, service accounts).
//!
//! A key reads `vz_<prefix>_<secret>`:
//! - `prefix`: 8 characters of `[a-z2-7]` (40 random bits). Stored in clear and indexed; it
//!   finds the key's row and is safe to show in lists and logs. Collisions are rare but
//!   possible: let a unique index refuse the insert and generate again.
//! - `secret`: 32 bytes from *ring*'s `SystemRandom`, base64url without padding (43 chars).
//!   Shown once, at creation, and never stored.
//!
//! What is stored is the SHA-256 of the secret as 64 lowercase hex characters. A plain hash
//! is the right tool here, not a password hash or a peppered HMAC: the secret carries 256 bits
//! of entropy, so a leaked hash cannot be brute-forced, and a slow hash would only tax every
//! call. A pepper protects low-entropy secrets, which these are not, and would tie every key
//! to one more server secret to keep and rotate. [`verify`] compares in constant time.
//!
//! A bearer value that starts with `vz_` is an API key (a JWT starts with `ey`), see
//! [`looks_like_api_key`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

use crate::config::Secret;

/// Every key starts with this.
pub const KEY_PREFIX: &str = "vz_";
/// Length of the lookup prefix.
pub const PREFIX_LEN: usize = 8;
/// Random bytes in the secret part.
pub const SECRET_BYTES: usize = 32;

/// base32 (RFC 4648) lowercase: 32 symbols, so `byte & 31` is uniform.
const PREFIX_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// Base64url length of `SECRET_BYTES` (no padding).
const SECRET_MIN_CHARS: usize = 43;
/// Longer secrets parse (room for a future format), absurd ones do not.
const SECRET_MAX_CHARS: usize = 128;

/// The system random generator failed; no key was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed; no API key was generated")]
pub struct ApiKeyError;

/// A new key: `(display_key, prefix, hash)`. Show `display_key` to the user once; store
/// `prefix` and `hash`.
pub fn generate() -> Result<(Secret, String, String), ApiKeyError> {
    let rng = SystemRandom::new();
    let mut prefix_bytes = [0u8; PREFIX_LEN];
    rng.fill(&mut prefix_bytes).map_err(|_| ApiKeyError)?;
    let prefix: String = prefix_bytes
        .iter()
        .map(|b| char::from(PREFIX_ALPHABET[usize::from(b & 31)]))
        .collect();
    let mut secret_bytes = [0u8; SECRET_BYTES];
    rng.fill(&mut secret_bytes).map_err(|_| ApiKeyError)?;
    let secret = URL_SAFE_NO_PAD.encode(secret_bytes);
    let stored = hash(&secret);
    let display = Secret::new(format!("{KEY_PREFIX}{prefix}_{secret}"));
    Ok((display, prefix, stored))
}

/// Whether a bearer value has the API key shape (and should not be tried as a JWT).
pub fn looks_like_api_key(token: &str) -> bool {
    token.starts_with(KEY_PREFIX)
}

/// Split a key into `(prefix, secret)`; `None` if it is not shaped like a vizier key.
pub fn parse(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    // Byte indexing is safe: the prefix check below rejects any non-ASCII first.
    let prefix = rest.get(..PREFIX_LEN)?;
    let secret = rest.get(PREFIX_LEN..)?.strip_prefix('_')?;
    let prefix_ok = prefix
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let secret_ok = (SECRET_MIN_CHARS..=SECRET_MAX_CHARS).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (prefix_ok && secret_ok).then_some((prefix, secret))
}

/// The stored form of a secret: SHA-256, 64 lowercase hex characters.
pub fn hash(secret: &str) -> String {
    let d = digest::digest(&digest::SHA256, secret.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `secret` matches `stored_hash` (as made by [`hash`]). Constant time in the
/// contents: the comparison always reads every byte.
pub fn verify(secret: &str, stored_hash: &str) -> bool {
    constant_time_eq(hash(secret).as_bytes(), stored_hash.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Lengths are public (always 64 for a stored hash).
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keep the optimiser from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn generated_keys_parse_and_verify() {
        let (key, prefix, stored) = generate().unwrap();
        let shown = key.expose();
        assert!(shown.starts_with("vz_"));
        assert_eq!(shown.len(), 3 + 8 + 1 + 43);
        assert!(looks_like_api_key(shown));
        let (p, secret) = parse(shown).unwrap();
        assert_eq!(p, prefix);
        assert_eq!(prefix.len(), PREFIX_LEN);
        assert!(prefix.bytes().all(|b| PREFIX_ALPHABET.contains(&b)));
        assert_eq!(URL_SAFE_NO_PAD.decode(secret).unwrap().len(), SECRET_BYTES);
        assert_eq!(stored.len(), 64);
        assert!(verify(secret, &stored));
        // The stored hash is not the secret, and neither Debug nor Display shows the key.
        assert!(!stored.contains(secret));
        assert_eq!(format!("{key:?}"), "***");
        assert_eq!(format!("{key}"), "***");
    }

    #[test]
    fn wrong_secrets_and_hashes_fail() {
        let (key, _, stored) = generate().unwrap();
        let (_, secret) = parse(key.expose()).unwrap();
        let mut other = secret.to_string();
        other.replace_range(0..1, if other.starts_with('A') { "B" } else { "A" });
        assert!(!verify(&other, &stored));
        assert!(!verify(secret, &stored[..63]));
        assert!(!verify(secret, ""));
        assert!(!verify(secret, &stored.to_uppercase()));
        let (_, _, other_stored) = generate().unwrap();
        assert!(!verify(secret, &other_stored));
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parse_refuses_other_shapes() {
        let secret = "A".repeat(43);
        assert!(parse(&format!("vz_abcd2345_{secret}")).is_some());
        for bad in [
            String::new(),
            "vz_".into(),
            format!("vz_abcd234_{secret}"),
            format!("vz_abcd23456_{secret}"),
            format!("vz_ABCD2345_{secret}"),
            format!("vz_abcd2345-{secret}"),
            format!("xx_abcd2345_{secret}"),
            format!("vz_abcd2345_{}", "A".repeat(42)),
            format!("vz_abcd2345_{}", "A".repeat(129)),
            format!("vz_abcd2345_{}+", "A".repeat(43)),
            format!("vz_abcdé345_{secret}"),
            "eyJhbGciOiJSUzI1NiJ9.e30.c2ln".into(),
        ] {
            assert!(parse(&bad).is_none(), "{bad}");
        }
        assert!(!looks_like_api_key("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"));
    }

    #[test]
    fn keys_are_unique() {
        let mut prefixes = HashSet::new();
        let mut keys = HashSet::new();
        for _ in 0..1000 {
            let (key, prefix, _) = generate().unwrap();
            prefixes.insert(prefix);
            keys.insert(key.expose().to_string());
        }
        assert_eq!(keys.len(), 1000);
        // 40-bit prefixes: a collision in 1000 draws has odds of about 1 in 2 million.
        assert_eq!(prefixes.len(), 1000);
    }
}

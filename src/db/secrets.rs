//! Encryption at rest for data-source credentials (AES-256-GCM, ring).
//!
//! A stored value is `v1:` + base64(nonce ‖ ciphertext ‖ tag). The key comes from
//! `secrets.encryption_key`, or for the embedded default from a key file created on first
//! start with mode 0600. Decryption failures never include the value in the error.

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::config::{Config, MetadataBackend};

const PREFIX: &str = "v1:";

pub struct Cipher {
    key: LessSafeKey,
    rng: SystemRandom,
    /// Signs short-lived capabilities (explore links); derived from the encryption key so
    /// every replica with the same key accepts them.
    mac: ring::hmac::Key,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(***)")
    }
}

impl Cipher {
    pub fn from_base64(key_b64: &str) -> anyhow::Result<Self> {
        let bytes = B64
            .decode(key_b64.trim())
            .map_err(|_| anyhow::anyhow!("the encryption key is not valid base64"))?;
        if bytes.len() != 32 {
            bail!(
                "the encryption key must be 32 bytes (base64 of 32 random bytes), got {}",
                bytes.len()
            );
        }
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| anyhow::anyhow!("the encryption key was rejected"))?;
        let mac_key = ring::digest::digest(
            &ring::digest::SHA256,
            &[b"vizier signed links v1:".as_slice(), &bytes].concat(),
        );
        Ok(Self {
            key: LessSafeKey::new(key),
            rng: SystemRandom::new(),
            mac: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, mac_key.as_ref()),
        })
    }

    /// The configured key, or for the embedded store the key file (created if absent).
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        if let Some(key) = &config.secrets.encryption_key {
            return Self::from_base64(key.expose());
        }
        if config.metadata_backend() == MetadataBackend::Postgres {
            bail!(
                "secrets.encryption_key is required with a PostgreSQL metadata store \
                 (base64 of 32 random bytes, e.g. `openssl rand -base64 32`; env VIZIER_SECRETS__ENCRYPTION_KEY)"
            );
        }
        Self::from_base64(&load_or_create_key_file(&config.secrets.key_file)?)
    }

    /// An HMAC-SHA256 tag of `data`.
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        ring::hmac::sign(&self.mac, data).as_ref().to_vec()
    }

    /// Whether `tag` is the tag of `data` (constant time).
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        ring::hmac::verify(&self.mac, data, tag).is_ok()
    }

    pub fn encrypt(&self, plaintext: &str) -> anyhow::Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("no randomness for a nonce"))?;
        let mut buf = plaintext.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{PREFIX}{}", B64.encode(out)))
    }

    pub fn decrypt(&self, stored: &str) -> anyhow::Result<String> {
        let body = stored
            .strip_prefix(PREFIX)
            .context("stored secret has an unknown format")?;
        let mut bytes = B64
            .decode(body)
            .map_err(|_| anyhow::anyhow!("stored secret is corrupt"))?;
        if bytes.len() < NONCE_LEN {
            bail!("stored secret is corrupt");
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[..NONCE_LEN]);
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut bytes[NONCE_LEN..],
            )
            .map_err(|_| {
                anyhow::anyhow!("stored secret cannot be decrypted with the configured key")
            })?;
        String::from_utf8(plain.to_vec()).context("stored secret is not UTF-8")
    }
}

fn load_or_create_key_file(path: &Path) -> anyhow::Result<String> {
    if path.exists() {
        return std::fs::read_to_string(path)
            .with_context(|| format!("could not read the key file {}", path.display()));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut key = [0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| anyhow::anyhow!("no randomness for a key"))?;
    let encoded = B64.encode(key);
    write_private(path, &encoded)
        .with_context(|| format!("could not create the key file {}", path.display()))?;
    Ok(encoded)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> Cipher {
        Cipher::from_base64(&B64.encode([7u8; 32])).expect("key")
    }

    #[test]
    fn round_trip_and_nonce_uniqueness() {
        let c = cipher();
        let a = c.encrypt("postgres://u:secret@h/db").expect("enc");
        let b = c.encrypt("postgres://u:secret@h/db").expect("enc");
        assert_ne!(a, b, "each encryption uses a fresh nonce");
        assert!(!a.contains("secret"));
        assert_eq!(c.decrypt(&a).expect("dec"), "postgres://u:secret@h/db");
    }

    #[test]
    fn tampering_and_wrong_keys_fail_without_echoing() {
        let c = cipher();
        let mut s = c.encrypt("hunter2").expect("enc");
        s.pop();
        s.push('A');
        let e = c.decrypt(&s).expect_err("tampered").to_string();
        assert!(!e.contains("hunter2"));
        let other = Cipher::from_base64(&B64.encode([8u8; 32])).expect("key");
        assert!(other.decrypt(&c.encrypt("x").expect("enc")).is_err());
        assert!(Cipher::from_base64("short").is_err());
    }
}

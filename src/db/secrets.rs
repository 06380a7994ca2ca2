//! Encryption at rest for data-source credentials (AES-256-GCM, ring).
//!
//! A stored value is `v1:` + base64(nonce ‖ ciphertext ‖ tag). The key comes from
//! `secrets.encryption_key`, or for the embedded default from a key file created on first
//! start with mode 0600 (by default beside the SQLite metadata file). Decryption failures
//! never include the value in the error.
//!
//! A key that cannot open what the store holds is refused at start, naming the settings:
//! a missing key file beside a store with credentials is never replaced by a new key (the
//! credentials would be lost to it), and a key that opens none of them is the wrong one.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::config::{Config, MetadataBackend, Secret};
use crate::db::MetaConn;
use crate::db::schema::databases;

const PREFIX: &str = "v1:";

/// Where the settings that choose the key are named, for messages.
const KEY_SETTINGS: &str = "secrets.key_file (env VIZIER_SECRETS__KEY_FILE) to the key file they were stored with, \
     or secrets.encryption_key (env VIZIER_SECRETS__ENCRYPTION_KEY) to that key";

/// The key file of the embedded default: `secrets.key_file` as given (a relative path from
/// the working directory), or unset `secret.key` beside the SQLite metadata file, so a
/// store and its key go together whatever directory vizier is started in.
pub fn key_file(config: &Config) -> PathBuf {
    if let Some(path) = &config.secrets.key_file {
        return path.clone();
    }
    Path::new(crate::config::sqlite_path(config.metadata.url.expose()))
        .parent()
        .unwrap_or(Path::new(""))
        .join("secret.key")
}

/// Where the encryption key comes from; decided from the configuration alone, so a missing
/// key is refused before anything touches the metadata store.
#[derive(Debug)]
pub enum KeySource {
    /// `secrets.encryption_key`.
    Configured(Secret),
    /// The embedded default's key file, created on first start.
    File(PathBuf),
}

impl KeySource {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        if let Some(key) = &config.secrets.encryption_key {
            return Ok(Self::Configured(key.clone()));
        }
        if config.metadata_backend() == MetadataBackend::Postgres {
            bail!(
                "secrets.encryption_key is required with a PostgreSQL metadata store \
                 (base64 of 32 random bytes, e.g. `openssl rand -base64 32`; env VIZIER_SECRETS__ENCRYPTION_KEY)"
            );
        }
        let path = key_file(config);
        Ok(Self::File(std::path::absolute(&path).unwrap_or(path)))
    }

    fn describe(&self) -> String {
        match self {
            Self::Configured(_) => {
                "the key in secrets.encryption_key (env VIZIER_SECRETS__ENCRYPTION_KEY)".into()
            }
            Self::File(path) => format!(
                "the key file {} (secrets.key_file, env VIZIER_SECRETS__KEY_FILE)",
                path.display()
            ),
        }
    }

    /// The cipher for the store behind `conn` (migrated). A missing key file is created
    /// only while the store holds no credentials; a key that opens none of the stored
    /// credentials is refused.
    pub async fn open(&self, config: &Config, conn: &mut MetaConn) -> anyhow::Result<Cipher> {
        let stored: Vec<(i32, String)> = crate::with_conn!(conn, |c| {
            databases::table
                .select((databases::id, databases::connection_encrypted))
                .load(c)
                .await
        })
        .context("metadata store: could not read the stored credentials")?;
        let store = match config.metadata_backend() {
            MetadataBackend::Sqlite => {
                let path = Path::new(crate::config::sqlite_path(config.metadata.url.expose()));
                std::path::absolute(path)
                    .unwrap_or_else(|_| path.to_path_buf())
                    .display()
                    .to_string()
            }
            // The URL may hold a password.
            MetadataBackend::Postgres => "(PostgreSQL)".into(),
        };
        let cipher = match self {
            Self::Configured(key) => {
                Cipher::from_base64(key.expose()).context("config key secrets.encryption_key")?
            }
            Self::File(path) if path.exists() => Cipher::from_base64(
                &std::fs::read_to_string(path)
                    .with_context(|| format!("could not read the key file {}", path.display()))?,
            )
            .with_context(|| format!("the key file {}", path.display()))?,
            Self::File(path) if !stored.is_empty() => bail!(
                "the key file {} does not exist, but the metadata store {store} already holds {} encrypted \
                 data-source credential(s): a new key could not decrypt them, so none is created. Set {KEY_SETTINGS}.",
                path.display(),
                stored.len()
            ),
            Self::File(path) => {
                let key = create_key_file(path)?;
                tracing::info!(path = %path.display(), "created the encryption key file");
                Cipher::from_base64(&key)?
            }
        };
        let unopened: Vec<i32> = stored
            .iter()
            .filter(|(_, sealed)| cipher.decrypt(sealed).is_err())
            .map(|(id, _)| *id)
            .collect();
        if !stored.is_empty() && unopened.len() == stored.len() {
            bail!(
                "{} decrypts none of the {} data-source credential(s) stored in the metadata store {store}: \
                 they were stored with another key. Set {KEY_SETTINGS}.",
                self.describe(),
                stored.len()
            );
        }
        if !unopened.is_empty() {
            tracing::warn!(
                database_ids = ?unopened,
                "stored credentials of these databases cannot be decrypted with {}; they fail until registered again",
                self.describe()
            );
        }
        Ok(cipher)
    }
}

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
        let bytes = crate::config::decode_encryption_key(key_b64)?;
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

/// A new random key in a new file (mode 0600); its base64.
fn create_key_file(path: &Path) -> anyhow::Result<String> {
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
    fn the_key_file_goes_with_the_metadata_file_unless_set() {
        let mut c = Config::default();
        assert_eq!(key_file(&c), Path::new("data/secret.key"));
        c.metadata.url = Secret::new("sqlite:///srv/vizier/meta.db");
        assert_eq!(key_file(&c), Path::new("/srv/vizier/secret.key"));
        c.metadata.url = Secret::new("sqlite://meta.db");
        assert_eq!(key_file(&c), Path::new("secret.key"));
        c.secrets.key_file = Some("keys/k".into());
        assert_eq!(key_file(&c), Path::new("keys/k"));
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

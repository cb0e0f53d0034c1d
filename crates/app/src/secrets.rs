//! Secrets at rest (REQUIREMENTS SEC-5): TOTP seeds now, provider
//! credentials later. Values are sealed with AES-256-GCM under a master key
//! that never enters the database: it is read from a key file (created with
//! mode 0600 on first start) or from the `MAKONIS_MASTER_KEY` environment
//! variable (64 hex digits). Each sealed value binds a context string (e.g.
//! `totp:<user id>`), so a sealed value copied to another row does not open.

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

const PREFIX: &str = "v1:";

pub struct SecretBox {
    key: LessSafeKey,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("master key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("master key {origin} must be 64 hexadecimal digits (32 bytes)")]
    Malformed { origin: String },
}

impl SecretBox {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let key = UnboundKey::new(&AES_256_GCM, bytes).expect("32-byte AES key");
        Self {
            key: LessSafeKey::new(key),
        }
    }

    pub fn from_hex(hex_key: &str, origin: &str) -> Result<Self, KeyError> {
        let bytes: [u8; 32] = hex::decode(hex_key.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| KeyError::Malformed {
                origin: origin.to_owned(),
            })?;
        Ok(Self::from_bytes(&bytes))
    }

    /// A fresh random key, for tests.
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("system randomness");
        Self::from_bytes(&bytes)
    }

    /// `MAKONIS_MASTER_KEY` if set, else the key file at `path`, created
    /// (mode 0600) if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        if let Ok(hex_key) = std::env::var("MAKONIS_MASTER_KEY") {
            return Self::from_hex(&hex_key, "in MAKONIS_MASTER_KEY");
        }
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&text, &format!("file {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                SystemRandom::new()
                    .fill(&mut bytes)
                    .expect("system randomness");
                write_private(path, hex::encode(bytes).as_bytes()).map_err(io)?;
                Ok(Self::from_bytes(&bytes))
            }
            Err(e) => Err(io(e)),
        }
    }

    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("system randomness");
        let mut buffer = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buffer,
            )
            .expect("AES-GCM seal");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buffer);
        format!("{PREFIX}{}", STANDARD_NO_PAD.encode(out))
    }

    /// Opens a sealed value; `None` if it was sealed under another key or
    /// context, or was altered.
    pub fn open(&self, context: &str, sealed: &str) -> Option<Vec<u8>> {
        let raw = STANDARD_NO_PAD.decode(sealed.strip_prefix(PREFIX)?).ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let mut body = body.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut body)
            .ok()?;
        Some(plain.to_vec())
    }
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_context_binding() {
        let secrets = SecretBox::random();
        let sealed = secrets.seal("totp:1", b"JBSWY3DPEHPK3PXP");
        assert!(!sealed.contains("JBSW"));
        assert_eq!(
            secrets.open("totp:1", &sealed).unwrap(),
            b"JBSWY3DPEHPK3PXP"
        );
        assert_eq!(secrets.open("totp:2", &sealed), None, "context must bind");
        assert_eq!(
            SecretBox::random().open("totp:1", &sealed),
            None,
            "other key must fail"
        );
        let mut tampered = sealed.clone();
        tampered.replace_range(10..11, if &sealed[10..11] == "A" { "B" } else { "A" });
        assert_eq!(secrets.open("totp:1", &tampered), None);
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = SecretBox::load_or_create(&path).unwrap();
        let sealed = first.seal("c", b"x");
        let second = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(second.open("c", &sealed).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        std::fs::write(&path, "not hex").unwrap();
        assert!(matches!(
            SecretBox::load_or_create(&path),
            Err(KeyError::Malformed { .. })
        ));
    }
}

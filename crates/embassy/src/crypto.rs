//! Key hierarchy and authenticated encryption.
//!
//! A repository has one random *master key* (a 32-byte AES-256-GCM data key
//! and a 32-byte BLAKE3 id key). It never leaves the client in plaintext: each
//! key file under `keys/` holds the master key sealed with a key-encryption
//! key derived from a password by argon2id. Every stored object is sealed as
//! `nonce(12) || ciphertext || tag(16)` with a fresh random 96-bit nonce and an
//! associated-data string that binds it to its role (and, for blobs, to its
//! type and id) so ciphertexts cannot be swapped between roles or ids.

use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::Id;

/// Bytes added by [`MasterKey::seal`]: nonce plus GCM tag.
pub const SEAL_OVERHEAD: usize = NONCE_LEN + 16;
/// Nonce length (headroom needed by [`MasterKey::seal_prefixed`]).
pub const NONCE_BYTES: usize = NONCE_LEN;

/// The secret material every operation needs; cheap to clone.
#[derive(Clone)]
pub struct MasterKey {
    inner: Arc<MasterInner>,
}

struct MasterInner {
    data_key: [u8; 32],
    id_key: [u8; 32],
    aead: LessSafeKey,
    chunker_seed: u64,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn generate() -> Result<Self> {
        let mut data_key = [0u8; 32];
        let mut id_key = [0u8; 32];
        random_fill(&mut data_key)?;
        random_fill(&mut id_key)?;
        Self::from_parts(data_key, id_key)
    }

    /// A new data key sharing `other`'s id key: the repositories then agree on
    /// chunk boundaries and blob ids, so `copy` sends only missing blobs
    /// without decrypting them first and `repair` can find replacements.
    pub fn generate_sharing_ids(other: &MasterKey) -> Result<Self> {
        let mut data_key = [0u8; 32];
        random_fill(&mut data_key)?;
        Self::from_parts(data_key, other.inner.id_key)
    }

    pub(crate) fn from_parts(data_key: [u8; 32], id_key: [u8; 32]) -> Result<Self> {
        let aead = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &data_key)
                .map_err(|_| Error::Crypto("cannot build AES-256-GCM key".into()))?,
        );
        let seed_bytes = blake3::derive_key("makonis-embassy v1 fastcdc gear seed", &id_key);
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&seed_bytes[..8]);
        Ok(MasterKey {
            inner: Arc::new(MasterInner {
                data_key,
                id_key,
                aead,
                chunker_seed: u64::from_le_bytes(seed),
            }),
        })
    }

    /// Keyed BLAKE3 id of a blob's plaintext.
    pub fn blob_id(&self, plaintext: &[u8]) -> Id {
        Id(*blake3::keyed_hash(&self.inner.id_key, plaintext).as_bytes())
    }

    /// Keyed id hasher for data too large to hash in one call.
    pub fn blob_hasher(&self) -> blake3::Hasher {
        blake3::Hasher::new_keyed(&self.inner.id_key)
    }

    /// Seed XORed into the FastCDC gear table, so chunk boundaries (visible
    /// to the host only as sizes) do not follow a public table.
    pub fn chunker_seed(&self) -> u64 {
        self.inner.chunker_seed
    }

    /// True when both keys produce the same blob ids.
    pub fn same_ids_as(&self, other: &MasterKey) -> bool {
        self.inner.id_key == other.inner.id_key
    }

    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(plaintext.len() + SEAL_OVERHEAD);
        let mut nonce = [0u8; NONCE_LEN];
        random_fill(&mut nonce)?;
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .inner
            .aead
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut out[NONCE_LEN..],
            )
            .map_err(|_| Error::Crypto("AES-GCM seal failed".into()))?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Seal in place: `buf` holds [`NONCE_LEN`] bytes of headroom followed
    /// by the plaintext; returns the sealed object without copying the
    /// plaintext again (blobs are the bulk of all bytes sealed).
    pub fn seal_prefixed(&self, aad: &[u8], mut buf: Vec<u8>) -> Result<Vec<u8>> {
        if buf.len() < NONCE_LEN {
            return Err(Error::InvalidArgument(
                "seal_prefixed needs nonce headroom".into(),
            ));
        }
        let mut nonce = [0u8; NONCE_LEN];
        random_fill(&mut nonce)?;
        buf[..NONCE_LEN].copy_from_slice(&nonce);
        let tag = self
            .inner
            .aead
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut buf[NONCE_LEN..],
            )
            .map_err(|_| Error::Crypto("AES-GCM seal failed".into()))?;
        buf.extend_from_slice(tag.as_ref());
        Ok(buf)
    }

    /// Open a sealed object. `None` means authentication failed (wrong key,
    /// damaged bytes, or wrong associated data); callers turn that into a
    /// [`Error::Corrupt`] naming the object.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        open_with(&self.inner.aead, aad, sealed)
    }

    fn to_bytes(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[..32].copy_from_slice(&self.inner.data_key);
        b[32..].copy_from_slice(&self.inner.id_key);
        b
    }
}

fn open_with(key: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < SEAL_OVERHEAD {
        return None;
    }
    let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN]).ok()?;
    let mut buf = sealed[NONCE_LEN..].to_vec();
    let plain_len = key
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .ok()?
        .len();
    buf.truncate(plain_len);
    Some(buf)
}

pub(crate) fn random_fill(buf: &mut [u8]) -> Result<()> {
    aws_lc_rs::rand::fill(buf).map_err(|_| Error::Crypto("system RNG failed".into()))
}

/// argon2id cost parameters, stored in each key file so they can be raised
/// for new keys without touching old ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl Default for KdfParams {
    /// OWASP's argon2id recommendation tier (64 MiB, 3 passes).
    fn default() -> Self {
        KdfParams {
            m_cost: 64 * 1024,
            t_cost: 3,
            p_cost: 1,
        }
    }
}

impl KdfParams {
    /// Largest memory cost accepted (KiB): 2 GiB, 32 × the default.
    pub const MAX_M_COST: u32 = 2 * 1024 * 1024;
    /// Largest number of passes accepted.
    pub const MAX_T_COST: u32 = 16;
    /// Largest number of lanes accepted.
    pub const MAX_P_COST: u32 = 16;

    /// Deliberately weak parameters for tests only.
    pub fn insecure_fast() -> Self {
        KdfParams {
            m_cost: 256,
            t_cost: 1,
            p_cost: 1,
        }
    }

    /// Why these parameters are refused, if they are. Key files are
    /// plaintext the host can replace or plant, and argon2 allocates
    /// `m_cost` KiB and runs `t_cost` passes before the password is even
    /// checked, so a reader bounds them: unbounded, one planted key file
    /// could make every `open` allocate up to 4 TiB or hash for days.
    pub fn problem(&self) -> Option<String> {
        if self.m_cost > Self::MAX_M_COST
            || self.t_cost > Self::MAX_T_COST
            || self.p_cost > Self::MAX_P_COST
        {
            return Some(format!(
                "argon2 parameters m_cost={} KiB t_cost={} p_cost={} exceed the limits \
                 ({} KiB, {}, {})",
                self.m_cost,
                self.t_cost,
                self.p_cost,
                Self::MAX_M_COST,
                Self::MAX_T_COST,
                Self::MAX_P_COST
            ));
        }
        argon2::Params::new(self.m_cost, self.t_cost, self.p_cost, Some(32))
            .err()
            .map(|e| format!("bad argon2 parameters: {e}"))
    }
}

fn derive_kek(password: &[u8], salt: &[u8], p: KdfParams) -> Result<[u8; 32]> {
    let params = argon2::Params::new(p.m_cost, p.t_cost, p.p_cost, Some(32))
        .map_err(|e| Error::InvalidArgument(format!("bad argon2 parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut kek = [0u8; 32];
    argon
        .hash_password_into(password, salt, &mut kek)
        .map_err(|e| Error::Crypto(format!("argon2id failed: {e}")))?;
    Ok(kek)
}

fn kek_cipher(kek: &[u8; 32]) -> Result<LessSafeKey> {
    Ok(LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, kek).map_err(|_| Error::Crypto("bad KEK".into()))?,
    ))
}

const KEYFILE_AAD: &[u8] = b"makonis-embassy v1 keyfile";
const KEYFILE_MAGIC: &[u8; 4] = b"MKMK";
/// Payload of a key file: magic, data key, id key, repository id.
const KEYFILE_PLAIN_LEN: usize = 4 + 64 + 32;
/// The sealed payload as stored (base64) in `data`.
const KEYFILE_SEALED_LEN: usize = KEYFILE_PLAIN_LEN + SEAL_OVERHEAD;
/// Salt lengths accepted (argon2 needs at least 8 bytes; we write 16).
const SALT_MIN: usize = 8;
const SALT_MAX: usize = 64;

/// A key file: JSON, stored under `keys/<blake3 of the file>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    pub version: u32,
    pub created: chrono::DateTime<chrono::Utc>,
    pub hostname: String,
    pub username: String,
    pub kdf: String,
    #[serde(flatten)]
    pub params: KdfParams,
    /// base64 salt (16 random bytes).
    pub salt: String,
    /// base64 of `nonce || AES-256-GCM(KEK, "MKMK" || data key || id key || repo id) || tag`.
    pub data: String,
}

impl KeyFile {
    pub fn create(
        master: &MasterKey,
        repo_id: &Id,
        password: &[u8],
        params: KdfParams,
    ) -> Result<Self> {
        use base64::Engine as _;
        if let Some(p) = params.problem() {
            return Err(Error::InvalidArgument(p));
        }
        let mut salt = [0u8; 16];
        random_fill(&mut salt)?;
        let kek = kek_cipher(&derive_kek(password, &salt, params)?)?;
        let mut plain = Vec::with_capacity(KEYFILE_PLAIN_LEN);
        plain.extend_from_slice(KEYFILE_MAGIC);
        plain.extend_from_slice(&master.to_bytes());
        plain.extend_from_slice(&repo_id.0);
        let mut nonce = [0u8; NONCE_LEN];
        random_fill(&mut nonce)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&plain);
        let tag = kek
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(KEYFILE_AAD),
                &mut out[NONCE_LEN..],
            )
            .map_err(|_| Error::Crypto("seal key file".into()))?;
        out.extend_from_slice(tag.as_ref());
        let b64 = base64::engine::general_purpose::STANDARD;
        Ok(KeyFile {
            version: 1,
            created: chrono::Utc::now(),
            hostname: crate::util::hostname(),
            username: crate::util::username(),
            kdf: "argon2id".into(),
            params,
            salt: b64.encode(salt),
            data: b64.encode(out),
        })
    }

    pub fn parse(name: &str, bytes: &[u8]) -> Result<Self> {
        let kf: KeyFile = serde_json::from_slice(bytes)
            .map_err(|e| Error::corrupt("key file", name, format!("invalid JSON: {e}")))?;
        if kf.version != 1 {
            return Err(Error::UnsupportedVersion {
                object: format!("key file {name}"),
                found: kf.version,
                min: 1,
                max: 1,
            });
        }
        let bad = |r: String| Error::corrupt("key file", name, r);
        if kf.kdf != "argon2id" {
            return Err(bad(format!("unknown KDF {:?}", kf.kdf)));
        }
        // Everything `unlock` needs is checked here, before any argon2
        // work, so a damaged or planted key file is skipped by `open`.
        if let Some(p) = kf.params.problem() {
            return Err(bad(p));
        }
        let salt = kf.salt_bytes(name)?;
        if !(SALT_MIN..=SALT_MAX).contains(&salt.len()) {
            return Err(bad(format!(
                "salt of {} bytes (expected {SALT_MIN}..={SALT_MAX})",
                salt.len()
            )));
        }
        let data = kf.data_bytes(name)?;
        if data.len() != KEYFILE_SEALED_LEN {
            return Err(bad(format!(
                "sealed key of {} bytes (expected {KEYFILE_SEALED_LEN})",
                data.len()
            )));
        }
        Ok(kf)
    }

    fn salt_bytes(&self, name: &str) -> Result<Vec<u8>> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&self.salt)
            .map_err(|e| Error::corrupt("key file", name, format!("bad salt: {e}")))
    }

    fn data_bytes(&self, name: &str) -> Result<Vec<u8>> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&self.data)
            .map_err(|e| Error::corrupt("key file", name, format!("bad data: {e}")))
    }

    /// `Ok(None)` when the password does not fit this key file.
    pub fn unlock(&self, name: &str, password: &[u8]) -> Result<Option<(MasterKey, Id)>> {
        // Also checked by `parse`; a `KeyFile` built in code is checked
        // here before argon2 allocates anything.
        if let Some(p) = self.params.problem() {
            return Err(Error::corrupt("key file", name, p));
        }
        let salt = self.salt_bytes(name)?;
        let kek = derive_kek(password, &salt, self.params)
            .map_err(|e| Error::corrupt("key file", name, e.to_string()))?;
        self.unlock_with_kek(name, &kek)
    }

    /// The part of [`KeyFile::unlock`] after the password stretching:
    /// open the payload with an already derived key-encryption key.
    /// Public for fuzzing (it skips argon2).
    pub fn unlock_with_kek(&self, name: &str, kek: &[u8; 32]) -> Result<Option<(MasterKey, Id)>> {
        let data = self.data_bytes(name)?;
        let Some(plain) = open_with(&kek_cipher(kek)?, KEYFILE_AAD, &data) else {
            return Ok(None);
        };
        parse_key_payload(name, &plain).map(Some)
    }
}

/// Parse an opened key-file payload (`"MKMK" || data key || id key ||
/// repo id`). Public for fuzzing.
pub fn parse_key_payload(name: &str, plain: &[u8]) -> Result<(MasterKey, Id)> {
    if plain.len() != KEYFILE_PLAIN_LEN || &plain[..4] != KEYFILE_MAGIC {
        return Err(Error::corrupt(
            "key file",
            name,
            "unexpected plaintext layout",
        ));
    }
    let mut dk = [0u8; 32];
    let mut ik = [0u8; 32];
    let mut rid = [0u8; 32];
    dk.copy_from_slice(&plain[4..36]);
    ik.copy_from_slice(&plain[36..68]);
    rid.copy_from_slice(&plain[68..100]);
    Ok((MasterKey::from_parts(dk, ik)?, Id(rid)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_aad_binding() {
        let k = MasterKey::generate().unwrap();
        let s = k.seal(b"a", b"hello").unwrap();
        assert_eq!(s.len(), 5 + SEAL_OVERHEAD);
        assert_eq!(k.open(b"a", &s).unwrap(), b"hello");
        assert!(k.open(b"b", &s).is_none(), "other AAD must fail");
        let mut flipped = s.clone();
        flipped[14] ^= 1;
        assert!(k.open(b"a", &flipped).is_none(), "bit flip must fail");
        let other = MasterKey::generate().unwrap();
        assert!(other.open(b"a", &s).is_none(), "other key must fail");
        assert!(
            k.open(b"a", &s[..10]).is_none(),
            "short input must fail cleanly"
        );
    }

    #[test]
    fn keyfile_unlocks_only_with_right_password() {
        let k = MasterKey::generate().unwrap();
        let rid = Id::random().unwrap();
        let kf = KeyFile::create(&k, &rid, b"pw", KdfParams::insecure_fast()).unwrap();
        let (k2, rid2) = kf.unlock("x", b"pw").unwrap().unwrap();
        assert_eq!(rid, rid2);
        assert!(k.same_ids_as(&k2));
        assert_eq!(
            k2.open(b"z", &k.seal(b"z", b"data").unwrap()).unwrap(),
            b"data"
        );
        assert!(kf.unlock("x", b"wrong").unwrap().is_none());
    }

    /// A key file as a host could plant it: valid layout, argon2 costs
    /// chosen by the host.
    fn planted_key_file(m: u64, t: u64, p: u64) -> Vec<u8> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        format!(
            r#"{{"version":1,"created":"2026-01-01T00:00:00Z","hostname":"h","username":"u",
                "kdf":"argon2id","m_cost":{m},"t_cost":{t},"p_cost":{p},
                "salt":"{}","data":"{}"}}"#,
            b64.encode([0u8; 16]),
            b64.encode([0u8; KEYFILE_SEALED_LEN])
        )
        .into_bytes()
    }

    // Found while fuzzing the key file reader (key_file target): the argon2
    // costs come from the plaintext key file, and `unlock` allocated
    // `m_cost` KiB before checking the password, so m_cost = u32::MAX
    // asked for 4 TiB (an allocation abort, not an error) and a huge
    // t_cost hashed for days. `parse` now refuses them, naming the file.
    #[test]
    fn keyfile_with_unbounded_argon2_costs_is_refused_before_hashing() {
        let fine = planted_key_file(256, 1, 1);
        assert!(KeyFile::parse("k", &fine).is_ok());
        for (m, t, p, what) in [
            (u64::from(u32::MAX), 1, 1, "m_cost=4294967295"),
            (256, u64::from(u32::MAX), 1, "t_cost=4294967295"),
            (4096, 1, 0xFF_FFFF, "p_cost=16777215"),
            (u64::from(KdfParams::MAX_M_COST) + 1, 1, 1, "m_cost=2097153"),
        ] {
            let e = KeyFile::parse("planted", &planted_key_file(m, t, p)).unwrap_err();
            let msg = e.to_string();
            assert!(matches!(e, Error::Corrupt { .. }), "{msg}");
            assert!(msg.contains("key file planted"), "{msg}");
            assert!(msg.contains(what), "{msg}");
        }
        // argon2's own minimums are errors too, not panics.
        let e = KeyFile::parse("k", &planted_key_file(1, 0, 1)).unwrap_err();
        assert!(e.to_string().contains("bad argon2 parameters"), "{e}");
        // A KeyFile built in code with such costs is refused by `unlock`
        // (and `create`) before argon2 allocates anything.
        let mut kf = KeyFile::parse("k", &fine).unwrap();
        kf.params.m_cost = u32::MAX;
        let e = kf.unlock("k", b"pw").unwrap_err();
        assert!(e.to_string().contains("key file k"), "{e}");
        let k = MasterKey::generate().unwrap();
        assert!(KeyFile::create(&k, &Id([1; 32]), b"pw", kf.params).is_err());
    }

    #[test]
    fn keyfile_salt_and_data_are_checked_by_parse() {
        let good = String::from_utf8(planted_key_file(256, 1, 1)).unwrap();
        let zeros16 = "AAAAAAAAAAAAAAAAAAAAAA==";
        for (from, to, what) in [
            (zeros16, "AAAA", "salt of 3 bytes"),
            (zeros16, "!!", "bad salt"),
        ] {
            let b = good.replacen(from, to, 1);
            let e = KeyFile::parse("k", b.as_bytes()).unwrap_err();
            assert!(e.to_string().contains(what), "{e}");
        }
        for (to, what) in [
            (r#""data":"AAAA"#, "sealed key of 131 bytes (expected 128)"),
            (r#""data":"!!"#, "bad data"),
        ] {
            let b = good.replace(r#""data":""#, to);
            let e = KeyFile::parse("k", b.as_bytes()).unwrap_err();
            assert!(e.to_string().contains(what), "{e}");
        }
        let e = parse_key_payload("k", b"MKMK").unwrap_err();
        assert!(e.to_string().contains("key file k"), "{e}");
    }

    #[test]
    fn blob_ids_are_keyed() {
        let a = MasterKey::generate().unwrap();
        let b = MasterKey::generate().unwrap();
        assert_ne!(a.blob_id(b"x"), b.blob_id(b"x"));
        assert_ne!(a.blob_id(b"x"), Id::of_bytes(b"x"));
        let shared = MasterKey::generate_sharing_ids(&a).unwrap();
        assert_eq!(a.blob_id(b"x"), shared.blob_id(b"x"));
        assert_eq!(a.chunker_seed(), shared.chunker_seed());
    }
}

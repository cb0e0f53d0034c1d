//! An opened repository: backend + master key + config. Everything else
//! (index, snapshots, trees) is loaded on demand through it.

use std::collections::HashSet;
use std::sync::Arc;

use rayon::prelude::*;

use crate::backend::{Backend, DynBackend, FileType};
use crate::chunker::ChunkerParams;
use crate::crypto::{KdfParams, KeyFile, MasterKey};
use crate::error::{Error, Result};
use crate::format::{self, BlobType, ConfigBody, IndexFile, PackBlob};
use crate::id::Id;
use crate::index::Index;
use crate::snapshot::Snapshot;
use crate::tree::Tree;

/// Objects that loaded, and the names of those that did not with why.
pub type Loaded<T> = (Vec<T>, Vec<(String, Error)>);

/// Tree ids, data blob ids, and unreadable trees reachable from snapshots.
pub type Reachable = (HashSet<Id>, HashSet<Id>, Vec<(Id, Error)>);

/// Settings for a new repository.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub kdf: KdfParams,
    pub chunker: ChunkerParams,
    /// Target pack size in bytes.
    pub pack_size: u32,
    /// zstd level; 0 disables compression.
    pub zstd_level: i32,
    /// Share blob ids and chunk boundaries with this repository, so `copy`
    /// between them is a pure transfer of missing blobs and `repair` can
    /// take replacements from it. Its data key is *not* shared.
    pub share_ids_with: Option<MasterKey>,
    /// Repository format version to create ([`format::MIN_FORMAT_VERSION`]
    /// ..= [`format::FORMAT_VERSION`]); an older one stays readable by older
    /// builds but cannot record everything (version 1: no hard links or
    /// extended attributes).
    pub format_version: u32,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            kdf: KdfParams::default(),
            chunker: ChunkerParams::default(),
            pack_size: 16 * 1024 * 1024,
            zstd_level: 3,
            share_ids_with: None,
            format_version: format::FORMAT_VERSION,
        }
    }
}

/// An unlocked repository. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Repository {
    backend: DynBackend,
    key: MasterKey,
    config: Arc<ConfigBody>,
    key_name: String,
}

impl Repository {
    /// Create a repository at an empty location.
    pub fn init(backend: DynBackend, password: &str, opts: InitOptions) -> Result<Repository> {
        if backend.exists(FileType::Config, "config")? {
            return Err(Error::AlreadyExists(backend.location()));
        }
        let c = opts.chunker;
        if let Some(p) = c.problem() {
            return Err(Error::InvalidArgument(p));
        }
        if !(format::MIN_FORMAT_VERSION..=format::FORMAT_VERSION).contains(&opts.format_version) {
            return Err(Error::InvalidArgument(format!(
                "cannot create format version {} (this build creates versions {}..={})",
                opts.format_version,
                format::MIN_FORMAT_VERSION,
                format::FORMAT_VERSION
            )));
        }
        backend.create()?;
        let key = match &opts.share_ids_with {
            Some(other) => MasterKey::generate_sharing_ids(other)?,
            None => MasterKey::generate()?,
        };
        let body = ConfigBody {
            version: opts.format_version,
            repo_id: Id::random()?,
            chunk_min: c.min as u32,
            chunk_avg: c.avg as u32,
            chunk_max: c.max as u32,
            pack_size: opts.pack_size.max(64 * 1024),
            zstd_level: opts.zstd_level,
            created: chrono::Utc::now(),
        };
        // Key first, config last: a location with a config is complete.
        let kf = KeyFile::create(&key, &body.repo_id, password.as_bytes(), opts.kdf)?;
        let key_name = write_keyfile(backend.as_ref(), &kf)?;
        backend.write(
            FileType::Config,
            "config",
            &format::encode_config(&key, &body)?,
        )?;
        Ok(Repository {
            backend,
            key,
            config: Arc::new(body),
            key_name,
        })
    }

    /// Open with a password, trying every key file.
    pub fn open(backend: DynBackend, password: &str) -> Result<Repository> {
        let cfg = match backend.read(FileType::Config, "config") {
            Ok(c) => c,
            Err(Error::Missing { .. }) => return Err(Error::NotARepository(backend.location())),
            Err(e) => return Err(e),
        };
        // Refuse unknown versions before spending time on argon2.
        format::config_version(&cfg)?;
        let mut keys = backend.list(FileType::Key)?;
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        let mut tried = 0;
        let mut last_err = None;
        for k in &keys {
            let kf = match backend
                .read(FileType::Key, &k.name)
                .and_then(|b| KeyFile::parse(&k.name, &b))
            {
                Ok(kf) => kf,
                Err(e) => {
                    last_err = Some(e);
                    continue;
                }
            };
            tried += 1;
            let Some((key, repo_id)) = kf.unlock(&k.name, password.as_bytes())? else {
                continue;
            };
            let body = format::decode_config(&key, &cfg)?.ok_or_else(|| {
                Error::corrupt(
                    "config",
                    "config",
                    "authentication failed with an unlocked key",
                )
            })?;
            if body.repo_id != repo_id {
                return Err(Error::corrupt(
                    "key file",
                    &k.name,
                    "belongs to another repository",
                ));
            }
            return Ok(Repository {
                backend,
                key,
                config: Arc::new(body),
                key_name: k.name.clone(),
            });
        }
        if tried == 0
            && let Some(e) = last_err
        {
            return Err(e);
        }
        Err(Error::WrongPassword {
            repo: backend.location(),
            tried,
        })
    }

    pub fn backend(&self) -> &DynBackend {
        &self.backend
    }
    pub fn key(&self) -> &MasterKey {
        &self.key
    }
    pub fn config(&self) -> &ConfigBody {
        &self.config
    }
    /// Name of the key file this session unlocked.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The repository format version (`config`).
    pub fn format_version(&self) -> u32 {
        self.config.version
    }

    /// The tree version this repository holds (see [`crate::tree`]).
    pub fn tree_version(&self) -> u8 {
        crate::tree::tree_version_for(self.config.version)
    }

    /// Move the repository to the current format version
    /// ([`format::FORMAT_VERSION`]) by rewriting `config` under an
    /// exclusive lock. Existing objects stay as they are: this build reads
    /// every older tree version. Afterwards builds that only know older
    /// versions refuse the repository with a clear message instead of
    /// misreading new trees. Returns the version before; a repository
    /// already current is left alone.
    pub fn migrate(&mut self, wait: std::time::Duration) -> Result<u32> {
        let before = self.config.version;
        if before >= format::FORMAT_VERSION {
            return Ok(before);
        }
        let _lock = crate::lock::lock(self, true, wait)?;
        let mut body = (*self.config).clone();
        body.version = format::FORMAT_VERSION;
        // One atomic write: an interruption leaves the old config intact.
        self.backend.write(
            FileType::Config,
            "config",
            &format::encode_config(&self.key, &body)?,
        )?;
        self.config = Arc::new(body);
        Ok(before)
    }

    pub fn chunker_params(&self) -> ChunkerParams {
        self.config.chunker_params()
    }

    // ------------------------------------------------------------ keys

    /// Add a key file for another password. Returns its name.
    pub fn add_key(&self, password: &str, kdf: KdfParams) -> Result<String> {
        let kf = KeyFile::create(&self.key, &self.config.repo_id, password.as_bytes(), kdf)?;
        write_keyfile(self.backend.as_ref(), &kf)
    }

    /// Remove a key file. The key used by this session and the last key
    /// cannot be removed (that would lock everyone out).
    pub fn remove_key(&self, name: &str) -> Result<()> {
        let keys = self.list_keys()?;
        if !keys.iter().any(|(n, _)| n == name) {
            return Err(Error::Missing {
                kind: "key file",
                id: name.into(),
            });
        }
        if name == self.key_name {
            return Err(Error::InvalidArgument(
                "refusing to remove the key this session is using; open with another password"
                    .into(),
            ));
        }
        if keys.len() < 2 {
            return Err(Error::InvalidArgument(
                "refusing to remove the last key".into(),
            ));
        }
        self.backend.delete(FileType::Key, name)
    }

    pub fn list_keys(&self) -> Result<Vec<(String, KeyFile)>> {
        let mut out = Vec::new();
        for f in self.backend.list(FileType::Key)? {
            let b = self.backend.read(FileType::Key, &f.name)?;
            out.push((f.name.clone(), KeyFile::parse(&f.name, &b)?));
        }
        out.sort_by_key(|a| a.1.created);
        Ok(out)
    }

    // ------------------------------------------------------------ index

    /// Read one index file.
    pub fn read_index_file(&self, name: &str) -> Result<IndexFile> {
        let bytes = self.backend.read(FileType::Index, name)?;
        if Id::of_bytes(&bytes).to_hex() != name {
            return Err(Error::corrupt(
                "index",
                name,
                "content hash does not match the file name",
            ));
        }
        format::decode_index(&self.key, name, &bytes)
    }

    /// Load all index files into memory (in parallel).
    pub fn load_index(&self) -> Result<Index> {
        let (files, errors) = self.load_index_files()?;
        if let Some((_, e)) = errors.into_iter().next() {
            return Err(e);
        }
        Ok(Index::from_files(files))
    }

    /// Like [`Repository::load_index`] but returns unreadable files
    /// separately instead of failing (for check and repair).
    pub fn load_index_files(&self) -> Result<Loaded<(Id, IndexFile)>> {
        let names = self.backend.list(FileType::Index)?;
        let results: Vec<(String, Result<IndexFile>)> = names
            .par_iter()
            .map(|f| (f.name.clone(), self.read_index_file(&f.name)))
            .collect();
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        for (name, r) in results {
            match (r, Id::from_hex(&name)) {
                (Ok(f), Ok(id)) => ok.push((id, f)),
                (Err(e), _) => bad.push((name, e)),
                (Ok(_), Err(_)) => bad.push((
                    name.clone(),
                    Error::corrupt("index", &name, "file name is not an id"),
                )),
            }
        }
        Ok((ok, bad))
    }

    /// Write an index file; returns its id.
    pub fn save_index_file(&self, f: &IndexFile) -> Result<Id> {
        let bytes = format::encode_index(&self.key, f)?;
        let id = Id::of_bytes(&bytes);
        self.backend.write(FileType::Index, &id.to_hex(), &bytes)?;
        Ok(id)
    }

    // ------------------------------------------------------------ packs & blobs

    /// Read and open a pack's header. `size` is the pack's size when known
    /// (from a listing), saving a metadata request.
    pub fn read_pack_header(&self, pack: &Id, size: Option<u64>) -> Result<Vec<PackBlob>> {
        let name = pack.to_hex();
        let size = match size {
            Some(s) => s,
            None => self.backend.size(FileType::Pack, &name)?,
        };
        if size < 4 {
            return Err(Error::corrupt(
                "pack",
                &name,
                format!("only {size} bytes (truncated)"),
            ));
        }
        let trailer = self
            .backend
            .read_range(FileType::Pack, &name, size - 4, 4)?;
        let hlen = format::pack_header_len(&name, &trailer, size)?;
        let data_len = size - 4 - u64::from(hlen);
        let sealed = self
            .backend
            .read_range(FileType::Pack, &name, data_len, u64::from(hlen))?;
        format::decode_pack_header(&self.key, &name, &sealed, data_len)
    }

    /// Read, open and verify one blob.
    pub fn read_blob(&self, index: &Index, t: BlobType, id: &Id) -> Result<Vec<u8>> {
        let locs = index.get_all(id);
        if locs.is_empty() {
            return Err(Error::Missing {
                kind: if t == BlobType::Tree {
                    "tree blob"
                } else {
                    "data blob"
                },
                id: id.to_hex(),
            });
        }
        // A blob may sit in several packs; fall back to later copies if
        // the first is damaged.
        let mut first_err = None;
        for loc in locs {
            let r = self
                .backend
                .read_range(
                    FileType::Pack,
                    &loc.pack.to_hex(),
                    u64::from(loc.offset),
                    u64::from(loc.length),
                )
                .and_then(|sealed| format::decode_blob(&self.key, t, id, &sealed, loc.raw_len))
                .map_err(|e| annotate_pack(e, &loc.pack));
            match r {
                Ok(d) => return Ok(d),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.expect("at least one location"))
    }

    pub fn load_tree(&self, index: &Index, id: &Id) -> Result<Tree> {
        let b = self.read_blob(index, BlobType::Tree, id)?;
        Tree::decode(id, &b)
    }

    // ------------------------------------------------------------ snapshots

    pub fn save_snapshot(&self, snap: &Snapshot) -> Result<Id> {
        let json = serde_json::to_vec(snap).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let bytes = self.key.seal(format::SNAPSHOT_AAD, &json)?;
        let id = Id::of_bytes(&bytes);
        self.backend
            .write(FileType::Snapshot, &id.to_hex(), &bytes)?;
        Ok(id)
    }

    pub fn load_snapshot(&self, name: &str) -> Result<Snapshot> {
        let bytes = self.backend.read(FileType::Snapshot, name)?;
        let id = Id::of_bytes(&bytes);
        if id.to_hex() != name {
            return Err(Error::corrupt(
                "snapshot",
                name,
                "content hash does not match the file name",
            ));
        }
        let json = self
            .key
            .open(format::SNAPSHOT_AAD, &bytes)
            .ok_or_else(|| Error::corrupt("snapshot", name, "authentication failed"))?;
        let mut s = Snapshot::parse(name, &json)?;
        s.id = id;
        Ok(s)
    }

    /// All snapshots, oldest first. Fails on the first unreadable one; use
    /// [`Repository::list_snapshots_lenient`] to skip those.
    pub fn list_snapshots(&self) -> Result<Vec<Snapshot>> {
        let (ok, bad) = self.list_snapshots_lenient()?;
        if let Some((_, e)) = bad.into_iter().next() {
            return Err(e);
        }
        Ok(ok)
    }

    pub fn list_snapshots_lenient(&self) -> Result<Loaded<Snapshot>> {
        let names = self.backend.list(FileType::Snapshot)?;
        let results: Vec<(String, Result<Snapshot>)> = names
            .par_iter()
            .map(|f| (f.name.clone(), self.load_snapshot(&f.name)))
            .collect();
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        for (n, r) in results {
            match r {
                Ok(s) => ok.push(s),
                Err(e) => bad.push((n, e)),
            }
        }
        ok.sort_by(|a, b| a.time.cmp(&b.time).then(a.id.cmp(&b.id)));
        Ok((ok, bad))
    }

    /// Resolve `latest`, a full id or a unique id prefix.
    pub fn find_snapshot(&self, spec: &str) -> Result<Snapshot> {
        if spec == "latest" {
            return self.list_snapshots()?.pop().ok_or_else(|| {
                Error::SnapshotNotFound("latest (repository has no snapshots)".into())
            });
        }
        let names: Vec<String> = self
            .backend
            .list(FileType::Snapshot)?
            .into_iter()
            .map(|f| f.name)
            .filter(|n| n.starts_with(spec))
            .collect();
        match names.as_slice() {
            [one] => self.load_snapshot(one),
            [] => Err(Error::SnapshotNotFound(spec.into())),
            _ => Err(Error::InvalidArgument(format!(
                "snapshot prefix {spec} is ambiguous"
            ))),
        }
    }

    /// Every blob reachable from the given snapshots (trees and data).
    /// Unreadable trees are returned as errors when `lenient`.
    pub fn reachable_blobs(&self, index: &Index, snaps: &[Snapshot]) -> Result<Reachable> {
        let mut trees = HashSet::new();
        let mut data = HashSet::new();
        let mut errors = Vec::new();
        let mut frontier: Vec<Id> = snaps.iter().map(|s| s.tree).collect();
        while !frontier.is_empty() {
            frontier.retain(|t| trees.insert(*t));
            let loaded: Vec<(Id, Result<Tree>)> = frontier
                .par_iter()
                .map(|t| (*t, self.load_tree(index, t)))
                .collect();
            frontier = Vec::new();
            for (tid, r) in loaded {
                match r {
                    Ok(tree) => {
                        for n in tree.nodes {
                            match n.kind {
                                crate::tree::NodeKind::Dir { subtree } => frontier.push(subtree),
                                crate::tree::NodeKind::File { content, .. } => data.extend(content),
                                crate::tree::NodeKind::Symlink { .. } => {}
                            }
                        }
                    }
                    Err(e) => errors.push((tid, e)),
                }
            }
        }
        Ok((trees, data, errors))
    }
}

fn write_keyfile(b: &dyn Backend, kf: &KeyFile) -> Result<String> {
    let bytes = serde_json::to_vec_pretty(kf).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let name = Id::of_bytes(&bytes).to_hex();
    b.write(FileType::Key, &name, &bytes)?;
    Ok(name)
}

/// Blob errors are more useful when they name the pack too.
fn annotate_pack(e: Error, pack: &Id) -> Error {
    match e {
        Error::Corrupt {
            kind: "blob",
            id,
            reason,
        } => Error::Corrupt {
            kind: "blob",
            id,
            reason: format!("{reason} (in pack {pack})"),
        },
        other => other,
    }
}

//! Storage backends. A backend stores opaque, already-encrypted files by
//! `(FileType, name)`; it never sees keys or plaintext. The trait is
//! synchronous: the engine runs its own worker threads, the local filesystem
//! is fastest with plain blocking syscalls, and the S3 backend drives its
//! async SDK on a private runtime.

pub mod local;
#[cfg(feature = "s3")]
pub mod s3;

use std::fmt::Debug;
use std::sync::Arc;

use crate::error::Result;

pub use local::LocalBackend;

/// The kinds of files in a repository, each with its own directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    Config,
    Key,
    Pack,
    Index,
    Snapshot,
    Lock,
}

impl FileType {
    pub const ALL: [FileType; 6] = [
        FileType::Config,
        FileType::Key,
        FileType::Pack,
        FileType::Index,
        FileType::Snapshot,
        FileType::Lock,
    ];

    pub fn dir(self) -> &'static str {
        match self {
            FileType::Config => "",
            FileType::Key => "keys",
            FileType::Pack => "data",
            FileType::Index => "index",
            FileType::Snapshot => "snapshots",
            FileType::Lock => "locks",
        }
    }

    /// Relative path (with `/` separators) of an object. Packs are fanned out
    /// into 256 sub-directories by their first two hex digits so no directory
    /// grows beyond a few thousand entries per TiB.
    pub fn path(self, name: &str) -> String {
        match self {
            FileType::Config => "config".to_string(),
            FileType::Pack => {
                let pre = name.get(..2).unwrap_or("00");
                format!("data/{pre}/{name}")
            }
            t => format!("{}/{name}", t.dir()),
        }
    }
}

/// One listed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub name: String,
    pub size: u64,
}

/// Storage for a repository.
pub trait Backend: Send + Sync + Debug {
    /// Human-readable location (path or URL) for messages.
    fn location(&self) -> String;
    /// Prepare an empty repository location (directories, bucket checks).
    fn create(&self) -> Result<()>;
    /// All files of a type, with sizes. Temporary files of interrupted writes
    /// are never listed.
    fn list(&self, t: FileType) -> Result<Vec<FileInfo>>;
    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>>;
    /// Read `len` bytes at `offset`; fails if the file is shorter.
    fn read_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>>;
    /// Store a file atomically: readers see either nothing or all of it.
    fn write(&self, t: FileType, name: &str, data: &[u8]) -> Result<()>;
    fn delete(&self, t: FileType, name: &str) -> Result<()>;
    fn exists(&self, t: FileType, name: &str) -> Result<bool>;
    /// Size of one file.
    fn size(&self, t: FileType, name: &str) -> Result<u64>;
    /// How many requests are worth running in parallel (uploads, restore
    /// reads): low for a local disk, high for a high-latency object store.
    fn concurrency(&self) -> usize {
        2
    }
    /// Open a spool file for a pack being assembled, so its bytes go to
    /// the page cache instead of process memory. `None` (the default): the
    /// pack is assembled in memory and stored with [`Backend::write`].
    fn create_spool(&self) -> Result<Option<Spool>> {
        Ok(None)
    }
    /// Durably store a complete spool file as pack `name` (atomically).
    fn commit_spool(&self, spool: Spool, name: &str) -> Result<()> {
        let _ = (spool, name);
        Err(crate::Error::InvalidArgument(
            "this backend has no spool files".into(),
        ))
    }
    /// Remove leftovers of interrupted writes older than `age`. Only called
    /// under an exclusive lock.
    fn cleanup_temp(&self, _age: std::time::Duration) -> Result<usize> {
        Ok(0)
    }
    /// The retention this backend applies to every object it writes (cold
    /// copies), or `None` for an ordinary, mutable store.
    fn object_lock(&self) -> Option<ObjectLock> {
        None
    }
    /// The retention in force on one stored object, if any.
    fn retention(&self, t: FileType, name: &str) -> Result<Option<Retention>> {
        let _ = (t, name);
        Ok(None)
    }
    /// Make sure an existing object is retained at least until `until`
    /// (retentions can be lengthened, never shortened). Returns true when
    /// it had to be extended.
    fn extend_retention(
        &self,
        t: FileType,
        name: &str,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        let _ = (t, name, until);
        Err(crate::Error::InvalidArgument(format!(
            "{} has no object lock; retention cannot be set",
            self.location()
        )))
    }
}

/// Retention applied to every object written to an object-locked store
/// (cold copies). Lock files are exempt (they must be removable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ObjectLock {
    /// COMPLIANCE (nobody, not even the account root, can shorten it or
    /// delete the object before it ends) when true, else GOVERNANCE.
    pub compliance: bool,
    /// How long after it is written an object stays locked.
    pub retain: std::time::Duration,
}

impl ObjectLock {
    /// Retain-until date for an object written or confirmed now.
    pub fn until_from_now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Duration::from_std(self.retain)
            .ok()
            .and_then(|d| chrono::Utc::now().checked_add_signed(d))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
    }
}

/// The retention in force on one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Retention {
    pub compliance: bool,
    pub until: chrono::DateTime<chrono::Utc>,
}

/// A temporary file holding a pack under construction.
#[derive(Debug)]
pub struct Spool {
    pub file: std::fs::File,
    pub path: std::path::PathBuf,
}

/// Shared handle to a backend.
pub type DynBackend = Arc<dyn Backend>;

/// Open a backend from a location string: a filesystem path, or
/// `s3://bucket/prefix` (endpoint and credentials from the environment,
/// `AWS_ENDPOINT_URL` for S3-compatible stores, `AWS_CA_BUNDLE` for one
/// behind a private CA).
pub fn open_location(location: &str) -> Result<DynBackend> {
    if let Some(rest) = location.strip_prefix("s3://") {
        #[cfg(feature = "s3")]
        {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            return Ok(Arc::new(s3::S3Backend::from_env(bucket, prefix)?));
        }
        #[cfg(not(feature = "s3"))]
        {
            let _ = rest;
            return Err(crate::Error::InvalidArgument(
                "this build has no S3 support (feature `s3`)".into(),
            ));
        }
    }
    Ok(Arc::new(LocalBackend::new(location)))
}

//! The crate's single error type. Every variant that concerns repository data
//! names the object (pack, index, snapshot, blob, key file) or source path it
//! is about, so an operator reading a log line knows what to look at.

use std::io;
use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the embassy engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No key file could be unlocked with the given password.
    #[error("wrong password: none of the {tried} key file(s) in {repo} can be opened with it")]
    WrongPassword { repo: String, tried: usize },

    /// There is no `config` object at the location.
    #[error("no embassy repository at {0} (the config object is missing)")]
    NotARepository(String),

    /// `init` on a location that already holds a repository.
    #[error("a repository already exists at {0}")]
    AlreadyExists(String),

    /// The repository was written by a newer (or unknown) format.
    #[error(
        "unsupported repository format version {found} in {object} (this build reads versions {min}..={max}); upgrade makonis-embassy"
    )]
    UnsupportedVersion {
        object: String,
        found: u32,
        min: u32,
        max: u32,
    },

    /// An object exists but its bytes are damaged: authentication failure,
    /// truncation, bad magic, inconsistent lengths, wrong content hash.
    #[error("corrupt {kind} {id}: {reason}")]
    Corrupt {
        kind: &'static str,
        id: String,
        reason: String,
    },

    /// An object that should exist does not.
    #[error("{kind} {id} is missing from the repository")]
    Missing { kind: &'static str, id: String },

    /// The storage device (or a quota) is full.
    #[error("no space left on device while writing {path}")]
    DiskFull {
        path: String,
        #[source]
        source: io::Error,
    },

    /// Local I/O error (source files, restore target, local backend).
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A remote backend (S3) reported an error.
    #[error("backend error during {op} of {path}: {message}")]
    Backend {
        op: &'static str,
        path: String,
        message: String,
    },

    /// A conflicting lock is held by another process.
    #[error("repository is locked: {0}")]
    Locked(String),

    /// The requested snapshot (id prefix or `latest`) does not exist.
    #[error("snapshot {0} not found")]
    SnapshotNotFound(String),

    /// A path inside a snapshot does not exist.
    #[error("path {0} not found in the snapshot")]
    PathNotFound(String),

    /// `check` found problems; the report lists every one of them.
    #[error("check found {0} problem(s)")]
    CheckFailed(usize),

    /// Caller error: conflicting options, last key removal, etc.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A cryptographic primitive failed for a reason other than bad data
    /// (e.g. the system RNG is unavailable).
    #[error("cryptographic failure: {0}")]
    Crypto(String),
}

impl Error {
    pub(crate) fn corrupt(kind: &'static str, id: impl ToString, reason: impl ToString) -> Self {
        Error::Corrupt {
            kind,
            id: id.to_string(),
            reason: reason.to_string(),
        }
    }

    /// Wrap an I/O error for `path`, recognising a full disk so callers get
    /// a distinct, actionable error.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        if is_disk_full(&source) {
            Error::DiskFull {
                path: path.display().to_string(),
                source,
            }
        } else {
            Error::Io { path, source }
        }
    }

    /// True when retrying the same operation later may succeed.
    pub fn is_locked(&self) -> bool {
        matches!(self, Error::Locked(_))
    }
}

pub(crate) fn is_disk_full(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::StorageFull
        || e.kind() == io::ErrorKind::QuotaExceeded
        || e.raw_os_error() == Some(libc::ENOSPC)
        || e.raw_os_error() == Some(libc::EDQUOT)
}

//! `makonis-embassy`: the data-embassy replication engine.
//!
//! Encrypted, deduplicated, compressed backup repositories in the spirit of
//! restic: content-defined chunks (FastCDC 2020) named by keyed BLAKE3,
//! zstd-compressed and sealed with AES-256-GCM into packs, with encrypted
//! index and snapshot files. The storage host (the data embassy abroad)
//! only ever sees ciphertext. The on-disk format is specified in
//! `docs/embassy-format.md`.
//!
//! Entry points: [`Repository::init`] / [`Repository::open`] on a
//! [`backend::Backend`], then the operations in [`ops`].

pub mod backend;
pub mod chunker;
#[cfg(feature = "cli")]
pub mod cli;
pub mod crypto;
pub mod error;
pub mod format;
pub mod id;
pub mod index;
pub mod lock;
pub mod ops;
pub mod packer;
pub mod progress;
pub mod repo;
pub mod snapshot;
pub mod tree;
mod util;

pub use backend::{Backend, DynBackend, FileType, LocalBackend, open_location};
pub use crypto::KdfParams;
pub use error::{Error, Result};
pub use id::Id;
pub use progress::{NoProgress, Progress};
pub use repo::{InitOptions, Repository};
pub use snapshot::Snapshot;

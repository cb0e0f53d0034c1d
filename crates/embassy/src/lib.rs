//! `makonis-embassy`: the data-embassy replication engine.
//!
//! Encrypted, deduplicated, compressed backup repositories in the spirit of
//! restic: content-defined chunks (FastCDC 2020) named by keyed BLAKE3,
//! zstd-compressed and sealed with AES-256-GCM into packs, with encrypted
//! index and snapshot files. The storage host (the data embassy abroad)
//! only ever sees ciphertext. The on-disk format is specified in
//! `docs/embassy-format.md`.
//!
//! Entry points (all blocking; from async code use `spawn_blocking`):
//!
//! * [`open_location`] (`/path` or `s3://bucket/prefix`) or a concrete
//!   [`backend::Backend`], then [`Repository::init`] / [`Repository::open`];
//! * [`ops::backup()`], [`ops::backup_reader`], [`ops::restore()`],
//!   [`Repository::list_snapshots`], [`ops::diff()`], [`ops::check()`],
//!   [`ops::forget()`], [`ops::prune()`], [`ops::copy()`], [`ops::replicate()`],
//!   [`ops::cold_copy`], [`ops::repair_packs`],
//!   [`ops::rebuild_index`]; keys via [`Repository::add_key`] /
//!   [`Repository::remove_key`]; format upgrades via
//!   [`Repository::migrate`];
//! * with the `cli` feature, [`cli::EmbassyArgs`] and [`cli::run`] for
//!   `makonis embassy ...`.
//!
//! ```no_run
//! use makonis_embassy::{ops, open_location, InitOptions, NoProgress, Repository};
//! let backend = open_location("/srv/embassy-repo")?;
//! let repo = Repository::init(backend, "password", InitOptions::default())?;
//! let r = ops::backup(&repo, &["/srv/data".into()], &Default::default(), &NoProgress)?;
//! println!("snapshot {}", r.snapshot.id);
//! # Ok::<(), makonis_embassy::Error>(())
//! ```

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
mod xattr;

pub use backend::{Backend, DynBackend, FileType, LocalBackend, open_location};
pub use crypto::KdfParams;
pub use error::{Error, Result};
pub use id::Id;
pub use progress::{NoProgress, Progress};
pub use repo::{InitOptions, Repository};
pub use snapshot::Snapshot;

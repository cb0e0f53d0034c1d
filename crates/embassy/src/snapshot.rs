//! Snapshot metadata: one sealed JSON object per backup under `snapshots/`,
//! pointing at the root tree. Written last, so a snapshot exists only once
//! everything it references is durable.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::Id;

/// Counters recorded with a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotSummary {
    pub files_new: u64,
    pub files_changed: u64,
    pub files_unmodified: u64,
    pub dirs: u64,
    pub data_blobs_added: u64,
    pub tree_blobs_added: u64,
    /// Bytes read from sources (excluding unchanged files skipped).
    pub bytes_read: u64,
    /// Plaintext bytes of new blobs.
    pub bytes_added: u64,
    /// Stored (compressed, sealed) bytes of new blobs.
    pub bytes_stored: u64,
    /// Logical size of all files in the snapshot.
    pub total_bytes: u64,
    /// Source entries that could not be read, with the reason.
    pub errors: Vec<(String, String)>,
    /// Entries backed up incompletely (an extended attribute that could not
    /// be read, metadata a version-1 repository cannot hold), with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Name of the snapshot file (BLAKE3 of its sealed bytes). Not stored.
    #[serde(skip)]
    pub id: Id,
    pub time: chrono::DateTime<chrono::Utc>,
    pub hostname: String,
    pub username: String,
    /// Backed-up source paths (absolute) or the stdin stream name.
    pub paths: Vec<String>,
    pub tags: Vec<String>,
    pub parent: Option<Id>,
    pub tree: Id,
    /// For copies: the snapshot id in the source repository.
    pub original: Option<Id>,
    pub program_version: String,
    pub summary: Option<SnapshotSummary>,
}

impl Snapshot {
    pub fn new(tree: Id, paths: Vec<String>) -> Snapshot {
        Snapshot {
            id: Id::default(),
            time: chrono::Utc::now(),
            hostname: crate::util::hostname(),
            username: crate::util::username(),
            paths,
            tags: Vec::new(),
            parent: None,
            tree,
            original: None,
            program_version: concat!("makonis-embassy ", env!("CARGO_PKG_VERSION")).to_string(),
            summary: None,
        }
    }

    /// Parse an opened snapshot file (JSON) named `name`; `id` stays
    /// unset. Public for fuzzing.
    pub fn parse(name: &str, json: &[u8]) -> Result<Snapshot> {
        serde_json::from_slice(json)
            .map_err(|e| Error::corrupt("snapshot", name, format!("bad JSON: {e}")))
    }
}

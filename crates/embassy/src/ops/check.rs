//! Repository verification.
//!
//! The structural check proves that every index file opens, every indexed
//! pack exists and its sealed header matches the index, every snapshot
//! opens, every tree reachable from a snapshot decodes, and every blob a
//! tree references is indexed. With `read_data`, every pack is read in full:
//! its BLAKE3 must match its name and every blob must open and hash to its
//! keyed id. Each problem names the object it concerns.

use std::collections::{HashMap, HashSet};
use std::fmt;

use rayon::prelude::*;

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::format::{self, BlobType, PackBlob};
use crate::id::Id;
use crate::index::Index;
use crate::progress::Progress;
use crate::repo::Repository;

#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Read and verify every blob, not just structure.
    pub read_data: bool,
}

/// One problem found by `check`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    IndexUnreadable { index: String, reason: String },
    PackMissing { pack: Id },
    PackDamaged { pack: Id, reason: String },
    BlobDamaged { pack: Id, blob: Id, reason: String },
    SnapshotUnreadable { snapshot: String, reason: String },
    TreeUnreadable { tree: Id, reason: String },
    BlobMissing { blob: Id },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::IndexUnreadable { index, reason } => {
                write!(f, "index {index} unreadable: {reason}")
            }
            Problem::PackMissing { pack } => {
                write!(f, "pack {pack} is listed in the index but missing")
            }
            Problem::PackDamaged { pack, reason } => write!(f, "pack {pack} damaged: {reason}"),
            Problem::BlobDamaged { pack, blob, reason } => {
                write!(f, "blob {blob} in pack {pack} damaged: {reason}")
            }
            Problem::SnapshotUnreadable { snapshot, reason } => {
                write!(f, "snapshot {snapshot} unreadable: {reason}")
            }
            Problem::TreeUnreadable { tree, reason } => {
                write!(f, "tree {tree} unreadable: {reason}")
            }
            Problem::BlobMissing { blob } => {
                write!(
                    f,
                    "data blob {blob} is referenced by a snapshot but not in any index"
                )
            }
        }
    }
}

impl Problem {
    /// The pack this problem makes suspect, if any (repair uses this).
    pub fn pack(&self) -> Option<Id> {
        match self {
            Problem::PackMissing { pack }
            | Problem::PackDamaged { pack, .. }
            | Problem::BlobDamaged { pack, .. } => Some(*pack),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CheckReport {
    pub problems: Vec<Problem>,
    /// Harmless findings (unindexed packs from interrupted backups).
    pub warnings: Vec<String>,
    pub snapshots: usize,
    pub packs: usize,
    pub trees: usize,
    pub data_blobs: usize,
    pub bytes_read: u64,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// `Err(CheckFailed)` when problems were found.
    pub fn into_result(self) -> Result<CheckReport> {
        if self.is_ok() {
            Ok(self)
        } else {
            Err(Error::CheckFailed(self.problems.len()))
        }
    }
}

pub(crate) fn verify_pack(repo: &Repository, pack: &Id, indexed: &[PackBlob]) -> Vec<Problem> {
    let name = pack.to_hex();
    let bytes = match repo.backend().read(FileType::Pack, &name) {
        Ok(b) => b,
        Err(Error::Missing { .. }) => return vec![Problem::PackMissing { pack: *pack }],
        Err(e) => {
            return vec![Problem::PackDamaged {
                pack: *pack,
                reason: e.to_string(),
            }];
        }
    };
    let mut out = Vec::new();
    if Id::of_bytes(&bytes) != *pack {
        out.push(Problem::PackDamaged {
            pack: *pack,
            reason: "content hash does not match the pack name".into(),
        });
    }
    let size = bytes.len() as u64;
    let header = (|| {
        let hl = format::pack_header_len(
            &name,
            bytes.get(bytes.len().saturating_sub(4)..).unwrap_or(&[]),
            size,
        )?;
        let data_len = size - 4 - u64::from(hl);
        format::decode_pack_header(
            repo.key(),
            &name,
            &bytes[data_len as usize..bytes.len() - 4],
            data_len,
        )
    })();
    match header {
        Ok(h) => out.extend(compare_header(pack, &h, indexed)),
        Err(e) => out.push(Problem::PackDamaged {
            pack: *pack,
            reason: e.to_string(),
        }),
    }
    for b in indexed {
        let (s, e) = (b.offset as usize, b.offset as usize + b.length as usize);
        let Some(sealed) = bytes.get(s..e) else {
            out.push(Problem::BlobDamaged {
                pack: *pack,
                blob: b.id,
                reason: "beyond end of pack".into(),
            });
            continue;
        };
        match format::decode_blob(repo.key(), b.blob_type, &b.id, sealed, b.raw_len) {
            Ok(plain) if repo.key().blob_id(&plain) == b.id => {}
            Ok(_) => out.push(Problem::BlobDamaged {
                pack: *pack,
                blob: b.id,
                reason: "content does not hash to its id".into(),
            }),
            Err(e) => out.push(Problem::BlobDamaged {
                pack: *pack,
                blob: b.id,
                reason: e.to_string(),
            }),
        }
    }
    out
}

fn compare_header(pack: &Id, header: &[PackBlob], indexed: &[PackBlob]) -> Vec<Problem> {
    let have: HashSet<(Id, u32, u32, BlobType)> = header
        .iter()
        .map(|b| (b.id, b.offset, b.length, b.blob_type))
        .collect();
    let missing = indexed
        .iter()
        .filter(|b| !have.contains(&(b.id, b.offset, b.length, b.blob_type)))
        .count();
    if missing > 0 {
        vec![Problem::PackDamaged {
            pack: *pack,
            reason: format!("{missing} indexed blob(s) are not in the pack header"),
        }]
    } else {
        Vec::new()
    }
}

/// Check the repository. Returns the report even when it lists problems;
/// errors are reserved for failures to run the check at all.
pub fn check(
    repo: &Repository,
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> Result<CheckReport> {
    // Shared lock: a concurrent prune would make packs vanish mid-check.
    let _lock = crate::lock::lock(repo, false, std::time::Duration::ZERO)?;
    let mut report = CheckReport::default();
    let (files, bad_index) = repo.load_index_files()?;
    for (name, e) in bad_index {
        report.problems.push(Problem::IndexUnreadable {
            index: name,
            reason: e.to_string(),
        });
    }
    let index = Index::from_files(files);
    let by_pack = index.by_pack();
    let listed: HashMap<String, u64> = repo
        .backend()
        .list(FileType::Pack)?
        .into_iter()
        .map(|f| (f.name, f.size))
        .collect();
    let indexed_names: HashSet<String> = by_pack.keys().map(|p| p.to_hex()).collect();
    for name in listed.keys() {
        if !indexed_names.contains(name) {
            report.warnings.push(format!(
                "pack {name} is not referenced by any index (left by an interrupted operation; prune removes it)"
            ));
        }
    }
    report.packs = by_pack.len();
    let packs: Vec<(&Id, &Vec<PackBlob>)> = by_pack.iter().collect();
    if opts.read_data {
        progress.set_total(
            packs
                .iter()
                .map(|(p, _)| listed.get(&p.to_hex()).copied().unwrap_or(0))
                .sum(),
        );
    } else {
        progress.set_total(packs.len() as u64);
    }
    let pack_problems: Vec<Problem> = packs
        .par_iter()
        .flat_map_iter(|(pack, blobs)| {
            let name = pack.to_hex();
            let Some(&size) = listed.get(&name) else {
                return vec![Problem::PackMissing { pack: **pack }];
            };
            let r = if opts.read_data {
                verify_pack(repo, pack, blobs)
            } else {
                match repo.read_pack_header(pack, Some(size)) {
                    Ok(h) => compare_header(pack, &h, blobs),
                    Err(e) => vec![Problem::PackDamaged {
                        pack: **pack,
                        reason: e.to_string(),
                    }],
                }
            };
            progress.inc(if opts.read_data { size } else { 1 });
            r
        })
        .collect();
    if opts.read_data {
        report.bytes_read = listed.values().sum();
    }
    report.problems.extend(pack_problems);

    let (snaps, bad_snaps) = repo.list_snapshots_lenient()?;
    for (name, e) in bad_snaps {
        report.problems.push(Problem::SnapshotUnreadable {
            snapshot: name,
            reason: e.to_string(),
        });
    }
    report.snapshots = snaps.len();
    let (trees, data, tree_errors) = repo.reachable_blobs(&index, &snaps)?;
    for (t, e) in tree_errors {
        report.problems.push(Problem::TreeUnreadable {
            tree: t,
            reason: e.to_string(),
        });
    }
    report.trees = trees.len();
    report.data_blobs = data.len();
    let mut missing: Vec<Id> = data.into_iter().filter(|d| !index.has(d)).collect();
    missing.sort();
    report.problems.extend(
        missing
            .into_iter()
            .map(|blob| Problem::BlobMissing { blob }),
    );
    progress.finish();
    Ok(report)
}

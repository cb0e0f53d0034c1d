//! Repair: replace damaged or missing packs with blobs from another copy
//! of the repository, and rebuild a lost index from pack headers.
//!
//! `repair_packs` verifies every pack in full, collects the blobs of the
//! damaged ones that have no intact copy elsewhere in the repository, fetches
//! them from the other repository (which must share the id key, see
//! [`crate::InitOptions::share_ids_with`]), seals them with this repository's
//! key into new packs, writes an index that supersedes the old ones without
//! the damaged packs, and finally deletes the damaged packs.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rayon::prelude::*;

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::format::{self, IndexFile, PackBlob};
use crate::id::Id;
use crate::index::{Index, to_index_packs};
use crate::lock;
use crate::ops::check::Problem;
use crate::packer::PackSink;
use crate::progress::Progress;
use crate::repo::Repository;

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RepairSummary {
    pub damaged_packs: Vec<Id>,
    pub blobs_recovered: u64,
    /// Blobs lost with their packs that the other copy lacks as well.
    pub blobs_unrecoverable: Vec<Id>,
    pub packs_deleted: u64,
}

fn write_superseding_index(
    repo: &Repository,
    entries: HashMap<Id, Vec<PackBlob>>,
    extra: &[Id],
) -> Result<Id> {
    let mut supersedes: Vec<Id> = repo
        .backend()
        .list(FileType::Index)?
        .into_iter()
        .filter_map(|f| Id::from_hex(&f.name).ok())
        .collect();
    for e in extra {
        if !supersedes.contains(e) {
            supersedes.push(*e);
        }
    }
    let f = IndexFile {
        supersedes: supersedes.clone(),
        packs: to_index_packs(entries),
    };
    let new_id = repo.save_index_file(&f)?;
    for old in supersedes.iter().filter(|i| **i != new_id) {
        repo.backend().delete(FileType::Index, &old.to_hex())?;
    }
    Ok(new_id)
}

/// Repair `repo` using blobs from `source`.
pub fn repair_packs(
    repo: &Repository,
    source: &Repository,
    progress: &dyn Progress,
) -> Result<RepairSummary> {
    if !repo.key().same_ids_as(source.key()) {
        return Err(Error::InvalidArgument(
            "the source repository uses different blob ids; create copies with share_ids_with to allow repair".into(),
        ));
    }
    let _l = lock::lock(repo, true, Duration::ZERO)?;
    let _l2 = lock::lock(source, false, Duration::ZERO)?;
    let (files, _bad) = repo.load_index_files()?;
    let index = Index::from_files(files);
    let by_pack = index.by_pack();
    let listed: HashSet<String> = repo
        .backend()
        .list(FileType::Pack)?
        .into_iter()
        .map(|f| f.name)
        .collect();
    progress.set_total(by_pack.len() as u64);
    let damaged: HashSet<Id> = by_pack
        .par_iter()
        .filter_map(|(pack, blobs)| {
            let bad = if !listed.contains(&pack.to_hex()) {
                true
            } else {
                verify(repo, pack, blobs)
            };
            progress.inc(1);
            bad.then_some(*pack)
        })
        .collect();
    let mut summary = RepairSummary::default();
    let mut dp: Vec<Id> = damaged.iter().copied().collect();
    dp.sort();
    summary.damaged_packs = dp;
    if damaged.is_empty() {
        return Ok(summary);
    }
    let source_index = source.load_index()?;
    let mut lost: Vec<PackBlob> = Vec::new();
    let mut seen = HashSet::new();
    for p in &damaged {
        for b in &by_pack[p] {
            let intact_elsewhere = index
                .get_all(&b.id)
                .iter()
                .any(|l| !damaged.contains(&l.pack));
            if !intact_elsewhere && seen.insert(b.id) {
                lost.push(*b);
            }
        }
    }
    let mut sink = PackSink::new(repo, repo.backend().concurrency());
    for b in &lost {
        match source.read_blob(&source_index, b.blob_type, &b.id) {
            Ok(plain) => {
                let sealed = format::encode_blob(
                    repo.key(),
                    b.blob_type,
                    &b.id,
                    &plain,
                    repo.config().zstd_level,
                )?;
                sink.add(b.blob_type, b.id, &sealed, plain.len() as u32)?;
                summary.blobs_recovered += 1;
            }
            Err(_) => summary.blobs_unrecoverable.push(b.id),
        }
    }
    let stats = sink.finish()?;
    let mut entries: HashMap<Id, Vec<PackBlob>> = by_pack
        .into_iter()
        .filter(|(p, _)| !damaged.contains(p))
        .collect();
    for p in stats.written {
        entries.insert(p.pack, p.blobs);
    }
    write_superseding_index(repo, entries, &stats.index_files)?;
    for p in &damaged {
        repo.backend().delete(FileType::Pack, &p.to_hex())?;
        summary.packs_deleted += 1;
    }
    progress.finish();
    Ok(summary)
}

/// True when the pack is damaged.
fn verify(repo: &Repository, pack: &Id, blobs: &[PackBlob]) -> bool {
    let problems = crate::ops::check::verify_pack(repo, pack, blobs);
    problems.iter().any(|p: &Problem| p.pack().is_some())
}

/// Rebuild the index from the headers of all packs (after index files
/// were lost or damaged). Unreadable packs are skipped and returned.
pub fn rebuild_index(
    repo: &Repository,
    progress: &dyn Progress,
) -> Result<(usize, Vec<(String, String)>)> {
    let _l = lock::lock(repo, true, Duration::ZERO)?;
    let packs = repo.backend().list(FileType::Pack)?;
    progress.set_total(packs.len() as u64);
    let results: Vec<(String, Result<Vec<PackBlob>>)> = packs
        .par_iter()
        .map(|f| {
            let r = Id::from_hex(&f.name).and_then(|id| repo.read_pack_header(&id, Some(f.size)));
            progress.inc(1);
            (f.name.clone(), r)
        })
        .collect();
    let mut entries = HashMap::new();
    let mut bad = Vec::new();
    for (name, r) in results {
        match (r, Id::from_hex(&name)) {
            (Ok(blobs), Ok(id)) => {
                entries.insert(id, blobs);
            }
            (Err(e), _) => bad.push((name, e.to_string())),
            (_, Err(e)) => bad.push((name, e.to_string())),
        }
    }
    let n = entries.len();
    write_superseding_index(repo, entries, &[])?;
    progress.finish();
    Ok((n, bad))
}

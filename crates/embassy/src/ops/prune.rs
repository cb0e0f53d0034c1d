//! Prune: delete data no snapshot references.
//!
//! Under an exclusive lock: find every blob reachable from a snapshot, keep
//! packs that are (almost) fully used, copy the used blobs of sparse packs
//! into new packs (sealed bytes are copied after verification, not
//! re-encrypted), write one consolidated index that *supersedes* all old
//! index files, and only then delete old index files and packs. An
//! interruption at any point leaves a valid repository: superseded index
//! files are ignored by readers and unindexed packs are harmless.
//!
//! Prune refuses to run when any snapshot or tree is unreadable or a used
//! blob is not indexed: deleting on incomplete knowledge could destroy data.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::format::{self, IndexFile, PackBlob};
use crate::id::Id;
use crate::index::to_index_packs;
use crate::lock;
use crate::packer::PackSink;
use crate::progress::Progress;
use crate::repo::Repository;

#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Repack a pack when more than this fraction of its bytes is unused.
    pub max_unused: f64,
    pub dry_run: bool,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            max_unused: 0.05,
            dry_run: false,
        }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PruneSummary {
    pub packs_deleted: u64,
    pub packs_repacked: u64,
    pub packs_kept: u64,
    pub orphan_packs_deleted: u64,
    pub blobs_removed: u64,
    pub bytes_freed: u64,
    pub new_packs: u64,
    pub index_files_replaced: u64,
}

pub fn prune(
    repo: &Repository,
    opts: &PruneOptions,
    progress: &dyn Progress,
) -> Result<PruneSummary> {
    let _lock = lock::lock(repo, true, Duration::ZERO)?;
    let index = repo.load_index()?;
    let snaps = repo.list_snapshots()?;
    let (trees, data, errors) = repo.reachable_blobs(&index, &snaps)?;
    if let Some((t, e)) = errors.into_iter().next() {
        return Err(Error::InvalidArgument(format!(
            "refusing to prune: tree {t} unreadable ({e}); run check and repair first"
        )));
    }
    let used: HashSet<Id> = trees.into_iter().chain(data).collect();
    if let Some(m) = used.iter().find(|b| !index.has(b)) {
        return Err(Error::InvalidArgument(format!(
            "refusing to prune: blob {m} is used but not indexed; run check and repair first"
        )));
    }
    let listed: HashMap<String, u64> = repo
        .backend()
        .list(FileType::Pack)?
        .into_iter()
        .map(|f| (f.name, f.size))
        .collect();
    let by_pack = index.by_pack();

    // Visit packs most-used first so duplicate blobs are claimed by packs we
    // keep anyway.
    let mut packs: Vec<(Id, Vec<PackBlob>)> = by_pack.into_iter().collect();
    let used_bytes = |bl: &[PackBlob]| {
        bl.iter()
            .filter(|b| used.contains(&b.id))
            .map(|b| u64::from(b.length))
            .sum::<u64>()
    };
    packs.sort_by_cached_key(|(p, bl)| {
        let total: u64 = bl.iter().map(|b| u64::from(b.length)).sum();
        (
            std::cmp::Reverse((used_bytes(bl) * 1000).checked_div(total).unwrap_or(0)),
            *p,
        )
    });

    let mut claimed: HashSet<Id> = HashSet::new();
    let mut keep: HashMap<Id, Vec<PackBlob>> = HashMap::new();
    let mut repack: Vec<(Id, Vec<PackBlob>)> = Vec::new();
    let mut delete: Vec<Id> = Vec::new();
    let mut s = PruneSummary::default();
    for (pack, blobs) in packs {
        let exists = listed.contains_key(&pack.to_hex());
        let (mine, other): (Vec<PackBlob>, Vec<PackBlob>) = blobs
            .iter()
            .partition(|b| used.contains(&b.id) && !claimed.contains(&b.id));
        if !exists {
            if mine.iter().any(|b| {
                !index
                    .get_all(&b.id)
                    .iter()
                    .any(|l| l.pack != pack && listed.contains_key(&l.pack.to_hex()))
            }) {
                return Err(Error::InvalidArgument(format!(
                    "refusing to prune: pack {pack} holds used blobs and is missing; run repair first"
                )));
            }
            // Drop its entries; other copies will be claimed.
            continue;
        }
        let total: u64 = blobs.iter().map(|b| u64::from(b.length)).sum();
        let unused: u64 = other.iter().map(|b| u64::from(b.length)).sum();
        s.blobs_removed += other.len() as u64;
        if mine.is_empty() {
            delete.push(pack);
            s.packs_deleted += 1;
            s.bytes_freed += listed[&pack.to_hex()];
        } else if unused as f64 > opts.max_unused * total as f64 {
            claimed.extend(mine.iter().map(|b| b.id));
            s.packs_repacked += 1;
            s.bytes_freed += unused;
            repack.push((pack, mine));
        } else {
            claimed.extend(mine.iter().map(|b| b.id));
            s.packs_kept += 1;
            s.blobs_removed -= other.len() as u64; // they stay on disk
            keep.insert(pack, blobs);
        }
    }
    let indexed: HashSet<String> = index.packs().map(|p| p.to_hex()).collect();
    let orphans: Vec<String> = listed
        .keys()
        .filter(|n| !indexed.contains(*n))
        .cloned()
        .collect();
    s.orphan_packs_deleted = orphans.len() as u64;
    s.bytes_freed += orphans.iter().map(|n| listed[n]).sum::<u64>();
    if opts.dry_run {
        return Ok(s);
    }

    progress.set_total(
        repack
            .iter()
            .map(|(_, b)| b.iter().map(|x| u64::from(x.length)).sum::<u64>())
            .sum(),
    );
    let mut sink = PackSink::new(repo, repo.backend().concurrency());
    for (pack, blobs) in &repack {
        let name = pack.to_hex();
        let bytes = repo.backend().read(FileType::Pack, &name)?;
        for b in blobs {
            let sealed = bytes
                .get(b.offset as usize..(b.offset + b.length) as usize)
                .ok_or_else(|| Error::corrupt("pack", &name, "shorter than its index says"))?;
            // Verify before copying so prune never spreads damage silently.
            format::decode_blob(repo.key(), b.blob_type, &b.id, sealed, b.raw_len)
                .map_err(|e| Error::corrupt("pack", &name, format!("while repacking: {e}")))?;
            sink.add(b.blob_type, b.id, sealed, b.raw_len)?;
            progress.inc(u64::from(b.length));
        }
    }
    let stats = sink.finish()?;
    s.new_packs = stats.packs;

    let mut entries = keep;
    for p in stats.written {
        entries.insert(p.pack, p.blobs);
    }
    let mut supersedes: Vec<Id> = index.files.clone();
    supersedes.extend(stats.index_files.iter().copied());
    // Also supersede files we could not load as current (already superseded).
    for f in repo.backend().list(FileType::Index)? {
        if let Ok(id) = Id::from_hex(&f.name)
            && !supersedes.contains(&id)
        {
            supersedes.push(id);
        }
    }
    let new_index = IndexFile {
        supersedes: supersedes.clone(),
        packs: to_index_packs(entries),
    };
    let new_id = repo.save_index_file(&new_index)?;
    for old in supersedes.iter().filter(|i| **i != new_id) {
        repo.backend().delete(FileType::Index, &old.to_hex())?;
    }
    s.index_files_replaced = supersedes.len() as u64;
    for p in delete.iter().chain(repack.iter().map(|(p, _)| p)) {
        repo.backend().delete(FileType::Pack, &p.to_hex())?;
    }
    for n in &orphans {
        repo.backend().delete(FileType::Pack, n)?;
    }
    let _ = repo.backend().cleanup_temp(Duration::from_secs(3600));
    progress.finish();
    Ok(s)
}

//! Copy snapshots between repositories (e.g. to the data embassy).
//!
//! Blobs are opened with the source key and sealed again with the target's,
//! so the two repositories share no data key. When both share an id key
//! (the target was initialised with `share_ids_with`), ids are identical:
//! only blobs missing from the target are read and sent, and trees are
//! copied unchanged. Otherwise every referenced data blob is read to compute
//! its target id, but still only missing blobs are written, and trees are
//! rewritten with translated ids.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::format::{self, BlobType};
use crate::id::Id;
use crate::index::Index;
use crate::lock;
use crate::packer::PackSink;
use crate::progress::Progress;
use crate::repo::Repository;
use crate::snapshot::Snapshot;
use crate::tree::{NodeKind, Tree};

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CopySummary {
    pub snapshots_copied: Vec<(Id, Id)>,
    pub snapshots_skipped: u64,
    pub blobs_copied: u64,
    pub bytes_copied: u64,
}

struct Ctx<'a> {
    src: &'a Repository,
    dst: &'a Repository,
    src_index: &'a Index,
    dst_index: &'a Index,
    sink: Mutex<PackSink>,
    written: Mutex<HashSet<Id>>,
    same_ids: bool,
    blobs: std::sync::atomic::AtomicU64,
    bytes: std::sync::atomic::AtomicU64,
}

impl Ctx<'_> {
    /// Store plaintext in the target unless present; returns its target id.
    fn put(&self, t: BlobType, plain: &[u8], id: Option<Id>) -> Result<Id> {
        let id = id.unwrap_or_else(|| self.dst.key().blob_id(plain));
        if self.dst_index.has(&id) || !self.written.lock().map_err(poison)?.insert(id) {
            return Ok(id);
        }
        let sealed =
            format::encode_blob(self.dst.key(), t, &id, plain, self.dst.config().zstd_level)?;
        self.blobs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.bytes
            .fetch_add(sealed.len() as u64, std::sync::atomic::Ordering::Relaxed);
        self.sink
            .lock()
            .map_err(poison)?
            .add(t, id, &sealed, plain.len() as u32)?;
        Ok(id)
    }

    fn tree(&self, id: &Id, map: &HashMap<Id, Id>, memo: &mut HashMap<Id, Id>) -> Result<Id> {
        if let Some(m) = memo.get(id) {
            return Ok(*m);
        }
        let raw = self.src.read_blob(self.src_index, BlobType::Tree, id)?;
        let mut tree = Tree::decode(id, &raw)?;
        let new = if self.same_ids {
            for n in &tree.nodes {
                if let NodeKind::Dir { subtree } = &n.kind {
                    self.tree(subtree, map, memo)?;
                }
            }
            // Same ids: the tree bytes are copied verbatim, so its id holds
            // even if a future encoder would serialise differently.
            if self.dst_index.has(id) {
                *id
            } else {
                self.put(BlobType::Tree, &raw, Some(*id))?
            }
        } else {
            for n in &mut tree.nodes {
                match &mut n.kind {
                    NodeKind::File { content, .. } => {
                        for c in content.iter_mut() {
                            *c = *map.get(c).ok_or_else(|| Error::Missing {
                                kind: "data blob",
                                id: c.to_hex(),
                            })?;
                        }
                    }
                    NodeKind::Dir { subtree } => *subtree = self.tree(subtree, map, memo)?,
                    NodeKind::Symlink { .. } => {}
                }
            }
            self.put(BlobType::Tree, &tree.encode(), None)?
        };
        memo.insert(*id, new);
        Ok(new)
    }
}

fn poison<T>(_: T) -> Error {
    Error::InvalidArgument("lock poisoned".into())
}

/// Copy `snapshots` of `src` (all when empty) into `dst`, skipping those
/// already copied.
pub fn copy(
    src: &Repository,
    dst: &Repository,
    snapshots: &[Snapshot],
    progress: &dyn Progress,
) -> Result<CopySummary> {
    let _l1 = lock::lock(src, false, Duration::ZERO)?;
    let _l2 = lock::lock(dst, false, Duration::ZERO)?;
    let src_index = src.load_index()?;
    let dst_index = dst.load_index()?;
    let snaps: Vec<Snapshot> = if snapshots.is_empty() {
        src.list_snapshots()?
    } else {
        snapshots.to_vec()
    };
    let present: HashSet<Id> = dst
        .list_snapshots()?
        .iter()
        .flat_map(|s| [Some(s.id), s.original].into_iter().flatten())
        .collect();
    let mut summary = CopySummary::default();
    let todo: Vec<Snapshot> = snaps
        .into_iter()
        .filter(|s| {
            let skip = present.contains(&s.id) || s.original.is_some_and(|o| present.contains(&o));
            if skip {
                summary.snapshots_skipped += 1;
            }
            !skip
        })
        .collect();
    if todo.is_empty() {
        return Ok(summary);
    }
    let (_, data, errors) = src.reachable_blobs(&src_index, &todo)?;
    if let Some((t, e)) = errors.into_iter().next() {
        return Err(Error::corrupt("tree", t, e));
    }
    let same_ids = src.key().same_ids_as(dst.key());
    let ctx = Ctx {
        src,
        dst,
        src_index: &src_index,
        dst_index: &dst_index,
        sink: Mutex::new(PackSink::new(dst, dst.backend().concurrency())),
        written: Mutex::new(HashSet::new()),
        same_ids,
        blobs: Default::default(),
        bytes: Default::default(),
    };
    // With shared ids, blobs already in the target need not even be read.
    let needed: Vec<Id> = if same_ids {
        data.into_iter().filter(|d| !dst_index.has(d)).collect()
    } else {
        data.into_iter().collect()
    };
    progress.set_total(
        needed
            .iter()
            .filter_map(|d| src_index.get(d))
            .map(|l| u64::from(l.raw_len))
            .sum(),
    );
    let map: HashMap<Id, Id> = needed
        .par_iter()
        .map(|id| -> Result<(Id, Id)> {
            let plain = src.read_blob(&src_index, BlobType::Data, id)?;
            let new = ctx.put(BlobType::Data, &plain, same_ids.then_some(*id))?;
            progress.inc(plain.len() as u64);
            Ok((*id, new))
        })
        .collect::<Result<_>>()?;
    let mut memo = HashMap::new();
    let mut roots = Vec::new();
    for s in &todo {
        roots.push(ctx.tree(&s.tree, &map, &mut memo)?);
    }
    let sink = ctx.sink.into_inner().map_err(poison)?;
    sink.finish()?;
    // Snapshots last, after their data is durable in the target.
    for (s, root) in todo.iter().zip(roots) {
        let mut n = s.clone();
        n.tree = root;
        n.parent = None;
        n.original = Some(s.original.unwrap_or(s.id));
        let id = dst.save_snapshot(&n)?;
        summary.snapshots_copied.push((s.id, id));
    }
    summary.blobs_copied = ctx.blobs.into_inner();
    summary.bytes_copied = ctx.bytes.into_inner();
    progress.finish();
    Ok(summary)
}

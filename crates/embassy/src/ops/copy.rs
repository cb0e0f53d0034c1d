//! Copy snapshots between repositories (e.g. to the data embassy).
//!
//! Blobs are opened with the source key and sealed again with the target's,
//! so the two repositories share no data key. When both share an id key
//! (the target was initialised with `share_ids_with`), ids are identical:
//! only blobs missing from the target are read and sent, and trees are
//! copied unchanged. Otherwise trees are rewritten with translated ids and
//! a data blob's target id is only known after reading it; to keep that
//! incremental, the copy of an earlier snapshot (the source parent's copy,
//! else the newest copy with the same host and paths) is walked together
//! with its source, which translates every unchanged directory and file
//! without reading its data. Either way only blobs missing from the target
//! are written.
//!
//! **Order of writes and resumption.** Snapshots are copied oldest first.
//! Their blobs go into packs; after a snapshot whose new data filled at
//! least a pack (and after the last one) the packs are flushed and indexed,
//! and only then are the snapshot files of that batch written. An
//! interruption (network cut, crash) therefore leaves at worst packs that no
//! index lists and indexed blobs that no snapshot references, never a
//! snapshot that refers to missing data. Before copying, packs in the
//! target that no index lists are *adopted*: their headers are read and an
//! index file is written for them, so their blobs count as present and the
//! next run sends only what never arrived.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rayon::prelude::*;

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::format::{self, BlobType, IndexFile, IndexPack};
use crate::id::Id;
use crate::index::Index;
use crate::lock;
use crate::packer::{PackSink, SinkStats};
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

/// Packs found in the target that no index listed (left by an interrupted
/// run), indexed from their headers and reused.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AdoptedPacks {
    pub packs: u64,
    pub blobs: u64,
    pub bytes: u64,
    /// Unindexed packs whose header could not be read (name, reason); they
    /// are left alone (`check` lists them, `prune` removes them).
    pub unreadable: Vec<(String, String)>,
}

/// Running totals of a transfer, kept current as it goes so that they are
/// meaningful when it fails part-way.
#[derive(Debug, Clone, Default)]
pub(crate) struct Transfer {
    /// Source snapshot and the id of its copy in the target.
    pub copied: Vec<(Snapshot, Id)>,
    pub adopted: AdoptedPacks,
    /// Packs, blobs and pack bytes that arrived in the target.
    pub packs_uploaded: u64,
    pub blobs_uploaded: u64,
    pub bytes_uploaded: u64,
    pub index_files_written: u64,
    /// Blobs the copied snapshots need that the target already had, and
    /// their stored size there.
    pub blobs_present: u64,
    pub bytes_present: u64,
    pub source_blobs_read: u64,
    pub source_bytes_read: u64,
}

impl Transfer {
    fn add_sink(&mut self, st: &SinkStats) {
        self.packs_uploaded += st.packs;
        self.blobs_uploaded += st.blobs;
        self.bytes_uploaded += st.bytes;
        self.index_files_written += st.index_files.len() as u64;
    }
}

/// Which source snapshots to copy and what is known about the others.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub todo: Vec<Snapshot>,
    /// Selected source snapshots the target already has, with their copy.
    pub present: Vec<(Snapshot, Snapshot)>,
    /// (source tree, target tree) of earlier copies to translate against
    /// (only used when ids differ).
    pub seeds: Vec<(Id, Id)>,
}

/// Split `selected` (source snapshots, oldest first) into those the target
/// has and those to copy. `all_src` are all source snapshots (to find the
/// source trees of earlier copies).
pub(crate) fn plan(all_src: &[Snapshot], selected: Vec<Snapshot>, dst_snaps: &[Snapshot]) -> Plan {
    let mut copies: HashMap<Id, &Snapshot> = HashMap::new();
    for d in dst_snaps {
        copies.insert(d.id, d);
        if let Some(o) = d.original {
            copies.insert(o, d);
        }
    }
    let copy_of = |s: &Snapshot| {
        copies
            .get(&s.id)
            .or_else(|| s.original.as_ref().and_then(|o| copies.get(o)))
            .copied()
    };
    let src_by_id: HashMap<Id, &Snapshot> = all_src.iter().map(|s| (s.id, s)).collect();
    let mut out = Plan::default();
    let mut seeded = HashSet::new();
    for s in selected {
        if let Some(d) = copy_of(&s) {
            out.present.push((s, d.clone()));
            continue;
        }
        // The copy of the parent, else the newest copy of the same source.
        let twin = s.parent.and_then(|p| copies.get(&p).copied()).or_else(|| {
            dst_snaps
                .iter()
                .filter(|d| d.hostname == s.hostname && d.paths == s.paths)
                .filter(|d| d.original.is_some_and(|o| src_by_id.contains_key(&o)))
                .max_by_key(|d| d.time)
        });
        if let Some(d) = twin
            && let Some(orig) = d.original.and_then(|o| src_by_id.get(&o))
            && seeded.insert(orig.tree)
        {
            out.seeds.push((orig.tree, d.tree));
        }
        out.todo.push(s);
    }
    out
}

/// Index the packs of `repo` that no index lists (from an interrupted run)
/// and add them to `index`. Writes one index file for them. Requires a lock
/// (shared is enough: duplicate index entries for a pack another writer is
/// about to index are harmless and merged on load).
pub(crate) fn adopt_unindexed_packs(
    repo: &Repository,
    index: &mut Index,
    progress: &dyn Progress,
) -> Result<AdoptedPacks> {
    let indexed: HashSet<Id> = index.packs().copied().collect();
    let orphans: Vec<(Id, u64)> = repo
        .backend()
        .list(FileType::Pack)?
        .into_iter()
        .filter_map(|f| Id::from_hex(&f.name).ok().map(|id| (id, f.size)))
        .filter(|(id, _)| !indexed.contains(id))
        .collect();
    let mut out = AdoptedPacks::default();
    if orphans.is_empty() {
        return Ok(out);
    }
    progress.message(&format!(
        "indexing {} packs left by an interrupted run",
        orphans.len()
    ));
    let headers: Vec<(Id, u64, Result<Vec<format::PackBlob>>)> = orphans
        .par_iter()
        .map(|(id, size)| (*id, *size, repo.read_pack_header(id, Some(*size))))
        .collect();
    let mut packs = Vec::new();
    for (id, size, r) in headers {
        match r {
            Ok(blobs) => {
                out.packs += 1;
                out.blobs += blobs.len() as u64;
                out.bytes += size;
                packs.push(IndexPack { pack: id, blobs });
            }
            // A damaged pack is not ours to judge here; anything else
            // (network) means we cannot tell what is present: stop.
            Err(e @ (Error::Corrupt { .. } | Error::Missing { .. })) => {
                out.unreadable.push((id.to_hex(), e.to_string()));
            }
            Err(e) => return Err(e),
        }
    }
    if packs.is_empty() {
        return Ok(out);
    }
    packs.sort_by_key(|p| p.pack);
    for p in &packs {
        index.add_pack(p.pack, &p.blobs);
    }
    index.finish();
    repo.save_index_file(&IndexFile {
        supersedes: Vec::new(),
        packs,
    })?;
    Ok(out)
}

struct Ctx<'a> {
    src: &'a Repository,
    dst: &'a Repository,
    src_index: &'a Index,
    dst_index: &'a Index,
    sink: Mutex<Option<PackSink>>,
    written: Mutex<HashSet<Id>>,
    /// Present blobs already counted.
    counted: Mutex<HashSet<Id>>,
    same_ids: bool,
    /// Sealed bytes handed to the sink.
    added: AtomicU64,
    present_blobs: AtomicU64,
    present_bytes: AtomicU64,
    read_blobs: AtomicU64,
    read_bytes: AtomicU64,
}

impl Ctx<'_> {
    /// True when the target already has the blob (counted once per blob).
    fn present(&self, id: &Id) -> bool {
        let Some(l) = self.dst_index.get(id) else {
            return false;
        };
        if self.counted.lock().is_ok_and(|mut c| c.insert(*id)) {
            self.present_blobs.fetch_add(1, Ordering::Relaxed);
            self.present_bytes
                .fetch_add(u64::from(l.length), Ordering::Relaxed);
        }
        true
    }

    /// Count a source blob known to be present in the target through a
    /// translated tree (different ids), at its size in the source.
    fn present_as_in_source(&self, id: &Id) -> bool {
        let Some(l) = self.src_index.get(id) else {
            return false;
        };
        if self.counted.lock().is_ok_and(|mut c| c.insert(*id)) {
            self.present_blobs.fetch_add(1, Ordering::Relaxed);
            self.present_bytes
                .fetch_add(u64::from(l.length), Ordering::Relaxed);
        }
        true
    }

    fn read(&self, t: BlobType, id: &Id) -> Result<Vec<u8>> {
        let plain = self.src.read_blob(self.src_index, t, id)?;
        self.read_blobs.fetch_add(1, Ordering::Relaxed);
        self.read_bytes
            .fetch_add(plain.len() as u64, Ordering::Relaxed);
        Ok(plain)
    }

    /// Store plaintext in the target unless present; returns its target id.
    fn put(&self, t: BlobType, plain: &[u8], id: Option<Id>) -> Result<Id> {
        let id = id.unwrap_or_else(|| self.dst.key().blob_id(plain));
        if self.present(&id) || !self.written.lock().map_err(poison)?.insert(id) {
            return Ok(id);
        }
        let sealed =
            format::encode_blob(self.dst.key(), t, &id, plain, self.dst.config().zstd_level)?;
        self.added.fetch_add(sealed.len() as u64, Ordering::Relaxed);
        self.sink
            .lock()
            .map_err(poison)?
            .as_mut()
            .ok_or_else(|| Error::InvalidArgument("pack sink closed".into()))?
            .add(t, id, &sealed, plain.len() as u32)?;
        Ok(id)
    }

    fn tree(&self, id: &Id, map: &HashMap<Id, Id>, memo: &mut HashMap<Id, Id>) -> Result<Id> {
        if let Some(m) = memo.get(id) {
            return Ok(*m);
        }
        let raw = self.src.read_blob(self.src_index, BlobType::Tree, id)?;
        let (mut tree, version) = Tree::decode_versioned(id, &raw)?;
        let dst_version = self.dst.tree_version();
        if version > dst_version {
            return Err(too_new(&format!("tree {id}"), version, self.dst));
        }
        let new = if self.same_ids {
            for n in &tree.nodes {
                if let NodeKind::Dir { subtree } = &n.kind {
                    self.tree(subtree, map, memo)?;
                }
            }
            // Same ids: the tree bytes are copied verbatim, so its id holds
            // even if a future encoder would serialise differently.
            self.put(BlobType::Tree, &raw, Some(*id))?
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
            self.put(BlobType::Tree, &tree.encode_version(dst_version), None)?
        };
        memo.insert(*id, new);
        Ok(new)
    }

    /// Different ids: walk earlier copies together with their source trees
    /// and record the translation of every directory and file the copies
    /// to make still contain. `wanted` are the source trees of the
    /// snapshots to copy: such a tree found in an earlier copy is
    /// translated as a whole without reading it.
    fn seed(
        &self,
        seeds: &[(Id, Id)],
        wanted: &HashSet<Id>,
        map: &mut HashMap<Id, Id>,
        memo: &mut HashMap<Id, Id>,
        progress: &dyn Progress,
    ) -> Result<()> {
        let mut frontier = seeds.to_vec();
        while !frontier.is_empty() {
            let mut load = Vec::new();
            for (s, d) in frontier.drain(..) {
                if memo.contains_key(&s) || !self.dst_index.has(&d) {
                    continue;
                }
                if wanted.contains(&s) {
                    memo.insert(s, d);
                } else if !load.iter().any(|(x, _)| *x == s) {
                    load.push((s, d));
                }
            }
            let loaded: Vec<(Id, Id, Result<TreePair>)> = load
                .par_iter()
                .map(|(s, d)| {
                    let r = self.src.load_tree(self.src_index, s).and_then(|a| {
                        let b = self.dst.load_tree(self.dst_index, d)?;
                        Ok((a, b))
                    });
                    (*s, *d, r)
                })
                .collect();
            for (s, d, r) in loaded {
                let (a, b) = match r {
                    Ok(t) => t,
                    Err(e @ (Error::Corrupt { .. } | Error::Missing { .. })) => {
                        progress.warn(&format!(
                            "cannot reuse the earlier copy of tree {s} (target tree {d}): {e}"
                        ));
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let aligned = a.nodes.len() == b.nodes.len()
                    && a.nodes.iter().zip(&b.nodes).all(|(x, y)| {
                        x.name == y.name
                            && match (&x.kind, &y.kind) {
                                (
                                    NodeKind::File { content: cx, .. },
                                    NodeKind::File { content: cy, .. },
                                ) => cx.len() == cy.len(),
                                (NodeKind::Dir { .. }, NodeKind::Dir { .. })
                                | (NodeKind::Symlink { .. }, NodeKind::Symlink { .. }) => true,
                                _ => false,
                            }
                    });
                if !aligned {
                    progress.warn(&format!(
                        "target tree {d} is not a copy of source tree {s}; not reused"
                    ));
                    continue;
                }
                memo.insert(s, d);
                for (x, y) in a.nodes.iter().zip(&b.nodes) {
                    match (&x.kind, &y.kind) {
                        (
                            NodeKind::File { content: cx, .. },
                            NodeKind::File { content: cy, .. },
                        ) => {
                            for (i, j) in cx.iter().zip(cy) {
                                if self.dst_index.has(j) {
                                    map.insert(*i, *j);
                                }
                            }
                        }
                        (NodeKind::Dir { subtree: sx }, NodeKind::Dir { subtree: sy }) => {
                            frontier.push((*sx, *sy));
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }
}

fn too_new(what: &str, version: u8, dst: &Repository) -> Error {
    Error::InvalidArgument(format!(
        "{what} is tree format version {version}, which the target repository {} \
         (format version {}) cannot hold; upgrade it with `makonis embassy migrate`",
        dst.backend().location(),
        dst.format_version()
    ))
}

/// Refuse before transferring anything when a snapshot's trees are newer
/// than the target holds (a snapshot's trees all have one version: backup
/// writes the repository's, copy re-encodes to the target's).
fn check_tree_versions(
    src: &Repository,
    src_index: &Index,
    dst: &Repository,
    todo: &[Snapshot],
) -> Result<()> {
    if dst.tree_version() >= crate::tree::TREE_VERSION {
        return Ok(());
    }
    for s in todo {
        let raw = src.read_blob(src_index, BlobType::Tree, &s.tree)?;
        let v = Tree::version_of(&raw);
        if v > dst.tree_version() {
            return Err(too_new(&format!("snapshot {}", s.id.short()), v, dst));
        }
    }
    Ok(())
}

/// A source tree and its copy in the target.
type TreePair = (Tree, Tree);

fn poison<T>(_: T) -> Error {
    Error::InvalidArgument("lock poisoned".into())
}

/// Data blobs under `root`, split in two. `fresh`: those of trees not
/// walked before (`seen`) and not translated already; they must be read
/// unless known. `translated`: those under trees an earlier copy already
/// holds (in `memo` but not walked as fresh), which are present in the
/// target and are only counted.
fn new_data(
    src: &Repository,
    index: &Index,
    root: Id,
    seen: &mut HashSet<Id>,
    seen_translated: &mut HashSet<Id>,
    memo: &HashMap<Id, Id>,
) -> Result<(Vec<Id>, Vec<Id>)> {
    let mut fresh = HashSet::new();
    let mut translated = HashSet::new();
    let mut frontier = vec![(root, false)];
    while !frontier.is_empty() {
        let batch: Vec<(Id, bool)> = frontier
            .drain(..)
            .filter_map(|(t, under)| {
                if seen.contains(&t) {
                    return None;
                }
                let under = under || memo.contains_key(&t);
                let new = if under {
                    seen_translated.insert(t)
                } else {
                    seen.insert(t)
                };
                new.then_some((t, under))
            })
            .collect();
        let loaded: Vec<(bool, Result<Tree>)> = batch
            .par_iter()
            .map(|(t, under)| (*under, src.load_tree(index, t)))
            .collect();
        for (under, tree) in loaded {
            for n in tree?.nodes {
                match n.kind {
                    NodeKind::Dir { subtree } => frontier.push((subtree, under)),
                    NodeKind::File { content, .. } if under => translated.extend(content),
                    NodeKind::File { content, .. } => fresh.extend(content),
                    NodeKind::Symlink { .. } => {}
                }
            }
        }
    }
    Ok((
        fresh.into_iter().collect(),
        translated.into_iter().collect(),
    ))
}

/// Copy `todo` (oldest first) from `src` into `dst`; see the module docs
/// for the order of writes. The caller holds locks on both. `out` is
/// updated as the transfer goes, also when it fails.
pub(crate) fn transfer(
    src: &Repository,
    dst: &Repository,
    src_index: &Index,
    dst_index: &Index,
    plan: &Plan,
    progress: &dyn Progress,
    out: &mut Transfer,
) -> Result<()> {
    let todo = &plan.todo;
    if todo.is_empty() {
        return Ok(());
    }
    check_tree_versions(src, src_index, dst, todo)?;
    let same_ids = src.key().same_ids_as(dst.key());
    let uploaders = dst.backend().concurrency();
    let ctx = Ctx {
        src,
        dst,
        src_index,
        dst_index,
        sink: Mutex::new(Some(PackSink::new(dst, uploaders))),
        written: Mutex::new(HashSet::new()),
        counted: Mutex::new(HashSet::new()),
        same_ids,
        added: AtomicU64::new(0),
        present_blobs: AtomicU64::new(0),
        present_bytes: AtomicU64::new(0),
        read_blobs: AtomicU64::new(0),
        read_bytes: AtomicU64::new(0),
    };
    // Source data id -> target id (different ids only), and source tree ->
    // target tree.
    let mut map: HashMap<Id, Id> = HashMap::new();
    let mut memo: HashMap<Id, Id> = HashMap::new();
    let checkpoint_every = u64::from(dst.config().pack_size);
    let r = (|| -> Result<()> {
        if !same_ids && !plan.seeds.is_empty() {
            progress.message("reading earlier copies");
            let (wanted, _, errors) = src.reachable_blobs(src_index, todo)?;
            if let Some((t, e)) = errors.into_iter().next() {
                return Err(Error::corrupt("tree", t, e));
            }
            ctx.seed(&plan.seeds, &wanted, &mut map, &mut memo, progress)?;
        }
        let mut seen = HashSet::new();
        let mut seen_translated = HashSet::new();
        let mut batch: Vec<(&Snapshot, Id)> = Vec::new();
        let mut checkpoint_at = 0u64;
        let mut total = 0u64;
        for (i, s) in todo.iter().enumerate() {
            progress.message(&format!("snapshot {}", s.id.short()));
            let (fresh, translated) = new_data(
                src,
                src_index,
                s.tree,
                &mut seen,
                &mut seen_translated,
                &memo,
            )?;
            for d in &translated {
                match map.get(d) {
                    Some(n) => ctx.present(n),
                    None => ctx.present_as_in_source(d),
                };
            }
            let needed: Vec<Id> = {
                let written = ctx.written.lock().map_err(poison)?;
                fresh
                    .into_iter()
                    .filter(|d| {
                        if same_ids {
                            !written.contains(d) && !ctx.present(d)
                        } else if let Some(n) = map.get(d) {
                            ctx.present(n);
                            false
                        } else {
                            true
                        }
                    })
                    .collect()
            };
            total += needed
                .iter()
                .filter_map(|d| src_index.get(d))
                .map(|l| u64::from(l.raw_len))
                .sum::<u64>();
            progress.set_total(total);
            let pairs: Vec<(Id, Id)> = needed
                .par_iter()
                .map(|id| -> Result<(Id, Id)> {
                    let plain = ctx.read(BlobType::Data, id)?;
                    let new = ctx.put(BlobType::Data, &plain, same_ids.then_some(*id))?;
                    progress.inc(plain.len() as u64);
                    Ok((*id, new))
                })
                .collect::<Result<_>>()?;
            if !same_ids {
                map.extend(pairs);
            }
            let root = ctx.tree(&s.tree, &map, &mut memo)?;
            batch.push((s, root));
            let added = ctx.added.load(Ordering::Relaxed);
            let last = i + 1 == todo.len();
            if !last && added - checkpoint_at < checkpoint_every {
                continue;
            }
            // Checkpoint: packs and their index are durable; now the
            // snapshots of this batch may refer to them.
            checkpoint_at = added;
            let sink = ctx.sink.lock().map_err(poison)?.take();
            if let Some(sink) = sink {
                let (stats, r) = sink.close();
                out.add_sink(&stats);
                r?;
            }
            for (s, root) in batch.drain(..) {
                let mut n = s.clone();
                n.tree = root;
                n.parent = None;
                n.original = Some(s.original.unwrap_or(s.id));
                let id = dst.save_snapshot(&n)?;
                out.copied.push((s.clone(), id));
            }
            if !last {
                *ctx.sink.lock().map_err(poison)? = Some(PackSink::new(dst, uploaders));
            }
        }
        Ok(())
    })();
    if r.is_err()
        && let Ok(mut g) = ctx.sink.lock()
        && let Some(sink) = g.take()
    {
        let (stats, _) = sink.abort();
        out.add_sink(&stats);
    }
    out.blobs_present += ctx.present_blobs.load(Ordering::Relaxed);
    out.bytes_present += ctx.present_bytes.load(Ordering::Relaxed);
    out.source_blobs_read += ctx.read_blobs.load(Ordering::Relaxed);
    out.source_bytes_read += ctx.read_bytes.load(Ordering::Relaxed);
    r
}

/// Copy `snapshots` of `src` (all when empty) into `dst`, skipping those
/// already copied. Resumes an interrupted copy without sending again what
/// arrived (see the module docs).
pub fn copy(
    src: &Repository,
    dst: &Repository,
    snapshots: &[Snapshot],
    progress: &dyn Progress,
) -> Result<CopySummary> {
    let _l1 = lock::lock(src, false, Duration::ZERO)?;
    let _l2 = lock::lock(dst, false, Duration::ZERO)?;
    let src_index = src.load_index()?;
    let mut dst_index = dst.load_index()?;
    let all = src.list_snapshots()?;
    let mut selected = if snapshots.is_empty() {
        all.clone()
    } else {
        snapshots.to_vec()
    };
    selected.sort_by(|a, b| a.time.cmp(&b.time).then(a.id.cmp(&b.id)));
    let plan = plan(&all, selected, &dst.list_snapshots()?);
    let mut summary = CopySummary {
        snapshots_skipped: plan.present.len() as u64,
        ..Default::default()
    };
    if plan.todo.is_empty() {
        return Ok(summary);
    }
    adopt_unindexed_packs(dst, &mut dst_index, progress)?;
    let mut t = Transfer::default();
    transfer(src, dst, &src_index, &dst_index, &plan, progress, &mut t)?;
    summary.snapshots_copied = t.copied.iter().map(|(s, id)| (s.id, *id)).collect();
    summary.blobs_copied = t.blobs_uploaded;
    summary.bytes_copied = t.bytes_uploaded;
    progress.finish();
    Ok(summary)
}

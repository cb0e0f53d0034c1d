//! Backup of directories, files or a byte stream into a new snapshot.
//!
//! The calling thread walks the sources, reads and chunks files and hashes
//! each chunk; chunks not yet in the repository go through a bounded queue
//! to worker threads that compress and seal them into the shared
//! [`PackSink`]. Queue capacity bounds memory: at most
//! `2 × workers` chunks (≤ 8 MiB each) are in flight, plus one pack per blob
//! type being filled and `workers` packs queued for upload.
//!
//! With a parent snapshot, a file whose size, mtime and inode are unchanged
//! reuses the parent's chunk list without being read.
//!
//! Every node records its extended attributes, and a non-directory with
//! several links its link count (with its device and inode, this is what
//! restore recreates hard links from). The paths of one hard-linked inode
//! are read once per backup: later paths reuse the chunk list while size
//! and mtime match. A repository of format version 1 gets version-1 trees,
//! which cannot hold either; the backup then warns how many entries lost
//! them.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::{Sender, bounded};

use crate::chunker::{Chunker, ChunkerParams};
use crate::error::{Error, Result};
use crate::format::{self, BlobType};
use crate::id::Id;
use crate::index::Index;
use crate::lock;
use crate::packer::PackSink;
use crate::progress::Progress;
use crate::repo::Repository;
use crate::snapshot::{Snapshot, SnapshotSummary};
use crate::tree::{Node, NodeKind, Tree, Xattr};

/// Which snapshot to compare against for unchanged files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ParentChoice {
    /// The newest snapshot with the same host and paths.
    #[default]
    Auto,
    /// Read every file.
    None,
    Snapshot(Id),
}

#[derive(Debug, Clone)]
pub struct BackupOptions {
    pub parent: ParentChoice,
    pub tags: Vec<String>,
    /// Override the recorded host name.
    pub hostname: Option<String>,
    /// Override the snapshot time (imports, tests).
    pub time: Option<chrono::DateTime<chrono::Utc>>,
    /// Compression/encryption workers; 0 = number of CPUs.
    pub threads: usize,
    /// How long to wait for a conflicting (exclusive) lock.
    pub lock_wait: Duration,
    /// Files read at the same time (per directory); 1 = sequential.
    pub read_concurrency: usize,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            parent: ParentChoice::Auto,
            tags: Vec::new(),
            hostname: None,
            time: None,
            threads: 0,
            lock_wait: Duration::ZERO,
            read_concurrency: 2,
        }
    }
}

#[derive(Debug, Clone)]
pub struct BackupResult {
    pub snapshot: Snapshot,
    pub summary: SnapshotSummary,
}

struct Job {
    t: BlobType,
    id: Id,
    data: Vec<u8>,
}

/// Shared state of the worker pool.
struct Pipeline<'a> {
    tx: Option<Sender<Job>>,
    failed: &'a AtomicBool,
}

impl Pipeline<'_> {
    /// On failure the real cause stays in `error` for `run` to report;
    /// several readers may fail at once and each gets this placeholder.
    fn send(&self, job: Job) -> Result<()> {
        let stopped = || Error::InvalidArgument("backup workers stopped".into());
        if self.failed.load(Ordering::Relaxed) {
            return Err(stopped());
        }
        self.tx
            .as_ref()
            .expect("open")
            .send(job)
            .map_err(|_| stopped())
    }
}

struct Walker<'a, 'p> {
    repo: &'a Repository,
    index: &'a Index,
    seen: Mutex<HashSet<Id>>,
    pipe: &'a Pipeline<'p>,
    params: ChunkerParams,
    seed: u64,
    summary: Mutex<SnapshotSummary>,
    progress: &'a dyn Progress,
    /// Reads the changed files of one directory concurrently: a single
    /// reader leaves the disk idle while it chunks, and the CPU idle while
    /// it waits for cold data.
    readers: Option<rayon::ThreadPool>,
    /// Tree version to write (the repository's).
    tree_version: u8,
    /// Chunk lists of hard-linked files read in this run, by (dev, inode),
    /// with the size and mtime they were read at; dropped once every link
    /// was seen.
    links: Mutex<HashMap<(u64, u64), LinkedContent>>,
    /// Entries whose hard-link or xattr data a version-1 tree dropped.
    lost_in_v1: AtomicU64,
}

struct LinkedContent {
    size: u64,
    mtime_ns: i64,
    content: Vec<Id>,
    /// Links not seen yet.
    left: u64,
}

fn mtime_ns(md: &fs::Metadata) -> i64 {
    md.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(md.mtime_nsec())
}

fn node_from(name: Vec<u8>, md: &fs::Metadata, kind: NodeKind, xattrs: Vec<Xattr>) -> Node {
    Node {
        name,
        kind,
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        mtime_ns: mtime_ns(md),
        inode: md.ino(),
        dev: md.dev(),
        nlink: if md.is_dir() || md.nlink() <= 1 {
            0
        } else {
            md.nlink()
        },
        xattrs,
    }
}

/// The key of a hard-linked non-directory.
fn link_key(md: &fs::Metadata) -> Option<(u64, u64)> {
    (!md.is_dir() && md.nlink() > 1).then(|| (md.dev(), md.ino()))
}

impl Walker<'_, '_> {
    fn sum(&self, f: impl FnOnce(&mut SnapshotSummary)) {
        if let Ok(mut s) = self.summary.lock() {
            f(&mut s);
        }
    }

    fn known(&self, id: &Id) -> bool {
        self.index.has(id) || self.seen.lock().is_ok_and(|s| s.contains(id))
    }

    fn store(&self, t: BlobType, id: Id, data: Vec<u8>) -> Result<()> {
        if self.index.has(&id) {
            return Ok(());
        }
        let fresh = self
            .seen
            .lock()
            .map_err(|_| Error::InvalidArgument("poisoned".into()))?
            .insert(id);
        if !fresh {
            return Ok(());
        }
        let n = data.len() as u64;
        self.sum(|s| {
            match t {
                BlobType::Data => s.data_blobs_added += 1,
                BlobType::Tree => s.tree_blobs_added += 1,
            }
            s.bytes_added += n;
        });
        self.pipe.send(Job { t, id, data })
    }

    /// Chunk a stream; returns (chunk ids, bytes). The outer error is the
    /// source's (skip the file), the inner one the repository's (abort).
    fn chunk_stream(&self, r: impl Read) -> std::io::Result<Result<(Vec<Id>, u64)>> {
        let mut ch = Chunker::new(r, self.params, self.seed);
        let mut ids = Vec::new();
        let mut total = 0u64;
        while let Some(chunk) = ch.next_chunk()? {
            let id = self.repo.key().blob_id(&chunk);
            let n = chunk.len() as u64;
            total += n;
            ids.push(id);
            if let Err(e) = self.store(BlobType::Data, id, chunk) {
                return Ok(Err(e));
            }
            self.progress.inc(n);
        }
        self.sum(|s| s.bytes_read += total);
        Ok(Ok((ids, total)))
    }

    /// A node for `path` with its extended attributes; attributes that
    /// cannot be read are reported as warnings and left out.
    fn node(&self, path: &Path, md: &fs::Metadata, name: Vec<u8>, kind: NodeKind) -> Node {
        let xattrs = match crate::xattr::read(path) {
            Ok((attrs, problems)) => {
                for (attr, e) in problems {
                    self.warn(
                        path,
                        format!("extended attribute {attr} not backed up: {e}"),
                    );
                }
                attrs
            }
            Err(e) => {
                self.warn(path, format!("extended attributes not backed up: {e}"));
                Vec::new()
            }
        };
        node_from(name, md, kind, xattrs)
    }

    /// A non-fatal problem: the entry is backed up, but not completely.
    fn warn(&self, path: &Path, msg: String) {
        self.progress.warn(&format!("{}: {msg}", path.display()));
        self.sum(|s| s.warnings.push((path.display().to_string(), msg)));
    }

    /// Chunk list of another path of the same inode read in this run, if
    /// the inode still has the size and mtime it had then.
    fn linked_content(&self, md: &fs::Metadata) -> Option<(u64, Vec<Id>)> {
        let key = link_key(md)?;
        let mut links = self.links.lock().ok()?;
        let l = links.get_mut(&key)?;
        if l.size != md.len() || l.mtime_ns != mtime_ns(md) {
            return None;
        }
        l.left = l.left.saturating_sub(1);
        if l.left == 0 {
            let l = links.remove(&key)?;
            return Some((l.size, l.content));
        }
        Some((l.size, l.content.clone()))
    }

    fn remember_link(&self, md: &fs::Metadata, size: u64, content: &[Id]) {
        if let Some(key) = link_key(md)
            && let Ok(mut links) = self.links.lock()
        {
            links.insert(
                key,
                LinkedContent {
                    size,
                    mtime_ns: mtime_ns(md),
                    content: content.to_vec(),
                    left: md.nlink() - 1,
                },
            );
        }
    }

    fn skip(&self, path: &Path, e: impl std::fmt::Display) {
        let msg = e.to_string();
        self.progress.warn(&format!("{}: {msg}", path.display()));
        self.sum(|s| s.errors.push((path.display().to_string(), msg)));
    }

    fn save_tree(&self, mut tree: Tree) -> Result<Id> {
        tree.sort();
        if self.tree_version == 1 {
            let lost = tree.lossy_in_v1() as u64;
            self.lost_in_v1.fetch_add(lost, Ordering::Relaxed);
        }
        let bytes = tree.encode_version(self.tree_version);
        let id = self.repo.key().blob_id(&bytes);
        self.store(BlobType::Tree, id, bytes)?;
        Ok(id)
    }

    fn file(
        &self,
        path: &Path,
        md: &fs::Metadata,
        name: Vec<u8>,
        parent: Option<&Node>,
    ) -> Result<Option<Node>> {
        if let Some(p) = parent
            && let NodeKind::File { size, content } = &p.kind
            && *size == md.len()
            && p.mtime_ns == mtime_ns(md)
            && p.inode == md.ino()
            && content.iter().all(|id| self.known(id))
        {
            self.sum(|s| {
                s.files_unmodified += 1;
                s.total_bytes += size;
            });
            self.progress.inc(*size);
            self.remember_link(md, *size, content);
            return Ok(Some(self.node(
                path,
                md,
                name,
                NodeKind::File {
                    size: *size,
                    content: content.clone(),
                },
            )));
        }
        // Another path of this inode was read already.
        if let Some((size, content)) = self.linked_content(md) {
            self.sum(|s| {
                if parent.is_some() {
                    s.files_changed += 1;
                } else {
                    s.files_new += 1;
                }
                s.total_bytes += size;
            });
            self.progress.inc(size);
            return Ok(Some(self.node(
                path,
                md,
                name,
                NodeKind::File { size, content },
            )));
        }
        let f = match fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                self.skip(path, e);
                return Ok(None);
            }
        };
        match self.chunk_stream(f) {
            Ok(r) => {
                let (content, size) = r?;
                self.sum(|s| {
                    if parent.is_some() {
                        s.files_changed += 1;
                    } else {
                        s.files_new += 1;
                    }
                    s.total_bytes += size;
                });
                self.remember_link(md, size, &content);
                Ok(Some(self.node(
                    path,
                    md,
                    name,
                    NodeKind::File { size, content },
                )))
            }
            Err(e) => {
                self.skip(path, e);
                Ok(None)
            }
        }
    }

    fn entry(&self, path: &Path, name: Vec<u8>, parent: Option<&Node>) -> Result<Option<Node>> {
        match fs::symlink_metadata(path) {
            Ok(md) => self.entry_md(path, &md, name, parent),
            Err(e) => {
                self.skip(path, e);
                Ok(None)
            }
        }
    }

    fn entry_md(
        &self,
        path: &Path,
        md: &fs::Metadata,
        name: Vec<u8>,
        parent: Option<&Node>,
    ) -> Result<Option<Node>> {
        let ft = md.file_type();
        if ft.is_file() {
            self.file(path, md, name, parent)
        } else if ft.is_dir() {
            self.dir(path, md, name, parent)
        } else if ft.is_symlink() {
            match fs::read_link(path) {
                Ok(t) => Ok(Some(self.node(
                    path,
                    md,
                    name,
                    NodeKind::Symlink {
                        target: t.as_os_str().as_bytes().to_vec(),
                    },
                ))),
                Err(e) => {
                    self.skip(path, e);
                    Ok(None)
                }
            }
        } else {
            self.skip(
                path,
                "unsupported file type (device, socket or fifo); skipped",
            );
            Ok(None)
        }
    }

    fn dir(
        &self,
        path: &Path,
        md: &fs::Metadata,
        name: Vec<u8>,
        parent: Option<&Node>,
    ) -> Result<Option<Node>> {
        let parent_tree = match parent.map(|p| &p.kind) {
            Some(NodeKind::Dir { subtree }) => self.repo.load_tree(self.index, subtree).ok(),
            _ => None,
        };
        let rd = match fs::read_dir(path) {
            Ok(rd) => rd,
            Err(e) => {
                self.skip(path, e);
                return Ok(None);
            }
        };
        let mut names: Vec<std::ffi::OsString> = Vec::new();
        for ent in rd {
            match ent {
                Ok(e) => names.push(e.file_name()),
                Err(e) => self.skip(path, e),
            }
        }
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let mut nodes: Vec<Option<Node>> = (0..names.len()).map(|_| None).collect();
        // Regular files are collected and read (possibly in parallel) after
        // the other entries; their slots keep the sorted order.
        let mut files = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let child_parent = parent_tree.as_ref().and_then(|t| t.find(n.as_bytes()));
            let p = path.join(n);
            match fs::symlink_metadata(&p) {
                Ok(m) if m.is_file() => files.push((i, p, m, child_parent)),
                Ok(m) => nodes[i] = self.entry_md(&p, &m, n.as_bytes().to_vec(), child_parent)?,
                Err(e) => self.skip(&p, e),
            }
        }
        let read = |(i, p, m, par): &(usize, std::path::PathBuf, fs::Metadata, Option<&Node>)| {
            (*i, self.file(p, m, names[*i].as_bytes().to_vec(), *par))
        };
        // Further paths of an inode linked twice in this directory wait for
        // the first to be read, then reuse its chunk list.
        let mut inodes = HashSet::new();
        let (files, later): (Vec<_>, Vec<_>) = files
            .into_iter()
            .partition(|(_, _, m, _)| link_key(m).is_none_or(|k| inodes.insert(k)));
        for batch in [files, later] {
            let done: Vec<(usize, Result<Option<Node>>)> = match &self.readers {
                Some(pool) if batch.len() > 1 => {
                    use rayon::prelude::*;
                    pool.install(|| batch.par_iter().map(read).collect())
                }
                _ => batch.iter().map(read).collect(),
            };
            for (i, r) in done {
                nodes[i] = r?;
            }
        }
        let tree = Tree {
            nodes: nodes.into_iter().flatten().collect(),
        };
        self.sum(|s| s.dirs += 1);
        let subtree = self.save_tree(tree)?;
        Ok(Some(self.node(path, md, name, NodeKind::Dir { subtree })))
    }
}

/// Sum of file sizes under `paths`, for the progress total.
fn scan_size(paths: &[PathBuf]) -> u64 {
    fn walk(p: &Path) -> u64 {
        match fs::symlink_metadata(p) {
            Ok(m) if m.is_file() => m.len(),
            Ok(m) if m.is_dir() => fs::read_dir(p)
                .map(|rd| rd.flatten().map(|e| walk(&e.path())).sum())
                .unwrap_or(0),
            _ => 0,
        }
    }
    paths.iter().map(|p| walk(p)).sum()
}

fn choose_parent(
    repo: &Repository,
    opts: &BackupOptions,
    host: &str,
    paths: &[String],
) -> Result<Option<Snapshot>> {
    match &opts.parent {
        ParentChoice::None => Ok(None),
        ParentChoice::Snapshot(id) => Ok(Some(repo.load_snapshot(&id.to_hex())?)),
        ParentChoice::Auto => {
            let (snaps, _) = repo.list_snapshots_lenient()?;
            Ok(snaps
                .into_iter()
                .rev()
                .find(|s| s.hostname == host && s.paths == paths))
        }
    }
}

enum Source<'r> {
    Paths(Vec<(PathBuf, Vec<u8>)>),
    Stream(Box<dyn Read + 'r>, String),
}

/// Back up files and directories. Each source becomes an entry of the
/// snapshot's root tree named by its last path component.
pub fn backup(
    repo: &Repository,
    paths: &[PathBuf],
    opts: &BackupOptions,
    progress: &dyn Progress,
) -> Result<BackupResult> {
    if paths.is_empty() {
        return Err(Error::InvalidArgument("nothing to back up".into()));
    }
    let mut sources = Vec::new();
    let mut names = HashSet::new();
    for p in paths {
        let abs = std::path::absolute(p).map_err(|e| Error::io(p, e))?;
        fs::symlink_metadata(&abs).map_err(|e| Error::io(&abs, e))?;
        let name = abs
            .file_name()
            .map(|n| n.as_bytes().to_vec())
            .unwrap_or_else(|| b"root".to_vec());
        if !names.insert(name.clone()) {
            return Err(Error::InvalidArgument(format!(
                "two sources share the name {:?}; back them up separately",
                String::from_utf8_lossy(&name)
            )));
        }
        sources.push((abs, name));
    }
    run(repo, Source::Paths(sources), opts, progress)
}

/// Back up a byte stream (stdin, a block device, a database dump) as a
/// single file called `name` at the snapshot root.
pub fn backup_reader(
    repo: &Repository,
    reader: impl Read,
    name: &str,
    opts: &BackupOptions,
    progress: &dyn Progress,
) -> Result<BackupResult> {
    if name.is_empty() || name.contains('/') {
        return Err(Error::InvalidArgument(format!("bad stream name {name:?}")));
    }
    run(
        repo,
        Source::Stream(Box::new(reader), name.to_string()),
        opts,
        progress,
    )
}

fn run(
    repo: &Repository,
    source: Source<'_>,
    opts: &BackupOptions,
    progress: &dyn Progress,
) -> Result<BackupResult> {
    let _lock = lock::lock(repo, false, opts.lock_wait)?;
    let index = repo.load_index()?;
    let host = opts.hostname.clone().unwrap_or_else(crate::util::hostname);
    let mut snap_paths: Vec<String> = match &source {
        Source::Paths(s) => s.iter().map(|(p, _)| p.display().to_string()).collect(),
        Source::Stream(_, n) => vec![format!("stdin:{n}")],
    };
    snap_paths.sort();
    let parent = choose_parent(repo, opts, &host, &snap_paths)?;
    let parent_root = match &parent {
        Some(p) => match repo.load_tree(&index, &p.tree) {
            Ok(t) => Some(t),
            Err(e) => {
                progress.warn(&format!(
                    "parent snapshot {} unusable, reading all files: {e}",
                    p.id.short()
                ));
                None
            }
        },
        None => None,
    };

    let threads = if opts.threads == 0 {
        crate::util::cpu_threads()
    } else {
        opts.threads
    };
    let sink = Mutex::new(PackSink::new(repo, repo.backend().concurrency()));
    let failed = AtomicBool::new(false);
    let error: Mutex<Option<Error>> = Mutex::new(None);
    let stored = AtomicU64::new(0);
    let level = repo.config().zstd_level;
    // One queued chunk per worker keeps them busy; more only costs memory.
    let (tx, rx) = bounded::<Job>(threads);

    let scoped = std::thread::scope(|s| -> Result<(Id, SnapshotSummary)> {
        if let Source::Paths(srcs) = &source {
            let paths: Vec<PathBuf> = srcs.iter().map(|(p, _)| p.clone()).collect();
            s.spawn(move || progress.set_total(scan_size(&paths)));
        }
        for _ in 0..threads {
            let rx = rx.clone();
            let (sink, failed, error, stored) = (&sink, &failed, &error, &stored);
            s.spawn(move || {
                for job in rx {
                    let r = format::encode_blob(repo.key(), job.t, &job.id, &job.data, level)
                        .and_then(|sealed| {
                            stored.fetch_add(sealed.len() as u64, Ordering::Relaxed);
                            let raw = job.data.len() as u32;
                            drop(job.data);
                            sink.lock()
                                .map_err(|_| Error::InvalidArgument("pack sink poisoned".into()))?
                                .add(job.t, job.id, &sealed, raw)
                        });
                    if let Err(e) = r {
                        if let Ok(mut g) = error.lock() {
                            g.get_or_insert(e);
                        }
                        failed.store(true, Ordering::Relaxed);
                        return;
                    }
                }
            });
        }
        drop(rx);
        let pipe = Pipeline {
            tx: Some(tx),
            failed: &failed,
        };
        let w = Walker {
            repo,
            index: &index,
            seen: Mutex::new(HashSet::new()),
            pipe: &pipe,
            params: repo.chunker_params(),
            seed: repo.key().chunker_seed(),
            summary: Mutex::new(SnapshotSummary::default()),
            progress,
            readers: (opts.read_concurrency > 1)
                .then(|| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(opts.read_concurrency)
                        .build()
                        .ok()
                })
                .flatten(),
            tree_version: repo.tree_version(),
            links: Mutex::new(HashMap::new()),
            lost_in_v1: AtomicU64::new(0),
        };
        let mut root = Tree::default();
        match source {
            Source::Paths(srcs) => {
                for (path, name) in srcs {
                    let p = parent_root.as_ref().and_then(|t| t.find(&name));
                    if let Some(n) = w.entry(&path, name, p)? {
                        root.nodes.push(n);
                    }
                }
            }
            Source::Stream(r, name) => {
                let (content, size) = w
                    .chunk_stream(r)
                    .map_err(|e| Error::io(format!("stdin:{name}"), e))??;
                w.sum(|s| {
                    s.files_new += 1;
                    s.total_bytes += size;
                });
                let now = chrono::Utc::now();
                root.nodes.push(Node {
                    name: name.into_bytes(),
                    kind: NodeKind::File { size, content },
                    mode: 0o600,
                    uid: 0,
                    gid: 0,
                    mtime_ns: now.timestamp_nanos_opt().unwrap_or(0),
                    inode: 0,
                    dev: 0,
                    nlink: 0,
                    xattrs: Vec::new(),
                });
            }
        }
        let root_id = w.save_tree(root)?;
        let lost = w.lost_in_v1.load(Ordering::Relaxed);
        if lost > 0 {
            let msg = format!(
                "{lost} entries have hard links or extended attributes, which a format version 1 \
                 repository cannot record; they were backed up without them (upgrade the \
                 repository with `makonis embassy migrate`)"
            );
            progress.warn(&msg);
            w.sum(|s| s.warnings.push((repo.backend().location(), msg)));
        }
        let summary = w
            .summary
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        drop(w);
        drop(pipe);
        Ok((root_id, summary))
    });
    if failed.load(Ordering::Relaxed)
        && let Some(e) = error.lock().ok().and_then(|mut e| e.take())
    {
        return Err(e);
    }
    let (root, mut summary) = scoped?;
    let sink = sink
        .into_inner()
        .map_err(|_| Error::InvalidArgument("pack sink poisoned".into()))?;
    sink.finish()?;
    summary.bytes_stored = stored.load(Ordering::Relaxed);

    let mut snap = Snapshot::new(root, snap_paths);
    snap.hostname = host;
    snap.tags = opts.tags.clone();
    snap.parent = parent.map(|p| p.id);
    if let Some(t) = opts.time {
        snap.time = t;
    }
    snap.summary = Some(summary.clone());
    snap.id = repo.save_snapshot(&snap)?;
    progress.finish();
    Ok(BackupResult {
        snapshot: snap,
        summary,
    })
}

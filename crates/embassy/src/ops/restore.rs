//! Restore a snapshot (or a sub-path of it) into a directory.
//!
//! Directories, symlinks and empty files are created while walking the
//! trees; file contents are then restored *pack by pack*: every needed blob
//! of a pack is fetched with as few range reads as possible, opened and
//! written (with positional writes) to every file offset that uses it. Packs
//! are processed in parallel, so reads, decryption and decompression overlap.
//! Metadata (permissions, mtimes, ownership when permitted, extended
//! attributes) is applied last, directories deepest-first so writing into
//! them doesn't change their mtime.
//!
//! **Hard links.** Nodes with `nlink > 1` and the same `(dev, inode)` are
//! paths of one file: the first of them in the restored set (tree order) is
//! restored normally, the others become hard links to it once all contents
//! are written. A partial restore that includes only some of the paths
//! therefore restores the first included one as a regular file. A later
//! path whose content differs from the first (the inode number was reused
//! during the backup) is restored as a file of its own. Where a link cannot
//! be made, the path is restored as a copy and a warning says so.
//!
//! **Extended attributes** are set before times and permissions (a
//! read-only mode would forbid it) and after ownership (`chown` clears
//! `security.capability`). One that cannot be set (a namespace the
//! restoring user may not write, a file system without xattrs) is a
//! warning naming the file and attribute, not an error.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::format::{self, BlobType};
use crate::id::Id;
use crate::index::{BlobLocation, Index};
use crate::progress::Progress;
use crate::repo::Repository;
use crate::snapshot::Snapshot;
use crate::tree::{Node, NodeKind, Tree};
use crate::xattr;

#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    pub target: PathBuf,
    /// Restore only this path inside the snapshot (e.g. `src/lib`); it is
    /// placed at `target/<last component>`.
    pub subpath: Option<String>,
    /// Parallel pack readers; 0 = number of CPUs (at least 2).
    pub threads: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RestoreSummary {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
    /// Paths restored as hard links to an earlier restored path (counted
    /// in `files`/`symlinks` too, not in `bytes`).
    pub hardlinks: u64,
    /// Entries that could not be fully restored, with the reason.
    pub errors: Vec<(String, String)>,
    /// Entries restored with something missing that the target or the
    /// restoring user does not allow (an extended attribute, a hard link
    /// made a copy), with why.
    pub warnings: Vec<(String, String)>,
}

/// Non-fatal problems, collected from the worker threads.
struct Warnings<'a> {
    list: Mutex<Vec<(String, String)>>,
    progress: &'a dyn Progress,
}

impl Warnings<'_> {
    fn push(&self, path: &Path, msg: String) {
        self.progress.warn(&format!("{}: {msg}", path.display()));
        if let Ok(mut l) = self.list.lock() {
            l.push((path.display().to_string(), msg));
        }
    }
}

/// A path to make a hard link to `first` once contents are written.
struct PendingLink {
    path: PathBuf,
    first: PathBuf,
    node: Node,
}

struct Meta {
    path: PathBuf,
    node: Node,
    depth: usize,
}

/// Where one blob's plaintext goes.
struct Target {
    file: usize,
    offset: u64,
}

/// A blob to fetch from a pack and where its plaintext goes.
type PackJob = (Id, BlobLocation, Vec<Target>);

/// A regular file with content; finished (truncated to size, metadata
/// applied) by whichever worker writes its last blob.
struct FileEntry {
    path: PathBuf,
    node: Node,
    size: u64,
    remaining: AtomicUsize,
}

struct Plan<'a> {
    repo: &'a Repository,
    index: &'a Index,
    files: Vec<FileEntry>,
    blobs: HashMap<Id, (BlobLocation, Vec<Target>)>,
    meta: Vec<Meta>,
    /// First restored path and kind of each hard-linked inode.
    links: HashMap<(u64, u64), (PathBuf, NodeKind)>,
    pending_links: Vec<PendingLink>,
    summary: RestoreSummary,
}

impl Plan<'_> {
    fn err(&mut self, p: &Path, e: impl std::fmt::Display) {
        self.summary
            .errors
            .push((p.display().to_string(), e.to_string()));
    }

    fn node(&mut self, dir: &Path, node: &Node, depth: usize) -> Result<()> {
        let name = OsStr::from_bytes(&node.name);
        if node.name.is_empty() || node.name.contains(&b'/') || name == ".." || name == "." {
            // Never let a (malicious or corrupt) tree escape the target.
            return Err(Error::corrupt(
                "tree",
                node.name_lossy(),
                "invalid file name",
            ));
        }
        let path = dir.join(name);
        if let Some(key) = node.hardlink_key() {
            match self.links.get(&key) {
                Some((first, kind)) if *kind == node.kind => {
                    match node.kind {
                        NodeKind::Symlink { .. } => self.summary.symlinks += 1,
                        _ => self.summary.files += 1,
                    }
                    self.summary.hardlinks += 1;
                    self.pending_links.push(PendingLink {
                        path,
                        first: first.clone(),
                        node: node.clone(),
                    });
                    return Ok(());
                }
                // Same inode number, other content: not the same file.
                Some(_) => {}
                None => {
                    self.links.insert(key, (path.clone(), node.kind.clone()));
                }
            }
        }
        match &node.kind {
            NodeKind::Dir { subtree } => {
                if let Err(e) = fs::create_dir(&path)
                    && e.kind() != std::io::ErrorKind::AlreadyExists
                {
                    return Err(Error::io(&path, e));
                }
                // An existing symlink here (planted, or from a tree with a
                // duplicate name) must not redirect the restore elsewhere.
                if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                    return Err(Error::io(
                        &path,
                        std::io::Error::new(
                            std::io::ErrorKind::AlreadyExists,
                            "exists and is not a directory",
                        ),
                    ));
                }
                self.summary.dirs += 1;
                let tree = self.repo.load_tree(self.index, subtree)?;
                for child in &tree.nodes {
                    self.node(&path, child, depth + 1)?;
                }
            }
            NodeKind::Symlink { target } => {
                let _ = fs::remove_file(&path);
                std::os::unix::fs::symlink(OsStr::from_bytes(target), &path)
                    .map_err(|e| Error::io(&path, e))?;
                self.summary.symlinks += 1;
            }
            NodeKind::File { size, content } => {
                self.summary.files += 1;
                self.summary.bytes += size;
                if content.is_empty() {
                    OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .custom_flags(libc::O_NOFOLLOW)
                        .open(&path)
                        .map_err(|e| Error::io(&path, e))?;
                } else {
                    let file_no = self.files.len();
                    let mut offset = 0u64;
                    let mut targets = 0;
                    for id in content {
                        let Some(loc) = self.index.get(id) else {
                            self.err(&path, format!("data blob {id} missing from index"));
                            break;
                        };
                        self.blobs
                            .entry(*id)
                            .or_insert_with(|| (loc, Vec::new()))
                            .1
                            .push(Target {
                                file: file_no,
                                offset,
                            });
                        offset += u64::from(loc.raw_len);
                        targets += 1;
                    }
                    if offset != *size && targets == content.len() {
                        self.err(
                            &path,
                            format!("chunks add up to {offset} bytes, node says {size}"),
                        );
                    }
                    self.files.push(FileEntry {
                        path,
                        node: node.clone(),
                        size: *size,
                        remaining: AtomicUsize::new(targets),
                    });
                    // Metadata is applied when the last blob lands.
                    return Ok(());
                }
            }
        }
        self.meta.push(Meta {
            path,
            node: node.clone(),
            depth,
        });
        Ok(())
    }
}

fn find_subpath(repo: &Repository, index: &Index, root: Tree, sub: &str) -> Result<Node> {
    let mut tree = root;
    let parts: Vec<&str> = sub
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for (i, part) in parts.iter().enumerate() {
        let node = tree
            .find(part.as_bytes())
            .cloned()
            .ok_or_else(|| Error::PathNotFound(sub.to_string()))?;
        if i + 1 == parts.len() {
            return Ok(node);
        }
        match &node.kind {
            NodeKind::Dir { subtree } => tree = repo.load_tree(index, subtree)?,
            _ => return Err(Error::PathNotFound(sub.to_string())),
        }
    }
    Err(Error::PathNotFound(sub.to_string()))
}

/// Restore `snap` under `opts.target` (created if missing).
pub fn restore(
    repo: &Repository,
    snap: &Snapshot,
    opts: &RestoreOptions,
    progress: &dyn Progress,
) -> Result<RestoreSummary> {
    // Shared lock: a concurrent prune must not delete packs we read.
    let _lock = crate::lock::lock(repo, false, std::time::Duration::ZERO)?;
    let index = repo.load_index()?;
    fs::create_dir_all(&opts.target).map_err(|e| Error::io(&opts.target, e))?;
    let root = repo.load_tree(&index, &snap.tree)?;
    let mut plan = Plan {
        repo,
        index: &index,
        files: Vec::new(),
        blobs: HashMap::new(),
        meta: Vec::new(),
        links: HashMap::new(),
        pending_links: Vec::new(),
        summary: RestoreSummary::default(),
    };
    match opts
        .subpath
        .as_deref()
        .filter(|s| !s.trim_matches('/').is_empty())
    {
        Some(sub) => {
            let node = find_subpath(repo, &index, root, sub)?;
            plan.node(&opts.target, &node, 0)?;
        }
        None => {
            for n in &root.nodes {
                plan.node(&opts.target, n, 0)?;
            }
        }
    }
    progress.set_total(plan.summary.bytes);

    // Group blobs by pack.
    let mut by_pack: HashMap<Id, Vec<PackJob>> = HashMap::new();
    for (id, (loc, targets)) in std::mem::take(&mut plan.blobs) {
        by_pack
            .entry(loc.pack)
            .or_default()
            .push((id, loc, targets));
    }
    let mut packs: Vec<(Id, Vec<PackJob>)> = by_pack.into_iter().collect();
    // Biggest first keeps all threads busy until the end.
    packs.sort_by_key(|(_, b)| std::cmp::Reverse(b.len()));

    let threads = if opts.threads == 0 {
        crate::util::cpu_threads().max(2)
    } else {
        opts.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::InvalidArgument(format!("thread pool: {e}")))?;
    let errors = Mutex::new(Vec::new());
    let warnings = Warnings {
        list: Mutex::new(Vec::new()),
        progress,
    };
    let files = &plan.files;
    pool.install(|| {
        packs.par_iter_mut().for_each(|(pack, blobs)| {
            if let Err((p, e)) = restore_pack(repo, pack, blobs, files, &warnings, progress) {
                if let Ok(mut g) = errors.lock() {
                    g.push((p, e));
                }
            }
        })
    });
    plan.summary
        .errors
        .extend(errors.into_inner().unwrap_or_default());

    // Hard links, now that their first paths are complete (before the
    // directories' mtimes are set).
    for l in std::mem::take(&mut plan.pending_links) {
        if let Err(e) = hard_link(&l.first, &l.path) {
            let why = format!(
                "restored as a separate copy: cannot hard-link to {}: {e}",
                l.first.display()
            );
            match restore_copy(&l, &warnings) {
                Ok(()) => warnings.push(&l.path, why),
                Err(e2) => plan.err(&l.path, format!("{why}; copying failed too: {e2}")),
            }
        }
    }

    // Metadata, deepest first.
    let mut meta = std::mem::take(&mut plan.meta);
    meta.sort_by_key(|m| std::cmp::Reverse(m.depth));
    for m in &meta {
        if let Err(e) = apply_meta(m, &warnings) {
            plan.err(&m.path, e);
        }
    }
    plan.summary
        .warnings
        .extend(warnings.list.into_inner().unwrap_or_default());
    progress.finish();
    Ok(plan.summary)
}

/// Contiguous byte ranges of a pack to fetch: blobs closer than this are
/// read together rather than with a second request.
const MERGE_GAP: u64 = 256 * 1024;

fn restore_pack(
    repo: &Repository,
    pack: &Id,
    blobs: &mut [PackJob],
    files: &[FileEntry],
    warnings: &Warnings<'_>,
    progress: &dyn Progress,
) -> std::result::Result<(), (String, String)> {
    blobs.sort_by_key(|b| b.1.offset);
    let name = pack.to_hex();
    let mut i = 0;
    while i < blobs.len() {
        let start = u64::from(blobs[i].1.offset);
        let mut end = start + u64::from(blobs[i].1.length);
        let mut j = i + 1;
        while j < blobs.len() && u64::from(blobs[j].1.offset) <= end + MERGE_GAP {
            end = end.max(u64::from(blobs[j].1.offset) + u64::from(blobs[j].1.length));
            j += 1;
        }
        let buf = repo
            .backend()
            .read_range(FileType::Pack, &name, start, end - start)
            .map_err(|e| (format!("pack {name}"), e.to_string()))?;
        for (id, loc, targets) in &blobs[i..j] {
            let s = (u64::from(loc.offset) - start) as usize;
            let sealed = &buf[s..s + loc.length as usize];
            let data = format::decode_blob(repo.key(), BlobType::Data, id, sealed, loc.raw_len)
                .map_err(|e| (format!("pack {name}"), e.to_string()))?;
            for t in targets {
                let entry = &files[t.file];
                let path = &entry.path;
                let fail = |e: std::io::Error| {
                    (path.display().to_string(), Error::io(path, e).to_string())
                };
                // No truncation: other workers may be filling other ranges.
                #[allow(clippy::suspicious_open_options)]
                let f = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(path)
                    .map_err(fail)?;
                f.write_all_at(&data, t.offset).map_err(fail)?;
                progress.inc(data.len() as u64);
                if entry.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                    // Last piece: drop stale bytes of a previous file, then
                    // apply metadata through the open handle.
                    f.set_len(entry.size).map_err(fail)?;
                    finish_file(&f, path, &entry.node, warnings).map_err(fail)?;
                }
            }
        }
        i = j;
    }
    Ok(())
}

fn mtime_of(n: &Node) -> SystemTime {
    if n.mtime_ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(n.mtime_ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(n.mtime_ns.unsigned_abs())
    }
}

/// Set the node's extended attributes on an open file or directory.
fn set_xattrs(f: &fs::File, path: &Path, n: &Node, warnings: &Warnings<'_>) {
    for x in &n.xattrs {
        if let Err(e) = xattr::set_fd(f, x) {
            warnings.push(
                path,
                format!("extended attribute {} not restored: {e}", x.name_lossy()),
            );
        }
    }
}

fn finish_file(
    f: &fs::File,
    path: &Path,
    n: &Node,
    warnings: &Warnings<'_>,
) -> std::io::Result<()> {
    // Ownership only sticks for root; elsewhere failure is expected.
    let _ = std::os::unix::fs::fchown(f, Some(n.uid), Some(n.gid));
    set_xattrs(f, path, n, warnings);
    f.set_times(
        fs::FileTimes::new()
            .set_modified(mtime_of(n))
            .set_accessed(SystemTime::now()),
    )?;
    f.set_permissions(fs::Permissions::from_mode(n.mode))
}

/// Link `path` to `first`, replacing a file (not a directory) at `path`.
fn hard_link(first: &Path, path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists and is a directory", path.display()),
            ));
        }
        Ok(_) => fs::remove_file(path)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::hard_link(first, path)
}

/// Fallback when a hard link cannot be made: restore the path as a copy of
/// its first path.
fn restore_copy(l: &PendingLink, warnings: &Warnings<'_>) -> std::io::Result<()> {
    let _ = fs::remove_file(&l.path);
    match &l.node.kind {
        NodeKind::Symlink { target } => {
            std::os::unix::fs::symlink(OsStr::from_bytes(target), &l.path)?;
            apply_meta(
                &Meta {
                    path: l.path.clone(),
                    node: l.node.clone(),
                    depth: 0,
                },
                warnings,
            )
        }
        NodeKind::File { .. } => {
            let mut from = OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&l.first)?;
            let mut to = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&l.path)?;
            std::io::copy(&mut from, &mut to)?;
            finish_file(&to, &l.path, &l.node, warnings)
        }
        NodeKind::Dir { .. } => Ok(()),
    }
}

fn apply_meta(m: &Meta, warnings: &Warnings<'_>) -> std::io::Result<()> {
    let n = &m.node;
    let mtime = mtime_of(n);
    match &n.kind {
        NodeKind::Symlink { .. } => {
            // Ownership of the link itself; failure (not root) is expected.
            let _ = std::os::unix::fs::lchown(&m.path, Some(n.uid), Some(n.gid));
            for x in &n.xattrs {
                if let Err(e) = xattr::set_path(&m.path, x) {
                    warnings.push(
                        &m.path,
                        format!("extended attribute {} not restored: {e}", x.name_lossy()),
                    );
                }
            }
            Ok(())
        }
        _ => {
            let _ = std::os::unix::fs::chown(&m.path, Some(n.uid), Some(n.gid));
            // Times first: opening may be impossible once the mode is applied.
            let f = fs::File::open(&m.path)?;
            set_xattrs(&f, &m.path, n, warnings);
            f.set_times(
                fs::FileTimes::new()
                    .set_modified(mtime)
                    .set_accessed(SystemTime::now()),
            )?;
            fs::set_permissions(&m.path, fs::Permissions::from_mode(n.mode))
        }
    }
}

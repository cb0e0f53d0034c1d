//! Pack assembly and upload, shared by backup, copy, prune and repair.
//!
//! Sealed blobs are appended to an in-memory pack per blob type (data and
//! trees are kept apart so tree-only reads touch few packs). A full pack gets
//! its sealed header, is named by its BLAKE3 hash and handed to uploader
//! threads through a bounded queue. Only after a pack is stored are its
//! blobs added to the pending index; index files are written periodically
//! and at the end. This order (packs, then index, then snapshot) is what
//! makes a killed process harmless: at worst packs without index remain.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, bounded};

use std::io::Write;

use crate::backend::{FileType, Spool};
use crate::error::{Error, Result};
use crate::format::{self, BlobType, IndexFile, IndexPack, PackBlob};
use crate::id::Id;
use crate::repo::Repository;

/// Write an index file after this many packs or this much time.
const INDEX_EVERY_PACKS: usize = 64;
const INDEX_EVERY: Duration = Duration::from_secs(120);

/// Where a pack's bytes accumulate: a spool file on backends that offer
/// one (local: memory stays flat however many packs are in flight), else
/// memory (S3).
enum Out {
    Memory(Vec<u8>),
    Spool(Spool),
}

struct Building {
    out: Option<Out>,
    len: usize,
    hasher: blake3::Hasher,
    blobs: Vec<PackBlob>,
}

impl Building {
    fn new() -> Self {
        Building {
            out: None,
            len: 0,
            hasher: blake3::Hasher::new(),
            blobs: Vec::new(),
        }
    }

    fn append(&mut self, repo: &Repository, reserve: usize, data: &[u8]) -> Result<()> {
        if self.out.is_none() {
            self.out = Some(match repo.backend().create_spool()? {
                Some(s) => Out::Spool(s),
                None => Out::Memory(Vec::with_capacity(reserve)),
            });
        }
        match self.out.as_mut().expect("set above") {
            Out::Memory(v) => v.extend_from_slice(data),
            Out::Spool(s) => s.file.write_all(data).map_err(|e| Error::io(&s.path, e))?,
        }
        self.hasher.update(data);
        self.len += data.len();
        Ok(())
    }
}

/// A finished pack on its way to the backend.
struct Sealed {
    id: Id,
    out: Out,
    len: usize,
    blobs: Vec<PackBlob>,
}

/// Totals after [`PackSink::finish`].
#[derive(Debug, Clone, Default)]
pub struct SinkStats {
    pub packs: u64,
    pub blobs: u64,
    pub bytes: u64,
    pub index_files: Vec<Id>,
    /// Every pack written, with its blobs.
    pub written: Vec<IndexPack>,
}

struct IndexState {
    pending: Vec<IndexPack>,
    last_write: Instant,
    stats: SinkStats,
}

/// Accepts sealed blobs; produces packs and index files.
pub struct PackSink {
    repo: Repository,
    target: usize,
    max_blob: usize,
    data: Building,
    tree: Building,
    tx: Option<Sender<Sealed>>,
    uploaders: Vec<JoinHandle<()>>,
    state: Arc<Mutex<IndexState>>,
    error: Arc<Mutex<Option<Error>>>,
    failed: Arc<AtomicBool>,
}

impl PackSink {
    pub fn new(repo: &Repository, uploaders: usize) -> PackSink {
        // Memory bound: `uploaders` packs being written plus one queued.
        let (tx, rx) = bounded::<Sealed>(1);
        let state = Arc::new(Mutex::new(IndexState {
            pending: Vec::new(),
            last_write: Instant::now(),
            stats: SinkStats::default(),
        }));
        let error = Arc::new(Mutex::new(None));
        let failed = Arc::new(AtomicBool::new(false));
        let handles = (0..uploaders.max(1))
            .map(|_| {
                let rx = rx.clone();
                let repo = repo.clone();
                let state = state.clone();
                let error = error.clone();
                let failed = failed.clone();
                std::thread::spawn(move || {
                    for sealed in rx {
                        if failed.load(Ordering::SeqCst) {
                            discard(sealed.out);
                            continue; // drain so producers never block
                        }
                        if let Err(e) = upload(&repo, &state, sealed) {
                            if let Ok(mut g) = error.lock()
                                && !failed.swap(true, Ordering::SeqCst)
                            {
                                *g = Some(e);
                            }
                        }
                    }
                })
            })
            .collect();
        PackSink {
            repo: repo.clone(),
            target: repo.config().pack_size as usize,
            max_blob: repo.config().chunk_max as usize + crate::crypto::SEAL_OVERHEAD + 1,
            data: Building::new(),
            tree: Building::new(),
            tx: Some(tx),
            uploaders: handles,
            state,
            error,
            failed,
        }
    }

    /// The first upload error (once), then a generic one: after a failure
    /// the uploaders only drain the queue, so the sink stays failed.
    fn check_error(&self) -> Result<()> {
        let taken = match self.error.lock() {
            Ok(mut g) => g.take(),
            Err(_) => return Err(Error::InvalidArgument("uploader thread panicked".into())),
        };
        match taken {
            Some(e) => Err(e),
            None if self.failed.load(Ordering::SeqCst) => Err(Error::InvalidArgument(
                "an earlier pack upload failed (reported first)".into(),
            )),
            None => Ok(()),
        }
    }

    /// Add one sealed blob.
    pub fn add(&mut self, t: BlobType, id: Id, sealed: &[u8], raw_len: u32) -> Result<()> {
        self.check_error()?;
        let target = self.target;
        // Room for the largest blob past the target and the header, so an
        // in-memory pack is never reallocated (which doubles its memory).
        let reserve = if t == BlobType::Data {
            target + self.max_blob + 64 * 1024
        } else {
            0
        };
        let b = match t {
            BlobType::Data => &mut self.data,
            BlobType::Tree => &mut self.tree,
        };
        b.blobs.push(PackBlob {
            blob_type: t,
            id,
            offset: b.len as u32,
            length: sealed.len() as u32,
            raw_len,
        });
        b.append(&self.repo, reserve, sealed)?;
        if b.len >= target {
            self.seal_pack(t)?;
        }
        Ok(())
    }

    fn seal_pack(&mut self, t: BlobType) -> Result<()> {
        let b = match t {
            BlobType::Data => &mut self.data,
            BlobType::Tree => &mut self.tree,
        };
        if b.blobs.is_empty() {
            return Ok(());
        }
        let header = format::encode_pack_header(self.repo.key(), &b.blobs)?;
        b.append(&self.repo, 0, &header)?;
        let done = std::mem::replace(b, Building::new());
        let sealed = Sealed {
            id: Id(*done.hasher.finalize().as_bytes()),
            out: done.out.expect("a pack with blobs has output"),
            len: done.len,
            blobs: done.blobs,
        };
        self.tx
            .as_ref()
            .expect("sink open")
            .send(sealed)
            .map_err(|_| Error::InvalidArgument("uploader threads ended early".into()))?;
        Ok(())
    }

    /// Flush partial packs, wait for uploads, write the final index file.
    pub fn finish(self) -> Result<SinkStats> {
        let (stats, r) = self.close();
        r.map(|()| stats)
    }

    /// Like [`PackSink::finish`], but also reports what was stored when it
    /// fails: the packs that arrived are indexed even after an upload of
    /// another one failed (when the index write itself still works).
    pub fn close(mut self) -> (SinkStats, Result<()>) {
        let sealed = self
            .seal_pack(BlobType::Data)
            .and_then(|()| self.seal_pack(BlobType::Tree));
        let joined = self.stop_uploaders();
        let uploads = self.check_error();
        let Ok(mut st) = self.state.lock() else {
            return (
                SinkStats::default(),
                Err(Error::InvalidArgument("poisoned".into())),
            );
        };
        let index = flush_index(&self.repo, &mut st);
        let r = sealed.and(joined).and(uploads).and(index);
        (std::mem::take(&mut st.stats), r)
    }
}

fn upload(repo: &Repository, state: &Mutex<IndexState>, sealed: Sealed) -> Result<()> {
    let name = sealed.id.to_hex();
    match sealed.out {
        Out::Memory(bytes) => repo.backend().write(FileType::Pack, &name, &bytes)?,
        Out::Spool(spool) => repo.backend().commit_spool(spool, &name)?,
    }
    let mut st = state
        .lock()
        .map_err(|_| Error::InvalidArgument("poisoned".into()))?;
    st.stats.packs += 1;
    st.stats.blobs += sealed.blobs.len() as u64;
    st.stats.bytes += sealed.len as u64;
    let p = IndexPack {
        pack: sealed.id,
        blobs: sealed.blobs,
    };
    st.stats.written.push(p.clone());
    st.pending.push(p);
    if st.pending.len() >= INDEX_EVERY_PACKS || st.last_write.elapsed() >= INDEX_EVERY {
        flush_index(repo, &mut st)?;
    }
    Ok(())
}

/// Drop a pack that will not be stored (after an earlier failure).
fn discard(out: Out) {
    if let Out::Spool(s) = out {
        let _ = std::fs::remove_file(&s.path);
    }
}

fn flush_index(repo: &Repository, st: &mut IndexState) -> Result<()> {
    st.last_write = Instant::now();
    if st.pending.is_empty() {
        return Ok(());
    }
    let f = IndexFile {
        supersedes: Vec::new(),
        packs: std::mem::take(&mut st.pending),
    };
    let id = repo.save_index_file(&f)?;
    st.stats.index_files.push(id);
    Ok(())
}

impl PackSink {
    /// Stop after a failure: drop the packs still being assembled, wait
    /// for the uploads in flight to end (so nothing writes to the
    /// repository after this returns), then try once to write the index
    /// for the packs that did arrive. Returns what was stored; the index
    /// write's error, if any, is returned alongside (the packs are then
    /// unindexed, which `replicate` and `rebuild_index` recover from).
    pub fn abort(mut self) -> (SinkStats, Result<()>) {
        let _ = self.stop_uploaders();
        let Ok(mut st) = self.state.lock() else {
            return (
                SinkStats::default(),
                Err(Error::InvalidArgument("poisoned".into())),
            );
        };
        let r = flush_index(&self.repo, &mut st);
        (std::mem::take(&mut st.stats), r)
    }

    /// Drop unsealed packs, close the queue and wait for the uploaders.
    fn stop_uploaders(&mut self) -> Result<()> {
        for b in [&mut self.data, &mut self.tree] {
            if let Some(out) = b.out.take() {
                discard(out);
            }
        }
        drop(self.tx.take());
        let mut r = Ok(());
        for h in self.uploaders.drain(..) {
            if h.join().is_err() {
                r = Err(Error::InvalidArgument("uploader thread panicked".into()));
            }
        }
        r
    }
}

impl Drop for PackSink {
    /// A sink dropped without `finish` (an error path) removes its partly
    /// written spool files and waits for the uploads in flight, so no
    /// thread writes to the repository after the operation returned. Packs
    /// already queued are still stored unless an upload failed (harmless:
    /// unindexed packs are reclaimed by prune or adopted by replicate).
    fn drop(&mut self) {
        let _ = self.stop_uploaders();
    }
}

//! Replication to the data embassy: incremental hot replication, resumption
//! after a network cut, cold copies under S3 Object Lock.
//!
//! The network cut is real TCP: the replica is reached through a small proxy
//! in this process that forwards to `moto_server` and, after a given number
//! of uploaded bytes, closes every live connection and refuses new ones
//! until it is restored. moto itself keeps running (it is in-memory).
//! Without moto the S3 tests are skipped with a message, unless
//! `MAKONIS_REQUIRE_PEERS=1`.

mod common;

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
#[cfg(feature = "s3")]
use std::time::Instant;

use chrono::Utc;
use common::*;
use makonis_embassy::backend::{Backend, FileInfo, FileType, Spool};
use makonis_embassy::chunker::ChunkerParams;
use makonis_embassy::ops::{
    self, BackupOptions, CheckOptions, ReplicateOptions, RestoreOptions, SnapshotFilter,
};
use makonis_embassy::{Error, InitOptions, KdfParams, NoProgress, Repository, Snapshot};

// ------------------------------------------------------------------ helpers

/// 64 KiB average chunks, 1 MiB packs: a few dozen packs for ~40 MB.
fn opts(share: Option<&Repository>) -> InitOptions {
    InitOptions {
        kdf: KdfParams::insecure_fast(),
        chunker: ChunkerParams {
            min: 16 * 1024,
            avg: 64 * 1024,
            max: 256 * 1024,
        },
        pack_size: 1024 * 1024,
        zstd_level: 1,
        share_ids_with: share.map(|r| r.key().clone()),
        format_version: makonis_embassy::format::FORMAT_VERSION,
    }
}

const PACK: u64 = 1024 * 1024;

/// `n` files of `size` bytes under `dir`: mostly incompressible (media,
/// archives), every third one text, plus one duplicate.
fn varied(dir: &Path, n: usize, size: usize, seed: u64) {
    fs::create_dir_all(dir.join("sub")).unwrap();
    for i in 0..n {
        let s = seed * 1000 + i as u64;
        let data = if i % 3 == 2 {
            text(size, s)
        } else {
            pseudo(size, s)
        };
        let name = if i % 2 == 0 {
            format!("f{i}.bin")
        } else {
            format!("sub/f{i}.bin")
        };
        fs::write(dir.join(name), data).unwrap();
    }
    fs::copy(dir.join("f0.bin"), dir.join("sub/dup-of-f0.bin")).unwrap();
}

fn backup_at(repo: &Repository, src: &Path, ago: chrono::Duration, host: &str) -> Snapshot {
    ops::backup(
        repo,
        &[src.to_path_buf()],
        &BackupOptions {
            time: Some(Utc::now() - ago),
            hostname: Some(host.into()),
            tags: vec![format!("is:{host}")],
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap()
    .snapshot
}

fn check_read_data(repo: &Repository) -> ops::CheckReport {
    let r = ops::check(repo, &CheckOptions { read_data: true }, &NoProgress).unwrap();
    assert!(r.is_ok(), "check problems: {:?}", r.problems);
    r
}

fn restore_and_compare(repo: &Repository, snap: &Snapshot, src: &Path, t: &Path, name: &str) {
    let out = t.join(name);
    let r = ops::restore(
        repo,
        snap,
        &RestoreOptions {
            target: out.clone(),
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_same_tree(src, &out.join(src.file_name().unwrap()));
}

fn pack_bytes(repo: &Repository) -> u64 {
    repo.backend()
        .list(FileType::Pack)
        .unwrap()
        .iter()
        .map(|f| f.size)
        .sum()
}

/// Blob ids of a repository's index, the number of index entries, and
/// the stored bytes of all entries.
fn blobs(repo: &Repository) -> (HashSet<makonis_embassy::Id>, usize, u64) {
    let idx = repo.load_index().unwrap();
    let mut ids = HashSet::new();
    let mut bytes = 0;
    let mut entries = 0;
    for (id, loc) in idx.iter() {
        ids.insert(id);
        entries += 1;
        bytes += u64::from(loc.length);
    }
    (ids, entries, bytes)
}

#[cfg(feature = "s3")]
fn mb(b: u64) -> f64 {
    b as f64 / 1e6
}

// ------------------------------------------------------------------ proxy

#[cfg(feature = "s3")]
use proxy::Proxy;

#[cfg(feature = "s3")]
mod proxy {
    use std::io::{Read, Write};
    use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    /// A TCP forwarder that can cut the network: close every live connection
    /// and refuse new ones (its listening socket is closed), until restored.
    pub struct Proxy {
        addr: SocketAddr,
        shared: Arc<ProxyShared>,
        stop: Arc<AtomicBool>,
        thread: Option<JoinHandle<()>>,
    }

    struct ProxyShared {
        upstream: SocketAddr,
        listener: Mutex<Option<TcpListener>>,
        conns: Mutex<Vec<TcpStream>>,
        /// Client → server bytes forwarded.
        up_bytes: AtomicU64,
        /// Cut when `up_bytes` reaches this.
        cut_at: AtomicU64,
        cut_time: Mutex<Option<Instant>>,
        /// Swallow all traffic (a stalled link: connections stay open).
        blackhole: AtomicBool,
    }

    impl ProxyShared {
        fn cut(&self) {
            drop(self.listener.lock().unwrap().take());
            for c in self.conns.lock().unwrap().drain(..) {
                let _ = c.shutdown(Shutdown::Both);
            }
            self.cut_time
                .lock()
                .unwrap()
                .get_or_insert_with(Instant::now);
        }
    }

    impl Proxy {
        pub fn start(upstream: SocketAddr) -> Proxy {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.set_nonblocking(true).unwrap();
            let addr = l.local_addr().unwrap();
            let shared = Arc::new(ProxyShared {
                upstream,
                listener: Mutex::new(Some(l)),
                conns: Mutex::new(Vec::new()),
                up_bytes: AtomicU64::new(0),
                cut_at: AtomicU64::new(u64::MAX),
                cut_time: Mutex::new(None),
                blackhole: AtomicBool::new(false),
            });
            let stop = Arc::new(AtomicBool::new(false));
            let (sh, st) = (shared.clone(), stop.clone());
            let thread = std::thread::spawn(move || {
                while !st.load(Ordering::SeqCst) {
                    let accepted = sh
                        .listener
                        .lock()
                        .unwrap()
                        .as_ref()
                        .and_then(|l| l.accept().ok());
                    match accepted {
                        Some((c, _)) => Self::forward(&sh, c),
                        None => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            });
            Proxy {
                addr,
                shared,
                stop,
                thread: Some(thread),
            }
        }

        fn forward(sh: &Arc<ProxyShared>, client: TcpStream) {
            let _ = client.set_nonblocking(false);
            let Ok(server) = TcpStream::connect(sh.upstream) else {
                return;
            };
            {
                let mut conns = sh.conns.lock().unwrap();
                conns.push(client.try_clone().unwrap());
                conns.push(server.try_clone().unwrap());
            }
            for (from, to, up) in [
                (
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    true,
                ),
                (server, client, false),
            ] {
                let sh = sh.clone();
                std::thread::spawn(move || pump(&sh, from, to, up));
            }
        }

        pub fn endpoint(&self) -> String {
            format!("http://{}", self.addr)
        }

        /// Cut the network once `bytes` more have been uploaded through it.
        pub fn cut_after(&self, bytes: u64) {
            let now = self.shared.up_bytes.load(Ordering::SeqCst);
            self.shared.cut_at.store(now + bytes, Ordering::SeqCst);
        }

        pub fn is_cut(&self) -> bool {
            self.shared.listener.lock().unwrap().is_none()
        }

        pub fn uploaded(&self) -> u64 {
            self.shared.up_bytes.load(Ordering::SeqCst)
        }

        pub fn cut_time(&self) -> Option<Instant> {
            *self.shared.cut_time.lock().unwrap()
        }

        pub fn blackhole(&self, on: bool) {
            self.shared.blackhole.store(on, Ordering::SeqCst);
        }

        /// Listen again on the same address.
        pub fn restore(&self) {
            self.shared.cut_at.store(u64::MAX, Ordering::SeqCst);
            *self.shared.cut_time.lock().unwrap() = None;
            let deadline = Instant::now() + Duration::from_secs(10);
            let l = loop {
                match TcpListener::bind(self.addr) {
                    Ok(l) => break l,
                    Err(e) if Instant::now() < deadline => {
                        eprintln!("rebinding {}: {e}; retrying", self.addr);
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(e) => panic!("cannot rebind the proxy on {}: {e}", self.addr),
                }
            };
            l.set_nonblocking(true).unwrap();
            *self.shared.listener.lock().unwrap() = Some(l);
        }
    }

    fn pump(sh: &ProxyShared, mut from: TcpStream, mut to: TcpStream, up: bool) {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if sh.blackhole.load(Ordering::SeqCst) {
                continue;
            }
            if up {
                let total = sh.up_bytes.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                if total >= sh.cut_at.load(Ordering::SeqCst) {
                    sh.cut();
                    break;
                }
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    }

    impl Drop for Proxy {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
            self.shared.cut();
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

#[cfg(feature = "s3")]
fn s3_backend(
    endpoint: &str,
    bucket: &str,
    prefix: &str,
) -> makonis_embassy::backend::s3::S3Backend {
    // A cut must surface in seconds: refused connections fail fast, two
    // attempts with a short backoff.
    s3_with(
        endpoint,
        bucket,
        prefix,
        makonis_embassy::backend::s3::S3Timeouts {
            connect: Duration::from_secs(2),
            attempt: Duration::from_secs(20),
            operation: Some(Duration::from_secs(45)),
            max_attempts: 2,
            initial_backoff: Duration::from_millis(200),
        },
    )
}

#[cfg(feature = "s3")]
fn s3_with(
    endpoint: &str,
    bucket: &str,
    prefix: &str,
    timeouts: makonis_embassy::backend::s3::S3Timeouts,
) -> makonis_embassy::backend::s3::S3Backend {
    use makonis_embassy::backend::s3::{S3Backend, S3Config};
    S3Backend::new(S3Config {
        bucket: bucket.into(),
        prefix: prefix.into(),
        endpoint: Some(endpoint.into()),
        region: Some("eu-north-1".into()),
        access_key: Some(("testing".into(), "testing".into())),
        timeouts,
        ca_bundle: None,
    })
    .unwrap()
}

// ------------------------------------------------------------------ tests

/// A primary in Latvia (local), a replica at the embassy (S3 through the
/// cuttable proxy). The first run is cut mid-way through the second
/// snapshot; the replica stays valid; the second run sends only what never
/// arrived; the result restores byte-identical.
#[cfg(feature = "s3")]
#[test]
fn replication_resumes_after_network_cut_without_resending() {
    let Some(m) = common::moto::start_moto() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("data");
    varied(&src.join("a"), 10, 2_000_000, 1);
    make_tree(&src.join("tree"));
    let primary = Repository::init(backend(&t.path().join("primary")), PW, opts(None)).unwrap();
    let t0 = Instant::now();
    let snap_a = backup_at(&primary, &src, chrono::Duration::hours(3), "is-a");
    varied(&src.join("b"), 10, 2_000_000, 2);
    let snap_b = backup_at(&primary, &src, chrono::Duration::hours(2), "is-a");
    let backup_time = t0.elapsed();
    let total = pack_bytes(&primary);
    let a_bytes = snap_a.summary.as_ref().unwrap().bytes_stored;
    eprintln!(
        "source: 2 snapshots, {:.1} MB stored ({:.1} MB in the first); backups took {backup_time:?}",
        mb(total),
        mb(a_bytes)
    );
    assert!(total > 25_000_000, "{total}");

    let proxy = Proxy::start(([127, 0, 0, 1], m.port).into());
    let setup = s3_backend(&m.endpoint, "embassy", "replica");
    setup.create_bucket(false).unwrap();
    let replica = Repository::init(
        Arc::new(s3_backend(&proxy.endpoint(), "embassy", "replica")),
        "embassy password",
        opts(Some(&primary)),
    )
    .unwrap();
    let ropts = ReplicateOptions::default();

    // Run 1: cut the network half-way through the second snapshot's data.
    let cut_after = a_bytes + (total - a_bytes) / 2;
    proxy.cut_after(cut_after);
    let wire0 = proxy.uploaded();
    let t1 = Instant::now();
    let err = ops::replicate(&primary, &replica, &ropts, &NoProgress).unwrap_err();
    let run1_time = t1.elapsed();
    let wire1 = proxy.uploaded() - wire0;
    assert!(proxy.is_cut(), "the run failed before the cut: {err}");
    let surfaced = proxy.cut_time().unwrap().elapsed();
    let msg = err.to_string();
    eprintln!("run 1 failed after {run1_time:?} ({surfaced:?} after the cut): {msg}");
    assert!(
        matches!(err.error, Error::Backend { .. }),
        "{:?}",
        err.error
    );
    assert!(
        msg.contains("s3://embassy/replica/") && msg.contains("during "),
        "the error names the operation and object: {msg}"
    );
    assert!(
        surfaced < Duration::from_secs(30),
        "a cut must not hang: {surfaced:?}"
    );
    let first = &err.partial;
    // The first snapshot was complete (checkpointed) before the cut.
    assert_eq!(first.snapshots_copied.len(), 1, "{first:?}");
    assert_eq!(first.snapshots_copied[0].source, snap_a.id);
    assert_eq!(first.newest_replicated_snapshot_time, Some(snap_a.time));
    let rpo1 = first.achieved_rpo(Utc::now()).unwrap();
    assert!(
        rpo1 >= Duration::from_secs(3 * 3600) && rpo1 < Duration::from_secs(3 * 3600 + 300),
        "{rpo1:?}"
    );
    assert!(first.bytes_uploaded > a_bytes && first.bytes_uploaded < total);

    // The network is back. What arrived is a valid repository.
    proxy.restore();
    let arrived = pack_bytes(&replica);
    let indexed: HashSet<_> = replica.load_index().unwrap().packs().copied().collect();
    let listed = replica.backend().list(FileType::Pack).unwrap();
    let orphans: Vec<&FileInfo> = listed
        .iter()
        .filter(|f| !indexed.iter().any(|p| p.to_hex() == f.name))
        .collect();
    let orphan_bytes: u64 = orphans.iter().map(|f| f.size).sum();
    eprintln!(
        "after the cut: {} packs / {:.2} MB arrived ({:.2} MB reported), {} of them ({:.2} MB) not yet indexed; {:.2} MB went over the wire",
        listed.len(),
        mb(arrived),
        mb(first.bytes_uploaded),
        orphans.len(),
        mb(orphan_bytes),
        mb(wire1)
    );
    // Packs whose PUT arrived but whose response the cut swallowed count as
    // failed for the client; they are there, so they are not sent again.
    assert!(first.bytes_uploaded <= arrived);
    assert!(arrived - first.bytes_uploaded <= 8 * (PACK + 64 * 1024));
    let r = check_read_data(&replica);
    assert_eq!(r.snapshots, 1);
    assert_eq!(r.warnings.len(), orphans.len(), "{:?}", r.warnings);

    // Run 2: completes, sending only what never arrived.
    let wire0 = proxy.uploaded();
    let t2 = Instant::now();
    let second = ops::replicate(&primary, &replica, &ropts, &NoProgress).unwrap();
    let run2_time = t2.elapsed();
    let wire2 = proxy.uploaded() - wire0;
    let final_bytes = pack_bytes(&replica);
    eprintln!(
        "run 2 in {run2_time:?}: {:.2} MB uploaded ({} packs), {:.2} MB skipped as present, {} packs / {:.2} MB adopted; {:.2} MB over the wire",
        mb(second.bytes_uploaded),
        second.packs_uploaded,
        mb(second.bytes_skipped),
        second.adopted.packs,
        mb(second.adopted.bytes),
        mb(wire2)
    );
    eprintln!(
        "bytes: run 1 arrived {} + run 2 {} = {} ; replica {} ; source {} ; a pack is {}",
        arrived,
        second.bytes_uploaded,
        arrived + second.bytes_uploaded,
        final_bytes,
        total,
        PACK
    );
    assert_eq!(second.snapshots_copied.len(), 1);
    assert_eq!(second.snapshots_copied[0].source, snap_b.id);
    assert_eq!(second.snapshots_present, 1);
    assert_eq!(second.adopted.packs as usize, orphans.len());
    assert_eq!(second.adopted.bytes, orphan_bytes);
    assert!(second.adopted.unreadable.is_empty());
    // Nothing that arrived was sent again, and nothing is missing.
    assert!(second.bytes_uploaded < total - a_bytes);
    assert!(second.bytes_skipped > 0);
    assert_eq!(arrived + second.bytes_uploaded, final_bytes);
    assert!(
        final_bytes.abs_diff(total) < PACK,
        "{final_bytes} vs {total}"
    );
    assert!(
        (first.bytes_uploaded + second.bytes_uploaded).abs_diff(total)
            < PACK + (arrived - first.bytes_uploaded),
    );
    assert!(wire2 < total, "{wire2}");
    // Blob for blob the replica holds what the primary holds, each once.
    let (src_ids, _, src_blob_bytes) = blobs(&primary);
    let (dst_ids, dst_entries, dst_blob_bytes) = blobs(&replica);
    assert_eq!(dst_ids, src_ids);
    assert_eq!(dst_entries, dst_ids.len(), "a blob was stored twice");
    assert_eq!(dst_blob_bytes, src_blob_bytes);

    assert_eq!(second.newest_replicated_snapshot_time, Some(snap_b.time));
    let rpo = ops::achieved_rpo(&second, Utc::now()).unwrap();
    assert!(
        rpo >= Duration::from_secs(2 * 3600) && rpo < Duration::from_secs(2 * 3600 + 300),
        "{rpo:?}"
    );
    // The lock left behind by the cut run was recognised and removed.
    assert!(replica.backend().list(FileType::Lock).unwrap().is_empty());

    let r = check_read_data(&replica);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.snapshots, 2);
    let latest = replica.find_snapshot("latest").unwrap();
    assert_eq!(latest.original, Some(snap_b.id));
    restore_and_compare(&replica, &latest, &src, t.path(), "restored");

    // Run 3: nothing new, nothing sent.
    let third = ops::replicate(&primary, &replica, &ropts, &NoProgress).unwrap();
    assert_eq!(
        (
            third.snapshots_copied.len(),
            third.snapshots_present,
            third.bytes_uploaded
        ),
        (0, 2, 0)
    );
    eprintln!(
        "timings: run 1 {run1_time:?}, run 2 {run2_time:?}, run 3 {:?}",
        third.duration
    );
}

/// A stalled link (packets swallowed, connections left open) must not
/// hang a request: the attempt timeout and bounded retries turn it into an
/// error naming the operation and object within seconds.
#[cfg(feature = "s3")]
#[test]
fn stalled_network_times_out_with_a_clear_error() {
    use makonis_embassy::backend::s3::S3Timeouts;
    let Some(m) = common::moto::start_moto() else {
        return;
    };
    s3_backend(&m.endpoint, "stall", "")
        .create_bucket(false)
        .unwrap();
    let proxy = Proxy::start(([127, 0, 0, 1], m.port).into());
    let timeouts = S3Timeouts {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(1),
        operation: None,
        max_attempts: 2,
        initial_backoff: Duration::from_millis(100),
    };
    let b = s3_with(&proxy.endpoint(), "stall", "r", timeouts);
    b.write(FileType::Index, "before", b"ok").unwrap();
    proxy.blackhole(true);
    let t0 = Instant::now();
    let e = b
        .write(FileType::Pack, "00aa", &pseudo(2_000_000, 1))
        .unwrap_err();
    let took = t0.elapsed();
    eprintln!("stalled write failed after {took:?}: {e}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("during write of s3://stall/r/data/00/00aa") && msg.contains("timeout"),
        "{msg}"
    );
    let t0 = Instant::now();
    let e = b.list(FileType::Snapshot).unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(8));
    assert!(e.to_string().contains("during list of"), "{e}");
    proxy.blackhole(false);
    assert_eq!(b.read(FileType::Index, "before").unwrap(), b"ok");
}

/// Cold copies into an Object Lock (COMPLIANCE) bucket: objects cannot be
/// deleted, a later cold copy sends only new data, never overwrites an
/// object, and extends the retention of the old objects it reuses.
#[cfg(feature = "s3")]
#[test]
fn cold_copies_are_immutable_incremental_and_keep_reused_data_locked() {
    use makonis_embassy::backend::s3::ObjectLock;
    let Some(m) = common::moto::start_moto() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("data");
    varied(&src, 6, 300_000, 3);
    make_tree(&src.join("tree"));
    let primary = Repository::init(backend(&t.path().join("primary")), PW, opts(None)).unwrap();
    let s1 = backup_at(&primary, &src, chrono::Duration::minutes(30), "is-a");

    let bucket = s3_backend(&m.endpoint, "cold", "");
    bucket.create_bucket(true).unwrap();
    let lock = ObjectLock {
        compliance: true,
        retain: Duration::from_secs(3600),
    };
    let cold_backend = || Arc::new(s3_backend(&m.endpoint, "cold", "is-a").with_object_lock(lock));
    let cold = Repository::init(cold_backend(), "cold password", opts(Some(&primary))).unwrap();
    let ropts = ReplicateOptions::default();

    // A hot (unlocked) replica is refused as a cold copy target.
    let plain = s3_backend(&m.endpoint, "cold", "plain");
    let hot = Repository::init(Arc::new(plain), "x", opts(Some(&primary))).unwrap();
    let e = ops::cold_copy(&primary, &hot, &ropts, &NoProgress).unwrap_err();
    assert!(e.to_string().contains("COMPLIANCE object lock"), "{e}");

    let c1 = ops::cold_copy(&primary, &cold, &ropts, &NoProgress).unwrap();
    let info1 = c1.cold.clone().unwrap();
    eprintln!(
        "cold copy 1: {:.2} MB, {} objects locked until {}",
        mb(c1.bytes_uploaded),
        info1.objects_checked,
        info1.retained_until
    );
    assert_eq!(c1.snapshots_copied.len(), 1);
    assert!(info1.compliance);
    // Objects written by this run need no extension; config and key
    // (written by init, before the run) may (unless in the same second).
    assert!(info1.objects_extended <= 2, "{info1:?}");
    assert!(info1.objects_checked > 5);
    let packs1 = cold.backend().list(FileType::Pack).unwrap();
    let r = cold
        .backend()
        .retention(FileType::Pack, &packs1[0].name)
        .unwrap()
        .unwrap();
    assert!(r.compliance);
    let left = r.until - Utc::now();
    assert!(
        left > chrono::Duration::minutes(59) && left <= chrono::Duration::minutes(60),
        "{left}"
    );

    // Deleting before the retain-until date fails, naming the object.
    let e = cold
        .backend()
        .delete(FileType::Pack, &packs1[0].name)
        .unwrap_err();
    assert!(e.to_string().contains(&packs1[0].name), "{e}");
    let snaps = cold.backend().list(FileType::Snapshot).unwrap();
    assert!(
        cold.backend()
            .delete(FileType::Snapshot, &snaps[0].name)
            .is_err()
    );
    let idx = cold.backend().list(FileType::Index).unwrap();
    assert!(
        cold.backend()
            .delete(FileType::Index, &idx[0].name)
            .is_err()
    );
    assert!(
        cold.backend()
            .exists(FileType::Pack, &packs1[0].name)
            .unwrap()
    );

    // Later: a little new data, a second cold copy into the same bucket.
    std::thread::sleep(Duration::from_millis(1100));
    fs::write(src.join("new.txt"), text(200_000, 9)).unwrap();
    let s2 = backup_at(&primary, &src, chrono::Duration::minutes(1), "is-a");
    let c2 = ops::cold_copy(&primary, &cold, &ropts, &NoProgress).unwrap();
    let info2 = c2.cold.clone().unwrap();
    eprintln!(
        "cold copy 2: {:.3} MB uploaded, {:.2} MB reused, {} of {} objects' retention extended to {}",
        mb(c2.bytes_uploaded),
        mb(c2.bytes_skipped),
        info2.objects_extended,
        info2.objects_checked,
        info2.retained_until
    );
    assert_eq!(c2.snapshots_copied.len(), 1);
    assert_eq!(c2.snapshots_copied[0].source, s2.id);
    assert_eq!(c2.snapshots_present, 1);
    assert!(c2.bytes_uploaded < c1.bytes_uploaded / 3);
    assert!(c2.bytes_skipped > c1.bytes_uploaded / 2);
    assert!(info2.retained_until > info1.retained_until);
    // The old packs the new snapshot reuses are now locked as long as the
    // new ones, as are index files, config and keys.
    assert!(info2.objects_extended > 0);
    for p in &packs1 {
        let r = cold
            .backend()
            .retention(FileType::Pack, &p.name)
            .unwrap()
            .unwrap();
        assert!(r.until >= info2.retained_until, "{} {:?}", p.name, r);
    }
    let cfg = cold
        .backend()
        .retention(FileType::Config, "config")
        .unwrap();
    assert!(cfg.unwrap().until >= info2.retained_until);

    // No object was ever overwritten: one version per key, no lock files.
    let versions = s3_backend(&m.endpoint, "cold", "is-a")
        .object_versions()
        .unwrap();
    assert!(versions.len() > packs1.len());
    for (key, n) in &versions {
        assert_eq!(*n, 1, "{key} has {n} versions");
        assert!(!key.contains("/locks/"), "{key}");
    }
    // A write of an existing name is refused by the store (create-only),
    // and for content-addressed objects counts as already done.
    let b = cold_backend();
    let before = b.size(FileType::Pack, &packs1[0].name).unwrap();
    b.write(FileType::Pack, &packs1[0].name, b"not the pack")
        .unwrap();
    assert_eq!(b.size(FileType::Pack, &packs1[0].name).unwrap(), before);
    assert!(matches!(
        b.write(FileType::Config, "config", b"x"),
        Err(Error::AlreadyExists(_))
    ));

    check_read_data(&cold);
    let latest = cold.find_snapshot("latest").unwrap();
    assert_eq!(latest.original, Some(s2.id));
    restore_and_compare(&cold, &latest, &src, t.path(), "restored");
    let _ = s1;
}

/// Per-IS filters, RPO, and incremental replication between repositories
/// with their own id keys (nothing shared): the second run reads only the
/// changed data from the source, thanks to the earlier copy.
#[test]
fn replication_with_own_keys_filters_by_is_and_stays_incremental() {
    let t = tempfile::tempdir().unwrap();
    let (src_a, src_b) = (t.path().join("is-a"), t.path().join("is-b"));
    varied(&src_a, 6, 400_000, 4);
    make_tree(&src_a.join("tree"));
    varied(&src_b, 3, 300_000, 5);
    let primary = Repository::init(backend(&t.path().join("primary")), PW, opts(None)).unwrap();
    let a1 = backup_at(&primary, &src_a, chrono::Duration::hours(5), "is-a");
    let b1 = backup_at(&primary, &src_b, chrono::Duration::hours(1), "is-b");
    let replica = Repository::init(backend(&t.path().join("replica")), "own", opts(None)).unwrap();
    assert!(!replica.key().same_ids_as(primary.key()));
    let only_a = ReplicateOptions {
        filter: SnapshotFilter {
            tags: vec!["is:is-a".into()],
            ..Default::default()
        },
        ..Default::default()
    };

    let r1 = ops::replicate(&primary, &replica, &only_a, &NoProgress).unwrap();
    assert_eq!(r1.snapshots_copied.len(), 1);
    assert_eq!(r1.snapshots_copied[0].source, a1.id);
    assert_eq!(r1.newest_source_snapshot_time, Some(a1.time));
    assert_eq!(r1.newest_replicated_snapshot_time, Some(a1.time));
    let rpo = r1.achieved_rpo(Utc::now()).unwrap();
    assert!(rpo >= Duration::from_secs(5 * 3600) && rpo < Duration::from_secs(5 * 3600 + 300));
    assert_eq!(
        replica.list_snapshots().unwrap().len(),
        1,
        "is-b not copied"
    );
    let a_size = dir_size(&src_a);
    assert!(r1.source_bytes_read > a_size / 2, "{r1:?}");

    // One file of IS a changes; the next run reads and sends about that.
    fs::write(src_a.join("f0.bin"), pseudo(400_000, 77)).unwrap();
    let a2 = backup_at(&primary, &src_a, chrono::Duration::minutes(10), "is-a");
    let r2 = ops::replicate(&primary, &replica, &only_a, &NoProgress).unwrap();
    eprintln!(
        "own keys, incremental: read {} of {} source bytes, uploaded {} bytes, skipped {}",
        r2.source_bytes_read, a_size, r2.bytes_uploaded, r2.bytes_skipped
    );
    assert_eq!(r2.snapshots_copied.len(), 1);
    assert_eq!(r2.snapshots_present, 1);
    assert!(r2.source_bytes_read >= 400_000 && r2.source_bytes_read < 500_000);
    assert!(r2.bytes_uploaded < 600_000, "{}", r2.bytes_uploaded);
    assert!(r2.bytes_skipped > a_size / 3);
    assert_eq!(r2.newest_replicated_snapshot_time, Some(a2.time));
    let rpo = ops::achieved_rpo(&r2.newest_replicated_snapshot_time, Utc::now()).unwrap();
    assert!(rpo >= Duration::from_secs(600) && rpo < Duration::from_secs(900));

    // All ISes: is-b follows, is-a is present.
    let all = ops::replicate(&primary, &replica, &Default::default(), &NoProgress).unwrap();
    assert_eq!(all.snapshots_copied.len(), 1);
    assert_eq!(all.snapshots_copied[0].source, b1.id);
    assert_eq!(all.snapshots_present, 2);
    assert_eq!(all.newest_source_snapshot_time, Some(a2.time));
    assert_eq!(all.newest_replicated_snapshot_time, Some(a2.time));

    check_read_data(&replica);
    let latest_a = replica
        .list_snapshots()
        .unwrap()
        .into_iter()
        .find(|s| s.original == Some(a2.id))
        .unwrap();
    restore_and_compare(&replica, &latest_a, &src_a, t.path(), "ra");
    // Nothing replicated yet: the RPO is unbounded.
    assert_eq!(
        ops::achieved_rpo(&ops::ReplicationReport::default(), Utc::now()),
        None
    );
}

// ------------------------------------------------------------------ injected faults

/// A local backend whose "network" goes down after a number of pack
/// writes: from then on every request fails, until it is brought back.
#[derive(Debug)]
struct Flaky {
    inner: makonis_embassy::LocalBackend,
    packs_left: AtomicU64,
    down: AtomicBool,
}

impl Flaky {
    fn fail(&self, op: &'static str, t: FileType, name: &str) -> makonis_embassy::Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::Backend {
                op,
                path: t.path(name),
                message: "network unreachable (injected)".into(),
            });
        }
        Ok(())
    }
}

impl Backend for Flaky {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn create(&self) -> makonis_embassy::Result<()> {
        self.inner.create()
    }
    fn list(&self, t: FileType) -> makonis_embassy::Result<Vec<FileInfo>> {
        self.fail("list", t, "")?;
        self.inner.list(t)
    }
    fn read(&self, t: FileType, name: &str) -> makonis_embassy::Result<Vec<u8>> {
        self.fail("read", t, name)?;
        self.inner.read(t, name)
    }
    fn read_range(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
    ) -> makonis_embassy::Result<Vec<u8>> {
        self.fail("read", t, name)?;
        self.inner.read_range(t, name, offset, len)
    }
    fn write(&self, t: FileType, name: &str, data: &[u8]) -> makonis_embassy::Result<()> {
        if t == FileType::Pack && !self.down.load(Ordering::SeqCst) {
            // A write that got one of the last slots completes even if a
            // concurrent one takes the network down meanwhile.
            let slot = self
                .packs_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            if slot.is_ok() {
                return self.inner.write(t, name, data);
            }
            self.down.store(true, Ordering::SeqCst);
        }
        self.fail("write", t, name)?;
        self.inner.write(t, name, data)
    }
    fn delete(&self, t: FileType, name: &str) -> makonis_embassy::Result<()> {
        self.fail("delete", t, name)?;
        self.inner.delete(t, name)
    }
    fn exists(&self, t: FileType, name: &str) -> makonis_embassy::Result<bool> {
        self.fail("stat", t, name)?;
        self.inner.exists(t, name)
    }
    fn size(&self, t: FileType, name: &str) -> makonis_embassy::Result<u64> {
        self.fail("stat", t, name)?;
        self.inner.size(t, name)
    }
    fn concurrency(&self) -> usize {
        3
    }
    fn create_spool(&self) -> makonis_embassy::Result<Option<Spool>> {
        Ok(None)
    }
}

/// Deterministic cuts at several points of one transfer (local backend
/// with injected failures): each leaves a valid replica, and the resumed
/// run sends exactly what had not arrived.
#[test]
fn interrupted_replication_at_any_point_resumes_exactly() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("data");
    varied(&src, 8, 600_000, 6);
    let primary = Repository::init(backend(&t.path().join("primary")), PW, opts(None)).unwrap();
    let snap = backup_at(&primary, &src, chrono::Duration::minutes(5), "is-a");
    let total = pack_bytes(&primary);
    for (i, cut_after_packs) in [0u64, 1, 3].into_iter().enumerate() {
        let dir = t.path().join(format!("replica{i}"));
        let flaky = Arc::new(Flaky {
            inner: makonis_embassy::LocalBackend::new(&dir).without_fsync(),
            packs_left: AtomicU64::new(u64::MAX),
            down: AtomicBool::new(false),
        });
        let replica = Repository::init(flaky.clone(), "r", opts(Some(&primary))).unwrap();
        flaky.packs_left.store(cut_after_packs, Ordering::SeqCst);
        let e = ops::replicate(&primary, &replica, &Default::default(), &NoProgress).unwrap_err();
        assert!(e.to_string().contains("injected"), "{e}");
        assert!(e.to_string().contains("during write of data/"), "{e}");
        assert_eq!(e.partial.packs_uploaded, cut_after_packs);
        assert!(e.partial.snapshots_copied.is_empty());
        flaky.down.store(false, Ordering::SeqCst);
        flaky.packs_left.store(u64::MAX, Ordering::SeqCst);
        let arrived = pack_bytes(&replica);
        assert_eq!(arrived, e.partial.bytes_uploaded);
        // Valid: no snapshot, packs not indexed (the index write failed too).
        let r = check_read_data(&replica);
        assert_eq!(r.snapshots, 0);
        assert_eq!(r.warnings.len() as u64, cut_after_packs);

        let ok = ops::replicate(&primary, &replica, &Default::default(), &NoProgress).unwrap();
        assert_eq!(ok.adopted.packs, cut_after_packs);
        assert_eq!(ok.adopted.bytes, arrived);
        assert_eq!(ok.snapshots_copied.len(), 1);
        assert_eq!(arrived + ok.bytes_uploaded, pack_bytes(&replica));
        assert!(pack_bytes(&replica).abs_diff(total) < PACK);
        let (src_ids, _, _) = blobs(&primary);
        let (dst_ids, entries, _) = blobs(&replica);
        assert_eq!(dst_ids, src_ids);
        assert_eq!(entries, dst_ids.len(), "a blob was stored twice");
        let r = check_read_data(&replica);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        let latest = replica.find_snapshot("latest").unwrap();
        assert_eq!(latest.original, Some(snap.id));
        restore_and_compare(&replica, &latest, &src, t.path(), &format!("out{i}"));
    }
}

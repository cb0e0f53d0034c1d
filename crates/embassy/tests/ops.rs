//! End-to-end tests of the repository operations on a local backend.

mod common;

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use common::*;
use makonis_embassy::backend::FileType;
use makonis_embassy::ops::{
    self, BackupOptions, CheckOptions, DiffKind, KeepPolicy, ParentChoice, PruneOptions,
    RestoreOptions,
};
use makonis_embassy::progress::CountingProgress;
use makonis_embassy::{Error, InitOptions, NoProgress, Repository};

fn backup(repo: &Repository, src: &std::path::Path) -> ops::BackupResult {
    ops::backup(
        repo,
        &[src.to_path_buf()],
        &BackupOptions::default(),
        &NoProgress,
    )
    .unwrap()
}

fn check_ok(repo: &Repository) {
    let r = ops::check(repo, &CheckOptions { read_data: true }, &NoProgress).unwrap();
    assert!(r.is_ok(), "check problems: {:?}", r.problems);
}

fn restore_to(repo: &Repository, spec: &str, target: PathBuf) -> ops::RestoreSummary {
    let snap = repo.find_snapshot(spec).unwrap();
    let r = ops::restore(
        repo,
        &snap,
        &RestoreOptions {
            target,
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r
}

#[test]
fn backup_restore_roundtrip_preserves_content_and_metadata() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src-tree");
    make_tree(&src);
    let repo = init_repo(&t.path().join("repo"));
    let prog = CountingProgress::default();
    let r = ops::backup(
        &repo,
        std::slice::from_ref(&src),
        &BackupOptions::default(),
        &prog,
    )
    .unwrap();
    assert!(r.summary.errors.is_empty(), "{:?}", r.summary.errors);
    assert_eq!(r.summary.files_new, 7);
    assert_eq!(
        prog.done.load(std::sync::atomic::Ordering::Relaxed),
        dir_size_files(&src)
    );
    // The duplicate photo and compressible text shrink the stored size.
    assert!(r.summary.bytes_stored < r.summary.total_bytes / 2 + 300_000);
    check_ok(&repo);

    let out = t.path().join("out");
    let snap = repo.find_snapshot("latest").unwrap();
    let rprog = CountingProgress::default();
    let rs = ops::restore(
        &repo,
        &snap,
        &RestoreOptions {
            target: out.clone(),
            ..Default::default()
        },
        &rprog,
    )
    .unwrap();
    assert!(rs.errors.is_empty(), "{:?}", rs.errors);
    let total = rprog.total.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(total, dir_size_files(&src));
    assert_eq!(rprog.done.load(std::sync::atomic::Ordering::Relaxed), total);
    assert_eq!(rs.files, 7);
    assert_same_tree(&src, &out.join("src-tree"));
    assert_eq!(repo.list_snapshots().unwrap().len(), 1);
}

fn dir_size_files(p: &std::path::Path) -> u64 {
    let mut n = 0;
    for e in fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        let m = fs::symlink_metadata(e.path()).unwrap();
        if m.is_dir() {
            n += dir_size_files(&e.path());
        } else if m.is_file() {
            n += m.len();
        }
    }
    n
}

#[test]
fn incremental_backup_reads_only_changed_files() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("s");
    make_tree(&src);
    let repo = init_repo(&t.path().join("repo"));
    let first = backup(&repo, &src);
    let second = backup(&repo, &src);
    assert_eq!(second.snapshot.parent, Some(first.snapshot.id));
    assert_eq!(
        second.summary.bytes_read, 0,
        "unchanged files must not be read"
    );
    assert_eq!(second.summary.files_unmodified, 7);
    assert_eq!(second.summary.data_blobs_added, 0);
    assert_eq!(second.snapshot.tree, first.snapshot.tree);

    // Change 1 KiB in the middle of the 400 KB dump.
    let mut db = fs::read(src.join("db.sql")).unwrap();
    db[200_000..201_024].copy_from_slice(&pseudo(1024, 99));
    fs::write(src.join("db.sql"), &db).unwrap();
    let third = backup(&repo, &src);
    assert_eq!(third.summary.files_changed, 1);
    assert_eq!(third.summary.bytes_read, db.len() as u64);
    assert!(
        third.summary.data_blobs_added <= 3,
        "re-chunking must reuse most chunks: {}",
        third.summary.data_blobs_added
    );

    // Without a parent everything is read again but nothing new stored.
    let full = ops::backup(
        &repo,
        std::slice::from_ref(&src),
        &BackupOptions {
            parent: ParentChoice::None,
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    assert_eq!(full.summary.data_blobs_added, 0);
    assert!(full.summary.bytes_read > 1_000_000);
    check_ok(&repo);
    let out = t.path().join("out");
    restore_to(&repo, "latest", out.clone());
    assert_same_tree(&src, &out.join("s"));
}

#[test]
fn stdin_stream_backup_and_restore() {
    let t = tempfile::tempdir().unwrap();
    let repo = init_repo(&t.path().join("repo"));
    let mut data = text(500_000, 5);
    data.extend(pseudo(200_000, 6));
    let r = ops::backup_reader(
        &repo,
        &data[..],
        "pg_dump.sql",
        &BackupOptions::default(),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(r.snapshot.paths, vec!["stdin:pg_dump.sql".to_string()]);
    let out = t.path().join("out");
    restore_to(&repo, &r.snapshot.id.to_hex()[..8], out.clone());
    assert!(fs::read(out.join("pg_dump.sql")).unwrap() == data);
    assert!(
        ops::backup_reader(
            &repo,
            &b""[..],
            "a/b",
            &BackupOptions::default(),
            &NoProgress
        )
        .is_err()
    );
}

#[test]
fn restore_subpath_only() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("s");
    make_tree(&src);
    let repo = init_repo(&t.path().join("repo"));
    let r = backup(&repo, &src);
    let out = t.path().join("out");
    let opts = RestoreOptions {
        target: out.clone(),
        subpath: Some("s/src".into()),
        threads: 1,
    };
    ops::restore(&repo, &r.snapshot, &opts, &NoProgress).unwrap();
    assert_same_tree(&src.join("src"), &out.join("src"));
    assert!(!out.join("db.sql").exists());
    let opts = RestoreOptions {
        target: out,
        subpath: Some("s/nope".into()),
        threads: 1,
    };
    assert!(matches!(
        ops::restore(&repo, &r.snapshot, &opts, &NoProgress),
        Err(Error::PathNotFound(_))
    ));
}

#[test]
fn diff_lists_added_removed_and_modified_paths() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("s");
    make_tree(&src);
    let repo = init_repo(&t.path().join("repo"));
    let a = backup(&repo, &src).snapshot;
    fs::write(src.join("new.txt"), b"new").unwrap();
    fs::remove_file(src.join("empty")).unwrap();
    fs::write(src.join("src/deep/er/notes.txt"), b"changed").unwrap();
    let b = backup(&repo, &src).snapshot;
    let d = ops::diff(&repo, &a, &b).unwrap();
    let has = |p: &str, k: DiffKind| d.iter().any(|e| e.path == p && e.kind == k);
    assert!(has("s/new.txt", DiffKind::Added), "{d:?}");
    assert!(has("s/empty", DiffKind::Removed), "{d:?}");
    assert!(has("s/src/deep/er/notes.txt", DiffKind::Modified), "{d:?}");
    assert!(!d.iter().any(|e| e.path.contains("photo")), "{d:?}");
}

#[test]
fn passwords_keys_and_versions() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("repo");
    let repo = init_repo(&dir);
    let e = Repository::open(backend(&dir), "wrong").unwrap_err();
    assert!(matches!(e, Error::WrongPassword { tried: 1, .. }), "{e}");
    assert!(e.to_string().contains("wrong password"));

    let second = repo
        .add_key("second", makonis_embassy::KdfParams::insecure_fast())
        .unwrap();
    let r2 = Repository::open(backend(&dir), "second").unwrap();
    assert_eq!(r2.key_name(), second);
    assert!(
        r2.remove_key(&second).is_err(),
        "cannot remove the key in use"
    );
    r2.remove_key(repo.key_name()).unwrap();
    assert!(matches!(
        Repository::open(backend(&dir), PW),
        Err(Error::WrongPassword { .. })
    ));
    assert!(
        r2.remove_key(&second).is_err(),
        "cannot remove the last key"
    );

    assert!(matches!(
        Repository::init(backend(&dir), PW, small_opts()),
        Err(Error::AlreadyExists(_))
    ));
    assert!(matches!(
        Repository::open(backend(&t.path().join("none")), PW),
        Err(Error::NotARepository(_))
    ));

    // A future format version is refused before any password work.
    let mut cfg = fs::read(dir.join("config")).unwrap();
    cfg[8..12].copy_from_slice(&7u32.to_le_bytes());
    fs::write(dir.join("config"), cfg).unwrap();
    let e = Repository::open(backend(&dir), "second").unwrap_err();
    assert!(
        matches!(e, Error::UnsupportedVersion { found: 7, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("version 7"), "{e}");
}

#[test]
fn ids_do_not_reveal_content_across_repositories() {
    let t = tempfile::tempdir().unwrap();
    let a = init_repo(&t.path().join("a"));
    let b = init_repo(&t.path().join("b"));
    assert_ne!(a.key().blob_id(b"same"), b.key().blob_id(b"same"));
    let shared = Repository::init(
        backend(&t.path().join("c")),
        PW,
        InitOptions {
            share_ids_with: Some(a.key().clone()),
            ..small_opts()
        },
    )
    .unwrap();
    assert_eq!(a.key().blob_id(b"same"), shared.key().blob_id(b"same"));
}

#[test]
fn unreadable_source_is_reported_and_backup_continues() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("s");
    make_tree(&src);
    let repo = init_repo(&t.path().join("repo"));
    // Reading /proc/self/mem at offset 0 fails with EIO even for root,
    // unlike a chmod 000 file.
    let bad = PathBuf::from("/proc/self/mem");
    let r = ops::backup(
        &repo,
        &[src.clone(), bad.clone()],
        &BackupOptions::default(),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(r.summary.errors.len(), 1, "{:?}", r.summary.errors);
    assert_eq!(r.summary.errors[0].0, "/proc/self/mem");
    assert_eq!(r.snapshot.summary.as_ref().unwrap().errors.len(), 1);
    check_ok(&repo);
    let out = t.path().join("out");
    restore_to(&repo, "latest", out.clone());
    assert_same_tree(&src, &out.join("s"));
    assert!(!out.join("mem").exists());
}

#[test]
fn locks_shared_exclusive_and_stale() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("repo");
    let repo = init_repo(&dir);
    let s1 = makonis_embassy::lock::lock(&repo, false, Duration::ZERO).unwrap();
    let s2 = makonis_embassy::lock::lock(&repo, false, Duration::ZERO).unwrap();
    let e = makonis_embassy::lock::lock(&repo, true, Duration::ZERO).unwrap_err();
    assert!(e.is_locked(), "{e}");
    // Prune and forget refuse while a backup holds its shared lock.
    assert!(
        ops::prune(&repo, &PruneOptions::default(), &NoProgress)
            .unwrap_err()
            .is_locked()
    );
    drop((s1, s2));
    let x = makonis_embassy::lock::lock(&repo, true, Duration::ZERO).unwrap();
    let src = t.path().join("s");
    fs::create_dir(&src).unwrap();
    assert!(
        ops::backup(
            &repo,
            std::slice::from_ref(&src),
            &BackupOptions::default(),
            &NoProgress
        )
        .unwrap_err()
        .is_locked()
    );
    drop(x);
    assert!(
        repo.backend().list(FileType::Lock).unwrap().is_empty(),
        "locks are removed on drop"
    );

    // A lock left by a dead process on this host is stale and removed.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let info = makonis_embassy::lock::LockInfo {
        exclusive: true,
        hostname: makonis_embassy::lock::LockInfo::current_host(),
        username: "x".into(),
        pid: dead_pid,
        time: chrono::Utc::now(),
    };
    makonis_embassy::lock::write_raw(&repo, &info).unwrap();
    let l = makonis_embassy::lock::lock(&repo, true, Duration::ZERO).unwrap();
    assert_eq!(repo.backend().list(FileType::Lock).unwrap().len(), 1);
    drop(l);

    // Another host's lock: live while fresh, stale after 30 minutes
    // without a refresh.
    let other = makonis_embassy::lock::LockInfo {
        exclusive: false,
        hostname: "embassy-host-abroad".into(),
        username: "x".into(),
        pid: 1,
        time: chrono::Utc::now(),
    };
    makonis_embassy::lock::write_raw(&repo, &other).unwrap();
    let e = makonis_embassy::lock::lock(&repo, true, Duration::ZERO).unwrap_err();
    assert!(e.to_string().contains("embassy-host-abroad"), "{e}");
    makonis_embassy::lock::break_locks(&repo).unwrap();
    let old = makonis_embassy::lock::LockInfo {
        time: chrono::Utc::now() - chrono::Duration::minutes(31),
        ..other
    };
    makonis_embassy::lock::write_raw(&repo, &old).unwrap();
    drop(makonis_embassy::lock::lock(&repo, true, Duration::ZERO).unwrap());
    assert!(repo.backend().list(FileType::Lock).unwrap().is_empty());
}

#[test]
fn forget_and_prune_free_space_and_keep_repository_valid() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("s");
    make_tree(&src);
    let dir = t.path().join("repo");
    let repo = init_repo(&dir);
    backup(&repo, &src);
    fs::write(src.join("big-random.bin"), pseudo(600_000, 42)).unwrap();
    backup(&repo, &src);
    fs::remove_file(src.join("big-random.bin")).unwrap();
    fs::write(src.join("db.sql"), text(300_000, 77)).unwrap();
    let last = backup(&repo, &src);
    let before = dir_size(&dir.join("data"));

    let groups = ops::forget(
        &repo,
        &KeepPolicy {
            last: Some(1),
            ..Default::default()
        },
        false,
    )
    .unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].keep.len(), 1);
    assert_eq!(groups[0].remove.len(), 2);
    assert_eq!(repo.list_snapshots().unwrap().len(), 1);
    assert!(
        ops::forget(&repo, &KeepPolicy::default(), false).is_err(),
        "empty policy refused"
    );

    let dry = ops::prune(
        &repo,
        &PruneOptions {
            dry_run: true,
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    assert_eq!(
        dir_size(&dir.join("data")),
        before,
        "dry run deletes nothing"
    );
    let s = ops::prune(&repo, &PruneOptions::default(), &NoProgress).unwrap();
    assert_eq!(s.packs_deleted, dry.packs_deleted);
    assert!(s.packs_deleted + s.packs_repacked > 0, "{s:?}");
    let after = dir_size(&dir.join("data"));
    assert!(
        after + 600_000 < before,
        "prune freed too little: {before} -> {after}"
    );
    assert_eq!(
        repo.backend().list(FileType::Index).unwrap().len(),
        1,
        "index consolidated"
    );
    check_ok(&repo);
    let out = t.path().join("out");
    restore_to(&repo, &last.snapshot.id.to_hex(), out.clone());
    assert_same_tree(&src, &out.join("s"));
    // A second prune has nothing to do.
    let again = ops::prune(&repo, &PruneOptions::default(), &NoProgress).unwrap();
    assert_eq!(
        again.packs_deleted + again.packs_repacked + again.orphan_packs_deleted,
        0,
        "{again:?}"
    );
}

fn copy_roundtrip(share_ids: bool) {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("s");
    make_tree(&src);
    let a = init_repo(&t.path().join("a"));
    let opts = InitOptions {
        share_ids_with: share_ids.then(|| a.key().clone()),
        ..small_opts()
    };
    let b = Repository::init(backend(&t.path().join("b")), "embassy password", opts).unwrap();
    backup(&a, &src);
    let c1 = ops::copy(&a, &b, &[], &NoProgress).unwrap();
    assert_eq!(c1.snapshots_copied.len(), 1);
    assert!(c1.blobs_copied > 5);
    check_ok(&b);
    // Nothing new: nothing sent.
    let c2 = ops::copy(&a, &b, &[], &NoProgress).unwrap();
    assert_eq!(
        (
            c2.snapshots_copied.len(),
            c2.snapshots_skipped,
            c2.blobs_copied
        ),
        (0, 1, 0)
    );
    // One changed file: only its new chunks (and trees) are sent.
    fs::write(src.join("new.txt"), text(20_000, 8)).unwrap();
    backup(&a, &src);
    let c3 = ops::copy(&a, &b, &[], &NoProgress).unwrap();
    assert_eq!(c3.snapshots_copied.len(), 1);
    assert!(
        c3.blobs_copied < c1.blobs_copied / 2,
        "{} vs {}",
        c3.blobs_copied,
        c1.blobs_copied
    );
    let out = t.path().join("out");
    restore_to(&b, "latest", out.clone());
    assert_same_tree(&src, &out.join("s"));
    // The target's data key is its own: the source password does not open it.
    assert!(Repository::open(backend(&t.path().join("b")), PW).is_err());
}

#[test]
fn copy_between_repositories_with_own_ids() {
    copy_roundtrip(false);
}

#[test]
fn copy_between_repositories_sharing_ids() {
    copy_roundtrip(true);
}

#[test]
fn concurrent_backups_share_a_repository_safely() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("repo");
    init_repo(&dir);
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    make_tree(&a);
    make_tree(&b); // identical content: both race to store the same chunks
    fs::write(b.join("only-b.bin"), pseudo(400_000, 11)).unwrap();
    let results: Vec<ops::BackupResult> = std::thread::scope(|s| {
        let hs: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|src| {
                let dir = dir.clone();
                s.spawn(move || {
                    let repo = open_repo(&dir);
                    ops::backup(&repo, &[src], &BackupOptions::default(), &NoProgress).unwrap()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let repo = open_repo(&dir);
    check_ok(&repo);
    assert_eq!(repo.list_snapshots().unwrap().len(), 2);
    for (r, src) in results.iter().zip([&a, &b]) {
        let out = t.path().join(format!("out-{}", r.snapshot.id.short()));
        restore_to(&repo, &r.snapshot.id.to_hex(), out.clone());
        assert_same_tree(src, &out.join(src.file_name().unwrap()));
    }
    // Duplicate blobs from the race are harmless and prune removes them.
    ops::prune(&repo, &PruneOptions::default(), &NoProgress).unwrap();
    check_ok(&repo);
}

#[test]
fn backup_waits_for_or_refuses_a_running_prune() {
    let t = tempfile::tempdir().unwrap();
    let repo = init_repo(&t.path().join("repo"));
    let src = t.path().join("s");
    make_tree(&src);
    // Hold the exclusive lock as prune does.
    let prune_lock = makonis_embassy::lock::lock(&repo, true, Duration::ZERO).unwrap();
    let e = ops::backup(
        &repo,
        std::slice::from_ref(&src),
        &BackupOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(e.is_locked() && e.to_string().contains("exclusive"), "{e}");
    let r = std::thread::scope(|s| {
        let h = s.spawn(|| {
            let opts = BackupOptions {
                lock_wait: Duration::from_secs(10),
                ..Default::default()
            };
            ops::backup(&repo, std::slice::from_ref(&src), &opts, &NoProgress)
        });
        std::thread::sleep(Duration::from_millis(300));
        drop(prune_lock);
        h.join().unwrap()
    });
    assert!(r.is_ok(), "{:?}", r.err());
    check_ok(&repo);
}

#[test]
fn restore_never_follows_planted_symlinks() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("s");
    make_tree(&src);
    let repo = init_repo(&t.path().join("repo"));
    let snap = backup(&repo, &src).snapshot;
    let elsewhere = t.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();

    // A symlink where a directory will be restored.
    let out = t.path().join("out1");
    fs::create_dir(&out).unwrap();
    std::os::unix::fs::symlink(&elsewhere, out.join("s")).unwrap();
    let r = ops::restore(
        &repo,
        &snap,
        &RestoreOptions {
            target: out,
            ..Default::default()
        },
        &NoProgress,
    );
    assert!(
        r.is_err(),
        "restoring through a symlinked directory must fail"
    );

    // A symlink where a file will be restored.
    let out = t.path().join("out2");
    fs::create_dir_all(out.join("s")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("victim"), out.join("s/db.sql")).unwrap();
    let r = ops::restore(
        &repo,
        &snap,
        &RestoreOptions {
            target: out,
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    assert!(
        r.errors.iter().any(|(p, _)| p.ends_with("db.sql")),
        "{:?}",
        r.errors
    );
    assert_eq!(
        fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing may be written outside the target"
    );
}

//! Damage injected into a repository must be found by `check`, named in
//! its report, and never cause a panic; `repair` and `rebuild_index` must
//! bring the repository back.

mod common;

use std::fs;
use std::path::Path;
use std::sync::Arc;

use common::*;
use makonis_embassy::backend::{Backend, FileInfo, FileType, LocalBackend};
use makonis_embassy::ops::{self, BackupOptions, CheckOptions, Problem, RestoreOptions};
use makonis_embassy::{Error, InitOptions, NoProgress, Repository, Result};

fn setup() -> (tempfile::TempDir, Repository) {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("s");
    make_tree(&src);
    let repo = init_repo(&t.path().join("repo"));
    ops::backup(&repo, &[src], &BackupOptions::default(), &NoProgress).unwrap();
    (t, repo)
}

fn check(repo: &Repository, read_data: bool) -> ops::CheckReport {
    ops::check(repo, &CheckOptions { read_data }, &NoProgress).unwrap()
}

fn largest_pack(t: &Path) -> std::path::PathBuf {
    pack_files(&t.join("repo"))
        .into_iter()
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .unwrap()
}

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn flipped_bit_in_pack_data_is_found_by_read_data() {
    let (t, repo) = setup();
    assert!(check(&repo, true).is_ok());
    let pack = largest_pack(t.path());
    let mut b = fs::read(&pack).unwrap();
    b[100] ^= 0x01;
    fs::write(&pack, b).unwrap();
    // Structure is intact: only reading data can notice.
    assert!(check(&repo, false).is_ok());
    let r = check(&repo, true);
    let name = name_of(&pack);
    assert!(!r.is_ok());
    let text: Vec<String> = r.problems.iter().map(|p| p.to_string()).collect();
    assert!(
        text.iter()
            .any(|p| p.contains(&name) && p.contains("content hash")),
        "{text:?}"
    );
    assert!(
        r.problems
            .iter()
            .any(|p| matches!(p, Problem::BlobDamaged { pack, .. } if pack.to_hex() == name)),
        "{text:?}"
    );
    assert!(matches!(r.into_result(), Err(Error::CheckFailed(n)) if n >= 2));
    // Restore reports the damaged pack instead of writing bad data.
    let snap = repo.find_snapshot("latest").unwrap();
    let out = t.path().join("out");
    let rs = ops::restore(
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
        rs.errors
            .iter()
            .any(|(p, e)| p.contains(&name) && e.contains("authentication")),
        "{:?}",
        rs.errors
    );
}

#[test]
fn truncated_pack_is_found_by_structure_check() {
    let (t, repo) = setup();
    let pack = largest_pack(t.path());
    let b = fs::read(&pack).unwrap();
    fs::write(&pack, &b[..b.len() - 10]).unwrap();
    let r = check(&repo, false);
    let name = name_of(&pack);
    assert!(
        r.problems
            .iter()
            .any(|p| matches!(p, Problem::PackDamaged { pack, .. } if pack.to_hex() == name)),
        "{:?}",
        r.problems
    );
    fs::write(&pack, &b[..3]).unwrap();
    let r = check(&repo, true);
    assert!(
        r.problems.iter().any(|p| p.to_string().contains(&name)),
        "{:?}",
        r.problems
    );
}

#[test]
fn missing_pack_is_named() {
    let (t, repo) = setup();
    let pack = largest_pack(t.path());
    fs::remove_file(&pack).unwrap();
    let r = check(&repo, false);
    let name = name_of(&pack);
    assert!(
        r.problems
            .iter()
            .any(|p| matches!(p, Problem::PackMissing { pack } if pack.to_hex() == name)),
        "{:?}",
        r.problems
    );
}

#[test]
fn missing_and_damaged_index_files_are_named_and_rebuildable() {
    let (t, repo) = setup();
    let idx_dir = t.path().join("repo/index");
    let idx: Vec<_> = fs::read_dir(&idx_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!idx.is_empty());
    // Damage: flip a byte in one index file.
    let mut b = fs::read(&idx[0]).unwrap();
    b[30] ^= 0xff;
    fs::write(&idx[0], &b).unwrap();
    let r = check(&repo, false);
    let name = name_of(&idx[0]);
    assert!(
        r.problems
            .iter()
            .any(|p| matches!(p, Problem::IndexUnreadable { index, .. } if *index == name)),
        "{:?}",
        r.problems
    );
    assert!(matches!(
        repo.load_index(),
        Err(Error::Corrupt { kind: "index", .. })
    ));

    // Loss: delete every index file. Check names the now-unindexed blobs
    // and packs; restore fails clearly.
    for p in &idx {
        fs::remove_file(p).unwrap();
    }
    let r = check(&repo, false);
    assert!(
        r.problems
            .iter()
            .any(|p| matches!(p, Problem::TreeUnreadable { .. })),
        "{:?}",
        r.problems
    );
    assert!(
        r.problems.iter().all(|p| p.to_string().contains("tree ")),
        "{:?}",
        r.problems
    );
    assert!(!r.warnings.is_empty(), "unindexed packs are reported");
    let snap = repo.find_snapshot("latest").unwrap();
    let e = ops::restore(
        &repo,
        &snap,
        &RestoreOptions {
            target: t.path().join("o"),
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Missing {
                kind: "tree blob",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains(&snap.tree.to_hex()), "{e}");

    let (packs, bad) = ops::rebuild_index(&repo, &NoProgress).unwrap();
    assert!(packs > 0 && bad.is_empty());
    let r = check(&repo, true);
    assert!(r.is_ok(), "{:?}", r.problems);
}

#[test]
fn damaged_snapshot_is_named() {
    let (t, repo) = setup();
    let sdir = t.path().join("repo/snapshots");
    let s = fs::read_dir(&sdir).unwrap().next().unwrap().unwrap().path();
    let mut b = fs::read(&s).unwrap();
    let n = b.len();
    b[n - 1] ^= 0x80;
    fs::write(&s, b).unwrap();
    let r = check(&repo, false);
    let name = name_of(&s);
    assert!(
        r.problems.iter().any(
            |p| matches!(p, Problem::SnapshotUnreadable { snapshot, .. } if *snapshot == name)
        ),
        "{:?}",
        r.problems
    );
    assert!(matches!(
        repo.load_snapshot(&name),
        Err(Error::Corrupt {
            kind: "snapshot",
            ..
        })
    ));
}

#[test]
fn garbage_in_every_file_never_panics() {
    let (t, repo) = setup();
    let root = t.path().join("repo");
    // Overwrite every object with junk of assorted lengths.
    let mut files = pack_files(&root);
    for d in ["index", "snapshots"] {
        files.extend(
            fs::read_dir(root.join(d))
                .unwrap()
                .map(|e| e.unwrap().path()),
        );
    }
    for (i, f) in files.iter().enumerate() {
        fs::write(f, pseudo(i * 37 % 300, i as u64)).unwrap();
    }
    let r = check(&repo, true);
    assert!(!r.is_ok());
    let r2 = check(&repo, false);
    assert!(!r2.is_ok());
    let _ = ops::prune(&repo, &Default::default(), &NoProgress);
    let _ = ops::rebuild_index(&repo, &NoProgress);
    // Keys damaged too: open fails with a named error, not a panic.
    for k in fs::read_dir(root.join("keys")).unwrap() {
        fs::write(k.unwrap().path(), b"{not json").unwrap();
    }
    let e = Repository::open(backend(&root), PW).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Corrupt {
                kind: "key file",
                ..
            }
        ),
        "{e}"
    );
}

// Regression for a fuzzing find (key_file target): a host can plant a key
// file, and its argon2 costs used to be trusted, so `open` tried to
// allocate m_cost KiB (here 4 TiB) before checking the password. Now
// such a file is refused by name and skipped; the real key still opens.
#[test]
fn planted_key_file_with_unbounded_argon2_cost_is_skipped() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("repo");
    init_repo(&root);
    let real = fs::read_dir(root.join("keys"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut kf: serde_json::Value = serde_json::from_slice(&fs::read(&real).unwrap()).unwrap();
    assert_eq!(kf["m_cost"], 256);
    kf["m_cost"] = u32::MAX.into();
    let planted = serde_json::to_vec(&kf).unwrap();
    // Sorted before the real key file, so `open` reads it first.
    fs::write(root.join("keys").join("0".repeat(64)), planted).unwrap();
    let repo = Repository::open(backend(&root), PW).unwrap();
    assert_eq!(repo.key_name(), name_of(&real));
    let e = repo.list_keys().unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("key file {}", "0".repeat(64))),
        "{e}"
    );
    assert!(e.to_string().contains("m_cost=4294967295"), "{e}");
    // With only the planted file left, `open` names it.
    fs::remove_file(&real).unwrap();
    let e = Repository::open(backend(&root), PW).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Corrupt {
                kind: "key file",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn repair_restores_damaged_packs_from_a_copy() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("s");
    make_tree(&src);
    let a = init_repo(&t.path().join("a"));
    let b = Repository::init(
        backend(&t.path().join("b")),
        "other",
        InitOptions {
            share_ids_with: Some(a.key().clone()),
            ..small_opts()
        },
    )
    .unwrap();
    ops::backup(
        &a,
        std::slice::from_ref(&src),
        &BackupOptions::default(),
        &NoProgress,
    )
    .unwrap();
    ops::copy(&a, &b, &[], &NoProgress).unwrap();
    let packs = pack_files(&t.path().join("a"));
    assert!(packs.len() >= 3);
    // Damage one pack, delete another.
    let mut bytes = fs::read(&packs[0]).unwrap();
    bytes[50] ^= 0x10;
    fs::write(&packs[0], bytes).unwrap();
    fs::remove_file(&packs[1]).unwrap();
    assert!(!check(&a, true).is_ok());

    let s = ops::repair_packs(&a, &b, &NoProgress).unwrap();
    assert_eq!(s.damaged_packs.len(), 2, "{s:?}");
    assert!(s.blobs_recovered > 0);
    assert!(s.blobs_unrecoverable.is_empty());
    let r = check(&a, true);
    assert!(r.is_ok(), "{:?}", r.problems);
    let out = t.path().join("out");
    let snap = a.find_snapshot("latest").unwrap();
    let rs = ops::restore(
        &a,
        &snap,
        &RestoreOptions {
            target: out.clone(),
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    assert!(rs.errors.is_empty());
    assert_same_tree(&src, &out.join("s"));

    // A copy with its own ids cannot serve as a repair source.
    let c = init_repo(&t.path().join("c"));
    assert!(matches!(
        ops::repair_packs(&a, &c, &NoProgress),
        Err(Error::InvalidArgument(_))
    ));
}

/// A backend whose pack writes hit a full device: writes go to /dev/full,
/// which fails with a real ENOSPC from the kernel.
#[derive(Debug)]
struct FullDisk(LocalBackend);

impl Backend for FullDisk {
    fn location(&self) -> String {
        self.0.location()
    }
    fn create(&self) -> Result<()> {
        self.0.create()
    }
    fn list(&self, t: FileType) -> Result<Vec<FileInfo>> {
        self.0.list(t)
    }
    fn read(&self, t: FileType, n: &str) -> Result<Vec<u8>> {
        self.0.read(t, n)
    }
    fn read_range(&self, t: FileType, n: &str, o: u64, l: u64) -> Result<Vec<u8>> {
        self.0.read_range(t, n, o, l)
    }
    fn write(&self, t: FileType, n: &str, d: &[u8]) -> Result<()> {
        if t == FileType::Pack {
            use std::io::Write;
            let mut f = fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap();
            return f
                .write_all(d)
                .map_err(|e| Error::io(format!("data/{n}"), e));
        }
        self.0.write(t, n, d)
    }
    fn delete(&self, t: FileType, n: &str) -> Result<()> {
        self.0.delete(t, n)
    }
    fn exists(&self, t: FileType, n: &str) -> Result<bool> {
        self.0.exists(t, n)
    }
    fn size(&self, t: FileType, n: &str) -> Result<u64> {
        self.0.size(t, n)
    }
}

#[test]
fn disk_full_is_a_clear_error_and_leaves_a_valid_repository() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("repo");
    init_repo(&dir);
    let src = t.path().join("s");
    make_tree(&src);
    let full = Repository::open(Arc::new(FullDisk(LocalBackend::new(&dir))), PW).unwrap();
    let e = ops::backup(
        &full,
        std::slice::from_ref(&src),
        &BackupOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(matches!(e, Error::DiskFull { .. }), "{e}");
    assert!(
        e.to_string().contains("no space left") && e.to_string().contains("data/"),
        "{e}"
    );
    // No snapshot, no index pointing at missing packs; next run succeeds.
    let repo = open_repo(&dir);
    assert!(repo.list_snapshots().unwrap().is_empty());
    assert!(check(&repo, true).is_ok());
    ops::backup(&repo, &[src], &BackupOptions::default(), &NoProgress).unwrap();
    assert!(check(&repo, true).is_ok());
}

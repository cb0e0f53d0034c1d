//! S3 backend against a local `moto_server` (started on 127.0.0.1 with a
//! free port). Without the binary the tests are skipped with a message,
//! unless `MAKONIS_REQUIRE_PEERS=1`, in which case they fail.
#![cfg(feature = "s3")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::moto::{Moto, start_moto};
use common::*;
use makonis_embassy::backend::s3::{ObjectLock, S3Backend, S3Config};
use makonis_embassy::backend::{Backend, FileType};
use makonis_embassy::ops::{self, BackupOptions, CheckOptions, RestoreOptions};
use makonis_embassy::{InitOptions, NoProgress, Repository};

fn s3(m: &Moto, bucket: &str, prefix: &str) -> S3Backend {
    S3Backend::new(S3Config {
        bucket: bucket.into(),
        prefix: prefix.into(),
        endpoint: Some(m.endpoint.clone()),
        region: Some("eu-north-1".into()),
        access_key: Some(("testing".into(), "testing".into())),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn s3_backend_backup_restore_check_and_copy() {
    let Some(m) = start_moto() else { return };
    let b = s3(&m, "embassy", "repos/one");
    b.create_bucket(false).unwrap();
    // Raw backend contract.
    b.write(FileType::Index, "abc", b"hello world").unwrap();
    assert_eq!(b.read(FileType::Index, "abc").unwrap(), b"hello world");
    assert_eq!(
        b.read_range(FileType::Index, "abc", 6, 5).unwrap(),
        b"world"
    );
    assert!(b.read_range(FileType::Index, "abc", 6, 50).is_err());
    assert_eq!(b.size(FileType::Index, "abc").unwrap(), 11);
    assert!(b.exists(FileType::Index, "abc").unwrap());
    assert_eq!(b.list(FileType::Index).unwrap().len(), 1);
    assert!(b.list(FileType::Snapshot).unwrap().is_empty());
    b.delete(FileType::Index, "abc").unwrap();
    assert!(!b.exists(FileType::Index, "abc").unwrap());
    assert!(matches!(
        b.read(FileType::Index, "abc"),
        Err(makonis_embassy::Error::Missing { .. })
    ));

    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("s");
    make_tree(&src);
    let repo = Repository::init(Arc::new(b), PW, small_opts()).unwrap();
    ops::backup(
        &repo,
        std::slice::from_ref(&src),
        &BackupOptions::default(),
        &NoProgress,
    )
    .unwrap();
    let r = ops::check(&repo, &CheckOptions { read_data: true }, &NoProgress).unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
    assert!(repo.backend().list(FileType::Pack).unwrap().len() >= 3);
    let reopened = Repository::open(Arc::new(s3(&m, "embassy", "repos/one")), PW).unwrap();
    let snap = reopened.find_snapshot("latest").unwrap();
    let out = t.path().join("out");
    ops::restore(
        &reopened,
        &snap,
        &RestoreOptions {
            target: out.clone(),
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    assert_same_tree(&src, &out.join("s"));

    // Local primary → S3 embassy copy.
    let local = init_repo(&t.path().join("local"));
    fs_backup(&local, &src);
    let emb = Repository::init(
        Arc::new(s3(&m, "embassy", "repos/two")),
        "embassy",
        InitOptions {
            share_ids_with: Some(local.key().clone()),
            ..small_opts()
        },
    )
    .unwrap();
    let c = ops::copy(&local, &emb, &[], &NoProgress).unwrap();
    assert_eq!(c.snapshots_copied.len(), 1);
    assert!(
        ops::check(&emb, &CheckOptions { read_data: true }, &NoProgress)
            .unwrap()
            .is_ok()
    );
}

fn fs_backup(repo: &Repository, src: &std::path::Path) {
    ops::backup(
        repo,
        &[src.to_path_buf()],
        &BackupOptions::default(),
        &NoProgress,
    )
    .unwrap();
}

#[test]
fn object_lock_compliance_blocks_early_deletion() {
    let Some(m) = start_moto() else { return };
    let b = s3(&m, "cold", "copy");
    b.create_bucket(true).unwrap();
    let b = b.with_object_lock(ObjectLock {
        compliance: true,
        retain: Duration::from_secs(3600),
    });
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("s");
    make_tree(&src);
    let repo = Repository::init(Arc::new(b), PW, small_opts()).unwrap();
    ops::backup(
        &repo,
        std::slice::from_ref(&src),
        &BackupOptions::default(),
        &NoProgress,
    )
    .unwrap();
    // Lock files are exempt and were removed normally.
    assert!(repo.backend().list(FileType::Lock).unwrap().is_empty());

    let packs = repo.backend().list(FileType::Pack).unwrap();
    assert!(!packs.is_empty());
    let e = repo
        .backend()
        .delete(FileType::Pack, &packs[0].name)
        .unwrap_err();
    assert!(e.to_string().contains(&packs[0].name), "{e}");
    eprintln!("locked delete refused: {e}");
    let snaps = repo.backend().list(FileType::Snapshot).unwrap();
    assert!(
        repo.backend()
            .delete(FileType::Snapshot, &snaps[0].name)
            .is_err()
    );
    // Still there and intact.
    assert!(
        repo.backend()
            .exists(FileType::Pack, &packs[0].name)
            .unwrap()
    );
    let r = ops::check(&repo, &CheckOptions { read_data: true }, &NoProgress).unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!(repo.list_snapshots().unwrap().len(), 1);

    // Without a lock the same delete succeeds (control).
    let plain = s3(&m, "cold", "unlocked").versioned();
    plain.write(FileType::Pack, "00ff", b"x").unwrap();
    plain.delete(FileType::Pack, "00ff").unwrap();
    assert!(!plain.exists(FileType::Pack, "00ff").unwrap());
}

#[test]
fn s3_listing_pages_past_one_thousand_objects() {
    let Some(m) = start_moto() else { return };
    let b = s3(&m, "many", "p");
    b.create_bucket(false).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let b = &b;
            s.spawn(move || {
                for i in (t..1100).step_by(4) {
                    b.write(FileType::Pack, &format!("{:064x}", i), b"x")
                        .unwrap();
                }
            });
        }
    });
    let mut names: Vec<String> = b
        .list(FileType::Pack)
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 1100);
    assert!(b.list(FileType::Index).unwrap().is_empty());
}

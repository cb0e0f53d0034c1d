//! The `cli` feature's commands, driven through clap as `makonis embassy`
//! would, against a local repository.
#![cfg(feature = "cli")]

mod common;

use clap::Parser;
use common::*;
use makonis_embassy::cli::{EmbassyArgs, run};
use makonis_embassy::{LocalBackend, Repository};
use std::sync::Arc;

#[derive(Parser)]
struct Top {
    #[command(flatten)]
    args: EmbassyArgs,
}

fn cli(repo: &std::path::Path, pwfile: &std::path::Path, rest: &[&str]) -> anyhow::Result<()> {
    let mut argv = vec![
        "makonis-embassy".to_string(),
        "--repo".into(),
        repo.display().to_string(),
        "--password-file".into(),
        pwfile.display().to_string(),
        "--no-progress".into(),
    ];
    argv.extend(rest.iter().map(|s| s.to_string()));
    run(Top::try_parse_from(argv)?.args)
}

#[test]
fn cli_commands_end_to_end() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    let pw = t.path().join("pw");
    std::fs::write(&pw, "secret\n").unwrap();
    let pw2 = t.path().join("pw2");
    std::fs::write(&pw2, "second").unwrap();
    let src = t.path().join("data");
    make_tree(&src);

    cli(&repo, &pw, &["init"]).unwrap();
    let s = src.display().to_string();
    cli(&repo, &pw, &["backup", &s, "--tag", "nightly"]).unwrap();
    std::fs::write(src.join("added.txt"), b"x").unwrap();
    cli(&repo, &pw, &["backup", &s]).unwrap();
    cli(&repo, &pw, &["--output", "json", "snapshots"]).unwrap();
    cli(&repo, &pw, &["check", "--read-data"]).unwrap();

    let opened = Repository::open(Arc::new(LocalBackend::new(&repo)), "secret").unwrap();
    let snaps = opened.list_snapshots().unwrap();
    assert_eq!(snaps.len(), 2);
    assert_eq!(snaps[0].tags, vec!["nightly".to_string()]);
    cli(&repo, &pw, &["diff", &snaps[0].id.short(), "latest"]).unwrap();

    let out = t.path().join("out");
    cli(
        &repo,
        &pw,
        &["restore", "latest", "--target", out.to_str().unwrap()],
    )
    .unwrap();
    assert_same_tree(&src, &out.join("data"));

    // Keys: add one with a second password, which then opens the repo.
    let mut argv = vec!["key", "add", "--new-password-file"];
    let p2 = pw2.display().to_string();
    argv.push(&p2);
    cli(&repo, &pw, &argv).unwrap();
    cli(&repo, &pw2, &["key", "list"]).unwrap();

    // Retention + prune in one go.
    cli(&repo, &pw, &["forget", "--keep-last", "1", "--prune"]).unwrap();
    assert_eq!(opened.list_snapshots().unwrap().len(), 1);

    // Copy to a second repository sharing ids, then repair from it.
    let repo2 = t.path().join("repo2");
    let r2 = repo2.display().to_string();
    let r1 = repo.display().to_string();
    let pw_s = pw.display().to_string();
    cli(
        &repo2,
        &pw2,
        &["--password-file2", &pw_s, "init", "--share-ids-with", &r1],
    )
    .unwrap_or_else(|e| panic!("init with shared ids: {e:#}"));
    cli(&repo2, &pw2, &["--password-file2", &pw_s, "check"]).unwrap();
    cli(&repo, &pw, &["--password-file2", &p2, "copy", "--to", &r2]).unwrap();
    cli(
        &repo,
        &pw,
        &["--password-file2", &p2, "repair", "packs", "--from", &r2],
    )
    .unwrap();
    cli(&repo, &pw, &["repair", "index"]).unwrap();
    cli(&repo, &pw, &["check"]).unwrap();

    // Errors surface as errors, not panics.
    let bad = t.path().join("bad");
    std::fs::write(&bad, "nope").unwrap();
    let e = cli(&repo, &bad, &["snapshots"]).unwrap_err();
    assert!(format!("{e:#}").contains("wrong password"), "{e:#}");
    assert!(
        cli(
            &repo,
            &pw,
            &["restore", "ffffffff", "--target", out.to_str().unwrap()]
        )
        .is_err()
    );
    assert!(cli(&repo, &pw, &["backup"]).is_err());
    // `--keep-within` used to overflow: 10^17 years in the parser (i64),
    // 300000 years in `now - within` (before chrono's earliest date).
    let e = cli(
        &repo,
        &pw,
        &["forget", "--keep-within", "99999999999999999y"],
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("is too long"), "{e:#}");
    cli(
        &repo,
        &pw,
        &["forget", "--keep-within", "300000y", "--dry-run"],
    )
    .unwrap();
    assert_eq!(opened.list_snapshots().unwrap().len(), 1);
}

#[test]
fn cli_replicate_creates_then_updates_a_replica() {
    let t = tempfile::tempdir().unwrap();
    let (repo, replica) = (t.path().join("repo"), t.path().join("replica"));
    let (pw, pw2) = (t.path().join("pw"), t.path().join("pw2"));
    std::fs::write(&pw, "secret\n").unwrap();
    std::fs::write(&pw2, "embassy\n").unwrap();
    let src = t.path().join("data");
    make_tree(&src);
    let s = src.display().to_string();
    let (r2, p2) = (replica.display().to_string(), pw2.display().to_string());
    cli(&repo, &pw, &["init"]).unwrap();
    cli(&repo, &pw, &["backup", &s, "--host", "is-a"]).unwrap();

    // Without --init a missing replica is an error, not a new repository.
    let e = cli(
        &repo,
        &pw,
        &["--password-file2", &p2, "replicate", "--to", &r2],
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("no embassy repository"), "{e:#}");
    assert!(!replica.join("config").exists());
    // A cold copy needs S3 with Object Lock.
    let e = cli(
        &repo,
        &pw,
        &[
            "--password-file2",
            &p2,
            "replicate",
            "--to",
            &r2,
            "--cold-retain-days",
            "30",
        ],
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("s3://"), "{e:#}");

    cli(
        &repo,
        &pw,
        &["--password-file2", &p2, "replicate", "--to", &r2, "--init"],
    )
    .unwrap();
    let primary = Repository::open(Arc::new(LocalBackend::new(&repo)), "secret").unwrap();
    let rep = Repository::open(Arc::new(LocalBackend::new(&replica)), "embassy").unwrap();
    assert!(rep.key().same_ids_as(primary.key()));
    let first = primary.list_snapshots().unwrap();
    assert_eq!(rep.list_snapshots().unwrap()[0].original, Some(first[0].id));

    // Another backup; a host filter that matches nothing copies nothing.
    std::fs::write(src.join("more.txt"), b"more").unwrap();
    cli(&repo, &pw, &["backup", &s, "--host", "is-a"]).unwrap();
    cli(
        &repo,
        &pw,
        &[
            "--password-file2",
            &p2,
            "replicate",
            "--to",
            &r2,
            "--host",
            "is-b",
        ],
    )
    .unwrap();
    assert_eq!(rep.list_snapshots().unwrap().len(), 1);
    cli(
        &repo,
        &pw,
        &[
            "--password-file2",
            &p2,
            "--output",
            "json",
            "replicate",
            "--to",
            &r2,
            "--host",
            "is-a",
        ],
    )
    .unwrap();
    let snaps = rep.list_snapshots().unwrap();
    assert_eq!(snaps.len(), 2);
    assert_eq!(
        snaps[1].original,
        Some(primary.list_snapshots().unwrap()[1].id)
    );
    cli(&replica, &pw2, &["check", "--read-data"]).unwrap();
}

#[test]
fn cli_migrate_upgrades_a_format_1_repository() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    let pw = t.path().join("pw");
    std::fs::write(&pw, "secret\n").unwrap();
    let opts = makonis_embassy::InitOptions {
        format_version: 1,
        ..small_opts()
    };
    Repository::init(Arc::new(LocalBackend::new(&repo)), "secret", opts).unwrap();
    cli(&repo, &pw, &["migrate"]).unwrap();
    let opened = Repository::open(Arc::new(LocalBackend::new(&repo)), "secret").unwrap();
    assert_eq!(opened.format_version(), 2);
    // Running it again changes nothing.
    cli(&repo, &pw, &["--output", "json", "migrate"]).unwrap();
    assert_eq!(
        std::fs::read(repo.join("config")).unwrap()[8..12],
        2u32.to_le_bytes()
    );
}

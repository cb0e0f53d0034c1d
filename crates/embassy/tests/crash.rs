//! Crash safety: backups and prunes killed with SIGKILL at random moments
//! must leave a repository that `check --read-data` accepts, and the next
//! backup must complete and restore correctly.
//!
//! The test re-runs its own binary as the victim (`crash_child`, which does
//! nothing unless `EMBASSY_CRASH_CHILD` is set), so no helper binary is
//! needed.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::*;
use makonis_embassy::NoProgress;
use makonis_embassy::ops::{
    self, BackupOptions, CheckOptions, KeepPolicy, PruneOptions, RestoreOptions,
};

const ITERATIONS: usize = 30;

/// The victim: one backup (or forget + prune) of `EMBASSY_CRASH_SRC` into
/// `EMBASSY_CRASH_REPO`.
#[test]
fn crash_child() {
    let Ok(mode) = std::env::var("EMBASSY_CRASH_CHILD") else {
        return;
    };
    let repo = open_repo(Path::new(&std::env::var("EMBASSY_CRASH_REPO").unwrap()));
    let src = PathBuf::from(std::env::var("EMBASSY_CRASH_SRC").unwrap());
    let wait = BackupOptions {
        lock_wait: Duration::from_secs(5),
        ..Default::default()
    };
    if mode == "prune" {
        let _ = ops::forget(
            &repo,
            &KeepPolicy {
                last: Some(2),
                ..Default::default()
            },
            false,
        );
        ops::prune(
            &repo,
            &PruneOptions {
                max_unused: 0.0,
                ..Default::default()
            },
            &NoProgress,
        )
        .unwrap();
    } else {
        ops::backup(&repo, &[src], &wait, &NoProgress).unwrap();
    }
}

fn spawn(mode: &str, repo: &Path, src: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env("EMBASSY_CRASH_CHILD", mode)
        .env("EMBASSY_CRASH_REPO", repo)
        .env("EMBASSY_CRASH_SRC", src)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn mutate_source(src: &Path, i: usize) {
    fs::write(
        src.join(format!("gen-{i}.bin")),
        pseudo(400_000, i as u64 + 1000),
    )
    .unwrap();
    fs::write(
        src.join(format!("gen-{i}.txt")),
        text(300_000, i as u64 + 2000),
    )
    .unwrap();
    if i >= 3 {
        let _ = fs::remove_file(src.join(format!("gen-{}.bin", i - 3)));
    }
}

#[test]
fn sigkilled_backups_and_prunes_leave_a_valid_repository() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    make_tree(&src);
    for i in 0..6 {
        fs::write(src.join(format!("base-{i}.dat")), pseudo(500_000, i)).unwrap();
    }
    let dir = t.path().join("repo");
    init_repo(&dir);

    // Calibrate: how long does an uninterrupted victim take?
    let start = Instant::now();
    assert!(spawn("backup", &dir, &src).wait().unwrap().success());
    let full = start.elapsed().max(Duration::from_millis(50));

    let mut rng = 0x2545_F491_4F6C_DD1Du64 ^ u64::from(std::process::id());
    let mut window = full.as_micros() as u64 * 3 / 2;
    let (mut killed, mut runs) = (0, 0);
    // Timing on a shared machine varies, so adapt: a run that finished
    // before its kill shrinks the window; go on until ITERATIONS kills.
    while killed < ITERATIONS && runs < ITERATIONS * 4 {
        mutate_source(&src, runs);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mode = if runs % 4 == 3 { "prune" } else { "backup" };
        let delay = Duration::from_micros(rng % window.max(1000));
        let mut child = spawn(mode, &dir, &src);
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        } else {
            window = window * 7 / 10;
        }
        child.wait().unwrap();
        runs += 1;
    }
    assert_eq!(
        killed, ITERATIONS,
        "only {killed} of {runs} runs were killed mid-way"
    );

    let repo = open_repo(&dir);
    let r = ops::check(&repo, &CheckOptions { read_data: true }, &NoProgress).unwrap();
    assert!(r.is_ok(), "after {killed} kills: {:?}", r.problems);
    eprintln!(
        "{killed} of {runs} runs killed (calibrated run {full:?}); {} snapshots, {} unindexed packs left behind",
        repo.list_snapshots().unwrap().len(),
        r.warnings.len()
    );

    let done = ops::backup(
        &repo,
        std::slice::from_ref(&src),
        &BackupOptions::default(),
        &NoProgress,
    )
    .unwrap();
    assert!(done.summary.errors.is_empty());
    ops::prune(&repo, &PruneOptions::default(), &NoProgress).unwrap();
    let r = ops::check(&repo, &CheckOptions { read_data: true }, &NoProgress).unwrap();
    assert!(
        r.is_ok() && r.warnings.is_empty(),
        "{:?} {:?}",
        r.problems,
        r.warnings
    );
    let out = t.path().join("out");
    let rs = ops::restore(
        &repo,
        &done.snapshot,
        &RestoreOptions {
            target: out.clone(),
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    assert!(rs.errors.is_empty(), "{:?}", rs.errors);
    assert_same_tree(&src, &out.join("src"));
}

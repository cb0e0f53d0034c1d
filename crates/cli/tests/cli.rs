//! The `makonis` binary end to end: bootstrap a user, verify and export the
//! audit chain, detect tampering done with SQL on the database file, and
//! reject bad flags with a message naming the flag.

use std::process::{Command, Output};

fn makonis(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_makonis"));
    cmd.args(args).env("RUST_LOG", "error");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run makonis")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn audit_verify_detects_tampering_in_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    for (email, role) in [
        ("root@makonis.lv", "platform_admin"),
        ("aud@makonis.lv", "auditor"),
    ] {
        let out = makonis(
            &[
                "admin",
                "create-user",
                "--data-dir",
                data,
                "--email",
                email,
                "--name",
                "Root",
                "--role",
                role,
                "--output",
                "json",
            ],
            &[("MAKONIS_PASSWORD", "a-long-enough-password")],
        );
        assert!(out.status.success(), "{}", text(&out));
        let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(created["email"], email);
        // Platform admins must have a second factor; its secret is printed once.
        assert_eq!(
            created["totp_secret"].is_string(),
            role == "platform_admin",
            "{created}"
        );
    }

    let out = makonis(
        &["audit", "verify", "--data-dir", data, "--output", "json"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["records_checked"], 3, "{report}");
    let head = report["head_hash"].as_str().unwrap().to_owned();

    let export = dir.path().join("audit.jsonl");
    let out = makonis(
        &[
            "audit",
            "export",
            "--data-dir",
            data,
            "--out",
            export.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&export)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["action"], "user.create");
    assert_eq!(lines[2]["hash"], head);

    // Someone with the database file rewrites history.
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}/makonis.db", data);
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::raw_sql("DROP TRIGGER audit_records_no_update; UPDATE audit_records SET actor_label = 'someone-else' WHERE seq = 2")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let out = makonis(&["audit", "verify", "--data-dir", data], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("BROKEN at record #2"), "{}", text(&out));
}

#[test]
fn bad_flags_and_input_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = makonis(&["serve", "--data-dir", data, "--listen", "nowhere"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--listen: 'nowhere'"), "{}", text(&out));

    let out = makonis(
        &[
            "admin",
            "create-user",
            "--data-dir",
            data,
            "--email",
            "x@y.lv",
            "--name",
            "X",
            "--role",
            "king",
        ],
        &[("MAKONIS_PASSWORD", "a-long-enough-password")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("--role: 'king' is not one of"),
        "{}",
        text(&out)
    );

    let out = makonis(
        &[
            "admin",
            "create-user",
            "--data-dir",
            data,
            "--email",
            "not-an-email",
            "--name",
            "X",
            "--role",
            "broker",
        ],
        &[("MAKONIS_PASSWORD", "short")],
    );
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("--email") && t.contains("--password"), "{t}");

    let out = makonis(&["completions", "bash"], &[]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("makonis"));
}

#[test]
fn embassy_commands_run_through_the_main_binary() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let source = dir.path().join("source");
    let target = dir.path().join("restored");
    std::fs::create_dir_all(source.join("sub")).unwrap();
    std::fs::write(
        source.join("dati.txt"),
        "Iedzīvotāju reģistrs\n".repeat(1000),
    )
    .unwrap();
    std::fs::write(
        source.join("sub/bin.dat"),
        (0..50_000u32)
            .flat_map(|i| i.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let env = [("MAKONIS_EMBASSY_PASSWORD", "embassy-test-password")];
    let repo_s = repo.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut full = vec!["embassy", "--repo", repo_s, "--no-progress"];
        full.extend_from_slice(args);
        let out = makonis(&full, &env);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        out
    };
    run(&["init"]);
    run(&["backup", source.to_str().unwrap()]);
    let listed = run(&["snapshots", "--output", "json"]);
    let snapshots: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(snapshots.as_array().map(Vec::len), Some(1), "{snapshots}");
    run(&["check", "--read-data"]);
    run(&["restore", "latest", "--target", target.to_str().unwrap()]);
    let restored = walk(&target);
    assert!(
        restored.iter().any(|(p, bytes)| p.ends_with("dati.txt")
            && *bytes == std::fs::read(source.join("dati.txt")).unwrap()),
        "restored files: {:?}",
        restored.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    assert!(
        restored
            .iter()
            .any(|(p, bytes)| p.ends_with("bin.dat") && bytes.len() == 200_000)
    );
    // A wrong password is refused clearly.
    let out = makonis(
        &["embassy", "--repo", repo_s, "snapshots"],
        &[("MAKONIS_EMBASSY_PASSWORD", "wrong")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).to_lowercase().contains("password"),
        "{}",
        text(&out)
    );
}

fn walk(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

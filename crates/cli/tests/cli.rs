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

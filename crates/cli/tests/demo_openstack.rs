//! `makonis demo --with-openstack` against the OpenStack on 127.0.0.1: the
//! demo registers it as LVRTC-OS with its flavours synced; a second start
//! only syncs; without the peer the command fails before touching the
//! data directory. Skipped with a message when the peer is not running,
//! unless `MAKONIS_REQUIRE_PEERS=1`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use makonis_drivers::openstack::LocalPeer;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the demo, reads the JSON line it prints once seeded, stops it.
fn demo_once(data: &Path) -> serde_json::Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_makonis"))
        .args(["demo", "--with-openstack", "--output", "json", "--data-dir"])
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(240));
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("the demo printed nothing in 240 s");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[test]
fn the_demo_registers_the_local_openstack() {
    if LocalPeer::for_test().is_none() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let first = demo_once(data.path());
    let os = &first["openstack"];
    assert_eq!(os["provider"], "LVRTC-OS", "{first}");
    assert_eq!(os["keystone"], "http://127.0.0.1:5000/v3");
    let added: Vec<&str> = os["sync"]["added"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for flavour in ["m1.tiny", "m1.small", "m1.medium", "m1.large"] {
        assert!(added.contains(&flavour), "{added:?}");
    }
    assert!(first["logins"].as_array().is_some_and(|l| !l.is_empty()));

    // Started again on the same data: nothing new, only a sync.
    let second = demo_once(data.path());
    let sync = &second["openstack"]["sync"];
    assert!(
        !sync["added"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().is_some_and(|n| n.starts_with("m1."))),
        "{second}"
    );
    assert!(sync["unchanged"].as_u64().unwrap() >= 4, "{second}");
}

#[test]
fn without_the_peer_the_demo_says_how_to_start_it_and_writes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let state = data.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_makonis"))
        .args(["demo", "--with-openstack", "--data-dir"])
        .arg(&state)
        .env("MAKONIS_OPENSTACK_DIR", data.path().join("no-peer"))
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--with-openstack")
            && stderr.contains("openstack.env")
            && stderr.contains("scripts/peers/openstack-up"),
        "{stderr}"
    );
    assert!(!state.exists(), "the data directory was created");
}

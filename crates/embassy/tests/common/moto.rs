//! A local `moto_server` (in-memory S3) for the S3 tests, started on
//! 127.0.0.1 with a free port. Without the binary the tests are skipped with
//! a message, unless `MAKONIS_REQUIRE_PEERS=1`, in which case they fail.
//! moto keeps everything in memory: killing it loses the data.
//! [`start_moto_tls`] serves HTTPS with a given certificate and key;
//! [`start_moto_env`] passes moto settings through its environment (e.g.
//! `INITIAL_NO_AUTH_ACTION_COUNT=0`, which makes it check credentials).

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub port: u16,
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_binary() -> Option<String> {
    if let Ok(p) = std::env::var("MOTO_SERVER") {
        return Some(p);
    }
    for p in [
        "/root/.pyenv/shims/moto_server",
        "/usr/local/bin/moto_server",
        "/usr/bin/moto_server",
    ] {
        if std::path::Path::new(p).exists() {
            return Some(p.into());
        }
    }
    Command::new("sh")
        .args(["-c", "command -v moto_server"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

pub fn start_moto() -> Option<Moto> {
    start_moto_with(None, &[])
}

/// moto_server with these extra environment variables.
pub fn start_moto_env(env: &[(&str, &str)]) -> Option<Moto> {
    start_moto_with(None, env)
}

/// moto_server over HTTPS with this PEM certificate chain and key
/// (`--ssl-cert/--ssl-key`); `endpoint` is `https://127.0.0.1:PORT`.
pub fn start_moto_tls(cert: &Path, key: &Path) -> Option<Moto> {
    start_moto_with(Some((cert, key)), &[])
}

fn start_moto_with(tls: Option<(&Path, &Path)>, env: &[(&str, &str)]) -> Option<Moto> {
    let Some(bin) = moto_binary() else {
        if std::env::var("MAKONIS_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("moto_server not found and MAKONIS_REQUIRE_PEERS=1");
        }
        eprintln!(
            "SKIPPED: moto_server not installed (pip install 'moto[server]'); set MAKONIS_REQUIRE_PEERS=1 to fail instead"
        );
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(bin);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    cmd.envs(env.iter().copied());
    if let Some((cert, key)) = tls {
        cmd.arg("--ssl-cert").arg(cert).arg("--ssl-key").arg(key);
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let scheme = if tls.is_some() { "https" } else { "http" };
    let moto = Moto {
        child,
        port,
        endpoint: format!("{scheme}://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(moto)
}

//! S3 over TLS in transit: a local `moto_server` serving HTTPS with a
//! server certificate for 127.0.0.1 signed by a private CA made here with
//! `rcgen`. The backend must trust that CA only through
//! `S3Config::ca_bundle` (or the system roots), fail fast and clearly
//! without it, and never talk plain HTTP to the TLS port. Same skip rules as
//! the other S3 tests: without moto_server they are skipped with a message,
//! unless `MAKONIS_REQUIRE_PEERS=1`.
#![cfg(feature = "s3")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::moto::{Moto, start_moto_tls};
use common::*;
use makonis_embassy::backend::s3::{S3Backend, S3Config, S3Timeouts};
use makonis_embassy::backend::{Backend, FileType};
use makonis_embassy::ops::{self, BackupOptions, CheckOptions, RestoreOptions};
use makonis_embassy::{Error, NoProgress, Repository};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A private CA, a server certificate for 127.0.0.1 signed by it, and an
/// unrelated second CA, as PEM files in a temporary directory.
struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    other_ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let pem = p.self_signed(&key).unwrap().pem();
    (pem, Issuer::new(p, key))
}

fn make_pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, issuer) = ca("Makonis test embassy CA");
    let (other_pem, _) = ca("Some other CA");
    // IP SAN: the endpoint is https://127.0.0.1:PORT.
    let mut p = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &issuer).unwrap();
    let w = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    Pki {
        ca: w("ca.pem", &ca_pem),
        other_ca: w("other-ca.pem", &other_pem),
        cert: w("server.pem", &cert.pem()),
        key: w("server.key", &key.serialize_pem()),
        _dir: dir,
    }
}

/// Short timeouts and no retries: a verification failure must surface at
/// once, and a hang would show as a timeout error rather than a stuck test.
fn quick() -> S3Timeouts {
    S3Timeouts {
        connect: Duration::from_secs(3),
        attempt: Duration::from_secs(5),
        operation: Some(Duration::from_secs(8)),
        max_attempts: 1,
        initial_backoff: Duration::from_millis(100),
    }
}

fn s3(endpoint: &str, ca_bundle: Option<&Path>, timeouts: S3Timeouts) -> Result<S3Backend, Error> {
    S3Backend::new(S3Config {
        bucket: "embassy".into(),
        prefix: "repo".into(),
        endpoint: Some(endpoint.into()),
        region: Some("eu-north-1".into()),
        access_key: Some(("testing".into(), "testing".into())),
        timeouts,
        ca_bundle: ca_bundle.map(Path::to_path_buf),
    })
}

fn start(pki: &Pki) -> Option<Moto> {
    start_moto_tls(&pki.cert, &pki.key)
}

/// Waits until moto answers over TLS (it listens before it serves).
fn ready(m: &Moto, pki: &Pki) -> S3Backend {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let b = s3(&m.endpoint, Some(&pki.ca), quick()).unwrap();
        match b.create_bucket(false) {
            Ok(()) => return b,
            Err(e) if Instant::now() < deadline => {
                eprintln!("waiting for moto over TLS: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("moto_server never answered over TLS: {e}"),
        }
    }
}

#[test]
fn backup_check_restore_over_tls_with_private_ca() {
    let pki = make_pki();
    let Some(m) = start(&pki) else { return };
    assert!(
        m.endpoint.starts_with("https://127.0.0.1:"),
        "{}",
        m.endpoint
    );
    let b = ready(&m, &pki);

    // Raw round trip, incl. a ranged read.
    b.write(FileType::Index, "probe", b"over tls").unwrap();
    assert_eq!(b.read(FileType::Index, "probe").unwrap(), b"over tls");
    assert_eq!(
        b.read_range(FileType::Index, "probe", 5, 3).unwrap(),
        b"tls"
    );
    b.delete(FileType::Index, "probe").unwrap();

    // A few MB: the usual tree plus incompressible and text bulk.
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("s");
    make_tree(&src);
    std::fs::write(src.join("bulk.bin"), pseudo(3 << 20, 42)).unwrap();
    std::fs::write(src.join("bulk.txt"), text(1 << 20, 43)).unwrap();
    let src_bytes = dir_size(&src);
    assert!(src_bytes > 4 << 20, "{src_bytes}");

    let repo = Repository::init(Arc::new(b), PW, small_opts()).unwrap();
    let s = ops::backup(
        &repo,
        std::slice::from_ref(&src),
        &BackupOptions::default(),
        &NoProgress,
    )
    .unwrap();
    let packs = repo.backend().list(FileType::Pack).unwrap();
    let stored: u64 = packs.iter().map(|p| p.size).sum();
    // 3 MiB of random bytes cannot compress: at least that much went up.
    assert!(stored > 3 << 20, "only {stored} bytes of packs stored");
    assert!(packs.len() >= 24, "{} packs", packs.len());
    let r = ops::check(&repo, &CheckOptions { read_data: true }, &NoProgress).unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);

    // A fresh client (new connections, new TLS handshakes) reads it back.
    let reopened = Repository::open(
        Arc::new(s3(&m.endpoint, Some(&pki.ca), S3Timeouts::default()).unwrap()),
        PW,
    )
    .unwrap();
    let snap = reopened.find_snapshot("latest").unwrap();
    assert_eq!(snap.id, s.snapshot.id);
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
    assert_eq!(dir_size(&out.join("s")), src_bytes);
}

#[test]
fn tls_endpoint_is_verified_without_or_with_wrong_ca_bundle() {
    let pki = make_pki();
    let Some(m) = start(&pki) else { return };
    ready(&m, &pki); // the server is up and valid for the right CA

    // No ca_bundle: the default chain (system roots) does not know the
    // private CA, so the handshake must be refused, quickly.
    // With an unrelated CA: same, so the bundle really is the trust anchor.
    for (what, bundle) in [("no ca_bundle", None), ("other CA", Some(&pki.other_ca))] {
        let b = s3(&m.endpoint, bundle.map(PathBuf::as_path), quick()).unwrap();
        let t0 = Instant::now();
        let e = b.create().unwrap_err();
        let took = t0.elapsed();
        let msg = e.to_string();
        eprintln!("{what}: {msg}");
        assert!(took < Duration::from_secs(5), "{what}: took {took:?}");
        assert!(msg.contains("open bucket"), "{what}: {msg}");
        assert!(
            msg.contains(": tls: "),
            "{what}: not reported as TLS: {msg}"
        );
        assert!(msg.contains("private CA"), "{what}: no hint: {msg}");
        assert!(
            msg.contains("UnknownIssuer"),
            "{what}: not a certificate verification failure: {msg}"
        );
        assert!(!msg.contains("timeout"), "{what}: {msg}");
        // Nothing could be written either.
        let e = b.write(FileType::Index, "x", b"x").unwrap_err();
        assert!(e.to_string().contains("UnknownIssuer"), "{what}: {e}");
    }
}

#[test]
fn plain_http_to_the_tls_port_fails() {
    let pki = make_pki();
    let Some(m) = start(&pki) else { return };
    ready(&m, &pki);
    let http = format!("http://127.0.0.1:{}", m.port);

    // A raw HTTP request gets no HTTP answer from the TLS listener.
    let mut c = TcpStream::connect(("127.0.0.1", m.port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"GET /tls HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = Vec::new();
    let _ = c.read_to_end(&mut reply);
    assert!(
        !reply.starts_with(b"HTTP/"),
        "TLS port answered plain HTTP: {:?}",
        String::from_utf8_lossy(&reply)
    );

    // The S3 client over http:// fails, fast, instead of reaching the bucket.
    let b = s3(&http, None, quick()).unwrap();
    let t0 = Instant::now();
    let e = b.create().unwrap_err();
    eprintln!("http:// to the TLS port: {e}");
    assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
    assert!(
        matches!(
            e,
            Error::Backend {
                op: "open bucket",
                ..
            }
        ),
        "{e}"
    );
    assert!(!e.to_string().contains(": tls: "), "{e}");

    // A CA bundle with an http:// endpoint is a misconfiguration.
    let e = s3(&http, Some(&pki.ca), quick()).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(e.to_string().contains("not https://"), "{e}");
}

/// Re-runs the test `name` of this binary in a child process with `env`
/// set (settings read once per process, such as the system root store, can
/// only be tested that way); returns its output after asserting success.
fn run_child(name: &str, env: &[(&str, &std::ffi::OsStr)]) -> String {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("MAKONIS_TLS_CHILD", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child {name} failed:\n{log}");
    assert!(log.contains("1 passed"), "child {name} ran no test:\n{log}");
    log
}

fn in_child() -> bool {
    std::env::var_os("MAKONIS_TLS_CHILD").is_some()
}

fn child_env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("{key} not set for the child"))
}

/// With the private CA in the *system* store (`SSL_CERT_FILE`, read by
/// rustls-native-certs), a plain `https://` endpoint works through the
/// default chain without any `ca_bundle`, and a `ca_bundle` adds to the
/// system roots rather than replacing them: with only an unrelated CA in
/// the bundle, the system-trusted server still verifies.
#[test]
fn system_roots_trusted_by_default_and_kept_with_ca_bundle() {
    const NAME: &str = "system_roots_trusted_by_default_and_kept_with_ca_bundle";
    if in_child() {
        let endpoint = child_env("MAKONIS_TLS_ENDPOINT");
        let other = PathBuf::from(child_env("MAKONIS_TLS_OTHER_CA"));
        let plain = s3(&endpoint, None, quick()).unwrap();
        plain
            .write(FileType::Index, "default", b"system roots")
            .unwrap();
        let plus = s3(&endpoint, Some(&other), quick()).unwrap();
        assert_eq!(
            plus.read(FileType::Index, "default").unwrap(),
            b"system roots"
        );
        eprintln!("child: default chain and ca_bundle+system roots both verified");
        return;
    }
    let pki = make_pki();
    let Some(m) = start(&pki) else { return };
    ready(&m, &pki);
    let log = run_child(
        NAME,
        &[
            ("SSL_CERT_FILE", pki.ca.as_os_str()),
            ("MAKONIS_TLS_ENDPOINT", m.endpoint.as_ref()),
            ("MAKONIS_TLS_OTHER_CA", pki.other_ca.as_os_str()),
        ],
    );
    assert!(log.contains("child: default chain and ca_bundle"), "{log}");
    // The object the child wrote is really there.
    let b = s3(&m.endpoint, Some(&pki.ca), quick()).unwrap();
    assert_eq!(b.read(FileType::Index, "default").unwrap(), b"system roots");
}

/// `s3://` locations (the CLI's `open_location`, `S3Backend::from_env`)
/// take the CA bundle from `AWS_CA_BUNDLE`, like the endpoint from
/// `AWS_ENDPOINT_URL`.
#[test]
fn aws_ca_bundle_env_applies_to_s3_locations() {
    const NAME: &str = "aws_ca_bundle_env_applies_to_s3_locations";
    if in_child() {
        let b = makonis_embassy::open_location("s3://embassy/env").unwrap();
        b.write(FileType::Index, "from-env", b"AWS_CA_BUNDLE")
            .unwrap();
        assert_eq!(
            b.read(FileType::Index, "from-env").unwrap(),
            b"AWS_CA_BUNDLE"
        );
        eprintln!("child: s3:// location verified with AWS_CA_BUNDLE");
        return;
    }
    let pki = make_pki();
    let Some(m) = start(&pki) else { return };
    ready(&m, &pki);
    let log = run_child(
        NAME,
        &[
            ("AWS_ENDPOINT_URL", m.endpoint.as_ref()),
            ("AWS_CA_BUNDLE", pki.ca.as_os_str()),
            ("AWS_ACCESS_KEY_ID", "testing".as_ref()),
            ("AWS_SECRET_ACCESS_KEY", "testing".as_ref()),
            ("AWS_REGION", "eu-north-1".as_ref()),
        ],
    );
    assert!(log.contains("child: s3:// location verified"), "{log}");
    // Same bucket and prefix as the child's location.
    let b = S3Backend::new(S3Config {
        bucket: "embassy".into(),
        prefix: "env".into(),
        endpoint: Some(m.endpoint.clone()),
        region: Some("eu-north-1".into()),
        access_key: Some(("testing".into(), "testing".into())),
        timeouts: quick(),
        ca_bundle: Some(pki.ca.clone()),
    })
    .unwrap();
    assert_eq!(
        b.read(FileType::Index, "from-env").unwrap(),
        b"AWS_CA_BUNDLE"
    );
}

#[test]
fn ca_bundle_is_validated_when_the_backend_is_built() {
    let pki = make_pki();
    let t = tempfile::tempdir().unwrap();
    let ep = "https://127.0.0.1:9"; // never contacted
    let build = |p: &Path| s3(ep, Some(p), quick()).map(|_| ());

    let missing = t.path().join("missing.pem");
    let e = build(&missing).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("missing.pem"), "{e}");

    let junk = t.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let e = build(&junk).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert!(e.to_string().contains("no PEM CERTIFICATE block"), "{e}");

    // A private key is not a trust anchor.
    let e = build(&pki.key).unwrap_err();
    assert!(e.to_string().contains("no PEM CERTIFICATE block"), "{e}");

    // A CERTIFICATE block whose content is not a certificate.
    let bad = t.path().join("bad.pem");
    std::fs::write(
        &bad,
        "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let e = build(&bad).unwrap_err();
    assert!(e.to_string().contains("certificate 1"), "{e}");

    // Several CAs in one bundle are fine.
    let both = t.path().join("both.pem");
    let mut pem = std::fs::read(&pki.other_ca).unwrap();
    pem.extend(std::fs::read(&pki.ca).unwrap());
    std::fs::write(&both, pem).unwrap();
    build(&both).unwrap();
    build(&pki.ca).unwrap();
}

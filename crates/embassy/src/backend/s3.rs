//! S3 backend (AWS or any S3-compatible store) built on `aws-sdk-s3`.
//!
//! The SDK is async; this backend owns a small tokio runtime and blocks on
//! it, so the engine's worker threads can call it like the filesystem
//! backend. Objects are stored as `<prefix>/<FileType::path>`. A PUT is
//! atomic in S3, so no temp-and-rename is needed.
//!
//! *Cold copies*: with [`ObjectLock`] set, every object except lock files is
//! written with an S3 Object Lock retention (COMPLIANCE or GOVERNANCE mode)
//! until `now + retain`; the bucket must have Object Lock enabled
//! ([`S3Backend::create_bucket`]). Deleting then removes all *versions* of a
//! key, which the store refuses while a retention is in force, so nobody,
//! not even a holder of the credentials, can destroy the cold copy early.
//! Writes to such a bucket are create-only (`If-None-Match: *`): an existing
//! object is never replaced by a new version. Packs, index and snapshot
//! files are named by the hash of their bytes, so an object that already
//! exists under a name already holds exactly those bytes (a retried PUT
//! whose first attempt arrived); that case counts as success.
//!
//! *Timeouts*: every request has a connect timeout and a per-attempt
//! timeout, and is retried a bounded number of times with exponential
//! backoff ([`S3Timeouts`]), so a network cut surfaces as an error naming
//! the operation and object within seconds to minutes instead of hanging.
//!
//! *TLS in transit*: an `https://` endpoint (and AWS itself) is reached over
//! rustls with the aws-lc-rs crypto provider, verifying the server
//! certificate against the system's root store. A private store (Ceph RGW,
//! MinIO at an embassy site) signed by a private CA is trusted by naming a
//! PEM bundle in [`S3Config::ca_bundle`]: its certificates are trusted *in
//! addition to* the system roots (or alone, on a system that has none).
//! The bundle is read and parsed when the backend is built, so a missing or
//! malformed file is an error there, not a failure at the first request.
//! An `http://` endpoint is plaintext: it exposes object names, sizes and
//! request signatures on the wire (the data itself is already AES-256-GCM
//! encrypted) and is meant for tests on 127.0.0.1 only; combining it with a
//! `ca_bundle` is refused as a misconfiguration.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::ObjectLockMode;

use super::{Backend, FileInfo, FileType};
use crate::error::{Error, Result};

pub use super::{ObjectLock, Retention};

#[derive(Debug)]
pub struct S3Backend {
    rt: tokio::runtime::Runtime,
    client: Client,
    bucket: String,
    prefix: String,
    lock: Option<ObjectLock>,
    versioned: bool,
    region: String,
}

/// Connection settings.
#[derive(Debug, Clone, Default)]
pub struct S3Config {
    pub bucket: String,
    pub prefix: String,
    /// Custom endpoint (MinIO, moto, Ceph); enables path-style addressing.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Static credentials; otherwise the standard AWS provider chain.
    pub access_key: Option<(String, String)>,
    pub timeouts: S3Timeouts,
    /// PEM file with one or more CA certificates to trust for the TLS
    /// connection, in addition to the system roots: for stores behind a
    /// private CA. Needs an `https://` endpoint (see module docs).
    /// [`S3Backend::from_env`] takes it from `AWS_CA_BUNDLE`.
    pub ca_bundle: Option<PathBuf>,
}

/// Timeouts and retries of every S3 request. A request fails after at most
/// `max_attempts × (attempt + backoff)` (or `operation`, when set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S3Timeouts {
    /// Establishing a TCP/TLS connection.
    pub connect: Duration,
    /// One attempt of a request, body transfer included (a 16 MiB pack
    /// must fit: 300 s allows links down to ≈0.5 Mbit/s). A stalled
    /// transfer is also cut earlier by the SDK's stalled-stream protection.
    pub attempt: Duration,
    /// All attempts of one request together; `None`: only bounded by
    /// `max_attempts`.
    pub operation: Option<Duration>,
    /// Attempts per request (1 = no retries). Connection errors, timeouts,
    /// throttling and 5xx responses are retried.
    pub max_attempts: u32,
    /// First retry delay; doubles (with jitter) per retry, at most 20 s.
    pub initial_backoff: Duration,
}

impl Default for S3Timeouts {
    fn default() -> Self {
        S3Timeouts {
            connect: Duration::from_secs(10),
            attempt: Duration::from_secs(300),
            operation: None,
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
        }
    }
}

impl S3Backend {
    pub fn new(cfg: S3Config) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("embassy-s3")
            .build()
            .map_err(|e| Error::io("tokio runtime", e))?;
        let region = cfg
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .unwrap_or_else(|| "us-east-1".into());
        let http_client = match &cfg.ca_bundle {
            Some(path) => {
                if let Some(ep) = &cfg.endpoint
                    && !ep.to_ascii_lowercase().starts_with("https://")
                {
                    return Err(Error::InvalidArgument(format!(
                        "S3 endpoint {ep} is not https:// but a CA bundle ({}) is set; \
                         plain http is unencrypted and meant for local tests only",
                        path.display()
                    )));
                }
                Some(https_client_trusting(path)?)
            }
            None => None,
        };
        let client = run_blocking(&rt, async {
            let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(Region::new(region.clone()));
            if let Some(http) = http_client {
                loader = loader.http_client(http);
            }
            if let Some(ep) = &cfg.endpoint {
                loader = loader.endpoint_url(ep);
            }
            if let Some((ak, sk)) = &cfg.access_key {
                loader = loader.credentials_provider(Credentials::new(
                    ak,
                    sk,
                    None,
                    None,
                    "makonis-embassy",
                ));
            }
            let shared = loader.load().await;
            let t = cfg.timeouts;
            let mut timeouts = TimeoutConfig::builder()
                .connect_timeout(t.connect)
                .operation_attempt_timeout(t.attempt);
            if let Some(op) = t.operation {
                timeouts = timeouts.operation_timeout(op);
            }
            let conf = aws_sdk_s3::config::Builder::from(&shared)
                .force_path_style(cfg.endpoint.is_some())
                .timeout_config(timeouts.build())
                .retry_config(
                    RetryConfig::standard()
                        .with_max_attempts(t.max_attempts.max(1))
                        .with_initial_backoff(t.initial_backoff),
                )
                .build();
            Client::from_conf(conf)
        });
        Ok(S3Backend {
            rt,
            client,
            bucket: cfg.bucket,
            prefix: cfg.prefix.trim_matches('/').to_string(),
            lock: None,
            versioned: false,
            region,
        })
    }

    /// Bucket and prefix from a `s3://` location; endpoint from
    /// `AWS_ENDPOINT_URL`, extra trusted CA certificates from
    /// `AWS_CA_BUNDLE` (added to the system roots, unlike the AWS CLI,
    /// which replaces them), credentials from the usual AWS variables.
    pub fn from_env(bucket: &str, prefix: &str) -> Result<Self> {
        S3Backend::new(S3Config {
            bucket: bucket.into(),
            prefix: prefix.into(),
            endpoint: std::env::var("AWS_ENDPOINT_URL").ok(),
            ca_bundle: std::env::var_os("AWS_CA_BUNDLE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            ..Default::default()
        })
    }

    /// Write every object with this retention (see module docs).
    pub fn with_object_lock(mut self, lock: ObjectLock) -> Self {
        self.lock = Some(lock);
        self.versioned = true;
        self
    }

    /// Treat the bucket as versioned: deletes remove every version.
    pub fn versioned(mut self) -> Self {
        self.versioned = true;
        self
    }

    /// Create the bucket, optionally with Object Lock enabled.
    pub fn create_bucket(&self, object_lock: bool) -> Result<()> {
        self.block(async {
            let mut req = self
                .client
                .create_bucket()
                .bucket(&self.bucket)
                .object_lock_enabled_for_bucket(object_lock);
            // us-east-1 is the one region that must not be named.
            if self.region != "us-east-1" {
                req = req.create_bucket_configuration(
                    aws_sdk_s3::types::CreateBucketConfiguration::builder()
                        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                            self.region.as_str(),
                        ))
                        .build(),
                );
            }
            req.send()
                .await
                .map(|_| ())
                .map_err(|e| self.err("create bucket", &self.bucket, e))
        })
    }

    fn key(&self, t: FileType, name: &str) -> String {
        if self.prefix.is_empty() {
            t.path(name)
        } else {
            format!("{}/{}", self.prefix, t.path(name))
        }
    }

    fn block<F>(&self, f: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        run_blocking(&self.rt, f)
    }

    fn err<E: std::error::Error>(&self, op: &'static str, path: &str, e: E) -> Error {
        // The full context includes the raw HTTP response; keep the message
        // to the error code and text the service sent, or for failures that
        // never got a response (network, timeouts) to the chain of causes.
        let full = format!("{}", DisplayErrorContext(&e));
        let message = match (
            extract(&full, "code: Some(\""),
            extract(&full, "message: Some(\""),
        ) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c,
            _ => {
                let mut parts: Vec<String> = vec![e.to_string()];
                let mut cur = e.source();
                while let Some(s) = cur {
                    let m = s.to_string();
                    if !parts.iter().any(|p| p.contains(&m)) {
                        parts.push(m);
                    }
                    cur = s.source();
                }
                let chain = parts.join(": ");
                if let Some(hint) = tls_failure(&chain) {
                    format!("tls: {chain}{hint}")
                } else if chain.contains("dispatch failure") || chain.contains("timeout") {
                    format!("network: {chain}")
                } else {
                    chain.chars().take(400).collect()
                }
            }
        };
        Error::Backend {
            op,
            path: format!("s3://{}/{path}", self.bucket),
            message,
        }
    }

    fn list_keys(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        self.block(async {
            let mut out = Vec::new();
            let mut token = None;
            loop {
                let r = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(prefix)
                    .set_continuation_token(token.take())
                    .send()
                    .await
                    .map_err(|e| self.err("list", prefix, e))?;
                for o in r.contents() {
                    if let Some(k) = o.key() {
                        out.push((k.to_string(), o.size().unwrap_or(0).max(0) as u64));
                    }
                }
                match r.next_continuation_token() {
                    Some(t) if r.is_truncated() == Some(true) => token = Some(t.to_string()),
                    _ => break,
                }
            }
            Ok(out)
        })
    }

    async fn get(&self, key: &str, range: Option<String>) -> Result<Vec<u8>> {
        let r = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_range(range)
            .send()
            .await;
        match r {
            Ok(o) => Ok(o
                .body
                .collect()
                .await
                .map_err(|e| self.err("read", key, e))?
                .into_bytes()
                .to_vec()),
            Err(e) => {
                if let Some(se) = e.as_service_error()
                    && se.is_no_such_key()
                {
                    return Err(Error::Missing {
                        kind: "object",
                        id: key.to_string(),
                    });
                }
                Err(self.err("read", key, e))
            }
        }
    }
}

/// The SDK's default HTTPS client (rustls with aws-lc-rs, proxy settings
/// from the environment) with the certificates of a PEM bundle trusted in
/// addition to the system roots.
///
/// The SDK itself parses the PEM only when the first connection is made and
/// panics on bad input, so the bundle is validated here first with the same
/// parser (`rustls-pki-types`) and the same root store (`rustls`).
fn https_client_trusting(path: &Path) -> Result<aws_sdk_s3::config::SharedHttpClient> {
    use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
    use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
    use aws_smithy_http_client::{Builder, ConnectorBuilder, proxy::ProxyConfig};

    let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    validate_ca_bundle(&pem)
        .map_err(|m| Error::InvalidArgument(format!("CA bundle {}: {m}", path.display())))?;
    let trust = TrustStore::default()
        .with_native_roots(system_roots_available())
        .with_pem_certificate(pem);
    let tls = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| Error::InvalidArgument(format!("TLS settings: {e}")))?;
    // Mirrors the SDK's own default client (aws-smithy-runtime
    // `default_https_client`) except for the TLS context, so timeouts,
    // the sleep implementation and HTTPS_PROXY/NO_PROXY behave the same.
    // `build_with_connector_fn` is `#[doc(hidden)]` in aws-smithy-http-client
    // 1.1 but is what the SDK itself calls; the public `build_https` would
    // drop the proxy settings.
    Ok(
        Builder::new().build_with_connector_fn(move |settings, components| {
            let mut b = ConnectorBuilder::default()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(tls.clone());
            b.set_connector_settings(settings.cloned());
            if let Some(c) = components {
                b.set_sleep_impl(c.sleep_impl());
            }
            b.set_proxy_config(Some(ProxyConfig::from_env()));
            b.build()
        }),
    )
}

/// Number of CA certificates in a PEM bundle, each accepted as a rustls
/// trust anchor; an error naming the first problem otherwise.
fn validate_ca_bundle(pem: &[u8]) -> std::result::Result<usize, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore::empty();
    for (i, cert) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let cert = cert.map_err(|e| format!("certificate {}: bad PEM: {e}", i + 1))?;
        roots
            .add(cert)
            .map_err(|e| format!("certificate {}: not a usable CA certificate: {e}", i + 1))?;
    }
    if roots.is_empty() {
        return Err("no PEM CERTIFICATE block found".into());
    }
    Ok(roots.len())
}

/// Whether the system has a root store the SDK can load. On a minimal
/// system without one, a CA bundle is the only trust anchor (the SDK would
/// otherwise trip a debug assertion about the empty native store).
fn system_roots_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| !rustls_native_certs::load_native_certs().certs.is_empty())
}

/// Block on a future, also when the caller itself runs inside a tokio
/// runtime (the makonis server), where `block_on` would panic.
fn run_blocking<F>(rt: &tokio::runtime::Runtime, f: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| s.spawn(|| rt.block_on(f)).join().expect("S3 call panicked"))
    } else {
        rt.block_on(f)
    }
}

impl Backend for S3Backend {
    fn concurrency(&self) -> usize {
        8
    }

    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    fn create(&self) -> Result<()> {
        self.block(async {
            self.client
                .head_bucket()
                .bucket(&self.bucket)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.err("open bucket", &self.bucket, e))
        })
    }

    fn list(&self, t: FileType) -> Result<Vec<FileInfo>> {
        let base = match t {
            FileType::Config => self.key(t, ""),
            _ if self.prefix.is_empty() => format!("{}/", t.dir()),
            _ => format!("{}/{}/", self.prefix, t.dir()),
        };
        let mut out = Vec::new();
        for (k, size) in self.list_keys(&base)? {
            let name = k.rsplit('/').next().unwrap_or_default().to_string();
            if name.is_empty() || (t == FileType::Config && k != base) {
                continue;
            }
            out.push(FileInfo { name, size });
        }
        Ok(out)
    }

    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        let key = self.key(t, name);
        self.block(self.get(&key, None))
            .map_err(|e| rename_missing(e, t, name))
    }

    fn read_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let key = self.key(t, name);
        let range = format!("bytes={}-{}", offset, offset + len - 1);
        let b = self
            .block(self.get(&key, Some(range)))
            .map_err(|e| rename_missing(e, t, name))?;
        if b.len() as u64 != len {
            return Err(Error::corrupt(
                super::local::kind_name(t),
                name,
                format!(
                    "range {offset}+{len} returned {} bytes; truncated?",
                    b.len()
                ),
            ));
        }
        Ok(b)
    }

    fn write(&self, t: FileType, name: &str, data: &[u8]) -> Result<()> {
        let key = self.key(t, name);
        let lock = self.lock.filter(|_| t != FileType::Lock);
        self.block(async {
            let mut req = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .body(ByteStream::from(data.to_vec()));
            if let Some(l) = lock {
                req = req
                    .object_lock_mode(lock_mode(l.compliance))
                    .object_lock_retain_until_date(to_smithy(l.until_from_now()))
                    // Create-only: a locked object is never replaced by a
                    // new version (see module docs).
                    .if_none_match("*");
            }
            match req.send().await {
                Ok(_) => Ok(()),
                Err(e)
                    if lock.is_some()
                        && e.code() == Some("PreconditionFailed")
                        && content_addressed(t) =>
                {
                    Ok(())
                }
                Err(e) if e.code() == Some("PreconditionFailed") => {
                    Err(Error::AlreadyExists(format!("s3://{}/{key}", self.bucket)))
                }
                Err(e) => Err(self.err("write", &key, e)),
            }
        })
    }

    fn delete(&self, t: FileType, name: &str) -> Result<()> {
        let key = self.key(t, name);
        self.block(async {
            if !self.versioned {
                return self
                    .client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(&key)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| self.err("delete", &key, e));
            }
            let r = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(&key)
                .send()
                .await
                .map_err(|e| self.err("list versions", &key, e))?;
            let versions: Vec<String> = r
                .versions()
                .iter()
                .filter(|v| v.key() == Some(key.as_str()))
                .filter_map(|v| v.version_id().map(str::to_string))
                .chain(
                    r.delete_markers()
                        .iter()
                        .filter(|v| v.key() == Some(key.as_str()))
                        .filter_map(|v| v.version_id().map(str::to_string)),
                )
                .collect();
            for v in versions {
                self.client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(&key)
                    .version_id(&v)
                    .send()
                    .await
                    .map_err(|e| self.err("delete", &key, e))?;
            }
            Ok(())
        })
    }

    fn exists(&self, t: FileType, name: &str) -> Result<bool> {
        match self.size(t, name) {
            Ok(_) => Ok(true),
            Err(Error::Missing { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn size(&self, t: FileType, name: &str) -> Result<u64> {
        self.head(t, name)
            .map(|o| o.content_length().unwrap_or(0).max(0) as u64)
    }

    fn object_lock(&self) -> Option<ObjectLock> {
        self.lock
    }

    fn retention(&self, t: FileType, name: &str) -> Result<Option<Retention>> {
        let o = self.head(t, name)?;
        Ok(
            match (o.object_lock_mode(), o.object_lock_retain_until_date()) {
                (Some(mode), Some(until)) => Some(Retention {
                    compliance: *mode == ObjectLockMode::Compliance,
                    until: from_smithy(until),
                }),
                _ => None,
            },
        )
    }

    fn extend_retention(
        &self,
        t: FileType,
        name: &str,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        let Some(lock) = self.lock else {
            return Err(Error::InvalidArgument(format!(
                "{} is not opened with an object lock; retention cannot be set",
                self.location()
            )));
        };
        let current = self.retention(t, name)?;
        if current.is_some_and(|c| c.until >= until) {
            return Ok(false);
        }
        // Keep an existing mode: COMPLIANCE cannot be relaxed anyway.
        let compliance = current.map_or(lock.compliance, |c| c.compliance);
        let key = self.key(t, name);
        self.block(async {
            self.client
                .put_object_retention()
                .bucket(&self.bucket)
                .key(&key)
                .retention(
                    aws_sdk_s3::types::ObjectLockRetention::builder()
                        .mode(match compliance {
                            true => aws_sdk_s3::types::ObjectLockRetentionMode::Compliance,
                            false => aws_sdk_s3::types::ObjectLockRetentionMode::Governance,
                        })
                        .retain_until_date(to_smithy(until))
                        .build(),
                )
                .send()
                .await
                .map(|_| true)
                .map_err(|e| self.err("extend retention", &key, e))
        })
    }
}

impl S3Backend {
    fn head(
        &self,
        t: FileType,
        name: &str,
    ) -> Result<aws_sdk_s3::operation::head_object::HeadObjectOutput> {
        let key = self.key(t, name);
        self.block(async {
            match self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(&key)
                .send()
                .await
            {
                Ok(o) => Ok(o),
                Err(e) => {
                    if e.as_service_error().is_some_and(|s| s.is_not_found()) {
                        Err(Error::Missing {
                            kind: super::local::kind_name(t),
                            id: name.to_string(),
                        })
                    } else {
                        Err(self.err("stat", &key, e))
                    }
                }
            }
        })
    }

    /// Every key under the prefix with its number of stored versions
    /// (delete markers included), sorted by key. On an object-locked
    /// bucket each repository object should have exactly one: audits use
    /// this to prove nothing was ever overwritten.
    pub fn object_versions(&self) -> Result<Vec<(String, usize)>> {
        let prefix = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        self.block(async {
            let (mut key_marker, mut version_marker) = (None, None);
            loop {
                let r = self
                    .client
                    .list_object_versions()
                    .bucket(&self.bucket)
                    .prefix(&prefix)
                    .set_key_marker(key_marker.take())
                    .set_version_id_marker(version_marker.take())
                    .send()
                    .await
                    .map_err(|e| self.err("list versions", &prefix, e))?;
                let keys = r
                    .versions()
                    .iter()
                    .filter_map(|v| v.key())
                    .chain(r.delete_markers().iter().filter_map(|d| d.key()));
                for k in keys {
                    *counts.entry(k.to_string()).or_default() += 1;
                }
                if r.is_truncated() != Some(true) {
                    break;
                }
                key_marker = r.next_key_marker().map(str::to_string);
                version_marker = r.next_version_id_marker().map(str::to_string);
                if key_marker.is_none() {
                    break;
                }
            }
            Ok::<_, Error>(())
        })?;
        Ok(counts.into_iter().collect())
    }
}

fn lock_mode(compliance: bool) -> ObjectLockMode {
    if compliance {
        ObjectLockMode::Compliance
    } else {
        ObjectLockMode::Governance
    }
}

/// Objects named by the hash of their bytes: an existing object with the
/// same name has the same content.
fn content_addressed(t: FileType) -> bool {
    matches!(
        t,
        FileType::Pack | FileType::Index | FileType::Snapshot | FileType::Key
    )
}

fn to_smithy(t: chrono::DateTime<chrono::Utc>) -> DateTime {
    DateTime::from_secs_and_nanos(t.timestamp(), t.timestamp_subsec_nanos())
}

fn from_smithy(t: &DateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}

/// For an error chain from a failed TLS handshake (rustls), a hint to
/// append to the message (possibly empty); `None` for other errors.
fn tls_failure(chain: &str) -> Option<&'static str> {
    if chain.contains("UnknownIssuer") {
        Some(
            " (the server certificate is not signed by a trusted CA; for a store \
             behind a private CA set the CA bundle: S3Config::ca_bundle or AWS_CA_BUNDLE)",
        )
    } else if chain.contains("NotValidForName") {
        Some(" (the server certificate does not name the endpoint's host)")
    } else if [
        "invalid peer certificate",
        "received fatal alert",
        "peer misbehaved",
    ]
    .iter()
    .any(|m| chain.contains(m))
    {
        Some("")
    } else {
        None
    }
}

fn extract(s: &str, after: &str) -> Option<String> {
    let start = s.find(after)? + after.len();
    let end = s[start..].find('"')?;
    Some(s[start..start + end].to_string())
}

fn rename_missing(e: Error, t: FileType, name: &str) -> Error {
    match e {
        Error::Missing { .. } => Error::Missing {
            kind: super::local::kind_name(t),
            id: name.to_string(),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_failures_are_named_with_a_hint() {
        let unknown = "dispatch failure: io error: client error (Connect): invalid peer certificate: UnknownIssuer";
        assert!(tls_failure(unknown).unwrap().contains("AWS_CA_BUNDLE"));
        let name = "dispatch failure: io error: invalid peer certificate: NotValidForName";
        assert!(tls_failure(name).unwrap().contains("host"));
        let alert = "dispatch failure: io error: received fatal alert: HandshakeFailure";
        assert_eq!(tls_failure(alert), Some(""));
        let reset = "dispatch failure: io error: connection error: Connection reset by peer";
        assert_eq!(tls_failure(reset), None);
    }

    #[test]
    fn ca_bundle_validation_counts_certificates() {
        assert!(validate_ca_bundle(b"").unwrap_err().contains("no PEM"));
        let e = validate_ca_bundle(
            b"-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n",
        )
        .unwrap_err();
        assert!(
            e.starts_with("certificate 1: not a usable CA certificate"),
            "{e}"
        );
    }
}

//! Opening a system's repositories (filesystem or S3) with their sealed
//! secrets.

use makonis_embassy::{InitOptions, Repository, open_location};
use makonis_types::FieldError;
use makonis_types::embassy::*;

use crate::embassy::RepositorySecrets;
use crate::{Error, Result};

pub(super) fn open_replica(location: &str, secrets: &RepositorySecrets) -> Result<Repository> {
    backend_for(location, secrets.s3.as_ref(), None)
        .and_then(|b| Repository::open(b, &secrets.replica_password))
        .map_err(|e| Error::Unavailable {
            message: "the embassy replica cannot be opened".into(),
            detail: format!("{location}: {e}"),
        })
}

/// The backend of `location`: a path, or `s3://bucket/prefix` reached with
/// the protection's S3 access (else the host's AWS credential chain); with
/// `lock_days`, every object is written under a COMPLIANCE Object Lock.
pub(super) fn backend_for(
    location: &str,
    s3: Option<&S3Access>,
    lock_days: Option<i64>,
) -> makonis_embassy::Result<makonis_embassy::DynBackend> {
    use makonis_embassy::backend::s3::{ObjectLock, S3Backend, S3Config};
    let Some(rest) = location.strip_prefix("s3://") else {
        if lock_days.is_some() {
            return Err(makonis_embassy::Error::InvalidArgument(format!(
                "cold copies need an s3:// bucket with Object Lock, not {location}"
            )));
        }
        return open_location(location);
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let mut backend = S3Backend::new(S3Config {
        bucket: bucket.into(),
        prefix: prefix.into(),
        endpoint: s3
            .and_then(|a| a.endpoint.clone())
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok()),
        region: s3.and_then(|a| a.region.clone()),
        access_key: s3.map(|a| (a.access_key_id.clone(), a.secret_access_key.clone())),
        // Explicit per protection: a host-wide AWS_CA_BUNDLE is meant for
        // the host's own tools, not for every embassy endpoint.
        ca_bundle: s3
            .and_then(|a| a.ca_bundle.clone())
            .map(std::path::PathBuf::from),
        ..Default::default()
    })?;
    if let Some(days) = lock_days {
        backend = backend.with_object_lock(ObjectLock {
            compliance: true,
            retain: std::time::Duration::from_secs(u64::try_from(days).unwrap_or(1) * 86_400),
        });
    }
    Ok(std::sync::Arc::new(backend))
}

/// Opens the repository at `location`; with `like`, creates it when it is
/// missing, sharing chunk ids and settings with `like` so copies send only
/// what is new. Errors name `field`.
pub(super) fn open_repo(
    location: &str,
    password: &str,
    s3: Option<&S3Access>,
    lock_days: Option<i64>,
    like: Option<&Repository>,
    field: &str,
) -> Result<Repository> {
    let bad = |what: String| Error::invalid(FieldError::new(field, "invalid", what));
    let backend =
        backend_for(location, s3, lock_days).map_err(|e| bad(format!("{location}: {e}")))?;
    match (Repository::open(backend.clone(), password), like) {
        (Ok(r), _) => Ok(r),
        (Err(makonis_embassy::Error::NotARepository(_)), Some(src)) => {
            let c = src.config();
            Repository::init(
                backend,
                password,
                InitOptions {
                    chunker: src.chunker_params(),
                    pack_size: c.pack_size,
                    zstd_level: c.zstd_level,
                    share_ids_with: Some(src.key().clone()),
                    format_version: c.version,
                    ..Default::default()
                },
            )
            .map_err(|e| bad(format!("creating {location}: {e}")))
        }
        (Err(e), _) => Err(bad(format!("{location}: {e}"))),
    }
}

/// Opens the primary and the replica; with `create`, creates a missing
/// replica sharing chunk ids with the primary. Errors name the field.
pub(super) fn open_pair(
    secrets: &RepositorySecrets,
    primary: &str,
    replica: &str,
    create: bool,
) -> Result<(Repository, Repository)> {
    let s3 = secrets.s3.as_ref();
    let src = open_repo(
        primary,
        &secrets.primary_password,
        s3,
        None,
        None,
        "primary_location",
    )?;
    let dst = open_repo(
        replica,
        &secrets.replica_password,
        s3,
        None,
        create.then_some(&src),
        "replica_location",
    )?;
    Ok((src, dst))
}

//! Restore into production under a grant in force.

use std::time::Instant;

use chrono::{DateTime, Utc};
use makonis_db::commit;
use makonis_embassy::NoProgress;
use makonis_embassy::ops::{self, RestoreOptions};
use makonis_types::FieldError;
use makonis_types::embassy::*;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Change};
use crate::embassy::backends::open_replica;
use crate::embassy::dr_plans::DR_PLAN_TAG;
use crate::{App, Error, OpContext, Result};

/// Where to restore under a `restore_production` grant.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreInput {
    /// An absolute directory on the control-plane host (e.g. production
    /// storage mounted there) that does not exist yet or is empty.
    pub target: String,
    /// A snapshot id of the replica; the newest data snapshot when left out.
    #[serde(default)]
    pub snapshot: Option<String>,
}

/// What a restore into production did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RestoreReport {
    pub snapshot: String,
    pub snapshot_time: DateTime<Utc>,
    pub target: String,
    pub files: u64,
    pub bytes: u64,
    pub seconds: f64,
}

impl App {
    /// Restores the replica's newest data snapshot (or the one named) into
    /// production storage under an active `restore_production` grant of the
    /// caller's. Refused attempts are audited like key releases.
    pub async fn restore_to_production(
        &self,
        ctx: &OpContext,
        grant_id: GrantId,
        input: &RestoreInput,
    ) -> Result<RestoreReport> {
        let grant = self
            .grant_in_force(
                ctx,
                grant_id,
                GrantPurpose::RestoreProduction,
                "embassy.restore_refused",
            )
            .await?;
        let target = std::path::PathBuf::from(input.target.trim());
        let bad_target =
            |why: &str| Error::invalid(FieldError::new("target", "invalid", why.to_owned()));
        if !target.is_absolute() {
            return Err(bad_target("an absolute directory path is required"));
        }
        match std::fs::read_dir(&target) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(bad_target(
                        "the directory is not empty; restores never overwrite",
                    ));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(bad_target(&format!("cannot use the directory: {e}"))),
        }
        let (protection, secrets) = self
            .protection_with_secrets(grant.information_system_id)
            .await?;
        let (replica, wanted, dir) = (
            protection.replica_location,
            input.snapshot.clone(),
            target.clone(),
        );
        let clock = Instant::now();
        let report = tokio::task::spawn_blocking(move || -> Result<RestoreReport> {
            let repo = open_replica(&replica, &secrets)?;
            let snaps = repo.list_snapshots().map_err(|e| Error::Unavailable {
                message: "the embassy replica's snapshots cannot be listed".into(),
                detail: e.to_string(),
            })?;
            let data = snaps
                .iter()
                .filter(|s| !s.tags.iter().any(|t| t == DR_PLAN_TAG));
            let snap = match &wanted {
                Some(id) => data.clone().find(|s| s.id.to_hex() == *id).ok_or_else(|| {
                    Error::invalid(FieldError::new(
                        "snapshot",
                        "not_found",
                        format!("no data snapshot {id} at the embassy"),
                    ))
                })?,
                None => data
                    .max_by_key(|s| s.time)
                    .ok_or(Error::NotFound { kind: "snapshot" })?,
            };
            let summary = ops::restore(
                &repo,
                snap,
                &RestoreOptions {
                    target: dir.clone(),
                    subpath: None,
                    threads: 0,
                },
                &NoProgress,
            )
            .map_err(|e| Error::Unavailable {
                message: "the restore from the embassy failed".into(),
                detail: e.to_string(),
            })?;
            if let Some((path, why)) = summary.errors.first() {
                return Err(Error::Unavailable {
                    message: format!("{} entries could not be restored", summary.errors.len()),
                    detail: format!("first {path}: {why}"),
                });
            }
            Ok(RestoreReport {
                snapshot: snap.id.to_hex(),
                snapshot_time: snap.time,
                target: dir.display().to_string(),
                files: summary.files,
                bytes: summary.bytes,
                seconds: 0.0,
            })
        })
        .await
        .map_err(Error::internal)?;
        let mut tx = self.datastore().begin().await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: if report.is_ok() {
                    "embassy.restored_to_production"
                } else {
                    "embassy.restore_failed"
                },
                target_kind: "embassy_grant",
                target_id: grant.id.to_string(),
                target_institution: Some(grant.institution_id),
                before: None,
                after: Some(match &report {
                    Ok(r) => serde_json::json!({ "snapshot": r.snapshot, "target": r.target, "files": r.files }),
                    Err(e) => serde_json::json!({ "target": target.display().to_string(), "error": e.to_string() }),
                }),
            },
        )
        .await?;
        commit(tx).await?;
        let mut report = report?;
        report.seconds = clock.elapsed().as_secs_f64();
        Ok(report)
    }
}

//! Disaster-recovery plans, kept as versioned snapshots in the system's
//! own embassy repository.

use chrono::{DateTime, Utc};
use makonis_db::commit;
use makonis_embassy::ops::{self, RestoreOptions};
use makonis_embassy::{NoProgress, Repository};
use makonis_types::embassy::*;
use makonis_types::{FieldError, InformationSystemId};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Change};
use crate::authz::Action;
use crate::embassy::backends::open_replica;
use crate::{App, Error, OpContext, Result};

/// DR plans (EMB-8) are snapshots of one file in the embassy replica,
/// tagged so drills and RPO never mistake them for the system's data.
pub(super) const DR_PLAN_TAG: &str = "dr-plan";

pub(super) const DR_PLAN_FILE: &str = "dr-plan.md";

/// Largest DR plan accepted, bytes.
pub(super) const DR_PLAN_MAX: usize = 1024 * 1024;

/// One stored version of a system's DR plan.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DrPlanVersion {
    /// The snapshot id in the embassy replica.
    pub snapshot: String,
    pub time: DateTime<Utc>,
    pub bytes: u64,
}

/// A DR plan as read under a grant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DrPlan {
    pub version: DrPlanVersion,
    pub text: String,
}

/// A new version of a DR plan.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrPlanInput {
    /// The plan, as Markdown or plain text (at most 1 MiB).
    pub text: String,
}

/// Which DR plan version to read under a grant.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrPlanRead {
    /// A snapshot id from the version list; the newest when left out.
    #[serde(default)]
    pub snapshot: Option<String>,
}

impl App {
    /// Stores a new version of the system's disaster-recovery plan,
    /// encrypted, in its embassy replica (EMB-8). Audited without content.
    pub async fn put_dr_plan(
        &self,
        ctx: &OpContext,
        system: InformationSystemId,
        input: &DrPlanInput,
    ) -> Result<DrPlanVersion> {
        let is = self.visible_system(ctx, system, Action::Update).await?;
        if input.text.trim().is_empty() {
            return Err(Error::invalid(FieldError::required("text")));
        }
        if input.text.len() > DR_PLAN_MAX {
            return Err(Error::invalid(
                FieldError::new("text", "too_long", "a DR plan is at most 1 MiB")
                    .with_param("max", DR_PLAN_MAX),
            ));
        }
        let (protection, secrets) = self.protection_with_secrets(is.id).await?;
        let (replica, text) = (protection.replica_location.clone(), input.text.clone());
        let version = tokio::task::spawn_blocking(move || -> Result<DrPlanVersion> {
            let repo = open_replica(&replica, &secrets)?;
            let done = ops::backup_reader(
                &repo,
                text.as_bytes(),
                DR_PLAN_FILE,
                &ops::BackupOptions {
                    tags: vec![DR_PLAN_TAG.to_owned()],
                    hostname: Some("makonis".into()),
                    ..Default::default()
                },
                &NoProgress,
            )
            .map_err(|e| Error::Unavailable {
                message: "the DR plan could not be stored at the embassy".into(),
                detail: e.to_string(),
            })?;
            Ok(DrPlanVersion {
                snapshot: done.snapshot.id.to_hex(),
                time: done.snapshot.time,
                bytes: text.len() as u64,
            })
        })
        .await
        .map_err(Error::internal)??;
        let mut tx = self.datastore().begin().await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "embassy.dr_plan_stored",
                target_kind: "information_system",
                target_id: system.to_string(),
                target_institution: Some(is.institution_id),
                before: None,
                after: Some(
                    serde_json::json!({ "snapshot": version.snapshot, "bytes": version.bytes }),
                ),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(version)
    }

    /// The stored versions of a system's DR plan, newest first (metadata only).
    pub async fn dr_plan_versions(
        &self,
        ctx: &OpContext,
        system: InformationSystemId,
    ) -> Result<Vec<DrPlanVersion>> {
        let is = self.visible_system(ctx, system, Action::Read).await?;
        let (protection, secrets) = self.protection_with_secrets(is.id).await?;
        let replica = protection.replica_location;
        tokio::task::spawn_blocking(move || -> Result<Vec<DrPlanVersion>> {
            let repo = open_replica(&replica, &secrets)?;
            Ok(dr_plan_snapshots(&repo)?
                .into_iter()
                .map(|s| DrPlanVersion {
                    snapshot: s.id.to_hex(),
                    time: s.time,
                    bytes: s.summary.as_ref().map_or(0, |m| m.total_bytes),
                })
                .collect())
        })
        .await
        .map_err(Error::internal)?
    }

    /// Reads a DR plan version under an active `access` grant of the
    /// caller's; refused attempts are audited like key releases.
    pub async fn read_dr_plan(
        &self,
        ctx: &OpContext,
        grant_id: GrantId,
        which: &DrPlanRead,
    ) -> Result<DrPlan> {
        let grant = self
            .grant_in_force(
                ctx,
                grant_id,
                GrantPurpose::Access,
                "embassy.dr_plan_read_refused",
            )
            .await?;
        let (protection, secrets) = self
            .protection_with_secrets(grant.information_system_id)
            .await?;
        let (replica, wanted, root) = (
            protection.replica_location,
            which.snapshot.clone(),
            self.config()
                .state_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir),
        );
        let plan = tokio::task::spawn_blocking(move || -> Result<DrPlan> {
            let repo = open_replica(&replica, &secrets)?;
            let versions = dr_plan_snapshots(&repo)?;
            let snap = match &wanted {
                Some(id) => versions
                    .iter()
                    .find(|s| s.id.to_hex() == *id)
                    .ok_or_else(|| {
                        Error::invalid(FieldError::new(
                            "snapshot",
                            "not_found",
                            format!("no DR plan version {id}"),
                        ))
                    })?,
                None => versions
                    .first()
                    .ok_or(Error::NotFound { kind: "DR plan" })?,
            };
            std::fs::create_dir_all(&root).map_err(Error::internal)?;
            let scratch = tempfile::Builder::new()
                .prefix("dr-plan-")
                .tempdir_in(&root)
                .map_err(Error::internal)?;
            ops::restore(
                &repo,
                snap,
                &RestoreOptions {
                    target: scratch.path().to_owned(),
                    subpath: None,
                    threads: 1,
                },
                &NoProgress,
            )
            .map_err(|e| Error::Unavailable {
                message: "the DR plan could not be read from the embassy".into(),
                detail: e.to_string(),
            })?;
            let text = std::fs::read_to_string(scratch.path().join(DR_PLAN_FILE))
                .map_err(Error::internal)?;
            Ok(DrPlan {
                version: DrPlanVersion {
                    snapshot: snap.id.to_hex(),
                    time: snap.time,
                    bytes: text.len() as u64,
                },
                text,
            })
        })
        .await
        .map_err(Error::internal)??;
        let mut tx = self.datastore().begin().await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "embassy.dr_plan_read",
                target_kind: "embassy_grant",
                target_id: grant.id.to_string(),
                target_institution: Some(grant.institution_id),
                before: None,
                after: Some(serde_json::json!({ "snapshot": plan.version.snapshot })),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(plan)
    }
}

/// DR plan snapshots, newest first.
pub(super) fn dr_plan_snapshots(repo: &Repository) -> Result<Vec<makonis_embassy::Snapshot>> {
    let mut snaps: Vec<_> = repo
        .list_snapshots()
        .map_err(|e| Error::Unavailable {
            message: "the embassy replica's snapshots cannot be listed".into(),
            detail: e.to_string(),
        })?
        .into_iter()
        .filter(|s| s.tags.iter().any(|t| t == DR_PLAN_TAG))
        .collect();
    snaps.sort_by_key(|s| std::cmp::Reverse(s.time));
    Ok(snaps)
}

//! Recovery drills: the latest replica restored into scratch space, checked,
//! and the RTO measured.

use std::time::Instant;

use chrono::{DateTime, Utc};
use makonis_db::{commit, embassy as store};
use makonis_embassy::NoProgress;
use makonis_embassy::ops::{self, CheckOptions, RestoreOptions};
use makonis_types::InformationSystemId;
use makonis_types::embassy::*;
use makonis_types::information_system::InformationSystem;

use crate::authz::Action;
use crate::embassy::backends::open_replica;
use crate::embassy::dr_plans::DR_PLAN_TAG;
use crate::embassy::seconds;
use crate::{App, Error, OpContext, Result, now};

impl App {
    /// A recovery drill (EMB-7): reads every byte of the replica
    /// (`check --read-data`), restores its latest snapshot into scratch
    /// space, verifies what was restored, and records the RTO (check plus
    /// restore) and the RPO the replica gave.
    pub async fn run_drill(
        &self,
        ctx: &OpContext,
        system: InformationSystemId,
    ) -> Result<EmbassyRun> {
        let is = self.visible_system(ctx, system, Action::Update).await?;
        self.drill_now(&is).await
    }

    pub(super) async fn drill_now(&self, is: &InformationSystem) -> Result<EmbassyRun> {
        let (protection, secrets) = self.protection_with_secrets(is.id).await?;
        let scratch_root = self
            .config()
            .state_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir)
            .join("embassy-drills");
        let started = now();
        let clock = Instant::now();
        let replica = protection.replica_location.clone();
        let outcome = tokio::task::spawn_blocking(move || -> std::result::Result<(DateTime<Utc>, u64, String), String> {
            std::fs::create_dir_all(&scratch_root)
                .map_err(|e| format!("scratch space {}: {e}", scratch_root.display()))?;
            let scratch = tempfile::Builder::new()
                .prefix("drill-")
                .tempdir_in(&scratch_root)
                .map_err(|e| format!("scratch space {}: {e}", scratch_root.display()))?;
            let repo = open_replica(&replica, &secrets).map_err(|e| match e {
                Error::Unavailable { detail, .. } => format!("opening the replica {detail}"),
                other => other.to_string(),
            })?;
            let report = ops::check(&repo, &CheckOptions { read_data: true }, &NoProgress)
                .map_err(|e| format!("checking the replica: {e}"))?;
            if !report.is_ok() {
                return Err(format!(
                    "the replica failed its check: {}",
                    serde_json::to_string(&report.problems).unwrap_or_default()
                ));
            }
            let latest = repo
                .list_snapshots()
                .map_err(|e| format!("listing snapshots: {e}"))?
                .into_iter()
                .filter(|s| !s.tags.iter().any(|t| t == DR_PLAN_TAG))
                .max_by_key(|s| s.time)
                .ok_or("the replica holds no snapshot to restore")?;
            let summary = ops::restore(
                &repo,
                &latest,
                &RestoreOptions {
                    target: scratch.path().to_owned(),
                    subpath: None,
                    threads: 0,
                },
                &NoProgress,
            )
            .map_err(|e| format!("restoring snapshot {}: {e}", latest.time))?;
            if let Some((path, why)) = summary.errors.first() {
                return Err(format!(
                    "{} of the restored entries are wrong, first {path}: {why}",
                    summary.errors.len()
                ));
            }
            Ok((
                latest.time,
                summary.bytes,
                format!(
                    "checked {} packs ({} bytes read); restored {} files, {} directories, {} bytes of the snapshot of {}",
                    report.packs, report.bytes_read, summary.files, summary.dirs, summary.bytes, latest.time
                ),
            ))
        })
        .await
        .map_err(Error::internal)?;
        let finished = now();
        let rto = i64::try_from(clock.elapsed().as_secs()).unwrap_or(i64::MAX);
        let run = match outcome {
            Ok((snapshot_time, bytes, detail)) => EmbassyRun {
                id: uuid::Uuid::now_v7().to_string(),
                information_system_id: is.id,
                kind: RunKind::Drill,
                started_at: started,
                finished_at: finished,
                outcome: RunOutcome::Ok,
                newest_snapshot_at: Some(snapshot_time),
                achieved_rpo_seconds: Some(seconds(started - snapshot_time)),
                rto_seconds: Some(rto),
                bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
                detail,
            },
            Err(detail) => EmbassyRun {
                id: uuid::Uuid::now_v7().to_string(),
                information_system_id: is.id,
                kind: RunKind::Drill,
                started_at: started,
                finished_at: finished,
                outcome: RunOutcome::Failed,
                newest_snapshot_at: None,
                achieved_rpo_seconds: None,
                rto_seconds: None,
                bytes: 0,
                detail,
            },
        };
        let mut tx = self.datastore().begin().await?;
        store::insert_run(&mut tx, &run).await?;
        if run.outcome == RunOutcome::Failed {
            self.alert(&mut tx, is, "embassy.drill_failed").await?;
        }
        commit(tx).await?;
        Ok(run)
    }
}

//! Hot replication and cold copies, each run recorded with the achieved RPO
//! and an alert when the target is missed.

use chrono::{DateTime, Utc};
use makonis_db::{commit, embassy as store, orders as order_store};
use makonis_embassy::NoProgress;
use makonis_embassy::ops::{self, ReplicateOptions};
use makonis_types::InformationSystemId;
use makonis_types::embassy::*;
use makonis_types::information_system::InformationSystem;
use makonis_types::roles::Role;

use crate::authz::Action;
use crate::embassy::backends::{open_pair, open_repo};
use crate::embassy::seconds;
use crate::{App, Error, OpContext, Result, now};

impl App {
    /// Replicates the system's primary repository to its embassy replica
    /// now, records the run with the achieved RPO, and alerts when the RPO
    /// exceeds the system's target.
    pub async fn replicate_system(
        &self,
        ctx: &OpContext,
        system: InformationSystemId,
    ) -> Result<EmbassyRun> {
        let is = self.visible_system(ctx, system, Action::Update).await?;
        self.replicate_now(&is).await
    }

    pub(super) async fn replicate_now(&self, is: &InformationSystem) -> Result<EmbassyRun> {
        let (protection, secrets) = self.protection_with_secrets(is.id).await?;
        let started = now();
        let (p, r) = (
            protection.primary_location.clone(),
            protection.replica_location.clone(),
        );
        let outcome = tokio::task::spawn_blocking(
            move || -> std::result::Result<ops::ReplicationReport, String> {
                let (src, dst) = open_pair(&secrets, &p, &r, false).map_err(|e| e.to_string())?;
                ops::replicate(&src, &dst, &ReplicateOptions::default(), &NoProgress)
                    .map_err(|e| e.to_string())
            },
        )
        .await
        .map_err(Error::internal)?;
        let run = self.run_record(is, RunKind::Hot, started, outcome);
        let target = is.rpo_minutes * 60;
        let mut tx = self.datastore().begin().await?;
        let previous = store::runs(&mut tx, is.id, RunKind::Hot, 1).await?;
        let was_late = previous
            .first()
            .is_some_and(|p| p.achieved_rpo_seconds.is_none_or(|s| s > target));
        let late = run.achieved_rpo_seconds.is_none_or(|s| s > target);
        store::insert_run(&mut tx, &run).await?;
        if late && !was_late {
            self.alert(&mut tx, is, "embassy.rpo_exceeded").await?;
        }
        commit(tx).await?;
        Ok(run)
    }

    /// Takes a cold copy of the system now: its primary's snapshots into the
    /// immutable bucket (Object Lock, COMPLIANCE, `cold_retain_days`).
    pub async fn cold_copy_system(
        &self,
        ctx: &OpContext,
        system: InformationSystemId,
    ) -> Result<EmbassyRun> {
        let is = self.visible_system(ctx, system, Action::Update).await?;
        self.cold_now(&is).await
    }

    pub(super) async fn cold_now(&self, is: &InformationSystem) -> Result<EmbassyRun> {
        let (protection, secrets) = self.protection_with_secrets(is.id).await?;
        let Some(cold) = protection.cold_location.clone() else {
            return Err(Error::Conflict {
                message: format!("{} has no cold-copy location", is.code),
            });
        };
        let started = now();
        let (primary, retain) = (
            protection.primary_location.clone(),
            protection.cold_retain_days,
        );
        let outcome = tokio::task::spawn_blocking(
            move || -> std::result::Result<ops::ReplicationReport, String> {
                let s3 = secrets.s3.as_ref();
                let src = open_repo(
                    &primary,
                    &secrets.primary_password,
                    s3,
                    None,
                    None,
                    "primary_location",
                )
                .map_err(|e| e.to_string())?;
                let dst = open_repo(
                    &cold,
                    &secrets.replica_password,
                    s3,
                    Some(retain),
                    None,
                    "cold_location",
                )
                .map_err(|e| e.to_string())?;
                ops::cold_copy(&src, &dst, &ReplicateOptions::default(), &NoProgress)
                    .map_err(|e| e.to_string())
            },
        )
        .await
        .map_err(Error::internal)?;
        let run = self.run_record(is, RunKind::Cold, started, outcome);
        let mut tx = self.datastore().begin().await?;
        store::insert_run(&mut tx, &run).await?;
        if run.outcome == RunOutcome::Failed {
            self.alert(&mut tx, is, "embassy.cold_failed").await?;
        }
        commit(tx).await?;
        Ok(run)
    }

    /// A replication or cold-copy run from the engine's answer.
    pub(super) fn run_record(
        &self,
        is: &InformationSystem,
        kind: RunKind,
        started: DateTime<Utc>,
        outcome: std::result::Result<ops::ReplicationReport, String>,
    ) -> EmbassyRun {
        let finished = now();
        let (outcome, newest, bytes, detail) = match outcome {
            Ok(report) => (
                RunOutcome::Ok,
                report.newest_replicated_snapshot_time,
                i64::try_from(report.bytes_uploaded).unwrap_or(i64::MAX),
                format!(
                    "{} snapshots copied, {} already there; {} bytes sent, {} skipped",
                    report.snapshots_copied.len(),
                    report.snapshots_present,
                    report.bytes_uploaded,
                    report.bytes_skipped
                ),
            ),
            Err(message) => (RunOutcome::Failed, None, 0, message),
        };
        EmbassyRun {
            id: uuid::Uuid::now_v7().to_string(),
            information_system_id: is.id,
            kind,
            started_at: started,
            finished_at: finished,
            outcome,
            newest_snapshot_at: newest,
            achieved_rpo_seconds: newest.map(|t| seconds(finished - t)),
            rto_seconds: None,
            bytes,
            detail,
        }
    }

    /// Tells the system's owners and the platform's embassy custodians.
    pub(super) async fn alert(
        &self,
        tx: &mut makonis_db::Tx,
        is: &InformationSystem,
        kind: &str,
    ) -> Result<()> {
        let mut people =
            order_store::holders_of(tx, Role::IsOwner.as_str(), Some(is.institution_id)).await?;
        people.extend(order_store::holders_of(tx, Role::EmbassyCustodian.as_str(), None).await?);
        people.sort();
        people.dedup();
        for person in people {
            store::notify_about_system(tx, person, kind, is.id, now()).await?;
        }
        tracing::warn!(system = %is.code, %kind, "embassy alert");
        Ok(())
    }
}

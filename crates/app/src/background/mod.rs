//! Background work: periodic reconcilers (ARCHITECTURE: idempotent, no
//! hidden retry loops, status visible to operators) and what they find. Each
//! run is recorded in `reconciler_runs`.
//!
//! Main flow: [`App::reconcile_drift`] runs [`drift`] at every provider with a
//! driver and records the outcome; operators read the last run of each in the
//! portal's *Operations* page and `/api/v1/reconcilers`. Usage collection
//! (`metering::collect`) and the embassy's schedule (`embassy::schedule`)
//! still run as loops of their own; the job queue (issue 13) moves all of them
//! here.
//!
//! Requirements: FED-4 (the Broker supervises delivered services), FED-7.

pub mod drift;

use std::time::Duration;

use makonis_db::{background as store, commit, federation};
use serde::Serialize;

use crate::authz::{Action, Kind, Scope, can};
use crate::{App, Error, OpContext, Result, now};

pub const DRIFT: &str = "drift";

/// The latest run per provider, with the provider's name.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunView {
    #[serde(flatten)]
    pub run: store::ReconcilerRun,
    pub subject_name: String,
}

impl App {
    /// Checks drift at every provider that has a driver and records each
    /// outcome. Providers without a driver are skipped, not failed.
    pub async fn reconcile_drift(&self) -> Result<Vec<store::ReconcilerRun>> {
        let providers = {
            let mut conn = self.datastore().conn().await?;
            federation::list_providers(&mut conn).await?
        };
        let system = OpContext::system("reconciler");
        let mut runs = Vec::new();
        for provider in providers {
            if self.driver_for(&provider).await.is_err() {
                continue;
            }
            let started_at = now();
            let (outcome, summary) = match self.drift(&system, provider.id).await {
                Ok(report) if report.is_clean() => ("clean", serde_json::to_string(&report)),
                Ok(report) => {
                    tracing::warn!(provider = %provider.short_name, missing = report.missing_at_provider.len(), unknown = report.unknown_at_provider.len(), errors = report.in_error.len(), "drift found");
                    ("drift", serde_json::to_string(&report))
                }
                Err(e) => (
                    "error",
                    serde_json::to_string(&serde_json::json!({ "error": e.to_string() })),
                ),
            };
            let run = store::ReconcilerRun {
                id: uuid::Uuid::now_v7().to_string(),
                reconciler: DRIFT.into(),
                subject: provider.id.to_string(),
                started_at,
                finished_at: now(),
                outcome: outcome.into(),
                summary: summary.map_err(Error::internal)?,
            };
            let mut tx = self.datastore().begin().await?;
            store::record_run(&mut tx, &run).await?;
            commit(tx).await?;
            runs.push(run);
        }
        Ok(runs)
    }

    /// Runs the reconcilers now and then every `every` until the process ends.
    pub fn spawn_reconcilers(&self, every: Duration) {
        let app = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = app.reconcile_drift().await {
                    tracing::error!(%e, "drift reconciler run failed");
                }
                tokio::time::sleep(every).await;
            }
        });
    }

    /// The latest run of each reconciler, for operators (those who manage
    /// providers) and for auditors and security officers.
    pub async fn reconciler_status(&self, ctx: &OpContext) -> Result<Vec<RunView>> {
        let allowed = can(ctx, Action::Update, Kind::Providers, Scope::Platform)
            || can(ctx, Action::Read, Kind::AuditLog, Scope::Platform);
        if !allowed {
            crate::authz::authorize(ctx, Action::Update, Kind::Providers, Scope::Platform)?;
        }
        let mut conn = self.datastore().conn().await?;
        let providers = federation::list_providers(&mut conn).await?;
        let runs = store::latest_runs(&mut conn).await?;
        Ok(runs
            .into_iter()
            .map(|run| {
                let subject_name = providers
                    .iter()
                    .find(|p| p.id.to_string() == run.subject)
                    .map_or_else(|| run.subject.clone(), |p| p.short_name.clone());
                RunView { run, subject_name }
            })
            .collect())
    }
}

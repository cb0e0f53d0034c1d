//! The data embassy in the control plane (issue 5; REQUIREMENTS EMB-1,
//! EMB-2, EMB-4, EMB-7, EMB-10): which information systems are protected
//! and at which eligible foreign site, hot replication with the achieved RPO
//! recorded per system and alerts when it exceeds the target, recovery
//! drills that restore the latest replica into scratch space and measure the
//! RTO, and four-eyes grants for anything that opens embassy data or keys.
//!
//! The repository engine is `makonis-embassy`; this module decides who may
//! do what, keeps the repositories' passwords sealed with the master key
//! (nobody reads them back except through a key-release grant), and records
//! every run. Replication runs and drills are records of their own
//! (`embassy_runs`); protections, grants, key releases and refused attempts
//! go into the audit chain.

use std::time::Instant;

use chrono::{DateTime, Utc};
use makonis_db::{commit, embassy as store, federation, information_system, orders as order_store};
use makonis_embassy::ops::{self, CheckOptions, ReplicateOptions, RestoreOptions};
use makonis_embassy::{InitOptions, NoProgress, Repository, open_location};
use makonis_types::embassy::*;
use makonis_types::federation::{CertificationKind, Site, SiteId, parse_tier};
use makonis_types::information_system::InformationSystem;
use makonis_types::roles::Role;
use makonis_types::{FieldError, InformationSystemId};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Change};
use crate::authz::{Action, Kind, Scope, authorize, can};
use crate::{Actor, App, Error, OpContext, Result, now};

/// The repositories' passwords, sealed together.
#[derive(Clone, Serialize, Deserialize)]
struct RepositorySecrets {
    primary_password: String,
    replica_password: String,
    /// Access to the S3 store of `s3://` locations.
    #[serde(default)]
    s3: Option<S3Access>,
}

const SECRETS_CONTEXT: &str = "embassy-repositories";
/// DR plans (EMB-8) are snapshots of one file in the embassy replica,
/// tagged so drills and RPO never mistake them for the system's data.
const DR_PLAN_TAG: &str = "dr-plan";
const DR_PLAN_FILE: &str = "dr-plan.md";
/// Largest DR plan accepted, bytes.
const DR_PLAN_MAX: usize = 1024 * 1024;

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

/// A site's EMB-1 verdict.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SiteEligibility {
    pub site_id: SiteId,
    pub site: String,
    pub provider: String,
    pub country: String,
    pub eligible: bool,
    pub distance_km: f64,
    /// The nearest point of Russia or Belarus: latitude, longitude, country.
    #[schema(value_type = Object)]
    pub nearest_border_point: serde_json::Value,
    /// Every failed criterion: `code` and an English `message`.
    #[schema(value_type = Vec<Object>)]
    pub failed: Vec<serde_json::Value>,
}

/// A protected system as the embassy registry shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SystemStatus {
    pub protection: Protection,
    pub code: String,
    pub name: String,
    pub site: SiteEligibility,
    pub rpo_target_seconds: i64,
    pub rto_target_seconds: i64,
    /// now − newest snapshot at the replica, as of the last successful run.
    pub current_rpo_seconds: Option<i64>,
    pub last_replication: Option<EmbassyRun>,
    pub last_drill: Option<EmbassyRun>,
    pub last_cold_copy: Option<EmbassyRun>,
    /// The hosting provider's certifications that cover the embassy site.
    pub site_certifications: Vec<makonis_types::federation::Certification>,
    /// Open (draft or active) agreements between the system's institution
    /// and the hosting provider.
    pub hosting_agreements: Vec<makonis_types::order::Agreement>,
    /// What the system's live orders at the hosting provider cost a month.
    #[schema(value_type = String)]
    pub hosting_monthly_eur: rust_decimal::Decimal,
    pub drill_due_at: DateTime<Utc>,
    /// `rpo_exceeded`, `never_replicated`, `replication_failed`,
    /// `drill_overdue`, `drill_failed`, `rto_exceeded`, `cold_overdue`,
    /// `cold_failed`, `site_ineligible`.
    pub alerts: Vec<String>,
}

/// A system's embassy report: status, recent runs and grants.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SystemReport {
    pub information_system_id: InformationSystemId,
    pub code: String,
    /// None while the system is not under embassy protection.
    pub status: Option<SystemStatus>,
    pub replications: Vec<EmbassyRun>,
    pub drills: Vec<EmbassyRun>,
    pub grants: Vec<Grant>,
}

/// A released key: shown once to the grant's requester.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReleasedKey {
    pub grant_id: GrantId,
    pub replica_location: String,
    pub replica_password: String,
    pub valid_until: DateTime<Utc>,
}

fn seconds(d: chrono::Duration) -> i64 {
    d.num_seconds().max(0)
}

impl App {
    /// EMB-1 for one registered site: outside Latvia, EU or NATO, a valid
    /// Uptime Tier III+ certificate, ≥ 1000 km from Russia and Belarus.
    pub async fn embassy_site_check(
        &self,
        ctx: &OpContext,
        site: SiteId,
    ) -> Result<SiteEligibility> {
        authorize(ctx, Action::Read, Kind::Providers, Scope::Platform)?;
        let mut conn = self.datastore().conn().await?;
        let site = federation::get_site(&mut conn, site)
            .await?
            .ok_or(Error::NotFound { kind: "site" })?;
        self.site_eligibility(&mut conn, &site).await
    }

    async fn site_eligibility(
        &self,
        conn: &mut makonis_db::Conn,
        site: &Site,
    ) -> Result<SiteEligibility> {
        let provider = federation::get_provider(conn, site.provider_id)
            .await?
            .ok_or(Error::NotFound { kind: "provider" })?;
        let today = now().date_naive();
        // The best Uptime certificate covering the site that is valid today,
        // else the best one at all (so an expired one is reported as such).
        let certs = federation::list_certifications(conn, Some(provider.id)).await?;
        let tiered: Vec<_> = certs
            .iter()
            .filter(|c| c.kind == CertificationKind::UptimeTier)
            .filter(|c| c.site_id.is_none_or(|s| s == site.id))
            .filter_map(|c| Some((parse_tier(c.level.as_deref()?)?, c)))
            .collect();
        let best = tiered
            .iter()
            .filter(|(_, c)| c.valid_from <= today && today <= c.valid_until)
            .max_by_key(|(t, c)| (*t, c.valid_until))
            .or_else(|| tiered.iter().max_by_key(|(t, c)| (*t, c.valid_until)));
        let input = makonis_geo::SiteInput {
            country: site.country.clone(),
            lat: site.latitude,
            lon: site.longitude,
            tier: best.map(|(t, _)| u8::try_from(*t).unwrap_or(0)),
            tier_valid_until: best.map(|(_, c)| c.valid_until),
            today,
        };
        let verdict = makonis_geo::check_site(&input).map_err(|e| {
            Error::invalid(FieldError::new(
                "site_id",
                "invalid",
                format!("the site's registered location cannot be checked: {e}"),
            ))
        })?;
        Ok(SiteEligibility {
            site_id: site.id,
            site: site.name.clone(),
            provider: provider.short_name,
            country: site.country.clone(),
            eligible: verdict.eligible,
            distance_km: (verdict.distance_km * 10.0).round() / 10.0,
            nearest_border_point: serde_json::to_value(verdict.nearest_border_point)
                .map_err(Error::internal)?,
            failed: verdict
                .failed
                .iter()
                .map(|c| serde_json::json!({ "code": c.code(), "message": c.to_string() }))
                .collect(),
        })
    }

    async fn visible_system(
        &self,
        ctx: &OpContext,
        system: InformationSystemId,
        action: Action,
    ) -> Result<InformationSystem> {
        let mut conn = self.datastore().conn().await?;
        let is = information_system::get(&mut conn, system)
            .await?
            .ok_or(Error::NotFound {
                kind: "information system",
            })?;
        authorize(
            ctx,
            action,
            Kind::Embassy,
            Scope::Institution(is.institution_id),
        )?;
        Ok(is)
    }

    /// Turns embassy protection on for a system (or changes it): the site
    /// must be eligible, the primary repository must open with its
    /// password, and the replica is created (sharing chunk ids with the
    /// primary, so replication sends only what is new) when it is missing.
    pub async fn protect_system(
        &self,
        ctx: &OpContext,
        system: InformationSystemId,
        input: &ProtectionInput,
    ) -> Result<Protection> {
        let is = self.visible_system(ctx, system, Action::Update).await?;
        input.validate()?;
        let site = {
            let mut conn = self.datastore().conn().await?;
            let site = federation::get_site(&mut conn, input.site_id)
                .await?
                .ok_or_else(|| {
                    Error::invalid(FieldError::new("site_id", "not_found", "no such site"))
                })?;
            let verdict = self.site_eligibility(&mut conn, &site).await?;
            if !verdict.eligible {
                let why: Vec<String> = verdict
                    .failed
                    .iter()
                    .filter_map(|f| f["message"].as_str().map(str::to_owned))
                    .collect();
                return Err(Error::invalid(
                    FieldError::new(
                        "site_id",
                        "not_eligible",
                        format!(
                            "{} / {} is not an eligible embassy site: {}",
                            verdict.provider,
                            verdict.site,
                            why.join("; ")
                        ),
                    )
                    .with_param(
                        "criteria",
                        verdict
                            .failed
                            .iter()
                            .filter_map(|f| f["code"].as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                ));
            }
            site
        };
        let (primary, replica) = (
            input.primary_location.trim().to_owned(),
            input.replica_location.trim().to_owned(),
        );
        let cold = input
            .cold_location
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let secrets = RepositorySecrets {
            primary_password: input.primary_password.clone(),
            replica_password: input.replica_password.clone(),
            s3: input.s3.clone(),
        };
        let (p, r, c, keys, retain) = (
            primary.clone(),
            replica.clone(),
            cold.clone(),
            RepositorySecrets {
                s3: input.s3.clone(),
                ..secrets.clone()
            },
            input.cold_retain_days,
        );
        tokio::task::spawn_blocking(move || -> Result<()> {
            let (src, _) = open_pair(&keys, &p, &r, true)?;
            if let Some(cold) = c {
                open_repo(
                    &cold,
                    &keys.replica_password,
                    keys.s3.as_ref(),
                    Some(retain),
                    Some(&src),
                    "cold_location",
                )?;
            }
            Ok(())
        })
        .await
        .map_err(Error::internal)??;
        let sealed = self.secrets().seal(
            SECRETS_CONTEXT,
            &serde_json::to_vec(&secrets).map_err(Error::internal)?,
        );
        let at = now();
        let mut tx = self.datastore().begin().await?;
        let before = store::protection(&mut tx, system).await?.map(|(p, _)| p);
        let protection = Protection {
            information_system_id: system,
            institution_id: is.institution_id,
            site_id: site.id,
            primary_location: primary,
            replica_location: replica,
            hot_interval_minutes: input.hot_interval_minutes,
            drill_interval_days: input.drill_interval_days,
            latency_ms: input.latency_ms,
            cold_location: cold,
            cold_retain_days: input.cold_retain_days,
            cold_interval_days: input.cold_interval_days,
            s3_endpoint: input.s3.as_ref().and_then(|a| a.endpoint.clone()),
            created_at: before.as_ref().map_or(at, |b| b.created_at),
            updated_at: at,
        };
        store::put_protection(&mut tx, &protection, &sealed).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "embassy.protect",
                target_kind: "information_system",
                target_id: system.to_string(),
                target_institution: Some(is.institution_id),
                before: before.as_ref().and_then(audit::summary),
                after: audit::summary(&protection),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(protection)
    }

    async fn protection_with_secrets(
        &self,
        system: InformationSystemId,
    ) -> Result<(Protection, RepositorySecrets)> {
        let mut conn = self.datastore().conn().await?;
        let (protection, sealed) =
            store::protection(&mut conn, system)
                .await?
                .ok_or(Error::NotFound {
                    kind: "embassy protection",
                })?;
        let secrets = self
            .secrets()
            .open(SECRETS_CONTEXT, &sealed)
            .and_then(|b| serde_json::from_slice::<RepositorySecrets>(&b).ok())
            .ok_or_else(|| {
                Error::internal("the embassy secrets do not open with this master key")
            })?;
        Ok((protection, secrets))
    }

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

    async fn replicate_now(&self, is: &InformationSystem) -> Result<EmbassyRun> {
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

    async fn cold_now(&self, is: &InformationSystem) -> Result<EmbassyRun> {
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
    fn run_record(
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
    async fn alert(
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

    async fn drill_now(&self, is: &InformationSystem) -> Result<EmbassyRun> {
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

    async fn status_of(
        &self,
        conn: &mut makonis_db::Conn,
        protection: Protection,
        is: &InformationSystem,
    ) -> Result<SystemStatus> {
        let site = federation::get_site(conn, protection.site_id)
            .await?
            .ok_or(Error::NotFound { kind: "site" })?;
        let site_certifications = federation::list_certifications(conn, Some(site.provider_id))
            .await?
            .into_iter()
            .filter(|c| c.site_id.is_none_or(|s| s == site.id))
            .collect();
        let hosting_agreements =
            order_store::open_agreements(conn, is.institution_id, site.provider_id).await?;
        let hosting_monthly_eur = rust_decimal::Decimal::new(
            order_store::monthly_cents_at(conn, is.id, site.provider_id).await?,
            2,
        );
        let site = self.site_eligibility(conn, &site).await?;
        let last_replication = store::runs(conn, is.id, RunKind::Hot, 1).await?.pop();
        let last_good = store::runs(conn, is.id, RunKind::Hot, 50)
            .await?
            .into_iter()
            .find(|r| r.outcome == RunOutcome::Ok);
        let last_drill = store::runs(conn, is.id, RunKind::Drill, 1).await?.pop();
        let last_cold = store::runs(conn, is.id, RunKind::Cold, 1).await?.pop();
        let at = now();
        let current_rpo = last_good
            .as_ref()
            .and_then(|r| r.newest_snapshot_at)
            .map(|t| seconds(at - t));
        let drill_due_at = last_drill
            .as_ref()
            .map_or(protection.created_at, |d| d.started_at)
            + chrono::Duration::days(protection.drill_interval_days);
        let rpo_target = is.rpo_minutes * 60;
        let rto_target = is.rto_minutes * 60;
        let mut alerts = Vec::new();
        match current_rpo {
            None => alerts.push("never_replicated".to_owned()),
            Some(s) if s > rpo_target => alerts.push("rpo_exceeded".to_owned()),
            _ => {}
        }
        if last_replication
            .as_ref()
            .is_some_and(|r| r.outcome == RunOutcome::Failed)
        {
            alerts.push("replication_failed".to_owned());
        }
        if at > drill_due_at {
            alerts.push("drill_overdue".to_owned());
        }
        if let Some(d) = &last_drill {
            if d.outcome == RunOutcome::Failed {
                alerts.push("drill_failed".to_owned());
            } else if d.rto_seconds.is_some_and(|s| s > rto_target) {
                alerts.push("rto_exceeded".to_owned());
            }
        }
        if protection.cold_location.is_some() {
            let since = last_cold
                .as_ref()
                .map_or(protection.created_at, |c| c.started_at);
            if last_cold
                .as_ref()
                .is_some_and(|c| c.outcome == RunOutcome::Failed)
            {
                alerts.push("cold_failed".to_owned());
            } else if at - since > chrono::Duration::days(protection.cold_interval_days + 1) {
                alerts.push("cold_overdue".to_owned());
            }
        }
        if !site.eligible {
            alerts.push("site_ineligible".to_owned());
        }
        Ok(SystemStatus {
            code: is.code.clone(),
            name: is.name.clone(),
            protection,
            site,
            rpo_target_seconds: rpo_target,
            rto_target_seconds: rto_target,
            current_rpo_seconds: current_rpo,
            last_replication,
            last_drill,
            last_cold_copy: last_cold,
            site_certifications,
            hosting_agreements,
            hosting_monthly_eur,
            drill_due_at,
            alerts,
        })
    }

    /// The embassy registry (EMB-10): every protected system the caller is
    /// cleared to see, with replication health, RPO and the last drill.
    pub async fn embassy_status(&self, ctx: &OpContext) -> Result<Vec<SystemStatus>> {
        if matches!(ctx.actor, Actor::Anonymous) {
            return Err(Error::Unauthenticated);
        }
        let mut conn = self.datastore().conn().await?;
        let mut out = Vec::new();
        for protection in store::protections(&mut conn).await? {
            if !can(
                ctx,
                Action::Read,
                Kind::Embassy,
                Scope::Institution(protection.institution_id),
            ) {
                continue;
            }
            let Some(is) =
                information_system::get(&mut conn, protection.information_system_id).await?
            else {
                continue;
            };
            out.push(self.status_of(&mut conn, protection, &is).await?);
        }
        if out.is_empty() && !can_read_any_embassy(ctx) {
            return Err(Error::forbidden(
                "the embassy registry is for cleared roles and the owners of protected systems",
            ));
        }
        Ok(out)
    }

    /// One system's drill report: status, recent replications and drills,
    /// and its grants.
    pub async fn embassy_report(
        &self,
        ctx: &OpContext,
        system: InformationSystemId,
    ) -> Result<SystemReport> {
        let is = self.visible_system(ctx, system, Action::Read).await?;
        let mut conn = self.datastore().conn().await?;
        let status = match store::protection(&mut conn, system).await? {
            Some((protection, _)) => Some(self.status_of(&mut conn, protection, &is).await?),
            None => None,
        };
        Ok(SystemReport {
            information_system_id: is.id,
            code: is.code.clone(),
            status,
            replications: store::runs(&mut conn, system, RunKind::Hot, 50).await?,
            drills: store::runs(&mut conn, system, RunKind::Drill, 50).await?,
            grants: store::grants(&mut conn, Some(system)).await?,
        })
    }

    /// Asks for a four-eyes grant on a protected system's embassy data.
    pub async fn request_grant(&self, ctx: &OpContext, input: &GrantInput) -> Result<Grant> {
        let is = self
            .visible_system(ctx, input.information_system_id, Action::Read)
            .await?;
        let me = ctx.user().ok_or(Error::Unauthenticated)?.id;
        if !(can(
            ctx,
            Action::Update,
            Kind::Embassy,
            Scope::Institution(is.institution_id),
        ) || ctx.has_platform_role(Role::SecurityOfficer))
        {
            return Err(Error::forbidden(
                "grants are requested by embassy custodians, security officers and the system's owners",
            ));
        }
        input.validate()?;
        let mut tx = self.datastore().begin().await?;
        if store::protection(&mut tx, is.id).await?.is_none() {
            return Err(Error::invalid(FieldError::new(
                "information_system_id",
                "not_protected",
                format!("{} is not under embassy protection", is.code),
            )));
        }
        let grant = Grant {
            id: GrantId::new(),
            information_system_id: is.id,
            institution_id: is.institution_id,
            purpose: input.purpose,
            reason: input.reason.trim().to_owned(),
            requested_by: me,
            requested_at: now(),
            hours: input.hours,
            custodian_id: None,
            security_officer_id: None,
            state: GrantState::Pending,
            valid_until: None,
        };
        store::insert_grant(&mut tx, &grant).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "embassy.grant_requested",
                target_kind: "embassy_grant",
                target_id: grant.id.to_string(),
                target_institution: Some(is.institution_id),
                before: None,
                after: audit::summary(&grant),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(grant)
    }

    /// One of the two approvals a grant needs: a platform embassy custodian
    /// and a platform security officer, two different people, neither the
    /// requester. The second approval starts the grant's time window.
    pub async fn approve_grant(&self, ctx: &OpContext, id: GrantId) -> Result<Grant> {
        let me = ctx.user().ok_or(Error::Unauthenticated)?.id;
        let custodian = ctx.has_platform_role(Role::EmbassyCustodian);
        let officer = ctx.has_platform_role(Role::SecurityOfficer);
        let mut tx = self.datastore().begin().await?;
        let Some(mut grant) = store::grant(&mut tx, id).await? else {
            return Err(Error::NotFound { kind: "grant" });
        };
        if !can(
            ctx,
            Action::Read,
            Kind::Embassy,
            Scope::Institution(grant.institution_id),
        ) {
            return Err(Error::NotFound { kind: "grant" });
        }
        let refusal = if !(custodian || officer) {
            Some("only a platform embassy custodian or security officer approves grants")
        } else if grant.requested_by == me {
            Some("the requester cannot approve their own grant")
        } else if grant.state != GrantState::Pending {
            Some("the grant is no longer waiting for approval")
        } else if grant.custodian_id == Some(me) || grant.security_officer_id == Some(me) {
            Some("the same person cannot give both approvals")
        } else {
            None
        };
        if let Some(why) = refusal {
            drop(tx);
            self.audit_refusal(ctx, &grant, "embassy.grant_approval_refused", why)
                .await?;
            return Err(Error::forbidden(why));
        }
        let expected = grant.state;
        // Fill the slot this person may fill; a person holding both roles
        // fills one, and someone else must fill the other.
        if custodian && grant.custodian_id.is_none() {
            grant.custodian_id = Some(me);
        } else if officer && grant.security_officer_id.is_none() {
            grant.security_officer_id = Some(me);
        } else {
            drop(tx);
            let why = "the approval your role gives is already there; the other role must approve";
            self.audit_refusal(ctx, &grant, "embassy.grant_approval_refused", why)
                .await?;
            return Err(Error::Conflict {
                message: why.into(),
            });
        }
        if grant.custodian_id.is_some() && grant.security_officer_id.is_some() {
            grant.state = GrantState::Active;
            grant.valid_until = Some(now() + chrono::Duration::hours(grant.hours));
        }
        if !store::update_grant(&mut tx, &grant, expected).await? {
            return Err(Error::Conflict {
                message: "the grant changed meanwhile; look again".into(),
            });
        }
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: if grant.state == GrantState::Active {
                    "embassy.grant_active"
                } else {
                    "embassy.grant_approved"
                },
                target_kind: "embassy_grant",
                target_id: grant.id.to_string(),
                target_institution: Some(grant.institution_id),
                before: None,
                after: audit::summary(&grant),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(grant)
    }

    /// Hands the replica's key to the person who asked for a key-release
    /// grant, while the grant is active. Any other attempt is refused and
    /// audited.
    pub async fn release_key(&self, ctx: &OpContext, id: GrantId) -> Result<ReleasedKey> {
        let grant = self
            .grant_in_force(
                ctx,
                id,
                GrantPurpose::KeyRelease,
                "embassy.key_release_refused",
            )
            .await?;
        let (protection, secrets) = self
            .protection_with_secrets(grant.information_system_id)
            .await?;
        let mut tx = self.datastore().begin().await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "embassy.key_released",
                target_kind: "embassy_grant",
                target_id: grant.id.to_string(),
                target_institution: Some(grant.institution_id),
                before: None,
                after: Some(serde_json::json!({ "replica": protection.replica_location })),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(ReleasedKey {
            grant_id: grant.id,
            replica_location: protection.replica_location,
            replica_password: secrets.replica_password,
            valid_until: grant.valid_until.unwrap_or_else(now),
        })
    }

    /// The caller's grant for `purpose`, if they may use it now; otherwise
    /// the attempt is audited under `refused` and refused. Others' grants
    /// outside what the caller may see are "not found".
    async fn grant_in_force(
        &self,
        ctx: &OpContext,
        id: GrantId,
        purpose: GrantPurpose,
        refused: &str,
    ) -> Result<Grant> {
        let me = ctx.user().ok_or(Error::Unauthenticated)?.id;
        let grant = {
            let mut conn = self.datastore().conn().await?;
            store::grant(&mut conn, id)
                .await?
                .ok_or(Error::NotFound { kind: "grant" })?
        };
        if !can(
            ctx,
            Action::Read,
            Kind::Embassy,
            Scope::Institution(grant.institution_id),
        ) {
            return Err(Error::NotFound { kind: "grant" });
        }
        let refusal = if grant.purpose != purpose {
            Some(match purpose {
                GrantPurpose::KeyRelease => "this grant is not for a key release",
                GrantPurpose::RestoreProduction => {
                    "this grant is not for a restore into production"
                }
                GrantPurpose::Access => "this grant is not for access to embassy data",
            })
        } else if grant.requested_by != me {
            Some("only the person the grant was given to may use it")
        } else if grant.state != GrantState::Active {
            Some("the grant does not have both approvals")
        } else if !grant.usable(now()) {
            Some("the grant has expired")
        } else {
            None
        };
        if let Some(why) = refusal {
            self.audit_refusal(ctx, &grant, refused, why).await?;
            return Err(Error::forbidden(why));
        }
        Ok(grant)
    }

    /// A refused attempt is a change that matters: it is in the chain.
    async fn audit_refusal(
        &self,
        ctx: &OpContext,
        grant: &Grant,
        action: &str,
        why: &str,
    ) -> Result<()> {
        let mut tx = self.datastore().begin().await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action,
                target_kind: "embassy_grant",
                target_id: grant.id.to_string(),
                target_institution: Some(grant.institution_id),
                before: None,
                after: Some(serde_json::json!({ "refused": why })),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

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

    /// Grants the caller may see, newest first.
    pub async fn list_grants(&self, ctx: &OpContext) -> Result<Vec<Grant>> {
        if matches!(ctx.actor, Actor::Anonymous) {
            return Err(Error::Unauthenticated);
        }
        let mut conn = self.datastore().conn().await?;
        Ok(store::grants(&mut conn, None)
            .await?
            .into_iter()
            .filter(|g| {
                can(
                    ctx,
                    Action::Read,
                    Kind::Embassy,
                    Scope::Institution(g.institution_id),
                )
            })
            .collect())
    }

    /// One pass of the embassy scheduler: replicate every protected system
    /// whose interval has passed and drill every one whose drill is due.
    /// Returns how many runs it made.
    pub async fn run_embassy_jobs(&self) -> Result<usize> {
        let protections = {
            let mut conn = self.datastore().conn().await?;
            store::protections(&mut conn).await?
        };
        let mut made = 0;
        for protection in protections {
            let (is, last_hot, last_drill, last_cold) = {
                let mut conn = self.datastore().conn().await?;
                let Some(is) =
                    information_system::get(&mut conn, protection.information_system_id).await?
                else {
                    continue;
                };
                let hot = store::runs(&mut conn, is.id, RunKind::Hot, 1).await?.pop();
                let drill = store::runs(&mut conn, is.id, RunKind::Drill, 1)
                    .await?
                    .pop();
                let cold = store::runs(&mut conn, is.id, RunKind::Cold, 1).await?.pop();
                (is, hot, drill, cold)
            };
            let at = now();
            if last_hot.is_none_or(|r| {
                at - r.started_at >= chrono::Duration::minutes(protection.hot_interval_minutes)
            }) {
                // One system's trouble must not stop the others'.
                match self.replicate_now(&is).await {
                    Ok(_) => made += 1,
                    Err(e) => {
                        tracing::error!(system = %is.code, %e, "embassy replication not recorded")
                    }
                }
            }
            if protection.cold_location.is_some()
                && last_cold.is_none_or(|c| {
                    at - c.started_at >= chrono::Duration::days(protection.cold_interval_days)
                })
            {
                match self.cold_now(&is).await {
                    Ok(_) => made += 1,
                    Err(e) => {
                        tracing::error!(system = %is.code, %e, "embassy cold copy not recorded")
                    }
                }
            }
            let due = last_drill.map_or(protection.created_at, |d| d.started_at)
                + chrono::Duration::days(protection.drill_interval_days);
            if at >= due {
                match self.drill_now(&is).await {
                    Ok(_) => made += 1,
                    Err(e) => tracing::error!(system = %is.code, %e, "embassy drill not recorded"),
                }
            }
        }
        Ok(made)
    }
}

impl App {
    /// Runs the embassy scheduler every `every` until the process ends.
    pub fn spawn_embassy_jobs(&self, every: std::time::Duration) {
        let app = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = app.run_embassy_jobs().await {
                    tracing::error!(%e, "embassy scheduler pass failed");
                }
                tokio::time::sleep(every).await;
            }
        });
    }
}

fn can_read_any_embassy(ctx: &OpContext) -> bool {
    can(ctx, Action::Read, Kind::Embassy, Scope::Platform)
        || ctx
            .institutions()
            .into_iter()
            .any(|i| can(ctx, Action::Read, Kind::Embassy, Scope::Institution(i)))
}

fn open_replica(location: &str, secrets: &RepositorySecrets) -> Result<Repository> {
    backend_for(location, secrets.s3.as_ref(), None)
        .and_then(|b| Repository::open(b, &secrets.replica_password))
        .map_err(|e| Error::Unavailable {
            message: "the embassy replica cannot be opened".into(),
            detail: format!("{location}: {e}"),
        })
}

/// DR plan snapshots, newest first.
fn dr_plan_snapshots(repo: &Repository) -> Result<Vec<makonis_embassy::Snapshot>> {
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

/// The backend of `location`: a path, or `s3://bucket/prefix` reached with
/// the protection's S3 access (else the host's AWS credential chain); with
/// `lock_days`, every object is written under a COMPLIANCE Object Lock.
fn backend_for(
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
fn open_repo(
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
fn open_pair(
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

//! What the embassy looks like per system: protection, last runs, RPO and
//! RTO against their targets.

use chrono::{DateTime, Utc};
use makonis_db::{
    embassy as store, federation, orders as order_store, systems as information_system,
};
use makonis_types::InformationSystemId;
use makonis_types::embassy::*;
use makonis_types::information_system::InformationSystem;
use serde::Serialize;

use crate::authz::{Action, Kind, Scope, can};
use crate::embassy::{SiteEligibility, can_read_any_embassy, seconds};
use crate::{Actor, App, Error, OpContext, Result, now};

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

impl App {
    pub(super) async fn status_of(
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
}

//! Protection: a system is put under the embassy at an eligible foreign
//! site, with its repository created and its password sealed.

use makonis_db::{commit, embassy as store, federation};
use makonis_types::embassy::*;
use makonis_types::federation::{CertificationKind, Site, SiteId, parse_tier};
use makonis_types::{FieldError, InformationSystemId};
use serde::Serialize;

use crate::audit::{self, Change};
use crate::authz::{Action, Kind, Scope, authorize};
use crate::embassy::backends::{open_pair, open_repo};
use crate::embassy::{RepositorySecrets, SECRETS_CONTEXT};
use crate::{App, Error, OpContext, Result, now};

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

    pub(super) async fn site_eligibility(
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

    pub(super) async fn protection_with_secrets(
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
}

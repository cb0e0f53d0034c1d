//! The provider registry (REQUIREMENTS FED-1, FED-11): providers, their
//! sites and certifications, kept by the Broker and by each provider's own
//! operators. Endpoint credentials are sealed with the master key and never
//! leave `app` except to a driver.
//!
//! Main flow: the Broker registers a provider ([`App::create_provider`]),
//! its operators add sites and certifications; [`drivers`] opens the sealed
//! credentials and picks the provider's driver (simulator, OpenStack, AWS)
//! for the catalogue sync, the sagas and metering.

pub mod drivers;
pub(crate) mod policy;

use chrono::NaiveDate;
use makonis_db::{Tx, commit, federation as store};
use makonis_types::FieldError;
use makonis_types::federation::*;

use crate::audit::{self, Change};
use crate::authz::{Action, Kind, Scope, authorize};
use crate::{App, Error, OpContext, Result, now};

/// The scope a provider's records belong to: its institution, if it has one.
pub(crate) fn provider_scope(provider: &Provider) -> Scope {
    provider
        .institution_id
        .map_or(Scope::Platform, Scope::Institution)
}

/// A provider with its sites and certifications, each certification with
/// its standing today.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProviderDetail {
    #[serde(flatten)]
    pub provider: Provider,
    pub sites: Vec<Site>,
    pub certifications: Vec<CertificationView>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CertificationView {
    #[serde(flatten)]
    pub certification: Certification,
    pub status: CertificationStatus,
}

fn credentials_context(id: ProviderId) -> String {
    format!("provider-credentials:{id}")
}

/// The stored form of a provider's input, with its credentials sealed.
fn provider_record<'a>(
    id: ProviderId,
    input: &'a ProviderInput,
    sealed: Option<&'a str>,
) -> store::ProviderRecord<'a> {
    store::ProviderRecord {
        id,
        name: input.name.trim(),
        short_name: input.short_name.trim(),
        institution_id: input.institution_id,
        kind: input.kind,
        platform: input.platform,
        endpoint: input
            .endpoint
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty()),
        credentials_sealed: sealed,
    }
}

impl App {
    fn seal_credentials(&self, id: ProviderId, input: &ProviderInput) -> Option<String> {
        input.credentials.as_ref().map(|c| {
            self.secrets()
                .seal(&credentials_context(id), c.to_string().as_bytes())
        })
    }

    pub async fn create_provider(
        &self,
        ctx: &OpContext,
        input: &ProviderInput,
    ) -> Result<Provider> {
        authorize(ctx, Action::Create, Kind::Providers, Scope::Platform)?;
        input.validate()?;
        let id = ProviderId::new();
        let sealed = self.seal_credentials(id, input);
        let mut tx = self.datastore().begin().await?;
        self.check_institution(&mut tx, input.institution_id)
            .await?;
        let created = store::insert_provider(
            &mut tx,
            &provider_record(id, input, sealed.as_deref()),
            now(),
        )
        .await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "provider.create",
                target_kind: "provider",
                target_id: id.to_string(),
                target_institution: created.institution_id,
                before: None,
                // The record says whether credentials are set, never what they are.
                after: audit::summary(&created),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(created)
    }

    async fn check_institution(
        &self,
        tx: &mut Tx,
        id: Option<makonis_types::InstitutionId>,
    ) -> Result<()> {
        if let Some(id) = id
            && makonis_db::identity::institution::get(tx, id)
                .await?
                .is_none()
        {
            return Err(Error::invalid(FieldError::new(
                "institution_id",
                "not_found",
                "no such institution",
            )));
        }
        Ok(())
    }

    pub async fn update_provider(
        &self,
        ctx: &OpContext,
        id: ProviderId,
        input: &ProviderInput,
    ) -> Result<Provider> {
        let before = self.provider(ctx, id).await?;
        authorize(
            ctx,
            Action::Update,
            Kind::Providers,
            provider_scope(&before),
        )?;
        input.validate()?;
        if input.institution_id != before.institution_id {
            authorize(ctx, Action::Create, Kind::Providers, Scope::Platform)?;
        }
        let sealed = self.seal_credentials(id, input);
        let mut tx = self.datastore().begin().await?;
        self.check_institution(&mut tx, input.institution_id)
            .await?;
        let after = store::update_provider(
            &mut tx,
            &provider_record(id, input, sealed.as_deref()),
            now(),
        )
        .await?;
        let mut after_summary = audit::summary(&after);
        if let Some(serde_json::Value::Object(map)) = after_summary.as_mut() {
            map.insert(
                "credentials_changed".into(),
                serde_json::Value::Bool(sealed.is_some()),
            );
        }
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "provider.update",
                target_kind: "provider",
                target_id: id.to_string(),
                target_institution: after.institution_id,
                before: audit::summary(&before),
                after: after_summary,
            },
        )
        .await?;
        commit(tx).await?;
        Ok(after)
    }

    /// The provider's credentials, opened for a driver. Not exposed over
    /// HTTP: only drivers and the system use it.
    pub async fn provider_credentials(
        &self,
        ctx: &OpContext,
        id: ProviderId,
    ) -> Result<Option<serde_json::Value>> {
        if !matches!(ctx.actor, crate::Actor::System) {
            return Err(Error::forbidden(
                "provider credentials are for drivers only",
            ));
        }
        let mut conn = self.datastore().conn().await?;
        let Some(sealed) = store::sealed_credentials(&mut conn, id).await? else {
            return Ok(None);
        };
        let plain = self
            .secrets()
            .open(&credentials_context(id), &sealed)
            .ok_or_else(|| {
                Error::internal(format!(
                    "credentials of provider {id} do not open with the master key"
                ))
            })?;
        serde_json::from_slice(&plain)
            .map(Some)
            .map_err(Error::internal)
    }

    async fn provider(&self, ctx: &OpContext, id: ProviderId) -> Result<Provider> {
        authorize(ctx, Action::Read, Kind::Providers, Scope::Platform)?;
        let mut conn = self.datastore().conn().await?;
        store::get_provider(&mut conn, id)
            .await?
            .ok_or(Error::NotFound { kind: "provider" })
    }

    pub async fn list_providers(&self, ctx: &OpContext) -> Result<Vec<Provider>> {
        authorize(ctx, Action::Read, Kind::Providers, Scope::Platform)?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::list_providers(&mut conn).await?)
    }

    pub async fn get_provider(
        &self,
        ctx: &OpContext,
        id: ProviderId,
        today: NaiveDate,
    ) -> Result<ProviderDetail> {
        let provider = self.provider(ctx, id).await?;
        let mut conn = self.datastore().conn().await?;
        let sites = store::list_sites(&mut conn, Some(id)).await?;
        let certifications = store::list_certifications(&mut conn, Some(id))
            .await?
            .into_iter()
            .map(|c| CertificationView {
                status: c.status_on(today),
                certification: c,
            })
            .collect();
        Ok(ProviderDetail {
            provider,
            sites,
            certifications,
        })
    }

    pub async fn add_site(
        &self,
        ctx: &OpContext,
        provider: ProviderId,
        input: &SiteInput,
    ) -> Result<Site> {
        let p = self.provider(ctx, provider).await?;
        authorize(ctx, Action::Update, Kind::Providers, provider_scope(&p))?;
        input.validate()?;
        let site = Site {
            id: SiteId::new(),
            provider_id: provider,
            name: input.name.trim().to_owned(),
            country: input.country.clone(),
            latitude: input.latitude,
            longitude: input.longitude,
            uptime_tier: input.uptime_tier,
        };
        let mut tx = self.datastore().begin().await?;
        store::insert_site(&mut tx, &site).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "site.create",
                target_kind: "site",
                target_id: site.id.to_string(),
                target_institution: p.institution_id,
                before: None,
                after: audit::summary(&site),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(site)
    }

    pub async fn add_certification(
        &self,
        ctx: &OpContext,
        provider: ProviderId,
        input: &CertificationInput,
    ) -> Result<Certification> {
        let p = self.provider(ctx, provider).await?;
        authorize(ctx, Action::Update, Kind::Providers, provider_scope(&p))?;
        let level = input.validate()?;
        let mut tx = self.datastore().begin().await?;
        if let Some(site) = input.site_id
            && store::get_site(&mut tx, site)
                .await?
                .is_none_or(|s| s.provider_id != provider)
        {
            return Err(Error::invalid(FieldError::new(
                "site_id",
                "not_found",
                "no such site of this provider",
            )));
        }
        let cert = Certification {
            id: CertificationId::new(),
            provider_id: provider,
            site_id: input.site_id,
            kind: input.kind,
            level,
            issuer: input.issuer.trim().to_owned(),
            valid_from: input.valid_from,
            valid_until: input.valid_until,
        };
        store::insert_certification(&mut tx, &cert).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "certification.create",
                target_kind: "certification",
                target_id: cert.id.to_string(),
                target_institution: p.institution_id,
                before: None,
                after: audit::summary(&cert),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(cert)
    }
}

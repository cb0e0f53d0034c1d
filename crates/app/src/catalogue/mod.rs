//! The common catalogue (REQUIREMENTS FED-3, FED-9): offerings, versioned
//! price lists, search, side-by-side comparison, and placement for an
//! information system.
//!
//! Main flow: a provider's operator publishes offerings and price lists (by
//! hand, or [`sync`] reads them from the platform's own catalogue); anyone
//! signed in searches and compares them; [`placement`] ranks the offerings an
//! information system may use and says, rule by rule, why the others may
//! not, deciding on the in-memory [`snapshot`] of the whole catalogue.

pub mod placement;
pub(crate) mod policy;
pub(crate) mod snapshot;
mod sync;

use chrono::NaiveDate;
use makonis_db::{catalogue as store, commit, federation};
use makonis_types::catalogue::*;
use makonis_types::federation::ProviderId;
use makonis_types::paging::{Page, PageRequest};
use makonis_types::{FieldError, InformationSystemId};

use crate::audit::{self, Change};
use crate::authz::{Action, Kind, Scope, authorize};
use crate::catalogue::placement::{Decision, PlacementRequest, SystemProfile};
use crate::federation::provider_scope;
use crate::{App, Error, OpContext, Result, now};

/// Most offerings a comparison shows side by side.
pub const MAX_COMPARED: usize = 6;

impl App {
    pub async fn create_offering(
        &self,
        ctx: &OpContext,
        provider: ProviderId,
        input: &OfferingInput,
    ) -> Result<Offering> {
        authorize(ctx, Action::Read, Kind::Catalogue, Scope::Platform)?;
        let mut tx = self.datastore().begin().await?;
        let p = federation::get_provider(&mut tx, provider)
            .await?
            .ok_or(Error::NotFound { kind: "provider" })?;
        authorize(ctx, Action::Create, Kind::Catalogue, provider_scope(&p))?;
        input.validate()?;
        if federation::get_site(&mut tx, input.site_id)
            .await?
            .is_none_or(|s| s.provider_id != provider)
        {
            return Err(Error::invalid(FieldError::new(
                "site_id",
                "not_found",
                "no such site of this provider",
            )));
        }
        let offering = Offering {
            id: OfferingId::new(),
            provider_id: provider,
            site_id: input.site_id,
            kind: input.kind,
            tier: input.tier,
            name: input.name.trim().to_owned(),
            description: input.description.clone().filter(|d| !d.trim().is_empty()),
            vcpu: input.vcpu,
            ram_gb: input.ram_gb,
            storage_gb: input.storage_gb,
            unit: input.unit,
            sla: input.sla.clone(),
            capacity_units: input.capacity_units,
            active: input.active,
        };
        store::insert_offering(&mut tx, &offering, now()).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "offering.create",
                target_kind: "offering",
                target_id: offering.id.to_string(),
                target_institution: p.institution_id,
                before: None,
                after: audit::summary(&offering),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(offering)
    }

    /// Publishes a price list version. Versions of one provider must not
    /// overlap in time, and every item must be the provider's offering.
    pub async fn create_price_list(
        &self,
        ctx: &OpContext,
        provider: ProviderId,
        input: &PriceListInput,
    ) -> Result<PriceList> {
        authorize(ctx, Action::Read, Kind::Catalogue, Scope::Platform)?;
        let mut tx = self.datastore().begin().await?;
        let p = federation::get_provider(&mut tx, provider)
            .await?
            .ok_or(Error::NotFound { kind: "provider" })?;
        authorize(ctx, Action::Create, Kind::Catalogue, provider_scope(&p))?;
        input.validate()?;
        let existing = store::price_lists(&mut tx, provider).await?;
        if let Some(clash) = existing
            .iter()
            .find(|l| l.overlaps(input.valid_from, input.valid_until))
        {
            return Err(Error::invalid(
                FieldError::new(
                    "valid_from",
                    "overlap",
                    format!(
                        "the validity overlaps price list {} ({} – {})",
                        clash.version,
                        clash.valid_from,
                        clash
                            .valid_until
                            .map_or_else(|| "open-ended".to_owned(), |d| d.to_string())
                    ),
                )
                .with_param("version", &clash.version),
            ));
        }
        let mut problems = Vec::new();
        for (i, item) in input.items.iter().enumerate() {
            if store::get_offering(&mut tx, item.offering_id)
                .await?
                .is_none_or(|o| o.provider_id != provider)
            {
                problems.push(FieldError::new(
                    format!("items[{i}].offering_id"),
                    "not_found",
                    "no such offering of this provider",
                ));
            }
        }
        if !problems.is_empty() {
            return Err(Error::Invalid(problems));
        }
        let list = PriceList {
            id: PriceListId::new(),
            provider_id: provider,
            version: input.version.trim().to_owned(),
            valid_from: input.valid_from,
            valid_until: input.valid_until,
            currency: input.currency.clone(),
            items: input.items.clone(),
        };
        store::insert_price_list(&mut tx, &list, now()).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "price_list.create",
                target_kind: "price_list",
                target_id: list.id.to_string(),
                target_institution: p.institution_id,
                before: None,
                after: audit::summary(&list),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(list)
    }

    pub async fn list_price_lists(
        &self,
        ctx: &OpContext,
        provider: ProviderId,
    ) -> Result<Vec<PriceList>> {
        authorize(ctx, Action::Read, Kind::Catalogue, Scope::Platform)?;
        let mut conn = self.datastore().conn().await?;
        federation::get_provider(&mut conn, provider)
            .await?
            .ok_or(Error::NotFound { kind: "provider" })?;
        Ok(store::price_lists(&mut conn, provider).await?)
    }

    pub async fn search_catalogue(
        &self,
        ctx: &OpContext,
        filter: &CatalogueFilter,
        today: NaiveDate,
        page: PageRequest,
    ) -> Result<Page<CatalogueEntry>> {
        authorize(ctx, Action::Read, Kind::Catalogue, Scope::Platform)?;
        Ok(self.catalogue_snapshot(today).await?.search(filter, page))
    }

    /// Catalogue entries for any number of offerings (for naming them in lists).
    pub async fn offerings_by_id(
        &self,
        ctx: &OpContext,
        ids: &[OfferingId],
        today: NaiveDate,
    ) -> Result<Vec<CatalogueEntry>> {
        authorize(ctx, Action::Read, Kind::Catalogue, Scope::Platform)?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::entries(&mut conn, ids, today).await?)
    }

    /// Offerings side by side, in the order asked for.
    pub async fn compare_offerings(
        &self,
        ctx: &OpContext,
        ids: &[OfferingId],
        today: NaiveDate,
    ) -> Result<Vec<CatalogueEntry>> {
        authorize(ctx, Action::Read, Kind::Catalogue, Scope::Platform)?;
        if ids.is_empty() || ids.len() > MAX_COMPARED {
            return Err(Error::invalid(
                FieldError::new(
                    "ids",
                    "out_of_range",
                    format!("compare between 1 and {MAX_COMPARED} offerings"),
                )
                .with_param("min", 1)
                .with_param("max", MAX_COMPARED),
            ));
        }
        let mut conn = self.datastore().conn().await?;
        let found = store::entries(&mut conn, ids, today).await?;
        ids.iter()
            .map(|id| {
                found
                    .iter()
                    .find(|e| e.offering.id == *id)
                    .cloned()
                    .ok_or(Error::NotFound { kind: "offering" })
            })
            .collect()
    }

    /// Where `request` for the system could go, and why not elsewhere.
    pub async fn place(
        &self,
        ctx: &OpContext,
        system: InformationSystemId,
        request: &PlacementRequest,
        overrides: &ProfileOverrides,
        today: NaiveDate,
    ) -> Result<(SystemProfile, Decision)> {
        let is = self.get_information_system(ctx, system).await?;
        if request.quantity < 1 {
            return Err(Error::invalid(
                FieldError::new("quantity", "out_of_range", "quantity must be at least 1")
                    .with_param("min", 1),
            ));
        }
        let profile = overrides.apply(SystemProfile::of(&is))?;
        let snapshot = self.catalogue_snapshot(today).await?;
        let candidates = snapshot.candidates(request.kind);
        let decision = placement::place(&profile, request, &candidates, today);
        Ok((profile, decision))
    }
}

/// What the requester may tighten for one placement. Loosening is refused:
/// the system's category decides the floor, and hard rules never bend.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ProfileOverrides {
    pub residency: Option<placement::Residency>,
    #[schema(value_type = Option<String>)]
    pub availability_target: Option<rust_decimal::Decimal>,
}

impl ProfileOverrides {
    pub fn apply(&self, mut profile: SystemProfile) -> Result<SystemProfile> {
        use placement::Residency::*;
        let strictness = |r: placement::Residency| match r {
            Any => 0,
            Eu => 1,
            Latvia => 2,
        };
        if let Some(r) = self.residency {
            if strictness(r) < strictness(profile.residency) {
                return Err(Error::invalid(
                    FieldError::new(
                        "residency",
                        "invalid",
                        format!("this system's data must stay in '{}'; a placement may only be stricter", profile.residency),
                    )
                    .with_param("reason", "residency_loosened"),
                ));
            }
            profile.residency = r;
        }
        if let Some(a) = self.availability_target {
            if a < profile.availability_target || a > rust_decimal::Decimal::ONE_HUNDRED {
                return Err(Error::invalid(
                    FieldError::new(
                        "availability_target",
                        "out_of_range",
                        format!(
                            "availability target must be between {} and 100",
                            profile.availability_target
                        ),
                    )
                    .with_param("min", profile.availability_target)
                    .with_param("max", 100),
                ));
            }
            profile.availability_target = a;
        }
        Ok(profile)
    }
}

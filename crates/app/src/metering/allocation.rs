//! Commercial reference prices, and shared platform costs allocated to
//! institutions.

use std::collections::BTreeMap;

use makonis_db::metering as store;
use makonis_db::{commit, federation as federation_store};
use makonis_metering::focus::{ChargeCategory, ServiceCategory};
use makonis_types::metering::*;
use makonis_types::{FieldError, InstitutionId};
use rust_decimal::Decimal;

use crate::audit::{self, Change};
use crate::authz::{Action, Kind, Scope, authorize};
use crate::metering::{CURRENCY, allocate_by_largest_remainder};
use crate::{App, Error, OpContext, Result, now};

impl App {
    pub async fn add_commercial_price(
        &self,
        ctx: &OpContext,
        input: &CommercialPriceInput,
    ) -> Result<CommercialPrice> {
        self.require_costs(ctx, Action::Update, Scope::Platform)?;
        input.validate().map_err(Error::Invalid)?;
        let price = CommercialPrice {
            id: uuid::Uuid::now_v7().to_string(),
            reference: input.reference.trim().to_owned(),
            sku: input.sku.trim().to_owned(),
            kind: input.kind,
            vcpu: input.vcpu,
            ram_gb: input.ram_gb,
            unit: input.unit,
            unit_price: input.unit_price,
            currency: CURRENCY.into(),
            valid_from: input.valid_from,
            valid_until: input.valid_until,
        };
        let mut tx = self.datastore().begin().await?;
        store::insert_commercial_price(&mut tx, &price, now()).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "commercial_price.created",
                target_kind: "commercial_price",
                target_id: price.id.clone(),
                target_institution: None,
                before: None,
                after: audit::summary(&price),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(price)
    }

    /// Reference prices are public within the federation, like the
    /// catalogue they are compared with: every signed-in person reads them.
    pub async fn commercial_prices(&self, ctx: &OpContext) -> Result<Vec<CommercialPrice>> {
        authorize(ctx, Action::Read, Kind::Catalogue, Scope::Platform)?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::commercial_prices(&mut conn).await?)
    }

    /// Splits a provider's shared platform cost for a month across the
    /// institutions charged at that provider that month, in proportion to
    /// their charges there (the allocation key), in whole cents that add up
    /// to the amount exactly (largest remainder).
    pub async fn allocate_shared_cost(
        &self,
        ctx: &OpContext,
        input: &SharedCostInput,
    ) -> Result<Vec<Allocation>> {
        self.require_costs(ctx, Action::Update, Scope::Platform)?;
        input.validate().map_err(Error::Invalid)?;
        let mut tx = self.datastore().begin().await?;
        let provider = federation_store::get_provider(&mut tx, input.provider_id)
            .await?
            .ok_or_else(|| {
                Error::invalid(FieldError::new(
                    "provider_id",
                    "not_found",
                    "no such provider",
                ))
            })?;
        let charges = store::charges_at(&mut tx, input.provider_id, input.month).await?;
        let mut basis: BTreeMap<InstitutionId, Decimal> = BTreeMap::new();
        for c in charges.iter().filter(|c| c.source != "allocation") {
            *basis.entry(c.institution_id).or_default() += c.cost;
        }
        basis.retain(|_, v| *v > Decimal::ZERO);
        if basis.is_empty() {
            return Err(Error::invalid(FieldError::new(
                "month",
                "invalid",
                format!(
                    "nobody was charged at {} in {}: there is nothing to split by",
                    provider.short_name, input.month
                ),
            )));
        }
        let shared_id = uuid::Uuid::now_v7().to_string();
        if !store::insert_shared_cost(
            &mut tx,
            &shared_id,
            input,
            CURRENCY,
            ctx.user().map(|u| u.id),
            now(),
        )
        .await?
        {
            return Err(Error::invalid(FieldError::duplicate(
                "description",
                &input.description,
            )));
        }
        let shares = allocate_by_largest_remainder(input.amount, &basis);
        let mut out = Vec::new();
        for (institution, amount) in &shares {
            let charge = Charge {
                id: uuid::Uuid::now_v7().to_string(),
                source: "allocation".into(),
                source_key: format!("{shared_id}/{institution}"),
                month: input.month,
                institution_id: *institution,
                information_system_id: None,
                agreement_id: None,
                provider_id: provider.id,
                offering_id: None,
                resource_id: None,
                service_category: ServiceCategory::Other.as_str().to_owned(),
                service_name: format!("Shared platform cost: {}", input.description.trim()),
                charge_category: ChargeCategory::Usage.as_str().to_owned(),
                charge_class: None,
                metric: None,
                unit: Some("Allocation".into()),
                quantity: Some(Decimal::ONE),
                unit_price: Some(*amount),
                price_list_id: None,
                price_list_version: None,
                cost: *amount,
                currency: CURRENCY.into(),
                commercial_cost: None,
                commercial_ref: None,
                period_start: input.month.start(),
                period_end: input.month.end(),
                description: format!(
                    "Share of {} {CURRENCY} ({}), in proportion to charges of {} {CURRENCY} of {} {CURRENCY}",
                    input.amount,
                    input.description.trim(),
                    basis[institution].round_dp(2),
                    basis.values().copied().sum::<Decimal>().round_dp(2),
                ),
                import_id: None,
                created_at: now(),
            };
            store::insert_charge(&mut tx, &charge).await?;
            out.push(Allocation {
                institution_id: *institution,
                basis: basis[institution],
                amount: *amount,
            });
        }
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "shared_cost.allocated",
                target_kind: "shared_cost",
                target_id: shared_id,
                target_institution: None,
                before: None,
                after: Some(serde_json::json!({ "input": input, "allocations": out })),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(out)
    }
}

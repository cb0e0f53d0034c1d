//! Usage collection: every provider's driver is asked for the hours since
//! the last collection, and each hour is rated with the price-list version
//! valid then.

use std::collections::HashMap;

use chrono::{Duration, DurationRound};
use makonis_db::metering as store;
use makonis_db::{catalogue as catalogue_store, commit, federation as federation_store};
use makonis_metering::focus::ChargeCategory;
use makonis_metering::rating::{UsageKind, UsageRecord};
use makonis_types::catalogue::{Offering, OfferingId};
use makonis_types::federation::Provider;
use makonis_types::metering::*;
use rust_decimal::Decimal;

use crate::audit::{self, Change};
use crate::authz::{Action, Scope};
use crate::metering::{CURRENCY, commercial_equivalent, service_category, to_billing_quantity};
use crate::{App, Error, OpContext, Result, now};

/// How far back collection looks the first time it meets a provider.
const FIRST_COLLECTION_WINDOW_DAYS: i64 = 35;

impl App {
    /// Collects usage from every provider with a driver, rates it and books
    /// it; records nobody can be charged for go to the unmapped list. Safe
    /// to run often and concurrently with itself: every record has a
    /// source key and is booked once. Then checks the budgets.
    pub async fn collect_usage(&self) -> Result<CollectionReport> {
        let ctx = OpContext::system("usage-collection");
        let mut report = CollectionReport::default();
        let (providers, offerings, commercial) = {
            let mut conn = self.datastore().conn().await?;
            let providers = federation_store::list_providers(&mut conn).await?;
            let offerings: HashMap<OfferingId, Offering> =
                catalogue_store::all_offerings(&mut conn)
                    .await?
                    .into_iter()
                    .map(|o| (o.id, o))
                    .collect();
            (
                providers,
                offerings,
                store::commercial_prices(&mut conn).await?,
            )
        };
        for provider in providers {
            if !crate::federation::drivers::has_driver(&provider) {
                continue;
            }
            report.providers += 1;
            if let Err(e) = self
                .collect_from(&ctx, &provider, &offerings, &commercial, &mut report)
                .await
            {
                report
                    .failures
                    .push(format!("{}: {e}", provider.short_name));
            }
        }
        self.check_budgets().await?;
        Ok(report)
    }

    async fn collect_from(
        &self,
        ctx: &OpContext,
        provider: &Provider,
        offerings: &HashMap<OfferingId, Offering>,
        commercial: &[CommercialPrice],
        report: &mut CollectionReport,
    ) -> Result<()> {
        let driver = self.driver_for(provider).await?;
        let started = now();
        let (since, owners, book) = {
            let mut conn = self.datastore().conn().await?;
            let since = store::collected_until(&mut conn, provider.id)
                .await?
                .unwrap_or(started - Duration::days(FIRST_COLLECTION_WINDOW_DAYS));
            let owners: HashMap<String, store::ResourceOwner> =
                store::resource_owners(&mut conn, provider.id)
                    .await?
                    .into_iter()
                    .map(|o| (o.idempotency_key.clone(), o))
                    .collect();
            let book = self.price_book(&mut conn, provider, offerings).await?;
            (since, owners, book)
        };
        let usage = driver
            .usage_since(since)
            .await
            .map_err(|e| Error::Unavailable {
                message: format!("{}: usage could not be collected", provider.short_name),
                detail: e.to_string(),
            })?;
        let mut tx = self.datastore().begin().await?;
        let (mut charged, mut duplicates, mut unmapped) = (0i64, 0i64, 0i64);
        for u in &usage {
            let source_key = format!(
                "{}/{}/{}/{}",
                provider.id,
                u.idempotency_key,
                u.metric,
                makonis_db::time_text(u.period_start)
            );
            let month = Month::of(u.period_start);
            let booked = match owners.get(&u.idempotency_key) {
                None => Err((
                    format!(
                        "resource {} at {} is not in the registry (drift)",
                        u.resource_id, provider.short_name
                    ),
                    None,
                )),
                Some(owner) => match offerings.get(&owner.offering_id) {
                    None => Err((
                        format!("offering {} is gone", owner.offering_id),
                        Some(owner),
                    )),
                    Some(offering) => {
                        let quantity =
                            to_billing_quantity(offering.unit, Decimal::from(u.quantity));
                        let record = UsageRecord {
                            id: source_key.clone(),
                            billing_account_id: owner.institution_id.to_string(),
                            offering_id: offering.id.to_string(),
                            resource_id: Some(owner.resource_id.clone()),
                            metric: offering.unit.as_str().to_owned(),
                            quantity,
                            period_start: u.period_start,
                            period_end: u.period_end,
                            service_category: service_category(offering.kind),
                            service_name: offering.name.clone(),
                            provider: provider.short_name.clone(),
                            kind: UsageKind::Usage,
                        };
                        match makonis_metering::rate(&record, &book) {
                            Err(e) => Err((e.to_string(), Some(owner))),
                            Ok(rated) => {
                                let equivalent = commercial_equivalent(
                                    commercial,
                                    offering,
                                    u.period_start.date_naive(),
                                );
                                Ok(Charge {
                                    id: uuid::Uuid::now_v7().to_string(),
                                    source: "usage".into(),
                                    source_key: source_key.clone(),
                                    month,
                                    institution_id: owner.institution_id,
                                    information_system_id: Some(owner.information_system_id),
                                    agreement_id: owner.agreement_id,
                                    provider_id: provider.id,
                                    offering_id: Some(offering.id),
                                    resource_id: Some(owner.resource_id.clone()),
                                    service_category: rated.service_category.as_str().to_owned(),
                                    service_name: rated.service_name,
                                    charge_category: ChargeCategory::Usage.as_str().to_owned(),
                                    charge_class: None,
                                    metric: Some(u.metric.clone()),
                                    unit: Some(offering.unit.as_str().to_owned()),
                                    quantity: Some(quantity),
                                    unit_price: rated.unit_price,
                                    price_list_id: rated.price_list.as_ref().map(|p| p.0.clone()),
                                    price_list_version: rated.price_list.map(|p| p.1),
                                    cost: rated.cost,
                                    currency: rated.currency,
                                    commercial_cost: equivalent.map(|p| quantity * p.unit_price),
                                    commercial_ref: equivalent
                                        .map(|p| format!("{} {}", p.reference, p.sku)),
                                    period_start: u.period_start,
                                    period_end: u.period_end,
                                    description: rated.description,
                                    import_id: None,
                                    created_at: started,
                                })
                            }
                        }
                    }
                },
            };
            match booked {
                Ok(charge) => {
                    if store::insert_charge(&mut tx, &charge).await? {
                        charged += 1;
                    } else {
                        duplicates += 1;
                    }
                }
                Err((reason, owner)) => {
                    let line = UnmappedCharge {
                        id: uuid::Uuid::now_v7().to_string(),
                        source: "usage".into(),
                        source_key: source_key.clone(),
                        provider_id: provider.id,
                        import_id: None,
                        line: None,
                        reason,
                        billing_account_id: owner.map(|o| o.institution_id.to_string()),
                        sub_account_id: None,
                        resource_id: Some(u.resource_id.clone()),
                        month,
                        cost: Decimal::ZERO,
                        currency: CURRENCY.into(),
                        created_at: started,
                        resolved_at: None,
                        resolved_by: None,
                        charge_id: None,
                    };
                    let json = serde_json::to_string(u).map_err(Error::internal)?;
                    if store::insert_unmapped(&mut tx, &line, &json).await? {
                        unmapped += 1;
                    } else {
                        duplicates += 1;
                    }
                }
            }
        }
        // Every record the driver returned ended before now; the next run
        // starts at the current hour (a partial hour comes next time).
        let until = started
            .duration_trunc(Duration::hours(1))
            .map_err(Error::internal)?;
        store::set_collected_until(&mut tx, provider.id, until).await?;
        if charged + unmapped > 0 {
            audit::append(
                &mut tx,
                ctx,
                Change {
                    action: "usage.collected",
                    target_kind: "provider",
                    target_id: provider.id.to_string(),
                    target_institution: None,
                    before: None,
                    after: Some(serde_json::json!({
                        "since": since, "until": until, "charged": charged,
                        "unmapped": unmapped, "duplicates": duplicates,
                    })),
                },
            )
            .await?;
        }
        commit(tx).await?;
        report.charged += charged;
        report.duplicates += duplicates;
        report.unmapped += unmapped;
        Ok(())
    }

    /// Collection on demand (the Broker), the same as the scheduled run.
    pub async fn collect_usage_now(&self, ctx: &OpContext) -> Result<CollectionReport> {
        self.require_costs(ctx, Action::Update, Scope::Platform)?;
        self.collect_usage().await
    }

    /// Runs usage collection every `every` in the background (with `serve`).
    pub fn spawn_usage_collection(&self, every: std::time::Duration) {
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match app.collect_usage().await {
                    Ok(r) if !r.failures.is_empty() => {
                        tracing::warn!(failures = ?r.failures, "usage collection: some providers failed");
                    }
                    Ok(r) => tracing::debug!(
                        charged = r.charged,
                        unmapped = r.unmapped,
                        "usage collected"
                    ),
                    Err(e) => tracing::warn!(error = %e, "usage collection failed"),
                }
            }
        });
    }
}

//! Rating: usage × the unit price of the price-list version valid at the
//! charge period's start.
//!
//! Rules (see `docs/metering.md` for a worked example):
//! - A price list belongs to one offering and has versions with validity
//!   periods `[valid_from, valid_until)` that must not overlap.
//! - A usage record is rated with the version valid at its
//!   `period_start`. A correction of a past period is rated with the
//!   version valid then, not today's.
//! - Cost = quantity × unit price at full `Decimal` precision; no rounding
//!   here. Rounding happens once per statement line (see
//!   [`crate::aggregate::round_money`]).
//! - Corrections and credits are their own records with a negative
//!   quantity (corrections) or a negative amount (credits); they are never
//!   merged into the record they correct.
//! - A usage record that is not a correction must have a non-negative
//!   quantity.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::focus::{ChargeCategory, ChargeClass, ServiceCategory};

/// One version of an offering's price list.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceList {
    /// The price list's id (stable across versions).
    pub id: String,
    /// The offering it prices.
    pub offering_id: String,
    /// Version label (as the provider publishes it, e.g. "2026-07").
    pub version: String,
    /// First instant the version applies (inclusive).
    pub valid_from: DateTime<Utc>,
    /// First instant it no longer applies (exclusive); `None` = open-ended.
    pub valid_until: Option<DateTime<Utc>>,
    /// ISO 4217 currency of the unit prices.
    pub currency: String,
    /// Unit price per metric (e.g. "vcpu-hours" → 0.0125).
    pub unit_prices: BTreeMap<String, Decimal>,
    /// The FOCUS unit of each metric (e.g. "vcpu-hours" → "vCPU-Hours"),
    /// written as PricingUnit; a metric without an entry uses its own name.
    pub units: BTreeMap<String, String>,
}

impl PriceList {
    /// True when the version applies at `at`.
    pub fn valid_at(&self, at: DateTime<Utc>) -> bool {
        self.valid_from <= at && self.valid_until.is_none_or(|u| at < u)
    }
}

/// Why rating failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatingError {
    #[error("price list {id} version {version}: valid_until must be after valid_from")]
    EmptyValidity { id: String, version: String },
    #[error("price list {id} version {version}: unit price for {metric} must not be negative")]
    NegativePrice {
        id: String,
        version: String,
        metric: String,
    },
    #[error("offering {offering_id}: price list versions {a} and {b} overlap")]
    Overlap {
        offering_id: String,
        a: String,
        b: String,
    },
    #[error("offering {offering_id}: price lists in {a} and {b}; one offering, one currency")]
    MixedCurrency {
        offering_id: String,
        a: String,
        b: String,
    },
    #[error("usage {usage_id}: no price list of offering {offering_id} is valid at {at}")]
    NoPriceList {
        usage_id: String,
        offering_id: String,
        at: DateTime<Utc>,
    },
    #[error(
        "usage {usage_id}: price list {price_list_id} version {version} has no price for metric {metric}"
    )]
    NoPrice {
        usage_id: String,
        price_list_id: String,
        version: String,
        metric: String,
    },
    #[error("usage {usage_id}: quantity {quantity} is negative; only corrections may be negative")]
    NegativeQuantity { usage_id: String, quantity: Decimal },
    #[error("usage {usage_id}: period_end must be after period_start")]
    EmptyPeriod { usage_id: String },
}

/// All price-list versions, indexed by offering.
#[derive(Clone, Debug, Default)]
pub struct PriceBook {
    by_offering: BTreeMap<String, Vec<PriceList>>,
}

impl PriceBook {
    /// Builds the book, refusing overlapping versions, empty validity
    /// periods, negative prices and mixed currencies within an offering.
    pub fn new(lists: impl IntoIterator<Item = PriceList>) -> Result<Self, RatingError> {
        let mut by_offering: BTreeMap<String, Vec<PriceList>> = BTreeMap::new();
        for list in lists {
            if list.valid_until.is_some_and(|u| u <= list.valid_from) {
                return Err(RatingError::EmptyValidity {
                    id: list.id,
                    version: list.version.clone(),
                });
            }
            if let Some((metric, _)) = list
                .unit_prices
                .iter()
                .find(|(_, p)| p.is_sign_negative() && !p.is_zero())
            {
                return Err(RatingError::NegativePrice {
                    id: list.id.clone(),
                    version: list.version,
                    metric: metric.clone(),
                });
            }
            by_offering
                .entry(list.offering_id.clone())
                .or_default()
                .push(list);
        }
        for (offering_id, versions) in &mut by_offering {
            versions.sort_by_key(|v| v.valid_from);
            for pair in versions.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                if a.valid_until.is_none_or(|u| u > b.valid_from) {
                    return Err(RatingError::Overlap {
                        offering_id: offering_id.clone(),
                        a: a.version.clone(),
                        b: b.version.clone(),
                    });
                }
                if a.currency != b.currency {
                    return Err(RatingError::MixedCurrency {
                        offering_id: offering_id.clone(),
                        a: a.currency.clone(),
                        b: b.currency.clone(),
                    });
                }
            }
        }
        Ok(PriceBook { by_offering })
    }

    /// The version of `offering_id`'s price list valid at `at`.
    pub fn valid_at(&self, offering_id: &str, at: DateTime<Utc>) -> Option<&PriceList> {
        version_at(self.by_offering.get(offering_id)?, at)
    }

    /// Each offering's versions, in `valid_from` order.
    pub(crate) fn offerings(&self) -> impl Iterator<Item = (&String, &Vec<PriceList>)> {
        self.by_offering.iter()
    }
}

/// The version of `versions` (one offering's, in `valid_from` order, not
/// overlapping) valid at `at`.
pub(crate) fn version_at(versions: &[PriceList], at: DateTime<Utc>) -> Option<&PriceList> {
    // Last version starting at or before `at`; versions do not overlap.
    let idx = versions.partition_point(|v| v.valid_from <= at);
    let candidate = versions.get(idx.checked_sub(1)?)?;
    candidate.valid_at(at).then_some(candidate)
}

/// What kind of usage record this is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsageKind {
    /// Ordinary metered usage.
    Usage,
    /// A correction of earlier usage (may be negative), naming the record it
    /// corrects.
    Correction { corrects: String },
}

/// One metered quantity of one metric for one resource over one period.
#[derive(Clone, Debug, PartialEq)]
pub struct UsageRecord {
    /// Stable id (idempotency: the same id is rated once).
    pub id: String,
    /// Billing account (institution) charged.
    pub billing_account_id: String,
    pub offering_id: String,
    pub resource_id: Option<String>,
    /// The metric priced, e.g. "vcpu-hours", "gib-months".
    pub metric: String,
    pub quantity: Decimal,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub service_category: ServiceCategory,
    /// The provider's name for the service (FOCUS ServiceName).
    pub service_name: String,
    pub provider: String,
    pub kind: UsageKind,
}

/// A rated charge: the record, the price applied and the unrounded cost.
#[derive(Clone, Debug, PartialEq)]
pub struct RatedRecord {
    pub id: String,
    pub billing_account_id: String,
    pub offering_id: Option<String>,
    pub resource_id: Option<String>,
    pub metric: Option<String>,
    /// The FOCUS unit of the quantity (from the price list).
    pub unit: Option<String>,
    pub quantity: Option<Decimal>,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub service_category: ServiceCategory,
    pub service_name: String,
    pub provider: String,
    /// The price list and version applied (`None` for credits).
    pub price_list: Option<(String, String)>,
    pub unit_price: Option<Decimal>,
    pub currency: String,
    /// quantity × unit price at full precision (negative for corrections
    /// that reduce and for credits).
    pub cost: Decimal,
    pub charge_category: ChargeCategory,
    pub charge_class: Option<ChargeClass>,
    /// The record a correction corrects.
    pub corrects: Option<String>,
    pub description: String,
}

/// Rates one usage record.
pub fn rate(usage: &UsageRecord, book: &PriceBook) -> Result<RatedRecord, RatingError> {
    if usage.period_end <= usage.period_start {
        return Err(RatingError::EmptyPeriod {
            usage_id: usage.id.clone(),
        });
    }
    let is_correction = matches!(usage.kind, UsageKind::Correction { .. });
    if !is_correction && usage.quantity.is_sign_negative() && !usage.quantity.is_zero() {
        return Err(RatingError::NegativeQuantity {
            usage_id: usage.id.clone(),
            quantity: usage.quantity,
        });
    }
    let list = book
        .valid_at(&usage.offering_id, usage.period_start)
        .ok_or_else(|| RatingError::NoPriceList {
            usage_id: usage.id.clone(),
            offering_id: usage.offering_id.clone(),
            at: usage.period_start,
        })?;
    let unit_price = *list
        .unit_prices
        .get(&usage.metric)
        .ok_or_else(|| RatingError::NoPrice {
            usage_id: usage.id.clone(),
            price_list_id: list.id.clone(),
            version: list.version.clone(),
            metric: usage.metric.clone(),
        })?;
    let cost = usage.quantity * unit_price;
    let (corrects, description) = match &usage.kind {
        UsageKind::Usage => (
            None,
            format!(
                "{} {} at {} {}",
                usage.quantity, usage.metric, unit_price, list.currency
            ),
        ),
        UsageKind::Correction { corrects } => (
            Some(corrects.clone()),
            format!(
                "Correction of {corrects}: {} {} at {} {}",
                usage.quantity, usage.metric, unit_price, list.currency
            ),
        ),
    };
    Ok(RatedRecord {
        id: usage.id.clone(),
        billing_account_id: usage.billing_account_id.clone(),
        offering_id: Some(usage.offering_id.clone()),
        resource_id: usage.resource_id.clone(),
        metric: Some(usage.metric.clone()),
        unit: Some(
            list.units
                .get(&usage.metric)
                .cloned()
                .unwrap_or_else(|| usage.metric.clone()),
        ),
        quantity: Some(usage.quantity),
        period_start: usage.period_start,
        period_end: usage.period_end,
        service_category: usage.service_category,
        service_name: usage.service_name.clone(),
        provider: usage.provider.clone(),
        price_list: Some((list.id.clone(), list.version.clone())),
        unit_price: Some(unit_price),
        currency: list.currency.clone(),
        cost,
        charge_category: ChargeCategory::Usage,
        charge_class: is_correction.then_some(ChargeClass::Correction),
        corrects,
        description,
    })
}

/// Rates records one at a time (streaming).
pub fn rate_all<'a, I>(
    usage: I,
    book: &'a PriceBook,
) -> impl Iterator<Item = Result<RatedRecord, RatingError>> + 'a
where
    I: IntoIterator<Item = UsageRecord>,
    I::IntoIter: 'a,
{
    usage.into_iter().map(move |u| rate(&u, book))
}

/// A credit granted to a billing account: its own record with a negative
/// cost (a positive `amount` is stored negated).
#[derive(Clone, Debug, PartialEq)]
pub struct Credit {
    pub id: String,
    pub billing_account_id: String,
    pub amount: Decimal,
    pub currency: String,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub service_category: ServiceCategory,
    pub service_name: String,
    pub provider: String,
    pub reason: String,
}

impl Credit {
    /// The credit as a rated record (ChargeCategory Credit, cost = −|amount|).
    pub fn to_rated(&self) -> RatedRecord {
        RatedRecord {
            id: self.id.clone(),
            billing_account_id: self.billing_account_id.clone(),
            offering_id: None,
            resource_id: None,
            metric: None,
            unit: None,
            quantity: None,
            period_start: self.period_start,
            period_end: self.period_end,
            service_category: self.service_category,
            service_name: self.service_name.clone(),
            provider: self.provider.clone(),
            price_list: None,
            unit_price: None,
            currency: self.currency.clone(),
            cost: -self.amount.abs(),
            charge_category: ChargeCategory::Credit,
            charge_class: None,
            corrects: None,
            description: format!("Credit: {}", self.reason),
        }
    }
}

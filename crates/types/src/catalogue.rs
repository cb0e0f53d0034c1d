//! The common service catalogue (REQUIREMENTS FED-3, FED-9): offerings of
//! every provider at every site, their service levels, and versioned price
//! lists in euro. Money is `rust_decimal`, never floating point.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::federation::{ProviderId, SiteId};
use crate::{FieldError, Validator, string_enum};

crate::ids::typed_id_pub!(
    /// An offering in the catalogue.
    OfferingId
);
crate::ids::typed_id_pub!(
    /// A version of a provider's price list.
    PriceListId
);

string_enum!(
    /// What an offering delivers.
    OfferingKind {
        Vm = "vm",
        Volume = "volume",
        Bucket = "bucket",
        Kubernetes = "kubernetes",
        Database = "database",
        Backup = "backup",
        /// Fulfilled by people (consulting, system maintenance, migration).
        Specialised = "specialised",
    }
);

string_enum!(
    /// Basic services are self-service; specialised ones need the Broker.
    ServiceTier {
        Basic = "basic",
        Specialised = "specialised",
    }
);

string_enum!(
    /// The unit an offering is priced and ordered in.
    BillingUnit {
        /// One instance for one hour (VMs, database instances, cluster nodes).
        InstanceHour = "instance_hour",
        /// One gibibyte stored for one month (volumes, buckets, backup).
        GbMonth = "gb_month",
        /// One unit for one month (a managed service, a licence).
        UnitMonth = "unit_month",
        /// One hour of work (specialised services).
        PersonHour = "person_hour",
    }
);

/// Hours in a billing month: 365 × 24 / 12.
pub const HOURS_PER_MONTH: i64 = 730;

impl BillingUnit {
    /// The price of `quantity` units for one month at `unit_price`, rounded
    /// to the cent (banker's rounding is not used: commercial rounding,
    /// half away from zero, as on invoices). Person-hours are not monthly:
    /// the quantity is the hours ordered.
    pub fn monthly_cost(self, unit_price: Decimal, quantity: i64) -> Decimal {
        let q = Decimal::from(quantity);
        let raw = match self {
            BillingUnit::InstanceHour => unit_price * q * Decimal::from(HOURS_PER_MONTH),
            BillingUnit::GbMonth | BillingUnit::UnitMonth | BillingUnit::PersonHour => {
                unit_price * q
            }
        };
        let mut cents =
            raw.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        // Always two decimals, so "730.00" reads as money.
        cents.rescale(2);
        cents
    }
}

string_enum!(
    /// When support answers.
    SupportHours {
        /// Working days, 8:00–17:00 Latvian time.
        Business = "8x5",
        Always = "24x7",
    }
);

/// Service level terms of an offering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Sla {
    /// Monthly availability, percent (e.g. 99.95).
    #[schema(value_type = String, example = "99.95")]
    pub availability_pct: Decimal,
    pub support_hours: SupportHours,
    /// Time to first response to an incident, minutes.
    pub response_minutes: i64,
    /// Recovery point the provider guarantees, minutes, if it guarantees one.
    pub rpo_minutes: Option<i64>,
    /// Recovery time the provider guarantees, minutes, if it guarantees one.
    pub rto_minutes: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Offering {
    pub id: OfferingId,
    pub provider_id: ProviderId,
    pub site_id: SiteId,
    pub kind: OfferingKind,
    pub tier: ServiceTier,
    pub name: String,
    pub description: Option<String>,
    /// Per unit: virtual CPUs, RAM and storage a unit brings (0 where not applicable).
    pub vcpu: i64,
    pub ram_gb: i64,
    pub storage_gb: i64,
    pub unit: BillingUnit,
    pub sla: Sla,
    /// Units the provider can still deliver at this site.
    pub capacity_units: i64,
    pub active: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferingInput {
    pub site_id: SiteId,
    pub kind: OfferingKind,
    pub tier: ServiceTier,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub vcpu: i64,
    #[serde(default)]
    pub ram_gb: i64,
    #[serde(default)]
    pub storage_gb: i64,
    pub unit: BillingUnit,
    pub sla: Sla,
    pub capacity_units: i64,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl OfferingInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::new();
        v.text("name", &self.name, 200);
        v.optional_multiline("description", self.description.as_deref(), 4000);
        v.range("vcpu", self.vcpu, 0, 4096);
        v.range("ram_gb", self.ram_gb, 0, 65_536);
        v.range("storage_gb", self.storage_gb, 0, 10_000_000);
        v.range("capacity_units", self.capacity_units, 0, 1_000_000_000);
        v.range("sla.response_minutes", self.sla.response_minutes, 1, 43_200);
        let a = self.sla.availability_pct;
        if a <= Decimal::ZERO || a > Decimal::ONE_HUNDRED || a.scale() > 4 {
            v.push(
                FieldError::new(
                    "sla.availability_pct",
                    "out_of_range",
                    "availability must be above 0 and at most 100 percent, with at most 4 decimals",
                )
                .with_param("min", 0)
                .with_param("max", 100),
            );
        }
        for (field, value) in [
            ("sla.rpo_minutes", self.sla.rpo_minutes),
            ("sla.rto_minutes", self.sla.rto_minutes),
        ] {
            if let Some(m) = value {
                v.range(field, m, 0, crate::information_system::MAX_TARGET_MINUTES);
            }
        }
        if self.kind == OfferingKind::Specialised && self.tier != ServiceTier::Specialised {
            v.push(FieldError::new(
                "tier",
                "invalid",
                "a specialised offering must be in the specialised tier",
            ));
        }
        if self.kind == OfferingKind::Vm && (self.vcpu == 0 || self.ram_gb == 0) {
            v.push(
                FieldError::new("vcpu", "out_of_range", "a VM offering needs vCPUs and RAM")
                    .with_param("min", 1)
                    .with_param("max", 4096),
            );
        }
        v.finish()
    }
}

/// One version of a provider's prices, valid from a day until a day
/// (inclusive) or open-ended. Versions of one provider never overlap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PriceList {
    pub id: PriceListId,
    pub provider_id: ProviderId,
    /// The provider's version label, e.g. `2026-1`.
    pub version: String,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    /// Always EUR for now.
    pub currency: String,
    pub items: Vec<PriceItem>,
}

impl PriceList {
    pub fn is_valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && self.valid_until.is_none_or(|u| day <= u)
    }

    pub fn overlaps(&self, from: NaiveDate, until: Option<NaiveDate>) -> bool {
        let starts_before_other_ends = until.is_none_or(|u| self.valid_from <= u);
        let other_starts_before_this_ends = self.valid_until.is_none_or(|u| from <= u);
        starts_before_other_ends && other_starts_before_this_ends
    }

    pub fn price_of(&self, offering: OfferingId) -> Option<Decimal> {
        self.items
            .iter()
            .find(|i| i.offering_id == offering)
            .map(|i| i.unit_price)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PriceItem {
    pub offering_id: OfferingId,
    /// EUR per billing unit of the offering.
    #[schema(value_type = String, example = "0.0420")]
    pub unit_price: Decimal,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceListInput {
    pub version: String,
    pub valid_from: NaiveDate,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    #[serde(default = "eur")]
    pub currency: String,
    pub items: Vec<PriceItem>,
}

fn eur() -> String {
    "EUR".into()
}

impl PriceListInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::new();
        v.text("version", &self.version, 40);
        if self.currency != "EUR" {
            v.push(FieldError::invalid_choice(
                "currency",
                &self.currency,
                &["EUR"],
            ));
        }
        if self.valid_until.is_some_and(|u| u < self.valid_from) {
            v.push(
                FieldError::new(
                    "valid_until",
                    "out_of_range",
                    "valid_until must not be before valid_from",
                )
                .with_param("min", self.valid_from),
            );
        }
        if self.items.is_empty() {
            v.push(FieldError::new(
                "items",
                "required",
                "a price list needs at least one item",
            ));
        }
        for (i, item) in self.items.iter().enumerate() {
            if item.unit_price < Decimal::ZERO || item.unit_price.scale() > 6 {
                v.push(
                    FieldError::new(
                        format!("items[{i}].unit_price"),
                        "out_of_range",
                        "unit_price must be zero or more, with at most 6 decimals",
                    )
                    .with_param("min", 0),
                );
            }
            if self.items[..i]
                .iter()
                .any(|earlier| earlier.offering_id == item.offering_id)
            {
                v.push(FieldError::new(
                    format!("items[{i}].offering_id"),
                    "duplicate",
                    "the offering is priced twice in this list",
                ));
            }
        }
        v.finish()
    }
}

/// An offering as the catalogue shows it: with its provider, site and the
/// price valid today.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CatalogueEntry {
    #[serde(flatten)]
    pub offering: Offering,
    pub provider_short_name: String,
    pub site_name: String,
    pub country: String,
    /// EUR per billing unit from the price list valid today.
    #[schema(value_type = Option<String>)]
    pub unit_price: Option<Decimal>,
}

impl CatalogueEntry {
    /// The cost of one unit for a month, for comparisons.
    pub fn monthly_price_per_unit(&self) -> Option<Decimal> {
        self.unit_price
            .map(|p| self.offering.unit.monthly_cost(p, 1))
    }
}

/// Catalogue search filters.
#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatalogueFilter {
    /// Words in the offering's or provider's name.
    pub q: Option<String>,
    pub kind: Option<OfferingKind>,
    pub tier: Option<ServiceTier>,
    pub provider_id: Option<ProviderId>,
    /// ISO country of the site.
    pub country: Option<String>,
    /// Minimum availability, percent.
    #[param(value_type = Option<String>)]
    pub min_availability: Option<Decimal>,
    pub min_vcpu: Option<i64>,
    pub min_ram_gb: Option<i64>,
}

/// What to sync a provider's own catalogue into.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogueSyncInput {
    /// The site the offerings are at; may be left out when the provider has
    /// one site.
    #[serde(default)]
    pub site_id: Option<SiteId>,
    /// The SLA of new offerings; by default that of the provider's other
    /// offerings at the site, else 99.9 % in business hours.
    #[serde(default)]
    pub sla: Option<Sla>,
}

/// An offering whose name changed at the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Renamed {
    pub provider_ref: String,
    pub from: String,
    pub to: String,
}

/// What a catalogue sync changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CatalogueSyncReport {
    pub provider: String,
    pub site_id: Option<SiteId>,
    /// Offerings new at the provider, now in the catalogue.
    pub added: Vec<String>,
    pub renamed: Vec<Renamed>,
    /// Offerings whose sizes or capacity changed.
    pub updated: Vec<String>,
    /// Offerings the provider no longer has, withdrawn from the catalogue
    /// (kept, inactive, for the orders and charges that name them).
    pub withdrawn: Vec<String>,
    /// Active synced offerings without a price in today's price list:
    /// orderable only once the provider publishes one.
    pub unpriced: Vec<String>,
    pub unchanged: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros_free::dec;

    mod rust_decimal_macros_free {
        /// `dec("1.5")` without the macro crate.
        pub fn dec(s: &str) -> rust_decimal::Decimal {
            s.parse().unwrap()
        }
    }

    #[test]
    fn monthly_cost_rounds_to_cents_half_away_from_zero() {
        assert_eq!(
            BillingUnit::InstanceHour.monthly_cost(dec("0.0420"), 2),
            dec("61.32")
        );
        assert_eq!(
            BillingUnit::GbMonth.monthly_cost(dec("0.025"), 1),
            dec("0.03")
        );
        assert_eq!(
            BillingUnit::GbMonth.monthly_cost(dec("0.015"), 1),
            dec("0.02")
        );
        assert_eq!(
            BillingUnit::UnitMonth.monthly_cost(dec("120"), 3),
            dec("360.00")
        );
    }

    #[test]
    fn price_list_overlap() {
        let list = PriceList {
            id: PriceListId::new(),
            provider_id: ProviderId::new(),
            version: "2026-1".into(),
            valid_from: "2026-01-01".parse().unwrap(),
            valid_until: Some("2026-06-30".parse().unwrap()),
            currency: "EUR".into(),
            items: vec![],
        };
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert!(list.overlaps(d("2026-06-30"), None));
        assert!(!list.overlaps(d("2026-07-01"), None));
        assert!(list.overlaps(d("2025-01-01"), Some(d("2026-01-01"))));
        assert!(!list.overlaps(d("2025-01-01"), Some(d("2025-12-31"))));
        assert!(list.is_valid_on(d("2026-03-01")) && !list.is_valid_on(d("2026-07-01")));
    }
}

//! The pure arithmetic of chargeback: units, commercial equivalents,
//! allocation by largest remainder, statement lines and their hash, budget
//! standing. No I/O and no `App`: each function is a rule of
//! `docs/metering.md`, tested on its own.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use makonis_metering::focus::ServiceCategory;
use makonis_metering::round_money;
use makonis_types::catalogue::{BillingUnit, HOURS_PER_MONTH, Offering, OfferingId, OfferingKind};
use makonis_types::federation::ProviderId;
use makonis_types::metering::*;
use makonis_types::{InformationSystemId, InstitutionId};
use rust_decimal::Decimal;

use crate::metering::CURRENCY;
use crate::now;

/// FOCUS ServiceCategory of an offering kind.
pub fn service_category(kind: OfferingKind) -> ServiceCategory {
    match kind {
        OfferingKind::Vm | OfferingKind::Kubernetes => ServiceCategory::Compute,
        OfferingKind::Volume | OfferingKind::Bucket | OfferingKind::Backup => {
            ServiceCategory::Storage
        }
        OfferingKind::Database => ServiceCategory::Databases,
        OfferingKind::Specialised => ServiceCategory::Other,
    }
}

/// Converts hourly usage into the offering's billing unit: monthly units
/// are charged by the hour at 1/730 of a month (the same month length the
/// catalogue's monthly estimates use).
pub fn to_billing_quantity(unit: BillingUnit, hourly_quantity: Decimal) -> Decimal {
    match unit {
        BillingUnit::InstanceHour | BillingUnit::PersonHour => hourly_quantity,
        BillingUnit::GbMonth | BillingUnit::UnitMonth => {
            hourly_quantity / Decimal::from(HOURS_PER_MONTH)
        }
    }
}

/// The cheapest commercial reference price valid at `at` for an offering:
/// same kind and unit, at least as many vCPUs and as much memory.
pub fn commercial_equivalent<'a>(
    prices: &'a [CommercialPrice],
    offering: &Offering,
    at: NaiveDate,
) -> Option<&'a CommercialPrice> {
    prices
        .iter()
        .filter(|p| {
            p.kind == offering.kind
                && p.unit == offering.unit
                && p.vcpu >= offering.vcpu
                && p.ram_gb >= offering.ram_gb
                && p.valid_from <= at
                && p.valid_until.is_none_or(|u| at <= u)
        })
        .min_by(|a, b| a.unit_price.cmp(&b.unit_price).then(a.sku.cmp(&b.sku)))
}

/// Splits `amount` (in cents) across `basis` in proportion, by the largest
/// remainder: every share is whole cents and the shares add up to `amount`
/// exactly. Ties go to the earlier key.
pub fn allocate_by_largest_remainder<K: Clone + Ord>(
    amount: Decimal,
    basis: &BTreeMap<K, Decimal>,
) -> BTreeMap<K, Decimal> {
    let total: Decimal = basis.values().copied().sum();
    if total <= Decimal::ZERO {
        return BTreeMap::new();
    }
    let cents = (amount * Decimal::ONE_HUNDRED).trunc();
    let mut shares: Vec<(K, Decimal, Decimal)> = basis
        .iter()
        .map(|(k, b)| {
            let exact = cents * *b / total;
            let floor = exact.floor();
            (k.clone(), floor, exact - floor)
        })
        .collect();
    let given: Decimal = shares.iter().map(|s| s.1).sum();
    let mut left = cents - given;
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|a, b| shares[*b].2.cmp(&shares[*a].2).then(a.cmp(b)));
    for i in order {
        if left <= Decimal::ZERO {
            break;
        }
        shares[i].1 += Decimal::ONE;
        left -= Decimal::ONE;
    }
    shares
        .into_iter()
        .map(|(k, c, _)| (k, c / Decimal::ONE_HUNDRED))
        .collect()
}

/// Groups charges into statement lines (one per system, agreement,
/// provider, service, charge category and price) and rounds each line once.
pub(crate) fn statement_lines(
    charges: &[Charge],
    systems: &HashMap<InformationSystemId, String>,
    providers: &HashMap<ProviderId, String>,
) -> Vec<StatementLine> {
    // Field order is the line order: by system, then provider, service…
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    struct Key {
        system_label: String,
        system: Option<InformationSystemId>,
        agreement: Option<makonis_types::order::AgreementId>,
        provider_label: String,
        provider: ProviderId,
        service_category: String,
        service_name: String,
        offering: Option<OfferingId>,
        charge_category: String,
        charge_class: Option<String>,
        unit: Option<String>,
        unit_price: Option<Decimal>,
        price_list_version: Option<String>,
    }
    #[derive(Default)]
    struct Acc {
        quantity: Option<Decimal>,
        exact: Decimal,
        commercial: Option<Decimal>,
        commercial_ref: Option<String>,
        charges: i64,
    }
    let mut groups: BTreeMap<Key, Acc> = BTreeMap::new();
    for c in charges {
        let system_label = c
            .information_system_id
            .map(|s| systems.get(&s).cloned().unwrap_or_else(|| s.to_string()))
            .unwrap_or_else(|| "(institution-wide)".to_owned());
        let provider = providers
            .get(&c.provider_id)
            .cloned()
            .unwrap_or_else(|| c.provider_id.to_string());
        let key = Key {
            system_label,
            system: c.information_system_id,
            agreement: c.agreement_id,
            provider_label: provider,
            provider: c.provider_id,
            service_category: c.service_category.clone(),
            service_name: c.service_name.clone(),
            offering: c.offering_id,
            charge_category: c.charge_category.clone(),
            charge_class: c.charge_class.clone(),
            unit: c.unit.clone(),
            unit_price: c.unit_price,
            price_list_version: c.price_list_version.clone(),
        };
        let acc = groups.entry(key).or_default();
        if let Some(q) = c.quantity {
            acc.quantity = Some(acc.quantity.unwrap_or_default() + q);
        }
        acc.exact += c.cost;
        if let Some(cc) = c.commercial_cost {
            acc.commercial = Some(acc.commercial.unwrap_or_default() + cc);
            acc.commercial_ref = c.commercial_ref.clone();
        }
        acc.charges += 1;
    }
    groups
        .into_iter()
        .enumerate()
        .map(|(i, (k, acc))| StatementLine {
            line_no: i as i64 + 1,
            information_system: k.system_label,
            information_system_id: k.system,
            agreement_id: k.agreement,
            provider: k.provider_label,
            provider_id: k.provider,
            service_category: k.service_category,
            service_name: k.service_name,
            offering_id: k.offering,
            charge_category: k.charge_category,
            charge_class: k.charge_class,
            unit: k.unit,
            unit_price: k.unit_price,
            price_list_version: k.price_list_version,
            quantity: acc.quantity.map(|q| q.normalize()),
            exact_amount: acc.exact.normalize(),
            amount: round_money(acc.exact),
            commercial_amount: acc.commercial.map(round_money),
            commercial_ref: acc.commercial_ref,
            charges: acc.charges,
        })
        .collect()
}

/// A BLAKE3 hash of a statement's lines as issued, so a printed copy can be
/// checked against the record.
pub(crate) fn lines_hash(lines: &[StatementLine]) -> String {
    let json = serde_json::to_vec(lines).unwrap_or_default();
    blake3::hash(&json).to_hex().to_string()
}

pub(crate) fn budget_status(
    b: Budget,
    month: Month,
    charges: &[Charge],
    crossed: Vec<i64>,
) -> BudgetStatus {
    let spent: Decimal = charges
        .iter()
        .filter(|c| {
            b.information_system_id.is_none() || c.information_system_id == b.information_system_id
        })
        .map(|c| c.cost)
        .sum();
    let used_pct = if b.monthly_amount > Decimal::ZERO {
        (spent * Decimal::ONE_HUNDRED / b.monthly_amount)
            .floor()
            .try_into()
            .unwrap_or(i64::MAX)
    } else {
        0
    };
    BudgetStatus {
        budget: b,
        month,
        spent,
        used_pct,
        crossed,
    }
}

pub(crate) fn build_statement(
    institution: InstitutionId,
    month: Month,
    version: i64,
    reason: Option<String>,
    charges: &[Charge],
    systems: &HashMap<InformationSystemId, String>,
    providers: &HashMap<ProviderId, String>,
    issued_by: Option<makonis_types::UserId>,
) -> Statement {
    let lines = statement_lines(charges, systems, providers);
    let total: Decimal = lines.iter().map(|l| l.amount).sum();
    let exact_total: Decimal = lines.iter().map(|l| l.exact_amount).sum();
    let commercial_total: Decimal = lines.iter().filter_map(|l| l.commercial_amount).sum();
    Statement {
        summary: StatementSummary {
            id: StatementId::new(),
            institution_id: institution,
            month,
            version,
            reason,
            currency: CURRENCY.into(),
            total,
            exact_total: exact_total.normalize(),
            commercial_total,
            charges: charges.len() as i64,
            content_hash: lines_hash(&lines),
            issued_by,
            // Stored with microseconds; keep what reads back identical.
            issued_at: chrono::SubsecRound::trunc_subsecs(now(), 6),
        },
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn largest_remainder_gives_whole_cents_that_add_up() {
        let basis = BTreeMap::from([("a", d("1")), ("b", d("1")), ("c", d("1"))]);
        let shares = allocate_by_largest_remainder(d("100.00"), &basis);
        assert_eq!(shares["a"], d("33.34"));
        assert_eq!(shares["b"], d("33.33"));
        assert_eq!(shares["c"], d("33.33"));
        let basis = BTreeMap::from([("x", d("0.123")), ("y", d("999.877")), ("z", d("55.5"))]);
        for amount in ["0.01", "0.02", "17.77", "1000000.00", "12345.67"] {
            let shares = allocate_by_largest_remainder(d(amount), &basis);
            assert_eq!(
                shares.values().copied().sum::<Decimal>(),
                d(amount),
                "{amount}"
            );
            assert!(
                shares
                    .values()
                    .all(|s| s.scale() <= 2 && *s >= Decimal::ZERO)
            );
        }
        // Proportional: the biggest user pays the most.
        let shares = allocate_by_largest_remainder(d("10.00"), &basis);
        assert!(shares["y"] > shares["z"] && shares["z"] > shares["x"]);
        assert!(
            allocate_by_largest_remainder(d("1"), &BTreeMap::<&str, Decimal>::new()).is_empty()
        );
    }

    #[test]
    fn hourly_usage_becomes_monthly_units_at_730_hours() {
        assert_eq!(
            to_billing_quantity(BillingUnit::InstanceHour, d("3")),
            d("3")
        );
        assert_eq!(to_billing_quantity(BillingUnit::GbMonth, d("730")), d("1"));
        // 1/730 has no finite decimal expansion: the quantity keeps 28
        // significant digits, far below the cent a statement line rounds to.
        let back = to_billing_quantity(BillingUnit::GbMonth, d("100")) * Decimal::from(730);
        assert!(
            (back - d("100")).abs() < d("0.000000000000000000001"),
            "{back}"
        );
    }
}

//! Aggregation: monthly totals and statement lines, summed in `Decimal`.
//!
//! Streaming: records are added one at a time; memory grows with the number
//! of distinct keys (accounts × categories × providers × months), not with
//! the number of records.
//!
//! Rounding rule: costs are kept at full precision through rating and
//! summing. A statement line (one billing account, month, offering,
//! resource, metric, price-list version, charge category and class) is
//! rounded once, to cents, half away from zero ([`round_money`]). A
//! statement's total is the sum of its rounded lines, so the printed lines
//! add up to the printed total; it differs from the exact total by at most
//! half a cent per line. Monthly totals are exact (unrounded) sums and
//! reconcile exactly with the rated records ([`MonthlyTotals::reconcile`]).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::focus::{ChargeCategory, ChargeClass, FocusRecord, ServiceCategory};
use crate::rating::RatedRecord;

/// Rounds money to cents, half away from zero (2.345 → 2.35, −2.345 → −2.35).
pub fn round_money(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// A calendar month (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    /// The month `at` falls in (UTC).
    pub fn of(at: DateTime<Utc>) -> Self {
        Month {
            year: at.year(),
            month: at.month(),
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The key of a monthly total.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TotalsKey {
    pub month: Month,
    pub billing_account_id: String,
    pub service_category: ServiceCategory,
    pub provider: String,
}

/// An exact sum and how many records went into it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Total {
    pub cost: Decimal,
    pub records: u64,
}

/// Monthly totals per (billing account, service category, provider).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MonthlyTotals {
    totals: BTreeMap<TotalsKey, Total>,
    grand: Total,
}

/// Totals that do not match the records they claim to sum.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReconcileError {
    #[error(
        "total for {key:?} is {total} over {total_records} records, but the records sum to {records_sum} over {records}"
    )]
    Key {
        key: TotalsKey,
        total: Decimal,
        total_records: u64,
        records_sum: Decimal,
        records: u64,
    },
    #[error("grand total is {total}, but the records sum to {records_sum}")]
    Grand {
        total: Decimal,
        records_sum: Decimal,
    },
}

impl MonthlyTotals {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `cost` under `key`.
    pub fn add(&mut self, key: TotalsKey, cost: Decimal) {
        let t = self.totals.entry(key).or_default();
        t.cost += cost;
        t.records += 1;
        self.grand.cost += cost;
        self.grand.records += 1;
    }

    /// Adds a rated record under the month of its period start.
    pub fn add_rated(&mut self, r: &RatedRecord) {
        self.add(Self::rated_key(r), r.cost);
    }

    /// Adds a FOCUS record's BilledCost under the month of its
    /// BillingPeriodStart (the invoice month), keyed by BillingAccountId,
    /// ServiceCategory and ProviderName.
    pub fn add_focus(&mut self, r: &FocusRecord) {
        let key = TotalsKey {
            month: Month::of(r.billing_period_start),
            billing_account_id: r.billing_account_id.clone(),
            service_category: r.service_category,
            provider: r.provider_name.clone(),
        };
        self.add(key, r.billed_cost);
    }

    fn rated_key(r: &RatedRecord) -> TotalsKey {
        TotalsKey {
            month: Month::of(r.period_start),
            billing_account_id: r.billing_account_id.clone(),
            service_category: r.service_category,
            provider: r.provider.clone(),
        }
    }

    /// Totals in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&TotalsKey, &Total)> {
        self.totals.iter()
    }

    /// The total for one key.
    pub fn get(&self, key: &TotalsKey) -> Option<&Total> {
        self.totals.get(key)
    }

    /// Sum over all keys.
    pub fn grand_total(&self) -> Total {
        self.grand
    }

    /// Checks that these totals are exactly the sums of `records`: the same
    /// keys, the same sum and count per key, and the same grand total,
    /// computed here independently of [`MonthlyTotals::add`].
    pub fn reconcile<'a>(
        &self,
        records: impl IntoIterator<Item = &'a RatedRecord>,
    ) -> Result<(), ReconcileError> {
        let mut sums: BTreeMap<TotalsKey, (Decimal, u64)> = BTreeMap::new();
        let mut grand = Decimal::ZERO;
        for r in records {
            let e = sums.entry(Self::rated_key(r)).or_insert((Decimal::ZERO, 0));
            e.0 += r.cost;
            e.1 += 1;
            grand += r.cost;
        }
        let keys: std::collections::BTreeSet<&TotalsKey> =
            sums.keys().chain(self.totals.keys()).collect();
        for key in keys {
            let t = self.totals.get(key).copied().unwrap_or_default();
            let (s, n) = sums.get(key).copied().unwrap_or((Decimal::ZERO, 0));
            if t.cost != s || t.records != n {
                return Err(ReconcileError::Key {
                    key: key.clone(),
                    total: t.cost,
                    total_records: t.records,
                    records_sum: s,
                    records: n,
                });
            }
        }
        if grand != self.grand.cost {
            return Err(ReconcileError::Grand {
                total: self.grand.cost,
                records_sum: grand,
            });
        }
        Ok(())
    }
}

/// What one statement line groups.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineKey {
    pub month: Month,
    pub billing_account_id: String,
    pub provider: String,
    pub service_category: ServiceCategory,
    pub offering_id: Option<String>,
    pub resource_id: Option<String>,
    pub metric: Option<String>,
    pub price_list: Option<(String, String)>,
    pub unit_price: Option<Decimal>,
    pub charge_category: ChargeCategory,
    pub charge_class: Option<ChargeClass>,
}

/// One line of a statement: exact and rounded cost.
#[derive(Clone, Debug, PartialEq)]
pub struct StatementLine {
    pub key: LineKey,
    pub quantity: Option<Decimal>,
    /// Exact sum of the records' costs.
    pub exact: Decimal,
    /// `round_money(exact)`: what the statement shows and charges.
    pub amount: Decimal,
    pub records: u64,
}

/// A statement's lines and totals.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub lines: Vec<StatementLine>,
    /// Sum of the exact line costs (= sum of the rated records).
    pub exact_total: Decimal,
    /// Sum of the rounded line amounts: the amount charged.
    pub total: Decimal,
}

/// Groups rated records into statement lines and rounds each line once.
/// Corrections and credits stay on lines of their own (their charge
/// category and class are part of the line key).
pub fn statement<'a>(records: impl IntoIterator<Item = &'a RatedRecord>) -> Statement {
    let mut groups: BTreeMap<LineKey, (Option<Decimal>, Decimal, u64)> = BTreeMap::new();
    for r in records {
        let key = LineKey {
            month: Month::of(r.period_start),
            billing_account_id: r.billing_account_id.clone(),
            provider: r.provider.clone(),
            service_category: r.service_category,
            offering_id: r.offering_id.clone(),
            resource_id: r.resource_id.clone(),
            metric: r.metric.clone(),
            price_list: r.price_list.clone(),
            unit_price: r.unit_price,
            charge_category: r.charge_category,
            charge_class: r.charge_class,
        };
        let g = groups.entry(key).or_insert((None, Decimal::ZERO, 0));
        if let Some(q) = r.quantity {
            g.0 = Some(g.0.unwrap_or(Decimal::ZERO) + q);
        }
        g.1 += r.cost;
        g.2 += 1;
    }
    let mut exact_total = Decimal::ZERO;
    let mut total = Decimal::ZERO;
    let lines = groups
        .into_iter()
        .map(|(key, (quantity, exact, records))| {
            let amount = round_money(exact);
            exact_total += exact;
            total += amount;
            StatementLine {
                key,
                quantity,
                exact,
                amount,
                records,
            }
        })
        .collect();
    Statement {
        lines,
        exact_total,
        total,
    }
}

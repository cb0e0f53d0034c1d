//! Import, validate, rate and aggregate a provider's FOCUS file into
//! monthly totals per institution, in one pass.
//!
//! The rating rule (the metering benchmark, issue #4, computes the same
//! with DuckDB; see `docs/metering.md`):
//! - Every row belongs to the institution its SubAccountId maps to in the
//!   federation's mapping table; a row without a mapped SubAccountId is an
//!   error (line, column SubAccountId).
//! - A **Usage** row (corrections included) costs PricingQuantity × the
//!   unit price of price list `SkuId`, metric `PricingUnit`, in the version
//!   valid at the row's ChargePeriodStart ([`PriceBook::valid_at`]: valid
//!   from inclusive, until exclusive). No version, no price for the unit or
//!   no quantity is an error naming the line and column.
//! - Every other row (Purchase, Tax, Credit, Adjustment) is carried at its
//!   BilledCost.
//! - Totals are keyed by the month of BillingPeriodStart (the invoice
//!   month, UTC: a correction of December lands on January's invoice) and
//!   the institution, with the record count, the rated usage sum, the
//!   carried sum and their total, all exact (`Decimal`, never rounded).

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::aggregate::Month;
use crate::focus::ChargeCategory;
use crate::parallel::{FileInfo, ParallelOptions};
use crate::rating::{PriceBook, PriceList, version_at};
use crate::reader::{FocusReader, FocusRow, ImportError, ReadOptions};

/// The federation's price book and institution mapping.
#[derive(Clone, Debug)]
pub struct RatingPlan {
    /// The price book's versions by offering (SkuId), hashed: the book's
    /// own map is ordered, and this lookup runs on every Usage row.
    skus: FxHashMap<String, Vec<PriceList>>,
    institution_of: FxHashMap<String, usize>,
    institutions: Vec<String>,
}

/// A fast hash (FxHash's mix) for the plan's and the totals' small maps,
/// whose keys come from the federation's own tables and the file's
/// validated rows.
#[derive(Clone, Copy, Debug, Default)]
struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or_default()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    #[inline]
    fn write_i32(&mut self, n: i32) {
        self.add(u64::from(n as u32));
    }
    fn finish(&self) -> u64 {
        self.hash
    }
}

type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// One institution's month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstitutionTotal {
    pub records: u64,
    /// Σ PricingQuantity × unit price over Usage rows.
    pub usage: Decimal,
    /// Σ BilledCost over the other rows.
    pub carried: Decimal,
}

impl InstitutionTotal {
    /// usage + carried.
    pub fn total(&self) -> Decimal {
        self.usage + self.carried
    }

    fn add(&mut self, other: &InstitutionTotal) {
        self.records += other.records;
        self.usage += other.usage;
        self.carried += other.carried;
    }
}

/// Monthly totals per institution, in (month, institution) order.
pub type InstitutionTotals = BTreeMap<(Month, String), InstitutionTotal>;

/// Partial totals of one chunk (institutions by index).
#[derive(Debug, Default)]
pub struct PartialTotals {
    by_key: FxHashMap<(Month, usize), InstitutionTotal>,
}

impl PartialTotals {
    pub fn merge(&mut self, other: PartialTotals) {
        for (k, v) in other.by_key {
            self.by_key.entry(k).or_default().add(&v);
        }
    }
}

/// The fields of a row that rating needs.
struct Charge<'a> {
    line: u64,
    category: ChargeCategory,
    billing_period_start: DateTime<Utc>,
    charge_period_start: DateTime<Utc>,
    sub_account_id: Option<&'a str>,
    sku_id: Option<&'a str>,
    pricing_unit: Option<&'a str>,
    pricing_quantity: Option<Decimal>,
    billed_cost: Decimal,
}

impl RatingPlan {
    /// A plan from price-list versions (offering = SkuId, metric =
    /// PricingUnit) and (SubAccountId, institution) pairs.
    pub fn new(book: PriceBook, institutions: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut names: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut institution_of = FxHashMap::default();
        for (sub_account, institution) in institutions {
            let i = *index.entry(institution.clone()).or_insert_with(|| {
                names.push(institution);
                names.len() - 1
            });
            institution_of.insert(sub_account, i);
        }
        RatingPlan {
            skus: book
                .offerings()
                .map(|(sku, versions)| (sku.clone(), versions.clone()))
                .collect(),
            institution_of,
            institutions: names,
        }
    }

    /// Reads the plan from two CSV tables: prices
    /// (`sku_id,pricing_unit,version,valid_from,valid_until,unit_price`,
    /// RFC 3339 instants, empty `valid_until` = open-ended, currency EUR)
    /// and institutions (`sub_account_id,institution`).
    pub fn from_csv(prices: impl Read, institutions: impl Read) -> Result<Self, String> {
        let mut versions: BTreeMap<(String, String), PriceList> = BTreeMap::new();
        let mut rdr = csv::Reader::from_reader(prices);
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| format!("prices: {e}"))?;
            let field = |n: usize| rec.get(n).unwrap_or("");
            let at = |s: &str| {
                crate::parse::parse_datetime(s)
                    .ok_or_else(|| format!("prices line {}: bad instant {s:?}", i + 2))
            };
            let price = crate::parse::parse_decimal(field(5))
                .ok_or_else(|| format!("prices line {}: bad price", i + 2))?;
            let list = versions
                .entry((field(0).to_owned(), field(2).to_owned()))
                .or_insert(PriceList {
                    id: field(0).to_owned(),
                    offering_id: field(0).to_owned(),
                    version: field(2).to_owned(),
                    valid_from: at(field(3))?,
                    valid_until: match field(4) {
                        "" => None,
                        s => Some(at(s)?),
                    },
                    currency: "EUR".to_owned(),
                    unit_prices: BTreeMap::new(),
                    units: BTreeMap::new(),
                });
            list.unit_prices.insert(field(1).to_owned(), price);
        }
        let book = PriceBook::new(versions.into_values()).map_err(|e| e.to_string())?;
        let mut pairs = Vec::new();
        let mut rdr = csv::Reader::from_reader(institutions);
        for rec in rdr.records() {
            let rec = rec.map_err(|e| format!("institutions: {e}"))?;
            pairs.push((
                rec.get(0).unwrap_or("").to_owned(),
                rec.get(1).unwrap_or("").to_owned(),
            ));
        }
        Ok(RatingPlan::new(book, pairs))
    }

    /// Rates one validated row into `acc`.
    pub fn add_row(&self, acc: &mut PartialTotals, row: &FocusRow<'_>) -> Result<(), ImportError> {
        self.add(
            acc,
            &Charge {
                line: row.line,
                category: row.charge_category,
                billing_period_start: row.billing_period_start,
                charge_period_start: row.charge_period_start,
                sub_account_id: row.sub_account_id,
                sku_id: row.sku_id,
                pricing_unit: row.pricing_unit,
                pricing_quantity: row.pricing_quantity,
                billed_cost: row.billed_cost,
            },
        )
    }

    fn add(&self, acc: &mut PartialTotals, c: &Charge<'_>) -> Result<(), ImportError> {
        let err = |column: &str, expected: String, got: &str| ImportError::Invalid {
            line: c.line,
            column: column.to_owned(),
            expected,
            got: got.to_owned(),
        };
        let sub = c.sub_account_id.unwrap_or("");
        let Some(&institution) = self.institution_of.get(sub) else {
            return Err(err(
                "SubAccountId",
                "a sub-account in the federation's institution mapping".into(),
                sub,
            ));
        };
        // Rated (usage) or carried: only the sum it goes to is added to.
        let (usage, amount) = if c.category == ChargeCategory::Usage {
            let sku = c.sku_id.unwrap_or("");
            let Some(list) = self
                .skus
                .get(sku)
                .and_then(|versions| version_at(versions, c.charge_period_start))
            else {
                return Err(err(
                    "SkuId",
                    format!(
                        "a SKU with a price-list version valid at ChargePeriodStart {}",
                        c.charge_period_start.to_rfc3339()
                    ),
                    sku,
                ));
            };
            let unit = c.pricing_unit.unwrap_or("");
            let Some(price) = list.unit_prices.get(unit) else {
                return Err(err(
                    "PricingUnit",
                    format!("a unit priced in {sku} version {}", list.version),
                    unit,
                ));
            };
            let Some(quantity) = c.pricing_quantity else {
                return Err(err("PricingQuantity", "a quantity to rate".into(), ""));
            };
            (true, quantity * price)
        } else {
            (false, c.billed_cost)
        };
        let total = acc
            .by_key
            .entry((Month::of(c.billing_period_start), institution))
            .or_default();
        total.records += 1;
        if usage {
            total.usage += amount;
        } else {
            total.carried += amount;
        }
        Ok(())
    }

    /// Names the institutions of partial totals.
    pub fn totals(&self, acc: PartialTotals) -> InstitutionTotals {
        acc.by_key
            .into_iter()
            .map(|((month, i), t)| ((month, self.institutions[i].clone()), t))
            .collect()
    }
}

/// Reads, validates, rates and aggregates a file on every core
/// ([`crate::parallel::fold`]).
pub fn rate_file<R: Read>(
    reader: R,
    options: &ReadOptions,
    par: &ParallelOptions,
    plan: &RatingPlan,
) -> Result<(FileInfo, InstitutionTotals), ImportError> {
    let (info, acc) = crate::parallel::fold(
        reader,
        options,
        par,
        PartialTotals::default,
        |acc, row| plan.add_row(acc, row),
        PartialTotals::merge,
    )?;
    Ok((info, plan.totals(acc)))
}

/// The same with the sequential [`FocusReader`] (one thread, an owned
/// [`crate::FocusRecord`] per row): the reference and the baseline.
pub fn rate_file_sequential<R: Read>(
    reader: R,
    options: &ReadOptions,
    plan: &RatingPlan,
) -> Result<(u64, InstitutionTotals), ImportError> {
    let mut focus = FocusReader::new(reader, options.clone())?;
    let mut acc = PartialTotals::default();
    let mut records = 0;
    while let Some(item) = focus.next_record() {
        let (line, r) = item?;
        plan.add(
            &mut acc,
            &Charge {
                line,
                category: r.charge_category,
                billing_period_start: r.billing_period_start,
                charge_period_start: r.charge_period_start,
                sub_account_id: r.sub_account_id.as_deref(),
                sku_id: r.sku_id.as_deref(),
                pricing_unit: r.pricing_unit.as_deref(),
                pricing_quantity: r.pricing_quantity,
                billed_cost: r.billed_cost,
            },
        )?;
        records += 1;
    }
    Ok((records, plan.totals(acc)))
}

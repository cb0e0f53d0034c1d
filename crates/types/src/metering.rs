//! Metering and chargeback records (REQUIREMENTS FED-5, FED-6): rated
//! charges, monthly statements and their lines, FOCUS imports, lines the
//! Broker still has to map, commercial reference prices, shared costs and
//! budgets. Money is [`Decimal`]; the API writes it as a string so no
//! client rounds it through a float.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::catalogue::{BillingUnit, OfferingId, OfferingKind};
use crate::federation::ProviderId;
use crate::order::AgreementId;
use crate::{FieldError, InformationSystemId, InstitutionId, UserId, Validator};

crate::ids::typed_id_pub!(
    /// An issued statement version.
    StatementId
);
crate::ids::typed_id_pub!(
    /// An imported FOCUS file.
    ImportId
);
crate::ids::typed_id_pub!(
    /// A monthly budget.
    BudgetId
);

/// A calendar month, `YYYY-MM` (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ToSchema)]
#[schema(value_type = String, example = "2026-10")]
pub struct Month(NaiveDate);

impl Month {
    pub fn new(year: i32, month: u32) -> Option<Self> {
        NaiveDate::from_ymd_opt(year, month, 1).map(Self)
    }

    pub fn of(at: DateTime<Utc>) -> Self {
        Self(at.date_naive().with_day0(0).unwrap_or(at.date_naive()))
    }

    /// First instant of the month.
    pub fn start(self) -> DateTime<Utc> {
        self.0.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    /// First instant of the next month.
    pub fn end(self) -> DateTime<Utc> {
        self.next().start()
    }

    pub fn next(self) -> Self {
        Self(self.0 + chrono::Months::new(1))
    }

    pub fn previous(self) -> Self {
        Self(self.0 - chrono::Months::new(1))
    }

    /// Parses `YYYY-MM` for the named field.
    pub fn parse_field(field: &str, text: &str) -> Result<Self, FieldError> {
        text.parse().map_err(|_| {
            FieldError::new(field, "invalid_format", "expected a month as YYYY-MM")
                .with_param("expected", "YYYY-MM")
        })
    }
}

use chrono::Datelike as _;

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.0.year(), self.0.month())
    }
}

impl std::str::FromStr for Month {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not a month (YYYY-MM)");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        Month::new(year, month).ok_or_else(bad)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One rated charge, at full precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Charge {
    pub id: String,
    /// `usage` (collected from a driver), `import` (a FOCUS bill line),
    /// `allocation` (a share of a provider's shared cost).
    pub source: String,
    /// Idempotency key within the source.
    pub source_key: String,
    pub month: Month,
    pub institution_id: InstitutionId,
    pub information_system_id: Option<InformationSystemId>,
    pub agreement_id: Option<AgreementId>,
    pub provider_id: ProviderId,
    pub offering_id: Option<OfferingId>,
    pub resource_id: Option<String>,
    /// FOCUS ServiceCategory.
    pub service_category: String,
    pub service_name: String,
    /// FOCUS ChargeCategory (Usage, Purchase, Tax, Credit, Adjustment).
    pub charge_category: String,
    /// `Correction` or none.
    pub charge_class: Option<String>,
    pub metric: Option<String>,
    pub unit: Option<String>,
    #[schema(value_type = Option<String>)]
    pub quantity: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub unit_price: Option<Decimal>,
    pub price_list_id: Option<String>,
    pub price_list_version: Option<String>,
    #[schema(value_type = String)]
    pub cost: Decimal,
    pub currency: String,
    /// The same usage at the commercial reference price, when one applies.
    #[schema(value_type = Option<String>)]
    pub commercial_cost: Option<Decimal>,
    pub commercial_ref: Option<String>,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub description: String,
    pub import_id: Option<ImportId>,
    pub created_at: DateTime<Utc>,
}

/// A FOCUS file that was imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FocusImport {
    pub id: ImportId,
    pub provider_id: ProviderId,
    pub file_name: String,
    /// BLAKE3 of the file's bytes; a second import of the same file is refused.
    pub content_hash: String,
    pub bytes: i64,
    pub records: i64,
    /// Lines booked as charges.
    pub mapped: i64,
    /// Lines waiting for the Broker in the unmapped list.
    pub unmapped: i64,
    pub billing_currency: Option<String>,
    #[schema(value_type = String)]
    pub billed_cost: Decimal,
    pub imported_by: Option<UserId>,
    pub imported_at: DateTime<Utc>,
}

/// A usage record or bill line Mākonis could not tie to an institution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UnmappedCharge {
    pub id: String,
    pub source: String,
    pub source_key: String,
    pub provider_id: ProviderId,
    pub import_id: Option<ImportId>,
    /// Line in the imported file.
    pub line: Option<i64>,
    /// Why it could not be booked.
    pub reason: String,
    pub billing_account_id: Option<String>,
    pub sub_account_id: Option<String>,
    pub resource_id: Option<String>,
    pub month: Month,
    #[schema(value_type = String)]
    pub cost: Decimal,
    pub currency: String,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<UserId>,
    pub charge_id: Option<String>,
}

/// The Broker's decision for an unmapped line: who pays for it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveUnmappedInput {
    pub institution_id: InstitutionId,
    #[serde(default)]
    pub information_system_id: Option<InformationSystemId>,
}

/// A commercial reference price (FED-6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CommercialPrice {
    pub id: String,
    /// Which price list, e.g. "AWS eu-north-1 on-demand 2026-10".
    pub reference: String,
    /// The commercial SKU, e.g. "m7i.xlarge".
    pub sku: String,
    pub kind: OfferingKind,
    pub vcpu: i64,
    pub ram_gb: i64,
    pub unit: BillingUnit,
    #[schema(value_type = String)]
    pub unit_price: Decimal,
    pub currency: String,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommercialPriceInput {
    pub reference: String,
    pub sku: String,
    pub kind: OfferingKind,
    #[serde(default)]
    pub vcpu: i64,
    #[serde(default)]
    pub ram_gb: i64,
    pub unit: BillingUnit,
    #[schema(value_type = String)]
    pub unit_price: Decimal,
    pub valid_from: NaiveDate,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
}

impl CommercialPriceInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::new();
        v.text("reference", &self.reference, 120);
        v.text("sku", &self.sku, 80);
        v.range("vcpu", self.vcpu, 0, 4096);
        v.range("ram_gb", self.ram_gb, 0, 65536);
        if self.unit_price <= Decimal::ZERO || self.unit_price.scale() > 6 {
            v.push(
                FieldError::new(
                    "unit_price",
                    "out_of_range",
                    "unit_price must be more than zero, with at most 6 decimals",
                )
                .with_param("min", "0"),
            );
        }
        if self.valid_until.is_some_and(|u| u < self.valid_from) {
            v.push(FieldError::new(
                "valid_until",
                "out_of_range",
                "valid_until must not be before valid_from",
            ));
        }
        v.finish()
    }
}

/// A provider's shared platform cost for a month, to split across the
/// institutions that used the provider.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SharedCostInput {
    pub provider_id: ProviderId,
    pub month: Month,
    #[schema(value_type = String)]
    pub amount: Decimal,
    pub description: String,
}

impl SharedCostInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::new();
        v.text("description", &self.description, 200);
        if self.amount <= Decimal::ZERO || self.amount.scale() > 2 {
            v.push(FieldError::new(
                "amount",
                "out_of_range",
                "amount must be more than zero, in cents (at most 2 decimals)",
            ));
        }
        v.finish()
    }
}

/// One institution's share of a shared cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Allocation {
    pub institution_id: InstitutionId,
    /// The institution's charges at the provider that month (the key).
    #[schema(value_type = String)]
    pub basis: Decimal,
    #[schema(value_type = String)]
    pub amount: Decimal,
}

/// An issued statement (header).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatementSummary {
    pub id: StatementId,
    pub institution_id: InstitutionId,
    pub month: Month,
    pub version: i64,
    /// Why this version was issued when it is not the first.
    pub reason: Option<String>,
    pub currency: String,
    /// Sum of the rounded lines: the amount charged.
    #[schema(value_type = String)]
    pub total: Decimal,
    /// Sum of the charges at full precision.
    #[schema(value_type = String)]
    pub exact_total: Decimal,
    /// The same usage at commercial reference prices (lines that have one).
    #[schema(value_type = String)]
    pub commercial_total: Decimal,
    pub charges: i64,
    /// BLAKE3 of the statement's lines, as issued.
    pub content_hash: String,
    pub issued_by: Option<UserId>,
    pub issued_at: DateTime<Utc>,
}

/// One line of a statement: one IS, agreement, provider, service and price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatementLine {
    pub line_no: i64,
    pub information_system_id: Option<InformationSystemId>,
    /// The IS's code and name, or "(institution-wide)".
    pub information_system: String,
    pub agreement_id: Option<AgreementId>,
    pub provider_id: ProviderId,
    pub provider: String,
    pub service_category: String,
    pub service_name: String,
    pub offering_id: Option<OfferingId>,
    pub charge_category: String,
    pub charge_class: Option<String>,
    pub unit: Option<String>,
    #[schema(value_type = Option<String>)]
    pub quantity: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub unit_price: Option<Decimal>,
    pub price_list_version: Option<String>,
    /// Sum of the line's charges at full precision.
    #[schema(value_type = String)]
    pub exact_amount: Decimal,
    /// Rounded once to cents, half away from zero.
    #[schema(value_type = String)]
    pub amount: Decimal,
    #[schema(value_type = Option<String>)]
    pub commercial_amount: Option<Decimal>,
    pub commercial_ref: Option<String>,
    pub charges: i64,
}

impl StatementLine {
    /// Commercial amount minus ours: what using the state cloud saved.
    pub fn saving(&self) -> Option<Decimal> {
        self.commercial_amount.map(|c| c - self.amount)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Statement {
    #[serde(flatten)]
    pub summary: StatementSummary,
    pub lines: Vec<StatementLine>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueStatementInput {
    pub institution_id: InstitutionId,
    pub month: Month,
    /// Required when a version already exists: why it is re-issued.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A monthly budget for an institution or one of its systems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Budget {
    pub id: BudgetId,
    pub institution_id: InstitutionId,
    pub information_system_id: Option<InformationSystemId>,
    #[schema(value_type = String)]
    pub monthly_amount: Decimal,
    pub currency: String,
    /// Percentages of the budget that raise an alert, ascending.
    pub thresholds: Vec<i64>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetInput {
    pub institution_id: InstitutionId,
    #[serde(default)]
    pub information_system_id: Option<InformationSystemId>,
    #[schema(value_type = String)]
    pub monthly_amount: Decimal,
    #[serde(default = "default_thresholds")]
    pub thresholds: Vec<i64>,
}

fn default_thresholds() -> Vec<i64> {
    vec![50, 80, 100]
}

impl BudgetInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::new();
        if self.monthly_amount <= Decimal::ZERO || self.monthly_amount.scale() > 2 {
            v.push(FieldError::new(
                "monthly_amount",
                "out_of_range",
                "monthly_amount must be more than zero, in cents (at most 2 decimals)",
            ));
        }
        if self.thresholds.is_empty() || self.thresholds.len() > 10 {
            v.push(
                FieldError::new("thresholds", "out_of_range", "give 1 to 10 thresholds")
                    .with_param("max", 10),
            );
        }
        for (i, t) in self.thresholds.iter().enumerate() {
            v.range(&format!("thresholds[{i}]"), *t, 1, 1000);
            if i > 0 && self.thresholds[i - 1] >= *t {
                v.push(FieldError::new(
                    format!("thresholds[{i}]"),
                    "invalid",
                    "thresholds must be in ascending order without repeats",
                ));
            }
        }
        v.finish()
    }
}

/// A budget with this month's spending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BudgetStatus {
    #[serde(flatten)]
    pub budget: Budget,
    pub month: Month,
    #[schema(value_type = String)]
    pub spent: Decimal,
    /// Spent as a percentage of the budget, rounded down.
    pub used_pct: i64,
    /// Thresholds crossed this month.
    pub crossed: Vec<i64>,
}

/// Cost per month and group (IS, provider or service category) for charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CostPoint {
    pub month: Month,
    /// The group's key (IS code, provider short name, service category).
    pub group: String,
    #[schema(value_type = String)]
    pub cost: Decimal,
    #[schema(value_type = Option<String>)]
    pub commercial_cost: Option<Decimal>,
}

/// Usage quantity per month, billing unit and group (IS, provider or
/// service category), for charts of usage trends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UsagePoint {
    pub month: Month,
    /// The billing unit, in FOCUS spelling for Mākonis' own units
    /// (`Instance-Hours`, `GB-Months`) and as the provider's bill has it
    /// otherwise.
    pub unit: String,
    /// The group's key (IS code, provider short name, service category).
    pub group: String,
    /// Net quantity: corrections included, at full precision.
    #[schema(value_type = String)]
    pub quantity: Decimal,
}

/// Outcome of one run of usage collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CollectionReport {
    pub providers: i64,
    /// New charges booked.
    pub charged: i64,
    /// Records already booked by an earlier run (skipped).
    pub duplicates: i64,
    /// Records put on the unmapped list.
    pub unmapped: i64,
    /// Providers whose driver failed, with the reason.
    pub failures: Vec<String>,
}

/// A provider's charges in a month, split between its own institution's
/// use (internal) and other institutions' (shared), for the Broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProviderSplit {
    pub provider_id: ProviderId,
    pub provider: String,
    pub month: Month,
    #[schema(value_type = String)]
    pub internal: Decimal,
    #[schema(value_type = String)]
    pub shared: Decimal,
    /// Institutions charged at the provider that month.
    pub institutions: i64,
}

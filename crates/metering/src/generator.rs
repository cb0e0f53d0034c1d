//! A deterministic generator of realistic FOCUS 1.2 data.
//!
//! Used by the tests (import totals against an independent sum), by the
//! validator check and by the benchmark. Every file covers each
//! ChargeCategory (Usage, Purchase, Tax, Credit, Adjustment) and ChargeClass
//! (null and Correction), and imitates how providers' exports differ:
//!
//! | style | timestamps | nulls | column order, extras | other |
//! |---|---|---|---|---|
//! | [`ProviderStyle::Aws`] | `2026-01-01T00:00:00.000Z` | empty | spec order, `x_Discounts` | tag keys `user:` |
//! | [`ProviderStyle::Azure`] | `…T00:00:00+00:00`, billing period as a date | quoted `""` | alphabetical | UTF-8 BOM, spaced tag JSON |
//! | [`ProviderStyle::Gcp`] | `2026-01-01 00:00:00` | `null` in typed columns | reversed, `x_CreditType` | no ConsumedQuantity; E notation for small numbers |
//! | [`ProviderStyle::Oci`] | charge periods `2026-01-01T00:00Z` (no seconds), billing period `…T00:00:00.000Z` to `…T23:59:59.999Z` | empty | alphabetical, then ten `oci_*` columns | numeric billing account, OCIDs, tag keys `Namespace.Key`, no InvoiceId or BillingAccountType |
//!
//! The OCI style follows Oracle's FOCUS cost reports: their extension
//! columns (`oci_ReferenceNumber`, `oci_CompartmentId`, `oci_CompartmentName`,
//! `oci_OverageFlag`, `oci_UnitPriceOverage`, `oci_BilledQuantityOverage`,
//! `oci_CostOverage`, `oci_AttributedUsage`, `oci_AttributedCost`,
//! `oci_BackReferenceNumber`, without FOCUS's `x_` prefix), minute-precision
//! charge periods, a billing period that ends on the month's last
//! millisecond, and defined tags such as `Oracle-Tags.CreatedBy`. Oracle's
//! reports use FOCUS 1.0 names for some columns (Provider, Publisher,
//! InvoiceIssuer, Region, UsageQuantity); this generator writes FOCUS 1.2
//! names, so its files are what an OCI report in FOCUS 1.2 would be.
//!
//! The same seed and configuration always give the same bytes.

use std::io::{self, Write};

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;

use crate::focus::{
    ChargeCategory, ChargeClass, ChargeFrequency, FocusRecord, MANDATORY_COLUMNS, OPTIONAL_COLUMNS,
    PricingCategory, ServiceCategory, Tags,
};
use crate::parse::format_decimal;

/// Which provider's export habits to imitate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderStyle {
    Aws,
    Azure,
    Gcp,
    /// Oracle Cloud Infrastructure.
    Oci,
}

impl ProviderStyle {
    pub const ALL: [ProviderStyle; 4] = [
        ProviderStyle::Aws,
        ProviderStyle::Azure,
        ProviderStyle::Gcp,
        ProviderStyle::Oci,
    ];

    fn provider_name(self) -> &'static str {
        match self {
            ProviderStyle::Aws => "Amazon Web Services",
            ProviderStyle::Azure => "Microsoft",
            ProviderStyle::Gcp => "Google Cloud",
            ProviderStyle::Oci => "Oracle Cloud Infrastructure",
        }
    }
}

/// The `oci_*` extension columns of Oracle's FOCUS cost reports, in their
/// order, written after the FOCUS columns in OCI-style files.
pub const OCI_COLUMNS: [&str; 10] = [
    "oci_ReferenceNumber",
    "oci_CompartmentId",
    "oci_CompartmentName",
    "oci_OverageFlag",
    "oci_UnitPriceOverage",
    "oci_BilledQuantityOverage",
    "oci_CostOverage",
    "oci_AttributedUsage",
    "oci_AttributedCost",
    "oci_BackReferenceNumber",
];

/// What to generate.
#[derive(Clone, Debug)]
pub struct GeneratorConfig {
    pub seed: u64,
    pub rows: u64,
    /// Number of distinct billing accounts.
    pub billing_accounts: u32,
    /// The billing month (year, month).
    pub month: (i32, u32),
    pub style: ProviderStyle,
    pub currency: String,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            seed: 1,
            rows: 1000,
            billing_accounts: 5,
            month: (2026, 1),
            style: ProviderStyle::Aws,
            currency: "EUR".to_owned(),
        }
    }
}

/// SplitMix64: small, fast, deterministic; not for cryptography.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// A decimal in [0, max_units) with `scale` decimal places.
    fn decimal(&mut self, max_units: u64, scale: u32) -> Decimal {
        let factor = 10u64.pow(scale);
        let raw = self.below(max_units * factor);
        Decimal::from_i128_with_scale(i128::from(raw), scale)
    }
}

struct Service {
    category: ServiceCategory,
    name: &'static str,
    unit: &'static str,
    /// List unit price in minor units ×10⁻⁶ (so 12_500 = 0.0125).
    price_micros: i64,
    /// OCI's service name (upper case, as in its reports), the OCID kind
    /// of its resources and a part number in Oracle's `B#####` form.
    oci: (&'static str, &'static str, &'static str),
}

const SERVICES: [Service; 7] = [
    Service {
        category: ServiceCategory::Compute,
        name: "Virtual Machines",
        unit: "Hours",
        price_micros: 41_600,
        oci: ("COMPUTE", "instance", "B97384"),
    },
    Service {
        category: ServiceCategory::Storage,
        name: "Block Storage",
        unit: "GB-Hours",
        price_micros: 137,
        oci: ("BLOCK_STORAGE", "volume", "B91961"),
    },
    Service {
        category: ServiceCategory::Databases,
        name: "Managed PostgreSQL",
        unit: "Hours",
        price_micros: 182_000,
        oci: ("DATABASE", "postgresqldbsystem", "B99060"),
    },
    Service {
        category: ServiceCategory::Networking,
        name: "Data Transfer",
        unit: "GB",
        price_micros: 90_000,
        oci: ("NETWORK", "vnic", "B88327"),
    },
    Service {
        category: ServiceCategory::Security,
        name: "Key Management",
        unit: "10K Requests",
        price_micros: 30_000,
        oci: ("KEY_MANAGEMENT", "key", "B90328"),
    },
    Service {
        category: ServiceCategory::Analytics,
        name: "Log Analytics",
        unit: "GB",
        price_micros: 2_760_000,
        oci: ("LOGGING_ANALYTICS", "loganalyticsentity", "B95634"),
    },
    Service {
        category: ServiceCategory::AiAndMachineLearning,
        name: "GPU Instances",
        unit: "Hours",
        price_micros: 3_060_000,
        oci: ("DATA_SCIENCE", "datasciencenotebooksession", "B98415"),
    },
];

/// Yields generated records, one at a time (bounded memory for any count).
#[derive(Clone, Debug)]
pub struct FocusGenerator {
    rng: Rng,
    config: GeneratorConfig,
    emitted: u64,
    month_start: DateTime<Utc>,
    month_end: DateTime<Utc>,
    prev_month_start: DateTime<Utc>,
}

fn month_start(year: i32, month: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

fn next_month(year: i32, month: u32) -> (i32, u32) {
    if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    }
}

fn prev_month(year: i32, month: u32) -> (i32, u32) {
    if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    }
}

impl FocusGenerator {
    pub fn new(config: GeneratorConfig) -> Self {
        let (y, m) = config.month;
        let (ny, nm) = next_month(y, m);
        let (py, pm) = prev_month(y, m);
        FocusGenerator {
            rng: Rng(config.seed ^ 0x6D61_6B6F_6E69_7300),
            month_start: month_start(y, m),
            month_end: month_start(ny, nm),
            prev_month_start: month_start(py, pm),
            config,
            emitted: 0,
        }
    }

    fn record(&mut self, i: u64) -> (FocusRecord, RowExtras) {
        let style = self.config.style;
        let rng = &mut self.rng;
        let account = rng.below(u64::from(self.config.billing_accounts.max(1)));
        let service = &SERVICES[usize::try_from(rng.below(SERVICES.len() as u64)).unwrap_or(0)];
        // A fixed cycle guarantees every category and class in any file of
        // 16 rows or more; the rest of the values are random.
        let (category, correction) = match i % 16 {
            0..=9 => (ChargeCategory::Usage, false),
            10 => (ChargeCategory::Purchase, false),
            11 => (ChargeCategory::Tax, false),
            12 => (ChargeCategory::Credit, false),
            13 => (ChargeCategory::Adjustment, false),
            14 => (ChargeCategory::Usage, true),
            _ => (ChargeCategory::Credit, true),
        };
        let hours_in_month = (self.month_end - self.month_start).num_hours().max(1);
        let hour =
            i64::try_from(rng.below(u64::try_from(hours_in_month).unwrap_or(1))).unwrap_or(0);
        let list_price = Decimal::new(service.price_micros, 6);
        let contracted_price = list_price * Decimal::new(85, 2); // 15 % negotiated discount
        let billing_account_id = match style {
            // OCI's billing account is a number.
            ProviderStyle::Oci => (71_204_300 + account).to_string(),
            _ => format!("{}-{:04}", style_account_prefix(style), account),
        };
        // OCI's billing period ends on the month's last millisecond.
        let billing_period_end = match style {
            ProviderStyle::Oci => self.month_end - Duration::milliseconds(1),
            _ => self.month_end,
        };
        let (period_start, period_end) = match (category, correction) {
            (_, true) => {
                let h = hour % 24 * 7;
                let s = self.prev_month_start + Duration::hours(h);
                (s, s + Duration::hours(1))
            }
            (ChargeCategory::Usage, false) => {
                let s = self.month_start + Duration::hours(hour);
                (s, s + Duration::hours(1))
            }
            _ => (self.month_start, self.month_end),
        };
        let sub_account = rng.below(3);
        let system = rng.below(40);
        let region = i as usize % 3;
        let mut r = FocusRecord {
            billed_cost: Decimal::ZERO,
            billing_account_id: billing_account_id.clone(),
            billing_account_name: (account % 7 != 3)
                .then(|| format!("Iestāde Nr. {account} — “Valsts”")),
            billing_currency: self.config.currency.clone(),
            billing_period_start: self.month_start,
            billing_period_end,
            charge_category: category,
            charge_class: correction.then_some(ChargeClass::Correction),
            charge_description: None,
            charge_period_start: period_start,
            charge_period_end: period_end,
            contracted_cost: Decimal::ZERO,
            effective_cost: Decimal::ZERO,
            invoice_issuer_name: style.provider_name().to_owned(),
            list_cost: Decimal::ZERO,
            pricing_quantity: None,
            pricing_unit: None,
            provider_name: style.provider_name().to_owned(),
            publisher_name: style.provider_name().to_owned(),
            service_category: service.category,
            service_name: match style {
                ProviderStyle::Oci => service.oci.0,
                _ => service.name,
            }
            .to_owned(),
            billing_account_type: (style != ProviderStyle::Oci)
                .then(|| "Billing Account".to_owned()),
            charge_frequency: None,
            consumed_quantity: None,
            consumed_unit: None,
            contracted_unit_price: None,
            invoice_id: (style != ProviderStyle::Oci).then(|| {
                format!(
                    "INV-{}-{:02}-{account}",
                    self.config.month.0, self.config.month.1
                )
            }),
            list_unit_price: None,
            pricing_category: None,
            pricing_currency: None,
            region_id: Some(
                match style {
                    ProviderStyle::Oci => OCI_REGIONS[region].0,
                    _ => ["eu-north-1", "westeurope", "europe-north1"][region],
                }
                .to_owned(),
            ),
            region_name: Some(
                match style {
                    ProviderStyle::Oci => OCI_REGIONS[region].1,
                    _ => ["Stockholm", "West Europe", "Finland"][region],
                }
                .to_owned(),
            ),
            availability_zone: None,
            resource_id: None,
            resource_name: None,
            resource_type: None,
            service_subcategory: None,
            sku_id: None,
            sku_price_id: None,
            // OCI: the tenancy; its compartments (one per system) are in
            // the oci_Compartment* columns.
            sub_account_id: Some(match style {
                ProviderStyle::Oci => {
                    format!("ocid1.tenancy.oc1..aaaaaaaa{account:04}t{sub_account}")
                }
                _ => format!("sub-{account}-{sub_account}"),
            }),
            sub_account_name: Some(match style {
                ProviderStyle::Oci => format!("iestade{account}-{sub_account}"),
                _ => format!("IS {system}"),
            }),
            sub_account_type: None,
            tags: None,
        };
        match (category, correction) {
            (ChargeCategory::Usage, false)
            | (ChargeCategory::Purchase, false)
            | (ChargeCategory::Usage, true) => {
                let mut q = if category == ChargeCategory::Purchase {
                    Decimal::from(1 + rng.below(10))
                } else {
                    rng.decimal(500, 4) + Decimal::new(1, 4)
                };
                if correction {
                    q = -q;
                }
                r.pricing_quantity = Some(q);
                r.pricing_unit = Some(service.unit.to_owned());
                r.list_unit_price = Some(list_price);
                r.contracted_unit_price = Some(contracted_price);
                r.list_cost = q * list_price;
                r.contracted_cost = q * contracted_price;
                r.effective_cost = r.contracted_cost;
                r.billed_cost = r.contracted_cost;
                if style == ProviderStyle::Oci {
                    r.sku_id = Some(service.oci.2.to_owned());
                    r.sku_price_id = Some(format!("{}-{}", service.oci.2, service.price_micros));
                } else {
                    r.sku_id = Some(format!("SKU-{}", service.name.replace(' ', "")));
                    r.sku_price_id = Some(format!(
                        "SKU-{}-{}",
                        service.name.replace(' ', ""),
                        service.price_micros
                    ));
                }
                r.pricing_category = Some(PricingCategory::Standard);
                if category == ChargeCategory::Usage {
                    if style != ProviderStyle::Gcp {
                        r.consumed_quantity = Some(q);
                        r.consumed_unit = Some(service.unit.to_owned());
                    }
                    r.charge_frequency = Some(ChargeFrequency::UsageBased);
                    let resource = rng.below(50);
                    r.resource_id = Some(match style {
                        ProviderStyle::Oci => format!(
                            "ocid1.{}.oc1.{}.aaaaaaaa{account:04}r{resource:02}",
                            service.oci.1, OCI_REGIONS[region].0
                        ),
                        _ => format!("{}/res-{account}-{resource}", style_account_prefix(style)),
                    });
                    r.resource_name = Some(format!("vm-{}", rng.below(50)));
                    let t = tags(rng, style);
                    // OCI leaves Tags empty on untagged resources.
                    r.tags = (style != ProviderStyle::Oci || !t.is_empty()).then_some(t);
                    if style == ProviderStyle::Oci {
                        r.availability_zone = Some(format!(
                            "Uocm:{}-AD-{}",
                            OCI_REGIONS[region].0.to_uppercase(),
                            1 + resource % 3
                        ));
                    }
                } else {
                    r.charge_frequency = Some(if i % 32 == 10 {
                        ChargeFrequency::OneTime
                    } else {
                        ChargeFrequency::Recurring
                    });
                }
                r.charge_description = Some(format!(
                    "{} {} of {}",
                    format_decimal(&q),
                    service.unit,
                    service.name
                ));
            }
            (ChargeCategory::Tax, _) => {
                let amount = rng.decimal(200, 2);
                r.billed_cost = amount;
                r.list_cost = amount;
                r.contracted_cost = amount;
                r.effective_cost = amount;
                r.charge_frequency = Some(ChargeFrequency::Recurring);
                r.charge_description = Some("VAT 21 %".to_owned());
            }
            (ChargeCategory::Credit, _) => {
                let amount = -(rng.decimal(50, 2) + Decimal::new(1, 2));
                r.billed_cost = amount;
                r.list_cost = amount;
                r.contracted_cost = amount;
                r.effective_cost = amount;
                r.charge_frequency = Some(ChargeFrequency::OneTime);
                r.charge_description = Some(
                    if correction {
                        "Credit correction for last month"
                    } else {
                        "Promotional credit"
                    }
                    .to_owned(),
                );
            }
            _ => {
                // Adjustment: either sign.
                let amount = rng.decimal(40, 2) - Decimal::from(20);
                r.billed_cost = amount;
                r.list_cost = amount;
                r.contracted_cost = amount;
                r.effective_cost = amount;
                r.charge_frequency = Some(ChargeFrequency::OneTime);
                r.charge_description = (style != ProviderStyle::Gcp)
                    .then(|| "SLA adjustment, \"bronze\" tier".to_owned());
            }
        }
        let extras = RowExtras {
            index: i,
            month: self.config.month,
            account,
            compartment: system,
        };
        (r, extras)
    }
}

/// OCI regions near Latvia: identifier and name.
const OCI_REGIONS: [(&str, &str); 3] = [
    ("eu-stockholm-1", "Sweden Central (Stockholm)"),
    ("eu-frankfurt-1", "Germany Central (Frankfurt)"),
    ("eu-amsterdam-1", "Netherlands Northwest (Amsterdam)"),
];

/// What a generated row says beyond its FOCUS record: the `oci_*` columns
/// of OCI-style files are computed from it.
#[derive(Clone, Copy, Debug)]
struct RowExtras {
    /// The row's index within its part (0-based).
    index: u64,
    /// The part's billing month.
    month: (i32, u32),
    account: u64,
    /// The information system, which OCI would keep in a compartment.
    compartment: u64,
}

/// An OCI line reference number: billing month and line number, digits
/// only, unique within a file series.
fn oci_reference(month: (i32, u32), line: u64) -> String {
    format!("{:04}{:02}{line:08}", month.0, month.1)
}

/// Whether a row is part of OCI's overage (usage beyond the commitment):
/// one usage row in sixteen.
fn oci_overage(r: &FocusRecord, x: &RowExtras) -> bool {
    r.charge_category == ChargeCategory::Usage && r.charge_class.is_none() && x.index % 16 == 9
}

/// The value of an `oci_*` column for a row. Overage and attributed
/// amounts are parts of the row's own (they include nothing else), and
/// a correction refers back to a line of the month before.
fn oci_field(r: &FocusRecord, x: &RowExtras, col: &str) -> String {
    let usage = r.charge_category == ChargeCategory::Usage && r.charge_class.is_none();
    let overage = oci_overage(r, x);
    let if_overage = |v: Option<Decimal>| {
        v.filter(|_| overage)
            .map(|v| format_decimal(&v))
            .unwrap_or_default()
    };
    match col {
        "oci_ReferenceNumber" => oci_reference(x.month, x.index + 1),
        "oci_CompartmentId" => format!(
            "ocid1.compartment.oc1..aaaaaaaa{:04}c{:02}",
            x.account, x.compartment
        ),
        "oci_CompartmentName" => format!("IS-{}", x.compartment),
        "oci_OverageFlag" if usage => if overage { "Y" } else { "N" }.to_owned(),
        "oci_UnitPriceOverage" => if_overage(r.contracted_unit_price),
        "oci_BilledQuantityOverage" => if_overage(r.pricing_quantity),
        "oci_CostOverage" => if_overage(Some(r.billed_cost)),
        "oci_AttributedUsage" if usage => r
            .pricing_quantity
            .map(|q| format_decimal(&q))
            .unwrap_or_default(),
        "oci_AttributedCost" if usage => format_decimal(&r.billed_cost),
        "oci_BackReferenceNumber" if r.charge_class == Some(ChargeClass::Correction) => {
            oci_reference(prev_month(x.month.0, x.month.1), x.index / 2 + 1)
        }
        _ => String::new(),
    }
}

fn style_account_prefix(style: ProviderStyle) -> &'static str {
    match style {
        ProviderStyle::Aws => "1234567890",
        ProviderStyle::Azure => "ea-enrollment",
        ProviderStyle::Gcp => "billing-01A2B3",
        ProviderStyle::Oci => "ocid1.tenancy.oc1",
    }
}

fn tags(rng: &mut Rng, style: ProviderStyle) -> Tags {
    let mut t = Tags::new();
    let envs = ["prod", "test", "dev"];
    let env = envs[usize::try_from(rng.below(3)).unwrap_or(0)];
    match style {
        ProviderStyle::Aws => {
            t.insert("user:env".to_owned(), serde_json::Value::from(env));
            t.insert(
                "user:is".to_owned(),
                serde_json::Value::from(format!("IS-{}", rng.below(40))),
            );
            t.insert("aws:createdBy".to_owned(), serde_json::Value::from("root"));
        }
        ProviderStyle::Azure => {
            t.insert("Environment".to_owned(), serde_json::Value::from(env));
            t.insert(
                "CostCenter".to_owned(),
                serde_json::Value::from(rng.below(1000)),
            );
            t.insert("Backup".to_owned(), serde_json::Value::Bool(true));
        }
        ProviderStyle::Gcp => {
            if rng.below(4) != 0 {
                t.insert("env".to_owned(), serde_json::Value::from(env));
                t.insert("goog-k8s-cluster-name".to_owned(), serde_json::Value::Null);
            }
        }
        ProviderStyle::Oci => {
            // Defined tags are `Namespace.Key`; Oracle-Tags are the
            // defaults OCI sets on create, orcl-cloud a system tag;
            // freeform tags are plain keys. One resource in five is untagged.
            if rng.below(5) != 0 {
                let day = 1 + rng.below(28);
                t.insert(
                    "Oracle-Tags.CreatedBy".to_owned(),
                    serde_json::Value::from(format!(
                        "default/lietotajs{}@iestade.gov.lv",
                        rng.below(20)
                    )),
                );
                t.insert(
                    "Oracle-Tags.CreatedOn".to_owned(),
                    serde_json::Value::from(format!("2025-11-{day:02}T08:15:42.317Z")),
                );
                t.insert(
                    "Finance.Environment".to_owned(),
                    serde_json::Value::from(env),
                );
                if rng.below(3) == 0 {
                    t.insert(
                        "orcl-cloud.free-tier-retained".to_owned(),
                        serde_json::Value::from("true"),
                    );
                }
            }
        }
    }
    t
}

impl FocusGenerator {
    /// The next record with what its row says beyond FOCUS.
    fn next_row(&mut self) -> Option<(FocusRecord, RowExtras)> {
        if self.emitted >= self.config.rows {
            return None;
        }
        let i = self.emitted;
        self.emitted += 1;
        Some(self.record(i))
    }
}

impl Iterator for FocusGenerator {
    type Item = FocusRecord;
    fn next(&mut self) -> Option<FocusRecord> {
        self.next_row().map(|(r, _)| r)
    }
}

/// The columns a style's file has, in its order.
pub fn style_columns(style: ProviderStyle) -> Vec<&'static str> {
    let mut cols: Vec<&'static str> = MANDATORY_COLUMNS
        .iter()
        .chain(OPTIONAL_COLUMNS.iter())
        .copied()
        .collect();
    match style {
        ProviderStyle::Aws => cols.push("x_Discounts"),
        ProviderStyle::Azure => cols.sort_unstable(),
        ProviderStyle::Gcp => {
            cols.retain(|c| !matches!(*c, "ConsumedQuantity" | "ConsumedUnit"));
            cols.reverse();
            cols.insert(3, "x_CreditType");
        }
        ProviderStyle::Oci => {
            cols.retain(|c| !matches!(*c, "InvoiceId" | "BillingAccountType"));
            cols.sort_unstable();
            cols.extend(OCI_COLUMNS);
        }
    }
    cols
}

fn datetime(style: ProviderStyle, at: &DateTime<Utc>, period_bound: bool) -> String {
    match style {
        ProviderStyle::Aws => at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        ProviderStyle::Azure if period_bound => at.format("%Y-%m-%d").to_string(),
        ProviderStyle::Azure => at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
        ProviderStyle::Gcp => at.format("%Y-%m-%d %H:%M:%S").to_string(),
        ProviderStyle::Oci if period_bound => at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        ProviderStyle::Oci => at.format("%Y-%m-%dT%H:%MZ").to_string(),
    }
}

fn number(style: ProviderStyle, v: &Decimal) -> String {
    if style == ProviderStyle::Gcp && !v.is_zero() && v.abs() < Decimal::new(1, 2) {
        // E notation, as some exporters write small values: 0.0042 → 4.2E-3
        let mut mantissa = v.normalize();
        let mut exp = 0i32;
        while mantissa.abs() < Decimal::ONE {
            mantissa *= Decimal::TEN;
            exp -= 1;
        }
        return format!("{}E{exp}", format_decimal(&mantissa));
    }
    format_decimal(v)
}

fn null(style: ProviderStyle, typed: bool) -> String {
    match style {
        ProviderStyle::Gcp if typed => "null".to_owned(),
        _ => String::new(),
    }
}

fn field(r: &FocusRecord, x: &RowExtras, col: &str, style: ProviderStyle) -> String {
    let s = |v: &Option<String>| v.clone().unwrap_or_else(|| null(style, false));
    let d = |v: &Option<Decimal>| {
        v.as_ref()
            .map(|x| number(style, x))
            .unwrap_or_else(|| null(style, true))
    };
    match col {
        "BilledCost" => number(style, &r.billed_cost),
        "BillingAccountId" => r.billing_account_id.clone(),
        "BillingAccountName" => s(&r.billing_account_name),
        "BillingCurrency" => r.billing_currency.clone(),
        "BillingPeriodEnd" => datetime(style, &r.billing_period_end, true),
        "BillingPeriodStart" => datetime(style, &r.billing_period_start, true),
        "ChargeCategory" => r.charge_category.as_str().to_owned(),
        "ChargeClass" => r
            .charge_class
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
        "ChargeDescription" => s(&r.charge_description),
        "ChargePeriodEnd" => datetime(style, &r.charge_period_end, false),
        "ChargePeriodStart" => datetime(style, &r.charge_period_start, false),
        "ContractedCost" => number(style, &r.contracted_cost),
        "EffectiveCost" => number(style, &r.effective_cost),
        "InvoiceIssuerName" => r.invoice_issuer_name.clone(),
        "ListCost" => number(style, &r.list_cost),
        "PricingQuantity" => d(&r.pricing_quantity),
        "PricingUnit" => s(&r.pricing_unit),
        "ProviderName" => r.provider_name.clone(),
        "PublisherName" => r.publisher_name.clone(),
        "ServiceCategory" => r.service_category.as_str().to_owned(),
        "ServiceName" => r.service_name.clone(),
        "BillingAccountType" => s(&r.billing_account_type),
        "ChargeFrequency" => r
            .charge_frequency
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
        "ConsumedQuantity" => d(&r.consumed_quantity),
        "ConsumedUnit" => s(&r.consumed_unit),
        "ContractedUnitPrice" => d(&r.contracted_unit_price),
        "InvoiceId" => s(&r.invoice_id),
        "ListUnitPrice" => d(&r.list_unit_price),
        "PricingCategory" => r
            .pricing_category
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
        "PricingCurrency" => s(&r.pricing_currency),
        "RegionId" => s(&r.region_id),
        "RegionName" => s(&r.region_name),
        "AvailabilityZone" => s(&r.availability_zone),
        "ResourceId" => s(&r.resource_id),
        "ResourceName" => s(&r.resource_name),
        "ResourceType" => s(&r.resource_type),
        "ServiceSubcategory" => s(&r.service_subcategory),
        "SkuId" => s(&r.sku_id),
        "SkuPriceId" => s(&r.sku_price_id),
        "SubAccountId" => s(&r.sub_account_id),
        "SubAccountName" => s(&r.sub_account_name),
        "SubAccountType" => s(&r.sub_account_type),
        "Tags" => match &r.tags {
            Some(t) => {
                let json = serde_json::to_string(t).unwrap_or_default();
                if style == ProviderStyle::Azure {
                    json.replace("\":", "\": ").replace(",\"", ", \"")
                } else {
                    json
                }
            }
            None => null(style, true),
        },
        "x_Discounts" => "[]".to_owned(),
        c if c.starts_with("oci_") => oci_field(r, x, c),
        "x_CreditType" => {
            if r.charge_category == ChargeCategory::Credit {
                "PROMOTION".to_owned()
            } else {
                String::new()
            }
        }
        _ => String::new(),
    }
}

/// Writes a generated file in the configured style and calls `seen` with
/// every record written (the tests' independent computation starts there).
/// Returns the number of records.
pub fn write_csv<W: Write>(
    out: W,
    config: &GeneratorConfig,
    seen: impl FnMut(&FocusRecord),
) -> io::Result<u64> {
    write_csv_series(out, std::slice::from_ref(config), seen)
}

/// Writes several generated parts (e.g. one per billing month) into one
/// file under one header: the rows of `configs[0]`, then of `configs[1]`,
/// and so on. All parts must have the same style. Calls `seen` with every
/// record written and returns the number of records.
pub fn write_csv_series<W: Write>(
    out: W,
    configs: &[GeneratorConfig],
    mut seen: impl FnMut(&FocusRecord),
) -> io::Result<u64> {
    let Some(first) = configs.first() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "write_csv_series needs at least one configuration",
        ));
    };
    let style = first.style;
    if configs.iter().any(|c| c.style != style) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "all parts of one file must have the same provider style",
        ));
    }
    let mut out = io::BufWriter::with_capacity(256 * 1024, out);
    if style == ProviderStyle::Azure {
        out.write_all("\u{feff}".as_bytes())?;
    }
    let quote = if style == ProviderStyle::Azure {
        csv::QuoteStyle::Always
    } else {
        csv::QuoteStyle::Necessary
    };
    let mut w = csv::WriterBuilder::new()
        .quote_style(quote)
        .from_writer(out);
    let columns = style_columns(style);
    w.write_record(&columns)?;
    let mut fields: Vec<String> = Vec::with_capacity(columns.len());
    let mut n = 0;
    for config in configs {
        let mut generator = FocusGenerator::new(config.clone());
        while let Some((r, x)) = generator.next_row() {
            fields.clear();
            fields.extend(columns.iter().map(|c| field(&r, &x, c, style)));
            w.write_record(&fields)?;
            seen(&r);
            n += 1;
        }
    }
    w.flush()?;
    Ok(n)
}

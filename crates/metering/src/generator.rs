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
}

impl ProviderStyle {
    pub const ALL: [ProviderStyle; 3] =
        [ProviderStyle::Aws, ProviderStyle::Azure, ProviderStyle::Gcp];

    fn provider_name(self) -> &'static str {
        match self {
            ProviderStyle::Aws => "Amazon Web Services",
            ProviderStyle::Azure => "Microsoft",
            ProviderStyle::Gcp => "Google Cloud",
        }
    }
}

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
}

const SERVICES: [Service; 7] = [
    Service {
        category: ServiceCategory::Compute,
        name: "Virtual Machines",
        unit: "Hours",
        price_micros: 41_600,
    },
    Service {
        category: ServiceCategory::Storage,
        name: "Block Storage",
        unit: "GB-Hours",
        price_micros: 137,
    },
    Service {
        category: ServiceCategory::Databases,
        name: "Managed PostgreSQL",
        unit: "Hours",
        price_micros: 182_000,
    },
    Service {
        category: ServiceCategory::Networking,
        name: "Data Transfer",
        unit: "GB",
        price_micros: 90_000,
    },
    Service {
        category: ServiceCategory::Security,
        name: "Key Management",
        unit: "10K Requests",
        price_micros: 30_000,
    },
    Service {
        category: ServiceCategory::Analytics,
        name: "Log Analytics",
        unit: "GB",
        price_micros: 2_760_000,
    },
    Service {
        category: ServiceCategory::AiAndMachineLearning,
        name: "GPU Instances",
        unit: "Hours",
        price_micros: 3_060_000,
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

    fn record(&mut self, i: u64) -> FocusRecord {
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
        let billing_account_id = format!("{}-{:04}", style_account_prefix(style), account);
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
        let mut r = FocusRecord {
            billed_cost: Decimal::ZERO,
            billing_account_id: billing_account_id.clone(),
            billing_account_name: (account % 7 != 3)
                .then(|| format!("Iestāde Nr. {account} — “Valsts”")),
            billing_currency: self.config.currency.clone(),
            billing_period_start: self.month_start,
            billing_period_end: self.month_end,
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
            service_name: service.name.to_owned(),
            billing_account_type: Some("Billing Account".to_owned()),
            charge_frequency: None,
            consumed_quantity: None,
            consumed_unit: None,
            contracted_unit_price: None,
            invoice_id: Some(format!(
                "INV-{}-{:02}-{account}",
                self.config.month.0, self.config.month.1
            )),
            list_unit_price: None,
            pricing_category: None,
            pricing_currency: None,
            region_id: Some(
                ["eu-north-1", "westeurope", "europe-north1"][i as usize % 3].to_owned(),
            ),
            region_name: Some(["Stockholm", "West Europe", "Finland"][i as usize % 3].to_owned()),
            availability_zone: None,
            resource_id: None,
            resource_name: None,
            resource_type: None,
            service_subcategory: None,
            sku_id: None,
            sku_price_id: None,
            sub_account_id: Some(format!("sub-{account}-{}", rng.below(3))),
            sub_account_name: Some(format!("IS {}", rng.below(40))),
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
                r.sku_id = Some(format!("SKU-{}", service.name.replace(' ', "")));
                r.sku_price_id = Some(format!(
                    "SKU-{}-{}",
                    service.name.replace(' ', ""),
                    service.price_micros
                ));
                r.pricing_category = Some(PricingCategory::Standard);
                if category == ChargeCategory::Usage {
                    if style != ProviderStyle::Gcp {
                        r.consumed_quantity = Some(q);
                        r.consumed_unit = Some(service.unit.to_owned());
                    }
                    r.charge_frequency = Some(ChargeFrequency::UsageBased);
                    r.resource_id = Some(format!(
                        "{}/res-{account}-{}",
                        style_account_prefix(style),
                        rng.below(50)
                    ));
                    r.resource_name = Some(format!("vm-{}", rng.below(50)));
                    r.tags = Some(tags(rng, style));
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
        r
    }
}

fn style_account_prefix(style: ProviderStyle) -> &'static str {
    match style {
        ProviderStyle::Aws => "1234567890",
        ProviderStyle::Azure => "ea-enrollment",
        ProviderStyle::Gcp => "billing-01A2B3",
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
    }
    t
}

impl Iterator for FocusGenerator {
    type Item = FocusRecord;
    fn next(&mut self) -> Option<FocusRecord> {
        if self.emitted >= self.config.rows {
            return None;
        }
        let i = self.emitted;
        self.emitted += 1;
        Some(self.record(i))
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
    }
    cols
}

fn datetime(style: ProviderStyle, at: &DateTime<Utc>, period_bound: bool) -> String {
    match style {
        ProviderStyle::Aws => at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        ProviderStyle::Azure if period_bound => at.format("%Y-%m-%d").to_string(),
        ProviderStyle::Azure => at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
        ProviderStyle::Gcp => at.format("%Y-%m-%d %H:%M:%S").to_string(),
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

fn field(r: &FocusRecord, col: &str, style: ProviderStyle) -> String {
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
        for r in FocusGenerator::new(config.clone()) {
            fields.clear();
            fields.extend(columns.iter().map(|c| field(&r, c, style)));
            w.write_record(&fields)?;
            seen(&r);
            n += 1;
        }
    }
    w.flush()?;
    Ok(n)
}

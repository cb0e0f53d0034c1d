//! FOCUS 1.2 CSV writer for export.
//!
//! Writes the 21 mandatory columns and, by default, every optional column
//! this crate knows, in a fixed order, with FOCUS formats: date-times as
//! `YYYY-MM-DDTHH:mm:ssZ`, numbers without exponent, `+` or thousands
//! separators, nulls as empty fields, Tags as compact JSON. What it writes
//! reads back through [`crate::FocusReader`] to the same records.
//!
//! [`rated_to_focus`] turns Mākonis' own rated records into FOCUS rows for
//! the statement export.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::focus::{
    ChargeCategory, ChargeClass, ChargeFrequency, FocusRecord, MANDATORY_COLUMNS, OPTIONAL_COLUMNS,
    PricingCategory,
};
use crate::parse::{format_datetime, format_decimal};
use crate::rating::RatedRecord;

/// Writing failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("writing FOCUS CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing FOCUS CSV: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0} is not a FOCUS 1.2 column this writer knows")]
    UnknownColumn(String),
}

/// A decimal as written: always with a decimal point (`5840.0`, not
/// `5840`). Both are valid FOCUS numbers, but the FinOps Foundation's
/// validator infers a column's type from its values and rejects a
/// PricingQuantity column whose values all look like integers.
fn decimal_text(value: &Decimal) -> String {
    let text = format_decimal(value);
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

/// Streams FOCUS records to CSV.
pub struct FocusWriter<W: Write> {
    csv: csv::Writer<W>,
    columns: Vec<&'static str>,
    fields: Vec<String>,
}

impl<W: Write> std::fmt::Debug for FocusWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FocusWriter")
            .field("columns", &self.columns)
            .finish_non_exhaustive()
    }
}

impl<W: Write> FocusWriter<W> {
    /// A writer with every mandatory and optional column.
    pub fn new(out: W) -> Result<Self, WriteError> {
        Self::with_optional_columns(out, &OPTIONAL_COLUMNS)
    }

    /// A writer with the mandatory columns plus the named optional ones.
    pub fn with_optional_columns(out: W, optional: &[&str]) -> Result<Self, WriteError> {
        let mut columns: Vec<&'static str> = MANDATORY_COLUMNS.to_vec();
        for name in optional {
            let known = OPTIONAL_COLUMNS
                .iter()
                .find(|c| *c == name)
                .ok_or_else(|| WriteError::UnknownColumn((*name).to_owned()))?;
            if !columns.contains(known) {
                columns.push(known);
            }
        }
        let mut csv = csv::WriterBuilder::new().from_writer(out);
        csv.write_record(&columns)?;
        let fields = Vec::with_capacity(columns.len());
        Ok(FocusWriter {
            csv,
            columns,
            fields,
        })
    }

    /// Writes one record.
    pub fn write(&mut self, r: &FocusRecord) -> Result<(), WriteError> {
        fn s(v: &Option<String>) -> String {
            v.clone().unwrap_or_default()
        }
        fn d(v: &Option<Decimal>) -> String {
            v.as_ref().map(decimal_text).unwrap_or_default()
        }
        self.fields.clear();
        for &col in &self.columns {
            let value = match col {
                "BilledCost" => decimal_text(&r.billed_cost),
                "BillingAccountId" => r.billing_account_id.clone(),
                "BillingAccountName" => s(&r.billing_account_name),
                "BillingCurrency" => r.billing_currency.clone(),
                "BillingPeriodEnd" => format_datetime(&r.billing_period_end),
                "BillingPeriodStart" => format_datetime(&r.billing_period_start),
                "ChargeCategory" => r.charge_category.as_str().to_owned(),
                "ChargeClass" => r
                    .charge_class
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_default(),
                "ChargeDescription" => s(&r.charge_description),
                "ChargePeriodEnd" => format_datetime(&r.charge_period_end),
                "ChargePeriodStart" => format_datetime(&r.charge_period_start),
                "ContractedCost" => decimal_text(&r.contracted_cost),
                "EffectiveCost" => decimal_text(&r.effective_cost),
                "InvoiceIssuerName" => r.invoice_issuer_name.clone(),
                "ListCost" => decimal_text(&r.list_cost),
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
                    Some(t) => serde_json::to_string(t).map_err(|e| WriteError::Io(e.into()))?,
                    None => String::new(),
                },
                _ => String::new(),
            };
            self.fields.push(value);
        }
        self.csv.write_record(&self.fields)?;
        Ok(())
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(self) -> Result<W, WriteError> {
        self.csv
            .into_inner()
            .map_err(|e| WriteError::Io(e.into_error()))
    }
}

/// What a statement export needs beyond the rated records.
#[derive(Clone, Debug)]
pub struct ExportContext {
    /// The statement's billing period (a month, start inclusive, end exclusive).
    pub billing_period_start: DateTime<Utc>,
    pub billing_period_end: DateTime<Utc>,
    /// The broker: written as InvoiceIssuerName and ProviderName (it makes
    /// the federation's services available and invoices them); the
    /// federation member that runs the service is the PublisherName.
    pub invoice_issuer_name: String,
    /// Display names of billing accounts (institutions).
    pub account_names: BTreeMap<String, String>,
    /// Invoice id of the statement, if issued.
    pub invoice_id: Option<String>,
}

/// The optional columns [`rated_to_focus`] fills; pass them to
/// [`FocusWriter::with_optional_columns`] for a statement export.
pub const RATED_EXPORT_COLUMNS: [&str; 15] = [
    "ChargeFrequency",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedUnitPrice",
    "InvoiceId",
    "ListUnitPrice",
    "PricingCategory",
    "ResourceId",
    "ResourceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
];

/// A rated record as a FOCUS row. ProviderName and InvoiceIssuerName are the
/// broker, PublisherName the federation member that ran the service;
/// ServiceSubcategory is "Other (<ServiceCategory>)". Costs are exact (unrounded), so
/// PricingQuantity × ListUnitPrice = ListCost holds exactly. A correction
/// keeps ChargeClass "Correction" only when it corrects a period before this
/// billing period (as FOCUS requires); within the period it is a plain row.
pub fn rated_to_focus(r: &RatedRecord, ctx: &ExportContext) -> FocusRecord {
    let is_usage = r.charge_category == ChargeCategory::Usage;
    let correction = r.charge_class == Some(ChargeClass::Correction)
        && r.period_start < ctx.billing_period_start;
    let sku_id = match (&r.offering_id, &r.metric) {
        (Some(o), Some(m)) => Some(format!("{o}/{m}")),
        _ => None,
    };
    let sku_price_id = match (&sku_id, &r.price_list) {
        (Some(sku), Some((id, version))) => Some(format!("{sku}@{id}/v{version}")),
        _ => None,
    };
    FocusRecord {
        billed_cost: r.cost,
        billing_account_id: r.billing_account_id.clone(),
        billing_account_name: ctx.account_names.get(&r.billing_account_id).cloned(),
        billing_currency: r.currency.clone(),
        billing_period_start: ctx.billing_period_start,
        billing_period_end: ctx.billing_period_end,
        charge_category: r.charge_category,
        charge_class: correction.then_some(ChargeClass::Correction),
        charge_description: Some(r.description.clone()),
        charge_period_start: r.period_start,
        charge_period_end: r.period_end,
        contracted_cost: r.cost,
        effective_cost: r.cost,
        invoice_issuer_name: ctx.invoice_issuer_name.clone(),
        list_cost: r.cost,
        pricing_quantity: if is_usage { r.quantity } else { None },
        pricing_unit: if is_usage { r.unit.clone() } else { None },
        provider_name: ctx.invoice_issuer_name.clone(),
        publisher_name: r.provider.clone(),
        service_category: r.service_category,
        service_name: r.service_name.clone(),
        billing_account_type: None,
        charge_frequency: Some(if is_usage {
            ChargeFrequency::UsageBased
        } else {
            ChargeFrequency::OneTime
        }),
        consumed_quantity: if is_usage { r.quantity } else { None },
        consumed_unit: if is_usage { r.unit.clone() } else { None },
        contracted_unit_price: if is_usage { r.unit_price } else { None },
        invoice_id: ctx.invoice_id.clone(),
        list_unit_price: if is_usage { r.unit_price } else { None },
        pricing_category: is_usage.then_some(PricingCategory::Standard),
        pricing_currency: None,
        region_id: None,
        region_name: None,
        availability_zone: None,
        resource_id: r.resource_id.clone(),
        resource_name: r.resource_id.clone(),
        resource_type: None,
        service_subcategory: Some(format!("Other ({})", r.service_category)),
        sku_id: if is_usage { sku_id } else { None },
        sku_price_id: if is_usage { sku_price_id } else { None },
        sub_account_id: None,
        sub_account_name: None,
        sub_account_type: None,
        tags: None,
    }
}

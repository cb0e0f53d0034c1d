//! Streaming FOCUS 1.2 CSV reader with validation.
//!
//! [`FocusReader`] reads one record at a time from any [`std::io::Read`]
//! (memory stays bounded by the longest row, whatever the file size), checks
//! the header for the 21 mandatory columns, parses each row into a typed
//! [`FocusRecord`] and validates it. Every error names the line (1-based,
//! the header is line 1) and the column, says what was expected and quotes
//! what was found:
//!
//! ```text
//! line 1873, column BillingPeriodStart: expected an ISO 8601 date-time (e.g. 2026-01-01T00:00:00Z), got "01/02/2026"
//! ```
//!
//! Null handling: an empty field is null. In numeric, date-time and Tags
//! columns the literal `null`/`NULL` is also null. In string columns only
//! the empty field is null (a resource may well be called "null").
//!
//! The validation rules are listed in `docs/metering.md`; each one is a
//! FOCUS 1.2 requirement or a rule of ours named there.

use std::collections::HashMap;
use std::io::Read;

use chrono::{DateTime, Utc};
use csv::StringRecord;
use rust_decimal::Decimal;

use crate::focus::{
    ChargeCategory, ChargeClass, ChargeFrequency, FocusRecord, MANDATORY_COLUMNS, OPTIONAL_COLUMNS,
    PricingCategory, ServiceCategory, Tags,
};
use crate::parse::{
    EXPECTED_DATETIME, EXPECTED_DECIMAL, is_typed_null, parse_datetime, parse_decimal,
};

/// Longest excerpt of a bad value quoted in an error.
const MAX_GOT: usize = 80;

/// Everything that can go wrong reading (or importing) a FOCUS file.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A field does not hold what the spec (or a rule of ours) requires.
    #[error("line {line}, column {column}: expected {expected}, got {got:?}")]
    Invalid {
        line: u64,
        column: String,
        expected: String,
        got: String,
    },
    /// The header lacks a mandatory column.
    #[error(
        "line 1, column {column}: expected the mandatory FOCUS 1.2 column {column} in the header, but it is missing"
    )]
    MissingColumn { column: String },
    /// The header names a FOCUS column twice.
    #[error("line 1, column {column}: expected each column once in the header, got it twice")]
    DuplicateColumn { column: String },
    /// The file has no header at all.
    #[error("line 1: expected a header line with the FOCUS 1.2 columns, got an empty file")]
    Empty,
    /// The CSV itself is malformed (wrong number of fields, bad UTF-8, …).
    #[error("line {line}: {message}")]
    Csv { line: u64, message: String },
    /// Reading the input failed.
    #[error("reading the file: {0}")]
    Io(#[from] std::io::Error),
    /// The sink refused a record or the commit (e.g. a duplicate content hash).
    #[error("storing the records: {0}")]
    Sink(Box<dyn std::error::Error + Send + Sync>),
}

impl ImportError {
    /// The 1-based line the error is on, when it is about one line.
    pub fn line(&self) -> Option<u64> {
        match self {
            ImportError::Invalid { line, .. } | ImportError::Csv { line, .. } => Some(*line),
            ImportError::MissingColumn { .. }
            | ImportError::DuplicateColumn { .. }
            | ImportError::Empty => Some(1),
            ImportError::Io(_) | ImportError::Sink(_) => None,
        }
    }

    /// The column the error is about, when it is about one column.
    pub fn column(&self) -> Option<&str> {
        match self {
            ImportError::Invalid { column, .. }
            | ImportError::MissingColumn { column }
            | ImportError::DuplicateColumn { column } => Some(column),
            _ => None,
        }
    }

    fn invalid(line: u64, column: &str, expected: impl Into<String>, got: &str) -> Self {
        let got = if got.chars().count() > MAX_GOT {
            let cut: String = got.chars().take(MAX_GOT).collect();
            format!("{cut}…")
        } else {
            got.to_owned()
        };
        ImportError::Invalid {
            line,
            column: column.to_owned(),
            expected: expected.into(),
            got,
        }
    }
}

/// Options for reading a file.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// When set, every row's BillingCurrency must be this ISO 4217 code
    /// (e.g. "EUR" for the Latvian state's accounts).
    pub expected_currency: Option<String>,
}

/// Column positions resolved from the header.
#[derive(Clone, Debug)]
struct Columns {
    mandatory: [usize; MANDATORY_COLUMNS.len()],
    optional: [Option<usize>; OPTIONAL_COLUMNS.len()],
}

// Indexes into MANDATORY_COLUMNS.
const BILLED_COST: usize = 0;
const BILLING_ACCOUNT_ID: usize = 1;
const BILLING_ACCOUNT_NAME: usize = 2;
const BILLING_CURRENCY: usize = 3;
const BILLING_PERIOD_END: usize = 4;
const BILLING_PERIOD_START: usize = 5;
const CHARGE_CATEGORY: usize = 6;
const CHARGE_CLASS: usize = 7;
const CHARGE_DESCRIPTION: usize = 8;
const CHARGE_PERIOD_END: usize = 9;
const CHARGE_PERIOD_START: usize = 10;
const CONTRACTED_COST: usize = 11;
const EFFECTIVE_COST: usize = 12;
const INVOICE_ISSUER_NAME: usize = 13;
const LIST_COST: usize = 14;
const PRICING_QUANTITY: usize = 15;
const PRICING_UNIT: usize = 16;
const PROVIDER_NAME: usize = 17;
const PUBLISHER_NAME: usize = 18;
const SERVICE_CATEGORY: usize = 19;
const SERVICE_NAME: usize = 20;

// Indexes into OPTIONAL_COLUMNS.
const BILLING_ACCOUNT_TYPE: usize = 0;
const CHARGE_FREQUENCY: usize = 1;
const CONSUMED_QUANTITY: usize = 2;
const CONSUMED_UNIT: usize = 3;
const CONTRACTED_UNIT_PRICE: usize = 4;
const INVOICE_ID: usize = 5;
const LIST_UNIT_PRICE: usize = 6;
const PRICING_CATEGORY: usize = 7;
const PRICING_CURRENCY: usize = 8;
const REGION_ID: usize = 9;
const REGION_NAME: usize = 10;
const AVAILABILITY_ZONE: usize = 11;
const RESOURCE_ID: usize = 12;
const RESOURCE_NAME: usize = 13;
const RESOURCE_TYPE: usize = 14;
const SERVICE_SUBCATEGORY: usize = 15;
const SKU_ID: usize = 16;
const SKU_PRICE_ID: usize = 17;
const SUB_ACCOUNT_ID: usize = 18;
const SUB_ACCOUNT_NAME: usize = 19;
const SUB_ACCOUNT_TYPE: usize = 20;
const TAGS: usize = 21;

impl Columns {
    fn from_header(header: &StringRecord) -> Result<Self, ImportError> {
        if header.is_empty() || (header.len() == 1 && header.get(0).is_some_and(str::is_empty)) {
            return Err(ImportError::Empty);
        }
        let mut by_name: HashMap<&str, usize> = HashMap::with_capacity(header.len());
        for (i, name) in header.iter().enumerate() {
            let known = MANDATORY_COLUMNS.contains(&name) || OPTIONAL_COLUMNS.contains(&name);
            if by_name.insert(name, i).is_some() && known {
                return Err(ImportError::DuplicateColumn {
                    column: name.to_owned(),
                });
            }
        }
        let mut mandatory = [0; MANDATORY_COLUMNS.len()];
        for (slot, name) in mandatory.iter_mut().zip(MANDATORY_COLUMNS) {
            *slot = *by_name
                .get(name)
                .ok_or_else(|| ImportError::MissingColumn {
                    column: name.to_owned(),
                })?;
        }
        let mut optional = [None; OPTIONAL_COLUMNS.len()];
        for (slot, name) in optional.iter_mut().zip(OPTIONAL_COLUMNS) {
            *slot = by_name.get(name).copied();
        }
        Ok(Columns {
            mandatory,
            optional,
        })
    }
}

/// One row being parsed: field access with errors that carry line and column.
struct Row<'a> {
    record: &'a StringRecord,
    cols: &'a Columns,
    line: u64,
}

impl<'a> Row<'a> {
    fn m(&self, idx: usize) -> (&'static str, &'a str) {
        let name = MANDATORY_COLUMNS[idx];
        (
            name,
            self.record.get(self.cols.mandatory[idx]).unwrap_or(""),
        )
    }

    fn o(&self, idx: usize) -> Option<(&'static str, &'a str)> {
        let pos = self.cols.optional[idx]?;
        Some((OPTIONAL_COLUMNS[idx], self.record.get(pos).unwrap_or("")))
    }

    fn err(&self, column: &str, expected: impl Into<String>, got: &str) -> ImportError {
        ImportError::invalid(self.line, column, expected, got)
    }

    fn req_string(&self, idx: usize) -> Result<String, ImportError> {
        let (name, v) = self.m(idx);
        if v.is_empty() {
            return Err(self.err(name, "a value (the column must not be null)", v));
        }
        Ok(v.to_owned())
    }

    fn opt_string_m(&self, idx: usize) -> Option<String> {
        let (_, v) = self.m(idx);
        (!v.is_empty()).then(|| v.to_owned())
    }

    fn opt_string(&self, idx: usize) -> Option<String> {
        self.o(idx)
            .and_then(|(_, v)| (!v.is_empty()).then(|| v.to_owned()))
    }

    fn decimal(&self, name: &str, v: &str) -> Result<Option<Decimal>, ImportError> {
        if is_typed_null(v) {
            return Ok(None);
        }
        parse_decimal(v)
            .map(Some)
            .ok_or_else(|| self.err(name, EXPECTED_DECIMAL, v))
    }

    fn req_decimal(&self, idx: usize) -> Result<Decimal, ImportError> {
        let (name, v) = self.m(idx);
        self.decimal(name, v)?.ok_or_else(|| {
            self.err(
                name,
                format!("{EXPECTED_DECIMAL} (the column must not be null)"),
                v,
            )
        })
    }

    fn opt_decimal_m(&self, idx: usize) -> Result<Option<Decimal>, ImportError> {
        let (name, v) = self.m(idx);
        self.decimal(name, v)
    }

    fn opt_decimal(&self, idx: usize) -> Result<Option<Decimal>, ImportError> {
        match self.o(idx) {
            Some((name, v)) => self.decimal(name, v),
            None => Ok(None),
        }
    }

    fn req_datetime(&self, idx: usize) -> Result<DateTime<Utc>, ImportError> {
        let (name, v) = self.m(idx);
        if is_typed_null(v) {
            return Err(self.err(
                name,
                format!("{EXPECTED_DATETIME} (the column must not be null)"),
                v,
            ));
        }
        parse_datetime(v).ok_or_else(|| self.err(name, EXPECTED_DATETIME, v))
    }

    fn tags(&self) -> Result<Option<Tags>, ImportError> {
        let Some((name, v)) = self.o(TAGS) else {
            return Ok(None);
        };
        if is_typed_null(v) {
            return Ok(None);
        }
        const EXPECTED: &str = "a JSON object whose values are strings, numbers, booleans or null";
        let value: serde_json::Value =
            serde_json::from_str(v).map_err(|_| self.err(name, EXPECTED, v))?;
        let serde_json::Value::Object(map) = value else {
            return Err(self.err(name, EXPECTED, v));
        };
        let mut tags = Tags::new();
        for (k, val) in map {
            if val.is_object() || val.is_array() {
                return Err(self.err(name, EXPECTED, v));
            }
            tags.insert(k, val);
        }
        Ok(Some(tags))
    }
}

fn is_negative(d: Decimal) -> bool {
    d.is_sign_negative() && !d.is_zero()
}

fn is_currency_code(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// Reads FOCUS 1.2 records from CSV, one at a time.
pub struct FocusReader<R: Read> {
    csv: csv::Reader<R>,
    cols: Columns,
    record: StringRecord,
    options: ReadOptions,
    /// The file's billing currency and the line it was first seen on.
    currency: Option<(String, u64)>,
    done: bool,
}

impl<R: Read> std::fmt::Debug for FocusReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FocusReader")
            .field("currency", &self.currency)
            .finish_non_exhaustive()
    }
}

impl<R: Read> FocusReader<R> {
    /// Reads and checks the header. Fails when a mandatory column is missing.
    pub fn new(reader: R, options: ReadOptions) -> Result<Self, ImportError> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .buffer_capacity(256 * 1024)
            .from_reader(reader);
        let header = csv.headers().map_err(csv_error)?.clone();
        let cols = Columns::from_header(&header)?;
        Ok(FocusReader {
            csv,
            cols,
            record: StringRecord::new(),
            options,
            currency: None,
            done: false,
        })
    }

    /// The file's billing currency, once the first record has been read.
    pub fn billing_currency(&self) -> Option<&str> {
        self.currency.as_ref().map(|(c, _)| c.as_str())
    }

    /// True when the file has the given optional column.
    pub fn has_column(&self, name: &str) -> bool {
        OPTIONAL_COLUMNS
            .iter()
            .position(|c| *c == name)
            .is_some_and(|i| self.cols.optional[i].is_some())
            || MANDATORY_COLUMNS.contains(&name)
    }

    /// The next record with its line number, `None` at the end of the file.
    /// After a malformed-CSV or I/O error the reader stops; after a
    /// validation error it can go on with the next line.
    pub fn next_record(&mut self) -> Option<Result<(u64, FocusRecord), ImportError>> {
        if self.done {
            return None;
        }
        match self.csv.read_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                let line = self.record.position().map_or(0, csv::Position::line);
                Some(self.parse_current(line).map(|r| (line, r)))
            }
            Err(e) => {
                self.done = true;
                Some(Err(csv_error(e)))
            }
        }
    }

    fn parse_current(&mut self, line: u64) -> Result<FocusRecord, ImportError> {
        let row = Row {
            record: &self.record,
            cols: &self.cols,
            line,
        };
        let record = parse_row(&row)?;
        validate(&row, &record)?;
        // File-level currency rules.
        let (name, raw) = row.m(BILLING_CURRENCY);
        if let Some(expected) = &self.options.expected_currency
            && &record.billing_currency != expected
        {
            return Err(row.err(name, format!("the billing currency {expected}"), raw));
        }
        match &self.currency {
            None => self.currency = Some((record.billing_currency.clone(), line)),
            Some((c, first)) if c != &record.billing_currency => {
                return Err(row.err(
                    name,
                    format!("{c}, the billing currency of the whole file (from line {first}): one file, one currency"),
                    raw,
                ));
            }
            Some(_) => {}
        }
        Ok(record)
    }
}

impl<R: Read> Iterator for FocusReader<R> {
    type Item = Result<(u64, FocusRecord), ImportError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
    }
}

fn csv_error(e: csv::Error) -> ImportError {
    let line = e.position().map_or(0, csv::Position::line);
    match e.into_kind() {
        csv::ErrorKind::Io(io) => ImportError::Io(io),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => ImportError::Csv {
            line,
            message: format!("expected {expected_len} fields like the header, got {len}"),
        },
        csv::ErrorKind::Utf8 { err, .. } => ImportError::Csv {
            line,
            message: format!(
                "expected UTF-8 text, got invalid bytes in field {}",
                err.field() + 1
            ),
        },
        other => ImportError::Csv {
            line,
            message: format!("malformed CSV: {other:?}"),
        },
    }
}

fn parse_enum<T>(
    row: &Row<'_>,
    name: &str,
    v: &str,
    parse: fn(&str) -> Option<T>,
    expected: String,
) -> Result<T, ImportError> {
    parse(v).ok_or_else(|| row.err(name, expected, v))
}

fn parse_row(row: &Row<'_>) -> Result<FocusRecord, ImportError> {
    let (cc_name, cc) = row.m(CHARGE_CATEGORY);
    let charge_category = parse_enum(
        row,
        cc_name,
        cc,
        ChargeCategory::parse,
        ChargeCategory::expected(),
    )?;
    let (cl_name, cl) = row.m(CHARGE_CLASS);
    let charge_class = if cl.is_empty() {
        None
    } else {
        Some(parse_enum(
            row,
            cl_name,
            cl,
            ChargeClass::parse,
            "null (empty) or Correction".to_owned(),
        )?)
    };
    let (sc_name, sc) = row.m(SERVICE_CATEGORY);
    let service_category = parse_enum(
        row,
        sc_name,
        sc,
        ServiceCategory::parse,
        ServiceCategory::expected(),
    )?;
    let charge_frequency = match row.o(CHARGE_FREQUENCY) {
        Some((name, v)) if !v.is_empty() => Some(parse_enum(
            row,
            name,
            v,
            ChargeFrequency::parse,
            ChargeFrequency::expected(),
        )?),
        _ => None,
    };
    let pricing_category = match row.o(PRICING_CATEGORY) {
        Some((name, v)) if !v.is_empty() => Some(parse_enum(
            row,
            name,
            v,
            PricingCategory::parse,
            format!("null or {}", PricingCategory::expected()),
        )?),
        _ => None,
    };
    let (bc_name, bc) = row.m(BILLING_CURRENCY);
    let billing_currency = row.req_string(BILLING_CURRENCY)?;
    if !is_currency_code(&billing_currency) {
        return Err(row.err(
            bc_name,
            "an ISO 4217 currency code (three capital letters, e.g. EUR)",
            bc,
        ));
    }
    let pricing_currency = row.opt_string(PRICING_CURRENCY);
    if let (Some(pc), Some((name, raw))) = (&pricing_currency, row.o(PRICING_CURRENCY))
        && !is_currency_code(pc)
    {
        return Err(row.err(
            name,
            "an ISO 4217 currency code (three capital letters, e.g. EUR)",
            raw,
        ));
    }
    Ok(FocusRecord {
        billed_cost: row.req_decimal(BILLED_COST)?,
        billing_account_id: row.req_string(BILLING_ACCOUNT_ID)?,
        billing_account_name: row.opt_string_m(BILLING_ACCOUNT_NAME),
        billing_currency,
        billing_period_start: row.req_datetime(BILLING_PERIOD_START)?,
        billing_period_end: row.req_datetime(BILLING_PERIOD_END)?,
        charge_category,
        charge_class,
        charge_description: row.opt_string_m(CHARGE_DESCRIPTION),
        charge_period_start: row.req_datetime(CHARGE_PERIOD_START)?,
        charge_period_end: row.req_datetime(CHARGE_PERIOD_END)?,
        contracted_cost: row.req_decimal(CONTRACTED_COST)?,
        effective_cost: row.req_decimal(EFFECTIVE_COST)?,
        invoice_issuer_name: row.req_string(INVOICE_ISSUER_NAME)?,
        list_cost: row.req_decimal(LIST_COST)?,
        pricing_quantity: row.opt_decimal_m(PRICING_QUANTITY)?,
        pricing_unit: row.opt_string_m(PRICING_UNIT),
        provider_name: row.req_string(PROVIDER_NAME)?,
        publisher_name: row.req_string(PUBLISHER_NAME)?,
        service_category,
        service_name: row.req_string(SERVICE_NAME)?,
        billing_account_type: row.opt_string(BILLING_ACCOUNT_TYPE),
        charge_frequency,
        consumed_quantity: row.opt_decimal(CONSUMED_QUANTITY)?,
        consumed_unit: row.opt_string(CONSUMED_UNIT),
        contracted_unit_price: row.opt_decimal(CONTRACTED_UNIT_PRICE)?,
        invoice_id: row.opt_string(INVOICE_ID),
        list_unit_price: row.opt_decimal(LIST_UNIT_PRICE)?,
        pricing_category,
        pricing_currency,
        region_id: row.opt_string(REGION_ID),
        region_name: row.opt_string(REGION_NAME),
        availability_zone: row.opt_string(AVAILABILITY_ZONE),
        resource_id: row.opt_string(RESOURCE_ID),
        resource_name: row.opt_string(RESOURCE_NAME),
        resource_type: row.opt_string(RESOURCE_TYPE),
        service_subcategory: row.opt_string(SERVICE_SUBCATEGORY),
        sku_id: row.opt_string(SKU_ID),
        sku_price_id: row.opt_string(SKU_PRICE_ID),
        sub_account_id: row.opt_string(SUB_ACCOUNT_ID),
        sub_account_name: row.opt_string(SUB_ACCOUNT_NAME),
        sub_account_type: row.opt_string(SUB_ACCOUNT_TYPE),
        tags: row.tags()?,
    })
}

/// Cross-field rules of one row. See docs/metering.md for the list.
fn validate(row: &Row<'_>, r: &FocusRecord) -> Result<(), ImportError> {
    use ChargeCategory::{Purchase, Tax, Usage};
    let correction = r.is_correction();

    // Periods: start inclusive, end exclusive, so start < end.
    if r.billing_period_start >= r.billing_period_end {
        let (name, raw) = row.m(BILLING_PERIOD_END);
        let (_, start) = row.m(BILLING_PERIOD_START);
        return Err(row.err(
            name,
            format!("a date-time after BillingPeriodStart ({start})"),
            raw,
        ));
    }
    if r.charge_period_start >= r.charge_period_end {
        let (name, raw) = row.m(CHARGE_PERIOD_END);
        let (_, start) = row.m(CHARGE_PERIOD_START);
        return Err(row.err(
            name,
            format!("a date-time after ChargePeriodStart ({start})"),
            raw,
        ));
    }
    // ChargeClass "Correction" marks a correction to a *previously invoiced*
    // billing period, so its charge period starts before this billing period.
    if correction && r.charge_period_start >= r.billing_period_start {
        let (name, raw) = row.m(CHARGE_CLASS);
        return Err(row.err(
            name,
            "null: Correction is only for charges of a previously invoiced billing period (ChargePeriodStart before BillingPeriodStart)",
            raw,
        ));
    }

    // PricingQuantity nullability and sign.
    let (pq_name, pq_raw) = row.m(PRICING_QUANTITY);
    match (r.charge_category, r.pricing_quantity) {
        (Tax, Some(_)) => {
            return Err(row.err(pq_name, "null for a Tax charge", pq_raw));
        }
        (Usage | Purchase, None) if !correction => {
            return Err(row.err(
                pq_name,
                format!("a quantity for a {} charge that is not a correction (the column must not be null)", r.charge_category),
                pq_raw,
            ));
        }
        (Usage | Purchase, Some(q))
            if !correction && is_negative(q) && !is_negative(r.billed_cost) =>
        {
            return Err(row.err(
                pq_name,
                format!(
                    "a non-negative quantity for a {} charge that is not a correction (a negative quantity is a refund and needs a negative BilledCost)",
                    r.charge_category
                ),
                pq_raw,
            ));
        }
        _ => {}
    }
    let (pu_name, pu_raw) = row.m(PRICING_UNIT);
    match (&r.pricing_quantity, &r.pricing_unit) {
        (Some(_), None) => {
            return Err(row.err(
                pu_name,
                "a unit, because PricingQuantity is not null",
                pu_raw,
            ));
        }
        (None, Some(_)) => {
            return Err(row.err(pu_name, "null, because PricingQuantity is null", pu_raw));
        }
        _ => {}
    }

    // ConsumedQuantity (when the file has it).
    if let Some((cq_name, cq_raw)) = row.o(CONSUMED_QUANTITY) {
        if let Some(q) = r.consumed_quantity
            && r.charge_category == Usage
            && !correction
            && is_negative(q)
            && !is_negative(r.billed_cost)
        {
            return Err(row.err(
                cq_name,
                "a non-negative quantity for a Usage charge that is not a correction (a negative quantity is a refund and needs a negative BilledCost)",
                cq_raw,
            ));
        }
        if r.consumed_quantity.is_some() && r.consumed_unit.is_none() {
            let (name, raw) = row.o(CONSUMED_UNIT).unwrap_or(("ConsumedUnit", ""));
            return Err(row.err(name, "a unit, because ConsumedQuantity is not null", raw));
        }
    }

    // Unit prices are non-negative; null for Tax.
    for idx in [LIST_UNIT_PRICE, CONTRACTED_UNIT_PRICE] {
        let value = if idx == LIST_UNIT_PRICE {
            r.list_unit_price
        } else {
            r.contracted_unit_price
        };
        if let (Some(p), Some((name, raw))) = (value, row.o(idx)) {
            if r.charge_category == Tax {
                return Err(row.err(name, "null for a Tax charge", raw));
            }
            if p.is_sign_negative() && !p.is_zero() {
                return Err(row.err(name, "a non-negative unit price", raw));
            }
        }
    }

    if r.charge_category == Purchase
        && r.charge_frequency == Some(ChargeFrequency::UsageBased)
        && let Some((name, raw)) = row.o(CHARGE_FREQUENCY)
    {
        return Err(row.err(name, "One-Time or Recurring for a Purchase charge", raw));
    }
    Ok(())
}

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
use crate::parse::{EXPECTED_DATETIME, EXPECTED_DECIMAL, RowCache, is_typed_null, parse_decimal};

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

    #[cold]
    #[inline(never)]
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

/// A row check's error, boxed (see [`check_row`]).
pub(crate) type Bad = Box<ImportError>;

/// Options for reading a file.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// When set, every row's BillingCurrency must be this ISO 4217 code
    /// (e.g. "EUR" for the Latvian state's accounts).
    pub expected_currency: Option<String>,
}

/// Column positions resolved from the header.
#[derive(Clone, Debug)]
pub(crate) struct Columns {
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
    /// The BillingCurrency field of a record.
    pub(crate) fn billing_currency_of<'r>(&self, record: &'r StringRecord) -> Option<&'r str> {
        record.get(self.mandatory[BILLING_CURRENCY])
    }

    pub(crate) fn from_header(header: &StringRecord) -> Result<Self, ImportError> {
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

/// Field access for one CSV record: the sequential reader's
/// [`StringRecord`] or the parallel reader's borrowed field slices.
pub(crate) trait Fields {
    fn field(&self, i: usize) -> Option<&str>;
}

impl Fields for StringRecord {
    fn field(&self, i: usize) -> Option<&str> {
        self.get(i)
    }
}

/// One row being parsed: field access with errors that carry line and column.
pub(crate) struct Row<'a, F: Fields + ?Sized> {
    pub(crate) record: &'a F,
    pub(crate) cols: &'a Columns,
    pub(crate) line: u64,
}

impl<'a, F: Fields + ?Sized> Row<'a, F> {
    #[inline(always)]
    fn m(&self, idx: usize) -> (&'static str, &'a str) {
        let name = MANDATORY_COLUMNS[idx];
        (
            name,
            self.record.field(self.cols.mandatory[idx]).unwrap_or(""),
        )
    }

    #[inline(always)]
    fn o(&self, idx: usize) -> Option<(&'static str, &'a str)> {
        let pos = self.cols.optional[idx]?;
        Some((OPTIONAL_COLUMNS[idx], self.record.field(pos).unwrap_or("")))
    }

    /// [`Row::err`], boxed: the row checks return small `Result`s.
    #[cold]
    #[inline(never)]
    fn bad(&self, column: &str, expected: impl Into<String>, got: &str) -> Bad {
        Box::new(self.err(column, expected, got))
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn err(&self, column: &str, expected: impl Into<String>, got: &str) -> ImportError {
        ImportError::invalid(self.line, column, expected, got)
    }

    #[inline(always)]
    fn req_string(&self, idx: usize) -> Result<&'a str, Bad> {
        let (name, v) = self.m(idx);
        if v.is_empty() {
            return Err(self.bad(name, "a value (the column must not be null)", v));
        }
        Ok(v)
    }

    #[inline(always)]
    fn opt_string_m(&self, idx: usize) -> Option<&'a str> {
        let (_, v) = self.m(idx);
        (!v.is_empty()).then_some(v)
    }

    #[inline(always)]
    fn opt_string(&self, idx: usize) -> Option<&'a str> {
        self.o(idx).and_then(|(_, v)| (!v.is_empty()).then_some(v))
    }

    #[inline(always)]
    fn decimal(&self, name: &str, v: &str) -> Result<Option<Decimal>, Bad> {
        if is_typed_null(v) {
            return Ok(None);
        }
        parse_decimal(v)
            .map(Some)
            .ok_or_else(|| self.bad(name, EXPECTED_DECIMAL, v))
    }

    #[inline(always)]
    fn req_decimal(&self, idx: usize) -> Result<Decimal, Bad> {
        let (name, v) = self.m(idx);
        self.decimal(name, v)?.ok_or_else(|| {
            self.bad(
                name,
                format!("{EXPECTED_DECIMAL} (the column must not be null)"),
                v,
            )
        })
    }

    #[inline(always)]
    fn opt_decimal_m(&self, idx: usize) -> Result<Option<Decimal>, Bad> {
        let (name, v) = self.m(idx);
        self.decimal(name, v)
    }

    #[inline(always)]
    fn opt_decimal(&self, idx: usize) -> Result<Option<Decimal>, Bad> {
        match self.o(idx) {
            Some((name, v)) => self.decimal(name, v),
            None => Ok(None),
        }
    }

    #[inline]
    fn req_datetime(
        &self,
        idx: usize,
        dates: &mut RowCache,
        slot: usize,
    ) -> Result<DateTime<Utc>, Bad> {
        let (name, v) = self.m(idx);
        if is_typed_null(v) {
            return Err(self.bad(
                name,
                format!("{EXPECTED_DATETIME} (the column must not be null)"),
                v,
            ));
        }
        dates
            .dates
            .parse(slot, v)
            .ok_or_else(|| self.bad(name, EXPECTED_DATETIME, v))
    }

    /// Checks the Tags column (a JSON object of scalars) without building
    /// it; returns the raw JSON text.
    fn tags(&self, cache: &mut RowCache) -> Result<Option<&'a str>, Bad> {
        let Some((name, v)) = self.o(TAGS) else {
            return Ok(None);
        };
        if is_typed_null(v) {
            return Ok(None);
        }
        if !cache.tags.is_scalar_json_object(v) {
            return Err(self.bad(name, EXPECTED_TAGS, v));
        }
        Ok(Some(v))
    }
}

const EXPECTED_TAGS: &str = "a JSON object whose values are strings, numbers, booleans or null";

/// One validated row, borrowed from the CSV record it was read from: what
/// [`FocusRecord`] holds, without allocating. The parallel reader hands
/// these to its callers; [`FocusRow::to_record`] makes the owned record.
#[derive(Clone, Debug, PartialEq)]
pub struct FocusRow<'a> {
    /// The 1-based line the row starts on.
    pub line: u64,
    pub billed_cost: Decimal,
    pub billing_account_id: &'a str,
    pub billing_account_name: Option<&'a str>,
    pub billing_currency: &'a str,
    pub billing_period_start: DateTime<Utc>,
    pub billing_period_end: DateTime<Utc>,
    pub charge_category: ChargeCategory,
    pub charge_class: Option<ChargeClass>,
    pub charge_description: Option<&'a str>,
    pub charge_period_start: DateTime<Utc>,
    pub charge_period_end: DateTime<Utc>,
    pub contracted_cost: Decimal,
    pub effective_cost: Decimal,
    pub invoice_issuer_name: &'a str,
    pub list_cost: Decimal,
    pub pricing_quantity: Option<Decimal>,
    pub pricing_unit: Option<&'a str>,
    pub provider_name: &'a str,
    pub publisher_name: &'a str,
    pub service_category: ServiceCategory,
    pub service_name: &'a str,
    pub billing_account_type: Option<&'a str>,
    pub charge_frequency: Option<ChargeFrequency>,
    pub consumed_quantity: Option<Decimal>,
    pub consumed_unit: Option<&'a str>,
    pub contracted_unit_price: Option<Decimal>,
    pub invoice_id: Option<&'a str>,
    pub list_unit_price: Option<Decimal>,
    pub pricing_category: Option<PricingCategory>,
    pub pricing_currency: Option<&'a str>,
    pub region_id: Option<&'a str>,
    pub region_name: Option<&'a str>,
    pub availability_zone: Option<&'a str>,
    pub resource_id: Option<&'a str>,
    pub resource_name: Option<&'a str>,
    pub resource_type: Option<&'a str>,
    pub service_subcategory: Option<&'a str>,
    pub sku_id: Option<&'a str>,
    pub sku_price_id: Option<&'a str>,
    pub sub_account_id: Option<&'a str>,
    pub sub_account_name: Option<&'a str>,
    pub sub_account_type: Option<&'a str>,
    /// The Tags JSON text, checked to be an object of scalar values.
    pub tags: Option<&'a str>,
}

impl FocusRow<'_> {
    /// True when the row corrects a previously invoiced billing period.
    pub fn is_correction(&self) -> bool {
        self.charge_class == Some(ChargeClass::Correction)
    }

    /// The owned record.
    pub fn to_record(&self) -> FocusRecord {
        let own = |v: Option<&str>| v.map(str::to_owned);
        FocusRecord {
            billed_cost: self.billed_cost,
            billing_account_id: self.billing_account_id.to_owned(),
            billing_account_name: own(self.billing_account_name),
            billing_currency: self.billing_currency.to_owned(),
            billing_period_start: self.billing_period_start,
            billing_period_end: self.billing_period_end,
            charge_category: self.charge_category,
            charge_class: self.charge_class,
            charge_description: own(self.charge_description),
            charge_period_start: self.charge_period_start,
            charge_period_end: self.charge_period_end,
            contracted_cost: self.contracted_cost,
            effective_cost: self.effective_cost,
            invoice_issuer_name: self.invoice_issuer_name.to_owned(),
            list_cost: self.list_cost,
            pricing_quantity: self.pricing_quantity,
            pricing_unit: own(self.pricing_unit),
            provider_name: self.provider_name.to_owned(),
            publisher_name: self.publisher_name.to_owned(),
            service_category: self.service_category,
            service_name: self.service_name.to_owned(),
            billing_account_type: own(self.billing_account_type),
            charge_frequency: self.charge_frequency,
            consumed_quantity: self.consumed_quantity,
            consumed_unit: own(self.consumed_unit),
            contracted_unit_price: self.contracted_unit_price,
            invoice_id: own(self.invoice_id),
            list_unit_price: self.list_unit_price,
            pricing_category: self.pricing_category,
            pricing_currency: own(self.pricing_currency),
            region_id: own(self.region_id),
            region_name: own(self.region_name),
            availability_zone: own(self.availability_zone),
            resource_id: own(self.resource_id),
            resource_name: own(self.resource_name),
            resource_type: own(self.resource_type),
            service_subcategory: own(self.service_subcategory),
            sku_id: own(self.sku_id),
            sku_price_id: own(self.sku_price_id),
            sub_account_id: own(self.sub_account_id),
            sub_account_name: own(self.sub_account_name),
            sub_account_type: own(self.sub_account_type),
            // Checked by `is_scalar_json_object`, which accepts exactly what
            // this parse accepts.
            tags: self.tags.and_then(|t| serde_json::from_str::<Tags>(t).ok()),
        }
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
    dates: RowCache,
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
            dates: RowCache::default(),
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
        let view = check_row(
            &row,
            self.options.expected_currency.as_deref(),
            &mut self.dates,
        )
        .map_err(|e| *e)?;
        // File-level rule: one file, one currency.
        match &self.currency {
            None => self.currency = Some((view.billing_currency.to_owned(), line)),
            Some((c, first)) if c != view.billing_currency => {
                return Err(currency_mismatch(&row, c, *first));
            }
            Some(_) => {}
        }
        Ok(view.to_record())
    }
}

/// The error for a row whose BillingCurrency differs from the file's.
pub(crate) fn currency_mismatch<F: Fields + ?Sized>(
    row: &Row<'_, F>,
    file_currency: &str,
    first_line: u64,
) -> ImportError {
    let (name, raw) = row.m(BILLING_CURRENCY);
    row.err(
        name,
        format!("{file_currency}, the billing currency of the whole file (from line {first_line}): one file, one currency"),
        raw,
    )
}

/// Parses and validates one row: every per-row rule of docs/metering.md
/// (all but the file-level "one file, one currency", which needs the first
/// row). Shared by the sequential and the parallel reader.
///
/// The checks return boxed errors: moving a small `Result` per field (and
/// per row) is cheaper than moving a whole `ImportError`.
#[inline]
pub(crate) fn check_row<'a, F: Fields + ?Sized>(
    row: &Row<'a, F>,
    expected_currency: Option<&str>,
    cache: &mut RowCache,
) -> Result<FocusRow<'a>, Bad> {
    let view = parse_row(row, cache)?;
    validate(row, &view)?;
    if let Some(expected) = expected_currency
        && view.billing_currency != expected
    {
        let (name, raw) = row.m(BILLING_CURRENCY);
        return Err(row.bad(name, format!("the billing currency {expected}"), raw));
    }
    Ok(view)
}

impl<R: Read> Iterator for FocusReader<R> {
    type Item = Result<(u64, FocusRecord), ImportError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
    }
}

pub(crate) fn csv_error(e: csv::Error) -> ImportError {
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

fn parse_enum<T, F: Fields + ?Sized>(
    row: &Row<'_, F>,
    name: &str,
    v: &str,
    parse: fn(&str) -> Option<T>,
    expected: fn() -> String,
) -> Result<T, Bad> {
    // `expected` builds the message only on an error.
    parse(v).ok_or_else(|| row.bad(name, expected(), v))
}

fn parse_row<'a, F: Fields + ?Sized>(
    row: &Row<'a, F>,
    dates: &mut RowCache,
) -> Result<FocusRow<'a>, Bad> {
    let (cc_name, cc) = row.m(CHARGE_CATEGORY);
    let charge_category = parse_enum(
        row,
        cc_name,
        cc,
        ChargeCategory::parse,
        ChargeCategory::expected,
    )?;
    let (cl_name, cl) = row.m(CHARGE_CLASS);
    let charge_class = if cl.is_empty() {
        None
    } else {
        Some(parse_enum(row, cl_name, cl, ChargeClass::parse, || {
            "null (empty) or Correction".to_owned()
        })?)
    };
    let (sc_name, sc) = row.m(SERVICE_CATEGORY);
    let service_category = parse_enum(
        row,
        sc_name,
        sc,
        ServiceCategory::parse,
        ServiceCategory::expected,
    )?;
    let charge_frequency = match row.o(CHARGE_FREQUENCY) {
        Some((name, v)) if !v.is_empty() => Some(parse_enum(
            row,
            name,
            v,
            ChargeFrequency::parse,
            ChargeFrequency::expected,
        )?),
        _ => None,
    };
    let pricing_category = match row.o(PRICING_CATEGORY) {
        Some((name, v)) if !v.is_empty() => {
            Some(parse_enum(row, name, v, PricingCategory::parse, || {
                format!("null or {}", PricingCategory::expected())
            })?)
        }
        _ => None,
    };
    let (bc_name, bc) = row.m(BILLING_CURRENCY);
    let billing_currency = row.req_string(BILLING_CURRENCY)?;
    if !is_currency_code(billing_currency) {
        return Err(row.bad(
            bc_name,
            "an ISO 4217 currency code (three capital letters, e.g. EUR)",
            bc,
        ));
    }
    let pricing_currency = row.opt_string(PRICING_CURRENCY);
    if let (Some(pc), Some((name, raw))) = (&pricing_currency, row.o(PRICING_CURRENCY))
        && !is_currency_code(pc)
    {
        return Err(row.bad(
            name,
            "an ISO 4217 currency code (three capital letters, e.g. EUR)",
            raw,
        ));
    }
    Ok(FocusRow {
        line: row.line,
        billed_cost: row.req_decimal(BILLED_COST)?,
        billing_account_id: row.req_string(BILLING_ACCOUNT_ID)?,
        billing_account_name: row.opt_string_m(BILLING_ACCOUNT_NAME),
        billing_currency,
        billing_period_start: row.req_datetime(BILLING_PERIOD_START, dates, 0)?,
        billing_period_end: row.req_datetime(BILLING_PERIOD_END, dates, 1)?,
        charge_category,
        charge_class,
        charge_description: row.opt_string_m(CHARGE_DESCRIPTION),
        charge_period_start: row.req_datetime(CHARGE_PERIOD_START, dates, 2)?,
        charge_period_end: row.req_datetime(CHARGE_PERIOD_END, dates, 3)?,
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
        tags: row.tags(dates)?,
    })
}

/// Cross-field rules of one row. See docs/metering.md for the list.
fn validate<F: Fields + ?Sized>(row: &Row<'_, F>, r: &FocusRow<'_>) -> Result<(), Bad> {
    use ChargeCategory::{Purchase, Tax, Usage};
    let correction = r.is_correction();

    // Periods: start inclusive, end exclusive, so start < end.
    if r.billing_period_start >= r.billing_period_end {
        let (name, raw) = row.m(BILLING_PERIOD_END);
        let (_, start) = row.m(BILLING_PERIOD_START);
        return Err(row.bad(
            name,
            format!("a date-time after BillingPeriodStart ({start})"),
            raw,
        ));
    }
    if r.charge_period_start >= r.charge_period_end {
        let (name, raw) = row.m(CHARGE_PERIOD_END);
        let (_, start) = row.m(CHARGE_PERIOD_START);
        return Err(row.bad(
            name,
            format!("a date-time after ChargePeriodStart ({start})"),
            raw,
        ));
    }
    // ChargeClass "Correction" marks a correction to a *previously invoiced*
    // billing period, so its charge period starts before this billing period.
    if correction && r.charge_period_start >= r.billing_period_start {
        let (name, raw) = row.m(CHARGE_CLASS);
        return Err(row.bad(
            name,
            "null: Correction is only for charges of a previously invoiced billing period (ChargePeriodStart before BillingPeriodStart)",
            raw,
        ));
    }

    // PricingQuantity nullability and sign.
    let (pq_name, pq_raw) = row.m(PRICING_QUANTITY);
    match (r.charge_category, r.pricing_quantity) {
        (Tax, Some(_)) => {
            return Err(row.bad(pq_name, "null for a Tax charge", pq_raw));
        }
        (Usage | Purchase, None) if !correction => {
            return Err(row.bad(
                pq_name,
                format!("a quantity for a {} charge that is not a correction (the column must not be null)", r.charge_category),
                pq_raw,
            ));
        }
        (Usage | Purchase, Some(q))
            if !correction && is_negative(q) && !is_negative(r.billed_cost) =>
        {
            return Err(row.bad(
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
    match (r.pricing_quantity, r.pricing_unit) {
        (Some(_), None) => {
            return Err(row.bad(
                pu_name,
                "a unit, because PricingQuantity is not null",
                pu_raw,
            ));
        }
        (None, Some(_)) => {
            return Err(row.bad(pu_name, "null, because PricingQuantity is null", pu_raw));
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
            return Err(row.bad(
                cq_name,
                "a non-negative quantity for a Usage charge that is not a correction (a negative quantity is a refund and needs a negative BilledCost)",
                cq_raw,
            ));
        }
        if r.consumed_quantity.is_some() && r.consumed_unit.is_none() {
            let (name, raw) = row.o(CONSUMED_UNIT).unwrap_or(("ConsumedUnit", ""));
            return Err(row.bad(name, "a unit, because ConsumedQuantity is not null", raw));
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
                return Err(row.bad(name, "null for a Tax charge", raw));
            }
            if p.is_sign_negative() && !p.is_zero() {
                return Err(row.bad(name, "a non-negative unit price", raw));
            }
        }
    }

    if r.charge_category == Purchase
        && r.charge_frequency == Some(ChargeFrequency::UsageBased)
        && let Some((name, raw)) = row.o(CHARGE_FREQUENCY)
    {
        return Err(row.bad(name, "One-Time or Recurring for a Purchase charge", raw));
    }
    Ok(())
}

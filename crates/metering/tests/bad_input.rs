//! Every kind of bad input, each with the exact line and column the error
//! must name.

mod common;

use common::Table;
use makonis_metering::import::validate;
use makonis_metering::{ImportError, ReadOptions};

fn err_of(bytes: &[u8]) -> ImportError {
    err_with(bytes, &ReadOptions::default())
}

fn err_with(bytes: &[u8], options: &ReadOptions) -> ImportError {
    match validate(bytes, options) {
        Ok(s) => panic!("expected an error, got a summary of {} records", s.records),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_at(e: &ImportError, line: u64, column: &str) {
    assert_eq!(e.line(), Some(line), "{e}");
    assert_eq!(e.column(), Some(column), "{e}");
}

#[test]
fn the_valid_table_is_valid() {
    let s = validate(&Table::valid(10).to_csv()[..], &ReadOptions::default()).expect("valid");
    assert_eq!(s.records, 10);
}

#[test]
fn missing_mandatory_column() {
    let e = err_of(&Table::valid(3).drop_column("BillingPeriodStart").to_csv());
    assert_at(&e, 1, "BillingPeriodStart");
    assert_eq!(
        e.to_string(),
        "line 1, column BillingPeriodStart: expected the mandatory FOCUS 1.2 column BillingPeriodStart in the header, but it is missing"
    );
}

#[test]
fn every_mandatory_column_is_checked() {
    for col in makonis_metering::focus::MANDATORY_COLUMNS {
        let e = err_of(&Table::valid(1).drop_column(col).to_csv());
        assert_at(&e, 1, col);
    }
}

#[test]
fn optional_columns_may_be_missing() {
    let mut t = Table::valid(2);
    for col in makonis_metering::focus::OPTIONAL_COLUMNS {
        t.drop_column(col);
    }
    let s = validate(&t.to_csv()[..], &ReadOptions::default()).expect("valid");
    assert_eq!(s.records, 2);
}

#[test]
fn duplicate_column() {
    let mut t = Table::valid(1);
    t.header.push("ServiceName".into());
    let v = t.rows[0][0].clone();
    t.rows[0].push(v);
    assert_at(&err_of(&t.to_csv()), 1, "ServiceName");
}

#[test]
fn empty_file() {
    let e = err_of(b"");
    assert!(matches!(e, ImportError::Empty), "{e}");
    assert_eq!(e.line(), Some(1));
}

#[test]
fn wrong_date_format_far_down() {
    let mut t = Table::valid(1900);
    t.set(1873, "BillingPeriodStart", "01/02/2026");
    let e = err_of(&t.to_csv());
    assert_eq!(
        e.to_string(),
        "line 1873, column BillingPeriodStart: expected an ISO 8601 date-time (e.g. 2026-01-01T00:00:00Z), got \"01/02/2026\""
    );
}

#[test]
fn field_errors_name_line_and_column() {
    let cases: &[(&str, &str, &str)] = &[
        ("BilledCost", "1,000.00", "a decimal number"),
        ("BilledCost", "", "must not be null"),
        ("BilledCost", "€5", "a decimal number"),
        ("ListCost", "NaN", "a decimal number"),
        ("ServiceName", "", "must not be null"),
        ("BillingAccountId", "", "must not be null"),
        ("ProviderName", "", "must not be null"),
        (
            "ChargeCategory",
            "Refund",
            "one of Usage, Purchase, Tax, Credit, Adjustment",
        ),
        ("ChargeCategory", "usage", "one of Usage"),
        ("ChargeClass", "correction", "null (empty) or Correction"),
        (
            "ServiceCategory",
            "Compute Engine",
            "one of AI and Machine Learning",
        ),
        (
            "ChargePeriodStart",
            "2026-01-05T12:00:00Z",
            "a date-time after ChargePeriodStart",
        ),
        (
            "ChargePeriodEnd",
            "2026-01-05T09:00:00Z",
            "a date-time after ChargePeriodStart",
        ),
        (
            "BillingPeriodEnd",
            "2026-01-01T00:00:00Z",
            "a date-time after BillingPeriodStart",
        ),
        (
            "PricingQuantity",
            "-3",
            "a non-negative quantity for a Usage charge",
        ),
        ("PricingQuantity", "", "a quantity for a Usage charge"),
        (
            "PricingUnit",
            "",
            "a unit, because PricingQuantity is not null",
        ),
        ("ConsumedQuantity", "-1", "a non-negative quantity"),
        (
            "ConsumedUnit",
            "",
            "a unit, because ConsumedQuantity is not null",
        ),
        ("ListUnitPrice", "-0.01", "a non-negative unit price"),
        ("BillingCurrency", "eur", "an ISO 4217 currency code"),
        ("BillingCurrency", "EURO", "an ISO 4217 currency code"),
        ("Tags", "env=prod", "a JSON object"),
        ("Tags", "[\"a\"]", "a JSON object"),
        ("Tags", "{\"a\":{\"b\":1}}", "a JSON object"),
        (
            "ChargeFrequency",
            "Monthly",
            "one of One-Time, Recurring, Usage-Based",
        ),
        ("PricingCategory", "Spot", "null or one of Standard"),
    ];
    for (column, value, expected) in cases {
        let mut t = Table::valid(6);
        t.set(5, column, value);
        let e = err_of(&t.to_csv());
        // ChargePeriodStart moved after the end is reported on the end.
        let reported = if *column == "ChargePeriodStart" {
            "ChargePeriodEnd"
        } else {
            column
        };
        assert_at(&e, 5, reported);
        assert!(e.to_string().contains(expected), "{column}={value:?}: {e}");
    }
}

#[test]
fn negative_quantity_is_fine_on_a_correction() {
    let mut t = Table::valid(4);
    t.set(3, "ChargeClass", "Correction")
        .set(3, "ChargePeriodStart", "2025-12-05T10:00:00Z")
        .set(3, "ChargePeriodEnd", "2025-12-05T11:00:00Z")
        .set(3, "PricingQuantity", "-3")
        .set(3, "ConsumedQuantity", "-3")
        .set(3, "BilledCost", "-0.0375");
    let s = validate(&t.to_csv()[..], &ReadOptions::default()).expect("valid correction");
    assert_eq!(s.records, 4);
}

#[test]
fn a_refund_in_the_same_period_may_have_a_negative_quantity() {
    let mut t = Table::valid(3);
    t.set(3, "PricingQuantity", "-3")
        .set(3, "ConsumedQuantity", "-3")
        .set(3, "BilledCost", "-0.0375");
    validate(&t.to_csv()[..], &ReadOptions::default()).expect("refund");
    t.set(3, "BilledCost", "0.0375");
    let e = err_of(&t.to_csv());
    assert_at(&e, 3, "PricingQuantity");
}

#[test]
fn correction_must_be_for_an_earlier_billing_period() {
    let mut t = Table::valid(4);
    t.set(4, "ChargeClass", "Correction");
    let e = err_of(&t.to_csv());
    assert_at(&e, 4, "ChargeClass");
    assert!(
        e.to_string().contains("previously invoiced billing period"),
        "{e}"
    );
}

#[test]
fn tax_must_not_have_a_quantity_or_unit_price() {
    let mut t = Table::valid(3);
    t.set(2, "ChargeCategory", "Tax");
    assert_at(&err_of(&t.to_csv()), 2, "PricingQuantity");
    t.set(2, "PricingQuantity", "")
        .set(2, "PricingUnit", "")
        .set(2, "ConsumedQuantity", "")
        .set(2, "ConsumedUnit", "");
    assert_at(&err_of(&t.to_csv()), 2, "ListUnitPrice");
    t.set(2, "ListUnitPrice", "")
        .set(2, "ContractedUnitPrice", "");
    validate(&t.to_csv()[..], &ReadOptions::default()).expect("a clean tax row");
}

#[test]
fn purchase_is_not_usage_based() {
    let mut t = Table::valid(3);
    t.set(3, "ChargeCategory", "Purchase")
        .set(3, "ChargeFrequency", "Usage-Based");
    assert_at(&err_of(&t.to_csv()), 3, "ChargeFrequency");
}

#[test]
fn one_file_one_currency() {
    let mut t = Table::valid(5);
    t.set(4, "BillingCurrency", "USD");
    let e = err_of(&t.to_csv());
    assert_at(&e, 4, "BillingCurrency");
    assert_eq!(
        e.to_string(),
        "line 4, column BillingCurrency: expected EUR, the billing currency of the whole file (from line 2): one file, one currency, got \"USD\""
    );
}

#[test]
fn currency_other_than_the_expected_billing_currency() {
    let mut t = Table::valid(3);
    for line in 2..=4 {
        t.set(line, "BillingCurrency", "USD");
    }
    let options = ReadOptions {
        expected_currency: Some("EUR".into()),
    };
    let e = err_with(&t.to_csv(), &options);
    assert_at(&e, 2, "BillingCurrency");
    assert!(
        e.to_string().contains("expected the billing currency EUR"),
        "{e}"
    );
}

#[test]
fn pricing_currency_must_be_a_code() {
    let mut t = Table::valid(3);
    t.set(3, "PricingCurrency", "$");
    assert_at(&err_of(&t.to_csv()), 3, "PricingCurrency");
}

#[test]
fn wrong_number_of_fields() {
    let mut t = Table::valid(4);
    t.rows[2].pop();
    let e = err_of(&t.to_csv());
    assert_eq!(e.line(), Some(4), "{e}");
    assert!(e.to_string().contains("fields like the header"), "{e}");
}

#[test]
fn invalid_utf8() {
    let mut bytes = Table::valid(3).to_csv();
    let at = bytes
        .windows(16)
        .position(|w| w == b"Valsts kanceleja")
        .expect("name present");
    // The third occurrence is on line 4.
    let third = bytes
        .windows(16)
        .enumerate()
        .filter(|(_, w)| *w == b"Valsts kanceleja")
        .nth(2)
        .map(|(i, _)| i)
        .unwrap_or(at);
    bytes[third] = 0xff;
    let e = err_of(&bytes);
    assert_eq!(e.line(), Some(4), "{e}");
    assert!(e.to_string().contains("UTF-8"), "{e}");
}

#[test]
fn long_bad_values_are_cut_in_the_message() {
    let mut t = Table::valid(2);
    let long = "x".repeat(500);
    t.set(2, "ChargeCategory", &long);
    let msg = err_of(&t.to_csv()).to_string();
    assert!(msg.len() < 300, "{msg}");
    assert!(msg.ends_with("…\""), "{msg}");
}

#[test]
fn a_bom_and_typed_nulls_are_accepted() {
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    let mut t = Table::valid(3);
    t.set(2, "ListUnitPrice", "null").set(3, "Tags", "NULL");
    bytes.extend(t.to_csv());
    let s = validate(&bytes[..], &ReadOptions::default()).expect("valid");
    assert_eq!(s.records, 3);
}

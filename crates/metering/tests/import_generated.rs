//! Generated files of every provider style import completely, match the
//! generator's own records field by field, and their totals per billing
//! account and service category match an independent sum. A bad line
//! near the end leaves nothing written; the same file twice is refused.

use std::collections::HashMap;

use makonis_metering::generator::{GeneratorConfig, OCI_COLUMNS, ProviderStyle, write_csv};
use makonis_metering::import::{MemoryStore, import};
use makonis_metering::{
    ChargeCategory, ChargeClass, FocusRecord, ImportError, MonthlyTotals, ReadOptions, hash_reader,
};
use rust_decimal::Decimal;

fn generate(style: ProviderStyle, rows: u64, seed: u64) -> (Vec<u8>, Vec<FocusRecord>) {
    let config = GeneratorConfig {
        seed,
        rows,
        style,
        billing_accounts: 7,
        ..GeneratorConfig::default()
    };
    let mut records = Vec::new();
    let mut bytes = Vec::new();
    write_csv(&mut bytes, &config, |r| records.push(r.clone())).expect("generate");
    (bytes, records)
}

#[test]
fn every_style_imports_and_matches_an_independent_sum() {
    for style in ProviderStyle::ALL {
        let (bytes, generated) = generate(style, 2_000, 42);
        let mut store = MemoryStore::default();
        let summary = import(
            &bytes[..],
            store.begin(),
            &ReadOptions {
                expected_currency: Some("EUR".into()),
            },
        )
        .unwrap_or_else(|e| panic!("{style:?}: {e}"));
        assert_eq!(summary.records, 2_000);
        assert_eq!(store.records.len(), 2_000);
        // Field by field: what was read is what was generated.
        for (i, (got, want)) in store.records.iter().zip(&generated).enumerate() {
            assert_eq!(got, want, "{style:?} record {i}");
        }
        // Independent computation: a plain HashMap fold over the
        // generator's records, with string keys.
        let mut expected: HashMap<(String, String), Decimal> = HashMap::new();
        let mut total = Decimal::ZERO;
        for r in &generated {
            *expected
                .entry((
                    r.billing_account_id.clone(),
                    r.service_category.as_str().to_owned(),
                ))
                .or_default() += r.billed_cost;
            total += r.billed_cost;
        }
        assert_eq!(summary.billed_cost, total, "{style:?}");
        assert_eq!(
            summary.billed_by_account_category.len(),
            expected.len(),
            "{style:?}"
        );
        for ((account, category), sum) in &summary.billed_by_account_category {
            assert_eq!(
                Some(sum),
                expected.get(&(account.clone(), category.as_str().to_owned())),
                "{style:?} {account} {category}"
            );
        }
        // Monthly totals over the imported records add up to the same.
        let mut monthly = MonthlyTotals::new();
        for r in &store.records {
            monthly.add_focus(r);
        }
        assert_eq!(monthly.grand_total().cost, total);
        assert_eq!(monthly.grand_total().records, 2_000);
        // Coverage: every category and class appears, in the same numbers
        // in every style (2,000 rows are 125 cycles of 16).
        for (c, n) in [
            (ChargeCategory::Usage, 1_375),
            (ChargeCategory::Purchase, 125),
            (ChargeCategory::Tax, 125),
            (ChargeCategory::Credit, 250),
            (ChargeCategory::Adjustment, 125),
        ] {
            assert_eq!(
                store
                    .records
                    .iter()
                    .filter(|r| r.charge_category == c)
                    .count(),
                n,
                "{style:?} {c}"
            );
        }
        assert_eq!(ChargeCategory::ALL.len(), 5);
        assert_eq!(
            store
                .records
                .iter()
                .filter(|r| r.charge_class == Some(ChargeClass::Correction))
                .count(),
            250,
            "{style:?}"
        );
        assert_eq!(
            store
                .records
                .iter()
                .filter(|r| r.charge_class.is_none())
                .count(),
            1_750,
            "{style:?}"
        );
        assert_eq!(summary.content_hash, hash_reader(&bytes[..]).expect("hash"));
    }
}

#[test]
fn styles_really_differ() {
    let (aws, _) = generate(ProviderStyle::Aws, 50, 1);
    let (azure, _) = generate(ProviderStyle::Azure, 50, 1);
    let (gcp, _) = generate(ProviderStyle::Gcp, 50, 1);
    let (oci, _) = generate(ProviderStyle::Oci, 50, 1);
    let (aws, azure, gcp, oci) = (
        String::from_utf8_lossy(&aws),
        String::from_utf8_lossy(&azure),
        String::from_utf8_lossy(&gcp),
        String::from_utf8_lossy(&oci),
    );
    assert!(aws.contains(".000Z") && aws.contains("x_Discounts") && aws.contains("user:env"));
    assert!(azure.starts_with('\u{feff}') && azure.contains("+00:00\"") && azure.contains("\"\""));
    assert!(
        gcp.contains(",null,")
            && gcp.contains(" 00:00:00")
            && gcp.contains("E-")
            && !gcp.contains("ConsumedQuantity")
    );
    assert!(
        oci.starts_with("AvailabilityZone,BilledCost,")
            && oci.contains(",oci_ReferenceNumber,")
            && oci.contains("T00:00Z,")
            && oci.contains("T23:59:59.999Z,")
            && oci.contains("Oracle-Tags.CreatedBy")
            && oci.contains("ocid1.tenancy.oc1..")
            && !oci.contains("InvoiceId")
            && !oci.contains(",null,")
    );
    for other in [&aws, &azure, &gcp] {
        assert!(!other.contains("oci_") && !other.contains("Oracle-Tags"));
    }
}

/// The raw columns of a generated OCI-style file, by header name.
fn oci_table(
    rows: u64,
    seed: u64,
) -> (Vec<String>, Vec<HashMap<String, String>>, Vec<FocusRecord>) {
    let (bytes, generated) = generate(ProviderStyle::Oci, rows, seed);
    let mut reader = csv::Reader::from_reader(&bytes[..]);
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let table = reader
        .records()
        .map(|rec| {
            let rec = rec.expect("record");
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_owned))
                .collect()
        })
        .collect();
    (header, table, generated)
}

#[test]
fn oci_style_writes_oracles_extension_columns_and_habits() {
    let (header, table, generated) = oci_table(2_000, 42);
    assert_eq!(table.len(), 2_000);
    // FOCUS columns in alphabetical order, then Oracle's ten, in its order.
    assert_eq!(header.first().map(String::as_str), Some("AvailabilityZone"));
    assert_eq!(&header[header.len() - 10..], &OCI_COLUMNS);
    assert!(
        !header
            .iter()
            .any(|h| h == "InvoiceId" || h == "BillingAccountType")
    );
    let col = |row: &HashMap<String, String>, c: &str| row[c].clone();
    // Every category and the Correction class, as written in the file.
    let count = |c: &str, v: &str| table.iter().filter(|r| r[c] == v).count();
    assert_eq!(count("ChargeCategory", "Usage"), 1_375);
    assert_eq!(count("ChargeCategory", "Purchase"), 125);
    assert_eq!(count("ChargeCategory", "Tax"), 125);
    assert_eq!(count("ChargeCategory", "Credit"), 250);
    assert_eq!(count("ChargeCategory", "Adjustment"), 125);
    assert_eq!(count("ChargeClass", "Correction"), 250);
    assert_eq!(count("ChargeClass", ""), 1_750);
    // Timestamps: the billing period to the month's last millisecond,
    // charge periods to the minute.
    assert_eq!(
        count("BillingPeriodStart", "2026-01-01T00:00:00.000Z"),
        2_000
    );
    assert_eq!(count("BillingPeriodEnd", "2026-01-31T23:59:59.999Z"), 2_000);
    assert_eq!(col(&table[0], "ChargePeriodStart"), "2026-01-24T15:00Z");
    assert_eq!(col(&table[0], "ChargePeriodEnd"), "2026-01-24T16:00Z");
    for row in &table {
        for c in ["ChargePeriodStart", "ChargePeriodEnd"] {
            let v = &row[c];
            assert!(
                v.len() == 17 && v.ends_with('Z') && &v[10..11] == "T",
                "{c} {v}"
            );
        }
        assert!(row["BillingAccountId"].bytes().all(|b| b.is_ascii_digit()));
        assert!(row["SubAccountId"].starts_with("ocid1.tenancy.oc1.."));
        assert!(row["oci_CompartmentId"].starts_with("ocid1.compartment.oc1.."));
        assert!(row["oci_CompartmentName"].starts_with("IS-"));
    }
    // Line references: unique, month and line number.
    assert_eq!(col(&table[0], "oci_ReferenceNumber"), "20260100000001");
    assert_eq!(col(&table[1_999], "oci_ReferenceNumber"), "20260100002000");
    let refs: std::collections::HashSet<_> = table
        .iter()
        .map(|r| r["oci_ReferenceNumber"].clone())
        .collect();
    assert_eq!(refs.len(), 2_000);
    // A correction, and only a correction, refers back to December's line.
    for row in &table {
        let back = &row["oci_BackReferenceNumber"];
        if row["ChargeClass"] == "Correction" {
            assert!(back.starts_with("202512") && back.len() == 14, "{back}");
        } else {
            assert_eq!(back, "");
        }
    }
    assert_eq!(col(&table[14], "oci_BackReferenceNumber"), "20251200000008");
    // Overage: one usage row in 16, its amounts parts of the row's own;
    // attributed usage and cost on every usage row that is not a correction.
    let usage: Vec<usize> = (0..generated.len())
        .filter(|&i| {
            generated[i].charge_category == ChargeCategory::Usage
                && generated[i].charge_class.is_none()
        })
        .collect();
    assert_eq!(usage.len(), 1_250);
    assert_eq!(count("oci_OverageFlag", "Y"), 125);
    assert_eq!(count("oci_OverageFlag", "N"), 1_125);
    assert_eq!(count("oci_OverageFlag", ""), 750);
    let dec = |s: &str| -> Decimal { s.parse().unwrap_or_else(|_| panic!("decimal {s:?}")) };
    let mut overage_cost = Decimal::ZERO;
    let mut attributed = Decimal::ZERO;
    let mut attributed_usage = Decimal::ZERO;
    for (i, row) in table.iter().enumerate() {
        if row["oci_OverageFlag"] == "Y" {
            assert_eq!(i % 16, 9);
            assert_eq!(
                dec(&row["oci_BilledQuantityOverage"]),
                generated[i].pricing_quantity.expect("q")
            );
            assert_eq!(
                dec(&row["oci_UnitPriceOverage"]),
                generated[i].contracted_unit_price.expect("p")
            );
            overage_cost += dec(&row["oci_CostOverage"]);
        } else {
            assert_eq!(row["oci_CostOverage"], "");
        }
        if !row["oci_AttributedCost"].is_empty() {
            attributed += dec(&row["oci_AttributedCost"]);
            attributed_usage += dec(&row["oci_AttributedUsage"]);
        }
    }
    let want_overage: Decimal = usage
        .iter()
        .filter(|&&i| i % 16 == 9)
        .map(|&i| generated[i].billed_cost)
        .sum();
    assert_eq!(overage_cost, want_overage);
    assert!(overage_cost > Decimal::ZERO);
    assert_eq!(
        attributed,
        usage
            .iter()
            .map(|&i| generated[i].billed_cost)
            .sum::<Decimal>()
    );
    assert_eq!(
        attributed_usage,
        usage
            .iter()
            .map(|&i| generated[i].pricing_quantity.expect("q"))
            .sum::<Decimal>()
    );
    // Tags: OCI namespaces, and untagged resources with an empty field.
    let usage_rows = table.iter().filter(|r| r["ChargeCategory"] == "Usage");
    let (tagged, untagged): (Vec<_>, Vec<_>) = usage_rows.partition(|r| !r["Tags"].is_empty());
    assert_eq!(
        untagged.len(),
        generated
            .iter()
            .filter(|r| r.charge_category == ChargeCategory::Usage && r.tags.is_none())
            .count()
    );
    assert!(!untagged.is_empty());
    assert!(
        tagged
            .iter()
            .all(|r| r["Tags"].contains("\"Oracle-Tags.CreatedBy\":\"default/"))
    );
    assert!(
        tagged
            .iter()
            .any(|r| r["Tags"].contains("\"orcl-cloud.free-tier-retained\":\"true\""))
    );
}

#[test]
fn generation_is_deterministic_by_seed() {
    assert_eq!(
        generate(ProviderStyle::Aws, 300, 7).0,
        generate(ProviderStyle::Aws, 300, 7).0
    );
    assert_ne!(
        generate(ProviderStyle::Aws, 300, 7).0,
        generate(ProviderStyle::Aws, 300, 8).0
    );
}

#[test]
fn a_bad_line_near_the_end_leaves_nothing_written() {
    let (mut bytes, _) = generate(ProviderStyle::Aws, 5_000, 3);
    // Break the last line's BillingCurrency (rows are single lines here).
    let text = String::from_utf8(bytes.clone()).expect("utf8");
    let last_start = text.trim_end().rfind('\n').expect("lines") + 1;
    let last = &text[last_start..];
    let broken = last.replacen(",EUR,", ",USD,", 1);
    assert_ne!(broken, last);
    bytes.truncate(last_start);
    bytes.extend(broken.as_bytes());

    let mut store = MemoryStore::default();
    let e = import(&bytes[..], store.begin(), &ReadOptions::default()).expect_err("must fail");
    assert_eq!(e.line(), Some(5_001), "{e}");
    assert_eq!(e.column(), Some("BillingCurrency"), "{e}");
    assert!(store.records.is_empty());
    assert!(store.hashes.is_empty());
}

#[test]
fn the_same_file_twice_is_refused() {
    let (bytes, _) = generate(ProviderStyle::Azure, 500, 9);
    let mut store = MemoryStore::default();
    let first = import(&bytes[..], store.begin(), &ReadOptions::default()).expect("first import");
    let e = import(&bytes[..], store.begin(), &ReadOptions::default()).expect_err("second import");
    assert!(matches!(e, ImportError::Sink(_)), "{e}");
    assert!(e.to_string().contains("imported before"), "{e}");
    assert!(e.to_string().contains(&first.content_hash.to_hex()), "{e}");
    assert_eq!(store.records.len(), 500);
    // A different file (one byte more) is a different hash and imports.
    let mut other = bytes.clone();
    other.extend(b"\n");
    import(&other[..], store.begin(), &ReadOptions::default()).expect("another file");
    assert_eq!(store.records.len(), 1_000);
}

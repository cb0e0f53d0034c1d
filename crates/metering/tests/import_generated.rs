//! Generated files of every provider style import completely, match the
//! generator's own records field by field, and their totals per billing
//! account and service category match an independent sum. A bad line
//! near the end leaves nothing written; the same file twice is refused.

use std::collections::HashMap;

use makonis_metering::generator::{GeneratorConfig, ProviderStyle, write_csv};
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
        // Coverage: every category and class appears.
        for c in ChargeCategory::ALL {
            assert!(
                generated.iter().any(|r| r.charge_category == *c),
                "{style:?} lacks {c}"
            );
        }
        assert!(
            generated
                .iter()
                .any(|r| r.charge_class == Some(ChargeClass::Correction))
        );
        assert!(generated.iter().any(|r| r.charge_class.is_none()));
        assert_eq!(summary.content_hash, hash_reader(&bytes[..]).expect("hash"));
    }
}

#[test]
fn styles_really_differ() {
    let (aws, _) = generate(ProviderStyle::Aws, 50, 1);
    let (azure, _) = generate(ProviderStyle::Azure, 50, 1);
    let (gcp, _) = generate(ProviderStyle::Gcp, 50, 1);
    let (aws, azure, gcp) = (
        String::from_utf8_lossy(&aws),
        String::from_utf8_lossy(&azure),
        String::from_utf8_lossy(&gcp),
    );
    assert!(aws.contains(".000Z") && aws.contains("x_Discounts") && aws.contains("user:env"));
    assert!(azure.starts_with('\u{feff}') && azure.contains("+00:00\"") && azure.contains("\"\""));
    assert!(
        gcp.contains(",null,")
            && gcp.contains(" 00:00:00")
            && gcp.contains("E-")
            && !gcp.contains("ConsumedQuantity")
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

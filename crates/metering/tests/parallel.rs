//! The parallel reader against the sequential one: the same summary on
//! valid files, the same first error (line, column, message) on bad ones,
//! whatever the block size.

mod common;

use common::Table;
use makonis_metering::ReadOptions;
use makonis_metering::generator::{GeneratorConfig, ProviderStyle, write_csv};
use makonis_metering::import::{validate_sequential, validate_with};
use makonis_metering::parallel::ParallelOptions;

fn par(block_size: usize, threads: usize) -> ParallelOptions {
    ParallelOptions {
        threads,
        block_size,
        hash: true,
    }
}

#[track_caller]
fn same(bytes: &[u8], options: &ReadOptions) {
    let want = validate_sequential(bytes, options).map_err(|e| e.to_string());
    for (block, threads) in [(64, 2), (100, 3), (700, 2), (4096, 1), (1 << 20, 2)] {
        let got = validate_with(bytes, options, &par(block, threads)).map_err(|e| e.to_string());
        assert_eq!(got, want, "block {block}, threads {threads}");
    }
}

#[test]
fn generated_files_of_every_style() {
    for style in ProviderStyle::ALL {
        let config = GeneratorConfig {
            rows: 700,
            style,
            billing_accounts: 7,
            ..GeneratorConfig::default()
        };
        let mut bytes = Vec::new();
        write_csv(&mut bytes, &config, |_| {}).expect("generate");
        same(&bytes, &ReadOptions::default());
        let eur = ReadOptions {
            expected_currency: Some("EUR".into()),
        };
        same(&bytes, &eur);
        let usd = ReadOptions {
            expected_currency: Some("USD".into()),
        };
        same(&bytes, &usd);
    }
}

#[test]
fn bad_fields_anywhere() {
    let cases: &[(&str, &str)] = &[
        ("BilledCost", "1,000.00"),
        ("ChargeCategory", "Refund"),
        ("BillingCurrency", "USD"),
        ("BillingCurrency", "eur"),
        ("Tags", "{\"a\":[1]}"),
        ("PricingQuantity", "-3"),
        ("ChargePeriodEnd", "2026-01-05T09:00:00Z"),
        (
            "ChargeDescription",
            "a \"quoted\",\nmulti-line\r\ndescription",
        ),
        ("BillingAccountName", "\"leading quote"),
    ];
    for (column, value) in cases {
        for line in [2, 3, 17, 40, 41] {
            let mut t = Table::valid(40);
            t.set(line, column, value);
            same(&t.to_csv(), &ReadOptions::default());
        }
    }
    // Two errors: the first in the file wins.
    let mut t = Table::valid(60);
    t.set(50, "BilledCost", "x").set(30, "ServiceName", "");
    same(&t.to_csv(), &ReadOptions::default());
    let mut t = Table::valid(60);
    t.set(2, "BillingCurrency", "USD");
    same(&t.to_csv(), &ReadOptions::default());
}

#[test]
fn odd_csv() {
    let valid = Table::valid(30).to_csv();
    let text = String::from_utf8(valid.clone()).expect("utf8");
    // CRLF line ends.
    same(
        text.replace('\n', "\r\n").as_bytes(),
        &ReadOptions::default(),
    );
    // Blank lines.
    let blank = text.replacen('\n', "\n\n", 5);
    same(blank.as_bytes(), &ReadOptions::default());
    // No final line break.
    same(text.trim_end().as_bytes(), &ReadOptions::default());
    // A stray quote inside an unquoted field (csv reads it as a literal),
    // which throws off quote counting: the reader must still agree.
    let stray = text.replacen("Valsts kanceleja", "Valsts \"kanceleja", 3);
    same(stray.as_bytes(), &ReadOptions::default());
    let stray_end = text.replace("Valsts kanceleja", "Valsts kanc\"eleja");
    same(stray_end.as_bytes(), &ReadOptions::default());
    // Invalid UTF-8 and wrong field counts at many places.
    for i in [3usize, 10, 29] {
        let mut t = Table::valid(30);
        t.rows[i].pop();
        same(&t.to_csv(), &ReadOptions::default());
    }
    let mut bytes = valid.clone();
    let at = bytes.len() - 40;
    bytes[at] = 0xff;
    same(&bytes, &ReadOptions::default());
    // Header only, empty, BOM.
    let header_only = text.lines().next().expect("header").to_owned();
    same(header_only.as_bytes(), &ReadOptions::default());
    same(b"", &ReadOptions::default());
    let mut bom = "\u{feff}".as_bytes().to_vec();
    bom.extend_from_slice(&valid);
    same(&bom, &ReadOptions::default());
}

//! Writes sample FOCUS 1.2 files: the validator check and the benchmark use
//! them.
//!
//! ```text
//! cargo run -p makonis-metering --example focus_sample -- export OUT.csv
//! cargo run -p makonis-metering --example focus_sample -- generate aws|azure|gcp|oci ROWS OUT.csv [SEED]
//! cargo run --release -p makonis-metering --example focus_sample -- check FILE.csv
//! ```
//!
//! `check` validates a file the way an import does and prints the record
//! count, totals, content hash and time taken.
//!
//! `export` writes a statement export of rated records (what Mākonis
//! itself publishes); `generate` writes provider-style test data.

use std::collections::BTreeMap;
use std::fs::File;
use std::process::ExitCode;

use chrono::{DateTime, Duration, Utc};
use makonis_metering::generator::{GeneratorConfig, ProviderStyle, write_csv};
use makonis_metering::rating::{Credit, PriceBook, PriceList, UsageKind, UsageRecord, rate};
use makonis_metering::writer::{ExportContext, RATED_EXPORT_COLUMNS};
use makonis_metering::{FocusWriter, ServiceCategory, rated_to_focus};
use rust_decimal::Decimal;

fn at(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| e.to_string())
}

fn export(path: &str) -> Result<(), String> {
    let dec = |s: &str| s.parse::<Decimal>().map_err(|e| e.to_string());
    let book = PriceBook::new([
        PriceList {
            id: "PL-VM".into(),
            offering_id: "vm-standard".into(),
            version: "1".into(),
            valid_from: at("2025-01-01T00:00:00Z")?,
            valid_until: Some(at("2026-01-15T00:00:00Z")?),
            currency: "EUR".into(),
            units: BTreeMap::from([
                ("vcpu-hours".into(), "vCPU-Hours".into()),
                ("gib-hours".into(), "GiB-Hours".into()),
            ]),
            unit_prices: BTreeMap::from([
                ("vcpu-hours".into(), dec("0.0125")?),
                ("gib-hours".into(), dec("0.00137")?),
            ]),
        },
        PriceList {
            id: "PL-VM".into(),
            offering_id: "vm-standard".into(),
            version: "2".into(),
            valid_from: at("2026-01-15T00:00:00Z")?,
            valid_until: None,
            currency: "EUR".into(),
            units: BTreeMap::from([
                ("vcpu-hours".into(), "vCPU-Hours".into()),
                ("gib-hours".into(), "GiB-Hours".into()),
            ]),
            unit_prices: BTreeMap::from([
                ("vcpu-hours".into(), dec("0.0119")?),
                ("gib-hours".into(), dec("0.00137")?),
            ]),
        },
    ])
    .map_err(|e| e.to_string())?;
    let month = at("2026-01-01T00:00:00Z")?;
    let mut rated = Vec::new();
    for i in 0..200i64 {
        let start = month + Duration::hours(i * 3);
        let account = format!("inst-{}", i % 4);
        for (metric, category, service, q) in [
            (
                "vcpu-hours",
                ServiceCategory::Compute,
                "Virtual Machines",
                4 + i % 5,
            ),
            (
                "gib-hours",
                ServiceCategory::Storage,
                "Block Storage",
                100 + i,
            ),
        ] {
            let u = UsageRecord {
                id: format!("u-{i}-{metric}"),
                billing_account_id: account.clone(),
                offering_id: "vm-standard".into(),
                resource_id: Some(format!("vm-{}", i % 9)),
                metric: metric.into(),
                quantity: Decimal::new(q * 1000 + i, 3),
                period_start: start,
                period_end: start + Duration::hours(1),
                service_category: category,
                service_name: service.into(),
                provider: "LVRTC".into(),
                kind: UsageKind::Usage,
            };
            rated.push(rate(&u, &book).map_err(|e| e.to_string())?);
        }
    }
    // A correction of December (already invoiced) and one of January.
    for (id, start) in [
        ("corr-dec", "2025-12-20T10:00:00Z"),
        ("corr-jan", "2026-01-03T10:00:00Z"),
    ] {
        let u = UsageRecord {
            id: id.into(),
            billing_account_id: "inst-1".into(),
            offering_id: "vm-standard".into(),
            resource_id: Some("vm-1".into()),
            metric: "vcpu-hours".into(),
            quantity: Decimal::new(-25, 1),
            period_start: at(start)?,
            period_end: at(start)? + Duration::hours(1),
            service_category: ServiceCategory::Compute,
            service_name: "Virtual Machines".into(),
            provider: "LVRTC".into(),
            kind: UsageKind::Correction {
                corrects: "u-earlier".into(),
            },
        };
        rated.push(rate(&u, &book).map_err(|e| e.to_string())?);
    }
    rated.push(
        Credit {
            id: "credit-sla".into(),
            billing_account_id: "inst-2".into(),
            amount: dec("5.00")?,
            currency: "EUR".into(),
            period_start: month,
            period_end: at("2026-02-01T00:00:00Z")?,
            service_category: ServiceCategory::Compute,
            service_name: "Virtual Machines".into(),
            provider: "LVRTC".into(),
            reason: "SLA breach".into(),
        }
        .to_rated(),
    );
    let ctx = ExportContext {
        billing_period_start: month,
        billing_period_end: at("2026-02-01T00:00:00Z")?,
        invoice_issuer_name: "Mākonis broker".into(),
        account_names: (0..4)
            .map(|i| (format!("inst-{i}"), format!("Iestāde {i}")))
            .collect(),
        // Not issued yet; see docs/metering.md on the validator's InvoiceId rule.
        invoice_id: None,
    };
    let file = File::create(path).map_err(|e| e.to_string())?;
    let mut w = FocusWriter::with_optional_columns(file, &RATED_EXPORT_COLUMNS)
        .map_err(|e| e.to_string())?;
    for r in &rated {
        w.write(&rated_to_focus(r, &ctx))
            .map_err(|e| e.to_string())?;
    }
    w.finish().map_err(|e| e.to_string())?;
    println!("wrote {} records to {path}", rated.len());
    Ok(())
}

fn generate(style: &str, rows: &str, path: &str, seed: Option<&String>) -> Result<(), String> {
    let style = match style {
        "aws" => ProviderStyle::Aws,
        "azure" => ProviderStyle::Azure,
        "gcp" => ProviderStyle::Gcp,
        "oci" => ProviderStyle::Oci,
        other => {
            return Err(format!(
                "unknown style {other}: expected aws, azure, gcp or oci"
            ));
        }
    };
    let rows: u64 = rows
        .parse()
        .map_err(|_| format!("expected a row count, got {rows}"))?;
    let seed: u64 = seed
        .map_or(Ok(1), |s| s.parse())
        .map_err(|_| "expected a numeric seed".to_owned())?;
    let config = GeneratorConfig {
        seed,
        rows,
        style,
        billing_accounts: 20,
        ..GeneratorConfig::default()
    };
    let file = File::create(path).map_err(|e| e.to_string())?;
    let n = write_csv(file, &config, |_| {}).map_err(|e| e.to_string())?;
    println!("wrote {n} records to {path}");
    Ok(())
}

fn check(path: &str) -> Result<(), String> {
    let started = std::time::Instant::now();
    let file = File::open(path).map_err(|e| e.to_string())?;
    let summary =
        makonis_metering::import::validate(file, &makonis_metering::ReadOptions::default())
            .map_err(|e| format!("{path}: {e}"))?;
    println!(
        "{path}: {} records, {} bytes, BilledCost {} {}, {} in {:.2?}",
        summary.records,
        summary.bytes,
        summary.billed_cost,
        summary.billing_currency.as_deref().unwrap_or("-"),
        summary.content_hash,
        started.elapsed()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["export", path] => export(path),
        ["check", path] => check(path),
        ["generate", style, rows, path] => generate(style, rows, path, None),
        ["generate", style, rows, path, _] => generate(style, rows, path, args.get(4)),
        _ => Err(
            "usage: focus_sample export OUT.csv | generate aws|azure|gcp|oci ROWS OUT.csv [SEED] | check FILE.csv"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

//! The metering benchmark of issue #4 (driven by `scripts/bench-metering`,
//! which also runs DuckDB on the same file and compares the totals).
//!
//! ```text
//! metering_bench version
//! metering_bench generate DIR ROWS       # DIR/focus.csv, prices.csv, institutions.csv
//! metering_bench run DIR OUT.csv [--sequential] [--threads N] [--no-hash]
//! ```
//!
//! `run` imports, validates, rates and aggregates DIR/focus.csv into
//! monthly totals per institution (rules in `makonis_metering::pipeline`),
//! writes them to OUT.csv (`month,institution,records,usage,carried,total`,
//! exact decimals) and prints the time taken, the CPU time (all threads) and the peak RSS.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use makonis_metering::ReadOptions;
use makonis_metering::generator::{GeneratorConfig, ProviderStyle, write_csv_series};
use makonis_metering::parallel::ParallelOptions;
use makonis_metering::parse::format_decimal;
use makonis_metering::pipeline::{RatingPlan, rate_file, rate_file_sequential};

/// Bump when what `generate` writes changes (the script caches by it and
/// by the generator's source).
const GENERATOR_VERSION: u32 = 1;

/// The billing months generated: October 2025 to March 2026.
const MONTHS: [(i32, u32); 6] = [
    (2025, 10),
    (2025, 11),
    (2025, 12),
    (2026, 1),
    (2026, 2),
    (2026, 3),
];

/// The generator's SKUs and units (`generator::SERVICES`).
const SKUS: [(&str, &str, i64); 7] = [
    ("SKU-VirtualMachines", "Hours", 415_000),
    ("SKU-BlockStorage", "GB-Hours", 1_370),
    ("SKU-ManagedPostgreSQL", "Hours", 1_810_000),
    ("SKU-DataTransfer", "GB", 890_000),
    ("SKU-KeyManagement", "10K Requests", 300_000),
    ("SKU-LogAnalytics", "GB", 27_500_000),
    ("SKU-GPUInstances", "Hours", 30_500_000),
];

fn generate(dir: &Path, rows: u64) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let per_month = rows / MONTHS.len() as u64;
    let configs: Vec<GeneratorConfig> = MONTHS
        .iter()
        .enumerate()
        .map(|(i, &month)| GeneratorConfig {
            seed: 42 + i as u64,
            rows: if i + 1 == MONTHS.len() {
                rows - per_month * (MONTHS.len() as u64 - 1)
            } else {
                per_month
            },
            billing_accounts: 20,
            month,
            style: ProviderStyle::Aws,
            currency: "EUR".to_owned(),
        })
        .collect();
    let tmp = dir.join("focus.csv.tmp");
    let file = File::create(&tmp).map_err(|e| e.to_string())?;
    let n = write_csv_series(file, &configs, |_| {}).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, dir.join("focus.csv")).map_err(|e| e.to_string())?;

    // Three price-list versions per SKU; the middle one starts mid-month,
    // so both versions apply within December 2025. Prices have 7 decimals.
    let mut prices =
        String::from("sku_id,pricing_unit,version,valid_from,valid_until,unit_price\n");
    let versions = [
        (
            "2025-01",
            "2025-01-01T00:00:00Z",
            "2025-12-15T12:00:00Z",
            100,
        ),
        (
            "2025-12",
            "2025-12-15T12:00:00Z",
            "2026-02-01T00:00:00Z",
            97,
        ),
        ("2026-02", "2026-02-01T00:00:00Z", "", 103),
    ];
    for (sku, unit, base) in SKUS {
        for (version, from, until, pct) in versions {
            let price = rust_decimal::Decimal::new(base * pct + 7, 9);
            prices.push_str(&format!(
                "{sku},{unit},{version},{from},{until},{}\n",
                format_decimal(&price)
            ));
        }
    }
    std::fs::write(dir.join("prices.csv"), prices).map_err(|e| e.to_string())?;

    // 60 sub-accounts (sub-ACCOUNT-0..2) onto 12 institutions.
    let mut inst = String::from("sub_account_id,institution\n");
    for account in 0..20 {
        for sub in 0..3 {
            inst.push_str(&format!(
                "sub-{account}-{sub},LV-INST-{:02}\n",
                (account * 7 + sub * 5) % 12
            ));
        }
    }
    std::fs::write(dir.join("institutions.csv"), inst).map_err(|e| e.to_string())?;
    println!("wrote {n} records to {}", dir.join("focus.csv").display());
    Ok(())
}

/// User + system CPU seconds of the whole process (every thread) so far,
/// from /proc/self/stat (clock ticks of 1/100 s, Linux's USER_HZ).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // The fields after "pid (comm) ": state is the first, utime the
            // 12th and stime the 13th.
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
            Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn run(dir: &Path, out: &Path, flags: &[String]) -> Result<(), String> {
    let sequential = flags.iter().any(|f| f == "--sequential");
    let mut par = ParallelOptions::default();
    if flags.iter().any(|f| f == "--no-hash") {
        par.hash = false;
    }
    if let Some(i) = flags.iter().position(|f| f == "--threads") {
        par.threads = flags
            .get(i + 1)
            .and_then(|t| t.parse().ok())
            .ok_or("--threads needs a number")?;
    }
    let plan = RatingPlan::from_csv(
        File::open(dir.join("prices.csv")).map_err(|e| e.to_string())?,
        File::open(dir.join("institutions.csv")).map_err(|e| e.to_string())?,
    )?;
    let path = dir.join("focus.csv");
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    let file = File::open(&path).map_err(|e| e.to_string())?;
    let options = ReadOptions {
        expected_currency: Some("EUR".to_owned()),
    };
    let (records, bytes, hash, totals) = if sequential {
        let (n, totals) = rate_file_sequential(
            std::io::BufReader::with_capacity(1 << 20, file),
            &options,
            &plan,
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
        (n, 0, None, totals)
    } else {
        let (info, totals) = rate_file(file, &options, &par, &plan)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        (info.records, info.bytes, info.content_hash, totals)
    };
    let elapsed = started.elapsed();
    let cpu = cpu_seconds() - cpu_started;
    let mut w = std::io::BufWriter::new(File::create(out).map_err(|e| e.to_string())?);
    writeln!(w, "month,institution,records,usage,carried,total").map_err(|e| e.to_string())?;
    for ((month, inst), t) in &totals {
        writeln!(
            w,
            "{month},{inst},{},{},{},{}",
            t.records,
            format_decimal(&t.usage),
            format_decimal(&t.carried),
            format_decimal(&t.total())
        )
        .map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())?;
    println!(
        "makonis engine={} threads={} hash={} records={records} bytes={bytes} keys={} seconds={:.3} cpu_seconds={cpu:.2} peak_rss_mib={:.1}{}",
        if sequential { "sequential" } else { "parallel" },
        if sequential { 1 } else { par.threads },
        !sequential && par.hash,
        totals.len(),
        elapsed.as_secs_f64(),
        peak_rss_kib() as f64 / 1024.0,
        hash.map(|h| format!(" content_hash={h}"))
            .unwrap_or_default(),
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["version"] => {
            println!("{GENERATOR_VERSION}");
            Ok(())
        }
        ["generate", dir, rows] => rows
            .parse()
            .map_err(|_| format!("expected a row count, got {rows}"))
            .and_then(|n| generate(Path::new(dir), n)),
        ["run", dir, out, ..] => run(Path::new(dir), Path::new(out), &args[3..]),
        _ => Err("usage: metering_bench version | generate DIR ROWS | run DIR OUT.csv [--sequential] [--threads N] [--no-hash]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

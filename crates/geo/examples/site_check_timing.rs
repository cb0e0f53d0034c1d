//! How long `check_site` takes: the one-off load of the embedded border data,
//! then the mean and worst time per check over a grid of sites from Iceland
//! to the Caucasus and of US/Canadian sites. Run it in release:
//! `cargo run --release -p makonis-geo --example site_check_timing`.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use makonis_geo::{SiteInput, check_site};

fn main() {
    let today = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap_or_default();
    let site = |lat: f64, lon: f64| SiteInput {
        country: "PT".into(),
        lat,
        lon,
        tier: Some(3),
        tier_valid_until: NaiveDate::from_ymd_opt(2027, 12, 31),
        today,
    };

    let start = Instant::now();
    let first = check_site(&site(38.7223, -9.1393));
    let load = start.elapsed();
    println!("first check (parses the embedded data): {load:?} -> {first:?}");

    let mut sites = Vec::new();
    for i in 0..40 {
        for j in 0..50 {
            sites.push(site(34.0 + i as f64, -25.0 + j as f64 * 1.4));
            sites.push(site(25.0 + i as f64, -170.0 + j as f64 * 2.0));
        }
    }
    let mut worst = Duration::ZERO;
    let mut eligible = 0;
    let start = Instant::now();
    for s in &sites {
        let t = Instant::now();
        if check_site(s).is_ok_and(|v| v.eligible) {
            eligible += 1;
        }
        worst = worst.max(t.elapsed());
    }
    let total = start.elapsed();
    println!(
        "{} checks: mean {:?}, worst {:?} ({eligible} eligible)",
        sites.len(),
        total / sites.len() as u32,
        worst
    );
}

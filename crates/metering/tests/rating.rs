//! Rating against versioned price lists, rounding, statements and the
//! reconciliation of monthly totals. The worked example is the one in
//! docs/metering.md.

mod common;

use std::collections::BTreeMap;

use common::{dec, utc};
use makonis_metering::aggregate::{MonthlyTotals, statement};
use makonis_metering::rating::{
    Credit, PriceBook, PriceList, RatingError, UsageKind, UsageRecord, rate,
};
use makonis_metering::{ChargeCategory, ChargeClass, ServiceCategory, round_money};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn book() -> PriceBook {
    let v1 = PriceList {
        id: "PL-VM".into(),
        offering_id: "vm-standard".into(),
        version: "1".into(),
        valid_from: utc("2025-01-01T00:00:00Z"),
        valid_until: Some(utc("2026-01-15T00:00:00Z")),
        currency: "EUR".into(),
        units: BTreeMap::from([
            ("vcpu-hours".into(), "vCPU-Hours".into()),
            ("gib-hours".into(), "GiB-Hours".into()),
        ]),
        unit_prices: BTreeMap::from([
            ("vcpu-hours".into(), dec("0.0125")),
            ("gib-hours".into(), dec("0.00137")),
        ]),
    };
    let v2 = PriceList {
        version: "2".into(),
        valid_from: utc("2026-01-15T00:00:00Z"),
        valid_until: None,
        unit_prices: BTreeMap::from([
            ("vcpu-hours".into(), dec("0.0119")),
            ("gib-hours".into(), dec("0.00137")),
        ]),
        ..v1.clone()
    };
    PriceBook::new([v2, v1]).expect("book")
}

fn usage(id: &str, metric: &str, q: &str, start: &str, end: &str, kind: UsageKind) -> UsageRecord {
    UsageRecord {
        id: id.into(),
        billing_account_id: "VK".into(),
        offering_id: "vm-standard".into(),
        resource_id: Some("vm-1".into()),
        metric: metric.into(),
        quantity: dec(q),
        period_start: utc(start),
        period_end: utc(end),
        service_category: ServiceCategory::Compute,
        service_name: "Virtual Machines".into(),
        provider: "LVRTC".into(),
        kind,
    }
}

#[test]
fn rounding_is_half_away_from_zero_to_cents() {
    assert_eq!(round_money(dec("2.345")), dec("2.35"));
    assert_eq!(round_money(dec("-2.345")), dec("-2.35"));
    assert_eq!(round_money(dec("2.335")), dec("2.34"));
    assert_eq!(round_money(dec("2.3449999")), dec("2.34"));
    assert_eq!(round_money(dec("0.005")), dec("0.01"));
    assert_eq!(round_money(dec("-0.005")), dec("-0.01"));
}

#[test]
fn the_version_valid_at_the_period_start_applies() {
    let b = book();
    assert_eq!(
        b.valid_at("vm-standard", utc("2026-01-14T23:59:59Z"))
            .map(|p| p.version.as_str()),
        Some("1")
    );
    assert_eq!(
        b.valid_at("vm-standard", utc("2026-01-15T00:00:00Z"))
            .map(|p| p.version.as_str()),
        Some("2")
    );
    assert_eq!(
        b.valid_at("vm-standard", utc("2024-12-31T23:59:59Z"))
            .map(|p| p.version.as_str()),
        None
    );
    assert_eq!(
        b.valid_at("other", utc("2026-01-15T00:00:00Z"))
            .map(|p| p.version.as_str()),
        None
    );
    // A period that starts under v1 and ends under v2 is rated with v1.
    let r = rate(
        &usage(
            "u",
            "vcpu-hours",
            "10",
            "2026-01-14T23:00:00Z",
            "2026-01-15T01:00:00Z",
            UsageKind::Usage,
        ),
        &b,
    )
    .expect("rate");
    assert_eq!(r.price_list, Some(("PL-VM".into(), "1".into())));
    assert_eq!(r.cost, dec("0.125"));
}

#[test]
fn price_book_refuses_bad_versions() {
    let base = PriceList {
        id: "P".into(),
        offering_id: "o".into(),
        version: "1".into(),
        valid_from: utc("2026-01-01T00:00:00Z"),
        valid_until: Some(utc("2026-02-01T00:00:00Z")),
        currency: "EUR".into(),
        unit_prices: BTreeMap::from([("m".into(), dec("1"))]),
        units: BTreeMap::from([
            ("vcpu-hours".into(), "vCPU-Hours".into()),
            ("gib-hours".into(), "GiB-Hours".into()),
        ]),
    };
    let overlapping = PriceList {
        version: "2".into(),
        valid_from: utc("2026-01-31T00:00:00Z"),
        valid_until: None,
        ..base.clone()
    };
    assert!(matches!(
        PriceBook::new([base.clone(), overlapping]),
        Err(RatingError::Overlap { a, b, .. }) if a == "1" && b == "2"
    ));
    let open_then_later = PriceList {
        valid_until: None,
        ..base.clone()
    };
    let later = PriceList {
        version: "2".into(),
        valid_from: utc("2026-03-01T00:00:00Z"),
        valid_until: None,
        ..base.clone()
    };
    assert!(matches!(
        PriceBook::new([open_then_later, later]),
        Err(RatingError::Overlap { .. })
    ));
    let empty = PriceList {
        valid_until: Some(base.valid_from),
        ..base.clone()
    };
    assert!(matches!(
        PriceBook::new([empty]),
        Err(RatingError::EmptyValidity { .. })
    ));
    let negative = PriceList {
        unit_prices: BTreeMap::from([("m".into(), dec("-1"))]),
        units: BTreeMap::from([
            ("vcpu-hours".into(), "vCPU-Hours".into()),
            ("gib-hours".into(), "GiB-Hours".into()),
        ]),
        ..base.clone()
    };
    assert!(matches!(
        PriceBook::new([negative]),
        Err(RatingError::NegativePrice { .. })
    ));
    let usd = PriceList {
        version: "2".into(),
        currency: "USD".into(),
        valid_from: utc("2026-02-01T00:00:00Z"),
        valid_until: None,
        ..base.clone()
    };
    assert!(matches!(
        PriceBook::new([base, usd]),
        Err(RatingError::MixedCurrency { .. })
    ));
}

#[test]
fn rating_errors() {
    let b = book();
    let neg = usage(
        "n",
        "vcpu-hours",
        "-1",
        "2026-01-02T00:00:00Z",
        "2026-01-02T01:00:00Z",
        UsageKind::Usage,
    );
    assert!(matches!(
        rate(&neg, &b),
        Err(RatingError::NegativeQuantity { .. })
    ));
    let unknown = usage(
        "x",
        "gpu-hours",
        "1",
        "2026-01-02T00:00:00Z",
        "2026-01-02T01:00:00Z",
        UsageKind::Usage,
    );
    assert!(matches!(
        rate(&unknown, &b),
        Err(RatingError::NoPrice { .. })
    ));
    let early = usage(
        "e",
        "vcpu-hours",
        "1",
        "2020-01-02T00:00:00Z",
        "2020-01-02T01:00:00Z",
        UsageKind::Usage,
    );
    assert!(matches!(
        rate(&early, &b),
        Err(RatingError::NoPriceList { .. })
    ));
    let empty = usage(
        "p",
        "vcpu-hours",
        "1",
        "2026-01-02T00:00:00Z",
        "2026-01-02T00:00:00Z",
        UsageKind::Usage,
    );
    assert!(matches!(
        rate(&empty, &b),
        Err(RatingError::EmptyPeriod { .. })
    ));
}

/// The worked example of docs/metering.md, number for number.
#[test]
fn worked_example() {
    let b = book();
    let corr = UsageKind::Correction {
        corrects: "u1".into(),
    };
    let mut rated: Vec<_> = [
        usage(
            "u1",
            "vcpu-hours",
            "744.5",
            "2026-01-01T00:00:00Z",
            "2026-01-15T00:00:00Z",
            UsageKind::Usage,
        ),
        usage(
            "u2",
            "vcpu-hours",
            "333",
            "2026-01-15T00:00:00Z",
            "2026-02-01T00:00:00Z",
            UsageKind::Usage,
        ),
        usage(
            "u3",
            "gib-hours",
            "1234.567",
            "2026-01-01T00:00:00Z",
            "2026-02-01T00:00:00Z",
            UsageKind::Usage,
        ),
        usage(
            "c1",
            "vcpu-hours",
            "-10.5",
            "2026-01-01T00:00:00Z",
            "2026-01-15T00:00:00Z",
            corr,
        ),
    ]
    .iter()
    .map(|u| rate(u, &b).expect("rate"))
    .collect();
    rated.push(
        Credit {
            id: "cr1".into(),
            billing_account_id: "VK".into(),
            amount: dec("1.00"),
            currency: "EUR".into(),
            period_start: utc("2026-01-01T00:00:00Z"),
            period_end: utc("2026-02-01T00:00:00Z"),
            service_category: ServiceCategory::Compute,
            service_name: "Virtual Machines".into(),
            provider: "LVRTC".into(),
            reason: "SLA breach 2026-01-07".into(),
        }
        .to_rated(),
    );
    let costs: Vec<Decimal> = rated.iter().map(|r| r.cost).collect();
    assert_eq!(
        costs,
        [
            dec("9.30625"),
            dec("3.9627"),
            dec("1.69135679"),
            dec("-0.13125"),
            dec("-1.00")
        ]
    );
    assert_eq!(rated[3].charge_class, Some(ChargeClass::Correction));
    assert_eq!(rated[3].price_list, Some(("PL-VM".into(), "1".into())));
    assert_eq!(rated[4].charge_category, ChargeCategory::Credit);

    let s = statement(&rated);
    let amounts: Vec<(String, Decimal)> = s
        .lines
        .iter()
        .map(|l| {
            let what = format!(
                "{}{}{}",
                l.key.metric.clone().unwrap_or_else(|| "credit".into()),
                l.key
                    .price_list
                    .as_ref()
                    .map(|(_, v)| format!(" v{v}"))
                    .unwrap_or_default(),
                if l.key.charge_class.is_some() {
                    " correction"
                } else {
                    ""
                }
            );
            (what, l.amount)
        })
        .collect();
    assert_eq!(
        amounts,
        [
            ("credit".to_owned(), dec("-1.00")),
            ("gib-hours v1".to_owned(), dec("1.69")),
            ("vcpu-hours v1".to_owned(), dec("9.31")),
            ("vcpu-hours v1 correction".to_owned(), dec("-0.13")),
            ("vcpu-hours v2".to_owned(), dec("3.96")),
        ]
    );
    assert_eq!(s.exact_total, dec("13.82905679"));
    assert_eq!(s.total, dec("13.83"));

    let mut totals = MonthlyTotals::new();
    for r in &rated {
        totals.add_rated(r);
    }
    totals.reconcile(&rated).expect("reconciles");
    assert_eq!(totals.grand_total().cost, s.exact_total);
    // Dropping a record breaks reconciliation.
    assert!(totals.reconcile(&rated[1..]).is_err());
}

fn arb_usage() -> impl Strategy<Value = UsageRecord> {
    (
        0u32..4,
        prop::sample::select(vec!["vcpu-hours", "gib-hours"]),
        -1_000_000i64..100_000_000,
        0i64..(60 * 24 * 3),
        1i64..240,
        any::<bool>(),
        0u32..3,
    )
        .prop_map(|(acct, metric, q, start_min, len_min, is_corr, res)| {
            let start = utc("2025-12-01T00:00:00Z") + chrono::Duration::minutes(start_min * 10);
            let q = Decimal::new(if is_corr { q } else { q.abs() }, 3);
            UsageRecord {
                id: format!("u{start_min}"),
                billing_account_id: format!("acct-{acct}"),
                offering_id: "vm-standard".into(),
                resource_id: Some(format!("vm-{res}")),
                metric: metric.into(),
                quantity: q,
                period_start: start,
                period_end: start + chrono::Duration::minutes(len_min),
                service_category: if metric == "gib-hours" {
                    ServiceCategory::Storage
                } else {
                    ServiceCategory::Compute
                },
                service_name: "VM".into(),
                provider: "LVRTC".into(),
                kind: if is_corr {
                    UsageKind::Correction {
                        corrects: "x".into(),
                    }
                } else {
                    UsageKind::Usage
                },
            }
        })
}

proptest! {
    #[test]
    fn totals_reconcile_and_rounding_is_bounded(usages in prop::collection::vec(arb_usage(), 0..200)) {
        let b = book();
        let rated: Vec<_> = usages.iter().map(|u| rate(u, &b)).collect::<Result<_, _>>().expect("all rate");
        for (u, r) in usages.iter().zip(&rated) {
            let expected_version = if u.period_start < utc("2026-01-15T00:00:00Z") { 1 } else { 2 };
            prop_assert_eq!(r.price_list.as_ref().map(|p| p.1.clone()), Some(expected_version.to_string()));
            prop_assert_eq!(r.cost, u.quantity * r.unit_price.unwrap_or_default());
        }
        let mut totals = MonthlyTotals::new();
        for r in &rated {
            totals.add_rated(r);
        }
        prop_assert!(totals.reconcile(&rated).is_ok());
        let exact: Decimal = rated.iter().map(|r| r.cost).sum();
        prop_assert_eq!(totals.grand_total().cost, exact);
        let s = statement(&rated);
        prop_assert_eq!(s.exact_total, exact);
        let lines = Decimal::from(s.lines.len() as u64);
        prop_assert!((s.total - s.exact_total).abs() <= dec("0.005") * lines);
        prop_assert_eq!(s.total, s.lines.iter().map(|l| l.amount).sum::<Decimal>());
        for l in &s.lines {
            prop_assert_eq!(l.amount, round_money(l.exact));
            prop_assert!(l.amount.scale() <= 2);
        }
    }
}

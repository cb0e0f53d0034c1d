//! The FOCUS writer: what it writes reads back to the same records, and a
//! statement export of rated records is a valid FOCUS file.

mod common;

use std::collections::BTreeMap;

use common::{dec, usage_record, utc};
use makonis_metering::focus::OPTIONAL_COLUMNS;
use makonis_metering::import::validate;
use makonis_metering::rating::{Credit, PriceBook, PriceList, UsageKind, UsageRecord, rate};
use makonis_metering::writer::{ExportContext, RATED_EXPORT_COLUMNS};
use makonis_metering::{
    ChargeCategory, ChargeClass, ChargeFrequency, FocusReader, FocusRecord, FocusWriter,
    PricingCategory, ReadOptions, ServiceCategory, Tags, rated_to_focus,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn read_all(bytes: &[u8]) -> Vec<FocusRecord> {
    FocusReader::new(bytes, ReadOptions::default())
        .expect("header")
        .map(|r| r.map(|(_, rec)| rec))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn write_all(records: &[FocusRecord]) -> Vec<u8> {
    let mut w = FocusWriter::new(Vec::new()).expect("writer");
    for r in records {
        w.write(r).expect("write");
    }
    w.finish().expect("finish")
}

#[test]
fn header_has_every_column_in_order() {
    let bytes = write_all(&[]);
    let header = String::from_utf8(bytes).expect("utf8");
    let cols: Vec<&str> = header.trim_end().split(',').collect();
    assert_eq!(&cols[..21], &makonis_metering::focus::MANDATORY_COLUMNS);
    assert_eq!(&cols[21..], &OPTIONAL_COLUMNS);
}

#[test]
fn formats_are_focus_formats() {
    let mut r = usage_record(1);
    r.billed_cost = dec("1.2500");
    r.tags = Some(Tags::from([
        ("env".into(), serde_json::Value::from("prod")),
        ("b".into(), serde_json::Value::Bool(true)),
    ]));
    let text = String::from_utf8(write_all(&[r])).expect("utf8");
    let line = text.lines().nth(1).expect("row");
    assert!(
        line.starts_with(
            "1.25,acct-1,Valsts kanceleja,EUR,2026-02-01T00:00:00Z,2026-01-01T00:00:00Z,Usage,,"
        ),
        "{line}"
    );
    assert!(
        line.contains(r#""{""b"":true,""env"":""prod""}""#),
        "{line}"
    );
}

fn arb_decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0u32..12).prop_map(|(m, s)| Decimal::new(m, s))
}

fn arb_opt_string() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[ -~āčēģīķļņšūž\"\n,]{1,20}")
}

prop_compose! {
    fn arb_record()(
        base in 0u32..100,
        billed in arb_decimal(),
        list in arb_decimal(),
        cat in prop::sample::select(ChargeCategory::ALL.to_vec()),
        svc in prop::sample::select(ServiceCategory::ALL.to_vec()),
        freq in prop::option::of(prop::sample::select(ChargeFrequency::ALL.to_vec())),
        start_s in 0i64..(86400 * 365),
        len_s in 1i64..(86400 * 31),
        q in arb_decimal(),
        name in arb_opt_string(),
        desc in arb_opt_string(),
        resource in arb_opt_string(),
        tag_vals in prop::collection::btree_map("[a-z:]{1,8}", prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i32>().prop_map(serde_json::Value::from),
            "[ -~ā]{0,10}".prop_map(serde_json::Value::from),
        ], 0..4),
        has_tags in any::<bool>(),
    ) -> FocusRecord {
        let mut r = usage_record(base);
        let bill_start = utc("2026-01-01T00:00:00Z");
        r.billed_cost = billed;
        r.list_cost = list;
        r.contracted_cost = billed;
        r.effective_cost = billed;
        r.charge_category = cat;
        r.service_category = svc;
        r.charge_frequency = if cat == ChargeCategory::Purchase && freq == Some(ChargeFrequency::UsageBased) { None } else { freq };
        r.charge_period_start = bill_start + chrono::Duration::seconds(start_s);
        r.charge_period_end = r.charge_period_start + chrono::Duration::seconds(len_s);
        r.billing_period_end = utc("2027-02-01T00:00:00Z");
        r.billing_account_name = name;
        r.charge_description = desc;
        r.resource_id = resource;
        r.tags = has_tags.then_some(tag_vals);
        r.pricing_category = Some(PricingCategory::Dynamic);
        match cat {
            ChargeCategory::Tax => {
                r.pricing_quantity = None;
                r.pricing_unit = None;
                r.consumed_quantity = None;
                r.consumed_unit = None;
                r.list_unit_price = None;
                r.contracted_unit_price = None;
            }
            _ => {
                r.pricing_quantity = Some(q.abs());
                r.consumed_quantity = Some(q.abs());
            }
        }
        r
    }
}

proptest! {
    #[test]
    fn write_then_read_round_trips(records in prop::collection::vec(arb_record(), 0..20)) {
        let bytes = write_all(&records);
        let back = read_all(&bytes);
        prop_assert_eq!(back, records);
    }
}

#[test]
fn rated_export_is_valid_focus_and_keeps_corrections_apart() {
    let book = PriceBook::new([PriceList {
        id: "PL-VM".into(),
        offering_id: "vm".into(),
        version: "3".into(),
        valid_from: utc("2025-01-01T00:00:00Z"),
        valid_until: None,
        currency: "EUR".into(),
        unit_prices: BTreeMap::from([("vcpu-hours".into(), dec("0.0125"))]),
        units: BTreeMap::from([
            ("vcpu-hours".into(), "vCPU-Hours".into()),
            ("gib-hours".into(), "GiB-Hours".into()),
        ]),
    }])
    .expect("book");
    let u = |id: &str, q: &str, start: &str, kind| UsageRecord {
        id: id.into(),
        billing_account_id: "VK".into(),
        offering_id: "vm".into(),
        resource_id: Some("vm-1".into()),
        metric: "vcpu-hours".into(),
        quantity: dec(q),
        period_start: utc(start),
        period_end: utc(start) + chrono::Duration::hours(1),
        service_category: ServiceCategory::Compute,
        service_name: "Virtual Machines".into(),
        provider: "LVRTC".into(),
        kind,
    };
    let mut rated = vec![
        rate(
            &u("a", "4", "2026-01-03T10:00:00Z", UsageKind::Usage),
            &book,
        )
        .expect("rate"),
        // corrects December (already invoiced): ChargeClass Correction
        rate(
            &u(
                "b",
                "-2",
                "2025-12-30T10:00:00Z",
                UsageKind::Correction {
                    corrects: "z".into(),
                },
            ),
            &book,
        )
        .expect("rate"),
        // corrects earlier January: same billing period, so ChargeClass stays null
        rate(
            &u(
                "c",
                "-1",
                "2026-01-02T10:00:00Z",
                UsageKind::Correction {
                    corrects: "a".into(),
                },
            ),
            &book,
        )
        .expect("rate"),
    ];
    rated.push(
        Credit {
            id: "cr".into(),
            billing_account_id: "VK".into(),
            amount: dec("0.50"),
            currency: "EUR".into(),
            period_start: utc("2026-01-01T00:00:00Z"),
            period_end: utc("2026-02-01T00:00:00Z"),
            service_category: ServiceCategory::Compute,
            service_name: "Virtual Machines".into(),
            provider: "LVRTC".into(),
            reason: "SLA".into(),
        }
        .to_rated(),
    );
    let ctx = ExportContext {
        billing_period_start: utc("2026-01-01T00:00:00Z"),
        billing_period_end: utc("2026-02-01T00:00:00Z"),
        invoice_issuer_name: "Mākonis broker".into(),
        account_names: BTreeMap::from([("VK".into(), "Valsts kanceleja".into())]),
        invoice_id: Some("ST-2026-01-VK-1".into()),
    };
    let mut w =
        FocusWriter::with_optional_columns(Vec::new(), &RATED_EXPORT_COLUMNS).expect("writer");
    let focus: Vec<FocusRecord> = rated.iter().map(|r| rated_to_focus(r, &ctx)).collect();
    for f in &focus {
        w.write(f).expect("write");
    }
    let bytes = w.finish().expect("finish");
    let summary = validate(
        &bytes[..],
        &ReadOptions {
            expected_currency: Some("EUR".into()),
        },
    )
    .expect("valid FOCUS");
    assert_eq!(summary.records, 4);
    assert_eq!(
        summary.billed_cost,
        dec("0.05") - dec("0.025") - dec("0.0125") - dec("0.50")
    );
    assert_eq!(focus[1].charge_class, Some(ChargeClass::Correction));
    assert_eq!(focus[2].charge_class, None);
    assert_eq!(focus[3].charge_category, ChargeCategory::Credit);
    assert_eq!(focus[3].pricing_quantity, None);
    assert_eq!(read_all(&bytes), focus);
}

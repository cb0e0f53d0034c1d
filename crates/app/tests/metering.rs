//! Metering and chargeback on both engines: usage collected from the `sim`
//! driver is rated with the price-list version valid at the hour and
//! compared with commercial prices; statements reconcile exactly with the
//! charges and are immutable; FOCUS bills import all-or-nothing, once, with
//! unmapped lines listed for the Broker; budgets alert once per threshold;
//! tenants see only their own costs.

use std::collections::BTreeMap;
use std::io::Write as _;

use chrono::{Duration, Utc};
use makonis_app::secrets::SecretBox;
use makonis_app::{App, Error};
use makonis_metering::focus::{ChargeCategory, FocusRecord, ServiceCategory};
use makonis_types::catalogue::*;
use makonis_types::institution::{InstitutionInput, InstitutionKind};
use makonis_types::metering::*;
use makonis_types::order::OrderState;
use makonis_types::roles::Role;
use rust_decimal::Decimal;

mod world;
use world::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// An older price-list version (0.018 until yesterday) under the world's
/// current one (0.02 from yesterday), and two commercial references: one too
/// small for the offering, one that fits.
async fn prices(app: &App, w: &World) {
    let today = Utc::now().date_naive();
    app.create_price_list(
        &w.broker,
        w.provider,
        &PriceListInput {
            version: "0".into(),
            valid_from: today - Duration::days(90),
            valid_until: Some(today - Duration::days(2)),
            currency: "EUR".into(),
            items: vec![PriceItem {
                offering_id: w.offering,
                unit_price: d("0.018"),
            }],
        },
    )
    .await
    .unwrap();
    for (sku, vcpu, ram, price) in [("c.small", 1, 2, "0.011"), ("m.large", 2, 8, "0.0832")] {
        app.add_commercial_price(
            &w.broker,
            &CommercialPriceInput {
                reference: "Hyperscaler eu-north on-demand".into(),
                sku: sku.into(),
                kind: OfferingKind::Vm,
                vcpu,
                ram_gb: ram,
                unit: BillingUnit::InstanceHour,
                unit_price: d(price),
                valid_from: today - Duration::days(365),
                valid_until: None,
            },
        )
        .await
        .unwrap();
    }
}

/// An active order of 2 VMs whose resource has existed for `age`.
async fn running_vm(app: &App, w: &World, state: &std::path::Path, age: Duration) -> String {
    let id = order_and_agree(app, w).await;
    let done = wait_for(app, w, id, &[OrderState::Active, OrderState::Failed]).await;
    assert_eq!(done.state, OrderState::Active, "{:?}", done.reason);
    makonis_drivers::sim::backdate(&sim(state, w.provider), age)
        .await
        .unwrap();
    app.order_resources(&w.member, id).await.unwrap()[0]
        .external_id
        .clone()
}

#[tokio::test]
async fn usage_is_rated_by_the_valid_version_and_statements_reconcile() {
    for (store, state) in engines().await {
        let label = store.label;
        let app = App::new(
            store.datastore.clone(),
            SecretBox::random(),
            config(state.path()),
        );
        let w = world(&app, 20).await;
        prices(&app, &w).await;
        running_vm(&app, &w, state.path(), Duration::days(40)).await;

        let first = app.collect_usage().await.unwrap();
        assert!(first.failures.is_empty(), "{label}: {:?}", first.failures);
        assert!(first.charged >= 35 * 24 - 1, "{label}: {first:?}");
        assert_eq!(first.unmapped, 0, "{label}");
        // Collecting again books nothing twice.
        let again = app.collect_usage().await.unwrap();
        assert_eq!(again.charged, 0, "{label}: {again:?}");

        let this_month = Month::of(Utc::now());
        let last_month = this_month.previous();
        let charges = app
            .charges(&w.member, w.institution, last_month)
            .await
            .unwrap();
        assert!(!charges.is_empty(), "{label}");
        let yesterday = (Utc::now() - Duration::days(1)).date_naive();
        for c in app
            .charges(&w.member, w.institution, this_month)
            .await
            .unwrap()
            .iter()
            .chain(&charges)
        {
            // 2 instances for one hour, at the version valid at that hour.
            let expected = if c.period_start.date_naive() < yesterday {
                d("0.018")
            } else {
                d("0.02")
            };
            assert_eq!(c.quantity, Some(d("2")), "{label}");
            assert_eq!(c.unit_price, Some(expected), "{label}: {c:?}");
            assert_eq!(c.cost, d("2") * expected, "{label}");
            assert_eq!(
                c.price_list_version.as_deref(),
                Some(if expected == d("0.018") { "0" } else { "1" })
            );
            // The cheapest commercial SKU at least as large: m.large, not c.small.
            assert_eq!(c.commercial_cost, Some(d("2") * d("0.0832")), "{label}");
            assert_eq!(
                c.commercial_ref.as_deref(),
                Some("Hyperscaler eu-north on-demand m.large")
            );
            assert_eq!(c.information_system_id, Some(w.system));
            assert!(c.agreement_id.is_some());
        }

        // Only the Broker issues; only finished months.
        let input = IssueStatementInput {
            institution_id: w.institution,
            month: last_month,
            reason: None,
        };
        assert!(matches!(
            app.issue_statement(&w.admin, &input).await,
            Err(Error::Forbidden { .. })
        ));
        let too_early = IssueStatementInput {
            month: this_month,
            ..input.clone()
        };
        match app.issue_statement(&w.broker, &too_early).await {
            Err(Error::Invalid(e)) => assert_eq!(e[0].field, "month"),
            other => panic!("{label}: {other:?}"),
        }
        let issued = app.issue_statement(&w.broker, &input).await.unwrap();
        let s = &issued.summary;
        assert_eq!(s.version, 1);
        // Reconciles exactly: exact total = Σ charges; total = Σ rounded lines.
        let charged: Decimal = charges.iter().map(|c| c.cost).sum();
        assert_eq!(s.exact_total, charged, "{label}");
        assert_eq!(s.charges, charges.len() as i64);
        assert_eq!(
            s.total,
            issued.lines.iter().map(|l| l.amount).sum::<Decimal>()
        );
        assert_eq!(
            issued.lines.iter().map(|l| l.exact_amount).sum::<Decimal>(),
            charged
        );
        assert!(
            issued
                .lines
                .iter()
                .all(|l| l.amount == makonis_metering::round_money(l.exact_amount))
        );
        assert!(
            s.commercial_total > s.total,
            "{label}: commercial is dearer here"
        );
        assert!(
            issued
                .lines
                .iter()
                .all(|l| l.information_system.starts_with("WEB "))
        );

        // Re-issue needs a reason and makes version 2; the old one stays.
        match app.issue_statement(&w.broker, &input).await {
            Err(Error::Invalid(e)) => assert_eq!(e[0].field, "reason", "{label}"),
            other => panic!("{label}: {other:?}"),
        }
        let v2 = app
            .issue_statement(
                &w.broker,
                &IssueStatementInput {
                    reason: Some("late bill from the provider".into()),
                    ..input.clone()
                },
            )
            .await
            .unwrap();
        assert_eq!(v2.summary.version, 2);
        let listed = app
            .statements(&w.member, Some(w.institution))
            .await
            .unwrap();
        assert_eq!(listed.len(), 2, "{label}");
        let read_back = app.statement(&w.member, s.id).await.unwrap();
        assert_eq!(
            read_back, issued,
            "{label}: a statement reads back as issued"
        );

        // Immutable in the database itself.
        for sql in [
            format!("UPDATE statements SET total = '0' WHERE id = '{}'", s.id),
            format!(
                "DELETE FROM statement_lines WHERE statement_id = '{}'",
                s.id
            ),
        ] {
            let mut conn = store.datastore.conn().await.unwrap();
            let refused = sqlx::query(&sql).execute(&mut *conn).await;
            assert!(
                refused.is_err_and(|e| e.to_string().contains("immutable")),
                "{label}: {sql}"
            );
        }

        // Exports: CSV with the total; FOCUS 1.2 that reads back with the same sum.
        let csv = makonis_app::metering::statement_csv(&issued);
        assert!(csv.lines().last().unwrap().contains(&s.total.to_string()));
        let focus = app.statement_focus(&w.member, s.id).await.unwrap();
        let summary = makonis_metering::import::validate(&focus[..], &Default::default()).unwrap();
        assert_eq!(summary.billed_cost, s.exact_total, "{label}");
        let export = app
            .export_focus(&w.member, Some(w.institution), last_month, this_month)
            .await
            .unwrap();
        let summary = makonis_metering::import::validate(&export[..], &Default::default()).unwrap();
        assert!(summary.records >= charges.len() as u64);

        // Another tenant sees none of it.
        let other = other_tenant(&app).await;
        assert!(matches!(
            app.statement(&other, s.id).await,
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            app.charges(&other, w.institution, last_month).await,
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            app.statements(&other, None).await,
            Err(Error::Forbidden { .. })
        ));
    }
}

async fn other_tenant(app: &App) -> makonis_app::OpContext {
    let sys = makonis_app::OpContext::system("t");
    let inst = app
        .create_institution(
            &sys,
            &InstitutionInput {
                name: "Cita iestāde".into(),
                short_name: "CITA".into(),
                registration_number: Some("90000000001".into()),
                kind: InstitutionKind::Recipient,
            },
        )
        .await
        .unwrap()
        .id;
    person(app, "admin@cita.lv", Role::InstitutionAdmin, Some(inst)).await
}

fn record(line: &str) -> FocusRecord {
    let month = Month::of(Utc::now()).previous();
    FocusRecord {
        billed_cost: d(line),
        billing_account_id: "ACC-1".into(),
        billing_account_name: Some("Account".into()),
        billing_currency: "EUR".into(),
        billing_period_start: month.start(),
        billing_period_end: month.end(),
        charge_category: ChargeCategory::Usage,
        charge_class: None,
        charge_description: Some("line".into()),
        charge_period_start: month.start(),
        charge_period_end: month.start() + Duration::hours(1),
        contracted_cost: d(line),
        effective_cost: d(line),
        invoice_issuer_name: "Provider".into(),
        list_cost: d(line),
        pricing_quantity: Some(d("1")),
        pricing_unit: Some("Hours".into()),
        provider_name: "Provider".into(),
        publisher_name: "Provider".into(),
        service_category: ServiceCategory::Compute,
        service_name: "Compute".into(),
        billing_account_type: None,
        charge_frequency: None,
        consumed_quantity: None,
        consumed_unit: None,
        contracted_unit_price: None,
        invoice_id: None,
        list_unit_price: None,
        pricing_category: None,
        pricing_currency: None,
        region_id: None,
        region_name: None,
        availability_zone: None,
        resource_id: None,
        resource_name: None,
        resource_type: None,
        service_subcategory: None,
        sku_id: None,
        sku_price_id: None,
        sub_account_id: None,
        sub_account_name: None,
        sub_account_type: None,
        tags: None,
    }
}

fn write(path: &std::path::Path, records: &[FocusRecord]) {
    let mut writer = makonis_metering::FocusWriter::new(Vec::new()).unwrap();
    for r in records {
        writer.write(r).unwrap();
    }
    std::fs::write(path, writer.finish().unwrap()).unwrap();
}

#[tokio::test]
async fn focus_bills_import_once_all_or_nothing_and_unmapped_lines_wait() {
    for (store, state) in engines().await {
        let label = store.label;
        let app = App::new(
            store.datastore.clone(),
            SecretBox::random(),
            config(state.path()),
        );
        let w = world(&app, 20).await;
        let external = running_vm(&app, &w, state.path(), Duration::hours(2)).await;
        let dir = tempfile::tempdir().unwrap();

        let by_resource = FocusRecord {
            resource_id: Some(external.clone()),
            ..record("1.25")
        };
        let by_tag = FocusRecord {
            tags: Some(BTreeMap::from([(
                makonis_app::metering::SYSTEM_TAG.to_owned(),
                serde_json::json!("web"),
            )])),
            sub_account_id: Some("IST".into()),
            ..record("2.50")
        };
        let by_account = FocusRecord {
            sub_account_id: Some("ist".into()),
            charge_category: ChargeCategory::Tax,
            pricing_quantity: None,
            pricing_unit: None,
            ..record("0.21")
        };
        let nobody = FocusRecord {
            billing_account_id: "ACME-999".into(),
            ..record("9.99")
        };
        let good = dir.path().join("bill-2026-10.csv");
        write(&good, &[by_resource, by_tag, by_account, nobody.clone()]);

        // A bad line at the end: nothing is written.
        let bad = dir.path().join("bad.csv");
        let mut text = std::fs::read_to_string(&good).unwrap();
        let last = text.lines().last().unwrap().replace(",EUR,", ",USD,");
        text.push_str(&last);
        text.push('\n');
        std::fs::File::create(&bad)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        match app
            .import_focus(&w.broker, w.provider, "bad.csv", &bad, None)
            .await
        {
            Err(Error::Invalid(e)) => {
                assert_eq!(e[0].field, "file");
                assert!(
                    e[0].message
                        .starts_with("bad.csv: line 6, column BillingCurrency"),
                    "{label}: {}",
                    e[0].message
                );
                assert_eq!(e[0].params["line"], "6");
            }
            other => panic!("{label}: {other:?}"),
        }
        assert!(
            app.focus_imports(&w.broker).await.unwrap().is_empty(),
            "{label}"
        );
        assert!(
            app.unmapped_charges(&w.broker, true)
                .await
                .unwrap()
                .is_empty()
        );

        // Members may not import; the provider's institution-less import is the Broker's.
        assert!(matches!(
            app.import_focus(&w.member, w.provider, "x.csv", &good, None)
                .await,
            Err(Error::Forbidden { .. })
        ));
        let phases = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = phases.clone();
        let progress: makonis_app::metering::Progress =
            std::sync::Arc::new(move |phase, bytes| seen.lock().unwrap().push((phase, bytes)));
        let import = app
            .import_focus(
                &w.broker,
                w.provider,
                "bill-2026-10.csv",
                &good,
                Some(progress),
            )
            .await
            .unwrap();
        assert_eq!(
            (import.records, import.mapped, import.unmapped),
            (4, 3, 1),
            "{label}"
        );
        assert_eq!(import.billed_cost, d("13.95"));
        let file_len = std::fs::metadata(&good).unwrap().len();
        assert!(phases.lock().unwrap().iter().any(|(_, b)| *b == file_len));

        // The same file again is refused by its content hash.
        match app
            .import_focus(&w.broker, w.provider, "again.csv", &good, None)
            .await
        {
            Err(Error::Invalid(e)) => {
                assert_eq!(e[0].code, "duplicate", "{label}");
                assert!(e[0].message.contains("would charge twice"));
            }
            other => panic!("{label}: {other:?}"),
        }

        let month = Month::of(Utc::now()).previous();
        let charges: Vec<_> = app
            .charges(&w.member, w.institution, month)
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.source == "import")
            .collect();
        assert_eq!(charges.len(), 3, "{label}");
        let tagged = charges.iter().find(|c| c.cost == d("2.50")).unwrap();
        assert_eq!(tagged.information_system_id, Some(w.system));
        let by_resource = charges.iter().find(|c| c.cost == d("1.25")).unwrap();
        assert_eq!(by_resource.offering_id, Some(w.offering));
        let institution_wide = charges.iter().find(|c| c.cost == d("0.21")).unwrap();
        assert_eq!(institution_wide.information_system_id, None);
        assert_eq!(institution_wide.charge_category, "Tax");

        // The Broker maps the unknown line to the institution.
        let open = app.unmapped_charges(&w.broker, true).await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].line, Some(5));
        assert!(open[0].reason.contains("ACME-999"), "{}", open[0].reason);
        assert!(matches!(
            app.unmapped_charges(&w.admin, true).await,
            Err(Error::Forbidden { .. })
        ));
        let booked = app
            .resolve_unmapped(
                &w.broker,
                &open[0].id,
                &ResolveUnmappedInput {
                    institution_id: w.institution,
                    information_system_id: Some(w.system),
                },
            )
            .await
            .unwrap();
        assert_eq!(booked.cost, d("9.99"));
        assert!(
            booked.agreement_id.is_some(),
            "{label}: under the active agreement"
        );
        assert!(
            app.unmapped_charges(&w.broker, true)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            app.resolve_unmapped(
                &w.broker,
                &open[0].id,
                &ResolveUnmappedInput {
                    institution_id: w.institution,
                    information_system_id: None
                }
            )
            .await
            .is_err(),
            "{label}: resolved once"
        );
        let total: Decimal = app
            .charges(&w.member, w.institution, month)
            .await
            .unwrap()
            .iter()
            .filter(|c| c.source == "import")
            .map(|c| c.cost)
            .sum();
        assert_eq!(
            total,
            d("13.95"),
            "{label}: every line of the bill is charged once"
        );
    }
}

#[tokio::test]
async fn budgets_alert_once_per_threshold_and_shared_costs_add_up() {
    for (store, state) in engines().await {
        let label = store.label;
        let app = App::new(
            store.datastore.clone(),
            SecretBox::random(),
            config(state.path()),
        );
        let w = world(&app, 20).await;
        running_vm(&app, &w, state.path(), Duration::hours(6)).await;
        app.collect_usage().await.unwrap();
        let spent: Decimal = app
            .charges(&w.member, w.institution, Month::of(Utc::now()))
            .await
            .unwrap()
            .iter()
            .map(|c| c.cost)
            .sum();
        assert!(spent > Decimal::ZERO, "{label}");

        let input = BudgetInput {
            institution_id: w.institution,
            information_system_id: None,
            monthly_amount: (spent * d("1.2")).round_dp(2),
            thresholds: vec![50, 80, 1000],
        };
        // Members read, admins set.
        assert!(matches!(
            app.set_budget(&w.member, &input).await,
            Err(Error::Forbidden { .. })
        ));
        let bad = BudgetInput {
            thresholds: vec![80, 50],
            ..input.clone()
        };
        match app.set_budget(&w.admin, &bad).await {
            Err(Error::Invalid(e)) => assert_eq!(e[0].field, "thresholds[1]"),
            other => panic!("{label}: {other:?}"),
        }
        app.set_budget(&w.admin, &input).await.unwrap();
        let alerts = app.notifications(&w.admin, true).await.unwrap();
        let budget_alerts: Vec<_> = alerts
            .iter()
            .filter(|n| n.kind == "budget.threshold")
            .collect();
        assert_eq!(
            budget_alerts.len(),
            2,
            "{label}: 50% and 80% crossed: {alerts:?}"
        );
        assert!(
            budget_alerts[0]
                .detail
                .as_deref()
                .unwrap()
                .contains("monthly budget")
        );
        assert_eq!(
            app.check_budgets().await.unwrap(),
            0,
            "{label}: once per month"
        );
        let status = app.budgets(&w.member, w.institution).await.unwrap();
        assert_eq!(status[0].crossed, vec![50, 80]);
        assert!(status[0].used_pct >= 80, "{label}: {status:?}");

        // A shared cost goes to the only institution charged there, to the cent.
        let month = Month::of(Utc::now());
        let shares = app
            .allocate_shared_cost(
                &w.broker,
                &SharedCostInput {
                    provider_id: w.provider,
                    month,
                    amount: d("123.45"),
                    description: "Platform operations".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(shares.len(), 1);
        assert_eq!(shares[0].amount, d("123.45"));
        assert!(
            app.allocate_shared_cost(
                &w.broker,
                &SharedCostInput {
                    provider_id: w.provider,
                    month: month.previous().previous(),
                    amount: d("1"),
                    description: "Nobody used it".into(),
                },
            )
            .await
            .is_err(),
            "{label}: nothing to split by"
        );
    }
}

/// The demo's costs come from the real paths: simulated VMs' usage rated by
/// the collector (with commercial equivalents) and providers' FOCUS bills.
#[tokio::test]
async fn the_demo_has_statements_and_charts_from_sim_usage_and_bills() {
    let store = makonis_db::testing::sqlite().await;
    let state = tempfile::tempdir().unwrap();
    let app = App::new(
        store.datastore.clone(),
        SecretBox::random(),
        config(state.path()),
    );
    makonis_demo::seed(&app).await.unwrap();
    let sys = makonis_app::OpContext::system("t");
    let statements = app.statements(&sys, None).await.unwrap();
    assert_eq!(statements.len(), 2, "PMLP's and VID's: {statements:?}");
    let last_month = Month::of(Utc::now()).previous();
    for s in &statements {
        assert_eq!(s.month, last_month);
        assert!(s.total > Decimal::ZERO);
        let full = app.statement(&sys, s.id).await.unwrap();
        let charges = app
            .charges(&sys, s.institution_id, last_month)
            .await
            .unwrap();
        assert_eq!(
            full.summary.exact_total,
            charges.iter().map(|c| c.cost).sum::<Decimal>()
        );
    }
    // PMLP's statement is from sim usage, compared with commercial prices.
    let pmlp = statements
        .iter()
        .find(|s| s.commercial_total > Decimal::ZERO)
        .expect("a statement with commercial equivalents");
    let charges = app
        .charges(&sys, pmlp.institution_id, last_month)
        .await
        .unwrap();
    assert!(
        charges
            .iter()
            .all(|c| c.source == "usage" && c.quantity == Some(d("2")))
    );
    assert!(
        charges.len() >= 24 * 28,
        "a month of hourly usage: {}",
        charges.len()
    );
    let series = app
        .cost_series(
            &sys,
            pmlp.institution_id,
            last_month.previous(),
            Month::of(Utc::now()),
            makonis_app::metering::CostGrouping::System,
        )
        .await
        .unwrap();
    assert!(
        series.iter().all(|p| p.group == "PMLP-PORT") && series.len() >= 2,
        "{series:?}"
    );
    // Its usage trend: two VMs for every hour of last month, in the
    // offering's unit.
    let usage = app
        .usage_series(
            &sys,
            Some(pmlp.institution_id),
            last_month,
            last_month,
            makonis_app::metering::CostGrouping::System,
        )
        .await
        .unwrap();
    let hours = (last_month.end() - last_month.start()).num_hours();
    assert_eq!(
        usage,
        vec![UsagePoint {
            month: last_month,
            unit: "Instance-Hours".into(),
            group: "PMLP-PORT".into(),
            quantity: Decimal::from(2 * hours),
        }]
    );
    // The federation's view: LVRTC's charges are other institutions' use.
    let split = app.provider_split(&sys, last_month).await.unwrap();
    let lvrtc = split.iter().find(|p| p.provider == "LVRTC").unwrap();
    assert!(
        lvrtc.shared > Decimal::ZERO && lvrtc.institutions >= 2,
        "{lvrtc:?}"
    );
    assert!(matches!(
        app.provider_split(&app_member(&app).await, last_month)
            .await,
        Err(Error::Forbidden { .. })
    ));
    // The bills: one unknown account waits for the Broker.
    assert!(!app.unmapped_charges(&sys, true).await.unwrap().is_empty());
}

async fn app_member(app: &App) -> makonis_app::OpContext {
    let vid = app
        .list_institutions(
            &makonis_app::OpContext::system("t"),
            Some("VID"),
            Default::default(),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|i| i.short_name == "VID")
        .unwrap();
    person(app, "member2@vid.lv", Role::Member, Some(vid.id)).await
}

/// A usage line of a bill in `month` for `account` (an institution's short
/// name), optionally tagged with a system code.
fn bill_line(
    month: Month,
    account: &str,
    system: Option<&str>,
    category: ServiceCategory,
    unit: &str,
    quantity: &str,
    price: &str,
) -> FocusRecord {
    let cost = d(quantity) * d(price);
    FocusRecord {
        billed_cost: cost,
        contracted_cost: cost,
        effective_cost: cost,
        list_cost: cost,
        billing_period_start: month.start(),
        billing_period_end: month.end(),
        charge_period_start: month.start() + Duration::days(2),
        charge_period_end: month.start() + Duration::days(3),
        pricing_quantity: Some(d(quantity)),
        pricing_unit: Some(unit.into()),
        service_category: category,
        sub_account_id: Some(account.into()),
        tags: system.map(|s| {
            BTreeMap::from([(
                makonis_app::metering::SYSTEM_TAG.to_owned(),
                serde_json::json!(s),
            )])
        }),
        ..record("0")
    }
}

/// Usage trends: net quantity per month and unit, from the charges'
/// quantities, only for those who may read the institution's costs, and
/// the federation's for the platform.
#[tokio::test]
async fn usage_series_sums_quantities_per_month_and_unit_for_whom_may_read_them() {
    use makonis_app::metering::CostGrouping;
    for (store, state) in engines().await {
        let label = store.label;
        let app = App::new(
            store.datastore.clone(),
            SecretBox::random(),
            config(state.path()),
        );
        let w = world(&app, 20).await;
        let other = other_tenant(&app).await;
        let m1 = Month::of(Utc::now()).previous();
        let m0 = m1.previous();
        let hours = |m, account, q: &str| {
            bill_line(
                m,
                account,
                Some("web"),
                ServiceCategory::Compute,
                "Instance-Hours",
                q,
                "0.084",
            )
        };
        let gb = |m, q: &str| {
            bill_line(
                m,
                "IST",
                None,
                ServiceCategory::Storage,
                "GB-Months",
                q,
                "0.061",
            )
        };
        // m1's bill corrects 20 of m0's hours (a correction of an earlier
        // period, booked in m1, the month it was billed).
        let correction = FocusRecord {
            charge_class: Some(makonis_metering::ChargeClass::Correction),
            charge_period_start: m0.start() + Duration::days(4),
            charge_period_end: m0.start() + Duration::days(5),
            ..hours(m1, "IST", "-20")
        };
        // Not usage: a purchase with a quantity, a tax line.
        let purchase = FocusRecord {
            charge_category: ChargeCategory::Purchase,
            ..bill_line(
                m1,
                "IST",
                None,
                ServiceCategory::Security,
                "Licenses",
                "3",
                "15",
            )
        };
        let tax = FocusRecord {
            charge_category: ChargeCategory::Tax,
            pricing_quantity: None,
            pricing_unit: None,
            sub_account_id: Some("IST".into()),
            ..record("4.20")
        };
        let bill = [
            hours(m0, "IST", "100"),
            gb(m0, "50.5"),
            hours(m1, "IST", "120"),
            correction,
            gb(m1, "60.25"),
            purchase,
            tax,
            // Another institution's usage at the same provider.
            bill_line(
                m1,
                "CITA",
                None,
                ServiceCategory::Compute,
                "Instance-Hours",
                "999",
                "0.084",
            ),
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.csv");
        write(&path, &bill);
        let import = app
            .import_focus(&w.broker, w.provider, "usage.csv", &path, None)
            .await
            .unwrap();
        assert_eq!((import.records, import.unmapped), (8, 0), "{label}");
        // Two hours collected from the driver, in Mākonis' own unit
        // (`instance_hour`): they add up with the bill's Instance-Hours.
        let at = m1.start() + Duration::days(9);
        let collected = Charge {
            id: "collected-1".into(),
            source: "usage".into(),
            source_key: "sim/vm-1/vcpu/2".into(),
            month: m1,
            institution_id: w.institution,
            information_system_id: Some(w.system),
            agreement_id: None,
            provider_id: w.provider,
            offering_id: Some(w.offering),
            resource_id: Some("vm-1".into()),
            service_category: "Compute".into(),
            service_name: "VM".into(),
            charge_category: "Usage".into(),
            charge_class: None,
            metric: Some("instance_hour".into()),
            unit: Some("instance_hour".into()),
            quantity: Some(d("2")),
            unit_price: Some(d("0.05")),
            price_list_id: None,
            price_list_version: None,
            cost: d("0.10"),
            currency: "EUR".into(),
            commercial_cost: None,
            commercial_ref: None,
            period_start: at,
            period_end: at + Duration::hours(1),
            description: "2 instance-hours".into(),
            import_id: None,
            created_at: Utc::now(),
        };
        let mut tx = store.datastore.begin().await.unwrap();
        assert!(
            makonis_db::metering::insert_charge(&mut tx, &collected)
                .await
                .unwrap()
        );
        makonis_db::commit(tx).await.unwrap();
        // A shared cost is charged as Usage with quantity 1: not usage.
        let shares = app
            .allocate_shared_cost(
                &w.broker,
                &SharedCostInput {
                    provider_id: w.provider,
                    month: m1,
                    amount: d("10.00"),
                    description: "Platform operations".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(shares.len(), 2, "{label}: IST and CITA");

        let point = |month, unit: &str, group: &str, quantity: &str| UsagePoint {
            month,
            unit: unit.into(),
            group: group.into(),
            quantity: d(quantity),
        };
        let by_system = app
            .usage_series(&w.member, Some(w.institution), m0, m1, CostGrouping::System)
            .await
            .unwrap();
        assert_eq!(
            by_system,
            vec![
                point(m0, "GB-Months", "—", "50.5"),
                point(m0, "Instance-Hours", "WEB", "100"),
                point(m1, "GB-Months", "—", "60.25"),
                // 120 billed − 20 corrected + 2 collected
                point(m1, "Instance-Hours", "WEB", "102"),
            ],
            "{label}"
        );
        let by_category = app
            .usage_series(
                &w.admin,
                Some(w.institution),
                m0,
                m1,
                CostGrouping::ServiceCategory,
            )
            .await
            .unwrap();
        assert_eq!(
            by_category,
            vec![
                point(m0, "GB-Months", "Storage", "50.5"),
                point(m0, "Instance-Hours", "Compute", "100"),
                point(m1, "GB-Months", "Storage", "60.25"),
                point(m1, "Instance-Hours", "Compute", "102"),
            ],
            "{label}"
        );
        // One month only; the Broker may read any institution's.
        let by_provider = app
            .usage_series(
                &w.broker,
                Some(w.institution),
                m1,
                m1,
                CostGrouping::Provider,
            )
            .await
            .unwrap();
        assert_eq!(
            by_provider,
            vec![
                point(m1, "GB-Months", "SIM", "60.25"),
                point(m1, "Instance-Hours", "SIM", "102"),
            ],
            "{label}"
        );
        // The other institution sees its own usage only, and not IST's.
        let cita = app
            .list_institutions(&w.broker, Some("CITA"), Default::default())
            .await
            .unwrap()
            .items[0]
            .id;
        assert_eq!(
            app.usage_series(&other, Some(cita), m0, m1, CostGrouping::System)
                .await
                .unwrap(),
            vec![point(m1, "Instance-Hours", "—", "999")],
            "{label}"
        );
        assert!(matches!(
            app.usage_series(&other, Some(w.institution), m0, m1, CostGrouping::System)
                .await,
            Err(Error::NotFound { .. })
        ));
        // The whole federation: the platform's, not an institution's people.
        for ctx in [&other, &w.member, &w.admin] {
            assert!(matches!(
                app.usage_series(ctx, None, m0, m1, CostGrouping::System)
                    .await,
                Err(Error::Forbidden { .. })
            ));
        }
        let federation = app
            .usage_series(&w.broker, None, m0, m1, CostGrouping::System)
            .await
            .unwrap();
        assert_eq!(
            federation,
            vec![
                point(m0, "GB-Months", "IST/—", "50.5"),
                point(m0, "Instance-Hours", "IST/WEB", "100"),
                point(m1, "GB-Months", "IST/—", "60.25"),
                point(m1, "Instance-Hours", "CITA/—", "999"),
                point(m1, "Instance-Hours", "IST/WEB", "102"),
            ],
            "{label}"
        );
        // A range that ends before it starts is refused.
        assert!(matches!(
            app.usage_series(&w.member, Some(w.institution), m1, m0, CostGrouping::System)
                .await,
            Err(Error::Invalid(_))
        ));
    }
}

//! Demo costs. PMLP's member orders two VMs for its customer portal at
//! LVRTC; the order is approved, both sides sign, the simulator provisions
//! them, and the simulator's clock is moved back so they have run for
//! weeks: the usage collector rates those hours like any other, with their
//! commercial equivalent, and PMLP gets last month's statement. The demo's
//! providers also send their last three months' bills in
//! FOCUS 1.2, imported through the same path as a real bill (validated,
//! de-duplicated, mapped by the information-system tag and SubAccountId);
//! one line names an account nobody knows, so the Broker's unmapped list
//! has something to resolve. The Broker keeps commercial reference prices,
//! issues last month's statements, and VID has budgets, one of them
//! already past its first threshold.

use chrono::{Duration, Utc};
use makonis_app::Result;
use makonis_app::metering::SYSTEM_TAG;
use makonis_metering::focus::{ChargeCategory, ChargeFrequency, FocusRecord, ServiceCategory};
use makonis_types::catalogue::{BillingUnit, OfferingKind};
use makonis_types::metering::*;
use rust_decimal::Decimal;

use crate::{Seeder, sys_ctx};

/// (provider, institution, system, service, category, unit, quantity per month, unit price)
type BillLine = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    ServiceCategory,
    &'static str,
    i64,
    &'static str,
);

const BILL_LINES: &[BillLine] = &[
    (
        "LVRTC",
        "VID",
        "EDS",
        "Virtual machines m1.large",
        ServiceCategory::Compute,
        "Instance-Hours",
        5840,
        "0.0840",
    ),
    (
        "LVRTC",
        "VID",
        "EDS",
        "Block storage SSD",
        ServiceCategory::Storage,
        "GB-Months",
        4000,
        "0.0610",
    ),
    (
        "LVRTC",
        "VID",
        "EDS",
        "PostgreSQL managed",
        ServiceCategory::Databases,
        "Instance-Hours",
        1460,
        "0.2100",
    ),
    (
        "LVRTC",
        "VID",
        "NRS",
        "Virtual machines m1.medium",
        ServiceCategory::Compute,
        "Instance-Hours",
        2920,
        "0.0420",
    ),
    (
        "LVRTC",
        "VID",
        "NRS",
        "Block storage SSD",
        ServiceCategory::Storage,
        "GB-Months",
        1500,
        "0.0610",
    ),
    (
        "LAD",
        "VID",
        "MIS",
        "Virtual machines m1.xlarge",
        ServiceCategory::Compute,
        "Instance-Hours",
        2190,
        "0.1650",
    ),
    (
        "LAD",
        "VID",
        "MIS",
        "Object storage",
        ServiceCategory::Storage,
        "GB-Months",
        12000,
        "0.0190",
    ),
];

fn d(text: &str) -> Decimal {
    text.parse().unwrap_or_default()
}

fn record(provider: &str, month: Month) -> FocusRecord {
    FocusRecord {
        billed_cost: Decimal::ZERO,
        billing_account_id: format!("{provider}-VDAA"),
        billing_account_name: Some(format!("{provider} valsts mākonis")),
        billing_currency: "EUR".into(),
        billing_period_start: month.start(),
        billing_period_end: month.end(),
        charge_category: ChargeCategory::Usage,
        charge_class: None,
        charge_description: None,
        charge_period_start: month.start(),
        charge_period_end: month.end(),
        contracted_cost: Decimal::ZERO,
        effective_cost: Decimal::ZERO,
        invoice_issuer_name: provider.into(),
        list_cost: Decimal::ZERO,
        pricing_quantity: None,
        pricing_unit: None,
        provider_name: provider.into(),
        publisher_name: provider.into(),
        service_category: ServiceCategory::Other,
        service_name: String::new(),
        billing_account_type: None,
        charge_frequency: Some(ChargeFrequency::UsageBased),
        consumed_quantity: None,
        consumed_unit: None,
        contracted_unit_price: None,
        invoice_id: Some(format!("{provider}-{month}")),
        list_unit_price: None,
        pricing_category: None,
        pricing_currency: None,
        region_id: Some("lv-riga".into()),
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

/// One provider's FOCUS bill for a month: usage lines (a little growth each
/// month), 21 % VAT as a Tax line, and one line for an unknown account.
fn bill(
    provider: &str,
    month: Month,
    growth: Decimal,
    until: chrono::DateTime<Utc>,
) -> Vec<FocusRecord> {
    let mut lines = Vec::new();
    let mut net = Decimal::ZERO;
    for (p, institution, system, service, category, unit, quantity, price) in BILL_LINES {
        if *p != provider {
            continue;
        }
        let quantity = (Decimal::from(*quantity) * growth).round();
        let price = d(price);
        let cost = quantity * price;
        net += cost;
        let mut tags = std::collections::BTreeMap::new();
        tags.insert(SYSTEM_TAG.to_owned(), serde_json::json!(system));
        lines.push(FocusRecord {
            billed_cost: cost,
            contracted_cost: cost,
            effective_cost: cost,
            list_cost: cost,
            charge_description: Some(format!("{service}: {quantity} {unit}")),
            pricing_quantity: Some(quantity),
            pricing_unit: Some((*unit).into()),
            consumed_quantity: Some(quantity),
            consumed_unit: Some((*unit).into()),
            list_unit_price: Some(price),
            contracted_unit_price: Some(price),
            pricing_category: Some(makonis_metering::PricingCategory::Standard),
            service_category: *category,
            service_name: (*service).into(),
            sub_account_id: Some((*institution).into()),
            tags: Some(tags),
            charge_period_end: until,
            ..record(provider, month)
        });
    }
    let stray = d("48.20");
    lines.push(FocusRecord {
        billed_cost: stray,
        contracted_cost: stray,
        effective_cost: stray,
        list_cost: stray,
        charge_description: Some("Backup storage, account not in the registry".into()),
        pricing_quantity: Some(d("2536.84")),
        pricing_unit: Some("GB-Months".into()),
        service_category: ServiceCategory::Storage,
        service_name: "Backup storage".into(),
        sub_account_id: Some("LEGACY-0042".into()),
        billing_account_id: "LEGACY-0042".into(),
        ..record(provider, month)
    });
    let vat = (net * d("0.21")).round_dp(2);
    lines.push(FocusRecord {
        billed_cost: vat,
        contracted_cost: vat,
        effective_cost: vat,
        list_cost: vat,
        charge_category: ChargeCategory::Tax,
        charge_frequency: Some(ChargeFrequency::OneTime),
        charge_description: Some("PVN 21 %".into()),
        service_category: ServiceCategory::Other,
        service_name: "PVN".into(),
        sub_account_id: Some("VID".into()),
        ..record(provider, month)
    });
    lines
}

/// How long the demo's simulated VMs have been running.
const DEMO_VM_AGE_DAYS: i64 = 75;

impl Seeder {
    /// PMLP's customer portal runs on two simulated VMs at LVRTC; their
    /// usage since they started is collected and rated, and PMLP's statement
    /// for last month is issued.
    pub(crate) async fn seed_demo_sim_usage(&self, state: &std::path::Path) -> Result<()> {
        use makonis_types::order::{Decision, DecisionInput, NewOrderInput, OrderState};
        let sys = sys_ctx();
        let member = self.demo_person("darbinieks@pmlp.gov.lv").await?;
        let admin = self.demo_person("admin@pmlp.gov.lv").await?;
        let broker = self.demo_person("brokeris@vdaa.gov.lv").await?;
        let systems = self
            .app
            .list_information_systems(
                &sys,
                &makonis_types::information_system::InformationSystemFilter {
                    q: Some("PMLP-PORT".into()),
                    ..Default::default()
                },
                Default::default(),
            )
            .await?;
        let Some(portal) = systems.items.into_iter().find(|s| s.code == "PMLP-PORT") else {
            return Ok(());
        };
        let today = Utc::now().date_naive();
        let vms = self
            .app
            .search_catalogue(
                &sys,
                &makonis_types::catalogue::CatalogueFilter {
                    kind: Some(OfferingKind::Vm),
                    q: Some("m1.medium".into()),
                    ..Default::default()
                },
                today,
                makonis_types::paging::PageRequest {
                    limit: Some(500),
                    offset: None,
                },
            )
            .await?;
        let Some(offering) = vms
            .items
            .iter()
            .find(|e| e.provider_short_name == "LVRTC" && e.offering.name.starts_with("m1.medium"))
        else {
            return Ok(());
        };
        let provider = offering.offering.provider_id;
        let created = self
            .app
            .create_order(
                &member,
                &NewOrderInput {
                    information_system_id: portal.id,
                    offering_id: offering.offering.id,
                    quantity: 2,
                    note: Some("Klientu portāla lietojumserveri".into()),
                    submit: true,
                },
            )
            .await?;
        let id = created.order.id;
        self.app
            .decide_order(
                &admin,
                id,
                &DecisionInput {
                    decision: Decision::Approve,
                    reason: None,
                },
            )
            .await?;
        let agreement = self
            .app
            .get_order(&member, id)
            .await?
            .order
            .agreement_id
            .ok_or(makonis_app::Error::NotFound { kind: "agreement" })?;
        self.app.sign_agreement(&broker, agreement, None).await?;
        self.app
            .sign_agreement(&admin, agreement, Some("VDAA/PMLP/2026/17"))
            .await?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let order = self.app.get_order(&member, id).await?.order;
            match order.state {
                OrderState::Active => break,
                OrderState::Failed => {
                    return Err(makonis_app::Error::internal(format!(
                        "demo order for PMLP-PORT failed: {}",
                        order.reason.unwrap_or_default()
                    )));
                }
                _ if std::time::Instant::now() > deadline => {
                    return Err(makonis_app::Error::internal(
                        "demo order for PMLP-PORT did not become active",
                    ));
                }
                _ => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            }
        }
        let sim = makonis_drivers::sim::SimDriver::new(
            state.join("sim").join(format!("{provider}.json")),
            makonis_drivers::sim::SimConfig::default(),
        );
        makonis_drivers::sim::backdate(&sim, Duration::days(DEMO_VM_AGE_DAYS))
            .await
            .map_err(makonis_app::Error::internal)?;
        {
            let mut tx = self.app.datastore().begin().await?;
            makonis_db::metering::set_collected_until(
                &mut tx,
                provider,
                Utc::now() - Duration::days(DEMO_VM_AGE_DAYS + 1),
            )
            .await?;
            makonis_db::commit(tx).await?;
        }
        self.app.collect_usage().await?;
        self.app
            .issue_statement(
                &sys,
                &IssueStatementInput {
                    institution_id: portal.institution_id,
                    month: Month::of(Utc::now()).previous(),
                    reason: None,
                },
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn seed_demo_costs(&self, state: Option<&std::path::Path>) -> Result<()> {
        let sys = sys_ctx();
        let today = Utc::now().date_naive();
        for (sku, kind, vcpu, ram, unit, price) in [
            (
                "m7i.large",
                OfferingKind::Vm,
                2,
                8,
                BillingUnit::InstanceHour,
                "0.1058",
            ),
            (
                "m7i.xlarge",
                OfferingKind::Vm,
                4,
                16,
                BillingUnit::InstanceHour,
                "0.2116",
            ),
            (
                "m7i.2xlarge",
                OfferingKind::Vm,
                8,
                32,
                BillingUnit::InstanceHour,
                "0.4232",
            ),
            (
                "gp3",
                OfferingKind::Volume,
                0,
                0,
                BillingUnit::GbMonth,
                "0.0952",
            ),
            (
                "s3-standard",
                OfferingKind::Bucket,
                0,
                0,
                BillingUnit::GbMonth,
                "0.0245",
            ),
            (
                "db.m7g.large",
                OfferingKind::Database,
                2,
                8,
                BillingUnit::InstanceHour,
                "0.1880",
            ),
        ] {
            self.app
                .add_commercial_price(
                    &sys,
                    &CommercialPriceInput {
                        reference: "Hyperscaler eu-north-1 on-demand 2026".into(),
                        sku: sku.into(),
                        kind,
                        vcpu,
                        ram_gb: ram,
                        unit,
                        unit_price: d(price),
                        valid_from: today - Duration::days(365),
                        valid_until: None,
                    },
                )
                .await?;
        }
        if let Some(state) = state {
            self.seed_demo_sim_usage(state).await?;
        }
        let providers = self.app.list_providers(&sys).await?;
        // Without a state directory the bills are only needed while they
        // are imported.
        let scratch;
        let dir = match state {
            Some(s) => s.join("bills"),
            None => {
                scratch = tempfile::tempdir().map_err(makonis_app::Error::internal)?;
                scratch.path().to_owned()
            }
        };
        std::fs::create_dir_all(&dir).map_err(makonis_app::Error::internal)?;
        let this_month = Month::of(Utc::now());
        let months = [
            this_month.previous().previous().previous(),
            this_month.previous().previous(),
            this_month.previous(),
            this_month,
        ];
        // The current month is billed to date (a daily export), in
        // proportion to the hours gone.
        let now = Utc::now();
        let elapsed = Decimal::from((now - this_month.start()).num_hours().max(24))
            / Decimal::from((this_month.end() - this_month.start()).num_hours());
        for provider in ["LVRTC", "LAD"] {
            let Some(p) = providers.iter().find(|p| p.short_name == provider) else {
                continue;
            };
            for (i, month) in months.iter().enumerate() {
                let mut growth = Decimal::ONE + Decimal::from(i as i64) * d("0.04");
                let mut until = month.end();
                if *month == this_month {
                    growth *= elapsed;
                    until = now.max(month.start() + Duration::days(1));
                }
                let mut writer = makonis_metering::FocusWriter::new(Vec::new())
                    .map_err(makonis_app::Error::internal)?;
                for r in bill(provider, *month, growth, until) {
                    writer.write(&r).map_err(makonis_app::Error::internal)?;
                }
                let path = dir.join(format!("{provider}-{month}.csv"));
                std::fs::write(
                    &path,
                    writer.finish().map_err(makonis_app::Error::internal)?,
                )
                .map_err(makonis_app::Error::internal)?;
                let name = format!("{provider}-{month}.csv");
                self.app
                    .import_focus(&sys, p.id, &name, &path, None)
                    .await?;
            }
        }
        let vid = self
            .app
            .list_institutions(&sys, Some("VID"), Default::default())
            .await?
            .items
            .into_iter()
            .find(|i| i.short_name == "VID");
        if let Some(vid) = vid {
            self.app
                .issue_statement(
                    &sys,
                    &IssueStatementInput {
                        institution_id: vid.id,
                        month: this_month.previous(),
                        reason: None,
                    },
                )
                .await?;
            // A budget the month to date has used about 60 % of, so the
            // first alert shows.
            let spent: Decimal = self
                .app
                .charges(&sys, vid.id, this_month)
                .await?
                .iter()
                .map(|c| c.cost)
                .sum();
            let budget = ((spent / d("0.6")) / Decimal::ONE_HUNDRED).ceil() * Decimal::ONE_HUNDRED;
            self.app
                .set_budget(
                    &sys,
                    &BudgetInput {
                        institution_id: vid.id,
                        information_system_id: None,
                        monthly_amount: budget.max(Decimal::ONE_HUNDRED),
                        thresholds: vec![50, 80, 100],
                    },
                )
                .await?;
        }
        Ok(())
    }
}

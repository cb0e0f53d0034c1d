//! A small federation for app tests that provision: one institution with a
//! category C system, a simulated provider with one VM offering and a price
//! list, and the people who order, approve and sign. Shared by the
//! provisioning and metering tests.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use makonis_app::{Actor, App, AppConfig, OpContext};
use makonis_db::testing::{self, TestDatastore};
use makonis_drivers::sim::{SimConfig, SimDriver};
use makonis_types::InstitutionId;
use makonis_types::catalogue::*;
use makonis_types::federation::*;
use makonis_types::information_system::*;
use makonis_types::institution::{InstitutionInput, InstitutionKind};
use makonis_types::order::*;
use makonis_types::roles::{NewRoleAssignment, Role};
use makonis_types::user::NewUserInput;

pub fn config(state: &Path) -> AppConfig {
    AppConfig {
        state_dir: Some(state.to_owned()),
        poll_interval: Duration::from_millis(40),
        provision_timeout: Duration::from_secs(20),
        ..AppConfig::default()
    }
}

pub struct World {
    pub member: OpContext,
    pub owner: OpContext,
    pub broker: OpContext,
    pub admin: OpContext,
    pub system: makonis_types::InformationSystemId,
    pub offering: OfferingId,
    pub provider: ProviderId,
    pub institution: InstitutionId,
}

pub async fn person(app: &App, email: &str, role: Role, inst: Option<InstitutionId>) -> OpContext {
    let sys = OpContext::system("t");
    let created = app
        .create_user(
            &sys,
            &NewUserInput {
                email: email.into(),
                display_name: email.into(),
                institution_id: inst,
                password: "provisioning-pass".into(),
                roles: vec![NewRoleAssignment {
                    role,
                    institution_id: if role == Role::Broker { None } else { inst },
                }],
            },
        )
        .await
        .unwrap();
    OpContext {
        actor: Actor::User {
            user: created.user,
            roles: created.roles,
            token_scope: None,
        },
        request_id: "t".into(),
    }
}

/// A category C system, a simulated provider with `delay_ms`, one VM offering.
pub async fn world(app: &App, delay_ms: u64) -> World {
    let sys = OpContext::system("t");
    let inst = app
        .create_institution(
            &sys,
            &InstitutionInput {
                name: "Iestāde".into(),
                short_name: "IST".into(),
                registration_number: None,
                kind: InstitutionKind::Recipient,
            },
        )
        .await
        .unwrap()
        .id;
    let system = app
        .create_information_system(
            &sys,
            inst,
            &InformationSystemInput {
                code: "WEB".into(),
                name: "Tīmekļvietne".into(),
                description: None,
                responsible_person: "Anna".into(),
                responsible_email: None,
                security_category: SecurityCategory::C,
                critical_infrastructure: false,
                data_classification: DataClassification::Public,
                rpo_minutes: 1440,
                rto_minutes: 2880,
                embassy_required: false,
                lifecycle: Lifecycle::Production,
            },
        )
        .await
        .unwrap()
        .id;
    let provider = app
        .create_provider(
            &sys,
            &ProviderInput {
                name: "Simulētais mākonis".into(),
                short_name: "SIM".into(),
                institution_id: None,
                kind: ProviderKind::State,
                platform: PlatformFamily::OpenStack,
                endpoint: Some(format!("sim://local?delay_ms={delay_ms}&capacity=20")),
                credentials: None,
            },
        )
        .await
        .unwrap()
        .id;
    let site = app
        .add_site(
            &sys,
            provider,
            &SiteInput {
                name: "Rīga".into(),
                country: "LV".into(),
                latitude: 56.9,
                longitude: 24.1,
                uptime_tier: 3,
            },
        )
        .await
        .unwrap()
        .id;
    let offering = app
        .create_offering(
            &sys,
            provider,
            &OfferingInput {
                site_id: site,
                kind: OfferingKind::Vm,
                tier: ServiceTier::Basic,
                name: "m1.small".into(),
                description: None,
                vcpu: 2,
                ram_gb: 4,
                storage_gb: 40,
                unit: BillingUnit::InstanceHour,
                sla: Sla {
                    availability_pct: "99.9".parse().unwrap(),
                    support_hours: SupportHours::Always,
                    response_minutes: 30,
                    rpo_minutes: None,
                    rto_minutes: None,
                },
                capacity_units: 20,
                active: true,
            },
        )
        .await
        .unwrap()
        .id;
    let today = chrono::Utc::now().date_naive();
    app.create_price_list(
        &sys,
        provider,
        &PriceListInput {
            version: "1".into(),
            valid_from: today - chrono::Duration::days(1),
            valid_until: None,
            currency: "EUR".into(),
            items: vec![PriceItem {
                offering_id: offering,
                unit_price: "0.02".parse().unwrap(),
            }],
        },
    )
    .await
    .unwrap();
    World {
        member: person(app, "member@ist.lv", Role::Member, Some(inst)).await,
        owner: person(app, "owner@ist.lv", Role::IsOwner, Some(inst)).await,
        broker: person(app, "broker@vdaa.gov.lv", Role::Broker, None).await,
        admin: person(app, "admin@ist.lv", Role::InstitutionAdmin, Some(inst)).await,
        system,
        offering,
        provider,
        institution: inst,
    }
}

pub async fn order(app: &App, w: &World, quantity: i64) -> OrderId {
    order_of(app, w, w.offering, quantity).await
}

/// Orders `quantity` of an offering for the world's system, submitted and
/// approved by the IS owner.
pub async fn order_of(app: &App, w: &World, offering: OfferingId, quantity: i64) -> OrderId {
    let d = app
        .create_order(
            &w.member,
            &NewOrderInput {
                information_system_id: w.system,
                offering_id: offering,
                quantity,
                note: None,
                submit: true,
            },
        )
        .await
        .unwrap();
    app.decide_order(
        &w.owner,
        d.order.id,
        &DecisionInput {
            decision: Decision::Approve,
            reason: None,
        },
    )
    .await
    .unwrap();
    d.order.id
}

/// Signs the order's agreement on both sides unless it is already in
/// force (the first order with a provider creates it).
pub async fn agree(app: &App, w: &World, id: OrderId) {
    let order = app.get_order(&w.member, id).await.unwrap().order;
    let Some(agreement) = order.agreement_id else {
        return;
    };
    if app
        .get_agreement(&w.member, agreement)
        .await
        .unwrap()
        .status
        == AgreementStatus::Active
    {
        return;
    }
    app.sign_agreement(&w.broker, agreement, None)
        .await
        .unwrap();
    app.sign_agreement(&w.admin, agreement, Some("VDAA/T/1"))
        .await
        .unwrap();
}

/// Approves an order and signs the agreement it created: provisioning starts.
pub async fn order_and_agree(app: &App, w: &World) -> OrderId {
    let id = order(app, w, 2).await;
    agree(app, w, id).await;
    id
}

pub async fn wait_for(app: &App, w: &World, id: OrderId, wanted: &[OrderState]) -> Order {
    wait_within(app, w, id, wanted, Duration::from_secs(30)).await
}

/// Waits until the order is in one of the `wanted` states, or fails the
/// test after `limit`.
pub async fn wait_within(
    app: &App,
    w: &World,
    id: OrderId,
    wanted: &[OrderState],
    limit: Duration,
) -> Order {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let o = app.get_order(&w.member, id).await.unwrap().order;
        if wanted.contains(&o.state) {
            return o;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "order stuck in {} (wanted {wanted:?}): {:?}",
            o.state,
            o.reason
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The world as a restarted process finds it: the member looked up again
/// (in every role slot; only the member's reads are used) and the provider.
pub async fn second_life(app: &App, provider: ProviderId) -> World {
    let sys = OpContext::system("t");
    let user = app
        .list_users(&sys, Some("member@ist.lv"), Default::default())
        .await
        .unwrap()
        .items
        .remove(0);
    let roles = app.get_user(&sys, user.id).await.unwrap().roles;
    let member = OpContext {
        actor: Actor::User {
            user,
            roles,
            token_scope: None,
        },
        request_id: "t".into(),
    };
    World {
        owner: member.clone(),
        broker: member.clone(),
        admin: member.clone(),
        member,
        system: makonis_types::InformationSystemId::new(),
        offering: OfferingId::new(),
        provider,
        institution: InstitutionId::new(),
    }
}

/// Runs `phase` on its own runtime and then drops the runtime, cancelling
/// every task at whatever await it had reached: a crash, as far as the
/// database and the provider can tell.
pub fn run_then_crash<T: Send + 'static>(
    phase: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>
    + Send
    + 'static,
) -> T {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let out = runtime.block_on(phase());
        runtime.shutdown_background();
        out
    })
    .join()
    .unwrap()
}

/// A failed order's reason once the saga has recorded its real cause: the
/// undo marks the order failed first (the crash-safe record), the cause
/// follows a moment later.
pub async fn failure(app: &App, w: &World, id: OrderId) -> Order {
    outcome_within(app, w, id, Duration::from_secs(30)).await
}

/// The order once active or failed, a failure with its real cause.
pub async fn outcome_within(app: &App, w: &World, id: OrderId, limit: Duration) -> Order {
    let mut order = wait_within(app, w, id, &[OrderState::Failed, OrderState::Active], limit).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while order.reason.as_deref() == Some("provisioning was undone")
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
        order = app.get_order(&w.member, id).await.unwrap().order;
    }
    order
}

pub fn sim(state: &Path, provider: ProviderId) -> SimDriver {
    SimDriver::new(
        state.join("sim").join(format!("{provider}.json")),
        SimConfig::default(),
    )
}

pub async fn engines() -> Vec<(TestDatastore, tempfile::TempDir)> {
    let mut out = Vec::new();
    for store in testing::all().await {
        out.push((store, tempfile::tempdir().unwrap()));
    }
    out
}

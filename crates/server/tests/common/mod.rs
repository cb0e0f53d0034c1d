//! In-process test server: a router over a fresh database, fixtures in two
//! institutions, and one signed-in principal per role, each with a portal
//! session (password + TOTP where the role demands it) and an API token.

#![allow(dead_code)]

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use makonis_app::identity::authn::current_totp_code;
use makonis_app::secrets::SecretBox;
use makonis_app::{App, AppConfig, OpContext};
use makonis_db::testing::TestDatastore;
use makonis_types::information_system::*;
use makonis_types::institution::{Institution, InstitutionInput, InstitutionKind};
use makonis_types::roles::{NewRoleAssignment, Role};
use makonis_types::token::{NewApiTokenInput, TokenScope};
use makonis_types::user::NewUserInput;
use makonis_types::{ApiTokenId, InformationSystemId, InstitutionId, RoleAssignmentId, UserId};
use tower::ServiceExt;

pub const PASSWORD: &str = "matrix-password-1";

pub struct Principal {
    pub name: &'static str,
    pub user_id: UserId,
    pub session: String,
    pub csrf: String,
    pub token: String,
    /// A second token of theirs, for the revoke routes.
    pub spare_tokens: Vec<ApiTokenId>,
}

pub struct TestServer {
    pub store: TestDatastore,
    /// Where the simulator keeps its state for this server.
    pub state: tempfile::TempDir,
    pub app: App,
    pub router: Router,
    pub a: Institution,
    pub b: Institution,
    pub system_a: InformationSystemId,
    pub user_a: UserId,
    /// A provider run by institution A, with one site and one offering.
    pub provider_a: makonis_types::federation::ProviderId,
    pub site_a: makonis_types::federation::SiteId,
    pub offering_a: makonis_types::catalogue::OfferingId,
    /// An eligible embassy site (Lisbon) where system A is protected.
    pub embassy_site: makonis_types::federation::SiteId,
    /// A draft agreement between A and provider A, from an approved order.
    pub agreement_a: makonis_types::order::AgreementId,
    /// A's statement for last month (version 1).
    pub statement_a: makonis_types::metering::StatementId,
    /// A FOCUS bill line nobody could be charged for, waiting for the Broker.
    pub unmapped_line: String,
    pub principals: BTreeMap<&'static str, Principal>,
    counter: std::sync::atomic::AtomicU32,
}

/// Principal name, role, scope institution ("A", "B" or platform).
/// The fixture's embassy repositories' password.
pub const EMBASSY_PASSWORD: &str = "embassy-fixture-pass";

pub const PRINCIPALS: &[(&str, Role, Option<&str>)] = &[
    ("admin", Role::PlatformAdmin, None),
    ("broker", Role::Broker, None),
    ("sec", Role::SecurityOfficer, None),
    ("aud", Role::Auditor, None),
    ("cust", Role::EmbassyCustodian, None),
    ("iadmin", Role::InstitutionAdmin, Some("A")),
    ("owner", Role::IsOwner, Some("A")),
    ("member", Role::Member, Some("A")),
    ("prov", Role::ProviderOperator, Some("A")),
    ("iaud", Role::Auditor, Some("A")),
    ("isec", Role::SecurityOfficer, Some("A")),
    ("outsider", Role::InstitutionAdmin, Some("B")),
];

pub fn system_input(code: &str) -> InformationSystemInput {
    InformationSystemInput {
        code: code.into(),
        name: format!("Sistēma {code}"),
        description: None,
        responsible_person: "Anna Kalniņa".into(),
        responsible_email: None,
        security_category: SecurityCategory::B,
        critical_infrastructure: false,
        data_classification: DataClassification::Restricted,
        rpo_minutes: 60,
        rto_minutes: 240,
        embassy_required: false,
        lifecycle: Lifecycle::Production,
    }
}

pub fn offering_input(
    site: makonis_types::federation::SiteId,
    name: &str,
) -> makonis_types::catalogue::OfferingInput {
    use makonis_types::catalogue::*;
    OfferingInput {
        site_id: site,
        kind: OfferingKind::Vm,
        tier: ServiceTier::Basic,
        name: name.into(),
        description: None,
        vcpu: 2,
        ram_gb: 4,
        storage_gb: 40,
        unit: BillingUnit::InstanceHour,
        sla: Sla {
            availability_pct: "99.95".parse().unwrap(),
            support_hours: SupportHours::Always,
            response_minutes: 30,
            rpo_minutes: None,
            rto_minutes: None,
        },
        capacity_units: 100,
        active: true,
    }
}

impl TestServer {
    pub async fn start(store: TestDatastore) -> Self {
        let state = tempfile::tempdir().unwrap();
        let app = App::new(
            store.datastore.clone(),
            SecretBox::random(),
            AppConfig {
                state_dir: Some(state.path().to_owned()),
                ..AppConfig::default()
            },
        );
        let router = makonis_server::router(app.clone(), makonis_server::ServerConfig::default());
        let sys = OpContext::system("fixture");
        let mk = |short: &str| InstitutionInput {
            name: format!("Iestāde {short}"),
            short_name: short.into(),
            registration_number: None,
            kind: InstitutionKind::Recipient,
        };
        let a = app.create_institution(&sys, &mk("A")).await.unwrap();
        let b = app.create_institution(&sys, &mk("B")).await.unwrap();
        let system_a = app
            .create_information_system(&sys, a.id, &system_input("SYSA"))
            .await
            .unwrap()
            .id;
        app.create_information_system(&sys, b.id, &system_input("SYSB"))
            .await
            .unwrap();
        let provider = app
            .create_provider(
                &sys,
                &makonis_types::federation::ProviderInput {
                    name: "A mākonis".into(),
                    short_name: "PA".into(),
                    institution_id: Some(a.id),
                    kind: makonis_types::federation::ProviderKind::State,
                    platform: makonis_types::federation::PlatformFamily::Sim,
                    endpoint: None,
                    credentials: None,
                },
            )
            .await
            .unwrap();
        let site = app
            .add_site(
                &sys,
                provider.id,
                &makonis_types::federation::SiteInput {
                    name: "Rīga".into(),
                    country: "LV".into(),
                    latitude: 56.95,
                    longitude: 24.1,
                    uptime_tier: 3,
                },
            )
            .await
            .unwrap();
        let offering = app
            .create_offering(&sys, provider.id, &offering_input(site.id, "m1.fixture"))
            .await
            .unwrap();
        let today = chrono::Utc::now().date_naive();
        for (kind, level) in [
            (
                makonis_types::federation::CertificationKind::NationalB,
                None,
            ),
            (makonis_types::federation::CertificationKind::Iso27001, None),
            (
                makonis_types::federation::CertificationKind::UptimeTier,
                Some("III".to_owned()),
            ),
        ] {
            app.add_certification(
                &sys,
                provider.id,
                &makonis_types::federation::CertificationInput {
                    site_id: None,
                    kind,
                    level,
                    issuer: "LATAK".into(),
                    valid_from: today - chrono::Duration::days(100),
                    valid_until: today + chrono::Duration::days(700),
                },
            )
            .await
            .unwrap();
        }
        // System A is under embassy protection at an eligible site abroad.
        let embassy_site = app
            .add_site(
                &sys,
                provider.id,
                &makonis_types::federation::SiteInput {
                    name: "Lisboa".into(),
                    country: "PT".into(),
                    latitude: 38.72,
                    longitude: -9.14,
                    uptime_tier: 3,
                },
            )
            .await
            .unwrap()
            .id;
        let primary = state.path().join("embassy/primary");
        let data = state.path().join("embassy/data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("registry.csv"), "id,name\n1,A\n").unwrap();
        let repo = makonis_embassy::Repository::init(
            std::sync::Arc::new(makonis_embassy::LocalBackend::new(&primary)),
            EMBASSY_PASSWORD,
            makonis_embassy::InitOptions {
                kdf: makonis_embassy::KdfParams::insecure_fast(),
                ..Default::default()
            },
        )
        .unwrap();
        makonis_embassy::ops::backup(
            &repo,
            &[data],
            &makonis_embassy::ops::BackupOptions::default(),
            &makonis_embassy::NoProgress,
        )
        .unwrap();
        app.protect_system(
            &sys,
            system_a,
            &makonis_types::embassy::ProtectionInput {
                site_id: embassy_site,
                primary_location: primary.display().to_string(),
                replica_location: state.path().join("embassy/replica").display().to_string(),
                primary_password: EMBASSY_PASSWORD.into(),
                replica_password: EMBASSY_PASSWORD.into(),
                hot_interval_minutes: 15,
                drill_interval_days: 30,
                latency_ms: None,
                cold_location: None,
                cold_retain_days: 90,
                cold_interval_days: 7,
                s3: None,
            },
        )
        .await
        .unwrap();
        // The replica holds the data, so restores and drills have something.
        app.replicate_system(&sys, system_a).await.unwrap();
        app.put_dr_plan(
            &sys,
            system_a,
            &makonis_app::embassy::DrPlanInput {
                text: "# SYSA DR plan\n".into(),
            },
        )
        .await
        .unwrap();
        app.create_price_list(
            &sys,
            provider.id,
            &makonis_types::catalogue::PriceListInput {
                version: "fixture".into(),
                valid_from: today - chrono::Duration::days(30),
                valid_until: Some(today + chrono::Duration::days(3000)),
                currency: "EUR".into(),
                items: vec![makonis_types::catalogue::PriceItem {
                    offering_id: offering.id,
                    unit_price: "0.0100".parse().unwrap(),
                }],
            },
        )
        .await
        .unwrap();
        let last_month = makonis_types::metering::Month::of(chrono::Utc::now()).previous();
        let statement_a = app
            .issue_statement(
                &sys,
                &makonis_types::metering::IssueStatementInput {
                    institution_id: a.id,
                    month: last_month,
                    reason: None,
                },
            )
            .await
            .unwrap()
            .summary
            .id;
        let bill = state.path().join("unmapped.csv");
        let (start, end) = (
            last_month.start().format("%Y-%m-%dT%H:%M:%SZ"),
            last_month.end().format("%Y-%m-%dT%H:%M:%SZ"),
        );
        std::fs::write(
            &bill,
            format!(
                "BilledCost,BillingAccountId,BillingAccountName,BillingCurrency,BillingPeriodEnd,BillingPeriodStart,\
                 ChargeCategory,ChargeClass,ChargeDescription,ChargePeriodEnd,ChargePeriodStart,ContractedCost,\
                 EffectiveCost,InvoiceIssuerName,ListCost,PricingQuantity,PricingUnit,ProviderName,PublisherName,\
                 ServiceCategory,ServiceName\n\
                 1.00,NOBODY,Nobody,EUR,{end},{start},Usage,,fixture,{end},{start},1.00,1.00,P,1.00,1,Hours,P,P,Compute,Compute\n"
            ),
        )
        .unwrap();
        app.import_focus(&sys, provider.id, "unmapped.csv", &bill, None)
            .await
            .unwrap();
        let unmapped_line = app.unmapped_charges(&sys, true).await.unwrap()[0]
            .id
            .clone();
        let mut server = TestServer {
            store,
            state,
            app,
            router,
            a,
            b,
            system_a,
            user_a: UserId::new(),
            provider_a: provider.id,
            site_a: site.id,
            offering_a: offering.id,
            embassy_site,
            agreement_a: makonis_types::order::AgreementId::new(),
            statement_a,
            unmapped_line,
            principals: BTreeMap::new(),
            counter: Default::default(),
        };
        server.user_a = server.fresh_user_in_a().await;
        for (name, role, scope) in PRINCIPALS {
            let principal = server
                .sign_in(name, *role, scope.map(|s| server.inst(s)))
                .await;
            server.principals.insert(name, principal);
        }
        // An approved order leaves a draft agreement to sign.
        let order = server.fresh_order(true).await;
        let owner = server.ctx("owner").await;
        let approved = server
            .app
            .decide_order(
                &owner,
                order,
                &makonis_types::order::DecisionInput {
                    decision: makonis_types::order::Decision::Approve,
                    reason: None,
                },
            )
            .await
            .unwrap();
        server.agreement_a = approved.order.agreement_id.unwrap();
        server
    }

    /// The principal's operation context, from their session.
    pub async fn ctx(&self, who: &str) -> OpContext {
        self.app
            .resolve_session(&self.principals[who].session, "fixture")
            .await
            .unwrap()
            .ctx
    }

    /// A grant on system A asked for by the owner; with
    /// `active`, approved by the custodian and the security officer.
    pub async fn fresh_grant(
        &self,
        active: bool,
        purpose: makonis_types::embassy::GrantPurpose,
    ) -> makonis_types::embassy::GrantId {
        let owner = self.ctx("owner").await;
        let grant = self
            .app
            .request_grant(
                &owner,
                &makonis_types::embassy::GrantInput {
                    information_system_id: self.system_a,
                    purpose,
                    reason: "route matrix".into(),
                    hours: 1,
                },
            )
            .await
            .unwrap();
        if active {
            for who in ["cust", "sec"] {
                let ctx = self.ctx(who).await;
                self.app.approve_grant(&ctx, grant.id).await.unwrap();
            }
        }
        grant.id
    }

    /// A new order for system A by the member, submitted or left a draft.
    pub async fn fresh_order(&self, submit: bool) -> makonis_types::order::OrderId {
        let member = self.ctx("member").await;
        self.app
            .create_order(
                &member,
                &makonis_types::order::NewOrderInput {
                    information_system_id: self.system_a,
                    offering_id: self.offering_a,
                    quantity: 1,
                    note: None,
                    submit,
                },
            )
            .await
            .unwrap()
            .order
            .id
    }

    pub fn inst(&self, short: &str) -> InstitutionId {
        if short == "A" { self.a.id } else { self.b.id }
    }

    pub fn next(&self) -> u32 {
        self.counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// A new member of institution A, to be the target of user routes.
    pub async fn fresh_user_in_a(&self) -> UserId {
        let n = self.next();
        self.app
            .create_user(
                &OpContext::system("fixture"),
                &NewUserInput {
                    email: format!("target{n}@a.lv"),
                    display_name: format!("Target {n}"),
                    institution_id: Some(self.a.id),
                    password: PASSWORD.into(),
                    roles: vec![NewRoleAssignment {
                        role: Role::Member,
                        institution_id: Some(self.a.id),
                    }],
                },
            )
            .await
            .unwrap()
            .user
            .id
    }

    /// A user in A holding a fresh role, for the revoke routes.
    pub async fn fresh_role_in_a(&self) -> (UserId, RoleAssignmentId) {
        let user = self.fresh_user_in_a().await;
        let role = self
            .app
            .get_user(&OpContext::system("fixture"), user)
            .await
            .unwrap()
            .roles[0]
            .id;
        (user, role)
    }

    async fn sign_in(
        &self,
        name: &'static str,
        role: Role,
        scope: Option<InstitutionId>,
    ) -> Principal {
        let sys = OpContext::system("fixture");
        let email = format!("{name}@test.lv");
        let created = self
            .app
            .create_user(
                &sys,
                &NewUserInput {
                    email: email.clone(),
                    display_name: name.into(),
                    institution_id: scope,
                    password: PASSWORD.into(),
                    roles: vec![NewRoleAssignment {
                        role,
                        institution_id: scope,
                    }],
                },
            )
            .await
            .unwrap();
        let secret = totp_rs::Secret::generate_secret();
        self.app
            .enrol_totp_as_system(&sys, created.user.id, &secret.to_bytes().unwrap())
            .await
            .unwrap();
        let session = self
            .app
            .login_with_password("t", &email, PASSWORD, "127.0.0.9")
            .await
            .unwrap();
        let code = current_totp_code(&secret.to_encoded().to_string()).unwrap();
        self.app
            .verify_second_factor(&session.token, "t", &code)
            .await
            .unwrap();
        let ctx = session.view.ctx.clone();
        let token = self
            .app
            .create_api_token(
                &ctx,
                &NewApiTokenInput {
                    name: "matrix".into(),
                    scope: TokenScope::Write,
                    expires_in_days: None,
                },
            )
            .await
            .unwrap();
        let mut spare_tokens = Vec::new();
        for i in 0..2 {
            let spare = self
                .app
                .create_api_token(
                    &ctx,
                    &NewApiTokenInput {
                        name: format!("spare{i}"),
                        scope: TokenScope::Read,
                        expires_in_days: Some(1),
                    },
                )
                .await
                .unwrap();
            spare_tokens.push(spare.token.id);
        }
        Principal {
            name,
            user_id: created.user.id,
            session: session.token,
            csrf: session.view.csrf_token,
            token: token.secret,
            spare_tokens,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Response {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Response {
            status,
            location,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// An API request as `who` (None = anonymous) with a JSON body.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        who: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Response {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(who) = who {
            builder = builder.header(
                header::AUTHORIZATION,
                format!("Bearer {}", self.principals[who].token),
            );
        }
        let request = match body {
            Some(json) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json.to_string()))
                .unwrap(),
            None => builder.body(Body::empty()).unwrap(),
        };
        self.send(request).await
    }

    /// A portal request as `who`, with the session cookie; POSTs carry the
    /// form plus the principal's CSRF token.
    pub async fn portal(
        &self,
        method: Method,
        path: &str,
        who: Option<&str>,
        form: &[(&str, String)],
    ) -> Response {
        let mut builder = Request::builder().method(method.clone()).uri(path);
        let mut pairs: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        if let Some(who) = who {
            let p = &self.principals[who];
            builder = builder.header(header::COOKIE, format!("makonis_session={}", p.session));
            pairs.push(("csrf".into(), p.csrf.clone()));
        }
        let request = if method == Method::POST {
            builder
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(serde_urlencoded::to_string(&pairs).unwrap()))
                .unwrap()
        } else {
            builder.body(Body::empty()).unwrap()
        };
        self.send(request).await
    }

    pub async fn audit_count(&self) -> u64 {
        let mut n = 0;
        self.app
            .export_audit_chain(|_| {
                n += 1;
                Ok(())
            })
            .await
            .unwrap();
        n
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Every configured engine (SQLite always, PostgreSQL when configured).
pub async fn servers() -> Vec<TestServer> {
    let mut out = Vec::new();
    for store in makonis_db::testing::all().await {
        out.push(TestServer::start(store).await);
    }
    out
}

pub async fn sqlite_server() -> TestServer {
    TestServer::start(makonis_db::testing::sqlite().await).await
}

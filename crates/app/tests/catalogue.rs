//! The provider registry and catalogue on both engines: sealed credentials,
//! price-list versions that must not overlap, search, comparison, and
//! placement over the demo federation with its explanations.

mod common;

use chrono::NaiveDate;
use makonis_app::catalogue::ProfileOverrides;
use makonis_app::catalogue::placement::{PlacementRequest, Residency, Rule};
use makonis_app::{Error, OpContext};
use makonis_types::catalogue::*;
use makonis_types::federation::*;
use makonis_types::information_system::InformationSystemFilter;
use makonis_types::paging::PageRequest;
use makonis_types::roles::{NewRoleAssignment, Role};
use makonis_types::user::NewUserInput;
use sqlx::Row;

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn provider_input(short: &str, credentials: Option<serde_json::Value>) -> ProviderInput {
    ProviderInput {
        name: format!("{short} mākonis"),
        short_name: short.into(),
        institution_id: None,
        kind: ProviderKind::State,
        platform: PlatformFamily::OpenStack,
        endpoint: Some("https://keystone.example.lv:5000/v3".into()),
        credentials,
    }
}

#[tokio::test]
async fn provider_credentials_are_sealed_at_rest() {
    for t in common::apps().await {
        let sys = common::system();
        let secret = "app-cred-secret-8f2b1c";
        let p = t
            .app
            .create_provider(
                &sys,
                &provider_input(
                    "LVRTC",
                    Some(serde_json::json!({"id": "ac-1", "secret": secret})),
                ),
            )
            .await
            .unwrap();
        assert!(p.has_credentials);
        let raw: String = sqlx::query("SELECT credentials_sealed FROM providers")
            .fetch_one(t.store.datastore.reader())
            .await
            .unwrap()
            .try_get("credentials_sealed")
            .unwrap();
        assert!(
            !raw.contains(secret) && !raw.contains("ac-1"),
            "{}: credentials stored in clear",
            t.label()
        );
        let opened = t
            .app
            .provider_credentials(&sys, p.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(opened["secret"], secret);
        // The audit record says credentials exist, not what they are.
        let mut records = String::new();
        t.app
            .export_audit_chain(|r| {
                records.push_str(&serde_json::to_string(r).unwrap());
                Ok(())
            })
            .await
            .unwrap();
        assert!(
            !records.contains(secret),
            "{}: secret in the audit chain",
            t.label()
        );
        // People never get them, not even platform admins.
        let err = t
            .app
            .provider_credentials(&OpContext::anonymous("x"), p.id)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Forbidden { .. }));
    }
}

async fn provider_with_offering(app: &makonis_app::App, short: &str) -> (Provider, Offering) {
    let sys = common::system();
    let p = app
        .create_provider(&sys, &provider_input(short, None))
        .await
        .unwrap();
    let site = app
        .add_site(
            &sys,
            p.id,
            &SiteInput {
                name: "Rīga".into(),
                country: "LV".into(),
                latitude: 56.95,
                longitude: 24.1,
                uptime_tier: 3,
            },
        )
        .await
        .unwrap();
    let o = app
        .create_offering(
            &sys,
            p.id,
            &OfferingInput {
                site_id: site.id,
                kind: OfferingKind::Vm,
                tier: ServiceTier::Basic,
                name: "m1.medium".into(),
                description: None,
                vcpu: 4,
                ram_gb: 8,
                storage_gb: 80,
                unit: BillingUnit::InstanceHour,
                sla: Sla {
                    availability_pct: "99.95".parse().unwrap(),
                    support_hours: SupportHours::Always,
                    response_minutes: 30,
                    rpo_minutes: None,
                    rto_minutes: None,
                },
                capacity_units: 10,
                active: true,
            },
        )
        .await
        .unwrap();
    (p, o)
}

fn list(
    version: &str,
    from: &str,
    until: Option<&str>,
    offering: OfferingId,
    price: &str,
) -> PriceListInput {
    PriceListInput {
        version: version.into(),
        valid_from: from.parse().unwrap(),
        valid_until: until.map(|u| u.parse().unwrap()),
        currency: "EUR".into(),
        items: vec![PriceItem {
            offering_id: offering,
            unit_price: price.parse().unwrap(),
        }],
    }
}

#[tokio::test]
async fn price_list_versions_must_not_overlap_and_rating_uses_the_valid_one() {
    for t in common::apps().await {
        let sys = common::system();
        let (p, o) = provider_with_offering(&t.app, "LVRTC").await;
        t.app
            .create_price_list(
                &sys,
                p.id,
                &list("2026-1", "2026-01-01", Some("2026-06-30"), o.id, "0.0400"),
            )
            .await
            .unwrap();
        t.app
            .create_price_list(
                &sys,
                p.id,
                &list("2026-2", "2026-07-01", Some("2026-12-31"), o.id, "0.0440"),
            )
            .await
            .unwrap();
        let before = t.app.list_price_lists(&sys, p.id).await.unwrap().len();
        let err = t
            .app
            .create_price_list(
                &sys,
                p.id,
                &list("2026-3", "2026-06-01", Some("2026-08-01"), o.id, "1"),
            )
            .await
            .unwrap_err();
        let Error::Invalid(fields) = err else {
            panic!("{}: {err:?}", t.label())
        };
        assert_eq!(
            (fields[0].field.as_str(), fields[0].code.as_str()),
            ("valid_from", "overlap")
        );
        assert!(
            fields[0].message.contains("2026-1"),
            "{}",
            fields[0].message
        );
        assert_eq!(
            t.app.list_price_lists(&sys, p.id).await.unwrap().len(),
            before,
            "nothing half-written"
        );

        // An item priced twice, a negative price, an offering of another provider.
        let (_, foreign) = provider_with_offering(&t.app, "LNB").await;
        let mut bad = list("2027-1", "2027-01-01", None, o.id, "-1");
        bad.items.push(PriceItem {
            offering_id: o.id,
            unit_price: "1".parse().unwrap(),
        });
        let Error::Invalid(fields) = t.app.create_price_list(&sys, p.id, &bad).await.unwrap_err()
        else {
            panic!()
        };
        let named: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            named,
            ["items[0].unit_price", "items[1].offering_id"],
            "{}",
            t.label()
        );
        let Error::Invalid(fields) = t
            .app
            .create_price_list(
                &sys,
                p.id,
                &list("2027-1", "2027-01-01", None, foreign.id, "1"),
            )
            .await
            .unwrap_err()
        else {
            panic!()
        };
        assert_eq!(fields[0].field, "items[0].offering_id");

        let day = |d: &str| d.parse::<NaiveDate>().unwrap();
        let spring = t
            .app
            .search_catalogue(
                &sys,
                &CatalogueFilter::default(),
                day("2026-03-01"),
                PageRequest::default(),
            )
            .await
            .unwrap();
        let autumn = t
            .app
            .search_catalogue(
                &sys,
                &CatalogueFilter::default(),
                day("2026-09-01"),
                PageRequest::default(),
            )
            .await
            .unwrap();
        let price = |page: &makonis_types::paging::Page<CatalogueEntry>| {
            page.items
                .iter()
                .find(|e| e.offering.id == o.id)
                .unwrap()
                .unit_price
        };
        assert_eq!(
            price(&spring),
            Some("0.0400".parse().unwrap()),
            "{}",
            t.label()
        );
        assert_eq!(price(&autumn), Some("0.0440".parse().unwrap()));
    }
}

#[tokio::test]
async fn provider_operators_publish_only_their_own_offerings() {
    for t in common::apps().await {
        let sys = common::system();
        let lvrtc_inst = common::institution(&t.app, "LVRTC").await;
        let mut input = provider_input("LVRTC", None);
        input.institution_id = Some(lvrtc_inst.id);
        let lvrtc = t.app.create_provider(&sys, &input).await.unwrap();
        let (lnb, _) = provider_with_offering(&t.app, "LNB").await;
        t.app
            .create_user(
                &sys,
                &NewUserInput {
                    email: "op@lvrtc.lv".into(),
                    display_name: "Op".into(),
                    institution_id: Some(lvrtc_inst.id),
                    password: "operator-password".into(),
                    roles: vec![NewRoleAssignment {
                        role: Role::ProviderOperator,
                        institution_id: Some(lvrtc_inst.id),
                    }],
                },
            )
            .await
            .unwrap();
        let op = t
            .app
            .login_with_password("r", "op@lvrtc.lv", "operator-password", "10.1.1.1")
            .await
            .unwrap()
            .view
            .ctx;
        let site = SiteInput {
            name: "Ulbroka".into(),
            country: "LV".into(),
            latitude: 56.94,
            longitude: 24.28,
            uptime_tier: 3,
        };
        t.app.add_site(&op, lvrtc.id, &site).await.unwrap();
        let err = t.app.add_site(&op, lnb.id, &site).await.unwrap_err();
        assert!(
            matches!(err, Error::Forbidden { .. }),
            "{}: {err:?}",
            t.label()
        );
        let err = t
            .app
            .create_provider(&op, &provider_input("X", None))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Forbidden { .. }));
    }
}

#[tokio::test]
async fn demo_federation_places_a_category_a_vm_and_explains_the_rest() {
    for t in common::apps().await {
        let sys = common::system();
        makonis_demo::seed(&t.app).await.unwrap().expect("seeded");
        let systems = t
            .app
            .list_information_systems(
                &sys,
                &InformationSystemFilter {
                    q: Some("EDS".into()),
                    ..Default::default()
                },
                PageRequest::default(),
            )
            .await
            .unwrap();
        let eds = systems.items.iter().find(|s| s.code == "EDS").unwrap();
        let request = PlacementRequest {
            kind: OfferingKind::Vm,
            quantity: 2,
            max_monthly_eur: None,
            min_vcpu: None,
            min_ram_gb: None,
        };
        let (profile, decision) = t
            .app
            .place(
                &sys,
                eds.id,
                &request,
                &ProfileOverrides::default(),
                today(),
            )
            .await
            .unwrap();
        assert_eq!(profile.residency, Residency::Latvia);
        assert!(
            !decision.feasible.is_empty(),
            "{}: nothing feasible",
            t.label()
        );
        for f in &decision.feasible {
            assert!(
                matches!(f.provider.as_str(), "LVRTC" | "IeM IC"),
                "{}: {f:?}",
                t.label()
            );
        }
        let lvrtc = decision
            .feasible
            .iter()
            .find(|f| f.provider == "LVRTC")
            .unwrap();
        assert!(
            lvrtc
                .expiring
                .iter()
                .any(|e| e.certificate == CertificationKind::Iso27001),
            "{:?}",
            lvrtc.expiring
        );
        let reason = |rule: Rule, needle: &str| {
            decision
                .excluded
                .iter()
                .any(|e| e.rule == rule && e.reason.contains(needle))
        };
        assert!(
            reason(
                Rule::Iso27001,
                "IeM IC / Rīga-2: certificate 'ISO/IEC 27001' expired"
            ),
            "{:#?}",
            decision.excluded
        );
        assert!(reason(
            Rule::Residency,
            "EuroCloud / Frankfurt: site is in DE"
        ));
        assert!(reason(
            Rule::CategoryAccreditation,
            "LNB / Mūkusala: no 'national accreditation, category A' certificate"
        ));
        assert!(reason(Rule::CategoryAccreditation, "LAD /"));

        // A renewed certificate counts at once: the catalogue snapshot
        // placement decides on is rebuilt when the catalogue changes.
        let iem = t
            .app
            .list_providers(&sys)
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.short_name == "IeM IC")
            .unwrap();
        t.app
            .add_certification(
                &sys,
                iem.id,
                &CertificationInput {
                    site_id: None,
                    kind: CertificationKind::Iso27001,
                    level: None,
                    issuer: "LVS".into(),
                    valid_from: today() - chrono::Days::new(1),
                    valid_until: today() + chrono::Days::new(700),
                },
            )
            .await
            .unwrap();
        let (_, renewed) = t
            .app
            .place(
                &sys,
                eds.id,
                &request,
                &ProfileOverrides::default(),
                today(),
            )
            .await
            .unwrap();
        assert!(
            !renewed
                .excluded
                .iter()
                .any(|e| e.rule == Rule::Iso27001 && e.provider == "IeM IC"),
            "{}: {:#?}",
            t.label(),
            renewed.excluded
        );
        assert!(renewed.feasible.len() >= decision.feasible.len());

        // Loosening is refused; tightening works.
        let loose = ProfileOverrides {
            residency: Some(Residency::Any),
            availability_target: None,
        };
        let err = t
            .app
            .place(&sys, eds.id, &request, &loose, today())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Invalid(ref f) if f[0].field == "residency"),
            "{err:?}"
        );
        let strict = ProfileOverrides {
            residency: None,
            availability_target: Some("99.99".parse().unwrap()),
        };
        let (_, none) = t
            .app
            .place(&sys, eds.id, &request, &strict, today())
            .await
            .unwrap();
        assert!(
            none.feasible.is_empty() && none.excluded.iter().any(|e| e.rule == Rule::Availability)
        );

        // Compare three offerings side by side, in the order asked.
        let found = t
            .app
            .search_catalogue(
                &sys,
                &CatalogueFilter {
                    kind: Some(OfferingKind::Vm),
                    min_vcpu: Some(8),
                    ..Default::default()
                },
                today(),
                PageRequest::default(),
            )
            .await
            .unwrap();
        assert!(
            found
                .items
                .iter()
                .all(|e| e.offering.vcpu >= 8 && e.offering.kind == OfferingKind::Vm)
        );
        let ids: Vec<_> = found.items.iter().take(3).map(|e| e.offering.id).collect();
        let compared = t.app.compare_offerings(&sys, &ids, today()).await.unwrap();
        assert_eq!(
            compared.iter().map(|e| e.offering.id).collect::<Vec<_>>(),
            ids
        );
        assert!(
            compared
                .iter()
                .all(|e| e.monthly_price_per_unit().is_some())
        );
        let too_many: Vec<_> = (0..7).map(|_| OfferingId::new()).collect();
        assert!(matches!(
            t.app.compare_offerings(&sys, &too_many, today()).await,
            Err(Error::Invalid(_))
        ));
    }
}

/// Search is answered from the in-memory snapshot; the SQL search in `db`
/// is the reference it must match, filter by filter and page by page.
#[tokio::test]
async fn snapshot_search_matches_the_sql_reference() {
    for t in common::apps().await {
        let sys = common::system();
        makonis_demo::seed(&t.app).await.unwrap().expect("seeded");
        let lvrtc = t
            .app
            .list_providers(&sys)
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.short_name == "LVRTC")
            .unwrap();
        let filters = [
            CatalogueFilter::default(),
            CatalogueFilter {
                q: Some("  lvrtc ".into()),
                ..Default::default()
            },
            CatalogueFilter {
                q: Some("VM".into()),
                kind: Some(OfferingKind::Vm),
                ..Default::default()
            },
            CatalogueFilter {
                q: Some("Rīga".into()),
                ..Default::default()
            },
            CatalogueFilter {
                q: Some("50%_".into()),
                ..Default::default()
            },
            CatalogueFilter {
                tier: Some(ServiceTier::Specialised),
                ..Default::default()
            },
            CatalogueFilter {
                country: Some("lv".into()),
                min_availability: Some("99.9".parse().unwrap()),
                ..Default::default()
            },
            CatalogueFilter {
                provider_id: Some(lvrtc.id),
                min_vcpu: Some(4),
                min_ram_gb: Some(16),
                ..Default::default()
            },
            CatalogueFilter {
                kind: Some(OfferingKind::Database),
                ..Default::default()
            },
        ];
        let pages = [
            PageRequest::default(),
            PageRequest {
                limit: Some(3),
                offset: Some(2),
            },
            PageRequest {
                limit: Some(5),
                offset: Some(1000),
            },
        ];
        let mut nonempty = 0;
        for filter in &filters {
            for page in pages {
                let fast = t
                    .app
                    .search_catalogue(&sys, filter, today(), page)
                    .await
                    .unwrap();
                let mut conn = t.store.datastore.conn().await.unwrap();
                let reference = makonis_db::catalogue::search(&mut conn, filter, today(), page)
                    .await
                    .unwrap();
                assert_eq!(fast.total, reference.total, "{}: {filter:?}", t.label());
                let ids = |p: &makonis_types::paging::Page<CatalogueEntry>| {
                    p.items.iter().map(|e| e.offering.id).collect::<Vec<_>>()
                };
                assert_eq!(
                    ids(&fast),
                    ids(&reference),
                    "{}: {filter:?} {page:?}",
                    t.label()
                );
                assert_eq!(fast.items, reference.items, "{}", t.label());
                nonempty += usize::from(!fast.items.is_empty());
            }
        }
        assert!(
            nonempty >= 10,
            "{}: too few filters matched anything",
            t.label()
        );
    }
}

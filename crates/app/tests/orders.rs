//! Orders on both engines: the approval chain with four eyes, rejections
//! with reasons, the Broker for specialised services, agreements signed by
//! both sides, bad input, and quotas that hold under 200 concurrent orders.

mod common;

use makonis_app::{App, Error, OpContext};
use makonis_demo::DEMO_PASSWORD;
use makonis_types::InformationSystemId;
use makonis_types::catalogue::{CatalogueFilter, OfferingKind};
use makonis_types::information_system::{
    InformationSystemFilter, InformationSystemInput, Lifecycle,
};
use makonis_types::order::*;
use makonis_types::paging::PageRequest;

async fn as_user(app: &App, email: &str) -> OpContext {
    app.login_with_password("t", email, DEMO_PASSWORD, "10.9.9.9")
        .await
        .unwrap()
        .view
        .ctx
}

async fn system(app: &App, code: &str) -> InformationSystemId {
    let page = app
        .list_information_systems(
            &common::system(),
            &InformationSystemFilter {
                q: Some(code.into()),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    page.items.iter().find(|s| s.code == code).unwrap().id
}

async fn offering(
    app: &App,
    provider: &str,
    site: &str,
    kind: OfferingKind,
    name_part: &str,
) -> makonis_types::catalogue::OfferingId {
    let page = app
        .search_catalogue(
            &common::system(),
            &CatalogueFilter {
                kind: Some(kind),
                ..Default::default()
            },
            chrono::Utc::now().date_naive(),
            PageRequest {
                limit: Some(500),
                offset: None,
            },
        )
        .await
        .unwrap();
    page.items
        .iter()
        .find(|e| {
            e.provider_short_name == provider
                && e.site_name == site
                && e.offering.name.contains(name_part)
        })
        .unwrap_or_else(|| panic!("no {provider}/{site}/{name_part}"))
        .offering
        .id
}

#[tokio::test]
async fn category_a_order_needs_four_eyes_then_both_signatures() {
    for t in common::apps().await {
        let app = &t.app;
        makonis_demo::seed(app).await.unwrap();
        let member = as_user(app, "darbinieks@vid.gov.lv").await;
        let owner = as_user(app, "parzinis@vid.gov.lv").await;
        let admin = as_user(app, "admin@vid.gov.lv").await;
        let broker = as_user(app, "brokeris@vdaa.gov.lv").await;
        let eds = system(app, "EDS").await;
        let vm = offering(app, "LVRTC", "Zaķusala", OfferingKind::Vm, "m1.medium").await;
        let order = app
            .create_order(
                &member,
                &NewOrderInput {
                    information_system_id: eds,
                    offering_id: vm,
                    quantity: 2,
                    note: Some("EDS pārbūve".into()),
                    submit: true,
                },
            )
            .await
            .unwrap();
        assert_eq!(order.order.state, OrderState::Approving, "{}", t.label());
        assert!(order.order.rule.four_eyes);
        assert_eq!(
            order.order.rule.steps,
            [ApprovalStep::Institution, ApprovalStep::SecondInstitution]
        );
        assert_eq!(order.order.monthly_estimate, "61.32".parse().unwrap());
        let id = order.order.id;

        // The requester cannot approve; the approvers have it in their inbox.
        let err = app
            .decide_order(
                &member,
                id,
                &DecisionInput {
                    decision: Decision::Approve,
                    reason: None,
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
        assert!(
            app.approvals_inbox(&owner)
                .await
                .unwrap()
                .iter()
                .any(|d| d.order.id == id)
        );
        assert!(
            app.notifications(&owner, true)
                .await
                .unwrap()
                .iter()
                .any(|n| n.order_id == Some(id))
        );

        let after_first = app
            .decide_order(
                &owner,
                id,
                &DecisionInput {
                    decision: Decision::Approve,
                    reason: Some("Vajadzīgs".into()),
                },
            )
            .await
            .unwrap();
        assert_eq!(after_first.order.state, OrderState::Approving);
        assert_eq!(after_first.pending_steps, [ApprovalStep::SecondInstitution]);
        // One person, one decision: four eyes means a second person.
        let err = app
            .decide_order(
                &owner,
                id,
                &DecisionInput {
                    decision: Decision::Approve,
                    reason: None,
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Forbidden { ref message } if message.contains("second, different person")),
            "{err:?}"
        );
        assert!(
            !app.approvals_inbox(&owner)
                .await
                .unwrap()
                .iter()
                .any(|d| d.order.id == id)
        );

        let done = app
            .decide_order(
                &admin,
                id,
                &DecisionInput {
                    decision: Decision::Approve,
                    reason: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(done.order.state, OrderState::Approved, "{}", t.label());
        let distinct: std::collections::HashSet<_> =
            done.approvals.iter().map(|a| a.approver_id).collect();
        assert_eq!(distinct.len(), 2);
        let agreement_id = done.order.agreement_id.expect("agreement attached");
        let agreement = app.get_agreement(&admin, agreement_id).await.unwrap();
        assert_eq!(agreement.status, AgreementStatus::Draft);
        assert!(agreement.price_list_version.is_some());

        // A member cannot sign; the broker and the institution admin can, once each.
        assert!(matches!(
            app.sign_agreement(&member, agreement_id, None).await,
            Err(Error::Forbidden { .. })
        ));
        let half = app
            .sign_agreement(&broker, agreement_id, Some("VDAA/2026/117"))
            .await
            .unwrap();
        assert_eq!(half.status, AgreementStatus::Draft);
        assert!(matches!(
            app.sign_agreement(&broker, agreement_id, None).await,
            Err(Error::Forbidden { .. })
        ));
        let signed = app
            .sign_agreement(&admin, agreement_id, None)
            .await
            .unwrap();
        assert_eq!(signed.status, AgreementStatus::Active, "{}", t.label());
        assert_eq!(signed.document_ref.as_deref(), Some("VDAA/2026/117"));

        // A second order to the same provider joins the active agreement.
        let second = app
            .create_order(
                &member,
                &NewOrderInput {
                    information_system_id: eds,
                    offering_id: vm,
                    quantity: 1,
                    note: None,
                    submit: true,
                },
            )
            .await
            .unwrap();
        app.decide_order(
            &owner,
            second.order.id,
            &DecisionInput {
                decision: Decision::Approve,
                reason: None,
            },
        )
        .await
        .unwrap();
        let second = app
            .decide_order(
                &admin,
                second.order.id,
                &DecisionInput {
                    decision: Decision::Approve,
                    reason: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(second.order.agreement_id, Some(agreement_id));

        // Every decision is in the audit chain with its reason.
        let mut actions = Vec::new();
        app.export_audit_chain(|r| {
            if r.target_id == id.to_string() {
                actions.push((r.action.clone(), r.after_state.clone().unwrap_or_default()));
            }
            Ok(())
        })
        .await
        .unwrap();
        let names: Vec<_> = actions.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(
            names,
            [
                "order.create",
                "order.submit",
                "order.approve",
                "order.approve"
            ],
            "{}",
            t.label()
        );
        assert!(actions[2].1.contains("Vajadzīgs"));
        assert!(app.verify_audit_chain(None).await.unwrap().is_intact());
    }
}

#[tokio::test]
async fn rejections_need_a_reason_and_specialised_services_need_the_broker() {
    for t in common::apps().await {
        let app = &t.app;
        makonis_demo::seed(app).await.unwrap();
        let member = as_user(app, "darbinieks@vid.gov.lv").await;
        let owner = as_user(app, "parzinis@vid.gov.lv").await;
        let broker = as_user(app, "brokeris@vdaa.gov.lv").await;
        let nrs = system(app, "NRS").await; // category B, not critical: one approval
        let vm = offering(app, "LVRTC", "Ulbroka", OfferingKind::Vm, "m1.small").await;
        let order = app
            .create_order(
                &member,
                &NewOrderInput {
                    information_system_id: nrs,
                    offering_id: vm,
                    quantity: 1,
                    note: None,
                    submit: true,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            order.order.rule.steps,
            [ApprovalStep::Institution],
            "{}",
            t.label()
        );
        let err = app
            .decide_order(
                &owner,
                order.order.id,
                &DecisionInput {
                    decision: Decision::Reject,
                    reason: Some("  ".into()),
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Invalid(ref f) if f[0].field == "reason"),
            "{err:?}"
        );
        let rejected = app
            .decide_order(
                &owner,
                order.order.id,
                &DecisionInput {
                    decision: Decision::Reject,
                    reason: Some("Nav budžeta".into()),
                },
            )
            .await
            .unwrap();
        assert_eq!(rejected.order.state, OrderState::Rejected);
        assert_eq!(rejected.order.reason.as_deref(), Some("Nav budžeta"));
        let err = app
            .decide_order(
                &broker,
                order.order.id,
                &DecisionInput {
                    decision: Decision::Approve,
                    reason: None,
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Conflict { .. }));

        let service = offering(
            app,
            "LVRTC",
            "Ulbroka",
            OfferingKind::Specialised,
            "uzturēšana",
        )
        .await;
        let order = app
            .create_order(
                &member,
                &NewOrderInput {
                    information_system_id: nrs,
                    offering_id: service,
                    quantity: 10,
                    note: None,
                    submit: true,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            order.order.rule.steps,
            [ApprovalStep::Institution, ApprovalStep::Broker]
        );
        // The broker cannot take the institution's step…
        let after = app
            .decide_order(
                &broker,
                order.order.id,
                &DecisionInput {
                    decision: Decision::Approve,
                    reason: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            after.pending_steps,
            [ApprovalStep::Institution],
            "{}",
            t.label()
        );
        let done = app
            .decide_order(
                &owner,
                order.order.id,
                &DecisionInput {
                    decision: Decision::Approve,
                    reason: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(done.order.state, OrderState::Approved);
    }
}

#[tokio::test]
async fn bad_orders_are_refused_with_the_field_named_and_nothing_written() {
    for t in common::apps().await {
        let app = &t.app;
        makonis_demo::seed(app).await.unwrap();
        let member = as_user(app, "darbinieks@vid.gov.lv").await;
        let pmlp = as_user(app, "admin@pmlp.gov.lv").await;
        let eds = system(app, "EDS").await;
        let frankfurt =
            offering(app, "EuroCloud", "Frankfurt", OfferingKind::Vm, "m1.medium").await;
        let vm = offering(app, "LVRTC", "Zaķusala", OfferingKind::Vm, "m1.medium").await;
        let before = app
            .list_orders(
                &common::system(),
                &OrderFilter::default(),
                PageRequest::default(),
            )
            .await
            .unwrap()
            .total;
        let cases = [
            (
                NewOrderInput {
                    information_system_id: eds,
                    offering_id: frankfurt,
                    quantity: 1,
                    note: None,
                    submit: true,
                },
                "offering_id",
            ),
            (
                NewOrderInput {
                    information_system_id: eds,
                    offering_id: makonis_types::catalogue::OfferingId::new(),
                    quantity: 1,
                    note: None,
                    submit: true,
                },
                "offering_id",
            ),
            (
                NewOrderInput {
                    information_system_id: eds,
                    offering_id: vm,
                    quantity: -3,
                    note: None,
                    submit: true,
                },
                "quantity",
            ),
            (
                NewOrderInput {
                    information_system_id: eds,
                    offering_id: vm,
                    quantity: 100_000,
                    note: None,
                    submit: true,
                },
                "offering_id",
            ),
        ];
        for (input, field) in cases {
            let err = app.create_order(&member, &input).await.unwrap_err();
            assert!(
                matches!(err, Error::Invalid(ref f) if f[0].field == field),
                "{}: {err:?}",
                t.label()
            );
        }
        // Another tenant's system does not exist for them.
        let err = app
            .create_order(
                &pmlp,
                &NewOrderInput {
                    information_system_id: eds,
                    offering_id: vm,
                    quantity: 1,
                    note: None,
                    submit: true,
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        // An archived system takes no orders.
        let sys = common::system();
        let current = app.get_information_system(&sys, eds).await.unwrap();
        let mut archived: InformationSystemInput = serde_json::from_value(serde_json::json!({
            "code": current.code, "name": current.name, "responsible_person": current.responsible_person,
            "security_category": "A", "critical_infrastructure": true, "data_classification": "restricted",
            "rpo_minutes": 15, "rto_minutes": 240, "embassy_required": true, "lifecycle": "archived"
        }))
        .unwrap();
        archived.lifecycle = Lifecycle::Archived;
        app.update_information_system(&sys, eds, &archived)
            .await
            .unwrap();
        let err = app
            .create_order(
                &member,
                &NewOrderInput {
                    information_system_id: eds,
                    offering_id: vm,
                    quantity: 1,
                    note: None,
                    submit: true,
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Invalid(ref f) if f[0].field == "information_system_id"),
            "{err:?}"
        );
        let after = app
            .list_orders(
                &common::system(),
                &OrderFilter::default(),
                PageRequest::default(),
            )
            .await
            .unwrap()
            .total;
        assert_eq!(before, after, "{}: a refused order left a row", t.label());
    }
}

#[tokio::test]
async fn two_hundred_concurrent_orders_never_exceed_the_quota() {
    for t in common::apps().await {
        let app = t.app.clone();
        makonis_demo::seed(&app).await.unwrap();
        let member = as_user(&app, "darbinieks@vid.gov.lv").await;
        let nrs = system(&app, "NRS").await;
        let vid = app
            .get_information_system(&common::system(), nrs)
            .await
            .unwrap()
            .institution_id;
        // m1.small: 2 vCPU each; 100 vCPU of headroom fits exactly 50. The
        // demo's own orders already hold some.
        app.set_quota(
            &common::system(),
            vid,
            &QuotaInput {
                information_system_id: None,
                vcpu: Some(1_000_000),
                ram_gb: None,
                storage_gb: None,
                monthly_budget_eur: None,
            },
        )
        .await
        .unwrap();
        let already = app.quotas(&common::system(), vid).await.unwrap()[0].1.vcpu;
        let vm = offering(&app, "LVRTC", "Ulbroka", OfferingKind::Vm, "m1.small").await;
        app.set_quota(
            &common::system(),
            vid,
            &QuotaInput {
                information_system_id: None,
                vcpu: Some(already + 100),
                ram_gb: None,
                storage_gb: None,
                monthly_budget_eur: None,
            },
        )
        .await
        .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let (app, member) = (app.clone(), member.clone());
            tasks.push(tokio::spawn(async move {
                app.create_order(
                    &member,
                    &NewOrderInput {
                        information_system_id: nrs,
                        offering_id: vm,
                        quantity: 1,
                        note: None,
                        submit: true,
                    },
                )
                .await
            }));
        }
        let (mut ok, mut refused) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(Error::Invalid(f)) if f[0].code == "quota_exceeded" => refused += 1,
                Err(other) => panic!("{}: unexpected {other:?}", t.label()),
            }
        }
        let quotas = app.quotas(&common::system(), vid).await.unwrap();
        let used = quotas[0].1.vcpu;
        assert!(
            used <= already + 100,
            "{}: {used} vCPU in use under a quota of 100",
            t.label()
        );
        assert_eq!(
            (ok, refused, used),
            (50, 150, already + 100),
            "{}",
            t.label()
        );
    }
}

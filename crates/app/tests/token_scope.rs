//! Issue 12 §1, token scope inside the policy: a read-scoped API token
//! changes nothing, whatever roles its owner holds. Each refusal below used
//! to be an inline role check that never looked at the token; the same
//! person signed in to the portal may still do it (asserted alongside, so a
//! refusal for another reason would not pass these tests).

mod common;

use makonis_app::embassy::RestoreInput;
use makonis_app::{App, Error, OpContext};
use makonis_demo::DEMO_PASSWORD;
use makonis_types::InformationSystemId;
use makonis_types::catalogue::{CatalogueFilter, OfferingKind};
use makonis_types::embassy::{GrantInput, GrantPurpose};
use makonis_types::information_system::InformationSystemFilter;
use makonis_types::order::*;
use makonis_types::paging::PageRequest;
use makonis_types::token::{NewApiTokenInput, TokenScope};

async fn signed_in(app: &App, email: &str) -> OpContext {
    app.login_with_password("t", email, DEMO_PASSWORD, "10.9.9.9")
        .await
        .unwrap()
        .view
        .ctx
}

/// The person's read-only API token, as the API would resolve it.
async fn read_token(app: &App, email: &str) -> OpContext {
    let session = signed_in(app, email).await;
    let created = app
        .create_api_token(
            &session,
            &NewApiTokenInput {
                name: "reports".into(),
                scope: TokenScope::Read,
                expires_in_days: Some(30),
            },
        )
        .await
        .unwrap();
    app.authenticate_api_token(&created.secret, "t")
        .await
        .unwrap()
}

#[track_caller]
fn assert_read_only<T: std::fmt::Debug>(result: makonis_app::Result<T>, what: &str) {
    match result {
        Err(Error::Forbidden { message }) => {
            assert!(
                message.contains("read-only"),
                "{what}: refused for another reason: {message}"
            )
        }
        other => panic!("{what}: a read-only token was not refused: {other:?}"),
    }
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

/// An EDS order waiting for its first approval, placed by VID's member.
async fn waiting_order(app: &App) -> OrderId {
    let member = signed_in(app, "darbinieks@vid.gov.lv").await;
    let eds = system(app, "EDS").await;
    let offering = app
        .search_catalogue(
            &common::system(),
            &CatalogueFilter {
                kind: Some(OfferingKind::Vm),
                ..Default::default()
            },
            chrono::Utc::now().date_naive(),
            PageRequest {
                limit: Some(500),
                offset: None,
            },
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|e| {
            e.provider_short_name == "LVRTC"
                && e.site_name == "Zaķusala"
                && e.offering.name.contains("m1.medium")
        })
        .expect("the demo's LVRTC m1.medium")
        .offering
        .id;
    app.create_order(
        &member,
        &NewOrderInput {
            information_system_id: eds,
            offering_id: offering,
            quantity: 1,
            note: None,
            submit: true,
        },
    )
    .await
    .unwrap()
    .order
    .id
}

#[tokio::test]
async fn read_tokens_neither_decide_nor_cancel_orders() {
    for t in common::apps().await {
        let app = &t.app;
        makonis_demo::seed(app).await.unwrap();
        let id = waiting_order(app).await;
        let approve = DecisionInput {
            decision: Decision::Approve,
            reason: None,
        };

        let owner_token = read_token(app, "parzinis@vid.gov.lv").await;
        // Reading what waits for its owner is what a read token is for.
        assert!(
            app.approvals_inbox(&owner_token)
                .await
                .unwrap()
                .iter()
                .any(|d| d.order.id == id),
            "{}",
            t.label()
        );
        assert_read_only(
            app.decide_order(&owner_token, id, &approve).await,
            "approve",
        );
        let requester_token = read_token(app, "darbinieks@vid.gov.lv").await;
        assert_read_only(
            app.cancel_order(&requester_token, id, Some("no")).await,
            "cancel own order",
        );
        let order = app.get_order(&common::system(), id).await.unwrap();
        assert_eq!(order.order.state, OrderState::Approving, "{}", t.label());
        assert!(order.approvals.is_empty());

        let owner = signed_in(app, "parzinis@vid.gov.lv").await;
        let decided = app.decide_order(&owner, id, &approve).await.unwrap();
        assert_eq!(decided.approvals.len(), 1, "{}", t.label());
    }
}

#[tokio::test]
async fn read_tokens_neither_sign_agreements_nor_mark_notifications_read() {
    for t in common::apps().await {
        let app = &t.app;
        makonis_demo::seed(app).await.unwrap();
        let draft = app
            .list_agreements(&common::system())
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.status == AgreementStatus::Draft)
            .expect("the demo leaves a draft agreement to sign");
        for email in ["admin@vid.gov.lv", "brokeris@vdaa.gov.lv"] {
            let token = read_token(app, email).await;
            assert_read_only(
                app.sign_agreement(&token, draft.id, Some("VDAA-2026/1"))
                    .await,
                email,
            );
        }
        let after = app
            .get_agreement(&common::system(), draft.id)
            .await
            .unwrap();
        assert_eq!(after.status, AgreementStatus::Draft, "{}", t.label());

        let owner = signed_in(app, "parzinis@vid.gov.lv").await;
        let unread = app.notifications(&owner, true).await.unwrap().len();
        assert!(unread > 0, "the demo leaves the IS owner something to read");
        let token = read_token(app, "parzinis@vid.gov.lv").await;
        assert_read_only(app.mark_notifications_read(&token).await, "mark read");
        assert_eq!(app.notifications(&owner, true).await.unwrap().len(), unread);
    }
}

#[tokio::test]
async fn read_tokens_neither_ask_for_nor_approve_nor_use_embassy_grants() {
    for store in makonis_db::testing::all().await {
        // The demo protects EDS only where it can keep repositories.
        let dir = tempfile::tempdir().unwrap();
        let app = &App::new(
            store.datastore.clone(),
            makonis_app::secrets::SecretBox::random(),
            makonis_app::AppConfig {
                state_dir: Some(dir.path().join("state")),
                ..Default::default()
            },
        );
        let label = format!("{:?}", store.datastore.backend());
        makonis_demo::seed(app).await.unwrap();
        let eds = system(app, "EDS").await;
        let ask = |purpose| GrantInput {
            information_system_id: eds,
            purpose,
            reason: "recovery test".into(),
            hours: 2,
        };

        let custodian_token = read_token(app, "glabatajs@vdaa.gov.lv").await;
        assert_read_only(
            app.request_grant(&custodian_token, &ask(GrantPurpose::KeyRelease))
                .await,
            "request a grant",
        );

        let custodian = signed_in(app, "glabatajs@vdaa.gov.lv").await;
        let key = app
            .request_grant(&custodian, &ask(GrantPurpose::KeyRelease))
            .await
            .unwrap();
        let restore = app
            .request_grant(&custodian, &ask(GrantPurpose::RestoreProduction))
            .await
            .unwrap();
        let officer_token = read_token(app, "drosiba@cert.lv").await;
        assert_read_only(
            app.approve_grant(&officer_token, key.id).await,
            "approve a grant",
        );
        assert_read_only(
            app.release_key(&custodian_token, key.id).await,
            "release a key",
        );
        let target = tempfile::tempdir().unwrap();
        assert_read_only(
            app.restore_to_production(
                &custodian_token,
                restore.id,
                &RestoreInput {
                    target: target.path().join("prod").display().to_string(),
                    snapshot: None,
                },
            )
            .await,
            "restore into production",
        );
        assert!(!target.path().join("prod").exists(), "{label}");

        let officer = signed_in(app, "drosiba@cert.lv").await;
        let approved = app.approve_grant(&officer, key.id).await.unwrap();
        assert_eq!(
            approved.security_officer_id,
            officer.user().map(|u| u.id),
            "{label}"
        );
    }
}

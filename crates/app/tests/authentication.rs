//! Password login, the TOTP second factor, recovery codes, replay
//! protection, throttling and API tokens, on both engines.

mod common;

use makonis_app::Error;
use makonis_app::identity::authn::{Stage, current_totp_code};
use makonis_types::UserId;
use makonis_types::roles::{NewRoleAssignment, Role};
use makonis_types::token::{NewApiTokenInput, TokenScope};
use makonis_types::user::NewUserInput;

const PASSWORD: &str = "correct horse battery";

async fn user(
    app: &makonis_app::App,
    email: &str,
    role: Role,
    inst: Option<makonis_types::InstitutionId>,
) -> UserId {
    app.create_user(
        &common::system(),
        &NewUserInput {
            email: email.into(),
            display_name: "Test".into(),
            institution_id: inst,
            password: PASSWORD.into(),
            roles: vec![NewRoleAssignment {
                role,
                institution_id: inst,
            }],
        },
    )
    .await
    .unwrap()
    .user
    .id
}

#[tokio::test]
async fn admin_must_enrol_then_must_present_a_code() {
    for t in common::apps().await {
        let app = &t.app;
        user(app, "root@makonis.lv", Role::PlatformAdmin, None).await;
        let session = app
            .login_with_password("r", "ROOT@makonis.lv ", PASSWORD, "127.0.0.1")
            .await
            .unwrap();
        assert_eq!(session.view.stage, Stage::NeedsEnrolment, "{}", t.label());

        let enrolment = app.begin_totp_enrolment(&session.token, "r").await.unwrap();
        assert!(enrolment.qr_svg.starts_with("<?xml") || enrolment.qr_svg.contains("<svg"));
        let wrong = app
            .finish_totp_enrolment(&session.token, "r", "000000")
            .await;
        assert!(matches!(wrong, Err(Error::Invalid(ref e)) if e[0].field == "code"));
        let code = current_totp_code(&enrolment.secret).unwrap();
        let recovery = app
            .finish_totp_enrolment(&session.token, "r", &code)
            .await
            .unwrap();
        assert_eq!(recovery.len(), 10);
        assert_eq!(
            app.resolve_session(&session.token, "r")
                .await
                .unwrap()
                .stage,
            Stage::Active
        );

        // Next login owes the second factor; the code already used is refused.
        let next = app
            .login_with_password("r", "root@makonis.lv", PASSWORD, "127.0.0.1")
            .await
            .unwrap();
        assert_eq!(next.view.stage, Stage::NeedsMfa, "{}", t.label());
        let replay = app.verify_second_factor(&next.token, "r", &code).await;
        assert!(
            matches!(replay, Err(Error::Invalid(_))),
            "{}: replayed code accepted",
            t.label()
        );
        // A recovery code works once.
        app.verify_second_factor(&next.token, "r", &recovery[0].to_uppercase())
            .await
            .unwrap();
        assert_eq!(
            app.resolve_session(&next.token, "r").await.unwrap().stage,
            Stage::Active
        );
        let third = app
            .login_with_password("r", "root@makonis.lv", PASSWORD, "127.0.0.1")
            .await
            .unwrap();
        assert!(
            app.verify_second_factor(&third.token, "r", &recovery[0])
                .await
                .is_err()
        );

        app.logout(&next.token).await.unwrap();
        assert!(matches!(
            app.resolve_session(&next.token, "r").await,
            Err(Error::Unauthenticated)
        ));
    }
}

#[tokio::test]
async fn members_without_mfa_sign_in_directly() {
    for t in common::apps().await {
        let inst = common::institution(&t.app, "VID").await.id;
        user(&t.app, "m@vid.gov.lv", Role::Member, Some(inst)).await;
        let session = t
            .app
            .login_with_password("r", "m@vid.gov.lv", PASSWORD, "10.0.0.1")
            .await
            .unwrap();
        assert_eq!(session.view.stage, Stage::Active, "{}", t.label());
    }
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_and_say_so() {
    for t in common::apps().await {
        let inst = common::institution(&t.app, "VID").await.id;
        user(&t.app, "m@vid.gov.lv", Role::Member, Some(inst)).await;
        for _ in 0..5 {
            let err = t
                .app
                .login_with_password("r", "m@vid.gov.lv", "wrong password!", "10.0.0.2")
                .await
                .unwrap_err();
            assert!(
                matches!(err, Error::Invalid(ref e) if e[0].field == "password"),
                "{err:?}"
            );
        }
        // Locked now, even with the right password.
        let err = t
            .app
            .login_with_password("r", "m@vid.gov.lv", PASSWORD, "10.0.0.2")
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::TooManyRequests { retry_after_secs } if retry_after_secs > 0),
            "{}: {err:?}",
            t.label()
        );
        // Unknown accounts get the same answer as wrong passwords.
        let err = t
            .app
            .login_with_password("r", "nobody@vid.gov.lv", PASSWORD, "10.0.0.3")
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Invalid(ref e) if e[0].message.contains("e-mail address or the password"))
        );
        // The lockout was audited.
        let mut seen = Vec::new();
        t.app
            .export_audit_chain(|r| {
                seen.push(r.action.clone());
                Ok(())
            })
            .await
            .unwrap();
        assert!(
            seen.iter().any(|a| a == "user.login_locked"),
            "{}: {seen:?}",
            t.label()
        );
    }
}

#[tokio::test]
async fn api_tokens_are_scoped_shown_once_and_revocable() {
    for t in common::apps().await {
        let app = &t.app;
        let inst = common::institution(app, "VID").await.id;
        user(app, "a@vid.gov.lv", Role::InstitutionAdmin, Some(inst)).await;
        let session = app
            .login_with_password("r", "a@vid.gov.lv", PASSWORD, "10.0.0.4")
            .await
            .unwrap();
        let ctx = session.view.ctx.clone();
        let created = app
            .create_api_token(
                &ctx,
                &NewApiTokenInput {
                    name: "CI".into(),
                    scope: TokenScope::Read,
                    expires_in_days: Some(30),
                },
            )
            .await
            .unwrap();
        assert!(created.secret.starts_with("mk_"));
        let token_ctx = app
            .authenticate_api_token(&created.secret, "r")
            .await
            .unwrap();
        assert!(
            app.list_institutions(&token_ctx, None, Default::default())
                .await
                .is_ok()
        );
        let err = app
            .update_institution(
                &token_ctx,
                inst,
                &makonis_types::institution::InstitutionInput {
                    name: "X".into(),
                    short_name: "X".into(),
                    registration_number: None,
                    kind: makonis_types::institution::InstitutionKind::Recipient,
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Forbidden { ref message } if message.contains("read-only")),
            "{err:?}"
        );
        // Tokens cannot mint tokens.
        let err = app
            .create_api_token(
                &token_ctx,
                &NewApiTokenInput {
                    name: "x".into(),
                    scope: TokenScope::Write,
                    expires_in_days: None,
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Forbidden { .. }));
        app.revoke_api_token(&ctx, created.token.id).await.unwrap();
        assert!(matches!(
            app.authenticate_api_token(&created.secret, "r").await,
            Err(Error::Unauthenticated)
        ));
        assert!(matches!(
            app.authenticate_api_token("mk_forged", "r").await,
            Err(Error::Unauthenticated)
        ));
    }
}

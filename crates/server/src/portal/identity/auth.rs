//! Signing in and out, the second factor (challenge and enrolment), and the
//! language switch.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use makonis_app::Error;
use makonis_app::identity::authn::Stage;
use makonis_types::FieldError;
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::extract::request_id;
use crate::i18n::Lang;
use crate::portal::ui::{self, Input, PageCtx, csrf_field, error_summary, layout};
use crate::portal::{
    CSRF_COOKIE, FormData, LANG_COOKIE, PortalForm, SESSION_COOKIE, cookie, csrf_failure,
    error_page, lang_of, safe_next, tokens_match,
};

#[derive(Debug, Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
    expired: Option<String>,
}

fn new_csrf() -> String {
    uuid::Uuid::new_v4().simple().to_string() + &uuid::Uuid::new_v4().simple().to_string()
}

fn login_form(
    lang: Lang,
    csrf: &str,
    next: &str,
    email: &str,
    errors: &[FieldError],
    info: Option<String>,
) -> Markup {
    let page = PageCtx {
        lang,
        user: None,
        csrf: None,
        path: "/login",
    };
    layout(
        &page,
        &lang.t("login-title"),
        html! {
            div class="narrow" {
                h1 { (lang.t("login-title")) }
                @if let Some(info) = info { div class="notice" role="status" { (info) } }
                (error_summary(lang, errors))
                form method="post" action="/login" novalidate {
                    (csrf_field(csrf))
                    input type="hidden" name="next" value=(next);
                    (Input::text("email", lang.t("field-email"), email).kind("email").required().autocomplete("username").render(lang, errors))
                    (Input::text("password", lang.t("field-password"), "").kind("password").required().autocomplete("current-password").render(lang, errors))
                    button type="submit" { (lang.t("login-submit")) }
                }
            }
        },
    )
}

pub async fn login_page(
    jar: CookieJar,
    State(state): State<AppState>,
    Query(q): Query<NextQuery>,
) -> Response {
    let lang = lang_of(&jar);
    let csrf = jar
        .get(CSRF_COOKIE)
        .map_or_else(new_csrf, |c| c.value().to_owned());
    let jar = jar.add(cookie(
        CSRF_COOKIE,
        csrf.clone(),
        state.config.secure_cookies,
    ));
    let info = q.expired.is_some().then(|| lang.t("login-expired"));
    (
        jar,
        login_form(lang, &csrf, &safe_next(q.next.as_deref()), "", &[], info),
    )
        .into_response()
}

pub async fn login_submit(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let jar = CookieJar::from_headers(&parts.headers);
    let lang = lang_of(&jar);
    let rid = request_id(&parts);
    let address = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
    let Ok(bytes) = axum::body::Bytes::from_request(Request::from_parts(parts, body), &state).await
    else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            lang.t("error-body-too-large"),
        )
            .into_response();
    };
    let form = FormData::parse(&bytes);
    let cookie_csrf = jar
        .get(CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if !tokens_match(form.get("csrf"), &cookie_csrf) {
        return csrf_failure(lang, None, "", "/login");
    }
    let next = safe_next(Some(form.get("next")));
    let email = form.get("email").to_owned();
    match state
        .app
        .login_with_password(&rid, &email, form.get("password"), &address)
        .await
    {
        Ok(session) => {
            let secure = state.config.secure_cookies;
            let jar = jar
                .add(cookie(SESSION_COOKIE, session.token, secure))
                .add(cookie(CSRF_COOKIE, new_csrf(), secure));
            let target = match session.view.stage {
                Stage::Active => next,
                Stage::NeedsMfa => format!("/mfa?next={}", crate::portal::encode(&next)),
                Stage::NeedsEnrolment => "/mfa/enrol".to_owned(),
            };
            (jar, Redirect::to(&target)).into_response()
        }
        Err(Error::Invalid(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            login_form(lang, &cookie_csrf, &next, &email, &errors, None),
        )
            .into_response(),
        Err(Error::TooManyRequests { retry_after_secs }) => {
            let text = lang.ta(
                "error-too-many-body",
                &[("seconds", retry_after_secs.to_string())],
            );
            (
                StatusCode::TOO_MANY_REQUESTS,
                login_form(lang, &cookie_csrf, &next, &email, &[], Some(text)),
            )
                .into_response()
        }
        Err(e) => error_page(lang, None, "", "/login", e),
    }
}

pub async fn logout(jar: CookieJar, PortalForm { portal, .. }: PortalForm) -> Response {
    if let Some(token) = jar.get(SESSION_COOKIE)
        && let Err(e) = portal.app.logout(token.value()).await
    {
        return portal.fail(e);
    }
    (
        jar.remove(axum_extra::extract::cookie::Cookie::build(SESSION_COOKIE).path("/")),
        Redirect::to("/login"),
    )
        .into_response()
}

/// A session that may still owe its second factor.
struct Pending {
    token: String,
    lang: Lang,
    view: makonis_app::identity::authn::SessionView,
    rid: String,
}

async fn pending(state: &AppState, jar: &CookieJar, rid: String) -> Result<Pending, Response> {
    let lang = lang_of(jar);
    let token = jar
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or_else(|| Redirect::to("/login").into_response())?;
    match state.app.resolve_session(&token, &rid).await {
        Ok(view) => Ok(Pending {
            token,
            lang,
            view,
            rid,
        }),
        Err(Error::Unauthenticated) => Err(Redirect::to("/login?expired=1").into_response()),
        Err(e) => Err(error_page(lang, None, "", "/mfa", e)),
    }
}

fn mfa_form(lang: Lang, csrf: &str, next: &str, errors: &[FieldError]) -> Markup {
    let page = PageCtx {
        lang,
        user: None,
        csrf: None,
        path: "/mfa",
    };
    layout(
        &page,
        &lang.t("mfa-title"),
        html! {
            div class="narrow" {
                h1 { (lang.t("mfa-title")) }
                p { (lang.t("mfa-intro")) }
                (error_summary(lang, errors))
                form method="post" action="/mfa" novalidate {
                    (csrf_field(csrf))
                    input type="hidden" name="next" value=(next);
                    (Input::text("code", lang.t("field-code"), "").required().autocomplete("one-time-code")
                        .hint(lang.t("mfa-code-hint")).render(lang, errors))
                    button type="submit" { (lang.t("mfa-submit")) }
                }
            }
        },
    )
}

pub async fn mfa_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
    request: Request,
) -> Response {
    let p = match pending(&state, &jar, request_id(&request.into_parts().0)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match p.view.stage {
        Stage::NeedsMfa => mfa_form(
            p.lang,
            &p.view.csrf_token,
            &safe_next(q.next.as_deref()),
            &[],
        )
        .into_response(),
        Stage::NeedsEnrolment => Redirect::to("/mfa/enrol").into_response(),
        Stage::Active => Redirect::to("/").into_response(),
    }
}

async fn pending_form(state: &AppState, request: Request) -> Result<(Pending, FormData), Response> {
    let (parts, body) = request.into_parts();
    let jar = CookieJar::from_headers(&parts.headers);
    let p = pending(state, &jar, request_id(&parts)).await?;
    let bytes = axum::body::Bytes::from_request(Request::from_parts(parts, body), state)
        .await
        .map_err(|r| (r.status(), p.lang.t("error-body-too-large")).into_response())?;
    let form = FormData::parse(&bytes);
    if !tokens_match(form.get("csrf"), &p.view.csrf_token) {
        return Err(csrf_failure(p.lang, None, &p.view.csrf_token, "/mfa"));
    }
    Ok((p, form))
}

pub async fn mfa_submit(State(state): State<AppState>, request: Request) -> Response {
    let (p, form) = match pending_form(&state, request).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let next = safe_next(Some(form.get("next")));
    match state
        .app
        .verify_second_factor(&p.token, &p.rid, form.get("code"))
        .await
    {
        Ok(()) => Redirect::to(&next).into_response(),
        Err(Error::Invalid(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            mfa_form(p.lang, &p.view.csrf_token, &next, &errors),
        )
            .into_response(),
        Err(Error::Conflict { .. }) => Redirect::to(&next).into_response(),
        Err(e) => error_page(p.lang, None, &p.view.csrf_token, "/mfa", e),
    }
}

fn enrol_form(
    lang: Lang,
    csrf: &str,
    enrolment: &makonis_app::identity::authn::Enrolment,
    errors: &[FieldError],
) -> Markup {
    let page = PageCtx {
        lang,
        user: None,
        csrf: None,
        path: "/mfa/enrol",
    };
    layout(
        &page,
        &lang.t("enrol-title"),
        html! {
            h1 { (lang.t("enrol-title")) }
            p { (lang.t("enrol-intro")) }
            (error_summary(lang, errors))
            figure class="qr" {
                div role="img" aria-label=(lang.t("enrol-qr-label")) { (ui::raw_svg(&enrolment.qr_svg)) }
                figcaption {
                    (lang.t("enrol-manual")) " "
                    code class="secret" { (enrolment.secret) }
                }
            }
            form method="post" action="/mfa/enrol" novalidate {
                (csrf_field(csrf))
                (Input::text("code", lang.t("field-code"), "").required().autocomplete("one-time-code")
                    .hint(lang.t("enrol-code-hint")).render(lang, errors))
                button type="submit" { (lang.t("enrol-submit")) }
            }
        },
    )
}

pub async fn enrol_page(
    State(state): State<AppState>,
    jar: CookieJar,
    request: Request,
) -> Response {
    let p = match pending(&state, &jar, request_id(&request.into_parts().0)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if p.view.stage == Stage::NeedsMfa {
        return Redirect::to("/mfa").into_response();
    }
    match state.app.begin_totp_enrolment(&p.token, &p.rid).await {
        Ok(enrolment) => enrol_form(p.lang, &p.view.csrf_token, &enrolment, &[]).into_response(),
        Err(e) => error_page(p.lang, None, &p.view.csrf_token, "/mfa/enrol", e),
    }
}

pub async fn enrol_submit(State(state): State<AppState>, request: Request) -> Response {
    let (p, form) = match pending_form(&state, request).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let lang = p.lang;
    match state
        .app
        .finish_totp_enrolment(&p.token, &p.rid, form.get("code"))
        .await
    {
        Ok(codes) => {
            let page = PageCtx {
                lang,
                user: None,
                csrf: None,
                path: "/mfa/enrol",
            };
            layout(
                &page,
                &lang.t("recovery-title"),
                html! {
                    h1 { (lang.t("recovery-title")) }
                    p { (lang.t("recovery-intro")) }
                    ul class="recovery-codes" { @for c in &codes { li { code { (c) } } } }
                    p { a href="/" class="button" { (lang.t("recovery-continue")) } }
                },
            )
            .into_response()
        }
        Err(Error::Invalid(errors)) => {
            // A fresh secret, since the page shows it again.
            match state.app.begin_totp_enrolment(&p.token, &p.rid).await {
                Ok(enrolment) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    enrol_form(lang, &p.view.csrf_token, &enrolment, &errors),
                )
                    .into_response(),
                Err(e) => error_page(lang, None, &p.view.csrf_token, "/mfa/enrol", e),
            }
        }
        Err(e) => error_page(lang, None, &p.view.csrf_token, "/mfa/enrol", e),
    }
}

pub async fn switch_language(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(code): Path<String>,
    Query(q): Query<NextQuery>,
) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return error_page(
            lang_of(&jar),
            None,
            "",
            "/lang",
            Error::NotFound { kind: "language" },
        );
    };
    let jar = jar.add(cookie(
        LANG_COOKIE,
        lang.code().to_owned(),
        state.config.secure_cookies,
    ));
    (jar, Redirect::to(&safe_next(q.next.as_deref()))).into_response()
}

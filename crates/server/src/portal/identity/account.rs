//! The person's own account: second factor status and API tokens.

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use makonis_app::Error;
use makonis_types::token::{NewApiTokenInput, TokenScope};
use makonis_types::{ApiTokenId, FieldError};
use maud::html;

use crate::portal::ui::{Input, csrf_field, error_summary, layout, notice, select, yes_no};
use crate::portal::{Portal, PortalForm, see_other};

async fn render(
    portal: &Portal,
    notice_key: Option<&str>,
    errors: &[FieldError],
    secret: Option<&str>,
) -> Response {
    let lang = portal.lang;
    let tokens = match portal.app.list_api_tokens(&portal.op).await {
        Ok(t) => t,
        Err(e) => return portal.fail(e),
    };
    let scopes: Vec<(String, String)> = TokenScope::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), lang.label("scope", s.as_str())))
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = html! {
        h1 { (lang.t("account-title")) }
        (notice(lang, notice_key))
        dl class="details" {
            dt { (lang.t("field-email")) } dd { (portal.user.email) }
            dt { (lang.t("field-mfa")) } dd { (yes_no(lang, portal.user.mfa_enabled)) }
        }
        p { a href="/mfa/enrol" { (lang.t(if portal.user.mfa_enabled { "account-mfa-reset" } else { "account-mfa-enrol" })) } }
        h2 id="tokens-title" { (lang.t("tokens-title")) }
        @if let Some(secret) = secret {
            div class="notice" role="status" {
                p { (lang.t("token-created")) }
                p { code class="secret" { (secret) } }
            }
        }
        @if tokens.is_empty() { p { (lang.t("none-yet")) } } @else {
            table {
                caption { (lang.t("tokens-title")) }
                thead { tr {
                    th scope="col" { (lang.t("field-name")) }
                    th scope="col" { (lang.t("field-token-scope")) }
                    th scope="col" { (lang.t("field-expires")) }
                    th scope="col" { (lang.t("field-status")) }
                    th scope="col" { (lang.t("actions")) }
                } }
                tbody {
                    @for t in &tokens {
                        tr {
                            td { (t.name) }
                            td { (lang.label("scope", t.scope.as_str())) }
                            td { (t.expires_at.map_or_else(|| "—".to_owned(), |e| e.format("%Y-%m-%d").to_string())) }
                            td { (lang.t(if t.revoked_at.is_some() { "token-revoked" } else { "token-active" })) }
                            td {
                                @if t.revoked_at.is_none() {
                                    form method="post" action={ "/account/tokens/" (t.id) "/revoke" } class="inline" {
                                        (csrf_field(&portal.csrf))
                                        button type="submit" class="secondary"
                                            aria-label=(lang.ta("revoke-token-label", &[("name", t.name.clone())])) { (lang.t("revoke")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h3 id="new-token-title" { (lang.t("token-new")) }
        (error_summary(lang, errors))
        form method="post" action="/account/tokens" aria-labelledby="new-token-title" novalidate {
            (csrf_field(&portal.csrf))
            (Input::text("name", lang.t("field-name"), "").required().max(100).render(lang, errors))
            (select(lang, "scope", lang.t("field-token-scope"), &scopes, "read", true, errors))
            (Input::text("expires_in_days", lang.t("field-expires-in-days"), "90").numeric().hint(lang.t("hint-expires")).render(lang, errors))
            button type="submit" { (lang.t("token-create")) }
        }
    };
    (
        status,
        layout(&portal.page(), &lang.t("account-title"), body),
    )
        .into_response()
}

pub async fn page(portal: Portal, RawQuery(q): RawQuery) -> Response {
    let notice_key = q.as_deref().and_then(|q| q.strip_prefix("notice="));
    render(&portal, notice_key, &[], None).await
}

pub async fn create_token(PortalForm { portal, form }: PortalForm) -> Response {
    let mut errors = Vec::new();
    let scope = form.choice("scope", TokenScope::parse_field, &mut errors);
    let expires = form
        .opt("expires_in_days")
        .map(|_| form.int("expires_in_days", &mut errors));
    let Some(scope) = scope else {
        return render(&portal, None, &errors, None).await;
    };
    if !errors.is_empty() {
        return render(&portal, None, &errors, None).await;
    }
    let input = NewApiTokenInput {
        name: form.get("name").to_owned(),
        scope,
        expires_in_days: expires,
    };
    match portal.app.create_api_token(&portal.op, &input).await {
        Ok(created) => render(&portal, None, &[], Some(&created.secret)).await,
        Err(Error::Invalid(errors)) => render(&portal, None, &errors, None).await,
        Err(e) => portal.fail(e),
    }
}

pub async fn revoke_token(
    Path(raw): Path<String>,
    PortalForm { portal, .. }: PortalForm,
) -> Response {
    let Ok(id) = raw.parse::<ApiTokenId>() else {
        return portal.fail(Error::NotFound { kind: "API token" });
    };
    match portal.app.revoke_api_token(&portal.op, id).await {
        Ok(()) => see_other("/account", "token-revoked"),
        Err(e) => portal.fail(e),
    }
}

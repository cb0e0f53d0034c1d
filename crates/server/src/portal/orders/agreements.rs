//! Agreement pages: the list, one agreement, and signing it.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Response};
use makonis_types::InstitutionId;
use makonis_types::order::*;
use maud::{Markup, html};

use crate::i18n::Lang;
use crate::portal::parse_id;
use crate::portal::ui::{Input, csrf_field, layout, notice};
use crate::portal::{Portal, PortalForm, see_other};
use crate::today;

fn agreement_row(
    lang: Lang,
    a: &Agreement,
    providers: &HashMap<makonis_types::federation::ProviderId, String>,
    institutions: &HashMap<InstitutionId, String>,
) -> Markup {
    html! {
        tr {
            td { a href={ "/agreements/" (a.id) } { (institutions.get(&a.institution_id).cloned().unwrap_or_default()) " — " (providers.get(&a.provider_id).cloned().unwrap_or_default()) } }
            td { (lang.label("agreement-status", a.status.as_str())) }
            td { (a.valid_from) " – " (a.valid_until) }
            td { (a.reminder_date()) }
        }
    }
}

async fn party_names(
    portal: &Portal,
) -> (
    HashMap<makonis_types::federation::ProviderId, String>,
    HashMap<InstitutionId, String>,
) {
    let providers = portal
        .app
        .list_providers(&portal.op)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.id, p.short_name))
        .collect();
    let institutions = portal
        .institutions()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|i| (i.id, i.short_name))
        .collect();
    (providers, institutions)
}

pub async fn agreements(portal: Portal) -> Response {
    let lang = portal.lang;
    let (all, due) = match (
        portal.app.list_agreements(&portal.op).await,
        portal.app.agreement_reminders(&portal.op, today()).await,
    ) {
        (Ok(a), Ok(d)) => (a, d),
        (Err(e), _) | (_, Err(e)) => return portal.fail(e),
    };
    let (providers, institutions) = party_names(&portal).await;
    let head = html! { thead { tr {
        th scope="col" { (lang.t("field-parties")) }
        th scope="col" { (lang.t("field-status")) }
        th scope="col" { (lang.t("field-validity")) }
        th scope="col" { (lang.t("field-reminder")) }
    } } };
    layout(
        &portal.page(),
        &lang.t("agreements-title"),
        html! {
            h1 { (lang.t("agreements-title")) }
            h2 { (lang.t("reminders-title")) }
            @if due.is_empty() { p { (lang.t("reminders-none")) } } @else {
                table { caption { (lang.t("reminders-title")) } (head) tbody { @for a in &due { (agreement_row(lang, a, &providers, &institutions)) } } }
            }
            h2 { (lang.t("agreements-all")) }
            @if all.is_empty() { p { (lang.t("none-yet")) } } @else {
                table { caption { (lang.t("agreements-all")) } (head) tbody { @for a in &all { (agreement_row(lang, a, &providers, &institutions)) } } }
            }
        },
    )
    .into_response()
}

pub async fn agreement(portal: Portal, Path(raw): Path<String>, RawQuery(q): RawQuery) -> Response {
    let lang = portal.lang;
    let id: AgreementId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let a = match portal.app.get_agreement(&portal.op, id).await {
        Ok(a) => a,
        Err(e) => return portal.fail(e),
    };
    let (providers, institutions) = party_names(&portal).await;
    let may_sign = a.status == AgreementStatus::Draft
        && ((portal
            .op
            .has_platform_role(makonis_types::roles::Role::Broker)
            && a.broker_signed_by.is_none())
            || (portal.op.has_institution_role(
                makonis_types::roles::Role::InstitutionAdmin,
                a.institution_id,
            ) && a.institution_signed_by.is_none()));
    let signed = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map_or_else(
            || lang.t("not-signed"),
            |t| t.format("%Y-%m-%d %H:%M").to_string(),
        )
    };
    let notice_key = q.as_deref().and_then(|q| q.strip_prefix("notice="));
    layout(
        &portal.page(),
        &lang.t("agreement-title"),
        html! {
            h1 { (lang.t("agreement-title")) }
            (notice(lang, notice_key))
            dl class="details" {
                dt { (lang.t("field-institution")) } dd { (institutions.get(&a.institution_id).cloned().unwrap_or_default()) }
                dt { (lang.t("field-provider")) } dd { (providers.get(&a.provider_id).cloned().unwrap_or_default()) }
                dt { (lang.t("field-status")) } dd { (lang.label("agreement-status", a.status.as_str())) }
                dt { (lang.t("field-scope-text")) } dd { (a.scope) }
                dt { (lang.t("field-price-list")) } dd { (a.price_list_version.clone().unwrap_or_else(|| "—".into())) }
                dt { (lang.t("field-validity")) } dd { (a.valid_from) " – " (a.valid_until) }
                dt { (lang.t("field-reminder")) } dd { (a.reminder_date()) }
                dt { (lang.t("field-document-ref")) } dd { (a.document_ref.clone().unwrap_or_else(|| "—".into())) }
                dt { (lang.t("signed-broker")) } dd { (signed(a.broker_signed_at)) }
                dt { (lang.t("signed-institution")) } dd { (signed(a.institution_signed_at)) }
            }
            @if may_sign {
                h2 id="sign-title" { (lang.t("sign-title")) }
                form method="post" action={ "/agreements/" (a.id) "/sign" } aria-labelledby="sign-title" {
                    (csrf_field(&portal.csrf))
                    (Input::text("document_ref", lang.t("field-document-ref"), "").max(200).render(lang, &[]))
                    button type="submit" { (lang.t("sign-submit")) }
                }
            }
        },
    )
    .into_response()
}

pub async fn sign(Path(raw): Path<String>, PortalForm { portal, form }: PortalForm) -> Response {
    let id: AgreementId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match portal
        .app
        .sign_agreement(&portal.op, id, form.opt("document_ref").as_deref())
        .await
    {
        Ok(_) => see_other(&format!("/agreements/{id}"), "signed"),
        Err(e) => portal.fail(e),
    }
}

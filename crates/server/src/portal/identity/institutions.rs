//! Institution pages: list with search, detail with its systems, create and
//! edit forms.

use axum::extract::{Query, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use makonis_app::Error;
use makonis_app::authz::{Action, Kind, Scope, can};
use makonis_types::information_system::InformationSystemFilter;
use makonis_types::institution::{Institution, InstitutionInput, InstitutionKind};
use makonis_types::paging::PageRequest;
use makonis_types::{FieldError, InstitutionId};
use maud::{Markup, html};
use serde::Deserialize;

use crate::extract::parse_query;
use crate::portal::parse_id;
use crate::portal::ui::{Input, csrf_field, error_summary, layout, notice, pager, select};
use crate::portal::{FormData, Portal, PortalForm, see_other};

#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    offset: Option<u32>,
    notice: Option<String>,
}

pub async fn list(portal: Portal, RawQuery(raw): RawQuery) -> Response {
    let lang = portal.lang;
    let query: ListQuery = parse_query(raw.as_deref().unwrap_or_default()).unwrap_or_default();
    let page = PageRequest {
        limit: Some(50),
        offset: query.offset,
    };
    let result = match portal
        .app
        .list_institutions(&portal.op, query.q.as_deref(), page)
        .await
    {
        Ok(r) => r,
        Err(e) => return portal.fail(e),
    };
    let may_create = can(
        &portal.op,
        Action::Create,
        Kind::Institutions,
        Scope::Platform,
    );
    let q = query.q.clone().unwrap_or_default();
    layout(
        &portal.page(),
        &lang.t("institutions-title"),
        html! {
            h1 { (lang.t("institutions-title")) }
            (notice(lang, query.notice.as_deref()))
            @if may_create { p { a class="button" href="/institutions/new" { (lang.t("institutions-new")) } } }
            form method="get" action="/institutions" class="filters" role="search" {
                (Input::text("q", lang.t("search"), &q).kind("search").render(lang, &[]))
                button type="submit" { (lang.t("search-submit")) }
            }
            table {
                caption { (lang.t("institutions-title")) }
                thead { tr {
                    th scope="col" { (lang.t("field-short-name")) }
                    th scope="col" { (lang.t("field-name")) }
                    th scope="col" { (lang.t("field-kind")) }
                } }
                tbody {
                    @for i in &result.items {
                        tr {
                            td { a href={ "/institutions/" (i.id) } { (i.short_name) } }
                            td { (i.name) }
                            td { (lang.label("kind", i.kind.as_str())) }
                        }
                    }
                }
            }
            (pager(lang, &result, "/institutions", &[("q".into(), q.clone())]))
        },
    )
    .into_response()
}

pub async fn detail(
    portal: Portal,
    axum::extract::Path(raw): axum::extract::Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    let lang = portal.lang;
    let id: InstitutionId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let institution = match portal.app.get_institution(&portal.op, id).await {
        Ok(i) => i,
        Err(e) => return portal.fail(e),
    };
    let filter = InformationSystemFilter {
        institution_id: Some(id),
        ..Default::default()
    };
    let systems = portal
        .app
        .list_information_systems(
            &portal.op,
            &filter,
            PageRequest {
                limit: Some(500),
                offset: None,
            },
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    let may_edit = can(
        &portal.op,
        Action::Update,
        Kind::Institutions,
        Scope::Institution(id),
    );
    let may_add_system = can(
        &portal.op,
        Action::Create,
        Kind::InformationSystems,
        Scope::Institution(id),
    );
    let quotas = crate::portal::orders::quotas::quota_section(&portal, id).await;
    layout(
        &portal.page(),
        &institution.name,
        html! {
            h1 { (institution.name) }
            (notice(lang, query.notice.as_deref()))
            dl class="details" {
                dt { (lang.t("field-short-name")) } dd { (institution.short_name) }
                dt { (lang.t("field-kind")) } dd { (lang.label("kind", institution.kind.as_str())) }
                dt { (lang.t("field-registration-number")) } dd { (institution.registration_number.clone().unwrap_or_else(|| "—".into())) }
            }
            @if may_edit { p { a class="button" href={ "/institutions/" (id) "/edit" } { (lang.t("edit")) } } }
            h2 { (lang.t("institution-systems")) }
            @if may_add_system { p { a class="button" href={ "/systems/new?institution_id=" (id) } { (lang.t("systems-new")) } } }
            @if systems.is_empty() { p { (lang.t("none-yet")) } } @else {
                ul { @for s in &systems { li { a href={ "/systems/" (s.id) } { (s.code) " — " (s.name) } } } }
            }
            (quotas)
        },
    )
    .into_response()
}

fn form_page(
    portal: &Portal,
    title: &str,
    action: &str,
    form: &FormData,
    errors: &[FieldError],
) -> Markup {
    let lang = portal.lang;
    let kinds: Vec<(String, String)> = InstitutionKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), lang.label("kind", k.as_str())))
        .collect();
    layout(
        &portal.page(),
        title,
        html! {
            h1 { (title) }
            (error_summary(lang, errors))
            form method="post" action=(action) novalidate {
                (csrf_field(&portal.csrf))
                (Input::text("name", lang.t("field-name"), form.get("name")).required().max(200).render(lang, errors))
                (Input::text("short_name", lang.t("field-short-name"), form.get("short_name")).required().max(40).render(lang, errors))
                (Input::text("registration_number", lang.t("field-registration-number"), form.get("registration_number"))
                    .max(11).hint(lang.t("hint-registration-number")).render(lang, errors))
                (select(lang, "kind", lang.t("field-kind"), &kinds, form.get("kind"), true, errors))
                button type="submit" { (lang.t("save")) }
            }
        },
    )
}

fn input_from(form: &FormData) -> Result<InstitutionInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let kind = form.choice("kind", InstitutionKind::parse_field, &mut errors);
    let input = InstitutionInput {
        name: form.get("name").to_owned(),
        short_name: form.get("short_name").to_owned(),
        registration_number: form.opt("registration_number"),
        kind: kind.unwrap_or(InstitutionKind::Recipient),
    };
    // Report the text fields' problems together with the choice's.
    if let Err(mut more) = input.validate() {
        errors.append(&mut more);
    }
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(errors)
    }
}

fn form_of(i: &Institution) -> FormData {
    let body = serde_urlencoded::to_string([
        ("name", i.name.as_str()),
        ("short_name", i.short_name.as_str()),
        (
            "registration_number",
            i.registration_number.as_deref().unwrap_or(""),
        ),
        ("kind", i.kind.as_str()),
    ])
    .unwrap_or_default();
    FormData::parse(body.as_bytes())
}

pub async fn new_form(portal: Portal) -> Response {
    if let Err(e) = makonis_app::authz::authorize(
        &portal.op,
        Action::Create,
        Kind::Institutions,
        Scope::Platform,
    ) {
        return portal.fail(e);
    }
    let form = FormData::parse(b"kind=recipient");
    form_page(
        &portal,
        &portal.lang.t("institutions-new"),
        "/institutions",
        &form,
        &[],
    )
    .into_response()
}

pub async fn create(PortalForm { portal, form }: PortalForm) -> Response {
    let result = match input_from(&form) {
        Ok(input) => portal.app.create_institution(&portal.op, &input).await,
        Err(errors) => {
            // Authorisation still comes first: a member gets 403, not field errors.
            if let Err(e) = makonis_app::authz::authorize(
                &portal.op,
                Action::Create,
                Kind::Institutions,
                Scope::Platform,
            ) {
                return portal.fail(e);
            }
            Err(Error::Invalid(errors))
        }
    };
    match result {
        Ok(created) => see_other(&format!("/institutions/{}", created.id), "created"),
        Err(Error::Invalid(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(
                &portal,
                &portal.lang.t("institutions-new"),
                "/institutions",
                &form,
                &errors,
            ),
        )
            .into_response(),
        Err(e) => portal.fail(e),
    }
}

pub async fn edit_form(
    portal: Portal,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Response {
    let id: InstitutionId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let institution = match portal.app.get_institution(&portal.op, id).await {
        Ok(i) => i,
        Err(e) => return portal.fail(e),
    };
    if let Err(e) = makonis_app::authz::authorize(
        &portal.op,
        Action::Update,
        Kind::Institutions,
        Scope::Institution(id),
    ) {
        return portal.fail(e);
    }
    let title = portal
        .lang
        .ta("edit-title", &[("name", institution.short_name.clone())]);
    form_page(
        &portal,
        &title,
        &format!("/institutions/{id}"),
        &form_of(&institution),
        &[],
    )
    .into_response()
}

pub async fn update(
    axum::extract::Path(raw): axum::extract::Path<String>,
    PortalForm { portal, form }: PortalForm,
) -> Response {
    let id: InstitutionId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let result = match input_from(&form) {
        Ok(input) => portal.app.update_institution(&portal.op, id, &input).await,
        Err(errors) => match makonis_app::authz::authorize(
            &portal.op,
            Action::Update,
            Kind::Institutions,
            Scope::Institution(id),
        ) {
            Ok(()) => Err(Error::Invalid(errors)),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(_) => see_other(&format!("/institutions/{id}"), "saved"),
        Err(Error::Invalid(errors)) => {
            let title = portal.lang.t("edit");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                form_page(
                    &portal,
                    &title,
                    &format!("/institutions/{id}"),
                    &form,
                    &errors,
                ),
            )
                .into_response()
        }
        Err(e) => portal.fail(e),
    }
}

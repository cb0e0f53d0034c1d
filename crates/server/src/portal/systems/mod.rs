//! Information system pages: list with filters, detail, create and edit.
//!
//! Area `systems` (the register of information systems), portal pages layer:
//! the use cases are in `makonis_app::systems`; the same area folder exists
//! in `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: REG-1, SEC-7, SEC-8.

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use makonis_app::Error;
use makonis_app::authz::{Action, Kind, Scope, authorize, can};
use makonis_types::information_system::{
    DataClassification, InformationSystem, InformationSystemFilter, InformationSystemInput,
    Lifecycle, SecurityCategory,
};
use makonis_types::institution::Institution;
use makonis_types::paging::PageRequest;
use makonis_types::{FieldError, InformationSystemId, InstitutionId};
use maud::{Markup, html};
use serde::Deserialize;

use crate::i18n::Lang;
use crate::portal::parse_id;
use crate::portal::ui::{
    Input, checkbox, csrf_field, error_summary, layout, notice, pager, select, textarea, yes_no,
};
use crate::portal::{FormData, Portal, PortalForm, see_other};

#[derive(Debug, Deserialize, Default)]
struct ListQuery {
    offset: Option<u32>,
    notice: Option<String>,
}

fn choices<T: Copy>(
    lang: Lang,
    prefix: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Vec<(String, String)> {
    all.iter()
        .map(|v| (name(*v).to_owned(), lang.label(prefix, name(*v))))
        .collect()
}

fn bool_choices(lang: Lang) -> Vec<(String, String)> {
    vec![
        ("true".into(), lang.t("yes")),
        ("false".into(), lang.t("no")),
    ]
}

pub async fn list(portal: Portal, RawQuery(raw): RawQuery) -> Response {
    let lang = portal.lang;
    let raw = raw.unwrap_or_default();
    // Filter and page fields are parsed apart: serde cannot flatten
    // typed (numeric, boolean) query values.
    let (filter, mut errors): (InformationSystemFilter, Vec<FieldError>) =
        crate::portal::query_or_default(&raw);
    let (query, more): (ListQuery, Vec<FieldError>) = crate::portal::query_or_default(&raw);
    errors.extend(more);
    let page = PageRequest {
        limit: Some(50),
        offset: query.offset,
    };
    let result = match portal
        .app
        .list_information_systems(&portal.op, &filter, page)
        .await
    {
        Ok(r) => r,
        Err(e) => return portal.fail(e),
    };
    let all_institutions = match portal.institutions().await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let short_name = |id: InstitutionId| {
        all_institutions
            .iter()
            .find(|i| i.id == id)
            .map_or_else(|| "—".to_owned(), |i| i.short_name.clone())
    };
    let may_create = all_institutions.iter().any(|i| {
        can(
            &portal.op,
            Action::Create,
            Kind::InformationSystems,
            Scope::Institution(i.id),
        )
    });
    let f = &filter;
    let institution_options: Vec<(String, String)> = all_institutions
        .iter()
        .map(|i| (i.id.to_string(), i.short_name.clone()))
        .collect();
    let keep: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .filter(|(k, _)| k != "notice")
        .collect();
    layout(
        &portal.page(),
        &lang.t("systems-title"),
        html! {
            h1 { (lang.t("systems-title")) }
            (notice(lang, query.notice.as_deref()))
            (error_summary(lang, &errors))
            @if may_create { p { a class="button" href="/systems/new" { (lang.t("systems-new")) } } }
            form method="get" action="/systems" class="filters" role="search" aria-label=(lang.t("filters")) {
                (Input::text("q", lang.t("search"), f.q.as_deref().unwrap_or("")).kind("search").render(lang, &[]))
                (select(lang, "institution_id", lang.t("field-institution"), &institution_options,
                    &f.institution_id.map(|i| i.to_string()).unwrap_or_default(), false, &[]))
                (select(lang, "security_category", lang.t("field-security-category"),
                    &choices(lang, "category", SecurityCategory::ALL, SecurityCategory::as_str),
                    f.security_category.map_or("", SecurityCategory::as_str), false, &[]))
                (select(lang, "lifecycle", lang.t("field-lifecycle"),
                    &choices(lang, "lifecycle", Lifecycle::ALL, Lifecycle::as_str),
                    f.lifecycle.map_or("", Lifecycle::as_str), false, &[]))
                (select(lang, "critical_infrastructure", lang.t("field-critical-infrastructure"), &bool_choices(lang),
                    &f.critical_infrastructure.map(|b| b.to_string()).unwrap_or_default(), false, &[]))
                (select(lang, "embassy_required", lang.t("field-embassy-required"), &bool_choices(lang),
                    &f.embassy_required.map(|b| b.to_string()).unwrap_or_default(), false, &[]))
                button type="submit" { (lang.t("filter-submit")) }
            }
            table {
                caption { (lang.t("systems-title")) }
                thead { tr {
                    th scope="col" { (lang.t("field-code")) }
                    th scope="col" { (lang.t("field-name")) }
                    th scope="col" { (lang.t("field-institution")) }
                    th scope="col" { (lang.t("field-security-category")) }
                    th scope="col" { (lang.t("field-critical-infrastructure")) }
                    th scope="col" { (lang.t("field-lifecycle")) }
                } }
                tbody {
                    @for s in &result.items {
                        tr {
                            td { a href={ "/systems/" (s.id) } { (s.code) } }
                            td { (s.name) }
                            td { (short_name(s.institution_id)) }
                            td { (s.security_category.as_str()) }
                            td { (yes_no(lang, s.critical_infrastructure)) }
                            td { (lang.label("lifecycle", s.lifecycle.as_str())) }
                        }
                    }
                }
            }
            (pager(lang, &result, "/systems", &keep))
        },
    )
    .into_response()
}

pub async fn detail(
    portal: Portal,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = portal.lang;
    let id: InformationSystemId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let s = match portal.app.get_information_system(&portal.op, id).await {
        Ok(s) => s,
        Err(e) => return portal.fail(e),
    };
    let institution = portal
        .app
        .get_institution(&portal.op, s.institution_id)
        .await
        .ok();
    let notice_key = query.as_deref().and_then(|q| q.strip_prefix("notice="));
    let may_edit = can(
        &portal.op,
        Action::Update,
        Kind::InformationSystems,
        Scope::Institution(s.institution_id),
    );
    let minutes = |m: i64| lang.ta("minutes", &[("n", m.to_string())]);
    layout(
        &portal.page(),
        &format!("{} — {}", s.code, s.name),
        html! {
            h1 { (s.code) " — " (s.name) }
            (notice(lang, notice_key))
            dl class="details" {
                dt { (lang.t("field-institution")) }
                dd { @if let Some(i) = &institution { a href={ "/institutions/" (i.id) } { (i.name) } } @else { "—" } }
                dt { (lang.t("field-description")) } dd { (s.description.clone().unwrap_or_else(|| "—".into())) }
                dt { (lang.t("field-responsible-person")) } dd { (s.responsible_person) }
                dt { (lang.t("field-responsible-email")) } dd { (s.responsible_email.clone().unwrap_or_else(|| "—".into())) }
                dt { (lang.t("field-security-category")) } dd { (lang.label("category", s.security_category.as_str())) }
                dt { (lang.t("field-critical-infrastructure")) } dd { (yes_no(lang, s.critical_infrastructure)) }
                dt { (lang.t("field-data-classification")) } dd { (lang.label("classification", s.data_classification.as_str())) }
                dt { (lang.t("field-rpo-minutes")) } dd { (minutes(s.rpo_minutes)) }
                dt { (lang.t("field-rto-minutes")) } dd { (minutes(s.rto_minutes)) }
                dt { (lang.t("field-embassy-required")) } dd { (yes_no(lang, s.embassy_required)) }
                dt { (lang.t("field-lifecycle")) } dd { (lang.label("lifecycle", s.lifecycle.as_str())) }
                dt { (lang.t("field-updated-at")) } dd { time datetime=(s.updated_at.to_rfc3339()) { (s.updated_at.format("%Y-%m-%d %H:%M UTC")) } }
            }
            p {
                @if may_edit { a class="button" href={ "/systems/" (s.id) "/edit" } { (lang.t("edit")) } " " }
                a href={ "/systems/" (s.id) "/placement" } { (lang.t("system-placement-link")) }
                @if s.embassy_required {
                    " " a href={ "/embassy/systems/" (s.id) } { (lang.t("system-embassy-link")) }
                }
            }
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
    institutions: Option<&[Institution]>,
) -> Markup {
    let lang = portal.lang;
    html! {
        (layout(&portal.page(), title, html! {
            h1 { (title) }
            (error_summary(lang, errors))
            form method="post" action=(action) novalidate {
                (csrf_field(&portal.csrf))
                @if let Some(institutions) = institutions {
                    (select(lang, "institution_id", lang.t("field-institution"),
                        &institutions.iter().map(|i| (i.id.to_string(), format!("{} — {}", i.short_name, i.name))).collect::<Vec<_>>(),
                        form.get("institution_id"), true, errors))
                }
                (Input::text("code", lang.t("field-code"), form.get("code")).required().max(20).hint(lang.t("hint-code")).render(lang, errors))
                (Input::text("name", lang.t("field-name"), form.get("name")).required().max(200).render(lang, errors))
                (textarea(lang, "description", lang.t("field-description"), form.get("description"), errors))
                (Input::text("responsible_person", lang.t("field-responsible-person"), form.get("responsible_person")).required().max(200).render(lang, errors))
                (Input::text("responsible_email", lang.t("field-responsible-email"), form.get("responsible_email")).kind("email").render(lang, errors))
                (select(lang, "security_category", lang.t("field-security-category"),
                    &choices(lang, "category", SecurityCategory::ALL, SecurityCategory::as_str), form.get("security_category"), true, errors))
                (checkbox("critical_infrastructure", lang.t("field-critical-infrastructure"), form.checked("critical_infrastructure")))
                (select(lang, "data_classification", lang.t("field-data-classification"),
                    &choices(lang, "classification", DataClassification::ALL, DataClassification::as_str), form.get("data_classification"), true, errors))
                (Input::text("rpo_minutes", lang.t("field-rpo-minutes"), form.get("rpo_minutes")).numeric().required().hint(lang.t("hint-rpo")).render(lang, errors))
                (Input::text("rto_minutes", lang.t("field-rto-minutes"), form.get("rto_minutes")).numeric().required().hint(lang.t("hint-rto")).render(lang, errors))
                (checkbox("embassy_required", lang.t("field-embassy-required"), form.checked("embassy_required")))
                (select(lang, "lifecycle", lang.t("field-lifecycle"),
                    &choices(lang, "lifecycle", Lifecycle::ALL, Lifecycle::as_str), form.get("lifecycle"), true, errors))
                button type="submit" { (lang.t("save")) }
            }
        }))
    }
}

fn input_from(form: &FormData) -> Result<InformationSystemInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let category = form.choice(
        "security_category",
        SecurityCategory::parse_field,
        &mut errors,
    );
    let classification = form.choice(
        "data_classification",
        DataClassification::parse_field,
        &mut errors,
    );
    let lifecycle = form.choice("lifecycle", Lifecycle::parse_field, &mut errors);
    let rpo = form.int("rpo_minutes", &mut errors);
    let rto = form.int("rto_minutes", &mut errors);
    let input = InformationSystemInput {
        code: form.get("code").to_owned(),
        name: form.get("name").to_owned(),
        description: form.opt("description"),
        responsible_person: form.get("responsible_person").to_owned(),
        responsible_email: form.opt("responsible_email"),
        security_category: category.unwrap_or(SecurityCategory::C),
        critical_infrastructure: form.checked("critical_infrastructure"),
        data_classification: classification.unwrap_or(DataClassification::Public),
        rpo_minutes: rpo,
        rto_minutes: rto,
        embassy_required: form.checked("embassy_required"),
        lifecycle: lifecycle.unwrap_or(Lifecycle::Planned),
    };
    if let Err(more) = input.validate() {
        for e in more {
            if !errors.iter().any(|x| x.field == e.field) {
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(errors)
    }
}

fn form_of(s: &InformationSystem) -> FormData {
    let rpo = s.rpo_minutes.to_string();
    let rto = s.rto_minutes.to_string();
    let mut pairs = vec![
        ("code", s.code.as_str()),
        ("name", s.name.as_str()),
        ("description", s.description.as_deref().unwrap_or("")),
        ("responsible_person", s.responsible_person.as_str()),
        (
            "responsible_email",
            s.responsible_email.as_deref().unwrap_or(""),
        ),
        ("security_category", s.security_category.as_str()),
        ("data_classification", s.data_classification.as_str()),
        ("rpo_minutes", rpo.as_str()),
        ("rto_minutes", rto.as_str()),
        ("lifecycle", s.lifecycle.as_str()),
    ];
    if s.critical_infrastructure {
        pairs.push(("critical_infrastructure", "1"));
    }
    if s.embassy_required {
        pairs.push(("embassy_required", "1"));
    }
    FormData::parse(
        serde_urlencoded::to_string(pairs)
            .unwrap_or_default()
            .as_bytes(),
    )
}

async fn creatable(portal: &Portal) -> Result<Vec<Institution>, Response> {
    Ok(portal
        .institutions()
        .await?
        .into_iter()
        .filter(|i| {
            can(
                &portal.op,
                Action::Create,
                Kind::InformationSystems,
                Scope::Institution(i.id),
            )
        })
        .collect())
}

pub async fn new_form(portal: Portal, RawQuery(raw): RawQuery) -> Response {
    let options = match creatable(&portal).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    if options.is_empty() {
        return portal.fail(Error::forbidden(
            "no institution where you may register systems",
        ));
    }
    let preselect = raw
        .as_deref()
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "institution_id")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default();
    let defaults = format!(
        "institution_id={preselect}&security_category=C&data_classification=restricted&rpo_minutes=240&rto_minutes=1440&lifecycle=planned"
    );
    form_page(
        &portal,
        &portal.lang.t("systems-new"),
        "/systems",
        &FormData::parse(defaults.as_bytes()),
        &[],
        Some(&options),
    )
    .into_response()
}

pub async fn create(PortalForm { portal, form }: PortalForm) -> Response {
    let institution: Option<InstitutionId> = form.get("institution_id").parse().ok();
    let result = match (institution, input_from(&form)) {
        (Some(inst), Ok(input)) => {
            portal
                .app
                .create_information_system(&portal.op, inst, &input)
                .await
        }
        (inst, parsed) => {
            let mut errors = parsed.err().unwrap_or_default();
            if inst.is_none() {
                errors.insert(0, FieldError::required("institution_id"));
            }
            match inst.map(|i| {
                authorize(
                    &portal.op,
                    Action::Create,
                    Kind::InformationSystems,
                    Scope::Institution(i),
                )
            }) {
                Some(Err(e)) => Err(e),
                _ => Err(Error::Invalid(errors)),
            }
        }
    };
    match result {
        Ok(created) => see_other(&format!("/systems/{}", created.id), "created"),
        Err(Error::Invalid(errors)) => {
            let options = match creatable(&portal).await {
                Ok(o) => o,
                Err(r) => return r,
            };
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                form_page(
                    &portal,
                    &portal.lang.t("systems-new"),
                    "/systems",
                    &form,
                    &errors,
                    Some(&options),
                ),
            )
                .into_response()
        }
        Err(e) => portal.fail(e),
    }
}

pub async fn edit_form(portal: Portal, Path(raw): Path<String>) -> Response {
    let id: InformationSystemId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let s = match portal.app.get_information_system(&portal.op, id).await {
        Ok(s) => s,
        Err(e) => return portal.fail(e),
    };
    if let Err(e) = authorize(
        &portal.op,
        Action::Update,
        Kind::InformationSystems,
        Scope::Institution(s.institution_id),
    ) {
        return portal.fail(e);
    }
    let title = portal.lang.ta("edit-title", &[("name", s.code.clone())]);
    form_page(
        &portal,
        &title,
        &format!("/systems/{id}"),
        &form_of(&s),
        &[],
        None,
    )
    .into_response()
}

pub async fn update(Path(raw): Path<String>, PortalForm { portal, form }: PortalForm) -> Response {
    let id: InformationSystemId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let result = match input_from(&form) {
        Ok(input) => {
            portal
                .app
                .update_information_system(&portal.op, id, &input)
                .await
        }
        Err(errors) => match portal
            .app
            .get_information_system(&portal.op, id)
            .await
            .and_then(|s| {
                authorize(
                    &portal.op,
                    Action::Update,
                    Kind::InformationSystems,
                    Scope::Institution(s.institution_id),
                )
            }) {
            Ok(()) => Err(Error::Invalid(errors)),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(_) => see_other(&format!("/systems/{id}"), "saved"),
        Err(Error::Invalid(errors)) => {
            let title = portal.lang.t("edit");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                form_page(
                    &portal,
                    &title,
                    &format!("/systems/{id}"),
                    &form,
                    &errors,
                    None,
                ),
            )
                .into_response()
        }
        Err(e) => portal.fail(e),
    }
}

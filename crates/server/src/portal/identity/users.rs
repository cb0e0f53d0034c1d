//! User pages: list, detail with roles (grant, revoke), create.

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use makonis_app::Error;
use makonis_app::authz::{Action, Kind, Scope, can};
use makonis_types::institution::Institution;
use makonis_types::paging::PageRequest;
use makonis_types::roles::{NewRoleAssignment, Role};
use makonis_types::user::NewUserInput;
use makonis_types::{FieldError, InstitutionId, RoleAssignmentId, UserId};
use maud::{Markup, html};
use serde::Deserialize;

use crate::extract::parse_query;
use crate::i18n::Lang;
use crate::portal::parse_id;
use crate::portal::ui::{Input, csrf_field, error_summary, layout, notice, pager, select, yes_no};
use crate::portal::{FormData, Portal, PortalForm, see_other};

#[derive(Debug, Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    offset: Option<u32>,
    notice: Option<String>,
}

fn role_options(lang: Lang) -> Vec<(String, String)> {
    Role::ALL
        .iter()
        .map(|r| (r.as_str().to_owned(), lang.label("role", r.as_str())))
        .collect()
}

/// Institutions where the actor may grant roles, plus "platform" if they
/// may grant platform roles.
fn scope_options(portal: &Portal, institutions: &[Institution]) -> Vec<(String, String)> {
    let mut options = Vec::new();
    if can(
        &portal.op,
        Action::ManageRoles,
        Kind::Users,
        Scope::Platform,
    ) {
        options.push((String::new(), portal.lang.t("scope-platform")));
    }
    for i in institutions {
        if can(
            &portal.op,
            Action::ManageRoles,
            Kind::Users,
            Scope::Institution(i.id),
        ) {
            options.push((i.id.to_string(), i.short_name.clone()));
        }
    }
    options
}

pub async fn list(portal: Portal, RawQuery(raw): RawQuery) -> Response {
    let lang = portal.lang;
    let query: ListQuery = parse_query(raw.as_deref().unwrap_or_default()).unwrap_or_default();
    let result = match portal
        .app
        .list_users(
            &portal.op,
            query.q.as_deref(),
            PageRequest {
                limit: Some(50),
                offset: query.offset,
            },
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return portal.fail(e),
    };
    let all = match portal.institutions().await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let may_create = !scope_options(&portal, &all).is_empty();
    let name_of = |id: Option<InstitutionId>| {
        id.and_then(|id| all.iter().find(|i| i.id == id))
            .map_or_else(|| "—".to_owned(), |i| i.short_name.clone())
    };
    let q = query.q.clone().unwrap_or_default();
    layout(
        &portal.page(),
        &lang.t("users-title"),
        html! {
            h1 { (lang.t("users-title")) }
            (notice(lang, query.notice.as_deref()))
            @if may_create { p { a class="button" href="/users/new" { (lang.t("users-new")) } } }
            form method="get" action="/users" class="filters" role="search" {
                (Input::text("q", lang.t("search"), &q).kind("search").render(lang, &[]))
                button type="submit" { (lang.t("search-submit")) }
            }
            table {
                caption { (lang.t("users-title")) }
                thead { tr {
                    th scope="col" { (lang.t("field-display-name")) }
                    th scope="col" { (lang.t("field-email")) }
                    th scope="col" { (lang.t("field-institution")) }
                    th scope="col" { (lang.t("field-active")) }
                    th scope="col" { (lang.t("field-mfa")) }
                } }
                tbody {
                    @for u in &result.items {
                        tr {
                            td { a href={ "/users/" (u.id) } { (u.display_name) } }
                            td { (u.email) }
                            td { (name_of(u.institution_id)) }
                            td { (yes_no(lang, u.active)) }
                            td { (yes_no(lang, u.mfa_enabled)) }
                        }
                    }
                }
            }
            (pager(lang, &result, "/users", &[("q".into(), q.clone())]))
        },
    )
    .into_response()
}

async fn detail_page(
    portal: &Portal,
    id: UserId,
    notice_key: Option<&str>,
    errors: &[FieldError],
) -> Response {
    let lang = portal.lang;
    let target = match portal.app.get_user(&portal.op, id).await {
        Ok(u) => u,
        Err(e) => return portal.fail(e),
    };
    let all = match portal.institutions().await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let name_of = |id: Option<InstitutionId>| match id {
        None => lang.t("scope-platform"),
        Some(id) => all
            .iter()
            .find(|i| i.id == id)
            .map_or_else(|| "—".to_owned(), |i| i.short_name.clone()),
    };
    let scopes = scope_options(portal, &all);
    let manage = |inst: Option<InstitutionId>| {
        can(
            &portal.op,
            Action::ManageRoles,
            Kind::Users,
            inst.map_or(Scope::Platform, Scope::Institution),
        )
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let u = &target.user;
    let body = html! {
        h1 { (u.display_name) }
        (notice(lang, notice_key))
        dl class="details" {
            dt { (lang.t("field-email")) } dd { (u.email) }
            dt { (lang.t("field-institution")) } dd { (name_of(u.institution_id)) }
            dt { (lang.t("field-active")) } dd { (yes_no(lang, u.active)) }
            dt { (lang.t("field-mfa")) } dd { (yes_no(lang, u.mfa_enabled)) }
        }
        h2 { (lang.t("user-roles")) }
        table {
            caption { (lang.t("user-roles")) }
            thead { tr { th scope="col" { (lang.t("field-role")) } th scope="col" { (lang.t("field-scope")) } th scope="col" { (lang.t("actions")) } } }
            tbody {
                @for r in &target.roles {
                    tr {
                        td { (lang.label("role", r.role.as_str())) }
                        td { (name_of(r.institution_id)) }
                        td {
                            @if manage(r.institution_id) {
                                form method="post" action={ "/users/" (u.id) "/roles/" (r.id) "/revoke" } class="inline" {
                                    (csrf_field(&portal.csrf))
                                    button type="submit" class="secondary"
                                        aria-label=(lang.ta("revoke-role-label", &[("role", lang.label("role", r.role.as_str()))])) {
                                        (lang.t("revoke"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !scopes.is_empty() {
            h2 id="grant-title" { (lang.t("grant-role")) }
            (error_summary(lang, errors))
            form method="post" action={ "/users/" (u.id) "/roles" } aria-labelledby="grant-title" novalidate {
                (csrf_field(&portal.csrf))
                (select(lang, "role", lang.t("field-role"), &role_options(lang), "", true, errors))
                (select(lang, "institution_id", lang.t("field-scope"), &scopes, "", true, errors))
                button type="submit" { (lang.t("grant")) }
            }
        }
    };
    (status, layout(&portal.page(), &u.display_name, body)).into_response()
}

pub async fn detail(portal: Portal, Path(raw): Path<String>, RawQuery(q): RawQuery) -> Response {
    let id: UserId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let notice_key = q.as_deref().and_then(|q| q.strip_prefix("notice="));
    detail_page(&portal, id, notice_key, &[]).await
}

fn role_from(form: &FormData, errors: &mut Vec<FieldError>) -> Option<NewRoleAssignment> {
    let role = form.choice("role", Role::parse_field, errors)?;
    let institution_id = match form.opt("institution_id") {
        None => None,
        Some(raw) => match raw.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(FieldError::new(
                    "institution_id",
                    "invalid_format",
                    "institution_id is not a valid id",
                ));
                return None;
            }
        },
    };
    Some(NewRoleAssignment {
        role,
        institution_id,
    })
}

pub async fn grant_role(
    Path(raw): Path<String>,
    PortalForm { portal, form }: PortalForm,
) -> Response {
    let id: UserId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let mut errors = Vec::new();
    let result = match role_from(&form, &mut errors) {
        Some(assignment) => portal
            .app
            .assign_role(&portal.op, id, &assignment)
            .await
            .map(|_| ()),
        None => match portal.app.get_user(&portal.op, id).await {
            Ok(_) => Err(Error::Invalid(errors)),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => see_other(&format!("/users/{id}"), "role-granted"),
        Err(Error::Invalid(errors)) => detail_page(&portal, id, None, &errors).await,
        Err(e) => portal.fail(e),
    }
}

pub async fn revoke_role(
    Path((user, role)): Path<(String, String)>,
    PortalForm { portal, .. }: PortalForm,
) -> Response {
    let (Ok(user), Ok(role)) = (user.parse::<UserId>(), role.parse::<RoleAssignmentId>()) else {
        return portal.fail(Error::NotFound {
            kind: "role assignment",
        });
    };
    match portal.app.revoke_role(&portal.op, user, role).await {
        Ok(()) => see_other(&format!("/users/{user}"), "role-revoked"),
        Err(e) => portal.fail(e),
    }
}

fn form_page(
    portal: &Portal,
    form: &FormData,
    errors: &[FieldError],
    institutions: &[Institution],
) -> Markup {
    let lang = portal.lang;
    let homes: Vec<(String, String)> = institutions
        .iter()
        .map(|i| (i.id.to_string(), i.short_name.clone()))
        .collect();
    let scopes = scope_options(portal, institutions);
    layout(
        &portal.page(),
        &lang.t("users-new"),
        html! {
            h1 { (lang.t("users-new")) }
            (error_summary(lang, errors))
            form method="post" action="/users" novalidate {
                (csrf_field(&portal.csrf))
                (Input::text("email", lang.t("field-email"), form.get("email")).kind("email").required().autocomplete("off").render(lang, errors))
                (Input::text("display_name", lang.t("field-display-name"), form.get("display_name")).required().max(200).render(lang, errors))
                (select(lang, "home_institution_id", lang.t("field-home-institution"), &homes, form.get("home_institution_id"), false, errors))
                (Input::text("password", lang.t("field-initial-password"), "").kind("password").required()
                    .autocomplete("new-password").hint(lang.t("hint-password")).render(lang, errors))
                fieldset {
                    legend { (lang.t("user-first-role")) }
                    (select(lang, "role", lang.t("field-role"), &role_options(lang), form.get("role"), true, errors))
                    (select(lang, "institution_id", lang.t("field-scope"), &scopes, form.get("institution_id"), true, errors))
                }
                button type="submit" { (lang.t("save")) }
            }
        },
    )
}

pub async fn new_form(portal: Portal) -> Response {
    let all = match portal.institutions().await {
        Ok(i) => i,
        Err(r) => return r,
    };
    if scope_options(&portal, &all).is_empty() {
        return portal.fail(Error::forbidden("you may not create users"));
    }
    form_page(&portal, &FormData::default(), &[], &all).into_response()
}

pub async fn create(PortalForm { portal, form }: PortalForm) -> Response {
    let all = match portal.institutions().await {
        Ok(i) => i,
        Err(r) => return r,
    };
    if scope_options(&portal, &all).is_empty() {
        return portal.fail(Error::forbidden("you may not create users"));
    }
    let mut errors = Vec::new();
    let role = role_from(&form, &mut errors);
    let home = match form
        .opt("home_institution_id")
        .map(|raw| raw.parse::<InstitutionId>())
    {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            errors.push(FieldError::new(
                "home_institution_id",
                "invalid_format",
                "not a valid institution",
            ));
            None
        }
    };
    let input = NewUserInput {
        email: form.get("email").to_owned(),
        display_name: form.get("display_name").to_owned(),
        institution_id: home,
        password: form.get("password").to_owned(),
        roles: role.into_iter().collect(),
    };
    if let Err(more) = input.validate() {
        errors.extend(more);
    }
    let result = if errors.is_empty() {
        portal.app.create_user(&portal.op, &input).await
    } else {
        Err(Error::Invalid(errors))
    };
    match result {
        Ok(created) => see_other(&format!("/users/{}", created.user.id), "created"),
        Err(Error::Invalid(errors)) => {
            let errors: Vec<FieldError> = errors
                .into_iter()
                .map(|mut e| {
                    // The form names the home institution apart from the role's.
                    if e.field == "institution_id" {
                        e.field = "home_institution_id".into();
                    } else if let Some(rest) = e.field.strip_prefix("roles[0].") {
                        e.field = rest.to_owned();
                    }
                    e
                })
                .collect();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                form_page(&portal, &form, &errors, &all),
            )
                .into_response()
        }
        Err(e) => portal.fail(e),
    }
}

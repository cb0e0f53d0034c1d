//! Quotas on the institution page, and the Broker's form to set them.

use axum::extract::Path;
use axum::response::Response;
use makonis_app::Error;
use makonis_types::order::*;
use makonis_types::{FieldError, InstitutionId};
use maud::{Markup, html};

use crate::portal::parse_id;
use crate::portal::ui::{Input, csrf_field};
use crate::portal::{Portal, PortalForm, see_other};

/// Quotas of an institution, and the Broker's form to set them.
pub async fn quota_section(portal: &Portal, institution: InstitutionId) -> Markup {
    let lang = portal.lang;
    let Ok(quotas) = portal.app.quotas(&portal.op, institution).await else {
        return html! {};
    };
    let may_set = makonis_app::authz::can(
        &portal.op,
        makonis_app::authz::Action::Update,
        makonis_app::authz::Kind::Quotas,
        makonis_app::authz::Scope::Institution(institution),
    );
    let limit = |v: Option<i64>| v.map_or_else(|| "—".to_owned(), |n| n.to_string());
    html! {
        h2 { (lang.t("quotas-title")) }
        @if quotas.is_empty() { p { (lang.t("quotas-none")) } } @else {
            table {
                caption { (lang.t("quotas-title")) }
                thead { tr { th scope="col" { (lang.t("field-scope")) } th scope="col" { "vCPU" } th scope="col" { "RAM GB" } th scope="col" { (lang.t("field-storage-gb")) } th scope="col" { (lang.t("field-budget")) } } }
                tbody {
                    @for (q, used) in &quotas {
                        tr {
                            td { @if q.information_system_id.is_some() { (lang.t("quota-system")) } @else { (lang.t("quota-institution")) } }
                            td { (used.vcpu) " / " (limit(q.vcpu)) }
                            td { (used.ram_gb) " / " (limit(q.ram_gb)) }
                            td { (used.storage_gb) " / " (limit(q.storage_gb)) }
                            td { (used.monthly_eur) " / " (q.monthly_budget_eur.map_or_else(|| "—".to_owned(), |b| b.to_string())) }
                        }
                    }
                }
            }
        }
        @if may_set {
            form method="post" action={ "/institutions/" (institution) "/quotas" } aria-label=(lang.t("quota-set")) {
                (csrf_field(&portal.csrf))
                (Input::text("vcpu", "vCPU".into(), "").numeric().render(lang, &[]))
                (Input::text("ram_gb", "RAM GB".into(), "").numeric().render(lang, &[]))
                (Input::text("storage_gb", lang.t("field-storage-gb"), "").numeric().render(lang, &[]))
                (Input::text("monthly_budget_eur", lang.t("field-budget"), "").render(lang, &[]))
                button type="submit" { (lang.t("quota-set")) }
            }
        }
    }
}

pub async fn set_quota(
    Path(raw): Path<String>,
    PortalForm { portal, form }: PortalForm,
) -> Response {
    let id: InstitutionId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let mut errors = Vec::new();
    let number =
        |name: &str, errors: &mut Vec<FieldError>| form.opt(name).map(|_| form.int(name, errors));
    let vcpu = number("vcpu", &mut errors);
    let ram = number("ram_gb", &mut errors);
    let storage = number("storage_gb", &mut errors);
    let budget = match form.opt("monthly_budget_eur") {
        None => None,
        Some(b) => match b.replace(',', ".").parse() {
            Ok(v) => Some(v),
            Err(_) => {
                errors.push(
                    FieldError::new(
                        "monthly_budget_eur",
                        "invalid_format",
                        "the budget must be an amount in euro",
                    )
                    .with_param("expected", "1200.00"),
                );
                None
            }
        },
    };
    let input = QuotaInput {
        information_system_id: None,
        vcpu,
        ram_gb: ram,
        storage_gb: storage,
        monthly_budget_eur: budget,
    };
    let result = if errors.is_empty() {
        portal
            .app
            .set_quota(&portal.op, id, &input)
            .await
            .map(|_| ())
    } else {
        Err(Error::Invalid(errors))
    };
    match result {
        Ok(()) => see_other(&format!("/institutions/{id}"), "saved"),
        Err(e) => portal.fail(e),
    }
}

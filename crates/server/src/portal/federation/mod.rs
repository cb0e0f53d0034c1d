//! Provider registry pages: the list of providers and one provider with its
//! sites, certifications and (for its operators) the catalogue-sync form.
//!
//! Area `federation` (providers, their sites and certifications), portal
//! pages layer: the use cases are in `makonis_app::federation`; the same
//! area folder exists in `db/src/datastore`, `server/src/api` and
//! `server/src/portal`. Requirements: FED-1, FED-11, FED-13.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use makonis_types::federation::{CertificationStatus, ProviderId};
use maud::{Markup, html};

use crate::i18n::Lang;
use crate::portal::ui::{csrf_field, layout};
use crate::portal::{Portal, parse_id};
use crate::today;

pub async fn providers(portal: Portal) -> Response {
    let lang = portal.lang;
    let list = match portal.app.list_providers(&portal.op).await {
        Ok(l) => l,
        Err(e) => return portal.fail(e),
    };
    layout(
        &portal.page(),
        &lang.t("providers-title"),
        html! {
            h1 { (lang.t("providers-title")) }
            table {
                caption { (lang.t("providers-title")) }
                thead { tr {
                    th scope="col" { (lang.t("field-short-name")) }
                    th scope="col" { (lang.t("field-name")) }
                    th scope="col" { (lang.t("field-provider-kind")) }
                    th scope="col" { (lang.t("field-platform")) }
                } }
                tbody {
                    @for p in &list {
                        tr {
                            td { a href={ "/providers/" (p.id) } { (p.short_name) } }
                            td { (p.name) }
                            td { (lang.label("provider-kind", p.kind.as_str())) }
                            td { (lang.label("platform", p.platform.as_str())) }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

fn status_label(lang: Lang, status: CertificationStatus) -> Markup {
    let (key, class) = match status {
        CertificationStatus::Valid => ("cert-valid", "ok"),
        CertificationStatus::ExpiringSoon => ("cert-expiring", "warn"),
        CertificationStatus::Expired => ("cert-expired", "bad"),
        CertificationStatus::NotYetValid => ("cert-not-yet", "warn"),
    };
    html! { span class={ "status " (class) } { (lang.t(key)) } }
}

pub async fn provider(portal: Portal, Path(raw): Path<String>) -> Response {
    let lang = portal.lang;
    let id: ProviderId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let detail = match portal.app.get_provider(&portal.op, id, today()).await {
        Ok(d) => d,
        Err(e) => return portal.fail(e),
    };
    let site_name = |site: Option<makonis_types::federation::SiteId>| {
        site.and_then(|s| detail.sites.iter().find(|x| x.id == s))
            .map_or_else(|| lang.t("cert-all-sites"), |s| s.name.clone())
    };
    let p = &detail.provider;
    layout(
        &portal.page(),
        &p.name,
        html! {
            h1 { (p.name) }
            dl class="details" {
                dt { (lang.t("field-short-name")) } dd { (p.short_name) }
                dt { (lang.t("field-provider-kind")) } dd { (lang.label("provider-kind", p.kind.as_str())) }
                dt { (lang.t("field-platform")) } dd { (lang.label("platform", p.platform.as_str())) }
                dt { (lang.t("field-credentials")) } dd { (lang.t(if p.has_credentials { "credentials-set" } else { "credentials-none" })) }
            }
            h2 { (lang.t("sites-title")) }
            table {
                caption { (lang.t("sites-title")) }
                thead { tr { th scope="col" { (lang.t("field-name")) } th scope="col" { (lang.t("field-country")) } th scope="col" { (lang.t("field-coordinates")) } th scope="col" { (lang.t("field-tier-uptime")) } } }
                tbody { @for s in &detail.sites { tr { td { (s.name) } td { (s.country) } td { (format!("{:.4}, {:.4}", s.latitude, s.longitude)) } td { (s.uptime_tier) } } } }
            }
            h2 { (lang.t("certs-title")) }
            table {
                caption { (lang.t("certs-title")) }
                thead { tr {
                    th scope="col" { (lang.t("field-cert-kind")) }
                    th scope="col" { (lang.t("field-site")) }
                    th scope="col" { (lang.t("field-issuer")) }
                    th scope="col" { (lang.t("field-valid-until")) }
                    th scope="col" { (lang.t("field-status")) }
                } }
                tbody {
                    @for c in &detail.certifications {
                        tr {
                            td { (c.certification.kind.title()) @if let Some(l) = &c.certification.level { " " (l) } }
                            td { (site_name(c.certification.site_id)) }
                            td { (c.certification.issuer) }
                            td { (c.certification.valid_until) }
                            td { (status_label(lang, c.status)) }
                        }
                    }
                }
            }
            p {
                a href={ "/catalogue?provider_id=" (p.id) } { (lang.t("provider-offerings")) }
                @if makonis_app::authz::can(&portal.op, makonis_app::authz::Action::Update, makonis_app::authz::Kind::Providers,
                    p.institution_id.map_or(makonis_app::authz::Scope::Platform, makonis_app::authz::Scope::Institution)) {
                    " · " a href={ "/providers/" (p.id) "/drift" } { (lang.t("drift-link")) }
                }
            }
            @if p.has_credentials && makonis_app::authz::can(&portal.op, makonis_app::authz::Action::Create, makonis_app::authz::Kind::Catalogue,
                p.institution_id.map_or(makonis_app::authz::Scope::Platform, makonis_app::authz::Scope::Institution)) {
                form method="post" action={ "/providers/" (p.id) "/catalogue-sync" } {
                    (csrf_field(&portal.csrf))
                    p { (lang.t("catalogue-sync-explain")) }
                    button type="submit" { (lang.t("catalogue-sync-button")) }
                }
            }
        },
    )
    .into_response()
}

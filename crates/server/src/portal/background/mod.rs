//! Operations pages: drift at a provider and what the periodic
//! reconcilers last found.
//!
//! Area `background` (reconciler runs and drift), portal pages layer: the
//! use cases are in `makonis_app::background`; the same area folder exists
//! in `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: FED-4, FED-7.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::portal::ui::layout;
use crate::portal::{Portal, parse_id};

pub async fn drift(portal: Portal, Path(raw): Path<String>) -> Response {
    let lang = portal.lang;
    let id: makonis_types::federation::ProviderId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let report = match portal.app.drift(&portal.op, id).await {
        Ok(r) => r,
        Err(e) => return portal.fail(e),
    };
    let section = |title: String, items: &[makonis_app::background::drift::DriftItem]| {
        html! {
            h2 { (title) " (" (items.len()) ")" }
            @if items.is_empty() { p { (lang.t("drift-none")) } } @else {
                ul { @for d in items {
                    li {
                        code class="id" { (d.external_id) } " — " (d.detail)
                        @if let Some(o) = d.order_id { " " a href={ "/orders/" (o) } { (lang.t("open-order")) } }
                    }
                } }
            }
        }
    };
    let title = lang.ta("drift-title", &[("provider", report.provider.clone())]);
    layout(
        &portal.page(),
        &title,
        html! {
            h1 { (title) }
            p { (lang.ta("drift-checked", &[("time", report.checked_at.format("%Y-%m-%d %H:%M:%S UTC").to_string())])) }
            (section(lang.t("drift-missing"), &report.missing_at_provider))
            (section(lang.t("drift-unknown"), &report.unknown_at_provider))
            (section(lang.t("drift-error"), &report.in_error))
        },
    )
    .into_response()
}

/// Operations: what the periodic reconcilers last found.
pub async fn operations(portal: Portal) -> Response {
    let lang = portal.lang;
    let runs = match portal.app.reconciler_status(&portal.op).await {
        Ok(r) => r,
        Err(e) => return portal.fail(e),
    };
    layout(
        &portal.page(),
        &lang.t("operations-title"),
        html! {
            h1 { (lang.t("operations-title")) }
            p { (lang.t("operations-intro")) }
            @if runs.is_empty() { p { (lang.t("none-yet")) } } @else {
                table {
                    caption { (lang.t("operations-runs")) }
                    thead { tr {
                        th scope="col" { (lang.t("field-reconciler")) }
                        th scope="col" { (lang.t("field-provider")) }
                        th scope="col" { (lang.t("field-time")) }
                        th scope="col" { (lang.t("field-outcome")) }
                    } }
                    tbody {
                        @for r in &runs {
                            tr {
                                td { (r.run.reconciler) }
                                td { a href={ "/providers/" (r.run.subject) "/drift" } { (r.subject_name) } }
                                td { (r.run.finished_at.format("%Y-%m-%d %H:%M:%S")) }
                                td {
                                    span class={ "status " (match r.run.outcome.as_str() { "clean" => "ok", "drift" => "warn", _ => "bad" }) } {
                                        (lang.label("outcome", &r.run.outcome))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

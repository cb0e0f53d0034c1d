//! The audit log view, for auditors and security officers.
//!
//! Area `audit` (the audit chain), portal pages layer: the use cases are in
//! `makonis_app::audit`; the same area folder exists in `db/src/datastore`,
//! `server/src/api` and `server/src/portal`. Requirements: MON-3, SEC-7.

use axum::extract::RawQuery;
use axum::response::{IntoResponse, Response};
use makonis_types::FieldError;
use makonis_types::audit::AuditFilter;
use makonis_types::paging::PageRequest;
use maud::html;
use serde::Deserialize;

use crate::portal::Portal;
use crate::portal::ui::{Input, error_summary, layout, pager};

#[derive(Debug, Deserialize, Default)]
struct Query {
    offset: Option<u32>,
}

pub async fn list(portal: Portal, RawQuery(raw): RawQuery) -> Response {
    let lang = portal.lang;
    let raw = raw.unwrap_or_default();
    // Filter and page fields are parsed apart: serde cannot flatten
    // typed (numeric, boolean) query values.
    let (filter, mut errors): (AuditFilter, Vec<FieldError>) =
        crate::portal::query_or_default(&raw);
    let (query, more): (Query, Vec<FieldError>) = crate::portal::query_or_default(&raw);
    errors.extend(more);
    let page = match portal
        .app
        .list_audit(
            &portal.op,
            &filter,
            PageRequest {
                limit: Some(50),
                offset: query.offset,
            },
        )
        .await
    {
        Ok(p) => p,
        Err(e) => return portal.fail(e),
    };
    let keep: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    layout(
        &portal.page(),
        &lang.t("audit-title"),
        html! {
            h1 { (lang.t("audit-title")) }
            p { (lang.t("audit-intro")) }
            (error_summary(lang, &errors))
            form method="get" action="/audit" class="filters" role="search" aria-label=(lang.t("filters")) {
                (Input::text("action", lang.t("field-action"), filter.action.as_deref().unwrap_or("")).render(lang, &[]))
                (Input::text("target_id", lang.t("field-target-id"), filter.target_id.as_deref().unwrap_or("")).render(lang, &[]))
                button type="submit" { (lang.t("filter-submit")) }
            }
            table class="audit" {
                caption { (lang.t("audit-title")) }
                thead { tr {
                    th scope="col" { "#" }
                    th scope="col" { (lang.t("field-time")) }
                    th scope="col" { (lang.t("field-actor")) }
                    th scope="col" { (lang.t("field-action")) }
                    th scope="col" { (lang.t("field-target")) }
                    th scope="col" { (lang.t("field-change")) }
                } }
                tbody {
                    @for r in &page.items {
                        tr {
                            td { (r.seq) }
                            td { time datetime=(r.recorded_at) { (r.recorded_at.get(..19).unwrap_or(&r.recorded_at).replace('T', " ")) } }
                            td { (r.actor_label) }
                            td { code { (r.action) } }
                            td { (r.target_kind) " " code class="id" { (r.target_id) } }
                            td {
                                details {
                                    summary { (lang.t("audit-show-change")) }
                                    dl {
                                        dt { (lang.t("audit-before")) } dd { code { (r.before_state.clone().unwrap_or_else(|| "—".into())) } }
                                        dt { (lang.t("audit-after")) } dd { code { (r.after_state.clone().unwrap_or_else(|| "—".into())) } }
                                        dt { (lang.t("audit-request")) } dd { code { (r.request_id) } }
                                        dt { (lang.t("audit-hash")) } dd { code class="id" { (r.hash) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (pager(lang, &page, "/audit", &keep))
        },
    )
    .into_response()
}

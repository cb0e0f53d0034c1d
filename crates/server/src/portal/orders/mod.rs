//! Orders, the approvals inbox, agreements, notifications and quotas.
//!
//! Area `orders` (orders, approvals, quotas, agreements and notifications),
//! portal pages layer: the use cases are in `makonis_app::orders`; the same
//! area folder exists in `db/src/datastore`, `server/src/api` and
//! `server/src/portal`. Requirements: FED-4, FED-5, FED-8, SEC-7.

pub mod agreements;
pub mod notifications;
pub mod quotas;

use std::collections::HashMap;

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use makonis_app::Error;
use makonis_types::catalogue::{CatalogueEntry, OfferingId};
use makonis_types::order::*;
use makonis_types::paging::PageRequest;
use makonis_types::{FieldError, InformationSystemId};
use maud::{Markup, html};

use crate::i18n::Lang;
use crate::portal::parse_id;
use crate::portal::ui::{Input, csrf_field, error_summary, layout, notice};
use crate::portal::{Portal, PortalForm, query_or_default, see_other};
use crate::today;

/// Names for the systems and offerings a list of orders mentions.
struct Names {
    systems: HashMap<InformationSystemId, String>,
    offerings: HashMap<OfferingId, CatalogueEntry>,
}

impl Names {
    async fn load(portal: &Portal, orders: &[&Order]) -> Self {
        let systems = portal
            .app
            .list_information_systems(
                &portal.op,
                &Default::default(),
                PageRequest {
                    limit: Some(500),
                    offset: None,
                },
            )
            .await
            .map(|p| p.items.into_iter().map(|s| (s.id, s.code)).collect())
            .unwrap_or_default();
        let ids: Vec<OfferingId> = orders.iter().map(|o| o.offering_id).collect();
        let offerings = portal
            .app
            .offerings_by_id(&portal.op, &ids, today())
            .await
            .map(|list| list.into_iter().map(|e| (e.offering.id, e)).collect())
            .unwrap_or_default();
        Self { systems, offerings }
    }

    fn system(&self, id: InformationSystemId) -> String {
        self.systems.get(&id).cloned().unwrap_or_else(|| "—".into())
    }

    fn offering(&self, id: OfferingId) -> String {
        self.offerings.get(&id).map_or_else(
            || "—".into(),
            |e| {
                format!(
                    "{} / {} — {}",
                    e.provider_short_name, e.site_name, e.offering.name
                )
            },
        )
    }
}

fn state_badge(lang: Lang, state: OrderState) -> Markup {
    let class = match state {
        OrderState::Active | OrderState::Approved => "ok",
        OrderState::Rejected | OrderState::Failed => "bad",
        _ => "warn",
    };
    html! { span class={ "status " (class) } { (lang.label("order-state", state.as_str())) } }
}

fn orders_table(lang: Lang, caption: &str, orders: &[&Order], names: &Names) -> Markup {
    html! {
        table {
            caption { (caption) }
            thead { tr {
                th scope="col" { (lang.t("field-created")) }
                th scope="col" { (lang.t("field-system")) }
                th scope="col" { (lang.t("field-offering")) }
                th scope="col" { (lang.t("field-quantity")) }
                th scope="col" { (lang.t("field-month-price")) }
                th scope="col" { (lang.t("field-status")) }
            } }
            tbody {
                @for o in orders {
                    tr {
                        td { a href={ "/orders/" (o.id) } { (o.created_at.format("%Y-%m-%d %H:%M")) } }
                        td { (names.system(o.information_system_id)) }
                        td { (names.offering(o.offering_id)) }
                        td { (o.quantity) }
                        td { (o.monthly_estimate) " €" }
                        td { (state_badge(lang, o.state)) }
                    }
                }
            }
        }
    }
}

pub async fn list(portal: Portal, RawQuery(raw): RawQuery) -> Response {
    let lang = portal.lang;
    #[derive(serde::Deserialize, Default)]
    struct Q {
        notice: Option<String>,
    }
    // Filter and page fields are parsed apart: serde cannot flatten
    // typed (numeric, boolean) query values.
    let (filter, mut errors): (OrderFilter, Vec<FieldError>) =
        query_or_default(raw.as_deref().unwrap_or_default());
    let (q, more): (Q, Vec<FieldError>) = query_or_default(raw.as_deref().unwrap_or_default());
    errors.extend(more);
    let page = match portal
        .app
        .list_orders(
            &portal.op,
            &filter,
            PageRequest {
                limit: Some(100),
                offset: None,
            },
        )
        .await
    {
        Ok(p) => p,
        Err(e) => return portal.fail(e),
    };
    let refs: Vec<&Order> = page.items.iter().collect();
    let names = Names::load(&portal, &refs).await;
    layout(
        &portal.page(),
        &lang.t("orders-title"),
        html! {
            h1 { (lang.t("orders-title")) }
            (notice(lang, q.notice.as_deref()))
            (error_summary(lang, &errors))
            p { (lang.t("orders-intro")) }
            @if refs.is_empty() { p { (lang.t("none-yet")) } } @else { (orders_table(lang, &lang.t("orders-title"), &refs, &names)) }
        },
    )
    .into_response()
}

pub async fn inbox(portal: Portal) -> Response {
    let lang = portal.lang;
    let waiting = match portal.app.approvals_inbox(&portal.op).await {
        Ok(w) => w,
        Err(e) => return portal.fail(e),
    };
    let refs: Vec<&Order> = waiting.iter().map(|d| &d.order).collect();
    let names = Names::load(&portal, &refs).await;
    layout(
        &portal.page(),
        &lang.t("approvals-title"),
        html! {
            h1 { (lang.t("approvals-title")) }
            p { (lang.t("approvals-intro")) }
            @if refs.is_empty() { p { (lang.t("approvals-empty")) } } @else { (orders_table(lang, &lang.t("approvals-title"), &refs, &names)) }
        },
    )
    .into_response()
}

async fn detail_page(
    portal: &Portal,
    id: OrderId,
    notice_key: Option<&str>,
    errors: &[FieldError],
) -> Response {
    let lang = portal.lang;
    let detail = match portal.app.get_order(&portal.op, id).await {
        Ok(d) => d,
        Err(e) => return portal.fail(e),
    };
    let o = &detail.order;
    let names = Names::load(portal, &[o]).await;
    let me = portal.user.id;
    let may_decide = o.state == OrderState::Approving
        && o.requester_id != me
        && !detail.approvals.iter().any(|a| a.approver_id == me);
    let may_cancel = o.state.can_become(OrderState::Closed);
    let resources = portal
        .app
        .order_resources(&portal.op, id)
        .await
        .unwrap_or_default();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let title = lang.ta(
        "order-title",
        &[("system", names.system(o.information_system_id))],
    );
    let body = html! {
        h1 { (title) }
        (notice(lang, notice_key))
        (error_summary(lang, errors))
        dl class="details" {
            dt { (lang.t("field-status")) } dd { (state_badge(lang, o.state)) }
            dt { (lang.t("field-system")) } dd { a href={ "/systems/" (o.information_system_id) } { (names.system(o.information_system_id)) } }
            dt { (lang.t("field-offering")) } dd { (names.offering(o.offering_id)) }
            dt { (lang.t("field-quantity")) } dd { (o.quantity) }
            dt { (lang.t("field-month-price")) } dd { (o.monthly_estimate) " €" }
            dt { (lang.t("field-approval-chain")) } dd {
                (o.rule.steps.iter().map(|s| lang.label("step", s.as_str())).collect::<Vec<_>>().join(" → "))
                @if o.rule.four_eyes {
                    " (" (lang.t("four-eyes")) ": " (o.rule.four_eyes_because.iter().map(|b| lang.label("because", b)).collect::<Vec<_>>().join(", ")) ")"
                }
            }
            @if let Some(note) = &o.note { dt { (lang.t("field-note")) } dd { (note) } }
            @if let Some(reason) = &o.reason { dt { (lang.t("field-reason")) } dd { (reason) } }
            @if let Some(a) = o.agreement_id { dt { (lang.t("field-agreement")) } dd { a href={ "/agreements/" (a) } { (lang.t("open-agreement")) } } }
        }
        @if !resources.is_empty() {
            h2 { (lang.t("resources-title")) }
            table {
                caption { (lang.t("resources-title")) }
                thead { tr { th scope="col" { (lang.t("field-external-id")) } th scope="col" { (lang.t("field-status")) } th scope="col" { (lang.t("field-created")) } } }
                tbody { @for r in &resources { tr { td { code class="id" { (r.external_id) } } td { (r.status) } td { (r.created_at.format("%Y-%m-%d %H:%M")) } } } }
            }
        }
        h2 { (lang.t("approvals-made")) }
        @if detail.approvals.is_empty() { p { (lang.t("none-yet")) } } @else {
            table {
                caption { (lang.t("approvals-made")) }
                thead { tr { th scope="col" { (lang.t("field-step")) } th scope="col" { (lang.t("field-actor")) } th scope="col" { (lang.t("field-decision")) } th scope="col" { (lang.t("field-reason")) } th scope="col" { (lang.t("field-time")) } } }
                tbody {
                    @for a in &detail.approvals {
                        tr {
                            td { (lang.label("step", a.step.as_str())) }
                            td { (a.approver_label) }
                            td { (lang.label("decision", a.decision.as_str())) }
                            td { (a.reason.clone().unwrap_or_default()) }
                            td { (a.decided_at.format("%Y-%m-%d %H:%M")) }
                        }
                    }
                }
            }
        }
        @if !detail.pending_steps.is_empty() {
            p { (lang.t("pending-steps")) ": " (detail.pending_steps.iter().map(|s| lang.label("step", s.as_str())).collect::<Vec<_>>().join(", ")) }
        }
        @if may_decide {
            h2 id="decide-title" { (lang.t("decide-title")) }
            form method="post" action={ "/orders/" (o.id) "/decision" } aria-labelledby="decide-title" novalidate {
                (csrf_field(&portal.csrf))
                fieldset {
                    legend { (lang.t("field-decision")) }
                    div class="field checkbox" { input type="radio" id="d-approve" name="decision" value="approve" checked; label for="d-approve" { (lang.label("decision", "approve")) } }
                    div class="field checkbox" { input type="radio" id="d-reject" name="decision" value="reject"; label for="d-reject" { (lang.label("decision", "reject")) } }
                }
                (Input::text("reason", lang.t("field-reason"), "").hint(lang.t("hint-reason")).max(2000).render(lang, errors))
                button type="submit" { (lang.t("decide-submit")) }
            }
        }
        @if o.state == OrderState::Active {
            @let quantity_text = o.quantity.to_string();
            h2 id="modify-title" { (lang.t("order-modify-title")) }
            form method="post" action={ "/orders/" (o.id) "/modify" } aria-labelledby="modify-title" novalidate {
                (csrf_field(&portal.csrf))
                (Input::text("quantity", lang.t("field-quantity"), &quantity_text).numeric().required().hint(lang.t("hint-order-modify")).render(lang, errors))
                button type="submit" { (lang.t("order-modify")) }
            }
            form method="post" action={ "/orders/" (o.id) "/decommission" } {
                (csrf_field(&portal.csrf))
                button type="submit" class="secondary" { (lang.t("order-decommission")) }
            }
        }
        @if may_cancel {
            form method="post" action={ "/orders/" (o.id) "/cancel" } {
                (csrf_field(&portal.csrf))
                button type="submit" class="secondary" { (lang.t("order-cancel")) }
            }
        }
    };
    (status, layout(&portal.page(), &title, body)).into_response()
}

pub async fn detail(portal: Portal, Path(raw): Path<String>, RawQuery(q): RawQuery) -> Response {
    let id: OrderId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let notice_key = q.as_deref().and_then(|q| q.strip_prefix("notice="));
    detail_page(&portal, id, notice_key, &[]).await
}

/// Orders from the placement page: one row's offering for the system.
pub async fn create(PortalForm { portal, form }: PortalForm) -> Response {
    let lang = portal.lang;
    let mut errors = Vec::new();
    let system: Option<InformationSystemId> = form.get("information_system_id").parse().ok();
    let offering: Option<OfferingId> = form.get("offering_id").parse().ok();
    let quantity = form.int("quantity", &mut errors);
    let (Some(system), Some(offering)) = (system, offering) else {
        return portal.fail(Error::NotFound { kind: "offering" });
    };
    let input = NewOrderInput {
        information_system_id: system,
        offering_id: offering,
        quantity,
        note: form.opt("note"),
        submit: true,
    };
    let result = if errors.is_empty() {
        portal.app.create_order(&portal.op, &input).await
    } else {
        Err(Error::Invalid(errors))
    };
    match result {
        Ok(detail) => see_other(&format!("/orders/{}", detail.order.id), "order-submitted"),
        Err(Error::Invalid(errors)) => {
            let page = super::PageCtx {
                lang,
                user: Some(&portal.user),
                csrf: Some(&portal.csrf),
                path: &portal.path,
            };
            let body = html! {
                h1 { (lang.t("order-refused")) }
                (error_summary(lang, &errors))
                p { a href={ "/systems/" (system) "/placement" } { (lang.t("back-placement")) } }
            };
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(&page, &lang.t("order-refused"), body),
            )
                .into_response()
        }
        Err(e) => portal.fail(e),
    }
}

pub async fn decide(Path(raw): Path<String>, PortalForm { portal, form }: PortalForm) -> Response {
    let id: OrderId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let mut errors = Vec::new();
    let Some(decision) = form.choice("decision", Decision::parse_field, &mut errors) else {
        return detail_page(&portal, id, None, &errors).await;
    };
    match portal
        .app
        .decide_order(
            &portal.op,
            id,
            &DecisionInput {
                decision,
                reason: form.opt("reason"),
            },
        )
        .await
    {
        Ok(_) => see_other(
            &format!("/orders/{id}"),
            if decision == Decision::Approve {
                "approved"
            } else {
                "rejected"
            },
        ),
        Err(Error::Invalid(errors)) => detail_page(&portal, id, None, &errors).await,
        Err(e) => portal.fail(e),
    }
}

pub async fn cancel(Path(raw): Path<String>, PortalForm { portal, form }: PortalForm) -> Response {
    let id: OrderId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match portal
        .app
        .cancel_order(&portal.op, id, form.opt("reason").as_deref())
        .await
    {
        Ok(_) => see_other(&format!("/orders/{id}"), "cancelled"),
        Err(e) => portal.fail(e),
    }
}

/// Order buttons for the placement page's feasible rows.
pub fn order_button(
    lang: Lang,
    csrf: &str,
    system: InformationSystemId,
    offering: OfferingId,
    quantity: i64,
    label: &str,
) -> Markup {
    html! {
        form method="post" action="/orders" class="inline" {
            (csrf_field(csrf))
            input type="hidden" name="information_system_id" value=(system);
            input type="hidden" name="offering_id" value=(offering);
            input type="hidden" name="quantity" value=(quantity);
            button type="submit" aria-label=(lang.ta("order-this", &[("name", label.to_owned())])) { (lang.t("order")) }
        }
    }
}

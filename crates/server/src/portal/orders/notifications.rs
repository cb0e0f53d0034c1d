//! The caller's notifications.

use axum::response::{IntoResponse, Response};
use maud::html;

use crate::portal::ui::{csrf_field, layout};
use crate::portal::{Portal, PortalForm, see_other};

pub async fn notifications(portal: Portal) -> Response {
    let lang = portal.lang;
    let list = match portal.app.notifications(&portal.op, false).await {
        Ok(l) => l,
        Err(e) => return portal.fail(e),
    };
    layout(
        &portal.page(),
        &lang.t("notifications-title"),
        html! {
            h1 { (lang.t("notifications-title")) }
            @if list.is_empty() { p { (lang.t("none-yet")) } } @else {
                ul class="notifications" {
                    @for n in &list {
                        li class=[n.read_at.is_none().then_some("unread")] {
                            (n.created_at.format("%Y-%m-%d %H:%M")) " — "
                            @if let Some(o) = n.order_id { a href={ "/orders/" (o) } { (lang.label("notification", &n.kind.replace('.', "-"))) } }
                            @else if let Some(a) = n.agreement_id { a href={ "/agreements/" (a) } { (lang.label("notification", &n.kind.replace('.', "-"))) } }
                            @else if let Some(system) = n.information_system_id { a href={ "/embassy/systems/" (system) } { (lang.label("notification", &n.kind.replace('.', "-"))) } }
                            @if n.read_at.is_none() { " " span class="status warn" { (lang.t("unread")) } }
                        }
                    }
                }
                form method="post" action="/notifications/read" {
                    (csrf_field(&portal.csrf))
                    button type="submit" class="secondary" { (lang.t("mark-read")) }
                }
            }
        },
    )
    .into_response()
}

pub async fn read_notifications(PortalForm { portal, .. }: PortalForm) -> Response {
    match portal.app.mark_notifications_read(&portal.op).await {
        Ok(_) => see_other("/notifications", "read"),
        Err(e) => portal.fail(e),
    }
}

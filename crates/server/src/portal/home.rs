//! The start page: who you are, what you hold, where to go.

use axum::response::{IntoResponse, Response};
use makonis_types::information_system::InformationSystemFilter;
use makonis_types::paging::PageRequest;
use maud::html;

use super::Portal;
use super::ui::layout;

pub async fn home(portal: Portal) -> Response {
    let lang = portal.lang;
    let one = PageRequest {
        limit: Some(1),
        offset: None,
    };
    let institutions = portal.app.list_institutions(&portal.op, None, one).await;
    let systems = portal
        .app
        .list_information_systems(&portal.op, &InformationSystemFilter::default(), one)
        .await;
    let critical = portal
        .app
        .list_information_systems(
            &portal.op,
            &InformationSystemFilter {
                critical_infrastructure: Some(true),
                ..Default::default()
            },
            one,
        )
        .await;
    let (institutions, systems, critical) = match (institutions, systems, critical) {
        (Ok(i), Ok(s), Ok(c)) => (i.total, s.total, c.total),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return portal.fail(e),
    };
    let mut names = std::collections::HashMap::new();
    for r in portal.op.roles() {
        if let Some(id) = r.institution_id
            && let std::collections::hash_map::Entry::Vacant(slot) = names.entry(id)
        {
            let name = portal
                .app
                .get_institution(&portal.op, id)
                .await
                .map(|i| i.short_name)
                .unwrap_or_default();
            slot.insert(name);
        }
    }
    layout(
        &portal.page(),
        &lang.t("home-title"),
        html! {
            h1 { (lang.ta("home-welcome", &[("name", portal.user.display_name.clone())])) }
            section aria-labelledby="roles-title" {
                h2 id="roles-title" { (lang.t("home-your-roles")) }
                ul {
                    @for r in portal.op.roles() {
                        li {
                            (lang.label("role", r.role.as_str()))
                            @if let Some(id) = r.institution_id { " — " (names.get(&id).cloned().unwrap_or_default()) }
                            @else { " — " (lang.t("scope-platform")) }
                        }
                    }
                }
            }
            section aria-labelledby="overview-title" {
                h2 id="overview-title" { (lang.t("home-overview")) }
                dl class="stats" {
                    div { dt { a href="/institutions" { (lang.t("nav-institutions")) } } dd { (institutions) } }
                    div { dt { a href="/systems" { (lang.t("nav-systems")) } } dd { (systems) } }
                    div { dt { a href="/systems?critical_infrastructure=true" { (lang.t("home-critical")) } } dd { (critical) } }
                }
            }
        },
    )
    .into_response()
}

//! The data embassy in the portal (EMB-10): the registry of protected
//! systems for cleared roles and the systems' owners, a drill report per
//! system, replication and drills on demand, turning protection on, and
//! four-eyes grants. Key release is API and CLI only: a key is not shown in
//! a page that a browser may cache.
//!
//! Area `embassy` (protections, runs, grants, DR plans and restores of the
//! data embassy), portal pages layer: the use cases are in
//! `makonis_app::embassy`; the same area folder exists in
//! `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: EMB-1 to EMB-10.

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use makonis_app::Error;
use makonis_app::embassy::{SystemReport, SystemStatus};
use makonis_types::embassy::*;
use makonis_types::{FieldError, InformationSystemId};
use maud::{Markup, html};

use crate::i18n::Lang;
use crate::portal::parse_id;
use crate::portal::ui::{Input, csrf_field, error_summary, layout, notice};
use crate::portal::{Portal, PortalForm, see_other};

fn duration(lang: Lang, seconds: Option<i64>) -> String {
    match seconds {
        None => lang.t("none-yet"),
        Some(s) if s < 120 => format!("{s} s"),
        Some(s) if s < 2 * 3600 => format!("{} min", s / 60),
        Some(s) if s < 2 * 86_400 => format!("{} h", s / 3600),
        Some(s) => format!("{} d", s / 86_400),
    }
}

fn outcome(lang: Lang, run: Option<&EmbassyRun>) -> Markup {
    match run {
        None => html! { (lang.t("none-yet")) },
        Some(r) => html! {
            span class={ "status " (if r.outcome == RunOutcome::Ok { "ok" } else { "bad" }) } {
                (lang.label("run-outcome", r.outcome.as_str()))
            }
            " " (r.finished_at.format("%Y-%m-%d %H:%M"))
        },
    }
}

fn alerts(lang: Lang, status: &SystemStatus) -> Markup {
    html! {
        @if status.alerts.is_empty() {
            span class="status ok" { (lang.t("embassy-healthy")) }
        } @else {
            ul class="plain" {
                @for a in &status.alerts {
                    li { span class="status bad" { (lang.label("embassy-alert", a)) } }
                }
            }
        }
    }
}

pub async fn registry(portal: Portal) -> Response {
    let lang = portal.lang;
    let systems = match portal.app.embassy_status(&portal.op).await {
        Ok(s) => s,
        Err(e) => return portal.fail(e),
    };
    let grants = portal.app.list_grants(&portal.op).await.unwrap_or_default();
    let body = html! {
        h1 { (lang.t("embassy-title")) }
        p { (lang.t("embassy-intro")) }
        @if systems.is_empty() { p { (lang.t("embassy-none")) } } @else {
            table {
                caption { (lang.t("embassy-systems")) }
                thead { tr {
                    th scope="col" { (lang.t("field-system")) }
                    th scope="col" { (lang.t("field-embassy-site")) }
                    th scope="col" { (lang.t("field-rpo")) }
                    th scope="col" { (lang.t("field-last-replication")) }
                    th scope="col" { (lang.t("field-last-drill")) }
                    th scope="col" { (lang.t("field-health")) }
                } }
                tbody {
                    @for s in &systems {
                        tr {
                            td { a href={ "/embassy/systems/" (s.protection.information_system_id) } { (s.code) " — " (s.name) } }
                            td { (s.site.provider) " / " (s.site.site) " (" (s.site.country) ", " (format!("{:.0}", s.site.distance_km)) " km)" }
                            td { (duration(lang, s.current_rpo_seconds)) " / " (duration(lang, Some(s.rpo_target_seconds))) }
                            td { (outcome(lang, s.last_replication.as_ref())) }
                            td { (outcome(lang, s.last_drill.as_ref())) }
                            td { (alerts(lang, s)) }
                        }
                    }
                }
            }
        }
        (grants_table(&portal, &grants))
    };
    layout(&portal.page(), &lang.t("embassy-title"), body).into_response()
}

fn grants_table(portal: &Portal, grants: &[Grant]) -> Markup {
    let lang = portal.lang;
    html! {
        h2 { (lang.t("embassy-grants")) }
        @if grants.is_empty() { p { (lang.t("none-yet")) } } @else {
            table {
                caption { (lang.t("embassy-grants")) }
                thead { tr {
                    th scope="col" { (lang.t("field-purpose")) }
                    th scope="col" { (lang.t("field-reason")) }
                    th scope="col" { (lang.t("field-status")) }
                    th scope="col" { (lang.t("field-valid-until")) }
                    th scope="col" { span class="visually-hidden" { (lang.t("field-actions")) } }
                } }
                tbody {
                    @for g in grants {
                        tr {
                            td { (lang.label("grant-purpose", g.purpose.as_str())) }
                            td { (g.reason) }
                            td { (lang.label("grant-state", g.state.as_str())) }
                            td { @if let Some(t) = g.valid_until { (t.format("%Y-%m-%d %H:%M")) } }
                            td {
                                @if g.state == GrantState::Pending && g.requested_by != portal.user.id {
                                    form method="post" action={ "/embassy/grants/" (g.id) "/approve" } class="inline" {
                                        (csrf_field(&portal.csrf))
                                        button type="submit" { (lang.t("grant-approve")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn system_page(
    portal: &Portal,
    id: InformationSystemId,
    notice_key: Option<&str>,
    errors: &[FieldError],
) -> Response {
    let lang = portal.lang;
    let report: SystemReport = match portal.app.embassy_report(&portal.op, id).await {
        Ok(r) => r,
        Err(e) => return portal.fail(e),
    };
    let status_code = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let title = lang.ta("embassy-system-title", &[("system", report.code.clone())]);
    let runs = |caption: String, runs: &[EmbassyRun], drill: bool| {
        html! {
            @if runs.is_empty() { p { (lang.t("none-yet")) } } @else {
                table {
                    caption { (caption) }
                    thead { tr {
                        th scope="col" { (lang.t("field-time")) }
                        th scope="col" { (lang.t("field-outcome")) }
                        th scope="col" { @if drill { (lang.t("field-rto")) } @else { (lang.t("field-rpo")) } }
                        th scope="col" { (lang.t("field-bytes")) }
                        th scope="col" { (lang.t("field-detail")) }
                    } }
                    tbody {
                        @for r in runs {
                            tr {
                                td { (r.started_at.format("%Y-%m-%d %H:%M:%S")) }
                                td { (outcome(lang, Some(r))) }
                                td { (duration(lang, if drill { r.rto_seconds } else { r.achieved_rpo_seconds })) }
                                td { (r.bytes) }
                                td { (r.detail) }
                            }
                        }
                    }
                }
            }
        }
    };
    let body = html! {
        h1 { (title) }
        (notice(lang, notice_key))
        (error_summary(lang, errors))
        @if let Some(s) = &report.status {
            dl class="details" {
                dt { (lang.t("field-embassy-site")) }
                dd { (s.site.provider) " / " (s.site.site) " (" (s.site.country) "), " (format!("{:.0}", s.site.distance_km)) " km" }
                dt { (lang.t("field-rpo")) }
                dd { (duration(lang, s.current_rpo_seconds)) " / " (duration(lang, Some(s.rpo_target_seconds))) }
                dt { (lang.t("field-last-cold-copy")) }
                dd {
                    @match &s.protection.cold_location {
                        Some(cold) => { (cold) " — " (outcome(lang, s.last_cold_copy.as_ref())) }
                        None => { (lang.t("embassy-no-cold")) }
                    }
                }
                dt { (lang.t("field-drill-due")) } dd { (s.drill_due_at.format("%Y-%m-%d")) }
                dt { (lang.t("field-site-certifications")) }
                dd {
                    @if s.site_certifications.is_empty() { (lang.t("none-yet")) }
                    @for c in &s.site_certifications {
                        (lang.label("certkind", c.kind.as_str()))
                        @if let Some(level) = &c.level { " " (level) }
                        " (" (c.issuer) ", " (c.valid_until) ")"
                        br;
                    }
                }
                dt { (lang.t("field-hosting-agreements")) }
                dd {
                    @if s.hosting_agreements.is_empty() { (lang.t("embassy-no-agreement")) }
                    @for a in &s.hosting_agreements {
                        a href={ "/agreements/" (a.id) } { (a.scope) }
                        " — " (lang.label("agreement-status", a.status.as_str())) ", " (a.valid_from) " – " (a.valid_until)
                        br;
                    }
                }
                dt { (lang.t("field-hosting-cost")) } dd { (s.hosting_monthly_eur) " €" }
                dt { (lang.t("field-health")) } dd { (alerts(lang, s)) }
            }
            form method="post" action={ "/embassy/systems/" (id) "/replicate" } class="inline" {
                (csrf_field(&portal.csrf))
                button type="submit" { (lang.t("embassy-replicate-now")) }
            }
            " "
            form method="post" action={ "/embassy/systems/" (id) "/drills" } class="inline" {
                (csrf_field(&portal.csrf))
                button type="submit" class="secondary" { (lang.t("embassy-drill-now")) }
            }
            h2 { (lang.t("embassy-drills")) }
            (runs(lang.t("embassy-drills"), &report.drills, true))
            h2 { (lang.t("embassy-replications")) }
            (runs(lang.t("embassy-replications"), &report.replications, false))
            h2 id="grant-title" { (lang.t("grant-request")) }
            form method="post" action="/embassy/grants" aria-labelledby="grant-title" novalidate {
                (csrf_field(&portal.csrf))
                input type="hidden" name="information_system_id" value=(id);
                fieldset {
                    legend { (lang.t("field-purpose")) }
                    @for (i, p) in GrantPurpose::ALL.iter().enumerate() {
                        div class="field checkbox" {
                            input type="radio" id={ "purpose-" (p.as_str()) } name="purpose" value=(p.as_str()) checked[i == 0];
                            label for={ "purpose-" (p.as_str()) } { (lang.label("grant-purpose", p.as_str())) }
                        }
                    }
                }
                (Input::text("reason", lang.t("field-reason"), "").required().max(2000).render(lang, errors))
                (Input::text("hours", lang.t("field-hours"), "4").numeric().required().render(lang, errors))
                button type="submit" { (lang.t("grant-request")) }
            }
        } @else {
            p { (lang.t("embassy-not-protected")) }
            h2 id="protect-title" { (lang.t("embassy-protect")) }
            form method="post" action={ "/embassy/systems/" (id) "/protection" } aria-labelledby="protect-title" novalidate {
                (csrf_field(&portal.csrf))
                (Input::text("site_id", lang.t("field-embassy-site-id"), "").required().render(lang, errors))
                (Input::text("primary_location", lang.t("field-primary-location"), "").required().max(1000).render(lang, errors))
                (Input::text("replica_location", lang.t("field-replica-location"), "").required().max(1000).render(lang, errors))
                (Input::text("primary_password", lang.t("field-primary-password"), "").kind("password").required().render(lang, errors))
                (Input::text("replica_password", lang.t("field-replica-password"), "").kind("password").required().render(lang, errors))
                (Input::text("hot_interval_minutes", lang.t("field-hot-interval"), "15").numeric().required().render(lang, errors))
                (Input::text("drill_interval_days", lang.t("field-drill-interval"), "30").numeric().required().render(lang, errors))
                button type="submit" { (lang.t("embassy-protect")) }
            }
        }
        (grants_table(portal, &report.grants))
    };
    (status_code, layout(&portal.page(), &title, body)).into_response()
}

pub async fn system(portal: Portal, Path(raw): Path<String>, RawQuery(q): RawQuery) -> Response {
    let id: InformationSystemId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let notice_key = q.as_deref().and_then(|q| q.strip_prefix("notice="));
    system_page(&portal, id, notice_key, &[]).await
}

pub async fn protect(Path(raw): Path<String>, PortalForm { portal, form }: PortalForm) -> Response {
    let id: InformationSystemId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let mut errors = Vec::new();
    let site = form.get("site_id").trim().parse().ok();
    if site.is_none() {
        errors.push(FieldError::new(
            "site_id",
            "invalid_format",
            "site_id must be a site's id",
        ));
    }
    let hot = form.int("hot_interval_minutes", &mut errors);
    let drill = form.int("drill_interval_days", &mut errors);
    let result = match site {
        Some(site_id) if errors.is_empty() => portal
            .app
            .protect_system(
                &portal.op,
                id,
                &ProtectionInput {
                    site_id,
                    primary_location: form.get("primary_location").to_owned(),
                    replica_location: form.get("replica_location").to_owned(),
                    primary_password: form.get("primary_password").to_owned(),
                    replica_password: form.get("replica_password").to_owned(),
                    hot_interval_minutes: hot,
                    drill_interval_days: drill,
                    latency_ms: None,
                    cold_location: None,
                    cold_retain_days: 90,
                    cold_interval_days: 7,
                    s3: None,
                },
            )
            .await
            .map(|_| ()),
        _ => Err(Error::Invalid(errors)),
    };
    match result {
        Ok(()) => see_other(&format!("/embassy/systems/{id}"), "saved"),
        Err(Error::Invalid(errors)) => system_page(&portal, id, None, &errors).await,
        Err(e) => portal.fail(e),
    }
}

pub async fn replicate(Path(raw): Path<String>, PortalForm { portal, .. }: PortalForm) -> Response {
    let id: InformationSystemId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match portal.app.replicate_system(&portal.op, id).await {
        Ok(r) if r.outcome == RunOutcome::Ok => {
            see_other(&format!("/embassy/systems/{id}"), "replicated")
        }
        Ok(_) => see_other(&format!("/embassy/systems/{id}"), "run-failed"),
        Err(e) => portal.fail(e),
    }
}

pub async fn drill(Path(raw): Path<String>, PortalForm { portal, .. }: PortalForm) -> Response {
    let id: InformationSystemId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match portal.app.run_drill(&portal.op, id).await {
        Ok(r) if r.outcome == RunOutcome::Ok => {
            see_other(&format!("/embassy/systems/{id}"), "drilled")
        }
        Ok(_) => see_other(&format!("/embassy/systems/{id}"), "run-failed"),
        Err(e) => portal.fail(e),
    }
}

pub async fn request_grant(PortalForm { portal, form }: PortalForm) -> Response {
    let mut errors = Vec::new();
    let system: Option<InformationSystemId> = form.get("information_system_id").parse().ok();
    let purpose: Option<GrantPurpose> = form.get("purpose").parse().ok();
    if purpose.is_none() {
        errors.push(FieldError::new(
            "purpose",
            "invalid",
            "choose what the grant is for",
        ));
    }
    let hours = form.int("hours", &mut errors);
    let Some(system) = system else {
        return portal.fail(Error::invalid(FieldError::new(
            "information_system_id",
            "invalid_format",
            "not a system's id",
        )));
    };
    let result = match purpose {
        Some(purpose) if errors.is_empty() => portal
            .app
            .request_grant(
                &portal.op,
                &GrantInput {
                    information_system_id: system,
                    purpose,
                    reason: form.get("reason").to_owned(),
                    hours,
                },
            )
            .await
            .map(|_| ()),
        _ => Err(Error::Invalid(errors)),
    };
    match result {
        Ok(()) => see_other(&format!("/embassy/systems/{system}"), "grant-requested"),
        Err(Error::Invalid(errors)) => system_page(&portal, system, None, &errors).await,
        Err(e) => portal.fail(e),
    }
}

pub async fn approve_grant(
    Path(raw): Path<String>,
    PortalForm { portal, .. }: PortalForm,
) -> Response {
    let id: GrantId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match portal.app.approve_grant(&portal.op, id).await {
        Ok(g) => see_other(
            &format!("/embassy/systems/{}", g.information_system_id),
            "grant-approved",
        ),
        Err(e) => portal.fail(e),
    }
}

//! Catalogue pages: search with filters, side-by-side comparison, the
//! provider registry, and placement for an information system.
//!
//! Area `catalogue` (offerings, price lists, search, comparison and
//! placement), portal pages layer: the use cases are in
//! `makonis_app::catalogue`; the same area folder exists in
//! `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: FED-3, FED-4, FED-9.

use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Response};
use makonis_app::Error;
use makonis_app::catalogue::ProfileOverrides;
use makonis_app::catalogue::placement::{Excluded, PlacementRequest, Residency, Rule};
use makonis_types::catalogue::{
    CatalogueEntry, CatalogueFilter, CatalogueSyncInput, OfferingId, OfferingKind, ServiceTier,
};
use makonis_types::federation::ProviderId;
use makonis_types::paging::PageRequest;
use makonis_types::{FieldError, InformationSystemId};
use maud::html;
use serde::Deserialize;

use crate::extract::parse_query;
use crate::i18n::Lang;
use crate::portal::parse_id;
use crate::portal::ui::{Input, error_summary, layout, pager, select};
use crate::portal::{Portal, PortalForm};
use crate::today;

#[derive(Debug, Deserialize, Default)]
struct SearchQuery {
    offset: Option<u32>,
}

fn kinds(lang: Lang) -> Vec<(String, String)> {
    OfferingKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), lang.label("offering", k.as_str())))
        .collect()
}

fn money(value: Option<rust_decimal::Decimal>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v} €"))
}

pub async fn search(portal: Portal, RawQuery(raw): RawQuery) -> Response {
    let lang = portal.lang;
    let raw = raw.unwrap_or_default();
    // Filter and page fields are parsed apart: serde cannot flatten
    // typed (numeric, boolean) query values.
    let (filter, mut errors): (CatalogueFilter, Vec<FieldError>) =
        crate::portal::query_or_default(&raw);
    let (query, more): (SearchQuery, Vec<FieldError>) = crate::portal::query_or_default(&raw);
    errors.extend(more);
    let page = match portal
        .app
        .search_catalogue(
            &portal.op,
            &filter,
            today(),
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
    let providers = portal
        .app
        .list_providers(&portal.op)
        .await
        .unwrap_or_default();
    let provider_options: Vec<(String, String)> = providers
        .iter()
        .map(|p| (p.id.to_string(), p.short_name.clone()))
        .collect();
    let tiers: Vec<(String, String)> = ServiceTier::ALL
        .iter()
        .map(|t| (t.as_str().to_owned(), lang.label("tier", t.as_str())))
        .collect();
    let f = &filter;
    let keep: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    layout(
        &portal.page(),
        &lang.t("catalogue-title"),
        html! {
            h1 { (lang.t("catalogue-title")) }
            p { (lang.t("catalogue-intro")) }
            (error_summary(lang, &errors))
            form method="get" action="/catalogue" class="filters" role="search" aria-label=(lang.t("filters")) {
                (Input::text("q", lang.t("search"), f.q.as_deref().unwrap_or("")).kind("search").render(lang, &[]))
                (select(lang, "kind", lang.t("field-offering-kind"), &kinds(lang), f.kind.map_or("", OfferingKind::as_str), false, &[]))
                (select(lang, "tier", lang.t("field-tier"), &tiers, f.tier.map_or("", ServiceTier::as_str), false, &[]))
                (select(lang, "provider_id", lang.t("field-provider"), &provider_options, &f.provider_id.map(|p| p.to_string()).unwrap_or_default(), false, &[]))
                (Input::text("country", lang.t("field-country"), f.country.as_deref().unwrap_or("")).max(2).render(lang, &[]))
                (Input::text("min_vcpu", lang.t("field-min-vcpu"), &f.min_vcpu.map(|v| v.to_string()).unwrap_or_default()).render(lang, &[]))
                button type="submit" { (lang.t("filter-submit")) }
            }
            form method="get" action="/catalogue/compare" {
                table {
                    caption { (lang.ta("catalogue-count", &[("n", page.total.to_string())])) }
                    thead { tr {
                        th scope="col" { (lang.t("compare")) }
                        th scope="col" { (lang.t("field-name")) }
                        th scope="col" { (lang.t("field-provider")) }
                        th scope="col" { (lang.t("field-site")) }
                        th scope="col" { (lang.t("field-availability")) }
                        th scope="col" { (lang.t("field-unit-price")) }
                        th scope="col" { (lang.t("field-month-price")) }
                    } }
                    tbody {
                        @for e in &page.items {
                            tr {
                                td {
                                    input type="checkbox" name="ids" value=(e.offering.id) id={ "c-" (e.offering.id) }
                                        aria-label=(lang.ta("compare-label", &[("name", format!("{} {}", e.provider_short_name, e.offering.name))]));
                                }
                                td { (e.offering.name) " " span class="muted" { "(" (lang.label("offering", e.offering.kind.as_str())) ")" } }
                                td { a href={ "/providers/" (e.offering.provider_id) } { (e.provider_short_name) } }
                                td { (e.site_name) " (" (e.country) ")" }
                                td { (e.offering.sla.availability_pct) " %" }
                                td { (money(e.unit_price)) " / " (lang.label("unit", e.offering.unit.as_str())) }
                                td { (money(e.monthly_price_per_unit())) }
                            }
                        }
                    }
                }
                button type="submit" { (lang.t("compare-submit")) }
            }
            (pager(lang, &page, "/catalogue", &keep))
        },
    )
    .into_response()
}

pub async fn compare(portal: Portal, RawQuery(raw): RawQuery) -> Response {
    let lang = portal.lang;
    let ids: Vec<OfferingId> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "ids")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let entries = match portal
        .app
        .compare_offerings(&portal.op, &ids, today())
        .await
    {
        Ok(e) => e,
        Err(Error::Invalid(errors)) => {
            return layout(
                &portal.page(),
                &lang.t("compare-title"),
                html! {
                    h1 { (lang.t("compare-title")) }
                    (error_summary(lang, &errors))
                    p { a href="/catalogue" { (lang.t("back-catalogue")) } }
                },
            )
            .into_response();
        }
        Err(e) => return portal.fail(e),
    };
    let row = |label: String, cell: &dyn Fn(&CatalogueEntry) -> String| {
        html! { tr { th scope="row" { (label) } @for e in &entries { td { (cell(e)) } } } }
    };
    layout(
        &portal.page(),
        &lang.t("compare-title"),
        html! {
            h1 { (lang.t("compare-title")) }
            table class="compare" {
                caption { (lang.t("compare-caption")) }
                thead { tr { td {} @for e in &entries { th scope="col" { (e.provider_short_name) " — " (e.offering.name) } } } }
                tbody {
                    (row(lang.t("field-offering-kind"), &|e| lang.label("offering", e.offering.kind.as_str())))
                    (row(lang.t("field-site"), &|e| format!("{} ({})", e.site_name, e.country)))
                    (row(lang.t("field-resources"), &|e| format!("{} vCPU, {} GB RAM, {} GB", e.offering.vcpu, e.offering.ram_gb, e.offering.storage_gb)))
                    (row(lang.t("field-month-price"), &|e| money(e.monthly_price_per_unit())))
                    (row(lang.t("field-availability"), &|e| format!("{} %", e.offering.sla.availability_pct)))
                    (row(lang.t("field-support"), &|e| e.offering.sla.support_hours.as_str().to_owned()))
                    (row(lang.t("field-response"), &|e| lang.ta("minutes", &[("n", e.offering.sla.response_minutes.to_string())])))
                    (row(lang.t("field-rpo-minutes"), &|e| e.offering.sla.rpo_minutes.map_or_else(|| "—".into(), |m| lang.ta("minutes", &[("n", m.to_string())]))))
                    (row(lang.t("field-rto-minutes"), &|e| e.offering.sla.rto_minutes.map_or_else(|| "—".into(), |m| lang.ta("minutes", &[("n", m.to_string())]))))
                    (row(lang.t("field-capacity"), &|e| e.offering.capacity_units.to_string()))
                }
            }
            p { a href="/catalogue" { (lang.t("back-catalogue")) } }
        },
    )
    .into_response()
}

/// Syncs the provider's offerings with its platform's catalogue and shows
/// what changed.
pub async fn sync(Path(raw): Path<String>, PortalForm { portal, .. }: PortalForm) -> Response {
    let lang = portal.lang;
    let id: ProviderId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let report = match portal
        .app
        .sync_catalogue(&portal.op, id, &CatalogueSyncInput::default())
        .await
    {
        Ok(r) => r,
        Err(e) => return portal.fail(e),
    };
    let list = |key: &str, names: &[String]| {
        html! {
            @if !names.is_empty() {
                h2 { (lang.t(key)) " (" (names.len()) ")" }
                ul { @for n in names { li { (n) } } }
            }
        }
    };
    let title = lang.ta(
        "catalogue-sync-title",
        &[("provider", report.provider.clone())],
    );
    layout(
        &portal.page(),
        &title,
        html! {
            h1 { (title) }
            p { (lang.ta("catalogue-sync-unchanged", &[("count", report.unchanged.to_string())])) }
            (list("catalogue-sync-added", &report.added))
            @if !report.renamed.is_empty() {
                h2 { (lang.t("catalogue-sync-renamed")) " (" (report.renamed.len()) ")" }
                ul { @for r in &report.renamed { li { (r.from) " → " (r.to) } } }
            }
            (list("catalogue-sync-updated", &report.updated))
            (list("catalogue-sync-withdrawn", &report.withdrawn))
            (list("catalogue-sync-unpriced", &report.unpriced))
            p { a href={ "/providers/" (id) } { (lang.t("catalogue-sync-back")) } }
        },
    )
    .into_response()
}

#[derive(Debug, Deserialize, Default)]
struct PlacementQuery {
    kind: Option<String>,
    quantity: Option<String>,
    max_monthly_eur: Option<String>,
    min_vcpu: Option<String>,
    residency: Option<String>,
}

/// An exclusion in the reader's language, from its rule and parameters.
fn explain(lang: Lang, e: &Excluded) -> String {
    let p = |k: &str| e.params.get(k).cloned().unwrap_or_default();
    let args = |keys: &[&'static str]| -> Vec<(&'static str, String)> {
        keys.iter().map(|k| (*k, p(k))).collect()
    };
    let detail = match e.rule {
        Rule::Inactive => lang.t("why-inactive"),
        Rule::Size => lang.ta("why-size", &args(&["vcpu", "ram", "min_vcpu", "min_ram"])),
        Rule::Capacity => lang.ta("why-capacity", &args(&["capacity", "requested"])),
        Rule::Residency => lang.ta(
            &format!("why-residency-{}", p("residency")),
            &args(&["country"]),
        ),
        Rule::CategoryAccreditation
        | Rule::CriticalAccreditation
        | Rule::Iso27001
        | Rule::UptimeTier => {
            let mut a = args(&["date", "tier"]);
            a.push(("certificate", lang.label("certkind", &p("certificate"))));
            let state = p("state").replace('_', "-");
            let key = if p("tier").is_empty() {
                format!("why-cert-{state}")
            } else {
                format!("why-cert-{state}-tier")
            };
            lang.ta(&key, &a)
        }
        Rule::Availability => lang.ta("why-availability", &args(&["availability", "target"])),
        Rule::RecoveryObjectives if p("rpo") == "none" => lang.t("why-rpo-none"),
        Rule::RecoveryObjectives => lang.ta(
            "why-rpo",
            &args(&["rpo", "rto", "target_rpo", "target_rto"]),
        ),
        Rule::NoPrice => lang.ta("why-no-price", &args(&["date"])),
        Rule::Budget => lang.ta("why-budget", &args(&["cost", "budget"])),
    };
    format!("{} / {} — {}: {detail}", e.provider, e.site, e.offering)
}

pub async fn placement(
    portal: Portal,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = portal.lang;
    let id: InformationSystemId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let system = match portal.app.get_information_system(&portal.op, id).await {
        Ok(s) => s,
        Err(e) => return portal.fail(e),
    };
    let q: PlacementQuery = parse_query(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let mut errors = Vec::new();
    let mut result = None;
    if let Some(kind_text) = q.kind.as_deref().filter(|k| !k.is_empty()) {
        let kind = OfferingKind::parse_field("kind", kind_text)
            .map_err(|e| errors.push(e))
            .ok();
        let quantity = match q
            .quantity
            .as_deref()
            .map(str::trim)
            .unwrap_or("1")
            .parse::<i64>()
        {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                errors.push(
                    FieldError::new(
                        "quantity",
                        "out_of_range",
                        "quantity must be a whole number of at least 1",
                    )
                    .with_param("min", 1)
                    .with_param("max", 1_000_000),
                );
                None
            }
        };
        let budget = match q
            .max_monthly_eur
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
        {
            None => Ok(None),
            Some(b) => b
                .replace(',', ".")
                .parse::<rust_decimal::Decimal>()
                .map(Some)
                .map_err(|_| {
                    errors.push(
                        FieldError::new(
                            "max_monthly_eur",
                            "invalid_format",
                            "the budget must be an amount in euro",
                        )
                        .with_param("expected", "1200.00"),
                    );
                }),
        };
        let min_vcpu = match q
            .min_vcpu
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            None => None,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= 0 => Some(n),
                _ => {
                    errors.push(
                        FieldError::new(
                            "min_vcpu",
                            "invalid_type",
                            "min_vcpu must be a whole number",
                        )
                        .with_param("expected", "whole number"),
                    );
                    None
                }
            },
        };
        let residency = match q.residency.as_deref().filter(|r| !r.is_empty()) {
            None => None,
            Some(r) => Residency::parse_field("residency", r)
                .map_err(|e| errors.push(e))
                .ok(),
        };
        if let (Some(kind), Some(quantity), Ok(max)) = (kind, quantity, budget)
            && errors.is_empty()
        {
            let request = PlacementRequest {
                kind,
                quantity,
                max_monthly_eur: max,
                min_vcpu,
                min_ram_gb: None,
            };
            match portal
                .app
                .place(
                    &portal.op,
                    id,
                    &request,
                    &ProfileOverrides {
                        residency,
                        availability_target: None,
                    },
                    today(),
                )
                .await
            {
                Ok(r) => result = Some(r),
                Err(Error::Invalid(mut e)) => errors.append(&mut e),
                Err(e) => return portal.fail(e),
            }
        }
    }
    let residencies: Vec<(String, String)> = Residency::ALL
        .iter()
        .map(|r| (r.as_str().to_owned(), lang.label("residency", r.as_str())))
        .collect();
    let title = lang.ta("placement-title", &[("code", system.code.clone())]);
    let quantity_ordered = q
        .quantity
        .as_deref()
        .and_then(|n| n.trim().parse::<i64>().ok())
        .unwrap_or(1);
    layout(
        &portal.page(),
        &title,
        html! {
            h1 { (title) }
            p { (lang.t("placement-intro")) }
            (error_summary(lang, &errors))
            form method="get" action={ "/systems/" (id) "/placement" } class="filters" {
                (select(lang, "kind", lang.t("field-offering-kind"), &kinds(lang), q.kind.as_deref().unwrap_or("vm"), true, &errors))
                (Input::text("quantity", lang.t("field-quantity"), q.quantity.as_deref().unwrap_or("1")).required().render(lang, &errors))
                (Input::text("min_vcpu", lang.t("field-min-vcpu"), q.min_vcpu.as_deref().unwrap_or("")).render(lang, &errors))
                (Input::text("max_monthly_eur", lang.t("field-budget"), q.max_monthly_eur.as_deref().unwrap_or("")).render(lang, &errors))
                (select(lang, "residency", lang.t("field-residency"), &residencies, q.residency.as_deref().unwrap_or(""), false, &errors))
                button type="submit" { (lang.t("placement-submit")) }
            }
            @if let Some((profile, decision)) = &result {
                p { (lang.ta("placement-profile", &[
                    ("category", profile.security_category.as_str().to_owned()),
                    ("residency", lang.label("residency", profile.residency.as_str())),
                    ("availability", profile.availability_target.to_string()),
                ])) }
                h2 { (lang.ta("placement-feasible", &[("n", decision.feasible.len().to_string())])) }
                @if decision.feasible.is_empty() { p { (lang.t("placement-none")) } } @else {
                    table {
                        caption { (lang.t("placement-ranked")) }
                        thead { tr {
                            th scope="col" { "#" }
                            th scope="col" { (lang.t("field-provider")) }
                            th scope="col" { (lang.t("field-site")) }
                            th scope="col" { (lang.t("field-offering")) }
                            th scope="col" { (lang.t("field-month-price")) }
                            th scope="col" { (lang.t("field-score")) }
                            th scope="col" { (lang.t("field-warnings")) }
                            th scope="col" { (lang.t("actions")) }
                        } }
                        tbody {
                            @for (i, f) in decision.feasible.iter().enumerate() {
                                tr {
                                    td { (i + 1) }
                                    td { (f.provider) }
                                    td { (f.site) }
                                    td { (f.offering) }
                                    td { (f.monthly_cost) " €" }
                                    td { (format!("{:.2}", f.score)) }
                                    td {
                                        @for e in &f.expiring {
                                            (lang.ta("expiring-warning", &[("certificate", lang.label("certkind", e.certificate.as_str())), ("date", e.valid_until.to_string())])) " "
                                        }
                                    }
                                    td { (crate::portal::orders::order_button(lang, &portal.csrf, id, f.offering_id, quantity_ordered, &format!("{} {} {}", f.provider, f.site, f.offering))) }
                                }
                            }
                        }
                    }
                }
                h2 { (lang.ta("placement-excluded", &[("n", decision.excluded.len().to_string())])) }
                ul class="exclusions" {
                    @for e in &decision.excluded {
                        li { strong { (lang.label("rule", e.rule.as_str())) ": " } (explain(lang, e)) }
                    }
                }
            }
        },
    )
    .into_response()
}

//! Costs in the portal: an institution's cost per month as a stacked bar
//! chart drawn as SVG on the server (readable with JavaScript off, with its
//! numbers in a table beside it), its usage per month in each billing unit
//! drawn the same way, budgets, top cost drivers and statements;
//! and a statement as a printable page (also served by the API's
//! `export?format=html`), standalone so it prints and archives as it is.
//!
//! Area `metering` (usage, charges, FOCUS imports and exports, statements,
//! budgets and reports), portal pages layer: the use cases are in
//! `makonis_app::metering`; the same area folder exists in
//! `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: FED-5, FED-6.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Response};
use makonis_app::metering::CostGrouping;
use makonis_types::InstitutionId;
use makonis_types::metering::Statement;
use makonis_types::metering::{Month, StatementId};
use maud::Markup;
use maud::{DOCTYPE, html};
use rust_decimal::Decimal;

use crate::extract::parse_query;
use crate::i18n::Lang;
use crate::portal::ui::layout;
use crate::portal::{Portal, parse_id};

fn money(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

/// A quantity for charts and their tables: at most two decimals, no
/// trailing zeros.
fn quantity(d: Decimal) -> String {
    d.round_dp(2).normalize().to_string()
}

fn opt(d: Option<Decimal>) -> String {
    d.map(|d| d.normalize().to_string()).unwrap_or_default()
}

/// A statement as a standalone HTML page.
pub fn printable_statement(lang: Lang, s: &Statement) -> String {
    let h = &s.summary;
    let month = h.month.to_string();
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                title { (lang.ta("statement-title", &[("month", month.clone()), ("version", h.version.to_string())])) }
                style { "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}\
                    th,td{border:1px solid #999;padding:.3em .5em;text-align:left}td.n,th.n{text-align:right}\
                    tfoot td{font-weight:bold}@media print{a{display:none}}" }
            }
            body {
                h1 { (lang.ta("statement-heading", &[("month", month.clone())])) }
                dl {
                    dt { (lang.t("statement-institution")) } dd { (h.institution_id) }
                    dt { (lang.t("statement-id")) } dd { (h.id) " v" (h.version) }
                    @if let Some(reason) = &h.reason { dt { (lang.t("statement-reason")) } dd { (reason) } }
                    dt { (lang.t("statement-issued")) } dd { (h.issued_at.format("%Y-%m-%d %H:%M UTC")) }
                    dt { (lang.t("statement-charges")) } dd { (h.charges) }
                    dt { (lang.t("statement-hash")) } dd { code { (h.content_hash) } }
                }
                table {
                    caption { (lang.ta("statement-caption", &[("currency", h.currency.clone())])) }
                    thead { tr {
                        th scope="col" { "#" } th scope="col" { (lang.t("field-system")) } th scope="col" { (lang.t("costs-provider")) }
                        th scope="col" { (lang.t("costs-service")) } th scope="col" { (lang.t("statement-category")) } th scope="col" class="n" { (lang.t("statement-quantity")) }
                        th scope="col" { (lang.t("statement-unit")) } th scope="col" class="n" { (lang.t("statement-unit-price")) } th scope="col" { (lang.t("statement-price-list")) }
                        th scope="col" class="n" { (lang.t("costs-amount")) } th scope="col" class="n" { (lang.t("costs-commercial")) } th scope="col" class="n" { (lang.t("statement-saving")) }
                    } }
                    tbody {
                        @for l in &s.lines { tr {
                            td { (l.line_no) } td { (l.information_system) } td { (l.provider) }
                            td { (l.service_name) } td { (l.charge_category) @if let Some(c) = &l.charge_class { " (" (c) ")" } }
                            td class="n" { (opt(l.quantity)) } td { (l.unit.clone().unwrap_or_default()) }
                            td class="n" { (opt(l.unit_price)) } td { (l.price_list_version.clone().unwrap_or_default()) }
                            td class="n" { (money(l.amount)) }
                            td class="n" title=[l.commercial_ref.as_deref()] { (l.commercial_amount.map(money).unwrap_or_default()) }
                            td class="n" { (l.saving().map(money).unwrap_or_default()) }
                        } }
                    }
                    tfoot { tr {
                        td colspan="9" { (lang.t("costs-total")) }
                        td class="n" { (money(h.total)) }
                        td class="n" { (money(h.commercial_total)) }
                        td class="n" { (money(h.commercial_total - s.lines.iter().filter(|l| l.commercial_amount.is_some()).map(|l| l.amount).sum::<Decimal>())) }
                    } }
                }
            }
        }
    }
    .into_string()
}

// ----- the costs page ----------------------------------------------------------

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct CostsQuery {
    institution: Option<String>,
    by: Option<String>,
}

/// Colour-blind-safe palette (Okabe–Ito) for the stacked series.
const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];

/// What a stacked bar chart shows: values per month and group, in one
/// unit (EUR for costs, a billing unit for usage).
struct Chart<'a> {
    /// The SVG title's id, unique within the page.
    id: String,
    /// The chart's accessible name and caption.
    title: String,
    /// The table's caption.
    caption: String,
    /// The values' unit, in each bar segment's title.
    unit: &'a str,
    /// (month, group, value); a month and group may repeat (summed).
    points: Vec<(Month, &'a str, Decimal)>,
    /// How values are written on the axis, in titles and in the table.
    format: fn(Decimal) -> String,
}

/// A stacked bar chart per month as SVG, drawn on the server: it needs no
/// JavaScript, and its numbers are in the table beside it.
fn stacked_bars(lang: Lang, chart: &Chart, months: &[Month]) -> Markup {
    let fmt = chart.format;
    let title = chart.title.as_str();
    let mut groups: Vec<String> = chart.points.iter().map(|p| p.1.to_owned()).collect();
    groups.sort();
    groups.dedup();
    let mut by: BTreeMap<(Month, &str), Decimal> = BTreeMap::new();
    for (month, group, value) in &chart.points {
        *by.entry((*month, group)).or_default() += *value;
    }
    let totals: Vec<Decimal> = months
        .iter()
        .map(|m| {
            groups
                .iter()
                .map(|g| by.get(&(*m, g.as_str())).copied().unwrap_or_default())
                .sum()
        })
        .collect();
    let max = totals
        .iter()
        .copied()
        .max()
        .unwrap_or_default()
        .max(Decimal::ONE);
    let (width, height, left, bottom, top) = (640.0_f64, 260.0_f64, 70.0_f64, 30.0_f64, 10.0_f64);
    let plot_h = height - bottom - top;
    let step = (width - left - 10.0) / months.len().max(1) as f64;
    let bar_w = step * 0.6;
    let scale = |v: Decimal| -> f64 {
        let ratio: f64 = (v / max).try_into().unwrap_or(0.0);
        ratio * plot_h
    };
    // Each month's bar is its groups stacked bottom-up.
    struct Segment {
        x: f64,
        y: f64,
        h: f64,
        group: usize,
        label: String,
    }
    let xs: Vec<f64> = (0..months.len())
        .map(|i| left + step * i as f64 + (step - bar_w) / 2.0)
        .collect();
    let mut segments = Vec::new();
    for (m, x) in months.iter().zip(&xs) {
        let mut base = top + plot_h;
        for (gi, g) in groups.iter().enumerate() {
            let v = by.get(&(*m, g.as_str())).copied().unwrap_or_default();
            let h = scale(v);
            if h > 0.0 {
                segments.push(Segment {
                    x: *x,
                    y: base - h,
                    h,
                    group: gi,
                    label: format!("{m}, {g}: {} {}", fmt(v), chart.unit),
                });
                base -= h;
            }
        }
    }
    html! {
        figure class="chart" {
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (width) " " (height + 20.0 * ((groups.len() as f64 / 4.0).ceil())) }
                role="img" aria-labelledby=(chart.id) width="100%" {
                title id=(chart.id) { (title) }
                line x1=(left) y1=(top + plot_h) x2=(width - 10.0) y2=(top + plot_h) stroke="#333" {}
                @for i in 0..=4 {
                    @let v = max * Decimal::from(i) / Decimal::from(4);
                    @let y = top + plot_h - scale(v);
                    line x1=(left - 4.0) y1=(y) x2=(width - 10.0) y2=(y) stroke="#ddd" {}
                    text x=(left - 8.0) y=(y + 4.0) text-anchor="end" font-size="11" { (fmt(v)) }
                }
                @for (m, x) in months.iter().zip(&xs) {
                    text x=(x + bar_w / 2.0) y=(top + plot_h + 16.0) text-anchor="middle" font-size="11" { (m) }
                }
                @for b in &segments {
                    rect x=(b.x) y=(b.y) width=(bar_w) height=(b.h) fill=(PALETTE[b.group % PALETTE.len()]) {
                        title { (b.label) }
                    }
                }
                @for (gi, g) in groups.iter().enumerate() {
                    @let lx = left + (gi % 4) as f64 * 140.0;
                    @let ly = height + 6.0 + (gi / 4) as f64 * 20.0;
                    rect x=(lx) y=(ly - 9.0) width="10" height="10" fill=(PALETTE[gi % PALETTE.len()]) {}
                    text x=(lx + 14.0) y=(ly) font-size="11" { (g) }
                }
            }
            figcaption { (title) }
        }
        table {
            caption { (chart.caption) }
            thead { tr {
                th scope="col" { (lang.t("costs-month")) }
                @for g in &groups { th scope="col" class="n" { (g) } }
                th scope="col" class="n" { (lang.t("costs-total")) }
            } }
            tbody {
                @for (i, m) in months.iter().enumerate() { tr {
                    th scope="row" { (m) }
                    @for g in &groups { td class="n" { (fmt(by.get(&(*m, g.as_str())).copied().unwrap_or_default())) } }
                    td class="n" { (fmt(totals[i])) }
                } }
            }
        }
    }
}

/// Costs of an institution: cost per month stacked by system, provider or
/// service category, budgets, the top cost drivers last month, statements.
pub async fn page(portal: Portal, RawQuery(raw): RawQuery) -> Response {
    let q: CostsQuery = parse_query(raw.as_deref().unwrap_or_default()).unwrap_or_default();
    let institution: InstitutionId = match q.institution.as_deref() {
        Some(raw) => match parse_id(&portal, raw) {
            Ok(id) => id,
            Err(r) => return r,
        },
        None => match portal.user.institution_id {
            Some(id) => id,
            None => return chooser(&portal).await,
        },
    };
    let lang = portal.lang;
    let (grouping, by_key) = match q.by.as_deref() {
        Some("provider") => (CostGrouping::Provider, "costs-by-provider"),
        Some("category") => (CostGrouping::ServiceCategory, "costs-by-category"),
        _ => (CostGrouping::System, "costs-by-system"),
    };
    let this_month = Month::of(chrono::Utc::now());
    let mut months = vec![this_month];
    for _ in 0..5 {
        let earlier = months[0].previous();
        months.insert(0, earlier);
    }
    let app = &portal.app;
    let series = match app
        .cost_series(&portal.op, institution, months[0], this_month, grouping)
        .await
    {
        Ok(s) => s,
        Err(e) => return portal.fail(e),
    };
    let budgets = app
        .budgets(&portal.op, institution)
        .await
        .unwrap_or_default();
    let statements = app
        .statements(&portal.op, Some(institution))
        .await
        .unwrap_or_default();
    let usage = match app
        .usage_series(
            &portal.op,
            Some(institution),
            months[0],
            this_month,
            grouping,
        )
        .await
    {
        Ok(u) => u,
        Err(e) => return portal.fail(e),
    };
    let drivers = app
        .preview_statement(&portal.op, institution, this_month.previous())
        .await
        .map(|s| {
            let mut lines = s.lines;
            lines.sort_by_key(|l| std::cmp::Reverse(l.amount));
            lines.truncate(10);
            lines
        })
        .unwrap_or_default();
    let title = lang.ta("costs-chart-title", &[("by", lang.t(by_key))]);
    let cost_chart = Chart {
        id: "chart-cost".into(),
        caption: format!("{title} (EUR)"),
        title,
        unit: "EUR",
        points: series
            .iter()
            .map(|p| (p.month, p.group.as_str(), p.cost))
            .collect(),
        format: money,
    };
    // One chart per billing unit: hours and gigabyte-months do not stack.
    let mut units: Vec<&str> = usage.iter().map(|p| p.unit.as_str()).collect();
    units.sort_unstable();
    units.dedup();
    let usage_charts: Vec<Chart> = units
        .iter()
        .enumerate()
        .map(|(i, unit)| {
            let title = lang.ta(
                "costs-usage-chart-title",
                &[("unit", (*unit).to_owned()), ("by", lang.t(by_key))],
            );
            Chart {
                id: format!("chart-usage-{i}"),
                caption: title.clone(),
                title,
                unit,
                points: usage
                    .iter()
                    .filter(|p| p.unit == *unit)
                    .map(|p| (p.month, p.group.as_str(), p.quantity))
                    .collect(),
                format: quantity,
            }
        })
        .collect();
    let base = format!("/costs?institution={institution}");
    let body = html! {
        h1 { (lang.t("costs-title")) }
        p {
            (lang.t("costs-split-by")) " "
            a href={ (base) "&by=system" } { (lang.t("costs-by-system")) } " · "
            a href={ (base) "&by=provider" } { (lang.t("costs-by-provider")) } " · "
            a href={ (base) "&by=category" } { (lang.t("costs-by-category")) }
        }
        (stacked_bars(lang, &cost_chart, &months))
        h2 { (lang.t("costs-usage")) }
        @if usage_charts.is_empty() { p { (lang.t("costs-no-usage")) } } @else {
            p { (lang.t("costs-usage-note")) }
            @for chart in &usage_charts { (stacked_bars(lang, chart, &months)) }
        }
        h2 { (lang.ta("costs-budgets", &[("month", this_month.to_string())])) }
        @if budgets.is_empty() { p { (lang.t("costs-no-budget")) } } @else {
            table {
                caption { (lang.t("costs-budgets-caption")) }
                thead { tr { th scope="col" { (lang.t("costs-scope")) } th scope="col" class="n" { (lang.t("costs-budget")) } th scope="col" class="n" { (lang.t("costs-spent")) } th scope="col" class="n" { (lang.t("costs-used")) } th scope="col" { (lang.t("costs-alerts")) } } }
                tbody { @for b in &budgets { tr {
                    td { (b.budget.information_system_id.map(|s| s.to_string()).unwrap_or_else(|| lang.t("costs-whole-institution"))) }
                    td class="n" { (money(b.budget.monthly_amount)) }
                    td class="n" { (money(b.spent)) }
                    td class="n" { span class={ "status " (if b.crossed.is_empty() { "ok" } else { "bad" }) } { (b.used_pct) " %" } }
                    td { (b.crossed.iter().map(|t| format!("{t} %")).collect::<Vec<_>>().join(", ")) }
                } } }
            }
        }
        h2 { (lang.ta("costs-drivers", &[("month", this_month.previous().to_string())])) }
        @if drivers.is_empty() { p { (lang.t("costs-no-charges")) } } @else {
            table {
                caption { (lang.t("costs-drivers-caption")) }
                thead { tr { th scope="col" { (lang.t("field-system")) } th scope="col" { (lang.t("costs-provider")) } th scope="col" { (lang.t("costs-service")) } th scope="col" class="n" { (lang.t("costs-amount")) } th scope="col" class="n" { (lang.t("costs-commercial")) } } }
                tbody { @for l in &drivers { tr {
                    td { (l.information_system) } td { (l.provider) } td { (l.service_name) }
                    td class="n" { (money(l.amount)) }
                    td class="n" { (l.commercial_amount.map(money).unwrap_or_else(|| "—".into())) }
                } } }
            }
        }
        h2 { (lang.t("costs-statements")) }
        @if statements.is_empty() { p { (lang.t("costs-no-statements")) } } @else {
            table {
                caption { (lang.t("costs-statements-caption")) }
                thead { tr { th scope="col" { (lang.t("costs-month")) } th scope="col" { (lang.t("costs-version")) } th scope="col" class="n" { (lang.t("costs-total")) " EUR" } th scope="col" class="n" { (lang.t("costs-commercial")) " EUR" } th scope="col" { (lang.t("costs-reason")) } } }
                tbody { @for s in &statements { tr {
                    td { a href={ "/costs/statements/" (s.id) } { (s.month) } }
                    td { (s.version) }
                    td class="n" { (money(s.total)) }
                    td class="n" { (money(s.commercial_total)) }
                    td { (s.reason.clone().unwrap_or_default()) }
                } } }
            }
        }
    };
    layout(&portal.page(), &lang.t("costs-title"), body).into_response()
}

/// People of the platform (no home institution) pick whose costs to see.
async fn chooser(portal: &Portal) -> Response {
    let lang = portal.lang;
    let page = makonis_types::paging::PageRequest {
        limit: Some(500),
        ..Default::default()
    };
    let institutions = match portal.app.list_institutions(&portal.op, None, page).await {
        Ok(p) => p.items,
        Err(e) => return portal.fail(e),
    };
    let month = Month::of(chrono::Utc::now()).previous();
    let split = portal.app.provider_split(&portal.op, month).await.ok();
    let body = html! {
        h1 { (lang.t("costs-title")) }
        @if let Some(split) = &split {
            table {
                caption { (lang.ta("costs-split-caption", &[("month", month.to_string())])) }
                thead { tr {
                    th scope="col" { (lang.t("costs-provider")) }
                    th scope="col" class="n" { (lang.t("costs-internal")) }
                    th scope="col" class="n" { (lang.t("costs-shared")) }
                    th scope="col" class="n" { (lang.t("costs-institutions")) }
                } }
                tbody { @for p in split { tr {
                    td { (p.provider) }
                    td class="n" { (money(p.internal)) }
                    td class="n" { (money(p.shared)) }
                    td class="n" { (p.institutions) }
                } } }
            }
        }
        p { (lang.t("costs-choose")) }
        ul { @for i in &institutions {
            li { a href={ "/costs?institution=" (i.id) } { (i.short_name) " — " (i.name) } }
        } }
    };
    layout(&portal.page(), &lang.t("costs-title"), body).into_response()
}

/// One issued statement, printable.
pub async fn statement(portal: Portal, Path(raw): Path<String>) -> Response {
    let id: StatementId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match portal.app.statement(&portal.op, id).await {
        Ok(s) => (
            [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
            printable_statement(portal.lang, &s),
        )
            .into_response(),
        Err(e) => portal.fail(e),
    }
}

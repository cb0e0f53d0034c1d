//! Costs in the portal: a statement as a printable page (also served by the
//! API's `export?format=html`). It stands alone, without the portal's
//! layout or scripts, so it prints and archives as it is.

use makonis_types::metering::Statement;
use maud::{DOCTYPE, html};
use rust_decimal::Decimal;

fn money(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

fn opt(d: Option<Decimal>) -> String {
    d.map(|d| d.normalize().to_string()).unwrap_or_default()
}

/// A statement as a standalone HTML page.
pub fn printable_statement(s: &Statement) -> String {
    let h = &s.summary;
    html! {
        (DOCTYPE)
        html lang="lv" {
            head {
                meta charset="utf-8";
                title { "Statement " (h.month) " v" (h.version) }
                style { "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}\
                    th,td{border:1px solid #999;padding:.3em .5em;text-align:left}td.n,th.n{text-align:right}\
                    tfoot td{font-weight:bold}@media print{a{display:none}}" }
            }
            body {
                h1 { "Statement for " (h.month) }
                dl {
                    dt { "Institution" } dd { (h.institution_id) }
                    dt { "Statement" } dd { (h.id) ", version " (h.version) }
                    @if let Some(reason) = &h.reason { dt { "Reason for this version" } dd { (reason) } }
                    dt { "Issued" } dd { (h.issued_at.format("%Y-%m-%d %H:%M UTC")) }
                    dt { "Charges" } dd { (h.charges) }
                    dt { "Content hash (BLAKE3)" } dd { code { (h.content_hash) } }
                }
                table {
                    caption { "Lines, rounded once each to cents (half away from zero); amounts in " (h.currency) }
                    thead { tr {
                        th scope="col" { "#" } th scope="col" { "Information system" } th scope="col" { "Provider" }
                        th scope="col" { "Service" } th scope="col" { "Category" } th scope="col" class="n" { "Quantity" }
                        th scope="col" { "Unit" } th scope="col" class="n" { "Unit price" } th scope="col" { "Price list" }
                        th scope="col" class="n" { "Amount" } th scope="col" class="n" { "Commercial" } th scope="col" class="n" { "Saving" }
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
                        td colspan="9" { "Total" }
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

//! Layout and form widgets shared by the portal pages. Widgets tie each
//! input to its label, its error text (`aria-describedby`) and the error
//! summary's links, so every form is accessible the same way.

use makonis_types::FieldError;
use makonis_types::paging::Page;
use makonis_types::user::User;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::i18n::Lang;

/// What the layout needs to know about the request.
pub struct PageCtx<'a> {
    pub lang: Lang,
    pub user: Option<&'a User>,
    pub csrf: Option<&'a str>,
    pub path: &'a str,
}

pub fn layout(ctx: &PageCtx<'_>, title: &str, body: Markup) -> Markup {
    let lang = ctx.lang;
    let other = match lang {
        Lang::Lv => Lang::En,
        Lang::En => Lang::Lv,
    };
    let here = ctx.path.split('?').next().unwrap_or("/");
    let nav_item = |href: &str, key: &str| {
        let current = here == href || (href != "/" && here.starts_with(&format!("{href}/")));
        html! {
            li { a href=(href) aria-current=[current.then_some("page")] { (lang.t(key)) } }
        }
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Mākonis" }
                link rel="stylesheet" href="/static/app.css";
            }
            body {
                a class="skip-link" href="#main" { (lang.t("skip-to-content")) }
                header class="site-header" {
                    div class="container header-row" {
                        a class="brand" href="/" { "Mākonis" span class="brand-sub" { (lang.t("app-tagline")) } }
                        div class="header-tools" {
                            a href={ "/lang/" (other.code()) "?next=" (super::encode(ctx.path)) }
                              lang=(other.code()) hreflang=(other.code()) {
                                (lang.t("switch-language"))
                            }
                            @if let (Some(user), Some(csrf)) = (ctx.user, ctx.csrf) {
                                a href="/account" { (user.display_name) }
                                form method="post" action="/logout" class="inline" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" class="link-button" { (lang.t("logout")) }
                                }
                            }
                        }
                    }
                    @if ctx.user.is_some() {
                        nav aria-label=(lang.t("nav-label")) class="container" {
                            ul class="nav" {
                                (nav_item("/", "nav-home"))
                                (nav_item("/institutions", "nav-institutions"))
                                (nav_item("/systems", "nav-systems"))
                                (nav_item("/catalogue", "nav-catalogue"))
                                (nav_item("/providers", "nav-providers"))
                                (nav_item("/orders", "nav-orders"))
                                (nav_item("/approvals", "nav-approvals"))
                                (nav_item("/agreements", "nav-agreements"))
                                (nav_item("/costs", "nav-costs"))
                                (nav_item("/notifications", "nav-notifications"))
                                (nav_item("/operations", "nav-operations"))
                                (nav_item("/embassy", "nav-embassy"))
                                (nav_item("/users", "nav-users"))
                                (nav_item("/audit", "nav-audit"))
                                (nav_item("/account", "nav-account"))
                            }
                        }
                    }
                }
                main id="main" class="container" tabindex="-1" {
                    (body)
                }
                footer class="site-footer" {
                    div class="container" {
                        p { (lang.t("footer-text")) " · " a href="/api/v1/docs" { (lang.t("footer-api")) } }
                    }
                }
            }
        }
    }
}

pub fn message_page(ctx: &PageCtx<'_>, title: &str, text: &str) -> Markup {
    layout(
        ctx,
        title,
        html! {
            h1 { (title) }
            p { (text) }
            p { a href="/" { (ctx.lang.t("back-home")) } }
        },
    )
}

/// A notice after a redirect (`?notice=created`).
pub fn notice(lang: Lang, key: Option<&str>) -> Markup {
    match key.and_then(|k| lang.try_t(&format!("notice-{k}"))) {
        Some(text) => html! { div class="notice" role="status" { (text) } },
        None => html! {},
    }
}

pub fn error_summary(lang: Lang, errors: &[FieldError]) -> Markup {
    if errors.is_empty() {
        return html! {};
    }
    html! {
        div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1" {
            h2 id="error-summary-title" { (lang.t("form-has-errors")) }
            ul {
                @for e in errors {
                    li { a href={ "#f-" (field_anchor(&e.field)) } { (lang.field_error(e)) } }
                }
            }
        }
    }
}

fn field_anchor(field: &str) -> String {
    field.replace(['[', ']', '.'], "-")
}

fn errors_for<'a>(errors: &'a [FieldError], name: &str) -> Vec<&'a FieldError> {
    errors.iter().filter(|e| e.field == name).collect()
}

fn field_errors(lang: Lang, name: &str, errors: &[&FieldError]) -> Markup {
    html! {
        @if !errors.is_empty() {
            p class="field-error" id={ "e-" (field_anchor(name)) } {
                @for e in errors { (lang.field_error(e)) " " }
            }
        }
    }
}

pub struct Input<'a> {
    pub name: &'a str,
    pub label: String,
    pub value: &'a str,
    pub kind: &'a str,
    pub required: bool,
    pub max_length: Option<usize>,
    pub hint: Option<String>,
    pub autocomplete: Option<&'a str>,
    pub inputmode: Option<&'a str>,
}

impl<'a> Input<'a> {
    pub fn text(name: &'a str, label: String, value: &'a str) -> Self {
        Self {
            name,
            label,
            value,
            kind: "text",
            required: false,
            max_length: None,
            hint: None,
            autocomplete: None,
            inputmode: None,
        }
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn kind(mut self, kind: &'a str) -> Self {
        self.kind = kind;
        self
    }
    pub fn max(mut self, max: usize) -> Self {
        self.max_length = Some(max);
        self
    }
    pub fn hint(mut self, hint: String) -> Self {
        self.hint = Some(hint);
        self
    }
    /// A whole number typed as text with a numeric keypad: browsers' own
    /// number fields hide what was typed when it is not a number.
    pub fn numeric(mut self) -> Self {
        self.kind = "text";
        self.inputmode = Some("numeric");
        self
    }
    pub fn autocomplete(mut self, value: &'a str) -> Self {
        self.autocomplete = Some(value);
        self
    }

    pub fn render(&self, lang: Lang, errors: &[FieldError]) -> Markup {
        let mine = errors_for(errors, self.name);
        let anchor = field_anchor(self.name);
        let described = describedby(&anchor, self.hint.is_some(), !mine.is_empty());
        html! {
            div class={ "field" @if !mine.is_empty() { " has-error" } } {
                label for={ "f-" (anchor) } {
                    (self.label)
                    @if self.required { " " span class="required" { "(" (lang.t("required")) ")" } }
                }
                @if let Some(hint) = &self.hint { p class="hint" id={ "h-" (anchor) } { (hint) } }
                (field_errors(lang, self.name, &mine))
                input id={ "f-" (anchor) } name=(self.name) type=(self.kind) value=(self.value)
                    required[self.required] maxlength=[self.max_length]
                    autocomplete=[self.autocomplete]
                    inputmode=[self.inputmode]
                    aria-invalid=[(!mine.is_empty()).then_some("true")]
                    aria-describedby=[described];
            }
        }
    }
}

fn describedby(anchor: &str, hint: bool, error: bool) -> Option<String> {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("h-{anchor}"));
    }
    if error {
        ids.push(format!("e-{anchor}"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

pub fn textarea(
    lang: Lang,
    name: &str,
    label: String,
    value: &str,
    errors: &[FieldError],
) -> Markup {
    let mine = errors_for(errors, name);
    let anchor = field_anchor(name);
    html! {
        div class={ "field" @if !mine.is_empty() { " has-error" } } {
            label for={ "f-" (anchor) } { (label) }
            (field_errors(lang, name, &mine))
            textarea id={ "f-" (anchor) } name=(name) rows="4"
                aria-invalid=[(!mine.is_empty()).then_some("true")]
                aria-describedby=[describedby(&anchor, false, !mine.is_empty())] { (value) }
        }
    }
}

pub fn select(
    lang: Lang,
    name: &str,
    label: String,
    options: &[(String, String)],
    selected: &str,
    required: bool,
    errors: &[FieldError],
) -> Markup {
    let mine = errors_for(errors, name);
    let anchor = field_anchor(name);
    html! {
        div class={ "field" @if !mine.is_empty() { " has-error" } } {
            label for={ "f-" (anchor) } {
                (label)
                @if required { " " span class="required" { "(" (lang.t("required")) ")" } }
            }
            (field_errors(lang, name, &mine))
            select id={ "f-" (anchor) } name=(name) required[required]
                aria-invalid=[(!mine.is_empty()).then_some("true")]
                aria-describedby=[describedby(&anchor, false, !mine.is_empty())] {
                @if !required { option value="" { (lang.t("choose-any")) } }
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
        }
    }
}

pub fn checkbox(name: &str, label: String, checked: bool) -> Markup {
    let anchor = field_anchor(name);
    html! {
        div class="field checkbox" {
            input type="checkbox" id={ "f-" (anchor) } name=(name) value="1" checked[checked];
            label for={ "f-" (anchor) } { (label) }
        }
    }
}

pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

pub fn yes_no(lang: Lang, value: bool) -> String {
    lang.t(if value { "yes" } else { "no" })
}

/// Previous/next links for a page of results, keeping the other query
/// parameters.
pub fn pager<T>(lang: Lang, page: &Page<T>, base: &str, query: &[(String, String)]) -> Markup {
    let link = |offset: u32| {
        let mut pairs: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k != "offset")
            .cloned()
            .collect();
        pairs.push(("offset".into(), offset.to_string()));
        format!(
            "{base}?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    };
    let shown_to = (page.offset + page.items.len() as u32) as u64;
    html! {
        nav class="pager" aria-label=(lang.t("pager-label")) {
            p { (lang.ta("pager-status", &[("from", (if page.total == 0 { 0 } else { page.offset + 1 }).to_string()), ("to", shown_to.to_string()), ("total", page.total.to_string())])) }
            @if page.offset > 0 {
                a href=(link(page.offset.saturating_sub(page.limit))) rel="prev" { (lang.t("pager-prev")) }
            }
            @if shown_to < page.total {
                " " a href=(link(page.offset + page.limit)) rel="next" { (lang.t("pager-next")) }
            }
        }
    }
}

pub fn raw_svg(svg: &str) -> Markup {
    // The SVG comes from the qrcode crate, built from our own otpauth URL.
    PreEscaped(
        svg.trim_start_matches(|c| c != '<')
            .replace("<?xml version=\"1.0\" standalone=\"yes\"?>", ""),
    )
}

//! The portal: server-rendered HTML that works without JavaScript, in
//! Latvian (default) and English, built to WCAG 2.1 AA (landmarks, labels,
//! an error summary that links to each field, visible focus, contrast).
//!
//! Authentication is a session cookie (HttpOnly, SameSite=Strict, Secure
//! behind TLS). Every form carries a CSRF token: the session's token when
//! signed in, a cookie-bound token on the login page. POST handlers take
//! [`PortalForm`], which checks the token before the handler runs, so a
//! handler cannot forget.

pub mod assets;
pub mod audit;
pub mod background;
pub mod catalogue;

pub mod embassy;
pub mod federation;
pub mod home;
pub mod identity;
pub mod metering;
pub mod orders;
pub mod sagas;
pub mod systems;
mod ui;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use makonis_app::identity::authn::Stage;
use makonis_app::{App, Error, OpContext};
use makonis_types::FieldError;
use makonis_types::user::User;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::extract::request_id;
use crate::i18n::Lang;
pub use ui::PageCtx;

pub const SESSION_COOKIE: &str = "makonis_session";
pub const CSRF_COOKIE: &str = "makonis_csrf";
pub const LANG_COOKIE: &str = "makonis_lang";

pub fn lang_of(jar: &CookieJar) -> Lang {
    jar.get(LANG_COOKIE)
        .and_then(|c| Lang::parse(c.value()))
        .unwrap_or_default()
}

pub fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .build()
}

/// Only same-site relative paths are followed after login or a language
/// switch, so these cannot become open redirects.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

/// A record id from the path; one that is not an id is a record not found.
pub(crate) fn parse_id<T: std::str::FromStr>(portal: &Portal, raw: &str) -> Result<T, Response> {
    raw.parse()
        .map_err(|_| portal.fail(Error::NotFound { kind: "record" }))
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn login_redirect(parts: &Parts, expired: bool) -> Response {
    let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let target = if next == "/" && !expired {
        "/login".to_owned()
    } else {
        format!(
            "/login?next={}{}",
            encode(next),
            if expired { "&expired=1" } else { "" }
        )
    };
    Redirect::to(&target).into_response()
}

/// A signed-in person on a portal page.
pub struct Portal {
    pub app: App,
    pub op: OpContext,
    pub lang: Lang,
    pub user: User,
    pub csrf: String,
    pub path: String,
}

impl Portal {
    pub fn page(&self) -> PageCtx<'_> {
        PageCtx {
            lang: self.lang,
            user: Some(&self.user),
            csrf: Some(&self.csrf),
            path: &self.path,
        }
    }

    /// Every institution the person may see (for choosers and names).
    pub async fn institutions(
        &self,
    ) -> Result<Vec<makonis_types::institution::Institution>, Response> {
        self.app
            .list_institutions(
                &self.op,
                None,
                makonis_types::paging::PageRequest {
                    limit: Some(500),
                    offset: None,
                },
            )
            .await
            .map(|p| p.items)
            .map_err(|e| self.fail(e))
    }

    /// The page for an app error that is not about form input.
    pub fn fail(&self, error: Error) -> Response {
        error_page(self.lang, Some(&self.user), &self.csrf, &self.path, error)
    }
}

impl FromRequestParts<AppState> for Portal {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let lang = lang_of(&jar);
        let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
            return Err(login_redirect(parts, false));
        };
        let view = match state.app.resolve_session(&token, &request_id(parts)).await {
            Ok(view) => view,
            Err(Error::Unauthenticated) => return Err(login_redirect(parts, true)),
            Err(e) => return Err(error_page(lang, None, "", parts.uri.path(), e)),
        };
        match view.stage {
            Stage::Active => Ok(Portal {
                app: state.app.clone(),
                op: view.ctx,
                lang,
                user: view.user,
                csrf: view.csrf_token,
                path: parts
                    .uri
                    .path_and_query()
                    .map_or_else(|| "/".into(), |p| p.as_str().to_owned()),
            }),
            Stage::NeedsMfa => Err(Redirect::to("/mfa").into_response()),
            Stage::NeedsEnrolment => Err(Redirect::to("/mfa/enrol").into_response()),
        }
    }
}

/// A query string, or its default plus the field error that says why the
/// query was not understood (shown in the page's error summary).
pub fn query_or_default<T: serde::de::DeserializeOwned + Default>(
    raw: &str,
) -> (T, Vec<FieldError>) {
    match crate::extract::parse_query(raw) {
        Ok(q) => (q, Vec::new()),
        Err(e) => (T::default(), vec![e]),
    }
}

/// Form fields in order, as submitted.
#[derive(Debug, Default, Clone)]
pub struct FormData {
    pairs: Vec<(String, String)>,
}

impl FormData {
    pub fn parse(body: &[u8]) -> Self {
        Self {
            pairs: form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    pub fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn opt(&self, name: &str) -> Option<String> {
        let v = self.get(name).trim();
        (!v.is_empty()).then(|| v.to_owned())
    }

    /// An HTML checkbox: present means checked.
    pub fn checked(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, v)| k == name && !v.is_empty())
    }

    /// A whole number, or a field error naming the field.
    pub fn int(&self, name: &str, errors: &mut Vec<FieldError>) -> i64 {
        let raw = self.get(name).trim();
        if raw.is_empty() {
            errors.push(FieldError::required(name));
            return 0;
        }
        raw.parse().unwrap_or_else(|_| {
            errors.push(
                FieldError::new(
                    name,
                    "invalid_type",
                    format!("{name} must be a whole number"),
                )
                .with_param("expected", "whole number"),
            );
            0
        })
    }

    /// One of a closed set of values, or a field error listing them.
    pub fn choice<T>(
        &self,
        name: &str,
        parse: fn(&str, &str) -> Result<T, FieldError>,
        errors: &mut Vec<FieldError>,
    ) -> Option<T> {
        let raw = self.get(name).trim();
        if raw.is_empty() {
            errors.push(FieldError::required(name));
            return None;
        }
        parse(name, raw).map_err(|e| errors.push(e)).ok()
    }
}

/// A POST from a signed-in person, its CSRF token already checked.
pub struct PortalForm {
    pub portal: Portal,
    pub form: FormData,
}

impl FromRequest<AppState> for PortalForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let portal = Portal::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| (r.status(), portal.lang.t("error-body-too-large")).into_response())?;
        let form = FormData::parse(&bytes);
        if !tokens_match(form.get("csrf"), &portal.csrf) {
            return Err(csrf_failure(
                portal.lang,
                Some(&portal.user),
                &portal.csrf,
                &portal.path,
            ));
        }
        Ok(Self { portal, form })
    }
}

pub fn tokens_match(sent: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes()))
}

pub fn csrf_failure(lang: Lang, user: Option<&User>, csrf: &str, path: &str) -> Response {
    let page = PageCtx {
        lang,
        user,
        csrf: Some(csrf),
        path,
    };
    (
        StatusCode::FORBIDDEN,
        ui::message_page(&page, &lang.t("csrf-title"), &lang.t("csrf-body")),
    )
        .into_response()
}

/// Friendly pages for app errors.
pub fn error_page(
    lang: Lang,
    user: Option<&User>,
    csrf: &str,
    path: &str,
    error: Error,
) -> Response {
    let page = PageCtx {
        lang,
        user,
        csrf: Some(csrf),
        path,
    };
    let (status, title, body) = match error {
        Error::Unauthenticated => return Redirect::to("/login").into_response(),
        Error::Forbidden { .. } => (
            StatusCode::FORBIDDEN,
            "error-forbidden-title",
            "error-forbidden-body",
        ),
        Error::NotFound { .. } => (
            StatusCode::NOT_FOUND,
            "error-not-found-title",
            "error-not-found-body",
        ),
        Error::Conflict { message } => {
            return (
                StatusCode::CONFLICT,
                ui::message_page(&page, &lang.t("error-conflict-title"), &message),
            )
                .into_response();
        }
        Error::Invalid(errors) => {
            let text = errors
                .iter()
                .map(|e| lang.field_error(e))
                .collect::<Vec<_>>()
                .join("; ");
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                ui::message_page(&page, &lang.t("error-invalid-title"), &text),
            )
                .into_response();
        }
        Error::TooManyRequests { retry_after_secs } => {
            let text = lang.ta(
                "error-too-many-body",
                &[("seconds", retry_after_secs.to_string())],
            );
            return (
                StatusCode::TOO_MANY_REQUESTS,
                ui::message_page(&page, &lang.t("error-too-many-title"), &text),
            )
                .into_response();
        }
        Error::Unavailable { detail, .. } => {
            tracing::warn!(%detail, "unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "error-unavailable-title",
                "error-unavailable-body",
            )
        }
        Error::Internal { detail } => {
            tracing::error!(%detail, "internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-internal-title",
                "error-internal-body",
            )
        }
    };
    (
        status,
        ui::message_page(&page, &lang.t(title), &lang.t(body)),
    )
        .into_response()
}

/// The fallback for unknown paths: JSON under `/api/`, a page elsewhere.
pub async fn not_found(request: Request) -> Response {
    let (parts, _) = request.into_parts();
    if parts.uri.path().starts_with("/api/") {
        return crate::ApiError::from_app(Error::NotFound { kind: "route" }, &request_id(&parts))
            .into_response();
    }
    let lang = lang_of(&CookieJar::from_headers(&parts.headers));
    error_page(
        lang,
        None,
        "",
        parts.uri.path(),
        Error::NotFound { kind: "page" },
    )
}

/// Redirect after a successful POST, with a notice key for the next page.
pub fn see_other(path: &str, notice: &str) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}notice={notice}")).into_response()
}

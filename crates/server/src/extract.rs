//! Request extractors for the API: who is calling ([`ApiCtx`]), JSON bodies
//! and query strings whose errors name the offending field, and ids in
//! paths (an id that does not parse is simply not found).

use std::str::FromStr;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use makonis_app::{App, OpContext};
use makonis_types::FieldError;
use serde::de::DeserializeOwned;

use crate::{ApiError, AppState, REQUEST_ID_HEADER};

pub fn request_id(parts: &Parts) -> String {
    parts
        .headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

/// The caller of an API route: an API token's owner, or anonymous (the app
/// then answers 401 for anything but public data).
pub struct ApiCtx {
    pub app: App,
    pub op: OpContext,
}

impl ApiCtx {
    /// Awaits an app call and maps its error to the API error body.
    pub async fn run<T>(
        &self,
        call: impl Future<Output = makonis_app::Result<T>>,
    ) -> Result<T, ApiError> {
        call.await.map_err(|e| self.error(e))
    }

    pub fn error(&self, error: makonis_app::Error) -> ApiError {
        ApiError::from_app(error, &self.op.request_id)
    }
}

impl FromRequestParts<AppState> for ApiCtx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let id = request_id(parts);
        let app = state.app.clone();
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Self {
                app,
                op: OpContext::anonymous(id),
            });
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::from_app(makonis_app::Error::Unauthenticated, &id))?;
        let op = app
            .authenticate_api_token(token, &id)
            .await
            .map_err(|e| ApiError::from_app(e, &id))?;
        Ok(Self { app, op })
    }
}

/// A JSON body. Syntax errors report line and column; data errors name the
/// field path (`roles[1].role`) and what was expected.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let id = request_id(&parts);
        let is_json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::malformed(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                vec![
                    FieldError::new(
                        "content-type",
                        "invalid",
                        "send the body as 'Content-Type: application/json'",
                    )
                    .with_param("expected", "application/json"),
                ],
                &id,
            ));
        }
        let req = Request::from_parts(parts, body);
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                ApiError::malformed(
                    rejection.status(),
                    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        "payload_too_large"
                    } else {
                        "malformed_request"
                    },
                    vec![FieldError::new("body", "invalid", rejection.body_text())],
                    &id,
                )
            })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(de).map_err(|e| {
            let syntax = !matches!(e.inner().classify(), serde_json::error::Category::Data);
            let field = if syntax {
                FieldError::new(
                    "body",
                    "malformed_json",
                    format!("the body is not valid JSON: {}", e.inner()),
                )
                .with_param("line", e.inner().line())
                .with_param("column", e.inner().column())
            } else {
                data_error(&e.path().to_string(), &e.inner().to_string())
            };
            ApiError::malformed(
                if syntax {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                },
                if syntax {
                    "malformed_request"
                } else {
                    "invalid_input"
                },
                vec![field],
                &id,
            )
        })?;
        Ok(Self(value))
    }
}

/// Turns a serde data error into a field error.
fn data_error(path: &str, message: &str) -> FieldError {
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    let join = |name: &str| match path {
        "" | "." => name.to_owned(),
        parent => format!("{parent}.{name}"),
    };
    let quoted = |text: &str| text.split('`').nth(1).map(str::to_owned);
    let field_path = if path.is_empty() || path == "." {
        "body".to_owned()
    } else {
        path.to_owned()
    };
    if let Some(rest) = message.strip_prefix("missing field ") {
        let name = quoted(rest).unwrap_or_default();
        return FieldError::new(
            join(&name),
            "required",
            format!("{} is required", join(&name)),
        );
    }
    if message.starts_with("unknown field ") {
        let name = quoted(&message).unwrap_or_default();
        // The path already ends in the unknown field's name.
        let field = if path == name || path.ends_with(&format!(".{name}")) {
            path.to_owned()
        } else {
            join(&name)
        };
        return FieldError::new(
            &field,
            "unknown_field",
            format!("{field} is not a known field: {message}"),
        );
    }
    if message.starts_with("unknown variant ") {
        return FieldError::new(
            &field_path,
            "invalid_choice",
            format!("{field_path}: {message}"),
        );
    }
    if message.starts_with("invalid type") {
        return FieldError::new(
            &field_path,
            "invalid_type",
            format!("{field_path}: {message}"),
        );
    }
    if message.starts_with("UUID parsing failed") || message.contains("invalid character") {
        return FieldError::new(
            &field_path,
            "invalid_format",
            format!("{field_path} must be a UUID: {message}"),
        )
        .with_param("expected", "UUID");
    }
    FieldError::new(&field_path, "invalid", format!("{field_path}: {message}"))
}

/// A query string with field-level errors.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        parse_query(query).map(Self).map_err(|field| {
            ApiError::malformed(
                StatusCode::BAD_REQUEST,
                "invalid_input",
                vec![field],
                &request_id(parts),
            )
        })
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, FieldError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = if path.is_empty() || path == "." {
            "query".to_owned()
        } else {
            path
        };
        FieldError::new(
            &field,
            "invalid",
            format!("query parameter {field}: {message}"),
        )
    })
}

/// One id in the path. An id that does not parse names nothing: 404.
pub struct IdPath<T>(pub T);

impl<T: FromStr + Send> FromRequestParts<AppState> for IdPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let not_found = |parts: &Parts| {
            ApiError::from_app(
                makonis_app::Error::NotFound { kind: "resource" },
                &request_id(parts),
            )
        };
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found(parts))?;
        raw.parse().map(Self).map_err(|_| not_found(parts))
    }
}

/// Two ids in the path.
pub struct IdPath2<A, B>(pub A, pub B);

impl<A: FromStr + Send, B: FromStr + Send> FromRequestParts<AppState> for IdPath2<A, B> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let not_found = |parts: &Parts| {
            ApiError::from_app(
                makonis_app::Error::NotFound { kind: "resource" },
                &request_id(parts),
            )
        };
        let Path((a, b)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found(parts))?;
        match (a.parse(), b.parse()) {
            (Ok(a), Ok(b)) => Ok(Self(a, b)),
            _ => Err(not_found(parts)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_become_field_errors() {
        let e = data_error(".", "missing field `name` at line 1 column 2");
        assert_eq!((e.field.as_str(), e.code.as_str()), ("name", "required"));
        let e = data_error("roles[0]", "missing field `role`");
        assert_eq!(e.field, "roles[0].role");
        let e = data_error(
            "security_category",
            "unknown variant `D`, expected one of `A`, `B`, `C`",
        );
        assert_eq!(e.code, "invalid_choice");
        assert!(e.message.contains("`A`, `B`, `C`"));
        let e = data_error("rpo_minutes", "invalid type: string \"x\", expected i64");
        assert_eq!(
            (e.field.as_str(), e.code.as_str()),
            ("rpo_minutes", "invalid_type")
        );
        let e = data_error("colour", "unknown field `colour`, expected one of `name`");
        assert_eq!(
            (e.field.as_str(), e.code.as_str()),
            ("colour", "unknown_field")
        );
    }
}

//! One error body for the whole API:
//!
//! ```json
//! {"error": {"code": "invalid_input", "message": "…", "request_id": "…",
//!            "fields": [{"field": "name", "code": "required", "message": "…"}]}}
//! ```
//!
//! The status follows the app error: 401, 403, 404, 409, 422, 429, 503 or
//! 500; malformed requests (bad JSON, wrong content type) are 400 or 415.
//! Internal detail is logged under the request id, never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use makonis_app::Error;
use makonis_types::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `unauthenticated`, `forbidden`, `not_found`, `conflict`,
    /// `invalid_input`, `malformed_request`, `unsupported_media_type`,
    /// `payload_too_large`, `too_many_requests`, `unavailable`, `internal`.
    pub code: String,
    pub message: String,
    pub request_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

/// An error on its way out of the API.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<FieldError>,
    pub request_id: String,
    pub retry_after: Option<i64>,
}

impl ApiError {
    pub fn from_app(error: Error, request_id: &str) -> Self {
        let (status, code, message, fields, retry_after) = match error {
            Error::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "authentication required: send 'Authorization: Bearer <API token>'".to_owned(),
                vec![],
                None,
            ),
            Error::Forbidden { message } => {
                (StatusCode::FORBIDDEN, "forbidden", message, vec![], None)
            }
            Error::NotFound { kind } => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{kind} not found"),
                vec![],
                None,
            ),
            Error::Conflict { message } => {
                (StatusCode::CONFLICT, "conflict", message, vec![], None)
            }
            Error::Invalid(fields) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                summary(&fields),
                fields,
                None,
            ),
            Error::TooManyRequests { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!("too many attempts; try again in {retry_after_secs} seconds"),
                vec![],
                Some(retry_after_secs),
            ),
            Error::Unavailable { message, detail } => {
                tracing::warn!(%request_id, %detail, "unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    message,
                    vec![],
                    None,
                )
            }
            Error::Internal { detail } => {
                tracing::error!(%request_id, %detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("internal error; quote request id {request_id} when reporting it"),
                    vec![],
                    None,
                )
            }
        };
        Self {
            status,
            code,
            message,
            fields,
            request_id: request_id.to_owned(),
            retry_after,
        }
    }

    pub fn malformed(
        status: StatusCode,
        code: &'static str,
        fields: Vec<FieldError>,
        request_id: &str,
    ) -> Self {
        Self {
            status,
            code,
            message: summary(&fields),
            fields,
            request_id: request_id.to_owned(),
            retry_after: None,
        }
    }
}

fn summary(fields: &[FieldError]) -> String {
    match fields {
        [] => "the request is invalid".into(),
        [one] => one.message.clone(),
        [first, rest @ ..] => format!("{} (and {} more problems)", first.message, rest.len()),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                request_id: self.request_id,
                fields: self.fields,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

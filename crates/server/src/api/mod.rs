//! REST API handlers under `/api/v1`: parse, call one `app` function,
//! answer JSON. Each handler carries its OpenAPI description.

pub mod audit;
pub mod background;
pub mod catalogue;

pub mod docs;
pub mod embassy;
pub mod federation;
pub mod identity;
pub mod metering;
pub mod orders;
pub mod sagas;
pub mod systems;

use axum::Json;
use axum::http::StatusCode;

use crate::ApiError;

pub type ApiResult<T> = Result<T, ApiError>;
pub type Created<T> = (StatusCode, Json<T>);

pub fn created<T>(value: T) -> Created<T> {
    (StatusCode::CREATED, Json(value))
}

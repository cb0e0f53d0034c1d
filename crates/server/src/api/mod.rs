//! REST API handlers under `/api/v1`: parse, call one `app` function,
//! answer JSON. Each handler carries its OpenAPI description.

pub mod audit;
pub mod catalogue;
pub mod costs;
pub mod docs;
pub mod embassy;
pub mod information_systems;
pub mod institutions;
pub mod me;
pub mod orders;
pub mod tokens;
pub mod users;

use axum::Json;
use axum::http::StatusCode;

use crate::ApiError;

pub type ApiResult<T> = Result<T, ApiError>;
pub type Created<T> = (StatusCode, Json<T>);

pub fn created<T>(value: T) -> Created<T> {
    (StatusCode::CREATED, Json(value))
}

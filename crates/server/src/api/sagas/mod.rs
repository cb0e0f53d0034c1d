//! Work on an order's resources at its provider, done by sagas: what was
//! built, decommissioning and resizing.
//!
//! Area `sagas` (the saga log and provisioned resources; provision,
//! decommission and modify), REST API (`/api/v1`) layer: the use cases are
//! in `makonis_app::sagas`; the same area folder exists in
//! `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: FED-4, FED-7.

use axum::Json;
use axum::http::StatusCode;
use makonis_types::order::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::ApiResult;
use crate::error::ErrorBody;
use crate::extract::{ApiCtx, ApiJson, IdPath};

/// What the provider built for the order.
#[utoipa::path(get, path = "/api/v1/orders/{id}/resources", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = Vec<makonis_app::ResourceRecord>), (status = 404, body = ErrorBody)))]
pub async fn resources(
    ctx: ApiCtx,
    IdPath(id): IdPath<OrderId>,
) -> ApiResult<Json<Vec<makonis_app::ResourceRecord>>> {
    ctx.run(ctx.app.order_resources(&ctx.op, id))
        .await
        .map(Json)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SagaStarted {
    /// The saga doing the work; the order's state follows it.
    pub saga_id: String,
}

/// Takes the order's resources down at the provider and closes it.
#[utoipa::path(post, path = "/api/v1/orders/{id}/decommission", tag = "orders", params(("id" = String, Path)),
    responses((status = 202, body = SagaStarted), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn decommission(
    ctx: ApiCtx,
    IdPath(id): IdPath<OrderId>,
) -> ApiResult<(StatusCode, Json<SagaStarted>)> {
    let saga_id = ctx.run(ctx.app.decommission_order(&ctx.op, id)).await?;
    Ok((StatusCode::ACCEPTED, Json(SagaStarted { saga_id })))
}

/// Changes an active order's size (more or fewer units) through the
/// `modify-order` saga; enlarging takes quota and an approver's role.
#[utoipa::path(post, path = "/api/v1/orders/{id}/modify", tag = "orders", params(("id" = String, Path)),
    request_body = makonis_app::sagas::modify::ModifyOrderInput,
    responses((status = 202, body = SagaStarted), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn modify(
    ctx: ApiCtx,
    IdPath(id): IdPath<OrderId>,
    ApiJson(input): ApiJson<makonis_app::sagas::modify::ModifyOrderInput>,
) -> ApiResult<(StatusCode, Json<SagaStarted>)> {
    let saga_id = ctx.run(ctx.app.modify_order(&ctx.op, id, &input)).await?;
    Ok((StatusCode::ACCEPTED, Json(SagaStarted { saga_id })))
}

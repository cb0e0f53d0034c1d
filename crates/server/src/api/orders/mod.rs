//! Orders, approvals, agreements, quotas and notifications.
//!
//! Area `orders` (orders, approvals, quotas, agreements and notifications),
//! REST API (`/api/v1`) layer: the use cases are in `makonis_app::orders`;
//! the same area folder exists in `db/src/datastore`, `server/src/api` and
//! `server/src/portal`. Requirements: FED-4, FED-5, FED-8, SEC-7.

pub mod agreements;
pub mod notifications;
pub mod quotas;

use axum::Json;
use makonis_types::order::*;
use makonis_types::paging::{Page, PageRequest};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::{ApiResult, Created, created};
use crate::error::ErrorBody;
use crate::extract::{ApiCtx, ApiJson, ApiQuery, IdPath};

/// Orders the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrderFilter, PageRequest),
    responses((status = 200, body = Page<Order>), (status = 401, body = ErrorBody)))]
pub async fn list(
    ctx: ApiCtx,
    ApiQuery(filter): ApiQuery<OrderFilter>,
    ApiQuery(page): ApiQuery<PageRequest>,
) -> ApiResult<Json<Page<Order>>> {
    ctx.run(ctx.app.list_orders(&ctx.op, &filter, page))
        .await
        .map(Json)
}

/// Orders an offering for an information system; `submit` sends it for approval.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = NewOrderInput,
    responses((status = 201, body = OrderDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    ctx: ApiCtx,
    ApiJson(input): ApiJson<NewOrderInput>,
) -> ApiResult<Created<OrderDetail>> {
    ctx.run(ctx.app.create_order(&ctx.op, &input))
        .await
        .map(created)
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderDetail), (status = 404, body = ErrorBody)))]
pub async fn get(ctx: ApiCtx, IdPath(id): IdPath<OrderId>) -> ApiResult<Json<OrderDetail>> {
    ctx.run(ctx.app.get_order(&ctx.op, id)).await.map(Json)
}

/// Sends a draft for approval (quotas are checked now).
#[utoipa::path(post, path = "/api/v1/orders/{id}/submit", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn submit(ctx: ApiCtx, IdPath(id): IdPath<OrderId>) -> ApiResult<Json<OrderDetail>> {
    ctx.run(ctx.app.submit_order(&ctx.op, id)).await.map(Json)
}

/// Approves or rejects (with a reason) the next step the caller may take.
#[utoipa::path(post, path = "/api/v1/orders/{id}/decision", tag = "orders", params(("id" = String, Path)),
    request_body = DecisionInput,
    responses((status = 200, body = OrderDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn decide(
    ctx: ApiCtx,
    IdPath(id): IdPath<OrderId>,
    ApiJson(input): ApiJson<DecisionInput>,
) -> ApiResult<Json<OrderDetail>> {
    ctx.run(ctx.app.decide_order(&ctx.op, id, &input))
        .await
        .map(Json)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    #[serde(default)]
    pub reason: Option<String>,
}

/// Withdraws an order that has not been provisioned.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", params(("id" = String, Path)),
    request_body = CancelInput,
    responses((status = 200, body = OrderDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    ctx: ApiCtx,
    IdPath(id): IdPath<OrderId>,
    ApiJson(input): ApiJson<CancelInput>,
) -> ApiResult<Json<OrderDetail>> {
    ctx.run(ctx.app.cancel_order(&ctx.op, id, input.reason.as_deref()))
        .await
        .map(Json)
}

/// Orders waiting for a step the caller may take.
#[utoipa::path(get, path = "/api/v1/approvals", tag = "orders",
    responses((status = 200, body = Vec<OrderDetail>), (status = 401, body = ErrorBody)))]
pub async fn inbox(ctx: ApiCtx) -> ApiResult<Json<Vec<OrderDetail>>> {
    ctx.run(ctx.app.approvals_inbox(&ctx.op)).await.map(Json)
}

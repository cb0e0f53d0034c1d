//! Orders, approvals, agreements, quotas and notifications.

use axum::Json;
use axum::http::StatusCode;
use makonis_app::Notification;
use makonis_types::InstitutionId;
use makonis_types::order::*;
use makonis_types::paging::{Page, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiResult, Created, created};
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

#[utoipa::path(get, path = "/api/v1/agreements", tag = "agreements",
    responses((status = 200, body = Vec<Agreement>), (status = 401, body = ErrorBody)))]
pub async fn agreements(ctx: ApiCtx) -> ApiResult<Json<Vec<Agreement>>> {
    ctx.run(ctx.app.list_agreements(&ctx.op)).await.map(Json)
}

/// Active agreements whose renewal reminder date has come.
#[utoipa::path(get, path = "/api/v1/agreements/reminders", tag = "agreements",
    responses((status = 200, body = Vec<Agreement>), (status = 401, body = ErrorBody)))]
pub async fn reminders(ctx: ApiCtx) -> ApiResult<Json<Vec<Agreement>>> {
    ctx.run(
        ctx.app
            .agreement_reminders(&ctx.op, chrono::Utc::now().date_naive()),
    )
    .await
    .map(Json)
}

#[utoipa::path(get, path = "/api/v1/agreements/{id}", tag = "agreements", params(("id" = String, Path)),
    responses((status = 200, body = Agreement), (status = 404, body = ErrorBody)))]
pub async fn agreement(ctx: ApiCtx, IdPath(id): IdPath<AgreementId>) -> ApiResult<Json<Agreement>> {
    ctx.run(ctx.app.get_agreement(&ctx.op, id)).await.map(Json)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInput {
    /// Reference of the signed document, e.g. a DMS number.
    #[serde(default)]
    pub document_ref: Option<String>,
}

/// Signs for the Broker (brokers) or for the institution (its administrators).
#[utoipa::path(post, path = "/api/v1/agreements/{id}/sign", tag = "agreements", params(("id" = String, Path)),
    request_body = SignInput,
    responses((status = 200, body = Agreement), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn sign(
    ctx: ApiCtx,
    IdPath(id): IdPath<AgreementId>,
    ApiJson(input): ApiJson<SignInput>,
) -> ApiResult<Json<Agreement>> {
    ctx.run(
        ctx.app
            .sign_agreement(&ctx.op, id, input.document_ref.as_deref()),
    )
    .await
    .map(Json)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaView {
    #[serde(flatten)]
    pub quota: Quota,
    pub used: QuotaUsage,
}

/// An institution's quotas with what is in use.
#[utoipa::path(get, path = "/api/v1/institutions/{id}/quotas", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = Vec<QuotaView>), (status = 404, body = ErrorBody)))]
pub async fn quotas(
    ctx: ApiCtx,
    IdPath(id): IdPath<InstitutionId>,
) -> ApiResult<Json<Vec<QuotaView>>> {
    let list = ctx.run(ctx.app.quotas(&ctx.op, id)).await?;
    Ok(Json(
        list.into_iter()
            .map(|(quota, used)| QuotaView { quota, used })
            .collect(),
    ))
}

/// Sets the institution's quota, or one of its systems' (Broker).
#[utoipa::path(put, path = "/api/v1/institutions/{id}/quotas", tag = "orders", params(("id" = String, Path)),
    request_body = QuotaInput,
    responses((status = 200, body = Quota), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_quota(
    ctx: ApiCtx,
    IdPath(id): IdPath<InstitutionId>,
    ApiJson(input): ApiJson<QuotaInput>,
) -> ApiResult<Json<Quota>> {
    ctx.run(ctx.app.set_quota(&ctx.op, id, &input))
        .await
        .map(Json)
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "account",
    responses((status = 200, body = Vec<Notification>), (status = 401, body = ErrorBody)))]
pub async fn notifications(ctx: ApiCtx) -> ApiResult<Json<Vec<Notification>>> {
    ctx.run(ctx.app.notifications(&ctx.op, false))
        .await
        .map(Json)
}

/// Marks every notification read.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "account",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn read_notifications(ctx: ApiCtx) -> ApiResult<StatusCode> {
    ctx.run(ctx.app.mark_notifications_read(&ctx.op))
        .await
        .map(|_| StatusCode::NO_CONTENT)
}

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
    request_body = makonis_app::resize::ModifyOrderInput,
    responses((status = 202, body = SagaStarted), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn modify(
    ctx: ApiCtx,
    IdPath(id): IdPath<OrderId>,
    ApiJson(input): ApiJson<makonis_app::resize::ModifyOrderInput>,
) -> ApiResult<(StatusCode, Json<SagaStarted>)> {
    let saga_id = ctx.run(ctx.app.modify_order(&ctx.op, id, &input)).await?;
    Ok((StatusCode::ACCEPTED, Json(SagaStarted { saga_id })))
}

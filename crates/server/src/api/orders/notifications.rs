//! The caller's notifications.

use axum::Json;
use axum::http::StatusCode;
use makonis_app::Notification;

use crate::api::ApiResult;
use crate::error::ErrorBody;
use crate::extract::ApiCtx;

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

//! The caller's API tokens. New tokens are made in the portal (a token
//! cannot mint tokens); listing and revoking work with a token too.

use axum::Json;
use axum::http::StatusCode;
use makonis_types::ApiTokenId;
use makonis_types::token::ApiToken;

use crate::api::ApiResult;
use crate::error::ErrorBody;
use crate::extract::{ApiCtx, IdPath};

#[utoipa::path(get, path = "/api/v1/tokens", tag = "account",
    responses((status = 200, body = Vec<ApiToken>), (status = 401, body = ErrorBody)))]
pub async fn list(ctx: ApiCtx) -> ApiResult<Json<Vec<ApiToken>>> {
    ctx.run(ctx.app.list_api_tokens(&ctx.op)).await.map(Json)
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "account", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke(ctx: ApiCtx, IdPath(id): IdPath<ApiTokenId>) -> ApiResult<StatusCode> {
    ctx.run(ctx.app.revoke_api_token(&ctx.op, id))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

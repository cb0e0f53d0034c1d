//! The caller's own account.

use axum::Json;
use makonis_types::user::UserWithRoles;

use crate::api::ApiResult;
use crate::error::ErrorBody;
use crate::extract::ApiCtx;

/// The authenticated user and their roles.
#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses((status = 200, body = UserWithRoles), (status = 401, body = ErrorBody)))]
pub async fn me(ctx: ApiCtx) -> ApiResult<Json<UserWithRoles>> {
    let Some(user) = ctx.op.user() else {
        return Err(ctx.error(makonis_app::Error::Unauthenticated));
    };
    ctx.run(ctx.app.get_user(&ctx.op, user.id)).await.map(Json)
}

//! Users and their roles.

use axum::Json;
use axum::http::StatusCode;
use makonis_types::paging::{Page, PageRequest};
use makonis_types::roles::{NewRoleAssignment, RoleAssignment};
use makonis_types::user::{NewUserInput, User, UserUpdateInput, UserWithRoles};
use makonis_types::{RoleAssignmentId, UserId};

use crate::api::identity::institutions::InstitutionQuery;
use crate::api::{ApiResult, Created, created};
use crate::error::ErrorBody;
use crate::extract::{ApiCtx, ApiJson, ApiQuery, IdPath, IdPath2};

/// Users the caller may see.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(InstitutionQuery),
    responses((status = 200, body = Page<User>), (status = 401, body = ErrorBody)))]
pub async fn list(
    ctx: ApiCtx,
    ApiQuery(query): ApiQuery<InstitutionQuery>,
) -> ApiResult<Json<Page<User>>> {
    let page = PageRequest {
        limit: query.limit,
        offset: query.offset,
    };
    ctx.run(ctx.app.list_users(&ctx.op, query.q.as_deref(), page))
        .await
        .map(Json)
}

/// Creates a user with a password and roles.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserInput,
    responses((status = 201, body = UserWithRoles), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    ctx: ApiCtx,
    ApiJson(input): ApiJson<NewUserInput>,
) -> ApiResult<Created<UserWithRoles>> {
    ctx.run(ctx.app.create_user(&ctx.op, &input))
        .await
        .map(created)
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = UserWithRoles), (status = 404, body = ErrorBody)))]
pub async fn get(ctx: ApiCtx, IdPath(id): IdPath<UserId>) -> ApiResult<Json<UserWithRoles>> {
    ctx.run(ctx.app.get_user(&ctx.op, id)).await.map(Json)
}

/// Changes a user's display name or active flag.
#[utoipa::path(put, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    request_body = UserUpdateInput,
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update(
    ctx: ApiCtx,
    IdPath(id): IdPath<UserId>,
    ApiJson(input): ApiJson<UserUpdateInput>,
) -> ApiResult<Json<User>> {
    ctx.run(ctx.app.update_user(&ctx.op, id, &input))
        .await
        .map(Json)
}

/// Grants a role.
#[utoipa::path(post, path = "/api/v1/users/{id}/roles", tag = "users", params(("id" = String, Path)),
    request_body = NewRoleAssignment,
    responses((status = 201, body = RoleAssignment), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn grant_role(
    ctx: ApiCtx,
    IdPath(id): IdPath<UserId>,
    ApiJson(input): ApiJson<NewRoleAssignment>,
) -> ApiResult<Created<RoleAssignment>> {
    ctx.run(ctx.app.assign_role(&ctx.op, id, &input))
        .await
        .map(created)
}

/// Revokes a role.
#[utoipa::path(delete, path = "/api/v1/users/{id}/roles/{role_id}", tag = "users",
    params(("id" = String, Path), ("role_id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_role(
    ctx: ApiCtx,
    IdPath2(id, role_id): IdPath2<UserId, RoleAssignmentId>,
) -> ApiResult<StatusCode> {
    ctx.run(ctx.app.revoke_role(&ctx.op, id, role_id))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

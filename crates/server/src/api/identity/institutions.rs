//! Institutions (tenants).

use axum::Json;
use makonis_types::InstitutionId;
use makonis_types::institution::{Institution, InstitutionInput};
use makonis_types::paging::{Page, PageRequest};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::{ApiResult, Created, created};
use crate::error::ErrorBody;
use crate::extract::{ApiCtx, ApiJson, ApiQuery, IdPath};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstitutionQuery {
    /// Case-insensitive part of the name or short name.
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// Institutions the caller may see.
#[utoipa::path(get, path = "/api/v1/institutions", tag = "institutions", params(InstitutionQuery),
    responses((status = 200, body = Page<Institution>), (status = 401, body = ErrorBody)))]
pub async fn list(
    ctx: ApiCtx,
    ApiQuery(query): ApiQuery<InstitutionQuery>,
) -> ApiResult<Json<Page<Institution>>> {
    let page = PageRequest {
        limit: query.limit,
        offset: query.offset,
    };
    ctx.run(ctx.app.list_institutions(&ctx.op, query.q.as_deref(), page))
        .await
        .map(Json)
}

/// Registers an institution (platform administrators).
#[utoipa::path(post, path = "/api/v1/institutions", tag = "institutions", request_body = InstitutionInput,
    responses((status = 201, body = Institution), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    ctx: ApiCtx,
    ApiJson(input): ApiJson<InstitutionInput>,
) -> ApiResult<Created<Institution>> {
    ctx.run(ctx.app.create_institution(&ctx.op, &input))
        .await
        .map(created)
}

#[utoipa::path(get, path = "/api/v1/institutions/{id}", tag = "institutions", params(("id" = String, Path)),
    responses((status = 200, body = Institution), (status = 404, body = ErrorBody)))]
pub async fn get(ctx: ApiCtx, IdPath(id): IdPath<InstitutionId>) -> ApiResult<Json<Institution>> {
    ctx.run(ctx.app.get_institution(&ctx.op, id))
        .await
        .map(Json)
}

/// Replaces an institution's details.
#[utoipa::path(put, path = "/api/v1/institutions/{id}", tag = "institutions", params(("id" = String, Path)),
    request_body = InstitutionInput,
    responses((status = 200, body = Institution), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update(
    ctx: ApiCtx,
    IdPath(id): IdPath<InstitutionId>,
    ApiJson(input): ApiJson<InstitutionInput>,
) -> ApiResult<Json<Institution>> {
    ctx.run(ctx.app.update_institution(&ctx.op, id, &input))
        .await
        .map(Json)
}

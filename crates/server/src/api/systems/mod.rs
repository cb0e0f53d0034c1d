//! Information systems.
//!
//! Area `systems` (the register of information systems), REST API
//! (`/api/v1`) layer: the use cases are in `makonis_app::systems`; the same
//! area folder exists in `db/src/datastore`, `server/src/api` and
//! `server/src/portal`. Requirements: REG-1, SEC-7, SEC-8.

use axum::Json;
use makonis_types::information_system::{
    InformationSystem, InformationSystemFilter, InformationSystemInput,
};
use makonis_types::paging::{Page, PageRequest};
use makonis_types::{InformationSystemId, InstitutionId};

use crate::api::{ApiResult, Created, created};
use crate::error::ErrorBody;
use crate::extract::{ApiCtx, ApiJson, ApiQuery, IdPath};

/// Information systems the caller may see, filtered.
#[utoipa::path(get, path = "/api/v1/information-systems", tag = "information systems",
    params(InformationSystemFilter, PageRequest),
    responses((status = 200, body = Page<InformationSystem>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    ctx: ApiCtx,
    ApiQuery(filter): ApiQuery<InformationSystemFilter>,
    ApiQuery(page): ApiQuery<PageRequest>,
) -> ApiResult<Json<Page<InformationSystem>>> {
    ctx.run(ctx.app.list_information_systems(&ctx.op, &filter, page))
        .await
        .map(Json)
}

/// Information systems of one institution.
#[utoipa::path(get, path = "/api/v1/institutions/{id}/information-systems", tag = "information systems",
    params(("id" = String, Path), PageRequest),
    responses((status = 200, body = Page<InformationSystem>), (status = 404, body = ErrorBody)))]
pub async fn list_for_institution(
    ctx: ApiCtx,
    IdPath(id): IdPath<InstitutionId>,
    ApiQuery(page): ApiQuery<PageRequest>,
) -> ApiResult<Json<Page<InformationSystem>>> {
    ctx.run(ctx.app.get_institution(&ctx.op, id)).await?;
    let filter = InformationSystemFilter {
        institution_id: Some(id),
        ..Default::default()
    };
    ctx.run(ctx.app.list_information_systems(&ctx.op, &filter, page))
        .await
        .map(Json)
}

/// Registers an information system of an institution.
#[utoipa::path(post, path = "/api/v1/institutions/{id}/information-systems", tag = "information systems",
    params(("id" = String, Path)), request_body = InformationSystemInput,
    responses((status = 201, body = InformationSystem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    ctx: ApiCtx,
    IdPath(id): IdPath<InstitutionId>,
    ApiJson(input): ApiJson<InformationSystemInput>,
) -> ApiResult<Created<InformationSystem>> {
    ctx.run(ctx.app.create_information_system(&ctx.op, id, &input))
        .await
        .map(created)
}

#[utoipa::path(get, path = "/api/v1/information-systems/{id}", tag = "information systems",
    params(("id" = String, Path)),
    responses((status = 200, body = InformationSystem), (status = 404, body = ErrorBody)))]
pub async fn get(
    ctx: ApiCtx,
    IdPath(id): IdPath<InformationSystemId>,
) -> ApiResult<Json<InformationSystem>> {
    ctx.run(ctx.app.get_information_system(&ctx.op, id))
        .await
        .map(Json)
}

/// Replaces an information system's details (its institution stays).
#[utoipa::path(put, path = "/api/v1/information-systems/{id}", tag = "information systems",
    params(("id" = String, Path)), request_body = InformationSystemInput,
    responses((status = 200, body = InformationSystem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update(
    ctx: ApiCtx,
    IdPath(id): IdPath<InformationSystemId>,
    ApiJson(input): ApiJson<InformationSystemInput>,
) -> ApiResult<Json<InformationSystem>> {
    ctx.run(ctx.app.update_information_system(&ctx.op, id, &input))
        .await
        .map(Json)
}

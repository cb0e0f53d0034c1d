//! The provider registry over HTTP: providers, their sites and certifications.
//!
//! Area `federation` (providers, their sites and certifications), REST API
//! (`/api/v1`) layer: the use cases are in `makonis_app::federation`; the
//! same area folder exists in `db/src/datastore`, `server/src/api` and
//! `server/src/portal`. Requirements: FED-1, FED-11, FED-13.

use axum::Json;
use makonis_app::federation::ProviderDetail;
use makonis_types::federation::*;

use crate::api::{ApiResult, Created, created};
use crate::error::ErrorBody;
use crate::extract::{ApiCtx, ApiJson, IdPath};
use crate::today;

/// Every provider of the federation.
#[utoipa::path(get, path = "/api/v1/providers", tag = "providers",
    responses((status = 200, body = Vec<Provider>), (status = 401, body = ErrorBody)))]
pub async fn list_providers(ctx: ApiCtx) -> ApiResult<Json<Vec<Provider>>> {
    ctx.run(ctx.app.list_providers(&ctx.op)).await.map(Json)
}

/// Registers a provider (Broker). Credentials are sealed and never returned.
#[utoipa::path(post, path = "/api/v1/providers", tag = "providers", request_body = ProviderInput,
    responses((status = 201, body = Provider), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_provider(
    ctx: ApiCtx,
    ApiJson(input): ApiJson<ProviderInput>,
) -> ApiResult<Created<Provider>> {
    ctx.run(ctx.app.create_provider(&ctx.op, &input))
        .await
        .map(created)
}

/// A provider with its sites and certifications (with their standing today).
#[utoipa::path(get, path = "/api/v1/providers/{id}", tag = "providers", params(("id" = String, Path)),
    responses((status = 200, body = ProviderDetail), (status = 404, body = ErrorBody)))]
pub async fn get_provider(
    ctx: ApiCtx,
    IdPath(id): IdPath<ProviderId>,
) -> ApiResult<Json<ProviderDetail>> {
    ctx.run(ctx.app.get_provider(&ctx.op, id, today()))
        .await
        .map(Json)
}

/// Replaces a provider's details; credentials change only when given.
#[utoipa::path(put, path = "/api/v1/providers/{id}", tag = "providers", params(("id" = String, Path)),
    request_body = ProviderInput,
    responses((status = 200, body = Provider), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_provider(
    ctx: ApiCtx,
    IdPath(id): IdPath<ProviderId>,
    ApiJson(input): ApiJson<ProviderInput>,
) -> ApiResult<Json<Provider>> {
    ctx.run(ctx.app.update_provider(&ctx.op, id, &input))
        .await
        .map(Json)
}

#[utoipa::path(post, path = "/api/v1/providers/{id}/sites", tag = "providers", params(("id" = String, Path)),
    request_body = SiteInput,
    responses((status = 201, body = Site), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_site(
    ctx: ApiCtx,
    IdPath(id): IdPath<ProviderId>,
    ApiJson(input): ApiJson<SiteInput>,
) -> ApiResult<Created<Site>> {
    ctx.run(ctx.app.add_site(&ctx.op, id, &input))
        .await
        .map(created)
}

#[utoipa::path(post, path = "/api/v1/providers/{id}/certifications", tag = "providers", params(("id" = String, Path)),
    request_body = CertificationInput,
    responses((status = 201, body = Certification), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_certification(
    ctx: ApiCtx,
    IdPath(id): IdPath<ProviderId>,
    ApiJson(input): ApiJson<CertificationInput>,
) -> ApiResult<Created<Certification>> {
    ctx.run(ctx.app.add_certification(&ctx.op, id, &input))
        .await
        .map(created)
}

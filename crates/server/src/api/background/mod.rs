//! Operations over HTTP: drift at a provider and the reconcilers' last runs.
//!
//! Area `background` (reconciler runs and drift), REST API (`/api/v1`)
//! layer: the use cases are in `makonis_app::background`; the same area
//! folder exists in `db/src/datastore`, `server/src/api` and
//! `server/src/portal`. Requirements: FED-4, FED-7.

use axum::Json;
use makonis_types::federation::*;

use crate::api::ApiResult;
use crate::error::ErrorBody;
use crate::extract::{ApiCtx, IdPath};

/// Registry and provider inventory compared, both ways.
#[utoipa::path(get, path = "/api/v1/providers/{id}/drift", tag = "providers", params(("id" = String, Path)),
    responses((status = 200, body = makonis_app::background::drift::DriftReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn drift(
    ctx: ApiCtx,
    IdPath(id): IdPath<ProviderId>,
) -> ApiResult<Json<makonis_app::background::drift::DriftReport>> {
    ctx.run(ctx.app.drift(&ctx.op, id)).await.map(Json)
}

/// The latest run of each periodic reconciler (drift checks per provider).
#[utoipa::path(get, path = "/api/v1/reconcilers", tag = "providers",
    responses((status = 200, body = Vec<makonis_app::background::RunView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn reconcilers(ctx: ApiCtx) -> ApiResult<Json<Vec<makonis_app::background::RunView>>> {
    ctx.run(ctx.app.reconciler_status(&ctx.op)).await.map(Json)
}

//! Quotas of an institution and what is in use under them.

use axum::Json;
use makonis_types::InstitutionId;
use makonis_types::order::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::ApiResult;
use crate::error::ErrorBody;
use crate::extract::{ApiCtx, ApiJson, IdPath};

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

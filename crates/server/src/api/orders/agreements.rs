//! Agreements: list, read, reminders, sign.

use axum::Json;
use makonis_types::order::*;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::ApiResult;
use crate::error::ErrorBody;
use crate::extract::{ApiCtx, ApiJson, IdPath};
use crate::today;

#[utoipa::path(get, path = "/api/v1/agreements", tag = "agreements",
    responses((status = 200, body = Vec<Agreement>), (status = 401, body = ErrorBody)))]
pub async fn agreements(ctx: ApiCtx) -> ApiResult<Json<Vec<Agreement>>> {
    ctx.run(ctx.app.list_agreements(&ctx.op)).await.map(Json)
}

/// Active agreements whose renewal reminder date has come.
#[utoipa::path(get, path = "/api/v1/agreements/reminders", tag = "agreements",
    responses((status = 200, body = Vec<Agreement>), (status = 401, body = ErrorBody)))]
pub async fn reminders(ctx: ApiCtx) -> ApiResult<Json<Vec<Agreement>>> {
    ctx.run(ctx.app.agreement_reminders(&ctx.op, today()))
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

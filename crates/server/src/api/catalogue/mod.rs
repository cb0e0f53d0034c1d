//! The provider registry, the catalogue and placement.
//!
//! Area `catalogue` (offerings, price lists, search, comparison and
//! placement), REST API (`/api/v1`) layer: the use cases are in
//! `makonis_app::catalogue`; the same area folder exists in
//! `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: FED-3, FED-4, FED-9.

use axum::Json;
use makonis_app::catalogue::ProfileOverrides;
use makonis_app::catalogue::placement::{Decision, PlacementRequest, SystemProfile};
use makonis_types::InformationSystemId;
use makonis_types::catalogue::*;
use makonis_types::federation::*;
use makonis_types::paging::{Page, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiResult, Created, created};
use crate::error::ErrorBody;
use crate::extract::{ApiCtx, ApiJson, ApiQuery, IdPath};
use crate::today;

/// Publishes an offering at one of the provider's sites.
#[utoipa::path(post, path = "/api/v1/providers/{id}/offerings", tag = "catalogue", params(("id" = String, Path)),
    request_body = OfferingInput,
    responses((status = 201, body = Offering), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_offering(
    ctx: ApiCtx,
    IdPath(id): IdPath<ProviderId>,
    ApiJson(input): ApiJson<OfferingInput>,
) -> ApiResult<Created<Offering>> {
    ctx.run(ctx.app.create_offering(&ctx.op, id, &input))
        .await
        .map(created)
}

/// Brings the provider's offerings at a site in line with its platform's
/// own catalogue (Nova flavours, EC2 instance types).
#[utoipa::path(post, path = "/api/v1/providers/{id}/catalogue-sync", tag = "catalogue", params(("id" = String, Path)),
    request_body = CatalogueSyncInput,
    responses((status = 200, body = CatalogueSyncReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn sync_catalogue(
    ctx: ApiCtx,
    IdPath(id): IdPath<ProviderId>,
    ApiJson(input): ApiJson<CatalogueSyncInput>,
) -> ApiResult<Json<CatalogueSyncReport>> {
    ctx.run(ctx.app.sync_catalogue(&ctx.op, id, &input))
        .await
        .map(Json)
}

#[utoipa::path(get, path = "/api/v1/providers/{id}/price-lists", tag = "catalogue", params(("id" = String, Path)),
    responses((status = 200, body = Vec<PriceList>), (status = 404, body = ErrorBody)))]
pub async fn list_price_lists(
    ctx: ApiCtx,
    IdPath(id): IdPath<ProviderId>,
) -> ApiResult<Json<Vec<PriceList>>> {
    ctx.run(ctx.app.list_price_lists(&ctx.op, id))
        .await
        .map(Json)
}

/// Publishes a price list version; versions must not overlap in time.
#[utoipa::path(post, path = "/api/v1/providers/{id}/price-lists", tag = "catalogue", params(("id" = String, Path)),
    request_body = PriceListInput,
    responses((status = 201, body = PriceList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_price_list(
    ctx: ApiCtx,
    IdPath(id): IdPath<ProviderId>,
    ApiJson(input): ApiJson<PriceListInput>,
) -> ApiResult<Created<PriceList>> {
    ctx.run(ctx.app.create_price_list(&ctx.op, id, &input))
        .await
        .map(created)
}

/// Searches every provider's offerings, with today's prices.
#[utoipa::path(get, path = "/api/v1/catalogue", tag = "catalogue", params(CatalogueFilter, PageRequest),
    responses((status = 200, body = Page<CatalogueEntry>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn search(
    ctx: ApiCtx,
    ApiQuery(filter): ApiQuery<CatalogueFilter>,
    ApiQuery(page): ApiQuery<PageRequest>,
) -> ApiResult<Json<Page<CatalogueEntry>>> {
    ctx.run(ctx.app.search_catalogue(&ctx.op, &filter, today(), page))
        .await
        .map(Json)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompareQuery {
    /// Comma-separated offering ids (1–6).
    pub ids: String,
}

/// Offerings side by side.
#[utoipa::path(get, path = "/api/v1/catalogue/compare", tag = "catalogue", params(CompareQuery),
    responses((status = 200, body = Vec<CatalogueEntry>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn compare(
    ctx: ApiCtx,
    ApiQuery(query): ApiQuery<CompareQuery>,
) -> ApiResult<Json<Vec<CatalogueEntry>>> {
    let ids: Result<Vec<OfferingId>, _> = query
        .ids
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse())
        .collect();
    let Ok(ids) = ids else {
        return Err(ctx.error(makonis_app::Error::invalid(
            makonis_types::FieldError::new(
                "ids",
                "invalid_format",
                "ids must be comma-separated offering ids",
            )
            .with_param("expected", "uuid,uuid"),
        )));
    };
    ctx.run(ctx.app.compare_offerings(&ctx.op, &ids, today()))
        .await
        .map(Json)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlacementBody {
    pub kind: OfferingKind,
    /// Units of the offering's billing unit (instances, GB, hours…).
    pub quantity: i64,
    /// Largest acceptable monthly cost, EUR.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub max_monthly_eur: Option<rust_decimal::Decimal>,
    /// Smallest acceptable vCPUs per unit.
    #[serde(default)]
    pub min_vcpu: Option<i64>,
    /// Smallest acceptable RAM per unit, GB.
    #[serde(default)]
    pub min_ram_gb: Option<i64>,
    /// Stricter residency than the system's default (never looser).
    #[serde(default)]
    pub residency: Option<makonis_app::catalogue::placement::Residency>,
    /// Higher availability target than the category's default.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub availability_target: Option<rust_decimal::Decimal>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlacementAnswer {
    pub profile: SystemProfile,
    pub decision: Decision,
}

/// Which offerings the system may use for the request, ranked, and why the
/// others are excluded. Computes; changes nothing.
#[utoipa::path(post, path = "/api/v1/information-systems/{id}/placement", tag = "catalogue", params(("id" = String, Path)),
    request_body = PlacementBody,
    responses((status = 200, body = PlacementAnswer), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn place(
    ctx: ApiCtx,
    IdPath(id): IdPath<InformationSystemId>,
    ApiJson(body): ApiJson<PlacementBody>,
) -> ApiResult<Json<PlacementAnswer>> {
    let request = PlacementRequest {
        kind: body.kind,
        quantity: body.quantity,
        max_monthly_eur: body.max_monthly_eur,
        min_vcpu: body.min_vcpu,
        min_ram_gb: body.min_ram_gb,
    };
    let overrides = ProfileOverrides {
        residency: body.residency,
        availability_target: body.availability_target,
    };
    let (profile, decision) = ctx
        .run(ctx.app.place(&ctx.op, id, &request, &overrides, today()))
        .await?;
    Ok(Json(PlacementAnswer { profile, decision }))
}

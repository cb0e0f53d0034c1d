//! The data embassy: registry and reports, protection, replication and
//! drills on demand, four-eyes grants and key release, site eligibility.
//!
//! Area `embassy` (protections, runs, grants, DR plans and restores of the
//! data embassy), REST API (`/api/v1`) layer: the use cases are in
//! `makonis_app::embassy`; the same area folder exists in
//! `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: EMB-1 to EMB-10.

use axum::Json;
use makonis_app::embassy::{
    DrPlan, DrPlanInput, DrPlanRead, DrPlanVersion, ReleasedKey, RestoreInput, RestoreReport,
    SiteEligibility, SystemReport, SystemStatus,
};
use makonis_types::InformationSystemId;
use makonis_types::embassy::*;
use makonis_types::federation::SiteId;

use crate::api::{ApiResult, Created, created};
use crate::error::ErrorBody;
use crate::extract::{ApiCtx, ApiJson, IdPath};

/// Protected systems the caller is cleared to see, with replication
/// health, achieved RPO, the last drill and alerts.
#[utoipa::path(get, path = "/api/v1/embassy/systems", tag = "embassy",
    responses((status = 200, body = Vec<SystemStatus>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn status(ctx: ApiCtx) -> ApiResult<Json<Vec<SystemStatus>>> {
    ctx.run(ctx.app.embassy_status(&ctx.op)).await.map(Json)
}

/// One system's embassy report: status, recent replications and drills, grants.
#[utoipa::path(get, path = "/api/v1/embassy/systems/{id}", tag = "embassy", params(("id" = String, Path)),
    responses((status = 200, body = SystemReport), (status = 404, body = ErrorBody)))]
pub async fn report(
    ctx: ApiCtx,
    IdPath(id): IdPath<InformationSystemId>,
) -> ApiResult<Json<SystemReport>> {
    ctx.run(ctx.app.embassy_report(&ctx.op, id)).await.map(Json)
}

/// Turns embassy protection on (or changes it). The site must be eligible
/// (EMB-1); the passwords are sealed and never shown again.
#[utoipa::path(put, path = "/api/v1/embassy/systems/{id}/protection", tag = "embassy", params(("id" = String, Path)),
    request_body = ProtectionInput,
    responses((status = 200, body = Protection), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn protect(
    ctx: ApiCtx,
    IdPath(id): IdPath<InformationSystemId>,
    ApiJson(input): ApiJson<ProtectionInput>,
) -> ApiResult<Json<Protection>> {
    ctx.run(ctx.app.protect_system(&ctx.op, id, &input))
        .await
        .map(Json)
}

/// Replicates the system to its embassy replica now; the run, with its
/// achieved RPO, is the answer (a failed run is a 200 with `outcome: failed`).
#[utoipa::path(post, path = "/api/v1/embassy/systems/{id}/replicate", tag = "embassy", params(("id" = String, Path)),
    responses((status = 200, body = EmbassyRun), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn replicate(
    ctx: ApiCtx,
    IdPath(id): IdPath<InformationSystemId>,
) -> ApiResult<Json<EmbassyRun>> {
    ctx.run(ctx.app.replicate_system(&ctx.op, id))
        .await
        .map(Json)
}

/// Runs a recovery drill now: check every byte of the replica, restore its
/// latest snapshot to scratch space, measure the RTO.
#[utoipa::path(post, path = "/api/v1/embassy/systems/{id}/drills", tag = "embassy", params(("id" = String, Path)),
    responses((status = 200, body = EmbassyRun), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn drill(
    ctx: ApiCtx,
    IdPath(id): IdPath<InformationSystemId>,
) -> ApiResult<Json<EmbassyRun>> {
    ctx.run(ctx.app.run_drill(&ctx.op, id)).await.map(Json)
}

/// Grants the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/embassy/grants", tag = "embassy",
    responses((status = 200, body = Vec<Grant>), (status = 401, body = ErrorBody)))]
pub async fn grants(ctx: ApiCtx) -> ApiResult<Json<Vec<Grant>>> {
    ctx.run(ctx.app.list_grants(&ctx.op)).await.map(Json)
}

/// Asks for a four-eyes grant (key release, restore into production, access).
#[utoipa::path(post, path = "/api/v1/embassy/grants", tag = "embassy", request_body = GrantInput,
    responses((status = 201, body = Grant), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn request_grant(
    ctx: ApiCtx,
    ApiJson(input): ApiJson<GrantInput>,
) -> ApiResult<Created<Grant>> {
    ctx.run(ctx.app.request_grant(&ctx.op, &input))
        .await
        .map(created)
}

/// One of the two approvals (a platform embassy custodian and a platform
/// security officer, neither the requester).
#[utoipa::path(post, path = "/api/v1/embassy/grants/{id}/approve", tag = "embassy", params(("id" = String, Path)),
    responses((status = 200, body = Grant), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve_grant(ctx: ApiCtx, IdPath(id): IdPath<GrantId>) -> ApiResult<Json<Grant>> {
    ctx.run(ctx.app.approve_grant(&ctx.op, id)).await.map(Json)
}

/// The replica's key, for the grantee of an active key-release grant. Every
/// attempt, released or refused, is in the audit chain.
#[utoipa::path(post, path = "/api/v1/embassy/grants/{id}/key", tag = "embassy", params(("id" = String, Path)),
    responses((status = 200, body = ReleasedKey), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn release_key(ctx: ApiCtx, IdPath(id): IdPath<GrantId>) -> ApiResult<Json<ReleasedKey>> {
    ctx.run(ctx.app.release_key(&ctx.op, id)).await.map(Json)
}

/// Whether a registered site may host a data embassy (EMB-1), with the
/// distance to Russia and Belarus and every failed criterion.
#[utoipa::path(get, path = "/api/v1/sites/{id}/embassy-eligibility", tag = "embassy", params(("id" = String, Path)),
    responses((status = 200, body = SiteEligibility), (status = 404, body = ErrorBody)))]
pub async fn site_eligibility(
    ctx: ApiCtx,
    IdPath(id): IdPath<SiteId>,
) -> ApiResult<Json<SiteEligibility>> {
    ctx.run(ctx.app.embassy_site_check(&ctx.op, id))
        .await
        .map(Json)
}

/// Stores a new version of the system's DR plan, encrypted, in its
/// embassy replica (EMB-8).
#[utoipa::path(put, path = "/api/v1/embassy/systems/{id}/dr-plan", tag = "embassy", params(("id" = String, Path)),
    request_body = DrPlanInput,
    responses((status = 200, body = DrPlanVersion), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_dr_plan(
    ctx: ApiCtx,
    IdPath(id): IdPath<InformationSystemId>,
    ApiJson(input): ApiJson<DrPlanInput>,
) -> ApiResult<Json<DrPlanVersion>> {
    ctx.run(ctx.app.put_dr_plan(&ctx.op, id, &input))
        .await
        .map(Json)
}

/// The stored versions of a system's DR plan (metadata, not content).
#[utoipa::path(get, path = "/api/v1/embassy/systems/{id}/dr-plan/versions", tag = "embassy", params(("id" = String, Path)),
    responses((status = 200, body = Vec<DrPlanVersion>), (status = 404, body = ErrorBody)))]
pub async fn dr_plan_versions(
    ctx: ApiCtx,
    IdPath(id): IdPath<InformationSystemId>,
) -> ApiResult<Json<Vec<DrPlanVersion>>> {
    ctx.run(ctx.app.dr_plan_versions(&ctx.op, id))
        .await
        .map(Json)
}

/// Reads a DR plan under the caller's active `access` grant; every attempt
/// is in the audit chain.
#[utoipa::path(post, path = "/api/v1/embassy/grants/{id}/dr-plan", tag = "embassy", params(("id" = String, Path)),
    request_body = DrPlanRead,
    responses((status = 200, body = DrPlan), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn read_dr_plan(
    ctx: ApiCtx,
    IdPath(id): IdPath<GrantId>,
    ApiJson(which): ApiJson<DrPlanRead>,
) -> ApiResult<Json<DrPlan>> {
    ctx.run(ctx.app.read_dr_plan(&ctx.op, id, &which))
        .await
        .map(Json)
}

/// Restores the replica's newest data snapshot (or the one named) into an
/// empty directory on the control-plane host, under the caller's active
/// `restore_production` grant. Audited, refused attempts too.
#[utoipa::path(post, path = "/api/v1/embassy/grants/{id}/restore", tag = "embassy", params(("id" = String, Path)),
    request_body = RestoreInput,
    responses((status = 200, body = RestoreReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn restore(
    ctx: ApiCtx,
    IdPath(id): IdPath<GrantId>,
    ApiJson(input): ApiJson<RestoreInput>,
) -> ApiResult<Json<RestoreReport>> {
    ctx.run(ctx.app.restore_to_production(&ctx.op, id, &input))
        .await
        .map(Json)
}

/// Takes a cold copy now into the system's Object Lock bucket (409 when it
/// has no cold-copy location).
#[utoipa::path(post, path = "/api/v1/embassy/systems/{id}/cold-copy", tag = "embassy", params(("id" = String, Path)),
    responses((status = 200, body = EmbassyRun), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cold_copy(
    ctx: ApiCtx,
    IdPath(id): IdPath<InformationSystemId>,
) -> ApiResult<Json<EmbassyRun>> {
    ctx.run(ctx.app.cold_copy_system(&ctx.op, id))
        .await
        .map(Json)
}

//! The audit log (auditors and security officers).
//!
//! Area `audit` (the audit chain), REST API (`/api/v1`) layer: the use cases
//! are in `makonis_app::audit`; the same area folder exists in
//! `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: MON-3, SEC-7.

use axum::Json;
use makonis_types::audit::{AuditFilter, AuditRecord};
use makonis_types::paging::{Page, PageRequest};

use crate::api::ApiResult;
use crate::error::ErrorBody;
use crate::extract::{ApiCtx, ApiQuery};

/// Audit records the caller may read, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditFilter, PageRequest),
    responses((status = 200, body = Page<AuditRecord>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    ctx: ApiCtx,
    ApiQuery(filter): ApiQuery<AuditFilter>,
    ApiQuery(page): ApiQuery<PageRequest>,
) -> ApiResult<Json<Page<AuditRecord>>> {
    ctx.run(ctx.app.list_audit(&ctx.op, &filter, page))
        .await
        .map(Json)
}

//! The audit log (auditors and security officers).

use axum::Json;
use makonis_types::audit::{AuditFilter, AuditRecord};
use makonis_types::paging::{Page, PageRequest};
use serde::Deserialize;

use super::ApiResult;
use crate::error::ErrorBody;
use crate::extract::{ApiCtx, ApiQuery};

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    #[serde(flatten)]
    pub filter: AuditFilter,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// Audit records the caller may read, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditFilter, PageRequest),
    responses((status = 200, body = Page<AuditRecord>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    ctx: ApiCtx,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<AuditRecord>>> {
    let page = PageRequest {
        limit: query.limit,
        offset: query.offset,
    };
    ctx.run(ctx.app.list_audit(&ctx.op, &query.filter, page))
        .await
        .map(Json)
}

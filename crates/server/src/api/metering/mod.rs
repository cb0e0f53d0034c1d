//! Metering and chargeback: charges, statements and their exports, FOCUS
//! bill imports, lines waiting for the Broker, commercial reference prices,
//! shared costs and budgets.
//!
//! Area `metering` (usage, charges, FOCUS imports and exports, statements,
//! budgets and reports), REST API (`/api/v1`) layer: the use cases are in
//! `makonis_app::metering`; the same area folder exists in
//! `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: FED-5, FED-6.

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use makonis_types::InstitutionId;
use makonis_types::federation::ProviderId;
use makonis_types::metering::*;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use utoipa::IntoParams;

use crate::api::{ApiResult, Created, created};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiCtx, ApiJson, ApiQuery, IdPath};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MonthQuery {
    /// `YYYY-MM`; this month when absent.
    #[param(value_type = Option<String>)]
    pub month: Option<Month>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    /// First month, `YYYY-MM` (default: this month).
    #[param(value_type = Option<String>)]
    pub from: Option<Month>,
    /// Last month, `YYYY-MM` (default: `from`).
    #[param(value_type = Option<String>)]
    pub to: Option<Month>,
}

/// How a series is split.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeriesGrouping {
    /// By information system (institution-wide lines as `—`).
    #[default]
    System,
    Provider,
    /// By FOCUS ServiceCategory.
    Category,
}

impl From<SeriesGrouping> for makonis_app::metering::CostGrouping {
    fn from(g: SeriesGrouping) -> Self {
        match g {
            SeriesGrouping::System => Self::System,
            SeriesGrouping::Provider => Self::Provider,
            SeriesGrouping::Category => Self::ServiceCategory,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UsageSeriesQuery {
    /// The institution; absent, the whole federation (the platform's
    /// Broker, auditors and security officers).
    #[param(value_type = Option<String>)]
    pub institution_id: Option<InstitutionId>,
    /// First month, `YYYY-MM` (default: five months before `to`).
    #[param(value_type = Option<String>)]
    pub from: Option<Month>,
    /// Last month, `YYYY-MM` (default: this month).
    #[param(value_type = Option<String>)]
    pub to: Option<Month>,
    /// `system` (default), `provider` or `category`; across institutions
    /// a system is `INSTITUTION/CODE`.
    #[param(value_type = Option<String>)]
    pub by: Option<SeriesGrouping>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `focus` (FOCUS 1.2 CSV), `csv` (plain) or `html` (printable).
    pub format: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// The provider whose bill this is.
    #[param(value_type = String)]
    pub provider_id: ProviderId,
    /// The file's name, for messages and the import record.
    pub file_name: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UnmappedQuery {
    /// Also list lines already resolved.
    #[serde(default)]
    pub all: bool,
}

fn this_month() -> Month {
    Month::of(chrono::Utc::now())
}

fn download(content_type: &'static str, file_name: &str, body: Vec<u8>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    (StatusCode::OK, headers, body).into_response()
}

/// An institution's charges in a month, at full precision.
#[utoipa::path(get, path = "/api/v1/institutions/{id}/charges", tag = "costs", params(("id" = String, Path), MonthQuery),
    responses((status = 200, body = Vec<Charge>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn charges(
    ctx: ApiCtx,
    IdPath(id): IdPath<InstitutionId>,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> ApiResult<Json<Vec<Charge>>> {
    ctx.run(
        ctx.app
            .charges(&ctx.op, id, q.month.unwrap_or_else(this_month)),
    )
    .await
    .map(Json)
}

/// An institution's charges in months `from..=to` as FOCUS 1.2 CSV.
#[utoipa::path(get, path = "/api/v1/institutions/{id}/charges/focus", tag = "costs", params(("id" = String, Path), RangeQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = ErrorBody)))]
pub async fn charges_focus(
    ctx: ApiCtx,
    IdPath(id): IdPath<InstitutionId>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Response> {
    let from = q.from.unwrap_or_else(this_month);
    let to = q.to.unwrap_or(from);
    let body = ctx
        .run(ctx.app.export_focus(&ctx.op, Some(id), from, to))
        .await?;
    Ok(download(
        "text/csv; charset=utf-8",
        &format!("focus-{from}-{to}.csv"),
        body,
    ))
}

/// What the institution's statement for a month would say now (not issued).
#[utoipa::path(get, path = "/api/v1/institutions/{id}/statement-preview", tag = "costs", params(("id" = String, Path), MonthQuery),
    responses((status = 200, body = Statement), (status = 404, body = ErrorBody)))]
pub async fn preview(
    ctx: ApiCtx,
    IdPath(id): IdPath<InstitutionId>,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> ApiResult<Json<Statement>> {
    ctx.run(
        ctx.app
            .preview_statement(&ctx.op, id, q.month.unwrap_or_else(this_month)),
    )
    .await
    .map(Json)
}

/// Issued statements of an institution, newest first (every version).
#[utoipa::path(get, path = "/api/v1/institutions/{id}/statements", tag = "costs", params(("id" = String, Path)),
    responses((status = 200, body = Vec<StatementSummary>), (status = 404, body = ErrorBody)))]
pub async fn statements(
    ctx: ApiCtx,
    IdPath(id): IdPath<InstitutionId>,
) -> ApiResult<Json<Vec<StatementSummary>>> {
    ctx.run(ctx.app.statements(&ctx.op, Some(id)))
        .await
        .map(Json)
}

/// Issues an institution's statement for a finished month (the Broker).
/// Issuing again makes a new version and needs a `reason`.
#[utoipa::path(post, path = "/api/v1/statements", tag = "costs", request_body = IssueStatementInput,
    responses((status = 201, body = Statement), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn issue(
    ctx: ApiCtx,
    ApiJson(input): ApiJson<IssueStatementInput>,
) -> ApiResult<Created<Statement>> {
    ctx.run(ctx.app.issue_statement(&ctx.op, &input))
        .await
        .map(created)
}

/// One issued statement with its lines.
#[utoipa::path(get, path = "/api/v1/statements/{id}", tag = "costs", params(("id" = String, Path)),
    responses((status = 200, body = Statement), (status = 404, body = ErrorBody)))]
pub async fn statement(ctx: ApiCtx, IdPath(id): IdPath<StatementId>) -> ApiResult<Json<Statement>> {
    ctx.run(ctx.app.statement(&ctx.op, id)).await.map(Json)
}

/// A statement as FOCUS 1.2 CSV, plain CSV or a printable HTML page.
#[utoipa::path(get, path = "/api/v1/statements/{id}/export", tag = "costs", params(("id" = String, Path), ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export(
    ctx: ApiCtx,
    IdPath(id): IdPath<StatementId>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let format = q.format.as_deref().unwrap_or("focus");
    match format {
        "focus" => {
            let body = ctx.run(ctx.app.statement_focus(&ctx.op, id)).await?;
            Ok(download(
                "text/csv; charset=utf-8",
                &format!("statement-{id}-focus.csv"),
                body,
            ))
        }
        "csv" | "html" => {
            let s = ctx.run(ctx.app.statement(&ctx.op, id)).await?;
            if format == "csv" {
                let body = makonis_app::metering::statement_csv(&s).into_bytes();
                Ok(download(
                    "text/csv; charset=utf-8",
                    &format!("statement-{id}.csv"),
                    body,
                ))
            } else {
                let page =
                    crate::portal::metering::printable_statement(crate::i18n::Lang::default(), &s);
                Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
            }
        }
        other => Err(ctx.error(makonis_app::Error::invalid(
            makonis_types::FieldError::invalid_choice("format", other, &["focus", "csv", "html"]),
        ))),
    }
}

/// Imports a provider's FOCUS 1.2 CSV bill (the request body). Every line
/// is validated before anything is booked; the same file twice is refused.
#[utoipa::path(post, path = "/api/v1/usage/imports", tag = "costs", params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = FocusImport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import(
    ctx: ApiCtx,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Body,
) -> ApiResult<Created<FocusImport>> {
    // Refuse before reading a byte of a possibly large upload.
    ctx.run(ctx.app.authorize_import(&ctx.op, q.provider_id))
        .await?;
    let file_name = q.file_name.unwrap_or_else(|| "upload.csv".into());
    let spool =
        tempfile::NamedTempFile::new().map_err(|e| ctx.error(makonis_app::Error::internal(e)))?;
    let mut file = tokio::fs::File::create(spool.path())
        .await
        .map_err(|e| ctx.error(makonis_app::Error::internal(e)))?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| upload_error(&ctx, e))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| ctx.error(makonis_app::Error::internal(e)))?;
    }
    file.flush()
        .await
        .map_err(|e| ctx.error(makonis_app::Error::internal(e)))?;
    drop(file);
    ctx.run(
        ctx.app
            .import_focus(&ctx.op, q.provider_id, &file_name, spool.path(), None),
    )
    .await
    .map(created)
}

fn upload_error(ctx: &ApiCtx, e: axum::Error) -> ApiError {
    ctx.error(makonis_app::Error::invalid(makonis_types::FieldError::new(
        "file",
        "invalid",
        format!("the upload was cut off: {e}"),
    )))
}

/// Imported FOCUS files, newest first (the Broker).
#[utoipa::path(get, path = "/api/v1/usage/imports", tag = "costs",
    responses((status = 200, body = Vec<FocusImport>), (status = 403, body = ErrorBody)))]
pub async fn imports(ctx: ApiCtx) -> ApiResult<Json<Vec<FocusImport>>> {
    ctx.run(ctx.app.focus_imports(&ctx.op)).await.map(Json)
}

/// Collects usage from every provider's driver now (the Broker).
#[utoipa::path(post, path = "/api/v1/usage/collect", tag = "costs",
    responses((status = 200, body = CollectionReport), (status = 403, body = ErrorBody)))]
pub async fn collect(ctx: ApiCtx) -> ApiResult<Json<CollectionReport>> {
    ctx.run(ctx.app.collect_usage_now(&ctx.op)).await.map(Json)
}

/// Usage and bill lines nobody could be charged for (the Broker).
#[utoipa::path(get, path = "/api/v1/usage/unmapped", tag = "costs", params(UnmappedQuery),
    responses((status = 200, body = Vec<UnmappedCharge>), (status = 403, body = ErrorBody)))]
pub async fn unmapped(
    ctx: ApiCtx,
    ApiQuery(q): ApiQuery<UnmappedQuery>,
) -> ApiResult<Json<Vec<UnmappedCharge>>> {
    ctx.run(ctx.app.unmapped_charges(&ctx.op, !q.all))
        .await
        .map(Json)
}

/// Charges an unmapped bill line to an institution (and system).
#[utoipa::path(post, path = "/api/v1/usage/unmapped/{id}/resolve", tag = "costs", params(("id" = String, Path)),
    request_body = ResolveUnmappedInput,
    responses((status = 200, body = Charge), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resolve(
    ctx: ApiCtx,
    axum::extract::Path(id): axum::extract::Path<String>,
    ApiJson(input): ApiJson<ResolveUnmappedInput>,
) -> ApiResult<Json<Charge>> {
    ctx.run(ctx.app.resolve_unmapped(&ctx.op, &id, &input))
        .await
        .map(Json)
}

/// Commercial reference prices every statement line is compared with.
#[utoipa::path(get, path = "/api/v1/commercial-prices", tag = "costs",
    responses((status = 200, body = Vec<CommercialPrice>), (status = 401, body = ErrorBody)))]
pub async fn commercial_prices(ctx: ApiCtx) -> ApiResult<Json<Vec<CommercialPrice>>> {
    ctx.run(ctx.app.commercial_prices(&ctx.op)).await.map(Json)
}

/// Adds a commercial reference price (the Broker).
#[utoipa::path(post, path = "/api/v1/commercial-prices", tag = "costs", request_body = CommercialPriceInput,
    responses((status = 201, body = CommercialPrice), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_commercial_price(
    ctx: ApiCtx,
    ApiJson(input): ApiJson<CommercialPriceInput>,
) -> ApiResult<Created<CommercialPrice>> {
    ctx.run(ctx.app.add_commercial_price(&ctx.op, &input))
        .await
        .map(created)
}

/// Splits a provider's shared cost for a month across the institutions
/// charged there, in proportion to their charges (the Broker).
#[utoipa::path(post, path = "/api/v1/shared-costs", tag = "costs", request_body = SharedCostInput,
    responses((status = 201, body = Vec<Allocation>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn shared_cost(
    ctx: ApiCtx,
    ApiJson(input): ApiJson<SharedCostInput>,
) -> ApiResult<Created<Vec<Allocation>>> {
    ctx.run(ctx.app.allocate_shared_cost(&ctx.op, &input))
        .await
        .map(created)
}

/// An institution's budgets with this month's spending.
#[utoipa::path(get, path = "/api/v1/institutions/{id}/budgets", tag = "costs", params(("id" = String, Path)),
    responses((status = 200, body = Vec<BudgetStatus>), (status = 404, body = ErrorBody)))]
pub async fn budgets(
    ctx: ApiCtx,
    IdPath(id): IdPath<InstitutionId>,
) -> ApiResult<Json<Vec<BudgetStatus>>> {
    ctx.run(ctx.app.budgets(&ctx.op, id)).await.map(Json)
}

/// Sets the monthly budget of an institution or one of its systems.
#[utoipa::path(put, path = "/api/v1/budgets", tag = "costs", request_body = BudgetInput,
    responses((status = 200, body = Budget), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_budget(
    ctx: ApiCtx,
    ApiJson(input): ApiJson<BudgetInput>,
) -> ApiResult<Json<Budget>> {
    ctx.run(ctx.app.set_budget(&ctx.op, &input)).await.map(Json)
}

/// Usage quantity per month, billing unit and group (usage trends): net
/// quantities of usage charges, corrections included, exact.
#[utoipa::path(get, path = "/api/v1/costs/usage-series", tag = "costs", params(UsageSeriesQuery),
    responses((status = 200, body = Vec<UsagePoint>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn usage_series(
    ctx: ApiCtx,
    ApiQuery(q): ApiQuery<UsageSeriesQuery>,
) -> ApiResult<Json<Vec<UsagePoint>>> {
    let to = q.to.unwrap_or_else(this_month);
    let from = q
        .from
        .unwrap_or_else(|| (0..5).fold(to, |m, _| m.previous()));
    ctx.run(ctx.app.usage_series(
        &ctx.op,
        q.institution_id,
        from,
        to,
        q.by.unwrap_or_default().into(),
    ))
    .await
    .map(Json)
}

/// Every provider's charges in a month, split between its own institution's
/// use and other institutions' (the Broker, auditors).
#[utoipa::path(get, path = "/api/v1/costs/providers", tag = "costs", params(MonthQuery),
    responses((status = 200, body = Vec<ProviderSplit>), (status = 403, body = ErrorBody)))]
pub async fn provider_split(
    ctx: ApiCtx,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> ApiResult<Json<Vec<ProviderSplit>>> {
    ctx.run(
        ctx.app
            .provider_split(&ctx.op, q.month.unwrap_or_else(this_month)),
    )
    .await
    .map(Json)
}

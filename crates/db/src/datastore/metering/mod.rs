//! Metering storage: collection cursors, rated charges, FOCUS imports,
//! unmapped lines, commercial reference prices, shared costs, immutable
//! statements and budgets. Money is decimal text at full precision; sums
//! are taken in Rust with `rust_decimal`, never in SQL, so both engines give
//! the same cents.
//!
//! Area `metering` (usage, charges, FOCUS imports and exports, statements,
//! budgets and reports), storage (all SQL) layer: the use cases are in
//! `makonis_app::metering`; the same area folder exists in
//! `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: FED-5, FED-6.

use chrono::{DateTime, Utc};
use makonis_types::catalogue::OfferingId;
use makonis_types::federation::ProviderId;
use makonis_types::metering::*;
use makonis_types::order::{AgreementId, OrderId};
use makonis_types::{InformationSystemId, InstitutionId, UserId};
use rust_decimal::Decimal;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::datastore::Conn;
use crate::{
    Error, Result, parse_date, parse_decimal, parse_enum, parse_id, parse_opt_id, parse_opt_time,
    parse_time, time_text,
};

fn opt_decimal(text: Option<String>) -> Result<Option<Decimal>> {
    text.as_deref().map(parse_decimal).transpose()
}

fn month(text: &str) -> Result<Month> {
    text.parse().map_err(Error::Corrupt)
}

// ----- collection cursors -------------------------------------------------

pub async fn collected_until(
    conn: &mut Conn,
    provider: ProviderId,
) -> Result<Option<DateTime<Utc>>> {
    let row = sqlx::query("SELECT collected_until FROM usage_cursors WHERE provider_id = $1")
        .bind(provider.to_string())
        .fetch_optional(conn)
        .await?;
    row.map(|r| parse_time(&r.try_get::<String, _>("collected_until")?))
        .transpose()
}

pub async fn set_collected_until(
    conn: &mut Conn,
    provider: ProviderId,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO usage_cursors (provider_id, collected_until) VALUES ($1, $2)
         ON CONFLICT (provider_id) DO UPDATE SET collected_until = $2",
    )
    .bind(provider.to_string())
    .bind(time_text(at))
    .execute(conn)
    .await?;
    Ok(())
}

// ----- who a resource belongs to ------------------------------------------

/// The order, institution, system, agreement and offering behind a
/// resource at a provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceOwner {
    pub resource_id: String,
    pub external_id: String,
    pub idempotency_key: String,
    pub order_id: OrderId,
    pub institution_id: InstitutionId,
    pub information_system_id: InformationSystemId,
    pub agreement_id: Option<AgreementId>,
    pub offering_id: OfferingId,
}

/// Every resource a provider holds for Mākonis, with its owner, for the
/// caller to key by idempotency key or external id (one query per
/// collection run or import instead of one per record).
pub async fn resource_owners(conn: &mut Conn, provider: ProviderId) -> Result<Vec<ResourceOwner>> {
    let rows = sqlx::query(
        "SELECT r.id AS resource_id, r.external_id, r.idempotency_key, o.id AS order_id, o.institution_id, \
         o.information_system_id, o.agreement_id, o.offering_id \
         FROM resources r JOIN orders o ON o.id = r.order_id WHERE r.provider_id = $1 ORDER BY r.created_at",
    )
    .bind(provider.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ResourceOwner {
                resource_id: r.try_get("resource_id")?,
                external_id: r.try_get("external_id")?,
                idempotency_key: r.try_get("idempotency_key")?,
                order_id: parse_id(&r.try_get::<String, _>("order_id")?)?,
                institution_id: parse_id(&r.try_get::<String, _>("institution_id")?)?,
                information_system_id: parse_id(&r.try_get::<String, _>("information_system_id")?)?,
                agreement_id: parse_opt_id(r, "agreement_id")?,
                offering_id: parse_id(&r.try_get::<String, _>("offering_id")?)?,
            })
        })
        .collect()
}

// ----- charges ------------------------------------------------------------

const CHARGE_COLUMNS: &str = "id, source, source_key, month, institution_id, information_system_id, agreement_id, \
    provider_id, offering_id, resource_id, service_category, service_name, charge_category, charge_class, metric, \
    unit, quantity, unit_price, price_list_id, price_list_version, cost, currency, commercial_cost, commercial_ref, \
    period_start, period_end, description, import_id, created_at";

fn charge_from_row(r: &AnyRow) -> Result<Charge> {
    Ok(Charge {
        id: r.try_get("id")?,
        source: r.try_get("source")?,
        source_key: r.try_get("source_key")?,
        month: month(&r.try_get::<String, _>("month")?)?,
        institution_id: parse_id(&r.try_get::<String, _>("institution_id")?)?,
        information_system_id: parse_opt_id(r, "information_system_id")?,
        agreement_id: parse_opt_id(r, "agreement_id")?,
        provider_id: parse_id(&r.try_get::<String, _>("provider_id")?)?,
        offering_id: parse_opt_id(r, "offering_id")?,
        resource_id: r.try_get("resource_id")?,
        service_category: r.try_get("service_category")?,
        service_name: r.try_get("service_name")?,
        charge_category: r.try_get("charge_category")?,
        charge_class: r.try_get("charge_class")?,
        metric: r.try_get("metric")?,
        unit: r.try_get("unit")?,
        quantity: opt_decimal(r.try_get("quantity")?)?,
        unit_price: opt_decimal(r.try_get("unit_price")?)?,
        price_list_id: r.try_get("price_list_id")?,
        price_list_version: r.try_get("price_list_version")?,
        cost: parse_decimal(&r.try_get::<String, _>("cost")?)?,
        currency: r.try_get("currency")?,
        commercial_cost: opt_decimal(r.try_get("commercial_cost")?)?,
        commercial_ref: r.try_get("commercial_ref")?,
        period_start: parse_time(&r.try_get::<String, _>("period_start")?)?,
        period_end: parse_time(&r.try_get::<String, _>("period_end")?)?,
        description: r.try_get("description")?,
        import_id: parse_opt_id(r, "import_id")?,
        created_at: parse_time(&r.try_get::<String, _>("created_at")?)?,
    })
}

/// Books a charge once: returns false when its source key was booked before.
pub async fn insert_charge(conn: &mut Conn, c: &Charge) -> Result<bool> {
    let done = sqlx::query(&format!(
        "INSERT INTO charges ({CHARGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29) \
         ON CONFLICT (source, source_key) DO NOTHING"
    ))
    .bind(&c.id)
    .bind(&c.source)
    .bind(&c.source_key)
    .bind(c.month.to_string())
    .bind(c.institution_id.to_string())
    .bind(c.information_system_id.map(|i| i.to_string()))
    .bind(c.agreement_id.map(|i| i.to_string()))
    .bind(c.provider_id.to_string())
    .bind(c.offering_id.map(|i| i.to_string()))
    .bind(&c.resource_id)
    .bind(&c.service_category)
    .bind(&c.service_name)
    .bind(&c.charge_category)
    .bind(&c.charge_class)
    .bind(&c.metric)
    .bind(&c.unit)
    .bind(c.quantity.map(|q| q.to_string()))
    .bind(c.unit_price.map(|q| q.to_string()))
    .bind(&c.price_list_id)
    .bind(&c.price_list_version)
    .bind(c.cost.to_string())
    .bind(&c.currency)
    .bind(c.commercial_cost.map(|q| q.to_string()))
    .bind(&c.commercial_ref)
    .bind(time_text(c.period_start))
    .bind(time_text(c.period_end))
    .bind(&c.description)
    .bind(c.import_id.map(|i| i.to_string()))
    .bind(time_text(c.created_at))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Charges of one institution in one month, in booking order.
pub async fn charges_of(
    conn: &mut Conn,
    institution: InstitutionId,
    month: Month,
) -> Result<Vec<Charge>> {
    let rows = sqlx::query(&format!(
        "SELECT {CHARGE_COLUMNS} FROM charges WHERE institution_id = $1 AND month = $2 ORDER BY period_start, id"
    ))
    .bind(institution.to_string())
    .bind(month.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(charge_from_row).collect()
}

/// Charges at one provider in one month (the allocation key).
pub async fn charges_at(
    conn: &mut Conn,
    provider: ProviderId,
    month: Month,
) -> Result<Vec<Charge>> {
    let rows = sqlx::query(&format!(
        "SELECT {CHARGE_COLUMNS} FROM charges WHERE provider_id = $1 AND month = $2 ORDER BY id"
    ))
    .bind(provider.to_string())
    .bind(month.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(charge_from_row).collect()
}

/// The few columns cost charts need, for months `from..=to`, of one
/// institution or (None) all of them.
#[derive(Debug, Clone)]
pub struct CostRow {
    pub month: Month,
    pub institution_id: InstitutionId,
    pub information_system_id: Option<InformationSystemId>,
    pub provider_id: ProviderId,
    pub service_category: String,
    pub charge_category: String,
    pub cost: Decimal,
    pub commercial_cost: Option<Decimal>,
}

pub async fn cost_rows(
    conn: &mut Conn,
    institution: Option<InstitutionId>,
    from: Month,
    to: Month,
) -> Result<Vec<CostRow>> {
    let rows = charges_in_months(
        conn,
        "month, institution_id, information_system_id, provider_id, service_category, \
         charge_category, cost, commercial_cost",
        "",
        institution,
        from,
        to,
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CostRow {
                month: month(&r.try_get::<String, _>("month")?)?,
                institution_id: parse_id(&r.try_get::<String, _>("institution_id")?)?,
                information_system_id: parse_opt_id(r, "information_system_id")?,
                provider_id: parse_id(&r.try_get::<String, _>("provider_id")?)?,
                service_category: r.try_get("service_category")?,
                charge_category: r.try_get("charge_category")?,
                cost: parse_decimal(&r.try_get::<String, _>("cost")?)?,
                commercial_cost: opt_decimal(r.try_get("commercial_cost")?)?,
            })
        })
        .collect()
}

/// `columns` of the charges in months `from..=to` that meet `filter` (an
/// SQL fragment starting with AND, or empty), of one institution or (None)
/// all of them.
async fn charges_in_months(
    conn: &mut Conn,
    columns: &str,
    filter: &str,
    institution: Option<InstitutionId>,
    from: Month,
    to: Month,
) -> Result<Vec<AnyRow>> {
    let mut sql =
        format!("SELECT {columns} FROM charges WHERE month >= $1 AND month <= $2{filter}");
    if institution.is_some() {
        sql.push_str(" AND institution_id = $3");
    }
    let q = sqlx::query(&sql)
        .bind(from.to_string())
        .bind(to.to_string());
    let q = match institution {
        Some(i) => q.bind(i.to_string()),
        None => q,
    };
    Ok(q.fetch_all(conn).await?)
}

/// What usage charts need of a charge: its quantity in its unit.
#[derive(Debug, Clone)]
pub struct UsageRow {
    pub month: Month,
    pub institution_id: InstitutionId,
    pub information_system_id: Option<InformationSystemId>,
    pub provider_id: ProviderId,
    pub service_category: String,
    pub unit: String,
    pub quantity: Decimal,
}

/// The usage charges (ChargeCategory Usage, corrections included) with a
/// quantity and a unit, for months `from..=to`, of one institution or
/// (None) all of them. Shared-cost allocations are not usage (their
/// quantity is one share) and are left out. Quantities are summed by the
/// caller, in Rust.
pub async fn usage_rows(
    conn: &mut Conn,
    institution: Option<InstitutionId>,
    from: Month,
    to: Month,
) -> Result<Vec<UsageRow>> {
    let rows = charges_in_months(
        conn,
        "month, institution_id, information_system_id, provider_id, service_category, unit, \
         quantity",
        " AND charge_category = 'Usage' AND source <> 'allocation' AND quantity IS NOT NULL \
         AND unit IS NOT NULL",
        institution,
        from,
        to,
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(UsageRow {
                month: month(&r.try_get::<String, _>("month")?)?,
                institution_id: parse_id(&r.try_get::<String, _>("institution_id")?)?,
                information_system_id: parse_opt_id(r, "information_system_id")?,
                provider_id: parse_id(&r.try_get::<String, _>("provider_id")?)?,
                service_category: r.try_get("service_category")?,
                unit: r.try_get("unit")?,
                quantity: parse_decimal(&r.try_get::<String, _>("quantity")?)?,
            })
        })
        .collect()
}

/// Charges of an institution (or all) from `from` on, for FOCUS export.
pub async fn charges_between(
    conn: &mut Conn,
    institution: Option<InstitutionId>,
    from: Month,
    to: Month,
) -> Result<Vec<Charge>> {
    let mut sql = format!("SELECT {CHARGE_COLUMNS} FROM charges WHERE month >= $1 AND month <= $2");
    if institution.is_some() {
        sql.push_str(" AND institution_id = $3");
    }
    sql.push_str(" ORDER BY month, institution_id, period_start, id");
    let q = sqlx::query(&sql)
        .bind(from.to_string())
        .bind(to.to_string());
    let q = match institution {
        Some(i) => q.bind(i.to_string()),
        None => q,
    };
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(charge_from_row).collect()
}

// ----- imports ------------------------------------------------------------

const IMPORT_COLUMNS: &str = "id, provider_id, file_name, content_hash, bytes, records, mapped, unmapped, \
    billing_currency, billed_cost, imported_by, imported_at";

fn import_from_row(r: &AnyRow) -> Result<FocusImport> {
    Ok(FocusImport {
        id: parse_id(&r.try_get::<String, _>("id")?)?,
        provider_id: parse_id(&r.try_get::<String, _>("provider_id")?)?,
        file_name: r.try_get("file_name")?,
        content_hash: r.try_get("content_hash")?,
        bytes: r.try_get("bytes")?,
        records: r.try_get("records")?,
        mapped: r.try_get("mapped")?,
        unmapped: r.try_get("unmapped")?,
        billing_currency: r.try_get("billing_currency")?,
        billed_cost: parse_decimal(&r.try_get::<String, _>("billed_cost")?)?,
        imported_by: parse_opt_id(r, "imported_by")?,
        imported_at: parse_time(&r.try_get::<String, _>("imported_at")?)?,
    })
}

pub async fn insert_import(conn: &mut Conn, i: &FocusImport) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO focus_imports ({IMPORT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(i.id.to_string())
    .bind(i.provider_id.to_string())
    .bind(&i.file_name)
    .bind(&i.content_hash)
    .bind(i.bytes)
    .bind(i.records)
    .bind(i.mapped)
    .bind(i.unmapped)
    .bind(&i.billing_currency)
    .bind(i.billed_cost.to_string())
    .bind(i.imported_by.map(|u| u.to_string()))
    .bind(time_text(i.imported_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the mapped/unmapped counts once the lines are booked.
pub async fn set_import_counts(
    conn: &mut Conn,
    id: ImportId,
    mapped: i64,
    unmapped: i64,
) -> Result<()> {
    sqlx::query("UPDATE focus_imports SET mapped = $2, unmapped = $3 WHERE id = $1")
        .bind(id.to_string())
        .bind(mapped)
        .bind(unmapped)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn import_by_hash(conn: &mut Conn, hash: &str) -> Result<Option<FocusImport>> {
    let row = sqlx::query(&format!(
        "SELECT {IMPORT_COLUMNS} FROM focus_imports WHERE content_hash = $1"
    ))
    .bind(hash)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(import_from_row).transpose()
}

pub async fn imports(conn: &mut Conn) -> Result<Vec<FocusImport>> {
    let rows = sqlx::query(&format!(
        "SELECT {IMPORT_COLUMNS} FROM focus_imports ORDER BY imported_at DESC LIMIT 200"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter().map(import_from_row).collect()
}

// ----- unmapped -----------------------------------------------------------

const UNMAPPED_COLUMNS: &str = "id, source, source_key, provider_id, import_id, line, reason, billing_account_id, \
    sub_account_id, resource_id, month, cost, currency, created_at, resolved_at, resolved_by, charge_id";

fn unmapped_from_row(r: &AnyRow) -> Result<UnmappedCharge> {
    Ok(UnmappedCharge {
        id: r.try_get("id")?,
        source: r.try_get("source")?,
        source_key: r.try_get("source_key")?,
        provider_id: parse_id(&r.try_get::<String, _>("provider_id")?)?,
        import_id: parse_opt_id(r, "import_id")?,
        line: r.try_get("line")?,
        reason: r.try_get("reason")?,
        billing_account_id: r.try_get("billing_account_id")?,
        sub_account_id: r.try_get("sub_account_id")?,
        resource_id: r.try_get("resource_id")?,
        month: month(&r.try_get::<String, _>("month")?)?,
        cost: parse_decimal(&r.try_get::<String, _>("cost")?)?,
        currency: r.try_get("currency")?,
        created_at: parse_time(&r.try_get::<String, _>("created_at")?)?,
        resolved_at: parse_opt_time(r.try_get("resolved_at")?)?,
        resolved_by: parse_opt_id(r, "resolved_by")?,
        charge_id: r.try_get("charge_id")?,
    })
}

/// Lists a line for the Broker; false when it was listed before.
pub async fn insert_unmapped(
    conn: &mut Conn,
    u: &UnmappedCharge,
    charge_json: &str,
) -> Result<bool> {
    let done = sqlx::query(&format!(
        "INSERT INTO unmapped_charges ({UNMAPPED_COLUMNS}, charge_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $15, $16, $17, $18) ON CONFLICT (source, source_key) DO NOTHING"
    ))
    .bind(&u.id)
    .bind(&u.source)
    .bind(&u.source_key)
    .bind(u.provider_id.to_string())
    .bind(u.import_id.map(|i| i.to_string()))
    .bind(u.line)
    .bind(&u.reason)
    .bind(&u.billing_account_id)
    .bind(&u.sub_account_id)
    .bind(&u.resource_id)
    .bind(u.month.to_string())
    .bind(u.cost.to_string())
    .bind(&u.currency)
    .bind(time_text(u.created_at))
    .bind(u.resolved_at.map(time_text))
    .bind(u.resolved_by.map(|x| x.to_string()))
    .bind(&u.charge_id)
    .bind(charge_json)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn unmapped(conn: &mut Conn, open_only: bool) -> Result<Vec<UnmappedCharge>> {
    let filter = if open_only {
        "WHERE resolved_at IS NULL"
    } else {
        ""
    };
    let rows = sqlx::query(&format!(
        "SELECT {UNMAPPED_COLUMNS} FROM unmapped_charges {filter} ORDER BY created_at, line LIMIT 1000"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter().map(unmapped_from_row).collect()
}

/// An unmapped line and the charge it would book.
pub async fn unmapped_one(conn: &mut Conn, id: &str) -> Result<Option<(UnmappedCharge, String)>> {
    let row = sqlx::query(&format!(
        "SELECT {UNMAPPED_COLUMNS}, charge_json FROM unmapped_charges WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref()
        .map(|r| Ok((unmapped_from_row(r)?, r.try_get("charge_json")?)))
        .transpose()
}

/// Marks a line resolved; false when someone resolved it first.
pub async fn resolve_unmapped(
    conn: &mut Conn,
    id: &str,
    by: UserId,
    charge_id: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE unmapped_charges SET resolved_at = $2, resolved_by = $3, charge_id = $4 WHERE id = $1 AND resolved_at IS NULL",
    )
    .bind(id)
    .bind(time_text(now))
    .bind(by.to_string())
    .bind(charge_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ----- commercial prices ----------------------------------------------------

const COMMERCIAL_COLUMNS: &str =
    "id, reference, sku, kind, vcpu, ram_gb, unit, unit_price, currency, valid_from, valid_until";

fn commercial_from_row(r: &AnyRow) -> Result<CommercialPrice> {
    let until: Option<String> = r.try_get("valid_until")?;
    Ok(CommercialPrice {
        id: r.try_get("id")?,
        reference: r.try_get("reference")?,
        sku: r.try_get("sku")?,
        kind: parse_enum(&r.try_get::<String, _>("kind")?)?,
        vcpu: r.try_get("vcpu")?,
        ram_gb: r.try_get("ram_gb")?,
        unit: parse_enum(&r.try_get::<String, _>("unit")?)?,
        unit_price: parse_decimal(&r.try_get::<String, _>("unit_price")?)?,
        currency: r.try_get("currency")?,
        valid_from: parse_date(&r.try_get::<String, _>("valid_from")?)?,
        valid_until: until.as_deref().map(parse_date).transpose()?,
    })
}

pub async fn insert_commercial_price(
    conn: &mut Conn,
    p: &CommercialPrice,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO commercial_prices ({COMMERCIAL_COLUMNS}, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&p.id)
    .bind(&p.reference)
    .bind(&p.sku)
    .bind(p.kind.as_str())
    .bind(p.vcpu)
    .bind(p.ram_gb)
    .bind(p.unit.as_str())
    .bind(p.unit_price.to_string())
    .bind(&p.currency)
    .bind(p.valid_from.to_string())
    .bind(p.valid_until.map(|d| d.to_string()))
    .bind(time_text(now))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn commercial_prices(conn: &mut Conn) -> Result<Vec<CommercialPrice>> {
    let rows = sqlx::query(&format!(
        "SELECT {COMMERCIAL_COLUMNS} FROM commercial_prices ORDER BY reference, kind, vcpu, ram_gb, valid_from"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter().map(commercial_from_row).collect()
}

// ----- shared costs ---------------------------------------------------------

/// Records a shared cost; false when the same one (provider, month,
/// description) was recorded before.
pub async fn insert_shared_cost(
    conn: &mut Conn,
    id: &str,
    input: &SharedCostInput,
    currency: &str,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO shared_costs (id, provider_id, month, amount, currency, description, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (provider_id, month, description) DO NOTHING",
    )
    .bind(id)
    .bind(input.provider_id.to_string())
    .bind(input.month.to_string())
    .bind(input.amount.to_string())
    .bind(currency)
    .bind(input.description.trim())
    .bind(by.map(|u| u.to_string()))
    .bind(time_text(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ----- statements -----------------------------------------------------------

const STATEMENT_COLUMNS: &str = "id, institution_id, month, version, reason, currency, total, exact_total, \
    commercial_total, charges, content_hash, issued_by, issued_at";

fn statement_from_row(r: &AnyRow) -> Result<StatementSummary> {
    Ok(StatementSummary {
        id: parse_id(&r.try_get::<String, _>("id")?)?,
        institution_id: parse_id(&r.try_get::<String, _>("institution_id")?)?,
        month: month(&r.try_get::<String, _>("month")?)?,
        version: r.try_get("version")?,
        reason: r.try_get("reason")?,
        currency: r.try_get("currency")?,
        total: parse_decimal(&r.try_get::<String, _>("total")?)?,
        exact_total: parse_decimal(&r.try_get::<String, _>("exact_total")?)?,
        commercial_total: parse_decimal(&r.try_get::<String, _>("commercial_total")?)?,
        charges: r.try_get("charges")?,
        content_hash: r.try_get("content_hash")?,
        issued_by: parse_opt_id(r, "issued_by")?,
        issued_at: parse_time(&r.try_get::<String, _>("issued_at")?)?,
    })
}

const LINE_COLUMNS: &str = "statement_id, line_no, information_system_id, information_system, agreement_id, \
    provider_id, provider, service_category, service_name, offering_id, charge_category, charge_class, unit, \
    quantity, unit_price, price_list_version, exact_amount, amount, commercial_amount, commercial_ref, charges";

fn line_from_row(r: &AnyRow) -> Result<StatementLine> {
    Ok(StatementLine {
        line_no: r.try_get("line_no")?,
        information_system_id: parse_opt_id(r, "information_system_id")?,
        information_system: r.try_get("information_system")?,
        agreement_id: parse_opt_id(r, "agreement_id")?,
        provider_id: parse_id(&r.try_get::<String, _>("provider_id")?)?,
        provider: r.try_get("provider")?,
        service_category: r.try_get("service_category")?,
        service_name: r.try_get("service_name")?,
        offering_id: parse_opt_id(r, "offering_id")?,
        charge_category: r.try_get("charge_category")?,
        charge_class: r.try_get("charge_class")?,
        unit: r.try_get("unit")?,
        quantity: opt_decimal(r.try_get("quantity")?)?,
        unit_price: opt_decimal(r.try_get("unit_price")?)?,
        price_list_version: r.try_get("price_list_version")?,
        exact_amount: parse_decimal(&r.try_get::<String, _>("exact_amount")?)?,
        amount: parse_decimal(&r.try_get::<String, _>("amount")?)?,
        commercial_amount: opt_decimal(r.try_get("commercial_amount")?)?,
        commercial_ref: r.try_get("commercial_ref")?,
        charges: r.try_get("charges")?,
    })
}

/// The highest version issued for an institution's month.
pub async fn latest_statement_version(
    conn: &mut Conn,
    institution: InstitutionId,
    month: Month,
) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COALESCE(MAX(version), 0) AS v FROM statements WHERE institution_id = $1 AND month = $2",
    )
    .bind(institution.to_string())
    .bind(month.to_string())
    .fetch_one(conn)
    .await?;
    Ok(row.try_get("v")?)
}

pub async fn insert_statement(conn: &mut Conn, s: &Statement) -> Result<()> {
    let h = &s.summary;
    sqlx::query(&format!(
        "INSERT INTO statements ({STATEMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(h.id.to_string())
    .bind(h.institution_id.to_string())
    .bind(h.month.to_string())
    .bind(h.version)
    .bind(&h.reason)
    .bind(&h.currency)
    .bind(h.total.to_string())
    .bind(h.exact_total.to_string())
    .bind(h.commercial_total.to_string())
    .bind(h.charges)
    .bind(&h.content_hash)
    .bind(h.issued_by.map(|u| u.to_string()))
    .bind(time_text(h.issued_at))
    .execute(&mut *conn)
    .await?;
    for l in &s.lines {
        sqlx::query(&format!(
            "INSERT INTO statement_lines ({LINE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13, $14, $15, $16, $17, $18, $19, $20, $21)"
        ))
        .bind(h.id.to_string())
        .bind(l.line_no)
        .bind(l.information_system_id.map(|i| i.to_string()))
        .bind(&l.information_system)
        .bind(l.agreement_id.map(|i| i.to_string()))
        .bind(l.provider_id.to_string())
        .bind(&l.provider)
        .bind(&l.service_category)
        .bind(&l.service_name)
        .bind(l.offering_id.map(|i| i.to_string()))
        .bind(&l.charge_category)
        .bind(&l.charge_class)
        .bind(&l.unit)
        .bind(l.quantity.map(|q| q.to_string()))
        .bind(l.unit_price.map(|q| q.to_string()))
        .bind(&l.price_list_version)
        .bind(l.exact_amount.to_string())
        .bind(l.amount.to_string())
        .bind(l.commercial_amount.map(|q| q.to_string()))
        .bind(&l.commercial_ref)
        .bind(l.charges)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Statement headers of one institution or (None) all, newest month first.
pub async fn statements(
    conn: &mut Conn,
    institution: Option<InstitutionId>,
) -> Result<Vec<StatementSummary>> {
    let sql = match institution {
        Some(_) => format!(
            "SELECT {STATEMENT_COLUMNS} FROM statements WHERE institution_id = $1 ORDER BY month DESC, version DESC"
        ),
        None => format!(
            "SELECT {STATEMENT_COLUMNS} FROM statements ORDER BY month DESC, institution_id, version DESC LIMIT 1000"
        ),
    };
    let q = sqlx::query(&sql);
    let q = match institution {
        Some(i) => q.bind(i.to_string()),
        None => q,
    };
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(statement_from_row).collect()
}

pub async fn statement(conn: &mut Conn, id: StatementId) -> Result<Option<Statement>> {
    let Some(row) = sqlx::query(&format!(
        "SELECT {STATEMENT_COLUMNS} FROM statements WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let summary = statement_from_row(&row)?;
    let lines = sqlx::query(&format!(
        "SELECT {LINE_COLUMNS} FROM statement_lines WHERE statement_id = $1 ORDER BY line_no"
    ))
    .bind(id.to_string())
    .fetch_all(conn)
    .await?;
    Ok(Some(Statement {
        summary,
        lines: lines.iter().map(line_from_row).collect::<Result<_>>()?,
    }))
}

// ----- budgets ----------------------------------------------------------------

const BUDGET_COLUMNS: &str =
    "id, institution_id, information_system_id, monthly_amount, currency, thresholds, updated_at";

fn budget_from_row(r: &AnyRow) -> Result<Budget> {
    let thresholds: String = r.try_get("thresholds")?;
    Ok(Budget {
        id: parse_id(&r.try_get::<String, _>("id")?)?,
        institution_id: parse_id(&r.try_get::<String, _>("institution_id")?)?,
        information_system_id: parse_opt_id(r, "information_system_id")?,
        monthly_amount: parse_decimal(&r.try_get::<String, _>("monthly_amount")?)?,
        currency: r.try_get("currency")?,
        thresholds: thresholds
            .split(',')
            .map(|t| {
                t.parse()
                    .map_err(|_| Error::Corrupt(format!("budget thresholds '{thresholds}'")))
            })
            .collect::<Result<_>>()?,
        updated_at: parse_time(&r.try_get::<String, _>("updated_at")?)?,
    })
}

fn budget_scope_key(institution: InstitutionId, system: Option<InformationSystemId>) -> String {
    match system {
        Some(s) => format!("{institution}:{s}"),
        None => format!("{institution}:*"),
    }
}

/// Sets the budget of a scope (institution, or one system), replacing the
/// old amount and thresholds; returns the stored budget.
pub async fn put_budget(conn: &mut Conn, b: &Budget, by: Option<UserId>) -> Result<Budget> {
    let thresholds = b
        .thresholds
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    sqlx::query(
        "INSERT INTO budgets (id, institution_id, information_system_id, scope_key, monthly_amount, currency, thresholds, updated_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (scope_key) DO UPDATE SET monthly_amount = $5, thresholds = $7, updated_by = $8, updated_at = $9",
    )
    .bind(b.id.to_string())
    .bind(b.institution_id.to_string())
    .bind(b.information_system_id.map(|s| s.to_string()))
    .bind(budget_scope_key(b.institution_id, b.information_system_id))
    .bind(b.monthly_amount.to_string())
    .bind(&b.currency)
    .bind(thresholds)
    .bind(by.map(|u| u.to_string()))
    .bind(time_text(b.updated_at))
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(&format!(
        "SELECT {BUDGET_COLUMNS} FROM budgets WHERE scope_key = $1"
    ))
    .bind(budget_scope_key(b.institution_id, b.information_system_id))
    .fetch_one(conn)
    .await?;
    budget_from_row(&row)
}

pub async fn budgets(conn: &mut Conn, institution: Option<InstitutionId>) -> Result<Vec<Budget>> {
    let sql = match institution {
        Some(_) => format!(
            "SELECT {BUDGET_COLUMNS} FROM budgets WHERE institution_id = $1 ORDER BY scope_key"
        ),
        None => format!("SELECT {BUDGET_COLUMNS} FROM budgets ORDER BY scope_key"),
    };
    let q = sqlx::query(&sql);
    let q = match institution {
        Some(i) => q.bind(i.to_string()),
        None => q,
    };
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(budget_from_row).collect()
}

/// Thresholds of a budget already alerted in a month.
pub async fn crossed_thresholds(
    conn: &mut Conn,
    budget: BudgetId,
    month: Month,
) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT threshold_pct FROM budget_alerts WHERE budget_id = $1 AND month = $2 ORDER BY threshold_pct",
    )
    .bind(budget.to_string())
    .bind(month.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get("threshold_pct")?))
        .collect()
}

/// Records that a threshold was crossed; false when it was recorded before
/// (so each alert goes out once a month).
pub async fn record_budget_alert(
    conn: &mut Conn,
    budget: BudgetId,
    month: Month,
    threshold: i64,
    spent: Decimal,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO budget_alerts (budget_id, month, threshold_pct, spent, raised_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (budget_id, month, threshold_pct) DO NOTHING",
    )
    .bind(budget.to_string())
    .bind(month.to_string())
    .bind(threshold)
    .bind(spent.to_string())
    .bind(time_text(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ----- lookups for mapping bill lines ---------------------------------------

/// Every information system's id, code and institution.
pub async fn system_keys(
    conn: &mut Conn,
) -> Result<Vec<(InformationSystemId, String, String, InstitutionId)>> {
    let rows = sqlx::query("SELECT id, code, name, institution_id FROM information_systems")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                parse_id(&r.try_get::<String, _>("id")?)?,
                r.try_get("code")?,
                r.try_get("name")?,
                parse_id(&r.try_get::<String, _>("institution_id")?)?,
            ))
        })
        .collect()
}

/// Every institution's id, short name, registration number and name.
pub async fn institution_keys(
    conn: &mut Conn,
) -> Result<Vec<(InstitutionId, String, Option<String>, String)>> {
    let rows = sqlx::query("SELECT id, short_name, registration_number, name FROM institutions")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                parse_id(&r.try_get::<String, _>("id")?)?,
                r.try_get("short_name")?,
                r.try_get("registration_number")?,
                r.try_get("name")?,
            ))
        })
        .collect()
}

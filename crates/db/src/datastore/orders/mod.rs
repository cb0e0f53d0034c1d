//! Orders, approvals, quotas, agreements and notifications.
//!
//! Area `orders` (orders, approvals, quotas, agreements and notifications),
//! storage (all SQL) layer: the use cases are in `makonis_app::orders`; the
//! same area folder exists in `db/src/datastore`, `server/src/api` and
//! `server/src/portal`. Requirements: FED-4, FED-5, FED-8, SEC-7.

use chrono::{DateTime, Utc};
use makonis_types::order::*;
use makonis_types::paging::{Page, PageRequest};
use makonis_types::{InformationSystemId, InstitutionId, UserId};
use rust_decimal::Decimal;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::datastore::Conn;
use crate::{
    Error, Filter, FilterValue, Result, parse_date, parse_enum, parse_id, parse_opt_id,
    parse_opt_time, parse_time, time_text,
};

const ORDER_COLUMNS: &str = "id, institution_id, information_system_id, offering_id, provider_id, quantity, requester_id, \
    state, monthly_estimate, approval_rule, agreement_id, note, reason, created_at, updated_at";

fn order_from_row(row: &AnyRow) -> Result<Order> {
    let rule: String = row.try_get("approval_rule")?;
    let estimate: String = row.try_get("monthly_estimate")?;
    Ok(Order {
        id: parse_id(&row.try_get::<String, _>("id")?)?,
        institution_id: parse_id(&row.try_get::<String, _>("institution_id")?)?,
        information_system_id: parse_id(&row.try_get::<String, _>("information_system_id")?)?,
        offering_id: parse_id(&row.try_get::<String, _>("offering_id")?)?,
        provider_id: parse_id(&row.try_get::<String, _>("provider_id")?)?,
        quantity: row.try_get("quantity")?,
        requester_id: parse_id(&row.try_get::<String, _>("requester_id")?)?,
        state: parse_enum(&row.try_get::<String, _>("state")?)?,
        monthly_estimate: estimate
            .parse()
            .map_err(|_| Error::Corrupt(format!("estimate '{estimate}'")))?,
        rule: serde_json::from_str(&rule)
            .map_err(|e| Error::Corrupt(format!("approval rule: {e}")))?,
        agreement_id: parse_opt_id(row, "agreement_id")?,
        note: row.try_get("note")?,
        reason: row.try_get("reason")?,
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_time(&row.try_get::<String, _>("updated_at")?)?,
    })
}

/// What an order holds, for quota sums.
#[derive(Debug, Clone, Copy, Default)]
pub struct Holding {
    pub vcpu: i64,
    pub ram_gb: i64,
    pub storage_gb: i64,
    pub monthly_cents: i64,
}

pub fn cents(eur: Decimal) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    (eur * Decimal::ONE_HUNDRED)
        .round()
        .to_i64()
        .unwrap_or(i64::MAX)
}

pub async fn insert_order(conn: &mut Conn, o: &Order, holding: Holding) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO orders ({ORDER_COLUMNS}, vcpu, ram_gb, storage_gb, monthly_cents) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
    ))
    .bind(o.id.to_string())
    .bind(o.institution_id.to_string())
    .bind(o.information_system_id.to_string())
    .bind(o.offering_id.to_string())
    .bind(o.provider_id.to_string())
    .bind(o.quantity)
    .bind(o.requester_id.to_string())
    .bind(o.state.as_str())
    .bind(o.monthly_estimate.to_string())
    .bind(serde_json::to_string(&o.rule).map_err(|e| Error::Corrupt(e.to_string()))?)
    .bind(o.agreement_id.map(|a| a.to_string()))
    .bind(&o.note)
    .bind(&o.reason)
    .bind(time_text(o.created_at))
    .bind(time_text(o.updated_at))
    .bind(holding.vcpu)
    .bind(holding.ram_gb)
    .bind(holding.storage_gb)
    .bind(holding.monthly_cents)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_order(conn: &mut Conn, id: OrderId) -> Result<Option<Order>> {
    let row = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(order_from_row).transpose()
}

/// Moves an order from `from` to `to`; false if it was no longer in `from`
/// (someone else moved it first).
pub async fn transition(
    conn: &mut Conn,
    id: OrderId,
    from: OrderState,
    to: OrderState,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query("UPDATE orders SET state = $3, reason = COALESCE($4, reason), updated_at = $5 WHERE id = $1 AND state = $2")
        .bind(id.to_string())
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(reason)
        .bind(time_text(now))
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets an order's size, its monthly estimate and what it holds against
/// quotas, in one statement.
pub async fn resize(
    conn: &mut Conn,
    id: OrderId,
    quantity: i64,
    monthly_estimate: Decimal,
    holding: Holding,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE orders SET quantity = $2, monthly_estimate = $3, vcpu = $4, ram_gb = $5, storage_gb = $6, \
         monthly_cents = $7, updated_at = $8 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(quantity)
    .bind(monthly_estimate.to_string())
    .bind(holding.vcpu)
    .bind(holding.ram_gb)
    .bind(holding.storage_gb)
    .bind(holding.monthly_cents)
    .bind(time_text(now))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_agreement(conn: &mut Conn, id: OrderId, agreement: AgreementId) -> Result<()> {
    sqlx::query("UPDATE orders SET agreement_id = $2 WHERE id = $1")
        .bind(id.to_string())
        .bind(agreement.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn list_orders(
    conn: &mut Conn,
    visible: Option<&[InstitutionId]>,
    f: &OrderFilter,
    ids: Option<&[OrderId]>,
    page: PageRequest,
) -> Result<Page<Order>> {
    let mut filter = Filter::default();
    if let Some(v) = visible {
        filter.and_in(
            "institution_id",
            v.iter().map(ToString::to_string).collect(),
        );
    }
    if let Some(ids) = ids {
        filter.and_in("id", ids.iter().map(ToString::to_string).collect());
    }
    if let Some(i) = f.institution_id {
        filter.and("institution_id = ?", [FilterValue::Text(i.to_string())]);
    }
    if let Some(s) = f.information_system_id {
        filter.and(
            "information_system_id = ?",
            [FilterValue::Text(s.to_string())],
        );
    }
    if let Some(s) = f.state {
        filter.and("state = ?", [FilterValue::Text(s.as_str().into())]);
    }
    let total = filter.count(conn, "orders").await?;
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders{} ORDER BY created_at DESC, id LIMIT {} OFFSET {}",
        filter.sql(),
        page.limit(),
        page.offset()
    );
    let rows = filter.bind(sqlx::query(&sql)).fetch_all(conn).await?;
    Ok(Page {
        items: rows.iter().map(order_from_row).collect::<Result<_>>()?,
        total,
        limit: page.limit(),
        offset: page.offset(),
    })
}

/// Orders waiting in `approving` (for the approvals inbox).
pub async fn awaiting_approval(conn: &mut Conn) -> Result<Vec<Order>> {
    let rows = sqlx::query(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE state = 'approving' ORDER BY created_at"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter().map(order_from_row).collect()
}

pub async fn insert_approval(conn: &mut Conn, a: &Approval) -> Result<()> {
    sqlx::query(
        "INSERT INTO approvals (order_id, step, approver_id, approver_label, decision, reason, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(a.order_id.to_string())
    .bind(a.step.as_str())
    .bind(a.approver_id.to_string())
    .bind(&a.approver_label)
    .bind(a.decision.as_str())
    .bind(&a.reason)
    .bind(time_text(a.decided_at))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn approvals(conn: &mut Conn, order: OrderId) -> Result<Vec<Approval>> {
    let rows = sqlx::query(
        "SELECT order_id, step, approver_id, approver_label, decision, reason, decided_at FROM approvals WHERE order_id = $1 ORDER BY decided_at",
    )
    .bind(order.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Approval {
                order_id: parse_id(&r.try_get::<String, _>("order_id")?)?,
                step: parse_enum(&r.try_get::<String, _>("step")?)?,
                approver_id: parse_id(&r.try_get::<String, _>("approver_id")?)?,
                approver_label: r.try_get("approver_label")?,
                decision: parse_enum(&r.try_get::<String, _>("decision")?)?,
                reason: r.try_get("reason")?,
                decided_at: parse_time(&r.try_get::<String, _>("decided_at")?)?,
            })
        })
        .collect()
}

fn quota_key(institution: InstitutionId, system: Option<InformationSystemId>) -> String {
    match system {
        Some(s) => format!("system:{s}"),
        None => format!("institution:{institution}"),
    }
}

fn quota_from_row(row: &AnyRow) -> Result<Quota> {
    let budget: Option<i64> = row.try_get("monthly_budget_cents")?;
    Ok(Quota {
        institution_id: parse_id(&row.try_get::<String, _>("institution_id")?)?,
        information_system_id: parse_opt_id(row, "information_system_id")?,
        vcpu: row.try_get("vcpu")?,
        ram_gb: row.try_get("ram_gb")?,
        storage_gb: row.try_get("storage_gb")?,
        monthly_budget_eur: budget.map(|c| Decimal::new(c, 2)),
    })
}

pub async fn put_quota(conn: &mut Conn, q: &Quota) -> Result<()> {
    sqlx::query(
        "INSERT INTO quotas (scope_key, institution_id, information_system_id, vcpu, ram_gb, storage_gb, monthly_budget_cents, lock_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0)
         ON CONFLICT (scope_key) DO UPDATE SET vcpu = $4, ram_gb = $5, storage_gb = $6, monthly_budget_cents = $7",
    )
    .bind(quota_key(q.institution_id, q.information_system_id))
    .bind(q.institution_id.to_string())
    .bind(q.information_system_id.map(|s| s.to_string()))
    .bind(q.vcpu)
    .bind(q.ram_gb)
    .bind(q.storage_gb)
    .bind(q.monthly_budget_eur.map(cents))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn quotas_of(conn: &mut Conn, institution: InstitutionId) -> Result<Vec<Quota>> {
    let rows = sqlx::query(
        "SELECT institution_id, information_system_id, vcpu, ram_gb, storage_gb, monthly_budget_cents FROM quotas WHERE institution_id = $1 ORDER BY scope_key",
    )
    .bind(institution.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(quota_from_row).collect()
}

/// Takes the quota row's lock for the rest of the transaction (the update
/// blocks other writers of the same row until commit) and returns the quota,
/// if one is set for this scope.
pub async fn lock_quota(
    conn: &mut Conn,
    institution: InstitutionId,
    system: Option<InformationSystemId>,
) -> Result<Option<Quota>> {
    let row = sqlx::query(
        "UPDATE quotas SET lock_version = lock_version + 1 WHERE scope_key = $1
         RETURNING institution_id, information_system_id, vcpu, ram_gb, storage_gb, monthly_budget_cents",
    )
    .bind(quota_key(institution, system))
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(quota_from_row).transpose()
}

/// What the orders holding quota in the scope add up to.
pub async fn usage(
    conn: &mut Conn,
    institution: InstitutionId,
    system: Option<InformationSystemId>,
) -> Result<Holding> {
    let holding: Vec<&str> = OrderState::ALL
        .iter()
        .filter(|s| s.holds_quota())
        .map(|s| s.as_str())
        .collect();
    let mut filter = Filter::default();
    filter.and(
        "institution_id = ?",
        [FilterValue::Text(institution.to_string())],
    );
    if let Some(s) = system {
        filter.and(
            "information_system_id = ?",
            [FilterValue::Text(s.to_string())],
        );
    }
    filter.and_in("state", holding.into_iter().map(str::to_owned).collect());
    let sql = format!(
        // SUM of BIGINT is NUMERIC on PostgreSQL, which `Any` cannot carry.
        "SELECT CAST(COALESCE(SUM(vcpu), 0) AS BIGINT) AS vcpu, CAST(COALESCE(SUM(ram_gb), 0) AS BIGINT) AS ram_gb, \
         CAST(COALESCE(SUM(storage_gb), 0) AS BIGINT) AS storage_gb, CAST(COALESCE(SUM(monthly_cents), 0) AS BIGINT) AS monthly_cents \
         FROM orders{}",
        filter.sql()
    );
    let row = filter.bind(sqlx::query(&sql)).fetch_one(conn).await?;
    Ok(Holding {
        vcpu: row.try_get("vcpu")?,
        ram_gb: row.try_get("ram_gb")?,
        storage_gb: row.try_get("storage_gb")?,
        monthly_cents: row.try_get("monthly_cents")?,
    })
}

const AGREEMENT_COLUMNS: &str = "id, institution_id, provider_id, price_list_version, scope, valid_from, valid_until, status, \
    document_ref, broker_signed_by, broker_signed_at, institution_signed_by, institution_signed_at, reminder_days";

fn agreement_from_row(row: &AnyRow) -> Result<Agreement> {
    Ok(Agreement {
        id: parse_id(&row.try_get::<String, _>("id")?)?,
        institution_id: parse_id(&row.try_get::<String, _>("institution_id")?)?,
        provider_id: parse_id(&row.try_get::<String, _>("provider_id")?)?,
        price_list_version: row.try_get("price_list_version")?,
        scope: row.try_get("scope")?,
        valid_from: parse_date(&row.try_get::<String, _>("valid_from")?)?,
        valid_until: parse_date(&row.try_get::<String, _>("valid_until")?)?,
        status: parse_enum(&row.try_get::<String, _>("status")?)?,
        document_ref: row.try_get("document_ref")?,
        broker_signed_by: parse_opt_id(row, "broker_signed_by")?,
        broker_signed_at: parse_opt_time(row.try_get("broker_signed_at")?)?,
        institution_signed_by: parse_opt_id(row, "institution_signed_by")?,
        institution_signed_at: parse_opt_time(row.try_get("institution_signed_at")?)?,
        reminder_days: row.try_get("reminder_days")?,
    })
}

pub async fn insert_agreement(conn: &mut Conn, a: &Agreement, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO agreements ({AGREEMENT_COLUMNS}, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)"
    ))
    .bind(a.id.to_string())
    .bind(a.institution_id.to_string())
    .bind(a.provider_id.to_string())
    .bind(&a.price_list_version)
    .bind(&a.scope)
    .bind(a.valid_from.to_string())
    .bind(a.valid_until.to_string())
    .bind(a.status.as_str())
    .bind(&a.document_ref)
    .bind(a.broker_signed_by.map(|u| u.to_string()))
    .bind(a.broker_signed_at.map(time_text))
    .bind(a.institution_signed_by.map(|u| u.to_string()))
    .bind(a.institution_signed_at.map(time_text))
    .bind(a.reminder_days)
    .bind(time_text(now))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn update_agreement(conn: &mut Conn, a: &Agreement, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE agreements SET status = $2, document_ref = $3, broker_signed_by = $4, broker_signed_at = $5,
         institution_signed_by = $6, institution_signed_at = $7, updated_at = $8 WHERE id = $1",
    )
    .bind(a.id.to_string())
    .bind(a.status.as_str())
    .bind(&a.document_ref)
    .bind(a.broker_signed_by.map(|u| u.to_string()))
    .bind(a.broker_signed_at.map(time_text))
    .bind(a.institution_signed_by.map(|u| u.to_string()))
    .bind(a.institution_signed_at.map(time_text))
    .bind(time_text(now))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_agreement(conn: &mut Conn, id: AgreementId) -> Result<Option<Agreement>> {
    let row = sqlx::query(&format!(
        "SELECT {AGREEMENT_COLUMNS} FROM agreements WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(agreement_from_row).transpose()
}

/// Agreements between the parties that are active or still being signed.
pub async fn open_agreements(
    conn: &mut Conn,
    institution: InstitutionId,
    provider: makonis_types::federation::ProviderId,
) -> Result<Vec<Agreement>> {
    let rows = sqlx::query(&format!(
        "SELECT {AGREEMENT_COLUMNS} FROM agreements WHERE institution_id = $1 AND provider_id = $2 AND status IN ('active', 'draft') ORDER BY valid_until DESC"
    ))
    .bind(institution.to_string())
    .bind(provider.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(agreement_from_row).collect()
}

pub async fn list_agreements(
    conn: &mut Conn,
    visible: Option<&[InstitutionId]>,
) -> Result<Vec<Agreement>> {
    let mut filter = Filter::default();
    if let Some(v) = visible {
        filter.and_in(
            "institution_id",
            v.iter().map(ToString::to_string).collect(),
        );
    }
    let sql = format!(
        "SELECT {AGREEMENT_COLUMNS} FROM agreements{} ORDER BY valid_until, id",
        filter.sql()
    );
    let rows = filter.bind(sqlx::query(&sql)).fetch_all(conn).await?;
    rows.iter().map(agreement_from_row).collect()
}

/// Orders attached to an agreement and waiting in `approved`.
pub async fn orders_waiting_for(conn: &mut Conn, agreement: AgreementId) -> Result<Vec<Order>> {
    let rows = sqlx::query(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE agreement_id = $1 AND state = 'approved'"
    ))
    .bind(agreement.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(order_from_row).collect()
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: String,
    pub kind: String,
    pub order_id: Option<OrderId>,
    pub agreement_id: Option<AgreementId>,
    /// Set for alerts about a system (embassy RPO, drills).
    pub information_system_id: Option<InformationSystemId>,
    /// A short text for alerts that need one (which budget, how much).
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

pub async fn notify(
    conn: &mut Conn,
    user: UserId,
    kind: &str,
    order: Option<OrderId>,
    agreement: Option<AgreementId>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO notifications (id, user_id, kind, order_id, agreement_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(user.to_string())
        .bind(kind)
        .bind(order.map(|o| o.to_string()))
        .bind(agreement.map(|a| a.to_string()))
        .bind(time_text(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// An alert with a text, about an institution's budget or a system.
pub async fn notify_detail(
    conn: &mut Conn,
    user: UserId,
    kind: &str,
    system: Option<InformationSystemId>,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO notifications (id, user_id, kind, information_system_id, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(user.to_string())
        .bind(kind)
        .bind(system.map(|s| s.to_string()))
        .bind(detail)
        .bind(time_text(now))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn notifications(
    conn: &mut Conn,
    user: UserId,
    unread_only: bool,
) -> Result<Vec<Notification>> {
    let sql = if unread_only {
        "SELECT id, kind, order_id, agreement_id, information_system_id, detail, created_at, read_at FROM notifications WHERE user_id = $1 AND read_at IS NULL ORDER BY created_at DESC LIMIT 200"
    } else {
        "SELECT id, kind, order_id, agreement_id, information_system_id, detail, created_at, read_at FROM notifications WHERE user_id = $1 ORDER BY created_at DESC LIMIT 200"
    };
    let rows = sqlx::query(sql)
        .bind(user.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Notification {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                order_id: parse_opt_id(r, "order_id")?,
                agreement_id: parse_opt_id(r, "agreement_id")?,
                information_system_id: parse_opt_id(r, "information_system_id")?,
                detail: r.try_get("detail")?,
                created_at: parse_time(&r.try_get::<String, _>("created_at")?)?,
                read_at: parse_opt_time(r.try_get("read_at")?)?,
            })
        })
        .collect()
}

pub async fn mark_read(conn: &mut Conn, user: UserId, now: DateTime<Utc>) -> Result<u64> {
    let done =
        sqlx::query("UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL")
            .bind(user.to_string())
            .bind(time_text(now))
            .execute(conn)
            .await?;
    Ok(done.rows_affected())
}

/// Users holding `role` within `institution`, or platform-wide when `None`.
/// What a system's live orders at one provider cost a month, in cents.
pub async fn monthly_cents_at(
    conn: &mut Conn,
    system: InformationSystemId,
    provider: makonis_types::federation::ProviderId,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(monthly_cents), 0) AS BIGINT) FROM orders \
         WHERE information_system_id = $1 AND provider_id = $2 AND state IN ('provisioning', 'active', 'modifying')",
    )
    .bind(system.to_string())
    .bind(provider.to_string())
    .fetch_one(conn)
    .await?)
}

pub async fn holders_of(
    conn: &mut Conn,
    role: &str,
    institution: Option<InstitutionId>,
) -> Result<Vec<UserId>> {
    let rows = match institution {
        Some(i) => {
            sqlx::query("SELECT DISTINCT user_id FROM role_assignments WHERE role = $1 AND institution_id = $2")
                .bind(role)
                .bind(i.to_string())
                .fetch_all(conn)
                .await?
        }
        None => {
            sqlx::query("SELECT DISTINCT user_id FROM role_assignments WHERE role = $1 AND institution_id IS NULL")
                .bind(role)
                .fetch_all(conn)
                .await?
        }
    };
    rows.iter()
        .map(|r| parse_id(&r.try_get::<String, _>("user_id")?))
        .collect()
}

//! Saga logs and provisioned resources.
//!
//! Area `sagas` (the saga log and provisioned resources; provision,
//! decommission and modify), storage (all SQL) layer: the use cases are in
//! `makonis_app::sagas`; the same area folder exists in `db/src/datastore`,
//! `server/src/api` and `server/src/portal`. Requirements: FED-4, FED-7.

use chrono::{DateTime, Utc};
use makonis_types::federation::ProviderId;
use makonis_types::order::OrderId;
use sqlx::Row;

use crate::datastore::Conn;
use crate::{Result, parse_id, parse_opt_time, parse_time, time_text};

pub async fn insert_saga(
    conn: &mut Conn,
    id: &str,
    name: &str,
    dag: &str,
    state: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO sagas (id, name, dag, state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
        .bind(id)
        .bind(name)
        .bind(dag)
        .bind(state)
        .bind(time_text(now))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn update_saga_state(
    conn: &mut Conn,
    id: &str,
    state: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE sagas SET state = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(state)
        .bind(time_text(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Appends an event at the end of the saga's log.
pub async fn append_event(
    conn: &mut Conn,
    saga: &str,
    event: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let next: i64 = sqlx::query("SELECT CAST(COALESCE(MAX(seq), 0) + 1 AS BIGINT) AS next FROM saga_events WHERE saga_id = $1")
        .bind(saga)
        .fetch_one(&mut *conn)
        .await?
        .try_get("next")?;
    sqlx::query(
        "INSERT INTO saga_events (saga_id, seq, event, recorded_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(saga)
    .bind(next)
    .bind(event)
    .bind(time_text(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Sagas not yet done: (id, name, dag).
pub async fn unfinished(conn: &mut Conn) -> Result<Vec<(String, String, String)>> {
    let rows =
        sqlx::query("SELECT id, name, dag FROM sagas WHERE state <> 'done' ORDER BY created_at")
            .fetch_all(conn)
            .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?, r.try_get("dag")?)))
        .collect()
}

pub async fn events(conn: &mut Conn, saga: &str) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT event FROM saga_events WHERE saga_id = $1 ORDER BY seq")
        .bind(saga)
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| Ok(r.try_get("event")?)).collect()
}

pub async fn saga_state(conn: &mut Conn, id: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT state FROM sagas WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.try_get("state")).transpose()?)
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ResourceRecord {
    pub id: String,
    pub order_id: OrderId,
    pub provider_id: ProviderId,
    /// The provider's id for it.
    pub external_id: String,
    pub idempotency_key: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

const RESOURCE_COLUMNS: &str =
    "id, order_id, provider_id, external_id, idempotency_key, status, created_at, deleted_at";

fn resource_from_row(r: &sqlx::any::AnyRow) -> Result<ResourceRecord> {
    Ok(ResourceRecord {
        id: r.try_get("id")?,
        order_id: parse_id(&r.try_get::<String, _>("order_id")?)?,
        provider_id: parse_id(&r.try_get::<String, _>("provider_id")?)?,
        external_id: r.try_get("external_id")?,
        idempotency_key: r.try_get("idempotency_key")?,
        status: r.try_get("status")?,
        created_at: parse_time(&r.try_get::<String, _>("created_at")?)?,
        deleted_at: parse_opt_time(r.try_get("deleted_at")?)?,
    })
}

/// Records a resource; recording the same key again is a no-op.
pub async fn insert_resource(conn: &mut Conn, r: &ResourceRecord) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO resources ({RESOURCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (provider_id, idempotency_key) DO NOTHING"
    ))
    .bind(&r.id)
    .bind(r.order_id.to_string())
    .bind(r.provider_id.to_string())
    .bind(&r.external_id)
    .bind(&r.idempotency_key)
    .bind(&r.status)
    .bind(time_text(r.created_at))
    .bind(r.deleted_at.map(time_text))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn resources_of_order(conn: &mut Conn, order: OrderId) -> Result<Vec<ResourceRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {RESOURCE_COLUMNS} FROM resources WHERE order_id = $1 ORDER BY created_at"
    ))
    .bind(order.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(resource_from_row).collect()
}

/// Live (not deleted) resources at one provider, for drift checks.
pub async fn live_resources(conn: &mut Conn, provider: ProviderId) -> Result<Vec<ResourceRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {RESOURCE_COLUMNS} FROM resources WHERE provider_id = $1 AND deleted_at IS NULL ORDER BY created_at"
    ))
    .bind(provider.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(resource_from_row).collect()
}

/// Marks an order's resources deleted.
pub async fn mark_resources_deleted(
    conn: &mut Conn,
    order: OrderId,
    now: DateTime<Utc>,
) -> Result<u64> {
    let done = sqlx::query("UPDATE resources SET deleted_at = $2, status = 'deleted' WHERE order_id = $1 AND deleted_at IS NULL")
        .bind(order.to_string())
        .bind(time_text(now))
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

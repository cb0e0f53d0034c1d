//! The audit chain's storage: the head row that serialises appends, the
//! records, and reads in chain order. Hashing is done by `app::audit`.
//!
//! Area `audit` (the audit chain), storage (all SQL) layer: the use cases
//! are in `makonis_app::audit`; the same area folder exists in
//! `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: MON-3, SEC-7.

use makonis_types::InstitutionId;
use makonis_types::audit::{AuditFilter, AuditRecord};
use makonis_types::paging::{Page, PageRequest};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Conn;
use crate::{Filter, FilterValue, Result};

const COLUMNS: &str = "seq, recorded_at, actor_user_id, actor_label, acting_institution_id, action, \
    target_kind, target_id, target_institution_id, before_state, after_state, request_id, prev_hash, hash";

fn from_row(row: &AnyRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.try_get("seq")?,
        recorded_at: row.try_get("recorded_at")?,
        actor_user_id: row.try_get("actor_user_id")?,
        actor_label: row.try_get("actor_label")?,
        acting_institution_id: row.try_get("acting_institution_id")?,
        action: row.try_get("action")?,
        target_kind: row.try_get("target_kind")?,
        target_id: row.try_get("target_id")?,
        target_institution_id: row.try_get("target_institution_id")?,
        before_state: row.try_get("before_state")?,
        after_state: row.try_get("after_state")?,
        request_id: row.try_get("request_id")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Claims the next sequence number. The update locks the head row until the
/// transaction ends, so concurrent writers append one after another.
/// Returns (new seq, hash of the previous record).
pub async fn advance_head(conn: &mut Conn) -> Result<(i64, String)> {
    let row = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(conn)
        .await?;
    Ok((row.try_get("seq")?, row.try_get("hash")?))
}

pub async fn set_head_hash(conn: &mut Conn, hash: &str) -> Result<()> {
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// The head: (last seq, last hash).
pub async fn head(conn: &mut Conn) -> Result<(i64, String)> {
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(conn)
        .await?;
    Ok((row.try_get("seq")?, row.try_get("hash")?))
}

pub async fn insert(conn: &mut Conn, r: &AuditRecord) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO audit_records ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(r.seq)
    .bind(&r.recorded_at)
    .bind(&r.actor_user_id)
    .bind(&r.actor_label)
    .bind(&r.acting_institution_id)
    .bind(&r.action)
    .bind(&r.target_kind)
    .bind(&r.target_id)
    .bind(&r.target_institution_id)
    .bind(&r.before_state)
    .bind(&r.after_state)
    .bind(&r.request_id)
    .bind(&r.prev_hash)
    .bind(&r.hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records in chain order with `seq > after`, at most `limit` of them. Used
/// by verification and export, which walk the chain in batches.
pub async fn batch_after(conn: &mut Conn, after: i64, limit: i64) -> Result<Vec<AuditRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_records WHERE seq > $1 ORDER BY seq LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Newest first, restricted to records about `visible` institutions unless
/// `None`.
pub async fn list(
    conn: &mut Conn,
    visible: Option<&[InstitutionId]>,
    f: &AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditRecord>> {
    let mut filter = Filter::default();
    if let Some(ids) = visible {
        filter.and_in(
            "target_institution_id",
            ids.iter().map(ToString::to_string).collect(),
        );
    }
    if let Some(id) = f.institution_id {
        filter.and(
            "target_institution_id = ?",
            [FilterValue::Text(id.to_string())],
        );
    }
    if let Some(action) = f.action.as_deref().filter(|a| !a.is_empty()) {
        filter.and("action = ?", [FilterValue::Text(action.to_owned())]);
    }
    if let Some(target) = f.target_id.as_deref().filter(|a| !a.is_empty()) {
        filter.and("target_id = ?", [FilterValue::Text(target.to_owned())]);
    }
    let total = filter.count(conn, "audit_records").await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_records{} ORDER BY seq DESC LIMIT {} OFFSET {}",
        filter.sql(),
        page.limit(),
        page.offset()
    );
    let rows = filter.bind(sqlx::query(&sql)).fetch_all(conn).await?;
    Ok(Page {
        items: rows.iter().map(from_row).collect::<Result<_>>()?,
        total,
        limit: page.limit(),
        offset: page.offset(),
    })
}

//! Embassy protections, replication and drill runs, four-eyes grants, and
//! alerts about a protected system.
//!
//! Area `embassy` (protections, runs, grants, DR plans and restores of the
//! data embassy), storage (all SQL) layer: the use cases are in
//! `makonis_app::embassy`; the same area folder exists in
//! `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: EMB-1 to EMB-10.

use chrono::{DateTime, Utc};
use makonis_types::embassy::*;
use makonis_types::{InformationSystemId, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::datastore::Conn;
use crate::{Result, parse_enum, parse_id, parse_opt_time, parse_time, time_text};

const PROTECTION_COLUMNS: &str = "information_system_id, institution_id, site_id, primary_location, replica_location, \
    secrets_sealed, hot_interval_minutes, drill_interval_days, latency_ms, cold_location, cold_retain_days, \
    cold_interval_days, s3_endpoint, created_at, updated_at";

fn protection_from_row(r: &AnyRow) -> Result<(Protection, String)> {
    Ok((
        Protection {
            information_system_id: parse_id(&r.try_get::<String, _>("information_system_id")?)?,
            institution_id: parse_id(&r.try_get::<String, _>("institution_id")?)?,
            site_id: parse_id(&r.try_get::<String, _>("site_id")?)?,
            primary_location: r.try_get("primary_location")?,
            replica_location: r.try_get("replica_location")?,
            hot_interval_minutes: r.try_get("hot_interval_minutes")?,
            drill_interval_days: r.try_get("drill_interval_days")?,
            latency_ms: r.try_get("latency_ms")?,
            cold_location: r.try_get("cold_location")?,
            cold_retain_days: r.try_get("cold_retain_days")?,
            cold_interval_days: r.try_get("cold_interval_days")?,
            s3_endpoint: r.try_get("s3_endpoint")?,
            created_at: parse_time(&r.try_get::<String, _>("created_at")?)?,
            updated_at: parse_time(&r.try_get::<String, _>("updated_at")?)?,
        },
        r.try_get("secrets_sealed")?,
    ))
}

/// Inserts or replaces a system's protection with its sealed secrets.
pub async fn put_protection(conn: &mut Conn, p: &Protection, secrets_sealed: &str) -> Result<()> {
    sqlx::query("DELETE FROM embassy_protections WHERE information_system_id = $1")
        .bind(p.information_system_id.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!(
        "INSERT INTO embassy_protections ({PROTECTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .bind(p.information_system_id.to_string())
    .bind(p.institution_id.to_string())
    .bind(p.site_id.to_string())
    .bind(&p.primary_location)
    .bind(&p.replica_location)
    .bind(secrets_sealed)
    .bind(p.hot_interval_minutes)
    .bind(p.drill_interval_days)
    .bind(p.latency_ms)
    .bind(&p.cold_location)
    .bind(p.cold_retain_days)
    .bind(p.cold_interval_days)
    .bind(&p.s3_endpoint)
    .bind(time_text(p.created_at))
    .bind(time_text(p.updated_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// A protection and its sealed secrets.
pub async fn protection(
    conn: &mut Conn,
    system: InformationSystemId,
) -> Result<Option<(Protection, String)>> {
    let row = sqlx::query(&format!(
        "SELECT {PROTECTION_COLUMNS} FROM embassy_protections WHERE information_system_id = $1"
    ))
    .bind(system.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(protection_from_row).transpose()
}

pub async fn protections(conn: &mut Conn) -> Result<Vec<Protection>> {
    let rows = sqlx::query(&format!(
        "SELECT {PROTECTION_COLUMNS} FROM embassy_protections ORDER BY created_at"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| protection_from_row(r).map(|(p, _)| p))
        .collect()
}

const RUN_COLUMNS: &str = "id, information_system_id, kind, started_at, finished_at, outcome, newest_snapshot_at, \
    achieved_rpo_seconds, rto_seconds, bytes, detail";

fn run_from_row(r: &AnyRow) -> Result<EmbassyRun> {
    Ok(EmbassyRun {
        id: r.try_get("id")?,
        information_system_id: parse_id(&r.try_get::<String, _>("information_system_id")?)?,
        kind: parse_enum(&r.try_get::<String, _>("kind")?)?,
        started_at: parse_time(&r.try_get::<String, _>("started_at")?)?,
        finished_at: parse_time(&r.try_get::<String, _>("finished_at")?)?,
        outcome: parse_enum(&r.try_get::<String, _>("outcome")?)?,
        newest_snapshot_at: parse_opt_time(r.try_get("newest_snapshot_at")?)?,
        achieved_rpo_seconds: r.try_get("achieved_rpo_seconds")?,
        rto_seconds: r.try_get("rto_seconds")?,
        bytes: r.try_get("bytes")?,
        detail: r.try_get("detail")?,
    })
}

pub async fn insert_run(conn: &mut Conn, run: &EmbassyRun) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO embassy_runs ({RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&run.id)
    .bind(run.information_system_id.to_string())
    .bind(run.kind.as_str())
    .bind(time_text(run.started_at))
    .bind(time_text(run.finished_at))
    .bind(run.outcome.as_str())
    .bind(run.newest_snapshot_at.map(time_text))
    .bind(run.achieved_rpo_seconds)
    .bind(run.rto_seconds)
    .bind(run.bytes)
    .bind(&run.detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// A system's runs of one kind, newest first.
pub async fn runs(
    conn: &mut Conn,
    system: InformationSystemId,
    kind: RunKind,
    limit: i64,
) -> Result<Vec<EmbassyRun>> {
    let rows = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM embassy_runs WHERE information_system_id = $1 AND kind = $2 \
         ORDER BY started_at DESC LIMIT $3"
    ))
    .bind(system.to_string())
    .bind(kind.as_str())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(run_from_row).collect()
}

const GRANT_COLUMNS: &str = "id, information_system_id, institution_id, purpose, reason, requested_by, requested_at, \
    hours, custodian_id, security_officer_id, state, valid_until";

fn opt_user(r: &AnyRow, column: &str) -> Result<Option<UserId>> {
    r.try_get::<Option<String>, _>(column)?
        .as_deref()
        .map(parse_id)
        .transpose()
}

fn grant_from_row(r: &AnyRow) -> Result<Grant> {
    Ok(Grant {
        id: parse_id(&r.try_get::<String, _>("id")?)?,
        information_system_id: parse_id(&r.try_get::<String, _>("information_system_id")?)?,
        institution_id: parse_id(&r.try_get::<String, _>("institution_id")?)?,
        purpose: parse_enum(&r.try_get::<String, _>("purpose")?)?,
        reason: r.try_get("reason")?,
        requested_by: parse_id(&r.try_get::<String, _>("requested_by")?)?,
        requested_at: parse_time(&r.try_get::<String, _>("requested_at")?)?,
        hours: r.try_get("hours")?,
        custodian_id: opt_user(r, "custodian_id")?,
        security_officer_id: opt_user(r, "security_officer_id")?,
        state: parse_enum(&r.try_get::<String, _>("state")?)?,
        valid_until: parse_opt_time(r.try_get("valid_until")?)?,
    })
}

pub async fn insert_grant(conn: &mut Conn, g: &Grant) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO embassy_grants ({GRANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(g.id.to_string())
    .bind(g.information_system_id.to_string())
    .bind(g.institution_id.to_string())
    .bind(g.purpose.as_str())
    .bind(&g.reason)
    .bind(g.requested_by.to_string())
    .bind(time_text(g.requested_at))
    .bind(g.hours)
    .bind(g.custodian_id.map(|u| u.to_string()))
    .bind(g.security_officer_id.map(|u| u.to_string()))
    .bind(g.state.as_str())
    .bind(g.valid_until.map(time_text))
    .execute(conn)
    .await?;
    Ok(())
}

/// Records an approval; `expected` is the state the caller read, so two
/// approvals at once cannot both fill the same slot.
pub async fn update_grant(conn: &mut Conn, g: &Grant, expected: GrantState) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE embassy_grants SET custodian_id = $2, security_officer_id = $3, state = $4, valid_until = $5 \
         WHERE id = $1 AND state = $6",
    )
    .bind(g.id.to_string())
    .bind(g.custodian_id.map(|u| u.to_string()))
    .bind(g.security_officer_id.map(|u| u.to_string()))
    .bind(g.state.as_str())
    .bind(g.valid_until.map(time_text))
    .bind(expected.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn grant(conn: &mut Conn, id: GrantId) -> Result<Option<Grant>> {
    let row = sqlx::query(&format!(
        "SELECT {GRANT_COLUMNS} FROM embassy_grants WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(grant_from_row).transpose()
}

/// Grants, newest first; only `system`'s when given.
pub async fn grants(conn: &mut Conn, system: Option<InformationSystemId>) -> Result<Vec<Grant>> {
    let rows = match system {
        Some(s) => {
            sqlx::query(&format!(
                "SELECT {GRANT_COLUMNS} FROM embassy_grants WHERE information_system_id = $1 ORDER BY requested_at DESC LIMIT 200"
            ))
            .bind(s.to_string())
            .fetch_all(conn)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {GRANT_COLUMNS} FROM embassy_grants ORDER BY requested_at DESC LIMIT 200"
            ))
            .fetch_all(conn)
            .await?
        }
    };
    rows.iter().map(grant_from_row).collect()
}

/// An alert about a protected system for one person.
pub async fn notify_about_system(
    conn: &mut Conn,
    user: UserId,
    kind: &str,
    system: InformationSystemId,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO notifications (id, user_id, kind, information_system_id, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(user.to_string())
    .bind(kind)
    .bind(system.to_string())
    .bind(time_text(now))
    .execute(conn)
    .await?;
    Ok(())
}

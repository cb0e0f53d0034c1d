//! Reconciler runs: what each periodic check last found, per subject.
//!
//! Area `background` (reconciler runs and drift), storage (all SQL) layer:
//! the use cases are in `makonis_app::background`; the same area folder
//! exists in `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: FED-4, FED-7.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::datastore::Conn;
use crate::{Result, parse_time, time_text};

/// One run of a reconciler over one subject.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ReconcilerRun {
    pub id: String,
    pub reconciler: String,
    /// What it looked at (a provider id).
    pub subject: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// `clean`, `drift` or `error`.
    pub outcome: String,
    /// What it found, as JSON.
    pub summary: String,
}

pub async fn record_run(conn: &mut Conn, run: &ReconcilerRun) -> Result<()> {
    sqlx::query(
        "INSERT INTO reconciler_runs (id, reconciler, subject, started_at, finished_at, outcome, summary) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&run.id)
    .bind(&run.reconciler)
    .bind(&run.subject)
    .bind(time_text(run.started_at))
    .bind(time_text(run.finished_at))
    .bind(&run.outcome)
    .bind(&run.summary)
    .execute(conn)
    .await?;
    Ok(())
}

/// The latest run of each reconciler for each subject.
pub async fn latest_runs(conn: &mut Conn) -> Result<Vec<ReconcilerRun>> {
    let rows = sqlx::query(
        "SELECT r.id, r.reconciler, r.subject, r.started_at, r.finished_at, r.outcome, r.summary FROM reconciler_runs r
         WHERE r.started_at = (SELECT MAX(x.started_at) FROM reconciler_runs x WHERE x.reconciler = r.reconciler AND x.subject = r.subject)
         ORDER BY r.reconciler, r.subject",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ReconcilerRun {
                id: r.try_get("id")?,
                reconciler: r.try_get("reconciler")?,
                subject: r.try_get("subject")?,
                started_at: parse_time(&r.try_get::<String, _>("started_at")?)?,
                finished_at: parse_time(&r.try_get::<String, _>("finished_at")?)?,
                outcome: r.try_get("outcome")?,
                summary: r.try_get("summary")?,
            })
        })
        .collect()
}

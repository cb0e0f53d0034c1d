//! Login throttling counters, keyed by account and by client address. Kept
//! in the database so every server replica sees the same counts.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::datastore::Conn;
use crate::{Result, parse_opt_time, parse_time, time_text};

#[derive(Debug, Clone)]
pub struct Counter {
    pub failures: i64,
    pub window_start: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

pub async fn get(conn: &mut Conn, key: &str) -> Result<Option<Counter>> {
    let row = sqlx::query(
        "SELECT failures, window_start, locked_until FROM login_throttle WHERE throttle_key = $1",
    )
    .bind(key)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Counter {
        failures: row.try_get("failures")?,
        window_start: parse_time(&row.try_get::<String, _>("window_start")?)?,
        locked_until: parse_opt_time(row.try_get("locked_until")?)?,
    }))
}

pub async fn put(conn: &mut Conn, key: &str, c: &Counter) -> Result<()> {
    sqlx::query(
        "INSERT INTO login_throttle (throttle_key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4)
         ON CONFLICT (throttle_key) DO UPDATE SET failures = $2, window_start = $3, locked_until = $4",
    )
    .bind(key)
    .bind(c.failures)
    .bind(time_text(c.window_start))
    .bind(c.locked_until.map(time_text))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn clear(conn: &mut Conn, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

//! Portal sessions. Only a hash of the session token is stored, so a copy of
//! the database does not let anyone sign in.

use chrono::{DateTime, Utc};
use makonis_types::UserId;
use sqlx::Row;

use crate::datastore::Conn;
use crate::{Result, parse_id, parse_time, time_text};

#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub user_id: UserId,
    pub csrf_token: String,
    pub mfa_verified: bool,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut Conn, s: &Session) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, mfa_verified, created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&s.token_hash)
    .bind(s.user_id.to_string())
    .bind(&s.csrf_token)
    .bind(i64::from(s.mfa_verified))
    .bind(time_text(s.created_at))
    .bind(time_text(s.last_seen_at))
    .bind(time_text(s.expires_at))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, token_hash: &str) -> Result<Option<Session>> {
    let row = sqlx::query(
        "SELECT token_hash, user_id, csrf_token, mfa_verified, created_at, last_seen_at, expires_at
         FROM sessions WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Session {
        token_hash: row.try_get("token_hash")?,
        user_id: parse_id(&row.try_get::<String, _>("user_id")?)?,
        csrf_token: row.try_get("csrf_token")?,
        mfa_verified: row.try_get::<i64, _>("mfa_verified")? != 0,
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        last_seen_at: parse_time(&row.try_get::<String, _>("last_seen_at")?)?,
        expires_at: parse_time(&row.try_get::<String, _>("expires_at")?)?,
    }))
}

/// Slides the idle expiry forward.
pub async fn touch(
    conn: &mut Conn,
    token_hash: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE token_hash = $1")
        .bind(token_hash)
        .bind(time_text(now))
        .bind(time_text(expires))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn mark_mfa_verified(conn: &mut Conn, token_hash: &str) -> Result<()> {
    sqlx::query("UPDATE sessions SET mfa_verified = $2 WHERE token_hash = $1")
        .bind(token_hash)
        .bind(i64::from(true))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_for_user(conn: &mut Conn, user: UserId) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_expired(conn: &mut Conn, now: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(time_text(now))
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

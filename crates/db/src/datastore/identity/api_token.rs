//! API tokens for the REST API and the CLI. The secret is shown once at
//! creation; only its SHA-256 is stored.

use chrono::{DateTime, Utc};
use makonis_types::token::ApiToken;
use makonis_types::{ApiTokenId, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::datastore::Conn;
use crate::{Error, Result, parse_enum, parse_id, parse_opt_time, parse_time, time_text};

const COLUMNS: &str = "id, user_id, name, scope, created_at, expires_at, last_used_at, revoked_at";

fn from_row(row: &AnyRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: parse_id(&row.try_get::<String, _>("id")?)?,
        user_id: parse_id(&row.try_get::<String, _>("user_id")?)?,
        name: row.try_get("name")?,
        scope: parse_enum(&row.try_get::<String, _>("scope")?)?,
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        expires_at: parse_opt_time(row.try_get("expires_at")?)?,
        last_used_at: parse_opt_time(row.try_get("last_used_at")?)?,
        revoked_at: parse_opt_time(row.try_get("revoked_at")?)?,
    })
}

pub async fn insert(conn: &mut Conn, token: &ApiToken, token_hash: &str) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO api_tokens ({COLUMNS}, token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(token.id.to_string())
    .bind(token.user_id.to_string())
    .bind(&token.name)
    .bind(token.scope.as_str())
    .bind(time_text(token.created_at))
    .bind(token.expires_at.map(time_text))
    .bind(token.last_used_at.map(time_text))
    .bind(token.revoked_at.map(time_text))
    .bind(token_hash)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find_by_hash(conn: &mut Conn, token_hash: &str) -> Result<Option<ApiToken>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get(conn: &mut Conn, id: ApiTokenId) -> Result<Option<ApiToken>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list_for_user(conn: &mut Conn, user: UserId) -> Result<Vec<ApiToken>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC"
    ))
    .bind(user.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn revoke(conn: &mut Conn, id: ApiTokenId, now: DateTime<Utc>) -> Result<()> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id.to_string())
            .bind(time_text(now))
            .execute(conn)
            .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

pub async fn touch(conn: &mut Conn, id: ApiTokenId, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
        .bind(id.to_string())
        .bind(time_text(now))
        .execute(conn)
        .await?;
    Ok(())
}

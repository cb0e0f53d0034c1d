//! User accounts, their credentials and recovery codes.

use chrono::{DateTime, Utc};
use makonis_types::paging::{Page, PageRequest};
use makonis_types::user::User;
use makonis_types::{InstitutionId, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::datastore::Conn;
use crate::{
    Error, Filter, FilterValue, Result, contains_pattern, fold, parse_id, parse_time, time_text,
};

const COLUMNS: &str =
    "id, email, display_name, institution_id, active, totp_secret, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<User> {
    let institution: Option<String> = row.try_get("institution_id")?;
    let totp: Option<String> = row.try_get("totp_secret")?;
    Ok(User {
        id: parse_id(&row.try_get::<String, _>("id")?)?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        institution_id: institution.as_deref().map(parse_id).transpose()?,
        active: row.try_get::<i64, _>("active")? != 0,
        mfa_enabled: totp.is_some(),
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_time(&row.try_get::<String, _>("updated_at")?)?,
    })
}

/// What login needs besides the public record.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: Option<String>,
    /// Sealed (encrypted) TOTP secret, when MFA is enabled.
    pub totp_secret: Option<String>,
    /// Sealed secret of an enrolment in progress.
    pub totp_pending_secret: Option<String>,
}

pub struct NewUserRecord<'a> {
    pub id: UserId,
    pub email: &'a str,
    pub display_name: &'a str,
    pub institution_id: Option<InstitutionId>,
    pub password_hash: Option<&'a str>,
}

pub async fn insert(
    conn: &mut Conn,
    record: NewUserRecord<'_>,
    now: DateTime<Utc>,
) -> Result<User> {
    sqlx::query(
        "INSERT INTO users (id, email, display_name, institution_id, password_hash, active, search_folded, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(record.id.to_string())
    .bind(record.email)
    .bind(record.display_name)
    .bind(record.institution_id.map(|i| i.to_string()))
    .bind(record.password_hash)
    .bind(i64::from(true))
    .bind(fold(&format!("{} {}", record.email, record.display_name)))
    .bind(time_text(now))
    .execute(&mut *conn)
    .await?;
    get(conn, record.id).await?.ok_or(Error::NotFound)
}

pub async fn get(conn: &mut Conn, id: UserId) -> Result<Option<User>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn credentials_by_email(conn: &mut Conn, email: &str) -> Result<Option<Credentials>> {
    credentials_where(conn, "email = $1", email.to_lowercase()).await
}

pub async fn credentials(conn: &mut Conn, id: UserId) -> Result<Option<Credentials>> {
    credentials_where(conn, "id = $1", id.to_string()).await
}

async fn credentials_where(
    conn: &mut Conn,
    clause: &str,
    value: String,
) -> Result<Option<Credentials>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, password_hash, totp_pending_secret FROM users WHERE {clause}"
    ))
    .bind(value)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Credentials {
        user: from_row(&row)?,
        password_hash: row.try_get("password_hash")?,
        totp_secret: row.try_get("totp_secret")?,
        totp_pending_secret: row.try_get("totp_pending_secret")?,
    }))
}

pub async fn update_profile(
    conn: &mut Conn,
    id: UserId,
    display_name: &str,
    active: bool,
    now: DateTime<Utc>,
) -> Result<User> {
    let Some(existing) = get(conn, id).await? else {
        return Err(Error::NotFound);
    };
    let done = sqlx::query(
        "UPDATE users SET display_name = $2, active = $3, updated_at = $4, search_folded = $5 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(display_name)
    .bind(i64::from(active))
    .bind(time_text(now))
    .bind(fold(&format!("{} {}", existing.email, display_name)))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    get(conn, id).await?.ok_or(Error::NotFound)
}

pub async fn set_password_hash(
    conn: &mut Conn,
    id: UserId,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
        .bind(id.to_string())
        .bind(hash)
        .bind(time_text(now))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_totp_pending(conn: &mut Conn, id: UserId, sealed: Option<&str>) -> Result<()> {
    sqlx::query("UPDATE users SET totp_pending_secret = $2 WHERE id = $1")
        .bind(id.to_string())
        .bind(sealed)
        .execute(conn)
        .await?;
    Ok(())
}

/// Turns the pending secret into the active one (or clears MFA with `None`).
pub async fn set_totp(
    conn: &mut Conn,
    id: UserId,
    sealed: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET totp_secret = $2, totp_pending_secret = NULL, totp_last_step = NULL, updated_at = $3 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(sealed)
    .bind(time_text(now))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn replace_recovery_codes(conn: &mut Conn, id: UserId, hashes: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    for hash in hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(id.to_string())
            .bind(hash)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Marks an unused recovery code used; false if there was none.
pub async fn use_recovery_code(
    conn: &mut Conn,
    id: UserId,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(id.to_string())
    .bind(hash)
    .bind(time_text(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn unused_recovery_codes(conn: &mut Conn, id: UserId) -> Result<u64> {
    let mut filter = Filter::default();
    filter.and(
        "user_id = ? AND used_at IS NULL",
        [FilterValue::Text(id.to_string())],
    );
    filter.count(conn, "recovery_codes").await
}

/// Lists users whose home institution is in `visible` or who hold a role
/// there (None = all users).
pub async fn list(
    conn: &mut Conn,
    visible: Option<&[InstitutionId]>,
    q: Option<&str>,
    page: PageRequest,
) -> Result<Page<User>> {
    let mut filter = Filter::default();
    if let Some(ids) = visible {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        if ids.is_empty() {
            filter.and("1 = 0", []);
        } else {
            let marks = vec!["?"; ids.len()].join(", ");
            let values = ids.iter().chain(ids.iter()).cloned().map(FilterValue::Text);
            filter.and(
                &format!(
                    "(institution_id IN ({marks}) OR id IN \
                     (SELECT user_id FROM role_assignments WHERE institution_id IN ({marks})))"
                ),
                values,
            );
        }
    }
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = contains_pattern(q);
        filter.and(
            "search_folded LIKE ? ESCAPE '\\'",
            [FilterValue::Text(pattern)],
        );
    }
    let total = filter.count(conn, "users").await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM users{} ORDER BY email, id LIMIT {} OFFSET {}",
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

/// Records that a TOTP code of time step `step` was used. Fails (false) if
/// that step or a later one was already used: codes are single-use.
pub async fn claim_totp_step(conn: &mut Conn, id: UserId, step: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
    )
    .bind(id.to_string())
    .bind(step)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

//! Institutions.

use chrono::{DateTime, Utc};
use makonis_types::InstitutionId;
use makonis_types::institution::{Institution, ValidInstitution};
use makonis_types::paging::{Page, PageRequest};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::datastore::Conn;
use crate::{
    Filter, FilterValue, Result, contains_pattern, fold, parse_enum, parse_id, parse_time,
    time_text,
};

const COLUMNS: &str = "id, name, short_name, registration_number, kind, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<Institution> {
    Ok(Institution {
        id: parse_id(&row.try_get::<String, _>("id")?)?,
        name: row.try_get("name")?,
        short_name: row.try_get("short_name")?,
        registration_number: row.try_get("registration_number")?,
        kind: parse_enum(&row.try_get::<String, _>("kind")?)?,
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_time(&row.try_get::<String, _>("updated_at")?)?,
    })
}

pub async fn insert(
    conn: &mut Conn,
    id: InstitutionId,
    input: &ValidInstitution,
    now: DateTime<Utc>,
) -> Result<Institution> {
    let now_text = time_text(now);
    sqlx::query(
        "INSERT INTO institutions (id, name, short_name, registration_number, kind, name_folded, short_name_folded, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(id.to_string())
    .bind(&input.name)
    .bind(&input.short_name)
    .bind(&input.registration_number)
    .bind(input.kind.as_str())
    .bind(fold(&input.name))
    .bind(fold(&input.short_name))
    .bind(&now_text)
    .execute(&mut *conn)
    .await?;
    get(conn, id).await?.ok_or(crate::Error::NotFound)
}

pub async fn update(
    conn: &mut Conn,
    id: InstitutionId,
    input: &ValidInstitution,
    now: DateTime<Utc>,
) -> Result<Institution> {
    let done = sqlx::query(
        "UPDATE institutions SET name = $2, short_name = $3, registration_number = $4, kind = $5, updated_at = $6,
         name_folded = $7, short_name_folded = $8 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(&input.name)
    .bind(&input.short_name)
    .bind(&input.registration_number)
    .bind(input.kind.as_str())
    .bind(time_text(now))
    .bind(fold(&input.name))
    .bind(fold(&input.short_name))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(crate::Error::NotFound);
    }
    get(conn, id).await?.ok_or(crate::Error::NotFound)
}

pub async fn get(conn: &mut Conn, id: InstitutionId) -> Result<Option<Institution>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM institutions WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Lists institutions, optionally only those in `visible` (None = all), with
/// an optional case-insensitive text filter on name and short name.
pub async fn list(
    conn: &mut Conn,
    visible: Option<&[InstitutionId]>,
    q: Option<&str>,
    page: PageRequest,
) -> Result<Page<Institution>> {
    let mut filter = Filter::default();
    if let Some(ids) = visible {
        filter.and_in("id", ids.iter().map(ToString::to_string).collect());
    }
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = contains_pattern(q);
        filter.and(
            "(name_folded LIKE ? ESCAPE '\\' OR short_name_folded LIKE ? ESCAPE '\\')",
            [
                FilterValue::Text(pattern.clone()),
                FilterValue::Text(pattern),
            ],
        );
    }
    let total = filter.count(conn, "institutions").await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM institutions{} ORDER BY name_folded, id LIMIT {} OFFSET {}",
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

pub async fn count(conn: &mut Conn) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM institutions")
        .fetch_one(conn)
        .await?
        .try_get("n")?)
}

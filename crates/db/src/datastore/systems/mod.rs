//! Information systems.
//!
//! Area `systems` (the register of information systems), storage (all SQL)
//! layer: the use cases are in `makonis_app::systems`; the same area folder
//! exists in `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: REG-1, SEC-7, SEC-8.

use chrono::{DateTime, Utc};
use makonis_types::information_system::{
    InformationSystem, InformationSystemFilter, ValidInformationSystem,
};
use makonis_types::paging::{Page, PageRequest};
use makonis_types::{InformationSystemId, InstitutionId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::datastore::Conn;
use crate::{
    Error, Filter, FilterValue, Result, contains_pattern, fold, parse_enum, parse_id, parse_time,
    time_text,
};

const COLUMNS: &str = "id, institution_id, code, name, description, responsible_person, responsible_email, \
    security_category, critical_infrastructure, data_classification, rpo_minutes, rto_minutes, \
    embassy_required, lifecycle, search_folded, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<InformationSystem> {
    Ok(InformationSystem {
        id: parse_id(&row.try_get::<String, _>("id")?)?,
        institution_id: parse_id(&row.try_get::<String, _>("institution_id")?)?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        responsible_person: row.try_get("responsible_person")?,
        responsible_email: row.try_get("responsible_email")?,
        security_category: parse_enum(&row.try_get::<String, _>("security_category")?)?,
        critical_infrastructure: row.try_get::<i64, _>("critical_infrastructure")? != 0,
        data_classification: parse_enum(&row.try_get::<String, _>("data_classification")?)?,
        rpo_minutes: row.try_get("rpo_minutes")?,
        rto_minutes: row.try_get("rto_minutes")?,
        embassy_required: row.try_get::<i64, _>("embassy_required")? != 0,
        lifecycle: parse_enum(&row.try_get::<String, _>("lifecycle")?)?,
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_time(&row.try_get::<String, _>("updated_at")?)?,
    })
}

pub async fn insert(
    conn: &mut Conn,
    id: InformationSystemId,
    institution_id: InstitutionId,
    v: &ValidInformationSystem,
    now: DateTime<Utc>,
) -> Result<InformationSystem> {
    sqlx::query(&format!(
        "INSERT INTO information_systems ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)"
    ))
    .bind(id.to_string())
    .bind(institution_id.to_string())
    .bind(&v.code)
    .bind(&v.name)
    .bind(&v.description)
    .bind(&v.responsible_person)
    .bind(&v.responsible_email)
    .bind(v.security_category.as_str())
    .bind(i64::from(v.critical_infrastructure))
    .bind(v.data_classification.as_str())
    .bind(v.rpo_minutes)
    .bind(v.rto_minutes)
    .bind(i64::from(v.embassy_required))
    .bind(v.lifecycle.as_str())
    .bind(search_key(v))
    .bind(time_text(now))
    .execute(&mut *conn)
    .await?;
    get(conn, id).await?.ok_or(Error::NotFound)
}

fn search_key(v: &ValidInformationSystem) -> String {
    fold(&format!("{} {}", v.code, v.name))
}

pub async fn update(
    conn: &mut Conn,
    id: InformationSystemId,
    v: &ValidInformationSystem,
    now: DateTime<Utc>,
) -> Result<InformationSystem> {
    let done = sqlx::query(
        "UPDATE information_systems SET code = $2, name = $3, description = $4, responsible_person = $5, \
         responsible_email = $6, security_category = $7, critical_infrastructure = $8, \
         data_classification = $9, rpo_minutes = $10, rto_minutes = $11, embassy_required = $12, \
         lifecycle = $13, updated_at = $14, search_folded = $15 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(&v.code)
    .bind(&v.name)
    .bind(&v.description)
    .bind(&v.responsible_person)
    .bind(&v.responsible_email)
    .bind(v.security_category.as_str())
    .bind(i64::from(v.critical_infrastructure))
    .bind(v.data_classification.as_str())
    .bind(v.rpo_minutes)
    .bind(v.rto_minutes)
    .bind(i64::from(v.embassy_required))
    .bind(v.lifecycle.as_str())
    .bind(time_text(now))
    .bind(search_key(v))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    get(conn, id).await?.ok_or(Error::NotFound)
}

pub async fn get(conn: &mut Conn, id: InformationSystemId) -> Result<Option<InformationSystem>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM information_systems WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Lists systems matching `filter`, restricted to the institutions in
/// `visible` unless it is `None` (platform-wide readers).
pub async fn list(
    conn: &mut Conn,
    visible: Option<&[InstitutionId]>,
    f: &InformationSystemFilter,
    page: PageRequest,
) -> Result<Page<InformationSystem>> {
    let mut filter = Filter::default();
    if let Some(ids) = visible {
        filter.and_in(
            "institution_id",
            ids.iter().map(ToString::to_string).collect(),
        );
    }
    if let Some(id) = f.institution_id {
        filter.and("institution_id = ?", [FilterValue::Text(id.to_string())]);
    }
    if let Some(c) = f.security_category {
        filter.and(
            "security_category = ?",
            [FilterValue::Text(c.as_str().into())],
        );
    }
    if let Some(l) = f.lifecycle {
        filter.and("lifecycle = ?", [FilterValue::Text(l.as_str().into())]);
    }
    if let Some(b) = f.critical_infrastructure {
        filter.and("critical_infrastructure = ?", [FilterValue::Bool(b)]);
    }
    if let Some(b) = f.embassy_required {
        filter.and("embassy_required = ?", [FilterValue::Bool(b)]);
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = contains_pattern(q);
        filter.and(
            "search_folded LIKE ? ESCAPE '\\'",
            [FilterValue::Text(pattern)],
        );
    }
    let total = filter.count(conn, "information_systems").await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM information_systems{} ORDER BY code, id LIMIT {} OFFSET {}",
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

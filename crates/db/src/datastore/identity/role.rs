//! Role assignments.

use chrono::{DateTime, Utc};
use makonis_types::roles::Role;
use makonis_types::roles::RoleAssignment;
use makonis_types::{InstitutionId, RoleAssignmentId, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::datastore::Conn;
use crate::{Error, Result, parse_enum, parse_id, time_text};

fn from_row(row: &AnyRow) -> Result<RoleAssignment> {
    let institution: Option<String> = row.try_get("institution_id")?;
    Ok(RoleAssignment {
        id: parse_id(&row.try_get::<String, _>("id")?)?,
        user_id: parse_id(&row.try_get::<String, _>("user_id")?)?,
        role: parse_enum(&row.try_get::<String, _>("role")?)?,
        institution_id: institution.as_deref().map(parse_id).transpose()?,
    })
}

pub async fn insert(
    conn: &mut Conn,
    user: UserId,
    role: Role,
    institution: Option<InstitutionId>,
    now: DateTime<Utc>,
) -> Result<RoleAssignment> {
    let assignment = RoleAssignment {
        id: RoleAssignmentId::new(),
        user_id: user,
        role,
        institution_id: institution,
    };
    sqlx::query(
        "INSERT INTO role_assignments (id, user_id, role, institution_id, scope_key, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(assignment.id.to_string())
    .bind(user.to_string())
    .bind(role.as_str())
    .bind(institution.map(|i| i.to_string()))
    .bind(institution.map_or_else(|| "platform".to_owned(), |i| i.to_string()))
    .bind(time_text(now))
    .execute(conn)
    .await?;
    Ok(assignment)
}

pub async fn for_user(conn: &mut Conn, user: UserId) -> Result<Vec<RoleAssignment>> {
    let rows = sqlx::query(
        "SELECT id, user_id, role, institution_id FROM role_assignments WHERE user_id = $1 ORDER BY role, id",
    )
    .bind(user.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(conn: &mut Conn, id: RoleAssignmentId) -> Result<Option<RoleAssignment>> {
    let row =
        sqlx::query("SELECT id, user_id, role, institution_id FROM role_assignments WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(conn)
            .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn delete(conn: &mut Conn, id: RoleAssignmentId) -> Result<()> {
    let done = sqlx::query("DELETE FROM role_assignments WHERE id = $1")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

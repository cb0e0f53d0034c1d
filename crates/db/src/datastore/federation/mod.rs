//! Providers, their sites and certifications.
//!
//! Area `federation` (providers, their sites and certifications), storage
//! (all SQL) layer: the use cases are in `makonis_app::federation`; the same
//! area folder exists in `db/src/datastore`, `server/src/api` and
//! `server/src/portal`. Requirements: FED-1, FED-11, FED-13.

use chrono::{DateTime, Utc};
use makonis_types::InstitutionId;
use makonis_types::federation::*;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::datastore::Conn;
use crate::{Error, Result, fold, parse_date, parse_enum, parse_id, parse_time, time_text};

const PROVIDER_COLUMNS: &str = "id, name, short_name, institution_id, kind, platform, endpoint, credentials_sealed, created_at, updated_at";

fn provider_from_row(row: &AnyRow) -> Result<Provider> {
    let institution: Option<String> = row.try_get("institution_id")?;
    let sealed: Option<String> = row.try_get("credentials_sealed")?;
    Ok(Provider {
        id: parse_id(&row.try_get::<String, _>("id")?)?,
        name: row.try_get("name")?,
        short_name: row.try_get("short_name")?,
        institution_id: institution.as_deref().map(parse_id).transpose()?,
        kind: parse_enum(&row.try_get::<String, _>("kind")?)?,
        platform: parse_enum(&row.try_get::<String, _>("platform")?)?,
        endpoint: row.try_get("endpoint")?,
        has_credentials: sealed.is_some(),
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_time(&row.try_get::<String, _>("updated_at")?)?,
    })
}

pub struct ProviderRecord<'a> {
    pub id: ProviderId,
    pub name: &'a str,
    pub short_name: &'a str,
    pub institution_id: Option<InstitutionId>,
    pub kind: ProviderKind,
    pub platform: PlatformFamily,
    pub endpoint: Option<&'a str>,
    pub credentials_sealed: Option<&'a str>,
}

pub async fn insert_provider(
    conn: &mut Conn,
    r: &ProviderRecord<'_>,
    now: DateTime<Utc>,
) -> Result<Provider> {
    sqlx::query(&format!(
        "INSERT INTO providers ({PROVIDER_COLUMNS}, short_name_folded) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)"
    ))
    .bind(r.id.to_string())
    .bind(r.name)
    .bind(r.short_name)
    .bind(r.institution_id.map(|i| i.to_string()))
    .bind(r.kind.as_str())
    .bind(r.platform.as_str())
    .bind(r.endpoint)
    .bind(r.credentials_sealed)
    .bind(time_text(now))
    .bind(fold(r.short_name))
    .execute(&mut *conn)
    .await?;
    get_provider(conn, r.id).await?.ok_or(Error::NotFound)
}

/// Updates the public fields; credentials change only when `Some`.
pub async fn update_provider(
    conn: &mut Conn,
    r: &ProviderRecord<'_>,
    now: DateTime<Utc>,
) -> Result<Provider> {
    let done = sqlx::query(
        "UPDATE providers SET name = $2, short_name = $3, institution_id = $4, kind = $5, platform = $6, endpoint = $7,
         credentials_sealed = COALESCE($8, credentials_sealed), updated_at = $9, short_name_folded = $10 WHERE id = $1",
    )
    .bind(r.id.to_string())
    .bind(r.name)
    .bind(r.short_name)
    .bind(r.institution_id.map(|i| i.to_string()))
    .bind(r.kind.as_str())
    .bind(r.platform.as_str())
    .bind(r.endpoint)
    .bind(r.credentials_sealed)
    .bind(time_text(now))
    .bind(fold(r.short_name))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    get_provider(conn, r.id).await?.ok_or(Error::NotFound)
}

pub async fn get_provider(conn: &mut Conn, id: ProviderId) -> Result<Option<Provider>> {
    let row = sqlx::query(&format!(
        "SELECT {PROVIDER_COLUMNS} FROM providers WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(provider_from_row).transpose()
}

pub async fn sealed_credentials(conn: &mut Conn, id: ProviderId) -> Result<Option<String>> {
    let row = sqlx::query("SELECT credentials_sealed FROM providers WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(row
        .map(|r| r.try_get("credentials_sealed"))
        .transpose()?
        .flatten())
}

pub async fn list_providers(conn: &mut Conn) -> Result<Vec<Provider>> {
    let rows = sqlx::query(&format!(
        "SELECT {PROVIDER_COLUMNS} FROM providers ORDER BY short_name_folded"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter().map(provider_from_row).collect()
}

fn site_from_row(row: &AnyRow) -> Result<Site> {
    Ok(Site {
        id: parse_id(&row.try_get::<String, _>("id")?)?,
        provider_id: parse_id(&row.try_get::<String, _>("provider_id")?)?,
        name: row.try_get("name")?,
        country: row.try_get("country")?,
        latitude: row.try_get("latitude")?,
        longitude: row.try_get("longitude")?,
        uptime_tier: row.try_get("uptime_tier")?,
    })
}

pub async fn insert_site(conn: &mut Conn, site: &Site) -> Result<()> {
    sqlx::query(
        "INSERT INTO sites (id, provider_id, name, country, latitude, longitude, uptime_tier) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(site.id.to_string())
    .bind(site.provider_id.to_string())
    .bind(&site.name)
    .bind(&site.country)
    .bind(site.latitude)
    .bind(site.longitude)
    .bind(site.uptime_tier)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_site(conn: &mut Conn, id: SiteId) -> Result<Option<Site>> {
    let row = sqlx::query("SELECT id, provider_id, name, country, latitude, longitude, uptime_tier FROM sites WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(site_from_row).transpose()
}

/// Sites of one provider, or of all providers.
pub async fn list_sites(conn: &mut Conn, provider: Option<ProviderId>) -> Result<Vec<Site>> {
    let rows = match provider {
        Some(p) => {
            sqlx::query("SELECT id, provider_id, name, country, latitude, longitude, uptime_tier FROM sites WHERE provider_id = $1 ORDER BY name")
                .bind(p.to_string())
                .fetch_all(conn)
                .await?
        }
        None => {
            sqlx::query("SELECT id, provider_id, name, country, latitude, longitude, uptime_tier FROM sites ORDER BY name")
                .fetch_all(conn)
                .await?
        }
    };
    rows.iter().map(site_from_row).collect()
}

fn certification_from_row(row: &AnyRow) -> Result<Certification> {
    let site: Option<String> = row.try_get("site_id")?;
    Ok(Certification {
        id: parse_id(&row.try_get::<String, _>("id")?)?,
        provider_id: parse_id(&row.try_get::<String, _>("provider_id")?)?,
        site_id: site.as_deref().map(parse_id).transpose()?,
        kind: parse_enum(&row.try_get::<String, _>("kind")?)?,
        level: row.try_get("level")?,
        issuer: row.try_get("issuer")?,
        valid_from: parse_date(&row.try_get::<String, _>("valid_from")?)?,
        valid_until: parse_date(&row.try_get::<String, _>("valid_until")?)?,
    })
}

pub async fn insert_certification(conn: &mut Conn, c: &Certification) -> Result<()> {
    sqlx::query(
        "INSERT INTO certifications (id, provider_id, site_id, kind, level, issuer, valid_from, valid_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(c.id.to_string())
    .bind(c.provider_id.to_string())
    .bind(c.site_id.map(|s| s.to_string()))
    .bind(c.kind.as_str())
    .bind(&c.level)
    .bind(&c.issuer)
    .bind(c.valid_from.to_string())
    .bind(c.valid_until.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Certifications of one provider, or of all providers.
pub async fn list_certifications(
    conn: &mut Conn,
    provider: Option<ProviderId>,
) -> Result<Vec<Certification>> {
    const COLUMNS: &str = "id, provider_id, site_id, kind, level, issuer, valid_from, valid_until";
    let rows =
        match provider {
            Some(p) => sqlx::query(&format!(
                "SELECT {COLUMNS} FROM certifications WHERE provider_id = $1 ORDER BY valid_until"
            ))
            .bind(p.to_string())
            .fetch_all(conn)
            .await?,
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM certifications ORDER BY valid_until"
                ))
                .fetch_all(conn)
                .await?
            }
        };
    rows.iter().map(certification_from_row).collect()
}

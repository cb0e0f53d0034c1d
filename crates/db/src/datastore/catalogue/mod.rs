//! Offerings and versioned price lists.
//!
//! Area `catalogue` (offerings, price lists, search, comparison and
//! placement), storage (all SQL) layer: the use cases are in
//! `makonis_app::catalogue`; the same area folder exists in
//! `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: FED-3, FED-4, FED-9.

use chrono::{DateTime, NaiveDate, Utc};
use makonis_types::catalogue::*;
use makonis_types::federation::ProviderId;
use makonis_types::paging::{Page, PageRequest};
use rust_decimal::Decimal;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::datastore::Conn;
use crate::{
    Filter, FilterValue, Result, contains_pattern, fold, parse_date, parse_decimal, parse_enum,
    parse_id, time_text,
};

const OFFERING_COLUMNS: &str = "o.id, o.provider_id, o.site_id, o.kind, o.tier, o.name, o.description, o.vcpu, o.ram_gb, \
    o.storage_gb, o.unit, o.availability_pct, o.support_hours, o.response_minutes, o.rpo_minutes, o.rto_minutes, \
    o.capacity_units, o.active";

fn offering_from_row(row: &AnyRow) -> Result<Offering> {
    Ok(Offering {
        id: parse_id(&row.try_get::<String, _>("id")?)?,
        provider_id: parse_id(&row.try_get::<String, _>("provider_id")?)?,
        site_id: parse_id(&row.try_get::<String, _>("site_id")?)?,
        kind: parse_enum(&row.try_get::<String, _>("kind")?)?,
        tier: parse_enum(&row.try_get::<String, _>("tier")?)?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        vcpu: row.try_get("vcpu")?,
        ram_gb: row.try_get("ram_gb")?,
        storage_gb: row.try_get("storage_gb")?,
        unit: parse_enum(&row.try_get::<String, _>("unit")?)?,
        sla: Sla {
            availability_pct: parse_decimal(&row.try_get::<String, _>("availability_pct")?)?,
            support_hours: parse_enum(&row.try_get::<String, _>("support_hours")?)?,
            response_minutes: row.try_get("response_minutes")?,
            rpo_minutes: row.try_get("rpo_minutes")?,
            rto_minutes: row.try_get("rto_minutes")?,
        },
        capacity_units: row.try_get("capacity_units")?,
        active: row.try_get::<i64, _>("active")? != 0,
    })
}

/// What a catalogue search matches words against (stored folded).
pub fn search_key(o: &Offering) -> String {
    fold(&format!(
        "{} {} {}",
        o.name,
        o.kind,
        o.description.as_deref().unwrap_or("")
    ))
}

pub async fn insert_offering(conn: &mut Conn, o: &Offering, now: DateTime<Utc>) -> Result<()> {
    use rust_decimal::prelude::ToPrimitive;
    sqlx::query(
        "INSERT INTO offerings (id, provider_id, site_id, kind, tier, name, description, vcpu, ram_gb, storage_gb, unit,
         availability_pct, support_hours, response_minutes, rpo_minutes, rto_minutes, capacity_units, active,
         search_folded, availability_sort, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21)",
    )
    .bind(o.id.to_string())
    .bind(o.provider_id.to_string())
    .bind(o.site_id.to_string())
    .bind(o.kind.as_str())
    .bind(o.tier.as_str())
    .bind(&o.name)
    .bind(&o.description)
    .bind(o.vcpu)
    .bind(o.ram_gb)
    .bind(o.storage_gb)
    .bind(o.unit.as_str())
    .bind(o.sla.availability_pct.to_string())
    .bind(o.sla.support_hours.as_str())
    .bind(o.sla.response_minutes)
    .bind(o.sla.rpo_minutes)
    .bind(o.sla.rto_minutes)
    .bind(o.capacity_units)
    .bind(i64::from(o.active))
    .bind(search_key(o))
    .bind(o.sla.availability_pct.to_f64().unwrap_or(0.0))
    .bind(time_text(now))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_offering(conn: &mut Conn, id: OfferingId) -> Result<Option<Offering>> {
    let row = sqlx::query(&format!(
        "SELECT {OFFERING_COLUMNS} FROM offerings o WHERE o.id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(offering_from_row).transpose()
}

/// Active and inactive offerings of one kind, for placement.
/// Every offering, for the in-memory catalogue snapshot placement uses.
pub async fn all_offerings(conn: &mut Conn) -> Result<Vec<Offering>> {
    let rows = sqlx::query(&format!("SELECT {OFFERING_COLUMNS} FROM offerings o"))
        .fetch_all(conn)
        .await?;
    rows.iter().map(offering_from_row).collect()
}

/// The catalogue generation: moves (by trigger) whenever a provider, site,
/// certification, offering or price list changes.
pub async fn generation(conn: &mut Conn) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT generation FROM catalogue_generation WHERE id = 1")
            .fetch_one(conn)
            .await?,
    )
}

const PRICE_NOW: &str = "(SELECT pi.unit_price FROM price_items pi JOIN price_lists pl ON pl.id = pi.price_list_id \
    WHERE pi.offering_id = o.id AND pl.valid_from <= $1 AND (pl.valid_until IS NULL OR pl.valid_until >= $1) LIMIT 1)";

fn entry_from_row(row: &AnyRow) -> Result<CatalogueEntry> {
    let price: Option<String> = row.try_get("unit_price")?;
    Ok(CatalogueEntry {
        offering: offering_from_row(row)?,
        provider_short_name: row.try_get("provider_short_name")?,
        site_name: row.try_get("site_name")?,
        country: row.try_get("country")?,
        unit_price: price.as_deref().map(parse_decimal).transpose()?,
    })
}

/// The catalogue: offerings with provider, site and the price valid on `day`.
pub async fn search(
    conn: &mut Conn,
    f: &CatalogueFilter,
    day: NaiveDate,
    page: PageRequest,
) -> Result<Page<CatalogueEntry>> {
    let mut filter = Filter::default();
    // $1 is the day for the price subquery; filters number from $2.
    filter.and(
        "? = ?",
        [
            FilterValue::Text(day.to_string()),
            FilterValue::Text(day.to_string()),
        ],
    );
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = contains_pattern(q);
        filter.and(
            "(o.search_folded LIKE ? ESCAPE '\\' OR p.short_name_folded LIKE ? ESCAPE '\\')",
            [
                FilterValue::Text(pattern.clone()),
                FilterValue::Text(pattern),
            ],
        );
    }
    if let Some(kind) = f.kind {
        filter.and("o.kind = ?", [FilterValue::Text(kind.as_str().into())]);
    }
    if let Some(tier) = f.tier {
        filter.and("o.tier = ?", [FilterValue::Text(tier.as_str().into())]);
    }
    if let Some(p) = f.provider_id {
        filter.and("o.provider_id = ?", [FilterValue::Text(p.to_string())]);
    }
    if let Some(c) = f.country.as_deref().filter(|c| !c.is_empty()) {
        filter.and("s.country = ?", [FilterValue::Text(c.to_uppercase())]);
    }
    if let Some(a) = f.min_availability {
        use rust_decimal::prelude::ToPrimitive;
        filter.and(
            "o.availability_sort >= ?",
            [FilterValue::Real(a.to_f64().unwrap_or(0.0) - 1e-9)],
        );
    }
    if let Some(v) = f.min_vcpu {
        filter.and("o.vcpu >= ?", [FilterValue::Int(v)]);
    }
    if let Some(r) = f.min_ram_gb {
        filter.and("o.ram_gb >= ?", [FilterValue::Int(r)]);
    }
    filter.and("o.active = 1", []);
    let from =
        "offerings o JOIN providers p ON p.id = o.provider_id JOIN sites s ON s.id = o.site_id";
    let total = filter.count(conn, from).await?;
    let sql = format!(
        "SELECT {OFFERING_COLUMNS}, p.short_name AS provider_short_name, s.name AS site_name, s.country, {PRICE_NOW} AS unit_price \
         FROM {from}{} ORDER BY p.short_name_folded, s.name, o.name, o.id LIMIT {} OFFSET {}",
        filter.sql(),
        page.limit(),
        page.offset()
    );
    let rows = filter.bind(sqlx::query(&sql)).fetch_all(conn).await?;
    Ok(Page {
        items: rows.iter().map(entry_from_row).collect::<Result<_>>()?,
        total,
        limit: page.limit(),
        offset: page.offset(),
    })
}

/// Entries for the given offerings (the comparison view).
pub async fn entries(
    conn: &mut Conn,
    ids: &[OfferingId],
    day: NaiveDate,
) -> Result<Vec<CatalogueEntry>> {
    let mut filter = Filter::default();
    filter.and(
        "? = ?",
        [
            FilterValue::Text(day.to_string()),
            FilterValue::Text(day.to_string()),
        ],
    );
    filter.and_in("o.id", ids.iter().map(ToString::to_string).collect());
    let sql = format!(
        "SELECT {OFFERING_COLUMNS}, p.short_name AS provider_short_name, s.name AS site_name, s.country, {PRICE_NOW} AS unit_price \
         FROM offerings o JOIN providers p ON p.id = o.provider_id JOIN sites s ON s.id = o.site_id{} ORDER BY o.name",
        filter.sql()
    );
    let rows = filter.bind(sqlx::query(&sql)).fetch_all(conn).await?;
    rows.iter().map(entry_from_row).collect()
}

/// Unit prices valid on `day`, by offering.
pub async fn prices_on(conn: &mut Conn, day: NaiveDate) -> Result<Vec<(OfferingId, Decimal)>> {
    let rows = sqlx::query(
        "SELECT pi.offering_id, pi.unit_price FROM price_items pi JOIN price_lists pl ON pl.id = pi.price_list_id
         WHERE pl.valid_from <= $1 AND (pl.valid_until IS NULL OR pl.valid_until >= $1)",
    )
    .bind(day.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                parse_id(&r.try_get::<String, _>("offering_id")?)?,
                parse_decimal(&r.try_get::<String, _>("unit_price")?)?,
            ))
        })
        .collect()
}

pub async fn insert_price_list(
    conn: &mut Conn,
    list: &PriceList,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO price_lists (id, provider_id, version, valid_from, valid_until, currency, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(list.id.to_string())
    .bind(list.provider_id.to_string())
    .bind(&list.version)
    .bind(list.valid_from.to_string())
    .bind(list.valid_until.map(|d| d.to_string()))
    .bind(&list.currency)
    .bind(time_text(now))
    .execute(&mut *conn)
    .await?;
    for item in &list.items {
        sqlx::query(
            "INSERT INTO price_items (price_list_id, offering_id, unit_price) VALUES ($1, $2, $3)",
        )
        .bind(list.id.to_string())
        .bind(item.offering_id.to_string())
        .bind(item.unit_price.to_string())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A provider's price lists with their items, oldest first.
pub async fn price_lists(conn: &mut Conn, provider: ProviderId) -> Result<Vec<PriceList>> {
    let rows = sqlx::query(
        "SELECT id, provider_id, version, valid_from, valid_until, currency FROM price_lists WHERE provider_id = $1 ORDER BY valid_from",
    )
    .bind(provider.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut lists = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get("id")?;
        let items = sqlx::query("SELECT offering_id, unit_price FROM price_items WHERE price_list_id = $1 ORDER BY offering_id")
            .bind(&id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| {
                Ok(PriceItem {
                    offering_id: parse_id(&r.try_get::<String, _>("offering_id")?)?,
                    unit_price: parse_decimal(&r.try_get::<String, _>("unit_price")?)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let until: Option<String> = row.try_get("valid_until")?;
        lists.push(PriceList {
            id: parse_id(&id)?,
            provider_id: parse_id(&row.try_get::<String, _>("provider_id")?)?,
            version: row.try_get("version")?,
            valid_from: parse_date(&row.try_get::<String, _>("valid_from")?)?,
            valid_until: until.as_deref().map(parse_date).transpose()?,
            currency: row.try_get("currency")?,
            items,
        });
    }
    Ok(lists)
}

/// The offerings of a provider at a site with the provider's id for each
/// (`None` for hand-entered ones), for catalogue sync.
pub async fn offerings_at_site(
    conn: &mut Conn,
    provider: ProviderId,
    site: makonis_types::federation::SiteId,
) -> Result<Vec<(Offering, Option<String>)>> {
    let rows = sqlx::query(&format!(
        "SELECT {OFFERING_COLUMNS}, o.provider_ref FROM offerings o
         WHERE o.provider_id = $1 AND o.site_id = $2 ORDER BY o.name"
    ))
    .bind(provider.to_string())
    .bind(site.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| Ok((offering_from_row(row)?, row.try_get("provider_ref")?)))
        .collect()
}

/// Inserts an offering synced from the provider, with its id there.
pub async fn insert_synced_offering(
    conn: &mut Conn,
    o: &Offering,
    provider_ref: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    insert_offering(conn, o, now).await?;
    sqlx::query("UPDATE offerings SET provider_ref = $1 WHERE id = $2")
        .bind(provider_ref)
        .bind(o.id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Rewrites what a sync may change of an offering: name, description,
/// sizes, capacity, whether it is active, and the provider's id for it.
pub async fn update_synced_offering(
    conn: &mut Conn,
    o: &Offering,
    provider_ref: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE offerings SET name = $1, description = $2, vcpu = $3, ram_gb = $4, storage_gb = $5,
         capacity_units = $6, active = $7, provider_ref = $8, search_folded = $9, updated_at = $10
         WHERE id = $11",
    )
    .bind(&o.name)
    .bind(&o.description)
    .bind(o.vcpu)
    .bind(o.ram_gb)
    .bind(o.storage_gb)
    .bind(o.capacity_units)
    .bind(i64::from(o.active))
    .bind(provider_ref)
    .bind(search_key(o))
    .bind(time_text(now))
    .bind(o.id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

//! Storage for Mākonis: every SQL statement lives in this crate, one module
//! per resource under `datastore/`. Both engines (SQLite, the embedded
//! default, and PostgreSQL) run the same statements through sqlx's `Any`
//! driver; they differ only in their migration sets. Values cross the `Any`
//! boundary as text, integers and booleans: ids as UUID text and times as
//! fixed-width RFC 3339 UTC text, so ordering by text is ordering by time.
//!
//! Callers that change data open a transaction with [`Datastore::begin`] and
//! pass it to the datastore functions together with the audit record, so a
//! change and its audit record commit or roll back together.

pub mod datastore;
mod error;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, Result};
pub use store::{Backend, Datastore, Tx, commit, redact};

pub use datastore::*;

use chrono::{DateTime, SecondsFormat, Utc};

/// Fixed-width UTC text for a time, so text order equals time order.
pub fn time_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::Corrupt(format!("time '{text}': {e}")))
}

pub(crate) fn parse_opt_time(text: Option<String>) -> Result<Option<DateTime<Utc>>> {
    text.as_deref().map(parse_time).transpose()
}

pub(crate) fn parse_decimal(text: &str) -> Result<rust_decimal::Decimal> {
    text.parse()
        .map_err(|_| Error::Corrupt(format!("decimal '{text}'")))
}

pub(crate) fn parse_date(text: &str) -> Result<chrono::NaiveDate> {
    text.parse()
        .map_err(|_| Error::Corrupt(format!("date '{text}'")))
}

/// An optional id column.
pub(crate) fn parse_opt_id<T: std::str::FromStr>(
    row: &sqlx::any::AnyRow,
    column: &str,
) -> Result<Option<T>> {
    let text: Option<String> = sqlx::Row::try_get(row, column)?;
    text.as_deref().map(parse_id).transpose()
}

pub(crate) fn parse_id<T: std::str::FromStr>(text: &str) -> Result<T> {
    text.parse()
        .map_err(|_| Error::Corrupt(format!("id '{text}' is not a UUID")))
}

pub(crate) fn parse_enum<T: std::str::FromStr<Err = String>>(text: &str) -> Result<T> {
    text.parse().map_err(Error::Corrupt)
}

/// Full-Unicode case folding for uniqueness keys and search columns.
pub fn fold(text: &str) -> String {
    text.trim().to_lowercase()
}

/// `LIKE` pattern matching `needle` anywhere, with wildcards escaped.
pub(crate) fn contains_pattern(needle: &str) -> String {
    let escaped = fold(needle)
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// A `WHERE` clause built from optional filters, numbering placeholders
/// (`$1`, `$2`…) the way both engines accept.
#[derive(Default)]
pub(crate) struct Filter {
    sql: String,
    binds: Vec<FilterValue>,
}

pub(crate) enum FilterValue {
    Text(String),
    Int(i64),
    Real(f64),
    Bool(bool),
}

impl Filter {
    /// Adds `clause AND`-ed to the filter; each `?` in `clause` becomes the
    /// next placeholder, bound to the matching value.
    pub(crate) fn and(&mut self, clause: &str, values: impl IntoIterator<Item = FilterValue>) {
        self.sql.push_str(if self.sql.is_empty() {
            " WHERE "
        } else {
            " AND "
        });
        let mut values = values.into_iter();
        for ch in clause.chars() {
            if ch == '?' {
                let value = values.next().expect("one value per placeholder");
                self.binds.push(value);
                self.sql.push_str(&format!("${}", self.binds.len()));
            } else {
                self.sql.push(ch);
            }
        }
    }

    /// `column IN (…)`; an empty set matches nothing.
    pub(crate) fn and_in(&mut self, column: &str, values: Vec<String>) {
        if values.is_empty() {
            self.and("1 = 0", []);
            return;
        }
        let marks = vec!["?"; values.len()].join(", ");
        self.and(
            &format!("{column} IN ({marks})"),
            values.into_iter().map(FilterValue::Text),
        );
    }

    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }

    pub(crate) fn bind<'q>(
        &'q self,
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for value in &self.binds {
            query = match value {
                FilterValue::Text(t) => query.bind(t.as_str()),
                FilterValue::Int(i) => query.bind(*i),
                FilterValue::Real(r) => query.bind(*r),
                FilterValue::Bool(b) => query.bind(i64::from(*b)),
            };
        }
        query
    }

    /// Counts the rows of `table` matching the filter.
    pub(crate) async fn count(&self, conn: &mut sqlx::AnyConnection, table: &str) -> Result<u64> {
        use sqlx::Row;
        let sql = format!("SELECT COUNT(*) AS n FROM {table}{}", self.sql);
        let n: i64 = self
            .bind(sqlx::query(&sql))
            .fetch_one(conn)
            .await?
            .try_get("n")?;
        Ok(n as u64)
    }
}

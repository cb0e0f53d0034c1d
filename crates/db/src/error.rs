//! Storage errors. Unique-constraint violations are translated into the
//! input field they concern so the app layer can answer with a field error.

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A unique constraint rejected the write; `field` names the input field.
    #[error("duplicate value for {field}")]
    Duplicate { field: &'static str },
    /// A foreign key points nowhere.
    #[error("referenced record does not exist")]
    MissingReference,
    #[error("record not found")]
    NotFound,
    /// A stored value could not be read back (tampering or a bug).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Sqlx(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Unique indexes and the input fields they protect. SQLite names the index
/// for expression indexes and `table.column` for plain ones; PostgreSQL
/// always names the index.
const UNIQUE_FIELDS: &[(&str, &str)] = &[
    ("uq_institutions_name", "name"),
    ("institutions.name_folded", "name"),
    ("uq_institutions_short_name", "short_name"),
    ("institutions.short_name_folded", "short_name"),
    ("uq_institutions_registration_number", "registration_number"),
    ("institutions.registration_number", "registration_number"),
    ("uq_users_email", "email"),
    ("users.email", "email"),
    ("uq_role_assignments_scope", "role"),
    ("role_assignments.user_id", "role"),
    ("uq_information_systems_code", "code"),
    ("information_systems.institution_id", "code"),
    ("uq_providers_short_name", "short_name"),
    ("providers.short_name_folded", "short_name"),
    ("uq_sites_name", "name"),
    ("sites.provider_id", "name"),
    ("uq_offerings_name", "name"),
    ("offerings.site_id", "name"),
    ("uq_price_lists_version", "version"),
    ("uq_approvals_person", "approver"),
    ("approvals.order_id, approvals.approver_id", "approver"),
    ("approvals.order_id, approvals.step", "step"),
    ("price_lists.provider_id", "version"),
    ("uq_focus_imports_hash", "file"),
    ("focus_imports.content_hash", "file"),
    ("uq_commercial_prices", "sku"),
    ("commercial_prices.reference", "sku"),
    ("uq_statements_version", "version"),
    ("statements.institution_id", "version"),
];

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error {
            if db.is_unique_violation() {
                let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
                // Longest match wins, so a needle that is a prefix of another
                // cannot shadow it.
                let mut best: Option<(&str, &'static str)> = None;
                for (needle, field) in UNIQUE_FIELDS {
                    if text.contains(needle) && best.is_none_or(|(b, _)| needle.len() > b.len()) {
                        best = Some((needle, field));
                    }
                }
                if let Some((_, field)) = best {
                    return Error::Duplicate { field };
                }
            }
            if db.is_foreign_key_violation() {
                return Error::MissingReference;
            }
        }
        if matches!(error, sqlx::Error::RowNotFound) {
            return Error::NotFound;
        }
        Error::Sqlx(error)
    }
}

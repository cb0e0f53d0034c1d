//! The one error type at the app boundary. Each variant carries a message
//! fit for the user; internal detail stays in logs. The server maps variants
//! to HTTP statuses and one JSON error body, the portal to a friendly page.

use makonis_types::FieldError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No valid credentials.
    #[error("authentication required")]
    Unauthenticated,
    /// Authenticated, may see the resource, may not do this to it.
    #[error("forbidden: {message}")]
    Forbidden { message: String },
    /// Does not exist, or the actor may not know that it exists.
    #[error("{kind} not found")]
    NotFound { kind: &'static str },
    /// The request conflicts with the current state.
    #[error("conflict: {message}")]
    Conflict { message: String },
    /// Input failed validation; nothing was written.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// Too many attempts; try again after the given number of seconds.
    #[error("too many attempts; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: i64 },
    #[error("unavailable: {message} ({detail})")]
    Unavailable { message: String, detail: String },
    #[error("internal error: {detail}")]
    Internal { detail: String },
}

impl Error {
    pub fn forbidden(message: impl Into<String>) -> Self {
        Error::Forbidden {
            message: message.into(),
        }
    }

    pub fn invalid(error: FieldError) -> Self {
        Error::Invalid(vec![error])
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Error::Internal {
            detail: detail.to_string(),
        }
    }
}

impl From<Vec<FieldError>> for Error {
    fn from(errors: Vec<FieldError>) -> Self {
        Error::Invalid(errors)
    }
}

impl From<makonis_db::Error> for Error {
    fn from(error: makonis_db::Error) -> Self {
        match error {
            makonis_db::Error::Duplicate { field } => Error::Invalid(vec![FieldError::new(
                field,
                "duplicate",
                format!("{field} is already in use"),
            )]),
            makonis_db::Error::MissingReference => Error::Conflict {
                message: "a referenced record does not exist".into(),
            },
            makonis_db::Error::NotFound => Error::NotFound { kind: "record" },
            other => Error::Internal {
                detail: other.to_string(),
            },
        }
    }
}

//! Input validation with field-level errors. Every error names the field, a
//! stable machine-readable code, the parameters of the rule (a maximum length,
//! the allowed values…) and an English message; the portal translates the code
//! and parameters into the user's language.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's name as it appears in the request (`security_category`,
    /// `roles[1].institution_id`).
    pub field: String,
    /// Stable code: `required`, `too_long`, `too_short`, `invalid_choice`,
    /// `invalid_format`, `out_of_range`, `duplicate`, `invalid_type`,
    /// `not_found`, `mismatch`, `invalid`.
    pub code: String,
    /// English explanation for API clients.
    pub message: String,
    /// The rule's parameters (`max`, `min`, `allowed`, `expected`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
            params: BTreeMap::new(),
        }
    }

    pub fn with_param(mut self, key: &str, value: impl ToString) -> Self {
        self.params.insert(key.to_owned(), value.to_string());
        self
    }

    pub fn required(field: &str) -> Self {
        Self::new(field, "required", format!("{field} is required"))
    }

    pub fn duplicate(field: &str, value: &str) -> Self {
        Self::new(
            field,
            "duplicate",
            format!("{field} '{value}' is already in use"),
        )
        .with_param("value", value)
    }

    pub fn invalid_choice(field: &str, value: &str, allowed: &[&str]) -> Self {
        Self::new(
            field,
            "invalid_choice",
            format!("{field} '{value}' is not one of: {}", allowed.join(", ")),
        )
        .with_param("value", value)
        .with_param("allowed", allowed.join(", "))
    }
}

/// Collects field errors; `finish` returns them all at once so a form shows
/// every problem in one round trip.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    pub fn has_error(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    /// A required single-line text: trimmed, non-empty, at most `max`
    /// characters, no control characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            self.push(FieldError::required(field));
        } else {
            self.check_text(field, trimmed, max);
        }
        trimmed.to_owned()
    }

    /// An optional text: empty becomes `None`.
    pub fn optional_text(
        &mut self,
        field: &str,
        value: Option<&str>,
        max: usize,
    ) -> Option<String> {
        let trimmed = value.map(str::trim).filter(|v| !v.is_empty())?;
        self.check_text(field, trimmed, max);
        Some(trimmed.to_owned())
    }

    /// Free text that may span lines (descriptions).
    pub fn optional_multiline(
        &mut self,
        field: &str,
        value: Option<&str>,
        max: usize,
    ) -> Option<String> {
        let trimmed = value.map(str::trim).filter(|v| !v.is_empty())?;
        let count = trimmed.chars().count();
        if count > max {
            self.push(too_long(field, max, count));
        }
        Some(trimmed.to_owned())
    }

    fn check_text(&mut self, field: &str, value: &str, max: usize) {
        let count = value.chars().count();
        if count > max {
            self.push(too_long(field, max, count));
        } else if value.chars().any(char::is_control) {
            self.push(
                FieldError::new(
                    field,
                    "invalid_format",
                    format!("{field} must be a single line of text without control characters"),
                )
                .with_param("expected", "single line of text"),
            );
        }
    }

    /// An e-mail address: one `@`, something on both sides, a dot in the domain.
    pub fn email(&mut self, field: &str, value: &str) -> String {
        let value = self.text(field, value, 254).to_lowercase();
        if !self.has_error(field) && !looks_like_email(&value) {
            self.push(
                FieldError::new(
                    field,
                    "invalid_format",
                    format!("{field} must be an e-mail address like name@iestade.gov.lv"),
                )
                .with_param("expected", "name@domain"),
            );
        }
        value
    }

    pub fn range(&mut self, field: &str, value: i64, min: i64, max: i64) {
        if value < min || value > max {
            self.push(
                FieldError::new(
                    field,
                    "out_of_range",
                    format!("{field} must be between {min} and {max}, got {value}"),
                )
                .with_param("min", min)
                .with_param("max", max),
            );
        }
    }

    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

fn too_long(field: &str, max: usize, got: usize) -> FieldError {
    FieldError::new(
        field,
        "too_long",
        format!("{field} must be at most {max} characters, got {got}"),
    )
    .with_param("max", max)
}

fn looks_like_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.chars().any(char::is_whitespace)
}

/// Declares a closed set of string values: serde (snake_case strings), a
/// `FromStr` whose error lists the allowed values, `as_str`, and `ALL`.
#[macro_export]
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses a value, or a field error naming `field` and listing
            /// the allowed values.
            pub fn parse_field(field: &str, value: &str) -> Result<Self, $crate::FieldError> {
                value.parse().map_err(|_| $crate::FieldError::invalid_choice(field, value, Self::NAMES))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("'{other}' is not one of: {}", Self::NAMES.join(", "))),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        let mut v = Validator::new();
        assert_eq!(v.text("name", "  VID  ", 10), "VID");
        v.text("empty", "   ", 10);
        v.text("long", "ābcdefghijk", 10);
        v.text("ctrl", "a\u{7}b", 10);
        let errors = v.finish().unwrap_err();
        let codes: Vec<_> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            [
                ("empty", "required"),
                ("long", "too_long"),
                ("ctrl", "invalid_format")
            ]
        );
        assert_eq!(errors[1].params["max"], "10");
    }

    #[test]
    fn multibyte_length_counts_characters() {
        let mut v = Validator::new();
        v.text("name", "ĀĒĪŪ", 4);
        assert!(v.finish().is_ok());
    }

    #[test]
    fn email_rules() {
        for good in ["a@b.lv", "Jānis.Bērziņš@vid.gov.lv"] {
            let mut v = Validator::new();
            v.email("email", good);
            assert!(v.finish().is_ok(), "{good}");
        }
        for bad in ["a", "a@b", "@b.lv", "a@@b.lv", "a b@c.lv", "a@.lv"] {
            let mut v = Validator::new();
            v.email("email", bad);
            assert_eq!(v.finish().unwrap_err()[0].code, "invalid_format", "{bad}");
        }
    }
}

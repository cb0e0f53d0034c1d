//! Institutions: the tenants of the federation (ministries, agencies,
//! municipalities…), and the providers, the Broker and the supervisors, which
//! are institutions too.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{FieldError, InstitutionId, Validator, string_enum};

string_enum!(
    /// What part an institution plays in the federation.
    InstitutionKind {
        /// Receives services: ministries, agencies, municipalities…
        Recipient = "recipient",
        /// A cloud provider (LVRTC, LNB, IeM IC, LAD, commercial).
        Provider = "provider",
        /// The Broker (VDAA).
        Broker = "broker",
        /// Security supervision (CERT.LV / NCSC).
        Security = "security",
        /// Policy owner (VARAM).
        PolicyOwner = "policy_owner",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Institution {
    pub id: InstitutionId,
    pub name: String,
    pub short_name: String,
    /// Latvian register number (11 digits), when known.
    pub registration_number: Option<String>,
    pub kind: InstitutionKind,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Input for creating an institution, or the full new state when editing one.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstitutionInput {
    pub name: String,
    pub short_name: String,
    #[serde(default)]
    pub registration_number: Option<String>,
    pub kind: InstitutionKind,
}

/// Validated input with normalised values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidInstitution {
    pub name: String,
    pub short_name: String,
    pub registration_number: Option<String>,
    pub kind: InstitutionKind,
}

impl InstitutionInput {
    pub fn validate(&self) -> Result<ValidInstitution, Vec<FieldError>> {
        let mut v = Validator::new();
        let name = v.text("name", &self.name, 200);
        let short_name = v.text("short_name", &self.short_name, 40);
        let registration_number = v.optional_text(
            "registration_number",
            self.registration_number.as_deref(),
            11,
        );
        if let Some(number) = &registration_number
            && !v.has_error("registration_number")
            && (number.len() != 11 || !number.bytes().all(|b| b.is_ascii_digit()))
        {
            v.push(
                FieldError::new(
                    "registration_number",
                    "invalid_format",
                    "registration_number must be 11 digits, like 90000069281",
                )
                .with_param("expected", "11 digits"),
            );
        }
        v.finish()?;
        Ok(ValidInstitution {
            name,
            short_name,
            registration_number,
            kind: self.kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_number_must_be_eleven_digits() {
        let mut input = InstitutionInput {
            name: "Valsts ieņēmumu dienests".into(),
            short_name: "VID".into(),
            registration_number: Some("9000006928".into()),
            kind: InstitutionKind::Recipient,
        };
        assert_eq!(
            input.validate().unwrap_err()[0].field,
            "registration_number"
        );
        input.registration_number = Some("90000069281".into());
        assert_eq!(input.validate().unwrap().short_name, "VID");
        input.registration_number = Some("  ".into());
        assert_eq!(input.validate().unwrap().registration_number, None);
    }
}

//! Information systems (IS): what institutions run and the federation hosts
//! (REQUIREMENTS SEC-7, SEC-8, REG-1, EMB-11). The security category, the
//! critical-infrastructure flag and the RPO/RTO targets decide later where an
//! IS may be placed, who must approve its orders and whether it goes to the
//! data embassy.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{FieldError, InformationSystemId, InstitutionId, Validator, string_enum};

string_enum!(
    /// Security category of an IS under Latvian rules (SEC-8); A is the highest.
    SecurityCategory {
        A = "A",
        B = "B",
        C = "C",
    }
);

string_enum!(
    /// Classification of the data the IS processes (SEC-7).
    DataClassification {
        /// *Vispārpieejama informācija*.
        Public = "public",
        /// *Ierobežotas pieejamības informācija*, incl. personal data.
        Restricted = "restricted",
        /// Classified information (state secrets).
        Classified = "classified",
    }
);

string_enum!(
    /// Where an IS is in its life.
    Lifecycle {
        Planned = "planned",
        Development = "development",
        Production = "production",
        Decommissioning = "decommissioning",
        /// Kept for the record; no new orders.
        Archived = "archived",
    }
);

/// Minutes in a year: the upper bound for RPO and RTO targets.
pub const MAX_TARGET_MINUTES: i64 = 525_600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InformationSystem {
    pub id: InformationSystemId,
    pub institution_id: InstitutionId,
    /// Short code, unique within the institution (`EDS`, `VIIS`).
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    /// Name of the person responsible for the IS.
    pub responsible_person: String,
    pub responsible_email: Option<String>,
    pub security_category: SecurityCategory,
    pub critical_infrastructure: bool,
    pub data_classification: DataClassification,
    /// Recovery point objective, minutes.
    pub rpo_minutes: i64,
    /// Recovery time objective, minutes.
    pub rto_minutes: i64,
    pub embassy_required: bool,
    pub lifecycle: Lifecycle,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Input for creating an IS, or the full new state when editing one. The
/// owner institution is chosen at creation and not changed by edits.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InformationSystemInput {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub responsible_person: String,
    #[serde(default)]
    pub responsible_email: Option<String>,
    pub security_category: SecurityCategory,
    #[serde(default)]
    pub critical_infrastructure: bool,
    pub data_classification: DataClassification,
    pub rpo_minutes: i64,
    pub rto_minutes: i64,
    #[serde(default)]
    pub embassy_required: bool,
    pub lifecycle: Lifecycle,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidInformationSystem {
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub responsible_person: String,
    pub responsible_email: Option<String>,
    pub security_category: SecurityCategory,
    pub critical_infrastructure: bool,
    pub data_classification: DataClassification,
    pub rpo_minutes: i64,
    pub rto_minutes: i64,
    pub embassy_required: bool,
    pub lifecycle: Lifecycle,
}

impl InformationSystemInput {
    pub fn validate(&self) -> Result<ValidInformationSystem, Vec<FieldError>> {
        let mut v = Validator::new();
        let code = v.text("code", &self.code, 20).to_uppercase();
        if !v.has_error("code")
            && !code
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            v.push(
                FieldError::new(
                    "code",
                    "invalid_format",
                    "code may contain only letters, digits, '-' and '_'",
                )
                .with_param("expected", "letters, digits, - and _"),
            );
        }
        let name = v.text("name", &self.name, 200);
        let description = v.optional_multiline("description", self.description.as_deref(), 4000);
        let responsible_person = v.text("responsible_person", &self.responsible_person, 200);
        let responsible_email = match self.responsible_email.as_deref().map(str::trim) {
            Some(email) if !email.is_empty() => Some(v.email("responsible_email", email)),
            _ => None,
        };
        v.range("rpo_minutes", self.rpo_minutes, 0, MAX_TARGET_MINUTES);
        v.range("rto_minutes", self.rto_minutes, 1, MAX_TARGET_MINUTES);
        v.finish()?;
        Ok(ValidInformationSystem {
            code,
            name,
            description,
            responsible_person,
            responsible_email,
            security_category: self.security_category,
            critical_infrastructure: self.critical_infrastructure,
            data_classification: self.data_classification,
            rpo_minutes: self.rpo_minutes,
            rto_minutes: self.rto_minutes,
            embassy_required: self.embassy_required,
            lifecycle: self.lifecycle,
        })
    }
}

/// Filters for listing information systems.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InformationSystemFilter {
    /// Only systems of this institution.
    pub institution_id: Option<InstitutionId>,
    pub security_category: Option<SecurityCategory>,
    pub lifecycle: Option<Lifecycle>,
    pub critical_infrastructure: Option<bool>,
    pub embassy_required: Option<bool>,
    /// Case-insensitive substring of code or name.
    pub q: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> InformationSystemInput {
        InformationSystemInput {
            code: "eds".into(),
            name: "Elektroniskās deklarēšanas sistēma".into(),
            description: None,
            responsible_person: "Anna Kalniņa".into(),
            responsible_email: Some(" ".into()),
            security_category: SecurityCategory::A,
            critical_infrastructure: true,
            data_classification: DataClassification::Restricted,
            rpo_minutes: 15,
            rto_minutes: 240,
            embassy_required: true,
            lifecycle: Lifecycle::Production,
        }
    }

    #[test]
    fn normalises_code_and_empty_email() {
        let valid = input().validate().unwrap();
        assert_eq!(valid.code, "EDS");
        assert_eq!(valid.responsible_email, None);
    }

    #[test]
    fn reports_every_bad_field() {
        let mut bad = input();
        bad.code = "E DS".into();
        bad.rpo_minutes = -1;
        bad.rto_minutes = 0;
        bad.responsible_email = Some("nav-epasts".into());
        let fields: Vec<_> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["code", "responsible_email", "rpo_minutes", "rto_minutes"]
        );
    }
}

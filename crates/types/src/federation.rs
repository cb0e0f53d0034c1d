//! The federation's providers, their sites (data centres) and their
//! certifications (REQUIREMENTS FED-1, FED-9, FED-11). A provider's API
//! endpoint and credentials are secrets: they go in as input and are sealed
//! by `app`; records only say whether credentials are set.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{FieldError, InstitutionId, Validator, string_enum};

crate::ids::typed_id_pub!(
    /// A cloud provider.
    ProviderId
);
crate::ids::typed_id_pub!(
    /// A provider's site (data centre).
    SiteId
);
crate::ids::typed_id_pub!(
    /// A certification held by a provider or one of its sites.
    CertificationId
);

string_enum!(
    /// State providers come first in the federation; commercial ones complement them.
    ProviderKind {
        State = "state",
        Commercial = "commercial",
    }
);

string_enum!(
    /// The platform a provider runs, which decides the driver.
    PlatformFamily {
        OpenStack = "openstack",
        Nutanix = "nutanix",
        VMware = "vmware",
        AwsCompatible = "aws",
        /// The built-in simulator (demo and fault injection).
        Sim = "sim",
    }
);

string_enum!(
    /// What a certification attests.
    CertificationKind {
        /// ISO/IEC 27001 information security management.
        Iso27001 = "iso27001",
        /// Uptime Institute Tier; `level` is the tier, 1–4.
        UptimeTier = "uptime_tier",
        /// EU Cloud Certification Scheme; `level` is basic, substantial or high.
        Eucs = "eucs",
        /// National accreditation for security category A systems.
        NationalA = "national_a",
        NationalB = "national_b",
        NationalC = "national_c",
        /// National accreditation for critical-infrastructure systems.
        NationalCritical = "national_critical",
    }
);

impl CertificationKind {
    /// The name people use, for explanations.
    pub fn title(self) -> &'static str {
        match self {
            CertificationKind::Iso27001 => "ISO/IEC 27001",
            CertificationKind::UptimeTier => "Uptime TIER",
            CertificationKind::Eucs => "EUCS",
            CertificationKind::NationalA => "national accreditation, category A",
            CertificationKind::NationalB => "national accreditation, category B",
            CertificationKind::NationalC => "national accreditation, category C",
            CertificationKind::NationalCritical => {
                "national accreditation, critical infrastructure"
            }
        }
    }
}

/// EU member states (ISO 3166-1 alpha-2; Greece is GR).
pub const EU_MEMBERS: &[&str] = &[
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

pub fn is_eu_member(country: &str) -> bool {
    EU_MEMBERS.contains(&country)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Provider {
    pub id: ProviderId,
    pub name: String,
    pub short_name: String,
    /// The institution that runs it, for state providers.
    pub institution_id: Option<InstitutionId>,
    pub kind: ProviderKind,
    pub platform: PlatformFamily,
    /// The API endpoint, when registered (not secret; credentials are).
    pub endpoint: Option<String>,
    pub has_credentials: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    pub name: String,
    pub short_name: String,
    #[serde(default)]
    pub institution_id: Option<InstitutionId>,
    pub kind: ProviderKind,
    pub platform: PlatformFamily,
    /// API endpoint, e.g. the Keystone URL.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Credentials as the driver expects them (e.g. an application
    /// credential id and secret). Stored sealed; never returned.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<serde_json::Value>,
}

impl ProviderInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::new();
        v.text("name", &self.name, 200);
        v.text("short_name", &self.short_name, 40);
        if let Some(endpoint) = v.optional_text("endpoint", self.endpoint.as_deref(), 500)
            && !["https://", "http://", "sim://"]
                .iter()
                .any(|scheme| endpoint.starts_with(scheme))
        {
            v.push(
                FieldError::new(
                    "endpoint",
                    "invalid_format",
                    "endpoint must be an http(s) URL, or sim://… for the simulator",
                )
                .with_param("expected", "https://…"),
            );
        }
        if let Some(c) = &self.credentials
            && !c.is_object()
        {
            v.push(
                FieldError::new(
                    "credentials",
                    "invalid_type",
                    "credentials must be a JSON object",
                )
                .with_param("expected", "object"),
            );
        }
        v.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Site {
    pub id: SiteId,
    pub provider_id: ProviderId,
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    /// Uptime Institute tier the site is built to (1–4).
    pub uptime_tier: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteInput {
    pub name: String,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    pub uptime_tier: i64,
}

impl SiteInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::new();
        v.text("name", &self.name, 200);
        if self.country.len() != 2 || !self.country.bytes().all(|b| b.is_ascii_uppercase()) {
            v.push(
                FieldError::new(
                    "country",
                    "invalid_format",
                    "country must be an ISO 3166-1 alpha-2 code such as LV",
                )
                .with_param("expected", "two capital letters"),
            );
        }
        if !(-90.0..=90.0).contains(&self.latitude) || self.latitude.is_nan() {
            v.push(
                FieldError::new(
                    "latitude",
                    "out_of_range",
                    "latitude must be between -90 and 90",
                )
                .with_param("min", -90)
                .with_param("max", 90),
            );
        }
        if !(-180.0..=180.0).contains(&self.longitude) || self.longitude.is_nan() {
            v.push(
                FieldError::new(
                    "longitude",
                    "out_of_range",
                    "longitude must be between -180 and 180",
                )
                .with_param("min", -180)
                .with_param("max", 180),
            );
        }
        v.range("uptime_tier", self.uptime_tier, 1, 4);
        v.finish()
    }
}

/// How a certification stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificationStatus {
    NotYetValid,
    Valid,
    /// Valid, but expires within [`EXPIRY_WARNING_DAYS`].
    ExpiringSoon,
    Expired,
}

pub const EXPIRY_WARNING_DAYS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Certification {
    pub id: CertificationId,
    pub provider_id: ProviderId,
    /// The site it covers; none for the whole provider.
    pub site_id: Option<SiteId>,
    pub kind: CertificationKind,
    /// Tier (`3`) or EUCS level (`high`), where the kind has levels.
    pub level: Option<String>,
    pub issuer: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
}

impl Certification {
    pub fn status_on(&self, day: NaiveDate) -> CertificationStatus {
        if day < self.valid_from {
            CertificationStatus::NotYetValid
        } else if day > self.valid_until {
            CertificationStatus::Expired
        } else if (self.valid_until - day).num_days() <= EXPIRY_WARNING_DAYS {
            CertificationStatus::ExpiringSoon
        } else {
            CertificationStatus::Valid
        }
    }

    pub fn is_valid_on(&self, day: NaiveDate) -> bool {
        matches!(
            self.status_on(day),
            CertificationStatus::Valid | CertificationStatus::ExpiringSoon
        )
    }

    /// Whether it covers `site` (provider-wide certifications cover all).
    pub fn covers(&self, site: SiteId) -> bool {
        self.site_id.is_none_or(|s| s == site)
    }

    /// The Uptime tier it attests, if it is an Uptime certification.
    pub fn uptime_tier(&self) -> Option<i64> {
        (self.kind == CertificationKind::UptimeTier)
            .then(|| self.level.as_deref().and_then(parse_tier))
            .flatten()
    }
}

/// "3", "III" or "TIER III" → 3.
pub fn parse_tier(text: &str) -> Option<i64> {
    let t = text.trim().to_uppercase();
    let t = t.strip_prefix("TIER").map_or(t.as_str(), str::trim);
    match t {
        "1" | "I" => Some(1),
        "2" | "II" => Some(2),
        "3" | "III" => Some(3),
        "4" | "IV" => Some(4),
        _ => None,
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificationInput {
    #[serde(default)]
    pub site_id: Option<SiteId>,
    pub kind: CertificationKind,
    #[serde(default)]
    pub level: Option<String>,
    pub issuer: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
}

impl CertificationInput {
    pub fn validate(&self) -> Result<Option<String>, Vec<FieldError>> {
        let mut v = Validator::new();
        v.text("issuer", &self.issuer, 200);
        let level = v.optional_text("level", self.level.as_deref(), 40);
        let level = match self.kind {
            CertificationKind::UptimeTier => match level.as_deref().and_then(parse_tier) {
                Some(tier) => Some(tier.to_string()),
                None => {
                    v.push(
                        FieldError::new(
                            "level",
                            "invalid_format",
                            "an Uptime certification needs its tier: 1–4 or I–IV",
                        )
                        .with_param("expected", "1, 2, 3, 4 or I–IV"),
                    );
                    None
                }
            },
            CertificationKind::Eucs => match level.as_deref().map(str::to_lowercase).as_deref() {
                Some(l @ ("basic" | "substantial" | "high")) => Some(l.to_owned()),
                _ => {
                    v.push(FieldError::invalid_choice(
                        "level",
                        level.as_deref().unwrap_or(""),
                        &["basic", "substantial", "high"],
                    ));
                    None
                }
            },
            _ => level,
        };
        if self.valid_until < self.valid_from {
            v.push(
                FieldError::new(
                    "valid_until",
                    "out_of_range",
                    "valid_until must not be before valid_from",
                )
                .with_param("min", self.valid_from),
            );
        }
        v.finish()?;
        Ok(level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(from: &str, until: &str) -> Certification {
        Certification {
            id: CertificationId::new(),
            provider_id: ProviderId::new(),
            site_id: None,
            kind: CertificationKind::Iso27001,
            level: None,
            issuer: "LVS".into(),
            valid_from: from.parse().unwrap(),
            valid_until: until.parse().unwrap(),
        }
    }

    #[test]
    fn status_warns_sixty_days_ahead() {
        let c = cert("2025-01-01", "2026-12-31");
        let day = |d: &str| d.parse::<NaiveDate>().unwrap();
        assert_eq!(
            c.status_on(day("2024-12-31")),
            CertificationStatus::NotYetValid
        );
        assert_eq!(c.status_on(day("2026-10-31")), CertificationStatus::Valid);
        assert_eq!(
            c.status_on(day("2026-11-01")),
            CertificationStatus::ExpiringSoon
        );
        assert_eq!(
            c.status_on(day("2026-12-31")),
            CertificationStatus::ExpiringSoon
        );
        assert_eq!(c.status_on(day("2027-01-01")), CertificationStatus::Expired);
    }

    #[test]
    fn tiers_parse_in_both_notations() {
        assert_eq!(parse_tier("III"), Some(3));
        assert_eq!(parse_tier("Tier IV"), Some(4));
        assert_eq!(parse_tier("3"), Some(3));
        assert_eq!(parse_tier("V"), None);
    }

    #[test]
    fn site_and_certification_inputs_name_bad_fields() {
        let site = SiteInput {
            name: "DC".into(),
            country: "lv".into(),
            latitude: 95.0,
            longitude: 24.0,
            uptime_tier: 5,
        };
        let fields: Vec<_> = site
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["country", "latitude", "uptime_tier"]);
        let input = CertificationInput {
            site_id: None,
            kind: CertificationKind::Eucs,
            level: Some("medium".into()),
            issuer: "ENISA".into(),
            valid_from: "2026-01-01".parse().unwrap(),
            valid_until: "2025-01-01".parse().unwrap(),
        };
        let fields: Vec<_> = input
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["level", "valid_until"]);
    }
}

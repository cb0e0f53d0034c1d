//! Data-embassy site eligibility (requirement EMB-1): the input, its
//! validation, the four criteria and the verdict with every failed criterion.
//!
//! A site qualifies only if all hold:
//! 1. it is outside Latvia (country code is not `LV`);
//! 2. it is in an EU or NATO member state ([`crate::countries`]);
//! 3. it holds an Uptime Institute Tier III or IV certification that is
//!    valid on the check date (`today <= tier_valid_until`, both inclusive);
//! 4. it is at least [`MINIMUM_DISTANCE_KM`] from Russia (including the
//!    Kaliningrad region) and Belarus ([`crate::borders`]).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::borders::{BorderCountry, BorderPoint, nearest_border};
use crate::countries::{LATVIA, is_assigned, is_eu, is_nato, iso_for_alias};

/// Criterion 4: the least geodesic distance, in km, from Russia and Belarus.
pub const MINIMUM_DISTANCE_KM: f64 = 1000.0;

/// Criterion 3: the least Uptime Institute Tier.
pub const MINIMUM_TIER: u8 = 3;

/// What is known about a candidate site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteInput {
    /// ISO 3166-1 alpha-2 code of the state the site is in (either case).
    pub country: String,
    /// Latitude, degrees (WGS84), in [-90, 90].
    pub lat: f64,
    /// Longitude, degrees (WGS84), in [-180, 180].
    pub lon: f64,
    /// Uptime Institute Tier of the site's certification (1–4); `None` when
    /// the site holds no Tier certification.
    pub tier: Option<u8>,
    /// Last day (inclusive) on which the Tier certificate is valid; `None`
    /// when unknown, which fails criterion 3 for a Tier III/IV site.
    pub tier_valid_until: Option<NaiveDate>,
    /// The check date.
    pub today: NaiveDate,
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Eligibility {
    /// True exactly when `failed` is empty.
    pub eligible: bool,
    /// Geodesic distance (WGS84) to the nearest boundary point of Russia or
    /// Belarus, km; 0 when the site is inside either.
    pub distance_km: f64,
    /// That nearest point (the site itself when inside).
    pub nearest_border_point: BorderPoint,
    /// Every criterion the site fails, in the order 1–4.
    pub failed: Vec<Criterion>,
}

/// A failed criterion. Serialised with `code` (the same as [`Criterion::code`])
/// and the variant's fields, so a portal can translate by code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code")]
pub enum Criterion {
    /// 1: the site is in Latvia.
    #[serde(rename = "in_latvia")]
    InLatvia,
    /// 2: the state is neither an EU nor a NATO member.
    #[serde(rename = "not_eu_or_nato")]
    NotEuOrNato { country: String },
    /// 3: no Tier certification, or Tier I or II.
    #[serde(rename = "tier_below_iii")]
    TierBelowIII { tier: Option<u8> },
    /// 3: the Tier III/IV certificate expired before the check date.
    #[serde(rename = "tier_certificate_expired")]
    TierCertificateExpired { until: NaiveDate },
    /// 3: the Tier III/IV certificate has no known validity date.
    #[serde(rename = "tier_validity_unknown")]
    TierValidityUnknown,
    /// 4: closer than the minimum to Russia or Belarus.
    #[serde(rename = "too_close")]
    TooClose {
        distance_km: f64,
        minimum_km: f64,
        country: BorderCountry,
    },
}

impl Criterion {
    /// Stable machine code, for translation and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Criterion::InLatvia => "in_latvia",
            Criterion::NotEuOrNato { .. } => "not_eu_or_nato",
            Criterion::TierBelowIII { .. } => "tier_below_iii",
            Criterion::TierCertificateExpired { .. } => "tier_certificate_expired",
            Criterion::TierValidityUnknown => "tier_validity_unknown",
            Criterion::TooClose { .. } => "too_close",
        }
    }
}

fn roman(tier: u8) -> &'static str {
    match tier {
        1 => "I",
        2 => "II",
        3 => "III",
        4 => "IV",
        _ => "?",
    }
}

impl std::fmt::Display for Criterion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Criterion::InLatvia => {
                f.write_str("the site is in Latvia; a data embassy must be abroad")
            }
            Criterion::NotEuOrNato { country } => {
                write!(f, "{country} is a member of neither the EU nor NATO")
            }
            Criterion::TierBelowIII { tier: None } => f.write_str(
                "the site holds no Uptime Institute Tier certification; Tier III or higher is required",
            ),
            Criterion::TierBelowIII { tier: Some(t) } => write!(
                f,
                "the site is certified Uptime Institute Tier {}; Tier III or higher is required",
                roman(*t)
            ),
            Criterion::TierCertificateExpired { until } => {
                write!(f, "the Tier certificate was valid only until {until}")
            }
            Criterion::TierValidityUnknown => f.write_str(
                "the Tier certificate's validity date is not known, so it cannot be shown valid",
            ),
            Criterion::TooClose {
                distance_km,
                minimum_km,
                country,
            } => write!(
                f,
                "the site is {distance_km:.1} km from {}; at least {minimum_km:.0} km is required",
                country.name()
            ),
        }
    }
}

/// Input that cannot be checked. [`InputError::field`] names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("country: {value:?} is not two ASCII letters (an ISO 3166-1 alpha-2 code)")]
    CountryFormat { value: String },
    #[error("country: {value:?} is not an assigned ISO 3166-1 alpha-2 code{}",
        match suggestion { Some(s) => format!(" (did you mean {s}?)"), None => String::new() })]
    UnknownCountry {
        value: String,
        suggestion: Option<&'static str>,
    },
    #[error("lat: {value} is not a latitude in [-90, 90] degrees")]
    Latitude { value: f64 },
    #[error("lon: {value} is not a longitude in [-180, 180] degrees")]
    Longitude { value: f64 },
    #[error("tier: {value} is not an Uptime Institute Tier (1 to 4)")]
    Tier { value: u8 },
}

impl InputError {
    /// The offending field of [`SiteInput`].
    pub fn field(&self) -> &'static str {
        match self {
            InputError::CountryFormat { .. } | InputError::UnknownCountry { .. } => "country",
            InputError::Latitude { .. } => "lat",
            InputError::Longitude { .. } => "lon",
            InputError::Tier { .. } => "tier",
        }
    }

    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            InputError::CountryFormat { .. } => "invalid_country",
            InputError::UnknownCountry { .. } => "unknown_country",
            InputError::Latitude { .. } => "invalid_coordinates",
            InputError::Longitude { .. } => "invalid_coordinates",
            InputError::Tier { .. } => "invalid_tier",
        }
    }
}

/// Validates the input and returns the upper-cased country code.
fn validate(input: &SiteInput) -> Result<String, InputError> {
    let country = &input.country;
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(InputError::CountryFormat {
            value: country.clone(),
        });
    }
    let code = country.to_ascii_uppercase();
    if !is_assigned(&code) {
        return Err(InputError::UnknownCountry {
            suggestion: iso_for_alias(&code),
            value: country.clone(),
        });
    }
    if !input.lat.is_finite() || !(-90.0..=90.0).contains(&input.lat) {
        return Err(InputError::Latitude { value: input.lat });
    }
    if !input.lon.is_finite() || !(-180.0..=180.0).contains(&input.lon) {
        return Err(InputError::Longitude { value: input.lon });
    }
    match input.tier {
        Some(tier) if !(1..=4).contains(&tier) => Err(InputError::Tier { value: tier }),
        _ => Ok(code),
    }
}

/// Checks a site against EMB-1. Pure: the only data it reads is embedded.
pub fn check_site(input: &SiteInput) -> Result<Eligibility, InputError> {
    let country = validate(input)?;
    let border = nearest_border(input.lat, input.lon);

    let mut failed = Vec::new();
    if country == LATVIA {
        failed.push(Criterion::InLatvia);
    }
    if !is_eu(&country) && !is_nato(&country) {
        failed.push(Criterion::NotEuOrNato { country });
    }
    match (input.tier, input.tier_valid_until) {
        (Some(tier), Some(until)) if tier >= MINIMUM_TIER => {
            if until < input.today {
                failed.push(Criterion::TierCertificateExpired { until });
            }
        }
        (Some(tier), None) if tier >= MINIMUM_TIER => failed.push(Criterion::TierValidityUnknown),
        (tier, _) => failed.push(Criterion::TierBelowIII { tier }),
    }
    if border.distance_km < MINIMUM_DISTANCE_KM {
        failed.push(Criterion::TooClose {
            distance_km: border.distance_km,
            minimum_km: MINIMUM_DISTANCE_KM,
            country: border.nearest.country,
        });
    }
    Ok(Eligibility {
        eligible: failed.is_empty(),
        distance_km: border.distance_km,
        nearest_border_point: border.nearest,
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(country: &str, lat: f64, lon: f64) -> SiteInput {
        SiteInput {
            country: country.to_owned(),
            lat,
            lon,
            tier: Some(3),
            tier_valid_until: NaiveDate::from_ymd_opt(2027, 1, 31),
            today: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
        }
    }

    #[test]
    fn serialised_code_is_the_code_method() {
        let all = [
            Criterion::InLatvia,
            Criterion::NotEuOrNato {
                country: "CH".into(),
            },
            Criterion::TierBelowIII { tier: Some(2) },
            Criterion::TierCertificateExpired {
                until: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            },
            Criterion::TierValidityUnknown,
            Criterion::TooClose {
                distance_km: 12.5,
                minimum_km: 1000.0,
                country: BorderCountry::Belarus,
            },
        ];
        for c in all {
            let json = serde_json::to_value(&c).unwrap();
            assert_eq!(json["code"], c.code(), "{json}");
            let back: Criterion = serde_json::from_value(json).unwrap();
            assert_eq!(back, c);
        }
    }

    #[test]
    fn messages_are_readable_english() {
        assert_eq!(
            Criterion::TierBelowIII { tier: Some(2) }.to_string(),
            "the site is certified Uptime Institute Tier II; Tier III or higher is required"
        );
        assert_eq!(
            Criterion::TooClose {
                distance_km: 253.44,
                minimum_km: 1000.0,
                country: BorderCountry::Russia
            }
            .to_string(),
            "the site is 253.4 km from Russia; at least 1000 km is required"
        );
        assert_eq!(
            Criterion::NotEuOrNato {
                country: "CH".into()
            }
            .to_string(),
            "CH is a member of neither the EU nor NATO"
        );
    }

    #[test]
    fn input_errors_name_their_field() {
        let cases = [
            (site("PT", 91.0, 0.0), "lat", "lat: 91 is not a latitude"),
            (site("PT", f64::NAN, 0.0), "lat", "lat: NaN is not"),
            (
                site("PT", 0.0, -180.5),
                "lon",
                "lon: -180.5 is not a longitude",
            ),
            (site("PT", 0.0, f64::INFINITY), "lon", "lon: inf is not"),
            (
                site("P1", 0.0, 0.0),
                "country",
                "country: \"P1\" is not two ASCII",
            ),
            (
                site("PRT", 0.0, 0.0),
                "country",
                "country: \"PRT\" is not two",
            ),
            (
                site("UK", 51.5, -0.1),
                "country",
                "country: \"UK\" is not an assigned ISO 3166-1 alpha-2 code (did you mean GB?)",
            ),
            (
                site("QQ", 0.0, 0.0),
                "country",
                "country: \"QQ\" is not an assigned",
            ),
        ];
        for (input, field, message) in cases {
            let err = check_site(&input).unwrap_err();
            assert_eq!(err.field(), field, "{err}");
            assert!(err.to_string().starts_with(message), "{err}");
        }
        let mut tier5 = site("PT", 38.7, -9.1);
        tier5.tier = Some(5);
        let err = check_site(&tier5).unwrap_err();
        assert_eq!((err.field(), err.code()), ("tier", "invalid_tier"));
    }

    #[test]
    fn boundary_values_are_accepted() {
        for (lat, lon) in [(90.0, 180.0), (-90.0, -180.0), (0.0, 180.0)] {
            let e = check_site(&site("PT", lat, lon)).unwrap();
            assert!(e.distance_km > 0.0, "{lat} {lon}: {e:?}");
        }
        // Lower-case codes are accepted and reported upper-cased.
        let e = check_site(&site("ch", 46.95, 7.45)).unwrap();
        assert_eq!(
            e.failed,
            vec![Criterion::NotEuOrNato {
                country: "CH".into()
            }]
        );
    }

    #[test]
    fn certificate_valid_through_its_last_day() {
        let mut s = site("PT", 38.72, -9.14);
        s.tier_valid_until = Some(s.today);
        assert!(check_site(&s).unwrap().eligible);
        s.tier_valid_until = s.today.pred_opt();
        assert_eq!(
            check_site(&s).unwrap().failed,
            vec![Criterion::TierCertificateExpired {
                until: s.today.pred_opt().unwrap()
            }]
        );
        s.tier_valid_until = None;
        assert_eq!(
            check_site(&s).unwrap().failed,
            vec![Criterion::TierValidityUnknown]
        );
        s.tier = None;
        assert_eq!(
            check_site(&s).unwrap().failed,
            vec![Criterion::TierBelowIII { tier: None }]
        );
        s.tier = Some(4);
        s.tier_valid_until = NaiveDate::from_ymd_opt(2030, 1, 1);
        assert!(check_site(&s).unwrap().eligible);
    }
}

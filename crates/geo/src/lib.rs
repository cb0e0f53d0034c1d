//! `makonis-geo`: geodesic distances to Russia and Belarus, the embedded
//! border data, and data-embassy site eligibility (requirement EMB-1).
//!
//! Pure functions: no I/O beyond the border data compiled into the crate.
//!
//! ```
//! use chrono::NaiveDate;
//! use makonis_geo::{SiteInput, check_site};
//!
//! let lisbon = SiteInput {
//!     country: "PT".into(),
//!     lat: 38.7223,
//!     lon: -9.1393,
//!     tier: Some(3),
//!     tier_valid_until: NaiveDate::from_ymd_opt(2027, 12, 31),
//!     today: NaiveDate::from_ymd_opt(2025, 1, 15).unwrap(),
//! };
//! let verdict = check_site(&lisbon).unwrap();
//! assert!(verdict.eligible);
//! assert_eq!(verdict.nearest_border_point.country.code(), "RU"); // Kaliningrad
//! ```

pub mod borders;
pub mod countries;
pub mod eligibility;

pub use borders::{BORDER_DATA_SOURCE, BorderCountry, BorderDistance, BorderPoint, nearest_border};
pub use eligibility::{
    Criterion, Eligibility, InputError, MINIMUM_DISTANCE_KM, MINIMUM_TIER, SiteInput, check_site,
};

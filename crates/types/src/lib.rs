//! Mākonis domain types shared by every layer: typed identifiers, the closed
//! sets of values the domain knows (roles, security categories, lifecycle
//! states…), the records that cross layer boundaries, and input validation
//! that produces field-level errors. Nothing here performs I/O, so the same
//! rules hold in the database layer, the use cases, the HTTP edge and the CLI.

pub mod audit;
pub mod catalogue;
pub mod embassy;
pub mod federation;
pub mod ids;
pub mod information_system;
pub mod institution;
pub mod metering;
pub mod order;
pub mod paging;
pub mod roles;
pub mod token;
pub mod user;
pub mod validation;

pub use ids::*;
pub use validation::{FieldError, Validator};

/// Timestamps are always UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

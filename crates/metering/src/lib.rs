//! Mākonis metering: FOCUS 1.2 import and export, rating against versioned
//! price lists, and aggregation into monthly totals and statements.
//!
//! Everything here is pure and streaming: readers take any
//! [`std::io::Read`], writers any [`std::io::Write`], records flow one at a
//! time, and money is [`rust_decimal::Decimal`], never a float. The app
//! crate supplies the database side through [`import::RecordSink`].
//!
//! - [`reader`]: [`FocusReader`], header and row validation with line and
//!   column in every error.
//! - [`parallel`]: the same reading and checks on every core, folding
//!   borrowed rows ([`FocusRow`]) into per-chunk states; `import::validate`
//!   and the metering benchmark use it.
//! - [`import`]: all-or-nothing [`import()`](import::import) into a sink,
//!   with the file's BLAKE3 content hash ([`hash`]).
//! - [`rating`]: versioned price lists, [`rate`](rating::rate).
//! - [`aggregate`]: monthly totals that reconcile, statement lines rounded
//!   once to cents.
//! - [`writer`]: FOCUS 1.2 CSV export.
//! - [`generator`]: deterministic realistic FOCUS data for tests and the
//!   benchmark.
//!
//! See `docs/metering.md` for the columns handled, the validation rules,
//! the rating and rounding rules with a worked example, and how exports are
//! checked with the FinOps Foundation's validator.

pub mod aggregate;
pub mod focus;
pub mod generator;
pub mod hash;
pub mod import;
pub mod parallel;
pub mod parse;
pub mod pipeline;
pub mod rating;
pub mod reader;
pub mod writer;

pub use aggregate::{MonthlyTotals, Statement, round_money};
pub use focus::{
    ChargeCategory, ChargeClass, ChargeFrequency, FocusRecord, PricingCategory, ServiceCategory,
    Tags,
};
pub use hash::{ContentHash, hash_reader};
pub use import::{ImportSummary, MemoryStore, RecordSink, import};
pub use rating::{PriceBook, PriceList, RatedRecord, UsageRecord, rate};
pub use reader::{FocusReader, FocusRow, ImportError, ReadOptions};
pub use writer::{FocusWriter, rated_to_focus};

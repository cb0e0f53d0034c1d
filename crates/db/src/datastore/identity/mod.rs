//! Identity storage: institutions, users, role assignments, sessions, API
//! tokens and the login throttle.
//!
//! Area `identity` (institutions, users, role assignments, sessions, API
//! tokens and the login throttle), storage (all SQL) layer: the use cases
//! are in `makonis_app::identity`; the same area folder exists in
//! `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: WP-2, SEC-5, SEC-7.

pub mod api_token;
pub mod institution;
pub mod role;
pub mod session;
pub mod throttle;
pub mod user;

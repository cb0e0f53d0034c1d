//! Identity over HTTP: institutions, users and their roles, the caller's
//! own account (`/me`) and API tokens.
//!
//! Area `identity` (institutions, users, role assignments, sessions, API
//! tokens and the login throttle), REST API (`/api/v1`) layer: the use cases
//! are in `makonis_app::identity`; the same area folder exists in
//! `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: WP-2, SEC-5, SEC-7.

pub mod institutions;
pub mod me;
pub mod tokens;
pub mod users;

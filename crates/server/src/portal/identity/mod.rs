//! Identity pages: sign-in with the second factor, the caller's account and
//! API tokens, institutions, users and their roles.
//!
//! Area `identity` (institutions, users, role assignments, sessions, API
//! tokens and the login throttle), portal pages layer: the use cases are in
//! `makonis_app::identity`; the same area folder exists in
//! `db/src/datastore`, `server/src/api` and `server/src/portal`.
//! Requirements: WP-2, SEC-5, SEC-7.

pub mod account;
pub mod auth;
pub mod institutions;
pub mod users;

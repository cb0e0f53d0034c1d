//! Identity: who people are and what they may be. Owns institutions (the
//! tenants), user accounts, role assignments, password and TOTP sign-in,
//! sessions, lockouts and API tokens.
//!
//! Main flow: [`authn`] checks a password, then the second factor, and
//! opens a session (or checks an API token) whose [`crate::OpContext`]
//! carries the user, their roles and the token's scope into every other use
//! case; [`users`] and [`institutions`] are the directory that the roles
//! come from.
//!
//! Requirements: WP-2 (one directory of institutions and people), SEC-5
//! (two factors), SEC-7 (roles and least privilege).

pub mod authn;
pub mod institutions;
pub(crate) mod policy;
pub mod users;

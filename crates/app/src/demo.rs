//! Demo data placeholder; filled in below.

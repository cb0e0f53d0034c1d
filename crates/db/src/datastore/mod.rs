//! One module per resource. Functions take `&mut AnyConnection`, so the same
//! function works inside a write transaction (`&mut *tx`) and on a pooled
//! read connection (`&mut *datastore.conn().await?`).

pub mod api_token;
pub mod audit;
pub mod catalogue;
pub mod embassy;
pub mod federation;
pub mod information_system;
pub mod institution;
pub mod metering;
pub mod orders;
pub mod role;
pub mod sagas;
pub mod session;
pub mod throttle;
pub mod user;

pub use sqlx::AnyConnection as Conn;

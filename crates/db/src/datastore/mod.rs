//! One module per resource. Functions take `&mut AnyConnection`, so the same
//! function works inside a write transaction (`&mut *tx`) and on a pooled
//! read connection (`&mut *datastore.conn().await?`).

pub mod audit;
pub mod background;
pub mod catalogue;
pub mod embassy;
pub mod federation;
pub mod identity;
pub mod metering;
pub mod orders;
pub mod sagas;
pub mod systems;

pub use sqlx::AnyConnection as Conn;

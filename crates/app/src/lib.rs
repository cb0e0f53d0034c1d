//! Mākonis use cases. Every public function takes an [`OpContext`] (who is
//! asking, for which institution, under which request id), asks the
//! authorisation policy in [`authz`] before it reads or writes anything for
//! the caller, and writes its audit record in the same transaction as its
//! change. HTTP handlers and the CLI call these functions and nothing below
//! them.
//!
//! One folder per capability area, mirrored in `db/src/datastore`,
//! `server/src/api` and `server/src/portal`: [`identity`], [`systems`],
//! [`federation`], [`catalogue`], [`orders`], [`sagas`], [`background`],
//! [`metering`], [`embassy`], [`audit`]. Each area's `policy.rs` declares
//! what each role may do on the kinds it owns; `docs/ARCHITECTURE.md` has
//! the table of areas and walkthroughs through the files.

pub mod audit;
pub mod authz;
pub mod background;
pub mod catalogue;
mod context;
pub mod embassy;
mod error;
pub mod federation;
pub mod identity;
pub mod metering;
pub mod orders;
pub mod sagas;
pub mod secrets;
pub mod systems;

use std::sync::Arc;

pub use context::{Actor, OpContext};
pub use error::{Error, Result};
use makonis_db::Datastore;
/// Records the use cases return as they are stored; the HTTP edge names
/// them through `app`, never through `db`.
pub use makonis_db::background::ReconcilerRun;
pub use makonis_db::orders::Notification;
pub use makonis_db::sagas::ResourceRecord;

/// Settings the use cases need.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Sessions end after this long without a request.
    pub session_idle: chrono::Duration,
    /// …and after this long in any case.
    pub session_absolute: chrono::Duration,
    /// Failed logins per account within `throttle_window` before a lockout.
    pub max_failures_per_account: i64,
    /// Failed logins per client address within `throttle_window`.
    pub max_failures_per_address: i64,
    pub throttle_window: chrono::Duration,
    pub lockout: chrono::Duration,
    /// Issuer name shown in authenticator apps.
    pub totp_issuer: String,
    /// Orders costing more than this a month need four eyes.
    pub four_eyes_threshold_eur: rust_decimal::Decimal,
    /// Where local drivers (the simulator) keep their state; none disables them.
    pub state_dir: Option<std::path::PathBuf>,
    /// How long provisioning waits for a resource to become active.
    pub provision_timeout: std::time::Duration,
    /// How often provisioning asks the provider whether it is ready.
    pub poll_interval: std::time::Duration,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            session_idle: chrono::Duration::minutes(60),
            session_absolute: chrono::Duration::hours(12),
            max_failures_per_account: 5,
            max_failures_per_address: 30,
            throttle_window: chrono::Duration::minutes(15),
            lockout: chrono::Duration::minutes(15),
            totp_issuer: "Mākonis".into(),
            four_eyes_threshold_eur: rust_decimal::Decimal::from(1000),
            state_dir: None,
            provision_timeout: std::time::Duration::from_secs(120),
            poll_interval: std::time::Duration::from_millis(250),
        }
    }
}

/// The application: storage, secrets and settings. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<AppInner>,
}

struct AppInner {
    datastore: Datastore,
    secrets: secrets::SecretBox,
    config: AppConfig,
    /// The saga execution coordinator, started on first use.
    sec: tokio::sync::OnceCell<steno::SecClient>,
    /// One driver per provider (the simulator's lock is per instance; a
    /// cloud driver's token is reused), rebuilt when the provider changes.
    drivers: federation::drivers::DriverCache,
    /// What placement decides on, rebuilt when the catalogue changes.
    snapshot: catalogue::snapshot::SnapshotCache,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("backend", &self.inner.datastore.backend())
            .finish()
    }
}

impl App {
    pub fn new(datastore: Datastore, secrets: secrets::SecretBox, config: AppConfig) -> Self {
        Self {
            inner: Arc::new(AppInner {
                datastore,
                secrets,
                config,
                sec: tokio::sync::OnceCell::new(),
                drivers: federation::drivers::DriverCache::default(),
                snapshot: catalogue::snapshot::SnapshotCache::default(),
            }),
        }
    }

    pub fn datastore(&self) -> &Datastore {
        &self.inner.datastore
    }

    pub(crate) fn secrets(&self) -> &secrets::SecretBox {
        &self.inner.secrets
    }

    pub(crate) fn snapshot_cache(&self) -> &catalogue::snapshot::SnapshotCache {
        &self.inner.snapshot
    }

    pub fn config(&self) -> &AppConfig {
        &self.inner.config
    }

    /// Readiness: the database answers.
    pub async fn ready(&self) -> Result<()> {
        self.inner
            .datastore
            .ping()
            .await
            .map_err(|e| Error::Unavailable {
                message: "the database does not answer".into(),
                detail: e.to_string(),
            })
    }
}

pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

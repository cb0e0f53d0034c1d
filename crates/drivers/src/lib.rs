//! Provider drivers (REQUIREMENTS FED-1, FED-2, FED-13). A [`Driver`] talks to
//! one provider's platform: it creates, reads, lists and deletes resources,
//! reports capacity, and reports usage. Creates carry an idempotency key, and
//! drivers must be able to find a resource by that key, so a caller that lost
//! an answer (a time-out, a crash) can ask again instead of creating twice.
//!
//! `sim` is the built-in simulator: the demo's default provider and the one
//! tests use to inject faults. `openstack` talks to Keystone, Nova,
//! Placement and Glance (Cinder and Neutron are covered by contract tests
//! against the API reference samples); `aws` talks to EC2 and S3.

pub mod aws;
pub mod openstack;
pub mod sim;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use makonis_types::catalogue::OfferingKind;
use serde::{Deserialize, Serialize};

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceSpec {
    /// Unique per intended resource; a repeated create with the same key
    /// returns the resource made the first time.
    pub idempotency_key: String,
    /// The provider's name for the site.
    pub site: String,
    pub kind: OfferingKind,
    /// The provider's name for the offering (flavour, volume type…).
    pub offering: String,
    pub quantity: i64,
    /// Labels the provider stores with the resource (order id, IS code).
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    Building,
    Active,
    Error,
}

/// A resource as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// The provider's id.
    pub id: String,
    pub idempotency_key: String,
    pub site: String,
    pub kind: OfferingKind,
    pub offering: String,
    pub quantity: i64,
    pub status: ResourceStatus,
    pub created_at: DateTime<Utc>,
    pub tags: BTreeMap<String, String>,
}

/// Free capacity the provider reports for a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    pub site: String,
    pub free_units: i64,
    pub total_units: i64,
}

/// An offering as the provider describes it: a Nova flavour, an EC2 instance
/// type, a Cinder volume type. Catalogue sync turns these into Mākonis
/// offerings priced from the provider's price list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderOffering {
    pub kind: OfferingKind,
    /// The provider's name for it; what [`ResourceSpec::offering`] names.
    pub name: String,
    /// The provider's id for it (flavour id, instance type), to notice a
    /// rename: same id, new name.
    pub provider_ref: String,
    pub description: Option<String>,
    pub vcpu: i64,
    pub ram_mb: i64,
    pub storage_gb: i64,
    /// How many more of it the provider can deliver now, from its capacity
    /// and the project's quota (whichever is smaller); `None` when the
    /// provider does not say.
    pub capacity_units: Option<i64>,
}

/// One hour (or other period) of one resource's use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    pub resource_id: String,
    pub idempotency_key: String,
    /// `instance_hour`, `gb_month`…, matching the offering's billing unit.
    pub metric: String,
    pub quantity: i64,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
}

/// What went wrong at the provider, in terms a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// The provider said no (capacity, quota, policy).
    #[error("the provider refused: {0}")]
    Refused(String),
    /// No answer in time; the operation may or may not have happened.
    #[error("the provider did not answer in time")]
    Timeout,
    /// The provider is down or unreachable.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    /// Credentials were rejected.
    #[error("the provider rejected the credentials: {0}")]
    Unauthorized(String),
    #[error("not found at the provider: {0}")]
    NotFound(String),
    /// The request itself was wrong (unknown site or offering).
    #[error("the provider rejected the request: {0}")]
    Invalid(String),
}

impl DriverError {
    /// Worth trying again later (the operation is idempotent by key).
    pub fn is_transient(&self) -> bool {
        matches!(self, DriverError::Timeout | DriverError::Unavailable(_))
    }
}

pub type DriverResult<T> = Result<T, DriverError>;

#[async_trait::async_trait]
pub trait Driver: Send + Sync + std::fmt::Debug {
    /// Creates a resource, or returns the one already made with the same
    /// idempotency key.
    async fn create(&self, spec: &ResourceSpec) -> DriverResult<Resource>;
    /// The resource made with this idempotency key, if any.
    async fn find(&self, idempotency_key: &str) -> DriverResult<Option<Resource>>;
    async fn get(&self, id: &str) -> DriverResult<Option<Resource>>;
    /// Deletes a resource; deleting one that is already gone succeeds.
    async fn delete(&self, id: &str) -> DriverResult<()>;
    /// Sets a resource's size to `quantity` units (more VMs, more GB…).
    /// Setting the size it already has succeeds, so a retry is harmless.
    async fn resize(&self, id: &str, quantity: i64) -> DriverResult<Resource>;
    async fn list(&self) -> DriverResult<Vec<Resource>>;
    async fn capacity(&self) -> DriverResult<Vec<Capacity>>;
    /// Usage of every resource in whole hours since `since`.
    async fn usage_since(&self, since: DateTime<Utc>) -> DriverResult<Vec<UsageRecord>>;
    /// What the provider offers, for catalogue sync. Providers without a
    /// fixed catalogue (the simulator) offer nothing and keep the offerings
    /// their operators enter by hand.
    async fn offerings(&self) -> DriverResult<Vec<ProviderOffering>> {
        Ok(Vec::new())
    }
}

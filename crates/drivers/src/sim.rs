//! The simulator provider: the demo's default and the fault-injection tool
//! (issue 3 §8). It keeps its state in one JSON file (written atomically:
//! temporary file, fsync, rename), so it survives restarts like a real cloud
//! would, and a test can read what "exists at the provider". Each site has a
//! finite capacity in units; resources take a configurable time to become
//! active; faults can be injected to make the next calls refuse, time out
//! (after really creating, as a lost answer would), fail half-way (leaving a
//! broken resource behind), find the provider unavailable or reject its
//! credentials. It reports
//! hourly usage for every resource while it exists.
//!
//! One process owns a state file at a time: calls are serialised by an
//! in-process lock, not a file lock.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, DurationRound, Utc};
use makonis_types::catalogue::OfferingKind;
use serde::{Deserialize, Serialize};

use crate::{
    Capacity, Driver, DriverError, DriverResult, Resource, ResourceSpec, ResourceStatus,
    UsageRecord,
};

/// How a simulated provider behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Time from create to active.
    pub provisioning_delay: Duration,
    /// Units each site can hold.
    pub capacity_per_site: i64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            provisioning_delay: Duration::from_millis(1500),
            capacity_per_site: 400,
        }
    }
}

impl SimConfig {
    /// Reads `sim://?delay_ms=1500&capacity=400` (both optional); no
    /// endpoint means the defaults.
    pub fn from_endpoint(endpoint: Option<&str>) -> DriverResult<Self> {
        let mut config = Self::default();
        let Some(endpoint) = endpoint.filter(|e| !e.trim().is_empty()) else {
            return Ok(config);
        };
        let url = url::Url::parse(endpoint)
            .map_err(|e| DriverError::Invalid(format!("simulator endpoint '{endpoint}': {e}")))?;
        if url.scheme() != "sim" {
            return Err(DriverError::Invalid(format!(
                "simulator endpoint must start with sim://, got '{endpoint}'"
            )));
        }
        for (key, value) in url.query_pairs() {
            let number = || {
                value.parse::<i64>().map_err(|_| {
                    DriverError::Invalid(format!(
                        "simulator endpoint: {key} must be a whole number, got '{value}'"
                    ))
                })
            };
            match key.as_ref() {
                "delay_ms" => {
                    config.provisioning_delay = Duration::from_millis(number()?.max(0) as u64)
                }
                "capacity" => config.capacity_per_site = number()?.max(0),
                other => {
                    return Err(DriverError::Invalid(format!(
                        "simulator endpoint: unknown setting '{other}' (delay_ms, capacity)"
                    )));
                }
            }
        }
        Ok(config)
    }
}

/// Faults the next calls will meet; each counter is used up one call at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    /// The next creates are refused.
    pub refuse: u32,
    /// The next creates really create, then report a time-out.
    pub timeout: u32,
    /// The next creates leave a broken resource behind and report failure.
    pub fail_halfway: u32,
    /// The next calls of any kind find the provider unavailable.
    pub unavailable: u32,
    /// The next calls of any kind are answered as if the provider's
    /// credentials had been revoked.
    #[serde(default)]
    pub unauthorized: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SimResource {
    resource: Resource,
    ready_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

impl SimResource {
    fn view(&self, now: DateTime<Utc>) -> Resource {
        let mut r = self.resource.clone();
        if r.status == ResourceStatus::Building && now >= self.ready_at {
            r.status = ResourceStatus::Active;
        }
        r
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    resources: Vec<SimResource>,
    faults: Faults,
}

#[derive(Debug)]
pub struct SimDriver {
    path: PathBuf,
    config: SimConfig,
    lock: tokio::sync::Mutex<()>,
}

fn io(path: &Path, e: std::io::Error) -> DriverError {
    DriverError::Unavailable(format!("simulator state {}: {e}", path.display()))
}

impl SimDriver {
    /// A simulator keeping its state in `path` (created on first write).
    pub fn new(path: impl Into<PathBuf>, config: SimConfig) -> Self {
        Self {
            path: path.into(),
            config,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    fn load(&self) -> DriverResult<State> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                DriverError::Unavailable(format!(
                    "simulator state {} is damaged: {e}",
                    self.path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(io(&self.path, e)),
        }
    }

    fn save(&self, state: &State) -> DriverResult<()> {
        use std::io::Write;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io(dir, e))?;
        let bytes = serde_json::to_vec_pretty(state)
            .map_err(|e| DriverError::Unavailable(e.to_string()))?;
        tmp.write_all(&bytes).map_err(|e| io(&self.path, e))?;
        tmp.as_file().sync_all().map_err(|e| io(&self.path, e))?;
        tmp.persist(&self.path)
            .map_err(|e| io(&self.path, e.error))?;
        Ok(())
    }

    /// Sets the faults the next calls will meet.
    pub async fn inject(&self, faults: Faults) -> DriverResult<()> {
        let _guard = self.lock.lock().await;
        let mut state = self.load()?;
        state.faults = faults;
        self.save(&state)
    }

    /// Uses up one "unavailable" fault, if any is armed.
    fn unavailable(&self, state: &mut State) -> DriverResult<()> {
        if state.faults.unauthorized > 0 {
            state.faults.unauthorized -= 1;
            self.save(state)?;
            return Err(DriverError::Unauthorized(
                "injected: the application credential was revoked".into(),
            ));
        }
        if state.faults.unavailable > 0 {
            state.faults.unavailable -= 1;
            self.save(state)?;
            return Err(DriverError::Unavailable(
                "injected: the simulator is down".into(),
            ));
        }
        Ok(())
    }
}

fn metric(kind: OfferingKind) -> &'static str {
    match kind {
        OfferingKind::Volume | OfferingKind::Bucket | OfferingKind::Backup => "gb_hour",
        OfferingKind::Specialised => "person_hour",
        OfferingKind::Vm | OfferingKind::Kubernetes | OfferingKind::Database => "instance_hour",
    }
}

#[async_trait::async_trait]
impl Driver for SimDriver {
    async fn create(&self, spec: &ResourceSpec) -> DriverResult<Resource> {
        let _guard = self.lock.lock().await;
        let mut state = self.load()?;
        self.unavailable(&mut state)?;
        let now = Utc::now();
        if let Some(existing) = state
            .resources
            .iter()
            .find(|r| r.deleted_at.is_none() && r.resource.idempotency_key == spec.idempotency_key)
        {
            return Ok(existing.view(now));
        }
        if spec.quantity < 1 {
            return Err(DriverError::Invalid(format!(
                "quantity must be at least 1, got {}",
                spec.quantity
            )));
        }
        if spec.site.trim().is_empty() {
            return Err(DriverError::Invalid("no site given".into()));
        }
        if state.faults.refuse > 0 {
            state.faults.refuse -= 1;
            self.save(&state)?;
            return Err(DriverError::Refused(
                "injected: the simulator refuses new resources".into(),
            ));
        }
        let used: i64 = state
            .resources
            .iter()
            .filter(|r| r.deleted_at.is_none() && r.resource.site == spec.site)
            .map(|r| r.resource.quantity)
            .sum();
        let free = self.config.capacity_per_site - used;
        if spec.quantity > free {
            return Err(DriverError::Refused(format!(
                "site {} has {free} free units; {} requested",
                spec.site, spec.quantity
            )));
        }
        let broken = state.faults.fail_halfway > 0;
        let resource = Resource {
            id: format!("sim-{}", uuid::Uuid::now_v7()),
            idempotency_key: spec.idempotency_key.clone(),
            site: spec.site.clone(),
            kind: spec.kind,
            offering: spec.offering.clone(),
            quantity: spec.quantity,
            status: if broken {
                ResourceStatus::Error
            } else {
                ResourceStatus::Building
            },
            created_at: now,
            tags: spec.tags.clone(),
        };
        state.resources.push(SimResource {
            resource: resource.clone(),
            ready_at: now
                + chrono::Duration::from_std(self.config.provisioning_delay).unwrap_or_default(),
            deleted_at: None,
        });
        if broken {
            state.faults.fail_halfway -= 1;
            self.save(&state)?;
            return Err(DriverError::Unavailable(format!(
                "injected: {} failed half-way and is left in error",
                resource.id
            )));
        }
        if state.faults.timeout > 0 {
            state.faults.timeout -= 1;
            self.save(&state)?;
            return Err(DriverError::Timeout);
        }
        self.save(&state)?;
        Ok(resource)
    }

    async fn find(&self, idempotency_key: &str) -> DriverResult<Option<Resource>> {
        let _guard = self.lock.lock().await;
        let mut state = self.load()?;
        self.unavailable(&mut state)?;
        let now = Utc::now();
        Ok(state
            .resources
            .iter()
            .find(|r| r.deleted_at.is_none() && r.resource.idempotency_key == idempotency_key)
            .map(|r| r.view(now)))
    }

    async fn get(&self, id: &str) -> DriverResult<Option<Resource>> {
        let _guard = self.lock.lock().await;
        let mut state = self.load()?;
        self.unavailable(&mut state)?;
        let now = Utc::now();
        Ok(state
            .resources
            .iter()
            .find(|r| r.deleted_at.is_none() && r.resource.id == id)
            .map(|r| r.view(now)))
    }

    async fn delete(&self, id: &str) -> DriverResult<()> {
        let _guard = self.lock.lock().await;
        let mut state = self.load()?;
        self.unavailable(&mut state)?;
        let now = Utc::now();
        if let Some(r) = state
            .resources
            .iter_mut()
            .find(|r| r.deleted_at.is_none() && r.resource.id == id)
        {
            r.deleted_at = Some(now);
            self.save(&state)?;
        }
        Ok(())
    }

    async fn resize(&self, id: &str, quantity: i64) -> DriverResult<Resource> {
        let _guard = self.lock.lock().await;
        let mut state = self.load()?;
        self.unavailable(&mut state)?;
        let now = Utc::now();
        if quantity < 1 {
            return Err(DriverError::Invalid(format!(
                "quantity must be at least 1, got {quantity}"
            )));
        }
        let Some(index) = state
            .resources
            .iter()
            .position(|r| r.deleted_at.is_none() && r.resource.id == id)
        else {
            return Err(DriverError::NotFound(format!("resource {id}")));
        };
        let current = state.resources[index].resource.clone();
        if current.quantity == quantity {
            return Ok(state.resources[index].view(now));
        }
        if state.faults.refuse > 0 {
            state.faults.refuse -= 1;
            self.save(&state)?;
            return Err(DriverError::Refused(
                "injected: the simulator refuses changes".into(),
            ));
        }
        let used: i64 = state
            .resources
            .iter()
            .filter(|r| r.deleted_at.is_none() && r.resource.site == current.site)
            .map(|r| r.resource.quantity)
            .sum();
        let free = self.config.capacity_per_site - used;
        if quantity - current.quantity > free {
            return Err(DriverError::Refused(format!(
                "site {} has {free} free units; {} more requested",
                current.site,
                quantity - current.quantity
            )));
        }
        state.resources[index].resource.quantity = quantity;
        self.save(&state)?;
        Ok(state.resources[index].view(now))
    }

    async fn list(&self) -> DriverResult<Vec<Resource>> {
        let _guard = self.lock.lock().await;
        let mut state = self.load()?;
        self.unavailable(&mut state)?;
        let now = Utc::now();
        Ok(state
            .resources
            .iter()
            .filter(|r| r.deleted_at.is_none())
            .map(|r| r.view(now))
            .collect())
    }

    async fn capacity(&self) -> DriverResult<Vec<Capacity>> {
        let _guard = self.lock.lock().await;
        let mut state = self.load()?;
        self.unavailable(&mut state)?;
        let mut sites: Vec<String> = state
            .resources
            .iter()
            .map(|r| r.resource.site.clone())
            .collect();
        sites.sort();
        sites.dedup();
        Ok(sites
            .into_iter()
            .map(|site| {
                let used: i64 = state
                    .resources
                    .iter()
                    .filter(|r| r.deleted_at.is_none() && r.resource.site == site)
                    .map(|r| r.resource.quantity)
                    .sum();
                Capacity {
                    free_units: self.config.capacity_per_site - used,
                    total_units: self.config.capacity_per_site,
                    site,
                }
            })
            .collect())
    }

    async fn usage_since(&self, since: DateTime<Utc>) -> DriverResult<Vec<UsageRecord>> {
        let _guard = self.lock.lock().await;
        let mut state = self.load()?;
        self.unavailable(&mut state)?;
        let now = Utc::now();
        let mut records = Vec::new();
        for r in &state.resources {
            let start = r.resource.created_at.max(since);
            let end = r.deleted_at.unwrap_or(now).min(now);
            // Whole clock hours the resource existed for, start to end.
            let Ok(mut hour) = start.duration_trunc(chrono::Duration::hours(1)) else {
                continue;
            };
            if hour < start {
                hour += chrono::Duration::hours(1);
            }
            while hour + chrono::Duration::hours(1) <= end {
                records.push(UsageRecord {
                    resource_id: r.resource.id.clone(),
                    idempotency_key: r.resource.idempotency_key.clone(),
                    metric: metric(r.resource.kind).to_owned(),
                    quantity: r.resource.quantity,
                    period_start: hour,
                    period_end: hour + chrono::Duration::hours(1),
                });
                hour += chrono::Duration::hours(1);
            }
        }
        Ok(records)
    }
}

/// Rewrites resources' creation times, to test usage over past hours.
#[doc(hidden)]
pub async fn backdate(driver: &SimDriver, by: chrono::Duration) -> DriverResult<()> {
    let _guard = driver.lock.lock().await;
    let mut state = driver.load()?;
    for r in &mut state.resources {
        r.resource.created_at -= by;
        r.ready_at -= by;
    }
    driver.save(&state)
}

/// Puts a resource into error, as a failing host would; for tests.
#[doc(hidden)]
pub async fn break_resource(driver: &SimDriver, idempotency_key: &str) -> DriverResult<bool> {
    let _guard = driver.lock.lock().await;
    let mut state = driver.load()?;
    let Some(r) = state
        .resources
        .iter_mut()
        .find(|r| r.deleted_at.is_none() && r.resource.idempotency_key == idempotency_key)
    else {
        return Ok(false);
    };
    r.resource.status = ResourceStatus::Error;
    driver.save(&state)?;
    Ok(true)
}

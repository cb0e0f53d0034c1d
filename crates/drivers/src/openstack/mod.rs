//! The OpenStack driver: Keystone v3 application credentials, the service
//! catalogue, Nova servers and flavours, Placement capacity, Glance images
//! and `os-simple-tenant-usage`. Cinder volumes and Neutron networks are
//! described by [`cinder`] and [`neutron`], checked against the official
//! API reference samples because those services do not run here.
//!
//! One Mākonis resource is a *group* of servers made for one order: the
//! resource id is the order's idempotency key, every server of the group
//! carries it as a Nova tag and in its metadata, and is named
//! `<key>-<n>` (see [`nova::server_name`]). A create first looks the key up
//! (so a create whose answer was lost is never repeated), then asks Nova
//! for all servers of the group in one request, which Nova admits or
//! refuses as a whole against the project's quota. The mapping is written
//! down in `docs/drivers/openstack.md`.

pub mod cinder;
pub mod client;
pub mod local_peer;
pub mod neutron;
pub mod nova;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use makonis_types::catalogue::OfferingKind;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

pub use client::{Client, OpenStackConfig, Service};
pub use local_peer::LocalPeer;
use nova::{AbsoluteLimits, Flavor, KEY_METADATA, SITE_METADATA, Server};

use crate::{
    Capacity, Driver, DriverError, DriverResult, ProviderOffering, Resource, ResourceSpec,
    ResourceStatus, UsageRecord,
};

/// Placement's microversion for the reads the driver makes.
const PLACEMENT_MICROVERSION: &str = "1.10";
/// Nova's limit on tag length; the key is a tag.
const MAX_TAG_LENGTH: usize = 60;

#[derive(Debug)]
pub struct OpenStackDriver {
    client: Client,
    microversion: tokio::sync::OnceCell<String>,
    image: tokio::sync::OnceCell<String>,
}

/// Free and total amounts of one cloud, from Placement: per resource
/// provider (total − reserved) × allocation ratio − used, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Room {
    pub vcpu_total: i64,
    pub vcpu_free: i64,
    pub ram_free_mb: i64,
    pub disk_free_gb: i64,
}

impl Room {
    fn servers_of(&self, flavor: &Flavor) -> i64 {
        let fits = |free: i64, each: i64| {
            if each > 0 {
                free.max(0) / each
            } else {
                i64::MAX
            }
        };
        fits(self.vcpu_free, flavor.vcpus)
            .min(fits(self.ram_free_mb, flavor.ram))
            .min(fits(self.disk_free_gb, flavor.disk))
    }
}

#[derive(Debug, Deserialize)]
struct Inventory {
    total: i64,
    #[serde(default)]
    reserved: i64,
    #[serde(default = "one")]
    allocation_ratio: f64,
}

fn one() -> f64 {
    1.0
}

impl OpenStackDriver {
    pub fn new(config: OpenStackConfig) -> DriverResult<Self> {
        Ok(Self {
            client: Client::new(config)?,
            microversion: tokio::sync::OnceCell::new(),
            image: tokio::sync::OnceCell::new(),
        })
    }

    /// Requests made so far (for the inventory benchmark).
    pub fn api_calls(&self) -> u64 {
        self.client.api_calls()
    }

    fn provider(&self) -> &str {
        &self.client.config().provider
    }

    #[doc(hidden)]
    pub async fn current_token(&self) -> Option<String> {
        self.client.current_token().await
    }

    /// The compute microversion, negotiated once from the endpoint's
    /// version document.
    async fn microversion(&self) -> DriverResult<&str> {
        self.microversion
            .get_or_try_init(|| async {
                let base = self.client.required_endpoint(Service::Compute).await?;
                let document = self
                    .client
                    .request(
                        Service::Compute,
                        Method::GET,
                        &format!("{base}/"),
                        None,
                        None,
                        "the compute version document",
                    )
                    .await?;
                nova::negotiate_microversion(self.provider(), &document.body)
            })
            .await
            .map(String::as_str)
    }

    async fn compute(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> DriverResult<Value> {
        let version = self.microversion().await?.to_owned();
        Ok(self
            .client
            .request(Service::Compute, method, path, Some(&version), body, what)
            .await?
            .body)
    }

    /// Every page of a Nova listing: `field` holds the items, `<field>_links`
    /// the next page.
    async fn pages<T: serde::de::DeserializeOwned>(
        &self,
        first: String,
        field: &str,
        what: &str,
    ) -> DriverResult<Vec<T>> {
        let mut items = Vec::new();
        let mut next = Some(first);
        while let Some(path) = next.take() {
            let mut page = self.compute(Method::GET, &path, None, what).await?;
            let list = page.get_mut(field).map(Value::take).ok_or_else(|| {
                DriverError::Unavailable(format!(
                    "{}: {what}: the answer has no '{field}'",
                    self.provider()
                ))
            })?;
            let parsed: Vec<T> = serde_json::from_value(list).map_err(|e| {
                DriverError::Unavailable(format!(
                    "{}: {what} could not be read: {e}",
                    self.provider()
                ))
            })?;
            let empty = parsed.is_empty();
            items.extend(parsed);
            next = next_page(&page, &format!("{field}_links"), empty);
        }
        Ok(items)
    }

    async fn servers(&self, query: &str, what: &str) -> DriverResult<Vec<Server>> {
        let separator = if query.is_empty() { "" } else { "&" };
        self.pages(
            format!("servers/detail?limit=1000{separator}{query}"),
            "servers",
            what,
        )
        .await
    }

    /// The live servers of one group, by index.
    async fn group(&self, key: &str) -> DriverResult<Vec<Server>> {
        if !valid_tag(key) {
            return Ok(Vec::new());
        }
        let mut servers: Vec<Server> = self
            .servers(&format!("tags={key}"), &format!("servers of {key}"))
            .await?
            .into_iter()
            .filter(Server::exists)
            .collect();
        servers.sort_by_key(Server::index);
        Ok(servers)
    }

    fn resource(&self, key: &str, servers: &[Server]) -> Option<Resource> {
        let first = servers.first()?;
        let mut tags: BTreeMap<String, String> = first
            .metadata
            .iter()
            .filter(|(k, _)| k.as_str() != KEY_METADATA && k.as_str() != SITE_METADATA)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        tags.insert(
            "openstack.servers".into(),
            servers
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
        Some(Resource {
            id: key.to_owned(),
            idempotency_key: key.to_owned(),
            site: first
                .metadata
                .get(SITE_METADATA)
                .cloned()
                .or_else(|| first.availability_zone.clone())
                .unwrap_or_default(),
            kind: OfferingKind::Vm,
            offering: first.flavor.original_name.clone(),
            quantity: servers.len() as i64,
            status: nova::group_status(servers),
            created_at: servers
                .iter()
                .map(|s| s.created)
                .min()
                .unwrap_or(first.created),
            tags,
        })
    }

    async fn flavors(&self) -> DriverResult<Vec<Flavor>> {
        self.pages(
            "flavors/detail?is_public=None".to_owned(),
            "flavors",
            "the flavour list",
        )
        .await
    }

    async fn flavor_named(&self, name: &str) -> DriverResult<Flavor> {
        let flavors = self.flavors().await?;
        flavors
            .iter()
            .find(|f| f.name == name)
            .cloned()
            .ok_or_else(|| {
                let mut names: Vec<&str> = flavors.iter().map(|f| f.name.as_str()).collect();
                names.sort_unstable();
                DriverError::Invalid(format!(
                    "{}: flavour '{name}' does not exist (renamed or deleted at the provider?); \
                     flavours there: {}",
                    self.provider(),
                    names.join(", ")
                ))
            })
    }

    /// The image servers boot from: the configured name or id, else the
    /// first active image.
    async fn image_id(&self) -> DriverResult<&str> {
        self.image
            .get_or_try_init(|| async {
                let configured = self.client.config().image.clone();
                let query = match &configured {
                    Some(image) if uuid::Uuid::parse_str(image).is_ok() => {
                        format!("v2/images?id={image}&status=active")
                    }
                    Some(image) => format!(
                        "v2/images?name={}&status=active",
                        url::form_urlencoded::byte_serialize(image.as_bytes()).collect::<String>()
                    ),
                    None => "v2/images?status=active&limit=1&sort=created_at:asc".to_owned(),
                };
                let answer = self
                    .client
                    .request(
                        Service::Image,
                        Method::GET,
                        &query,
                        None,
                        None,
                        "the image list",
                    )
                    .await?;
                answer
                    .body
                    .get("images")
                    .and_then(Value::as_array)
                    .and_then(|images| images.first())
                    .and_then(|i| i.get("id"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        DriverError::Invalid(match configured {
                            Some(image) => format!(
                                "{}: image '{image}' is not an active image in Glance",
                                self.provider()
                            ),
                            None => format!("{}: Glance has no active image", self.provider()),
                        })
                    })
            })
            .await
            .map(String::as_str)
    }

    async fn limits(&self) -> DriverResult<AbsoluteLimits> {
        let mut answer = self
            .compute(Method::GET, "limits", None, "the project's limits")
            .await?;
        let absolute = answer
            .pointer_mut("/limits/absolute")
            .map(Value::take)
            .unwrap_or_default();
        serde_json::from_value(absolute).map_err(|e| {
            DriverError::Unavailable(format!(
                "{}: the project's limits could not be read: {e}",
                self.provider()
            ))
        })
    }

    /// The cloud's free room from Placement, or `None` when the credential
    /// may not read Placement (its default policy is admin-only) or the
    /// catalogue has no Placement. Capacity is the smaller of this and the
    /// project's quota room.
    pub async fn placement_room(&self) -> DriverResult<Option<Room>> {
        if self.client.endpoint(Service::Placement).await?.is_none() {
            return Ok(None);
        }
        let get = |path: String, what: &'static str| async move {
            self.client
                .request(
                    Service::Placement,
                    Method::GET,
                    &path,
                    Some(PLACEMENT_MICROVERSION),
                    None,
                    what,
                )
                .await
        };
        let providers = match get("resource_providers".into(), "the resource providers").await {
            Ok(answer) => answer.body,
            Err(DriverError::Refused(m)) | Err(DriverError::Unauthorized(m)) => {
                tracing::debug!(provider = self.provider(), m, "placement not readable");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let mut room = Room::default();
        let uuids: Vec<String> = providers
            .get("resource_providers")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|p| p.get("uuid").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for uuid in uuids {
            let inventories = get(
                format!("resource_providers/{uuid}/inventories"),
                "a resource provider's inventories",
            )
            .await?
            .body;
            let usages = get(
                format!("resource_providers/{uuid}/usages"),
                "a resource provider's usages",
            )
            .await?
            .body;
            let capacity = |class: &str| -> i64 {
                inventories
                    .pointer(&format!("/inventories/{class}"))
                    .and_then(|v| serde_json::from_value::<Inventory>(v.clone()).ok())
                    .map_or(0, |i| {
                        ((i.total - i.reserved) as f64 * i.allocation_ratio).floor() as i64
                    })
            };
            let used = |class: &str| -> i64 {
                usages
                    .pointer(&format!("/usages/{class}"))
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
            };
            room.vcpu_total += capacity("VCPU");
            room.vcpu_free += capacity("VCPU") - used("VCPU");
            room.ram_free_mb += capacity("MEMORY_MB") - used("MEMORY_MB");
            room.disk_free_gb += capacity("DISK_GB") - used("DISK_GB");
        }
        Ok(Some(room))
    }

    async fn create_servers(&self, spec: &ResourceSpec) -> DriverResult<Resource> {
        let flavor = self.flavor_named(&spec.offering).await?;
        let image = self.image_id().await?.to_owned();
        let key = &spec.idempotency_key;
        let body = self.server_body(spec, &flavor, &image, 1, spec.quantity);
        let what = format!(
            "creating {} server(s) of flavour {} for {key}",
            spec.quantity, spec.offering
        );
        self.compute(Method::POST, "servers", Some(&body), &what)
            .await?;
        // Nova answers with the first server only; read the group back so
        // the caller sees every server it made.
        let servers = self.group(key).await?;
        Ok(self.resource(key, &servers).unwrap_or(Resource {
            id: key.clone(),
            idempotency_key: key.clone(),
            site: spec.site.clone(),
            kind: spec.kind,
            offering: spec.offering.clone(),
            quantity: spec.quantity,
            status: ResourceStatus::Building,
            created_at: Utc::now(),
            tags: spec.tags.clone(),
        }))
    }

    /// The create body for servers `first..first+count` of a group. Nova
    /// names a multi-create's servers `<name>-1…`, so a group of several is
    /// sent as `<key>` and a single server as `<key>-<first>`.
    fn server_body(
        &self,
        spec: &ResourceSpec,
        flavor: &Flavor,
        image: &str,
        first: u32,
        count: i64,
    ) -> Value {
        let config = self.client.config();
        let mut metadata: BTreeMap<String, String> = spec
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.chars().take(255).collect()))
            .collect();
        metadata.insert(KEY_METADATA.into(), spec.idempotency_key.clone());
        metadata.insert(SITE_METADATA.into(), spec.site.chars().take(255).collect());
        let name = if count == 1 {
            nova::server_name(&spec.idempotency_key, first)
        } else {
            spec.idempotency_key.clone()
        };
        let networks = match config.networks.as_str() {
            "none" | "auto" => json!(config.networks),
            id => json!([{"uuid": id}]),
        };
        let mut server = json!({
            "name": name,
            "imageRef": image,
            "flavorRef": flavor.id,
            "networks": networks,
            "min_count": count,
            "max_count": count,
            "tags": [spec.idempotency_key],
            "metadata": metadata,
        });
        if let Some(zone) = &config.availability_zone {
            server["availability_zone"] = json!(zone);
        }
        json!({ "server": server })
    }

    async fn delete_server(&self, server: &Server, key: &str) -> DriverResult<()> {
        match self
            .compute(
                Method::DELETE,
                &format!("servers/{}", server.id),
                None,
                &format!("deleting server {} of {key}", server.id),
            )
            .await
        {
            Ok(_) | Err(DriverError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The `next` link of a Nova listing page; none after an empty page, so a
/// cloud that keeps linking never loops the driver.
fn next_page(page: &Value, links: &str, empty: bool) -> Option<String> {
    if empty {
        return None;
    }
    page.get(links)?
        .as_array()?
        .iter()
        .find(|l| l.get("rel").and_then(Value::as_str) == Some("next"))?
        .get("href")?
        .as_str()
        .map(str::to_owned)
}

fn valid_tag(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_TAG_LENGTH && !key.contains(['/', ','])
}

#[async_trait::async_trait]
impl Driver for OpenStackDriver {
    async fn create(&self, spec: &ResourceSpec) -> DriverResult<Resource> {
        if let Some(existing) = self.find(&spec.idempotency_key).await? {
            return Ok(existing);
        }
        if !valid_tag(&spec.idempotency_key) {
            return Err(DriverError::Invalid(format!(
                "{}: idempotency key '{}' cannot be a Nova tag (1–{MAX_TAG_LENGTH} characters, \
                 no '/' or ',')",
                self.provider(),
                spec.idempotency_key
            )));
        }
        if !(1..=1000).contains(&spec.quantity) {
            return Err(DriverError::Invalid(format!(
                "{}: quantity must be 1 to 1000 servers, got {}",
                self.provider(),
                spec.quantity
            )));
        }
        match spec.kind {
            OfferingKind::Vm => self.create_servers(spec).await,
            OfferingKind::Volume => self.create_volume(spec).await,
            other => Err(DriverError::Invalid(format!(
                "{}: the OpenStack driver provisions servers (vm) and volumes; {other} \
                 offerings are delivered another way",
                self.provider()
            ))),
        }
    }

    async fn find(&self, idempotency_key: &str) -> DriverResult<Option<Resource>> {
        let servers = self.group(idempotency_key).await?;
        match self.resource(idempotency_key, &servers) {
            Some(group) => Ok(Some(group)),
            None => self.find_volume(idempotency_key).await,
        }
    }

    async fn get(&self, id: &str) -> DriverResult<Option<Resource>> {
        if is_volume_id(id) {
            return Ok(self.volume(id).await?.and_then(|v| v.resource()));
        }
        let servers = self.group(id).await?;
        Ok(self.resource(id, &servers))
    }

    async fn delete(&self, id: &str) -> DriverResult<()> {
        if is_volume_id(id) {
            // Gone or already being deleted: done (Cinder refuses a second
            // delete of a deleting volume).
            if self.volume(id).await?.and_then(|v| v.resource()).is_none() {
                return Ok(());
            }
            return match self
                .volume_call(
                    Method::DELETE,
                    &cinder::volume_path(id),
                    None,
                    &format!("deleting volume {id}"),
                )
                .await
            {
                Ok(_) | Err(DriverError::NotFound(_)) => Ok(()),
                Err(e) => Err(e),
            };
        }
        let servers = self.group(id).await?;
        for server in &servers {
            self.delete_server(server, id).await?;
        }
        let left = self.group(id).await?;
        if left.is_empty() {
            Ok(())
        } else {
            Err(DriverError::Unavailable(format!(
                "{}: servers of {id} are still there after their delete was accepted: {}",
                self.provider(),
                left.iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }

    async fn resize(&self, id: &str, quantity: i64) -> DriverResult<Resource> {
        if is_volume_id(id) {
            return self.resize_volume(id, quantity).await;
        }
        if !(1..=1000).contains(&quantity) {
            return Err(DriverError::Invalid(format!(
                "{}: quantity must be 1 to 1000 servers, got {quantity}",
                self.provider()
            )));
        }
        let servers = self.group(id).await?;
        let Some(current) = self.resource(id, &servers) else {
            return Err(DriverError::NotFound(format!(
                "{}: no servers of {id}",
                self.provider()
            )));
        };
        let have = servers.len() as i64;
        if quantity > have {
            let flavor = self.flavor_named(&current.offering).await?;
            let image = self.image_id().await?.to_owned();
            let spec = ResourceSpec {
                idempotency_key: id.to_owned(),
                site: current.site.clone(),
                kind: OfferingKind::Vm,
                offering: current.offering.clone(),
                quantity,
                tags: servers[0]
                    .metadata
                    .iter()
                    .filter(|(k, _)| k.as_str() != KEY_METADATA && k.as_str() != SITE_METADATA)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            };
            let first = servers.iter().map(Server::index).max().unwrap_or(0) + 1;
            // One request per server, each with its own name, so indexes
            // never repeat; a retry after a failure finds what was made.
            for index in first..first + (quantity - have) as u32 {
                let body = self.server_body(&spec, &flavor, &image, index, 1);
                self.compute(
                    Method::POST,
                    "servers",
                    Some(&body),
                    &format!("adding server {index} of flavour {} to {id}", flavor.name),
                )
                .await?;
            }
        } else if quantity < have {
            // The newest servers go first.
            for server in servers.iter().rev().take((have - quantity) as usize) {
                self.delete_server(server, id).await?;
            }
        }
        let servers = self.group(id).await?;
        self.resource(id, &servers).ok_or_else(|| {
            DriverError::NotFound(format!("{}: no servers of {id}", self.provider()))
        })
    }

    async fn list(&self) -> DriverResult<Vec<Resource>> {
        let mut groups: BTreeMap<String, Vec<Server>> = BTreeMap::new();
        for server in self.servers("", "the server list").await? {
            if !server.exists() {
                continue;
            }
            // Only servers Mākonis made: they carry the key in metadata.
            if let Some(key) = server.metadata.get(KEY_METADATA).cloned() {
                groups.entry(key).or_default().push(server);
            }
        }
        let mut resources: Vec<Resource> = groups
            .into_iter()
            .filter_map(|(key, mut servers)| {
                servers.sort_by_key(Server::index);
                self.resource(&key, &servers)
            })
            .collect();
        resources.extend(
            self.volumes()
                .await?
                .iter()
                .filter_map(cinder::Volume::resource),
        );
        Ok(resources)
    }

    async fn capacity(&self) -> DriverResult<Vec<Capacity>> {
        let limits = self.limits().await?;
        let quota_total = (limits.max_total_cores >= 0).then_some(limits.max_total_cores);
        let quota_free = quota_total.map(|t| (t - limits.total_cores_used).max(0));
        let room = self.placement_room().await?;
        let total = match (quota_total, room.map(|r| r.vcpu_total)) {
            (Some(q), Some(p)) => q.min(p),
            (Some(q), None) => q,
            (None, Some(p)) => p,
            (None, None) => 0,
        };
        let free = match (quota_free, room.map(|r| r.vcpu_free)) {
            (Some(q), Some(p)) => q.min(p),
            (Some(q), None) => q,
            (None, Some(p)) => p,
            (None, None) => 0,
        };
        Ok(vec![Capacity {
            site: self.client.config().region.clone(),
            free_units: free.max(0),
            total_units: total.max(0),
        }])
    }

    async fn usage_since(&self, since: DateTime<Utc>) -> DriverResult<Vec<UsageRecord>> {
        let now = Utc::now();
        let project = self.client.project_id().await?;
        let usages = self.tenant_usage(&project, since, now).await?;
        let mut records = nova::hourly_usage(self.provider(), &usages, since, now)?;
        // Cinder keeps no usage history: a volume's hours are counted at
        // its current size while it exists (collect at least hourly).
        for volume in self.volumes().await? {
            if let Some(resource) = volume.resource() {
                records.extend(cinder::volume_usage(&resource, since, now));
            }
        }
        Ok(records)
    }

    async fn offerings(&self) -> DriverResult<Vec<ProviderOffering>> {
        let flavors = self.flavors().await?;
        let limits = self.limits().await?;
        let room = self.placement_room().await?;
        let volumes = self.volume_offerings().await?;
        Ok(flavors
            .into_iter()
            .filter(|f| f.is_public)
            .map(|f| {
                let capacity = match (limits.room_for(f.vcpus, f.ram), room) {
                    (Some(q), Some(r)) => Some(q.min(r.servers_of(&f))),
                    (Some(q), None) => Some(q),
                    (None, Some(r)) => Some(r.servers_of(&f)),
                    (None, None) => None,
                };
                ProviderOffering {
                    kind: OfferingKind::Vm,
                    description: Some(f.description.clone().unwrap_or_else(|| {
                        format!("{} vCPU, {} MB RAM, {} GB disk", f.vcpus, f.ram, f.disk)
                    })),
                    name: f.name,
                    provider_ref: f.id,
                    vcpu: f.vcpus,
                    ram_mb: f.ram,
                    storage_gb: f.disk,
                    capacity_units: capacity,
                }
            })
            .chain(volumes)
            .collect())
    }
}

/// Volumes through Cinder, when the catalogue lists block storage. A
/// volume resource's id is the Cinder volume id (a UUID), which no server
/// group's key is, so each call can tell the two apart.
impl OpenStackDriver {
    async fn has_block_storage(&self) -> DriverResult<bool> {
        Ok(self.client.endpoint(Service::BlockStorage).await?.is_some())
    }

    async fn volume_call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> DriverResult<String> {
        let answer = self
            .client
            .request(Service::BlockStorage, method, path, None, body, what)
            .await?;
        serde_json::to_string(&answer.body).map_err(|e| DriverError::Unavailable(e.to_string()))
    }

    async fn volume(&self, id: &str) -> DriverResult<Option<cinder::Volume>> {
        match self
            .volume_call(
                Method::GET,
                &cinder::volume_path(id),
                None,
                &format!("volume {id}"),
            )
            .await
        {
            Ok(text) => Ok(Some(cinder::parse_volume(&text)?)),
            Err(DriverError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every volume of the project that Mākonis made (metadata carries
    /// the key), following Cinder's `next` links.
    async fn volumes(&self) -> DriverResult<Vec<cinder::Volume>> {
        if !self.has_block_storage().await? {
            return Ok(Vec::new());
        }
        let mut volumes = Vec::new();
        let mut next = Some(cinder::VOLUMES_DETAIL_PATH.to_owned());
        while let Some(path) = next.take() {
            let text = self
                .volume_call(Method::GET, &path, None, "the volume list")
                .await?;
            let page = cinder::parse_volume_details(&text)?;
            next = page.next.filter(|_| !page.volumes.is_empty());
            volumes.extend(
                page.volumes
                    .into_iter()
                    .filter(|v| v.metadata.contains_key(cinder::META_KEY)),
            );
        }
        Ok(volumes)
    }

    async fn find_volume(&self, key: &str) -> DriverResult<Option<Resource>> {
        if !self.has_block_storage().await? {
            return Ok(None);
        }
        let text = self
            .volume_call(
                Method::GET,
                &cinder::volumes_named_path(key),
                None,
                &format!("volumes named {key}"),
            )
            .await?;
        let volumes = cinder::parse_volume_details(&text)?.volumes;
        Ok(cinder::find_by_key(&volumes, key).and_then(cinder::Volume::resource))
    }

    async fn create_volume(&self, spec: &ResourceSpec) -> DriverResult<Resource> {
        if !self.has_block_storage().await? {
            return Err(DriverError::Invalid(format!(
                "{}: the service catalogue has no block-storage endpoint for region {}; \
                 volumes cannot be made there",
                self.provider(),
                self.client.config().region
            )));
        }
        let body = serde_json::to_value(cinder::volume_create_body(
            spec,
            self.client.config().availability_zone.as_deref(),
        )?)
        .map_err(|e| DriverError::Invalid(e.to_string()))?;
        let text = self
            .volume_call(
                Method::POST,
                "/volumes",
                Some(&body),
                &format!(
                    "creating a {} GB volume of type {} for {}",
                    spec.quantity, spec.offering, spec.idempotency_key
                ),
            )
            .await?;
        let volume = cinder::parse_volume(&text)?;
        volume.resource().ok_or_else(|| {
            DriverError::Unavailable(format!(
                "{}: volume {} was deleted as it was made",
                self.provider(),
                volume.id
            ))
        })
    }

    async fn resize_volume(&self, id: &str, size_gb: i64) -> DriverResult<Resource> {
        let gone = || DriverError::NotFound(format!("{}: volume {id}", self.provider()));
        let volume = self.volume(id).await?.ok_or_else(gone)?;
        if let cinder::ExtendPlan::Extend(body) = cinder::plan_extend(&volume, size_gb)? {
            let body =
                serde_json::to_value(body).map_err(|e| DriverError::Invalid(e.to_string()))?;
            // An attached volume is extended online, from microversion 3.42.
            let version = (volume.status == cinder::VolumeStatus::InUse)
                .then_some(cinder::EXTEND_IN_USE_MICROVERSION);
            self.client
                .request(
                    Service::BlockStorage,
                    Method::POST,
                    &cinder::volume_action_path(id),
                    version,
                    Some(&body),
                    &format!("extending volume {id} to {size_gb} GB"),
                )
                .await?;
        }
        self.volume(id)
            .await?
            .and_then(|v| v.resource())
            .ok_or_else(gone)
    }

    async fn volume_offerings(&self) -> DriverResult<Vec<ProviderOffering>> {
        if !self.has_block_storage().await? {
            return Ok(Vec::new());
        }
        let types = cinder::parse_volume_types(
            &self
                .volume_call(
                    Method::GET,
                    cinder::VOLUME_TYPES_PATH,
                    None,
                    "the volume types",
                )
                .await?,
        )?;
        let project = self.client.project_id().await?;
        let quota = match self
            .volume_call(
                Method::GET,
                &cinder::quota_usage_path(&project),
                None,
                "the project's volume quota",
            )
            .await
        {
            Ok(text) => Some(cinder::parse_quota_usage(&text)?),
            // A policy that hides quotas leaves the capacity unknown.
            Err(DriverError::Refused(_)) => None,
            Err(e) => return Err(e),
        };
        Ok(cinder::volume_type_offerings(
            &types
                .into_iter()
                .filter(|t| t.is_public)
                .collect::<Vec<_>>(),
            quota.as_ref(),
        ))
    }
}

fn is_volume_id(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok()
}

impl OpenStackDriver {
    /// `os-simple-tenant-usage/{project}` for a window, following its
    /// `tenant_usage_links` pages.
    async fn tenant_usage(
        &self,
        project: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> DriverResult<Vec<nova::ServerUsage>> {
        let format = "%Y-%m-%dT%H:%M:%S";
        let mut next = Some(format!(
            "os-simple-tenant-usage/{project}?start={}&end={}&limit=1000",
            since.format(format),
            now.format(format)
        ));
        let mut usages = Vec::new();
        while let Some(path) = next.take() {
            let page = self
                .compute(Method::GET, &path, None, "the project's usage")
                .await?;
            let list = page
                .pointer("/tenant_usage/server_usages")
                .cloned()
                .unwrap_or(Value::Array(Vec::new()));
            let parsed: Vec<nova::ServerUsage> = serde_json::from_value(list).map_err(|e| {
                DriverError::Unavailable(format!(
                    "{}: the project's usage could not be read: {e}",
                    self.provider()
                ))
            })?;
            let empty = parsed.is_empty();
            usages.extend(parsed);
            next = next_page(&page, "tenant_usage_links", empty);
        }
        Ok(usages)
    }
}

//! Neutron v2 networking as pure functions: the network the OpenStack
//! driver attaches a server to, the bodies it sends to make and label a
//! network, the paths it reads, and the parsing of networks, subnets,
//! ports and quotas into typed structs. No HTTP happens here. Everything in
//! this module is checked against the API reference samples
//! (`crates/drivers/tests/openstack_samples.rs`, `docs/drivers/openstack.md`),
//! and what the peer's real Neutron answers (ML2, no agents, Zed) against
//! the live service (`crates/drivers/tests/openstack_neutron_cinder_live.rs`).
//!
//! Paths are relative to the `network` endpoint of the service catalogue,
//! which (unlike Cinder's) does not include the API version, so they start
//! with `/v2.0`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::cinder::wire::{self, Obj};
use crate::DriverError;

pub use super::cinder::ParseError;

/// Tag prefix holding the idempotency key (`makonis-key=<key>`).
pub const TAG_KEY: &str = "makonis-key";
/// Tag prefix holding the Mākonis site name.
pub const TAG_SITE: &str = "makonis-site";
pub const NETWORKS_PATH: &str = "/v2.0/networks";
/// Neutron's limit for names, descriptions and tags.
const MAX_FIELD_CHARS: usize = 255;

/// Body of `POST /v2.0/networks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkCreateRequest {
    pub network: NetworkCreate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkCreate {
    /// The idempotency key, so a lost answer can be found by name.
    pub name: String,
    pub admin_state_up: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Body of `PUT /v2.0/networks/{id}/tags`, which replaces all tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagsRequest {
    pub tags: Vec<String>,
}

fn check_text(what: &str, s: &str) -> Result<(), DriverError> {
    if s.chars().count() > MAX_FIELD_CHARS {
        return Err(DriverError::Invalid(format!(
            "{what} is longer than Neutron's {MAX_FIELD_CHARS} characters"
        )));
    }
    Ok(())
}

/// The create body for a network named after idempotency key `key`.
/// Tags are not part of it: Neutron's create does not take tags on every
/// release, so they are set afterwards with [`network_tags_body`].
pub fn network_create_body(
    key: &str,
    description: Option<&str>,
) -> Result<NetworkCreateRequest, DriverError> {
    if key.trim().is_empty() {
        return Err(DriverError::Invalid("no idempotency key given".into()));
    }
    check_text("the idempotency key", key)?;
    if let Some(d) = description {
        check_text("the description", d)?;
    }
    Ok(NetworkCreateRequest {
        network: NetworkCreate {
            name: key.to_owned(),
            admin_state_up: true,
            description: description.map(str::to_owned),
        },
    })
}

/// The tags for a network made for `key` at `site`: `makonis-key=<key>`,
/// `makonis-site=<site>`, and `name=value` for each of `tags`. Neutron tags
/// are plain strings, so the pairs are joined with `=`.
pub fn network_tags_body(
    key: &str,
    site: &str,
    tags: &BTreeMap<String, String>,
) -> Result<TagsRequest, DriverError> {
    let mut out = vec![format!("{TAG_KEY}={key}"), format!("{TAG_SITE}={site}")];
    for (k, v) in tags {
        if k == TAG_KEY || k == TAG_SITE {
            continue;
        }
        out.push(format!("{k}={v}"));
    }
    for t in &out {
        check_text(&format!("tag {t:?}"), t)?;
        // The tag filters (`?tags=a,b`) split on commas, so a tag with one
        // could be set but never found.
        if t.contains(',') {
            return Err(DriverError::Invalid(format!(
                "tag {t:?} contains a comma, which Neutron's tag filters cannot match"
            )));
        }
    }
    Ok(TagsRequest { tags: out })
}

/// `/v2.0/networks/{id}`: show and delete.
pub fn network_path(id: &str) -> String {
    format!("{NETWORKS_PATH}/{}", wire::encode(id))
}

/// `/v2.0/networks/{id}/tags`, where [`network_tags_body`] is put.
pub fn network_tags_path(id: &str) -> String {
    format!("{NETWORKS_PATH}/{}/tags", wire::encode(id))
}

/// The networks named `name`: how a create whose answer was lost is found
/// again (the name is the idempotency key).
pub fn networks_named_path(name: &str) -> String {
    format!("{NETWORKS_PATH}?name={}", wire::encode(name))
}

/// The subnets of one network.
pub fn subnets_of_network_path(network_id: &str) -> String {
    format!("/v2.0/subnets?network_id={}", wire::encode(network_id))
}

/// The ports of one device (a server's id), to learn its addresses.
pub fn ports_of_device_path(device_id: &str) -> String {
    format!("/v2.0/ports?device_id={}", wire::encode(device_id))
}

/// The project's quota limits.
pub fn quota_path(project_id: &str) -> String {
    format!("/v2.0/quotas/{}", wire::encode(project_id))
}

/// The project's quota with usage (`used`, `limit`, `reserved`).
pub fn quota_details_path(project_id: &str) -> String {
    format!("/v2.0/quotas/{}/details", wire::encode(project_id))
}

/// A network's status as Neutron reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkStatus {
    Active,
    Down,
    Build,
    Error,
    /// A status this code does not know.
    Other(String),
}

impl NetworkStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "ACTIVE" => Self::Active,
            "DOWN" => Self::Down,
            "BUILD" => Self::Build,
            "ERROR" => Self::Error,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Active => "ACTIVE",
            Self::Down => "DOWN",
            Self::Build => "BUILD",
            Self::Error => "ERROR",
            Self::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub status: NetworkStatus,
    pub description: Option<String>,
    /// `project_id`, else the older `tenant_id`; `None` when neither is
    /// shown (or empty, as Neutron writes for resources of no project).
    pub project_id: Option<String>,
    pub shared: bool,
    /// `router:external`: a provider's public network, reached through a
    /// router and floating IPs rather than by attaching servers to it.
    pub router_external: bool,
    pub admin_state_up: bool,
    /// Subnet ids.
    pub subnets: Vec<String>,
    pub tags: Vec<String>,
    pub mtu: Option<i64>,
    pub created_at: Option<DateTime<Utc>>,
}

impl Network {
    /// The value of tag `<name>=<value>`, if the network has one.
    pub fn tag(&self, name: &str) -> Option<&str> {
        self.tags
            .iter()
            .find_map(|t| t.strip_prefix(name)?.strip_prefix('='))
    }

    /// The idempotency key of the order that made it: tag `makonis-key`,
    /// else the name.
    pub fn idempotency_key(&self) -> &str {
        self.tag(TAG_KEY).unwrap_or(&self.name)
    }
}

fn project_of(o: &Obj<'_>) -> Result<Option<String>, ParseError> {
    let p = match o.opt_str("project_id")? {
        Some(p) => Some(p),
        None => o.opt_str("tenant_id")?,
    };
    Ok(p.filter(|p| !p.is_empty()).map(str::to_owned))
}

fn network_from(o: Obj<'_>) -> Result<Network, ParseError> {
    let id = o.str("id")?.to_owned();
    let o = o.named(format!("neutron network {id}"));
    Ok(Network {
        name: o.opt_str("name")?.unwrap_or_default().to_owned(),
        status: NetworkStatus::parse(o.str("status")?),
        description: o
            .opt_str("description")?
            .filter(|d| !d.is_empty())
            .map(str::to_owned),
        project_id: project_of(&o)?,
        shared: o.opt_bool("shared")?.unwrap_or(false),
        router_external: o.opt_bool("router:external")?.unwrap_or(false),
        admin_state_up: o.opt_bool("admin_state_up")?.unwrap_or(true),
        subnets: o.str_list("subnets")?,
        tags: o.str_list("tags")?,
        mtu: o.opt_i64("mtu")?,
        created_at: o.opt_time("created_at")?,
        id,
    })
}

/// `{"network": {...}}`: the answer to show and to create.
pub fn parse_network(body: &str) -> Result<Network, ParseError> {
    const WHAT: &str = "neutron network";
    let v = wire::parse(WHAT, body)?;
    network_from(Obj::root(WHAT, &v)?.obj("network")?)
}

/// A page of `GET /v2.0/networks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkList {
    pub networks: Vec<Network>,
    /// The `next` link of `networks_links`, when Neutron paginates.
    pub next: Option<String>,
}

pub fn parse_networks(body: &str) -> Result<NetworkList, ParseError> {
    const WHAT: &str = "neutron network list";
    let v = wire::parse(WHAT, body)?;
    let o = Obj::root(WHAT, &v)?;
    let mut next = None;
    for (i, l) in o.opt_array("networks_links")?.iter().enumerate() {
        let l = o.as_obj(&format!("networks_links[{i}]"), l)?;
        if l.opt_str("rel")? == Some("next") {
            next = Some(l.str("href")?.to_owned());
        }
    }
    Ok(NetworkList {
        networks: o
            .items("networks", "neutron network")?
            .into_iter()
            .map(network_from)
            .collect::<Result<_, _>>()?,
        next,
    })
}

/// The network made with idempotency key `key`, if any; the oldest when
/// two creates raced, so every retry agrees.
pub fn find_network_by_key<'a>(networks: &'a [Network], key: &str) -> Option<&'a Network> {
    networks
        .iter()
        .filter(|n| !key.is_empty() && n.idempotency_key() == key)
        .min_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)))
}

/// Whether a server attached to `n` would work: up, with a subnet to take
/// an address from, and not a provider's external network.
fn usable(n: &Network) -> bool {
    n.status == NetworkStatus::Active
        && n.admin_state_up
        && !n.router_external
        && !n.subnets.is_empty()
}

/// The network to attach a new server of `project_id` to. With
/// `preferred` (the site's configured network, by id or name) it is that
/// one or an error. Otherwise the project's own usable network, else a
/// shared one; among several, the first by name then id, so the choice is
/// stable. External networks are never chosen.
pub fn pick_network<'a>(
    networks: &'a [Network],
    project_id: &str,
    preferred: Option<&str>,
) -> Result<&'a Network, DriverError> {
    if let Some(want) = preferred {
        let by_id: Vec<_> = networks.iter().filter(|n| n.id == want).collect();
        let matches = if by_id.is_empty() {
            networks.iter().filter(|n| n.name == want).collect()
        } else {
            by_id
        };
        return match matches.as_slice() {
            [] => Err(DriverError::Refused(format!(
                "network {want:?} is not among the {} networks project {project_id} can see",
                networks.len()
            ))),
            [n] if n.status == NetworkStatus::Active && n.admin_state_up => Ok(n),
            [n] => Err(DriverError::Refused(format!(
                "network {want:?} ({}) is {}{}",
                n.id,
                n.status.as_str(),
                if n.admin_state_up {
                    ""
                } else {
                    " and administratively down"
                }
            ))),
            _ => Err(DriverError::Refused(format!(
                "{} networks are named {want:?}; name the one to use by id",
                matches.len()
            ))),
        };
    }
    let first = |own: bool| {
        networks
            .iter()
            .filter(|n| usable(n))
            .filter(|n| (n.project_id.as_deref() == Some(project_id)) == own)
            .filter(|n| own || n.shared)
            .min_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)))
    };
    first(true).or_else(|| first(false)).ok_or_else(|| {
        let own = networks
            .iter()
            .filter(|n| n.project_id.as_deref() == Some(project_id))
            .count();
        let shared = networks.iter().filter(|n| n.shared).count();
        DriverError::Refused(format!(
            "project {project_id} has no network to attach a server to: of {} networks seen \
             ({own} its own, {shared} shared), none is ACTIVE, up, not external and with a \
             subnet; create one with a subnet or configure the site's network",
            networks.len()
        ))
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub cidr: String,
    /// 4 or 6.
    pub ip_version: i64,
    pub gateway_ip: Option<String>,
    pub enable_dhcp: bool,
    pub project_id: Option<String>,
}

fn subnet_from(o: Obj<'_>) -> Result<Subnet, ParseError> {
    let id = o.str("id")?.to_owned();
    let o = o.named(format!("neutron subnet {id}"));
    let ip_version = o.i64("ip_version")?;
    if ip_version != 4 && ip_version != 6 {
        return Err(o.err("ip_version", format!("is {ip_version}, expected 4 or 6")));
    }
    Ok(Subnet {
        name: o.opt_str("name")?.unwrap_or_default().to_owned(),
        network_id: o.str("network_id")?.to_owned(),
        cidr: o.str("cidr")?.to_owned(),
        ip_version,
        gateway_ip: o.opt_str("gateway_ip")?.map(str::to_owned),
        enable_dhcp: o.opt_bool("enable_dhcp")?.unwrap_or(true),
        project_id: project_of(&o)?,
        id,
    })
}

/// `GET /v2.0/subnets`.
pub fn parse_subnets(body: &str) -> Result<Vec<Subnet>, ParseError> {
    const WHAT: &str = "neutron subnet list";
    let v = wire::parse(WHAT, body)?;
    Obj::root(WHAT, &v)?
        .items("subnets", "neutron subnet")?
        .into_iter()
        .map(subnet_from)
        .collect()
}

/// `GET /v2.0/subnets/{id}`.
pub fn parse_subnet(body: &str) -> Result<Subnet, ParseError> {
    const WHAT: &str = "neutron subnet";
    let v = wire::parse(WHAT, body)?;
    subnet_from(Obj::root(WHAT, &v)?.obj("subnet")?)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedIp {
    pub ip_address: String,
    pub subnet_id: String,
}

/// A port, as much as the driver needs: whose it is and its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub id: String,
    pub network_id: String,
    /// The server (or router) using it; empty when unbound.
    pub device_id: String,
    pub device_owner: String,
    pub status: String,
    pub mac_address: String,
    pub fixed_ips: Vec<FixedIp>,
    pub project_id: Option<String>,
}

fn port_from(o: Obj<'_>) -> Result<Port, ParseError> {
    let id = o.str("id")?.to_owned();
    let o = o.named(format!("neutron port {id}"));
    let fixed_ips = o
        .opt_array("fixed_ips")?
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let f = o.as_obj(&format!("fixed_ips[{i}]"), f)?;
            Ok(FixedIp {
                ip_address: f.str("ip_address")?.to_owned(),
                subnet_id: f.str("subnet_id")?.to_owned(),
            })
        })
        .collect::<Result<_, ParseError>>()?;
    Ok(Port {
        network_id: o.str("network_id")?.to_owned(),
        device_id: o.opt_str("device_id")?.unwrap_or_default().to_owned(),
        device_owner: o.opt_str("device_owner")?.unwrap_or_default().to_owned(),
        status: o.str("status")?.to_owned(),
        mac_address: o.opt_str("mac_address")?.unwrap_or_default().to_owned(),
        fixed_ips,
        project_id: project_of(&o)?,
        id,
    })
}

/// `GET /v2.0/ports`.
pub fn parse_ports(body: &str) -> Result<Vec<Port>, ParseError> {
    const WHAT: &str = "neutron port list";
    let v = wire::parse(WHAT, body)?;
    Obj::root(WHAT, &v)?
        .items("ports", "neutron port")?
        .into_iter()
        .map(port_from)
        .collect()
}

/// The quota entries every Neutron reports; others (`floatingip`,
/// `router`, `rbac_policy`…) depend on the plugins loaded.
const QUOTA_REQUIRED: [&str; 3] = ["network", "subnet", "port"];

/// `GET /v2.0/quotas/{project_id}`: limits only; -1 is "unlimited".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkQuota {
    pub limits: BTreeMap<String, i64>,
}

impl NetworkQuota {
    /// The limit of `resource` (`network`, `port`, `floatingip`…); `None`
    /// when not reported. -1 means unlimited.
    pub fn limit(&self, resource: &str) -> Option<i64> {
        self.limits.get(resource).copied()
    }
}

pub fn parse_quota(body: &str) -> Result<NetworkQuota, ParseError> {
    const WHAT: &str = "neutron quota";
    let v = wire::parse(WHAT, body)?;
    let o = Obj::root(WHAT, &v)?.obj("quota")?;
    for f in QUOTA_REQUIRED {
        o.i64(f)?;
    }
    let limits = o
        .entries()
        .filter_map(|(k, v)| Some((k.clone(), v.as_i64()?)))
        .collect();
    Ok(NetworkQuota { limits })
}

/// One entry of `GET /v2.0/quotas/{project_id}/details`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaDetail {
    pub used: i64,
    pub limit: i64,
    pub reserved: i64,
}

impl QuotaDetail {
    /// What is left; `None` when unlimited (a negative limit).
    pub fn free(&self) -> Option<i64> {
        (self.limit >= 0).then(|| (self.limit - self.used - self.reserved).max(0))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkQuotaDetails {
    pub resources: BTreeMap<String, QuotaDetail>,
}

impl NetworkQuotaDetails {
    /// The usage of `resource`, `None` when Neutron does not report it
    /// (no `floatingip` without the L3 plugin).
    pub fn get(&self, resource: &str) -> Option<&QuotaDetail> {
        self.resources.get(resource)
    }
}

pub fn parse_quota_details(body: &str) -> Result<NetworkQuotaDetails, ParseError> {
    const WHAT: &str = "neutron quota details";
    let v = wire::parse(WHAT, body)?;
    let o = Obj::root(WHAT, &v)?.obj("quota")?;
    for f in QUOTA_REQUIRED {
        o.obj(f)?;
    }
    let mut resources = BTreeMap::new();
    for (k, v) in o.entries() {
        let d = o.as_obj(k, v)?;
        resources.insert(
            k.clone(),
            QuotaDetail {
                used: d.i64("used")?,
                limit: d.i64("limit")?,
                reserved: d.opt_i64("reserved")?.unwrap_or(0),
            },
        );
    }
    Ok(NetworkQuotaDetails { resources })
}

/// `GET /v2.0/networks/{id}/tags` and the answer to a tag replace.
pub fn parse_tags(body: &str) -> Result<Vec<String>, ParseError> {
    const WHAT: &str = "neutron tags";
    let v = wire::parse(WHAT, body)?;
    let o = Obj::root(WHAT, &v)?;
    o.array("tags")?;
    o.str_list("tags")
}

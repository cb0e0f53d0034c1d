//! Cinder v3 block storage as pure functions: the request bodies the
//! OpenStack driver sends for volumes (create, extend), the paths it reads
//! (volume details, volume types, quota usage, limits), and the parsing of
//! Cinder's answers into typed structs, [`Resource`]s and
//! [`ProviderOffering`]s. No HTTP happens here. Everything in this module is
//! checked against the API reference samples
//! (`crates/drivers/tests/openstack_samples.rs`, `docs/drivers/openstack.md`),
//! and what the peer's real Cinder answers (fake volume driver, Zed) against
//! the live service (`crates/drivers/tests/openstack_neutron_cinder_live.rs`).
//!
//! This module also owns [`ParseError`] and the field reader `wire` that the
//! Neutron module shares; they belong in a module of their own under
//! `openstack/`, which needs a line in `openstack/mod.rs`.
//!
//! Paths are relative to the `volumev3` endpoint of the service catalogue,
//! which already ends in `/v3/{project_id}` (or `/v3` from microversion 3.67).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, DurationRound, Utc};
use makonis_types::catalogue::OfferingKind;
use serde::{Deserialize, Serialize};

use crate::{DriverError, ProviderOffering, Resource, ResourceSpec, ResourceStatus, UsageRecord};

use wire::Obj;

/// Metadata key holding the idempotency key of the order that made a volume.
pub const META_KEY: &str = "makonis-key";
/// Metadata key holding the Mākonis site name a volume was ordered for.
pub const META_SITE: &str = "makonis-site";
/// The volume microversion needed to extend an attached (`in-use`)
/// volume; older microversions only extend `available` ones. The version
/// alone, as [`super::Client::request`] takes it: the client adds the
/// service name (`OpenStack-API-Version: volume 3.42`), and Cinder answers
/// `volume volume 3.42` with a 500.
pub const EXTEND_IN_USE_MICROVERSION: &str = "3.42";
/// Detailed volume list; the plain `/volumes` list has only ids and names.
pub const VOLUMES_DETAIL_PATH: &str = "/volumes/detail";
/// The volume types the project may use.
pub const VOLUME_TYPES_PATH: &str = "/types";
/// The project's absolute limits and usage.
pub const LIMITS_PATH: &str = "/limits";
/// Cinder's limit for names, descriptions, metadata keys and values.
const MAX_FIELD_CHARS: usize = 255;

/// A Cinder or Neutron answer that could not be read: which object, which
/// field (a dotted path inside the object) and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    object: String,
    field: Option<String>,
    problem: String,
}

impl ParseError {
    /// What was being read: `cinder volume 6edbc2f4-…`, `neutron network list`.
    pub fn object(&self) -> &str {
        &self.object
    }

    /// The field at fault (`size`, `absolute.totalGigabytesUsed`,
    /// `volumes[2]`); `None` when the body as a whole was unreadable.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: field '{field}' {}", self.object, self.problem),
            None => write!(f, "{}: {}", self.object, self.problem),
        }
    }
}

impl std::error::Error for ParseError {}

impl From<ParseError> for DriverError {
    fn from(e: ParseError) -> Self {
        DriverError::Invalid(e.to_string())
    }
}

/// Reads fields out of OpenStack JSON by hand rather than with derived
/// `Deserialize`, so that a bad answer names the object (with its id once
/// known) and the field, instead of a line and column in a body nobody kept.
pub(super) mod wire {
    use std::collections::BTreeMap;

    use chrono::{DateTime, NaiveDateTime, Utc};
    use serde_json::{Map, Value};

    use super::ParseError;

    pub(crate) fn parse(what: &str, body: &str) -> Result<Value, ParseError> {
        serde_json::from_str(body).map_err(|e| ParseError {
            object: what.to_owned(),
            field: None,
            problem: format!("the body is not valid JSON ({e})"),
        })
    }

    /// The JSON type of a value, for messages.
    pub(crate) fn kind(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// Percent-encodes a path segment or query value (RFC 3986 unreserved
    /// characters pass), so a key or id can never change the path.
    pub(crate) fn encode(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    /// A JSON object being read, with the name of what it is and the path
    /// from that named object down to this one.
    #[derive(Debug, Clone)]
    pub(crate) struct Obj<'a> {
        what: String,
        path: String,
        map: &'a Map<String, Value>,
    }

    impl<'a> Obj<'a> {
        /// The body's top-level object.
        pub(crate) fn root(what: &str, value: &'a Value) -> Result<Self, ParseError> {
            match value {
                Value::Object(map) => Ok(Obj {
                    what: what.to_owned(),
                    path: String::new(),
                    map,
                }),
                other => Err(ParseError {
                    object: what.to_owned(),
                    field: None,
                    problem: format!("the body is {}, expected an object", kind(other)),
                }),
            }
        }

        /// The same object under a better name (once its id is known), with
        /// paths starting afresh.
        pub(crate) fn named(&self, what: String) -> Self {
            Obj {
                what,
                path: String::new(),
                map: self.map,
            }
        }

        pub(crate) fn path(&self, field: &str) -> String {
            if self.path.is_empty() {
                field.to_owned()
            } else {
                format!("{}.{field}", self.path)
            }
        }

        pub(crate) fn err(&self, field: &str, problem: impl Into<String>) -> ParseError {
            ParseError {
                object: self.what.clone(),
                field: Some(self.path(field)),
                problem: problem.into(),
            }
        }

        fn wrong(&self, field: &str, v: &Value, expected: &str) -> ParseError {
            self.err(field, format!("is {}, expected {expected}", kind(v)))
        }

        /// The field, `None` when absent or null (OpenStack writes both for
        /// "not set").
        pub(crate) fn get(&self, field: &str) -> Option<&'a Value> {
            self.map.get(field).filter(|v| !v.is_null())
        }

        fn required(&self, field: &str) -> Result<&'a Value, ParseError> {
            match self.map.get(field) {
                None => Err(self.err(field, "missing")),
                Some(Value::Null) => Err(self.err(field, "is null")),
                Some(v) => Ok(v),
            }
        }

        pub(crate) fn entries(&self) -> impl Iterator<Item = (&'a String, &'a Value)> + use<'a> {
            self.map.iter()
        }

        pub(crate) fn str(&self, field: &str) -> Result<&'a str, ParseError> {
            let v = self.required(field)?;
            v.as_str().ok_or_else(|| self.wrong(field, v, "a string"))
        }

        pub(crate) fn opt_str(&self, field: &str) -> Result<Option<&'a str>, ParseError> {
            match self.get(field) {
                None => Ok(None),
                Some(v) => v
                    .as_str()
                    .map(Some)
                    .ok_or_else(|| self.wrong(field, v, "a string")),
            }
        }

        pub(crate) fn i64(&self, field: &str) -> Result<i64, ParseError> {
            match self.required(field)? {
                Value::Number(n) => n
                    .as_i64()
                    .ok_or_else(|| self.err(field, format!("is {n}, expected an integer"))),
                other => Err(self.wrong(field, other, "an integer")),
            }
        }

        pub(crate) fn opt_i64(&self, field: &str) -> Result<Option<i64>, ParseError> {
            match self.get(field) {
                None => Ok(None),
                Some(_) => self.i64(field).map(Some),
            }
        }

        pub(crate) fn bool(&self, field: &str) -> Result<bool, ParseError> {
            let v = self.required(field)?;
            v.as_bool().ok_or_else(|| self.wrong(field, v, "a boolean"))
        }

        pub(crate) fn opt_bool(&self, field: &str) -> Result<Option<bool>, ParseError> {
            match self.get(field) {
                None => Ok(None),
                Some(_) => self.bool(field).map(Some),
            }
        }

        pub(crate) fn obj(&self, field: &str) -> Result<Obj<'a>, ParseError> {
            let v = self.required(field)?;
            self.as_obj(field, v)
        }

        pub(crate) fn opt_obj(&self, field: &str) -> Result<Option<Obj<'a>>, ParseError> {
            match self.get(field) {
                None => Ok(None),
                Some(v) => self.as_obj(field, v).map(Some),
            }
        }

        /// `v` (found at `field`, which may be `list[3]`) as an object.
        pub(crate) fn as_obj(&self, field: &str, v: &'a Value) -> Result<Obj<'a>, ParseError> {
            match v {
                Value::Object(map) => Ok(Obj {
                    what: self.what.clone(),
                    path: self.path(field),
                    map,
                }),
                other => Err(self.wrong(field, other, "an object")),
            }
        }

        pub(crate) fn array(&self, field: &str) -> Result<&'a [Value], ParseError> {
            let v = self.required(field)?;
            v.as_array()
                .map(Vec::as_slice)
                .ok_or_else(|| self.wrong(field, v, "an array"))
        }

        /// An array that may be absent or null (read as empty).
        pub(crate) fn opt_array(&self, field: &str) -> Result<&'a [Value], ParseError> {
            match self.get(field) {
                None => Ok(&[]),
                Some(_) => self.array(field),
            }
        }

        /// The objects of a list; each is named `<what> item <i>` until the
        /// caller knows its id.
        pub(crate) fn items(
            &self,
            field: &str,
            item_what: &str,
        ) -> Result<Vec<Obj<'a>>, ParseError> {
            self.array(field)?
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let item = self.as_obj(&format!("{field}[{i}]"), v)?;
                    Ok(item.named(format!("{item_what} (item {i} of '{}')", self.path(field))))
                })
                .collect()
        }

        /// An array of strings, empty when absent or null.
        pub(crate) fn str_list(&self, field: &str) -> Result<Vec<String>, ParseError> {
            self.opt_array(field)?
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| self.wrong(&format!("{field}[{i}]"), v, "a string"))
                })
                .collect()
        }

        /// An object of string values, empty when absent or null.
        pub(crate) fn str_map(&self, field: &str) -> Result<BTreeMap<String, String>, ParseError> {
            let Some(o) = self.opt_obj(field)? else {
                return Ok(BTreeMap::new());
            };
            o.entries()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|s| (k.clone(), s.to_owned()))
                        .ok_or_else(|| o.wrong(k, v, "a string"))
                })
                .collect()
        }

        pub(crate) fn time(&self, field: &str) -> Result<DateTime<Utc>, ParseError> {
            let s = self.str(field)?;
            parse_time(s).ok_or_else(|| self.err(field, format!("is {s:?}, not a timestamp")))
        }

        pub(crate) fn opt_time(&self, field: &str) -> Result<Option<DateTime<Utc>>, ParseError> {
            match self.get(field) {
                None => Ok(None),
                Some(_) => self.time(field).map(Some),
            }
        }
    }

    /// Cinder and Neutron write UTC times without an offset
    /// (`2018-11-28T06:21:12.715987`); newer Neutron fields add `Z`.
    pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(t.with_timezone(&Utc));
        }
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
            .map(|t| t.and_utc())
    }
}

/// Body of `POST /volumes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeCreateRequest {
    pub volume: VolumeCreate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeCreate {
    /// GB (Cinder's unit is the gibibyte).
    pub size: i64,
    /// The idempotency key, so a lost answer can be found by name.
    pub name: String,
    pub volume_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// Body of `POST /volumes/{id}/action` that grows a volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeExtendRequest {
    #[serde(rename = "os-extend")]
    pub extend: VolumeExtend,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeExtend {
    pub new_size: i64,
}

fn check_len(what: &str, s: &str) -> Result<(), DriverError> {
    if s.chars().count() > MAX_FIELD_CHARS {
        return Err(DriverError::Invalid(format!(
            "{what} is longer than Cinder's {MAX_FIELD_CHARS} characters"
        )));
    }
    Ok(())
}

/// The create body for `spec`: `size` = spec.quantity GB, `name` = the
/// idempotency key, `volume_type` = spec.offering, and metadata carrying
/// the key, the site and spec.tags (the key and site win over tags of the
/// same name, because finding the volume again depends on them).
pub fn volume_create_body(
    spec: &ResourceSpec,
    availability_zone: Option<&str>,
) -> Result<VolumeCreateRequest, DriverError> {
    if spec.kind != OfferingKind::Volume {
        return Err(DriverError::Invalid(format!(
            "Cinder makes volumes, not {}",
            spec.kind
        )));
    }
    if spec.quantity < 1 {
        return Err(DriverError::Invalid(format!(
            "a volume needs at least 1 GB, got {}",
            spec.quantity
        )));
    }
    if spec.idempotency_key.trim().is_empty() {
        return Err(DriverError::Invalid("no idempotency key given".into()));
    }
    if spec.offering.trim().is_empty() {
        // An empty type would silently become the cloud's default type,
        // which may be priced differently from what was ordered.
        return Err(DriverError::Invalid("no volume type given".into()));
    }
    check_len("the idempotency key", &spec.idempotency_key)?;
    let mut metadata = BTreeMap::new();
    for (k, v) in &spec.tags {
        check_len(&format!("tag name {k:?}"), k)?;
        check_len(&format!("the value of tag {k:?}"), v)?;
        metadata.insert(k.clone(), v.clone());
    }
    check_len("the site name", &spec.site)?;
    metadata.insert(META_KEY.to_owned(), spec.idempotency_key.clone());
    metadata.insert(META_SITE.to_owned(), spec.site.clone());
    Ok(VolumeCreateRequest {
        volume: VolumeCreate {
            size: spec.quantity,
            name: spec.idempotency_key.clone(),
            volume_type: spec.offering.clone(),
            availability_zone: availability_zone.map(str::to_owned),
            metadata,
        },
    })
}

/// The `os-extend` action growing a volume to `new_size_gb`.
pub fn volume_extend_body(new_size_gb: i64) -> VolumeExtendRequest {
    VolumeExtendRequest {
        extend: VolumeExtend {
            new_size: new_size_gb,
        },
    }
}

/// What a resize to a size needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtendPlan {
    /// The volume already has that size: nothing to send (a retried resize).
    AlreadyThatSize,
    /// Send this to `volume_action_path`; an `in-use` volume also needs the
    /// [`EXTEND_IN_USE_MICROVERSION`] header.
    Extend(VolumeExtendRequest),
}

/// Decides how to bring `volume` to `new_size_gb`. Cinder only grows
/// volumes, and only `available` or `in-use` ones.
pub fn plan_extend(volume: &Volume, new_size_gb: i64) -> Result<ExtendPlan, DriverError> {
    if new_size_gb == volume.size_gb {
        return Ok(ExtendPlan::AlreadyThatSize);
    }
    if new_size_gb < volume.size_gb {
        return Err(DriverError::Invalid(format!(
            "cinder volume {} has {} GB; Cinder cannot shrink a volume (asked for {new_size_gb} GB)",
            volume.id, volume.size_gb
        )));
    }
    match (&volume.status, volume.status.resource_status()) {
        (VolumeStatus::Available | VolumeStatus::InUse, _) => {
            Ok(ExtendPlan::Extend(volume_extend_body(new_size_gb)))
        }
        (_, None) => Err(DriverError::NotFound(format!(
            "cinder volume {} is being deleted",
            volume.id
        ))),
        // Busy: the same resize will work once the volume settles, so say
        // it in the transient variant and let the caller retry.
        (status, Some(ResourceStatus::Building)) => Err(DriverError::Unavailable(format!(
            "cinder volume {} is busy ({}); extend it once it is available",
            volume.id,
            status.as_str()
        ))),
        (status, _) => Err(DriverError::Refused(format!(
            "cinder volume {} is in status {} and cannot be extended",
            volume.id,
            status.as_str()
        ))),
    }
}

/// `/volumes/{id}`: show (GET) and delete (DELETE).
pub fn volume_path(id: &str) -> String {
    format!("/volumes/{}", wire::encode(id))
}

/// `/volumes/{id}/action`, where `os-extend` is posted.
pub fn volume_action_path(id: &str) -> String {
    format!("/volumes/{}/action", wire::encode(id))
}

/// Detailed list of the volumes named `name`: how a create whose answer was
/// lost is found again (the name is the idempotency key). `name` is among
/// the volume filters every Cinder allows.
pub fn volumes_named_path(name: &str) -> String {
    format!("{VOLUMES_DETAIL_PATH}?name={}", wire::encode(name))
}

/// The project's quota with usage (`in_use`, `reserved`, `limit`).
pub fn quota_usage_path(project_id: &str) -> String {
    format!("/os-quota-sets/{}?usage=true", wire::encode(project_id))
}

/// A volume's status as Cinder reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeStatus {
    Creating,
    Available,
    Reserved,
    Attaching,
    Detaching,
    InUse,
    Maintenance,
    Deleting,
    AwaitingTransfer,
    Error,
    ErrorDeleting,
    BackingUp,
    RestoringBackup,
    ErrorBackingUp,
    ErrorRestoring,
    ErrorExtending,
    Downloading,
    Uploading,
    Retyping,
    Extending,
    /// A status this code does not know (a newer Cinder).
    Other(String),
}

impl VolumeStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "creating" => Self::Creating,
            "available" => Self::Available,
            "reserved" => Self::Reserved,
            "attaching" => Self::Attaching,
            "detaching" => Self::Detaching,
            "in-use" => Self::InUse,
            "maintenance" => Self::Maintenance,
            "deleting" => Self::Deleting,
            "awaiting-transfer" => Self::AwaitingTransfer,
            "error" => Self::Error,
            "error_deleting" => Self::ErrorDeleting,
            "backing-up" => Self::BackingUp,
            "restoring-backup" => Self::RestoringBackup,
            "error_backing-up" => Self::ErrorBackingUp,
            "error_restoring" => Self::ErrorRestoring,
            "error_extending" => Self::ErrorExtending,
            "downloading" => Self::Downloading,
            "uploading" => Self::Uploading,
            "retyping" => Self::Retyping,
            "extending" => Self::Extending,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Creating => "creating",
            Self::Available => "available",
            Self::Reserved => "reserved",
            Self::Attaching => "attaching",
            Self::Detaching => "detaching",
            Self::InUse => "in-use",
            Self::Maintenance => "maintenance",
            Self::Deleting => "deleting",
            Self::AwaitingTransfer => "awaiting-transfer",
            Self::Error => "error",
            Self::ErrorDeleting => "error_deleting",
            Self::BackingUp => "backing-up",
            Self::RestoringBackup => "restoring-backup",
            Self::ErrorBackingUp => "error_backing-up",
            Self::ErrorRestoring => "error_restoring",
            Self::ErrorExtending => "error_extending",
            Self::Downloading => "downloading",
            Self::Uploading => "uploading",
            Self::Retyping => "retyping",
            Self::Extending => "extending",
            Self::Other(s) => s,
        }
    }

    /// The status Mākonis sees; `None` for `deleting`, which the driver
    /// treats as already gone (a delete that was accepted will finish, and
    /// a volume being deleted can neither be used nor be the answer to a
    /// create with its key). Unknown statuses are `Error` when Cinder names
    /// them `error…`, otherwise `Building`: waiting is harmless, while
    /// calling a healthy volume broken could make someone delete it.
    pub fn resource_status(&self) -> Option<ResourceStatus> {
        Some(match self {
            Self::Deleting => return None,
            Self::Available | Self::InUse => ResourceStatus::Active,
            Self::Error
            | Self::ErrorDeleting
            | Self::ErrorBackingUp
            | Self::ErrorRestoring
            | Self::ErrorExtending => ResourceStatus::Error,
            Self::Creating
            | Self::Downloading
            | Self::Extending
            | Self::Reserved
            | Self::Attaching
            | Self::Detaching
            | Self::Maintenance
            | Self::AwaitingTransfer
            | Self::BackingUp
            | Self::RestoringBackup
            | Self::Uploading
            | Self::Retyping => ResourceStatus::Building,
            Self::Other(s) if s.starts_with("error") => ResourceStatus::Error,
            Self::Other(_) => ResourceStatus::Building,
        })
    }
}

/// A volume from `GET /volumes/{id}`, `GET /volumes/detail` or the answer
/// to a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub size_gb: i64,
    pub status: VolumeStatus,
    /// The type's name (`__DEFAULT__` when none was asked for).
    pub volume_type: Option<String>,
    pub availability_zone: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Servers the volume is attached to.
    pub attached_to: Vec<String>,
    /// `os-vol-tenant-attr:tenant_id`, when the policy shows it.
    pub project_id: Option<String>,
}

impl Volume {
    /// The idempotency key: metadata `makonis-key`, else the name (the
    /// create sets both; the name alone is what a hand-made volume has).
    /// Empty when there is neither, which no order's key ever is.
    pub fn idempotency_key(&self) -> &str {
        self.metadata
            .get(META_KEY)
            .map(String::as_str)
            .or(self.name.as_deref())
            .unwrap_or("")
    }

    /// The volume as a Mākonis resource: id = volume id, quantity = size in
    /// GB, offering = the type's name, site = metadata `makonis-site` (else
    /// the availability zone), tags = the other metadata. `None` while it
    /// is being deleted (see [`VolumeStatus::resource_status`]).
    pub fn resource(&self) -> Option<Resource> {
        let status = self.status.resource_status()?;
        let site = self
            .metadata
            .get(META_SITE)
            .cloned()
            .or_else(|| self.availability_zone.clone())
            .unwrap_or_default();
        let tags = self
            .metadata
            .iter()
            .filter(|(k, _)| *k != META_KEY && *k != META_SITE)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some(Resource {
            id: self.id.clone(),
            idempotency_key: self.idempotency_key().to_owned(),
            site,
            kind: OfferingKind::Volume,
            offering: self.volume_type.clone().unwrap_or_default(),
            quantity: self.size_gb,
            status,
            created_at: self.created_at,
            tags,
        })
    }
}

fn volume_from(o: Obj<'_>) -> Result<Volume, ParseError> {
    let id = o.str("id")?.to_owned();
    let o = o.named(format!("cinder volume {id}"));
    let attached_to = o
        .opt_array("attachments")?
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let a = o.as_obj(&format!("attachments[{i}]"), a)?;
            a.str("server_id").map(str::to_owned)
        })
        .collect::<Result<_, _>>()?;
    Ok(Volume {
        name: o.opt_str("name")?.map(str::to_owned),
        description: o.opt_str("description")?.map(str::to_owned),
        size_gb: o.i64("size")?,
        status: VolumeStatus::parse(o.str("status")?),
        volume_type: o.opt_str("volume_type")?.map(str::to_owned),
        availability_zone: o.opt_str("availability_zone")?.map(str::to_owned),
        metadata: o.str_map("metadata")?,
        created_at: o.time("created_at")?,
        updated_at: o.opt_time("updated_at")?,
        attached_to,
        project_id: o
            .opt_str("os-vol-tenant-attr:tenant_id")?
            .map(str::to_owned),
        id,
    })
}

/// `{"volume": {...}}`: the answer to show and to create.
pub fn parse_volume(body: &str) -> Result<Volume, ParseError> {
    let v = wire::parse("cinder volume", body)?;
    volume_from(Obj::root("cinder volume", &v)?.obj("volume")?)
}

/// A page of `GET /volumes/detail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeList {
    pub volumes: Vec<Volume>,
    /// The `next` link of `volumes_links`, when Cinder cut the list short.
    pub next: Option<String>,
}

fn next_link(o: &Obj<'_>, field: &str) -> Result<Option<String>, ParseError> {
    for (i, l) in o.opt_array(field)?.iter().enumerate() {
        let l = o.as_obj(&format!("{field}[{i}]"), l)?;
        if l.opt_str("rel")? == Some("next") {
            return Ok(Some(l.str("href")?.to_owned()));
        }
    }
    Ok(None)
}

pub fn parse_volume_details(body: &str) -> Result<VolumeList, ParseError> {
    const WHAT: &str = "cinder volume list";
    let v = wire::parse(WHAT, body)?;
    let o = Obj::root(WHAT, &v)?;
    Ok(VolumeList {
        volumes: o
            .items("volumes", "cinder volume")?
            .into_iter()
            .map(volume_from)
            .collect::<Result<_, _>>()?,
        next: next_link(&o, "volumes_links")?,
    })
}

/// An entry of the plain `GET /volumes` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeRef {
    pub id: String,
    pub name: Option<String>,
}

pub fn parse_volume_refs(body: &str) -> Result<Vec<VolumeRef>, ParseError> {
    const WHAT: &str = "cinder volume list";
    let v = wire::parse(WHAT, body)?;
    Obj::root(WHAT, &v)?
        .items("volumes", "cinder volume")?
        .into_iter()
        .map(|o| {
            let id = o.str("id")?.to_owned();
            let o = o.named(format!("cinder volume {id}"));
            Ok(VolumeRef {
                name: o.opt_str("name")?.map(str::to_owned),
                id,
            })
        })
        .collect()
}

/// The volumes as resources, leaving out those being deleted.
pub fn volumes_to_resources(volumes: &[Volume]) -> Vec<Resource> {
    volumes.iter().filter_map(Volume::resource).collect()
}

/// The volume made with idempotency key `key`, if any. Should two exist
/// (two creates raced), the older one is the answer, so every retry
/// agrees; the other is for the caller to delete.
pub fn find_by_key<'a>(volumes: &'a [Volume], key: &str) -> Option<&'a Volume> {
    volumes
        .iter()
        .filter(|v| v.status != VolumeStatus::Deleting && !key.is_empty())
        .filter(|v| v.idempotency_key() == key)
        .min_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)))
}

/// Hour-by-hour `gb_hour` usage of a volume resource: its current size for
/// every whole clock hour it existed between `since` and `now`. Cinder has
/// no usage API, so this is all there is; a resize is billed at the new
/// size from the hour it is seen.
pub fn volume_usage(
    volume: &Resource,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<UsageRecord> {
    let hour = Duration::hours(1);
    let start = volume.created_at.max(since);
    let Ok(mut at) = start.duration_trunc(hour) else {
        return Vec::new();
    };
    if at < start {
        at += hour;
    }
    let mut records = Vec::new();
    while at + hour <= now {
        records.push(UsageRecord {
            resource_id: volume.id.clone(),
            idempotency_key: volume.idempotency_key.clone(),
            metric: "gb_hour".to_owned(),
            quantity: volume.quantity,
            period_start: at,
            period_end: at + hour,
        });
        at += hour;
    }
    records
}

/// A volume type: what a volume offering is at a Cinder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeType {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub extra_specs: BTreeMap<String, String>,
}

impl VolumeType {
    /// The type as an offering; `capacity_units` is free GB.
    pub fn offering(&self, capacity_units: Option<i64>) -> ProviderOffering {
        ProviderOffering {
            kind: OfferingKind::Volume,
            name: self.name.clone(),
            provider_ref: self.id.clone(),
            description: self.description.clone().filter(|d| !d.trim().is_empty()),
            vcpu: 0,
            ram_mb: 0,
            // Volumes are sold by the GB ordered, not in a fixed size.
            storage_gb: 0,
            capacity_units,
        }
    }
}

fn volume_type_from(o: Obj<'_>) -> Result<VolumeType, ParseError> {
    let id = o.str("id")?.to_owned();
    let o = o.named(format!("cinder volume type {id}"));
    let is_public = match o.opt_bool("is_public")? {
        Some(b) => b,
        None => o
            .opt_bool("os-volume-type-access:is_public")?
            .unwrap_or(true),
    };
    Ok(VolumeType {
        name: o.str("name")?.to_owned(),
        description: o.opt_str("description")?.map(str::to_owned),
        is_public,
        extra_specs: o.str_map("extra_specs")?,
        id,
    })
}

/// `GET /types`.
pub fn parse_volume_types(body: &str) -> Result<Vec<VolumeType>, ParseError> {
    const WHAT: &str = "cinder volume type list";
    let v = wire::parse(WHAT, body)?;
    Obj::root(WHAT, &v)?
        .items("volume_types", "cinder volume type")?
        .into_iter()
        .map(volume_type_from)
        .collect()
}

/// `GET /types/{id}`.
pub fn parse_volume_type(body: &str) -> Result<VolumeType, ParseError> {
    const WHAT: &str = "cinder volume type";
    let v = wire::parse(WHAT, body)?;
    volume_type_from(Obj::root(WHAT, &v)?.obj("volume_type")?)
}

/// Every type as an offering, with capacity from the quota usage when
/// given (the smaller of the project's and the type's free GB).
pub fn volume_type_offerings(
    types: &[VolumeType],
    quota: Option<&VolumeQuotaUsage>,
) -> Vec<ProviderOffering> {
    types
        .iter()
        .map(|t| t.offering(quota.and_then(|q| q.free_gb(Some(&t.name)))))
        .collect()
}

/// `GET /os-quota-sets/{project_id}` without usage: limits only; -1 is
/// "unlimited".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeQuotaSet {
    pub project_id: String,
    /// Every integer entry: `gigabytes`, `volumes`, `snapshots`,
    /// `per_volume_gigabytes`, and per type `gigabytes_<type name>`…
    pub limits: BTreeMap<String, i64>,
}

/// The fields every Cinder quota set has; the rest depend on types and
/// configuration.
const QUOTA_REQUIRED: [&str; 2] = ["gigabytes", "volumes"];

pub fn parse_quota_set(body: &str) -> Result<VolumeQuotaSet, ParseError> {
    const WHAT: &str = "cinder quota set";
    let v = wire::parse(WHAT, body)?;
    let o = Obj::root(WHAT, &v)?.obj("quota_set")?;
    for f in QUOTA_REQUIRED {
        o.i64(f)?;
    }
    let mut limits = BTreeMap::new();
    for (k, v) in o.entries() {
        if let Some(n) = v.as_i64() {
            limits.insert(k.clone(), n);
        }
    }
    Ok(VolumeQuotaSet {
        project_id: o.str("id")?.to_owned(),
        limits,
    })
}

/// One entry of a quota set read with `?usage=true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUsage {
    pub limit: i64,
    pub in_use: i64,
    pub reserved: i64,
}

impl QuotaUsage {
    /// What is left; `None` when unlimited (a negative limit).
    pub fn free(&self) -> Option<i64> {
        (self.limit >= 0).then(|| (self.limit - self.in_use - self.reserved).max(0))
    }
}

/// `GET /os-quota-sets/{project_id}?usage=true`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeQuotaUsage {
    pub project_id: String,
    pub usage: BTreeMap<String, QuotaUsage>,
}

impl VolumeQuotaUsage {
    /// Free GB for a new volume of `volume_type` (any type when `None`):
    /// the smaller of the project's `gigabytes` and the type's
    /// `gigabytes_<type>`; `None` when both are unlimited.
    pub fn free_gb(&self, volume_type: Option<&str>) -> Option<i64> {
        let total = self.usage.get("gigabytes").and_then(QuotaUsage::free);
        let typed = volume_type
            .and_then(|t| self.usage.get(&format!("gigabytes_{t}")))
            .and_then(QuotaUsage::free);
        match (total, typed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The largest single volume allowed (`per_volume_gigabytes`), `None`
    /// when unlimited; an order bigger than this fails however much quota
    /// is free.
    pub fn max_volume_gb(&self) -> Option<i64> {
        self.usage
            .get("per_volume_gigabytes")
            .map(|u| u.limit)
            .filter(|l| *l >= 0)
    }
}

pub fn parse_quota_usage(body: &str) -> Result<VolumeQuotaUsage, ParseError> {
    const WHAT: &str = "cinder quota usage";
    let v = wire::parse(WHAT, body)?;
    let o = Obj::root(WHAT, &v)?.obj("quota_set")?;
    let project_id = o.str("id")?.to_owned();
    let o = o.named(format!("cinder quota usage of {project_id}"));
    for f in QUOTA_REQUIRED {
        o.obj(f)?;
    }
    let mut usage = BTreeMap::new();
    for (k, v) in o.entries() {
        if k == "id" {
            continue;
        }
        let u = o.as_obj(k, v)?;
        usage.insert(
            k.clone(),
            QuotaUsage {
                limit: u.i64("limit")?,
                in_use: u.i64("in_use")?,
                reserved: u.opt_i64("reserved")?.unwrap_or(0),
            },
        );
    }
    Ok(VolumeQuotaUsage { project_id, usage })
}

/// The `absolute` part of `GET /limits`; -1 limits are "unlimited".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolumeLimits {
    pub max_total_volume_gb: i64,
    pub total_gb_used: i64,
    pub max_total_volumes: i64,
    pub total_volumes_used: i64,
    pub max_total_snapshots: Option<i64>,
    pub total_snapshots_used: Option<i64>,
    pub max_total_backup_gb: Option<i64>,
    pub total_backup_gb_used: Option<i64>,
}

impl VolumeLimits {
    /// GB the project may still allocate; `None` when unlimited.
    pub fn free_gb(&self) -> Option<i64> {
        (self.max_total_volume_gb >= 0)
            .then(|| (self.max_total_volume_gb - self.total_gb_used).max(0))
    }

    /// Volumes the project may still create; `None` when unlimited.
    pub fn free_volumes(&self) -> Option<i64> {
        (self.max_total_volumes >= 0)
            .then(|| (self.max_total_volumes - self.total_volumes_used).max(0))
    }

    /// Free and total GB as a [`crate::Capacity`] of `site`; `None` when
    /// unlimited, which a capacity cannot say.
    pub fn capacity(&self, site: &str) -> Option<crate::Capacity> {
        Some(crate::Capacity {
            site: site.to_owned(),
            free_units: self.free_gb()?,
            total_units: self.max_total_volume_gb,
        })
    }
}

pub fn parse_limits(body: &str) -> Result<VolumeLimits, ParseError> {
    const WHAT: &str = "cinder limits";
    let v = wire::parse(WHAT, body)?;
    let o = Obj::root(WHAT, &v)?.obj("limits")?.obj("absolute")?;
    Ok(VolumeLimits {
        max_total_volume_gb: o.i64("maxTotalVolumeGigabytes")?,
        total_gb_used: o.i64("totalGigabytesUsed")?,
        max_total_volumes: o.i64("maxTotalVolumes")?,
        total_volumes_used: o.i64("totalVolumesUsed")?,
        max_total_snapshots: o.opt_i64("maxTotalSnapshots")?,
        total_snapshots_used: o.opt_i64("totalSnapshotsUsed")?,
        max_total_backup_gb: o.opt_i64("maxTotalBackupGigabytes")?,
        total_backup_gb_used: o.opt_i64("totalBackupGigabytesUsed")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extend_microversion_is_a_bare_version_for_the_client() {
        let (major, minor) = EXTEND_IN_USE_MICROVERSION
            .split_once('.')
            .expect("major.minor");
        assert_eq!((major, minor), ("3", "42"));
    }
}

//! Nova's side of the OpenStack driver, without HTTP: the shapes of
//! servers, flavours, limits and `os-simple-tenant-usage` answers, the
//! microversion the driver asks for, and the pure rules that turn them into
//! Mākonis terms: how a group of servers becomes one resource, how servers
//! are named so usage can be traced back to their order after they are
//! deleted (Nova drops a deleted server's tags and metadata but keeps its
//! name), and how hours of use are counted.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, DurationRound, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::{DriverError, DriverResult, ResourceStatus, UsageRecord};

/// The newest compute microversion the driver knows; it asks for this or
/// the cloud's maximum, whichever is lower.
pub const WANTED_MICROVERSION: (u32, u32) = (2, 90);
/// The oldest it can work with: 2.52 allows tags in a create (which makes
/// creates findable), and implies 2.37 (`"networks": "none"`), 2.40
/// (paged tenant usage) and 2.47 (the flavour embedded in a server).
pub const MINIMUM_MICROVERSION: (u32, u32) = (2, 52);

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Chooses the microversion from the compute endpoint's version document
/// (`GET {compute}/`), which says `{"version": {"version": "2.93",
/// "min_version": "2.1", …}}`.
pub fn negotiate_microversion(provider: &str, document: &Value) -> DriverResult<String> {
    let version = document.get("version").unwrap_or(document);
    let max = version
        .get("version")
        .and_then(Value::as_str)
        .and_then(parse_version)
        .ok_or_else(|| {
            DriverError::Invalid(format!(
                "{provider}: the compute endpoint's version document has no microversion \
                 (is this Nova's v2.1 endpoint?)"
            ))
        })?;
    let min = version
        .get("min_version")
        .and_then(Value::as_str)
        .and_then(parse_version)
        .unwrap_or((2, 1));
    if max < MINIMUM_MICROVERSION {
        return Err(DriverError::Invalid(format!(
            "{provider}: compute API microversion {}.{} is too old; Mākonis needs {}.{} or newer",
            max.0, max.1, MINIMUM_MICROVERSION.0, MINIMUM_MICROVERSION.1
        )));
    }
    let chosen = max.min(WANTED_MICROVERSION).max(min);
    Ok(format!("{}.{}", chosen.0, chosen.1))
}

/// The flavour embedded in a server (microversion 2.47 and later).
#[derive(Debug, Clone, Deserialize)]
pub struct ServerFlavor {
    #[serde(default)]
    pub original_name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub flavor: ServerFlavor,
    pub created: DateTime<Utc>,
    #[serde(rename = "OS-EXT-STS:task_state", default)]
    pub task_state: Option<String>,
    #[serde(rename = "OS-EXT-AZ:availability_zone", default)]
    pub availability_zone: Option<String>,
}

impl Server {
    /// Whether the server still counts as existing: Nova lists deleted
    /// servers in `changes-since` queries, and a server being deleted is
    /// on its way out.
    pub fn exists(&self) -> bool {
        !matches!(self.status.as_str(), "DELETED" | "SOFT_DELETED")
            && self.task_state.as_deref() != Some("deleting")
    }

    pub fn status(&self) -> ResourceStatus {
        match self.status.as_str() {
            "BUILD" => ResourceStatus::Building,
            "ERROR" | "UNKNOWN" => ResourceStatus::Error,
            // ACTIVE, and states of a server that exists and was delivered
            // (stopped, paused, resizing, rebooting, migrating…).
            _ => ResourceStatus::Active,
        }
    }

    pub fn index(&self) -> u32 {
        group_of(&self.name).map_or(0, |(_, i)| i)
    }
}

/// Metadata key carrying the idempotency key (also a server tag).
pub const KEY_METADATA: &str = "makonis-key";
/// Metadata key carrying the Mākonis site name.
pub const SITE_METADATA: &str = "makonis-site";

/// The name of the `index`-th server (from 1) of a group. Every server of
/// a group is called `<key>-<n>`, also when the group has one server, so a
/// name always splits back into its key: Nova keeps only the name of a
/// deleted server, and usage must still find the order it belongs to.
pub fn server_name(key: &str, index: u32) -> String {
    format!("{key}-{index}")
}

/// Splits `<key>-<n>` into key and index.
pub fn group_of(name: &str) -> Option<(&str, u32)> {
    let (key, index) = name.rsplit_once('-')?;
    if key.is_empty() || index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((key, index.parse().ok()?))
}

/// One status for a group: any server in error makes the group in error;
/// any still building makes it building.
pub fn group_status<'a>(servers: impl IntoIterator<Item = &'a Server>) -> ResourceStatus {
    let mut status = ResourceStatus::Active;
    for s in servers {
        match s.status() {
            ResourceStatus::Error => return ResourceStatus::Error,
            ResourceStatus::Building => status = ResourceStatus::Building,
            ResourceStatus::Active => {}
        }
    }
    status
}

#[derive(Debug, Clone, Deserialize)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: i64,
    pub ram: i64,
    #[serde(default)]
    pub disk: i64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "os-flavor-access:is_public", default = "public")]
    pub is_public: bool,
}

fn public() -> bool {
    true
}

/// `absolute` of `GET /limits`: the project's quota and what it uses.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AbsoluteLimits {
    #[serde(default)]
    pub max_total_instances: i64,
    #[serde(default)]
    pub max_total_cores: i64,
    #[serde(rename = "maxTotalRAMSize", default)]
    pub max_total_ram_size: i64,
    #[serde(default)]
    pub total_instances_used: i64,
    #[serde(default)]
    pub total_cores_used: i64,
    #[serde(rename = "totalRAMUsed", default)]
    pub total_ram_used: i64,
}

impl AbsoluteLimits {
    /// How many more servers of a flavour the quota allows (`-1` limits
    /// are unlimited).
    pub fn room_for(&self, vcpus: i64, ram_mb: i64) -> Option<i64> {
        let room = |max: i64, used: i64, each: i64| {
            (max >= 0 && each > 0).then(|| ((max - used).max(0)) / each)
        };
        [
            room(self.max_total_instances, self.total_instances_used, 1),
            room(self.max_total_cores, self.total_cores_used, vcpus),
            room(self.max_total_ram_size, self.total_ram_used, ram_mb),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// One server in `os-simple-tenant-usage`.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerUsage {
    pub instance_id: String,
    pub name: String,
    pub started_at: String,
    #[serde(default)]
    pub ended_at: Option<String>,
}

/// Nova writes usage times without a zone (`2026-11-21T21:41:03.000000`),
/// meaning UTC; some deployments add `Z` or an offset.
pub fn parse_usage_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()
        .map(|t| t.and_utc())
}

/// Hourly usage records from tenant usage: for each group and each whole
/// clock hour in `[since, now)`, the number of the group's servers that ran
/// the whole hour (the simulator's convention, so metering treats every
/// provider alike). Servers whose names are not `<key>-<n>` are not
/// Mākonis' and are left out.
pub fn hourly_usage(
    provider: &str,
    usages: &[ServerUsage],
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DriverResult<Vec<UsageRecord>> {
    let hour = chrono::Duration::hours(1);
    let mut counts: HashMap<(&str, DateTime<Utc>), i64> = HashMap::new();
    for u in usages {
        let Some((key, _)) = group_of(&u.name) else {
            continue;
        };
        let started = parse_usage_time(&u.started_at).ok_or_else(|| {
            DriverError::Unavailable(format!(
                "{provider}: tenant usage of server {} has an unreadable started_at '{}'",
                u.instance_id, u.started_at
            ))
        })?;
        let ended = match u.ended_at.as_deref() {
            None | Some("") => now,
            Some(text) => parse_usage_time(text).ok_or_else(|| {
                DriverError::Unavailable(format!(
                    "{provider}: tenant usage of server {} has an unreadable ended_at '{text}'",
                    u.instance_id
                ))
            })?,
        }
        .min(now);
        let start = started.max(since);
        let Ok(mut at) = start.duration_trunc(hour) else {
            continue;
        };
        if at < start {
            at += hour;
        }
        while at + hour <= ended {
            *counts.entry((key, at)).or_default() += 1;
            at += hour;
        }
    }
    let mut records: Vec<UsageRecord> = counts
        .into_iter()
        .map(|((key, at), quantity)| UsageRecord {
            resource_id: key.to_owned(),
            idempotency_key: key.to_owned(),
            metric: "instance_hour".into(),
            quantity,
            period_start: at,
            period_end: at + hour,
        })
        .collect();
    records.sort_by(|a, b| {
        (a.period_start, &a.idempotency_key).cmp(&(b.period_start, &b.idempotency_key))
    });
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        parse_usage_time(text).expect("time")
    }

    #[test]
    fn microversion_is_the_lower_of_ours_and_theirs() {
        let doc = |v: &str| serde_json::json!({"version": {"version": v, "min_version": "2.1"}});
        assert_eq!(
            negotiate_microversion("P", &doc("2.93")).expect("ok"),
            "2.90"
        );
        assert_eq!(
            negotiate_microversion("P", &doc("2.79")).expect("ok"),
            "2.79"
        );
        let old = negotiate_microversion("P", &doc("2.38")).expect_err("too old");
        assert!(old.to_string().contains("2.38 is too old"), "{old}");
        let none = negotiate_microversion("P", &serde_json::json!({"versions": []}))
            .expect_err("no version");
        assert!(none.to_string().contains("no microversion"), "{none}");
    }

    #[test]
    fn names_split_back_into_key_and_index() {
        let key = "makonis-order-0193c1a2-7b7e-7c1e-9a1b-123456789012";
        assert_eq!(group_of(&server_name(key, 1)), Some((key, 1)));
        assert_eq!(group_of(&server_name(key, 12)), Some((key, 12)));
        assert_eq!(group_of("web"), None);
        assert_eq!(group_of("web-"), None);
        assert_eq!(group_of("-3"), None);
        assert_eq!(group_of("web-x1"), None);
    }

    #[test]
    fn hours_count_servers_that_ran_the_whole_hour() {
        let usage = |name: &str, start: &str, end: Option<&str>| ServerUsage {
            instance_id: format!("id-{name}"),
            name: name.into(),
            started_at: start.into(),
            ended_at: end.map(str::to_owned),
        };
        let usages = [
            // Two servers of group a: one runs 10:20–13:00, one 11:00–12:30.
            usage("a-1", "2026-11-21T10:20:00.000000", None),
            usage(
                "a-2",
                "2026-11-21T11:00:00.000000",
                Some("2026-11-21T12:30:00.000000"),
            ),
            usage("b-1", "2026-11-21T09:00:00Z", Some("2026-11-21 11:00:00")),
            // Not ours: no index in the name.
            usage("smoke", "2026-11-21T09:00:00.000000", None),
        ];
        let records = hourly_usage(
            "P",
            &usages,
            at("2026-11-21T10:00:00Z"),
            at("2026-11-21T13:10:00Z"),
        )
        .expect("usage");
        let got: Vec<(String, String, i64)> = records
            .iter()
            .map(|r| {
                (
                    r.idempotency_key.clone(),
                    r.period_start.format("%H").to_string(),
                    r.quantity,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("b".into(), "10".into(), 1),
                ("a".into(), "11".into(), 2),
                ("a".into(), "12".into(), 1),
            ]
        );
        assert!(records.iter().all(|r| r.metric == "instance_hour"
            && r.period_end - r.period_start == chrono::Duration::hours(1)));
        let bad = hourly_usage(
            "P",
            &[usage("a-1", "yesterday", None)],
            at("2026-11-21T10:00:00Z"),
            at("2026-11-21T13:10:00Z"),
        )
        .expect_err("bad time");
        assert!(
            bad.to_string()
                .contains("unreadable started_at 'yesterday'"),
            "{bad}"
        );
    }

    #[test]
    fn quota_room_is_the_tightest_limit() {
        let limits = AbsoluteLimits {
            max_total_instances: 10,
            max_total_cores: 20,
            max_total_ram_size: 8192,
            total_instances_used: 2,
            total_cores_used: 4,
            total_ram_used: 1024,
        };
        assert_eq!(limits.room_for(1, 512), Some(8));
        assert_eq!(limits.room_for(4, 2048), Some(3));
        let unlimited = AbsoluteLimits {
            max_total_instances: -1,
            max_total_cores: -1,
            max_total_ram_size: -1,
            ..AbsoluteLimits::default()
        };
        assert_eq!(unlimited.room_for(2, 1024), None);
    }
}

//! VM resources as groups of EC2 instances: one RunInstances per create
//! (all instances of the group at once), a group found by its `makonis-key`
//! tag, resizes by launching or terminating members, usage from launch and
//! stop/termination times, the instance-type catalogue and the instance
//! budget.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    Filter, Instance, InstanceStateName, InstanceType, Placement, ResourceType, Tag,
    TagSpecification,
};
use chrono::{DateTime, TimeDelta, Utc};
use makonis_types::catalogue::OfferingKind;

use super::errors::{sdk_error, status_of};
use super::hours::{transition_time, whole_hour_counts};
use super::{
    AwsDriver, TAG_KEY, TAG_SITE, TagRules, caller_tags, check_tags, client_token, invalid,
    placement, to_chrono,
};
use crate::{
    Capacity, DriverError, DriverResult, ProviderOffering, Resource, ResourceSpec, ResourceStatus,
    UsageRecord,
};

/// One EC2 instance, as much of it as the driver uses.
#[derive(Debug, Clone)]
pub(super) struct Member {
    id: String,
    key: Option<String>,
    state: InstanceStateName,
    instance_type: String,
    image_id: Option<String>,
    launch_time: Option<DateTime<Utc>>,
    /// When it was last stopped or terminated (`StateTransitionReason`).
    transition_time: Option<DateTime<Utc>>,
    /// `StateReason.Code`: who or what stopped or terminated it.
    reason: Option<String>,
    zone: Option<String>,
    tags: BTreeMap<String, String>,
}

impl Member {
    fn from_instance(i: &Instance) -> Option<Member> {
        let id = i.instance_id()?.to_owned();
        let tags: BTreeMap<String, String> = i
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or("").to_owned())))
            .collect();
        Some(Member {
            id,
            key: tags.get(TAG_KEY).cloned(),
            state: i
                .state()
                .and_then(|s| s.name())
                .cloned()
                .unwrap_or_else(|| InstanceStateName::from("unknown")),
            instance_type: i
                .instance_type()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            image_id: i.image_id().map(str::to_owned),
            launch_time: i.launch_time().and_then(to_chrono),
            transition_time: i.state_transition_reason().and_then(transition_time),
            reason: i
                .state_reason()
                .and_then(|r| r.code())
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
            zone: i
                .placement()
                .and_then(|p| p.availability_zone())
                .map(str::to_owned),
            tags,
        })
    }

    /// Counts towards the group: not shutting down or terminated.
    fn live(&self) -> bool {
        matches!(
            self.state,
            InstanceStateName::Pending
                | InstanceStateName::Running
                | InstanceStateName::Stopping
                | InstanceStateName::Stopped
        )
    }

    /// Stopped or terminated by something other than a person or Mākonis
    /// (`Server.InternalError`, `Server.SpotInstanceTermination`,
    /// `Client.VolumeLimitExceeded`…).
    fn failed(&self) -> bool {
        !matches!(
            self.state,
            InstanceStateName::Pending | InstanceStateName::Running
        ) && self
            .reason
            .as_deref()
            .is_some_and(|c| !c.starts_with("Client.UserInitiated"))
    }

    /// When it started and stopped running, for usage; `None` when it has
    /// not run or the stop time cannot be read.
    fn run_interval(&self, now: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let start = self.launch_time?;
        match self.state {
            InstanceStateName::Running => Some((start, now)),
            InstanceStateName::Pending => None,
            _ => match self.transition_time {
                Some(end) => Some((start, end)),
                None => {
                    tracing::warn!(
                        instance = %self.id,
                        state = %self.state.as_str(),
                        "no stop or termination time in StateTransitionReason; \
                         its last hours are not counted"
                    );
                    None
                }
            },
        }
    }
}

/// The Resource for one key's members; `None` when none is live.
pub(super) fn group(key: &str, members: &[Member]) -> Option<Resource> {
    let mut live: Vec<&Member> = members.iter().filter(|m| m.live()).collect();
    if live.is_empty() {
        return None;
    }
    live.sort_by(|a, b| (a.launch_time, &a.id).cmp(&(b.launch_time, &b.id)));
    let first = live[0];
    let status = if members.iter().any(Member::failed) {
        ResourceStatus::Error
    } else if live.iter().all(|m| m.state == InstanceStateName::Running) {
        ResourceStatus::Active
    } else {
        ResourceStatus::Building
    };
    Some(Resource {
        id: key.to_owned(),
        idempotency_key: key.to_owned(),
        site: first
            .tags
            .get(TAG_SITE)
            .cloned()
            .or_else(|| first.zone.clone())
            .unwrap_or_default(),
        kind: OfferingKind::Vm,
        offering: first.instance_type.clone(),
        quantity: live.len() as i64,
        status,
        created_at: live
            .iter()
            .filter_map(|m| m.launch_time)
            .min()
            .unwrap_or_else(Utc::now),
        tags: caller_tags(first.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    })
}

/// Usage of every group from its members' run intervals: one record per
/// group and whole clock hour, counting the members that ran through that
/// whole hour.
fn usage_records(
    by_key: &BTreeMap<String, Vec<Member>>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<UsageRecord> {
    let mut records = Vec::new();
    for (key, members) in by_key {
        let intervals: Vec<_> = members.iter().filter_map(|m| m.run_interval(now)).collect();
        for (hour, count) in whole_hour_counts(&intervals, since, now) {
            records.push(UsageRecord {
                resource_id: key.clone(),
                idempotency_key: key.clone(),
                metric: "instance_hour".to_owned(),
                quantity: count,
                period_start: hour,
                period_end: hour + TimeDelta::hours(1),
            });
        }
    }
    records
}

fn filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| (*v).to_owned()).collect()))
        .build()
}

/// What an instance type offers, from DescribeInstanceTypes.
struct TypeInfo {
    name: String,
    vcpu: i64,
    ram_mib: i64,
    storage_gb: i64,
    architectures: Vec<String>,
    network: Option<String>,
}

impl TypeInfo {
    fn from_sdk(t: &aws_sdk_ec2::types::InstanceTypeInfo) -> Option<TypeInfo> {
        Some(TypeInfo {
            name: t.instance_type()?.as_str().to_owned(),
            vcpu: t
                .v_cpu_info()
                .and_then(|v| v.default_v_cpus())
                .map(i64::from)
                .unwrap_or(0),
            ram_mib: t.memory_info().and_then(|m| m.size_in_mib()).unwrap_or(0),
            storage_gb: t
                .instance_storage_info()
                .and_then(|s| s.total_size_in_gb())
                .unwrap_or(0),
            architectures: t
                .processor_info()
                .map(|p| {
                    p.supported_architectures()
                        .iter()
                        .map(|a| a.as_str().to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            network: t
                .network_info()
                .and_then(|n| n.network_performance())
                .map(str::to_owned),
        })
    }
}

impl AwsDriver {
    /// DescribeInstances with `filters`, every page.
    pub(super) async fn describe(
        &self,
        filters: Vec<Filter>,
        what: &str,
    ) -> DriverResult<Vec<Member>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..10_000 {
            let page = self
                .ec2
                .describe_instances()
                .set_filters(Some(filters.clone()))
                .max_results(1000)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error(what, e))?;
            for r in page.reservations() {
                out.extend(r.instances().iter().filter_map(Member::from_instance));
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Every instance, in any state, tagged with this key (terminated ones
    /// stay visible for about an hour).
    async fn members(&self, key: &str) -> DriverResult<Vec<Member>> {
        let what = format!("look up EC2 instances tagged {TAG_KEY}={key}");
        // Filter values treat * and ? as wildcards; keys holding them (or
        // the escape character) are matched here instead.
        let filters = if key.contains(['*', '?', '\\']) {
            vec![filter("tag-key", &[TAG_KEY])]
        } else {
            vec![filter(&format!("tag:{TAG_KEY}"), &[key])]
        };
        let mut members = self.describe(filters, &what).await?;
        members.retain(|m| m.key.as_deref() == Some(key));
        Ok(members)
    }

    pub(super) async fn find_group(&self, key: &str) -> DriverResult<Option<Resource>> {
        Ok(group(key, &self.members(key).await?))
    }

    async fn type_info(&self, offering: &str) -> DriverResult<TypeInfo> {
        let unknown = |said: &str| {
            invalid(format!(
                "instance type '{offering}' (the offering) is not offered in {}: {said}",
                self.config.region
            ))
        };
        if offering.trim().is_empty() {
            return Err(unknown("no instance type given"));
        }
        let out = match self
            .ec2
            .describe_instance_types()
            .instance_types(InstanceType::from(offering))
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                use aws_sdk_ec2::error::ProvideErrorMetadata;
                let what = format!("describe instance type '{offering}'");
                if status_of(&e) == Some(400)
                    && matches!(
                        e.code(),
                        Some("InvalidInstanceType" | "InvalidParameterValue")
                    )
                {
                    return Err(unknown(e.message().unwrap_or("unknown instance type")));
                }
                return Err(sdk_error(&what, e));
            }
        };
        out.instance_types()
            .iter()
            .filter_map(TypeInfo::from_sdk)
            .find(|t| t.name == offering)
            .ok_or_else(|| unknown("DescribeInstanceTypes does not list it"))
    }

    /// The configured image, or the newest Amazon Linux 2023 image for the
    /// instance type's architecture.
    async fn image_for(&self, info: &TypeInfo) -> DriverResult<String> {
        if let Some(id) = &self.config.image_id {
            return Ok(id.clone());
        }
        let arch = ["x86_64", "arm64"]
            .into_iter()
            .find(|a| info.architectures.iter().any(|s| s == a))
            .or(info.architectures.first().map(String::as_str))
            .unwrap_or("x86_64")
            .to_owned();
        if let Some(id) = self
            .images
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&arch)
        {
            return Ok(id.clone());
        }
        let pattern = format!("al2023-ami-2023.*-kernel-*-{arch}");
        let what = format!(
            "find the default image ({pattern}, owner amazon) for {}",
            info.name
        );
        let out = self
            .ec2
            .describe_images()
            .owners("amazon")
            .filters(filter("name", &[&pattern]))
            .filters(filter("architecture", &[&arch]))
            .filters(filter("state", &["available"]))
            .send()
            .await
            .map_err(|e| sdk_error(&what, e))?;
        let newest = out
            .images()
            .iter()
            .filter_map(|i| {
                Some((
                    i.creation_date().unwrap_or_default().to_owned(),
                    i.name().unwrap_or_default().to_owned(),
                    i.image_id()?.to_owned(),
                ))
            })
            .max();
        let Some((_, _, id)) = newest else {
            return Err(invalid(format!(
                "{what}: none found in {}; set image_id in the provider's credentials",
                self.config.region
            )));
        };
        self.images
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(arch, id.clone());
        Ok(id)
    }

    /// RunInstances for `count` more members of `key`'s group, without
    /// SDK retries: a lost answer is found again by key, or, within AWS's
    /// idempotency window, answered from `token`.
    async fn run(
        &self,
        key: &str,
        site: &str,
        instance_type: &str,
        image: &str,
        count: i32,
        tags: &BTreeMap<String, String>,
        token: String,
    ) -> DriverResult<Vec<Member>> {
        let zone = placement(&self.config.region, site)?;
        let mut all_tags = vec![
            Tag::builder().key(TAG_KEY).value(key).build(),
            Tag::builder().key(TAG_SITE).value(site).build(),
        ];
        all_tags.extend(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build()),
        );
        let mut req = self
            .ec2
            .run_instances()
            .image_id(image)
            .instance_type(InstanceType::from(instance_type))
            .min_count(count)
            .max_count(count)
            .client_token(token)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Instance)
                    .set_tags(Some(all_tags))
                    .build(),
            );
        if let Some(zone) = zone {
            req = req.placement(Placement::builder().availability_zone(zone).build());
        }
        let what = format!("run {count} × {instance_type} ({image}) for key {key} in {site}");
        let out = req
            .customize()
            .config_override(
                aws_sdk_ec2::Config::builder()
                    .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| sdk_error(&what, e))?;
        let mut made: Vec<Member> = out
            .instances()
            .iter()
            .filter_map(Member::from_instance)
            .collect();
        // The answer may omit tags; they are the ones just sent.
        for m in &mut made {
            m.key = Some(key.to_owned());
            m.tags.insert(TAG_KEY.to_owned(), key.to_owned());
            m.tags.insert(TAG_SITE.to_owned(), site.to_owned());
            for (k, v) in tags {
                m.tags.insert(k.clone(), v.clone());
            }
        }
        if made.is_empty() {
            return Err(DriverError::Unavailable(format!(
                "{what}: RunInstances answered without instances"
            )));
        }
        if made.iter().all(|m| !m.live()) {
            return Err(invalid(format!(
                "{what}: AWS answered with instances {} that are already shut down: the \
                 idempotency key was used before for a resource since deleted; use a new key",
                made.iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(made)
    }

    pub(super) async fn create_group(&self, spec: &ResourceSpec) -> DriverResult<Resource> {
        let key = &spec.idempotency_key;
        if let Some(existing) = self.find_group(key).await? {
            return Ok(existing);
        }
        let object = format!("instances for key {key}");
        let count = Self::check_quantity(spec.quantity, &object)?;
        placement(&self.config.region, &spec.site)?;
        check_tags(spec, 2, TagRules::Ec2, &object)?;
        let info = self.type_info(&spec.offering).await?;
        let image = self.image_for(&info).await?;
        let made = self
            .run(
                key,
                &spec.site,
                &info.name,
                &image,
                count,
                &spec.tags,
                client_token("create", &[key]),
            )
            .await?;
        group(key, &made).ok_or_else(|| {
            DriverError::Unavailable(format!("{object}: none of the new instances is live"))
        })
    }

    async fn terminate(&self, key: &str, ids: Vec<String>) -> DriverResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let what = format!("terminate {} for key {key}", ids.join(", "));
        match self
            .ec2
            .terminate_instances()
            .set_instance_ids(Some(ids))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match sdk_error(&what, e) {
                // Already gone between the look-up and now: what was wanted.
                DriverError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Terminates every live member; `false` when there was none.
    pub(super) async fn delete_group(&self, key: &str) -> DriverResult<bool> {
        let live: Vec<String> = self
            .members(key)
            .await?
            .into_iter()
            .filter(Member::live)
            .map(|m| m.id)
            .collect();
        if live.is_empty() {
            return Ok(false);
        }
        self.terminate(key, live).await?;
        Ok(true)
    }

    /// Launches or terminates members until `quantity` are live; `None`
    /// when the key has no group.
    pub(super) async fn resize_group(
        &self,
        key: &str,
        quantity: i64,
    ) -> DriverResult<Option<Resource>> {
        let members = self.members(key).await?;
        let mut live: Vec<Member> = members.iter().filter(|m| m.live()).cloned().collect();
        if live.is_empty() {
            return Ok(None);
        }
        let object = format!("instances for key {key}");
        let wanted = Self::check_quantity(quantity, &object)? as usize;
        // Running ones first, oldest first: the last ones are the ones to go.
        live.sort_by(|a, b| {
            (a.state != InstanceStateName::Running, a.launch_time, &a.id).cmp(&(
                b.state != InstanceStateName::Running,
                b.launch_time,
                &b.id,
            ))
        });
        let mut after: Vec<Member> = members.iter().filter(|m| !m.live()).cloned().collect();
        if wanted < live.len() {
            let going: Vec<String> = live[wanted..].iter().map(|m| m.id.clone()).collect();
            self.terminate(key, going).await?;
            live.truncate(wanted);
        } else if wanted > live.len() {
            let first = &live[0];
            let site = first
                .tags
                .get(TAG_SITE)
                .cloned()
                .unwrap_or_else(|| self.config.region.clone());
            let image = match &first.image_id {
                Some(id) => id.clone(),
                None => {
                    self.image_for(&self.type_info(&first.instance_type).await?)
                        .await?
                }
            };
            let mut ids: Vec<&str> = live.iter().map(|m| m.id.as_str()).collect();
            ids.sort_unstable();
            let wanted_text = wanted.to_string();
            let mut parts = vec![key, wanted_text.as_str()];
            parts.extend(ids);
            let more = i32::try_from(wanted - live.len())
                .map_err(|_| invalid(format!("{object}: quantity {quantity} is too large")))?;
            let tags = caller_tags(first.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let made = self
                .run(
                    key,
                    &site,
                    &first.instance_type,
                    &image,
                    more,
                    &tags,
                    client_token("resize", &parts),
                )
                .await?;
            live.extend(made);
        }
        after.extend(live);
        Ok(group(key, &after))
    }

    /// Every instance carrying a `makonis-key` tag, grouped by key.
    async fn tagged_members(&self) -> DriverResult<BTreeMap<String, Vec<Member>>> {
        let what = format!("list EC2 instances tagged {TAG_KEY}");
        let mut by_key: BTreeMap<String, Vec<Member>> = BTreeMap::new();
        for m in self
            .describe(vec![filter("tag-key", &[TAG_KEY])], &what)
            .await?
        {
            if let Some(k) = m.key.clone() {
                by_key.entry(k).or_default().push(m);
            }
        }
        Ok(by_key)
    }

    pub(super) async fn list_groups(&self) -> DriverResult<Vec<Resource>> {
        let mut groups: Vec<Resource> = self
            .tagged_members()
            .await?
            .iter()
            .filter_map(|(k, ms)| group(k, ms))
            .collect();
        groups.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(groups)
    }

    /// One record per group and whole clock hour, counting the members that
    /// ran through that whole hour (see [`whole_hour_counts`]).
    pub(super) async fn group_usage(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> DriverResult<Vec<UsageRecord>> {
        Ok(usage_records(&self.tagged_members().await?, since, now))
    }

    /// The account's instance budget in the region: the configured
    /// `instance_limit`, else EC2's `max-instances` attribute; less the
    /// pending and running instances (all of them, Mākonis's or not).
    /// `None` when neither says.
    pub(super) async fn instance_capacity(&self) -> DriverResult<Option<Capacity>> {
        let total = match self.config.instance_limit {
            Some(limit) => limit,
            None => {
                let what = "read the account attribute max-instances";
                let out = self
                    .ec2
                    .describe_account_attributes()
                    .attribute_names(aws_sdk_ec2::types::AccountAttributeName::from(
                        "max-instances",
                    ))
                    .send()
                    .await
                    .map_err(|e| sdk_error(what, e))?;
                let value = out
                    .account_attributes()
                    .iter()
                    .filter(|a| a.attribute_name() == Some("max-instances"))
                    .flat_map(|a| a.attribute_values())
                    .find_map(|v| v.attribute_value()?.trim().parse::<i64>().ok());
                match value {
                    Some(v) => v,
                    None => return Ok(None),
                }
            }
        };
        let used = self
            .describe(
                vec![filter("instance-state-name", &["pending", "running"])],
                "count the running EC2 instances",
            )
            .await?
            .len() as i64;
        Ok(Some(Capacity {
            site: self.config.region.clone(),
            free_units: (total - used).max(0),
            total_units: total,
        }))
    }

    /// Every instance type in the region, by name.
    pub(super) async fn instance_offerings(&self) -> DriverResult<Vec<ProviderOffering>> {
        let free = self.instance_capacity().await?.map(|c| c.free_units);
        let mut types = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..10_000 {
            let page = self
                .ec2
                .describe_instance_types()
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error("list the EC2 instance types", e))?;
            types.extend(page.instance_types().iter().filter_map(TypeInfo::from_sdk));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        types.sort_by(|a, b| a.name.cmp(&b.name));
        types.dedup_by(|a, b| a.name == b.name);
        Ok(types
            .into_iter()
            .map(|t| {
                let mut description = format!("{} vCPU, {} MiB RAM", t.vcpu, t.ram_mib);
                if t.storage_gb > 0 {
                    description.push_str(&format!(", {} GB instance storage", t.storage_gb));
                }
                if !t.architectures.is_empty() {
                    description.push_str(&format!(", {}", t.architectures.join("/")));
                }
                if let Some(n) = &t.network {
                    description.push_str(&format!(", network {n}"));
                }
                ProviderOffering {
                    kind: OfferingKind::Vm,
                    provider_ref: t.name.clone(),
                    name: t.name,
                    description: Some(description),
                    vcpu: t.vcpu,
                    ram_mb: t.ram_mib,
                    storage_gb: t.storage_gb,
                    capacity_units: free,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn member(id: &str, state: &str, reason: Option<&str>, launched_h: u32) -> Member {
        Member {
            id: id.into(),
            key: Some("k".into()),
            state: InstanceStateName::from(state),
            instance_type: "t3.micro".into(),
            image_id: Some("ami-1".into()),
            launch_time: Some(Utc.with_ymd_and_hms(2025, 1, 1, launched_h, 0, 0).unwrap()),
            transition_time: None,
            reason: reason.map(str::to_owned),
            zone: Some("eu-north-1a".into()),
            tags: BTreeMap::from([
                (TAG_KEY.to_owned(), "k".to_owned()),
                (TAG_SITE.to_owned(), "eu-north-1".to_owned()),
                ("order".to_owned(), "o-1".to_owned()),
            ]),
        }
    }

    #[test]
    fn a_group_is_active_when_all_run_and_in_error_when_one_failed() {
        let running = [
            member("i-1", "running", None, 1),
            member("i-2", "running", None, 2),
        ];
        let g = group("k", &running).unwrap();
        assert_eq!(
            (g.status, g.quantity, g.id.as_str()),
            (ResourceStatus::Active, 2, "k")
        );
        assert_eq!(g.site, "eu-north-1");
        assert_eq!(
            g.tags,
            BTreeMap::from([("order".to_owned(), "o-1".to_owned())])
        );
        assert_eq!(
            g.created_at,
            Utc.with_ymd_and_hms(2025, 1, 1, 1, 0, 0).unwrap()
        );

        let building = [
            member("i-1", "running", None, 1),
            member("i-2", "pending", None, 2),
        ];
        assert_eq!(
            group("k", &building).unwrap().status,
            ResourceStatus::Building
        );

        // Terminated by the user (a resize): not counted, not an error.
        let shrunk = [
            member("i-1", "running", None, 1),
            member("i-2", "terminated", Some("Client.UserInitiatedShutdown"), 2),
        ];
        let g = group("k", &shrunk).unwrap();
        assert_eq!((g.status, g.quantity), (ResourceStatus::Active, 1));

        let failed = [
            member("i-1", "running", None, 1),
            member("i-2", "terminated", Some("Server.InternalError"), 2),
        ];
        let g = group("k", &failed).unwrap();
        assert_eq!((g.status, g.quantity), (ResourceStatus::Error, 1));

        // Nothing live: the group is gone.
        let gone = [member(
            "i-1",
            "terminated",
            Some("Client.UserInitiatedShutdown"),
            1,
        )];
        assert!(group("k", &gone).is_none());
        assert!(group("k", &[]).is_none());
    }

    /// An instance as DescribeInstances gives it.
    fn described(id: &str, state: &str, launched: &str, reason: &str, code: &str) -> Member {
        use aws_sdk_ec2::types::{InstanceState, StateReason};
        let i = Instance::builder()
            .instance_id(id)
            .instance_type(InstanceType::T3Micro)
            .image_id("ami-1")
            .state(
                InstanceState::builder()
                    .name(InstanceStateName::from(state))
                    .build(),
            )
            .launch_time(aws_sdk_ec2::primitives::DateTime::from_secs(
                DateTime::parse_from_rfc3339(launched).unwrap().timestamp(),
            ))
            .state_transition_reason(reason)
            .state_reason(StateReason::builder().code(code).build())
            .tags(Tag::builder().key(TAG_KEY).value("k").build())
            .build();
        Member::from_instance(&i).unwrap()
    }

    #[test]
    fn usage_counts_members_through_whole_hours_from_describe_instances() {
        let members = vec![
            // Launched 09:30, still running.
            described("i-1", "running", "2025-01-01T09:30:00Z", "", ""),
            // Launched 09:30, terminated by a resize at 12:10.
            described(
                "i-2",
                "terminated",
                "2025-01-01T09:30:00Z",
                "User initiated (2025-01-01 12:10:00 GMT)",
                "Client.UserInitiatedShutdown",
            ),
            // Added 11:00, stopped 13:00.
            described(
                "i-3",
                "stopped",
                "2025-01-01T11:00:00Z",
                "User initiated (2025-01-01 13:00:00 GMT)",
                "Client.UserInitiatedShutdown",
            ),
            // Terminated without a readable time: not counted.
            described(
                "i-4",
                "terminated",
                "2025-01-01T09:00:00Z",
                "",
                "Server.InternalError",
            ),
        ];
        assert_eq!(members[1].key.as_deref(), Some("k"));
        let by_key = BTreeMap::from([("k".to_owned(), members)]);
        let since = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let now = DateTime::parse_from_rfc3339("2025-01-01T14:20:00Z")
            .unwrap()
            .to_utc();
        let records = usage_records(&by_key, since, now);
        let got: Vec<(u32, i64)> = records
            .iter()
            .map(|r| (chrono::Timelike::hour(&r.period_start), r.quantity))
            .collect();
        assert_eq!(got, vec![(10, 2), (11, 3), (12, 2), (13, 1)]);
        assert!(records.iter().all(|r| r.resource_id == "k"
            && r.idempotency_key == "k"
            && r.metric == "instance_hour"
            && r.period_end - r.period_start == TimeDelta::hours(1)));
        // The group itself is in error: i-4 was terminated by AWS.
        let g = group("k", &by_key["k"]).unwrap();
        assert_eq!((g.status, g.quantity), (ResourceStatus::Error, 2));
    }

    #[test]
    fn run_intervals_end_at_the_transition_time() {
        let now = Utc.with_ymd_and_hms(2025, 1, 1, 9, 0, 0).unwrap();
        let m = member("i-1", "running", None, 1);
        assert_eq!(m.run_interval(now).map(|(_, e)| e), Some(now));
        let mut t = member("i-2", "terminated", Some("Client.UserInitiatedShutdown"), 1);
        assert_eq!(t.run_interval(now), None, "no time readable: not counted");
        t.transition_time = Some(Utc.with_ymd_and_hms(2025, 1, 1, 4, 30, 0).unwrap());
        assert_eq!(t.run_interval(now).map(|(_, e)| e), t.transition_time);
        assert_eq!(member("i-3", "pending", None, 1).run_interval(now), None);
    }
}

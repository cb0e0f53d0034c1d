//! Bucket resources as S3 buckets: one bucket per key, named after it
//! ([`super::bucket_name`]), its key, site and quota kept in the bucket's
//! tags. Deleting refuses a bucket that still holds objects: Mākonis does
//! not throw data away on its own.

use std::collections::BTreeMap;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Tag, Tagging};
use chrono::{DateTime, TimeDelta, Utc};
use makonis_types::catalogue::OfferingKind;

use super::errors::{sdk_error, status_of};
use super::hours::{gib_rounded_up, whole_hour_counts};
use super::{
    AwsDriver, BUCKET_OFFERING, TAG_KEY, TAG_QUOTA, TAG_SITE, TagRules, bucket_name, caller_tags,
    check_tags, invalid, placement, to_chrono,
};
use crate::{DriverError, DriverResult, Resource, ResourceSpec, ResourceStatus, UsageRecord};

/// S3's bucket naming rules, for names this driver made (lowercase
/// letters, digits and hyphens; 3–63 characters; letter or digit at both
/// ends).
fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphanumeric)
        && name
            .as_bytes()
            .last()
            .is_some_and(u8::is_ascii_alphanumeric)
}

impl AwsDriver {
    /// A name this driver could have given a bucket.
    pub(super) fn is_our_bucket_name(&self, name: &str) -> bool {
        valid_bucket_name(name) && name.starts_with(&format!("{}-", self.config.bucket_prefix))
    }

    /// The bucket's tags; `None` when there is no such bucket here.
    async fn bucket_tags(&self, name: &str) -> DriverResult<Option<BTreeMap<String, String>>> {
        match self.s3.get_bucket_tagging().bucket(name).send().await {
            Ok(out) => Ok(Some(
                out.tag_set()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect(),
            )),
            Err(e) => match e.code() {
                Some("NoSuchTagSet") => Ok(Some(BTreeMap::new())),
                Some("NoSuchBucket") => Ok(None),
                // In another region: not this driver's.
                Some("PermanentRedirect" | "AuthorizationHeaderMalformed") => Ok(None),
                _ if status_of(&e) == Some(301) => Ok(None),
                _ => Err(sdk_error(&format!("read the tags of bucket {name}"), e)),
            },
        }
    }

    /// When the bucket was made (ListBuckets is the one call that says).
    async fn bucket_created(&self, name: &str) -> DriverResult<Option<DateTime<Utc>>> {
        let out = self
            .s3
            .list_buckets()
            .prefix(name)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("look up bucket {name}"), e))?;
        Ok(out
            .buckets()
            .iter()
            .find(|b| b.name() == Some(name))
            .and_then(|b| b.creation_date())
            .and_then(to_chrono))
    }

    fn bucket_resource(
        &self,
        name: &str,
        tags: &BTreeMap<String, String>,
        created_at: DateTime<Utc>,
    ) -> Option<Resource> {
        let key = tags.get(TAG_KEY)?;
        let quota = tags
            .get(TAG_QUOTA)
            .and_then(|q| q.trim().parse::<i64>().ok());
        Some(Resource {
            id: name.to_owned(),
            idempotency_key: key.clone(),
            site: tags
                .get(TAG_SITE)
                .cloned()
                .unwrap_or_else(|| self.config.region.clone()),
            kind: OfferingKind::Bucket,
            offering: BUCKET_OFFERING.to_owned(),
            quantity: quota.unwrap_or(0),
            // A Mākonis bucket always has a quota; without one somebody
            // has edited its tags.
            status: if quota.is_some_and(|q| q >= 1) {
                ResourceStatus::Active
            } else {
                ResourceStatus::Error
            },
            created_at,
            tags: caller_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        })
    }

    /// The bucket as a Resource; `None` when it does not exist here or
    /// carries no `makonis-key` tag.
    pub(super) async fn bucket(&self, name: &str) -> DriverResult<Option<Resource>> {
        let Some(tags) = self.bucket_tags(name).await? else {
            return Ok(None);
        };
        if !tags.contains_key(TAG_KEY) {
            return Ok(None);
        }
        let created = self.bucket_created(name).await?.unwrap_or_else(Utc::now);
        Ok(self.bucket_resource(name, &tags, created))
    }

    async fn put_tags(&self, name: &str, tags: &BTreeMap<String, String>) -> DriverResult<()> {
        let what = format!("tag bucket {name}");
        let set = tags
            .iter()
            .map(|(k, v)| {
                Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| invalid(format!("{what}: tag '{k}': {e}")))
            })
            .collect::<DriverResult<Vec<Tag>>>()?;
        let tagging = Tagging::builder()
            .set_tag_set(Some(set))
            .build()
            .map_err(|e| invalid(format!("{what}: {e}")))?;
        self.s3
            .put_bucket_tagging()
            .bucket(name)
            .tagging(tagging)
            .send()
            .await
            .map_err(|e| sdk_error(&what, e))?;
        Ok(())
    }

    pub(super) async fn create_bucket(&self, spec: &ResourceSpec) -> DriverResult<Resource> {
        let key = &spec.idempotency_key;
        let name = bucket_name(&self.config.bucket_prefix, key);
        let object = format!("bucket {name} for key {key}");
        if let Some(existing) = self.bucket(&name).await? {
            if existing.idempotency_key == *key {
                return Ok(existing);
            }
            return Err(DriverError::Refused(format!(
                "{object}: the bucket already belongs to key {}",
                existing.idempotency_key
            )));
        }
        if spec.quantity < 1 {
            return Err(invalid(format!(
                "{object}: quantity (the quota in GB) must be at least 1, got {}",
                spec.quantity
            )));
        }
        placement(&self.config.region, &spec.site)?;
        check_tags(spec, 3, TagRules::S3, &object)?;
        let mut req = self.s3.create_bucket().bucket(&name);
        // us-east-1 is the one region that must not be named.
        if self.config.region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(
                        self.config.region.as_str(),
                    ))
                    .build(),
            );
        }
        match req.send().await {
            Ok(_) => {}
            // Made by an earlier attempt that did not get to tag it.
            Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => {}
            Err(e) if e.code() == Some("BucketAlreadyExists") => {
                return Err(DriverError::Refused(format!(
                    "{object}: the name is taken by another AWS account (bucket names are \
                     global); set another bucket_prefix for this provider"
                )));
            }
            Err(e) => return Err(sdk_error(&format!("create {object}"), e)),
        }
        let mut tags = spec.tags.clone();
        tags.insert(TAG_KEY.to_owned(), key.clone());
        tags.insert(TAG_SITE.to_owned(), spec.site.clone());
        tags.insert(TAG_QUOTA.to_owned(), spec.quantity.to_string());
        self.put_tags(&name, &tags).await?;
        let created = self.bucket_created(&name).await?.unwrap_or_else(Utc::now);
        self.bucket_resource(&name, &tags, created)
            .ok_or_else(|| DriverError::Unavailable(format!("{object}: tagged without a key")))
    }

    /// Bytes stored in the bucket (current object versions), and how many
    /// objects; stops counting objects after `limit`, if given.
    async fn bucket_size(&self, name: &str, limit: Option<u64>) -> DriverResult<(u64, u64)> {
        let what = format!("list the objects of bucket {name}");
        let (mut bytes, mut objects) = (0u64, 0u64);
        let mut token: Option<String> = None;
        for _ in 0..1_000_000 {
            let page = self
                .s3
                .list_objects_v2()
                .bucket(name)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error(&what, e))?;
            for o in page.contents() {
                bytes = bytes.saturating_add(u64::try_from(o.size().unwrap_or(0)).unwrap_or(0));
                objects += 1;
            }
            if limit.is_some_and(|l| objects >= l) {
                break;
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) && !t.is_empty() => {
                    token = Some(t.to_owned())
                }
                _ => break,
            }
        }
        Ok((bytes, objects))
    }

    /// Deletes an empty Mākonis bucket; refuses one holding objects. A
    /// bucket that is gone, or not Mākonis's, is left alone.
    pub(super) async fn delete_bucket(&self, name: &str) -> DriverResult<()> {
        let Some(bucket) = self.bucket(name).await? else {
            return Ok(());
        };
        let object = format!("bucket {name} (key {})", bucket.idempotency_key);
        let (_, objects) = match self.bucket_size(name, Some(1)).await {
            Err(DriverError::NotFound(_)) => return Ok(()),
            other => other?,
        };
        if objects > 0 {
            return Err(DriverError::Refused(format!(
                "{object} still holds objects; Mākonis does not delete data: empty the bucket \
                 first, then delete again"
            )));
        }
        match self.s3.delete_bucket().bucket(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("NoSuchBucket") => Ok(()),
            Err(e) if e.code() == Some("BucketNotEmpty") => Err(DriverError::Refused(format!(
                "{object} is not empty (object versions or uploads remain); Mākonis does not \
                 delete data: empty the bucket first"
            ))),
            Err(e) => Err(sdk_error(&format!("delete {object}"), e)),
        }
    }

    /// Sets the quota tag; `None` when there is no such Mākonis bucket. A
    /// quota below what the bucket already holds is refused.
    pub(super) async fn resize_bucket(
        &self,
        name: &str,
        quantity: i64,
    ) -> DriverResult<Option<Resource>> {
        let Some(tags) = self.bucket_tags(name).await? else {
            return Ok(None);
        };
        let Some(key) = tags.get(TAG_KEY).cloned() else {
            return Ok(None);
        };
        let object = format!("bucket {name} (key {key})");
        if quantity < 1 {
            return Err(invalid(format!(
                "{object}: quantity (the quota in GB) must be at least 1, got {quantity}"
            )));
        }
        let created = self.bucket_created(name).await?.unwrap_or_else(Utc::now);
        if tags.get(TAG_QUOTA).map(String::as_str) == Some(quantity.to_string().as_str()) {
            return Ok(self.bucket_resource(name, &tags, created));
        }
        let (bytes, _) = self.bucket_size(name, None).await?;
        let stored = gib_rounded_up(bytes);
        if stored > quantity {
            return Err(DriverError::Refused(format!(
                "{object} holds {stored} GiB; a quota of {quantity} GB would be below that"
            )));
        }
        let mut tags = tags;
        tags.insert(TAG_QUOTA.to_owned(), quantity.to_string());
        self.put_tags(name, &tags).await?;
        Ok(self.bucket_resource(name, &tags, created))
    }

    /// Every Mākonis bucket in this region, with its creation time.
    pub(super) async fn list_buckets(&self) -> DriverResult<Vec<Resource>> {
        let prefix = format!("{}-", self.config.bucket_prefix);
        let mut names: Vec<(String, DateTime<Utc>)> = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..10_000 {
            let page = self
                .s3
                .list_buckets()
                .prefix(&prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error(&format!("list the buckets named {prefix}…"), e))?;
            for b in page.buckets() {
                let Some(name) = b.name() else { continue };
                if !self.is_our_bucket_name(name) {
                    continue;
                }
                if b.bucket_region()
                    .is_some_and(|r| !r.is_empty() && r != self.config.region)
                {
                    continue;
                }
                let created = b
                    .creation_date()
                    .and_then(to_chrono)
                    .unwrap_or_else(Utc::now);
                names.push((name.to_owned(), created));
            }
            match page.continuation_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        let mut out = Vec::new();
        for (name, created) in names {
            if let Some(tags) = self.bucket_tags(&name).await?
                && let Some(r) = self.bucket_resource(&name, &tags, created)
            {
                out.push(r);
            }
        }
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    /// One record per bucket and whole clock hour since it was made, each
    /// with the GiB stored now (S3 keeps no history the S3 API can read).
    pub(super) async fn bucket_usage(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> DriverResult<Vec<UsageRecord>> {
        let mut records = Vec::new();
        for bucket in self.list_buckets().await? {
            let hours = whole_hour_counts(&[(bucket.created_at, now)], since, now);
            if hours.is_empty() {
                continue;
            }
            let (bytes, _) = match self.bucket_size(&bucket.id, None).await {
                Err(DriverError::NotFound(_)) => continue,
                other => other?,
            };
            let gib = gib_rounded_up(bytes);
            if gib == 0 {
                continue;
            }
            for (hour, _) in hours {
                records.push(UsageRecord {
                    resource_id: bucket.id.clone(),
                    idempotency_key: bucket.idempotency_key.clone(),
                    metric: "gb_hour".to_owned(),
                    quantity: gib,
                    period_start: hour,
                    period_end: hour + TimeDelta::hours(1),
                });
            }
        }
        Ok(records)
    }
}

//! The AWS-compatible driver: EC2 instances and S3 buckets through the
//! official AWS SDK for Rust, against AWS itself or anything speaking its
//! APIs at an endpoint override (moto in the tests). It owns the mapping of
//! Mākonis resources onto AWS objects — a VM resource is a *group* of EC2
//! instances carrying the same `makonis-key` tag, and its id is that
//! idempotency key; a bucket resource is one S3 bucket whose name is
//! derived from the key and whose id is that name —, the translation of AWS
//! error codes into [`DriverError`]s, the provider's catalogue (instance
//! types) and capacity, and hourly usage computed from instance launch and
//! stop/termination times and bucket sizes. `docs/drivers/aws.md` describes
//! the mapping, the configuration and what moto does not emulate.

mod ec2;
pub mod errors;
pub mod hours;
mod s3;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use makonis_types::catalogue::OfferingKind;

use crate::{
    Capacity, Driver, DriverError, DriverResult, ProviderOffering, Resource, ResourceSpec,
    UsageRecord,
};

/// The tag holding a resource's idempotency key, on instances and buckets.
pub const TAG_KEY: &str = "makonis-key";
/// The tag holding [`ResourceSpec::site`] as given.
pub const TAG_SITE: &str = "makonis-site";
/// The bucket tag holding the quota in GB ([`ResourceSpec::quantity`]).
pub const TAG_QUOTA: &str = "makonis-quota-gb";
/// The one bucket offering.
pub const BUCKET_OFFERING: &str = "s3-standard";
/// The bucket name prefix when the credentials name none.
pub const DEFAULT_BUCKET_PREFIX: &str = "makonis";

const FIELDS: &str = "access_key_id, secret_access_key, region, and optionally image_id, \
                      bucket_prefix, instance_limit";

/// How to reach one AWS account in one region.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsConfig {
    /// Endpoint override (`http://127.0.0.1:5000` for moto); `None` is AWS.
    pub endpoint: Option<String>,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    /// The AMI new instances boot; `None`: the newest Amazon Linux 2023
    /// image (owner `amazon`, name `al2023-ami-2023.*-kernel-*-<arch>`,
    /// state `available`) for the instance type's architecture.
    pub image_id: Option<String>,
    /// Bucket names start with this and a hyphen.
    pub bucket_prefix: String,
    /// Instances the account may run in the region, for [`Driver::capacity`];
    /// `None`: EC2's `max-instances` account attribute.
    pub instance_limit: Option<i64>,
}

impl std::fmt::Debug for AwsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsConfig")
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("region", &self.region)
            .field("image_id", &self.image_id)
            .field("bucket_prefix", &self.bucket_prefix)
            .field("instance_limit", &self.instance_limit)
            .finish()
    }
}

fn invalid(text: impl Into<String>) -> DriverError {
    DriverError::Invalid(text.into())
}

fn required_text(
    obj: &serde_json::Map<String, serde_json::Value>,
    field: &str,
    example: &str,
) -> DriverResult<String> {
    match obj.get(field) {
        None | Some(serde_json::Value::Null) => Err(invalid(format!(
            "AWS credentials: {field} is missing (expected a string such as \"{example}\")"
        ))),
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(serde_json::Value::String(_)) => Err(invalid(format!(
            "AWS credentials: {field} is empty (expected a string such as \"{example}\")"
        ))),
        Some(other) => Err(invalid(format!(
            "AWS credentials: {field} must be a string such as \"{example}\", got {other}"
        ))),
    }
}

fn optional_text(
    obj: &serde_json::Map<String, serde_json::Value>,
    field: &str,
    example: &str,
) -> DriverResult<Option<String>> {
    match obj.get(field) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(_) => required_text(obj, field, example).map(Some),
    }
}

/// `eu-north-1`, `us-gov-west-1`, `cn-north-1`.
fn valid_region(r: &str) -> bool {
    (4..=32).contains(&r.len())
        && r.contains('-')
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && r.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && r.as_bytes().last().is_some_and(u8::is_ascii_digit)
        && !r.contains("--")
}

/// 1–24 of `a-z 0-9 -`, starting with a letter, not ending in a hyphen, no
/// `--`, none of S3's reserved starts.
fn valid_bucket_prefix(p: &str) -> bool {
    (1..=24).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && p.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && !p.ends_with('-')
        && !p.contains("--")
        && !p.starts_with("xn-")
        && !p.starts_with("sthree")
        && !p.starts_with("amzn-s3-demo")
}

impl AwsConfig {
    /// Reads a provider's endpoint and credentials JSON:
    /// `{"access_key_id": "AKIA…", "secret_access_key": "…", "region":
    /// "eu-north-1"}` plus, optionally, `"image_id": "ami-…"`,
    /// `"bucket_prefix": "makonis"` and `"instance_limit": 20`. The endpoint
    /// is an `http(s)://` URL of an AWS-compatible service, or `None` for AWS.
    /// Every missing or malformed field, and every unknown one, is named.
    pub fn from_provider(
        endpoint: Option<&str>,
        credentials: &serde_json::Value,
    ) -> DriverResult<AwsConfig> {
        let endpoint = match endpoint.map(str::trim).filter(|e| !e.is_empty()) {
            None => None,
            Some(e) => {
                let url = url::Url::parse(e).map_err(|err| {
                    invalid(format!(
                        "AWS endpoint '{e}': {err} (expected http(s)://host[:port], or none for AWS)"
                    ))
                })?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(invalid(format!(
                        "AWS endpoint '{e}' must be an http:// or https:// URL with a host \
                         (or none for AWS)"
                    )));
                }
                if url.query().is_some() || url.fragment().is_some() {
                    return Err(invalid(format!(
                        "AWS endpoint '{e}' must not carry a query or fragment"
                    )));
                }
                Some(e.trim_end_matches('/').to_owned())
            }
        };
        let Some(obj) = credentials.as_object() else {
            return Err(invalid(format!(
                "AWS credentials must be a JSON object with {FIELDS}; got {}",
                match credentials {
                    serde_json::Value::Null => "nothing".to_owned(),
                    serde_json::Value::String(_) => "a string".to_owned(),
                    other => format!("{}", other).chars().take(40).collect(),
                }
            )));
        };
        if let Some(unknown) = obj.keys().find(|k| {
            ![
                "access_key_id",
                "secret_access_key",
                "region",
                "image_id",
                "bucket_prefix",
                "instance_limit",
            ]
            .contains(&k.as_str())
        }) {
            return Err(invalid(format!(
                "AWS credentials: unknown field '{unknown}' (expected {FIELDS})"
            )));
        }
        let access_key_id = required_text(obj, "access_key_id", "AKIAIOSFODNN7EXAMPLE")?;
        let secret_access_key = required_text(obj, "secret_access_key", "wJalrXUtnFEMI/K7MDENG")?;
        let region = required_text(obj, "region", "eu-north-1")?;
        if !valid_region(&region) {
            return Err(invalid(format!(
                "AWS credentials: region '{region}' is not a region name such as \"eu-north-1\""
            )));
        }
        let image_id = optional_text(obj, "image_id", "ami-0123456789abcdef0")?;
        if let Some(id) = &image_id
            && (!id.starts_with("ami-")
                || id.len() < 5
                || !id[4..].bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(invalid(format!(
                "AWS credentials: image_id '{id}' is not an AMI id such as \"ami-0123456789abcdef0\""
            )));
        }
        let bucket_prefix = optional_text(obj, "bucket_prefix", DEFAULT_BUCKET_PREFIX)?
            .unwrap_or_else(|| DEFAULT_BUCKET_PREFIX.to_owned());
        if !valid_bucket_prefix(&bucket_prefix) {
            return Err(invalid(format!(
                "AWS credentials: bucket_prefix '{bucket_prefix}' must be 1–24 lowercase letters, \
                 digits and single hyphens, starting with a letter (such as \"makonis\")"
            )));
        }
        let instance_limit = match obj.get("instance_limit") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => match v.as_i64() {
                Some(n) if n >= 0 => Some(n),
                _ => {
                    return Err(invalid(format!(
                        "AWS credentials: instance_limit must be a whole number of instances, \
                         0 or more, got {v}"
                    )));
                }
            },
        };
        Ok(AwsConfig {
            endpoint,
            access_key_id,
            secret_access_key,
            region,
            image_id,
            bucket_prefix,
            instance_limit,
        })
    }
}

/// FNV-1a, 128 bits, over `parts` separated by a byte no UTF-8 text holds:
/// stable across builds and platforms, for names and client tokens (not for
/// security).
fn fnv128(parts: &[&[u8]]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h = OFFSET;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0xff;
            h = h.wrapping_mul(PRIME);
        }
        for &b in *part {
            h ^= u128::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h
}

/// The bucket for an idempotency key: `<prefix>-<readable part of the
/// key>-<16 hex digits of its hash>`, lowercase, at most 63 characters, a
/// valid S3 name. The same key always gives the same name.
pub fn bucket_name(prefix: &str, key: &str) -> String {
    let hash = format!("{:016x}", (fnv128(&[key.as_bytes()]) >> 64) as u64);
    let room = 63usize.saturating_sub(prefix.len() + 2 + hash.len());
    let mut slug = String::new();
    for c in key.chars().map(|c| c.to_ascii_lowercase()) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if c == '-' && (slug.is_empty() || slug.ends_with('-')) {
            continue;
        }
        if slug.len() >= room {
            break;
        }
        slug.push(c);
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("{prefix}-{hash}")
    } else {
        format!("{prefix}-{slug}-{hash}")
    }
}

/// A RunInstances client token (at most 64 ASCII characters) for `purpose`
/// and its inputs: a lost answer retried with the same inputs gets the same
/// token, so AWS does not launch twice.
fn client_token(purpose: &str, parts: &[&str]) -> String {
    let mut bytes: Vec<&[u8]> = vec![purpose.as_bytes()];
    bytes.extend(parts.iter().map(|p| p.as_bytes()));
    format!("makonis-{purpose}-{:032x}", fnv128(&bytes))
}

/// Where a site puts things: the region itself (`None`: AWS chooses the
/// zone) or one of its availability zones.
fn placement(region: &str, site: &str) -> DriverResult<Option<String>> {
    let site = site.trim();
    if site == region {
        return Ok(None);
    }
    match site.strip_prefix(region) {
        Some(zone)
            if !zone.is_empty()
                && zone
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
        {
            Ok(Some(site.to_owned()))
        }
        _ => Err(invalid(format!(
            "site '{site}' is neither this provider's region {region} nor one of its \
             availability zones (such as {region}a)"
        ))),
    }
}

/// Which characters a tag may hold.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TagRules {
    /// EC2 takes any characters.
    Ec2,
    /// S3: letters, digits, spaces and `+ - = . _ : / @`.
    S3,
}

fn s3_tag_text(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c == ' ' || "+-=._:/@".contains(c))
}

/// Checks the key, site and the caller's tags against AWS's tag rules (at
/// most 50 tags, keys up to 128 and values up to 256 characters, no `aws:`
/// keys), with `reserved` tags of our own added; before anything is
/// created, so a bad tag never leaves a half-made resource.
fn check_tags(
    spec: &ResourceSpec,
    reserved: usize,
    rules: TagRules,
    object: &str,
) -> DriverResult<()> {
    let key = &spec.idempotency_key;
    if spec.tags.len() + reserved > 50 {
        return Err(invalid(format!(
            "{object}: {} tags given; AWS stores at most {} besides Mākonis's own {reserved}",
            spec.tags.len(),
            50 - reserved
        )));
    }
    let mut texts: Vec<(&str, &str, usize)> = vec![
        ("idempotency key", key.as_str(), 256),
        ("site", spec.site.as_str(), 256),
    ];
    for (k, v) in &spec.tags {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(invalid(format!(
                "{object}: tag key '{k}' must be 1 to 128 characters"
            )));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid(format!(
                "{object}: tag key '{k}' starts with aws:, which AWS reserves"
            )));
        }
        if [TAG_KEY, TAG_SITE, TAG_QUOTA].contains(&k.as_str()) {
            return Err(invalid(format!(
                "{object}: tag key '{k}' is Mākonis's own; choose another"
            )));
        }
        texts.push(("tag key", k.as_str(), 128));
        texts.push(("tag value", v.as_str(), 256));
    }
    for (what, text, max) in texts {
        if text.chars().count() > max {
            return Err(invalid(format!(
                "{object}: {what} '{text}' is longer than the {max} characters AWS allows in tags"
            )));
        }
        if rules == TagRules::S3 && !s3_tag_text(text) {
            return Err(invalid(format!(
                "{object}: {what} '{text}' holds characters S3 tags do not allow (letters, \
                 digits, spaces and + - = . _ : / @ only)"
            )));
        }
    }
    Ok(())
}

/// Tags as the caller gave them: everything but Mākonis's own and AWS's.
fn caller_tags<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, String> {
    tags.filter(|(k, _)| {
        ![TAG_KEY, TAG_SITE, TAG_QUOTA].contains(k) && !k.to_ascii_lowercase().starts_with("aws:")
    })
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A smithy time as chrono's.
fn to_chrono(t: &aws_sdk_ec2::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// The AWS driver; see the module docs.
#[derive(Debug)]
pub struct AwsDriver {
    config: AwsConfig,
    ec2: aws_sdk_ec2::Client,
    s3: aws_sdk_s3::Client,
    /// Default image per architecture, looked up once.
    images: std::sync::Mutex<BTreeMap<String, String>>,
}

/// Connect 5 s; one attempt 30 s; a whole call, retries included, 90 s.
fn timeouts() -> aws_sdk_ec2::config::timeout::TimeoutConfig {
    aws_sdk_ec2::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(90))
        .build()
}

/// The SDK's standard retry (throttling, 5xx, transport errors), three
/// attempts; RunInstances turns it off for itself.
fn retries() -> aws_sdk_ec2::config::retry::RetryConfig {
    aws_sdk_ec2::config::retry::RetryConfig::standard().with_max_attempts(3)
}

impl AwsDriver {
    /// A driver for one account and region. Nothing is contacted until the
    /// first call. Only `config` counts: no AWS environment variables or
    /// profile files are read.
    pub fn new(config: AwsConfig) -> AwsDriver {
        let credentials = aws_sdk_ec2::config::Credentials::new(
            &config.access_key_id,
            &config.secret_access_key,
            None,
            None,
            "makonis-provider-credentials",
        );
        let region = aws_sdk_ec2::config::Region::new(config.region.clone());
        let mut ec2 = aws_sdk_ec2::Config::builder()
            .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
            .region(region.clone())
            .credentials_provider(credentials.clone())
            .timeout_config(timeouts())
            .retry_config(retries());
        let mut s3 = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(region)
            .credentials_provider(credentials)
            .timeout_config(timeouts())
            .retry_config(retries())
            // An endpoint override is one host (moto, MinIO): buckets go
            // in the path, not in the host name.
            .force_path_style(config.endpoint.is_some());
        if let Some(endpoint) = &config.endpoint {
            ec2 = ec2.endpoint_url(endpoint);
            s3 = s3.endpoint_url(endpoint);
        }
        let (ec2, s3) = (ec2.build(), s3.build());
        AwsDriver {
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
            s3: aws_sdk_s3::Client::from_conf(s3),
            images: std::sync::Mutex::new(BTreeMap::new()),
            config,
        }
    }

    pub fn config(&self) -> &AwsConfig {
        &self.config
    }

    fn check_key(key: &str) -> DriverResult<()> {
        if key.trim().is_empty() {
            return Err(invalid("the idempotency key is empty"));
        }
        Ok(())
    }

    fn check_quantity(quantity: i64, what: &str) -> DriverResult<i32> {
        if quantity < 1 {
            return Err(invalid(format!(
                "{what}: quantity must be at least 1, got {quantity}"
            )));
        }
        i32::try_from(quantity)
            .map_err(|_| invalid(format!("{what}: quantity {quantity} is too large")))
    }
}

#[async_trait::async_trait]
impl Driver for AwsDriver {
    async fn create(&self, spec: &ResourceSpec) -> DriverResult<Resource> {
        Self::check_key(&spec.idempotency_key)?;
        match spec.kind {
            OfferingKind::Vm => self.create_group(spec).await,
            OfferingKind::Bucket => self.create_bucket(spec).await,
            other => Err(invalid(format!(
                "the AWS driver provides vm (EC2) and bucket (S3) resources, not {other} \
                 (key {})",
                spec.idempotency_key
            ))),
        }
    }

    async fn find(&self, idempotency_key: &str) -> DriverResult<Option<Resource>> {
        Self::check_key(idempotency_key)?;
        if let Some(group) = self.find_group(idempotency_key).await? {
            return Ok(Some(group));
        }
        let name = bucket_name(&self.config.bucket_prefix, idempotency_key);
        Ok(self
            .bucket(&name)
            .await?
            .filter(|b| b.idempotency_key == idempotency_key))
    }

    async fn get(&self, id: &str) -> DriverResult<Option<Resource>> {
        if id.trim().is_empty() {
            return Ok(None);
        }
        if let Some(group) = self.find_group(id).await? {
            return Ok(Some(group));
        }
        if self.is_our_bucket_name(id) {
            return self.bucket(id).await;
        }
        Ok(None)
    }

    async fn delete(&self, id: &str) -> DriverResult<()> {
        if id.trim().is_empty() {
            return Ok(());
        }
        if self.delete_group(id).await? {
            return Ok(());
        }
        if self.is_our_bucket_name(id) {
            return self.delete_bucket(id).await;
        }
        Ok(())
    }

    async fn resize(&self, id: &str, quantity: i64) -> DriverResult<Resource> {
        if let Some(group) = self.resize_group(id, quantity).await? {
            return Ok(group);
        }
        if self.is_our_bucket_name(id)
            && let Some(bucket) = self.resize_bucket(id, quantity).await?
        {
            return Ok(bucket);
        }
        Err(DriverError::NotFound(format!(
            "resource {id}: no EC2 instances tagged {TAG_KEY}={id} and no Mākonis bucket of \
             that name in {}",
            self.config.region
        )))
    }

    async fn list(&self) -> DriverResult<Vec<Resource>> {
        let mut all = self.list_groups().await?;
        all.extend(self.list_buckets().await?);
        Ok(all)
    }

    async fn capacity(&self) -> DriverResult<Vec<Capacity>> {
        Ok(self.instance_capacity().await?.into_iter().collect())
    }

    async fn usage_since(&self, since: DateTime<Utc>) -> DriverResult<Vec<UsageRecord>> {
        let now = Utc::now();
        let mut records = self.group_usage(since, now).await?;
        records.extend(self.bucket_usage(since, now).await?);
        Ok(records)
    }

    async fn offerings(&self) -> DriverResult<Vec<ProviderOffering>> {
        let mut out = self.instance_offerings().await?;
        out.push(ProviderOffering {
            kind: OfferingKind::Bucket,
            name: BUCKET_OFFERING.to_owned(),
            provider_ref: BUCKET_OFFERING.to_owned(),
            description: Some(format!(
                "S3 Standard bucket in {}; quantity is a quota in GB, usage is GiB stored per hour",
                self.config.region
            )),
            vcpu: 0,
            ram_mb: 0,
            storage_gb: 0,
            capacity_units: None,
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn creds() -> serde_json::Value {
        json!({"access_key_id": "AKIAX", "secret_access_key": "s3cr3t", "region": "eu-north-1"})
    }

    fn err(endpoint: Option<&str>, credentials: serde_json::Value) -> String {
        match AwsConfig::from_provider(endpoint, &credentials) {
            Err(DriverError::Invalid(m)) => m,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn credentials_are_read_with_defaults() {
        let c = AwsConfig::from_provider(Some("http://127.0.0.1:5000/"), &creds()).unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(
            (c.region.as_str(), c.access_key_id.as_str()),
            ("eu-north-1", "AKIAX")
        );
        assert_eq!(c.bucket_prefix, "makonis");
        assert_eq!((c.image_id, c.instance_limit), (None, None));
        assert!(
            !format!("{:?}", AwsConfig::from_provider(None, &creds()).unwrap()).contains("s3cr3t")
        );
        let mut full = creds();
        full["image_id"] = json!("ami-0abc123");
        full["bucket_prefix"] = json!("lv-gov");
        full["instance_limit"] = json!(40);
        let c = AwsConfig::from_provider(None, &full).unwrap();
        assert_eq!(c.endpoint, None);
        assert_eq!(c.image_id.as_deref(), Some("ami-0abc123"));
        assert_eq!(
            (c.bucket_prefix.as_str(), c.instance_limit),
            ("lv-gov", Some(40))
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        for (field, value, expect) in [
            ("access_key_id", json!(null), "access_key_id is missing"),
            ("secret_access_key", json!(""), "secret_access_key is empty"),
            (
                "secret_access_key",
                json!(7),
                "secret_access_key must be a string",
            ),
            (
                "region",
                json!("Europe"),
                "region 'Europe' is not a region name",
            ),
            (
                "image_id",
                json!("ubuntu"),
                "image_id 'ubuntu' is not an AMI id",
            ),
            (
                "bucket_prefix",
                json!("My_Prefix"),
                "bucket_prefix 'My_Prefix' must be",
            ),
            (
                "instance_limit",
                json!(-1),
                "instance_limit must be a whole number",
            ),
            (
                "instance_limit",
                json!("many"),
                "instance_limit must be a whole number",
            ),
            ("secret_key", json!("x"), "unknown field 'secret_key'"),
        ] {
            let mut c = creds();
            if value.is_null() {
                c.as_object_mut().unwrap().remove(field);
            } else {
                c[field] = value;
            }
            let m = err(None, c);
            assert!(m.contains(expect), "{field}: {m}");
        }
        assert!(err(None, json!("AKIA")).contains("must be a JSON object"));
        assert!(err(Some("ftp://x"), creds()).contains("http:// or https://"));
        assert!(err(Some("not a url"), creds()).contains("AWS endpoint 'not a url'"));
        assert!(
            AwsConfig::from_provider(Some("  "), &creds())
                .unwrap()
                .endpoint
                .is_none()
        );
    }

    #[test]
    fn bucket_names_are_stable_valid_and_distinct() {
        let a = bucket_name(
            "makonis",
            "makonis-order-0190f3a2-7c4e-7d1b-9a55-4f1e2d3c4b5a",
        );
        assert_eq!(
            a,
            bucket_name(
                "makonis",
                "makonis-order-0190f3a2-7c4e-7d1b-9a55-4f1e2d3c4b5a"
            )
        );
        assert!(a.starts_with("makonis-makonis-order-0190f3a2"), "{a}");
        for key in [
            "makonis-order-0190f3a2-7c4e-7d1b-9a55-4f1e2d3c4b5a",
            "Pasūtījums #7 / ZAĶUSALA",
            "---",
            "",
            &"x".repeat(500),
        ] {
            for prefix in ["makonis", "a", "abcdefghijklmnopqrstuvwx"] {
                let n = bucket_name(prefix, key);
                assert!((3..=63).contains(&n.len()), "{n}");
                assert!(
                    n.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                    "{n}"
                );
                assert!(!n.contains("--") && !n.ends_with('-'), "{n}");
                assert!(n.starts_with(&format!("{prefix}-")), "{n}");
            }
        }
        assert_ne!(
            bucket_name("makonis", "order-1"),
            bucket_name("makonis", "order-2")
        );
        assert_ne!(
            bucket_name("makonis", "Order 1"),
            bucket_name("makonis", "order-1")
        );
        // Pinned: a change would orphan every existing bucket.
        assert_eq!(
            bucket_name("makonis", "order-1"),
            "makonis-order-1-0d62349cad4ff78d"
        );
        // Standard FNV-1a 128 test vector.
        assert_eq!(fnv128(&[b"a"]), 0xd228cb696f1a8caf78912b704e4a8964);
    }

    #[test]
    fn client_tokens_are_short_stable_and_purpose_bound() {
        let t = client_token("create", &["k"]);
        assert!(t.len() <= 64 && t.is_ascii(), "{t}");
        assert_eq!(t, client_token("create", &["k"]));
        assert_ne!(t, client_token("resize", &["k"]));
        assert_ne!(
            client_token("resize", &["k", "3"]),
            client_token("resize", &["k3"])
        );
    }

    #[test]
    fn sites_are_the_region_or_its_zones() {
        assert_eq!(placement("eu-north-1", "eu-north-1").unwrap(), None);
        assert_eq!(
            placement("eu-north-1", "eu-north-1b").unwrap().as_deref(),
            Some("eu-north-1b")
        );
        let m = placement("eu-north-1", "Zaķusala").unwrap_err().to_string();
        assert!(
            m.contains("site 'Zaķusala'") && m.contains("eu-north-1"),
            "{m}"
        );
        assert!(placement("eu-north-1", "eu-north-10").is_ok());
        assert!(placement("eu-north-1", "us-east-1a").is_err());
    }

    #[test]
    fn tags_are_checked_before_anything_is_made() {
        let mut spec = ResourceSpec {
            idempotency_key: "k".into(),
            site: "eu-north-1".into(),
            kind: OfferingKind::Bucket,
            offering: BUCKET_OFFERING.into(),
            quantity: 1,
            tags: BTreeMap::from([("order".to_owned(), "o-1".to_owned())]),
        };
        assert!(check_tags(&spec, 3, TagRules::S3, "bucket b").is_ok());
        spec.tags.insert("note".into(), "a#b".into());
        assert!(check_tags(&spec, 3, TagRules::Ec2, "x").is_ok());
        let m = check_tags(&spec, 3, TagRules::S3, "bucket b")
            .unwrap_err()
            .to_string();
        assert!(m.contains("bucket b: tag value 'a#b'"), "{m}");
        spec.tags.remove("note");
        spec.tags.insert("aws:cloudformation".into(), "x".into());
        assert!(
            check_tags(&spec, 2, TagRules::Ec2, "x")
                .unwrap_err()
                .to_string()
                .contains("aws:")
        );
        spec.tags.clear();
        spec.tags.insert(TAG_KEY.into(), "x".into());
        assert!(check_tags(&spec, 2, TagRules::Ec2, "x").is_err());
        spec.tags = (0..49).map(|i| (format!("t{i}"), "v".to_owned())).collect();
        let m = check_tags(&spec, 2, TagRules::Ec2, "instances for key k")
            .unwrap_err()
            .to_string();
        assert!(m.contains("49 tags given"), "{m}");
    }
}

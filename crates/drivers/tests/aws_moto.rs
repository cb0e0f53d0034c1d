//! The AWS driver end to end against a local `moto_server` (EC2 and S3,
//! in memory; started per test on 127.0.0.1 with a free port). Without
//! moto the tests are skipped with a message, unless
//! `MAKONIS_REQUIRE_PEERS=1`, in which case they fail.
//!
//! moto answers RunInstances with `pending` instances that are `running`
//! at the next look, keeps terminated ones visible, ignores ClientToken
//! (the driver's find-by-tag before RunInstances is what keeps creates
//! idempotent here), accepts any credentials unless started with
//! `INITIAL_NO_AUTH_ACTION_COUNT=0`, and cannot backdate launch times, so
//! usage over past hours is tested on the pure hour arithmetic
//! (`aws::hours`) and here only for being empty but well-formed.

#[allow(dead_code)]
#[path = "../../embassy/tests/common/moto.rs"]
mod moto;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use makonis_drivers::aws::hours::transition_time;
use makonis_drivers::aws::{AwsConfig, AwsDriver, bucket_name};
use makonis_drivers::{Driver, DriverError, ResourceSpec, ResourceStatus};
use makonis_types::catalogue::OfferingKind;
use serde_json::json;

const REGION: &str = "eu-north-1";

fn driver_at(endpoint: &str, region: &str) -> AwsDriver {
    let config = AwsConfig::from_provider(
        Some(endpoint),
        &json!({"access_key_id": "AKIAMAKONISTEST", "secret_access_key": "moto", "region": region}),
    )
    .expect("valid configuration");
    AwsDriver::new(config)
}

fn driver(m: &moto::Moto) -> AwsDriver {
    driver_at(&m.endpoint, REGION)
}

/// Plain SDK clients, to look at what the driver really made.
fn raw_ec2(m: &moto::Moto) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::Config::builder()
            .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
            .region(aws_sdk_ec2::config::Region::new(REGION))
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                "AKIAMAKONISTEST",
                "moto",
                None,
                None,
                "test",
            ))
            .endpoint_url(&m.endpoint)
            .build(),
    )
}

fn raw_s3(m: &moto::Moto) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(REGION))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "AKIAMAKONISTEST",
                "moto",
                None,
                None,
                "test",
            ))
            .endpoint_url(&m.endpoint)
            .force_path_style(true)
            .build(),
    )
}

/// (instance id, state, zone, tags) of every instance moto holds.
async fn instances(m: &moto::Moto) -> Vec<(String, String, String, BTreeMap<String, String>)> {
    let out = raw_ec2(m).describe_instances().send().await.unwrap();
    let mut all = Vec::new();
    for r in out.reservations() {
        for i in r.instances() {
            all.push((
                i.instance_id().unwrap().to_owned(),
                i.state().unwrap().name().unwrap().as_str().to_owned(),
                i.placement()
                    .unwrap()
                    .availability_zone()
                    .unwrap()
                    .to_owned(),
                i.tags()
                    .iter()
                    .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
                    .collect(),
            ));
        }
    }
    all
}

fn live(all: &[(String, String, String, BTreeMap<String, String>)]) -> usize {
    all.iter()
        .filter(|(_, s, _, _)| s == "pending" || s == "running")
        .count()
}

fn vm(key: &str, site: &str, offering: &str, quantity: i64) -> ResourceSpec {
    ResourceSpec {
        idempotency_key: key.into(),
        site: site.into(),
        kind: OfferingKind::Vm,
        offering: offering.into(),
        quantity,
        tags: BTreeMap::from([("order".to_owned(), "o-7".to_owned())]),
    }
}

fn bucket(key: &str, quota: i64) -> ResourceSpec {
    ResourceSpec {
        idempotency_key: key.into(),
        site: REGION.into(),
        kind: OfferingKind::Bucket,
        offering: "s3-standard".into(),
        quantity: quota,
        tags: BTreeMap::from([("is".to_owned(), "IS-42".to_owned())]),
    }
}

#[tokio::test]
async fn offerings_are_the_instance_types_and_one_bucket_offering() {
    let Some(m) = moto::start_moto() else { return };
    let d = driver(&m);
    let started = Instant::now();
    let offerings = d.offerings().await.unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(30), "offerings took {took:?}");
    let vms: Vec<_> = offerings
        .iter()
        .filter(|o| o.kind == OfferingKind::Vm)
        .collect();
    assert!(
        vms.len() > 100,
        "moto knows many instance types: {}",
        vms.len()
    );
    assert!(
        vms.windows(2).all(|w| w[0].name < w[1].name),
        "sorted by name, no repeats"
    );
    let micro = vms.iter().find(|o| o.name == "t3.micro").expect("t3.micro");
    assert_eq!(
        (
            micro.provider_ref.as_str(),
            micro.vcpu,
            micro.ram_mb,
            micro.storage_gb
        ),
        ("t3.micro", 2, 1024, 0)
    );
    assert!(
        micro
            .description
            .as_deref()
            .unwrap()
            .starts_with("2 vCPU, 1024 MiB RAM"),
        "{:?}",
        micro.description
    );
    // moto reports max-instances = 20 and nothing runs yet.
    assert_eq!(micro.capacity_units, Some(20));
    let m5d = vms
        .iter()
        .find(|o| o.name == "m5d.large")
        .expect("m5d.large");
    assert_eq!((m5d.vcpu, m5d.ram_mb, m5d.storage_gb), (2, 8192, 75));
    assert!(vms.iter().any(|o| o.name == "t4g.small" && o.vcpu == 2));
    let buckets: Vec<_> = offerings
        .iter()
        .filter(|o| o.kind == OfferingKind::Bucket)
        .collect();
    assert_eq!(buckets.len(), 1);
    assert_eq!(buckets[0].name, "s3-standard");
    assert_eq!(buckets[0].capacity_units, None);

    let capacity = d.capacity().await.unwrap();
    assert_eq!(capacity.len(), 1);
    assert_eq!(
        (
            capacity[0].site.as_str(),
            capacity[0].total_units,
            capacity[0].free_units
        ),
        (REGION, 20, 20)
    );
}

#[tokio::test]
async fn a_vm_group_is_created_once_resized_and_deleted() {
    let Some(m) = moto::start_moto() else { return };
    let d = driver(&m);
    let key = "makonis-order-0190f3a2-7c4e-7d1b-9a55-4f1e2d3c4b5a";
    let site = "eu-north-1b";

    let made = d.create(&vm(key, site, "t3.micro", 2)).await.unwrap();
    assert_eq!(made.id, key, "a group's id is its idempotency key");
    assert_eq!(made.idempotency_key, key);
    assert_eq!(
        (
            made.kind,
            made.offering.as_str(),
            made.quantity,
            made.site.as_str()
        ),
        (OfferingKind::Vm, "t3.micro", 2, site)
    );
    assert_ne!(made.status, ResourceStatus::Error);
    assert_eq!(
        made.tags,
        BTreeMap::from([("order".to_owned(), "o-7".to_owned())])
    );
    assert!((chrono::Utc::now() - made.created_at).num_minutes().abs() < 5);

    // What moto holds: two instances, in the zone, tagged.
    let all = instances(&m).await;
    assert_eq!(all.len(), 2, "{all:?}");
    for (_, _, zone, tags) in &all {
        assert_eq!(zone, site);
        assert_eq!(tags.get("makonis-key").map(String::as_str), Some(key));
        assert_eq!(tags.get("makonis-site").map(String::as_str), Some(site));
        assert_eq!(tags.get("order").map(String::as_str), Some("o-7"));
    }

    let found = d.find(key).await.unwrap().expect("found by key");
    assert_eq!((found.id.as_str(), found.quantity), (key, 2));
    // A repeated create (say after a time-out) returns the same group and
    // launches nothing.
    let again = d.create(&vm(key, site, "t3.micro", 2)).await.unwrap();
    assert_eq!((again.id.as_str(), again.quantity), (key, 2));
    assert_eq!(
        instances(&m).await.len(),
        2,
        "a repeated create must not launch"
    );

    // moto starts instances at the next look.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let g = d.get(key).await.unwrap().expect("group");
        if g.status == ResourceStatus::Active {
            break;
        }
        assert!(Instant::now() < deadline, "never became active: {g:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let listed = d.list().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (listed[0].id.as_str(), listed[0].quantity, listed[0].status),
        (key, 2, ResourceStatus::Active)
    );
    assert_eq!(d.capacity().await.unwrap()[0].free_units, 18);

    let grown = d.resize(key, 3).await.unwrap();
    assert_eq!(grown.quantity, 3);
    let all = instances(&m).await;
    assert_eq!(live(&all), 3);
    assert!(
        all.iter().all(|(_, _, zone, tags)| zone == site
            && tags.get("order").map(String::as_str) == Some("o-7")),
        "new members keep the zone and tags: {all:?}"
    );
    assert_eq!(d.get(key).await.unwrap().unwrap().quantity, 3);
    assert_eq!(
        d.resize(key, 3).await.unwrap().quantity,
        3,
        "a retry is harmless"
    );
    assert_eq!(live(&instances(&m).await), 3);

    let shrunk = d.resize(key, 1).await.unwrap();
    assert_eq!(shrunk.quantity, 1);
    assert_eq!(live(&instances(&m).await), 1);
    // Usage ends where moto says a member was terminated.
    let out = raw_ec2(&m).describe_instances().send().await.unwrap();
    let ended: Vec<_> = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| i.state().unwrap().name().unwrap().as_str() != "running")
        .map(|i| transition_time(i.state_transition_reason().unwrap_or("")))
        .collect();
    assert_eq!(ended.len(), 2, "{ended:?}");
    for t in ended {
        let t = t.expect("moto's StateTransitionReason carries the time");
        assert!((chrono::Utc::now() - t).num_minutes().abs() < 5, "{t}");
    }
    let g = d.get(key).await.unwrap().unwrap();
    assert_eq!(g.quantity, 1);
    assert_ne!(
        g.status,
        ResourceStatus::Error,
        "members terminated by a resize are not failures"
    );
    assert!(matches!(
        d.resize(key, 0).await,
        Err(DriverError::Invalid(m)) if m.contains("at least 1")
    ));

    // Live usage of a group younger than an hour: no whole hour yet.
    let usage = d
        .usage_since(chrono::Utc::now() - chrono::Duration::hours(24))
        .await
        .unwrap();
    assert!(usage.is_empty(), "{usage:?}");

    d.delete(key).await.unwrap();
    assert_eq!(live(&instances(&m).await), 0);
    assert!(d.get(key).await.unwrap().is_none());
    assert!(d.find(key).await.unwrap().is_none());
    assert!(d.list().await.unwrap().is_empty());
    d.delete(key).await.unwrap();
    match d.resize(key, 2).await {
        Err(DriverError::NotFound(msg)) => assert!(msg.contains(key), "{msg}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    let usage = d
        .usage_since(chrono::Utc::now() - chrono::Duration::hours(24))
        .await
        .unwrap();
    assert!(usage.is_empty(), "{usage:?}");
}

#[tokio::test]
async fn a_bucket_is_created_once_tagged_resized_and_deleted_only_when_empty() {
    let Some(m) = moto::start_moto() else { return };
    let d = driver(&m);
    let key = "makonis-order-0190f3a2-bucket";
    let name = bucket_name("makonis", key);

    let made = d.create(&bucket(key, 5)).await.unwrap();
    assert_eq!(made.id, name, "a bucket's id is its name");
    assert_eq!(
        (
            made.kind,
            made.offering.as_str(),
            made.quantity,
            made.status,
            made.site.as_str()
        ),
        (
            OfferingKind::Bucket,
            "s3-standard",
            5,
            ResourceStatus::Active,
            REGION
        )
    );
    assert_eq!(
        made.tags,
        BTreeMap::from([("is".to_owned(), "IS-42".to_owned())])
    );

    // What S3 holds: the bucket in the region, tagged.
    let s3 = raw_s3(&m);
    let tags: BTreeMap<String, String> = s3
        .get_bucket_tagging()
        .bucket(&name)
        .send()
        .await
        .unwrap()
        .tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    assert_eq!(tags.get("makonis-key").map(String::as_str), Some(key));
    assert_eq!(tags.get("makonis-quota-gb").map(String::as_str), Some("5"));
    assert_eq!(tags.get("makonis-site").map(String::as_str), Some(REGION));
    assert_eq!(tags.get("is").map(String::as_str), Some("IS-42"));

    assert_eq!(d.find(key).await.unwrap().expect("found by key").id, name);
    assert_eq!(d.create(&bucket(key, 5)).await.unwrap().id, name);
    assert_eq!(d.get(&name).await.unwrap().expect("by id").quantity, 5);
    let listed = d.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].id.as_str(), listed[0].idempotency_key.as_str()),
        (name.as_str(), key)
    );

    assert_eq!(d.resize(&name, 8).await.unwrap().quantity, 8);
    assert_eq!(d.get(&name).await.unwrap().unwrap().quantity, 8);
    assert_eq!(d.resize(&name, 8).await.unwrap().quantity, 8);

    s3.put_object()
        .bucket(&name)
        .key("data/one")
        .body(vec![7u8; 4096].into())
        .send()
        .await
        .unwrap();
    match d.delete(&name).await {
        Err(DriverError::Refused(msg)) => {
            assert!(
                msg.contains(&name) && msg.contains("holds objects"),
                "{msg}"
            )
        }
        other => panic!("a bucket with data must not be deleted: {other:?}"),
    }
    assert!(d.get(&name).await.unwrap().is_some(), "still there");
    // 4 KiB rounds up to 1 GiB: a 1 GB quota still fits.
    assert_eq!(d.resize(&name, 1).await.unwrap().quantity, 1);
    let usage = d
        .usage_since(chrono::Utc::now() - chrono::Duration::hours(24))
        .await
        .unwrap();
    assert!(usage.is_empty(), "made just now, no whole hour: {usage:?}");

    s3.delete_object()
        .bucket(&name)
        .key("data/one")
        .send()
        .await
        .unwrap();
    d.delete(&name).await.unwrap();
    assert!(d.get(&name).await.unwrap().is_none());
    assert!(d.find(key).await.unwrap().is_none());
    assert!(d.list().await.unwrap().is_empty());
    assert!(
        s3.head_bucket().bucket(&name).send().await.is_err(),
        "gone from S3"
    );
    d.delete(&name).await.unwrap();
}

#[tokio::test]
async fn buckets_that_are_not_makonis_are_neither_listed_nor_deleted() {
    let Some(m) = moto::start_moto() else { return };
    let d = driver(&m);
    let s3 = raw_s3(&m);
    // Named like ours but untagged, and someone else's altogether.
    for name in ["makonis-stray-0000000000000000", "someone-elses-bucket"] {
        s3.create_bucket()
            .bucket(name)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuNorth1)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    assert!(d.list().await.unwrap().is_empty());
    assert!(
        d.get("makonis-stray-0000000000000000")
            .await
            .unwrap()
            .is_none()
    );
    d.delete("makonis-stray-0000000000000000").await.unwrap();
    d.delete("someone-elses-bucket").await.unwrap();
    for name in ["makonis-stray-0000000000000000", "someone-elses-bucket"] {
        assert!(
            s3.head_bucket().bucket(name).send().await.is_ok(),
            "{name} must be left alone"
        );
    }
}

#[tokio::test]
async fn bad_requests_are_invalid_and_name_what_was_wrong() {
    let Some(m) = moto::start_moto() else { return };
    let d = driver(&m);
    // moto launches unknown instance types if asked; the driver asks
    // DescribeInstanceTypes first, as AWS would refuse them.
    match d.create(&vm("k-unknown", REGION, "t9.huge", 1)).await {
        Err(DriverError::Invalid(msg)) => {
            assert!(msg.contains("instance type 't9.huge'"), "{msg}")
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    match d.create(&vm("k-site", "Zaķusala", "t3.micro", 1)).await {
        Err(DriverError::Invalid(msg)) => assert!(msg.contains("site 'Zaķusala'"), "{msg}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    match d.create(&vm("k-zero", REGION, "t3.micro", 0)).await {
        Err(DriverError::Invalid(msg)) => {
            assert!(
                msg.contains("k-zero") && msg.contains("at least 1"),
                "{msg}"
            )
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let mut db = vm("k-db", REGION, "db.t3.micro", 1);
    db.kind = OfferingKind::Database;
    assert!(
        matches!(d.create(&db).await, Err(DriverError::Invalid(msg)) if msg.contains("database"))
    );
    let mut tagged = bucket("k-tags", 1);
    tagged.tags.insert("note".into(), "50% off!".into());
    match d.create(&tagged).await {
        Err(DriverError::Invalid(msg)) => assert!(msg.contains("tag value '50% off!'"), "{msg}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(instances(&m).await.is_empty(), "nothing was launched");
    assert!(d.list().await.unwrap().is_empty(), "nothing was made");
    assert!(
        raw_s3(&m)
            .list_buckets()
            .send()
            .await
            .unwrap()
            .buckets()
            .is_empty()
    );
}

#[tokio::test]
async fn the_default_image_follows_the_architecture() {
    let Some(m) = moto::start_moto() else { return };
    let d = driver(&m);
    d.create(&vm("k-x86", REGION, "t3.micro", 1)).await.unwrap();
    d.create(&vm("k-arm", REGION, "t4g.micro", 1))
        .await
        .unwrap();
    let out = raw_ec2(&m).describe_instances().send().await.unwrap();
    let mut images = BTreeMap::new();
    for i in out.reservations().iter().flat_map(|r| r.instances()) {
        let key = i
            .tags()
            .iter()
            .find(|t| t.key() == Some("makonis-key"))
            .and_then(|t| t.value())
            .unwrap()
            .to_owned();
        images.insert(key, i.image_id().unwrap().to_owned());
    }
    let described = raw_ec2(&m)
        .describe_images()
        .image_ids(&images["k-x86"])
        .image_ids(&images["k-arm"])
        .send()
        .await
        .unwrap();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for img in described.images() {
        names.insert(
            img.image_id().unwrap().to_owned(),
            img.name().unwrap().to_owned(),
        );
    }
    let x86 = &names[&images["k-x86"]];
    let arm = &names[&images["k-arm"]];
    assert!(
        x86.starts_with("al2023-ami-2023.") && x86.ends_with("-x86_64"),
        "{x86}"
    );
    assert!(
        arm.starts_with("al2023-ami-2023.") && arm.ends_with("-arm64"),
        "{arm}"
    );
    let groups = d.list().await.unwrap();
    let mut listed: Vec<(&str, &str, i64)> = groups
        .iter()
        .map(|g| (g.id.as_str(), g.offering.as_str(), g.quantity))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        vec![("k-arm", "t4g.micro", 1), ("k-x86", "t3.micro", 1)]
    );
}

// moto accepts any credentials unless INITIAL_NO_AUTH_ACTION_COUNT is set;
// with 0 it checks every request against its IAM users, of which there
// are none, so these credentials are rejected as unknown.
#[tokio::test]
async fn rejected_credentials_are_unauthorized() {
    let Some(m) = moto::start_moto_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]) else {
        return;
    };
    let d = driver(&m);
    for (call, result) in [
        ("list", d.list().await.map(|_| ())),
        ("offerings", d.offerings().await.map(|_| ())),
        ("find", d.find("k").await.map(|_| ())),
        (
            "create",
            d.create(&vm("k", REGION, "t3.micro", 1)).await.map(|_| ()),
        ),
    ] {
        match result {
            Err(DriverError::Unauthorized(msg)) => {
                assert!(msg.contains("AuthFailure"), "{call}: {msg}");
                assert!(!DriverError::Unauthorized(msg).is_transient());
            }
            other => panic!("{call}: expected Unauthorized, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = driver_at(&format!("http://127.0.0.1:{port}"), REGION);
    let started = Instant::now();
    match d.list().await {
        Err(e @ DriverError::Unavailable(_)) => {
            assert!(e.is_transient());
            let msg = e.to_string();
            assert!(msg.contains("cannot reach the provider"), "{msg}");
            assert!(
                msg.contains("makonis-key"),
                "names what it was doing: {msg}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(30));
}

// moto fails with an HTML 500 page for a region it does not know; AWS
// would not resolve the host. Either way: unavailable, not a crash.
#[tokio::test]
async fn an_unknown_region_is_unavailable() {
    let Some(m) = moto::start_moto() else { return };
    let d = driver_at(&m.endpoint, "xx-nowhere-9");
    match d.list().await {
        Err(e @ DriverError::Unavailable(_)) => assert!(e.to_string().contains("500"), "{e}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

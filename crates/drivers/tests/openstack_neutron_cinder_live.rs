//! The Cinder and Neutron modules (`openstack::cinder`, `openstack::neutron`)
//! against the real services on 127.0.0.1, started next to the OpenStack
//! peer by `scripts/peers/openstack-neutron-cinder up --catalog` (Cinder
//! with its fake volume driver, Neutron's API with ML2 and no agents).
//!
//! What is live here: the request bodies and paths the modules build are
//! sent with the driver's [`Client`], and the parsers read what the real
//! services answer.
//! - Cinder: volume types (→ offerings), volume create, show, find by key,
//!   `os-extend` (at the module's extend microversion), quota set and
//!   usage, limits (→ capacity), delete; a create over the gigabytes quota of an
//!   isolated project is a refusal that says "over quota".
//! - Neutron: network create, tags, find by name and key, a subnet and a
//!   port on it (ports stay DOWN: there are no agents), quota and quota
//!   details, `pick_network` over the project's real networks, deletes.
//!
//! What is not: the shapes these services never produce here (attached
//! volumes, paginated lists, external and shared networks, IPv6, volume
//! statuses of real back ends, microversion 3.67+ paths) stay covered by
//! `openstack_samples.rs`, which checks the same parsers against the API
//! reference samples; that test is not replaced by this one.
//!
//! Skipped with a message when the OpenStack peer is not running, or its
//! catalogue lists no `volumev3`/`network`; with `MAKONIS_REQUIRE_PEERS=1`
//! either fails. Every test cleans up what it made (also when an assertion
//! fails) and names things with a unique suffix, because other tests share
//! the project.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use makonis_drivers::openstack::cinder::{self, ExtendPlan, VolumeStatus};
use makonis_drivers::openstack::neutron::{self, NetworkStatus};
use makonis_drivers::openstack::{Client, LocalPeer, Service};
use makonis_drivers::{DriverError, ResourceSpec, ResourceStatus};
use makonis_types::catalogue::OfferingKind;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SITE: &str = "Zaķusala";
const DEFAULT_TYPE: &str = "__DEFAULT__";

fn suffix() -> String {
    uuid::Uuid::now_v7().simple().to_string()[20..].to_owned()
}

/// An answer's body as the text the parsers take.
/// A GET whose answer must be there.
async fn get(
    c: &Client,
    service: Service,
    path: &str,
    what: &str,
) -> makonis_drivers::openstack::client::Answer {
    c.request(service, Method::GET, path, None, None, what)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn text(body: &Value) -> String {
    serde_json::to_string(body).expect("JSON")
}

fn required() -> bool {
    std::env::var("MAKONIS_REQUIRE_PEERS").as_deref() == Ok("1")
}

/// A client of the peer's main project, when its catalogue lists
/// `service`; `None` (skip) otherwise, or a failure when peers are
/// required.
async fn client_for(peer: &LocalPeer, service: Service, catalog_type: &str) -> Option<Arc<Client>> {
    let client = Client::new(peer.config("LVRTC").expect("config")).expect("client");
    let endpoint = client
        .endpoint(service)
        .await
        .expect("a token from Keystone");
    match endpoint {
        Some(_) => Some(Arc::new(client)),
        None if required() => panic!(
            "the OpenStack peer's catalogue has no '{catalog_type}' endpoint and \
             MAKONIS_REQUIRE_PEERS=1 requires it: start scripts/peers/openstack-neutron-cinder up --catalog"
        ),
        None => {
            eprintln!(
                "skipped: the OpenStack peer's catalogue has no '{catalog_type}' endpoint \
                 (start scripts/peers/openstack-neutron-cinder up --catalog)"
            );
            None
        }
    }
}

/// Awaits `checks` in a task of its own, so that the cleanup after it runs
/// even when an assertion in it fails; the failure is raised afterwards.
async fn checked<F>(checks: F) -> Result<(), tokio::task::JoinError>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(checks).await
}

fn raise(outcome: Result<(), tokio::task::JoinError>) {
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the checks did not finish: {e}"),
        }
    }
}

// ---------------------------------------------------------------- Cinder

async fn show_volume(c: &Client, id: &str) -> cinder::Volume {
    let answer = c
        .request(
            Service::BlockStorage,
            Method::GET,
            &cinder::volume_path(id),
            None,
            None,
            &format!("volume {id}"),
        )
        .await
        .expect("show volume");
    cinder::parse_volume(&text(&answer.body)).expect("parse_volume reads the show answer")
}

/// Polls show until the volume is `available` with `size_gb`.
async fn until_available(c: &Client, id: &str, size_gb: i64) -> cinder::Volume {
    let started = Instant::now();
    loop {
        let v = show_volume(c, id).await;
        if v.status == VolumeStatus::Available && v.size_gb == size_gb {
            return v;
        }
        assert_ne!(
            v.status.resource_status(),
            Some(ResourceStatus::Error),
            "volume {id} went wrong: {v:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "volume {id} not available with {size_gb} GB after 90 s: {v:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn quota_usage(c: &Client, project: &str) -> cinder::VolumeQuotaUsage {
    let answer = get(
        c,
        Service::BlockStorage,
        &cinder::quota_usage_path(project),
        "quota usage",
    )
    .await;
    cinder::parse_quota_usage(&text(&answer.body)).expect("parse_quota_usage")
}

async fn limits(c: &Client) -> cinder::VolumeLimits {
    let answer = get(c, Service::BlockStorage, cinder::LIMITS_PATH, "limits").await;
    cinder::parse_limits(&text(&answer.body)).expect("parse_limits")
}

fn volume_spec(key: &str, offering: &str, gb: i64) -> ResourceSpec {
    ResourceSpec {
        idempotency_key: key.to_owned(),
        site: SITE.to_owned(),
        kind: OfferingKind::Volume,
        offering: offering.to_owned(),
        quantity: gb,
        tags: BTreeMap::from([("makonis.order".to_owned(), key.to_owned())]),
    }
}

/// The microversion to give [`Client::request`] for an extend: the module's
/// constant, which is the version alone (the client adds `volume`).
fn extend_microversion() -> &'static str {
    assert!(
        !cinder::EXTEND_IN_USE_MICROVERSION.contains(' '),
        "Client::request prefixes the service name itself; \"volume volume 3.42\" is a 500 at Cinder"
    );
    cinder::EXTEND_IN_USE_MICROVERSION
}

#[tokio::test]
async fn cinder_volume_is_created_found_extended_counted_and_deleted() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    let Some(client) = client_for(&peer, Service::BlockStorage, "volumev3").await else {
        return;
    };
    let started = Instant::now();
    let project = client.project_id().await.expect("project");

    // Volume types, and the default type as an offering.
    let answer = get(
        &client,
        Service::BlockStorage,
        cinder::VOLUME_TYPES_PATH,
        "volume types",
    )
    .await;
    let types = cinder::parse_volume_types(&text(&answer.body)).expect("parse_volume_types");
    let default = types
        .iter()
        .find(|t| t.name == DEFAULT_TYPE)
        .unwrap_or_else(|| panic!("{DEFAULT_TYPE} among {types:?}"))
        .clone();
    assert!(default.is_public, "{default:?}");
    assert_eq!(default.description.as_deref(), Some("Default Volume Type"));
    assert!(default.extra_specs.is_empty(), "{default:?}");
    let offerings = cinder::volume_type_offerings(&types, None);
    let offering = offerings
        .iter()
        .find(|o| o.name == DEFAULT_TYPE)
        .expect("the default type is an offering");
    assert_eq!(offering.kind, OfferingKind::Volume);
    assert_eq!(offering.provider_ref, default.id);
    assert_eq!(offering.description.as_deref(), Some("Default Volume Type"));
    assert_eq!(
        (offering.vcpu, offering.ram_mb, offering.storage_gb),
        (0, 0, 0)
    );
    assert_eq!(offering.capacity_units, None, "no quota given");

    // Create 1 GB with the module's body.
    let key = format!("t-cinder-{}", suffix());
    let spec = volume_spec(&key, &default.name, 1);
    let body =
        serde_json::to_value(cinder::volume_create_body(&spec, None).expect("body")).expect("JSON");
    let answer = client
        .request(
            Service::BlockStorage,
            Method::POST,
            "/volumes",
            None,
            Some(&body),
            &format!("volume {key}"),
        )
        .await
        .expect("create volume");
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let created = cinder::parse_volume(&text(&answer.body)).expect("parse the create answer");
    assert_eq!(created.name.as_deref(), Some(key.as_str()));
    assert_eq!(created.size_gb, 1);
    assert_eq!(created.idempotency_key(), key);
    assert_eq!(
        created.metadata.get(cinder::META_SITE).map(String::as_str),
        Some(SITE)
    );
    assert!(
        matches!(
            created.status,
            VolumeStatus::Creating | VolumeStatus::Available
        ),
        "{created:?}"
    );
    let id = created.id.clone();

    let checks = checked(volume_checks(
        client.clone(),
        project,
        id.clone(),
        key.clone(),
        default.clone(),
    ))
    .await;

    // Delete whatever happened above.
    let deleted = client
        .request(
            Service::BlockStorage,
            Method::DELETE,
            &cinder::volume_path(&id),
            None,
            None,
            &format!("volume {id}"),
        )
        .await;
    raise(checks);
    let deleted = deleted.expect("delete volume");
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    assert_eq!(deleted.body, Value::Null);
    match client
        .request(
            Service::BlockStorage,
            Method::GET,
            &cinder::volume_path(&id),
            None,
            None,
            &format!("volume {id}"),
        )
        .await
    {
        Err(DriverError::NotFound(m)) => assert!(m.contains(&id), "{m}"),
        Ok(answer) => {
            let v = cinder::parse_volume(&text(&answer.body)).expect("parse");
            assert_eq!(v.status, VolumeStatus::Deleting, "{v:?}");
            assert_eq!(v.resource(), None, "a volume being deleted is no resource");
        }
        Err(e) => panic!("show after delete: {e:?}"),
    }
    eprintln!("cinder volume lifecycle: {:?}", started.elapsed());
}

async fn volume_checks(
    client: Arc<Client>,
    project: String,
    id: String,
    key: String,
    default: cinder::VolumeType,
) {
    let c = client.as_ref();
    let v = until_available(c, &id, 1).await;
    assert_eq!(v.status.resource_status(), Some(ResourceStatus::Active));
    assert_eq!(v.volume_type.as_deref(), Some(DEFAULT_TYPE));
    assert!(v.attached_to.is_empty(), "{v:?}");
    assert!(
        (chrono::Utc::now() - v.created_at).num_minutes().abs() < 10,
        "created_at {} is read as UTC",
        v.created_at
    );

    // Found again by key, as after a lost create answer.
    let answer = get(
        c,
        Service::BlockStorage,
        &cinder::volumes_named_path(&key),
        "volumes by name",
    )
    .await;
    let list = cinder::parse_volume_details(&text(&answer.body)).expect("parse_volume_details");
    assert_eq!(list.next, None);
    assert_eq!(list.volumes.len(), 1, "{list:?}");
    let found = cinder::find_by_key(&list.volumes, &key).expect("found by key");
    assert_eq!(found.id, id);
    assert!(cinder::find_by_key(&list.volumes, "t-cinder-someone-else").is_none());

    let r = found.resource().expect("an available volume is a resource");
    assert_eq!(r.id, id);
    assert_eq!(r.idempotency_key, key);
    assert_eq!(r.site, SITE);
    assert_eq!(r.kind, OfferingKind::Volume);
    assert_eq!(r.offering, DEFAULT_TYPE);
    assert_eq!(r.quantity, 1);
    assert_eq!(r.status, ResourceStatus::Active);
    assert_eq!(
        r.tags,
        BTreeMap::from([("makonis.order".to_owned(), key.clone())])
    );
    assert_eq!(cinder::volumes_to_resources(&list.volumes), vec![r]);

    // Extend to 2 GB.
    let ExtendPlan::Extend(extend) = cinder::plan_extend(&v, 2).expect("plan") else {
        panic!("1 GB → 2 GB is an extend");
    };
    assert_eq!(extend, cinder::volume_extend_body(2));
    let body = serde_json::to_value(&extend).expect("JSON");
    let answer = c
        .request(
            Service::BlockStorage,
            Method::POST,
            &cinder::volume_action_path(&id),
            Some(extend_microversion()),
            Some(&body),
            &format!("extend of volume {id}"),
        )
        .await
        .expect("extend");
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let v = until_available(c, &id, 2).await;
    assert_eq!(
        cinder::plan_extend(&v, 2).expect("plan"),
        ExtendPlan::AlreadyThatSize
    );
    let err = cinder::plan_extend(&v, 1).expect_err("no shrinking");
    let DriverError::Invalid(m) = &err else {
        panic!("shrinking: {err:?}")
    };
    assert!(m.contains("cannot shrink"), "{m}");
    // Cinder agrees: a smaller size sent anyway is a bad request.
    let err = c
        .request(
            Service::BlockStorage,
            Method::POST,
            &cinder::volume_action_path(&id),
            None,
            Some(&serde_json::to_value(cinder::volume_extend_body(1)).expect("JSON")),
            &format!("shrink of volume {id}"),
        )
        .await
        .expect_err("Cinder does not shrink");
    assert!(matches!(err, DriverError::Invalid(_)), "{err:?}");

    // Quota usage counts it.
    let q = quota_usage(c, &project).await;
    assert_eq!(q.project_id, project);
    let gb = q.usage["gigabytes"];
    assert!(gb.in_use >= 2, "{gb:?}");
    assert!(q.usage["volumes"].in_use >= 1, "{q:?}");
    if gb.limit >= 0 {
        assert_eq!(gb.free(), Some((gb.limit - gb.in_use - gb.reserved).max(0)));
    } else {
        assert_eq!(gb.free(), None);
    }
    assert_eq!(q.free_gb(None), gb.free());
    let typed = q
        .usage
        .get(&format!("gigabytes_{DEFAULT_TYPE}"))
        .expect("a per-type entry for the default type");
    let expected = match (gb.free(), typed.free()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    assert_eq!(q.free_gb(Some(DEFAULT_TYPE)), expected);
    assert_eq!(q.max_volume_gb(), None, "the peer sets no per-volume limit");
    let offerings = cinder::volume_type_offerings(std::slice::from_ref(&default), Some(&q));
    assert_eq!(offerings[0].capacity_units, expected);

    // Limits, and the capacity they give.
    let l = limits(c).await;
    assert!(l.total_gb_used >= 2, "{l:?}");
    assert!(l.total_volumes_used >= 1, "{l:?}");
    assert!(
        l.max_total_volume_gb >= 0,
        "the peer's quota is finite: {l:?}"
    );
    assert!(l.max_total_snapshots.is_some() && l.total_backup_gb_used.is_some());
    let capacity = l
        .capacity("RegionOne")
        .expect("a finite quota is a capacity");
    assert_eq!(capacity.site, "RegionOne");
    assert_eq!(capacity.total_units, l.max_total_volume_gb);
    assert_eq!(
        capacity.free_units,
        (l.max_total_volume_gb - l.total_gb_used).max(0)
    );
    assert_eq!(Some(capacity.free_units), l.free_gb());
}

/// Cinder's admin quota calls, made with the driver's client and an admin
/// application credential. Not with `LocalPeer::admin`: that sends
/// `OpenStack-API-Version: compute 2.90` to every service, and Cinder,
/// finding no `volume` version in it, answers 400 ("API version None is
/// not supported on this method").
async fn cinder_quota_as_admin(
    admin: &Client,
    method: Method,
    project: &str,
    body: Option<&Value>,
) -> Result<Value, DriverError> {
    // An admin's quota call names the admin's own project in the URL
    // (/v3/{admin project}/os-quota-sets/{target}, "Malformed request url"
    // otherwise); the admin token's volumev3 endpoint already ends in it.
    let own = admin.project_id().await?;
    let endpoint = admin.required_endpoint(Service::BlockStorage).await?;
    if !endpoint.ends_with(&format!("/v3/{own}")) {
        // An error, not a panic: the cleanup calls this too.
        return Err(DriverError::Invalid(format!(
            "the admin's volumev3 endpoint {endpoint} does not end in its project {own}"
        )));
    }
    let path = format!("/os-quota-sets/{project}");
    admin
        .request(
            Service::BlockStorage,
            method,
            &path,
            None,
            body,
            &format!("the volume quota of {project}"),
        )
        .await
        .map(|a| a.body)
}

#[tokio::test]
async fn cinder_over_quota_is_a_refusal_that_says_so() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    if client_for(&peer, Service::BlockStorage, "volumev3")
        .await
        .is_none()
    {
        return;
    }
    let started = Instant::now();
    let admin_peer = peer.admin_credential().await.expect("admin credential");
    let admin = Arc::new(Client::new(admin_peer.config("LVRTC").expect("config")).expect("client"));
    let isolated = match peer.isolated_project("makonis-cinder-quota").await {
        Ok(isolated) => isolated,
        Err(e) => {
            admin_peer.remove_admin_credential().await.expect("cleanup");
            panic!("isolated project: {e:?}");
        }
    };
    let project = isolated.var("OS_PROJECT_ID").expect("project").to_owned();
    let checks = checked(over_quota(admin.clone(), isolated.clone(), project.clone())).await;
    // Cinder keeps a project's quota after Keystone forgets the project.
    let reset = cinder_quota_as_admin(&admin, Method::DELETE, &project, None).await;
    let removed = isolated.remove_project().await;
    let credential = admin_peer.remove_admin_credential().await;
    raise(checks);
    reset.expect("reset the quota");
    removed.expect("remove the project");
    credential.expect("remove the admin credential");
    eprintln!("cinder over quota: {:?}", started.elapsed());
}

async fn over_quota(admin: Arc<Client>, isolated: LocalPeer, project: String) {
    let set = cinder_quota_as_admin(
        &admin,
        Method::PUT,
        &project,
        Some(&json!({"quota_set": {"gigabytes": 5}})),
    )
    .await
    .expect("set the gigabytes quota");
    // The answer to a PUT has no `id`, so it is no quota set for
    // parse_quota_set, which reads the GET; the member reads that.
    assert_eq!(set["quota_set"]["gigabytes"], 5, "{set}");
    assert!(set["quota_set"].get("id").is_none(), "{set}");

    let client = Client::new(isolated.config("LVRTC").expect("config")).expect("client");
    assert_eq!(client.project_id().await.expect("project"), project);
    let answer = get(
        &client,
        Service::BlockStorage,
        &format!("/os-quota-sets/{project}"),
        "quota set",
    )
    .await;
    let set = cinder::parse_quota_set(&text(&answer.body)).expect("parse_quota_set");
    assert_eq!(set.project_id, project);
    assert_eq!(set.limits.get("gigabytes"), Some(&5), "{set:?}");
    assert_eq!(set.limits.get("volumes"), Some(&10), "the default: {set:?}");
    let q = quota_usage(&client, &project).await;
    assert_eq!(q.usage["gigabytes"].limit, 5);
    assert_eq!(q.usage["gigabytes"].in_use, 0);
    assert_eq!(q.free_gb(Some(DEFAULT_TYPE)), Some(5));
    let l = limits(&client).await;
    let capacity = l.capacity("RegionOne").expect("capacity");
    assert_eq!((capacity.free_units, capacity.total_units), (5, 5));

    let key = format!("t-cinder-quota-{}", suffix());
    let body = serde_json::to_value(
        cinder::volume_create_body(&volume_spec(&key, DEFAULT_TYPE, 10), None).expect("body"),
    )
    .expect("JSON");
    let err = client
        .request(
            Service::BlockStorage,
            Method::POST,
            "/volumes",
            None,
            Some(&body),
            &format!("volume {key}"),
        )
        .await
        .expect_err("10 GB over a 5 GB quota");
    let DriverError::Refused(m) = &err else {
        panic!("over quota: {err:?}")
    };
    assert!(m.contains("LVRTC: over quota for volume"), "{m}");
    assert!(m.contains("gigabytes"), "Cinder names the quota: {m}");
    eprintln!("over quota: {m}");
    // And nothing was made.
    let answer = get(
        &client,
        Service::BlockStorage,
        &cinder::volumes_named_path(&key),
        "volumes by name",
    )
    .await;
    let list = cinder::parse_volume_details(&text(&answer.body)).expect("parse");
    assert!(list.volumes.is_empty(), "{list:?}");
}

// --------------------------------------------------------------- Neutron

async fn neutron(
    c: &Client,
    method: Method,
    path: &str,
    body: Option<&Value>,
    what: &str,
) -> Result<makonis_drivers::openstack::client::Answer, DriverError> {
    c.request(Service::Network, method, path, None, body, what)
        .await
}

async fn show_network(c: &Client, id: &str) -> neutron::Network {
    let answer = neutron(c, Method::GET, &neutron::network_path(id), None, "network")
        .await
        .expect("show network");
    neutron::parse_network(&text(&answer.body)).expect("parse_network")
}

#[tokio::test]
async fn neutron_network_subnet_and_port_are_made_read_and_deleted() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    let Some(client) = client_for(&peer, Service::Network, "network").await else {
        return;
    };
    let started = Instant::now();
    let project = client.project_id().await.expect("project");
    let key = format!("t-neutron-{}", suffix());
    let body = serde_json::to_value(
        neutron::network_create_body(&key, Some("Mākonis live test")).expect("body"),
    )
    .expect("JSON");
    let answer = neutron(
        &client,
        Method::POST,
        neutron::NETWORKS_PATH,
        Some(&body),
        &format!("network {key}"),
    )
    .await
    .expect("create network");
    assert_eq!(answer.status, StatusCode::CREATED);
    let n = neutron::parse_network(&text(&answer.body)).expect("parse the create answer");
    assert_eq!(n.name, key);
    assert_eq!(n.description.as_deref(), Some("Mākonis live test"));
    assert_eq!(n.project_id.as_deref(), Some(project.as_str()));
    assert!(n.admin_state_up && !n.shared && !n.router_external, "{n:?}");
    assert!(n.subnets.is_empty() && n.tags.is_empty(), "{n:?}");
    assert!(n.created_at.is_some(), "{n:?}");
    assert!(n.mtu.is_some_and(|m| m > 0), "{n:?}");
    let id = n.id.clone();

    let checks = checked(network_checks(
        client.clone(),
        project,
        id.clone(),
        key.clone(),
    ))
    .await;

    // Whatever is left after a failure: ports first, then the network
    // (which takes its subnets along).
    if let Ok(answer) = neutron(
        &client,
        Method::GET,
        &format!("/v2.0/ports?network_id={id}"),
        None,
        "ports",
    )
    .await
    {
        for port in answer.body["ports"].as_array().into_iter().flatten() {
            if let Some(port) = port["id"].as_str() {
                let _ = neutron(
                    &client,
                    Method::DELETE,
                    &format!("/v2.0/ports/{port}"),
                    None,
                    "port",
                )
                .await;
            }
        }
    }
    let left = neutron(
        &client,
        Method::DELETE,
        &neutron::network_path(&id),
        None,
        "network",
    )
    .await;
    raise(checks);
    assert!(
        matches!(left, Err(DriverError::NotFound(_))),
        "the checks deleted the network: {left:?}"
    );
    eprintln!("neutron network, subnet, port: {:?}", started.elapsed());
}

async fn network_checks(client: Arc<Client>, project: String, id: String, key: String) {
    let c = client.as_ref();

    // Tags, set with the module's body and read back.
    let labels = BTreeMap::from([("makonis.order".to_owned(), key.clone())]);
    let tags = neutron::network_tags_body(&key, SITE, &labels).expect("tags body");
    let answer = neutron(
        c,
        Method::PUT,
        &neutron::network_tags_path(&id),
        Some(&serde_json::to_value(&tags).expect("JSON")),
        "network tags",
    )
    .await
    .expect("set tags");
    let mut want = tags.tags.clone();
    want.sort();
    let mut got = neutron::parse_tags(&text(&answer.body)).expect("parse the tag answer");
    got.sort();
    assert_eq!(got, want);
    let answer = neutron(
        c,
        Method::GET,
        &neutron::network_tags_path(&id),
        None,
        "network tags",
    )
    .await
    .expect("read tags");
    let mut got = neutron::parse_tags(&text(&answer.body)).expect("parse_tags");
    got.sort();
    assert_eq!(got, want);
    let n = show_network(c, &id).await;
    assert_eq!(n.tag(neutron::TAG_KEY), Some(key.as_str()));
    assert_eq!(n.tag(neutron::TAG_SITE), Some(SITE));
    assert_eq!(n.tag("makonis.order"), Some(key.as_str()));
    assert_eq!(n.idempotency_key(), key);
    // Ports stay DOWN without agents, but the network is ACTIVE.
    assert_eq!(n.status, NetworkStatus::Active);

    // Found again by name and key.
    let answer = neutron(
        c,
        Method::GET,
        &neutron::networks_named_path(&key),
        None,
        "networks by name",
    )
    .await
    .expect("networks by name");
    let list = neutron::parse_networks(&text(&answer.body)).expect("parse_networks");
    assert_eq!(list.next, None);
    assert_eq!(list.networks.len(), 1, "{list:?}");
    let found = neutron::find_network_by_key(&list.networks, &key).expect("found by key");
    assert_eq!(found.id, id);
    assert!(neutron::find_network_by_key(&list.networks, "t-neutron-someone-else").is_none());

    // Without a subnet it is no place for a server, unless named.
    let err = neutron::pick_network(&list.networks, &project, None).expect_err("no subnet yet");
    let DriverError::Refused(m) = &err else {
        panic!("pick without a subnet: {err:?}")
    };
    assert!(
        m.contains("none is ACTIVE, up, not external and with a subnet"),
        "{m}"
    );
    let named = neutron::pick_network(&list.networks, &project, Some(&id)).expect("named");
    assert_eq!(named.id, id);

    // An IPv4 subnet (the module has no subnet body; this is the minimal one).
    let s = suffix();
    let (a, b) = (
        u8::from_str_radix(&s[..2], 16).expect("hex") % 200 + 16,
        u8::from_str_radix(&s[2..4], 16).expect("hex"),
    );
    let prefix = format!("10.{a}.{b}.");
    let cidr = format!("{prefix}0/24");
    let answer = neutron(
        c,
        Method::POST,
        "/v2.0/subnets",
        Some(&json!({"subnet": {
            "network_id": id, "ip_version": 4, "cidr": cidr, "name": key}})),
        "subnet",
    )
    .await
    .expect("create subnet");
    assert_eq!(answer.status, StatusCode::CREATED);
    let subnet = neutron::parse_subnet(&text(&answer.body)).expect("parse the create answer");
    let answer = neutron(
        c,
        Method::GET,
        &neutron::subnets_of_network_path(&id),
        None,
        "subnets",
    )
    .await
    .expect("subnets");
    let subnets = neutron::parse_subnets(&text(&answer.body)).expect("parse_subnets");
    assert_eq!(subnets, vec![subnet.clone()]);
    assert_eq!(subnet.cidr, cidr);
    assert_eq!(subnet.ip_version, 4);
    assert_eq!(subnet.gateway_ip, Some(format!("{prefix}1")));
    assert_eq!(subnet.network_id, id);
    assert_eq!(subnet.name, key);
    assert!(subnet.enable_dhcp);
    assert_eq!(subnet.project_id.as_deref(), Some(project.as_str()));

    // A port on it, for a made-up device (nothing binds it: no agents).
    let device = uuid::Uuid::new_v4().to_string();
    let answer = neutron(
        c,
        Method::POST,
        "/v2.0/ports",
        Some(&json!({"port": {"network_id": id, "name": key, "device_id": device}})),
        "port",
    )
    .await
    .expect("create port");
    assert_eq!(answer.status, StatusCode::CREATED);
    let made = neutron::parse_ports(&json!({"ports": [answer.body["port"]]}).to_string())
        .expect("the create answer's port parses");
    let answer = neutron(
        c,
        Method::GET,
        &neutron::ports_of_device_path(&device),
        None,
        "ports",
    )
    .await
    .expect("ports of the device");
    let ports = neutron::parse_ports(&text(&answer.body)).expect("parse_ports");
    assert_eq!(ports, made);
    let [port] = ports.as_slice() else {
        panic!("one port: {ports:?}")
    };
    assert_eq!(port.status, "DOWN");
    assert_eq!(port.network_id, id);
    assert_eq!(port.device_id, device);
    assert_eq!(port.device_owner, "");
    assert_eq!(port.project_id.as_deref(), Some(project.as_str()));
    assert_eq!(port.mac_address.len(), 17, "{port:?}");
    let [ip] = port.fixed_ips.as_slice() else {
        panic!("one fixed IP: {port:?}")
    };
    assert_eq!(ip.subnet_id, subnet.id);
    assert!(ip.ip_address.starts_with(&prefix), "{ip:?} in {cidr}");
    assert_ne!(Some(&ip.ip_address), subnet.gateway_ip.as_ref());

    // Now it has a subnet, pick_network takes it or another usable one.
    let n = show_network(c, &id).await;
    assert_eq!(n.subnets, vec![subnet.id.clone()]);
    let answer = neutron(c, Method::GET, neutron::NETWORKS_PATH, None, "networks")
        .await
        .expect("networks");
    let all = neutron::parse_networks(&text(&answer.body)).expect("parse_networks");
    assert!(all.networks.iter().any(|x| x.id == id));
    let picked = neutron::pick_network(&all.networks, &project, None).expect("a usable network");
    assert_eq!(picked.status, NetworkStatus::Active);
    assert!(!picked.subnets.is_empty() && !picked.router_external);
    let only = neutron::pick_network(std::slice::from_ref(&n), &project, None).expect("picked");
    assert_eq!(only.id, id);

    // Quotas, with usage.
    let answer = neutron(
        c,
        Method::GET,
        &neutron::quota_path(&project),
        None,
        "quota",
    )
    .await
    .expect("quota");
    let quota = neutron::parse_quota(&text(&answer.body)).expect("parse_quota");
    let answer = neutron(
        c,
        Method::GET,
        &neutron::quota_details_path(&project),
        None,
        "quota details",
    )
    .await
    .expect("quota details");
    let details = neutron::parse_quota_details(&text(&answer.body)).expect("parse_quota_details");
    for resource in ["network", "subnet", "port"] {
        let d = details
            .get(resource)
            .unwrap_or_else(|| panic!("{resource} in {details:?}"));
        assert!(d.used >= 1, "{resource}: {d:?}");
        assert_eq!(Some(d.limit), quota.limit(resource), "{resource}");
        if d.limit >= 0 {
            assert_eq!(d.free(), Some((d.limit - d.used - d.reserved).max(0)));
        } else {
            assert_eq!(d.free(), None);
        }
    }
    assert!(details.get("floatingip").is_none(), "no L3 plugin here");

    // Deletes, in order; then the network is gone.
    for (path, what) in [
        (format!("/v2.0/ports/{}", port.id), "port"),
        (format!("/v2.0/subnets/{}", subnet.id), "subnet"),
        (neutron::network_path(&id), "network"),
    ] {
        let answer = neutron(c, Method::DELETE, &path, None, what)
            .await
            .unwrap_or_else(|e| panic!("delete {what}: {e:?}"));
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{what}");
    }
    let err = neutron(c, Method::GET, &neutron::network_path(&id), None, "network")
        .await
        .expect_err("gone");
    let DriverError::NotFound(m) = &err else {
        panic!("show after delete: {err:?}")
    };
    assert!(m.contains(&id), "{m}");
}

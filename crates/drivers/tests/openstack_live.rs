//! The OpenStack driver against the real OpenStack on 127.0.0.1
//! (`scripts/peers/openstack-up`: Keystone, Nova with the fake virt
//! driver, Placement, Glance). Skipped with a message when the peer is not
//! running, unless `MAKONIS_REQUIRE_PEERS=1`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use makonis_drivers::openstack::{LocalPeer, OpenStackConfig, OpenStackDriver};
use makonis_drivers::{Driver, DriverError, ResourceSpec, ResourceStatus};
use makonis_types::catalogue::OfferingKind;

fn driver(peer: &LocalPeer) -> OpenStackDriver {
    OpenStackDriver::new(peer.config("LVRTC").expect("config")).expect("driver")
}

fn key(test: &str) -> String {
    format!(
        "t-{test}-{}",
        &uuid::Uuid::now_v7().simple().to_string()[20..]
    )
}

fn spec(key: &str, flavour: &str, quantity: i64) -> ResourceSpec {
    ResourceSpec {
        idempotency_key: key.into(),
        site: "Zaķusala".into(),
        kind: OfferingKind::Vm,
        offering: flavour.into(),
        quantity,
        tags: BTreeMap::from([("makonis.order".to_owned(), key.to_owned())]),
    }
}

async fn until_active(d: &OpenStackDriver, id: &str) -> makonis_drivers::Resource {
    for _ in 0..240 {
        let r = d.get(id).await.expect("get").expect("exists");
        match r.status {
            ResourceStatus::Active => return r,
            ResourceStatus::Error => panic!("{id} went into error: {r:?}"),
            ResourceStatus::Building => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    panic!("{id} not active after 120 s");
}

async fn until_gone(d: &OpenStackDriver, id: &str) {
    for _ in 0..240 {
        if d.get(id).await.expect("get").is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{id} still listed after 120 s");
}

#[tokio::test]
async fn flavours_become_offerings_with_capacity() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    let d = driver(&peer);
    let offerings = d.offerings().await.expect("offerings");
    let tiny = offerings
        .iter()
        .find(|o| o.name == "m1.tiny")
        .expect("m1.tiny");
    assert_eq!(
        (tiny.kind, tiny.vcpu, tiny.ram_mb, tiny.storage_gb),
        (OfferingKind::Vm, 1, 512, 1)
    );
    assert_eq!(tiny.provider_ref, "1");
    let large = offerings
        .iter()
        .find(|o| o.name == "m1.large")
        .expect("m1.large");
    assert_eq!((large.vcpu, large.ram_mb), (4, 8192));
    // The project's quota (4 TB RAM) allows at most 512 more m1.large.
    let room = large.capacity_units.expect("capacity from the quota");
    assert!(room > 0 && room <= 512, "m1.large room {room}");
    let capacity = d.capacity().await.expect("capacity");
    assert_eq!(capacity.len(), 1);
    assert_eq!(capacity[0].site, "RegionOne");
    assert!(capacity[0].free_units > 0 && capacity[0].free_units <= capacity[0].total_units);
}

#[tokio::test]
async fn a_group_of_servers_is_created_once_resized_and_deleted() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    let d = driver(&peer);
    let key = key("group");
    let made = d.create(&spec(&key, "m1.tiny", 2)).await.expect("create");
    assert_eq!(made.id, key);
    assert_eq!(made.quantity, 2);
    // A repeated create (a lost answer) returns the same group.
    let again = d
        .create(&spec(&key, "m1.tiny", 2))
        .await
        .expect("create again");
    assert_eq!((again.id.as_str(), again.quantity), (key.as_str(), 2));
    let active = until_active(&d, &key).await;
    assert_eq!(active.offering, "m1.tiny");
    assert_eq!(active.site, "Zaķusala");
    assert_eq!(active.tags.get("makonis.order"), Some(&key));
    let servers = active.tags.get("openstack.servers").expect("server ids");
    assert_eq!(servers.split(',').count(), 2);
    assert!(d.list().await.expect("list").iter().any(|r| r.id == key));

    let grown = d.resize(&key, 3).await.expect("grow");
    assert_eq!(grown.quantity, 3);
    until_active(&d, &key).await;
    let shrunk = d.resize(&key, 1).await.expect("shrink");
    assert_eq!(shrunk.quantity, 1);
    let same = d.resize(&key, 1).await.expect("same size");
    assert_eq!(same.quantity, 1);

    d.delete(&key).await.expect("delete");
    assert!(d.find(&key).await.expect("find").is_none());
    d.delete(&key).await.expect("deleting again succeeds");
    until_gone(&d, &key).await;
    assert!(!d.list().await.expect("list").iter().any(|r| r.id == key));
}

#[tokio::test]
async fn usage_counts_whole_hours_per_group() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    let d = driver(&peer);
    let key = key("usage");
    d.create(&spec(&key, "m1.small", 2)).await.expect("create");
    let active = until_active(&d, &key).await;
    let ids: Vec<&str> = active.tags["openstack.servers"].split(',').collect();
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts");
    assert_eq!(peer.backdate(&scripts, 3, &ids).expect("backdate"), 2);
    let since = chrono::Utc::now() - chrono::Duration::hours(6);
    let usage = d.usage_since(since).await.expect("usage");
    let mine: Vec<_> = usage.iter().filter(|u| u.idempotency_key == key).collect();
    // Launched three hours ago (minutes past an hour): two whole clock hours
    // at least, each with both servers.
    assert!(mine.len() >= 2, "{mine:?}");
    assert!(
        mine.iter()
            .all(|u| u.quantity == 2 && u.metric == "instance_hour" && u.resource_id == key)
    );
    d.delete(&key).await.expect("delete");
    // After the delete the hours stay: Nova keeps the name of a deleted server.
    let after = d.usage_since(since).await.expect("usage after delete");
    assert_eq!(
        after.iter().filter(|u| u.idempotency_key == key).count(),
        mine.len()
    );
}

#[tokio::test]
async fn over_quota_is_a_clear_refusal_and_creates_nothing() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    let d = driver(&peer);
    let key = key("quota");
    // 1000 m1.large need 8 TB of RAM; the project's quota is 4 TB.
    let err = d
        .create(&spec(&key, "m1.large", 1000))
        .await
        .expect_err("over quota");
    let DriverError::Refused(message) = &err else {
        panic!("expected a refusal, got {err:?}")
    };
    assert!(message.contains("LVRTC: over quota"), "{message}");
    assert!(
        message.contains("Quota exceeded for") && message.contains("ram"),
        "{message}"
    );
    assert!(d.find(&key).await.expect("find").is_none());
}

#[tokio::test]
async fn bad_registrations_and_requests_are_named() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    let mut credentials = peer.credentials();
    credentials["application_credential_secret"] = "wrong".into();
    let wrong = OpenStackDriver::new(
        OpenStackConfig::from_provider("LVRTC", Some(peer.auth_url()), &credentials)
            .expect("config"),
    )
    .expect("driver");
    let err = wrong.list().await.expect_err("wrong secret");
    assert!(matches!(err, DriverError::Unauthorized(_)), "{err:?}");
    assert!(
        err.to_string().contains(
            "LVRTC: Keystone at http://127.0.0.1:5000/v3 rejected application credential"
        ),
        "{err}"
    );

    let mut credentials = peer.credentials();
    credentials["region"] = "RegionRiga".into();
    let region = OpenStackDriver::new(
        OpenStackConfig::from_provider("LVRTC", Some(peer.auth_url()), &credentials)
            .expect("config"),
    )
    .expect("driver");
    let err = region.offerings().await.expect_err("unknown region");
    assert!(
        err.to_string().contains(
            "region 'RegionRiga' is not in the service catalogue (regions there: RegionOne)"
        ),
        "{err}"
    );

    let d = driver(&peer);
    let err = d
        .create(&spec(&key("flavour"), "m1.huge", 1))
        .await
        .expect_err("unknown flavour");
    assert!(
        err.to_string().contains("flavour 'm1.huge' does not exist"),
        "{err}"
    );
    assert!(
        err.to_string().contains("m1.tiny"),
        "lists what exists: {err}"
    );

    // Nothing listens on port 9: the provider is unreachable, and says so.
    let down = OpenStackDriver::new(
        OpenStackConfig::from_provider("LAD", Some("http://127.0.0.1:9/v3"), &peer.credentials())
            .expect("config"),
    )
    .expect("driver");
    let err = down.list().await.expect_err("unreachable");
    assert!(matches!(err, DriverError::Unavailable(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("LAD: keystone at http://127.0.0.1:9/v3/auth/tokens could not be reached"),
        "{err}"
    );
}

/// Needs no OpenStack: a "Keystone" that accepts connections and never
/// answers.
#[tokio::test]
async fn a_provider_that_does_not_answer_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let _silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let credentials = serde_json::json!({
        "application_credential_id": "id",
        "application_credential_secret": "secret",
        "region": "RegionOne",
        "timeout_seconds": 0.3,
    });
    let d = OpenStackDriver::new(
        OpenStackConfig::from_provider(
            "LNB",
            Some(&format!("http://127.0.0.1:{port}/v3")),
            &credentials,
        )
        .expect("config"),
    )
    .expect("driver");
    let started = std::time::Instant::now();
    let err = d.list().await.expect_err("no answer");
    assert_eq!(err, DriverError::Timeout);
    assert!(err.is_transient(), "the saga may ask again");
    // One try: authentication is a POST and is not retried blindly.
    assert_eq!(d.api_calls(), 1);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn the_token_is_reused() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    let d = driver(&peer);
    d.list().await.expect("first list");
    // A token, the compute version document, then the listing itself.
    let first = d.api_calls();
    let token = d.current_token().await.expect("a token");
    d.list().await.expect("second list");
    let second = d.api_calls() - first;
    assert_eq!(second, first - 2, "no new token, no new version document");
    d.offerings().await.expect("offerings");
    assert_eq!(d.current_token().await.as_deref(), Some(token.as_str()));
}

/// Renewal needs a service that rejects a token Keystone issued. Nova's
/// auth middleware caches validated tokens for minutes, so revoking one
/// in the live Keystone does not reach Nova in a test's time; this checks
/// the driver's side with a minimal OpenStack on a local socket that
/// rejects the first token once.
#[tokio::test]
async fn a_rejected_token_is_renewed_once() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let catalog = serde_json::json!({"token": {
        "expires_at": "2099-01-01T00:00:00Z",
        "project": {"id": "p1"},
        "catalog": [{"type": "compute", "endpoints": [
            {"interface": "public", "region_id": "RegionOne", "url": format!("{base}/compute")}]}]
    }})
    .to_string();
    let server = tokio::spawn(async move {
        let mut tokens = 0;
        let mut requests = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = vec![0u8; 65536];
            let n = socket.read(&mut buffer).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buffer[..n]).to_string();
            let line = request.lines().next().unwrap_or_default().to_owned();
            let token = request
                .lines()
                .find_map(|l| l.strip_prefix("x-auth-token: "))
                .unwrap_or_default()
                .to_owned();
            let (status, headers, body) = if line.starts_with("POST /v3/auth/tokens") {
                tokens += 1;
                (
                    "201 Created",
                    format!("X-Subject-Token: token-{tokens}\r\n"),
                    catalog.clone(),
                )
            } else if token == "token-1" && line.contains("/servers") {
                ("401 Unauthorized", String::new(), r#"{"error": {"message": "The request you have made requires authentication."}}"#.to_owned())
            } else if line.starts_with("GET /compute/ ") {
                (
                    "200 OK",
                    String::new(),
                    r#"{"version": {"version": "2.93", "min_version": "2.1"}}"#.to_owned(),
                )
            } else {
                ("200 OK", String::new(), r#"{"servers": []}"#.to_owned())
            };
            requests.push(format!("{line} [{token}]"));
            let response = format!(
                "HTTP/1.1 {status}\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            if requests.len() == 5 {
                return requests;
            }
        }
        requests
    });
    let credentials = serde_json::json!({
        "application_credential_id": "id",
        "application_credential_secret": "secret",
        "region": "RegionOne",
    });
    let d = OpenStackDriver::new(
        OpenStackConfig::from_provider("LNB", Some(&format!("{base}/v3")), &credentials)
            .expect("config"),
    )
    .expect("driver");
    assert!(d.list().await.expect("list after renewal").is_empty());
    assert_eq!(d.current_token().await.as_deref(), Some("token-2"));
    let requests = server.await.expect("server");
    let calls: Vec<&str> = requests
        .iter()
        .map(|r| r.split(" HTTP").next().unwrap_or(r))
        .collect();
    assert_eq!(
        calls,
        [
            "POST /v3/auth/tokens",
            "GET /compute/",
            "GET /compute/servers/detail?limit=1000",
            "POST /v3/auth/tokens",
            "GET /compute/servers/detail?limit=1000",
        ],
        "{requests:?}"
    );
}

#[tokio::test]
async fn placement_is_read_when_the_credential_may() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    // A project member may not read Placement (its default policy).
    assert_eq!(driver(&peer).placement_room().await.expect("member"), None);
    let admin = peer.admin_credential().await.expect("admin credential");
    let d = OpenStackDriver::new(admin.config("LVRTC").expect("config")).expect("driver");
    let room = d
        .placement_room()
        .await
        .expect("placement")
        .expect("readable by admin");
    // What Placement itself says about the one fake host.
    let providers = peer
        .admin("GET", "placement", "resource_providers", None)
        .await
        .expect("providers");
    let uuid = providers["resource_providers"][0]["uuid"]
        .as_str()
        .expect("a provider")
        .to_owned();
    let inventory = peer
        .admin(
            "GET",
            "placement",
            &format!("resource_providers/{uuid}/inventories"),
            None,
        )
        .await
        .expect("inventories");
    let vcpu = &inventory["inventories"]["VCPU"];
    let expected_total = ((vcpu["total"].as_i64().expect("total")
        - vcpu["reserved"].as_i64().unwrap_or(0)) as f64
        * vcpu["allocation_ratio"].as_f64().unwrap_or(1.0))
    .floor() as i64;
    assert_eq!(
        providers["resource_providers"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(room.vcpu_total, expected_total);
    assert!(
        room.vcpu_free > 0 && room.vcpu_free <= room.vcpu_total,
        "{room:?}"
    );
    assert!(room.ram_free_mb > 0 && room.disk_free_gb > 0, "{room:?}");
    admin.remove_admin_credential().await.expect("cleanup");
}

#[tokio::test]
async fn a_volume_is_created_found_extended_and_deleted_in_cinder() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    let d = driver(&peer);
    let offerings = d.offerings().await.expect("offerings");
    let Some(default) = offerings
        .iter()
        .find(|o| o.kind == OfferingKind::Volume && o.name == "__DEFAULT__")
    else {
        assert_ne!(
            std::env::var("MAKONIS_REQUIRE_PEERS").as_deref(),
            Ok("1"),
            "no Cinder in the catalogue: start scripts/peers/openstack-neutron-cinder up --catalog"
        );
        eprintln!("skipped: no Cinder in the catalogue");
        return;
    };
    assert!(
        default.capacity_units.is_some_and(|gb| gb > 0),
        "{default:?}"
    );
    let key = key("volume");
    let spec = ResourceSpec {
        kind: OfferingKind::Volume,
        ..spec(&key, "__DEFAULT__", 1)
    };
    let made = d.create(&spec).await.expect("create");
    assert_eq!((made.kind, made.quantity), (OfferingKind::Volume, 1));
    assert!(
        uuid::Uuid::parse_str(&made.id).is_ok(),
        "a Cinder id: {}",
        made.id
    );
    let again = d.create(&spec).await.expect("create again");
    assert_eq!(again.id, made.id, "a repeated create finds the volume");
    let active = until_active(&d, &made.id).await;
    assert_eq!(active.site, "Zaķusala");
    assert_eq!(active.tags.get("makonis.order"), Some(&key));
    assert_eq!(
        d.find(&key).await.expect("find").map(|r| r.id),
        Some(made.id.clone())
    );

    let grown = d.resize(&made.id, 2).await.expect("extend");
    assert!(
        grown.quantity == 2 || grown.status == ResourceStatus::Building,
        "{grown:?}"
    );
    let grown = until_active(&d, &made.id).await;
    assert_eq!(grown.quantity, 2);
    let err = d.resize(&made.id, 1).await.expect_err("shrink");
    assert!(err.to_string().contains("cannot shrink"), "{err}");
    assert!(
        d.list()
            .await
            .expect("list")
            .iter()
            .any(|r| r.id == made.id)
    );

    d.delete(&made.id).await.expect("delete");
    until_gone(&d, &made.id).await;
    d.delete(&made.id).await.expect("deleting again succeeds");
    assert!(d.find(&key).await.expect("find").is_none());
}

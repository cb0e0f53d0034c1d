//! End to end on the real OpenStack on 127.0.0.1 (issue #6): a provider
//! registers its cloud → catalogue sync brings in its flavours → an
//! institution orders servers → approvals and agreement → the saga creates
//! them in Nova → ACTIVE → usage is rated into charges → decommission
//! deletes them → Nova no longer lists them. Also: Mākonis killed in the
//! middle of provisioning and restarted leaves no orphan server; Nova's
//! over-quota refusal reaches the order as a clear reason. On SQLite and
//! PostgreSQL. Skipped with a message when the peer is not running, unless
//! `MAKONIS_REQUIRE_PEERS=1`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use makonis_app::secrets::SecretBox;
use makonis_app::{App, OpContext};
use makonis_db::Datastore;
use makonis_drivers::Driver;
use makonis_drivers::openstack::{LocalPeer, OpenStackDriver};
use makonis_types::catalogue::*;
use makonis_types::federation::*;
use makonis_types::metering::Month;
use makonis_types::order::*;

mod world;
use world::*;

const KEY: [u8; 32] = [7; 32];
/// How long an order may take here (the machine is shared).
const LIMIT: Duration = Duration::from_secs(150);

fn secrets() -> SecretBox {
    SecretBox::from_bytes(&KEY)
}

/// Builds are fast with the fake virt driver, but the machine is shared.
fn os_config(state: &Path) -> makonis_app::AppConfig {
    makonis_app::AppConfig {
        provision_timeout: Duration::from_secs(120),
        poll_interval: Duration::from_millis(250),
        ..config(state)
    }
}

struct Cloud {
    world: World,
    offerings: Vec<(String, OfferingId)>,
}

impl Cloud {
    fn offering(&self, name: &str) -> OfferingId {
        self.offerings
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} not synced: {:?}", self.offerings))
            .1
    }
}

/// The sim world's institution, system and people, plus the local
/// OpenStack registered as provider `OS` with its flavours synced and
/// priced. `tag` keeps users apart between engines.
async fn cloud(app: &App, peer: &LocalPeer) -> Cloud {
    let w = world(app, 10).await;
    let sys = OpContext::system("t");
    let provider = app
        .create_provider(
            &sys,
            &ProviderInput {
                name: "Vietējais OpenStack".into(),
                short_name: "OS".into(),
                institution_id: None,
                kind: ProviderKind::State,
                platform: PlatformFamily::OpenStack,
                endpoint: Some(peer.auth_url().to_owned()),
                credentials: Some(peer.credentials()),
            },
        )
        .await
        .unwrap();
    assert!(provider.has_credentials);
    let site = app
        .add_site(
            &sys,
            provider.id,
            &SiteInput {
                name: "RegionOne".into(),
                country: "LV".into(),
                latitude: 56.95,
                longitude: 24.1,
                uptime_tier: 3,
            },
        )
        .await
        .unwrap();
    let report = app
        .sync_catalogue(&w.broker, provider.id, &CatalogueSyncInput::default())
        .await
        .unwrap();
    for flavour in ["m1.tiny", "m1.small", "m1.medium", "m1.large"] {
        assert!(report.added.contains(&flavour.to_owned()), "{report:?}");
        assert!(report.unpriced.contains(&flavour.to_owned()), "{report:?}");
    }
    assert_eq!(report.site_id, Some(site.id));
    let entries = app
        .search_catalogue(
            &w.member,
            &CatalogueFilter {
                provider_id: Some(provider.id),
                ..CatalogueFilter::default()
            },
            chrono::Utc::now().date_naive(),
            makonis_types::paging::PageRequest {
                limit: Some(500),
                offset: None,
            },
        )
        .await
        .unwrap();
    // The flavours, and the volume types when Cinder is in the catalogue
    // (and whatever flavours other tests add to the shared cloud).
    let offerings: Vec<(String, OfferingId)> = entries
        .items
        .iter()
        .map(|e| (e.offering.name.clone(), e.offering.id))
        .collect();
    for flavour in ["m1.tiny", "m1.small", "m1.medium", "m1.large"] {
        assert!(
            offerings.iter().any(|(n, _)| n == flavour),
            "the catalogue shows {flavour}: {offerings:?}"
        );
    }
    let tiny = entries
        .items
        .iter()
        .find(|e| e.offering.name == "m1.tiny")
        .unwrap();
    assert_eq!(
        (
            tiny.offering.vcpu,
            tiny.offering.ram_gb,
            tiny.offering.storage_gb
        ),
        (1, 1, 1)
    );
    assert!(tiny.offering.capacity_units > 0);
    app.create_price_list(
        &sys,
        provider.id,
        &PriceListInput {
            version: "OS-1".into(),
            valid_from: chrono::Utc::now().date_naive() - chrono::Duration::days(2),
            valid_until: None,
            currency: "EUR".into(),
            items: offerings
                .iter()
                .map(|(_, id)| PriceItem {
                    offering_id: *id,
                    unit_price: "0.0125".parse().unwrap(),
                })
                .collect(),
        },
    )
    .await
    .unwrap();
    let again = app
        .sync_catalogue(&w.broker, provider.id, &CatalogueSyncInput::default())
        .await
        .unwrap();
    // (Other tests may add flavours of their own to the shared cloud.)
    assert!(
        !again
            .added
            .iter()
            .chain(&again.unpriced)
            .any(|n| n.starts_with("m1.")),
        "{again:?}"
    );
    Cloud {
        world: World {
            provider: provider.id,
            offering: offerings[0].1,
            ..w
        },
        offerings,
    }
}

async fn order_signed(app: &App, w: &World, offering: OfferingId, quantity: i64) -> OrderId {
    let id = order_of(app, w, offering, quantity).await;
    agree(app, w, id).await;
    id
}

fn driver(peer: &LocalPeer) -> OpenStackDriver {
    OpenStackDriver::new(peer.config("OS").unwrap()).unwrap()
}

/// Waits until the provider (Nova or Cinder) no longer lists the key.
async fn until_gone_at_provider(d: &OpenStackDriver, key: &str) {
    for _ in 0..300 {
        if d.find(key).await.unwrap().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    panic!("servers of {key} are still in nova");
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

#[tokio::test]
async fn an_order_becomes_servers_in_nova_with_usage_and_is_decommissioned() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    let nova = driver(&peer);
    for (store, state) in engines().await {
        let app = App::new(store.datastore.clone(), secrets(), os_config(state.path()));
        let c = cloud(&app, &peer).await;
        let w = &c.world;
        let id = order_signed(&app, w, c.offering("m1.small"), 2).await;
        let done = outcome_within(&app, w, id, LIMIT).await;
        assert_eq!(
            done.state,
            OrderState::Active,
            "{}: {:?}",
            store.label,
            done.reason
        );

        // Nova has the two servers, ACTIVE, tagged with the order.
        let key = format!("makonis-order-{id}");
        let group = nova.find(&key).await.unwrap().expect("servers in nova");
        assert_eq!(group.quantity, 2, "{}", store.label);
        assert_eq!(group.offering, "m1.small");
        assert_eq!(group.status, makonis_drivers::ResourceStatus::Active);
        assert_eq!(group.tags["makonis.order"], id.to_string());
        let recorded = app.order_resources(&w.member, id).await.unwrap();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].external_id, key);

        // Three hours pass at the provider; usage is collected and rated.
        let servers: Vec<&str> = group.tags["openstack.servers"].split(',').collect();
        assert_eq!(peer.backdate(&scripts(), 3, &servers).unwrap(), 2);
        let collected = app.collect_usage().await.unwrap();
        assert!(collected.failures.is_empty(), "{:?}", collected.failures);
        assert!(collected.charged >= 2, "{}: {collected:?}", store.label);
        let now = chrono::Utc::now();
        let mut months = vec![Month::of(now), Month::of(now - chrono::Duration::hours(3))];
        months.dedup();
        let mut hours = rust_decimal::Decimal::ZERO;
        for month in months {
            let statement = app
                .preview_statement(&w.admin, w.institution, month)
                .await
                .unwrap();
            hours += statement
                .lines
                .iter()
                .filter(|l| l.provider == "OS" && l.service_name == "m1.small")
                .filter_map(|l| l.quantity)
                .sum::<rust_decimal::Decimal>();
        }
        // Two servers for at least two whole hours each.
        assert!(
            hours >= rust_decimal::Decimal::from(4),
            "{}: {hours} instance-hours",
            store.label
        );

        // Decommission deletes them in Nova.
        app.decommission_order(&w.member, id).await.unwrap();
        let gone = wait_within(
            &app,
            w,
            id,
            &[OrderState::Closed, OrderState::Failed],
            LIMIT,
        )
        .await;
        assert_eq!(
            gone.state,
            OrderState::Closed,
            "{}: {:?}",
            store.label,
            gone.reason
        );
        until_gone_at_provider(&nova, &key).await;
        assert!(!nova.list().await.unwrap().iter().any(|r| r.id == key));
    }
}

#[tokio::test]
async fn killed_during_provisioning_and_restarted_leaves_no_orphan() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    let nova = driver(&peer);
    for (store, state) in engines().await {
        let url = store.url.clone();
        let dir = state.path().to_owned();
        let phase_peer = peer.clone();
        // First life: the order is placed and Mākonis dies as soon as Nova
        // has the servers, before it saw them ACTIVE.
        let (id, key) = run_then_crash(move || {
            Box::pin(async move {
                // The saga looks at the new servers once (BUILD), then
                // waits a minute before looking again: the crash lands
                // in that minute, whatever the machine's load.
                let first_life = makonis_app::AppConfig {
                    poll_interval: Duration::from_secs(60),
                    ..os_config(&dir)
                };
                let app = App::new(
                    Datastore::connect(&url).await.unwrap(),
                    secrets(),
                    first_life,
                );
                let c = cloud(&app, &phase_peer).await;
                // The watcher has its token before the order goes out, so
                // it sees the servers the moment Nova lists them, long
                // before the fake hypervisor makes them ACTIVE.
                let nova = driver(&phase_peer);
                nova.find("warm-up").await.unwrap();
                let id = order_signed(&app, &c.world, c.offering("m1.tiny"), 1).await;
                let key = format!("makonis-order-{id}");
                let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
                while nova.find(&key).await.unwrap().is_none() {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "the saga never reached nova"
                    );
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                (id, key)
            })
        });
        // Second life on the same database.
        let app = App::new(store.datastore.clone(), secrets(), os_config(state.path()));
        let w = second_life(&app, ProviderId::new()).await;
        let before = app.get_order(&w.member, id).await.unwrap().order;
        assert_eq!(before.state, OrderState::Provisioning, "{}", store.label);
        assert_eq!(app.resume_sagas().await.unwrap(), 1, "{}", store.label);
        let done = outcome_within(&app, &w, id, LIMIT).await;
        let in_nova = nova.find(&key).await.unwrap();
        match done.state {
            // Finished: exactly the one server, recorded once.
            OrderState::Active => {
                let group = in_nova.expect("the server the order owns");
                assert_eq!(group.quantity, 1, "{}", store.label);
                assert_eq!(app.order_resources(&w.member, id).await.unwrap().len(), 1);
                app.decommission_order(&w.member, id).await.unwrap();
                wait_within(&app, &w, id, &[OrderState::Closed], LIMIT).await;
            }
            // Unwound: nothing may be left in nova.
            _ => assert!(in_nova.is_none(), "{}: orphan {in_nova:?}", store.label),
        }
        until_gone_at_provider(&nova, &key).await;
        assert_eq!(
            app.resume_sagas().await.unwrap(),
            0,
            "{}: the saga is done",
            store.label
        );
    }
}

#[tokio::test]
async fn over_quota_in_nova_fails_the_order_with_a_clear_reason() {
    let Some(shared) = LocalPeer::for_test() else {
        return;
    };
    // Quotas are project-wide: this test gets a project of its own.
    let peer = shared.isolated_project("makonis-quota").await.unwrap();
    let nova = driver(&peer);
    for (store, state) in engines().await {
        peer.set_compute_quota(serde_json::json!({"instances": 10}))
            .await
            .unwrap();
        let app = App::new(store.datastore.clone(), secrets(), os_config(state.path()));
        let c = cloud(&app, &peer).await;
        // The catalogue was synced while the project had room for 10; the
        // provider then cut its quota to 1, as happens between syncs.
        peer.set_compute_quota(serde_json::json!({"instances": 1}))
            .await
            .unwrap();
        let id = order_signed(&app, &c.world, c.offering("m1.tiny"), 3).await;
        let out = outcome_within(&app, &c.world, id, LIMIT).await;
        assert_eq!(out.state, OrderState::Failed, "{}", store.label);
        let reason = out.reason.unwrap_or_default();
        assert!(
            reason.contains("OS: over quota") && reason.contains("Quota exceeded for instances"),
            "{}: {reason}",
            store.label
        );
        assert!(
            nova.find(&format!("makonis-order-{id}"))
                .await
                .unwrap()
                .is_none()
        );
    }
    peer.remove_project().await.unwrap();
}

#[tokio::test]
async fn a_flavour_renamed_or_deleted_at_the_provider_is_reflected_by_sync() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    let (store, state) = engines().await.remove(0);
    let app = App::new(store.datastore.clone(), secrets(), os_config(state.path()));
    let c = cloud(&app, &peer).await;
    let (w, sync) = (&c.world, CatalogueSyncInput::default());
    // The provider's operator adds a flavour of its own, then "renames" it
    // (Nova flavour names are fixed: the same id is deleted and created
    // again with a new name), then deletes it.
    let id = format!("t-{}", uuid::Uuid::now_v7().simple());
    let short = &id[id.len() - 8..];
    let (first, second) = (format!("t{short}.a"), format!("t{short}.b"));
    let flavour = |name: &str| {
        serde_json::json!({"flavor": {"id": id, "name": name, "vcpus": 2, "ram": 3072, "disk": 5,
            "os-flavor-access:is_public": true}})
    };
    peer.admin("POST", "compute", "flavors", Some(flavour(&first)))
        .await
        .unwrap();
    let added = app
        .sync_catalogue(&w.broker, w.provider, &sync)
        .await
        .unwrap();
    assert!(added.added.contains(&first), "{added:?}");
    assert!(added.unpriced.contains(&first), "{added:?}");
    let offering = app
        .search_catalogue(
            &w.member,
            &CatalogueFilter {
                q: Some(first.clone()),
                ..CatalogueFilter::default()
            },
            chrono::Utc::now().date_naive(),
            Default::default(),
        )
        .await
        .unwrap()
        .items
        .remove(0)
        .offering;
    assert_eq!(
        (offering.vcpu, offering.ram_gb, offering.storage_gb),
        (2, 3, 5)
    );

    peer.admin("DELETE", "compute", &format!("flavors/{id}"), None)
        .await
        .unwrap();
    peer.admin("POST", "compute", "flavors", Some(flavour(&second)))
        .await
        .unwrap();
    let renamed = app
        .sync_catalogue(&w.broker, w.provider, &sync)
        .await
        .unwrap();
    assert!(
        renamed.renamed.contains(&Renamed {
            provider_ref: id.clone(),
            from: first.clone(),
            to: second.clone()
        }),
        "{renamed:?}"
    );
    assert!(
        !renamed.added.contains(&second),
        "a rename is not a new offering: {renamed:?}"
    );
    let entry = app
        .offerings_by_id(&w.member, &[offering.id], chrono::Utc::now().date_naive())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(entry.offering.name, second);

    peer.admin("DELETE", "compute", &format!("flavors/{id}"), None)
        .await
        .unwrap();
    let withdrawn = app
        .sync_catalogue(&w.broker, w.provider, &sync)
        .await
        .unwrap();
    assert!(withdrawn.withdrawn.contains(&second), "{withdrawn:?}");
    let entry = app
        .offerings_by_id(&w.member, &[offering.id], chrono::Utc::now().date_naive())
        .await
        .unwrap()
        .remove(0);
    assert!(
        !entry.offering.active,
        "withdrawn offerings are kept, inactive"
    );
    assert_eq!(entry.offering.capacity_units, 0);

    // Only the provider's people and the Broker may sync its catalogue.
    let denied = app
        .sync_catalogue(&w.member, w.provider, &sync)
        .await
        .expect_err("a customer may not sync a provider's catalogue");
    assert!(
        matches!(denied, makonis_app::Error::Forbidden { .. }),
        "{denied:?}"
    );
}

#[tokio::test]
async fn servers_deleted_behind_our_back_are_reported_as_drift() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    let nova = driver(&peer);
    let (store, state) = engines().await.remove(0);
    let app = App::new(store.datastore.clone(), secrets(), os_config(state.path()));
    let c = cloud(&app, &peer).await;
    let w = &c.world;
    let id = order_signed(&app, w, c.offering("m1.tiny"), 1).await;
    let done = outcome_within(&app, w, id, LIMIT).await;
    assert_eq!(done.state, OrderState::Active, "{:?}", done.reason);
    let key = format!("makonis-order-{id}");
    // Someone deletes the server in OpenStack directly.
    nova.delete(&key).await.unwrap();
    let report = app.drift(&w.broker, w.provider).await.unwrap();
    assert_eq!(report.provider, "OS");
    assert!(
        report
            .missing_at_provider
            .iter()
            .any(|d| d.external_id == key),
        "{report:?}"
    );
    // Nothing in Mākonis claims it still runs there: the record is what
    // the drift report lists, and the provider's list does not have it.
    assert!(!nova.list().await.unwrap().iter().any(|r| r.id == key));
}

#[tokio::test]
async fn a_server_that_stays_in_build_is_unwound() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    let nova = driver(&peer);
    let (store, state) = engines().await.remove(0);
    // No time at all to become active: the first look finds it in BUILD.
    let impatient = makonis_app::AppConfig {
        provision_timeout: Duration::ZERO,
        ..os_config(state.path())
    };
    let app = App::new(store.datastore.clone(), secrets(), impatient);
    let c = cloud(&app, &peer).await;
    let id = order_signed(&app, &c.world, c.offering("m1.tiny"), 1).await;
    let out = outcome_within(&app, &c.world, id, LIMIT).await;
    assert_eq!(out.state, OrderState::Failed);
    let reason = out.reason.unwrap_or_default();
    assert!(
        reason.contains("OS: resource makonis-order-")
            && reason.contains("was not active after 0 s"),
        "{reason}"
    );
    // The unwinding deleted what had been started in Nova.
    until_gone_at_provider(&nova, &format!("makonis-order-{id}")).await;
}

#[tokio::test]
async fn a_volume_order_becomes_a_cinder_volume_and_is_decommissioned() {
    let Some(peer) = LocalPeer::for_test() else {
        return;
    };
    let nova = driver(&peer);
    let (store, state) = engines().await.remove(0);
    let app = App::new(store.datastore.clone(), secrets(), os_config(state.path()));
    let c = cloud(&app, &peer).await;
    if !c.offerings.iter().any(|(n, _)| n == "__DEFAULT__") {
        assert_ne!(
            std::env::var("MAKONIS_REQUIRE_PEERS").as_deref(),
            Ok("1"),
            "no Cinder in the catalogue: start scripts/peers/openstack-neutron-cinder up --catalog"
        );
        eprintln!("skipped: no Cinder in the catalogue");
        return;
    }
    let w = &c.world;
    // 5 GB of the default volume type.
    let id = order_signed(&app, w, c.offering("__DEFAULT__"), 5).await;
    let done = outcome_within(&app, w, id, LIMIT).await;
    assert_eq!(done.state, OrderState::Active, "{:?}", done.reason);
    let key = format!("makonis-order-{id}");
    let volume = nova
        .find(&key)
        .await
        .unwrap()
        .expect("the volume in Cinder");
    assert_eq!(
        (volume.kind, volume.quantity, volume.offering.as_str()),
        (OfferingKind::Volume, 5, "__DEFAULT__")
    );
    assert_eq!(volume.tags["makonis.order"], id.to_string());
    let recorded = app.order_resources(&w.member, id).await.unwrap();
    assert_eq!(recorded[0].external_id, volume.id);

    app.decommission_order(&w.member, id).await.unwrap();
    let closed = wait_within(
        &app,
        w,
        id,
        &[OrderState::Closed, OrderState::Failed],
        LIMIT,
    )
    .await;
    assert_eq!(closed.state, OrderState::Closed, "{:?}", closed.reason);
    until_gone_at_provider(&nova, &key).await;
}

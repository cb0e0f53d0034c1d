//! The simulator behaves like a provider: idempotent creates, finite
//! capacity, provisioning delay, persisted state, injected faults, usage.

use std::collections::BTreeMap;
use std::time::Duration;

use makonis_drivers::sim::{Faults, SimConfig, SimDriver, backdate};
use makonis_drivers::{Driver, DriverError, ResourceSpec, ResourceStatus};
use makonis_types::catalogue::OfferingKind;

fn spec(key: &str, quantity: i64) -> ResourceSpec {
    ResourceSpec {
        idempotency_key: key.into(),
        site: "Zaķusala".into(),
        kind: OfferingKind::Vm,
        offering: "m1.medium".into(),
        quantity,
        tags: BTreeMap::from([("order".to_owned(), key.to_owned())]),
    }
}

fn driver(dir: &tempfile::TempDir, delay_ms: u64, capacity: i64) -> SimDriver {
    SimDriver::new(
        dir.path().join("sim.json"),
        SimConfig {
            provisioning_delay: Duration::from_millis(delay_ms),
            capacity_per_site: capacity,
        },
    )
}

#[tokio::test]
async fn creates_are_idempotent_and_become_active_after_the_delay() {
    let dir = tempfile::tempdir().unwrap();
    let sim = driver(&dir, 300, 10);
    let first = sim.create(&spec("order-1", 2)).await.unwrap();
    assert_eq!(first.status, ResourceStatus::Building);
    let again = sim.create(&spec("order-1", 2)).await.unwrap();
    assert_eq!(again.id, first.id, "a repeated key must not create twice");
    assert_eq!(sim.list().await.unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        sim.get(&first.id).await.unwrap().unwrap().status,
        ResourceStatus::Active
    );
    // State survives a restart of the driver.
    let reopened = driver(&dir, 300, 10);
    assert_eq!(
        reopened.find("order-1").await.unwrap().unwrap().id,
        first.id
    );
    reopened.delete(&first.id).await.unwrap();
    reopened.delete(&first.id).await.unwrap();
    assert!(reopened.get(&first.id).await.unwrap().is_none());
}

#[tokio::test]
async fn capacity_is_finite_per_site() {
    let dir = tempfile::tempdir().unwrap();
    let sim = driver(&dir, 0, 5);
    sim.create(&spec("a", 3)).await.unwrap();
    let err = sim.create(&spec("b", 3)).await.unwrap_err();
    assert_eq!(
        err,
        DriverError::Refused("site Zaķusala has 2 free units; 3 requested".into())
    );
    let capacity = sim.capacity().await.unwrap();
    assert_eq!((capacity[0].free_units, capacity[0].total_units), (2, 5));
    assert!(matches!(
        sim.create(&spec("c", 0)).await,
        Err(DriverError::Invalid(_))
    ));
}

#[tokio::test]
async fn resizes_are_idempotent_and_bounded_by_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let sim = driver(&dir, 0, 6);
    let r = sim.create(&spec("order-r", 2)).await.unwrap();
    assert_eq!(sim.resize(&r.id, 4).await.unwrap().quantity, 4);
    assert_eq!(
        sim.resize(&r.id, 4).await.unwrap().quantity,
        4,
        "retry is harmless"
    );
    assert_eq!(sim.capacity().await.unwrap()[0].free_units, 2);
    match sim.resize(&r.id, 9).await {
        Err(DriverError::Refused(m)) => assert!(m.contains("2 free units"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(sim.get(&r.id).await.unwrap().unwrap().quantity, 4);
    assert_eq!(sim.resize(&r.id, 1).await.unwrap().quantity, 1);
    assert!(matches!(
        sim.resize(&r.id, 0).await,
        Err(DriverError::Invalid(_))
    ));
    assert!(matches!(
        sim.resize("sim-missing", 2).await,
        Err(DriverError::NotFound(_))
    ));
    sim.inject(Faults {
        refuse: 1,
        ..Faults::default()
    })
    .await
    .unwrap();
    assert!(matches!(
        sim.resize(&r.id, 2).await,
        Err(DriverError::Refused(_))
    ));
    assert_eq!(sim.resize(&r.id, 2).await.unwrap().quantity, 2);
}

#[tokio::test]
async fn injected_faults_behave_like_a_real_cloud() {
    let dir = tempfile::tempdir().unwrap();
    let sim = driver(&dir, 0, 50);
    sim.inject(Faults {
        refuse: 1,
        timeout: 1,
        fail_halfway: 1,
        unavailable: 1,
        unauthorized: 1,
    })
    .await
    .unwrap();
    match sim.list().await {
        Err(DriverError::Unauthorized(m)) => assert!(m.contains("revoked"), "{m}"),
        other => panic!("expected rejected credentials, got {other:?}"),
    }
    assert!(matches!(sim.list().await, Err(DriverError::Unavailable(_))));
    assert!(matches!(
        sim.create(&spec("r", 1)).await,
        Err(DriverError::Refused(_))
    ));
    assert!(
        sim.find("r").await.unwrap().is_none(),
        "a refused create leaves nothing"
    );
    // Half-way: a broken resource stays behind for the caller to clean up.
    assert!(matches!(
        sim.create(&spec("h", 1)).await,
        Err(DriverError::Unavailable(_))
    ));
    assert_eq!(
        sim.find("h").await.unwrap().unwrap().status,
        ResourceStatus::Error
    );
    // Time-out: the resource was made; asking again by key finds it.
    assert_eq!(
        sim.create(&spec("t", 1)).await.unwrap_err(),
        DriverError::Timeout
    );
    let made = sim
        .find("t")
        .await
        .unwrap()
        .expect("created despite the time-out");
    assert_eq!(sim.create(&spec("t", 1)).await.unwrap().id, made.id);
    // Faults are used up.
    assert!(sim.create(&spec("ok", 1)).await.is_ok());
}

#[tokio::test]
async fn usage_counts_whole_hours_while_resources_exist() {
    let dir = tempfile::tempdir().unwrap();
    let sim = driver(&dir, 0, 50);
    let r = sim.create(&spec("u", 2)).await.unwrap();
    backdate(&sim, chrono::Duration::hours(5)).await.unwrap();
    let since = chrono::Utc::now() - chrono::Duration::hours(24);
    let usage = sim.usage_since(since).await.unwrap();
    // Created 5 h ago at some minute: 4 whole clock hours have passed since
    // (5 when it happened exactly on the hour).
    assert!((4..=5).contains(&usage.len()), "{usage:?}");
    assert!(
        usage
            .iter()
            .all(|u| u.resource_id == r.id && u.quantity == 2 && u.metric == "instance_hour")
    );
    assert!(
        usage
            .windows(2)
            .all(|w| w[0].period_end == w[1].period_start)
    );
    sim.delete(&r.id).await.unwrap();
    let later = sim.usage_since(since).await.unwrap();
    assert_eq!(later.len(), usage.len(), "no usage accrues after deletion");
}

#[test]
fn endpoints_configure_the_simulator_and_bad_ones_are_named() {
    let c = SimConfig::from_endpoint(Some("sim://local?delay_ms=20&capacity=7")).unwrap();
    assert_eq!(
        (c.provisioning_delay, c.capacity_per_site),
        (Duration::from_millis(20), 7)
    );
    assert_eq!(
        SimConfig::from_endpoint(None).unwrap(),
        SimConfig::default()
    );
    let err = SimConfig::from_endpoint(Some("sim://x?speed=9"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown setting 'speed'"), "{err}");
    let err = SimConfig::from_endpoint(Some("sim://x?capacity=lots"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("capacity must be a whole number"), "{err}");
    assert!(SimConfig::from_endpoint(Some("https://keystone")).is_err());
}

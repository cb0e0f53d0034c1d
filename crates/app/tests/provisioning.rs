//! Provisioning through the `sim` provider as a persisted saga, on both
//! engines: approval under an active agreement starts it; provider faults
//! unwind it and leave nothing behind; a crash mid-saga is resumed, or
//! unwound, by a fresh App on the same database and provider state.

use std::path::PathBuf;
use std::time::Duration;

use makonis_app::App;
use makonis_app::secrets::SecretBox;
use makonis_db::Datastore;
use makonis_db::testing::TestDatastore;
use makonis_drivers::Driver;
use makonis_drivers::sim::{Faults, break_resource};
use makonis_types::catalogue::*;
use makonis_types::federation::*;
use makonis_types::order::*;

mod world;
use world::*;

#[tokio::test]
async fn an_approved_order_under_a_signed_agreement_becomes_a_resource() {
    for (store, state) in engines().await {
        let app = App::new(
            store.datastore.clone(),
            SecretBox::random(),
            config(state.path()),
        );
        let w = world(&app, 150).await;
        let id = order_and_agree(&app, &w).await;
        let done = wait_for(&app, &w, id, &[OrderState::Active, OrderState::Failed]).await;
        assert_eq!(
            done.state,
            OrderState::Active,
            "{}: {:?}",
            store.label,
            done.reason
        );
        let at_provider = sim(state.path(), w.provider).list().await.unwrap();
        assert_eq!(at_provider.len(), 1, "{}", store.label);
        assert_eq!(at_provider[0].tags["makonis.order"], id.to_string());
        assert_eq!(at_provider[0].quantity, 2);
        let recorded = app.order_resources(&w.member, id).await.unwrap();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].external_id, at_provider[0].id);
        let mut actions = Vec::new();
        app.export_audit_chain(|r| {
            if r.target_id == id.to_string() {
                actions.push(r.action.clone());
            }
            Ok(())
        })
        .await
        .unwrap();
        assert!(
            actions.ends_with(&["order.provisioning".to_owned(), "order.active".to_owned()]),
            "{}: {actions:?}",
            store.label
        );
    }
}

#[tokio::test]
async fn provider_faults_unwind_and_leave_nothing_behind() {
    for (store, state) in engines().await {
        let app = App::new(
            store.datastore.clone(),
            SecretBox::random(),
            config(state.path()),
        );
        let w = world(&app, 50).await;
        // The first order's agreement becomes active; later orders start at once.
        let first = order_and_agree(&app, &w).await;
        wait_for(&app, &w, first, &[OrderState::Active]).await;
        let driver = sim(state.path(), w.provider);

        driver
            .inject(Faults {
                refuse: 1,
                ..Faults::default()
            })
            .await
            .unwrap();
        let refused = order(&app, &w, 1).await;
        let out = failure(&app, &w, refused).await;
        assert_eq!(out.state, OrderState::Failed, "{}", store.label);
        assert!(
            out.reason
                .as_deref()
                .is_some_and(|r| r.contains("SIM") && r.contains("refused")),
            "{:?}",
            out.reason
        );

        // Credentials the provider no longer accepts: the order says so,
        // naming the provider and what was being done.
        driver
            .inject(Faults {
                unauthorized: 1,
                ..Faults::default()
            })
            .await
            .unwrap();
        let rejected = order(&app, &w, 1).await;
        let out = failure(&app, &w, rejected).await;
        assert_eq!(out.state, OrderState::Failed, "{}", store.label);
        assert!(
            out.reason.as_deref().is_some_and(|r| r.contains("SIM")
                && r.contains("rejected the credentials")
                && r.contains("credential was revoked")),
            "{}: {:?}",
            store.label,
            out.reason
        );

        driver
            .inject(Faults {
                fail_halfway: 1,
                ..Faults::default()
            })
            .await
            .unwrap();
        let halfway = order(&app, &w, 1).await;
        assert_eq!(
            wait_for(&app, &w, halfway, &[OrderState::Failed, OrderState::Active])
                .await
                .state,
            OrderState::Failed
        );

        driver
            .inject(Faults {
                timeout: 1,
                ..Faults::default()
            })
            .await
            .unwrap();
        let timed_out = order(&app, &w, 1).await;
        assert_eq!(
            wait_for(
                &app,
                &w,
                timed_out,
                &[OrderState::Failed, OrderState::Active]
            )
            .await
            .state,
            OrderState::Active,
            "{}: a lost answer must be found by its key, not repeated",
            store.label
        );
        // Exactly the two active orders exist at the provider: no orphans.
        let live = driver.list().await.unwrap();
        let mut keys: Vec<_> = live
            .iter()
            .map(|r| r.tags["makonis.order"].clone())
            .collect();
        keys.sort();
        let mut expected = vec![first.to_string(), timed_out.to_string()];
        expected.sort();
        assert_eq!(keys, expected, "{}", store.label);
    }
}

async fn crash_mid_provisioning(
    store: &TestDatastore,
    state: PathBuf,
) -> (OrderId, ProviderId, World) {
    let url = store.url.clone();
    let state_for_phase = state.clone();
    let (id, provider) = run_then_crash(move || {
        Box::pin(async move {
            let app = App::new(
                Datastore::connect(&url).await.unwrap(),
                SecretBox::random(),
                config(&state_for_phase),
            );
            // Slow enough to be caught in the middle.
            let w = world(&app, 60_000).await;
            let id = order_and_agree(&app, &w).await;
            let driver = sim(&state_for_phase, w.provider);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            while driver
                .find(&format!("makonis-order-{id}"))
                .await
                .unwrap()
                .is_none()
            {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the saga never reached the provider"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (id, w.provider)
        })
    });
    // The world's people, looked up again for the second life.
    let app = App::new(store.datastore.clone(), SecretBox::random(), config(&state));
    let w = second_life(&app, provider).await;
    (id, provider, w)
}

#[tokio::test]
async fn a_crash_mid_saga_is_resumed_on_restart() {
    for (store, state) in engines().await {
        let (id, provider, w) = crash_mid_provisioning(&store, state.path().to_owned()).await;
        let app = App::new(
            store.datastore.clone(),
            SecretBox::random(),
            config(state.path()),
        );
        assert_eq!(
            app.get_order(&w.member, id).await.unwrap().order.state,
            OrderState::Provisioning,
            "{}",
            store.label
        );
        // Finish building at the provider while nobody watches, then restart.
        makonis_drivers::sim::backdate(&sim(state.path(), provider), chrono::Duration::minutes(5))
            .await
            .unwrap();
        assert_eq!(app.resume_sagas().await.unwrap(), 1, "{}", store.label);
        let done = wait_for(&app, &w, id, &[OrderState::Active, OrderState::Failed]).await;
        assert_eq!(
            done.state,
            OrderState::Active,
            "{}: {:?}",
            store.label,
            done.reason
        );
        assert_eq!(
            sim(state.path(), provider).list().await.unwrap().len(),
            1,
            "{}: exactly one resource",
            store.label
        );
        assert_eq!(
            app.resume_sagas().await.unwrap(),
            0,
            "{}: the saga is done",
            store.label
        );
    }
}

#[tokio::test]
async fn a_crash_mid_saga_unwinds_on_restart_when_the_resource_broke() {
    for (store, state) in engines().await {
        let (id, provider, w) = crash_mid_provisioning(&store, state.path().to_owned()).await;
        let driver = sim(state.path(), provider);
        assert!(
            break_resource(&driver, &format!("makonis-order-{id}"))
                .await
                .unwrap()
        );
        let app = App::new(
            store.datastore.clone(),
            SecretBox::random(),
            config(state.path()),
        );
        assert_eq!(app.resume_sagas().await.unwrap(), 1);
        let done = failure(&app, &w, id).await;
        assert_eq!(done.state, OrderState::Failed, "{}", store.label);
        assert!(
            done.reason
                .as_deref()
                .is_some_and(|r| r.contains("went into error")),
            "{:?}",
            done.reason
        );
        assert!(
            driver.list().await.unwrap().is_empty(),
            "{}: the undo must delete the resource",
            store.label
        );
    }
}

#[tokio::test]
async fn decommissioning_deletes_at_the_provider_and_closes_the_order() {
    for (store, state) in engines().await {
        let app = App::new(
            store.datastore.clone(),
            SecretBox::random(),
            config(state.path()),
        );
        let w = world(&app, 50).await;
        let id = order_and_agree(&app, &w).await;
        wait_for(&app, &w, id, &[OrderState::Active]).await;
        // Nobody outside the institution's order managers (or the requester) may.
        assert!(
            matches!(
                app.decommission_order(&w.broker, id).await,
                Err(makonis_app::Error::Forbidden { .. })
            ),
            "{}",
            store.label
        );
        app.decommission_order(&w.member, id).await.unwrap();
        let closed = wait_for(&app, &w, id, &[OrderState::Closed, OrderState::Failed]).await;
        assert_eq!(
            closed.state,
            OrderState::Closed,
            "{}: {:?}",
            store.label,
            closed.reason
        );
        assert!(
            sim(state.path(), w.provider)
                .list()
                .await
                .unwrap()
                .is_empty(),
            "{}",
            store.label
        );
        let recorded = app.order_resources(&w.member, id).await.unwrap();
        assert!(
            recorded.iter().all(|r| r.deleted_at.is_some()),
            "{recorded:?}"
        );
        // A closed order cannot be decommissioned again.
        assert!(matches!(
            app.decommission_order(&w.member, id).await,
            Err(makonis_app::Error::Conflict { .. })
        ));
        assert!(app.drift(&w.broker, w.provider).await.unwrap().is_clean());
    }
}

#[tokio::test]
async fn drift_is_reported_both_ways() {
    for (store, state) in engines().await {
        let app = App::new(
            store.datastore.clone(),
            SecretBox::random(),
            config(state.path()),
        );
        let w = world(&app, 20).await;
        let first = order_and_agree(&app, &w).await;
        wait_for(&app, &w, first, &[OrderState::Active]).await;
        let second = order(&app, &w, 1).await;
        wait_for(&app, &w, second, &[OrderState::Active]).await;
        assert!(
            app.drift(&w.broker, w.provider).await.unwrap().is_clean(),
            "{}",
            store.label
        );
        let driver = sim(state.path(), w.provider);
        // Someone deletes one resource at the provider, and creates another by hand.
        let gone = driver
            .find(&format!("makonis-order-{first}"))
            .await
            .unwrap()
            .unwrap();
        driver.delete(&gone.id).await.unwrap();
        let stray = driver
            .create(&makonis_drivers::ResourceSpec {
                idempotency_key: "by-hand".into(),
                site: "Rīga".into(),
                kind: OfferingKind::Vm,
                offering: "m1.small".into(),
                quantity: 1,
                tags: Default::default(),
            })
            .await
            .unwrap();
        assert!(
            break_resource(&driver, &format!("makonis-order-{second}"))
                .await
                .unwrap()
        );
        let report = app.drift(&w.broker, w.provider).await.unwrap();
        assert_eq!(
            report
                .missing_at_provider
                .iter()
                .map(|d| d.external_id.clone())
                .collect::<Vec<_>>(),
            vec![gone.id],
            "{}",
            store.label
        );
        assert_eq!(report.missing_at_provider[0].order_id, Some(first));
        assert_eq!(
            report
                .unknown_at_provider
                .iter()
                .map(|d| d.external_id.clone())
                .collect::<Vec<_>>(),
            vec![stray.id]
        );
        assert_eq!(report.in_error.len(), 1);
        assert_eq!(report.in_error[0].order_id, Some(second));
        // Institution members may not look at the provider's inventory.
        assert!(matches!(
            app.drift(&w.member, w.provider).await,
            Err(makonis_app::Error::Forbidden { .. })
        ));
    }
}

#[tokio::test]
async fn the_drift_reconciler_records_what_it_finds() {
    for (store, state) in engines().await {
        let app = App::new(
            store.datastore.clone(),
            SecretBox::random(),
            config(state.path()),
        );
        let w = world(&app, 20).await;
        let id = order_and_agree(&app, &w).await;
        wait_for(&app, &w, id, &[OrderState::Active]).await;
        let runs = app.reconcile_drift().await.unwrap();
        assert_eq!(
            runs.iter().map(|r| r.outcome.as_str()).collect::<Vec<_>>(),
            ["clean"],
            "{}",
            store.label
        );
        let driver = sim(state.path(), w.provider);
        let r = driver
            .find(&format!("makonis-order-{id}"))
            .await
            .unwrap()
            .unwrap();
        driver.delete(&r.id).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let runs = app.reconcile_drift().await.unwrap();
        assert_eq!(runs[0].outcome, "drift");
        assert!(runs[0].summary.contains(&r.id), "{}", runs[0].summary);
        // Operators see the latest run per provider; members do not.
        let status = app.reconciler_status(&w.broker).await.unwrap();
        assert_eq!(status.len(), 1, "{}", store.label);
        assert_eq!(
            (
                status[0].run.outcome.as_str(),
                status[0].subject_name.as_str()
            ),
            ("drift", "SIM")
        );
        assert!(matches!(
            app.reconciler_status(&w.member).await,
            Err(makonis_app::Error::Forbidden { .. })
        ));
    }
}

/// The `modifying` state: an active order changes size through the
/// `modify-order` saga; an enlargement takes quota and an approver's role,
/// a provider refusal unwinds to the old size, a reduction is self-service.
#[tokio::test]
async fn active_orders_change_size_and_a_refused_change_unwinds() {
    use makonis_app::sagas::modify::ModifyOrderInput;
    for (store, state) in engines().await {
        let app = App::new(
            store.datastore.clone(),
            SecretBox::random(),
            config(state.path()),
        );
        let w = world(&app, 50).await;
        let id = order_and_agree(&app, &w).await;
        let active = wait_for(&app, &w, id, &[OrderState::Active]).await;
        assert_eq!(active.quantity, 2);
        let size = |n| ModifyOrderInput { quantity: n };

        // Enlarging commits money: a plain member may not.
        assert!(
            matches!(
                app.modify_order(&w.member, id, &size(3)).await,
                Err(makonis_app::Error::Forbidden { .. })
            ),
            "{}",
            store.label
        );
        let unchanged = app.modify_order(&w.owner, id, &size(2)).await.unwrap_err();
        assert!(
            matches!(&unchanged, makonis_app::Error::Invalid(f) if f[0].field == "quantity" && f[0].code == "unchanged"),
            "{unchanged:?}"
        );

        app.modify_order(&w.owner, id, &size(3)).await.unwrap();
        let grown = wait_for_size(&app, &w, id, 3).await;
        assert_eq!(grown.state, OrderState::Active, "{}", store.label);
        assert_eq!(
            grown.monthly_estimate,
            active.monthly_estimate * rust_decimal::Decimal::new(15, 1)
        );
        let at_provider = sim(state.path(), w.provider).list().await.unwrap();
        assert_eq!(at_provider[0].quantity, 3, "{}", store.label);

        // Over quota: refused at once, naming the quota; nothing changes.
        app.set_quota(
            &w.broker,
            grown.institution_id,
            &QuotaInput {
                information_system_id: None,
                vcpu: Some(8),
                ram_gb: None,
                storage_gb: None,
                monthly_budget_eur: None,
            },
        )
        .await
        .unwrap();
        let over = app.modify_order(&w.owner, id, &size(5)).await.unwrap_err();
        assert!(
            matches!(&over, makonis_app::Error::Invalid(f) if f[0].code == "quota_exceeded" && f[0].message.contains("vCPU")),
            "{}: {over:?}",
            store.label
        );

        // The provider refuses: the saga unwinds to the old size and says why.
        sim(state.path(), w.provider)
            .inject(Faults {
                refuse: 1,
                ..Faults::default()
            })
            .await
            .unwrap();
        app.modify_order(&w.owner, id, &size(4)).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let unwound = loop {
            let o = app.get_order(&w.member, id).await.unwrap().order;
            if o.reason.as_deref().is_some_and(|r| r.contains("refused")) {
                break o;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: {o:?}",
                store.label
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!((unwound.state, unwound.quantity), (OrderState::Active, 3));
        assert_eq!(unwound.monthly_estimate, grown.monthly_estimate);
        assert!(
            unwound
                .reason
                .unwrap()
                .contains("SIM: resizing the resource")
        );
        assert_eq!(
            sim(state.path(), w.provider).list().await.unwrap()[0].quantity,
            3
        );

        // Smaller is self-service for the requester.
        app.modify_order(&w.member, id, &size(1)).await.unwrap();
        let shrunk = wait_for_size(&app, &w, id, 1).await;
        assert_eq!(shrunk.state, OrderState::Active);
        assert_eq!(
            sim(state.path(), w.provider).list().await.unwrap()[0].quantity,
            1
        );

        let mut actions = Vec::new();
        app.export_audit_chain(|r| {
            if r.target_id == id.to_string() {
                actions.push(r.action.clone());
            }
            Ok(())
        })
        .await
        .unwrap();
        for wanted in [
            "order.modifying",
            "order.modified",
            "order.modify_undone",
            "order.modify_failed",
        ] {
            assert!(
                actions.iter().any(|a| a == wanted),
                "{}: {wanted} missing from {actions:?}",
                store.label
            );
        }
        let notes = app.notifications(&w.member, false).await.unwrap();
        assert!(
            notes.iter().any(|n| n.kind == "order.modify_failed"),
            "{notes:?}"
        );
        assert!(app.drift(&w.broker, w.provider).await.unwrap().is_clean());
    }
}

async fn wait_for_size(app: &App, w: &World, id: OrderId, quantity: i64) -> Order {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let o = app.get_order(&w.member, id).await.unwrap().order;
        if o.quantity == quantity && o.state == OrderState::Active {
            return o;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "order stuck at {} units, {} (wanted {quantity}): {:?}",
            o.quantity,
            o.state,
            o.reason
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

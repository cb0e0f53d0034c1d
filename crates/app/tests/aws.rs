//! End to end on an AWS-compatible cloud (moto_server on 127.0.0.1, issue
//! #6): a commercial provider registers its access key → catalogue sync
//! brings in EC2 instance types → an order for two t3.micro is approved
//! and provisioned as two running instances tagged with the order →
//! decommission terminates them. On SQLite and PostgreSQL. Skipped with a
//! message without moto_server, unless `MAKONIS_REQUIRE_PEERS=1`.

use std::time::Duration;

use makonis_app::secrets::SecretBox;
use makonis_app::{App, OpContext};
use makonis_drivers::Driver;
use makonis_drivers::aws::{AwsConfig, AwsDriver};
use makonis_types::catalogue::*;
use makonis_types::federation::*;
use makonis_types::order::*;

mod world;
use world::*;

#[path = "../../embassy/tests/common/moto.rs"]
#[allow(dead_code)]
mod moto;

fn credentials() -> serde_json::Value {
    serde_json::json!({
        "access_key_id": "testing",
        "secret_access_key": "testing",
        "region": "eu-north-1",
    })
}

#[tokio::test]
async fn an_order_becomes_ec2_instances_and_is_decommissioned() {
    let Some(moto) = moto::start_moto() else {
        return;
    };
    let ec2 =
        AwsDriver::new(AwsConfig::from_provider(Some(&moto.endpoint), &credentials()).unwrap());
    for (store, state) in engines().await {
        let app = App::new(
            store.datastore.clone(),
            SecretBox::random(),
            config(state.path()),
        );
        let w = world(&app, 10).await;
        let sys = OpContext::system("t");
        let provider = app
            .create_provider(
                &sys,
                &ProviderInput {
                    name: "Komerciālais mākonis".into(),
                    short_name: "AWS".into(),
                    institution_id: None,
                    kind: ProviderKind::Commercial,
                    platform: PlatformFamily::AwsCompatible,
                    endpoint: Some(moto.endpoint.clone()),
                    credentials: Some(credentials()),
                },
            )
            .await
            .unwrap();
        app.add_site(
            &sys,
            provider.id,
            &SiteInput {
                name: "eu-north-1".into(),
                country: "SE".into(),
                latitude: 59.33,
                longitude: 18.07,
                uptime_tier: 3,
            },
        )
        .await
        .unwrap();
        let sync = app
            .sync_catalogue(&w.broker, provider.id, &CatalogueSyncInput::default())
            .await
            .unwrap();
        assert!(
            sync.added.contains(&"t3.micro".to_owned()),
            "{}",
            store.label
        );
        assert!(
            sync.added.contains(&"s3-standard".to_owned()),
            "{}",
            store.label
        );
        let today = chrono::Utc::now().date_naive();
        let micro = app
            .search_catalogue(
                &w.member,
                &CatalogueFilter {
                    q: Some("t3.micro".into()),
                    provider_id: Some(provider.id),
                    ..CatalogueFilter::default()
                },
                today,
                Default::default(),
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|e| e.offering.name == "t3.micro")
            .expect("t3.micro in the catalogue")
            .offering;
        assert_eq!((micro.vcpu, micro.ram_gb), (2, 1), "{}", store.label);
        app.create_price_list(
            &sys,
            provider.id,
            &PriceListInput {
                version: "AWS-1".into(),
                valid_from: today - chrono::Duration::days(1),
                valid_until: None,
                currency: "EUR".into(),
                items: vec![PriceItem {
                    offering_id: micro.id,
                    unit_price: "0.0108".parse().unwrap(),
                }],
            },
        )
        .await
        .unwrap();
        let w = World {
            offering: micro.id,
            provider: provider.id,
            ..w
        };
        let id = order_and_agree(&app, &w).await;
        let done = outcome_within(&app, &w, id, Duration::from_secs(90)).await;
        assert_eq!(
            done.state,
            OrderState::Active,
            "{}: {:?}",
            store.label,
            done.reason
        );
        let key = format!("makonis-order-{id}");
        let group = ec2.find(&key).await.unwrap().expect("instances in EC2");
        assert_eq!(
            (group.quantity, group.offering.as_str()),
            (2, "t3.micro"),
            "{}",
            store.label
        );
        assert_eq!(group.tags.get("makonis.order"), Some(&id.to_string()));

        app.decommission_order(&w.member, id).await.unwrap();
        let closed = wait_within(
            &app,
            &w,
            id,
            &[OrderState::Closed, OrderState::Failed],
            Duration::from_secs(90),
        )
        .await;
        assert_eq!(
            closed.state,
            OrderState::Closed,
            "{}: {:?}",
            store.label,
            closed.reason
        );
        assert!(
            ec2.find(&key).await.unwrap().is_none(),
            "{}: still running",
            store.label
        );
    }
}

//! `provision-order`: an approved order becomes resources at its provider.

use std::collections::BTreeMap;
use std::sync::Arc;

use makonis_db::{catalogue, commit, federation, orders as order_store, sagas as store};
use makonis_drivers::{DriverError, ResourceSpec, ResourceStatus};
use makonis_types::order::{OrderId, OrderState};
use steno::{ActionError, ActionFunc};

use crate::audit::{self, Change};
use crate::sagas::{
    Ctx, PROVISION_SAGA, Params, ProvisionSaga, driver_failure, fail, nothing_to_undo, provider_of,
};
use crate::{App, Error, OpContext, Result, now};

impl App {
    /// Starts provisioning an approved order; returns at once, the saga
    /// runs in the background.
    pub async fn start_provisioning(&self, order_id: OrderId) -> Result<String> {
        let (order, offering, site, provider) = {
            let mut conn = self.datastore().conn().await?;
            let order = order_store::get_order(&mut conn, order_id)
                .await?
                .ok_or(Error::NotFound { kind: "order" })?;
            let offering = catalogue::get_offering(&mut conn, order.offering_id)
                .await?
                .ok_or(Error::NotFound { kind: "offering" })?;
            let site = federation::get_site(&mut conn, offering.site_id)
                .await?
                .ok_or(Error::NotFound { kind: "site" })?;
            let provider = federation::get_provider(&mut conn, order.provider_id)
                .await?
                .ok_or(Error::NotFound { kind: "provider" })?;
            (order, offering, site, provider)
        };
        if order.state != OrderState::Approved {
            return Err(Error::Conflict {
                message: format!(
                    "only approved orders are provisioned; this one is {}",
                    order.state
                ),
            });
        }
        self.driver_for(&provider).await?;
        let params = Params {
            order_id,
            provider_id: provider.id,
            spec: ResourceSpec {
                idempotency_key: format!("makonis-order-{order_id}"),
                site: site.name.clone(),
                kind: offering.kind,
                offering: offering.name.clone(),
                quantity: order.quantity,
                tags: BTreeMap::from([
                    ("makonis.order".to_owned(), order_id.to_string()),
                    (
                        "makonis.institution".to_owned(),
                        order.institution_id.to_string(),
                    ),
                    (
                        "makonis.system".to_owned(),
                        order.information_system_id.to_string(),
                    ),
                ]),
            },
            resize: None,
        };
        let actions = actions();
        let steps = [
            ("start", "MarkProvisioning", &actions[0]),
            ("resource", "CreateResource", &actions[1]),
            ("ready", "AwaitReady", &actions[2]),
            ("record", "RecordAndActivate", &actions[3]),
        ];
        let (saga_id, done) = self.launch(PROVISION_SAGA, &steps, &params).await?;
        self.watch(saga_id, order_id, done);
        Ok(saga_id.to_string())
    }
}

impl App {
    pub(super) async fn record_failure(&self, order_id: OrderId, reason: &str) -> Result<()> {
        let mut tx = self.datastore().begin().await?;
        let Some(order) = order_store::get_order(&mut tx, order_id).await? else {
            return Ok(());
        };
        // The `start` step's undo normally set `failed` already; then only the
        // reason is added. A saga that failed before its order moved (say
        // the order was cancelled meanwhile) leaves the order as it is.
        if order.state != OrderState::Failed && !order.state.can_become(OrderState::Failed) {
            return Ok(());
        }
        {
            order_store::transition(
                &mut tx,
                order_id,
                order.state,
                OrderState::Failed,
                Some(reason),
                now(),
            )
            .await?;
            audit::append(
                &mut tx,
                &OpContext::system("provisioning"),
                Change {
                    action: "order.provisioning_failed",
                    target_kind: "order",
                    target_id: order_id.to_string(),
                    target_institution: Some(order.institution_id),
                    before: None,
                    after: Some(serde_json::json!({ "state": "failed", "reason": reason })),
                },
            )
            .await?;
        }
        commit(tx).await?;
        Ok(())
    }
}

pub(crate) fn actions() -> Vec<Arc<dyn steno::Action<ProvisionSaga>>> {
    vec![
        ActionFunc::new_action("provision.start", start, start_undo),
        ActionFunc::new_action("provision.resource", create_resource, delete_resource),
        ActionFunc::new_action("provision.ready", await_ready, nothing_to_undo),
        ActionFunc::new_action("provision.record", record, nothing_to_undo),
    ]
}

async fn start(ctx: Ctx) -> std::result::Result<(), ActionError> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let mut tx = app
        .datastore()
        .begin()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let order = order_store::get_order(&mut tx, p.order_id)
        .await
        .map_err(|e| fail(e.to_string()))?
        .ok_or_else(|| fail("the order is gone"))?;
    match order.state {
        // Re-running after a crash: already done.
        OrderState::Provisioning => return Ok(()),
        OrderState::Approved => {}
        other => return Err(fail(format!("the order is {other}, not approved"))),
    }
    order_store::transition(
        &mut tx,
        p.order_id,
        OrderState::Approved,
        OrderState::Provisioning,
        None,
        now(),
    )
    .await
    .map_err(|e| fail(e.to_string()))?;
    audit::append(
        &mut tx,
        &OpContext::system("provisioning"),
        Change {
            action: "order.provisioning",
            target_kind: "order",
            target_id: p.order_id.to_string(),
            target_institution: Some(order.institution_id),
            before: Some(serde_json::json!({ "state": "approved" })),
            after: Some(serde_json::json!({ "state": "provisioning", "idempotency_key": p.spec.idempotency_key })),
        },
    )
    .await
    .map_err(|e| fail(e.to_string()))?;
    commit(tx).await.map_err(|e| fail(e.to_string()))?;
    Ok(())
}

async fn start_undo(ctx: Ctx) -> std::result::Result<(), anyhow::Error> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let mut tx = app.datastore().begin().await?;
    order_store::transition(
        &mut tx,
        p.order_id,
        OrderState::Provisioning,
        OrderState::Failed,
        Some("provisioning was undone"),
        now(),
    )
    .await?;
    commit(tx).await?;
    Ok(())
}

async fn create_resource(ctx: Ctx) -> std::result::Result<String, ActionError> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let (provider, driver) = provider_of(app, p.provider_id).await?;
    let name = provider.short_name.as_str();
    // After a crash the create may already have happened.
    if let Some(existing) = driver
        .find(&p.spec.idempotency_key)
        .await
        .map_err(|e| driver_failure(name, "looking up the resource", &e))?
        && existing.status != ResourceStatus::Error
    {
        return Ok(existing.id);
    }
    match driver.create(&p.spec).await {
        Ok(resource) => Ok(resource.id),
        Err(DriverError::Timeout) => match driver.find(&p.spec.idempotency_key).await {
            Ok(Some(r)) if r.status != ResourceStatus::Error => Ok(r.id),
            _ => Err(driver_failure(
                name,
                "creating the resource",
                &DriverError::Timeout,
            )),
        },
        Err(e) => {
            // A create that failed half-way leaves a broken resource behind:
            // this step's undo will not run, so clean up here.
            if let Ok(Some(broken)) = driver.find(&p.spec.idempotency_key).await
                && let Err(cleanup) = driver.delete(&broken.id).await
            {
                tracing::error!(resource = %broken.id, %cleanup, "could not delete a half-created resource");
            }
            Err(driver_failure(name, "creating the resource", &e))
        }
    }
}

async fn delete_resource(ctx: Ctx) -> std::result::Result<(), anyhow::Error> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let (_, driver) = provider_of(app, p.provider_id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(resource) = driver.find(&p.spec.idempotency_key).await? {
        driver.delete(&resource.id).await?;
    }
    Ok(())
}

async fn await_ready(ctx: Ctx) -> std::result::Result<(), ActionError> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let id: String = ctx.lookup("resource")?;
    let (provider, driver) = provider_of(app, p.provider_id).await?;
    let deadline = tokio::time::Instant::now() + app.config().provision_timeout;
    loop {
        match driver.get(&id).await {
            Ok(Some(r)) if r.status == ResourceStatus::Active => return Ok(()),
            Ok(Some(r)) if r.status == ResourceStatus::Error => {
                return Err(fail(format!(
                    "{}: resource {id} went into error",
                    provider.short_name
                )));
            }
            Ok(None) => {
                return Err(fail(format!(
                    "{}: resource {id} disappeared while being built",
                    provider.short_name
                )));
            }
            Ok(Some(_)) => {}
            Err(e) if e.is_transient() => {
                tracing::info!(resource = %id, %e, "provider busy; asking again")
            }
            Err(e) => {
                return Err(driver_failure(
                    &provider.short_name,
                    "checking the resource",
                    &e,
                ));
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(fail(format!(
                "{}: resource {id} was not active after {} s",
                provider.short_name,
                app.config().provision_timeout.as_secs()
            )));
        }
        tokio::time::sleep(app.config().poll_interval).await;
    }
}

async fn record(ctx: Ctx) -> std::result::Result<(), ActionError> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let id: String = ctx.lookup("resource")?;
    let step = async {
        let mut tx = app.datastore().begin().await?;
        let order = order_store::get_order(&mut tx, p.order_id)
            .await?
            .ok_or(makonis_db::Error::NotFound)?;
        store::insert_resource(
            &mut tx,
            &store::ResourceRecord {
                id: uuid::Uuid::now_v7().to_string(),
                order_id: p.order_id,
                provider_id: p.provider_id,
                external_id: id.clone(),
                idempotency_key: p.spec.idempotency_key.clone(),
                status: "active".into(),
                created_at: now(),
                deleted_at: None,
            },
        )
        .await?;
        if order.state == OrderState::Provisioning {
            order_store::transition(
                &mut tx,
                p.order_id,
                OrderState::Provisioning,
                OrderState::Active,
                None,
                now(),
            )
            .await?;
            order_store::notify(
                &mut tx,
                order.requester_id,
                "order.active",
                Some(p.order_id),
                None,
                now(),
            )
            .await?;
            audit::append(
                &mut tx,
                &OpContext::system("provisioning"),
                Change {
                    action: "order.active",
                    target_kind: "order",
                    target_id: p.order_id.to_string(),
                    target_institution: Some(order.institution_id),
                    before: Some(serde_json::json!({ "state": "provisioning" })),
                    after: Some(serde_json::json!({ "state": "active", "resource": id })),
                },
            )
            .await
            .map_err(|e| makonis_db::Error::Corrupt(e.to_string()))?;
        }
        commit(tx).await?;
        Ok::<_, makonis_db::Error>(())
    };
    step.await.map_err(|e| fail(e.to_string()))
}

//! `decommission-order`: an active order's resources are deleted at the
//! provider and the order is closed.

use std::collections::BTreeMap;
use std::sync::Arc;

use makonis_db::{commit, federation, orders as order_store, sagas as store};
use makonis_drivers::{DriverError, ResourceSpec};
use makonis_types::order::{OrderId, OrderState};
use steno::{ActionError, ActionFunc};

use crate::audit::{self, Change};
use crate::sagas::{
    Ctx, DECOMMISSION_SAGA, Params, ProvisionSaga, StepFailure, driver_failure, fail,
    nothing_to_undo, provider_of,
};
use crate::{App, Error, OpContext, Result, now};

impl App {
    /// Takes an active order's resources down: active → decommissioning →
    /// (resource deleted at the provider) → closed. The requester or the
    /// institution's order managers may ask.
    pub async fn decommission_order(&self, ctx: &OpContext, order_id: OrderId) -> Result<String> {
        let detail = self.get_order(ctx, order_id).await?;
        let order = detail.order;
        crate::orders::policy::authorize_on_order(ctx, &order, crate::authz::Action::Update)?;
        if !order.state.can_become(OrderState::Decommissioning) {
            return Err(Error::Conflict {
                message: format!("an order that is {} cannot be decommissioned", order.state),
            });
        }
        let provider = {
            let mut conn = self.datastore().conn().await?;
            federation::get_provider(&mut conn, order.provider_id)
                .await?
                .ok_or(Error::NotFound { kind: "provider" })?
        };
        self.driver_for(&provider).await?;
        let params = Params {
            order_id,
            provider_id: provider.id,
            spec: ResourceSpec {
                idempotency_key: format!("makonis-order-{order_id}"),
                site: String::new(),
                kind: makonis_types::catalogue::OfferingKind::Vm,
                offering: String::new(),
                quantity: order.quantity,
                tags: BTreeMap::new(),
            },
            resize: None,
        };
        let actions = actions();
        let steps = [
            ("begin", "MarkDecommissioning", &actions[0]),
            ("delete", "DeleteResource", &actions[1]),
            ("close", "RecordAndClose", &actions[2]),
        ];
        let (saga_id, done) = self.launch(DECOMMISSION_SAGA, &steps, &params).await?;
        let audit_ctx = ctx.clone();
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(e) = done.await.kind {
                let reason = e
                    .error_source
                    .convert::<StepFailure>()
                    .map_or_else(|_| "decommissioning failed".to_owned(), |f| f.message);
                tracing::warn!(%order_id, %reason, "decommissioning unwound");
                let _ = app
                    .note_decommission_failure(&audit_ctx, order_id, &reason)
                    .await;
            }
        });
        Ok(saga_id.to_string())
    }

    async fn note_decommission_failure(
        &self,
        ctx: &OpContext,
        order_id: OrderId,
        reason: &str,
    ) -> Result<()> {
        let mut tx = self.datastore().begin().await?;
        let Some(order) = order_store::get_order(&mut tx, order_id).await? else {
            return Ok(());
        };
        order_store::transition(
            &mut tx,
            order_id,
            order.state,
            order.state,
            Some(reason),
            now(),
        )
        .await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "order.decommission_failed",
                target_kind: "order",
                target_id: order_id.to_string(),
                target_institution: Some(order.institution_id),
                before: None,
                after: Some(serde_json::json!({ "state": order.state, "reason": reason })),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }
}

pub(crate) fn actions() -> Vec<Arc<dyn steno::Action<ProvisionSaga>>> {
    vec![
        ActionFunc::new_action(
            "decommission.begin",
            begin_decommission,
            undo_begin_decommission,
        ),
        // A deletion cannot be undone; it is the step after which nothing fails.
        ActionFunc::new_action("decommission.delete", delete_at_provider, nothing_to_undo),
        ActionFunc::new_action("decommission.close", close_order, nothing_to_undo),
    ]
}

async fn order_transition(
    ctx: &Ctx,
    from: OrderState,
    to: OrderState,
    action: &str,
) -> std::result::Result<(), ActionError> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let step = async {
        let mut tx = app.datastore().begin().await?;
        let order = order_store::get_order(&mut tx, p.order_id)
            .await?
            .ok_or(makonis_db::Error::NotFound)?;
        if order.state == to {
            return Ok(());
        }
        if !order_store::transition(&mut tx, p.order_id, from, to, None, now()).await? {
            return Err(makonis_db::Error::Corrupt(format!(
                "the order is {}, not {from}",
                order.state
            )));
        }
        audit::append(
            &mut tx,
            &OpContext::system("provisioning"),
            Change {
                action,
                target_kind: "order",
                target_id: p.order_id.to_string(),
                target_institution: Some(order.institution_id),
                before: Some(serde_json::json!({ "state": from })),
                after: Some(serde_json::json!({ "state": to })),
            },
        )
        .await
        .map_err(|e| makonis_db::Error::Corrupt(e.to_string()))?;
        commit(tx).await
    };
    step.await.map_err(|e| fail(e.to_string()))
}

async fn begin_decommission(ctx: Ctx) -> std::result::Result<(), ActionError> {
    order_transition(
        &ctx,
        OrderState::Active,
        OrderState::Decommissioning,
        "order.decommissioning",
    )
    .await
}

async fn undo_begin_decommission(ctx: Ctx) -> std::result::Result<(), anyhow::Error> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let mut tx = app.datastore().begin().await?;
    order_store::transition(
        &mut tx,
        p.order_id,
        OrderState::Decommissioning,
        OrderState::Active,
        None,
        now(),
    )
    .await?;
    commit(tx).await?;
    Ok(())
}

async fn delete_at_provider(ctx: Ctx) -> std::result::Result<(), ActionError> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let (provider, driver) = provider_of(app, p.provider_id).await?;
    // Deleting is idempotent at the provider; transient trouble is retried.
    let mut delay = std::time::Duration::from_millis(100);
    for attempt in 1..=5 {
        let result = async {
            if let Some(r) = driver.find(&p.spec.idempotency_key).await? {
                driver.delete(&r.id).await?;
            }
            Ok::<_, DriverError>(())
        };
        match result.await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_transient() && attempt < 5 => {
                tracing::info!(order = %p.order_id, %e, "retrying the deletion");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => {
                return Err(driver_failure(
                    &provider.short_name,
                    "deleting the resource",
                    &e,
                ));
            }
        }
    }
    Err(fail(format!(
        "{}: the resource could not be deleted",
        provider.short_name
    )))
}

async fn close_order(ctx: Ctx) -> std::result::Result<(), ActionError> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    {
        let mut tx = app
            .datastore()
            .begin()
            .await
            .map_err(|e| fail(e.to_string()))?;
        store::mark_resources_deleted(&mut tx, p.order_id, now())
            .await
            .map_err(|e| fail(e.to_string()))?;
        commit(tx).await.map_err(|e| fail(e.to_string()))?;
    }
    order_transition(
        &ctx,
        OrderState::Decommissioning,
        OrderState::Closed,
        "order.closed",
    )
    .await
}

//! Changing the size of an active order: the `modifying` state of the order
//! lifecycle (issue 3 §4), run as the `modify-order` saga so a crash or a
//! provider refusal leaves the order and the resource as they were.
//!
//! Who may change what: making an order smaller is self-service for the
//! requester and the institution's order managers, like decommissioning.
//! Making it larger commits more money, so it takes someone who could have
//! approved it (an IS owner or institution administrator), and only while
//! the enlarged order would still need just that one approval; where the
//! rules demand four eyes (category A, critical infrastructure, above the
//! cost threshold) or the Broker (specialised services), the extra capacity
//! is ordered as a new order and goes through approvals.
//!
//! Steps of `modify-order`:
//! 1. `begin`: active → modifying; an increase takes its quota in the same
//!    transaction, under the quota locks (undo: give it back, → active);
//! 2. `resize`: the provider sets the resource to the new size (undo: set
//!    it back to the old one);
//! 3. `record`: a decrease gives its quota back; → active; the requester is
//!    notified; audited.

use makonis_db::{
    catalogue, commit, federation, orders as store, sagas, systems as information_system,
};
use makonis_drivers::{DriverError, ResourceSpec};
use makonis_types::FieldError;
use makonis_types::order::{ApprovalStep, OrderId, OrderState};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use steno::{ActionError, ActionFunc};

use crate::audit::{self, Change};
use crate::authz::Action;
use crate::orders::holding;
use crate::orders::policy::{authorize_on_order, authorize_step};
use crate::sagas::{
    Ctx, Params, ProvisionSaga, StepFailure, driver_failure, fail, nothing_to_undo, provider_of,
};
use crate::{App, Error, OpContext, Result, now};

pub const MODIFY_SAGA: &str = "modify-order";

/// The new size of an active order.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModifyOrderInput {
    /// Units of the offering's billing unit (instances, GB…), at least 1.
    pub quantity: i64,
}

/// What a `modify-order` saga changes, kept in its parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Resize {
    from: i64,
    to: i64,
    #[serde(with = "rust_decimal::serde::str")]
    from_monthly: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    to_monthly: Decimal,
    /// The provider's id of the resource.
    resource: String,
}

impl App {
    /// Starts changing an active order to `input.quantity` units; returns
    /// the saga id at once, the change runs in the background.
    pub async fn modify_order(
        &self,
        ctx: &OpContext,
        order_id: OrderId,
        input: &ModifyOrderInput,
    ) -> Result<String> {
        let order = self.get_order(ctx, order_id).await?.order;
        let mut v = makonis_types::Validator::new();
        v.range("quantity", input.quantity, 1, 1_000_000);
        v.finish()?;
        let increase = input.quantity > order.quantity;
        if increase {
            authorize_step(
                ctx,
                &[ApprovalStep::Institution],
                order.institution_id,
                "only an IS owner or institution administrator may enlarge an order",
            )?;
        } else {
            authorize_on_order(ctx, &order, Action::Update)?;
        }
        if order.state != OrderState::Active {
            return Err(Error::Conflict {
                message: format!(
                    "only active orders change size; this one is {}",
                    order.state
                ),
            });
        }
        if input.quantity == order.quantity {
            return Err(Error::invalid(
                FieldError::new(
                    "quantity",
                    "unchanged",
                    format!("the order already has {} units", order.quantity),
                )
                .with_param("current", order.quantity),
            ));
        }
        let (offering, system, provider, resource, price) = {
            let mut conn = self.datastore().conn().await?;
            let offering = catalogue::get_offering(&mut conn, order.offering_id)
                .await?
                .ok_or(Error::NotFound { kind: "offering" })?;
            let system = information_system::get(&mut conn, order.information_system_id)
                .await?
                .ok_or(Error::NotFound {
                    kind: "information system",
                })?;
            let provider = federation::get_provider(&mut conn, order.provider_id)
                .await?
                .ok_or(Error::NotFound { kind: "provider" })?;
            let resource = sagas::resources_of_order(&mut conn, order_id)
                .await?
                .into_iter()
                .find(|r| r.deleted_at.is_none())
                .ok_or_else(|| Error::Conflict {
                    message: "the order has no live resource to change".into(),
                })?;
            let price = catalogue::prices_on(&mut conn, chrono::Utc::now().date_naive())
                .await?
                .into_iter()
                .find(|(id, _)| *id == offering.id)
                .map(|(_, p)| p);
            (offering, system, provider, resource, price)
        };
        let price = price.ok_or_else(|| {
            Error::invalid(FieldError::new(
                "quantity",
                "no_price",
                "no price list valid today prices this offering",
            ))
        })?;
        let to_monthly = offering.unit.monthly_cost(price, input.quantity);
        if increase {
            let rule = crate::orders::approval_rule(
                &system,
                &offering,
                to_monthly,
                self.config().four_eyes_threshold_eur,
            );
            if rule.steps.len() > 1 {
                let because = if rule.steps.contains(&ApprovalStep::Broker) {
                    "the Broker's approval".to_owned()
                } else {
                    format!("four eyes ({})", rule.four_eyes_because.join(", "))
                };
                return Err(Error::invalid(
                    FieldError::new(
                        "quantity",
                        "needs_approval",
                        format!(
                            "enlarging this order needs {because}: order the additional capacity as a new order"
                        ),
                    )
                    .with_param("because", rule.four_eyes_because.join(",")),
                ));
            }
            if input.quantity > offering.capacity_units {
                return Err(Error::invalid(
                    FieldError::new(
                        "quantity",
                        "over_capacity",
                        format!(
                            "{} offers at most {} units of {}",
                            provider.short_name, offering.capacity_units, offering.name
                        ),
                    )
                    .with_param("max", offering.capacity_units),
                ));
            }
        }
        if increase {
            // Say "over quota" now rather than from the saga; `begin`
            // checks again under the locks, where it counts.
            let add = growth(&offering, &order_size(&order), input.quantity, to_monthly);
            let mut tx = self.datastore().begin().await?;
            App::check_quota(&mut tx, &order, add, false).await?;
            App::check_quota(&mut tx, &order, add, true).await?;
            drop(tx);
        }
        self.driver_for(&provider).await?;
        let params = Params {
            order_id,
            provider_id: provider.id,
            spec: ResourceSpec {
                idempotency_key: resource.idempotency_key.clone(),
                site: String::new(),
                kind: offering.kind,
                offering: offering.name.clone(),
                quantity: input.quantity,
                tags: Default::default(),
            },
            resize: Some(Resize {
                from: order.quantity,
                to: input.quantity,
                from_monthly: order.monthly_estimate,
                to_monthly,
                resource: resource.external_id,
            }),
        };
        let actions = actions();
        let steps = [
            ("begin", "MarkModifying", &actions[0]),
            ("resize", "ResizeResource", &actions[1]),
            ("record", "RecordAndActivate", &actions[2]),
        ];
        let (saga_id, done) = self.launch(MODIFY_SAGA, &steps, &params).await?;
        let app = self.clone();
        let audit_ctx = ctx.clone();
        tokio::spawn(async move {
            if let Err(e) = done.await.kind {
                let reason = e
                    .error_source
                    .convert::<StepFailure>()
                    .map_or_else(|_| "the change failed".to_owned(), |f| f.message);
                tracing::warn!(%order_id, %reason, "order change unwound");
                if let Err(err) = app.note_modify_failure(&audit_ctx, order_id, &reason).await {
                    tracing::error!(%order_id, %err, "could not record the failed change");
                }
            }
        });
        Ok(saga_id.to_string())
    }

    /// The change was undone: the requester hears why, the chain records it.
    async fn note_modify_failure(
        &self,
        ctx: &OpContext,
        order_id: OrderId,
        reason: &str,
    ) -> Result<()> {
        let mut tx = self.datastore().begin().await?;
        let order = store::get_order(&mut tx, order_id)
            .await?
            .ok_or(Error::NotFound { kind: "order" })?;
        // The order keeps its state; its reason says why the change failed.
        store::transition(
            &mut tx,
            order_id,
            order.state,
            order.state,
            Some(&format!("the change to a new size failed: {reason}")),
            now(),
        )
        .await?;
        store::notify(
            &mut tx,
            order.requester_id,
            "order.modify_failed",
            Some(order_id),
            None,
            now(),
        )
        .await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "order.modify_failed",
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

pub(crate) fn actions() -> Vec<std::sync::Arc<dyn steno::Action<ProvisionSaga>>> {
    vec![
        ActionFunc::new_action("modify.begin", begin, undo_begin),
        ActionFunc::new_action("modify.resize", resize_at_provider, resize_back),
        ActionFunc::new_action("modify.record", record, nothing_to_undo),
    ]
}

fn params(ctx: &Ctx) -> std::result::Result<(Params, Resize), ActionError> {
    let p: Params = ctx.saga_params()?;
    let r = p
        .resize
        .clone()
        .ok_or_else(|| fail("a modify-order saga without its change"))?;
    Ok((p, r))
}

fn order_size(order: &makonis_types::order::Order) -> (i64, Decimal) {
    (order.quantity, order.monthly_estimate)
}

/// What growing from `from` (units, monthly EUR) to `to` adds to quotas.
fn growth(
    offering: &makonis_types::catalogue::Offering,
    from: &(i64, Decimal),
    to: i64,
    to_monthly: Decimal,
) -> store::Holding {
    let old = holding(offering, from.0, from.1);
    let new = holding(offering, to, to_monthly);
    store::Holding {
        vcpu: new.vcpu - old.vcpu,
        ram_gb: new.ram_gb - old.ram_gb,
        storage_gb: new.storage_gb - old.storage_gb,
        monthly_cents: new.monthly_cents - old.monthly_cents,
    }
}

/// Sets the order's size and what it holds, from the offering's figures.
async fn set_size(
    tx: &mut makonis_db::Tx,
    order: &makonis_types::order::Order,
    quantity: i64,
    monthly: Decimal,
) -> makonis_db::Result<()> {
    let offering = catalogue::get_offering(tx, order.offering_id)
        .await?
        .ok_or(makonis_db::Error::NotFound)?;
    store::resize(
        tx,
        order.id,
        quantity,
        monthly,
        holding(&offering, quantity, monthly),
        now(),
    )
    .await
}

async fn begin(ctx: Ctx) -> std::result::Result<(), ActionError> {
    let app = ctx.user_data();
    let (p, r) = params(&ctx)?;
    let step = async {
        let mut tx = app.datastore().begin().await?;
        let order = store::get_order(&mut tx, p.order_id)
            .await?
            .ok_or(Error::NotFound { kind: "order" })?;
        if order.state == OrderState::Modifying {
            return Ok(()); // resumed after a crash: already done
        }
        if order.state != OrderState::Active {
            return Err(Error::Conflict {
                message: format!("the order is {}, not active", order.state),
            });
        }
        if r.to > r.from {
            let offering = catalogue::get_offering(&mut tx, order.offering_id)
                .await?
                .ok_or(Error::NotFound { kind: "offering" })?;
            let add = growth(&offering, &(r.from, r.from_monthly), r.to, r.to_monthly);
            App::check_quota(&mut tx, &order, add, false).await?;
            App::check_quota(&mut tx, &order, add, true).await?;
            set_size(&mut tx, &order, r.to, r.to_monthly).await?;
        }
        store::transition(
            &mut tx,
            p.order_id,
            OrderState::Active,
            OrderState::Modifying,
            None,
            now(),
        )
        .await?;
        audit::append(
            &mut tx,
            &OpContext::system("provisioning"),
            Change {
                action: "order.modifying",
                target_kind: "order",
                target_id: p.order_id.to_string(),
                target_institution: Some(order.institution_id),
                before: Some(serde_json::json!({ "state": "active", "quantity": r.from })),
                after: Some(serde_json::json!({ "state": "modifying", "quantity": r.to })),
            },
        )
        .await?;
        commit(tx).await?;
        Ok::<_, Error>(())
    };
    step.await.map_err(|e| match e {
        Error::Invalid(fields) => fail(
            fields
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => fail(other.to_string()),
    })
}

async fn undo_begin(ctx: Ctx) -> std::result::Result<(), anyhow::Error> {
    let app = ctx.user_data();
    let (p, r) = params(&ctx).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tx = app.datastore().begin().await?;
    let order = store::get_order(&mut tx, p.order_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("order {} vanished", p.order_id))?;
    if order.state == OrderState::Modifying {
        set_size(&mut tx, &order, r.from, r.from_monthly).await?;
        store::transition(
            &mut tx,
            p.order_id,
            OrderState::Modifying,
            OrderState::Active,
            None,
            now(),
        )
        .await?;
        audit::append(
            &mut tx,
            &OpContext::system("provisioning"),
            Change {
                action: "order.modify_undone",
                target_kind: "order",
                target_id: p.order_id.to_string(),
                target_institution: Some(order.institution_id),
                before: Some(serde_json::json!({ "state": "modifying", "quantity": r.to })),
                after: Some(serde_json::json!({ "state": "active", "quantity": r.from })),
            },
        )
        .await?;
    }
    commit(tx).await?;
    Ok(())
}

/// Sets the resource to `quantity`, retrying while the provider is busy
/// (a resize to a stated size is idempotent).
async fn set_at_provider(
    ctx: &Ctx,
    quantity: i64,
) -> std::result::Result<(), (String, DriverError)> {
    let app = ctx.user_data();
    let (p, r) = params(ctx).map_err(|e| (String::new(), DriverError::Invalid(e.to_string())))?;
    let (provider, driver) = provider_of(app, p.provider_id)
        .await
        .map_err(|e| (String::new(), DriverError::Unavailable(e.to_string())))?;
    let mut delay = std::time::Duration::from_millis(100);
    for attempt in 1..=5 {
        match driver.resize(&r.resource, quantity).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_transient() && attempt < 5 => {
                tracing::info!(order = %p.order_id, %e, "provider busy; retrying the resize");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => return Err((provider.short_name, e)),
        }
    }
    Err((provider.short_name, DriverError::Timeout))
}

async fn resize_at_provider(ctx: Ctx) -> std::result::Result<(), ActionError> {
    let (_, r) = params(&ctx)?;
    set_at_provider(&ctx, r.to)
        .await
        .map_err(|(provider, e)| driver_failure(&provider, "resizing the resource", &e))
}

async fn resize_back(ctx: Ctx) -> std::result::Result<(), anyhow::Error> {
    let (_, r) = params(&ctx).map_err(|e| anyhow::anyhow!("{e}"))?;
    set_at_provider(&ctx, r.from)
        .await
        .map_err(|(provider, e)| anyhow::anyhow!("{provider}: resizing back: {e}"))
}

async fn record(ctx: Ctx) -> std::result::Result<(), ActionError> {
    let app = ctx.user_data();
    let (p, r) = params(&ctx)?;
    let step = async {
        let mut tx = app.datastore().begin().await?;
        let order = store::get_order(&mut tx, p.order_id)
            .await?
            .ok_or(makonis_db::Error::NotFound)?;
        if order.state != OrderState::Modifying {
            return Ok(()); // resumed after a crash: already recorded
        }
        if r.to < r.from {
            set_size(&mut tx, &order, r.to, r.to_monthly).await?;
        }
        store::transition(
            &mut tx,
            p.order_id,
            OrderState::Modifying,
            OrderState::Active,
            None,
            now(),
        )
        .await?;
        store::notify(
            &mut tx,
            order.requester_id,
            "order.modified",
            Some(p.order_id),
            None,
            now(),
        )
        .await?;
        audit::append(
            &mut tx,
            &OpContext::system("provisioning"),
            Change {
                action: "order.modified",
                target_kind: "order",
                target_id: p.order_id.to_string(),
                target_institution: Some(order.institution_id),
                before: Some(serde_json::json!({ "quantity": r.from, "monthly_estimate": r.from_monthly })),
                after: Some(serde_json::json!({ "state": "active", "quantity": r.to, "monthly_estimate": r.to_monthly })),
            },
        )
        .await
        .map_err(|e| makonis_db::Error::Corrupt(e.to_string()))?;
        commit(tx).await?;
        Ok::<_, makonis_db::Error>(())
    };
    step.await.map_err(|e| fail(e.to_string()))
}

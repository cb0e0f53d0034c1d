//! The approval chain of an order: who may take each step, four eyes, and
//! the decisions themselves.

use makonis_db::{commit, orders as store};
use makonis_types::FieldError;
use makonis_types::catalogue::{Offering, OfferingKind, ServiceTier};
use makonis_types::information_system::{InformationSystem, SecurityCategory};
use makonis_types::order::*;
use rust_decimal::Decimal;

use super::policy::may_take_step;
use crate::audit::{self, Change};
use crate::authz::{Action, token_permits};
use crate::{Actor, App, Error, OpContext, Result, now};

/// The approval chain for an order.
pub fn approval_rule(
    system: &InformationSystem,
    offering: &Offering,
    monthly: Decimal,
    threshold: Decimal,
) -> ApprovalRule {
    let mut because = Vec::new();
    if system.security_category == SecurityCategory::A {
        because.push("category_a".to_owned());
    }
    if system.critical_infrastructure {
        because.push("critical".to_owned());
    }
    if monthly > threshold {
        because.push("cost".to_owned());
    }
    let four_eyes = !because.is_empty();
    let mut steps = vec![ApprovalStep::Institution];
    if four_eyes {
        steps.push(ApprovalStep::SecondInstitution);
    }
    if offering.tier == ServiceTier::Specialised || offering.kind == OfferingKind::Specialised {
        steps.push(ApprovalStep::Broker);
    }
    ApprovalRule {
        steps,
        four_eyes,
        four_eyes_because: because,
    }
}

impl App {
    /// Orders waiting for a step this person may take.
    pub async fn approvals_inbox(&self, ctx: &OpContext) -> Result<Vec<OrderDetail>> {
        let me = ctx.user().ok_or(Error::Unauthenticated)?.id;
        let waiting = {
            let mut conn = self.datastore().conn().await?;
            store::awaiting_approval(&mut conn).await?
        };
        let mut inbox = Vec::new();
        for order in waiting {
            if order.requester_id == me {
                continue;
            }
            let steps = order.rule.steps.clone();
            if !steps
                .iter()
                .any(|s| may_take_step(ctx, *s, order.institution_id))
            {
                continue;
            }
            let detail = self
                .get_order(&OpContext::system(&ctx.request_id), order.id)
                .await?;
            let decided = detail.approvals.iter().any(|a| a.approver_id == me);
            if !decided
                && detail
                    .pending_steps
                    .iter()
                    .any(|s| may_take_step(ctx, *s, order.institution_id))
            {
                inbox.push(detail);
            }
        }
        Ok(inbox)
    }

    /// Approves or rejects an order. The step taken is the first pending one
    /// the person may take.
    pub async fn decide_order(
        &self,
        ctx: &OpContext,
        id: OrderId,
        input: &DecisionInput,
    ) -> Result<OrderDetail> {
        token_permits(ctx, Action::Update)?;
        let user = match &ctx.actor {
            Actor::User { user, .. } => user.clone(),
            _ => return Err(Error::Unauthenticated),
        };
        let detail = self.get_order(ctx, id).await?;
        let order = &detail.order;
        if order.state != OrderState::Approving {
            return Err(Error::Conflict {
                message: format!("the order is {}, not waiting for approval", order.state),
            });
        }
        if order.requester_id == user.id {
            return Err(Error::forbidden("nobody approves their own order"));
        }
        if detail.approvals.iter().any(|a| a.approver_id == user.id) {
            return Err(Error::forbidden(
                "you have already decided on this order; four eyes need a second, different person",
            ));
        }
        let Some(step) = detail
            .pending_steps
            .iter()
            .copied()
            .find(|s| may_take_step(ctx, *s, order.institution_id))
        else {
            return Err(Error::forbidden(
                "none of the steps this order waits for is yours to take",
            ));
        };
        let reason = input
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        if input.decision == Decision::Reject && reason.is_none() {
            return Err(Error::invalid(
                FieldError::required("reason").with_param("reason", "reject_reason"),
            ));
        }
        if reason.as_deref().is_some_and(|r| r.chars().count() > 2000) {
            return Err(Error::invalid(
                FieldError::new(
                    "reason",
                    "too_long",
                    "reason must be at most 2000 characters",
                )
                .with_param("max", 2000),
            ));
        }
        let at = now();
        let mut tx = self.datastore().begin().await?;
        store::insert_approval(
            &mut tx,
            &Approval {
                order_id: id,
                step,
                approver_id: user.id,
                approver_label: user.email.clone(),
                decision: input.decision,
                reason: reason.clone(),
                decided_at: at,
            },
        )
        .await
        .map_err(|e| match e {
            // Someone took the same step a moment earlier.
            makonis_db::Error::Duplicate { .. } => Error::Conflict {
                message: "this step was just decided by someone else".into(),
            },
            other => other.into(),
        })?;
        let remaining = detail.pending_steps.len() - 1;
        let next_state = match input.decision {
            Decision::Reject => Some(OrderState::Rejected),
            Decision::Approve if remaining == 0 => Some(OrderState::Approved),
            Decision::Approve => None,
        };
        if let Some(next) = next_state {
            if !store::transition(
                &mut tx,
                id,
                OrderState::Approving,
                next,
                reason.as_deref().filter(|_| next == OrderState::Rejected),
                at,
            )
            .await?
            {
                return Err(Error::Conflict {
                    message: "the order changed meanwhile; reload it".into(),
                });
            }
            store::notify(
                &mut tx,
                order.requester_id,
                &format!("order.{next}"),
                Some(id),
                None,
                at,
            )
            .await?;
        }
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: if input.decision == Decision::Approve {
                    "order.approve"
                } else {
                    "order.reject"
                },
                target_kind: "order",
                target_id: id.to_string(),
                target_institution: Some(order.institution_id),
                before: Some(serde_json::json!({ "state": order.state })),
                after: Some(serde_json::json!({
                    "step": step, "decision": input.decision, "reason": reason,
                    "state": next_state.unwrap_or(OrderState::Approving),
                })),
            },
        )
        .await?;
        if next_state == Some(OrderState::Approved) {
            self.attach_agreement(&mut tx, ctx, order).await?;
        }
        commit(tx).await?;
        if next_state == Some(OrderState::Approved) {
            self.provision_if_agreed(id).await;
        }
        self.get_order(ctx, id).await
    }
}

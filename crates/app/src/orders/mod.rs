//! Orders and their approvals, quotas and agreements (REQUIREMENTS FED-4,
//! FED-5, SEC-7, SEC-8).
//!
//! Submitting an order re-checks placement for the system (hard rules never
//! bend, even for a direct API call), works out the approval chain, and
//! checks quotas in the same transaction that records the order: the quota
//! rows are locked first, so concurrent orders against one quota are
//! serialised and can never exceed it.
//!
//! The chain: one approval by an IS owner or institution administrator of
//! the ordering institution; **four eyes** (a second, different person of
//! the institution) for category A or critical-infrastructure systems and for
//! orders above the cost threshold; and the Broker for specialised services.
//! Nobody approves their own order, and nobody decides twice on one order.
//!
//! An approved order attaches to the active agreement between the
//! institution and the provider, or to a draft agreement created for it,
//! which the Broker and the institution then sign.
//!
//! Files: this one places, submits, reads and cancels orders; [`approvals`]
//! the chain and the decisions; [`quotas`] the limits; [`agreements`] the
//! contracts and the start of provisioning; [`notifications`] what people
//! are told.

pub mod agreements;
pub mod approvals;
pub mod notifications;
pub(crate) mod policy;
pub mod quotas;

pub use approvals::approval_rule;
pub(crate) use quotas::holding;

use chrono::NaiveDate;
use makonis_db::{Tx, catalogue, commit, federation, orders as store};
use makonis_types::FieldError;
use makonis_types::catalogue::Offering;
use makonis_types::information_system::Lifecycle;
use makonis_types::order::*;
use makonis_types::paging::{Page, PageRequest};

use crate::audit::{self, Change};
use crate::authz::{Action, Kind, Scope, authorize, readable_institutions};
use crate::catalogue::placement::{self, Candidate, PlacementRequest, SystemProfile};
use crate::{App, Error, OpContext, Result, now};

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

impl App {
    /// Places an order for an information system; with `submit`, sends it
    /// for approval at once.
    pub async fn create_order(
        &self,
        ctx: &OpContext,
        input: &NewOrderInput,
    ) -> Result<OrderDetail> {
        let system = self
            .get_information_system(ctx, input.information_system_id)
            .await?;
        // They can see the system, so "not found" would be untrue.
        authorize(
            ctx,
            Action::Create,
            Kind::Orders,
            Scope::Institution(system.institution_id),
        )
        .map_err(|e| match e {
            Error::NotFound { .. } => {
                Error::forbidden("you may not order for this institution's systems")
            }
            other => other,
        })?;
        let requester = ctx.user().ok_or(Error::Unauthenticated)?.id;
        if system.lifecycle == Lifecycle::Archived {
            return Err(Error::invalid(
                FieldError::new(
                    "information_system_id",
                    "invalid",
                    format!("{} is archived and takes no new orders", system.code),
                )
                .with_param("reason", "archived_system"),
            ));
        }
        let mut v = makonis_types::Validator::new();
        v.range("quantity", input.quantity, 1, 1_000_000);
        let note = v.optional_multiline("note", input.note.as_deref(), 2000);
        v.finish()?;
        let mut tx = self.datastore().begin().await?;
        let offering = catalogue::get_offering(&mut tx, input.offering_id)
            .await?
            .ok_or_else(|| {
                Error::invalid(FieldError::new(
                    "offering_id",
                    "not_found",
                    "no such offering in the catalogue",
                ))
            })?;
        let provider = federation::get_provider(&mut tx, offering.provider_id)
            .await?
            .ok_or(Error::NotFound { kind: "provider" })?;
        let site = federation::get_site(&mut tx, offering.site_id)
            .await?
            .ok_or(Error::NotFound { kind: "site" })?;
        let certifications = federation::list_certifications(&mut tx, Some(provider.id)).await?;
        let price = catalogue::prices_on(&mut tx, today())
            .await?
            .into_iter()
            .find(|(id, _)| *id == offering.id)
            .map(|(_, p)| p);
        // The same hard rules as placement: an order cannot get around them.
        let profile = SystemProfile::of(&system);
        let request = PlacementRequest {
            kind: offering.kind,
            quantity: input.quantity,
            max_monthly_eur: None,
            min_vcpu: None,
            min_ram_gb: None,
        };
        let candidate = Candidate {
            offering: &offering,
            provider: &provider,
            site: &site,
            certifications: &certifications,
            unit_price: price,
        };
        let decision = placement::place(&profile, &request, &[candidate], today());
        if let Some(out) = decision.excluded.first() {
            return Err(Error::invalid(
                FieldError::new(
                    "offering_id",
                    "not_allowed",
                    format!("this system may not use the offering: {}", out.reason),
                )
                .with_param("rule", out.rule.as_str()),
            ));
        }
        let monthly = decision
            .feasible
            .first()
            .map(|f| f.monthly_cost)
            .unwrap_or_default();
        let rule = approval_rule(
            &system,
            &offering,
            monthly,
            self.config().four_eyes_threshold_eur,
        );
        let at = now();
        let order = Order {
            id: OrderId::new(),
            institution_id: system.institution_id,
            information_system_id: system.id,
            offering_id: offering.id,
            provider_id: provider.id,
            quantity: input.quantity,
            requester_id: requester,
            state: OrderState::Draft,
            monthly_estimate: monthly,
            rule,
            agreement_id: None,
            note,
            reason: None,
            created_at: at,
            updated_at: at,
        };
        store::insert_order(&mut tx, &order, holding(&offering, input.quantity, monthly)).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "order.create",
                target_kind: "order",
                target_id: order.id.to_string(),
                target_institution: Some(order.institution_id),
                before: None,
                after: audit::summary(&order),
            },
        )
        .await?;
        if input.submit {
            self.submit_in(&mut tx, ctx, &order, &offering).await?;
        }
        commit(tx).await?;
        self.get_order(ctx, order.id).await
    }

    /// Moves a draft to approval, checking quotas under their locks.
    async fn submit_in(
        &self,
        tx: &mut Tx,
        ctx: &OpContext,
        order: &Order,
        offering: &Offering,
    ) -> Result<()> {
        let add = holding(offering, order.quantity, order.monthly_estimate);
        // Institution first, then system: one lock order everywhere, no deadlocks.
        Self::check_quota(tx, order, add, false).await?;
        Self::check_quota(tx, order, add, true).await?;
        let at = now();
        if !store::transition(
            tx,
            order.id,
            OrderState::Draft,
            OrderState::Submitted,
            None,
            at,
        )
        .await?
            || !store::transition(
                tx,
                order.id,
                OrderState::Submitted,
                OrderState::Approving,
                None,
                at,
            )
            .await?
        {
            return Err(Error::Conflict {
                message: "the order is no longer a draft".into(),
            });
        }
        let mut approvers = Vec::new();
        for role in ["is_owner", "institution_admin"] {
            approvers.extend(store::holders_of(tx, role, Some(order.institution_id)).await?);
        }
        if order.rule.steps.contains(&ApprovalStep::Broker) {
            approvers.extend(store::holders_of(tx, "broker", None).await?);
        }
        approvers.sort();
        approvers.dedup();
        for user in approvers.into_iter().filter(|u| *u != order.requester_id) {
            store::notify(
                tx,
                user,
                "order.awaiting_approval",
                Some(order.id),
                None,
                at,
            )
            .await?;
        }
        audit::append(
            tx,
            ctx,
            Change {
                action: "order.submit",
                target_kind: "order",
                target_id: order.id.to_string(),
                target_institution: Some(order.institution_id),
                before: Some(serde_json::json!({ "state": "draft" })),
                after: Some(serde_json::json!({ "state": "approving", "rule": order.rule })),
            },
        )
        .await?;
        Ok(())
    }

    pub async fn submit_order(&self, ctx: &OpContext, id: OrderId) -> Result<OrderDetail> {
        let detail = self.get_order(ctx, id).await?;
        authorize(
            ctx,
            Action::Create,
            Kind::Orders,
            Scope::Institution(detail.order.institution_id),
        )?;
        if detail.order.state != OrderState::Draft {
            return Err(Error::Conflict {
                message: format!(
                    "only drafts are submitted; this order is {}",
                    detail.order.state
                ),
            });
        }
        let mut tx = self.datastore().begin().await?;
        let offering = catalogue::get_offering(&mut tx, detail.order.offering_id)
            .await?
            .ok_or(Error::NotFound { kind: "offering" })?;
        self.submit_in(&mut tx, ctx, &detail.order, &offering)
            .await?;
        commit(tx).await?;
        self.get_order(ctx, id).await
    }

    pub async fn get_order(&self, ctx: &OpContext, id: OrderId) -> Result<OrderDetail> {
        readable_institutions(ctx, Kind::Orders)?;
        let mut conn = self.datastore().conn().await?;
        let order = store::get_order(&mut conn, id)
            .await?
            .ok_or(Error::NotFound { kind: "order" })?;
        if !crate::authz::can(
            ctx,
            Action::Read,
            Kind::Orders,
            Scope::Institution(order.institution_id),
        ) && ctx.user().is_none_or(|u| u.id != order.requester_id)
        {
            return Err(Error::NotFound { kind: "order" });
        }
        let approvals = store::approvals(&mut conn, id).await?;
        let pending_steps = if order.state == OrderState::Approving {
            order
                .rule
                .steps
                .iter()
                .filter(|s| !approvals.iter().any(|a| a.step == **s))
                .copied()
                .collect()
        } else {
            Vec::new()
        };
        Ok(OrderDetail {
            order,
            approvals,
            pending_steps,
        })
    }

    pub async fn list_orders(
        &self,
        ctx: &OpContext,
        filter: &OrderFilter,
        page: PageRequest,
    ) -> Result<Page<Order>> {
        let visible = readable_institutions(ctx, Kind::Orders)?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::list_orders(&mut conn, visible.as_deref(), filter, None, page).await?)
    }

    /// Withdraws an order that has not been provisioned.
    pub async fn cancel_order(
        &self,
        ctx: &OpContext,
        id: OrderId,
        reason: Option<&str>,
    ) -> Result<OrderDetail> {
        let detail = self.get_order(ctx, id).await?;
        let order = &detail.order;
        policy::authorize_on_order(ctx, order, Action::Update)?;
        if !order.state.can_become(OrderState::Closed) {
            return Err(Error::Conflict {
                message: format!("an order that is {} cannot be cancelled", order.state),
            });
        }
        let mut tx = self.datastore().begin().await?;
        if !store::transition(&mut tx, id, order.state, OrderState::Closed, reason, now()).await? {
            return Err(Error::Conflict {
                message: "the order changed meanwhile; reload it".into(),
            });
        }
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "order.cancel",
                target_kind: "order",
                target_id: id.to_string(),
                target_institution: Some(order.institution_id),
                before: Some(serde_json::json!({ "state": order.state })),
                after: Some(serde_json::json!({ "state": "closed", "reason": reason })),
            },
        )
        .await?;
        commit(tx).await?;
        self.get_order(ctx, id).await
    }
}

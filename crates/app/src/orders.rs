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

use chrono::NaiveDate;
use makonis_db::{Tx, catalogue, commit, federation, orders as store};
use makonis_types::catalogue::{BillingUnit, Offering, OfferingKind, ServiceTier};
use makonis_types::information_system::{InformationSystem, Lifecycle, SecurityCategory};
use makonis_types::order::*;
use makonis_types::paging::{Page, PageRequest};
use makonis_types::roles::Role;
use makonis_types::{FieldError, InstitutionId, UserId};
use rust_decimal::Decimal;

use crate::audit::{self, Change};
use crate::authz::{Action, Kind, Scope, authorize, readable_institutions};
use crate::placement::{self, Candidate, PlacementRequest, SystemProfile};
use crate::{Actor, App, Error, OpContext, Result, now};

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Who may take a step of an order of `institution`.
pub(crate) fn eligible(ctx: &OpContext, step: ApprovalStep, institution: InstitutionId) -> bool {
    match step {
        ApprovalStep::Institution | ApprovalStep::SecondInstitution => {
            ctx.has_institution_role(Role::IsOwner, institution)
                || ctx.has_institution_role(Role::InstitutionAdmin, institution)
        }
        ApprovalStep::Broker => ctx.has_platform_role(Role::Broker),
    }
}

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

/// What one order holds against quotas.
pub(crate) fn holding(offering: &Offering, quantity: i64, monthly: Decimal) -> store::Holding {
    let (vcpu, ram, storage) = match offering.unit {
        BillingUnit::InstanceHour | BillingUnit::UnitMonth => (
            offering.vcpu * quantity,
            offering.ram_gb * quantity,
            offering.storage_gb * quantity,
        ),
        BillingUnit::GbMonth => (0, 0, quantity),
        BillingUnit::PersonHour => (0, 0, 0),
    };
    store::Holding {
        vcpu,
        ram_gb: ram,
        storage_gb: storage,
        monthly_cents: store::cents(monthly),
    }
}

fn quota_error(what: &str, used: i64, limit: i64, requested: i64, scope: &str) -> Error {
    Error::invalid(
        FieldError::new(
            "quantity",
            "quota_exceeded",
            format!("the {scope} quota for {what} is {limit}; {used} are in use and this order needs {requested}"),
        )
        .with_param("what", what)
        .with_param("limit", limit)
        .with_param("used", used)
        .with_param("requested", requested)
        .with_param("scope", scope),
    )
}

impl App {
    /// Checks the scope's quota with its row locked for this transaction.
    pub(crate) async fn check_quota(
        tx: &mut Tx,
        order: &Order,
        add: store::Holding,
        system_scope: bool,
    ) -> Result<()> {
        let system = system_scope.then_some(order.information_system_id);
        let Some(quota) = store::lock_quota(tx, order.institution_id, system).await? else {
            return Ok(());
        };
        let used = store::usage(tx, order.institution_id, system).await?;
        let scope = if system_scope {
            "system"
        } else {
            "institution"
        };
        for (what, limit, used, add) in [
            ("vCPU", quota.vcpu, used.vcpu, add.vcpu),
            ("RAM GB", quota.ram_gb, used.ram_gb, add.ram_gb),
            (
                "storage GB",
                quota.storage_gb,
                used.storage_gb,
                add.storage_gb,
            ),
        ] {
            if let Some(limit) = limit
                && used + add > limit
            {
                return Err(quota_error(what, used, limit, add, scope));
            }
        }
        if let Some(budget) = quota.monthly_budget_eur {
            let limit = store::cents(budget);
            if used.monthly_cents + add.monthly_cents > limit {
                return Err(Error::invalid(
                    FieldError::new(
                        "quantity",
                        "quota_exceeded",
                        format!(
                            "the {scope} monthly budget is {budget} EUR; {} EUR are committed and this order adds {} EUR",
                            Decimal::new(used.monthly_cents, 2),
                            Decimal::new(add.monthly_cents, 2)
                        ),
                    )
                    .with_param("what", "EUR")
                    .with_param("limit", budget)
                    .with_param("used", Decimal::new(used.monthly_cents, 2))
                    .with_param("requested", Decimal::new(add.monthly_cents, 2))
                    .with_param("scope", scope),
                ));
            }
        }
        Ok(())
    }

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
                .any(|s| eligible(ctx, *s, order.institution_id))
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
                    .any(|s| eligible(ctx, *s, order.institution_id))
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
            .find(|s| eligible(ctx, *s, order.institution_id))
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

    /// Attaches an approved order to the parties' active agreement, or to a
    /// draft one (created if needed) that both sides must sign.
    async fn attach_agreement(&self, tx: &mut Tx, ctx: &OpContext, order: &Order) -> Result<()> {
        let day = today();
        let open = store::open_agreements(tx, order.institution_id, order.provider_id).await?;
        let existing = open
            .iter()
            .find(|a| a.covers(day))
            .or_else(|| open.iter().find(|a| a.status == AgreementStatus::Draft));
        let agreement = match existing {
            Some(a) => a.clone(),
            None => {
                let version = catalogue::price_lists(tx, order.provider_id)
                    .await?
                    .into_iter()
                    .find(|l| l.is_valid_on(day))
                    .map(|l| l.version);
                let agreement = Agreement {
                    id: AgreementId::new(),
                    institution_id: order.institution_id,
                    provider_id: order.provider_id,
                    price_list_version: version,
                    scope:
                        "Resources ordered through Mākonis under the provider's price list and SLA"
                            .into(),
                    valid_from: day,
                    valid_until: day + chrono::Duration::days(3 * 365),
                    status: AgreementStatus::Draft,
                    document_ref: None,
                    broker_signed_by: None,
                    broker_signed_at: None,
                    institution_signed_by: None,
                    institution_signed_at: None,
                    reminder_days: 90,
                };
                store::insert_agreement(tx, &agreement, now()).await?;
                let mut signers = store::holders_of(tx, "broker", None).await?;
                signers.extend(
                    store::holders_of(tx, "institution_admin", Some(order.institution_id)).await?,
                );
                for user in signers {
                    store::notify(
                        tx,
                        user,
                        "agreement.to_sign",
                        None,
                        Some(agreement.id),
                        now(),
                    )
                    .await?;
                }
                audit::append(
                    tx,
                    ctx,
                    Change {
                        action: "agreement.draft",
                        target_kind: "agreement",
                        target_id: agreement.id.to_string(),
                        target_institution: Some(order.institution_id),
                        before: None,
                        after: audit::summary(&agreement),
                    },
                )
                .await?;
                agreement
            }
        };
        store::set_agreement(tx, order.id, agreement.id).await?;
        Ok(())
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
        let mine = ctx.user().is_some_and(|u| u.id == order.requester_id);
        if !mine {
            authorize(
                ctx,
                Action::Update,
                Kind::Orders,
                Scope::Institution(order.institution_id),
            )?;
        }
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

    pub async fn set_quota(
        &self,
        ctx: &OpContext,
        institution: InstitutionId,
        input: &QuotaInput,
    ) -> Result<Quota> {
        authorize(
            ctx,
            Action::Update,
            Kind::Quotas,
            Scope::Institution(institution),
        )?;
        let mut v = makonis_types::Validator::new();
        for (field, value) in [
            ("vcpu", input.vcpu),
            ("ram_gb", input.ram_gb),
            ("storage_gb", input.storage_gb),
        ] {
            if let Some(n) = value {
                v.range(field, n, 0, 100_000_000);
            }
        }
        if input.monthly_budget_eur.is_some_and(|b| b < Decimal::ZERO) {
            v.push(
                FieldError::new(
                    "monthly_budget_eur",
                    "out_of_range",
                    "the budget cannot be negative",
                )
                .with_param("min", 0),
            );
        }
        v.finish()?;
        let mut tx = self.datastore().begin().await?;
        if let Some(system) = input.information_system_id
            && makonis_db::information_system::get(&mut tx, system)
                .await?
                .is_none_or(|s| s.institution_id != institution)
        {
            return Err(Error::invalid(FieldError::new(
                "information_system_id",
                "not_found",
                "no such system of this institution",
            )));
        }
        let quota = Quota {
            institution_id: institution,
            information_system_id: input.information_system_id,
            vcpu: input.vcpu,
            ram_gb: input.ram_gb,
            storage_gb: input.storage_gb,
            monthly_budget_eur: input.monthly_budget_eur,
        };
        store::put_quota(&mut tx, &quota).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "quota.set",
                target_kind: "quota",
                target_id: input
                    .information_system_id
                    .map_or_else(|| institution.to_string(), |s| s.to_string()),
                target_institution: Some(institution),
                before: None,
                after: audit::summary(&quota),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(quota)
    }

    /// The institution's quotas with what is in use under each.
    pub async fn quotas(
        &self,
        ctx: &OpContext,
        institution: InstitutionId,
    ) -> Result<Vec<(Quota, QuotaUsage)>> {
        authorize(
            ctx,
            Action::Read,
            Kind::Quotas,
            Scope::Institution(institution),
        )?;
        let mut conn = self.datastore().conn().await?;
        let mut out = Vec::new();
        for q in store::quotas_of(&mut conn, institution).await? {
            let used = store::usage(&mut conn, institution, q.information_system_id).await?;
            out.push((
                q,
                QuotaUsage {
                    vcpu: used.vcpu,
                    ram_gb: used.ram_gb,
                    storage_gb: used.storage_gb,
                    monthly_eur: Decimal::new(used.monthly_cents, 2),
                },
            ));
        }
        Ok(out)
    }

    pub async fn list_agreements(&self, ctx: &OpContext) -> Result<Vec<Agreement>> {
        let visible = readable_institutions(ctx, Kind::Agreements)?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::list_agreements(&mut conn, visible.as_deref()).await?)
    }

    pub async fn get_agreement(&self, ctx: &OpContext, id: AgreementId) -> Result<Agreement> {
        readable_institutions(ctx, Kind::Agreements)?;
        let mut conn = self.datastore().conn().await?;
        let a = store::get_agreement(&mut conn, id)
            .await?
            .ok_or(Error::NotFound { kind: "agreement" })?;
        authorize(
            ctx,
            Action::Read,
            Kind::Agreements,
            Scope::Institution(a.institution_id),
        )?;
        Ok(a)
    }

    /// Agreements whose renewal reminder date has come (FED-5).
    pub async fn agreement_reminders(
        &self,
        ctx: &OpContext,
        day: NaiveDate,
    ) -> Result<Vec<Agreement>> {
        Ok(self
            .list_agreements(ctx)
            .await?
            .into_iter()
            .filter(|a| a.status == AgreementStatus::Active && a.reminder_date() <= day)
            .collect())
    }

    /// Signs an agreement: a broker signs for the Broker, an institution
    /// administrator for the institution. Both signatures make it active.
    pub async fn sign_agreement(
        &self,
        ctx: &OpContext,
        id: AgreementId,
        document_ref: Option<&str>,
    ) -> Result<Agreement> {
        let before = self.get_agreement(ctx, id).await?;
        let user = ctx.user().ok_or(Error::Unauthenticated)?.clone();
        let as_broker = ctx.has_platform_role(Role::Broker);
        let as_institution =
            ctx.has_institution_role(Role::InstitutionAdmin, before.institution_id);
        if !as_broker && !as_institution {
            return Err(Error::forbidden(
                "only a broker or the institution's administrator signs agreements",
            ));
        }
        if before.status != AgreementStatus::Draft {
            return Err(Error::Conflict {
                message: format!(
                    "the agreement is {}, not waiting for signatures",
                    before.status
                ),
            });
        }
        let mut after = before.clone();
        let at = now();
        if as_broker && before.broker_signed_by.is_none() {
            after.broker_signed_by = Some(user.id);
            after.broker_signed_at = Some(at);
        } else if as_institution && before.institution_signed_by.is_none() {
            after.institution_signed_by = Some(user.id);
            after.institution_signed_at = Some(at);
        } else {
            return Err(Error::forbidden(
                "you have no signature left to give on this agreement",
            ));
        }
        if let Some(r) = document_ref.map(str::trim).filter(|r| !r.is_empty()) {
            if r.chars().count() > 200 {
                return Err(Error::invalid(
                    FieldError::new(
                        "document_ref",
                        "too_long",
                        "document_ref must be at most 200 characters",
                    )
                    .with_param("max", 200),
                ));
            }
            after.document_ref = Some(r.to_owned());
        }
        if after.broker_signed_by.is_some() && after.institution_signed_by.is_some() {
            after.status = AgreementStatus::Active;
        }
        let mut tx = self.datastore().begin().await?;
        store::update_agreement(&mut tx, &after, at).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "agreement.sign",
                target_kind: "agreement",
                target_id: id.to_string(),
                target_institution: Some(after.institution_id),
                before: audit::summary(&before),
                after: audit::summary(&after),
            },
        )
        .await?;
        commit(tx).await?;
        if after.status == AgreementStatus::Active {
            let waiting = {
                let mut conn = self.datastore().conn().await?;
                store::orders_waiting_for(&mut conn, id).await?
            };
            for order in waiting {
                self.provision_if_agreed(order.id).await;
            }
        }
        Ok(after)
    }

    /// Starts provisioning an approved order whose agreement is in force.
    /// Failing to start is logged, not fatal: the order stays approved and
    /// can be provisioned later.
    async fn provision_if_agreed(&self, id: OrderId) {
        let ready = async {
            let mut conn = self.datastore().conn().await?;
            let Some(order) = store::get_order(&mut conn, id).await? else {
                return Ok(false);
            };
            let Some(agreement) = order.agreement_id else {
                return Ok(false);
            };
            let in_force = store::get_agreement(&mut conn, agreement)
                .await?
                .is_some_and(|a| a.covers(today()));
            Ok::<_, makonis_db::Error>(order.state == OrderState::Approved && in_force)
        };
        match ready.await {
            Ok(true) => {
                if let Err(e) = self.start_provisioning(id).await {
                    tracing::warn!(order = %id, %e, "provisioning did not start");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(order = %id, %e, "could not check whether to provision"),
        }
    }

    pub async fn notifications(
        &self,
        ctx: &OpContext,
        unread_only: bool,
    ) -> Result<Vec<store::Notification>> {
        let me = ctx.user().ok_or(Error::Unauthenticated)?.id;
        let mut conn = self.datastore().conn().await?;
        Ok(store::notifications(&mut conn, me, unread_only).await?)
    }

    pub async fn mark_notifications_read(&self, ctx: &OpContext) -> Result<u64> {
        let me: UserId = ctx.user().ok_or(Error::Unauthenticated)?.id;
        let mut tx = self.datastore().begin().await?;
        let n = store::mark_read(&mut tx, me, now()).await?;
        commit(tx).await?;
        Ok(n)
    }
}

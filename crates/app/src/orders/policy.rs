//! Who may order, approve, set quotas and sign agreements. Members order for
//! their institution's systems; IS owners and institution administrators
//! decide; the Broker keeps quotas and signs for the Broker.
//!
//! One row per kind and role; a role held within an institution applies
//! there only, one held platform-wide everywhere (see [`crate::authz`]).

use makonis_types::InstitutionId;
use makonis_types::order::{Agreement, ApprovalStep, Order};
use makonis_types::roles::Role;
use makonis_types::roles::Role::*;

use crate::authz::Action::*;
use crate::authz::Kind::*;
use crate::authz::{Action, AreaPolicy, Grant, Kind, Scope, authorize, token_permits};
use crate::{Error, OpContext, Result};

pub(crate) const POLICY: AreaPolicy = AreaPolicy {
    area: "orders",
    kinds: &[Orders, Quotas, Agreements],
    grants: &[
        Grant(Orders, Broker, &[Read]),
        Grant(Orders, InstitutionAdmin, &[Read, Create, Update]),
        Grant(Orders, IsOwner, &[Read, Create, Update]),
        Grant(Orders, Member, &[Read, Create]),
        Grant(Orders, SecurityOfficer, &[Read]),
        Grant(Orders, Auditor, &[Read]),
        Grant(Quotas, Broker, &[Read, Create, Update]),
        Grant(Quotas, InstitutionAdmin, &[Read]),
        Grant(Quotas, IsOwner, &[Read]),
        Grant(Quotas, Member, &[Read]),
        Grant(Quotas, SecurityOfficer, &[Read]),
        Grant(Quotas, Auditor, &[Read]),
        Grant(Agreements, Broker, &[Read, Create, Update]),
        Grant(Agreements, InstitutionAdmin, &[Read, Update]),
        Grant(Agreements, IsOwner, &[Read]),
        Grant(Agreements, Member, &[Read]),
        Grant(Agreements, SecurityOfficer, &[Read]),
        Grant(Agreements, Auditor, &[Read]),
    ],
};

/// Who holds a step of an order of `institution`: an IS owner or the
/// institution's administrator for the institution's steps, a platform
/// broker for the Broker's. This is the person's part only, so the
/// approvals inbox (a read) shows a read-only token what waits for its
/// owner; taking a step goes through [`authorize_step`].
pub(crate) fn may_take_step(
    ctx: &OpContext,
    step: ApprovalStep,
    institution: InstitutionId,
) -> bool {
    match step {
        ApprovalStep::Institution | ApprovalStep::SecondInstitution => {
            ctx.has_institution_role(Role::IsOwner, institution)
                || ctx.has_institution_role(Role::InstitutionAdmin, institution)
        }
        ApprovalStep::Broker => ctx.has_platform_role(Role::Broker),
    }
}

/// Taking one of `steps` of an order of `institution` (approving,
/// rejecting, or enlarging an active order, which needs the institution's
/// approver): the token first, then the first step the person holds.
pub(crate) fn authorize_step(
    ctx: &OpContext,
    steps: &[ApprovalStep],
    institution: InstitutionId,
    refusal: &'static str,
) -> Result<ApprovalStep> {
    token_permits(ctx, Action::Update)?;
    steps
        .iter()
        .copied()
        .find(|step| may_take_step(ctx, *step, institution))
        .ok_or_else(|| Error::forbidden(refusal))
}

/// Acting on an order as its requester, or as whoever may `action` the
/// institution's orders (cancel, decommission, modify).
pub(crate) fn authorize_on_order(ctx: &OpContext, order: &Order, action: Action) -> Result<()> {
    token_permits(ctx, action)?;
    if ctx.user().is_some_and(|u| u.id == order.requester_id) {
        return Ok(());
    }
    authorize(
        ctx,
        action,
        Kind::Orders,
        Scope::Institution(order.institution_id),
    )
}

/// For which sides of an agreement the caller signs: (the Broker, the
/// institution). Neither is a refusal the use case words.
pub(crate) fn signing_sides(ctx: &OpContext, agreement: &Agreement) -> Result<(bool, bool)> {
    token_permits(ctx, Action::Update)?;
    Ok((
        ctx.has_platform_role(Role::Broker),
        ctx.has_institution_role(Role::InstitutionAdmin, agreement.institution_id),
    ))
}

//! Who may see and run the data embassy: cleared custodians, and the
//! protected systems' own institution administrators and owners.
//!
//! One row per kind and role; a role held within an institution applies
//! there only, one held platform-wide everywhere (see [`crate::authz`]).

use makonis_types::InstitutionId;
use makonis_types::embassy::GrantPurpose;
use makonis_types::roles::Role;
use makonis_types::roles::Role::*;

use crate::authz::Action::*;
use crate::authz::Kind::*;
use crate::authz::{Action, AreaPolicy, Grant, Kind, Scope, can, token_permits};
use crate::{OpContext, Result};

pub(crate) const POLICY: AreaPolicy = AreaPolicy {
    area: "embassy",
    kinds: &[Embassy],
    grants: &[
        Grant(Embassy, InstitutionAdmin, &[Read, Create, Update]),
        Grant(Embassy, IsOwner, &[Read, Create, Update]),
        Grant(Embassy, SecurityOfficer, &[Read]),
        Grant(Embassy, Auditor, &[Read]),
        Grant(Embassy, EmbassyCustodian, &[Read, Create, Update]),
    ],
};

/// Whether the caller may ask for a grant on a system of `institution`:
/// whoever may change its embassy records, or a platform security officer.
pub(crate) fn may_request_grant(ctx: &OpContext, institution: InstitutionId) -> Result<bool> {
    token_permits(ctx, Action::Update)?;
    Ok(can(
        ctx,
        Action::Update,
        Kind::Embassy,
        Scope::Institution(institution),
    ) || ctx.has_platform_role(Role::SecurityOfficer))
}

/// Which of a grant's two approvals the caller may give: (a platform
/// embassy custodian's, a platform security officer's).
pub(crate) fn approvals_of(ctx: &OpContext) -> Result<(bool, bool)> {
    token_permits(ctx, Action::Update)?;
    Ok((
        ctx.has_platform_role(Role::EmbassyCustodian),
        ctx.has_platform_role(Role::SecurityOfficer),
    ))
}

/// Using a grant: releasing a key or restoring into production changes
/// what the holder can do outside Mākonis, so a read-only token may not;
/// reading a DR plan under an access grant is a read.
pub(crate) fn may_use_grant(ctx: &OpContext, purpose: GrantPurpose) -> Result<()> {
    match purpose {
        GrantPurpose::Access => token_permits(ctx, Action::Read),
        GrantPurpose::KeyRelease | GrantPurpose::RestoreProduction => {
            token_permits(ctx, Action::Update)
        }
    }
}

//! Who may read and change costs. The Broker imports bills, maps what is
//! unmapped, allocates shared costs, issues statements and keeps the
//! commercial reference prices; a provider's operators import their own
//! provider's bills; an institution administrator reads the institution's
//! costs and sets its budgets.
//!
//! One row per kind and role; a role held within an institution applies
//! there only, one held platform-wide everywhere (see [`crate::authz`]).

use makonis_types::roles::Role::*;

use crate::authz::Action::*;
use crate::authz::Kind::*;
use crate::authz::{AreaPolicy, Grant};

pub(crate) const POLICY: AreaPolicy = AreaPolicy {
    area: "metering",
    kinds: &[Costs],
    grants: &[
        Grant(Costs, Broker, &[Read, Create, Update]),
        Grant(Costs, ProviderOperator, &[Create]),
        Grant(Costs, InstitutionAdmin, &[Read, Update]),
        Grant(Costs, IsOwner, &[Read]),
        Grant(Costs, Member, &[Read]),
        Grant(Costs, SecurityOfficer, &[Read]),
        Grant(Costs, Auditor, &[Read]),
    ],
};

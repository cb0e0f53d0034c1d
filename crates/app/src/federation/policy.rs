//! Who may keep the provider registry: the Broker, and each provider's own
//! operators for their provider (its scope is their institution).
//!
//! One row per kind and role; a role held within an institution applies
//! there only, one held platform-wide everywhere (see [`crate::authz`]).

use makonis_types::roles::Role::*;

use crate::authz::Action::*;
use crate::authz::Kind::*;
use crate::authz::{AreaPolicy, Grant};

pub(crate) const POLICY: AreaPolicy = AreaPolicy {
    area: "federation",
    kinds: &[Providers],
    grants: &[
        Grant(Providers, Broker, &[Read, Create, Update]),
        Grant(Providers, ProviderOperator, &[Read, Create, Update]),
        Grant(Providers, InstitutionAdmin, &[Read]),
        Grant(Providers, IsOwner, &[Read]),
        Grant(Providers, Member, &[Read]),
        Grant(Providers, SecurityOfficer, &[Read]),
        Grant(Providers, Auditor, &[Read]),
    ],
};

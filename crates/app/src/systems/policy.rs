//! Who may read and change the register of information systems.
//!
//! One row per kind and role; a role held within an institution applies
//! there only, one held platform-wide everywhere (see [`crate::authz`]).

use makonis_types::roles::Role::*;

use crate::authz::Action::*;
use crate::authz::Kind::*;
use crate::authz::{AreaPolicy, Grant};

pub(crate) const POLICY: AreaPolicy = AreaPolicy {
    area: "systems",
    kinds: &[InformationSystems],
    grants: &[
        Grant(InformationSystems, Broker, &[Read]),
        Grant(InformationSystems, ProviderOperator, &[Read]),
        Grant(
            InformationSystems,
            InstitutionAdmin,
            &[Read, Create, Update],
        ),
        Grant(InformationSystems, IsOwner, &[Read, Create, Update]),
        Grant(InformationSystems, Member, &[Read]),
        Grant(InformationSystems, SecurityOfficer, &[Read]),
        Grant(InformationSystems, Auditor, &[Read]),
        Grant(InformationSystems, EmbassyCustodian, &[Read]),
    ],
};

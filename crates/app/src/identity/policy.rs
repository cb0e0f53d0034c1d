//! Who may read and change institutions and people.
//!
//! One row per kind and role; a role held within an institution applies
//! there only, one held platform-wide everywhere (see [`crate::authz`]).

use makonis_types::roles::Role::*;

use crate::authz::Action::*;
use crate::authz::Kind::*;
use crate::authz::{AreaPolicy, Grant};

pub(crate) const POLICY: AreaPolicy = AreaPolicy {
    area: "identity",
    kinds: &[Institutions, Users],
    grants: &[
        Grant(Institutions, Broker, &[Read]),
        Grant(Institutions, ProviderOperator, &[Read]),
        Grant(Institutions, InstitutionAdmin, &[Read, Update]),
        Grant(Institutions, IsOwner, &[Read]),
        Grant(Institutions, Member, &[Read]),
        Grant(Institutions, SecurityOfficer, &[Read]),
        Grant(Institutions, Auditor, &[Read]),
        Grant(Institutions, EmbassyCustodian, &[Read]),
        Grant(Users, Broker, &[Read]),
        Grant(Users, ProviderOperator, &[Read]),
        Grant(
            Users,
            InstitutionAdmin,
            &[Read, Create, Update, ManageRoles],
        ),
        Grant(Users, IsOwner, &[Read]),
        Grant(Users, Member, &[Read]),
        Grant(Users, SecurityOfficer, &[Read]),
        Grant(Users, Auditor, &[Read]),
    ],
};

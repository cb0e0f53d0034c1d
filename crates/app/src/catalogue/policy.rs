//! Who may publish offerings and price lists: the Broker, and a provider's
//! operators for their own provider.
//!
//! One row per kind and role; a role held within an institution applies
//! there only, one held platform-wide everywhere (see [`crate::authz`]).

use makonis_types::roles::Role::*;

use crate::authz::Action::*;
use crate::authz::Kind::*;
use crate::authz::{AreaPolicy, Grant};

pub(crate) const POLICY: AreaPolicy = AreaPolicy {
    area: "catalogue",
    kinds: &[Catalogue],
    grants: &[
        Grant(Catalogue, Broker, &[Read, Create, Update]),
        Grant(Catalogue, ProviderOperator, &[Read, Create, Update]),
        Grant(Catalogue, InstitutionAdmin, &[Read]),
        Grant(Catalogue, IsOwner, &[Read]),
        Grant(Catalogue, Member, &[Read]),
        Grant(Catalogue, SecurityOfficer, &[Read]),
        Grant(Catalogue, Auditor, &[Read]),
    ],
};

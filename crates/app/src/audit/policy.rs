//! Who may read the audit chain: auditors and security officers only.
//!
//! One row per kind and role; a role held within an institution applies
//! there only, one held platform-wide everywhere (see [`crate::authz`]).

use makonis_types::roles::Role::*;

use crate::authz::Action::*;
use crate::authz::Kind::*;
use crate::authz::{AreaPolicy, Grant};

pub(crate) const POLICY: AreaPolicy = AreaPolicy {
    area: "audit",
    kinds: &[AuditLog],
    grants: &[
        Grant(AuditLog, SecurityOfficer, &[Read]),
        Grant(AuditLog, Auditor, &[Read]),
    ],
};

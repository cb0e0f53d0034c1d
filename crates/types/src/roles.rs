//! Roles and their scopes (REQUIREMENTS SEC-7, WP-2). A role is held either
//! platform-wide or within one institution; which scopes a role admits, and
//! whether it demands a second factor, is decided here once.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{FieldError, InstitutionId, RoleAssignmentId, UserId, string_enum};

string_enum!(
    /// What a person may do. See `docs/ARCHITECTURE.md` for the policy table.
    Role {
        /// Runs the Mākonis installation.
        PlatformAdmin = "platform_admin",
        /// VDAA: the one-stop shop; sees the whole federation.
        Broker = "broker",
        /// Staff of a provider institution (LVRTC, LNB, IeM IC, LAD…).
        ProviderOperator = "provider_operator",
        /// Manages the users and information systems of one institution.
        InstitutionAdmin = "institution_admin",
        /// Owns (is *pārzinis* of) information systems of an institution.
        IsOwner = "is_owner",
        /// Reads what their institution has.
        Member = "member",
        /// Security supervision (CERT.LV platform-wide, or within an institution).
        SecurityOfficer = "security_officer",
        /// Reads everything in scope, including the audit chain.
        Auditor = "auditor",
        /// Cleared staff operating the data embassy under four eyes.
        EmbassyCustodian = "embassy_custodian",
    }
);

impl Role {
    /// Roles whose holders must use a second factor (issue 2, SEC-5).
    pub fn requires_mfa(self) -> bool {
        matches!(
            self,
            Role::PlatformAdmin | Role::Broker | Role::SecurityOfficer | Role::EmbassyCustodian
        )
    }

    pub fn allows_platform_scope(self) -> bool {
        matches!(
            self,
            Role::PlatformAdmin
                | Role::Broker
                | Role::SecurityOfficer
                | Role::Auditor
                | Role::EmbassyCustodian
        )
    }

    pub fn allows_institution_scope(self) -> bool {
        matches!(
            self,
            Role::ProviderOperator
                | Role::InstitutionAdmin
                | Role::IsOwner
                | Role::Member
                | Role::SecurityOfficer
                | Role::Auditor
        )
    }

    /// Checks that the role may be held in the given scope.
    pub fn check_scope(self, institution: Option<InstitutionId>) -> Result<(), FieldError> {
        match institution {
            None if !self.allows_platform_scope() => Err(FieldError::new(
                "institution_id",
                "required",
                format!("role {self} is held within an institution; institution_id is required"),
            )
            .with_param("reason", "institution_scope")),
            Some(_) if !self.allows_institution_scope() => Err(FieldError::new(
                "institution_id",
                "invalid",
                format!("role {self} is platform-wide; leave institution_id empty"),
            )
            .with_param("reason", "platform_scope")),
            _ => Ok(()),
        }
    }
}

/// One role held by one user, platform-wide (`institution_id` = null) or
/// within one institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoleAssignment {
    pub id: RoleAssignmentId,
    pub user_id: UserId,
    pub role: Role,
    pub institution_id: Option<InstitutionId>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewRoleAssignment {
    pub role: Role,
    /// Empty for platform-wide roles.
    pub institution_id: Option<InstitutionId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_admits_some_scope() {
        for role in Role::ALL {
            assert!(
                role.allows_platform_scope() || role.allows_institution_scope(),
                "{role}"
            );
        }
    }

    #[test]
    fn scope_rules() {
        let inst = InstitutionId::new();
        assert!(Role::PlatformAdmin.check_scope(None).is_ok());
        assert_eq!(
            Role::PlatformAdmin
                .check_scope(Some(inst))
                .unwrap_err()
                .field,
            "institution_id"
        );
        assert!(Role::Member.check_scope(None).is_err());
        assert!(Role::Auditor.check_scope(None).is_ok());
        assert!(Role::Auditor.check_scope(Some(inst)).is_ok());
    }

    #[test]
    fn unknown_role_lists_allowed_values() {
        let err = Role::parse_field("role", "god").unwrap_err();
        assert_eq!(err.code, "invalid_choice");
        assert!(err.message.contains("platform_admin"));
    }
}

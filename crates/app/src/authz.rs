//! The authorisation policy: one place that decides who may do what
//! (REQUIREMENTS SEC-7, FED-8). Resources form a tree: the platform, then
//! institutions, then what belongs to an institution. A decision names an
//! [`Action`] on a [`Kind`] of resource within a [`Scope`]:
//! `Scope::Platform` means "all of them" (list everything, create an
//! institution), `Scope::Institution(id)` means "those of one institution".
//!
//! Roles held platform-wide apply in every scope; roles held within an
//! institution apply only there. A platform admin may do everything.
//!
//! When the actor may not even read what they asked about, the answer is
//! "not found", so one tenant cannot probe for another's records; when they
//! may read it but not change it, the answer is "forbidden".

use makonis_types::InstitutionId;
use makonis_types::roles::Role;
use makonis_types::token::TokenScope;

use crate::{Actor, Error, OpContext, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    Create,
    Update,
    /// Grant and revoke roles.
    ManageRoles,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Institutions,
    InformationSystems,
    Users,
    AuditLog,
    /// The provider registry: providers, sites, certifications.
    Providers,
    /// Offerings and price lists.
    Catalogue,
    Orders,
    Quotas,
    Agreements,
    /// Embassy protections, runs and grants (cleared roles and the
    /// protected systems' owners).
    Embassy,
    /// Usage, charges, statements, budgets (metering and chargeback).
    Costs,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Institutions => "institution",
            Kind::InformationSystems => "information system",
            Kind::Users => "user",
            Kind::AuditLog => "audit log",
            Kind::Providers => "provider",
            Kind::Catalogue => "offering",
            Kind::Orders => "order",
            Kind::Quotas => "quota",
            Kind::Agreements => "agreement",
            Kind::Embassy => "embassy record",
            Kind::Costs => "cost record",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Platform,
    Institution(InstitutionId),
}

/// What a role grants, wherever it is held. Platform admins are handled
/// before this table and may do everything.
fn grants(role: Role, action: Action, kind: Kind) -> bool {
    use Action::*;
    use Kind::*;
    match role {
        Role::PlatformAdmin => true,
        Role::Broker => match kind {
            Institutions | InformationSystems | Users | Orders => action == Read,
            Providers | Catalogue | Quotas | Agreements => matches!(action, Read | Create | Update),
            // Imports bills, maps what is unmapped, allocates shared costs,
            // issues statements, keeps the commercial reference prices.
            Costs => matches!(action, Read | Create | Update),
            AuditLog | Embassy => false,
        },
        Role::Auditor | Role::SecurityOfficer => action == Read,
        Role::EmbassyCustodian => match kind {
            Institutions | InformationSystems => action == Read,
            Costs => false,
            Embassy => matches!(action, Read | Create | Update),
            _ => false,
        },
        Role::InstitutionAdmin => match kind {
            Institutions => matches!(action, Read | Update),
            InformationSystems => matches!(action, Read | Create | Update),
            Users => true,
            AuditLog => false,
            Providers | Catalogue | Quotas => action == Read,
            Orders => matches!(action, Read | Create | Update),
            // Signs agreements for the institution.
            Agreements => matches!(action, Read | Update),
            // Turns embassy protection on for the institution's systems.
            Embassy => matches!(action, Read | Create | Update),
            // Reads the institution's costs and sets its budgets.
            Costs => matches!(action, Read | Update),
        },
        Role::IsOwner => match kind {
            InformationSystems | Orders | Embassy => matches!(action, Read | Create | Update),
            Institutions | Users | Providers | Catalogue | Quotas | Agreements | Costs => {
                action == Read
            }
            AuditLog => false,
        },
        // Members order for their institution's systems; others approve.
        Role::Member => {
            (action == Read && !matches!(kind, AuditLog | Embassy))
                || (kind == Orders && action == Create)
        }
        // Provider staff publish their own offerings, prices, sites and
        // certificates (the provider's scope is its institution).
        Role::ProviderOperator => match kind {
            Providers | Catalogue => matches!(action, Read | Update | Create),
            Institutions | InformationSystems | Users => action == Read,
            // Imports their own provider's FOCUS bills.
            Costs => action == Create,
            AuditLog | Orders | Quotas | Agreements | Embassy => false,
        },
    }
}

/// The bare decision, without the choice of error.
pub fn can(ctx: &OpContext, action: Action, kind: Kind, scope: Scope) -> bool {
    let roles = match &ctx.actor {
        Actor::Anonymous => return false,
        Actor::System => return true,
        Actor::User {
            token_scope: Some(TokenScope::Read),
            ..
        } if action != Action::Read => return false,
        Actor::User { roles, .. } => roles,
    };
    // The catalogue and the provider registry are open to every signed-in
    // person: finding offerings is the point of the federation (FED-3).
    if action == Action::Read && matches!(kind, Kind::Providers | Kind::Catalogue) {
        return true;
    }
    let platform_grant = roles
        .iter()
        .any(|r| r.institution_id.is_none() && grants(r.role, action, kind));
    if platform_grant {
        return true;
    }
    let Scope::Institution(institution) = scope else {
        return false;
    };
    if roles
        .iter()
        .any(|r| r.institution_id == Some(institution) && grants(r.role, action, kind))
    {
        return true;
    }
    // Everyone may read the record of the institution they work for.
    action == Action::Read
        && kind == Kind::Institutions
        && ctx.user().and_then(|u| u.institution_id) == Some(institution)
}

/// Allows the call or says why not: 401 for nobody, 404 where the actor may
/// not know the target exists, 403 where they may see it but not do this.
pub fn authorize(ctx: &OpContext, action: Action, kind: Kind, scope: Scope) -> Result<()> {
    if matches!(ctx.actor, Actor::Anonymous) {
        return Err(Error::Unauthenticated);
    }
    if can(ctx, action, kind, scope) {
        return Ok(());
    }
    if let Actor::User {
        token_scope: Some(TokenScope::Read),
        ..
    } = ctx.actor
        && can(&without_token_limit(ctx), action, kind, scope)
    {
        return Err(Error::forbidden("this API token is read-only"));
    }
    let visible = match scope {
        Scope::Platform => true,
        Scope::Institution(_) => can(ctx, Action::Read, kind, scope),
    };
    if visible {
        Err(Error::forbidden(format!(
            "you may not {} {}s here",
            match action {
                Action::Read => "read",
                Action::Create => "create",
                Action::Update => "change",
                Action::ManageRoles => "manage roles of",
            },
            kind.noun()
        )))
    } else {
        Err(Error::NotFound { kind: kind.noun() })
    }
}

fn without_token_limit(ctx: &OpContext) -> OpContext {
    let mut ctx = ctx.clone();
    if let Actor::User { token_scope, .. } = &mut ctx.actor {
        *token_scope = None;
    }
    ctx
}

/// For list queries: `None` when the actor may read `kind` everywhere,
/// otherwise the institutions whose `kind` records they may read.
pub fn readable_institutions(ctx: &OpContext, kind: Kind) -> Result<Option<Vec<InstitutionId>>> {
    if matches!(ctx.actor, Actor::Anonymous) {
        return Err(Error::Unauthenticated);
    }
    if can(ctx, Action::Read, kind, Scope::Platform) {
        return Ok(None);
    }
    Ok(Some(
        ctx.institutions()
            .into_iter()
            .filter(|id| can(ctx, Action::Read, kind, Scope::Institution(*id)))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use makonis_types::roles::RoleAssignment;
    use makonis_types::user::User;
    use makonis_types::{RoleAssignmentId, UserId};

    fn ctx_with(roles: &[(Role, Option<InstitutionId>)], home: Option<InstitutionId>) -> OpContext {
        let user = User {
            id: UserId::new(),
            email: "x@example.lv".into(),
            display_name: "X".into(),
            institution_id: home,
            active: true,
            mfa_enabled: true,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        let roles = roles
            .iter()
            .map(|(role, inst)| RoleAssignment {
                id: RoleAssignmentId::new(),
                user_id: user.id,
                role: *role,
                institution_id: *inst,
            })
            .collect();
        OpContext {
            actor: Actor::User {
                user,
                roles,
                token_scope: None,
            },
            request_id: "t".into(),
        }
    }

    #[test]
    fn institution_roles_stay_in_their_institution() {
        let mine = InstitutionId::new();
        let other = InstitutionId::new();
        let admin = ctx_with(&[(Role::InstitutionAdmin, Some(mine))], Some(mine));
        assert!(
            authorize(
                &admin,
                Action::Create,
                Kind::InformationSystems,
                Scope::Institution(mine)
            )
            .is_ok()
        );
        assert!(matches!(
            authorize(
                &admin,
                Action::Read,
                Kind::InformationSystems,
                Scope::Institution(other)
            ),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            authorize(&admin, Action::Create, Kind::Institutions, Scope::Platform),
            Err(Error::Forbidden { .. })
        ));
        assert_eq!(
            readable_institutions(&admin, Kind::InformationSystems).unwrap(),
            Some(vec![mine])
        );
    }

    #[test]
    fn members_read_but_do_not_write() {
        let mine = InstitutionId::new();
        let member = ctx_with(&[(Role::Member, Some(mine))], Some(mine));
        assert!(
            authorize(
                &member,
                Action::Read,
                Kind::InformationSystems,
                Scope::Institution(mine)
            )
            .is_ok()
        );
        assert!(matches!(
            authorize(
                &member,
                Action::Update,
                Kind::InformationSystems,
                Scope::Institution(mine)
            ),
            Err(Error::Forbidden { .. })
        ));
        assert!(matches!(
            authorize(
                &member,
                Action::Read,
                Kind::AuditLog,
                Scope::Institution(mine)
            ),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn platform_readers_see_everything_and_change_nothing() {
        let anywhere = Scope::Institution(InstitutionId::new());
        for role in [Role::Broker, Role::Auditor, Role::SecurityOfficer] {
            let ctx = ctx_with(&[(role, None)], None);
            assert!(
                can(&ctx, Action::Read, Kind::InformationSystems, anywhere),
                "{role}"
            );
            assert!(
                !can(&ctx, Action::Update, Kind::InformationSystems, anywhere),
                "{role}"
            );
            assert_eq!(
                readable_institutions(&ctx, Kind::InformationSystems).unwrap(),
                None
            );
        }
        let broker = ctx_with(&[(Role::Broker, None)], None);
        assert!(!can(&broker, Action::Read, Kind::AuditLog, Scope::Platform));
    }

    #[test]
    fn read_only_tokens_cannot_write() {
        let mine = InstitutionId::new();
        let mut ctx = ctx_with(&[(Role::InstitutionAdmin, Some(mine))], Some(mine));
        if let Actor::User { token_scope, .. } = &mut ctx.actor {
            *token_scope = Some(TokenScope::Read);
        }
        let err = authorize(
            &ctx,
            Action::Update,
            Kind::InformationSystems,
            Scope::Institution(mine),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Forbidden { ref message } if message.contains("read-only")));
        assert!(
            authorize(
                &ctx,
                Action::Read,
                Kind::InformationSystems,
                Scope::Institution(mine)
            )
            .is_ok()
        );
    }

    #[test]
    fn anonymous_is_unauthenticated() {
        let ctx = OpContext::anonymous("t");
        assert!(matches!(
            authorize(&ctx, Action::Read, Kind::Institutions, Scope::Platform),
            Err(Error::Unauthenticated)
        ));
    }
}

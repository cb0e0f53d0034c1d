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
    pub const ALL: &'static [Kind] = &[
        Kind::Institutions,
        Kind::Users,
        Kind::InformationSystems,
        Kind::AuditLog,
        Kind::Providers,
        Kind::Catalogue,
        Kind::Orders,
        Kind::Quotas,
        Kind::Agreements,
        Kind::Embassy,
        Kind::Costs,
    ];

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

/// One row of an area's policy: `role` may take these actions on `kind`.
#[derive(Debug)]
pub(crate) struct Grant(pub Kind, pub Role, pub &'static [Action]);

/// What one area declares in its `policy.rs`: the kinds it owns and what
/// each role may do on them.
#[derive(Debug)]
pub(crate) struct AreaPolicy {
    /// Named in the policy snapshot (`snapshots/`), read nowhere else.
    #[cfg_attr(not(test), allow(dead_code))]
    pub area: &'static str,
    pub kinds: &'static [Kind],
    pub grants: &'static [Grant],
}

/// Every area's policy. Each kind belongs to exactly one area (a test
/// checks), so a kind's rules are found in one file.
const AREAS: &[&AreaPolicy] = &[
    &crate::identity::policy::POLICY,
    &crate::systems::policy::POLICY,
    &crate::audit::policy::POLICY,
    &crate::federation::policy::POLICY,
    &crate::catalogue::policy::POLICY,
    &crate::orders::policy::POLICY,
    &crate::embassy::policy::POLICY,
    &crate::metering::policy::POLICY,
];

/// What a role grants, wherever it is held. A platform admin may do
/// everything; every other role only what an area's table says.
fn grants(role: Role, action: Action, kind: Kind) -> bool {
    role == Role::PlatformAdmin
        || AREAS
            .iter()
            .filter(|area| area.kinds.contains(&kind))
            .flat_map(|area| area.grants)
            .any(|Grant(k, r, actions)| *k == kind && *r == role && actions.contains(&action))
}

/// The token's part of every decision, asked first by every door of the
/// policy, the area rules that rest on who the person is included: a
/// read-scoped API token may read and nothing else.
pub fn token_permits(ctx: &OpContext, action: Action) -> Result<()> {
    match &ctx.actor {
        Actor::Anonymous => Err(Error::Unauthenticated),
        Actor::User {
            token_scope: Some(TokenScope::Read),
            ..
        } if action != Action::Read => Err(Error::forbidden("this API token is read-only")),
        _ => Ok(()),
    }
}

/// The bare decision, without the choice of error.
pub fn can(ctx: &OpContext, action: Action, kind: Kind, scope: Scope) -> bool {
    if token_permits(ctx, action).is_err() {
        return false;
    }
    let roles = match &ctx.actor {
        Actor::Anonymous => return false,
        Actor::System => return true,
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
    if can(ctx, action, kind, scope) {
        return Ok(());
    }
    // Nobody is 401; a token is refused as such only where its owner could
    // act, so a read token still learns nothing about other tenants.
    if let Err(refusal) = token_permits(ctx, action)
        && (matches!(ctx.actor, Actor::Anonymous)
            || can(&without_token_limit(ctx), action, kind, scope))
    {
        return Err(refusal);
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

    /// The whole policy as a table, one line per kind and role that may do
    /// anything, for a role held platform-wide; committed as a snapshot so
    /// that a change of policy shows in review.
    #[test]
    fn the_policy_table() {
        use std::fmt::Write;
        let actions = [
            (Action::Read, "read"),
            (Action::Create, "create"),
            (Action::Update, "update"),
            (Action::ManageRoles, "manage_roles"),
        ];
        let mut table = String::new();
        for area in AREAS {
            writeln!(table, "[{}]", area.area).unwrap();
            for kind in area.kinds {
                writeln!(table, "{}", kind.noun()).unwrap();
                for role in Role::ALL {
                    let granted: Vec<&str> = actions
                        .iter()
                        .filter(|(action, _)| grants(*role, *action, *kind))
                        .map(|(_, name)| *name)
                        .collect();
                    if !granted.is_empty() {
                        writeln!(table, "  {:<20} {}", role.as_str(), granted.join(" ")).unwrap();
                    }
                }
            }
        }
        insta::assert_snapshot!(table);
    }

    #[test]
    fn every_kind_belongs_to_exactly_one_area() {
        for kind in Kind::ALL {
            let owners: Vec<&str> = AREAS
                .iter()
                .filter(|a| a.kinds.contains(kind))
                .map(|a| a.area)
                .collect();
            assert_eq!(owners.len(), 1, "{kind:?} is owned by {owners:?}");
        }
        for area in AREAS {
            for Grant(kind, role, _) in area.grants {
                assert!(
                    area.kinds.contains(kind),
                    "{} grants {role} on {kind:?}, which it does not own",
                    area.area
                );
            }
        }
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

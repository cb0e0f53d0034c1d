//! Who is asking. An [`OpContext`] travels with every call into `app`.

use makonis_types::InstitutionId;
use makonis_types::roles::{Role, RoleAssignment};
use makonis_types::token::TokenScope;
use makonis_types::user::User;

#[derive(Debug, Clone)]
pub enum Actor {
    /// Nobody has authenticated.
    Anonymous,
    /// Mākonis itself: demo seeding, the `admin` CLI run on the server host,
    /// background jobs. Never reachable from HTTP.
    System,
    /// A signed-in person, through a portal session or an API token.
    User {
        user: User,
        roles: Vec<RoleAssignment>,
        /// Set when the request came with an API token.
        token_scope: Option<TokenScope>,
    },
}

#[derive(Debug, Clone)]
pub struct OpContext {
    pub actor: Actor,
    /// Correlates logs and audit records with one HTTP request or CLI run.
    pub request_id: String,
}

impl OpContext {
    pub fn anonymous(request_id: impl Into<String>) -> Self {
        Self {
            actor: Actor::Anonymous,
            request_id: request_id.into(),
        }
    }

    pub fn system(request_id: impl Into<String>) -> Self {
        Self {
            actor: Actor::System,
            request_id: request_id.into(),
        }
    }

    pub fn user(&self) -> Option<&User> {
        match &self.actor {
            Actor::User { user, .. } => Some(user),
            _ => None,
        }
    }

    pub fn roles(&self) -> &[RoleAssignment] {
        match &self.actor {
            Actor::User { roles, .. } => roles,
            _ => &[],
        }
    }

    /// True if the actor holds `role` platform-wide.
    pub fn has_platform_role(&self, role: Role) -> bool {
        self.roles()
            .iter()
            .any(|r| r.role == role && r.institution_id.is_none())
    }

    /// True if the actor holds `role` within `institution`.
    pub fn has_institution_role(&self, role: Role, institution: InstitutionId) -> bool {
        self.roles()
            .iter()
            .any(|r| r.role == role && r.institution_id == Some(institution))
    }

    /// Institutions in which the actor holds any role, plus their home one.
    pub fn institutions(&self) -> Vec<InstitutionId> {
        let mut ids: Vec<InstitutionId> = self
            .roles()
            .iter()
            .filter_map(|r| r.institution_id)
            .collect();
        if let Some(home) = self.user().and_then(|u| u.institution_id) {
            ids.push(home);
        }
        ids.sort();
        ids.dedup();
        ids
    }

    /// The institution the actor acts for, for the audit record: their home
    /// institution, else the one institution they hold roles in.
    pub fn acting_institution(&self) -> Option<InstitutionId> {
        let user = self.user()?;
        user.institution_id.or_else(|| {
            let ids = self.institutions();
            (ids.len() == 1).then(|| ids[0])
        })
    }

    /// Label for audit records and logs.
    pub fn actor_label(&self) -> String {
        match &self.actor {
            Actor::Anonymous => "anonymous".into(),
            Actor::System => "system".into(),
            Actor::User { user, .. } => user.email.clone(),
        }
    }
}

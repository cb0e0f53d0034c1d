//! User accounts. Passwords and second factors are handled in `app`; this is
//! the record and its validation.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::roles::{NewRoleAssignment, RoleAssignment};
use crate::{FieldError, InstitutionId, UserId, Validator};

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: UserId,
    /// Login name: the person's e-mail address.
    pub email: String,
    pub display_name: String,
    /// The institution the person works for; none for platform staff.
    pub institution_id: Option<InstitutionId>,
    pub active: bool,
    pub mfa_enabled: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A user with the roles they hold.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserWithRoles {
    #[serde(flatten)]
    pub user: User,
    pub roles: Vec<RoleAssignment>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserInput {
    pub email: String,
    pub display_name: String,
    #[serde(default)]
    pub institution_id: Option<InstitutionId>,
    /// At least 12 characters.
    pub password: String,
    #[serde(default)]
    pub roles: Vec<NewRoleAssignment>,
}

#[derive(Debug, Clone)]
pub struct ValidNewUser {
    pub email: String,
    pub display_name: String,
    pub institution_id: Option<InstitutionId>,
    pub password: String,
    pub roles: Vec<NewRoleAssignment>,
}

impl NewUserInput {
    pub fn validate(&self) -> Result<ValidNewUser, Vec<FieldError>> {
        let mut v = Validator::new();
        let email = v.email("email", &self.email);
        let display_name = v.text("display_name", &self.display_name, 200);
        check_password(&mut v, "password", &self.password);
        for (i, assignment) in self.roles.iter().enumerate() {
            if let Err(mut e) = assignment.role.check_scope(assignment.institution_id) {
                e.field = format!("roles[{i}].{}", e.field);
                v.push(e);
            }
        }
        v.finish()?;
        Ok(ValidNewUser {
            email,
            display_name,
            institution_id: self.institution_id,
            password: self.password.clone(),
            roles: self.roles.clone(),
        })
    }
}

/// Editable profile fields.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdateInput {
    pub display_name: String,
    pub active: bool,
}

pub fn check_password(v: &mut Validator, field: &str, password: &str) {
    let count = password.chars().count();
    if count < MIN_PASSWORD_CHARS {
        v.push(
            FieldError::new(
                field,
                "too_short",
                format!("{field} must be at least {MIN_PASSWORD_CHARS} characters"),
            )
            .with_param("min", MIN_PASSWORD_CHARS),
        );
    } else if count > MAX_PASSWORD_CHARS {
        v.push(
            FieldError::new(
                field,
                "too_long",
                format!("{field} must be at most {MAX_PASSWORD_CHARS} characters"),
            )
            .with_param("max", MAX_PASSWORD_CHARS),
        );
    }
}

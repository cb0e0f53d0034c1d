//! User accounts and role assignments (REQUIREMENTS WP-2, SEC-7). A user
//! belongs to a home institution (or none, for platform staff) and holds
//! roles platform-wide or within institutions. Institution administrators
//! manage their own institution's people and can grant only roles within
//! their institution; platform roles are granted by platform admins.

use makonis_db::commit;
use makonis_db::identity::{role as roles, session, user as store};
use makonis_types::paging::{Page, PageRequest};
use makonis_types::roles::{NewRoleAssignment, RoleAssignment};
use makonis_types::user::{NewUserInput, User, UserUpdateInput, UserWithRoles};
use makonis_types::{FieldError, InstitutionId, RoleAssignmentId, UserId, Validator};

use crate::audit::{self, Change};
use crate::authz::{Action, Kind, Scope, authorize, can, readable_institutions};
use crate::identity::authn::hash_password_blocking;
use crate::{App, Error, OpContext, Result, now};

fn scope_of(institution: Option<InstitutionId>) -> Scope {
    institution.map_or(Scope::Platform, Scope::Institution)
}

impl App {
    pub async fn create_user(
        &self,
        ctx: &OpContext,
        input: &NewUserInput,
    ) -> Result<UserWithRoles> {
        authorize(
            ctx,
            Action::Create,
            Kind::Users,
            scope_of(input.institution_id),
        )?;
        for assignment in &input.roles {
            authorize(
                ctx,
                Action::ManageRoles,
                Kind::Users,
                scope_of(assignment.institution_id),
            )?;
        }
        let valid = input.validate()?;
        let hash = hash_password_blocking(valid.password.clone()).await?;
        let mut tx = self.datastore().begin().await?;
        if let Some(inst) = valid.institution_id
            && makonis_db::identity::institution::get(&mut tx, inst)
                .await?
                .is_none()
        {
            return Err(Error::invalid(FieldError::new(
                "institution_id",
                "not_found",
                "no such institution",
            )));
        }
        let id = UserId::new();
        let user = store::insert(
            &mut tx,
            store::NewUserRecord {
                id,
                email: &valid.email,
                display_name: &valid.display_name,
                institution_id: valid.institution_id,
                password_hash: Some(&hash),
            },
            now(),
        )
        .await?;
        let mut granted = Vec::new();
        for (i, assignment) in valid.roles.iter().enumerate() {
            let role = roles::insert(
                &mut tx,
                id,
                assignment.role,
                assignment.institution_id,
                now(),
            )
            .await
            .map_err(|e| match e {
                makonis_db::Error::Duplicate { .. } => Error::invalid(FieldError::new(
                    format!("roles[{i}].role"),
                    "duplicate",
                    "the same role is listed twice for the same scope",
                )),
                makonis_db::Error::MissingReference => Error::invalid(FieldError::new(
                    format!("roles[{i}].institution_id"),
                    "not_found",
                    "no such institution",
                )),
                other => other.into(),
            })?;
            granted.push(role);
        }
        let created = UserWithRoles {
            user,
            roles: granted,
        };
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "user.create",
                target_kind: "user",
                target_id: id.to_string(),
                target_institution: valid.institution_id,
                before: None,
                after: audit::summary(&created),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(created)
    }

    /// Whether the actor may see this user: platform-wide user readers see
    /// everyone, others see people of, or holding roles in, their institutions.
    fn may_read_user(ctx: &OpContext, user: &User, held: &[RoleAssignment]) -> bool {
        if can(ctx, Action::Read, Kind::Users, Scope::Platform) {
            return true;
        }
        if ctx.user().is_some_and(|me| me.id == user.id) {
            return true;
        }
        user.institution_id
            .into_iter()
            .chain(held.iter().filter_map(|r| r.institution_id))
            .any(|inst| can(ctx, Action::Read, Kind::Users, Scope::Institution(inst)))
    }

    pub async fn get_user(&self, ctx: &OpContext, id: UserId) -> Result<UserWithRoles> {
        readable_institutions(ctx, Kind::Users)?;
        let mut conn = self.datastore().conn().await?;
        let user = store::get(&mut conn, id)
            .await?
            .ok_or(Error::NotFound { kind: "user" })?;
        let held = roles::for_user(&mut conn, id).await?;
        if !Self::may_read_user(ctx, &user, &held) {
            return Err(Error::NotFound { kind: "user" });
        }
        Ok(UserWithRoles { user, roles: held })
    }

    pub async fn list_users(
        &self,
        ctx: &OpContext,
        q: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<User>> {
        let visible = readable_institutions(ctx, Kind::Users)?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::list(&mut conn, visible.as_deref(), q, page).await?)
    }

    pub async fn update_user(
        &self,
        ctx: &OpContext,
        id: UserId,
        input: &UserUpdateInput,
    ) -> Result<User> {
        let current = self.get_user(ctx, id).await?;
        authorize(
            ctx,
            Action::Update,
            Kind::Users,
            scope_of(current.user.institution_id),
        )?;
        let mut v = Validator::new();
        let display_name = v.text("display_name", &input.display_name, 200);
        if !input.active && ctx.user().is_some_and(|me| me.id == id) {
            v.push(
                FieldError::new(
                    "active",
                    "invalid",
                    "you cannot deactivate your own account",
                )
                .with_param("reason", "self_deactivate"),
            );
        }
        v.finish()?;
        let mut tx = self.datastore().begin().await?;
        let after = store::update_profile(&mut tx, id, &display_name, input.active, now()).await?;
        if !after.active {
            session::delete_for_user(&mut tx, id).await?;
        }
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "user.update",
                target_kind: "user",
                target_id: id.to_string(),
                target_institution: after.institution_id,
                before: audit::summary(&current.user),
                after: audit::summary(&after),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(after)
    }

    pub async fn assign_role(
        &self,
        ctx: &OpContext,
        user_id: UserId,
        input: &NewRoleAssignment,
    ) -> Result<RoleAssignment> {
        let target = self.get_user(ctx, user_id).await?;
        authorize(
            ctx,
            Action::ManageRoles,
            Kind::Users,
            scope_of(input.institution_id),
        )?;
        input
            .role
            .check_scope(input.institution_id)
            .map_err(Error::invalid)?;
        let mut tx = self.datastore().begin().await?;
        let granted = roles::insert(&mut tx, user_id, input.role, input.institution_id, now())
            .await
            .map_err(|e| match e {
                makonis_db::Error::Duplicate { .. } => Error::invalid(FieldError::new(
                    "role",
                    "duplicate",
                    format!("the user already holds {} in this scope", input.role),
                )),
                makonis_db::Error::MissingReference => Error::invalid(FieldError::new(
                    "institution_id",
                    "not_found",
                    "no such institution",
                )),
                other => other.into(),
            })?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "role.grant",
                target_kind: "user",
                target_id: user_id.to_string(),
                target_institution: input.institution_id.or(target.user.institution_id),
                before: None,
                after: audit::summary(&granted),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(granted)
    }

    pub async fn revoke_role(
        &self,
        ctx: &OpContext,
        user_id: UserId,
        id: RoleAssignmentId,
    ) -> Result<()> {
        let target = self.get_user(ctx, user_id).await?;
        let assignment =
            target
                .roles
                .iter()
                .find(|r| r.id == id)
                .cloned()
                .ok_or(Error::NotFound {
                    kind: "role assignment",
                })?;
        authorize(
            ctx,
            Action::ManageRoles,
            Kind::Users,
            scope_of(assignment.institution_id),
        )?;
        let mut tx = self.datastore().begin().await?;
        roles::delete(&mut tx, id).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "role.revoke",
                target_kind: "user",
                target_id: user_id.to_string(),
                target_institution: assignment.institution_id.or(target.user.institution_id),
                before: audit::summary(&assignment),
                after: None,
            },
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// Enrols a TOTP secret without a confirming code. Only for the system
    /// actor: `makonis demo` and `makonis admin create-user --totp`, run by
    /// the operator on the server host, who then hands the secret over.
    pub async fn enrol_totp_as_system(
        &self,
        ctx: &OpContext,
        user: UserId,
        secret: &[u8],
    ) -> Result<()> {
        if !matches!(ctx.actor, crate::Actor::System) {
            return Err(Error::forbidden(
                "only the system may enrol a second factor directly",
            ));
        }
        let sealed = self.secrets().seal(&format!("totp:{user}"), secret);
        let mut tx = self.datastore().begin().await?;
        store::set_totp(&mut tx, user, Some(&sealed), now()).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "user.mfa_enrol",
                target_kind: "user",
                target_id: user.to_string(),
                target_institution: None,
                before: None,
                after: Some(serde_json::json!({ "mfa_enabled": true, "by": "operator" })),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }
}

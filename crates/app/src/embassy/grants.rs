//! Four-eyes grants for anything that opens embassy data or keys, and the
//! release of a replica's key under a grant in force.

use chrono::{DateTime, Utc};
use makonis_db::{commit, embassy as store};
use makonis_types::FieldError;
use makonis_types::embassy::*;
use serde::Serialize;

use crate::audit::{self, Change};
use crate::authz::{Action, Kind, Scope, can};
use crate::{Actor, App, Error, OpContext, Result, now};

/// A released key: shown once to the grant's requester.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReleasedKey {
    pub grant_id: GrantId,
    pub replica_location: String,
    pub replica_password: String,
    pub valid_until: DateTime<Utc>,
}

impl App {
    /// Asks for a four-eyes grant on a protected system's embassy data.
    pub async fn request_grant(&self, ctx: &OpContext, input: &GrantInput) -> Result<Grant> {
        let is = self
            .visible_system(ctx, input.information_system_id, Action::Read)
            .await?;
        let me = ctx.user().ok_or(Error::Unauthenticated)?.id;
        if !super::policy::may_request_grant(ctx, is.institution_id)? {
            return Err(Error::forbidden(
                "grants are requested by embassy custodians, security officers and the system's owners",
            ));
        }
        input.validate()?;
        let mut tx = self.datastore().begin().await?;
        if store::protection(&mut tx, is.id).await?.is_none() {
            return Err(Error::invalid(FieldError::new(
                "information_system_id",
                "not_protected",
                format!("{} is not under embassy protection", is.code),
            )));
        }
        let grant = Grant {
            id: GrantId::new(),
            information_system_id: is.id,
            institution_id: is.institution_id,
            purpose: input.purpose,
            reason: input.reason.trim().to_owned(),
            requested_by: me,
            requested_at: now(),
            hours: input.hours,
            custodian_id: None,
            security_officer_id: None,
            state: GrantState::Pending,
            valid_until: None,
        };
        store::insert_grant(&mut tx, &grant).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "embassy.grant_requested",
                target_kind: "embassy_grant",
                target_id: grant.id.to_string(),
                target_institution: Some(is.institution_id),
                before: None,
                after: audit::summary(&grant),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(grant)
    }

    /// One of the two approvals a grant needs: a platform embassy custodian
    /// and a platform security officer, two different people, neither the
    /// requester. The second approval starts the grant's time window.
    pub async fn approve_grant(&self, ctx: &OpContext, id: GrantId) -> Result<Grant> {
        let me = ctx.user().ok_or(Error::Unauthenticated)?.id;
        let (custodian, officer) = super::policy::approvals_of(ctx)?;
        let mut tx = self.datastore().begin().await?;
        let Some(mut grant) = store::grant(&mut tx, id).await? else {
            return Err(Error::NotFound { kind: "grant" });
        };
        if !can(
            ctx,
            Action::Read,
            Kind::Embassy,
            Scope::Institution(grant.institution_id),
        ) {
            return Err(Error::NotFound { kind: "grant" });
        }
        let refusal = if !(custodian || officer) {
            Some("only a platform embassy custodian or security officer approves grants")
        } else if grant.requested_by == me {
            Some("the requester cannot approve their own grant")
        } else if grant.state != GrantState::Pending {
            Some("the grant is no longer waiting for approval")
        } else if grant.custodian_id == Some(me) || grant.security_officer_id == Some(me) {
            Some("the same person cannot give both approvals")
        } else {
            None
        };
        if let Some(why) = refusal {
            drop(tx);
            self.audit_refusal(ctx, &grant, "embassy.grant_approval_refused", why)
                .await?;
            return Err(Error::forbidden(why));
        }
        let expected = grant.state;
        // Fill the slot this person may fill; a person holding both roles
        // fills one, and someone else must fill the other.
        if custodian && grant.custodian_id.is_none() {
            grant.custodian_id = Some(me);
        } else if officer && grant.security_officer_id.is_none() {
            grant.security_officer_id = Some(me);
        } else {
            drop(tx);
            let why = "the approval your role gives is already there; the other role must approve";
            self.audit_refusal(ctx, &grant, "embassy.grant_approval_refused", why)
                .await?;
            return Err(Error::Conflict {
                message: why.into(),
            });
        }
        if grant.custodian_id.is_some() && grant.security_officer_id.is_some() {
            grant.state = GrantState::Active;
            grant.valid_until = Some(now() + chrono::Duration::hours(grant.hours));
        }
        if !store::update_grant(&mut tx, &grant, expected).await? {
            return Err(Error::Conflict {
                message: "the grant changed meanwhile; look again".into(),
            });
        }
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: if grant.state == GrantState::Active {
                    "embassy.grant_active"
                } else {
                    "embassy.grant_approved"
                },
                target_kind: "embassy_grant",
                target_id: grant.id.to_string(),
                target_institution: Some(grant.institution_id),
                before: None,
                after: audit::summary(&grant),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(grant)
    }

    /// Hands the replica's key to the person who asked for a key-release
    /// grant, while the grant is active. Any other attempt is refused and
    /// audited.
    pub async fn release_key(&self, ctx: &OpContext, id: GrantId) -> Result<ReleasedKey> {
        let grant = self
            .grant_in_force(
                ctx,
                id,
                GrantPurpose::KeyRelease,
                "embassy.key_release_refused",
            )
            .await?;
        let (protection, secrets) = self
            .protection_with_secrets(grant.information_system_id)
            .await?;
        let mut tx = self.datastore().begin().await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "embassy.key_released",
                target_kind: "embassy_grant",
                target_id: grant.id.to_string(),
                target_institution: Some(grant.institution_id),
                before: None,
                after: Some(serde_json::json!({ "replica": protection.replica_location })),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(ReleasedKey {
            grant_id: grant.id,
            replica_location: protection.replica_location,
            replica_password: secrets.replica_password,
            valid_until: grant.valid_until.unwrap_or_else(now),
        })
    }

    /// The caller's grant for `purpose`, if they may use it now; otherwise
    /// the attempt is audited under `refused` and refused. Others' grants
    /// outside what the caller may see are "not found".
    pub(super) async fn grant_in_force(
        &self,
        ctx: &OpContext,
        id: GrantId,
        purpose: GrantPurpose,
        refused: &str,
    ) -> Result<Grant> {
        super::policy::may_use_grant(ctx, purpose)?;
        let me = ctx.user().ok_or(Error::Unauthenticated)?.id;
        let grant = {
            let mut conn = self.datastore().conn().await?;
            store::grant(&mut conn, id)
                .await?
                .ok_or(Error::NotFound { kind: "grant" })?
        };
        if !can(
            ctx,
            Action::Read,
            Kind::Embassy,
            Scope::Institution(grant.institution_id),
        ) {
            return Err(Error::NotFound { kind: "grant" });
        }
        let refusal = if grant.purpose != purpose {
            Some(match purpose {
                GrantPurpose::KeyRelease => "this grant is not for a key release",
                GrantPurpose::RestoreProduction => {
                    "this grant is not for a restore into production"
                }
                GrantPurpose::Access => "this grant is not for access to embassy data",
            })
        } else if grant.requested_by != me {
            Some("only the person the grant was given to may use it")
        } else if grant.state != GrantState::Active {
            Some("the grant does not have both approvals")
        } else if !grant.usable(now()) {
            Some("the grant has expired")
        } else {
            None
        };
        if let Some(why) = refusal {
            self.audit_refusal(ctx, &grant, refused, why).await?;
            return Err(Error::forbidden(why));
        }
        Ok(grant)
    }

    /// A refused attempt is a change that matters: it is in the chain.
    pub(super) async fn audit_refusal(
        &self,
        ctx: &OpContext,
        grant: &Grant,
        action: &str,
        why: &str,
    ) -> Result<()> {
        let mut tx = self.datastore().begin().await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action,
                target_kind: "embassy_grant",
                target_id: grant.id.to_string(),
                target_institution: Some(grant.institution_id),
                before: None,
                after: Some(serde_json::json!({ "refused": why })),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// Grants the caller may see, newest first.
    pub async fn list_grants(&self, ctx: &OpContext) -> Result<Vec<Grant>> {
        if matches!(ctx.actor, Actor::Anonymous) {
            return Err(Error::Unauthenticated);
        }
        let mut conn = self.datastore().conn().await?;
        Ok(store::grants(&mut conn, None)
            .await?
            .into_iter()
            .filter(|g| {
                can(
                    ctx,
                    Action::Read,
                    Kind::Embassy,
                    Scope::Institution(g.institution_id),
                )
            })
            .collect())
    }
}

//! Agreements between an institution and a provider: an approved order
//! attaches to one, both parties sign, and provisioning starts once it is in
//! force (FED-5).

use chrono::NaiveDate;
use makonis_db::{Tx, catalogue, commit, orders as store};
use makonis_types::FieldError;
use makonis_types::order::*;

use crate::audit::{self, Change};
use crate::authz::{Action, Kind, Scope, authorize, readable_institutions};
use crate::orders::today;
use crate::{App, Error, OpContext, Result, now};

impl App {
    /// Attaches an approved order to the parties' active agreement, or to a
    /// draft one (created if needed) that both sides must sign.
    pub(super) async fn attach_agreement(
        &self,
        tx: &mut Tx,
        ctx: &OpContext,
        order: &Order,
    ) -> Result<()> {
        let day = today();
        let open = store::open_agreements(tx, order.institution_id, order.provider_id).await?;
        let existing = open
            .iter()
            .find(|a| a.covers(day))
            .or_else(|| open.iter().find(|a| a.status == AgreementStatus::Draft));
        let agreement = match existing {
            Some(a) => a.clone(),
            None => {
                let version = catalogue::price_lists(tx, order.provider_id)
                    .await?
                    .into_iter()
                    .find(|l| l.is_valid_on(day))
                    .map(|l| l.version);
                let agreement = Agreement {
                    id: AgreementId::new(),
                    institution_id: order.institution_id,
                    provider_id: order.provider_id,
                    price_list_version: version,
                    scope:
                        "Resources ordered through Mākonis under the provider's price list and SLA"
                            .into(),
                    valid_from: day,
                    valid_until: day + chrono::Duration::days(3 * 365),
                    status: AgreementStatus::Draft,
                    document_ref: None,
                    broker_signed_by: None,
                    broker_signed_at: None,
                    institution_signed_by: None,
                    institution_signed_at: None,
                    reminder_days: 90,
                };
                store::insert_agreement(tx, &agreement, now()).await?;
                let mut signers = store::holders_of(tx, "broker", None).await?;
                signers.extend(
                    store::holders_of(tx, "institution_admin", Some(order.institution_id)).await?,
                );
                for user in signers {
                    store::notify(
                        tx,
                        user,
                        "agreement.to_sign",
                        None,
                        Some(agreement.id),
                        now(),
                    )
                    .await?;
                }
                audit::append(
                    tx,
                    ctx,
                    Change {
                        action: "agreement.draft",
                        target_kind: "agreement",
                        target_id: agreement.id.to_string(),
                        target_institution: Some(order.institution_id),
                        before: None,
                        after: audit::summary(&agreement),
                    },
                )
                .await?;
                agreement
            }
        };
        store::set_agreement(tx, order.id, agreement.id).await?;
        Ok(())
    }
}

impl App {
    pub async fn list_agreements(&self, ctx: &OpContext) -> Result<Vec<Agreement>> {
        let visible = readable_institutions(ctx, Kind::Agreements)?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::list_agreements(&mut conn, visible.as_deref()).await?)
    }

    pub async fn get_agreement(&self, ctx: &OpContext, id: AgreementId) -> Result<Agreement> {
        readable_institutions(ctx, Kind::Agreements)?;
        let mut conn = self.datastore().conn().await?;
        let a = store::get_agreement(&mut conn, id)
            .await?
            .ok_or(Error::NotFound { kind: "agreement" })?;
        authorize(
            ctx,
            Action::Read,
            Kind::Agreements,
            Scope::Institution(a.institution_id),
        )?;
        Ok(a)
    }

    /// Agreements whose renewal reminder date has come (FED-5).
    pub async fn agreement_reminders(
        &self,
        ctx: &OpContext,
        day: NaiveDate,
    ) -> Result<Vec<Agreement>> {
        Ok(self
            .list_agreements(ctx)
            .await?
            .into_iter()
            .filter(|a| a.status == AgreementStatus::Active && a.reminder_date() <= day)
            .collect())
    }

    /// Signs an agreement: a broker signs for the Broker, an institution
    /// administrator for the institution. Both signatures make it active.
    pub async fn sign_agreement(
        &self,
        ctx: &OpContext,
        id: AgreementId,
        document_ref: Option<&str>,
    ) -> Result<Agreement> {
        let before = self.get_agreement(ctx, id).await?;
        let user = ctx.user().ok_or(Error::Unauthenticated)?.clone();
        let (as_broker, as_institution) = super::policy::signing_sides(ctx, &before)?;
        if !as_broker && !as_institution {
            return Err(Error::forbidden(
                "only a broker or the institution's administrator signs agreements",
            ));
        }
        if before.status != AgreementStatus::Draft {
            return Err(Error::Conflict {
                message: format!(
                    "the agreement is {}, not waiting for signatures",
                    before.status
                ),
            });
        }
        let mut after = before.clone();
        let at = now();
        if as_broker && before.broker_signed_by.is_none() {
            after.broker_signed_by = Some(user.id);
            after.broker_signed_at = Some(at);
        } else if as_institution && before.institution_signed_by.is_none() {
            after.institution_signed_by = Some(user.id);
            after.institution_signed_at = Some(at);
        } else {
            return Err(Error::forbidden(
                "you have no signature left to give on this agreement",
            ));
        }
        if let Some(r) = document_ref.map(str::trim).filter(|r| !r.is_empty()) {
            if r.chars().count() > 200 {
                return Err(Error::invalid(
                    FieldError::new(
                        "document_ref",
                        "too_long",
                        "document_ref must be at most 200 characters",
                    )
                    .with_param("max", 200),
                ));
            }
            after.document_ref = Some(r.to_owned());
        }
        if after.broker_signed_by.is_some() && after.institution_signed_by.is_some() {
            after.status = AgreementStatus::Active;
        }
        let mut tx = self.datastore().begin().await?;
        store::update_agreement(&mut tx, &after, at).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "agreement.sign",
                target_kind: "agreement",
                target_id: id.to_string(),
                target_institution: Some(after.institution_id),
                before: audit::summary(&before),
                after: audit::summary(&after),
            },
        )
        .await?;
        commit(tx).await?;
        if after.status == AgreementStatus::Active {
            let waiting = {
                let mut conn = self.datastore().conn().await?;
                store::orders_waiting_for(&mut conn, id).await?
            };
            for order in waiting {
                self.provision_if_agreed(order.id).await;
            }
        }
        Ok(after)
    }

    /// Starts provisioning an approved order whose agreement is in force.
    /// Failing to start is logged, not fatal: the order stays approved and
    /// can be provisioned later.
    pub(super) async fn provision_if_agreed(&self, id: OrderId) {
        let ready = async {
            let mut conn = self.datastore().conn().await?;
            let Some(order) = store::get_order(&mut conn, id).await? else {
                return Ok(false);
            };
            let Some(agreement) = order.agreement_id else {
                return Ok(false);
            };
            let in_force = store::get_agreement(&mut conn, agreement)
                .await?
                .is_some_and(|a| a.covers(today()));
            Ok::<_, makonis_db::Error>(order.state == OrderState::Approved && in_force)
        };
        match ready.await {
            Ok(true) => {
                if let Err(e) = self.start_provisioning(id).await {
                    tracing::warn!(order = %id, %e, "provisioning did not start");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(order = %id, %e, "could not check whether to provision"),
        }
    }
}

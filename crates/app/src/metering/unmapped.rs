//! Bill lines nobody can be charged for yet, and the Broker resolving them.

use makonis_db::commit;
use makonis_db::metering as store;
use makonis_types::FieldError;
use makonis_types::metering::*;

use crate::audit::{self, Change};
use crate::authz::{Action, Scope};
use crate::{App, Error, OpContext, Result, now};

impl App {
    /// Lines waiting for the Broker (or all, with `open_only` false).
    pub async fn unmapped_charges(
        &self,
        ctx: &OpContext,
        open_only: bool,
    ) -> Result<Vec<UnmappedCharge>> {
        self.require_costs(ctx, Action::Update, Scope::Platform)?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::unmapped(&mut conn, open_only).await?)
    }

    /// The Broker decides who pays for an unmapped bill line; it is booked
    /// as a charge of that institution (and system).
    pub async fn resolve_unmapped(
        &self,
        ctx: &OpContext,
        id: &str,
        input: &ResolveUnmappedInput,
    ) -> Result<Charge> {
        self.require_costs(ctx, Action::Update, Scope::Platform)?;
        let me = ctx.user().ok_or(Error::Unauthenticated)?.id;
        let mut tx = self.datastore().begin().await?;
        let (line, json) = store::unmapped_one(&mut tx, id)
            .await?
            .ok_or(Error::NotFound {
                kind: "unmapped line",
            })?;
        if line.resolved_at.is_some() {
            return Err(Error::Conflict {
                message: "this line was resolved already".into(),
            });
        }
        if line.source != "import" {
            return Err(Error::Conflict {
                message: "usage of a resource missing from the registry is resolved by fixing the registry (drift), not by charging someone".into(),
            });
        }
        if makonis_db::identity::institution::get(&mut tx, input.institution_id)
            .await?
            .is_none()
        {
            return Err(Error::invalid(FieldError::new(
                "institution_id",
                "not_found",
                "no such institution",
            )));
        }
        if let Some(system) = input.information_system_id {
            let is = makonis_db::systems::get(&mut tx, system).await?;
            if is.is_none_or(|is| is.institution_id != input.institution_id) {
                return Err(Error::invalid(FieldError::new(
                    "information_system_id",
                    "mismatch",
                    "the information system does not belong to this institution",
                )));
            }
        }
        let mut charge: Charge = serde_json::from_str(&json)
            .map_err(|e| Error::internal(format!("unmapped line {id}: {e}")))?;
        charge.id = uuid::Uuid::now_v7().to_string();
        charge.institution_id = input.institution_id;
        charge.information_system_id = input.information_system_id;
        // Under the institution's active agreement with the provider, as a
        // line mapped on import would be.
        charge.agreement_id =
            makonis_db::orders::open_agreements(&mut tx, input.institution_id, line.provider_id)
                .await?
                .into_iter()
                .find(|a| a.status == makonis_types::order::AgreementStatus::Active)
                .map(|a| a.id);
        charge.created_at = now();
        if !store::insert_charge(&mut tx, &charge).await? {
            return Err(Error::Conflict {
                message: "this line was booked already".into(),
            });
        }
        if !store::resolve_unmapped(&mut tx, id, me, &charge.id, now()).await? {
            return Err(Error::Conflict {
                message: "this line was resolved already".into(),
            });
        }
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "usage.unmapped_resolved",
                target_kind: "unmapped_charge",
                target_id: id.to_owned(),
                target_institution: Some(input.institution_id),
                before: audit::summary(&line),
                after: audit::summary(&charge),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(charge)
    }
}

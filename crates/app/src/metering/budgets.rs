//! Budgets per institution or system, and the alerts when spending
//! crosses their thresholds.

use std::collections::HashMap;

use makonis_db::commit;
use makonis_db::metering as store;
use makonis_metering::round_money;
use makonis_types::metering::*;
use makonis_types::roles::Role;
use makonis_types::{FieldError, InstitutionId};

use crate::audit::{self, Change};
use crate::authz::{Action, Scope};
use crate::metering::CURRENCY;
use crate::metering::arithmetic::budget_status;
use crate::{App, Error, OpContext, Result, now};

impl App {
    /// Sets the monthly budget of an institution or one of its systems.
    pub async fn set_budget(&self, ctx: &OpContext, input: &BudgetInput) -> Result<Budget> {
        self.require_costs(
            ctx,
            Action::Update,
            Scope::Institution(input.institution_id),
        )?;
        input.validate().map_err(Error::Invalid)?;
        let mut tx = self.datastore().begin().await?;
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
        let budget = store::put_budget(
            &mut tx,
            &Budget {
                id: BudgetId::new(),
                institution_id: input.institution_id,
                information_system_id: input.information_system_id,
                monthly_amount: input.monthly_amount,
                currency: CURRENCY.into(),
                thresholds: input.thresholds.clone(),
                updated_at: now(),
            },
            ctx.user().map(|u| u.id),
        )
        .await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "budget.set",
                target_kind: "budget",
                target_id: budget.id.to_string(),
                target_institution: Some(budget.institution_id),
                before: None,
                after: audit::summary(&budget),
            },
        )
        .await?;
        commit(tx).await?;
        self.check_budgets().await?;
        Ok(budget)
    }

    /// Budgets with this month's spending.
    pub async fn budgets(
        &self,
        ctx: &OpContext,
        institution: InstitutionId,
    ) -> Result<Vec<BudgetStatus>> {
        self.require_costs(ctx, Action::Read, Scope::Institution(institution))?;
        let mut conn = self.datastore().conn().await?;
        let month = Month::of(now());
        let budgets = store::budgets(&mut conn, Some(institution)).await?;
        let charges = store::charges_of(&mut conn, institution, month).await?;
        let mut out = Vec::new();
        for b in budgets {
            let crossed = store::crossed_thresholds(&mut conn, b.id, month).await?;
            out.push(budget_status(b, month, &charges, crossed));
        }
        Ok(out)
    }

    /// Raises each crossed budget threshold once a month: a notification to
    /// the institution's admins (and the system's owners for a system
    /// budget). Returns how many alerts went out.
    pub async fn check_budgets(&self) -> Result<usize> {
        let month = Month::of(now());
        let mut tx = self.datastore().begin().await?;
        let budgets = store::budgets(&mut tx, None).await?;
        let mut raised = 0;
        let mut charges_by_institution: HashMap<InstitutionId, Vec<Charge>> = HashMap::new();
        for b in budgets {
            if let std::collections::hash_map::Entry::Vacant(slot) =
                charges_by_institution.entry(b.institution_id)
            {
                slot.insert(store::charges_of(&mut tx, b.institution_id, month).await?);
            }
            let institution = b.institution_id;
            let status = budget_status(b, month, &charges_by_institution[&institution], Vec::new());
            let b = &status.budget;
            for threshold in b.thresholds.iter().filter(|t| status.used_pct >= **t) {
                if !store::record_budget_alert(
                    &mut tx,
                    b.id,
                    month,
                    *threshold,
                    status.spent,
                    now(),
                )
                .await?
                {
                    continue;
                }
                raised += 1;
                let mut recipients = makonis_db::orders::holders_of(
                    &mut tx,
                    Role::InstitutionAdmin.as_str(),
                    Some(b.institution_id),
                )
                .await?;
                if b.information_system_id.is_some() {
                    recipients.extend(
                        makonis_db::orders::holders_of(
                            &mut tx,
                            Role::IsOwner.as_str(),
                            Some(b.institution_id),
                        )
                        .await?,
                    );
                }
                recipients.sort();
                recipients.dedup();
                let detail = format!(
                    "{}% of the {} {} monthly budget used in {} ({} {} spent)",
                    threshold,
                    b.monthly_amount,
                    b.currency,
                    month,
                    round_money(status.spent),
                    b.currency
                );
                for user in recipients {
                    makonis_db::orders::notify_detail(
                        &mut tx,
                        user,
                        "budget.threshold",
                        b.information_system_id,
                        &detail,
                        now(),
                    )
                    .await?;
                }
            }
        }
        commit(tx).await?;
        Ok(raised)
    }
}

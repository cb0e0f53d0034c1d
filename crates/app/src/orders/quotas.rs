//! Quotas per institution and per information system, checked with the
//! quota row locked in the transaction that records an order.

use makonis_db::{Tx, commit, orders as store};
use makonis_types::catalogue::{BillingUnit, Offering};
use makonis_types::order::*;
use makonis_types::{FieldError, InstitutionId};
use rust_decimal::Decimal;

use crate::audit::{self, Change};
use crate::authz::{Action, Kind, Scope, authorize};
use crate::{App, Error, OpContext, Result};

/// What one order holds against quotas.
pub(crate) fn holding(offering: &Offering, quantity: i64, monthly: Decimal) -> store::Holding {
    let (vcpu, ram, storage) = match offering.unit {
        BillingUnit::InstanceHour | BillingUnit::UnitMonth => (
            offering.vcpu * quantity,
            offering.ram_gb * quantity,
            offering.storage_gb * quantity,
        ),
        BillingUnit::GbMonth => (0, 0, quantity),
        BillingUnit::PersonHour => (0, 0, 0),
    };
    store::Holding {
        vcpu,
        ram_gb: ram,
        storage_gb: storage,
        monthly_cents: store::cents(monthly),
    }
}

fn quota_error(what: &str, used: i64, limit: i64, requested: i64, scope: &str) -> Error {
    Error::invalid(
        FieldError::new(
            "quantity",
            "quota_exceeded",
            format!("the {scope} quota for {what} is {limit}; {used} are in use and this order needs {requested}"),
        )
        .with_param("what", what)
        .with_param("limit", limit)
        .with_param("used", used)
        .with_param("requested", requested)
        .with_param("scope", scope),
    )
}

impl App {
    /// Checks the scope's quota with its row locked for this transaction.
    pub(crate) async fn check_quota(
        tx: &mut Tx,
        order: &Order,
        add: store::Holding,
        system_scope: bool,
    ) -> Result<()> {
        let system = system_scope.then_some(order.information_system_id);
        let Some(quota) = store::lock_quota(tx, order.institution_id, system).await? else {
            return Ok(());
        };
        let used = store::usage(tx, order.institution_id, system).await?;
        let scope = if system_scope {
            "system"
        } else {
            "institution"
        };
        for (what, limit, used, add) in [
            ("vCPU", quota.vcpu, used.vcpu, add.vcpu),
            ("RAM GB", quota.ram_gb, used.ram_gb, add.ram_gb),
            (
                "storage GB",
                quota.storage_gb,
                used.storage_gb,
                add.storage_gb,
            ),
        ] {
            if let Some(limit) = limit
                && used + add > limit
            {
                return Err(quota_error(what, used, limit, add, scope));
            }
        }
        if let Some(budget) = quota.monthly_budget_eur {
            let limit = store::cents(budget);
            if used.monthly_cents + add.monthly_cents > limit {
                return Err(Error::invalid(
                    FieldError::new(
                        "quantity",
                        "quota_exceeded",
                        format!(
                            "the {scope} monthly budget is {budget} EUR; {} EUR are committed and this order adds {} EUR",
                            Decimal::new(used.monthly_cents, 2),
                            Decimal::new(add.monthly_cents, 2)
                        ),
                    )
                    .with_param("what", "EUR")
                    .with_param("limit", budget)
                    .with_param("used", Decimal::new(used.monthly_cents, 2))
                    .with_param("requested", Decimal::new(add.monthly_cents, 2))
                    .with_param("scope", scope),
                ));
            }
        }
        Ok(())
    }
}

impl App {
    pub async fn set_quota(
        &self,
        ctx: &OpContext,
        institution: InstitutionId,
        input: &QuotaInput,
    ) -> Result<Quota> {
        authorize(
            ctx,
            Action::Update,
            Kind::Quotas,
            Scope::Institution(institution),
        )?;
        let mut v = makonis_types::Validator::new();
        for (field, value) in [
            ("vcpu", input.vcpu),
            ("ram_gb", input.ram_gb),
            ("storage_gb", input.storage_gb),
        ] {
            if let Some(n) = value {
                v.range(field, n, 0, 100_000_000);
            }
        }
        if input.monthly_budget_eur.is_some_and(|b| b < Decimal::ZERO) {
            v.push(
                FieldError::new(
                    "monthly_budget_eur",
                    "out_of_range",
                    "the budget cannot be negative",
                )
                .with_param("min", 0),
            );
        }
        v.finish()?;
        let mut tx = self.datastore().begin().await?;
        if let Some(system) = input.information_system_id
            && makonis_db::systems::get(&mut tx, system)
                .await?
                .is_none_or(|s| s.institution_id != institution)
        {
            return Err(Error::invalid(FieldError::new(
                "information_system_id",
                "not_found",
                "no such system of this institution",
            )));
        }
        let quota = Quota {
            institution_id: institution,
            information_system_id: input.information_system_id,
            vcpu: input.vcpu,
            ram_gb: input.ram_gb,
            storage_gb: input.storage_gb,
            monthly_budget_eur: input.monthly_budget_eur,
        };
        store::put_quota(&mut tx, &quota).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "quota.set",
                target_kind: "quota",
                target_id: input
                    .information_system_id
                    .map_or_else(|| institution.to_string(), |s| s.to_string()),
                target_institution: Some(institution),
                before: None,
                after: audit::summary(&quota),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(quota)
    }

    /// The institution's quotas with what is in use under each.
    pub async fn quotas(
        &self,
        ctx: &OpContext,
        institution: InstitutionId,
    ) -> Result<Vec<(Quota, QuotaUsage)>> {
        authorize(
            ctx,
            Action::Read,
            Kind::Quotas,
            Scope::Institution(institution),
        )?;
        let mut conn = self.datastore().conn().await?;
        let mut out = Vec::new();
        for q in store::quotas_of(&mut conn, institution).await? {
            let used = store::usage(&mut conn, institution, q.information_system_id).await?;
            out.push((
                q,
                QuotaUsage {
                    vcpu: used.vcpu,
                    ram_gb: used.ram_gb,
                    storage_gb: used.storage_gb,
                    monthly_eur: Decimal::new(used.monthly_cents, 2),
                },
            ));
        }
        Ok(out)
    }
}

//! Monthly statements: previewed, issued as immutable versions, read, and
//! written as CSV.

use std::collections::HashMap;

use makonis_db::metering as store;
use makonis_db::{commit, federation as federation_store};
use makonis_types::federation::ProviderId;
use makonis_types::metering::*;
use makonis_types::{FieldError, InformationSystemId, InstitutionId};
use rust_decimal::Decimal;

use crate::audit::{self, Change};
use crate::authz::{Action, Scope};
use crate::metering::arithmetic::build_statement;
use crate::{App, Error, OpContext, Result, now};

impl App {
    pub(super) async fn label_maps(
        &self,
        conn: &mut makonis_db::Conn,
    ) -> Result<(
        HashMap<InformationSystemId, String>,
        HashMap<ProviderId, String>,
    )> {
        let systems = store::system_keys(conn)
            .await?
            .into_iter()
            .map(|(id, code, name, _)| (id, format!("{code} {name}")))
            .collect();
        let providers = federation_store::list_providers(conn)
            .await?
            .into_iter()
            .map(|p| (p.id, p.short_name))
            .collect();
        Ok((systems, providers))
    }

    /// What an institution's statement for a month would say now, without
    /// issuing it.
    pub async fn preview_statement(
        &self,
        ctx: &OpContext,
        institution: InstitutionId,
        month: Month,
    ) -> Result<Statement> {
        self.require_costs(ctx, Action::Read, Scope::Institution(institution))?;
        let mut conn = self.datastore().conn().await?;
        if makonis_db::identity::institution::get(&mut conn, institution)
            .await?
            .is_none()
        {
            return Err(Error::NotFound {
                kind: "institution",
            });
        }
        let charges = store::charges_of(&mut conn, institution, month).await?;
        let (systems, providers) = self.label_maps(&mut conn).await?;
        Ok(build_statement(
            institution,
            month,
            0,
            None,
            &charges,
            &systems,
            &providers,
            None,
        ))
    }

    /// Issues an institution's statement for a finished month. Statements
    /// are immutable; issuing again makes a new version and needs a reason.
    pub async fn issue_statement(
        &self,
        ctx: &OpContext,
        input: &IssueStatementInput,
    ) -> Result<Statement> {
        self.require_costs(ctx, Action::Update, Scope::Platform)?;
        if input.month.end() > now() {
            return Err(Error::invalid(
                FieldError::new(
                    "month",
                    "out_of_range",
                    format!("{} has not ended yet", input.month),
                )
                .with_param("max", Month::of(now()).previous()),
            ));
        }
        let mut tx = self.datastore().begin().await?;
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
        let latest =
            store::latest_statement_version(&mut tx, input.institution_id, input.month).await?;
        let reason = input
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        if latest > 0 && reason.is_none() {
            return Err(Error::invalid(FieldError::new(
                "reason",
                "required",
                format!(
                    "version {latest} of this statement was issued; say why it is issued again"
                ),
            )));
        }
        if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
            return Err(Error::invalid(
                FieldError::new("reason", "too_long", "at most 500 characters")
                    .with_param("max", 500),
            ));
        }
        let charges = store::charges_of(&mut tx, input.institution_id, input.month).await?;
        let (systems, providers) = self.label_maps(&mut tx).await?;
        let statement = build_statement(
            input.institution_id,
            input.month,
            latest + 1,
            reason,
            &charges,
            &systems,
            &providers,
            ctx.user().map(|u| u.id),
        );
        store::insert_statement(&mut tx, &statement).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "statement.issued",
                target_kind: "statement",
                target_id: statement.summary.id.to_string(),
                target_institution: Some(input.institution_id),
                before: None,
                after: audit::summary(&statement.summary),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(statement)
    }

    /// Issued statements the actor may read: one institution's, or every
    /// institution's for the Broker and auditors.
    pub async fn statements(
        &self,
        ctx: &OpContext,
        institution: Option<InstitutionId>,
    ) -> Result<Vec<StatementSummary>> {
        match institution {
            Some(i) => self.require_costs(ctx, Action::Read, Scope::Institution(i))?,
            None => self.require_costs(ctx, Action::Read, Scope::Platform)?,
        }
        let mut conn = self.datastore().conn().await?;
        Ok(store::statements(&mut conn, institution).await?)
    }

    pub async fn statement(&self, ctx: &OpContext, id: StatementId) -> Result<Statement> {
        let mut conn = self.datastore().conn().await?;
        let statement = store::statement(&mut conn, id)
            .await?
            .ok_or(Error::NotFound { kind: "statement" })?;
        // Another tenant's statement is "not found" for them, not forbidden.
        self.require_costs(
            ctx,
            Action::Read,
            Scope::Institution(statement.summary.institution_id),
        )?;
        Ok(statement)
    }
}

/// Plain CSV of a statement: one row per line, rounded amounts as charged.
pub fn statement_csv(s: &Statement) -> String {
    let mut out = csv_writer();
    let _ = out.write_record([
        "line",
        "month",
        "version",
        "information_system",
        "provider",
        "service_category",
        "service",
        "charge_category",
        "charge_class",
        "unit",
        "quantity",
        "unit_price",
        "price_list_version",
        "amount_eur",
        "commercial_eur",
        "commercial_reference",
        "saving_eur",
    ]);
    for l in &s.lines {
        let opt = |d: Option<Decimal>| d.map(|d| d.to_string()).unwrap_or_default();
        let _ = out.write_record([
            l.line_no.to_string(),
            s.summary.month.to_string(),
            s.summary.version.to_string(),
            l.information_system.clone(),
            l.provider.clone(),
            l.service_category.clone(),
            l.service_name.clone(),
            l.charge_category.clone(),
            l.charge_class.clone().unwrap_or_default(),
            l.unit.clone().unwrap_or_default(),
            opt(l.quantity),
            opt(l.unit_price),
            l.price_list_version.clone().unwrap_or_default(),
            l.amount.to_string(),
            opt(l.commercial_amount),
            l.commercial_ref.clone().unwrap_or_default(),
            opt(l.saving()),
        ]);
    }
    let _ = out.write_record([
        "",
        "",
        "",
        "TOTAL",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        &s.summary.total.to_string(),
        &s.summary.commercial_total.to_string(),
        "",
        "",
    ]);
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().from_writer(Vec::new())
}

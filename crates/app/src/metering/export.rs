//! FOCUS 1.2 export of charges and of issued statements.

use std::collections::BTreeMap;

use makonis_db::metering as store;
use makonis_metering::focus::{ChargeCategory, ServiceCategory};
use makonis_types::metering::*;
use makonis_types::{FieldError, InstitutionId};

use crate::authz::{Action, Scope};
use crate::{App, Error, OpContext, Result};

/// The Broker as FOCUS InvoiceIssuerName and ProviderName: its official
/// abbreviation (the validator wants these names in ASCII).
pub const INVOICE_ISSUER: &str = "VDAA";

fn parse_category(text: &str) -> ServiceCategory {
    ServiceCategory::parse(text).unwrap_or(ServiceCategory::Other)
}

fn parse_charge_category(text: &str) -> ChargeCategory {
    ChargeCategory::parse(text).unwrap_or(ChargeCategory::Adjustment)
}

pub(crate) fn focus_unit(unit: Option<&str>) -> Option<String> {
    // FOCUS UnitFormat spellings of the catalogue's billing units.
    unit.map(|u| match u {
        "instance_hour" => "Instance-Hours".to_owned(),
        "gb_month" => "GB-Months".to_owned(),
        "unit_month" => "Units-Months".to_owned(),
        "person_hour" => "Hours".to_owned(),
        other => other.to_owned(),
    })
}

fn charge_to_rated(c: &Charge, provider: &str) -> makonis_metering::RatedRecord {
    makonis_metering::RatedRecord {
        id: c.id.clone(),
        billing_account_id: c.institution_id.to_string(),
        offering_id: c.offering_id.map(|o| o.to_string()),
        resource_id: c.resource_id.clone(),
        metric: c.unit.clone(),
        unit: focus_unit(c.unit.as_deref()),
        quantity: c.quantity,
        period_start: c.period_start,
        period_end: c.period_end,
        service_category: parse_category(&c.service_category),
        service_name: c.service_name.clone(),
        provider: provider.to_owned(),
        price_list: c.price_list_id.clone().zip(c.price_list_version.clone()),
        unit_price: c.unit_price,
        currency: c.currency.clone(),
        cost: c.cost,
        charge_category: parse_charge_category(&c.charge_category),
        charge_class: c
            .charge_class
            .as_deref()
            .and_then(makonis_metering::ChargeClass::parse),
        corrects: None,
        description: c.description.clone(),
    }
}

fn write_focus(
    rows: impl Iterator<Item = (makonis_metering::RatedRecord, Month)>,
    account_names: &BTreeMap<String, String>,
    invoice_id: Option<String>,
) -> Result<Vec<u8>> {
    let mut writer = makonis_metering::FocusWriter::with_optional_columns(
        Vec::new(),
        &makonis_metering::writer::RATED_EXPORT_COLUMNS,
    )
    .map_err(Error::internal)?;
    for (rated, month) in rows {
        let ctx = makonis_metering::writer::ExportContext {
            billing_period_start: month.start(),
            billing_period_end: month.end(),
            invoice_issuer_name: INVOICE_ISSUER.into(),
            account_names: account_names.clone(),
            invoice_id: invoice_id.clone(),
        };
        writer
            .write(&makonis_metering::rated_to_focus(&rated, &ctx))
            .map_err(Error::internal)?;
    }
    writer.finish().map_err(Error::internal)
}

impl App {
    async fn account_names(&self, conn: &mut makonis_db::Conn) -> Result<BTreeMap<String, String>> {
        Ok(store::institution_keys(conn)
            .await?
            .into_iter()
            .map(|(id, _, _, name)| (id.to_string(), name))
            .collect())
    }

    /// Charges of one institution in a month, at full precision.
    pub async fn charges(
        &self,
        ctx: &OpContext,
        institution: InstitutionId,
        month: Month,
    ) -> Result<Vec<Charge>> {
        self.require_costs(ctx, Action::Read, Scope::Institution(institution))?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::charges_of(&mut conn, institution, month).await?)
    }

    /// A statement as FOCUS 1.2 CSV: one row per statement line, costs at
    /// full precision (so quantity × unit price = cost holds exactly), the
    /// statement id and version as InvoiceId.
    pub async fn statement_focus(&self, ctx: &OpContext, id: StatementId) -> Result<Vec<u8>> {
        let s = self.statement(ctx, id).await?;
        let mut conn = self.datastore().conn().await?;
        let names = self.account_names(&mut conn).await?;
        let month = s.summary.month;
        let rows = s.lines.iter().map(|l| {
            let rated = makonis_metering::RatedRecord {
                id: format!("{}-{}", s.summary.id, l.line_no),
                billing_account_id: s.summary.institution_id.to_string(),
                offering_id: l.offering_id.map(|o| o.to_string()),
                resource_id: None,
                metric: l.unit.clone(),
                unit: focus_unit(l.unit.as_deref()),
                quantity: l.quantity,
                period_start: month.start(),
                period_end: month.end(),
                service_category: parse_category(&l.service_category),
                service_name: l.service_name.clone(),
                provider: l.provider.clone(),
                price_list: l
                    .price_list_version
                    .clone()
                    .map(|v| ("price-list".to_owned(), v)),
                unit_price: l.unit_price,
                currency: s.summary.currency.clone(),
                cost: l.exact_amount,
                charge_category: parse_charge_category(&l.charge_category),
                charge_class: l
                    .charge_class
                    .as_deref()
                    .and_then(makonis_metering::ChargeClass::parse),
                corrects: None,
                description: format!("{}: {}", l.information_system, l.service_name),
            };
            (rated, month)
        });
        write_focus(
            rows,
            &names,
            Some(format!("{}-v{}", s.summary.id, s.summary.version)),
        )
    }

    /// Every charge of an institution (or, for the Broker, all) in months
    /// `from..=to` as FOCUS 1.2 CSV.
    pub async fn export_focus(
        &self,
        ctx: &OpContext,
        institution: Option<InstitutionId>,
        from: Month,
        to: Month,
    ) -> Result<Vec<u8>> {
        match institution {
            Some(i) => self.require_costs(ctx, Action::Read, Scope::Institution(i))?,
            None => self.require_costs(ctx, Action::Read, Scope::Platform)?,
        }
        if to < from {
            return Err(Error::invalid(
                FieldError::new("to", "out_of_range", "`to` must not be before `from`")
                    .with_param("min", from),
            ));
        }
        let mut conn = self.datastore().conn().await?;
        let names = self.account_names(&mut conn).await?;
        let (_, providers) = self.label_maps(&mut conn).await?;
        let charges = store::charges_between(&mut conn, institution, from, to).await?;
        let rows = charges.iter().map(|c| {
            let provider = providers
                .get(&c.provider_id)
                .map(String::as_str)
                .unwrap_or("unknown");
            (charge_to_rated(c, provider), c.month)
        });
        write_focus(rows, &names, None)
    }
}

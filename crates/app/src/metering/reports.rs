//! Cost and usage series for the charts, and the split by provider.

use std::collections::{BTreeMap, HashMap};

use makonis_db::federation as federation_store;
use makonis_db::metering as store;
use makonis_types::federation::ProviderId;
use makonis_types::metering::*;
use makonis_types::{FieldError, InformationSystemId, InstitutionId};
use rust_decimal::Decimal;

use crate::authz::{Action, Scope};
use crate::metering::export::focus_unit;
use crate::{App, Error, OpContext, Result};

/// How a cost series is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostGrouping {
    /// By information system (institution-wide lines as one group).
    System,
    Provider,
    ServiceCategory,
}

impl App {
    /// Cost per month and group for an institution, months `from..=to`,
    /// exact sums (charts round for display only).
    pub async fn cost_series(
        &self,
        ctx: &OpContext,
        institution: InstitutionId,
        from: Month,
        to: Month,
        grouping: CostGrouping,
    ) -> Result<Vec<CostPoint>> {
        self.require_costs(ctx, Action::Read, Scope::Institution(institution))?;
        let mut conn = self.datastore().conn().await?;
        let rows = store::cost_rows(&mut conn, Some(institution), from, to).await?;
        let labels = self.group_labels(&mut conn, false).await?;
        let mut sums: BTreeMap<(Month, String), (Decimal, Option<Decimal>)> = BTreeMap::new();
        for r in rows {
            let group = labels.group(
                grouping,
                r.institution_id,
                r.information_system_id,
                r.provider_id,
                &r.service_category,
            );
            let e = sums.entry((r.month, group)).or_default();
            e.0 += r.cost;
            if let Some(c) = r.commercial_cost {
                e.1 = Some(e.1.unwrap_or_default() + c);
            }
        }
        Ok(sums
            .into_iter()
            .map(|((month, group), (cost, commercial_cost))| CostPoint {
                month,
                group,
                cost,
                commercial_cost,
            })
            .collect())
    }

    /// Usage quantity per month, billing unit and group, months
    /// `from..=to`, exact sums: of one institution (its readers and the
    /// platform's, as for [`App::cost_series`]) or, with `None`, of the whole
    /// federation (the platform's readers only). Usage charges count with
    /// their corrections; purchases, taxes, credits, adjustments and shared
    /// costs have no usage quantity. Units are grouped as written, with
    /// Mākonis' own in FOCUS spelling (`instance_hour` → `Instance-Hours`),
    /// so collected and billed hours of one unit add up.
    pub async fn usage_series(
        &self,
        ctx: &OpContext,
        institution: Option<InstitutionId>,
        from: Month,
        to: Month,
        grouping: CostGrouping,
    ) -> Result<Vec<UsagePoint>> {
        let scope = match institution {
            Some(i) => Scope::Institution(i),
            None => Scope::Platform,
        };
        self.require_costs(ctx, Action::Read, scope)?;
        if from > to {
            return Err(Error::invalid(FieldError::new(
                "from",
                "range",
                format!("the first month ({from}) is after the last ({to})"),
            )));
        }
        let mut conn = self.datastore().conn().await?;
        let rows = store::usage_rows(&mut conn, institution, from, to).await?;
        let labels = self.group_labels(&mut conn, institution.is_none()).await?;
        let mut sums: BTreeMap<(Month, String, String), Decimal> = BTreeMap::new();
        for r in rows {
            let group = labels.group(
                grouping,
                r.institution_id,
                r.information_system_id,
                r.provider_id,
                &r.service_category,
            );
            let unit = focus_unit(Some(&r.unit)).unwrap_or_default();
            *sums.entry((r.month, unit, group)).or_default() += r.quantity;
        }
        Ok(sums
            .into_iter()
            .map(|((month, unit, group), quantity)| UsagePoint {
                month,
                unit,
                group,
                quantity,
            })
            .collect())
    }

    /// The labels series are grouped by. Across institutions a system is
    /// `INSTITUTION/CODE` (codes are unique only within an institution).
    async fn group_labels(
        &self,
        conn: &mut makonis_db::Conn,
        across_institutions: bool,
    ) -> Result<GroupLabels> {
        let (systems, providers) = self.label_maps(conn).await?;
        let codes = systems
            .iter()
            .map(|(id, label)| (*id, label.split(' ').next().unwrap_or(label).to_owned()))
            .collect();
        let institutions = if across_institutions {
            store::institution_keys(conn)
                .await?
                .into_iter()
                .map(|(id, short_name, _, _)| (id, short_name))
                .collect()
        } else {
            HashMap::new()
        };
        Ok(GroupLabels {
            codes,
            providers,
            institutions,
        })
    }
}

/// System codes, provider and (across institutions) institution short
/// names, for grouping series.
struct GroupLabels {
    codes: HashMap<InformationSystemId, String>,
    providers: HashMap<ProviderId, String>,
    institutions: HashMap<InstitutionId, String>,
}

impl GroupLabels {
    fn group(
        &self,
        grouping: CostGrouping,
        institution: InstitutionId,
        system: Option<InformationSystemId>,
        provider: ProviderId,
        service_category: &str,
    ) -> String {
        match grouping {
            CostGrouping::System => {
                let code = system
                    .and_then(|s| self.codes.get(&s).cloned())
                    .unwrap_or_else(|| "—".to_owned());
                match self.institutions.get(&institution) {
                    Some(short) => format!("{short}/{code}"),
                    None => code,
                }
            }
            CostGrouping::Provider => self
                .providers
                .get(&provider)
                .cloned()
                .unwrap_or_else(|| provider.to_string()),
            CostGrouping::ServiceCategory => service_category.to_owned(),
        }
    }
}

impl App {
    /// Every provider's charges in a month, split between its own
    /// institution's use and everyone else's (the federation's view).
    pub async fn provider_split(
        &self,
        ctx: &OpContext,
        month: Month,
    ) -> Result<Vec<ProviderSplit>> {
        self.require_costs(ctx, Action::Read, Scope::Platform)?;
        let mut conn = self.datastore().conn().await?;
        let providers = federation_store::list_providers(&mut conn).await?;
        let rows = store::cost_rows(&mut conn, None, month, month).await?;
        let mut out = Vec::new();
        for p in providers {
            let mine: Vec<_> = rows.iter().filter(|r| r.provider_id == p.id).collect();
            let mut institutions: Vec<InstitutionId> =
                mine.iter().map(|r| r.institution_id).collect();
            institutions.sort();
            institutions.dedup();
            let internal: Decimal = mine
                .iter()
                .filter(|r| Some(r.institution_id) == p.institution_id)
                .map(|r| r.cost)
                .sum();
            let total: Decimal = mine.iter().map(|r| r.cost).sum();
            out.push(ProviderSplit {
                provider_id: p.id,
                provider: p.short_name,
                month,
                internal,
                shared: total - internal,
                institutions: institutions.len() as i64,
            });
        }
        Ok(out)
    }
}

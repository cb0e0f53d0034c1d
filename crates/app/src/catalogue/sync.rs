//! Catalogue sync (REQUIREMENTS FED-2, FED-3): a provider with a driver
//! that knows its own catalogue (Nova flavours, EC2 instance types) has its
//! offerings at a site brought in line with it. New ones are added, renamed
//! ones renamed (matched by the provider's id, which the offering keeps),
//! sizes and capacity refreshed, and ones gone at the provider withdrawn:
//! kept inactive, because orders and charges name them. Prices stay the
//! provider's to publish; the report lists synced offerings without one.

use std::collections::{HashMap, HashSet};

use makonis_db::{catalogue as store, commit, federation};
use makonis_drivers::ProviderOffering;
use makonis_types::FieldError;
use makonis_types::catalogue::*;
use makonis_types::federation::{ProviderId, SiteId};
use rust_decimal::Decimal;

use crate::audit::{self, Change};
use crate::authz::{Action, Kind, Scope, authorize};
use crate::federation::provider_scope;
use crate::{App, Error, OpContext, Result, now};

/// The SLA of synced offerings when nothing else says: what the state
/// providers commit to for basic services.
fn default_sla() -> Sla {
    Sla {
        availability_pct: Decimal::new(999, 1),
        support_hours: SupportHours::Business,
        response_minutes: 240,
        rpo_minutes: None,
        rto_minutes: None,
    }
}

fn unit_of(kind: OfferingKind) -> BillingUnit {
    match kind {
        OfferingKind::Volume | OfferingKind::Bucket | OfferingKind::Backup => BillingUnit::GbMonth,
        OfferingKind::Specialised => BillingUnit::PersonHour,
        OfferingKind::Vm | OfferingKind::Kubernetes | OfferingKind::Database => {
            BillingUnit::InstanceHour
        }
    }
}

/// Whole GiB, rounded up: a 512 MB flavour is a 1 GB offering (the exact
/// size stays in the description).
fn ram_gb(ram_mb: i64) -> i64 {
    (ram_mb.max(0) + 1023) / 1024
}

impl App {
    /// Brings the provider's offerings at a site in line with what its
    /// driver reports.
    pub async fn sync_catalogue(
        &self,
        ctx: &OpContext,
        provider_id: ProviderId,
        input: &CatalogueSyncInput,
    ) -> Result<CatalogueSyncReport> {
        authorize(ctx, Action::Read, Kind::Catalogue, Scope::Platform)?;
        let (provider, site_id) = {
            let mut conn = self.datastore().conn().await?;
            let provider = federation::get_provider(&mut conn, provider_id)
                .await?
                .ok_or(Error::NotFound { kind: "provider" })?;
            authorize(
                ctx,
                Action::Create,
                Kind::Catalogue,
                provider_scope(&provider),
            )?;
            let sites = federation::list_sites(&mut conn, Some(provider_id)).await?;
            let site_id = match (input.site_id, sites.as_slice()) {
                (Some(id), _) if sites.iter().any(|s| s.id == id) => id,
                (Some(_), _) => {
                    return Err(Error::invalid(FieldError::new(
                        "site_id",
                        "not_found",
                        "no such site of this provider",
                    )));
                }
                (None, [only]) => only.id,
                (None, []) => {
                    return Err(Error::invalid(FieldError::new(
                        "site_id",
                        "required",
                        "the provider has no site yet; add one first",
                    )));
                }
                (None, _) => {
                    return Err(Error::invalid(FieldError::new(
                        "site_id",
                        "required",
                        "the provider has several sites; say which one the offerings are at",
                    )));
                }
            };
            (provider, site_id)
        };
        let driver = self.driver_for(&provider).await?;
        let offered = driver.offerings().await.map_err(|e| Error::Unavailable {
            message: format!("{}: its catalogue could not be read", provider.short_name),
            detail: e.to_string(),
        })?;
        if offered.is_empty() {
            return Err(Error::Conflict {
                message: format!(
                    "{}: the provider reports no catalogue to sync; its offerings are entered by hand",
                    provider.short_name
                ),
            });
        }
        let at = now();
        let mut tx = self.datastore().begin().await?;
        let existing = store::offerings_at_site(&mut tx, provider_id, site_id).await?;
        let sla = input.sla.clone().unwrap_or_else(|| {
            existing
                .iter()
                .find(|(o, _)| o.kind == OfferingKind::Vm)
                .map_or_else(default_sla, |(o, _)| o.sla.clone())
        });
        let mut by_ref: HashMap<&str, &Offering> = HashMap::new();
        let mut by_name: HashMap<&str, &Offering> = HashMap::new();
        for (offering, reference) in &existing {
            match reference {
                Some(r) => {
                    by_ref.insert(r.as_str(), offering);
                }
                None => {
                    by_name.insert(offering.name.as_str(), offering);
                }
            }
        }
        let mut report = CatalogueSyncReport {
            provider: provider.short_name.clone(),
            site_id: Some(site_id),
            ..CatalogueSyncReport::default()
        };
        let mut seen: HashSet<&str> = HashSet::new();
        // The offerings the provider has, active after this sync.
        let mut synced: Vec<(OfferingId, &str)> = Vec::new();
        for p in &offered {
            seen.insert(p.provider_ref.as_str());
            // A hand-entered offering of the same name is adopted, not
            // duplicated.
            let current = by_ref
                .get(p.provider_ref.as_str())
                .or_else(|| by_name.get(p.name.as_str()))
                .copied();
            let wanted = synced_offering(p, current, provider_id, site_id, &sla);
            // A renamed or resized flavour must meet the bounds too.
            check_sizes(&wanted).map_err(|m| Error::Unavailable {
                message: format!("{}: offering {}: {m}", provider.short_name, p.name),
                detail: String::new(),
            })?;
            synced.push((wanted.id, p.name.as_str()));
            match current {
                None => {
                    store::insert_synced_offering(&mut tx, &wanted, &p.provider_ref, at).await?;
                    report.added.push(wanted.name.clone());
                }
                Some(old) if same(old, &wanted) && by_ref.contains_key(p.provider_ref.as_str()) => {
                    report.unchanged += 1;
                }
                Some(old) => {
                    store::update_synced_offering(&mut tx, &wanted, &p.provider_ref, at).await?;
                    if old.name != wanted.name {
                        report.renamed.push(Renamed {
                            provider_ref: p.provider_ref.clone(),
                            from: old.name.clone(),
                            to: wanted.name.clone(),
                        });
                    } else {
                        report.updated.push(wanted.name.clone());
                    }
                }
            }
        }
        for (offering, reference) in &existing {
            let Some(reference) = reference else { continue };
            if offering.active && !seen.contains(reference.as_str()) {
                let withdrawn = Offering {
                    active: false,
                    capacity_units: 0,
                    ..offering.clone()
                };
                store::update_synced_offering(&mut tx, &withdrawn, reference, at).await?;
                report.withdrawn.push(offering.name.clone());
            }
        }
        let today = at.date_naive();
        let priced: HashSet<OfferingId> = store::price_lists(&mut tx, provider_id)
            .await?
            .into_iter()
            .filter(|l| l.is_valid_on(today))
            .flat_map(|l| l.items.into_iter().map(|i| i.offering_id))
            .collect();
        report.unpriced = synced
            .into_iter()
            .filter(|(id, _)| !priced.contains(id))
            .map(|(_, name)| name.to_owned())
            .collect();
        let changed = !(report.added.is_empty()
            && report.renamed.is_empty()
            && report.updated.is_empty()
            && report.withdrawn.is_empty());
        if changed {
            audit::append(
                &mut tx,
                ctx,
                Change {
                    action: "catalogue.sync",
                    target_kind: "provider",
                    target_id: provider_id.to_string(),
                    target_institution: provider.institution_id,
                    before: None,
                    after: audit::summary(&report),
                },
            )
            .await?;
        }
        commit(tx).await?;
        Ok(report)
    }
}

fn synced_offering(
    p: &ProviderOffering,
    current: Option<&Offering>,
    provider_id: ProviderId,
    site_id: SiteId,
    sla: &Sla,
) -> Offering {
    match current {
        // Tier, unit and SLA are the Broker's and provider's terms, not the
        // platform's: a sync leaves them as they are.
        Some(old) => Offering {
            name: p.name.clone(),
            description: p.description.clone(),
            vcpu: p.vcpu,
            ram_gb: ram_gb(p.ram_mb),
            storage_gb: p.storage_gb,
            capacity_units: p.capacity_units.unwrap_or(old.capacity_units),
            active: true,
            ..old.clone()
        },
        None => Offering {
            id: OfferingId::new(),
            provider_id,
            site_id,
            kind: p.kind,
            tier: ServiceTier::Basic,
            name: p.name.clone(),
            description: p.description.clone(),
            vcpu: p.vcpu,
            ram_gb: ram_gb(p.ram_mb),
            storage_gb: p.storage_gb,
            unit: unit_of(p.kind),
            sla: sla.clone(),
            capacity_units: p.capacity_units.unwrap_or(0),
            active: true,
        },
    }
}

fn same(a: &Offering, b: &Offering) -> bool {
    a.name == b.name
        && a.description == b.description
        && a.vcpu == b.vcpu
        && a.ram_gb == b.ram_gb
        && a.storage_gb == b.storage_gb
        && a.capacity_units == b.capacity_units
        && a.active == b.active
}

/// The same bounds a hand-entered offering must meet: a provider's
/// flavour with, say, 100 000 vCPUs is reported, not stored.
fn check_sizes(o: &Offering) -> std::result::Result<(), String> {
    let input = OfferingInput {
        site_id: o.site_id,
        kind: o.kind,
        tier: o.tier,
        name: o.name.clone(),
        description: o.description.clone(),
        vcpu: o.vcpu,
        ram_gb: o.ram_gb,
        storage_gb: o.storage_gb,
        unit: o.unit,
        sla: o.sla.clone(),
        capacity_units: o.capacity_units,
        active: o.active,
    };
    input.validate().map_err(|errors| {
        errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_rounds_up_to_whole_gib() {
        assert_eq!(ram_gb(512), 1);
        assert_eq!(ram_gb(1024), 1);
        assert_eq!(ram_gb(1025), 2);
        assert_eq!(ram_gb(8192), 8);
    }
}

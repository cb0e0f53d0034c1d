//! Placement that explains itself (REQUIREMENTS FED-4, FED-9, FED-11,
//! SEC-8). Given an information system's profile and a request, every
//! offering of the requested kind is either feasible, with a score, or
//! excluded by the first hard rule it breaks, named with the provider, the
//! site and the fact ("IeM IC / Rīga-2: certificate 'ISO/IEC 27001' expired
//! 2026-03-01").
//!
//! Hard rules, checked in this order (see `docs/placement.md`):
//!
//! 1. the offering is active;
//! 2. capacity covers the quantity;
//! 3. the site satisfies data residency;
//! 4. category A needs a valid national category-A accreditation, category
//!    B one for A or B;
//! 5. critical-infrastructure systems need the critical-infrastructure
//!    accreditation;
//! 6. categories A and B and critical systems need a valid ISO/IEC 27001;
//! 7. the same need a valid Uptime certification of tier III or higher for
//!    the site;
//! 8. the SLA availability meets the target (not for specialised services,
//!    which people deliver);
//! 9. data services (databases, backup) must guarantee an RPO and RTO
//!    within the targets;
//! 10. a price list valid on the day prices the offering;
//! 11. the monthly cost fits the budget.
//!
//! The score (0–100) of a feasible offering: cost 50 (cheapest gets all),
//! availability margin over the target 20, state provider 10 (the state
//! cloud comes first), site tier 10, capacity headroom 10. Ties go to the
//! cheaper, then to the lower offering id, so results are deterministic.
//!
//! Pure: no I/O, so it is cheap to call and to test with random federations.

use chrono::NaiveDate;
use makonis_types::catalogue::{Offering, OfferingId, OfferingKind};
use makonis_types::federation::{
    Certification, CertificationKind, CertificationStatus, Provider, ProviderKind, Site,
};
use makonis_types::information_system::{InformationSystem, SecurityCategory};
use makonis_types::string_enum;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

string_enum!(
    /// Where the data may live.
    Residency {
        /// Latvia only.
        Latvia = "lv",
        /// Any EU member state.
        Eu = "eu",
        Any = "any",
    }
);

/// What placement needs to know about the information system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SystemProfile {
    pub security_category: SecurityCategory,
    pub critical_infrastructure: bool,
    pub residency: Residency,
    /// Monthly availability target, percent.
    #[schema(value_type = String)]
    pub availability_target: Decimal,
    pub rpo_minutes: i64,
    pub rto_minutes: i64,
}

impl SystemProfile {
    /// The profile of a registered IS. Category A and critical systems stay
    /// in Latvia by default; others may use the EU. Availability targets
    /// follow the category (A 99.9, B 99.5, C 99.0) unless overridden.
    pub fn of(system: &InformationSystem) -> Self {
        let residency =
            if system.security_category == SecurityCategory::A || system.critical_infrastructure {
                Residency::Latvia
            } else {
                Residency::Eu
            };
        Self {
            security_category: system.security_category,
            critical_infrastructure: system.critical_infrastructure,
            residency,
            availability_target: default_availability(system.security_category),
            rpo_minutes: system.rpo_minutes,
            rto_minutes: system.rto_minutes,
        }
    }
}

pub fn default_availability(category: SecurityCategory) -> Decimal {
    match category {
        SecurityCategory::A => Decimal::new(999, 1),
        SecurityCategory::B => Decimal::new(995, 1),
        SecurityCategory::C => Decimal::new(990, 1),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlacementRequest {
    pub kind: OfferingKind,
    /// Units of the offering's billing unit (instances, GB, hours…).
    pub quantity: i64,
    /// Largest acceptable monthly cost, EUR.
    #[schema(value_type = Option<String>)]
    pub max_monthly_eur: Option<Decimal>,
    /// Smallest acceptable size of one unit (VMs, nodes, database instances).
    #[serde(default)]
    pub min_vcpu: Option<i64>,
    #[serde(default)]
    pub min_ram_gb: Option<i64>,
}

/// One offering with everything the rules look at.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub offering: &'a Offering,
    pub provider: &'a Provider,
    pub site: &'a Site,
    /// The provider's certifications (provider-wide and per site).
    pub certifications: &'a [Certification],
    /// The unit price from the price list valid on the day, if any.
    pub unit_price: Option<Decimal>,
}

string_enum!(
    /// The hard rule that excluded an offering.
    Rule {
        Inactive = "inactive",
        Size = "size",
        Capacity = "capacity",
        Residency = "residency",
        CategoryAccreditation = "category_accreditation",
        CriticalAccreditation = "critical_accreditation",
        Iso27001 = "iso27001",
        UptimeTier = "uptime_tier",
        Availability = "availability",
        RecoveryObjectives = "recovery_objectives",
        NoPrice = "no_price",
        Budget = "budget",
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Feasible {
    pub offering_id: OfferingId,
    pub offering: String,
    pub provider: String,
    pub site: String,
    #[schema(value_type = String)]
    pub monthly_cost: Decimal,
    pub score: f64,
    /// Certifications this placement relies on that expire within 60 days.
    pub expiring: Vec<Expiring>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Expiring {
    pub certificate: CertificationKind,
    pub valid_until: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Excluded {
    pub offering_id: OfferingId,
    pub offering: String,
    pub provider: String,
    pub site: String,
    pub rule: Rule,
    /// English explanation: "provider / site: fact".
    pub reason: String,
    /// The fact's values, so the portal can say it in the reader's language.
    pub params: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Decision {
    /// Best first.
    pub feasible: Vec<Feasible>,
    pub excluded: Vec<Excluded>,
}

/// Decides placement for `request` on `day`.
pub fn place(
    profile: &SystemProfile,
    request: &PlacementRequest,
    candidates: &[Candidate<'_>],
    day: NaiveDate,
) -> Decision {
    let mut feasible = Vec::new();
    let mut excluded = Vec::new();
    let mut passing: Vec<(&Candidate<'_>, Decimal, Vec<Expiring>)> = Vec::new();
    for c in candidates
        .iter()
        .filter(|c| c.offering.kind == request.kind)
    {
        let label = || (c.provider.short_name.clone(), c.site.name.clone());
        match check(profile, request, c, day) {
            Ok((cost, expiring)) => passing.push((c, cost, expiring)),
            Err(Refusal { rule, fact, params }) => {
                let (provider, site) = label();
                excluded.push(Excluded {
                    offering_id: c.offering.id,
                    offering: c.offering.name.clone(),
                    reason: format!("{provider} / {site}: {fact}"),
                    provider,
                    site,
                    rule,
                    params,
                });
            }
        }
    }
    let cheapest = passing
        .iter()
        .map(|(_, cost, _)| *cost)
        .min()
        .unwrap_or(Decimal::ZERO);
    for (c, cost, expiring) in passing {
        feasible.push(Feasible {
            offering_id: c.offering.id,
            offering: c.offering.name.clone(),
            provider: c.provider.short_name.clone(),
            site: c.site.name.clone(),
            monthly_cost: cost,
            score: score(profile, request, c, cost, cheapest),
            expiring,
        });
    }
    feasible.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.monthly_cost.cmp(&b.monthly_cost))
            .then(a.offering_id.cmp(&b.offering_id))
    });
    excluded.sort_by_key(|e| e.offering_id);
    Decision { feasible, excluded }
}

/// Why an offering is out: the rule, the fact in English, and the fact's
/// values, so the portal can say it in the reader's language.
struct Refusal {
    rule: Rule,
    fact: String,
    params: std::collections::BTreeMap<String, String>,
}

fn refuse(rule: Rule, fact: String, params: &[(&str, String)]) -> Refusal {
    Refusal {
        rule,
        fact,
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    }
}

/// The certification of `kinds` valid on `day` covering the site, or the
/// refusal under `rule`.
fn certificate<'c>(
    c: &'c Candidate<'_>,
    rule: Rule,
    kinds: &[CertificationKind],
    day: NaiveDate,
    min_tier: Option<i64>,
) -> Result<&'c Certification, Refusal> {
    let relevant: Vec<&Certification> = c
        .certifications
        .iter()
        .filter(|cert| kinds.contains(&cert.kind) && cert.covers(c.site.id))
        .filter(|cert| min_tier.is_none_or(|t| cert.uptime_tier().unwrap_or(0) >= t))
        .collect();
    if let Some(valid) = relevant.iter().find(|cert| cert.is_valid_on(day)) {
        return Ok(valid);
    }
    let tier_note = min_tier
        .map(|t| format!(" (tier {} or higher)", roman(t)))
        .unwrap_or_default();
    let tier = min_tier.map(|t| roman(t).to_owned()).unwrap_or_default();
    Err(match relevant.iter().max_by_key(|cert| cert.valid_until) {
        Some(cert) if cert.status_on(day) == CertificationStatus::Expired => refuse(
            rule,
            format!(
                "certificate '{}'{tier_note} expired {}",
                cert.kind.title(),
                cert.valid_until
            ),
            &[
                ("state", "expired".into()),
                ("certificate", cert.kind.as_str().into()),
                ("date", cert.valid_until.to_string()),
                ("tier", tier),
            ],
        ),
        Some(cert) => refuse(
            rule,
            format!(
                "certificate '{}'{tier_note} is valid only from {}",
                cert.kind.title(),
                cert.valid_from
            ),
            &[
                ("state", "not_yet".into()),
                ("certificate", cert.kind.as_str().into()),
                ("date", cert.valid_from.to_string()),
                ("tier", tier),
            ],
        ),
        None => refuse(
            rule,
            format!("no '{}'{tier_note} certificate", kinds[0].title()),
            &[
                ("state", "missing".into()),
                ("certificate", kinds[0].as_str().into()),
                ("tier", tier),
            ],
        ),
    })
}

fn roman(tier: i64) -> &'static str {
    match tier {
        1 => "I",
        2 => "II",
        3 => "III",
        _ => "IV",
    }
}

type Check = Result<(Decimal, Vec<Expiring>), Refusal>;

fn check(
    profile: &SystemProfile,
    request: &PlacementRequest,
    c: &Candidate<'_>,
    day: NaiveDate,
) -> Check {
    let o = c.offering;
    if !o.active {
        return Err(refuse(
            Rule::Inactive,
            "the offering is withdrawn".into(),
            &[],
        ));
    }
    let (min_vcpu, min_ram) = (
        request.min_vcpu.unwrap_or(0),
        request.min_ram_gb.unwrap_or(0),
    );
    if o.vcpu < min_vcpu || o.ram_gb < min_ram {
        return Err(refuse(
            Rule::Size,
            format!(
                "offers {} vCPU / {} GB RAM; at least {min_vcpu} vCPU / {min_ram} GB needed",
                o.vcpu, o.ram_gb
            ),
            &[
                ("vcpu", o.vcpu.to_string()),
                ("ram", o.ram_gb.to_string()),
                ("min_vcpu", min_vcpu.to_string()),
                ("min_ram", min_ram.to_string()),
            ],
        ));
    }
    if o.capacity_units < request.quantity {
        return Err(refuse(
            Rule::Capacity,
            format!(
                "capacity {} units, {} requested",
                o.capacity_units, request.quantity
            ),
            &[
                ("capacity", o.capacity_units.to_string()),
                ("requested", request.quantity.to_string()),
            ],
        ));
    }
    let country = c.site.country.as_str();
    match profile.residency {
        Residency::Latvia if country != "LV" => {
            return Err(refuse(
                Rule::Residency,
                format!("site is in {country}; the data must stay in Latvia"),
                &[("country", country.into()), ("residency", "lv".into())],
            ));
        }
        Residency::Eu if !makonis_types::federation::is_eu_member(country) => {
            return Err(refuse(
                Rule::Residency,
                format!("site is in {country}, outside the EU"),
                &[("country", country.into()), ("residency", "eu".into())],
            ));
        }
        _ => {}
    }
    let mut used = Vec::new();
    let needs_assurance =
        profile.security_category != SecurityCategory::C || profile.critical_infrastructure;
    let accreditation: &[CertificationKind] = match profile.security_category {
        SecurityCategory::A => &[CertificationKind::NationalA],
        SecurityCategory::B => &[CertificationKind::NationalB, CertificationKind::NationalA],
        SecurityCategory::C => &[],
    };
    if !accreditation.is_empty() {
        used.push(certificate(
            c,
            Rule::CategoryAccreditation,
            accreditation,
            day,
            None,
        )?);
    }
    if profile.critical_infrastructure {
        used.push(certificate(
            c,
            Rule::CriticalAccreditation,
            &[CertificationKind::NationalCritical],
            day,
            None,
        )?);
    }
    if needs_assurance {
        used.push(certificate(
            c,
            Rule::Iso27001,
            &[CertificationKind::Iso27001],
            day,
            None,
        )?);
        used.push(certificate(
            c,
            Rule::UptimeTier,
            &[CertificationKind::UptimeTier],
            day,
            Some(3),
        )?);
    }
    // People, not machines, deliver specialised services: no availability.
    if o.kind != OfferingKind::Specialised && o.sla.availability_pct < profile.availability_target {
        return Err(refuse(
            Rule::Availability,
            format!(
                "availability {} % is below the target {} %",
                o.sla.availability_pct, profile.availability_target
            ),
            &[
                ("availability", o.sla.availability_pct.to_string()),
                ("target", profile.availability_target.to_string()),
            ],
        ));
    }
    if matches!(o.kind, OfferingKind::Database | OfferingKind::Backup) {
        match (o.sla.rpo_minutes, o.sla.rto_minutes) {
            (Some(rpo), Some(rto)) if rpo <= profile.rpo_minutes && rto <= profile.rto_minutes => {}
            (Some(rpo), Some(rto)) => {
                return Err(refuse(
                    Rule::RecoveryObjectives,
                    format!(
                        "guarantees RPO {rpo} min / RTO {rto} min; the system needs RPO {} / RTO {}",
                        profile.rpo_minutes, profile.rto_minutes
                    ),
                    &[
                        ("rpo", rpo.to_string()),
                        ("rto", rto.to_string()),
                        ("target_rpo", profile.rpo_minutes.to_string()),
                        ("target_rto", profile.rto_minutes.to_string()),
                    ],
                ));
            }
            _ => {
                return Err(refuse(
                    Rule::RecoveryObjectives,
                    "guarantees no RPO/RTO for a data service".into(),
                    &[("rpo", "none".into())],
                ));
            }
        }
    }
    let Some(price) = c.unit_price else {
        return Err(refuse(
            Rule::NoPrice,
            format!("no price list valid on {day} prices it"),
            &[("date", day.to_string())],
        ));
    };
    let cost = o.unit.monthly_cost(price, request.quantity);
    if let Some(max) = request.max_monthly_eur
        && cost > max
    {
        return Err(refuse(
            Rule::Budget,
            format!("costs {cost} EUR a month, over the budget of {max} EUR"),
            &[("cost", cost.to_string()), ("budget", max.to_string())],
        ));
    }
    let warnings = used
        .iter()
        .filter(|cert| cert.status_on(day) == CertificationStatus::ExpiringSoon)
        .map(|cert| Expiring {
            certificate: cert.kind,
            valid_until: cert.valid_until,
        })
        .collect();
    Ok((cost, warnings))
}

fn score(
    profile: &SystemProfile,
    request: &PlacementRequest,
    c: &Candidate<'_>,
    cost: Decimal,
    cheapest: Decimal,
) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    let cost_part = if cost.is_zero() {
        50.0
    } else {
        50.0 * (cheapest / cost).to_f64().unwrap_or(0.0)
    };
    let headroom = Decimal::ONE_HUNDRED - profile.availability_target;
    let margin = c.offering.sla.availability_pct - profile.availability_target;
    let availability_part = if headroom.is_zero() {
        20.0
    } else {
        20.0 * (margin / headroom).to_f64().unwrap_or(0.0).clamp(0.0, 1.0)
    };
    let state_part = if c.provider.kind == ProviderKind::State {
        10.0
    } else {
        0.0
    };
    let tier_part = 10.0 * ((c.site.uptime_tier - 1).clamp(0, 3) as f64) / 3.0;
    let wanted = (request.quantity.max(1) * 10) as f64;
    let capacity_part =
        10.0 * ((c.offering.capacity_units - request.quantity) as f64 / wanted).clamp(0.0, 1.0);
    ((cost_part + availability_part + state_part + tier_part + capacity_part) * 100.0).round()
        / 100.0
}

#[cfg(test)]
mod tests;

//! Placement: worked examples with their explanations, and property tests
//! over random federations checking that no feasible result breaks a hard
//! rule and that every offering of the kind is accounted for exactly once.

use chrono::{DateTime, NaiveDate, Utc};
use makonis_types::catalogue::*;
use makonis_types::federation::*;
use makonis_types::information_system::SecurityCategory;
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn provider(short: &str, kind: ProviderKind) -> Provider {
    let t: DateTime<Utc> = DateTime::UNIX_EPOCH;
    Provider {
        id: ProviderId::new(),
        name: short.into(),
        short_name: short.into(),
        institution_id: None,
        kind,
        platform: PlatformFamily::Sim,
        endpoint: None,
        has_credentials: false,
        created_at: t,
        updated_at: t,
    }
}

fn site(p: &Provider, name: &str, country: &str, tier: i64) -> Site {
    Site {
        id: SiteId::new(),
        provider_id: p.id,
        name: name.into(),
        country: country.into(),
        latitude: 56.9,
        longitude: 24.1,
        uptime_tier: tier,
    }
}

fn cert(p: &Provider, kind: CertificationKind, level: Option<&str>, until: &str) -> Certification {
    Certification {
        id: CertificationId::new(),
        provider_id: p.id,
        site_id: None,
        kind,
        level: level.map(str::to_owned),
        issuer: "LATAK".into(),
        valid_from: day("2024-01-01"),
        valid_until: day(until),
    }
}

fn vm(p: &Provider, s: &Site, availability: &str, capacity: i64) -> Offering {
    Offering {
        id: OfferingId::new(),
        provider_id: p.id,
        site_id: s.id,
        kind: OfferingKind::Vm,
        tier: ServiceTier::Basic,
        name: "m1.large".into(),
        description: None,
        vcpu: 4,
        ram_gb: 16,
        storage_gb: 80,
        unit: BillingUnit::InstanceHour,
        sla: Sla {
            availability_pct: availability.parse().unwrap(),
            support_hours: SupportHours::Always,
            response_minutes: 30,
            rpo_minutes: None,
            rto_minutes: None,
        },
        capacity_units: capacity,
        active: true,
    }
}

fn full_certs(p: &Provider, until: &str) -> Vec<Certification> {
    vec![
        cert(p, CertificationKind::NationalA, None, until),
        cert(p, CertificationKind::NationalCritical, None, until),
        cert(p, CertificationKind::Iso27001, None, until),
        cert(p, CertificationKind::UptimeTier, Some("3"), until),
    ]
}

fn profile_a() -> SystemProfile {
    SystemProfile {
        security_category: SecurityCategory::A,
        critical_infrastructure: true,
        residency: Residency::Latvia,
        availability_target: "99.9".parse().unwrap(),
        rpo_minutes: 15,
        rto_minutes: 240,
    }
}

#[test]
fn explains_expired_certificate_and_ranks_the_rest() {
    let iem = provider("IeM IC", ProviderKind::State);
    let lvrtc = provider("LVRTC", ProviderKind::State);
    let aws = provider("Hyperscaler", ProviderKind::Commercial);
    let iem_site = site(&iem, "Rīga-2", "LV", 3);
    let lvrtc_site = site(&lvrtc, "Ulbroka", "LV", 3);
    let aws_site = site(&aws, "Frankfurt", "DE", 4);
    let mut iem_certs = full_certs(&iem, "2027-12-31");
    iem_certs[2].valid_until = day("2026-03-01"); // ISO 27001 lapsed
    let lvrtc_certs = full_certs(&lvrtc, "2026-12-15"); // expiring within 60 days of 2026-11-21
    let aws_certs = full_certs(&aws, "2028-01-01");
    let offerings = [
        vm(&iem, &iem_site, "99.95", 100),
        vm(&lvrtc, &lvrtc_site, "99.95", 100),
        vm(&aws, &aws_site, "99.99", 1000),
    ];
    let candidates = vec![
        Candidate {
            offering: &offerings[0],
            provider: &iem,
            site: &iem_site,
            certifications: &iem_certs,
            unit_price: Some("0.05".parse().unwrap()),
        },
        Candidate {
            offering: &offerings[1],
            provider: &lvrtc,
            site: &lvrtc_site,
            certifications: &lvrtc_certs,
            unit_price: Some("0.06".parse().unwrap()),
        },
        Candidate {
            offering: &offerings[2],
            provider: &aws,
            site: &aws_site,
            certifications: &aws_certs,
            unit_price: Some("0.04".parse().unwrap()),
        },
    ];
    let request = PlacementRequest {
        kind: OfferingKind::Vm,
        quantity: 2,
        max_monthly_eur: None,
        min_vcpu: None,
        min_ram_gb: None,
    };
    let decision = place(&profile_a(), &request, &candidates, day("2026-11-21"));
    let reasons: Vec<_> = decision
        .excluded
        .iter()
        .map(|e| (e.rule, e.reason.clone()))
        .collect();
    assert!(
        reasons.contains(&(
            Rule::Iso27001,
            "IeM IC / Rīga-2: certificate 'ISO/IEC 27001' expired 2026-03-01".into()
        )),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&(
            Rule::Residency,
            "Hyperscaler / Frankfurt: site is in DE; the data must stay in Latvia".into()
        )),
        "{reasons:?}"
    );
    assert_eq!(decision.feasible.len(), 1);
    let best = &decision.feasible[0];
    assert_eq!(best.provider, "LVRTC");
    assert_eq!(best.monthly_cost, "87.60".parse::<Decimal>().unwrap()); // 0.06 × 2 × 730
    assert!(
        best.expiring
            .iter()
            .any(|e| e.valid_until.to_string() == "2026-12-15"),
        "{:?}",
        best.expiring
    );
}

#[test]
fn budget_and_capacity_are_hard() {
    let p = provider("LVRTC", ProviderKind::State);
    let s = site(&p, "Ulbroka", "LV", 3);
    let certs = full_certs(&p, "2030-01-01");
    let small = vm(&p, &s, "99.95", 1);
    let candidates = [Candidate {
        offering: &small,
        provider: &p,
        site: &s,
        certifications: &certs,
        unit_price: Some(Decimal::ONE),
    }];
    let d = place(
        &profile_a(),
        &PlacementRequest {
            kind: OfferingKind::Vm,
            quantity: 2,
            max_monthly_eur: None,
            min_vcpu: None,
            min_ram_gb: None,
        },
        &candidates,
        day("2026-11-21"),
    );
    assert_eq!(d.excluded[0].rule, Rule::Capacity);
    let d = place(
        &profile_a(),
        &PlacementRequest {
            kind: OfferingKind::Vm,
            quantity: 1,
            max_monthly_eur: Some(Decimal::from(100)),
            min_vcpu: None,
            min_ram_gb: None,
        },
        &candidates,
        day("2026-11-21"),
    );
    assert_eq!(d.excluded[0].rule, Rule::Budget);
    assert!(
        d.excluded[0].reason.contains("730.00 EUR"),
        "{}",
        d.excluded[0].reason
    );
}

/// A random federation: providers with sites in a few countries, random
/// certificates with random validity, random offerings and prices.
#[derive(Debug, Clone)]
struct Federation {
    providers: Vec<Provider>,
    sites: Vec<Site>,
    certs: Vec<Vec<Certification>>,
    offerings: Vec<(Offering, usize, usize, Option<Decimal>)>,
}

fn federation() -> impl Strategy<Value = Federation> {
    let countries = prop::sample::select(vec!["LV", "LV", "LT", "DE", "NO", "US"]);
    let kinds = prop::sample::select(vec![
        CertificationKind::NationalA,
        CertificationKind::NationalB,
        CertificationKind::NationalCritical,
        CertificationKind::Iso27001,
        CertificationKind::UptimeTier,
    ]);
    let cert_spec = (kinds, 1i64..=4, -400i64..800, prop::option::of(0usize..3));
    let site_spec = (countries, 1i64..=4);
    let offering_spec = (
        prop::sample::select(vec![
            OfferingKind::Vm,
            OfferingKind::Database,
            OfferingKind::Backup,
        ]),
        0usize..3,
        prop::sample::select(vec!["99.0", "99.5", "99.9", "99.95", "99.99"]),
        0i64..20,
        prop::option::of(1i64..2000),
        prop::option::of(1u32..100_000),
        any::<bool>(),
    );
    let provider_spec = (
        any::<bool>(),
        prop::collection::vec(site_spec, 1..3),
        prop::collection::vec(cert_spec, 0..8),
        prop::collection::vec(offering_spec, 0..5),
    );
    prop::collection::vec(provider_spec, 1..5).prop_map(|specs| {
        let today = day("2026-11-21");
        let mut f = Federation {
            providers: vec![],
            sites: vec![],
            certs: vec![],
            offerings: vec![],
        };
        for (state, site_specs, cert_specs, offering_specs) in specs {
            let p = provider(
                &format!("P{}", f.providers.len()),
                if state {
                    ProviderKind::State
                } else {
                    ProviderKind::Commercial
                },
            );
            let pi = f.providers.len();
            let first_site = f.sites.len();
            for (country, tier) in site_specs {
                f.sites
                    .push(site(&p, &format!("S{}", f.sites.len()), country, tier));
            }
            let site_count = f.sites.len() - first_site;
            let certs = cert_specs
                .into_iter()
                .map(|(kind, tier, offset, site_pick)| {
                    let mut c = cert(
                        &p,
                        kind,
                        (kind == CertificationKind::UptimeTier)
                            .then_some(["1", "2", "3", "4"][(tier - 1) as usize]),
                        "2000-01-01",
                    );
                    c.valid_until = today + chrono::Duration::days(offset);
                    c.valid_from = c.valid_until - chrono::Duration::days(700);
                    c.site_id = site_pick
                        .filter(|i| *i < site_count)
                        .map(|i| f.sites[first_site + i].id);
                    c
                })
                .collect();
            f.certs.push(certs);
            for (kind, site_pick, availability, capacity, rpo, price_cents, active) in
                offering_specs
            {
                let si = first_site + site_pick % site_count;
                let mut o = vm(&p, &f.sites[si], availability, capacity);
                o.kind = kind;
                o.active = active;
                o.sla.rpo_minutes = rpo;
                o.sla.rto_minutes = rpo.map(|r| r * 2);
                f.offerings.push((
                    o,
                    pi,
                    si,
                    price_cents.map(|c| Decimal::new(i64::from(c), 4)),
                ));
            }
            f.providers.push(p);
        }
        f
    })
}

fn request() -> impl Strategy<Value = (SystemProfile, PlacementRequest)> {
    (
        prop::sample::select(vec![
            SecurityCategory::A,
            SecurityCategory::B,
            SecurityCategory::C,
        ]),
        any::<bool>(),
        prop::sample::select(vec![Residency::Latvia, Residency::Eu, Residency::Any]),
        prop::sample::select(vec!["99.0", "99.5", "99.9"]),
        1i64..1500,
        prop::sample::select(vec![
            OfferingKind::Vm,
            OfferingKind::Database,
            OfferingKind::Backup,
        ]),
        1i64..5,
        prop::option::of(1i64..5000),
    )
        .prop_map(
            |(cat, critical, residency, avail, rpo, kind, qty, budget)| {
                (
                    SystemProfile {
                        security_category: cat,
                        critical_infrastructure: critical,
                        residency,
                        availability_target: avail.parse().unwrap(),
                        rpo_minutes: rpo,
                        rto_minutes: rpo * 3,
                    },
                    PlacementRequest {
                        kind,
                        quantity: qty,
                        max_monthly_eur: budget.map(Decimal::from),
                        min_vcpu: None,
                        min_ram_gb: None,
                    },
                )
            },
        )
}

/// An independent, deliberately plain statement of the hard rules.
fn violates_hard_rule(
    p: &SystemProfile,
    r: &PlacementRequest,
    c: &Candidate<'_>,
    today: NaiveDate,
) -> Option<&'static str> {
    let valid = |kinds: &[CertificationKind], min_tier: i64| {
        c.certifications.iter().any(|cert| {
            kinds.contains(&cert.kind)
                && cert.site_id.is_none_or(|s| s == c.site.id)
                && cert.valid_from <= today
                && today <= cert.valid_until
                && (min_tier == 0
                    || cert.level.as_deref().and_then(parse_tier).unwrap_or(0) >= min_tier)
        })
    };
    let o = c.offering;
    if o.kind != r.kind {
        return Some("kind");
    }
    if !o.active {
        return Some("inactive");
    }
    if o.capacity_units < r.quantity {
        return Some("capacity");
    }
    if p.residency == Residency::Latvia && c.site.country != "LV" {
        return Some("residency lv");
    }
    if p.residency == Residency::Eu && !is_eu_member(&c.site.country) {
        return Some("residency eu");
    }
    if p.security_category == SecurityCategory::A && !valid(&[CertificationKind::NationalA], 0) {
        return Some("national A");
    }
    if p.security_category == SecurityCategory::B
        && !valid(
            &[CertificationKind::NationalA, CertificationKind::NationalB],
            0,
        )
    {
        return Some("national B");
    }
    if p.critical_infrastructure && !valid(&[CertificationKind::NationalCritical], 0) {
        return Some("critical");
    }
    let assured = p.security_category != SecurityCategory::C || p.critical_infrastructure;
    if assured && !valid(&[CertificationKind::Iso27001], 0) {
        return Some("iso");
    }
    if assured && !valid(&[CertificationKind::UptimeTier], 3) {
        return Some("tier");
    }
    if o.kind != OfferingKind::Specialised && o.sla.availability_pct < p.availability_target {
        return Some("availability");
    }
    if matches!(o.kind, OfferingKind::Database | OfferingKind::Backup)
        && !(o.sla.rpo_minutes.is_some_and(|x| x <= p.rpo_minutes)
            && o.sla.rto_minutes.is_some_and(|x| x <= p.rto_minutes))
    {
        return Some("rpo/rto");
    }
    let Some(price) = c.unit_price else {
        return Some("price");
    };
    if r.max_monthly_eur
        .is_some_and(|max| o.unit.monthly_cost(price, r.quantity) > max)
    {
        return Some("budget");
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn hard_rules_never_bend(f in federation(), (profile, req) in request()) {
        let today = day("2026-11-21");
        let candidates: Vec<Candidate<'_>> = f.offerings.iter().map(|(o, pi, si, price)| Candidate {
            offering: o, provider: &f.providers[*pi], site: &f.sites[*si], certifications: &f.certs[*pi], unit_price: *price,
        }).collect();
        let decision = place(&profile, &req, &candidates, today);
        for chosen in &decision.feasible {
            let c = candidates.iter().find(|c| c.offering.id == chosen.offering_id).unwrap();
            prop_assert_eq!(violates_hard_rule(&profile, &req, c, today), None, "feasible offering breaks a rule: {:?}", chosen);
            prop_assert!((0.0..=100.0).contains(&chosen.score));
        }
        for out in &decision.excluded {
            let c = candidates.iter().find(|c| c.offering.id == out.offering_id).unwrap();
            prop_assert!(violates_hard_rule(&profile, &req, c, today).is_some(), "excluded without cause: {:?}", out);
            let prefix = format!("{} / {}: ", c.provider.short_name, c.site.name);
            prop_assert!(out.reason.starts_with(&prefix), "reason without provider and site: {}", out.reason);
        }
        let of_kind = candidates.iter().filter(|c| c.offering.kind == req.kind).count();
        prop_assert_eq!(decision.feasible.len() + decision.excluded.len(), of_kind);
        for pair in decision.feasible.windows(2) {
            prop_assert!(pair[0].score >= pair[1].score);
        }
    }
}

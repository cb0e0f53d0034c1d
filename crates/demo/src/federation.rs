//! The federation: providers, sites, certifications, offerings and price
//! lists.

use makonis_app::{OpContext, Result};
use makonis_types::InstitutionId;
use makonis_types::catalogue::{
    BillingUnit, OfferingInput, OfferingKind, PriceItem, PriceListInput, ServiceTier, Sla,
    SupportHours,
};
use makonis_types::federation::{
    CertificationInput, CertificationKind, PlatformFamily, ProviderInput, ProviderKind, SiteId,
    SiteInput,
};

use crate::Seeder;

/// (short name, name, institution, kind, platform)
const PROVIDERS: &[(&str, &str, Option<&str>, ProviderKind, PlatformFamily)] = &[
    (
        "LVRTC",
        "LVRTC valsts mākonis",
        Some("LVRTC"),
        ProviderKind::State,
        PlatformFamily::OpenStack,
    ),
    (
        "LNB",
        "LNB datu centrs",
        Some("LNB"),
        ProviderKind::State,
        PlatformFamily::VMware,
    ),
    (
        "IeM IC",
        "IeM IC valsts mākonis",
        Some("IeM IC"),
        ProviderKind::State,
        PlatformFamily::VMware,
    ),
    (
        "LAD",
        "LAD datu centrs",
        Some("LAD"),
        ProviderKind::State,
        PlatformFamily::Nutanix,
    ),
    (
        "EuroCloud",
        "EuroCloud GmbH (komercmākonis)",
        None,
        ProviderKind::Commercial,
        PlatformFamily::AwsCompatible,
    ),
];

/// (provider, site, country, latitude, longitude, tier)
const SITES: &[(&str, &str, &str, f64, f64, i64)] = &[
    ("LVRTC", "Zaķusala", "LV", 56.9353, 24.1190, 3),
    ("LVRTC", "Ulbroka", "LV", 56.9406, 24.2850, 3),
    ("LNB", "Mūkusala", "LV", 56.9386, 24.0970, 3),
    ("IeM IC", "Rīga-1", "LV", 56.9530, 24.1330, 3),
    ("IeM IC", "Rīga-2", "LV", 56.9670, 24.1620, 3),
    ("LAD", "Republikas laukums", "LV", 56.9560, 24.1210, 2),
    ("EuroCloud", "Frankfurt", "DE", 50.1109, 8.6821, 4),
];

/// (name, kind, tier, vcpu, ram, storage, unit, availability, rpo, rto, 2026 price)
type OfferingRow = (
    &'static str,
    OfferingKind,
    ServiceTier,
    i64,
    i64,
    i64,
    BillingUnit,
    &'static str,
    Option<i64>,
    Option<i64>,
    &'static str,
);

const OFFERINGS: &[OfferingRow] = &[
    (
        "m1.small (2 vCPU, 4 GB)",
        OfferingKind::Vm,
        ServiceTier::Basic,
        2,
        4,
        40,
        BillingUnit::InstanceHour,
        "99.9",
        None,
        None,
        "0.0210",
    ),
    (
        "m1.medium (4 vCPU, 8 GB)",
        OfferingKind::Vm,
        ServiceTier::Basic,
        4,
        8,
        80,
        BillingUnit::InstanceHour,
        "99.95",
        None,
        None,
        "0.0420",
    ),
    (
        "m1.large (8 vCPU, 32 GB)",
        OfferingKind::Vm,
        ServiceTier::Basic,
        8,
        32,
        160,
        BillingUnit::InstanceHour,
        "99.95",
        None,
        None,
        "0.1150",
    ),
    (
        "Bloka disks SSD",
        OfferingKind::Volume,
        ServiceTier::Basic,
        0,
        0,
        1,
        BillingUnit::GbMonth,
        "99.95",
        None,
        None,
        "0.0800",
    ),
    (
        "Objektu krātuve S3",
        OfferingKind::Bucket,
        ServiceTier::Basic,
        0,
        0,
        1,
        BillingUnit::GbMonth,
        "99.9",
        None,
        None,
        "0.0200",
    ),
    (
        "PostgreSQL pārvaldīta",
        OfferingKind::Database,
        ServiceTier::Basic,
        2,
        8,
        100,
        BillingUnit::InstanceHour,
        "99.95",
        Some(5),
        Some(60),
        "0.1400",
    ),
    (
        "Rezerves kopēšana",
        OfferingKind::Backup,
        ServiceTier::Basic,
        0,
        0,
        1,
        BillingUnit::GbMonth,
        "99.9",
        Some(1440),
        Some(480),
        "0.0150",
    ),
    (
        "Kubernetes mezgls",
        OfferingKind::Kubernetes,
        ServiceTier::Basic,
        4,
        16,
        100,
        BillingUnit::InstanceHour,
        "99.9",
        None,
        None,
        "0.0700",
    ),
    (
        "IS uzturēšana (speciālists)",
        OfferingKind::Specialised,
        ServiceTier::Specialised,
        0,
        0,
        0,
        BillingUnit::PersonHour,
        "99.0",
        None,
        None,
        "45.00",
    ),
];

/// (site, kind, level, issuer, days valid from today)
type CertRow = (
    Option<SiteId>,
    CertificationKind,
    Option<&'static str>,
    &'static str,
    i64,
);

impl Seeder {
    /// Providers, sites, certifications, offerings and two price-list
    /// versions. Certificate dates are relative to today so the demo shows
    /// a lapsed certificate (IeM IC Rīga-2's ISO 27001) and one about to
    /// expire (LVRTC's).
    pub(crate) async fn seed_demo_catalogue(
        &self,
        ctx: &OpContext,
        institution: &dyn Fn(&str) -> Option<InstitutionId>,
    ) -> Result<()> {
        let today = chrono::Utc::now().date_naive();
        let days = |n: i64| today + chrono::Duration::days(n);
        for (short, name, inst, kind, platform) in PROVIDERS {
            let provider = self
                .app
                .create_provider(
                    ctx,
                    &ProviderInput {
                        name: (*name).into(),
                        short_name: (*short).into(),
                        institution_id: inst.and_then(institution),
                        kind: *kind,
                        platform: *platform,
                        // Shaped like the real provider, run by the simulator.
                        endpoint: Some("sim://local?delay_ms=3000&capacity=400".into()),
                        credentials: None,
                    },
                )
                .await?;
            let mut sites = Vec::new();
            for (_, site, country, lat, lon, tier) in SITES.iter().filter(|s| s.0 == *short) {
                sites.push(
                    self.app
                        .add_site(
                            ctx,
                            provider.id,
                            &SiteInput {
                                name: (*site).into(),
                                country: (*country).into(),
                                latitude: *lat,
                                longitude: *lon,
                                uptime_tier: *tier,
                            },
                        )
                        .await?,
                );
            }
            let commercial = *kind == ProviderKind::Commercial;
            let mut certs: Vec<CertRow> = vec![
                (
                    None,
                    CertificationKind::Iso27001,
                    None,
                    "LATAK",
                    if *short == "LVRTC" { 45 } else { 500 },
                ),
                (
                    None,
                    CertificationKind::Eucs,
                    Some(if commercial { "high" } else { "substantial" }),
                    "ENISA",
                    700,
                ),
            ];
            for site in &sites {
                certs.push((
                    Some(site.id),
                    CertificationKind::UptimeTier,
                    Some(if site.uptime_tier >= 4 {
                        "IV"
                    } else if site.uptime_tier == 3 {
                        "III"
                    } else {
                        "II"
                    }),
                    "Uptime Institute",
                    900,
                ));
            }
            if !commercial {
                certs.push((
                    None,
                    CertificationKind::NationalB,
                    None,
                    "Satversmes aizsardzības birojs",
                    600,
                ));
                if matches!(*short, "LVRTC" | "IeM IC") {
                    certs.push((
                        None,
                        CertificationKind::NationalA,
                        None,
                        "Satversmes aizsardzības birojs",
                        600,
                    ));
                    certs.push((
                        None,
                        CertificationKind::NationalCritical,
                        None,
                        "Satversmes aizsardzības birojs",
                        600,
                    ));
                }
            }
            for (site, kind, level, issuer, valid_days) in certs {
                // IeM IC's second site runs under a separate ISO certificate that lapsed.
                let (site, until) = if *short == "IeM IC" && kind == CertificationKind::Iso27001 {
                    (sites.first().map(|s| s.id), days(valid_days))
                } else {
                    (site, days(valid_days))
                };
                self.app
                    .add_certification(
                        ctx,
                        provider.id,
                        &CertificationInput {
                            site_id: site,
                            kind,
                            level: level.map(str::to_owned),
                            issuer: issuer.into(),
                            valid_from: days(-700),
                            valid_until: until,
                        },
                    )
                    .await?;
            }
            if *short == "IeM IC"
                && let Some(second) = sites.get(1)
            {
                self.app
                    .add_certification(
                        ctx,
                        provider.id,
                        &CertificationInput {
                            site_id: Some(second.id),
                            kind: CertificationKind::Iso27001,
                            level: None,
                            issuer: "LATAK".into(),
                            valid_from: days(-1000),
                            valid_until: days(-265),
                        },
                    )
                    .await?;
            }
            let mut items_2026 = Vec::new();
            let mut items_next = Vec::new();
            // Commercial prices differ: cheaper compute, dearer egress-heavy storage.
            let factor: rust_decimal::Decimal = if commercial {
                "0.85".parse().unwrap_or_default()
            } else {
                rust_decimal::Decimal::ONE
            };
            for site in &sites {
                for (name, okind, tier, vcpu, ram, storage, unit, availability, rpo, rto, price) in
                    OFFERINGS
                {
                    if commercial && *okind == OfferingKind::Specialised {
                        continue;
                    }
                    let offering = self
                        .app
                        .create_offering(
                            ctx,
                            provider.id,
                            &OfferingInput {
                                site_id: site.id,
                                kind: *okind,
                                tier: *tier,
                                name: (*name).into(),
                                description: None,
                                vcpu: *vcpu,
                                ram_gb: *ram,
                                storage_gb: *storage,
                                unit: *unit,
                                sla: Sla {
                                    availability_pct: availability
                                        .parse()
                                        .unwrap_or(rust_decimal::Decimal::ONE_HUNDRED),
                                    support_hours: if commercial || *short == "LVRTC" {
                                        SupportHours::Always
                                    } else {
                                        SupportHours::Business
                                    },
                                    response_minutes: if commercial { 15 } else { 60 },
                                    rpo_minutes: *rpo,
                                    rto_minutes: *rto,
                                },
                                capacity_units: if *unit == BillingUnit::GbMonth {
                                    500_000
                                } else {
                                    400
                                },
                                active: true,
                            },
                        )
                        .await?;
                    let base: rust_decimal::Decimal = price.parse().unwrap_or_default();
                    let unit_price = (base * factor).round_dp(6);
                    items_2026.push(PriceItem {
                        offering_id: offering.id,
                        unit_price,
                    });
                    items_next.push(PriceItem {
                        offering_id: offering.id,
                        unit_price: (unit_price
                            * "1.04".parse::<rust_decimal::Decimal>().unwrap_or_default())
                        .round_dp(6),
                    });
                }
            }
            let year = today
                .format("%Y")
                .to_string()
                .parse::<i32>()
                .unwrap_or(2026);
            let start = chrono::NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(today);
            let end = chrono::NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(today);
            self.app
                .create_price_list(
                    ctx,
                    provider.id,
                    &PriceListInput {
                        version: format!("{year}-1"),
                        valid_from: start,
                        valid_until: Some(end),
                        currency: "EUR".into(),
                        items: items_2026,
                    },
                )
                .await?;
            self.app
                .create_price_list(
                    ctx,
                    provider.id,
                    &PriceListInput {
                        version: format!("{}-1", year + 1),
                        valid_from: end + chrono::Duration::days(1),
                        valid_until: None,
                        currency: "EUR".into(),
                        items: items_next,
                    },
                )
                .await?;
        }
        Ok(())
    }
}

//! Broker benchmark, first half: fills a database with a federation of the
//! size the broker-core issue names (100 providers, 300 sites, 20 000
//! offerings), measures placement decisions in process, and leaves an API
//! token for the HTTP half (`scripts/bench-broker` serves the same database
//! with the release build and drives catalogue search with `wrk`).
//!
//! ```text
//! broker-bench --data-dir DIR [--database-url postgres://…] [--token-out FILE]
//!              [--providers 100] [--sites-per-provider 3] [--offerings 20000]
//!              [--decisions 500]
//! ```
//!
//! Timings are printed, never asserted: this is a benchmark, not a test.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use makonis_app::catalogue::ProfileOverrides;
use makonis_app::catalogue::placement::PlacementRequest;
use makonis_app::secrets::SecretBox;
use makonis_app::{Actor, App, AppConfig, OpContext};
use makonis_types::catalogue::{
    BillingUnit, OfferingInput, OfferingKind, PriceItem, PriceListInput, ServiceTier, Sla,
    SupportHours,
};
use makonis_types::federation::{
    CertificationInput, CertificationKind, PlatformFamily, ProviderInput, ProviderKind, SiteInput,
};
use makonis_types::information_system::{
    DataClassification, InformationSystemInput, Lifecycle, SecurityCategory,
};
use makonis_types::institution::{InstitutionInput, InstitutionKind};
use makonis_types::roles::{NewRoleAssignment, Role};
use makonis_types::token::{NewApiTokenInput, TokenScope};
use makonis_types::user::NewUserInput;
use rust_decimal::Decimal;

struct Args {
    data_dir: PathBuf,
    database_url: Option<String>,
    token_out: Option<PathBuf>,
    providers: usize,
    sites_per_provider: usize,
    offerings: usize,
    decisions: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        data_dir: PathBuf::new(),
        database_url: None,
        token_out: None,
        providers: 100,
        sites_per_provider: 3,
        offerings: 20_000,
        decisions: 500,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<usize>()
                .map_err(|_| format!("{flag}: expected a whole number, got '{v}'"))
        };
        match flag.as_str() {
            "--data-dir" => args.data_dir = value()?.into(),
            "--database-url" => args.database_url = Some(value()?),
            "--token-out" => args.token_out = Some(value()?.into()),
            "--providers" => args.providers = number(value()?)?,
            "--sites-per-provider" => args.sites_per_provider = number(value()?)?,
            "--offerings" => args.offerings = number(value()?)?,
            "--decisions" => args.decisions = number(value()?)?,
            other => return Err(format!("unknown flag '{other}'")),
        }
    }
    if args.data_dir.as_os_str().is_empty() {
        return Err("--data-dir is required".into());
    }
    Ok(args)
}

const KINDS: [OfferingKind; 7] = [
    OfferingKind::Vm,
    OfferingKind::Vm,
    OfferingKind::Volume,
    OfferingKind::Bucket,
    OfferingKind::Kubernetes,
    OfferingKind::Database,
    OfferingKind::Backup,
];
const COUNTRIES: [&str; 6] = ["LV", "LV", "LT", "EE", "DE", "FI"];

/// A small deterministic generator, so every run builds the same federation.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn hardware() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().trim_end_matches(" kB").parse::<u64>().ok())
        .map_or("? GiB".into(), |kb| {
            format!("{:.1} GiB", kb as f64 / 1_048_576.0)
        });
    format!("{model}, {cores} cores, {mem} RAM")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args().map_err(|e| anyhow::anyhow!("broker-bench: {e}"))?;
    std::fs::create_dir_all(&args.data_dir)?;
    let datastore = match &args.database_url {
        Some(url) => makonis_db::Datastore::connect(url).await?,
        None => makonis_db::Datastore::open_sqlite_dir(&args.data_dir).await?,
    };
    let engine = format!("{:?}", datastore.backend());
    let secrets = SecretBox::load_or_create(&args.data_dir.join("master.key"))?;
    let app = App::new(datastore, secrets, AppConfig::default());
    let sys = OpContext::system("broker-bench");
    let today = chrono::Utc::now().date_naive();
    println!("machine: {}", hardware());
    println!("engine: {engine}");

    let started = Instant::now();
    let institution = app
        .create_institution(
            &sys,
            &InstitutionInput {
                name: "Benchmark institution".into(),
                short_name: "BENCH".into(),
                registration_number: None,
                kind: InstitutionKind::Recipient,
            },
        )
        .await?;
    let system = app
        .create_information_system(
            &sys,
            institution.id,
            &InformationSystemInput {
                code: "BENCH-B".into(),
                name: "Benchmark system".into(),
                description: None,
                responsible_person: "Bench Mark".into(),
                responsible_email: None,
                security_category: SecurityCategory::B,
                critical_infrastructure: false,
                data_classification: DataClassification::Restricted,
                rpo_minutes: 60,
                rto_minutes: 480,
                embassy_required: false,
                lifecycle: Lifecycle::Production,
            },
        )
        .await?;
    let mut rng = Lcg(20_261_121);
    let per_provider = args.offerings.div_ceil(args.providers);
    let mut made = 0usize;
    for p in 0..args.providers {
        let provider = app
            .create_provider(
                &sys,
                &ProviderInput {
                    name: format!("Provider {p:03}"),
                    short_name: format!("P{p:03}"),
                    institution_id: None,
                    kind: if p.is_multiple_of(5) {
                        ProviderKind::Commercial
                    } else {
                        ProviderKind::State
                    },
                    platform: [
                        PlatformFamily::OpenStack,
                        PlatformFamily::Nutanix,
                        PlatformFamily::VMware,
                        PlatformFamily::AwsCompatible,
                    ][p % 4],
                    endpoint: None,
                    credentials: None,
                },
            )
            .await?;
        let mut sites = Vec::new();
        for s in 0..args.sites_per_provider {
            let country = COUNTRIES[rng.next(COUNTRIES.len() as u64) as usize];
            sites.push(
                app.add_site(
                    &sys,
                    provider.id,
                    &SiteInput {
                        name: format!("Site {p:03}-{s}"),
                        country: country.into(),
                        latitude: 54.0 + rng.next(500) as f64 / 100.0,
                        longitude: 21.0 + rng.next(600) as f64 / 100.0,
                        uptime_tier: 2 + rng.next(3) as i64,
                    },
                )
                .await?,
            );
        }
        // Certifications: most valid, some expired, some expiring soon.
        for kind in [
            CertificationKind::Iso27001,
            CertificationKind::UptimeTier,
            CertificationKind::NationalB,
        ] {
            let until = match rng.next(10) {
                0 => today - chrono::Days::new(30),
                1 => today + chrono::Days::new(20),
                _ => today + chrono::Days::new(400),
            };
            app.add_certification(
                &sys,
                provider.id,
                &CertificationInput {
                    site_id: None,
                    kind,
                    level: (kind == CertificationKind::UptimeTier).then(|| "III".into()),
                    issuer: "Bench".into(),
                    valid_from: today - chrono::Days::new(400),
                    valid_until: until,
                },
            )
            .await?;
        }
        let mut items = Vec::new();
        for i in 0..per_provider.min(args.offerings - made) {
            let kind = KINDS[rng.next(KINDS.len() as u64) as usize];
            let unit = match kind {
                OfferingKind::Volume | OfferingKind::Bucket | OfferingKind::Backup => {
                    BillingUnit::GbMonth
                }
                _ => BillingUnit::InstanceHour,
            };
            let vcpu = 1i64 << rng.next(6);
            let offering = app
                .create_offering(
                    &sys,
                    provider.id,
                    &OfferingInput {
                        site_id: sites[i % sites.len()].id,
                        kind,
                        tier: ServiceTier::Basic,
                        name: format!("{kind}-{i:04} {vcpu} vCPU"),
                        description: None,
                        vcpu,
                        ram_gb: vcpu * 4,
                        storage_gb: 20 + rng.next(200) as i64,
                        unit,
                        sla: Sla {
                            availability_pct: ["99.0", "99.5", "99.9", "99.95"]
                                [rng.next(4) as usize]
                                .parse()?,
                            support_hours: SupportHours::Always,
                            response_minutes: 60,
                            rpo_minutes: Some(15 + rng.next(120) as i64),
                            rto_minutes: Some(60 + rng.next(600) as i64),
                        },
                        capacity_units: 10 + rng.next(1000) as i64,
                        active: rng.next(20) != 0,
                    },
                )
                .await?;
            items.push(PriceItem {
                offering_id: offering.id,
                unit_price: Decimal::new(100 + rng.next(50_000) as i64, 5),
            });
            made += 1;
        }
        app.create_price_list(
            &sys,
            provider.id,
            &PriceListInput {
                version: "bench-1".into(),
                valid_from: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or(today),
                valid_until: None,
                currency: "EUR".into(),
                items,
            },
        )
        .await?;
    }
    println!(
        "seeded: {} providers, {} sites, {made} offerings in {:.1} s",
        args.providers,
        args.providers * args.sites_per_provider,
        started.elapsed().as_secs_f64()
    );

    // Placement: the first decision builds the catalogue snapshot.
    let request = |i: usize| PlacementRequest {
        kind: KINDS[i % KINDS.len()],
        quantity: 1 + (i % 4) as i64,
        max_monthly_eur: i
            .is_multiple_of(3)
            .then(|| Decimal::from(200 + 50 * (i % 10) as i64)),
        min_vcpu: i.is_multiple_of(2).then_some(2),
        min_ram_gb: None,
    };
    let cold = Instant::now();
    let (_, first) = app
        .place(
            &sys,
            system.id,
            &request(0),
            &ProfileOverrides::default(),
            today,
        )
        .await?;
    let cold = cold.elapsed();
    let mut times = Vec::with_capacity(args.decisions);
    let (mut feasible, mut excluded) = (0usize, 0usize);
    for i in 0..args.decisions {
        let t = Instant::now();
        let (_, decision) = app
            .place(
                &sys,
                system.id,
                &request(i),
                &ProfileOverrides::default(),
                today,
            )
            .await?;
        times.push(t.elapsed());
        feasible += decision.feasible.len();
        excluded += decision.excluded.len();
    }
    times.sort();
    let median = percentile(&times, 0.5);
    println!(
        "placement: {} decisions over {} candidates each on average ({} feasible, {} excluded per decision); \
         first decision (builds the snapshot) {}",
        args.decisions,
        (feasible + excluded) / args.decisions.max(1),
        feasible / args.decisions.max(1),
        excluded / args.decisions.max(1),
        ms(cold),
    );
    println!(
        "placement: median {} p90 {} p99 {} max {} (target: median < 5 ms) -> {}",
        ms(median),
        ms(percentile(&times, 0.9)),
        ms(percentile(&times, 0.99)),
        ms(times[times.len() - 1]),
        if median < Duration::from_millis(5) {
            "met"
        } else {
            "NOT met"
        }
    );
    assert!(
        !first.feasible.is_empty() || !first.excluded.is_empty(),
        "the benchmark federation produced no candidates"
    );

    // A member of the institution with a read token for the HTTP half.
    if let Some(path) = &args.token_out {
        let user = app
            .create_user(
                &sys,
                &NewUserInput {
                    email: "bench@bench.example".into(),
                    display_name: "Bench".into(),
                    institution_id: Some(institution.id),
                    password: "bench-password-2026".into(),
                    roles: vec![NewRoleAssignment {
                        role: Role::Member,
                        institution_id: Some(institution.id),
                    }],
                },
            )
            .await?;
        let as_user = OpContext {
            actor: Actor::User {
                user: user.user,
                roles: user.roles,
                token_scope: None,
            },
            request_id: "broker-bench".into(),
        };
        let token = app
            .create_api_token(
                &as_user,
                &NewApiTokenInput {
                    name: "broker-bench".into(),
                    scope: TokenScope::Read,
                    expires_in_days: Some(1),
                },
            )
            .await?;
        std::fs::write(path, token.secret)?;
    }
    Ok(())
}

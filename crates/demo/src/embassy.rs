//! The data embassy: EDS and MIS replicated to an eligible site abroad.

use makonis_app::Result;
use makonis_types::federation::{CertificationInput, CertificationKind, SiteInput};
use makonis_types::paging::PageRequest;

use crate::{Seeder, sys_ctx};

/// (IS code, age of its latest primary snapshot in minutes): EDS is fresh,
/// MIS's backups stopped three hours ago, so the registry shows an alert.
const EMBASSY_SYSTEMS: &[(&str, i64)] = &[("EDS", 5), ("MIS", 180)];

impl Seeder {
    /// The data embassy in the demo: an eligible site in Luxembourg (the
    /// Estonian data embassy's country, 1 068 km from the nearest Russian border point),
    /// a primary repository in Latvia for EDS and MIS with a backup of
    /// sample registry data, protection, one replication each and a drill
    /// for EDS. Repositories live under `state_dir/embassy`; the passwords
    /// are random and sealed, reachable only through a four-eyes grant.
    pub(crate) async fn seed_demo_embassy(&self) -> Result<()> {
        let Some(state) = self.app.config().state_dir.clone() else {
            return Ok(());
        };
        let sys = sys_ctx();
        let euro = self
            .app
            .list_providers(&sys)
            .await?
            .into_iter()
            .find(|p| p.short_name == "EuroCloud")
            .ok_or(makonis_app::Error::NotFound { kind: "provider" })?;
        let site = self
            .app
            .add_site(
                &sys,
                euro.id,
                &SiteInput {
                    name: "Luxembourg (datu vēstniecība)".into(),
                    country: "LU".into(),
                    latitude: 49.6116,
                    longitude: 6.1319,
                    uptime_tier: 4,
                },
            )
            .await?;
        let today = chrono::Utc::now().date_naive();
        self.app
            .add_certification(
                &sys,
                euro.id,
                &CertificationInput {
                    site_id: Some(site.id),
                    kind: CertificationKind::UptimeTier,
                    level: Some("IV".into()),
                    issuer: "Uptime Institute".into(),
                    valid_from: today - chrono::Duration::days(200),
                    valid_until: today + chrono::Duration::days(900),
                },
            )
            .await?;
        let systems = self
            .app
            .list_information_systems(
                &sys,
                &Default::default(),
                PageRequest {
                    limit: Some(500),
                    offset: None,
                },
            )
            .await?
            .items;
        for (code, age_minutes) in EMBASSY_SYSTEMS {
            let Some(system) = systems.iter().find(|s| s.code == *code) else {
                continue;
            };
            let root = state.join("embassy").join(code);
            let (primary, replica, data) = (
                root.join("primary"),
                root.join("replica"),
                root.join("data"),
            );
            let primary_password = makonis_app::identity::authn::random_secret();
            let replica_password = makonis_app::identity::authn::random_secret();
            let (pw, when) = (
                primary_password.clone(),
                chrono::Utc::now() - chrono::Duration::minutes(*age_minutes),
            );
            let (p, d, code_owned) = (primary.clone(), data.clone(), (*code).to_owned());
            tokio::task::spawn_blocking(move || demo_primary(&p, &d, &pw, &code_owned, when))
                .await
                .map_err(makonis_app::Error::internal)?
                .map_err(|e| {
                    makonis_app::Error::internal(format!("demo embassy repository: {e}"))
                })?;
            self.app
                .protect_system(
                    &sys,
                    system.id,
                    &makonis_types::embassy::ProtectionInput {
                        site_id: site.id,
                        primary_location: primary.display().to_string(),
                        replica_location: replica.display().to_string(),
                        primary_password,
                        replica_password,
                        hot_interval_minutes: 15,
                        drill_interval_days: 30,
                        latency_ms: Some(38),
                        cold_location: None,
                        cold_retain_days: 90,
                        cold_interval_days: 7,
                        s3: None,
                    },
                )
                .await?;
            self.app.replicate_system(&sys, system.id).await?;
            if *code == "EDS" {
                self.app.run_drill(&sys, system.id).await?;
            }
        }
        Ok(())
    }
}

/// A primary repository with one snapshot of sample registry data.
fn demo_primary(
    repo_dir: &std::path::Path,
    data: &std::path::Path,
    password: &str,
    code: &str,
    time: chrono::DateTime<chrono::Utc>,
) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
    std::fs::create_dir_all(data)?;
    let mut rows = String::from("id,deklarācija,summa_eur,iesniegta\n");
    for i in 0..20_000u32 {
        rows.push_str(&format!(
            "{i},{code}-{:06},{}.{:02},2026-{:02}-{:02}\n",
            i * 7 % 999_983,
            (i * 37) % 10_000,
            i % 100,
            i % 12 + 1,
            i % 28 + 1
        ));
    }
    std::fs::write(data.join("deklaracijas.csv"), rows)?;
    std::fs::write(
        data.join("README.txt"),
        format!("{code}: sample data for the Mākonis demo's data embassy.\n"),
    )?;
    let repo = makonis_embassy::Repository::init(
        std::sync::Arc::new(makonis_embassy::LocalBackend::new(repo_dir)),
        password,
        makonis_embassy::InitOptions::default(),
    )?;
    makonis_embassy::ops::backup(
        &repo,
        &[data.to_owned()],
        &makonis_embassy::ops::BackupOptions {
            time: Some(time),
            ..Default::default()
        },
        &makonis_embassy::NoProgress,
    )?;
    Ok(())
}

//! The data embassy in the control plane, on both engines: protection only
//! at an eligible site, hot replication with the achieved RPO and its alert,
//! recovery drills that catch a damaged replica, four-eyes grants whose
//! single-person attempts are refused and audited, and the registry's
//! visibility.

mod common;
// The embassy crate's moto launcher, shared rather than copied.
#[allow(dead_code)]
#[path = "../../embassy/tests/common/moto.rs"]
mod moto;

use std::path::Path;
use std::sync::Arc;

use makonis_app::secrets::SecretBox;
use makonis_app::{Actor, App, AppConfig, Error, OpContext};
use makonis_embassy::ops::{self, BackupOptions};
use makonis_embassy::{InitOptions, KdfParams, LocalBackend, NoProgress, Repository};
use makonis_types::InstitutionId;
use makonis_types::embassy::*;
use makonis_types::federation::*;
use makonis_types::information_system::*;
use makonis_types::roles::{NewRoleAssignment, Role};
use makonis_types::user::NewUserInput;
use sqlx::Row;

const PRIMARY_PW: &str = "primary-password-2026";
const REPLICA_PW: &str = "replica-password-2026";

async fn person(app: &App, email: &str, role: Role, inst: Option<InstitutionId>) -> OpContext {
    let created = app
        .create_user(
            &OpContext::system("t"),
            &NewUserInput {
                email: email.into(),
                display_name: email.into(),
                institution_id: inst,
                password: "embassy-test-pass".into(),
                roles: vec![NewRoleAssignment {
                    role,
                    institution_id: if role.allows_institution_scope() {
                        inst
                    } else {
                        None
                    },
                }],
            },
        )
        .await
        .unwrap();
    OpContext {
        actor: Actor::User {
            user: created.user,
            roles: created.roles,
            token_scope: None,
        },
        request_id: "t".into(),
    }
}

/// A primary repository in Latvia with one snapshot taken `age` ago.
fn primary_with_data(dir: &Path, data: &Path, age: chrono::Duration) {
    std::fs::create_dir_all(data).unwrap();
    for i in 0..5u8 {
        std::fs::write(
            data.join(format!("table-{i}.csv")),
            format!("id,value\n{}\n", "1,2\n".repeat(2000 * usize::from(i + 1))),
        )
        .unwrap();
    }
    let repo = Repository::init(
        Arc::new(LocalBackend::new(dir)),
        PRIMARY_PW,
        InitOptions {
            kdf: KdfParams::insecure_fast(),
            ..InitOptions::default()
        },
    )
    .unwrap();
    backup(&repo, data, age);
}

fn backup(repo: &Repository, data: &Path, age: chrono::Duration) {
    ops::backup(
        repo,
        &[data.to_owned()],
        &BackupOptions {
            time: Some(chrono::Utc::now() - age),
            ..BackupOptions::default()
        },
        &NoProgress,
    )
    .unwrap();
}

struct World {
    owner: OpContext,
    member: OpContext,
    custodian: OpContext,
    officer: OpContext,
    outsider: OpContext,
    system: makonis_types::InformationSystemId,
    lisbon: SiteId,
    riga: SiteId,
}

async fn world(app: &App) -> World {
    let sys = OpContext::system("t");
    let inst = common::institution(app, "VID").await.id;
    let other = common::institution(app, "CITA").await.id;
    let system = app
        .create_information_system(
            &sys,
            inst,
            &InformationSystemInput {
                code: "EDS".into(),
                name: "Elektroniskā deklarēšana".into(),
                description: None,
                responsible_person: "Anna".into(),
                responsible_email: None,
                security_category: SecurityCategory::A,
                critical_infrastructure: true,
                data_classification: DataClassification::Restricted,
                rpo_minutes: 15,
                rto_minutes: 240,
                embassy_required: true,
                lifecycle: Lifecycle::Production,
            },
        )
        .await
        .unwrap()
        .id;
    let provider = app
        .create_provider(
            &sys,
            &ProviderInput {
                name: "Embassy hosting".into(),
                short_name: "EMBH".into(),
                institution_id: None,
                kind: ProviderKind::Commercial,
                platform: PlatformFamily::OpenStack,
                endpoint: None,
                credentials: None,
            },
        )
        .await
        .unwrap()
        .id;
    let site = |name: &str, country: &str, lat: f64, lon: f64| SiteInput {
        name: name.into(),
        country: country.into(),
        latitude: lat,
        longitude: lon,
        uptime_tier: 3,
    };
    let lisbon = app
        .add_site(&sys, provider, &site("Lisboa", "PT", 38.72, -9.14))
        .await
        .unwrap()
        .id;
    let riga = app
        .add_site(&sys, provider, &site("Rīga", "LV", 56.95, 24.1))
        .await
        .unwrap()
        .id;
    let today = chrono::Utc::now().date_naive();
    app.add_certification(
        &sys,
        provider,
        &CertificationInput {
            site_id: None,
            kind: CertificationKind::UptimeTier,
            level: Some("III".into()),
            issuer: "Uptime Institute".into(),
            valid_from: today - chrono::Days::new(100),
            valid_until: today + chrono::Days::new(500),
        },
    )
    .await
    .unwrap();
    World {
        owner: person(app, "owner@vid.lv", Role::IsOwner, Some(inst)).await,
        member: person(app, "member@vid.lv", Role::Member, Some(inst)).await,
        custodian: person(app, "custodian@vdaa.lv", Role::EmbassyCustodian, None).await,
        officer: person(app, "officer@cert.lv", Role::SecurityOfficer, None).await,
        outsider: person(app, "owner@cita.lv", Role::IsOwner, Some(other)).await,
        system,
        lisbon,
        riga,
    }
}

fn input(site: SiteId, dir: &Path) -> ProtectionInput {
    ProtectionInput {
        site_id: site,
        primary_location: dir.join("primary").display().to_string(),
        replica_location: dir.join("replica").display().to_string(),
        primary_password: PRIMARY_PW.into(),
        replica_password: REPLICA_PW.into(),
        hot_interval_minutes: 15,
        drill_interval_days: 30,
        latency_ms: Some(48),
        cold_location: None,
        cold_retain_days: 90,
        cold_interval_days: 7,
        s3: None,
    }
}

async fn audit_actions(app: &App) -> Vec<String> {
    let mut actions = Vec::new();
    app.export_audit_chain(|r| {
        actions.push(r.action.clone());
        Ok(())
    })
    .await
    .unwrap();
    actions
}

#[tokio::test]
async fn protection_replication_drills_and_alerts() {
    for t in common::apps().await {
        let dir = tempfile::tempdir().unwrap();
        let app = App::new(
            t.store.datastore.clone(),
            SecretBox::random(),
            AppConfig {
                state_dir: Some(dir.path().join("state")),
                ..AppConfig::default()
            },
        );
        let w = world(&app).await;
        // The snapshot is an hour old: more than the 15-minute RPO target.
        primary_with_data(
            &dir.path().join("primary"),
            &dir.path().join("data"),
            chrono::Duration::hours(1),
        );

        // An ineligible site is refused with every failed criterion named.
        let err = app
            .protect_system(&w.owner, w.system, &input(w.riga, dir.path()))
            .await
            .unwrap_err();
        match &err {
            Error::Invalid(f) => {
                assert_eq!(f[0].field, "site_id");
                assert_eq!(f[0].code, "not_eligible");
                assert!(f[0].message.contains("Latvia"), "{}", f[0].message);
                assert!(
                    f[0].params["criteria"].contains("too_close"),
                    "{:?}",
                    f[0].params
                );
            }
            other => panic!("{}: expected invalid, got {other:?}", t.label()),
        }
        // A wrong primary password names the primary.
        let mut wrong = input(w.lisbon, dir.path());
        wrong.primary_password = "not-the-password-1".into();
        let err = app
            .protect_system(&w.owner, w.system, &wrong)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid(f) if f[0].field == "primary_location"),
            "{err:?}"
        );
        // Members and other institutions' owners may not.
        assert!(
            app.protect_system(&w.member, w.system, &input(w.lisbon, dir.path()))
                .await
                .is_err()
        );
        assert!(matches!(
            app.protect_system(&w.outsider, w.system, &input(w.lisbon, dir.path()))
                .await,
            Err(Error::NotFound { .. })
        ));

        let protection = app
            .protect_system(&w.owner, w.system, &input(w.lisbon, dir.path()))
            .await
            .unwrap();
        assert_eq!(protection.latency_ms, Some(48));
        let sealed: String = sqlx::query("SELECT secrets_sealed FROM embassy_protections")
            .fetch_one(t.store.datastore.reader())
            .await
            .unwrap()
            .try_get("secrets_sealed")
            .unwrap();
        assert!(
            !sealed.contains(PRIMARY_PW) && !sealed.contains(REPLICA_PW),
            "{}: passwords stored in clear",
            t.label()
        );

        // First replication: data arrives; the RPO is an hour: alert.
        let run = app.replicate_system(&w.custodian, w.system).await.unwrap();
        assert_eq!(run.outcome, RunOutcome::Ok, "{}: {}", t.label(), run.detail);
        assert!(run.bytes > 0);
        let rpo = run.achieved_rpo_seconds.unwrap();
        assert!((3590..3700).contains(&rpo), "{}: rpo {rpo}", t.label());
        let notes = app.notifications(&w.owner, false).await.unwrap();
        assert!(
            notes
                .iter()
                .any(|n| n.kind == "embassy.rpo_exceeded"
                    && n.information_system_id == Some(w.system)),
            "{}: {notes:?}",
            t.label()
        );
        let status = app.embassy_status(&w.custodian).await.unwrap();
        assert_eq!(status.len(), 1);
        assert!(status[0].alerts.contains(&"rpo_exceeded".to_owned()));
        assert!(status[0].site.eligible && status[0].site.distance_km > 2000.0);
        assert!(
            status[0]
                .site_certifications
                .iter()
                .any(|c| c.kind == CertificationKind::UptimeTier
                    && c.level.as_deref() == Some("3")),
            "{:?}",
            status[0].site_certifications
        );
        assert!(status[0].hosting_agreements.is_empty());
        assert_eq!(status[0].hosting_monthly_eur, rust_decimal::Decimal::ZERO);

        // A fresh snapshot replicates incrementally and clears the alert.
        let primary = Repository::open(
            Arc::new(LocalBackend::new(dir.path().join("primary"))),
            PRIMARY_PW,
        )
        .unwrap();
        std::fs::write(dir.path().join("data/new.csv"), "id\n42\n").unwrap();
        backup(&primary, &dir.path().join("data"), chrono::Duration::zero());
        let second = app.replicate_system(&w.owner, w.system).await.unwrap();
        assert_eq!(second.outcome, RunOutcome::Ok);
        assert!(
            second.bytes < run.bytes,
            "{} !< {}",
            second.bytes,
            run.bytes
        );
        assert!(second.achieved_rpo_seconds.unwrap() < 60);
        let status = app.embassy_status(&w.custodian).await.unwrap();
        assert!(
            !status[0]
                .alerts
                .iter()
                .any(|a| a.starts_with("rpo") || a == "never_replicated")
        );

        // A drill restores the latest replica snapshot and measures the RTO.
        let drill = app.run_drill(&w.custodian, w.system).await.unwrap();
        assert_eq!(
            drill.outcome,
            RunOutcome::Ok,
            "{}: {}",
            t.label(),
            drill.detail
        );
        assert!(
            drill.rto_seconds.is_some() && drill.bytes > 30_000,
            "{drill:?}"
        );
        assert!(
            drill.detail.contains("restored 6 files"),
            "{}",
            drill.detail
        );
        // Scratch space is cleaned up.
        let scratch = dir.path().join("state/embassy-drills");
        assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);

        // A damaged replica fails its drill, and the owners hear of it.
        let pack = walk_files(&dir.path().join("replica/data"))
            .into_iter()
            .next()
            .expect("a pack");
        let mut bytes = std::fs::read(&pack).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        std::fs::write(&pack, bytes).unwrap();
        let failed = app.run_drill(&w.custodian, w.system).await.unwrap();
        assert_eq!(failed.outcome, RunOutcome::Failed);
        assert!(failed.detail.contains("check"), "{}", failed.detail);
        let notes = app.notifications(&w.owner, false).await.unwrap();
        assert!(notes.iter().any(|n| n.kind == "embassy.drill_failed"));
        let report = app.embassy_report(&w.owner, w.system).await.unwrap();
        assert_eq!(report.drills.len(), 2);
        assert_eq!(report.replications.len(), 2);
        assert!(
            report
                .status
                .as_ref()
                .unwrap()
                .alerts
                .contains(&"drill_failed".to_owned())
        );

        // The registry is for cleared roles and the system's owners.
        assert!(matches!(
            app.embassy_status(&w.member).await,
            Err(Error::Forbidden { .. })
        ));
        // Another institution's owner sees none of it.
        assert!(app.embassy_status(&w.outsider).await.unwrap().is_empty());
        assert_eq!(app.embassy_status(&w.officer).await.unwrap().len(), 1);
        assert!(matches!(
            app.embassy_report(&w.outsider, w.system).await,
            Err(Error::NotFound { .. })
        ));
        assert!(
            audit_actions(&app)
                .await
                .contains(&"embassy.protect".to_owned())
        );
    }
}

fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn keys_are_released_only_under_two_approvals_and_refusals_are_audited() {
    for t in common::apps().await {
        let dir = tempfile::tempdir().unwrap();
        let app = App::new(
            t.store.datastore.clone(),
            SecretBox::random(),
            AppConfig {
                state_dir: Some(dir.path().join("state")),
                ..AppConfig::default()
            },
        );
        let w = world(&app).await;
        primary_with_data(
            &dir.path().join("primary"),
            &dir.path().join("data"),
            chrono::Duration::zero(),
        );
        let request = GrantInput {
            information_system_id: w.system,
            purpose: GrantPurpose::KeyRelease,
            reason: "restore EDS at the embassy after an incident".into(),
            hours: 2,
        };
        // Not protected yet: nothing to grant.
        assert!(matches!(
            app.request_grant(&w.owner, &request).await,
            Err(Error::Invalid(ref f)) if f[0].code == "not_protected"
        ));
        app.protect_system(&w.owner, w.system, &input(w.lisbon, dir.path()))
            .await
            .unwrap();
        assert!(app.request_grant(&w.member, &request).await.is_err());
        let grant = app.request_grant(&w.owner, &request).await.unwrap();
        assert_eq!(grant.state, GrantState::Pending);

        // Alone, the requester gets nothing, and the attempt is on record.
        assert!(matches!(
            app.release_key(&w.owner, grant.id).await,
            Err(Error::Forbidden { .. })
        ));
        assert!(matches!(
            app.approve_grant(&w.owner, grant.id).await,
            Err(Error::Forbidden { .. })
        ));
        let after_custodian = app.approve_grant(&w.custodian, grant.id).await.unwrap();
        assert_eq!(after_custodian.state, GrantState::Pending);
        // The same person cannot give the second approval.
        assert!(app.approve_grant(&w.custodian, grant.id).await.is_err());
        assert!(app.release_key(&w.owner, grant.id).await.is_err());
        let active = app.approve_grant(&w.officer, grant.id).await.unwrap();
        assert_eq!(active.state, GrantState::Active);
        let until = active.valid_until.unwrap();
        assert!(until > chrono::Utc::now() + chrono::Duration::minutes(119));
        assert!(until < chrono::Utc::now() + chrono::Duration::minutes(121));

        // Only the grantee uses it.
        assert!(matches!(
            app.release_key(&w.custodian, grant.id).await,
            Err(Error::Forbidden { .. })
        ));
        let key = app.release_key(&w.owner, grant.id).await.unwrap();
        assert_eq!(key.replica_password, REPLICA_PW);
        assert!(key.replica_location.ends_with("replica"));
        // The released key opens the replica.
        Repository::open(
            Arc::new(LocalBackend::new(dir.path().join("replica"))),
            &key.replica_password,
        )
        .unwrap();

        let actions = audit_actions(&app).await;
        for wanted in [
            "embassy.grant_requested",
            "embassy.key_release_refused",
            "embassy.grant_approval_refused",
            "embassy.grant_approved",
            "embassy.grant_active",
            "embassy.key_released",
        ] {
            assert!(
                actions.iter().any(|a| a == wanted),
                "{}: {wanted} missing from {actions:?}",
                t.label()
            );
        }
        assert!(
            actions
                .iter()
                .filter(|a| *a == "embassy.key_release_refused")
                .count()
                >= 3
        );
        // DR plans: versioned in the embassy replica, readable under an
        // access grant only.
        use makonis_app::embassy::{DrPlanInput, DrPlanRead};
        let v1 = app
            .put_dr_plan(
                &w.owner,
                w.system,
                &DrPlanInput {
                    text: "# EDS DR plan\n1. Fail over to Luxembourg.\n".into(),
                },
            )
            .await
            .unwrap();
        let v2 = app
            .put_dr_plan(
                &w.owner,
                w.system,
                &DrPlanInput {
                    text: "# EDS DR plan v2\n1. Call the custodian.\n".into(),
                },
            )
            .await
            .unwrap();
        assert!(matches!(
            app.put_dr_plan(&w.owner, w.system, &DrPlanInput { text: "  ".into() }).await,
            Err(Error::Invalid(ref f)) if f[0].field == "text"
        ));
        let versions = app.dr_plan_versions(&w.custodian, w.system).await.unwrap();
        assert_eq!(
            versions
                .iter()
                .map(|v| v.snapshot.clone())
                .collect::<Vec<_>>(),
            vec![v2.snapshot.clone(), v1.snapshot.clone()]
        );
        assert!(matches!(
            app.dr_plan_versions(&w.member, w.system).await,
            Err(Error::NotFound { .. })
        ));
        // The key-release grant does not open the plan.
        assert!(matches!(
            app.read_dr_plan(&w.owner, grant.id, &DrPlanRead::default())
                .await,
            Err(Error::Forbidden { .. })
        ));
        let access = app
            .request_grant(
                &w.owner,
                &GrantInput {
                    purpose: GrantPurpose::Access,
                    reason: "read the DR plan in an exercise".into(),
                    ..request.clone()
                },
            )
            .await
            .unwrap();
        assert!(
            app.read_dr_plan(&w.owner, access.id, &DrPlanRead::default())
                .await
                .is_err()
        );
        app.approve_grant(&w.officer, access.id).await.unwrap();
        app.approve_grant(&w.custodian, access.id).await.unwrap();
        let latest = app
            .read_dr_plan(&w.owner, access.id, &DrPlanRead::default())
            .await
            .unwrap();
        assert_eq!(latest.text, "# EDS DR plan v2\n1. Call the custodian.\n");
        let first = app
            .read_dr_plan(
                &w.owner,
                access.id,
                &DrPlanRead {
                    snapshot: Some(v1.snapshot.clone()),
                },
            )
            .await
            .unwrap();
        assert!(first.text.contains("Fail over to Luxembourg"));
        assert!(matches!(
            app.read_dr_plan(&w.custodian, access.id, &DrPlanRead::default())
                .await,
            Err(Error::Forbidden { .. })
        ));
        // A drill restores the system's data, not the plan.
        let drill = app.run_drill(&w.custodian, w.system).await;
        let drill = drill.unwrap();
        assert_eq!(
            drill.outcome,
            RunOutcome::Failed,
            "nothing replicated yet: {}",
            drill.detail
        );
        app.replicate_system(&w.custodian, w.system).await.unwrap();
        let drill = app.run_drill(&w.custodian, w.system).await.unwrap();
        assert_eq!(drill.outcome, RunOutcome::Ok, "{}", drill.detail);
        assert!(
            drill.detail.contains("restored 5 files"),
            "{}",
            drill.detail
        );
        let actions = audit_actions(&app).await;
        for wanted in [
            "embassy.dr_plan_stored",
            "embassy.dr_plan_read",
            "embassy.dr_plan_read_refused",
        ] {
            assert!(actions.iter().any(|a| a == wanted), "{wanted} missing");
        }

        // Restore into production: under its own grant, into an empty
        // directory, never over existing files.
        use makonis_app::embassy::RestoreInput;
        let restore = app
            .request_grant(
                &w.owner,
                &GrantInput {
                    purpose: GrantPurpose::RestoreProduction,
                    reason: "EDS production lost; restore from the embassy".into(),
                    ..request.clone()
                },
            )
            .await
            .unwrap();
        let target = dir.path().join("production");
        let to = |p: &Path| RestoreInput {
            target: p.display().to_string(),
            snapshot: None,
        };
        assert!(matches!(
            app.restore_to_production(&w.owner, restore.id, &to(&target))
                .await,
            Err(Error::Forbidden { .. })
        ));
        app.approve_grant(&w.custodian, restore.id).await.unwrap();
        app.approve_grant(&w.officer, restore.id).await.unwrap();
        assert!(matches!(
            app.restore_to_production(&w.custodian, restore.id, &to(&target))
                .await,
            Err(Error::Forbidden { .. })
        ));
        let relative = RestoreInput {
            target: "relative/dir".into(),
            snapshot: None,
        };
        assert!(matches!(
            app.restore_to_production(&w.owner, restore.id, &relative).await,
            Err(Error::Invalid(ref f)) if f[0].field == "target"
        ));
        assert!(matches!(
            app.restore_to_production(&w.owner, restore.id, &to(&dir.path().join("data"))).await,
            Err(Error::Invalid(ref f)) if f[0].message.contains("not empty")
        ));
        let restored = app
            .restore_to_production(&w.owner, restore.id, &to(&target))
            .await
            .unwrap();
        assert_eq!(restored.files, 5);
        for i in 0..5 {
            let name = format!("data/table-{i}.csv");
            assert_eq!(
                std::fs::read(target.join(&name)).unwrap(),
                std::fs::read(dir.path().join(&name)).unwrap(),
                "{name}"
            );
        }
        let actions = audit_actions(&app).await;
        for wanted in ["embassy.restored_to_production", "embassy.restore_refused"] {
            assert!(actions.iter().any(|a| a == wanted), "{wanted} missing");
        }

        // Grants are visible to the cleared and the owners, not to others.
        assert_eq!(app.list_grants(&w.officer).await.unwrap().len(), 3);
        assert!(app.list_grants(&w.outsider).await.unwrap().is_empty());
        assert!(matches!(
            app.release_key(&w.outsider, grant.id).await,
            Err(Error::NotFound { .. })
        ));
    }
}

#[tokio::test]
async fn the_scheduler_replicates_when_due_and_not_before() {
    for t in common::apps().await {
        let dir = tempfile::tempdir().unwrap();
        let app = App::new(
            t.store.datastore.clone(),
            SecretBox::random(),
            AppConfig {
                state_dir: Some(dir.path().join("state")),
                ..AppConfig::default()
            },
        );
        let w = world(&app).await;
        primary_with_data(
            &dir.path().join("primary"),
            &dir.path().join("data"),
            chrono::Duration::minutes(1),
        );
        app.protect_system(&w.custodian, w.system, &input(w.lisbon, dir.path()))
            .await
            .unwrap();
        assert_eq!(app.run_embassy_jobs().await.unwrap(), 1, "{}", t.label());
        assert_eq!(app.run_embassy_jobs().await.unwrap(), 0, "{}", t.label());
        let status = app.embassy_status(&w.custodian).await.unwrap();
        assert!(status[0].last_replication.is_some());
        assert!(status[0].current_rpo_seconds.unwrap() < 900);
    }
}

/// Replicas in S3 and cold copies in an Object Lock bucket (moto): the
/// scheduler makes both, the cold objects cannot be deleted, a cold bucket
/// without Object Lock is refused, and drills read the S3 replica.
#[tokio::test]
async fn s3_replicas_and_immutable_cold_copies() {
    use makonis_embassy::backend::s3::{S3Backend, S3Config};
    use makonis_embassy::backend::{Backend, FileType};
    let Some(moto) = moto::start_moto() else {
        return;
    };
    let secret = "moto-secret-7f3a9c";
    let access = S3Access {
        endpoint: Some(moto.endpoint.clone()),
        region: Some("us-east-1".into()),
        access_key_id: "embassy-operator".into(),
        secret_access_key: secret.into(),
        ca_bundle: None,
    };
    // The S3 backend runs its own runtime: use it from blocking threads.
    let endpoint = moto.endpoint.clone();
    let bucket = move |name: &str, prefix: &str| {
        S3Backend::new(S3Config {
            bucket: name.into(),
            prefix: prefix.into(),
            endpoint: Some(endpoint.clone()),
            region: Some("us-east-1".into()),
            access_key: Some(("embassy-operator".into(), secret.into())),
            ..Default::default()
        })
        .unwrap()
    };
    let setup = bucket.clone();
    tokio::task::spawn_blocking(move || {
        setup("embassy-hot", "").create_bucket(false).unwrap();
        setup("embassy-cold", "").create_bucket(true).unwrap();
        setup("no-lock", "").create_bucket(false).unwrap();
    })
    .await
    .unwrap();
    for t in common::apps().await {
        let dir = tempfile::tempdir().unwrap();
        let app = App::new(
            t.store.datastore.clone(),
            SecretBox::random(),
            AppConfig {
                state_dir: Some(dir.path().join("state")),
                ..AppConfig::default()
            },
        );
        let w = world(&app).await;
        primary_with_data(
            &dir.path().join("primary"),
            &dir.path().join("data"),
            chrono::Duration::minutes(2),
        );
        let label = t.label();
        let mut protection = input(w.lisbon, dir.path());
        protection.replica_location = format!("s3://embassy-hot/{label}/replica");
        protection.cold_location = Some(format!("s3://embassy-cold/{label}/cold"));
        protection.cold_retain_days = 1;
        protection.s3 = Some(access.clone());

        let mut unlocked = protection.clone();
        unlocked.cold_location = Some(format!("s3://no-lock/{label}/cold"));
        let err = app
            .protect_system(&w.custodian, w.system, &unlocked)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid(f) if f[0].field == "cold_location"),
            "{label}: {err:?}"
        );

        let p = app
            .protect_system(&w.custodian, w.system, &protection)
            .await
            .unwrap();
        assert_eq!(p.s3_endpoint.as_deref(), Some(moto.endpoint.as_str()));
        let sealed: String = sqlx::query("SELECT secrets_sealed FROM embassy_protections")
            .fetch_one(t.store.datastore.reader())
            .await
            .unwrap()
            .try_get("secrets_sealed")
            .unwrap();
        assert!(
            !sealed.contains(secret),
            "{label}: S3 secret stored in clear"
        );

        // One scheduler pass: a hot replication and a cold copy.
        assert_eq!(app.run_embassy_jobs().await.unwrap(), 2, "{label}");
        let status = app.embassy_status(&w.custodian).await.unwrap();
        let hot = status[0].last_replication.as_ref().unwrap();
        let cold = status[0].last_cold_copy.as_ref().unwrap();
        assert_eq!(hot.outcome, RunOutcome::Ok, "{label}: {}", hot.detail);
        assert_eq!(cold.outcome, RunOutcome::Ok, "{label}: {}", cold.detail);
        assert!(cold.bytes > 0 && cold.achieved_rpo_seconds.unwrap() < 600);
        assert!(
            !status[0].alerts.iter().any(|a| a.starts_with("cold")),
            "{:?}",
            status[0].alerts
        );
        // Not due again yet.
        assert_eq!(app.run_embassy_jobs().await.unwrap(), 0, "{label}");

        // The cold copy is immutable until its retention date.
        let (open, prefix) = (bucket.clone(), format!("{label}/cold"));
        tokio::task::spawn_blocking(move || {
            // Deleting every version, as an attacker with the keys would:
            // a plain DELETE only hides the object behind a delete marker.
            let cold_bucket = open("embassy-cold", &prefix).versioned();
            let packs = cold_bucket.list(FileType::Pack).unwrap();
            assert!(!packs.is_empty(), "{prefix}: no packs in the cold copy");
            assert!(
                cold_bucket.delete(FileType::Pack, &packs[0].name).is_err(),
                "{prefix}: a locked pack was deleted"
            );
            assert!(cold_bucket.exists(FileType::Pack, &packs[0].name).unwrap());
        })
        .await
        .unwrap();

        // Drills read the S3 replica.
        let drill = app.run_drill(&w.custodian, w.system).await.unwrap();
        assert_eq!(drill.outcome, RunOutcome::Ok, "{label}: {}", drill.detail);
        assert!(
            drill.detail.contains("restored 5 files"),
            "{}",
            drill.detail
        );
    }
}

//! The datastore on both engines: round trips, uniqueness mapped to fields,
//! filters, and the audit head that serialises appends.

use chrono::Utc;
use makonis_db::identity::{institution, role, user};
use makonis_db::systems as information_system;
use makonis_db::{Error, audit, testing};
use makonis_types::information_system::*;
use makonis_types::institution::{InstitutionKind, ValidInstitution};
use makonis_types::paging::PageRequest;
use makonis_types::roles::Role;
use makonis_types::{InformationSystemId, InstitutionId, UserId};

fn vid() -> ValidInstitution {
    ValidInstitution {
        name: "Valsts ieņēmumu dienests".into(),
        short_name: "VID".into(),
        registration_number: Some("90000069281".into()),
        kind: InstitutionKind::Recipient,
    }
}

fn system(code: &str, category: SecurityCategory, critical: bool) -> ValidInformationSystem {
    ValidInformationSystem {
        code: code.into(),
        name: format!("Sistēma {code}"),
        description: Some("Apraksts".into()),
        responsible_person: "Anna Kalniņa".into(),
        responsible_email: None,
        security_category: category,
        critical_infrastructure: critical,
        data_classification: DataClassification::Restricted,
        rpo_minutes: 15,
        rto_minutes: 240,
        embassy_required: critical,
        lifecycle: Lifecycle::Production,
    }
}

#[tokio::test]
async fn institutions_round_trip_and_reject_duplicates() {
    for t in testing::all().await {
        let ds = &t.datastore;
        let mut tx = ds.begin().await.unwrap();
        let id = InstitutionId::new();
        let created = institution::insert(&mut tx, id, &vid(), Utc::now())
            .await
            .unwrap();
        assert_eq!(created.short_name, "VID", "{}", t.label);
        assert_eq!(created.kind, InstitutionKind::Recipient);
        tx.commit().await.unwrap();

        let mut dup = vid();
        dup.name = "Valsts Ieņēmumu Dienests — filiāle".into();
        dup.short_name = "vid".into();
        dup.registration_number = None;
        let mut tx = ds.begin().await.unwrap();
        let err = institution::insert(&mut tx, InstitutionId::new(), &dup, Utc::now())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Duplicate {
                    field: "short_name"
                }
            ),
            "{}: {err:?}",
            t.label
        );
        drop(tx);

        let mut conn = ds.conn().await.unwrap();
        let page = institution::list(&mut conn, None, Some("IEŅĒMUMU"), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.total, 1, "{}", t.label);
        let none = institution::list(&mut conn, Some(&[]), None, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(none.total, 0);
        let only = institution::list(&mut conn, Some(&[id]), None, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(only.items[0].id, id);
    }
}

#[tokio::test]
async fn information_systems_filter_and_keep_booleans() {
    for t in testing::all().await {
        let ds = &t.datastore;
        let mut tx = ds.begin().await.unwrap();
        let inst = InstitutionId::new();
        institution::insert(&mut tx, inst, &vid(), Utc::now())
            .await
            .unwrap();
        let eds = InformationSystemId::new();
        let got = information_system::insert(
            &mut tx,
            eds,
            inst,
            &system("EDS", SecurityCategory::A, true),
            Utc::now(),
        )
        .await
        .unwrap();
        assert!(
            got.critical_infrastructure && got.embassy_required,
            "{}",
            t.label
        );
        information_system::insert(
            &mut tx,
            InformationSystemId::new(),
            inst,
            &system("WEB", SecurityCategory::C, false),
            Utc::now(),
        )
        .await
        .unwrap();
        let dup = information_system::insert(
            &mut tx,
            InformationSystemId::new(),
            inst,
            &system("EDS", SecurityCategory::B, false),
            Utc::now(),
        )
        .await;
        assert!(
            matches!(dup, Err(Error::Duplicate { field: "code" })),
            "{}: {dup:?}",
            t.label
        );
        drop(tx); // rolled back: nothing of it stays

        let mut conn = ds.conn().await.unwrap();
        let page = information_system::list(
            &mut conn,
            None,
            &InformationSystemFilter::default(),
            PageRequest::default(),
        )
        .await
        .unwrap();
        assert_eq!(page.total, 0, "{}: rollback left rows", t.label);

        let mut tx = ds.begin().await.unwrap();
        institution::insert(&mut tx, inst, &vid(), Utc::now())
            .await
            .unwrap();
        information_system::insert(
            &mut tx,
            eds,
            inst,
            &system("EDS", SecurityCategory::A, true),
            Utc::now(),
        )
        .await
        .unwrap();
        information_system::insert(
            &mut tx,
            InformationSystemId::new(),
            inst,
            &system("WEB", SecurityCategory::C, false),
            Utc::now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let filter = InformationSystemFilter {
            critical_infrastructure: Some(false),
            ..Default::default()
        };
        let page =
            information_system::list(&mut conn, Some(&[inst]), &filter, PageRequest::default())
                .await
                .unwrap();
        assert_eq!(
            page.items
                .iter()
                .map(|s| s.code.as_str())
                .collect::<Vec<_>>(),
            ["WEB"],
            "{}",
            t.label
        );
        let filter = InformationSystemFilter {
            q: Some("ed%".into()),
            ..Default::default()
        };
        let page = information_system::list(&mut conn, None, &filter, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.total, 0, "{}: LIKE wildcards must be escaped", t.label);
        let other = InstitutionId::new();
        let page = information_system::list(
            &mut conn,
            Some(&[other]),
            &InformationSystemFilter::default(),
            PageRequest::default(),
        )
        .await
        .unwrap();
        assert_eq!(
            page.total, 0,
            "{}: another tenant's systems leaked",
            t.label
        );
    }
}

#[tokio::test]
async fn platform_roles_are_unique_per_user() {
    for t in testing::all().await {
        let ds = &t.datastore;
        let mut tx = ds.begin().await.unwrap();
        let id = UserId::new();
        user::insert(
            &mut tx,
            user::NewUserRecord {
                id,
                email: "a@vdaa.gov.lv",
                display_name: "A",
                institution_id: None,
                password_hash: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
        role::insert(&mut tx, id, Role::PlatformAdmin, None, Utc::now())
            .await
            .unwrap();
        let again = role::insert(&mut tx, id, Role::PlatformAdmin, None, Utc::now()).await;
        assert!(
            matches!(again, Err(Error::Duplicate { field: "role" })),
            "{}: {again:?}",
            t.label
        );
    }
}

#[tokio::test]
async fn audit_head_hands_out_consecutive_numbers() {
    for t in testing::all().await {
        let ds = &t.datastore;
        let mut seqs = vec![];
        for _ in 0..3 {
            let mut tx = ds.begin().await.unwrap();
            let (seq, _prev) = audit::advance_head(&mut tx).await.unwrap();
            audit::set_head_hash(&mut tx, &format!("{seq:064}"))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            seqs.push(seq);
        }
        assert_eq!(seqs, [1, 2, 3], "{}", t.label);
        let mut tx = ds.begin().await.unwrap();
        let (seq, prev) = audit::advance_head(&mut tx).await.unwrap();
        assert_eq!(
            (seq, prev.as_str()),
            (4, format!("{:064}", 3).as_str()),
            "{}",
            t.label
        );
        drop(tx);
        let mut conn = ds.conn().await.unwrap();
        assert_eq!(
            audit::head(&mut conn).await.unwrap().0,
            3,
            "{}: rolled-back append advanced the head",
            t.label
        );
    }
}

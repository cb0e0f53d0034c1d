//! The audit chain detects tampering done directly in the database: an
//! altered record, a deleted one, reordered ones, a cut-off tail, and a
//! record altered and re-hashed. Every case runs on SQLite and PostgreSQL.

mod common;

use makonis_app::App;
use makonis_app::audit::BreakKind;

async fn with_records(t: &common::TestApp, n: usize) {
    for i in 0..n {
        common::institution(&t.app, &format!("I{i}")).await;
    }
}

#[tokio::test]
async fn intact_chain_verifies_and_changes_are_recorded() {
    for t in common::apps().await {
        with_records(&t, 5).await;
        let report = t.app.verify_audit_chain(None).await.unwrap();
        assert!(report.is_intact(), "{}: {report:?}", t.label());
        assert_eq!(report.records_checked, 5);
        assert_eq!(report.head_seq, 5);
        let head = report.head_hash.clone();
        let again = t.app.verify_audit_chain(Some(&head)).await.unwrap();
        assert!(again.is_intact());
        let mut lines = Vec::new();
        let n = t
            .app
            .export_audit_chain(|r| {
                lines.push(serde_json::to_string(r).unwrap());
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(n, 5);
        let third: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
        assert_eq!(third["seq"], 3);
        assert_eq!(third["action"], "institution.create");
        assert!(third["after_state"].as_str().unwrap().contains("I2"));
    }
}

#[tokio::test]
async fn triggers_refuse_plain_updates() {
    for t in common::apps().await {
        with_records(&t, 1).await;
        let result = sqlx::raw_sql("UPDATE audit_records SET action = 'x' WHERE seq = 1")
            .execute(t.store.datastore.reader())
            .await;
        assert!(result.is_err(), "{}: update was allowed", t.label());
        let result = sqlx::raw_sql("DELETE FROM audit_records WHERE seq = 1")
            .execute(t.store.datastore.reader())
            .await;
        assert!(result.is_err(), "{}: delete was allowed", t.label());
    }
}

#[tokio::test]
async fn altered_record_is_reported_by_number() {
    for t in common::apps().await {
        with_records(&t, 6).await;
        t.drop_audit_triggers().await;
        t.sql("UPDATE audit_records SET after_state = '{\"name\":\"forged\"}' WHERE seq = 4")
            .await;
        let report = t.app.verify_audit_chain(None).await.unwrap();
        let problem = report.first_break.expect("tampering not detected");
        assert_eq!(
            (problem.seq, problem.kind),
            (4, BreakKind::Altered),
            "{}",
            t.label()
        );
        assert_eq!(report.records_checked, 3);
    }
}

#[tokio::test]
async fn deleted_record_is_reported_by_number() {
    for t in common::apps().await {
        with_records(&t, 6).await;
        t.drop_audit_triggers().await;
        t.sql("DELETE FROM audit_records WHERE seq = 2").await;
        let problem = t
            .app
            .verify_audit_chain(None)
            .await
            .unwrap()
            .first_break
            .unwrap();
        assert_eq!(
            (problem.seq, problem.kind),
            (2, BreakKind::Missing),
            "{}",
            t.label()
        );
    }
}

#[tokio::test]
async fn reordered_records_are_reported() {
    for t in common::apps().await {
        with_records(&t, 6).await;
        t.drop_audit_triggers().await;
        // Swap records 3 and 5 by renumbering them.
        t.sql("UPDATE audit_records SET seq = 1000 WHERE seq = 3")
            .await;
        t.sql("UPDATE audit_records SET seq = 3 WHERE seq = 5")
            .await;
        t.sql("UPDATE audit_records SET seq = 5 WHERE seq = 1000")
            .await;
        let problem = t
            .app
            .verify_audit_chain(None)
            .await
            .unwrap()
            .first_break
            .unwrap();
        assert_eq!(problem.seq, 3, "{}: {problem:?}", t.label());
        assert!(
            matches!(problem.kind, BreakKind::Altered | BreakKind::BrokenLink),
            "{problem:?}"
        );
    }
}

#[tokio::test]
async fn removed_tail_is_reported() {
    for t in common::apps().await {
        with_records(&t, 4).await;
        t.drop_audit_triggers().await;
        t.sql("DELETE FROM audit_records WHERE seq = 4").await;
        let problem = t
            .app
            .verify_audit_chain(None)
            .await
            .unwrap()
            .first_break
            .unwrap();
        assert_eq!(
            (problem.seq, problem.kind),
            (4, BreakKind::Truncated),
            "{}",
            t.label()
        );
    }
}

#[tokio::test]
async fn rehashed_record_breaks_the_next_link() {
    for t in common::apps().await {
        with_records(&t, 5).await;
        t.drop_audit_triggers().await;
        // Forge record 2 and recompute its own hash, as a careful attacker would.
        let mut conn = t.store.datastore.conn().await.unwrap();
        let mut records = makonis_db::audit::batch_after(&mut conn, 1, 1)
            .await
            .unwrap();
        drop(conn);
        let forged = &mut records[0];
        forged.after_state = Some("{\"name\":\"forged\"}".into());
        forged.hash = makonis_app::audit::record_hash(forged);
        t.sql(&format!(
            "UPDATE audit_records SET after_state = '{}', hash = '{}' WHERE seq = 2",
            forged.after_state.as_deref().unwrap(),
            forged.hash
        ))
        .await;
        let problem = t
            .app
            .verify_audit_chain(None)
            .await
            .unwrap()
            .first_break
            .unwrap();
        assert_eq!(
            (problem.seq, problem.kind),
            (3, BreakKind::BrokenLink),
            "{}",
            t.label()
        );
    }
}

#[tokio::test]
async fn rewritten_chain_is_caught_by_the_expected_head() {
    for t in common::apps().await {
        with_records(&t, 3).await;
        let head = t.app.verify_audit_chain(None).await.unwrap().head_hash;
        // Another installation with its own chain stands in for a rewrite.
        let other = common::apps().await.into_iter().next().unwrap();
        with_records(&other, 3).await;
        let report = other.app.verify_audit_chain(Some(&head)).await.unwrap();
        let problem = report.first_break.expect("foreign head accepted");
        assert_eq!(problem.kind, BreakKind::HeadMismatch, "{}", t.label());
    }
}

#[tokio::test]
async fn concurrent_changes_keep_the_chain_contiguous() {
    for t in common::apps().await {
        let mut tasks = Vec::new();
        for i in 0..24 {
            let app: App = t.app.clone();
            tasks.push(tokio::spawn(async move {
                common::institution(&app, &format!("C{i}")).await
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let report = t.app.verify_audit_chain(None).await.unwrap();
        assert!(report.is_intact(), "{}: {report:?}", t.label());
        assert_eq!(report.records_checked, 24, "{}", t.label());
    }
}

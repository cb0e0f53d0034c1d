//! Fresh databases for tests: a SQLite file in a temporary directory, and,
//! when `MAKONIS_TEST_POSTGRES_URL` points at a server, a new PostgreSQL
//! database per call so tests run in parallel without seeing each other.
//! `MAKONIS_REQUIRE_POSTGRES=1` (set by the test script) turns a missing
//! server into a failure instead of a SQLite-only run.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::Datastore;

/// A datastore plus whatever must live as long as it.
pub struct TestDatastore {
    pub label: &'static str,
    pub datastore: Datastore,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A new SQLite datastore in a temporary directory.
pub async fn sqlite() -> TestDatastore {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("makonis.db").display()
    );
    let datastore = Datastore::connect(&url).await.expect("open SQLite");
    TestDatastore {
        label: "sqlite",
        datastore,
        url,
        _dir: Some(dir),
    }
}

/// A new, empty PostgreSQL database, or `None` when no server is configured.
pub async fn postgres() -> Option<TestDatastore> {
    let Ok(admin_url) = std::env::var("MAKONIS_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("MAKONIS_REQUIRE_POSTGRES").is_err(),
            "MAKONIS_REQUIRE_POSTGRES is set but MAKONIS_TEST_POSTGRES_URL is not"
        );
        return None;
    };
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "makonis_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::new_v4().simple()
    );
    sqlx::any::install_default_drivers();
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .expect("connect to MAKONIS_TEST_POSTGRES_URL");
    drop_databases_of_finished_runs(&mut admin).await;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(b, _)| b);
    let url = format!("{base}/{name}");
    let datastore = Datastore::connect(&url).await.expect("open PostgreSQL");
    Some(TestDatastore {
        label: "postgres",
        datastore,
        url,
        _dir: None,
    })
}

/// Test databases are named after the test process; a process that has
/// ended leaves its databases behind (nextest runs every test in its own
/// process, so they add up to gigabytes). The first database a process
/// creates sweeps those of processes that no longer run. Errors are
/// ignored: another process may be sweeping the same one.
async fn drop_databases_of_finished_runs(admin: &mut sqlx::AnyConnection) {
    static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if SWEPT.swap(true, Ordering::Relaxed) {
        return;
    }
    let Ok(rows) =
        sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE 'makonis_test_%'")
            .fetch_all(&mut *admin)
            .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = sqlx::Row::try_get::<String, _>(&row, "datname") else {
            continue;
        };
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let running = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !running {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut *admin)
                .await;
        }
    }
}

/// Every configured engine: SQLite always, PostgreSQL when available.
pub async fn all() -> Vec<TestDatastore> {
    let mut stores = vec![sqlite().await];
    stores.extend(postgres().await);
    stores
}

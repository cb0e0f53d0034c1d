//! Shared setup for app tests: an `App` per configured engine.

#![allow(dead_code)]

use makonis_app::secrets::SecretBox;
use makonis_app::{App, AppConfig, OpContext};
use makonis_db::testing::{self, TestDatastore};
use makonis_types::institution::{Institution, InstitutionInput, InstitutionKind};

pub struct TestApp {
    pub app: App,
    pub store: TestDatastore,
}

impl TestApp {
    pub fn label(&self) -> &'static str {
        self.store.label
    }

    /// Runs raw SQL, as someone with direct database access would.
    pub async fn sql(&self, statement: &str) {
        sqlx::raw_sql(statement)
            .execute(self.store.datastore.reader())
            .await
            .unwrap_or_else(|e| panic!("{}: {statement}: {e}", self.label()));
    }

    /// Drops the append-only triggers, as a database administrator could.
    pub async fn drop_audit_triggers(&self) {
        let on = match self.store.datastore.backend() {
            makonis_db::Backend::Sqlite => "",
            makonis_db::Backend::Postgres => " ON audit_records",
        };
        self.sql(&format!("DROP TRIGGER audit_records_no_update{on}"))
            .await;
        self.sql(&format!("DROP TRIGGER audit_records_no_delete{on}"))
            .await;
    }
}

pub async fn apps() -> Vec<TestApp> {
    let mut apps = Vec::new();
    for store in testing::all().await {
        let app = App::new(
            store.datastore.clone(),
            SecretBox::random(),
            AppConfig::default(),
        );
        apps.push(TestApp { app, store });
    }
    apps
}

pub fn system() -> OpContext {
    OpContext::system("test")
}

pub async fn institution(app: &App, short: &str) -> Institution {
    app.create_institution(
        &system(),
        &InstitutionInput {
            name: format!("Iestāde {short}"),
            short_name: short.into(),
            registration_number: None,
            kind: InstitutionKind::Recipient,
        },
    )
    .await
    .unwrap()
}

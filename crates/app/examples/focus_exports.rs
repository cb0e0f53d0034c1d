//! Writes the FOCUS 1.2 files Mākonis exports, from the demo federation,
//! into a directory: an issued statement and an institution's charges over
//! four months. `scripts/check-focus-exports` runs the FinOps Foundation's
//! validator on them (README's test command does).
//!
//! `cargo run -p makonis-app --example focus_exports -- DIR`

use makonis_app::secrets::SecretBox;
use makonis_app::{App, AppConfig, OpContext};
use makonis_types::metering::Month;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let out = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("usage: focus_exports DIR"))?;
    std::fs::create_dir_all(&out)?;
    let data = tempfile::tempdir()?;
    let datastore = makonis_db::Datastore::open_sqlite_dir(data.path()).await?;
    let app = App::new(
        datastore,
        SecretBox::random(),
        AppConfig {
            state_dir: Some(data.path().join("state")),
            ..AppConfig::default()
        },
    );
    makonis_demo::seed(&app).await?;
    let sys = OpContext::system("focus-exports");
    let this_month = Month::of(chrono::Utc::now());
    let statements = app.statements(&sys, None).await?;
    let first = statements
        .first()
        .ok_or_else(|| anyhow::anyhow!("the demo issued no statement"))?;
    let statement = app.statement_focus(&sys, first.id).await?;
    std::fs::write(out.join("statement.csv"), statement)?;
    let from = this_month.previous().previous().previous();
    let charges = app
        .export_focus(&sys, Some(first.institution_id), from, this_month)
        .await?;
    std::fs::write(out.join("charges.csv"), charges)?;
    println!("{}", out.display());
    Ok(())
}

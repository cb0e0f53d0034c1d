//! Imports a large FOCUS file whose last line is bad, into the demo
//! federation, and shows that nothing was written: the error names the
//! line and column, and the imports and charges are as before. Prints the
//! time it took and the peak memory.
//!
//! `cargo run --release -p makonis-app --example import_bad_tail -- FILE`
//! (`scripts/bench-import-bad-tail` builds a 2 GB file from the metering
//! benchmark's data and runs this.)

use makonis_app::secrets::SecretBox;
use makonis_app::{App, AppConfig, OpContext};
use makonis_types::metering::Month;

fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let file = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("usage: import_bad_tail FILE"))?;
    let data = tempfile::tempdir()?;
    let app = App::new(
        makonis_db::Datastore::open_sqlite_dir(data.path()).await?,
        SecretBox::random(),
        AppConfig::default(),
    );
    makonis_demo::seed(&app).await?;
    let sys = OpContext::system("bench");
    let lvrtc = app
        .list_providers(&sys)
        .await?
        .into_iter()
        .find(|p| p.short_name == "LVRTC")
        .ok_or_else(|| anyhow::anyhow!("no LVRTC in the demo"))?;
    let count = |app: App| async move {
        let imports = app.focus_imports(&sys_ctx()).await?.len();
        let unmapped = app.unmapped_charges(&sys_ctx(), false).await?.len();
        let statements = app.statements(&sys_ctx(), None).await?;
        let mut charges = 0;
        for s in &statements {
            for m in [s.month.previous(), s.month, Month::of(chrono::Utc::now())] {
                charges += app.charges(&sys_ctx(), s.institution_id, m).await?.len();
            }
        }
        anyhow::Ok((imports, unmapped, charges))
    };
    let before = count(app.clone()).await?;
    let bytes = std::fs::metadata(&file)?.len();
    let started = std::time::Instant::now();
    let result = app
        .import_focus(&sys, lvrtc.id, "big.csv", &file, None)
        .await;
    let took = started.elapsed();
    let after = count(app.clone()).await?;
    match result {
        Ok(i) => println!("imported {} records (the file had no bad line?)", i.records),
        Err(makonis_app::Error::Invalid(e)) => println!("refused: {}", e[0].message),
        Err(e) => println!("failed: {e}"),
    }
    println!(
        "file {:.2} GB, {:.1} s ({:.0} MB/s), peak RSS {} MB",
        bytes as f64 / 1e9,
        took.as_secs_f64(),
        bytes as f64 / 1e6 / took.as_secs_f64(),
        peak_rss_mb()
    );
    println!("imports, unmapped lines, charges: before {before:?}, after {after:?}");
    anyhow::ensure!(before == after, "something was written");
    Ok(())
}

fn sys_ctx() -> OpContext {
    OpContext::system("bench")
}

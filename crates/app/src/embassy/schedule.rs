//! The embassy's periodic work: replications, cold copies and drills when
//! they are due.

use makonis_db::{embassy as store, systems as information_system};
use makonis_types::embassy::*;

use crate::{App, Result, now};

impl App {
    /// One pass of the embassy scheduler: replicate every protected system
    /// whose interval has passed and drill every one whose drill is due.
    /// Returns how many runs it made.
    pub async fn run_embassy_jobs(&self) -> Result<usize> {
        let protections = {
            let mut conn = self.datastore().conn().await?;
            store::protections(&mut conn).await?
        };
        let mut made = 0;
        for protection in protections {
            let (is, last_hot, last_drill, last_cold) = {
                let mut conn = self.datastore().conn().await?;
                let Some(is) =
                    information_system::get(&mut conn, protection.information_system_id).await?
                else {
                    continue;
                };
                let hot = store::runs(&mut conn, is.id, RunKind::Hot, 1).await?.pop();
                let drill = store::runs(&mut conn, is.id, RunKind::Drill, 1)
                    .await?
                    .pop();
                let cold = store::runs(&mut conn, is.id, RunKind::Cold, 1).await?.pop();
                (is, hot, drill, cold)
            };
            let at = now();
            if last_hot.is_none_or(|r| {
                at - r.started_at >= chrono::Duration::minutes(protection.hot_interval_minutes)
            }) {
                // One system's trouble must not stop the others'.
                match self.replicate_now(&is).await {
                    Ok(_) => made += 1,
                    Err(e) => {
                        tracing::error!(system = %is.code, %e, "embassy replication not recorded")
                    }
                }
            }
            if protection.cold_location.is_some()
                && last_cold.is_none_or(|c| {
                    at - c.started_at >= chrono::Duration::days(protection.cold_interval_days)
                })
            {
                match self.cold_now(&is).await {
                    Ok(_) => made += 1,
                    Err(e) => {
                        tracing::error!(system = %is.code, %e, "embassy cold copy not recorded")
                    }
                }
            }
            let due = last_drill.map_or(protection.created_at, |d| d.started_at)
                + chrono::Duration::days(protection.drill_interval_days);
            if at >= due {
                match self.drill_now(&is).await {
                    Ok(_) => made += 1,
                    Err(e) => tracing::error!(system = %is.code, %e, "embassy drill not recorded"),
                }
            }
        }
        Ok(made)
    }

    /// Runs the embassy scheduler every `every` until the process ends.
    pub fn spawn_embassy_jobs(&self, every: std::time::Duration) {
        let app = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = app.run_embassy_jobs().await {
                    tracing::error!(%e, "embassy scheduler pass failed");
                }
                tokio::time::sleep(every).await;
            }
        });
    }
}

//! The data embassy in the control plane (issue 5; REQUIREMENTS EMB-1,
//! EMB-2, EMB-4, EMB-7, EMB-10): which information systems are protected
//! and at which eligible foreign site, hot replication with the achieved RPO
//! recorded per system and alerts when it exceeds the target, recovery
//! drills that restore the latest replica into scratch space and measure the
//! RTO, and four-eyes grants for anything that opens embassy data or keys.
//!
//! The repository engine is `makonis-embassy`; this module decides who may
//! do what, keeps the repositories' passwords sealed with the master key
//! (nobody reads them back except through a key-release grant), and records
//! every run. Replication runs and drills are records of their own
//! (`embassy_runs`); protections, grants, key releases and refused attempts
//! go into the audit chain.
//!
//! Main flow: [`protection`] puts a system under the embassy at an eligible
//! site; [`schedule`] runs [`replication`], cold copies and [`drills`] when
//! they are due; [`status`] shows RPO and RTO against their targets;
//! [`grants`] open keys and data only with four eyes; [`dr_plans`] and
//! [`restore`] are what a recovery uses. [`backends`] opens the
//! repositories.

pub mod backends;
pub mod dr_plans;
pub mod drills;
pub mod grants;
pub(crate) mod policy;
pub mod protection;
pub mod replication;
pub mod restore;
pub mod schedule;
pub mod status;

pub use dr_plans::{DrPlan, DrPlanInput, DrPlanRead, DrPlanVersion};
pub use grants::ReleasedKey;
pub use protection::SiteEligibility;
pub use restore::{RestoreInput, RestoreReport};
pub use status::{SystemReport, SystemStatus};

use makonis_db::systems as information_system;
use makonis_types::InformationSystemId;
use makonis_types::embassy::*;
use makonis_types::information_system::InformationSystem;
use serde::{Deserialize, Serialize};

use crate::authz::{Action, Kind, Scope, authorize, can};
use crate::{App, Error, OpContext, Result};

/// The repositories' passwords, sealed together.
#[derive(Clone, Serialize, Deserialize)]
struct RepositorySecrets {
    primary_password: String,
    replica_password: String,
    /// Access to the S3 store of `s3://` locations.
    #[serde(default)]
    s3: Option<S3Access>,
}

const SECRETS_CONTEXT: &str = "embassy-repositories";

fn seconds(d: chrono::Duration) -> i64 {
    d.num_seconds().max(0)
}

impl App {
    async fn visible_system(
        &self,
        ctx: &OpContext,
        system: InformationSystemId,
        action: Action,
    ) -> Result<InformationSystem> {
        let mut conn = self.datastore().conn().await?;
        let is = information_system::get(&mut conn, system)
            .await?
            .ok_or(Error::NotFound {
                kind: "information system",
            })?;
        authorize(
            ctx,
            action,
            Kind::Embassy,
            Scope::Institution(is.institution_id),
        )?;
        Ok(is)
    }
}

fn can_read_any_embassy(ctx: &OpContext) -> bool {
    can(ctx, Action::Read, Kind::Embassy, Scope::Platform)
        || ctx
            .institutions()
            .into_iter()
            .any(|i| can(ctx, Action::Read, Kind::Embassy, Scope::Institution(i)))
}

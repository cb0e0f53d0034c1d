//! The Mākonis demo federation (issue 2 §10), as the sources describe it:
//! the four state providers (LVRTC, LNB, IeM IC, LAD), the Broker (VDAA),
//! CERT.LV and VARAM, a dozen recipient institutions, about thirty
//! information systems, one user for every role, the catalogue with price
//! lists, two orders, three months of costs, and the data embassy.
//!
//! Seeding goes through the same `makonis-app` use cases as everything
//! else, as the system actor or as the seeded people, so it is authorised
//! and audited like any other change; `makonis demo` calls [`seed`], and
//! `makonis demo --with-openstack` also [`register_local_openstack`]. The
//! production crates hold no demo data.

mod costs;
mod embassy;
mod federation;
mod institutions;
mod openstack;
mod orders;

use makonis_app::{App, OpContext, Result};
use makonis_drivers::openstack::LocalPeer;

pub use institutions::{DEMO_PASSWORD, DemoLogin};
pub use openstack::{LOCAL_OPENSTACK, LocalOpenStack};

/// Seeds the demo federation unless the database already holds
/// institutions. Returns the demo logins when it seeded.
pub async fn seed(app: &App) -> Result<Option<Vec<DemoLogin>>> {
    Seeder { app: app.clone() }.seed_demo().await
}

/// Registers the OpenStack that `scripts/peers/openstack-up` runs on this
/// machine as LVRTC's provider `LVRTC-OS` and syncs its catalogue; a second
/// call only syncs again.
pub async fn register_local_openstack(app: &App, peer: &LocalPeer) -> Result<LocalOpenStack> {
    Seeder { app: app.clone() }
        .register_local_openstack(peer)
        .await
}

/// Runs the seeding steps against one application.
struct Seeder {
    app: App,
}

fn sys_ctx() -> OpContext {
    OpContext::system("demo-seed")
}

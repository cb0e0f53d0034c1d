//! `makonis demo --with-openstack`: registers the OpenStack that
//! `scripts/peers/openstack-up` runs on this machine as a provider of the
//! demo federation, run by LVRTC, so orders placed in the portal create
//! real (fake-driver) servers in Nova. Its flavours come in through the
//! real catalogue sync and get a price list from their sizes. Running it
//! again only syncs again.

use makonis_app::{Error, OpContext, Result};
use makonis_drivers::openstack::LocalPeer;
use makonis_types::catalogue::{
    CatalogueSyncInput, CatalogueSyncReport, PriceItem, PriceListInput,
};
use makonis_types::federation::{PlatformFamily, ProviderInput, ProviderKind, SiteInput};
use makonis_types::paging::PageRequest;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::Seeder;

/// The short name the local OpenStack is registered under.
pub const LOCAL_OPENSTACK: &str = "LVRTC-OS";

/// What the demo registered.
#[derive(Debug, Clone, Serialize)]
pub struct LocalOpenStack {
    pub provider: String,
    pub keystone: String,
    pub sync: CatalogueSyncReport,
}

/// EUR per hour for one vCPU and one GiB of RAM: the demo's cost-based
/// price, in the range of the state providers' published prices.
fn hourly_price(vcpu: i64, ram_gb: i64) -> Decimal {
    Decimal::new(95, 4) * Decimal::from(vcpu) + Decimal::new(25, 4) * Decimal::from(ram_gb)
}

/// EUR per GB-month of block storage (Cinder volume types).
const VOLUME_GB_MONTH: Decimal = Decimal::from_parts(45, 0, 0, false, 3);

fn price_of(offering: &makonis_types::catalogue::Offering) -> Decimal {
    match offering.kind {
        makonis_types::catalogue::OfferingKind::Volume => VOLUME_GB_MONTH,
        _ => hourly_price(offering.vcpu, offering.ram_gb),
    }
}

impl Seeder {
    pub async fn register_local_openstack(&self, peer: &LocalPeer) -> Result<LocalOpenStack> {
        let ctx = OpContext::system("demo-openstack");
        let existing = self
            .app
            .list_providers(&ctx)
            .await?
            .into_iter()
            .find(|p| p.short_name == LOCAL_OPENSTACK);
        let provider = match existing {
            Some(p) => p,
            None => {
                let lvrtc = self
                    .app
                    .list_institutions(&ctx, Some("LVRTC"), PageRequest::default())
                    .await?
                    .items
                    .into_iter()
                    .find(|i| i.short_name == "LVRTC")
                    .map(|i| i.id);
                let provider = self
                    .app
                    .create_provider(
                        &ctx,
                        &ProviderInput {
                            name: "LVRTC OpenStack (vietējais, izmēģinājumam)".into(),
                            short_name: LOCAL_OPENSTACK.into(),
                            institution_id: lvrtc,
                            kind: ProviderKind::State,
                            platform: PlatformFamily::OpenStack,
                            endpoint: Some(peer.auth_url().to_owned()),
                            credentials: Some(peer.credentials()),
                        },
                    )
                    .await?;
                self.app
                    .add_site(
                        &ctx,
                        provider.id,
                        &SiteInput {
                            name: "RegionOne (127.0.0.1)".into(),
                            country: "LV".into(),
                            latitude: 56.9496,
                            longitude: 24.1052,
                            uptime_tier: 3,
                        },
                    )
                    .await?;
                provider
            }
        };
        let sync = self
            .app
            .sync_catalogue(&ctx, provider.id, &CatalogueSyncInput::default())
            .await
            .map_err(|e| match e {
                Error::Unavailable { message, detail } => Error::Unavailable {
                    message: format!(
                        "{message} (is the local OpenStack running? scripts/peers/openstack-up)"
                    ),
                    detail,
                },
                other => other,
            })?;
        if !sync.unpriced.is_empty() {
            let today = chrono::Utc::now().date_naive();
            let offerings = self
                .app
                .search_catalogue(
                    &ctx,
                    &makonis_types::catalogue::CatalogueFilter {
                        provider_id: Some(provider.id),
                        ..Default::default()
                    },
                    today,
                    PageRequest {
                        limit: Some(500),
                        offset: None,
                    },
                )
                .await?;
            let versions = self.app.list_price_lists(&ctx, provider.id).await?.len();
            // A new version from today; the previous open one (if any)
            // keeps its prices for the days it covered.
            if versions == 0 {
                self.app
                    .create_price_list(
                        &ctx,
                        provider.id,
                        &PriceListInput {
                            version: format!("{LOCAL_OPENSTACK}-1"),
                            valid_from: today - chrono::Duration::days(1),
                            valid_until: None,
                            currency: "EUR".into(),
                            items: offerings
                                .items
                                .iter()
                                .map(|e| PriceItem {
                                    offering_id: e.offering.id,
                                    unit_price: price_of(&e.offering),
                                })
                                .collect(),
                        },
                    )
                    .await?;
            }
        }
        Ok(LocalOpenStack {
            provider: provider.short_name,
            keystone: peer.auth_url().to_owned(),
            sync,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_follow_size() {
        assert_eq!(hourly_price(1, 1), Decimal::new(120, 4));
        assert_eq!(hourly_price(4, 8), Decimal::new(580, 4));
        assert_eq!(VOLUME_GB_MONTH.to_string(), "0.045");
    }
}

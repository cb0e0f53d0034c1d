//! Two orders as the seeded people would place them.

use makonis_app::Result;
use makonis_types::catalogue::OfferingKind;
use makonis_types::paging::PageRequest;

use crate::{Seeder, sys_ctx};

impl Seeder {
    /// Two orders as the seeded people would place them: VID's member orders
    /// VMs for EDS (category A: waits for four eyes) and for NRS (approved
    /// by the IS owner, so a draft agreement with LVRTC waits for signatures).
    pub(crate) async fn seed_demo_orders(&self) -> Result<()> {
        let sys = sys_ctx();
        let member = self.demo_person("darbinieks@vid.gov.lv").await?;
        let owner = self.demo_person("parzinis@vid.gov.lv").await?;
        let find_system = |code: &'static str| async move {
            let page = self
                .app
                .list_information_systems(
                    &sys_ctx(),
                    &makonis_types::information_system::InformationSystemFilter {
                        q: Some(code.into()),
                        ..Default::default()
                    },
                    PageRequest::default(),
                )
                .await?;
            page.items
                .into_iter()
                .find(|s| s.code == code)
                .ok_or(makonis_app::Error::NotFound {
                    kind: "information system",
                })
        };
        let today = chrono::Utc::now().date_naive();
        let vms = self
            .app
            .search_catalogue(
                &sys,
                &makonis_types::catalogue::CatalogueFilter {
                    kind: Some(OfferingKind::Vm),
                    ..Default::default()
                },
                today,
                PageRequest {
                    limit: Some(500),
                    offset: None,
                },
            )
            .await?;
        let medium = vms
            .items
            .iter()
            .find(|e| {
                e.provider_short_name == "LVRTC"
                    && e.site_name == "Zaķusala"
                    && e.offering.name.starts_with("m1.medium")
            })
            .ok_or(makonis_app::Error::NotFound { kind: "offering" })?
            .offering
            .id;
        let eds = find_system("EDS").await?;
        let nrs = find_system("NRS").await?;
        let order = |system, quantity, note: &str| makonis_types::order::NewOrderInput {
            information_system_id: system,
            offering_id: medium,
            quantity,
            note: Some(note.to_owned()),
            submit: true,
        };
        self.app
            .create_order(
                &member,
                &order(
                    eds.id,
                    2,
                    "EDS lietojumserveri 2027. gada deklarēšanas sezonai",
                ),
            )
            .await?;
        let nrs_order = self
            .app
            .create_order(&member, &order(nrs.id, 1, "NRS testa vide"))
            .await?;
        self.app
            .decide_order(
                &owner,
                nrs_order.order.id,
                &makonis_types::order::DecisionInput {
                    decision: makonis_types::order::Decision::Approve,
                    reason: Some("Budžetā paredzēts".into()),
                },
            )
            .await?;
        Ok(())
    }
}

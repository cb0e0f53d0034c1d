//! The register of information systems: each belongs to an institution and
//! has a security category (A/B/C), a critical-infrastructure flag, data
//! classification, RPO/RTO targets and an embassy requirement.
//!
//! Main flow: an institution administrator or IS owner registers and edits a
//! system; placement, orders, metering and the embassy read it to decide
//! what the system may use and who pays.
//!
//! Requirements: REG-1, SEC-7, SEC-8, EMB-11.

pub(crate) mod policy;

use makonis_db::identity::institution;
use makonis_db::{commit, systems as store};
use makonis_types::information_system::{
    InformationSystem, InformationSystemFilter, InformationSystemInput, Lifecycle,
};
use makonis_types::paging::{Page, PageRequest};
use makonis_types::{FieldError, InformationSystemId, InstitutionId};

use crate::audit::{self, Change};
use crate::authz::{Action, Kind, Scope, authorize, readable_institutions};
use crate::{App, Error, OpContext, Result, now};

impl App {
    pub async fn create_information_system(
        &self,
        ctx: &OpContext,
        institution_id: InstitutionId,
        input: &InformationSystemInput,
    ) -> Result<InformationSystem> {
        authorize(
            ctx,
            Action::Create,
            Kind::InformationSystems,
            Scope::Institution(institution_id),
        )?;
        let valid = input.validate()?;
        if valid.lifecycle == Lifecycle::Archived {
            return Err(Error::invalid(
                FieldError::new(
                    "lifecycle",
                    "invalid",
                    "a new information system cannot start archived",
                )
                .with_param("reason", "archived_new"),
            ));
        }
        let mut tx = self.datastore().begin().await?;
        if institution::get(&mut tx, institution_id).await?.is_none() {
            return Err(Error::invalid(FieldError::new(
                "institution_id",
                "not_found",
                "no such institution",
            )));
        }
        let id = InformationSystemId::new();
        let created = store::insert(&mut tx, id, institution_id, &valid, now()).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "information_system.create",
                target_kind: "information_system",
                target_id: id.to_string(),
                target_institution: Some(institution_id),
                before: None,
                after: audit::summary(&created),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(created)
    }

    /// Reads one system. Its institution decides access, so the record is
    /// loaded first and checked before anything is returned.
    pub async fn get_information_system(
        &self,
        ctx: &OpContext,
        id: InformationSystemId,
    ) -> Result<InformationSystem> {
        // Refuse the anonymous before touching storage.
        readable_institutions(ctx, Kind::InformationSystems)?;
        let mut conn = self.datastore().conn().await?;
        let system = store::get(&mut conn, id).await?.ok_or(Error::NotFound {
            kind: "information system",
        })?;
        authorize(
            ctx,
            Action::Read,
            Kind::InformationSystems,
            Scope::Institution(system.institution_id),
        )?;
        Ok(system)
    }

    pub async fn list_information_systems(
        &self,
        ctx: &OpContext,
        filter: &InformationSystemFilter,
        page: PageRequest,
    ) -> Result<Page<InformationSystem>> {
        let visible = readable_institutions(ctx, Kind::InformationSystems)?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::list(&mut conn, visible.as_deref(), filter, page).await?)
    }

    pub async fn update_information_system(
        &self,
        ctx: &OpContext,
        id: InformationSystemId,
        input: &InformationSystemInput,
    ) -> Result<InformationSystem> {
        readable_institutions(ctx, Kind::InformationSystems)?;
        let mut tx = self.datastore().begin().await?;
        let before = store::get(&mut tx, id).await?.ok_or(Error::NotFound {
            kind: "information system",
        })?;
        authorize(
            ctx,
            Action::Update,
            Kind::InformationSystems,
            Scope::Institution(before.institution_id),
        )?;
        let valid = input.validate()?;
        let after = store::update(&mut tx, id, &valid, now()).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "information_system.update",
                target_kind: "information_system",
                target_id: id.to_string(),
                target_institution: Some(before.institution_id),
                before: audit::summary(&before),
                after: audit::summary(&after),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(after)
    }
}

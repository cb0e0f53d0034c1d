//! Institutions: the tenants (REQUIREMENTS FED-8, REG-1).

use makonis_db::commit;
use makonis_db::identity::institution as store;
use makonis_types::InstitutionId;
use makonis_types::institution::{Institution, InstitutionInput};
use makonis_types::paging::{Page, PageRequest};

use crate::audit::{self, Change};
use crate::authz::{Action, Kind, Scope, authorize, readable_institutions};
use crate::{App, Error, OpContext, Result, now};

impl App {
    pub async fn create_institution(
        &self,
        ctx: &OpContext,
        input: &InstitutionInput,
    ) -> Result<Institution> {
        authorize(ctx, Action::Create, Kind::Institutions, Scope::Platform)?;
        let valid = input.validate()?;
        let mut tx = self.datastore().begin().await?;
        let id = InstitutionId::new();
        let created = store::insert(&mut tx, id, &valid, now()).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "institution.create",
                target_kind: "institution",
                target_id: id.to_string(),
                target_institution: Some(id),
                before: None,
                after: audit::summary(&created),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(created)
    }

    pub async fn get_institution(&self, ctx: &OpContext, id: InstitutionId) -> Result<Institution> {
        authorize(
            ctx,
            Action::Read,
            Kind::Institutions,
            Scope::Institution(id),
        )?;
        let mut conn = self.datastore().conn().await?;
        store::get(&mut conn, id).await?.ok_or(Error::NotFound {
            kind: "institution",
        })
    }

    pub async fn list_institutions(
        &self,
        ctx: &OpContext,
        q: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Institution>> {
        let visible = readable_institutions(ctx, Kind::Institutions)?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::list(&mut conn, visible.as_deref(), q, page).await?)
    }

    pub async fn update_institution(
        &self,
        ctx: &OpContext,
        id: InstitutionId,
        input: &InstitutionInput,
    ) -> Result<Institution> {
        authorize(
            ctx,
            Action::Update,
            Kind::Institutions,
            Scope::Institution(id),
        )?;
        let valid = input.validate()?;
        let mut tx = self.datastore().begin().await?;
        let before = store::get(&mut tx, id).await?.ok_or(Error::NotFound {
            kind: "institution",
        })?;
        if before.kind != valid.kind
            && !crate::authz::can(ctx, Action::Create, Kind::Institutions, Scope::Platform)
        {
            return Err(Error::forbidden(
                "only platform administrators change an institution's kind",
            ));
        }
        let after = store::update(&mut tx, id, &valid, now()).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "institution.update",
                target_kind: "institution",
                target_id: id.to_string(),
                target_institution: Some(id),
                before: audit::summary(&before),
                after: audit::summary(&after),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(after)
    }
}

//! A person's notifications (approvals waiting, orders decided, agreements
//! to sign).

use makonis_db::{commit, orders as store};
use makonis_types::UserId;

use crate::authz::{Action, token_permits};
use crate::{App, Error, OpContext, Result, now};

impl App {
    pub async fn notifications(
        &self,
        ctx: &OpContext,
        unread_only: bool,
    ) -> Result<Vec<store::Notification>> {
        let me = ctx.user().ok_or(Error::Unauthenticated)?.id;
        let mut conn = self.datastore().conn().await?;
        Ok(store::notifications(&mut conn, me, unread_only).await?)
    }

    pub async fn mark_notifications_read(&self, ctx: &OpContext) -> Result<u64> {
        token_permits(ctx, Action::Update)?;
        let me: UserId = ctx.user().ok_or(Error::Unauthenticated)?.id;
        let mut tx = self.datastore().begin().await?;
        let n = store::mark_read(&mut tx, me, now()).await?;
        commit(tx).await?;
        Ok(n)
    }
}

//! Drift: the registry's live resources compared with a provider's
//! inventory, both ways (issue 3 §7).

use std::collections::BTreeMap;

use makonis_db::{federation, sagas as store};
use makonis_drivers::ResourceStatus;
use makonis_types::federation::ProviderId;
use makonis_types::order::OrderId;
use serde::Serialize;

use crate::{App, Error, OpContext, Result, now};

/// A difference between the registry and a provider's inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DriftItem {
    /// The provider's id of the resource.
    pub external_id: String,
    pub order_id: Option<OrderId>,
    pub detail: String,
}

/// Registry and provider compared, both ways (issue 3 §7).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DriftReport {
    pub provider: String,
    pub checked_at: chrono::DateTime<chrono::Utc>,
    /// Recorded as live in Mākonis, but the provider does not have them.
    pub missing_at_provider: Vec<DriftItem>,
    /// The provider has them, but Mākonis has no live record (orphans).
    pub unknown_at_provider: Vec<DriftItem>,
    /// Both know them, but the provider reports an error.
    pub in_error: Vec<DriftItem>,
}

impl DriftReport {
    pub fn is_clean(&self) -> bool {
        self.missing_at_provider.is_empty()
            && self.unknown_at_provider.is_empty()
            && self.in_error.is_empty()
    }
}

impl App {
    /// Compares the registry with the provider's inventory. For the
    /// provider's operators, the Broker and platform administrators.
    pub async fn drift(&self, ctx: &OpContext, provider_id: ProviderId) -> Result<DriftReport> {
        let provider = {
            crate::authz::authorize(
                ctx,
                crate::authz::Action::Read,
                crate::authz::Kind::Providers,
                crate::authz::Scope::Platform,
            )?;
            let mut conn = self.datastore().conn().await?;
            federation::get_provider(&mut conn, provider_id)
                .await?
                .ok_or(Error::NotFound { kind: "provider" })?
        };
        crate::authz::authorize(
            ctx,
            crate::authz::Action::Update,
            crate::authz::Kind::Providers,
            crate::federation::provider_scope(&provider),
        )?;
        let driver = self.driver_for(&provider).await?;
        let recorded = {
            let mut conn = self.datastore().conn().await?;
            store::live_resources(&mut conn, provider_id).await?
        };
        let actual = driver.list().await.map_err(|e| Error::Unavailable {
            message: format!("{}: listing resources failed: {e}", provider.short_name),
            detail: String::new(),
        })?;
        let order_of = |tags: &BTreeMap<String, String>| {
            tags.get("makonis.order").and_then(|o| o.parse().ok())
        };
        let missing_at_provider = recorded
            .iter()
            .filter(|r| !actual.iter().any(|a| a.id == r.external_id))
            .map(|r| DriftItem {
                external_id: r.external_id.clone(),
                order_id: Some(r.order_id),
                detail: format!(
                    "recorded for order {} but {} no longer has it",
                    r.order_id, provider.short_name
                ),
            })
            .collect();
        let unknown_at_provider = actual
            .iter()
            .filter(|a| !recorded.iter().any(|r| r.external_id == a.id))
            .map(|a| DriftItem {
                external_id: a.id.clone(),
                order_id: order_of(&a.tags),
                detail: format!(
                    "{} has {} ({} × {}) that Mākonis has no live record of",
                    provider.short_name, a.id, a.quantity, a.offering
                ),
            })
            .collect();
        let in_error = actual
            .iter()
            .filter(|a| {
                a.status == ResourceStatus::Error && recorded.iter().any(|r| r.external_id == a.id)
            })
            .map(|a| DriftItem {
                external_id: a.id.clone(),
                order_id: order_of(&a.tags),
                detail: format!("{} reports {} in error", provider.short_name, a.id),
            })
            .collect();
        Ok(DriftReport {
            provider: provider.short_name,
            checked_at: now(),
            missing_at_provider,
            unknown_at_provider,
            in_error,
        })
    }
}

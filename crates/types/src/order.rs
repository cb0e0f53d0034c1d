//! Orders, their approvals, quotas and agreements (REQUIREMENTS FED-4,
//! FED-5, SEC-7, SEC-8). An order moves through a fixed state machine; each
//! transition is checked here so no layer can skip a state.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::catalogue::OfferingId;
use crate::federation::ProviderId;
use crate::{InformationSystemId, InstitutionId, UserId, string_enum};

crate::ids::typed_id_pub!(
    /// An order.
    OrderId
);
crate::ids::typed_id_pub!(
    /// An agreement between an institution and a provider.
    AgreementId
);

string_enum!(
    /// Where an order is in its life.
    OrderState {
        Draft = "draft",
        Submitted = "submitted",
        Approving = "approving",
        Approved = "approved",
        Provisioning = "provisioning",
        Active = "active",
        Modifying = "modifying",
        Decommissioning = "decommissioning",
        Closed = "closed",
        Rejected = "rejected",
        Failed = "failed",
    }
);

impl OrderState {
    /// The states an order may move to from this one.
    pub fn next(self) -> &'static [OrderState] {
        use OrderState::*;
        match self {
            Draft => &[Submitted, Closed],
            Submitted => &[Approving, Rejected, Closed],
            Approving => &[Approved, Rejected, Closed],
            Approved => &[Provisioning, Closed],
            Provisioning => &[Active, Failed],
            Active => &[Modifying, Decommissioning],
            Modifying => &[Active, Failed],
            Decommissioning => &[Closed, Failed],
            Failed => &[Provisioning, Decommissioning, Closed],
            Closed | Rejected => &[],
        }
    }

    pub fn can_become(self, next: OrderState) -> bool {
        self.next().contains(&next)
    }

    /// Orders in these states hold quota: they are, or are on their way to
    /// being, resources someone pays for.
    pub fn holds_quota(self) -> bool {
        use OrderState::*;
        matches!(
            self,
            Submitted
                | Approving
                | Approved
                | Provisioning
                | Active
                | Modifying
                | Decommissioning
                | Failed
        )
    }
}

string_enum!(
    /// One approval an order needs.
    ApprovalStep {
        /// An IS owner or institution administrator of the ordering institution.
        Institution = "institution",
        /// A second, different person of the institution (four eyes).
        SecondInstitution = "second_institution",
        /// The Broker, for specialised services.
        Broker = "broker",
    }
);

string_enum!(
    Decision {
        Approve = "approve",
        Reject = "reject",
    }
);

/// Why the chain has the steps it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApprovalRule {
    pub steps: Vec<ApprovalStep>,
    /// Four eyes: two distinct approvers, neither the requester.
    pub four_eyes: bool,
    /// The reasons four eyes applies (`category_a`, `critical`, `cost`).
    pub four_eyes_because: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: OrderId,
    pub institution_id: InstitutionId,
    pub information_system_id: InformationSystemId,
    pub offering_id: OfferingId,
    pub provider_id: ProviderId,
    pub quantity: i64,
    pub requester_id: UserId,
    pub state: OrderState,
    /// Monthly cost when ordered, EUR.
    #[schema(value_type = String)]
    pub monthly_estimate: Decimal,
    pub rule: ApprovalRule,
    pub agreement_id: Option<AgreementId>,
    pub note: Option<String>,
    /// Why it failed or was rejected.
    pub reason: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Approval {
    pub order_id: OrderId,
    pub step: ApprovalStep,
    pub approver_id: UserId,
    pub approver_label: String,
    pub decision: Decision,
    pub reason: Option<String>,
    pub decided_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderDetail {
    #[serde(flatten)]
    pub order: Order,
    pub approvals: Vec<Approval>,
    /// Steps still waiting for a decision.
    pub pending_steps: Vec<ApprovalStep>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrderInput {
    pub information_system_id: InformationSystemId,
    pub offering_id: OfferingId,
    pub quantity: i64,
    #[serde(default)]
    pub note: Option<String>,
    /// Submit right away instead of keeping a draft.
    #[serde(default)]
    pub submit: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub decision: Decision,
    /// Required when rejecting.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderFilter {
    pub institution_id: Option<InstitutionId>,
    pub information_system_id: Option<InformationSystemId>,
    pub state: Option<OrderState>,
}

/// Limits for an institution, or for one of its systems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quota {
    pub institution_id: InstitutionId,
    /// None: the limit covers the whole institution.
    pub information_system_id: Option<InformationSystemId>,
    pub vcpu: Option<i64>,
    pub ram_gb: Option<i64>,
    pub storage_gb: Option<i64>,
    #[schema(value_type = Option<String>)]
    pub monthly_budget_eur: Option<Decimal>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaInput {
    #[serde(default)]
    pub information_system_id: Option<InformationSystemId>,
    #[serde(default)]
    pub vcpu: Option<i64>,
    #[serde(default)]
    pub ram_gb: Option<i64>,
    #[serde(default)]
    pub storage_gb: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub monthly_budget_eur: Option<Decimal>,
}

/// What the orders holding quota add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct QuotaUsage {
    pub vcpu: i64,
    pub ram_gb: i64,
    pub storage_gb: i64,
    #[schema(value_type = String)]
    pub monthly_eur: Decimal,
}

string_enum!(
    AgreementStatus {
        /// Waiting for both signatures.
        Draft = "draft",
        Active = "active",
        Expired = "expired",
        Terminated = "terminated",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Agreement {
    pub id: AgreementId,
    pub institution_id: InstitutionId,
    pub provider_id: ProviderId,
    /// The price list version in force when it was made.
    pub price_list_version: Option<String>,
    pub scope: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub status: AgreementStatus,
    /// Reference of the signed document (e.g. a DMS number).
    pub document_ref: Option<String>,
    pub broker_signed_by: Option<UserId>,
    pub broker_signed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub institution_signed_by: Option<UserId>,
    pub institution_signed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Renewal reminders go out this many days before `valid_until`.
    pub reminder_days: i64,
}

impl Agreement {
    pub fn reminder_date(&self) -> NaiveDate {
        self.valid_until - chrono::Duration::days(self.reminder_days)
    }

    pub fn covers(&self, day: NaiveDate) -> bool {
        self.status == AgreementStatus::Active && self.valid_from <= day && day <= self.valid_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_machine_has_no_way_back_from_the_end() {
        for state in OrderState::ALL {
            for next in state.next() {
                assert_ne!(next, state, "{state} loops");
            }
        }
        assert!(OrderState::Closed.next().is_empty() && OrderState::Rejected.next().is_empty());
        assert!(!OrderState::Draft.can_become(OrderState::Active));
        assert!(OrderState::Approving.can_become(OrderState::Approved));
    }

    #[test]
    fn every_state_is_reachable_from_draft() {
        let mut seen = vec![OrderState::Draft];
        let mut i = 0;
        while i < seen.len() {
            for next in seen[i].next() {
                if !seen.contains(next) {
                    seen.push(*next);
                }
            }
            i += 1;
        }
        assert_eq!(
            seen.len(),
            OrderState::ALL.len(),
            "unreachable: {:?}",
            OrderState::ALL
                .iter()
                .filter(|s| !seen.contains(s))
                .collect::<Vec<_>>()
        );
    }
}

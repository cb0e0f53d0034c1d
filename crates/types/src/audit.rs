//! Audit records: the tamper-evident chain of every change that matters
//! (issue 2 §6). Each record carries the hash of the record before it; the
//! hashing and verification live in `app::audit`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::InstitutionId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditRecord {
    /// Position in the chain, from 1 without gaps.
    pub seq: i64,
    /// RFC 3339 UTC, exactly as hashed.
    pub recorded_at: String,
    /// The acting user; none for the system itself (demo seeding, jobs).
    pub actor_user_id: Option<String>,
    /// E-mail of the actor, or `system`.
    pub actor_label: String,
    /// The institution the actor was acting for.
    pub acting_institution_id: Option<String>,
    /// `institution.create`, `information_system.update`, `user.login`…
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    /// The tenant the target belongs to, so institution auditors see their part.
    pub target_institution_id: Option<String>,
    /// JSON summary of the state before the change.
    pub before_state: Option<String>,
    /// JSON summary of the state after the change.
    pub after_state: Option<String>,
    pub request_id: String,
    /// Hex SHA-256 of the previous record (all zeros for the first).
    pub prev_hash: String,
    /// Hex SHA-256 over this record's fields and `prev_hash`.
    pub hash: String,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Only records about this institution.
    pub institution_id: Option<InstitutionId>,
    /// Only this action, e.g. `information_system.update`.
    pub action: Option<String>,
    /// Only records whose target has this id.
    pub target_id: Option<String>,
}

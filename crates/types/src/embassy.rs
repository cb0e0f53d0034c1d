//! The data embassy's records (REQUIREMENTS EMB-1…EMB-11): which
//! information systems are protected and where their replicas live, each
//! replication and recovery drill with what it achieved, and the four-eyes
//! grants that open embassy data or keys to a person.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::federation::SiteId;
use crate::{FieldError, InformationSystemId, InstitutionId, UserId, Validator, string_enum};

crate::ids::typed_id_pub!(
    /// A four-eyes grant to embassy data or keys.
    GrantId
);

string_enum!(
    /// What a grant opens.
    GrantPurpose {
        /// Hand a repository key to a person (e.g. to restore elsewhere).
        KeyRelease = "key_release",
        /// Restore embassy data into production.
        RestoreProduction = "restore_production",
        /// Read embassy resources (e.g. the DR plan).
        Access = "access",
    }
);

string_enum!(
    /// Where a grant stands. Expiry is not a state: a grant is usable while
    /// `active` and before `valid_until`.
    GrantState {
        /// Waits for a custodian and a security officer.
        Pending = "pending",
        Active = "active",
        Refused = "refused",
    }
);

string_enum!(
    /// What an embassy run did.
    RunKind {
        /// Incremental replication of the primary to the embassy replica.
        Hot = "hot",
        /// A recovery drill: restore the latest replica snapshot to scratch.
        Drill = "drill",
        /// A cold copy into an immutable (Object Lock) bucket.
        Cold = "cold",
    }
);

string_enum!(
    RunOutcome {
        Ok = "ok",
        Failed = "failed",
    }
);

/// An information system under embassy protection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Protection {
    pub information_system_id: InformationSystemId,
    pub institution_id: InstitutionId,
    /// The embassy site (eligible under EMB-1 when protection was set).
    pub site_id: SiteId,
    /// The primary repository in Latvia: a path or `s3://bucket/prefix`.
    pub primary_location: String,
    /// The replica at the embassy site.
    pub replica_location: String,
    pub hot_interval_minutes: i64,
    pub drill_interval_days: i64,
    /// Network latency from Latvia the operator measured, ms.
    pub latency_ms: Option<i64>,
    /// Cold copies: an `s3://` location in a bucket with Object Lock.
    pub cold_location: Option<String>,
    /// Each cold copy stays immutable (COMPLIANCE mode) this long.
    pub cold_retain_days: i64,
    pub cold_interval_days: i64,
    /// The S3 endpoint used for `s3://` locations, when not AWS's.
    pub s3_endpoint: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Turning protection on (or changing it).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtectionInput {
    pub site_id: SiteId,
    pub primary_location: String,
    pub replica_location: String,
    /// The primary repository's password (sealed at rest, never shown again).
    pub primary_password: String,
    /// The replica's password; created with it when the replica is new.
    pub replica_password: String,
    #[serde(default = "default_hot_interval")]
    pub hot_interval_minutes: i64,
    #[serde(default = "default_drill_interval")]
    pub drill_interval_days: i64,
    #[serde(default)]
    pub latency_ms: Option<i64>,
    /// Cold copies into an `s3://` location in a bucket with Object Lock.
    #[serde(default)]
    pub cold_location: Option<String>,
    #[serde(default = "default_cold_retain")]
    pub cold_retain_days: i64,
    #[serde(default = "default_cold_interval")]
    pub cold_interval_days: i64,
    /// Access to the S3 store(s) of `s3://` locations; sealed at rest.
    /// Without it, the standard AWS credential chain of the host is used.
    #[serde(default)]
    pub s3: Option<S3Access>,
}

/// How to reach an S3-compatible store (Ceph RGW, MinIO, AWS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct S3Access {
    /// `https://…`; AWS when left out.
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// A PEM file on the control-plane host with the CA(s) of a private
    /// endpoint, trusted in addition to the system's roots.
    #[serde(default)]
    pub ca_bundle: Option<String>,
}

fn default_cold_retain() -> i64 {
    90
}

fn default_cold_interval() -> i64 {
    7
}

fn default_hot_interval() -> i64 {
    15
}

fn default_drill_interval() -> i64 {
    30
}

impl ProtectionInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::new();
        v.text("primary_location", &self.primary_location, 1000);
        v.text("replica_location", &self.replica_location, 1000);
        v.range(
            "hot_interval_minutes",
            self.hot_interval_minutes,
            1,
            24 * 60,
        );
        v.range("drill_interval_days", self.drill_interval_days, 1, 366);
        if let Some(latency) = self.latency_ms {
            v.range("latency_ms", latency, 0, 10_000);
        }
        v.range("cold_retain_days", self.cold_retain_days, 1, 3650);
        v.range("cold_interval_days", self.cold_interval_days, 1, 366);
        let mut errors = v.finish().err().unwrap_or_default();
        for (field, password) in [
            ("primary_password", &self.primary_password),
            ("replica_password", &self.replica_password),
        ] {
            if password.chars().count() < 12 {
                errors.push(
                    FieldError::new(field, "too_short", "at least 12 characters")
                        .with_param("min", 12),
                );
            }
        }
        if let Some(cold) = &self.cold_location
            && !cold.trim().starts_with("s3://")
        {
            errors.push(FieldError::new(
                "cold_location",
                "invalid",
                "cold copies go to an s3:// bucket with Object Lock",
            ));
        }
        if let Some(s3) = &self.s3 {
            if s3.access_key_id.trim().is_empty() {
                errors.push(FieldError::required("s3.access_key_id"));
            }
            if s3.secret_access_key.is_empty() {
                errors.push(FieldError::required("s3.secret_access_key"));
            }
            if let Some(e) = &s3.endpoint
                && !(e.starts_with("https://") || e.starts_with("http://"))
            {
                errors.push(FieldError::new(
                    "s3.endpoint",
                    "invalid",
                    "an endpoint is an http(s):// URL",
                ));
            }
        }
        if self.primary_location.trim() == self.replica_location.trim() {
            errors.push(FieldError::new(
                "replica_location",
                "invalid",
                "the replica must be a different repository from the primary",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// One replication or drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EmbassyRun {
    pub id: String,
    pub information_system_id: InformationSystemId,
    pub kind: RunKind,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub outcome: RunOutcome,
    /// Time of the newest source snapshot present at the replica.
    pub newest_snapshot_at: Option<DateTime<Utc>>,
    /// Replication: now − newest replicated snapshot, at the end of the run.
    pub achieved_rpo_seconds: Option<i64>,
    /// Drill: time to restore and verify.
    pub rto_seconds: Option<i64>,
    /// Bytes uploaded (replication) or restored (drill).
    pub bytes: i64,
    /// What happened, in English; the error when it failed.
    pub detail: String,
}

/// A four-eyes grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Grant {
    pub id: GrantId,
    pub information_system_id: InformationSystemId,
    pub institution_id: InstitutionId,
    pub purpose: GrantPurpose,
    pub reason: String,
    pub requested_by: UserId,
    pub requested_at: DateTime<Utc>,
    /// How long it lasts once both have approved.
    pub hours: i64,
    pub custodian_id: Option<UserId>,
    pub security_officer_id: Option<UserId>,
    pub state: GrantState,
    pub valid_until: Option<DateTime<Utc>>,
}

impl Grant {
    pub fn usable(&self, now: DateTime<Utc>) -> bool {
        self.state == GrantState::Active && self.valid_until.is_some_and(|t| now < t)
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    pub information_system_id: InformationSystemId,
    pub purpose: GrantPurpose,
    pub reason: String,
    /// 1–72 hours once approved.
    #[serde(default = "default_grant_hours")]
    pub hours: i64,
}

fn default_grant_hours() -> i64 {
    4
}

impl GrantInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::new();
        v.text("reason", &self.reason, 2000);
        v.range("hours", self.hours, 1, 72);
        v.finish()
    }
}

//! The audit chain (issue 2 §6): every change that matters appends a record
//! in the same transaction as the change. Each record's hash covers its
//! fields and the previous record's hash, so altering, deleting or
//! reordering records breaks the chain at a place [`verify`] reports by
//! sequence number. Someone able to rewrite the whole database could
//! recompute every hash; to catch that, keep the head hash printed by
//! `makonis audit verify` somewhere else and pass it back with
//! `--expect-head`.
//!
//! Main flow: a use case calls [`append`] with its transaction; auditors and
//! security officers read and filter the chain; [`verify`] walks it.
//!
//! Requirements: MON-3, SEC-7.

pub(crate) mod policy;

use makonis_db::{Tx, audit as store};
use makonis_types::InstitutionId;
use makonis_types::audit::{AuditFilter, AuditRecord};
use makonis_types::paging::{Page, PageRequest};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::authz::{Action, Kind, Scope, authorize, readable_institutions};
use crate::{App, OpContext, Result};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What one change looked like, for [`append`].
pub struct Change<'a> {
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: String,
    pub target_institution: Option<InstitutionId>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Summarises a record for the audit chain.
pub fn summary(value: &impl Serialize) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

/// Appends a record within `tx`. The head row's update serialises appends.
pub async fn append(tx: &mut Tx, ctx: &OpContext, change: Change<'_>) -> Result<AuditRecord> {
    let (seq, prev_hash) = store::advance_head(tx).await?;
    let mut record = AuditRecord {
        seq,
        recorded_at: makonis_db::time_text(crate::now()),
        actor_user_id: ctx.user().map(|u| u.id.to_string()),
        actor_label: ctx.actor_label(),
        acting_institution_id: ctx.acting_institution().map(|i| i.to_string()),
        action: change.action.to_owned(),
        target_kind: change.target_kind.to_owned(),
        target_id: change.target_id,
        target_institution_id: change.target_institution.map(|i| i.to_string()),
        before_state: change.before.map(|v| v.to_string()),
        after_state: change.after.map(|v| v.to_string()),
        request_id: ctx.request_id.clone(),
        prev_hash,
        hash: String::new(),
    };
    record.hash = record_hash(&record);
    store::insert(tx, &record).await?;
    store::set_head_hash(tx, &record.hash).await?;
    Ok(record)
}

/// SHA-256 over a JSON array of the record's fields in a fixed order,
/// including the previous hash. JSON gives an unambiguous encoding of the
/// optional fields without a hand-made format.
pub fn record_hash(r: &AuditRecord) -> String {
    let canonical = serde_json::json!([
        r.seq,
        r.recorded_at,
        r.actor_user_id,
        r.actor_label,
        r.acting_institution_id,
        r.action,
        r.target_kind,
        r.target_id,
        r.target_institution_id,
        r.before_state,
        r.after_state,
        r.request_id,
        r.prev_hash,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// The first place the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    /// Sequence number of the first record that is wrong or missing.
    pub seq: i64,
    pub kind: BreakKind,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// The record's content no longer matches its hash.
    Altered,
    /// A record is missing (deleted).
    Missing,
    /// Records are out of order or duplicated.
    Reordered,
    /// The record does not link to its predecessor (its predecessor was
    /// altered and re-hashed, or records were swapped).
    BrokenLink,
    /// The chain ends before, or differs from, the recorded head.
    Truncated,
    /// The head differs from the one the operator expected.
    HeadMismatch,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub records_checked: u64,
    pub head_seq: i64,
    pub head_hash: String,
    pub first_break: Option<ChainBreak>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

const BATCH: i64 = 1000;

impl App {
    /// Walks the whole chain in order; stops at the first break. Run by the
    /// operator on the server host (`makonis audit verify`).
    pub async fn verify_audit_chain(&self, expect_head: Option<&str>) -> Result<VerifyReport> {
        let mut conn = self.datastore().conn().await?;
        let (head_seq, head_hash) = store::head(&mut conn).await?;
        let mut expected_seq = 1;
        let mut prev_hash = GENESIS_HASH.to_owned();
        let mut checked = 0u64;
        let mut after = 0;
        let report = |first_break, checked| VerifyReport {
            records_checked: checked,
            head_seq,
            head_hash: head_hash.clone(),
            first_break,
        };
        loop {
            let batch = store::batch_after(&mut conn, after, BATCH).await?;
            if batch.is_empty() {
                break;
            }
            for r in &batch {
                let problem = if r.seq > expected_seq {
                    Some(ChainBreak {
                        seq: expected_seq,
                        kind: BreakKind::Missing,
                        detail: format!(
                            "record {expected_seq} is missing; the next one present is {}",
                            r.seq
                        ),
                    })
                } else if r.seq < expected_seq {
                    Some(ChainBreak {
                        seq: r.seq,
                        kind: BreakKind::Reordered,
                        detail: format!(
                            "record {} appears after record {}",
                            r.seq,
                            expected_seq - 1
                        ),
                    })
                } else if record_hash(r) != r.hash {
                    Some(ChainBreak {
                        seq: r.seq,
                        kind: BreakKind::Altered,
                        detail: format!(
                            "record {} does not match its hash: its content was changed",
                            r.seq
                        ),
                    })
                } else if r.prev_hash != prev_hash {
                    Some(ChainBreak {
                        seq: r.seq,
                        kind: BreakKind::BrokenLink,
                        detail: format!(
                            "record {} does not follow record {}: one of them was altered and re-hashed, or they were reordered",
                            r.seq,
                            r.seq - 1
                        ),
                    })
                } else {
                    None
                };
                if problem.is_some() {
                    return Ok(report(problem, checked));
                }
                checked += 1;
                prev_hash.clone_from(&r.hash);
                expected_seq += 1;
            }
            after = batch.last().map_or(after, |r| r.seq);
        }
        let last_seq = expected_seq - 1;
        if last_seq == head_seq && prev_hash != head_hash {
            return Ok(report(
                Some(ChainBreak {
                    seq: last_seq,
                    kind: BreakKind::Altered,
                    detail: format!(
                        "record {last_seq} does not match the chain head: it was altered and re-hashed"
                    ),
                }),
                checked,
            ));
        }
        if last_seq != head_seq {
            return Ok(report(
                Some(ChainBreak {
                    seq: last_seq + 1,
                    kind: BreakKind::Truncated,
                    detail: format!(
                        "the chain ends at record {last_seq} but the head says {head_seq}: records were removed from the end"
                    ),
                }),
                checked,
            ));
        }
        if let Some(expected) = expect_head
            && !expected.eq_ignore_ascii_case(&head_hash)
        {
            return Ok(report(
                Some(ChainBreak {
                    seq: head_seq,
                    kind: BreakKind::HeadMismatch,
                    detail: format!(
                        "the head hash is {head_hash}, not the expected {expected}: the chain was rewritten or is a different one"
                    ),
                }),
                checked,
            ));
        }
        Ok(report(None, checked))
    }

    /// Streams every record in chain order to `sink` (for JSON Lines export).
    pub async fn export_audit_chain(
        &self,
        mut sink: impl FnMut(&AuditRecord) -> std::io::Result<()>,
    ) -> Result<u64> {
        let mut conn = self.datastore().conn().await?;
        let mut after = 0;
        let mut count = 0;
        loop {
            let batch = store::batch_after(&mut conn, after, BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = last.seq;
            for r in &batch {
                sink(r).map_err(crate::Error::internal)?;
                count += 1;
            }
        }
        Ok(count)
    }

    /// The audit log view: newest first, limited to what the actor may read.
    pub async fn list_audit(
        &self,
        ctx: &OpContext,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditRecord>> {
        if let Some(id) = filter.institution_id {
            authorize(ctx, Action::Read, Kind::AuditLog, Scope::Institution(id))?;
        }
        let visible = readable_institutions(ctx, Kind::AuditLog)?;
        if visible.as_ref().is_some_and(|ids| ids.is_empty()) {
            // Readable nowhere: say so rather than show an empty log.
            authorize(ctx, Action::Read, Kind::AuditLog, Scope::Platform)?;
        }
        let mut conn = self.datastore().conn().await?;
        Ok(store::list(&mut conn, visible.as_deref(), filter, page).await?)
    }
}

//! Repository operations as library functions. Each takes the lock it
//! needs, reports progress through [`crate::Progress`], and returns a
//! summary struct that a CLI can print or serialise.

pub mod backup;
pub mod check;
pub mod copy;
pub mod diff;
pub mod forget;
pub mod prune;
pub mod repair;
pub mod replicate;
pub mod restore;

pub use backup::{BackupOptions, BackupResult, ParentChoice, backup, backup_reader};
pub use check::{CheckOptions, CheckReport, Problem, check};
pub use copy::{AdoptedPacks, CopySummary, copy};
pub use diff::{DiffEntry, DiffKind, diff};
pub use forget::{ForgetGroup, KeepPolicy, apply_policy, forget, forget_ids};
pub use prune::{PruneOptions, PruneSummary, prune};
pub use repair::{RepairSummary, rebuild_index, repair_packs};
pub use replicate::{
    ColdCopyReport, ReplicateOptions, ReplicatedSnapshot, ReplicationError, ReplicationReport,
    RpoSource, SnapshotFilter, achieved_rpo, cold_copy, replicate,
};
pub use restore::{RestoreOptions, RestoreSummary, restore};

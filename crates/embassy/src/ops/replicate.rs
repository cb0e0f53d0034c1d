//! Replication: keep a replica (the data-embassy copy of a primary
//! repository) up to date, resumably, and take cold copies into an
//! immutable (S3 Object Lock) bucket.
//!
//! [`replicate`] copies every source snapshot matching a
//! [`SnapshotFilter`] that the replica lacks, built on [`super::copy()`]: only
//! blobs the replica does not have are sent, re-encrypted with the
//! replica's key. Writes are ordered packs → index → snapshots, so a run
//! cut off by a network failure leaves a replica that `check` accepts; the
//! next run first indexes the packs that arrived without an index (reading
//! their headers) and then sends only what is still missing.
//!
//! The [`ReplicationReport`] says what moved and how old the newest
//! replicated snapshot is: the achieved recovery point objective is
//! `now − newest_replicated_snapshot_time` ([`achieved_rpo`]). On failure
//! [`ReplicationError`] carries the same report for the part that was done.
//!
//! [`cold_copy`] is [`replicate`] into a repository whose backend writes
//! every object with a COMPLIANCE retention (see
//! [`crate::backend::s3::S3Backend::with_object_lock`]). Because the cold
//! copy deduplicates against objects written by earlier cold copies, whose
//! retention ends sooner, every replica run into an object-locked backend
//! also extends the retention of all objects the newly copied (or newest)
//! snapshot needs: packs, index files, config and keys, to at least
//! `run start + retain`.

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, Instant};

use chrono::{DateTime, Timelike, Utc};
use rayon::prelude::*;
use serde::Serialize;

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::id::Id;
use crate::lock;
use crate::ops::copy::{self, AdoptedPacks, Transfer};
use crate::progress::Progress;
use crate::repo::Repository;
use crate::snapshot::Snapshot;

/// Which source snapshots to replicate (e.g. those of one information
/// system). Empty lists impose no condition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SnapshotFilter {
    /// Snapshots of any of these hosts.
    pub hosts: Vec<String>,
    /// Snapshots carrying every one of these tags.
    pub tags: Vec<String>,
    /// Snapshots that include any of these backed-up paths.
    pub paths: Vec<String>,
}

impl SnapshotFilter {
    pub fn matches(&self, s: &Snapshot) -> bool {
        (self.hosts.is_empty() || self.hosts.contains(&s.hostname))
            && self.tags.iter().all(|t| s.tags.contains(t))
            && (self.paths.is_empty() || self.paths.iter().any(|p| s.paths.contains(p)))
    }
}

#[derive(Debug, Clone, Default)]
pub struct ReplicateOptions {
    pub filter: SnapshotFilter,
    /// How long to wait while either repository is locked exclusively
    /// (prune, repair).
    pub lock_wait: Duration,
}

/// One snapshot copied by a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplicatedSnapshot {
    /// Id in the source repository.
    pub source: Id,
    /// Id of the copy in the replica.
    pub replica: Id,
    /// The snapshot's time (when its backup started).
    pub time: DateTime<Utc>,
}

/// Retention work of a run into an object-locked replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColdCopyReport {
    pub compliance: bool,
    /// Every object the protected snapshots need is retained at least
    /// until this date.
    pub retained_until: DateTime<Utc>,
    /// Snapshots whose objects were checked (copied now, else the newest
    /// present one).
    pub snapshots_protected: Vec<Id>,
    /// Objects whose retention was checked.
    pub objects_checked: u64,
    /// Objects from earlier runs whose retention had to be extended.
    pub objects_extended: u64,
}

/// What a replication run did. Also returned (as
/// [`ReplicationError::partial`]) when the run failed part-way.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReplicationReport {
    /// Locations of the source and the replica.
    pub source: String,
    pub replica: String,
    pub started: DateTime<Utc>,
    #[serde(rename = "duration_secs", serialize_with = "secs")]
    pub duration: Duration,
    /// Snapshots copied by this run, oldest first.
    pub snapshots_copied: Vec<ReplicatedSnapshot>,
    /// Matching source snapshots the replica already had.
    pub snapshots_present: u64,
    /// Blobs and bytes (whole packs, headers included) that arrived at the
    /// replica in this run; index and snapshot files are not counted.
    pub blobs_uploaded: u64,
    pub bytes_uploaded: u64,
    pub packs_uploaded: u64,
    pub index_files_written: u64,
    /// Blobs the copied snapshots need that the replica already had (from
    /// earlier runs, other snapshots or adopted packs), and their stored
    /// size there: what was not sent.
    pub blobs_skipped: u64,
    pub bytes_skipped: u64,
    /// Plaintext read from the source repository.
    pub source_bytes_read: u64,
    /// Packs of an interrupted earlier run found at the replica without an
    /// index, and indexed instead of being sent again.
    pub adopted: AdoptedPacks,
    /// Time of the newest matching source snapshot.
    pub newest_source_snapshot_time: Option<DateTime<Utc>>,
    /// Time of the newest matching source snapshot present at the replica
    /// after this run (copied now or earlier). The achieved RPO is
    /// `now − newest_replicated_snapshot_time`; `None`: nothing replicated.
    pub newest_replicated_snapshot_time: Option<DateTime<Utc>>,
    /// Set when the replica is object-locked (cold copy).
    pub cold: Option<ColdCopyReport>,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl ReplicationReport {
    /// `now − newest_replicated_snapshot_time`; see [`achieved_rpo`].
    pub fn achieved_rpo(&self, now: DateTime<Utc>) -> Option<Duration> {
        achieved_rpo(self, now)
    }

    fn absorb(&mut self, t: &Transfer) {
        self.snapshots_copied = t
            .copied
            .iter()
            .map(|(s, id)| ReplicatedSnapshot {
                source: s.id,
                replica: *id,
                time: s.time,
            })
            .collect();
        self.blobs_uploaded = t.blobs_uploaded;
        self.bytes_uploaded = t.bytes_uploaded;
        self.packs_uploaded = t.packs_uploaded;
        self.index_files_written = t.index_files_written;
        self.blobs_skipped = t.blobs_present;
        self.bytes_skipped = t.bytes_present;
        self.source_bytes_read = t.source_bytes_read;
        self.adopted = t.adopted.clone();
        let copied = t.copied.iter().map(|(s, _)| s.time).max();
        self.newest_replicated_snapshot_time = self.newest_replicated_snapshot_time.max(copied);
    }
}

/// Anything that knows the time of the newest replicated snapshot.
pub trait RpoSource {
    fn newest_replicated(&self) -> Option<DateTime<Utc>>;
}

impl RpoSource for ReplicationReport {
    fn newest_replicated(&self) -> Option<DateTime<Utc>> {
        self.newest_replicated_snapshot_time
    }
}

impl RpoSource for DateTime<Utc> {
    fn newest_replicated(&self) -> Option<DateTime<Utc>> {
        Some(*self)
    }
}

impl RpoSource for Option<DateTime<Utc>> {
    fn newest_replicated(&self) -> Option<DateTime<Utc>> {
        *self
    }
}

/// The achieved recovery point objective: how much recent data would be
/// lost if the primary were lost at `now`, i.e. `now −` the time of the
/// newest snapshot present at the replica (zero when that lies in the
/// future through clock skew). `None` when nothing has been replicated:
/// the RPO is unbounded and any target is exceeded.
pub fn achieved_rpo(from: &impl RpoSource, now: DateTime<Utc>) -> Option<Duration> {
    from.newest_replicated().map(|t| {
        now.signed_duration_since(t)
            .to_std()
            .unwrap_or(Duration::ZERO)
    })
}

/// A failed replication run: the error, and what was done before it.
#[derive(Debug)]
pub struct ReplicationError {
    pub error: Error,
    pub partial: Box<ReplicationReport>,
}

impl fmt::Display for ReplicationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.partial;
        write!(
            f,
            "replication of {} to {} failed: {} ({} snapshots copied, {} packs / {} bytes arrived before the failure; the next run does not send them again)",
            p.source,
            p.replica,
            self.error,
            p.snapshots_copied.len(),
            p.packs_uploaded,
            p.bytes_uploaded
        )
    }
}

impl std::error::Error for ReplicationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<ReplicationError> for Error {
    fn from(e: ReplicationError) -> Error {
        e.error
    }
}

/// Copy every source snapshot matching `opts.filter` that the replica
/// lacks (see the module docs). Blocking; takes shared locks on both.
pub fn replicate(
    src: &Repository,
    dst: &Repository,
    opts: &ReplicateOptions,
    progress: &dyn Progress,
) -> Result<ReplicationReport, ReplicationError> {
    let t0 = Instant::now();
    let mut report = ReplicationReport {
        source: src.backend().location(),
        replica: dst.backend().location(),
        started: Utc::now(),
        ..Default::default()
    };
    let mut t = Transfer::default();
    let r = run(src, dst, opts, progress, &mut report, &mut t);
    report.absorb(&t);
    let r = r.and_then(|copied_or_newest| match dst.backend().object_lock() {
        Some(lock) => {
            // Run start + retain, in whole seconds (stores keep retention
            // dates at second or millisecond precision): every object this
            // run wrote is retained at least that long already.
            let until = lock
                .until_from_now()
                .checked_sub_signed(chrono::Duration::from_std(t0.elapsed()).unwrap_or_default())
                .and_then(|u| u.with_nanosecond(0))
                .unwrap_or_default();
            report.cold = Some(ColdCopyReport {
                compliance: lock.compliance,
                retained_until: until,
                snapshots_protected: copied_or_newest.clone(),
                objects_checked: 0,
                objects_extended: 0,
            });
            let cold = report.cold.as_mut().expect("set above");
            protect(dst, &copied_or_newest, until, cold, progress)
        }
        None => Ok(()),
    });
    report.duration = t0.elapsed();
    progress.finish();
    match r {
        Ok(()) => Ok(report),
        Err(error) => Err(ReplicationError {
            error,
            partial: Box::new(report),
        }),
    }
}

/// A cold copy: [`replicate`] into a replica whose backend writes every
/// object with a COMPLIANCE Object Lock retention; refuses any other.
pub fn cold_copy(
    src: &Repository,
    dst: &Repository,
    opts: &ReplicateOptions,
    progress: &dyn Progress,
) -> Result<ReplicationReport, ReplicationError> {
    match dst.backend().object_lock() {
        Some(l) if l.compliance => replicate(src, dst, opts, progress),
        _ => Err(ReplicationError {
            error: Error::InvalidArgument(format!(
                "a cold copy needs a replica opened with a COMPLIANCE object lock; {} has none",
                dst.backend().location()
            )),
            partial: Box::new(ReplicationReport {
                source: src.backend().location(),
                replica: dst.backend().location(),
                started: Utc::now(),
                ..Default::default()
            }),
        }),
    }
}

/// The replication proper. Returns the replica ids of the snapshots copied
/// now, or when none, of the newest matching one present.
fn run(
    src: &Repository,
    dst: &Repository,
    opts: &ReplicateOptions,
    progress: &dyn Progress,
    report: &mut ReplicationReport,
    t: &mut Transfer,
) -> Result<Vec<Id>> {
    if src.config().repo_id == dst.config().repo_id {
        return Err(Error::InvalidArgument(format!(
            "{} and {} are the same repository",
            report.source, report.replica
        )));
    }
    let _l1 = lock::lock(src, false, opts.lock_wait)?;
    let _l2 = lock::lock(dst, false, opts.lock_wait)?;
    let src_index = src.load_index()?;
    let all = src.list_snapshots()?;
    let selected: Vec<Snapshot> = all
        .iter()
        .filter(|s| opts.filter.matches(s))
        .cloned()
        .collect();
    report.newest_source_snapshot_time = selected.iter().map(|s| s.time).max();
    // A damaged snapshot file at the replica must not stop replication (the
    // snapshot it copied is then simply copied again).
    let (dst_snaps, bad) = dst.list_snapshots_lenient()?;
    for (name, e) in bad {
        progress.warn(&format!("replica snapshot {name} unreadable: {e}"));
    }
    let plan = copy::plan(&all, selected, &dst_snaps);
    report.snapshots_present = plan.present.len() as u64;
    report.newest_replicated_snapshot_time = plan.present.iter().map(|(s, _)| s.time).max();
    let newest_present = plan
        .present
        .iter()
        .max_by_key(|(s, _)| s.time)
        .map(|(_, d)| d.id);
    if plan.todo.is_empty() {
        return Ok(newest_present.into_iter().collect());
    }
    let mut dst_index = dst.load_index()?;
    t.adopted = copy::adopt_unindexed_packs(dst, &mut dst_index, progress)?;
    if t.adopted.packs > 0 {
        t.index_files_written += 1;
    }
    copy::transfer(src, dst, &src_index, &dst_index, &plan, progress, t)?;
    Ok(t.copied.iter().map(|(_, id)| *id).collect())
}

/// Make sure every object the given replica snapshots need is retained
/// until at least `until`.
fn protect(
    dst: &Repository,
    snapshots: &[Id],
    until: DateTime<Utc>,
    report: &mut ColdCopyReport,
    progress: &dyn Progress,
) -> Result<()> {
    if snapshots.is_empty() {
        return Ok(());
    }
    progress.message("extending retention of reused objects");
    let index = dst.load_index()?;
    let snaps = snapshots
        .iter()
        .map(|id| dst.load_snapshot(&id.to_hex()))
        .collect::<Result<Vec<_>>>()?;
    let (trees, data, errors) = dst.reachable_blobs(&index, &snaps)?;
    if let Some((tree, e)) = errors.into_iter().next() {
        return Err(Error::corrupt("tree", tree, e));
    }
    let packs: HashSet<Id> = trees
        .iter()
        .chain(&data)
        .flat_map(|b| index.get_all(b))
        .map(|l| l.pack)
        .collect();
    let mut objects: Vec<(FileType, String)> = packs
        .into_iter()
        .map(|p| (FileType::Pack, p.to_hex()))
        .chain(snapshots.iter().map(|s| (FileType::Snapshot, s.to_hex())))
        .chain(index.files.iter().map(|i| (FileType::Index, i.to_hex())))
        .chain([(FileType::Config, "config".to_string())])
        .collect();
    for k in dst.backend().list(FileType::Key)? {
        objects.push((FileType::Key, k.name));
    }
    let extended = objects
        .par_iter()
        .map(|(t, name)| dst.backend().extend_retention(*t, name, until))
        .collect::<Result<Vec<bool>>>()?;
    report.objects_checked = objects.len() as u64;
    report.objects_extended = extended.iter().filter(|e| **e).count() as u64;
    Ok(())
}

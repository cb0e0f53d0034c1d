//! Retention: decide which snapshots to keep, remove the rest.
//!
//! Snapshots are grouped by host and paths. Within a group, newest first,
//! each bucket rule keeps the newest snapshot of each of its last N buckets
//! (hour, day, ISO week, month, year; `last` treats every snapshot as its own
//! bucket). `within` keeps everything younger than a duration measured from
//! the newest snapshot of the group, and `tags` keeps snapshots carrying any
//! of the tags. Buckets use UTC. Removing snapshot files frees nothing by
//! itself; `prune` then deletes unreferenced data.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Datelike;

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::lock;
use crate::repo::Repository;
use crate::snapshot::Snapshot;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeepPolicy {
    pub last: Option<u32>,
    pub hourly: Option<u32>,
    pub daily: Option<u32>,
    pub weekly: Option<u32>,
    pub monthly: Option<u32>,
    pub yearly: Option<u32>,
    pub within: Option<chrono::Duration>,
    pub tags: Vec<String>,
}

impl KeepPolicy {
    pub fn is_empty(&self) -> bool {
        *self == KeepPolicy::default()
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ForgetGroup {
    pub hostname: String,
    pub paths: Vec<String>,
    pub keep: Vec<Snapshot>,
    pub remove: Vec<Snapshot>,
}

type BucketFn = fn(&Snapshot) -> i64;

/// Split one group's snapshots into (keep, remove), both newest first.
pub fn apply_policy(snaps: &[Snapshot], policy: &KeepPolicy) -> (Vec<Snapshot>, Vec<Snapshot>) {
    let mut sorted = snaps.to_vec();
    sorted.sort_by(|a, b| b.time.cmp(&a.time).then(b.id.cmp(&a.id)));
    let newest = sorted.first().map(|s| s.time);
    let mut rules: Vec<(Option<u32>, BucketFn, Option<i64>)> = vec![
        (policy.last, |_| i64::MIN, None),
        (policy.hourly, |s| s.time.timestamp().div_euclid(3600), None),
        (policy.daily, |s| i64::from(s.time.num_days_from_ce()), None),
        (
            policy.weekly,
            |s| {
                let w = s.time.iso_week();
                i64::from(w.year()) * 100 + i64::from(w.week())
            },
            None,
        ),
        (
            policy.monthly,
            |s| i64::from(s.time.year()) * 100 + i64::from(s.time.month()),
            None,
        ),
        (policy.yearly, |s| i64::from(s.time.year()), None),
    ];
    let (mut keep, mut remove) = (Vec::new(), Vec::new());
    for (pos, s) in sorted.into_iter().enumerate() {
        let mut k = false;
        for (i, (count, f, last)) in rules.iter_mut().enumerate() {
            let Some(c) = count else { continue };
            if *c == 0 {
                continue;
            }
            // `last` gives every snapshot its own bucket.
            let b = if i == 0 { pos as i64 } else { f(&s) };
            if *last != Some(b) {
                *last = Some(b);
                *c -= 1;
                k = true;
            }
        }
        // A window reaching before the earliest representable time (a
        // huge `--keep-within`, or a snapshot dated near year -262143)
        // keeps everything instead of overflowing.
        if let (Some(w), Some(n)) = (policy.within, newest)
            && n.checked_sub_signed(w).is_none_or(|cut| s.time >= cut)
        {
            k = true;
        }
        if s.tags.iter().any(|t| policy.tags.contains(t)) {
            k = true;
        }
        if k { keep.push(s) } else { remove.push(s) }
    }
    (keep, remove)
}

/// Apply `policy` to every host/paths group; delete what it does not keep
/// unless `dry_run`.
pub fn forget(repo: &Repository, policy: &KeepPolicy, dry_run: bool) -> Result<Vec<ForgetGroup>> {
    if policy.is_empty() {
        return Err(Error::InvalidArgument(
            "empty retention policy would remove every snapshot; give at least one keep rule"
                .into(),
        ));
    }
    let _lock = if dry_run {
        None
    } else {
        Some(lock::lock(repo, true, Duration::ZERO)?)
    };
    let mut groups: BTreeMap<(String, Vec<String>), Vec<Snapshot>> = BTreeMap::new();
    for s in repo.list_snapshots()? {
        groups
            .entry((s.hostname.clone(), s.paths.clone()))
            .or_default()
            .push(s);
    }
    let mut out = Vec::new();
    for ((hostname, paths), snaps) in groups {
        let (keep, remove) = apply_policy(&snaps, policy);
        if !dry_run {
            for s in &remove {
                repo.backend().delete(FileType::Snapshot, &s.id.to_hex())?;
            }
        }
        out.push(ForgetGroup {
            hostname,
            paths,
            keep,
            remove,
        });
    }
    Ok(out)
}

/// Remove specific snapshots.
pub fn forget_ids(repo: &Repository, ids: &[String]) -> Result<Vec<Snapshot>> {
    let _lock = lock::lock(repo, true, Duration::ZERO)?;
    let mut out = Vec::new();
    for spec in ids {
        let s = repo.find_snapshot(spec)?;
        repo.backend().delete(FileType::Snapshot, &s.id.to_hex())?;
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Id;
    use chrono::TimeZone;

    fn snap(i: u8, y: i32, m: u32, d: u32, h: u32) -> Snapshot {
        let mut s = Snapshot::new(Id([0; 32]), vec!["/x".into()]);
        s.id = Id([i; 32]);
        s.time = chrono::Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
        s
    }

    fn ids(v: &[Snapshot]) -> Vec<u8> {
        v.iter().map(|s| s.id.0[0]).collect()
    }

    fn series() -> Vec<Snapshot> {
        vec![
            snap(1, 2024, 1, 1, 10),
            snap(2, 2024, 1, 1, 12),
            snap(3, 2024, 1, 2, 9),
            snap(4, 2024, 1, 9, 9),
            snap(5, 2024, 2, 15, 9),
            snap(6, 2025, 3, 1, 9),
            snap(7, 2025, 3, 1, 9),
        ]
    }

    #[test]
    fn keep_last_and_daily() {
        let (k, r) = apply_policy(
            &series(),
            &KeepPolicy {
                last: Some(2),
                ..Default::default()
            },
        );
        assert_eq!(ids(&k), vec![7, 6]);
        assert_eq!(r.len(), 5);
        let (k, _) = apply_policy(
            &series(),
            &KeepPolicy {
                daily: Some(3),
                ..Default::default()
            },
        );
        // newest per day: 2025-03-01 (7), 2024-02-15 (5), 2024-01-09 (4)
        assert_eq!(ids(&k), vec![7, 5, 4]);
    }

    #[test]
    fn keep_monthly_yearly_weekly_hourly() {
        let p = KeepPolicy {
            monthly: Some(10),
            ..Default::default()
        };
        assert_eq!(ids(&apply_policy(&series(), &p).0), vec![7, 5, 4]);
        let p = KeepPolicy {
            yearly: Some(5),
            ..Default::default()
        };
        assert_eq!(ids(&apply_policy(&series(), &p).0), vec![7, 5]);
        let p = KeepPolicy {
            weekly: Some(2),
            ..Default::default()
        };
        assert_eq!(ids(&apply_policy(&series(), &p).0), vec![7, 5]);
        let p = KeepPolicy {
            hourly: Some(100),
            ..Default::default()
        };
        assert_eq!(ids(&apply_policy(&series(), &p).0), vec![7, 5, 4, 3, 2, 1]);
    }

    #[test]
    fn keep_within_and_tags_combine() {
        let mut s = series();
        s[0].tags = vec!["golden".into()];
        let p = KeepPolicy {
            within: Some(chrono::Duration::days(400)),
            tags: vec!["golden".into()],
            ..Default::default()
        };
        // within 400 days of 2025-03-01: back to 2024-01-26 → 6,7,5; plus tagged 1
        assert_eq!(ids(&apply_policy(&s, &p).0), vec![7, 6, 5, 1]);
    }

    // Found while writing the `snapshot` fuzz target (which runs every
    // retention rule on parsed snapshots): `newest - within` panicked
    // ("`DateTime - TimeDelta` overflowed") when the window reached before
    // chrono's earliest date, for a snapshot dated in year -262143 (a
    // valid RFC 3339 time in the sealed JSON) or a keep-within of 300000
    // years. Such a window now keeps everything.
    #[test]
    fn keep_within_reaching_before_the_earliest_date_keeps_all() {
        let json = br#"{"time":"-262143-01-01T00:00:00Z","hostname":"h","username":"u","paths":["/x"],"tags":[],"parent":null,"tree":"0000000000000000000000000000000000000000000000000000000000000000","original":null,"program_version":"p","summary":null}"#;
        let old = Snapshot::parse("fuzz", json).unwrap();
        let mut older = old.clone();
        older.id = Id([1; 32]);
        let p = KeepPolicy {
            within: Some(chrono::Duration::days(400)),
            ..Default::default()
        };
        let (k, r) = apply_policy(&[old, older], &p);
        assert_eq!((k.len(), r.len()), (2, 0));
        let p = KeepPolicy {
            within: Some(chrono::Duration::days(365 * 300_000)),
            ..Default::default()
        };
        let (k, r) = apply_policy(&series(), &p);
        assert_eq!((k.len(), r.len()), (7, 0));
    }
}

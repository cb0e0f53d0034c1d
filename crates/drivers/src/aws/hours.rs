//! The usage arithmetic of the AWS driver, kept free of I/O so it can be
//! tested on its own: whole clock hours covered by run intervals, the time
//! EC2 writes into `StateTransitionReason`, and bytes rounded up to GiB.

use chrono::{DateTime, DurationRound, NaiveDateTime, TimeDelta, Utc};

const HOUR: TimeDelta = TimeDelta::hours(1);

/// The first whole clock hour starting at or after `t`.
fn ceil_hour(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let floor = t.duration_trunc(HOUR).ok()?;
    if floor < t {
        floor.checked_add_signed(HOUR)
    } else {
        Some(floor)
    }
}

/// For every whole clock hour in `[since, now)`, how many of `intervals`
/// (each `[start, end)`, e.g. one instance's run from launch to
/// termination) cover that entire hour. Hours nobody covered are left out;
/// the result is in time order. The same convention as the simulator: an
/// instance that ran 10:20–12:40 counts for 11:00–12:00 only.
pub fn whole_hour_counts(
    intervals: &[(DateTime<Utc>, DateTime<Utc>)],
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, i64)> {
    let valid: Vec<_> = intervals.iter().filter(|(s, e)| s < e).collect();
    let (Some(first), Some(last)) = (
        valid.iter().map(|(s, _)| *s).min(),
        valid.iter().map(|(_, e)| *e).max(),
    ) else {
        return Vec::new();
    };
    let end = last.min(now);
    let Some(mut hour) = ceil_hour(first.max(since)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while let Some(next) = hour.checked_add_signed(HOUR).filter(|n| *n <= end) {
        let count = valid
            .iter()
            .filter(|(s, e)| *s <= hour && *e >= next)
            .count() as i64;
        if count > 0 {
            out.push((hour, count));
        }
        hour = next;
    }
    out
}

/// The time in an EC2 `StateTransitionReason` such as
/// `User initiated (2024-05-01 12:00:00 GMT)` (moto writes `UTC`), i.e.
/// when the instance was last stopped or terminated. `None` when the text
/// carries no such time.
pub fn transition_time(reason: &str) -> Option<DateTime<Utc>> {
    let mut rest = reason;
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        let close = after.find(')')?;
        let inside = after[..close].trim();
        let stamp = inside
            .strip_suffix("GMT")
            .or_else(|| inside.strip_suffix("UTC"))
            .unwrap_or(inside)
            .trim();
        if let Ok(t) = NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S") {
            return Some(t.and_utc());
        }
        rest = &after[close + 1..];
    }
    None
}

/// Bytes as whole gibibytes, rounded up (1 byte is 1 GiB; 0 bytes is 0).
pub fn gib_rounded_up(bytes: u64) -> i64 {
    const GIB: u64 = 1 << 30;
    i64::try_from(bytes.div_ceil(GIB)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 10, h, m, 0).unwrap()
    }

    #[test]
    fn partial_hours_do_not_count_and_whole_ones_do() {
        let hours = whole_hour_counts(&[(at(10, 20), at(12, 40))], at(0, 0), at(23, 0));
        assert_eq!(hours, vec![(at(11, 0), 1)]);
        // Exactly on the hour: both hours count.
        let hours = whole_hour_counts(&[(at(10, 0), at(12, 0))], at(0, 0), at(23, 0));
        assert_eq!(hours, vec![(at(10, 0), 1), (at(11, 0), 1)]);
    }

    #[test]
    fn overlapping_instances_are_counted_per_hour() {
        // Two launched 09:30, a third added 11:10, one terminated 13:05.
        let intervals = [
            (at(9, 30), at(23, 0)),
            (at(9, 30), at(13, 5)),
            (at(11, 10), at(23, 0)),
        ];
        let hours = whole_hour_counts(&intervals, at(0, 0), at(14, 30));
        assert_eq!(
            hours,
            vec![
                (at(10, 0), 2),
                (at(11, 0), 2),
                (at(12, 0), 3),
                (at(13, 0), 2),
            ]
        );
    }

    #[test]
    fn the_window_is_cut_by_since_and_now() {
        let intervals = [(at(1, 0), at(20, 0))];
        // `since` in the middle of an hour: that hour is not whole any more.
        let hours = whole_hour_counts(&intervals, at(5, 30), at(8, 59));
        assert_eq!(hours, vec![(at(6, 0), 1), (at(7, 0), 1)]);
        // Still running at `now`: the current hour is not finished.
        let hours = whole_hour_counts(&[(at(6, 0), at(23, 0))], at(0, 0), at(7, 0));
        assert_eq!(hours, vec![(at(6, 0), 1)]);
        // Nothing, or nonsense, gives nothing.
        assert!(whole_hour_counts(&[], at(0, 0), at(9, 0)).is_empty());
        assert!(whole_hour_counts(&[(at(9, 0), at(3, 0))], at(0, 0), at(12, 0)).is_empty());
        assert!(whole_hour_counts(&intervals, at(9, 0), at(9, 0)).is_empty());
        // The ends of time do not overflow.
        let far = DateTime::<Utc>::MAX_UTC;
        assert!(whole_hour_counts(&[(far - HOUR / 2, far)], at(0, 0), far).is_empty());
    }

    #[test]
    fn gaps_leave_hours_out_and_consecutive_hours_touch() {
        let intervals = [(at(1, 0), at(3, 0)), (at(5, 0), at(6, 0))];
        let hours = whole_hour_counts(&intervals, at(0, 0), at(12, 0));
        assert_eq!(hours, vec![(at(1, 0), 1), (at(2, 0), 1), (at(5, 0), 1)]);
    }

    #[test]
    fn transition_times_are_read_from_aws_and_moto_texts() {
        let t = Utc.with_ymd_and_hms(2024, 5, 1, 12, 3, 4).unwrap();
        assert_eq!(
            transition_time("User initiated (2024-05-01 12:03:04 GMT)"),
            Some(t)
        );
        assert_eq!(
            transition_time("User initiated (2024-05-01 12:03:04 UTC)"),
            Some(t)
        );
        assert_eq!(
            transition_time("Server.InternalError (x) (2024-05-01 12:03:04 GMT)"),
            Some(t)
        );
        assert_eq!(transition_time(""), None);
        assert_eq!(transition_time("User initiated"), None);
        assert_eq!(transition_time("User initiated (yesterday"), None);
        assert_eq!(transition_time("(2024-13-01 12:03:04 GMT)"), None);
    }

    #[test]
    fn bytes_round_up_to_gib() {
        assert_eq!(gib_rounded_up(0), 0);
        assert_eq!(gib_rounded_up(1), 1);
        assert_eq!(gib_rounded_up(1 << 30), 1);
        assert_eq!(gib_rounded_up((1 << 30) + 1), 2);
        assert_eq!(gib_rounded_up(u64::MAX), 17_179_869_184);
    }
}

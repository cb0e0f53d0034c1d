#![no_main]
//! Snapshot and lock file readers on arbitrary bytes.
//!
//! The input is an opened snapshot (JSON; the AES-GCM tag cannot be
//! forged). A snapshot that parses goes through what `snapshots` and
//! `forget` do with it: the listing's time format and every retention rule
//! (with a second snapshot a day later). The same bytes are also read as a
//! lock file's JSON.
use libfuzzer_sys::fuzz_target;
use makonis_embassy::lock::LockInfo;
use makonis_embassy::ops::{KeepPolicy, apply_policy};
use makonis_embassy::Snapshot;

fuzz_target!(|data: &[u8]| {
    if let Ok(l) = serde_json::from_slice::<LockInfo>(data) {
        let _ = l.time.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    }
    let Ok(s) = Snapshot::parse("fuzz", data) else {
        return;
    };
    let _ = s.time.format("%Y-%m-%d %H:%M:%S").to_string();
    let mut later = s.clone();
    later.id.0[0] ^= 1;
    later.time = s
        .time
        .checked_add_signed(chrono::Duration::days(1))
        .unwrap_or(s.time);
    let policy = KeepPolicy {
        last: Some(1),
        hourly: Some(2),
        daily: Some(2),
        weekly: Some(2),
        monthly: Some(2),
        yearly: Some(2),
        within: Some(chrono::Duration::days(400)),
        tags: vec!["keep".into()],
    };
    let snaps = vec![s, later];
    let (keep, remove) = apply_policy(&snaps, &policy);
    assert_eq!(keep.len() + remove.len(), 2);
});

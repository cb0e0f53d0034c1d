//! Repository locks. Writers of new data (backup, copy) take *shared*
//! locks; operations that delete data (forget, prune, repair) take an
//! *exclusive* one. A lock is a sealed JSON file under `locks/`, refreshed
//! periodically by a background thread; it is stale when its process is gone
//! (same host) or it has not been refreshed for [`STALE_AFTER`]. Stale locks
//! are removed by whoever finds them. A lock of this very process that no
//! guard holds any more (its removal failed, e.g. during a network cut) is
//! stale too.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Sender, bounded};
use serde::{Deserialize, Serialize};

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::format::LOCK_AAD;
use crate::id::Id;
use crate::repo::Repository;

/// A lock not refreshed for this long is considered abandoned.
pub const STALE_AFTER: Duration = Duration::from_secs(30 * 60);
const REFRESH_EVERY: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LockInfo {
    pub exclusive: bool,
    pub hostname: String,
    pub username: String,
    pub pid: u32,
    pub time: chrono::DateTime<chrono::Utc>,
}

impl LockInfo {
    /// This machine's host name as recorded in locks.
    pub fn current_host() -> String {
        crate::util::hostname()
    }

    fn is_stale(&self, name: &str) -> bool {
        let age = chrono::Utc::now().signed_duration_since(self.time);
        if age.to_std().is_ok_and(|a| a > STALE_AFTER) {
            return true;
        }
        if self.hostname != crate::util::hostname() {
            return false;
        }
        if self.pid == std::process::id() {
            // Ours: live only while a guard in this process holds it. One
            // whose removal failed (network cut during the release) is a
            // leftover and must not block this process for 30 minutes.
            return !held().lock().map(|h| h.contains(name)).unwrap_or(true);
        }
        !crate::util::pid_alive(self.pid)
    }

    fn describe(&self) -> String {
        format!(
            "{} lock by {}@{} pid {} since {}",
            if self.exclusive {
                "exclusive"
            } else {
                "shared"
            },
            self.username,
            self.hostname,
            self.pid,
            self.time.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// Names of the lock files held by guards of this process.
fn held() -> &'static Mutex<HashSet<String>> {
    static HELD: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    HELD.get_or_init(Default::default)
}

fn set_held(name: &str, on: bool) {
    if let Ok(mut h) = held().lock() {
        if on {
            h.insert(name.to_string());
        } else {
            h.remove(name);
        }
    }
}

/// Held lock; released on drop.
#[derive(Debug)]
pub struct LockGuard {
    repo: Repository,
    name: Arc<Mutex<String>>,
    stop: Option<Sender<()>>,
    refresher: Option<JoinHandle<()>>,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.refresher.take() {
            let _ = h.join();
        }
        let name = self.name.lock().map(|n| n.clone()).unwrap_or_default();
        set_held(&name, false);
        let _ = self.repo.backend().delete(FileType::Lock, &name);
    }
}

/// Write a lock file. With `hold`, its name is registered as held by this
/// process *before* it becomes visible, so no other thread of this process
/// takes it for a leftover.
fn write_lock(repo: &Repository, info: &LockInfo, hold: bool) -> Result<String> {
    let json = serde_json::to_vec(info).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let bytes = repo.key().seal(LOCK_AAD, &json)?;
    let name = Id::random()?.to_hex();
    if hold {
        set_held(&name, true);
    }
    if let Err(e) = repo.backend().write(FileType::Lock, &name, &bytes) {
        set_held(&name, false);
        return Err(e);
    }
    Ok(name)
}

/// Current locks other than `own`, with stale ones removed.
fn live_locks(repo: &Repository, own: Option<&str>) -> Result<Vec<LockInfo>> {
    let mut out = Vec::new();
    for f in repo.backend().list(FileType::Lock)? {
        if Some(f.name.as_str()) == own {
            continue;
        }
        let bytes = match repo.backend().read(FileType::Lock, &f.name) {
            Ok(b) => b,
            Err(Error::Missing { .. }) => continue,
            Err(e) => return Err(e),
        };
        let info = repo
            .key()
            .open(LOCK_AAD, &bytes)
            .and_then(|j| serde_json::from_slice::<LockInfo>(&j).ok());
        match info {
            Some(i) if !i.is_stale(&f.name) => out.push(i),
            // Stale, or unreadable (a torn or foreign file): not a lock we
            // must honour. Removing it is safe; its owner is gone.
            _ => {
                let _ = repo.backend().delete(FileType::Lock, &f.name);
            }
        }
    }
    Ok(out)
}

fn conflict(exclusive: bool, others: &[LockInfo]) -> Option<String> {
    others
        .iter()
        .find(|o| exclusive || o.exclusive)
        .map(LockInfo::describe)
}

/// Take a lock, retrying for up to `wait` while a conflicting one exists.
pub fn lock(repo: &Repository, exclusive: bool, wait: Duration) -> Result<LockGuard> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        match try_lock(repo, exclusive) {
            Err(Error::Locked(msg)) => {
                if std::time::Instant::now() >= deadline {
                    return Err(Error::Locked(msg));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            r => return r,
        }
    }
}

fn try_lock(repo: &Repository, exclusive: bool) -> Result<LockGuard> {
    if let Some(c) = conflict(exclusive, &live_locks(repo, None)?) {
        return Err(Error::Locked(c));
    }
    let info = LockInfo {
        exclusive,
        hostname: crate::util::hostname(),
        username: crate::util::username(),
        pid: std::process::id(),
        time: chrono::Utc::now(),
    };
    let name = write_lock(repo, &info, true)?;
    // Re-check after writing: two racing lockers both see each other and
    // both back off, which is safe (they retry).
    let others = match live_locks(repo, Some(&name)) {
        Ok(o) => o,
        Err(e) => {
            set_held(&name, false);
            let _ = repo.backend().delete(FileType::Lock, &name);
            return Err(e);
        }
    };
    if let Some(c) = conflict(exclusive, &others) {
        set_held(&name, false);
        let _ = repo.backend().delete(FileType::Lock, &name);
        return Err(Error::Locked(c));
    }
    let name = Arc::new(Mutex::new(name));
    let (tx, rx) = bounded::<()>(0);
    let r2 = repo.clone();
    let n2 = name.clone();
    let refresher = std::thread::Builder::new()
        .name("embassy-lock-refresh".into())
        .spawn(move || {
            while let Err(crossbeam_channel::RecvTimeoutError::Timeout) =
                rx.recv_timeout(REFRESH_EVERY)
            {
                let mut i = info.clone();
                i.time = chrono::Utc::now();
                if let Ok(new) = write_lock(&r2, &i, true)
                    && let Ok(mut cur) = n2.lock()
                {
                    let old = std::mem::replace(&mut *cur, new);
                    set_held(&old, false);
                    let _ = r2.backend().delete(FileType::Lock, &old);
                }
            }
        })
        .map_err(|e| Error::io("lock refresher thread", e))?;
    Ok(LockGuard {
        repo: repo.clone(),
        name,
        stop: Some(tx),
        refresher: Some(refresher),
    })
}

/// Write a lock file as is, without conflict checks or refreshing (tests
/// and tools that need to simulate other processes).
pub fn write_raw(repo: &Repository, info: &LockInfo) -> Result<String> {
    write_lock(repo, info, false)
}

/// Remove every lock, live or not (operator override after a crash on
/// another host).
pub fn break_locks(repo: &Repository) -> Result<usize> {
    let files = repo.backend().list(FileType::Lock)?;
    for f in &files {
        repo.backend().delete(FileType::Lock, &f.name)?;
    }
    Ok(files.len())
}

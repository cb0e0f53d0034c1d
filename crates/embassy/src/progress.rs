//! Progress reporting. Operations call a [`Progress`] implementation with
//! byte counts; a CLI adapts it to a progress bar, tests count calls, and
//! [`NoProgress`] ignores everything. Implementations must be cheap and
//! thread-safe: workers call them from several threads.

use std::sync::atomic::{AtomicU64, Ordering};

pub trait Progress: Send + Sync {
    /// Total bytes the operation expects to process (may be called again
    /// with a refined value).
    fn set_total(&self, _bytes: u64) {}
    /// `bytes` more were processed.
    fn inc(&self, _bytes: u64) {}
    /// A short status line ("scanning", "writing index", a file name).
    fn message(&self, _msg: &str) {}
    /// A non-fatal problem (unreadable source file, ...).
    fn warn(&self, _msg: &str) {}
    fn finish(&self) {}
}

/// Ignores progress.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;
impl Progress for NoProgress {}

/// Counts bytes; handy for tests and JSON output.
#[derive(Debug, Default)]
pub struct CountingProgress {
    pub total: AtomicU64,
    pub done: AtomicU64,
    pub warnings: AtomicU64,
}

impl Progress for CountingProgress {
    fn set_total(&self, bytes: u64) {
        self.total.store(bytes, Ordering::Relaxed);
    }
    fn inc(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::Relaxed);
    }
    fn warn(&self, _msg: &str) {
        self.warnings.fetch_add(1, Ordering::Relaxed);
    }
}

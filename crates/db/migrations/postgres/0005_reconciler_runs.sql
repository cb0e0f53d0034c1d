-- Runs of periodic reconcilers (drift checks now; usage collection and
-- expiry reminders later), so operators see what ran and what it found.
-- PostgreSQL twin of sqlite/0005_reconciler_runs.sql.

CREATE TABLE reconciler_runs (
    id TEXT PRIMARY KEY NOT NULL,
    reconciler TEXT NOT NULL,
    subject TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    -- 'clean', 'drift' or 'error'
    outcome TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX ix_reconciler_runs_latest ON reconciler_runs (reconciler, subject, started_at);

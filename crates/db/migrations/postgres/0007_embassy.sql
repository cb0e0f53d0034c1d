-- The data embassy (issue 5, EMB-1…EMB-11): which information systems are
-- protected and where their replicas live, every replication and recovery
-- drill with its achieved RPO and measured RTO, and four-eyes grants.
-- Mirrored in sqlite/0007_embassy.sql.

CREATE TABLE embassy_protections (
    information_system_id TEXT PRIMARY KEY NOT NULL REFERENCES information_systems (id),
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    -- The embassy site the replica lives at (checked eligible when set).
    site_id TEXT NOT NULL REFERENCES sites (id),
    -- Repository locations: a path or an s3:// URL.
    primary_location TEXT NOT NULL,
    replica_location TEXT NOT NULL,
    -- The repositories' passwords, sealed with the master key.
    secrets_sealed TEXT NOT NULL,
    hot_interval_minutes BIGINT NOT NULL,
    drill_interval_days BIGINT NOT NULL,
    -- Network latency from Latvia the operator measured, ms.
    latency_ms BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE embassy_runs (
    id TEXT PRIMARY KEY NOT NULL,
    information_system_id TEXT NOT NULL REFERENCES information_systems (id),
    -- 'hot' (replication) or 'drill'
    kind TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    -- 'ok' or 'failed'
    outcome TEXT NOT NULL,
    -- Time of the newest source snapshot present at the replica.
    newest_snapshot_at TEXT,
    achieved_rpo_seconds BIGINT,
    rto_seconds BIGINT,
    bytes BIGINT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX ix_embassy_runs_latest ON embassy_runs (information_system_id, kind, started_at);

CREATE TABLE embassy_grants (
    id TEXT PRIMARY KEY NOT NULL,
    information_system_id TEXT NOT NULL REFERENCES information_systems (id),
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    -- 'key_release', 'restore_production' or 'access'
    purpose TEXT NOT NULL,
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL REFERENCES users (id),
    requested_at TEXT NOT NULL,
    hours BIGINT NOT NULL,
    custodian_id TEXT REFERENCES users (id),
    security_officer_id TEXT REFERENCES users (id),
    -- 'pending', 'active' or 'refused'; expiry is read from valid_until.
    state TEXT NOT NULL,
    valid_until TEXT
);
CREATE INDEX ix_embassy_grants_system ON embassy_grants (information_system_id, requested_at);

-- Embassy alerts name the system they are about.
ALTER TABLE notifications ADD COLUMN information_system_id TEXT REFERENCES information_systems (id);

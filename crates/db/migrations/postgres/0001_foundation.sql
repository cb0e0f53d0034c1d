-- Foundation schema (issue 2), PostgreSQL twin of sqlite/0001_foundation.sql. Times are RFC 3339 UTC text with a fixed
-- width so they sort as text; ids are UUID text. The PostgreSQL migration
-- mirrors this file; `db` tests run on both. Flags are 0/1 integers: sqlx's
-- `Any` driver cannot carry SQLite booleans.

CREATE TABLE institutions (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    short_name TEXT NOT NULL,
    registration_number TEXT,
    kind TEXT NOT NULL,
    -- Case-folded in Rust (full Unicode) so both engines agree on what is a
    -- duplicate and what a search matches; SQLite's lower() folds ASCII only.
    name_folded TEXT NOT NULL,
    short_name_folded TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_institutions_name ON institutions (name_folded);
CREATE UNIQUE INDEX uq_institutions_short_name ON institutions (short_name_folded);
CREATE UNIQUE INDEX uq_institutions_registration_number ON institutions (registration_number);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    institution_id TEXT REFERENCES institutions (id),
    password_hash TEXT,
    active BIGINT NOT NULL CHECK (active IN (0, 1)),
    search_folded TEXT NOT NULL,
    totp_secret TEXT,
    totp_pending_secret TEXT,
    -- Last TOTP time step accepted, so a code cannot be replayed.
    totp_last_step BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_users_email ON users (email);
CREATE INDEX ix_users_institution ON users (institution_id);

CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at TEXT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE role_assignments (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    role TEXT NOT NULL,
    institution_id TEXT REFERENCES institutions (id),
    -- 'platform' or the institution id: NULLs are distinct in unique indexes.
    scope_key TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_role_assignments_scope ON role_assignments (user_id, role, scope_key);
CREATE INDEX ix_role_assignments_institution ON role_assignments (institution_id);

CREATE TABLE information_systems (
    id TEXT PRIMARY KEY NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    responsible_person TEXT NOT NULL,
    responsible_email TEXT,
    security_category TEXT NOT NULL,
    critical_infrastructure BIGINT NOT NULL CHECK (critical_infrastructure IN (0, 1)),
    data_classification TEXT NOT NULL,
    rpo_minutes BIGINT NOT NULL,
    rto_minutes BIGINT NOT NULL,
    embassy_required BIGINT NOT NULL CHECK (embassy_required IN (0, 1)),
    lifecycle TEXT NOT NULL,
    search_folded TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_information_systems_code ON information_systems (institution_id, code);
CREATE INDEX ix_information_systems_name ON information_systems (name);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    mfa_verified BIGINT NOT NULL CHECK (mfa_verified IN (0, 1)),
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX ix_sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE UNIQUE INDEX uq_api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX ix_api_tokens_user ON api_tokens (user_id);

CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    window_start TEXT NOT NULL,
    locked_until TEXT
);

CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_records (
    seq BIGINT PRIMARY KEY NOT NULL,
    recorded_at TEXT NOT NULL,
    actor_user_id TEXT,
    actor_label TEXT NOT NULL,
    acting_institution_id TEXT,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_institution_id TEXT,
    before_state TEXT,
    after_state TEXT,
    request_id TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX ix_audit_records_institution ON audit_records (target_institution_id, seq);

-- The chain is append-only; these triggers stop accidental edits. A database
-- administrator can drop them, which is why every record is hash-chained.
CREATE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only';
END;
$$;
CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();
CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();

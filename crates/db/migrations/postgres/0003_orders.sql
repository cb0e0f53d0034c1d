-- Orders, approvals, quotas, agreements, notifications (issue 3).
-- PostgreSQL twin of sqlite/0003_orders.sql.

CREATE TABLE agreements (
    id TEXT PRIMARY KEY NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    provider_id TEXT NOT NULL REFERENCES providers (id),
    price_list_version TEXT,
    scope TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    status TEXT NOT NULL,
    document_ref TEXT,
    broker_signed_by TEXT REFERENCES users (id),
    broker_signed_at TEXT,
    institution_signed_by TEXT REFERENCES users (id),
    institution_signed_at TEXT,
    reminder_days BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ix_agreements_parties ON agreements (institution_id, provider_id, status);

CREATE TABLE orders (
    id TEXT PRIMARY KEY NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    information_system_id TEXT NOT NULL REFERENCES information_systems (id),
    offering_id TEXT NOT NULL REFERENCES offerings (id),
    provider_id TEXT NOT NULL REFERENCES providers (id),
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    requester_id TEXT NOT NULL REFERENCES users (id),
    state TEXT NOT NULL,
    monthly_estimate TEXT NOT NULL,
    -- Resources held, per order, for quota sums without joins.
    vcpu BIGINT NOT NULL,
    ram_gb BIGINT NOT NULL,
    storage_gb BIGINT NOT NULL,
    monthly_cents BIGINT NOT NULL,
    approval_rule TEXT NOT NULL,
    agreement_id TEXT REFERENCES agreements (id),
    note TEXT,
    reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ix_orders_institution ON orders (institution_id, state);
CREATE INDEX ix_orders_system ON orders (information_system_id, state);

CREATE TABLE approvals (
    order_id TEXT NOT NULL REFERENCES orders (id),
    step TEXT NOT NULL,
    approver_id TEXT NOT NULL REFERENCES users (id),
    approver_label TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT,
    decided_at TEXT NOT NULL,
    PRIMARY KEY (order_id, step)
);
-- One person decides once per order.
CREATE UNIQUE INDEX uq_approvals_person ON approvals (order_id, approver_id);

CREATE TABLE quotas (
    -- 'institution:<id>' or 'system:<id>'; the row is also the lock that
    -- serialises orders against the same limit.
    scope_key TEXT PRIMARY KEY NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    information_system_id TEXT REFERENCES information_systems (id),
    vcpu BIGINT,
    ram_gb BIGINT,
    storage_gb BIGINT,
    monthly_budget_cents BIGINT,
    lock_version BIGINT NOT NULL
);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    order_id TEXT REFERENCES orders (id),
    agreement_id TEXT REFERENCES agreements (id),
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX ix_notifications_user ON notifications (user_id, read_at);

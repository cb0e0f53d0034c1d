-- Sagas (steno's persistent log) and provisioned resources (issue 3).
-- Mirrored in postgres/0004_sagas_resources.sql.

CREATE TABLE sagas (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    -- The saga DAG as steno serialises it; needed to resume after a crash.
    dag TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ix_sagas_state ON sagas (state);

CREATE TABLE saga_events (
    saga_id TEXT NOT NULL REFERENCES sagas (id),
    seq BIGINT NOT NULL,
    event TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (saga_id, seq)
);

CREATE TABLE resources (
    id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders (id),
    provider_id TEXT NOT NULL REFERENCES providers (id),
    external_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE UNIQUE INDEX uq_resources_key ON resources (provider_id, idempotency_key);
CREATE INDEX ix_resources_order ON resources (order_id);

-- Federation and catalogue (issue 3): providers, sites, certifications,
-- offerings, versioned price lists. Money is decimal text (rust_decimal);
-- dates are ISO text. PostgreSQL twin of sqlite/0002_federation_catalogue.sql.

CREATE TABLE providers (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    short_name TEXT NOT NULL,
    short_name_folded TEXT NOT NULL,
    institution_id TEXT REFERENCES institutions (id),
    kind TEXT NOT NULL,
    platform TEXT NOT NULL,
    endpoint TEXT,
    -- Endpoint credentials sealed with the master key (app::secrets).
    credentials_sealed TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_providers_short_name ON providers (short_name_folded);

CREATE TABLE sites (
    id TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    name TEXT NOT NULL,
    country TEXT NOT NULL,
    latitude DOUBLE PRECISION NOT NULL,
    longitude DOUBLE PRECISION NOT NULL,
    uptime_tier BIGINT NOT NULL CHECK (uptime_tier BETWEEN 1 AND 4)
);
CREATE UNIQUE INDEX uq_sites_name ON sites (provider_id, name);

CREATE TABLE certifications (
    id TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    site_id TEXT REFERENCES sites (id),
    kind TEXT NOT NULL,
    level TEXT,
    issuer TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL
);
CREATE INDEX ix_certifications_provider ON certifications (provider_id);

CREATE TABLE offerings (
    id TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    site_id TEXT NOT NULL REFERENCES sites (id),
    kind TEXT NOT NULL,
    tier TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    search_folded TEXT NOT NULL,
    vcpu BIGINT NOT NULL,
    ram_gb BIGINT NOT NULL,
    storage_gb BIGINT NOT NULL,
    unit TEXT NOT NULL,
    availability_pct TEXT NOT NULL,
    -- The same as a number, for range filters; the text is authoritative.
    availability_sort DOUBLE PRECISION NOT NULL,
    support_hours TEXT NOT NULL,
    response_minutes BIGINT NOT NULL,
    rpo_minutes BIGINT,
    rto_minutes BIGINT,
    capacity_units BIGINT NOT NULL,
    active BIGINT NOT NULL CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_offerings_name ON offerings (site_id, name);
CREATE INDEX ix_offerings_kind ON offerings (kind, active);
CREATE INDEX ix_offerings_provider ON offerings (provider_id);

CREATE TABLE price_lists (
    id TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    version TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT,
    currency TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_price_lists_version ON price_lists (provider_id, version);

CREATE TABLE price_items (
    price_list_id TEXT NOT NULL REFERENCES price_lists (id),
    offering_id TEXT NOT NULL REFERENCES offerings (id),
    unit_price TEXT NOT NULL,
    PRIMARY KEY (price_list_id, offering_id)
);
CREATE INDEX ix_price_items_offering ON price_items (offering_id);

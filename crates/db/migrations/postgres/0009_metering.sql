-- Metering, rating and chargeback (issue 4). Mirrored in
-- sqlite/0009_metering.sql; see there for what each table holds.

-- Where usage collection from each provider's driver has got to: records
-- before this instant have been collected (collection is idempotent anyway).
CREATE TABLE usage_cursors (
    provider_id TEXT PRIMARY KEY NOT NULL REFERENCES providers (id),
    collected_until TEXT NOT NULL
);

-- One row per imported FOCUS file. The content hash is unique: the same
-- bill imported twice is refused, so nothing is charged twice.
CREATE TABLE focus_imports (
    id TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    file_name TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    records BIGINT NOT NULL,
    mapped BIGINT NOT NULL,
    unmapped BIGINT NOT NULL,
    billing_currency TEXT,
    billed_cost TEXT NOT NULL,
    imported_by TEXT REFERENCES users (id),
    imported_at TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_focus_imports_hash ON focus_imports (content_hash);

-- Rated charges: what an institution owes for one period of one thing.
-- Money is decimal text at full precision (rounding happens once per
-- statement line). `source, source_key` is the idempotency key: a usage
-- record, an imported line or an allocation is charged once.
CREATE TABLE charges (
    id TEXT PRIMARY KEY NOT NULL,
    source TEXT NOT NULL,
    source_key TEXT NOT NULL,
    month TEXT NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    information_system_id TEXT REFERENCES information_systems (id),
    agreement_id TEXT REFERENCES agreements (id),
    provider_id TEXT NOT NULL REFERENCES providers (id),
    offering_id TEXT REFERENCES offerings (id),
    resource_id TEXT,
    service_category TEXT NOT NULL,
    service_name TEXT NOT NULL,
    charge_category TEXT NOT NULL,
    charge_class TEXT,
    metric TEXT,
    unit TEXT,
    quantity TEXT,
    unit_price TEXT,
    price_list_id TEXT,
    price_list_version TEXT,
    cost TEXT NOT NULL,
    currency TEXT NOT NULL,
    commercial_cost TEXT,
    commercial_ref TEXT,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    description TEXT NOT NULL,
    import_id TEXT REFERENCES focus_imports (id),
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_charges_source ON charges (source, source_key);
CREATE INDEX ix_charges_institution_month ON charges (institution_id, month);
CREATE INDEX ix_charges_month ON charges (month, provider_id);

-- Usage or bill lines that could not be tied to an institution (or could
-- not be rated): listed for the Broker to resolve, never dropped.
CREATE TABLE unmapped_charges (
    id TEXT PRIMARY KEY NOT NULL,
    source TEXT NOT NULL,
    source_key TEXT NOT NULL,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    import_id TEXT REFERENCES focus_imports (id),
    line BIGINT,
    reason TEXT NOT NULL,
    billing_account_id TEXT,
    sub_account_id TEXT,
    resource_id TEXT,
    month TEXT NOT NULL,
    cost TEXT NOT NULL,
    currency TEXT NOT NULL,
    -- The charge as it would be booked (JSON), completed on resolution.
    charge_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    resolved_at TEXT,
    resolved_by TEXT REFERENCES users (id),
    charge_id TEXT REFERENCES charges (id)
);
CREATE UNIQUE INDEX uq_unmapped_source ON unmapped_charges (source, source_key);
CREATE INDEX ix_unmapped_open ON unmapped_charges (resolved_at, provider_id);

-- Commercial reference prices the Broker maintains (FED-6): a statement
-- line shows what the same usage would cost at the cheapest commercial
-- SKU of the same kind that is at least as large.
CREATE TABLE commercial_prices (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL,
    sku TEXT NOT NULL,
    kind TEXT NOT NULL,
    vcpu BIGINT NOT NULL,
    ram_gb BIGINT NOT NULL,
    unit TEXT NOT NULL,
    unit_price TEXT NOT NULL,
    currency TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_commercial_prices ON commercial_prices (reference, sku, valid_from);

-- A provider's shared platform cost for a month, split across the
-- institutions that used the provider in proportion to their charges.
CREATE TABLE shared_costs (
    id TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    month TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    description TEXT NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_shared_costs ON shared_costs (provider_id, month, description);

-- Monthly statements. Immutable once issued: a re-issue is a new version
-- with its reason; triggers refuse any UPDATE or DELETE.
CREATE TABLE statements (
    id TEXT PRIMARY KEY NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    month TEXT NOT NULL,
    version BIGINT NOT NULL,
    reason TEXT,
    currency TEXT NOT NULL,
    total TEXT NOT NULL,
    exact_total TEXT NOT NULL,
    commercial_total TEXT NOT NULL,
    charges BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    issued_by TEXT REFERENCES users (id),
    issued_at TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_statements_version ON statements (institution_id, month, version);

CREATE TABLE statement_lines (
    statement_id TEXT NOT NULL REFERENCES statements (id),
    line_no BIGINT NOT NULL,
    information_system_id TEXT,
    information_system TEXT NOT NULL,
    agreement_id TEXT,
    provider_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    service_category TEXT NOT NULL,
    service_name TEXT NOT NULL,
    offering_id TEXT,
    charge_category TEXT NOT NULL,
    charge_class TEXT,
    unit TEXT,
    quantity TEXT,
    unit_price TEXT,
    price_list_version TEXT,
    exact_amount TEXT NOT NULL,
    amount TEXT NOT NULL,
    commercial_amount TEXT,
    commercial_ref TEXT,
    charges BIGINT NOT NULL,
    PRIMARY KEY (statement_id, line_no)
);

-- Monthly budgets per institution (information_system_id NULL) or per
-- information system; `scope_key` makes "one budget per scope" unique on
-- both engines (NULLs are distinct in unique indexes).
CREATE TABLE budgets (
    id TEXT PRIMARY KEY NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    information_system_id TEXT REFERENCES information_systems (id),
    scope_key TEXT NOT NULL,
    monthly_amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    thresholds TEXT NOT NULL,
    updated_by TEXT REFERENCES users (id),
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_budgets_scope ON budgets (scope_key);

-- Thresholds already crossed, so each alert is raised once a month.
CREATE TABLE budget_alerts (
    budget_id TEXT NOT NULL REFERENCES budgets (id),
    month TEXT NOT NULL,
    threshold_pct BIGINT NOT NULL,
    spent TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    PRIMARY KEY (budget_id, month, threshold_pct)
);

-- Alerts carry a short text (e.g. which budget, how much was spent).
ALTER TABLE notifications ADD COLUMN detail TEXT;

CREATE FUNCTION refuse_statement_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'statements are immutable: issue a new version';
END $$;

CREATE TRIGGER statements_are_immutable BEFORE UPDATE OR DELETE ON statements
    FOR EACH ROW EXECUTE FUNCTION refuse_statement_change();
CREATE TRIGGER statement_lines_are_immutable BEFORE UPDATE OR DELETE ON statement_lines
    FOR EACH ROW EXECUTE FUNCTION refuse_statement_change();

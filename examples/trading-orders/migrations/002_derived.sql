-- sot_schema_v1, migration 002: derived and audit tables.
--
-- Kinds as in 001_core.sql:
--   DERIVED    recomputable from the immutable core tables at any time; rows may
--              be deleted and rebuilt, validation queries check them against the
--              facts they come from.
--   IMMUTABLE  audit records: append-only, BEFORE UPDATE and BEFORE DELETE
--              triggers abort any change.

-- DERIVED: fees of an order's fills, one row per order and fee currency.
CREATE TABLE order_costs (
    id              INTEGER PRIMARY KEY,
    order_id        TEXT    NOT NULL REFERENCES orders (order_id),
    fee_currency    TEXT    NOT NULL,
    fill_count      INTEGER NOT NULL CHECK (fill_count >= 1),
    filled_quantity REAL    NOT NULL CHECK (filled_quantity > 0),
    notional        REAL    NOT NULL CHECK (notional > 0),
    total_fee       REAL    NOT NULL CHECK (total_fee >= 0),
    computed_at     TEXT    NOT NULL
);

CREATE UNIQUE INDEX idx_order_costs_order_id_fee_currency ON order_costs (order_id, fee_currency);

-- DERIVED: profit and loss of an order's position at a mark price.
-- net_pnl = realized_pnl + unrealized_pnl - fees.
CREATE TABLE order_pnl (
    id              INTEGER PRIMARY KEY,
    order_id        TEXT    NOT NULL REFERENCES orders (order_id),
    snapshot_at     TEXT    NOT NULL,
    mark_price      REAL    NOT NULL CHECK (mark_price > 0),
    filled_quantity REAL    NOT NULL CHECK (filled_quantity >= 0),
    average_price   REAL    CHECK (average_price IS NULL OR average_price > 0),
    fees            REAL    NOT NULL DEFAULT 0 CHECK (fees >= 0),
    realized_pnl    REAL    NOT NULL DEFAULT 0,
    unrealized_pnl  REAL    NOT NULL,
    net_pnl         REAL    NOT NULL,
    currency        TEXT    NOT NULL
);

CREATE UNIQUE INDEX idx_order_pnl_order_id_snapshot_at ON order_pnl (order_id, snapshot_at);

-- IMMUTABLE (audit): why a request was made, as the strategy saw it.
CREATE TABLE order_decision_context (
    id               INTEGER PRIMARY KEY,
    order_request_id TEXT    NOT NULL REFERENCES order_requests (order_request_id),
    strategy_version TEXT    NOT NULL,
    signal           TEXT    NOT NULL,
    inputs           TEXT    NOT NULL,
    decided_at       TEXT    NOT NULL
);

CREATE UNIQUE INDEX idx_order_decision_context_order_request_id
    ON order_decision_context (order_request_id);

CREATE TRIGGER trg_order_decision_context_no_update BEFORE UPDATE ON order_decision_context
BEGIN
    SELECT RAISE(ABORT, 'order_decision_context is append-only');
END;

CREATE TRIGGER trg_order_decision_context_no_delete BEFORE DELETE ON order_decision_context
BEGIN
    SELECT RAISE(ABORT, 'order_decision_context is append-only');
END;

-- IMMUTABLE (audit): pre-trade risk checks run on a request.
CREATE TABLE order_risk_checks (
    id               INTEGER PRIMARY KEY,
    order_request_id TEXT    NOT NULL REFERENCES order_requests (order_request_id),
    check_name       TEXT    NOT NULL,
    outcome          TEXT    NOT NULL CHECK (outcome IN ('pass', 'warn', 'fail')),
    limit_value      REAL,
    observed_value   REAL,
    checked_at       TEXT    NOT NULL
);

CREATE UNIQUE INDEX idx_order_risk_checks_order_request_id_check_name
    ON order_risk_checks (order_request_id, check_name);

CREATE TRIGGER trg_order_risk_checks_no_update BEFORE UPDATE ON order_risk_checks
BEGIN
    SELECT RAISE(ABORT, 'order_risk_checks is append-only');
END;

CREATE TRIGGER trg_order_risk_checks_no_delete BEFORE DELETE ON order_risk_checks
BEGIN
    SELECT RAISE(ABORT, 'order_risk_checks is append-only');
END;

-- IMMUTABLE (audit): a comparison of an order's local state with the exchange's.
CREATE TABLE exchange_reconciliation (
    id                       INTEGER PRIMARY KEY,
    order_id                 TEXT    NOT NULL REFERENCES orders (order_id),
    exchange_order_id        TEXT    NOT NULL,
    local_status             TEXT    NOT NULL,
    exchange_status          TEXT    NOT NULL,
    local_filled_quantity    REAL    NOT NULL,
    exchange_filled_quantity REAL    NOT NULL,
    outcome                  TEXT    NOT NULL CHECK (outcome IN ('match', 'mismatch')),
    reconciled_at            TEXT    NOT NULL
);

CREATE INDEX idx_exchange_reconciliation_order_id ON exchange_reconciliation (order_id);
CREATE INDEX idx_exchange_reconciliation_exchange_order_id
    ON exchange_reconciliation (exchange_order_id);

CREATE TRIGGER trg_exchange_reconciliation_no_update BEFORE UPDATE ON exchange_reconciliation
BEGIN
    SELECT RAISE(ABORT, 'exchange_reconciliation is append-only');
END;

CREATE TRIGGER trg_exchange_reconciliation_no_delete BEFORE DELETE ON exchange_reconciliation
BEGIN
    SELECT RAISE(ABORT, 'exchange_reconciliation is append-only');
END;

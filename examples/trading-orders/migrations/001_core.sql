-- sot_schema_v1, migration 001: core order tables.
--
-- Every table is marked with one of three kinds:
--   IMMUTABLE  rows are facts; append-only. BEFORE UPDATE and BEFORE DELETE
--              triggers abort any change.
--   MUTABLE    one row per order whose status columns follow the order's events;
--              identity columns never change and rows are never deleted.
--   DERIVED    recomputable from immutable rows (see 002_derived.sql).
--
-- Times are ISO-8601 UTC text ('2026-01-15T09:30:00.000Z'). Quantities, prices
-- and fees are REAL; validation queries compare them with a 1e-6 tolerance.
-- Connections should run PRAGMA foreign_keys = ON and PRAGMA recursive_triggers
-- = ON (the latter makes INSERT OR REPLACE fire the delete triggers too).

-- IMMUTABLE: what a strategy asked for (the intent).
CREATE TABLE order_requests (
    id               INTEGER PRIMARY KEY,
    order_request_id TEXT    NOT NULL,
    strategy_id      TEXT    NOT NULL,
    symbol           TEXT    NOT NULL,
    side             TEXT    NOT NULL CHECK (side IN ('buy', 'sell')),
    order_type       TEXT    NOT NULL CHECK (order_type IN ('market', 'limit')),
    quantity         REAL    NOT NULL CHECK (quantity > 0),
    limit_price      REAL    CHECK (limit_price IS NULL OR limit_price > 0),
    time_in_force    TEXT    NOT NULL DEFAULT 'gtc' CHECK (time_in_force IN ('gtc', 'ioc', 'fok')),
    requested_at     TEXT    NOT NULL,
    CHECK ((order_type = 'limit') = (limit_price IS NOT NULL))
);

CREATE UNIQUE INDEX idx_order_requests_order_request_id ON order_requests (order_request_id);
CREATE INDEX idx_order_requests_symbol ON order_requests (symbol);

CREATE TRIGGER trg_order_requests_no_update BEFORE UPDATE ON order_requests
BEGIN
    SELECT RAISE(ABORT, 'order_requests is append-only');
END;

CREATE TRIGGER trg_order_requests_no_delete BEFORE DELETE ON order_requests
BEGIN
    SELECT RAISE(ABORT, 'order_requests is append-only');
END;

-- MUTABLE: an order placed on an exchange for a request (the execution).
-- Only status, filled_quantity, exchange_order_id (once) and updated_at change.
CREATE TABLE orders (
    id                INTEGER PRIMARY KEY,
    order_id          TEXT    NOT NULL,
    order_request_id  TEXT    NOT NULL REFERENCES order_requests (order_request_id),
    exchange          TEXT    NOT NULL,
    exchange_order_id TEXT,
    symbol            TEXT    NOT NULL,
    side              TEXT    NOT NULL CHECK (side IN ('buy', 'sell')),
    order_type        TEXT    NOT NULL CHECK (order_type IN ('market', 'limit')),
    quantity          REAL    NOT NULL CHECK (quantity > 0),
    limit_price       REAL    CHECK (limit_price IS NULL OR limit_price > 0),
    status            TEXT    NOT NULL DEFAULT 'new' CHECK (status IN (
                          'new', 'submitted', 'acknowledged', 'partially_filled',
                          'filled', 'cancelled', 'rejected', 'expired')),
    filled_quantity   REAL    NOT NULL DEFAULT 0
                              CHECK (filled_quantity >= 0 AND filled_quantity <= quantity),
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL CHECK (updated_at >= created_at)
);

CREATE UNIQUE INDEX idx_orders_order_id ON orders (order_id);
CREATE INDEX idx_orders_order_request_id ON orders (order_request_id);
CREATE INDEX idx_orders_symbol ON orders (symbol);
CREATE INDEX idx_orders_status ON orders (status);
CREATE UNIQUE INDEX idx_orders_exchange_order_id ON orders (exchange, exchange_order_id);

CREATE TRIGGER trg_orders_identity_fixed
BEFORE UPDATE OF order_id, order_request_id, exchange, symbol, side, order_type,
                 quantity, limit_price, created_at ON orders
BEGIN
    SELECT RAISE(ABORT, 'orders: identity columns are fixed');
END;

CREATE TRIGGER trg_orders_exchange_order_id_once
BEFORE UPDATE OF exchange_order_id ON orders
WHEN OLD.exchange_order_id IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'orders: exchange_order_id is set once');
END;

CREATE TRIGGER trg_orders_no_delete BEFORE DELETE ON orders
BEGIN
    SELECT RAISE(ABORT, 'orders are never deleted');
END;

-- IMMUTABLE: everything that happened to an order, numbered 1, 2, 3... per order.
CREATE TABLE order_events (
    id                INTEGER PRIMARY KEY,
    order_id          TEXT    NOT NULL REFERENCES orders (order_id),
    seq               INTEGER NOT NULL CHECK (seq >= 1),
    event_type        TEXT    NOT NULL CHECK (event_type IN (
                          'created', 'submitted', 'acknowledged', 'partially_filled',
                          'filled', 'cancel_requested', 'cancelled', 'rejected', 'expired')),
    status_after      TEXT    NOT NULL CHECK (status_after IN (
                          'new', 'submitted', 'acknowledged', 'partially_filled',
                          'filled', 'cancelled', 'rejected', 'expired')),
    exchange_order_id TEXT,
    detail            TEXT,
    occurred_at       TEXT    NOT NULL,
    recorded_at       TEXT    NOT NULL
);

CREATE UNIQUE INDEX idx_order_events_order_id_seq ON order_events (order_id, seq);
CREATE INDEX idx_order_events_exchange_order_id ON order_events (exchange_order_id);

CREATE TRIGGER trg_order_events_no_update BEFORE UPDATE ON order_events
BEGIN
    SELECT RAISE(ABORT, 'order_events is append-only');
END;

CREATE TRIGGER trg_order_events_no_delete BEFORE DELETE ON order_events
BEGIN
    SELECT RAISE(ABORT, 'order_events is append-only');
END;

-- IMMUTABLE: executions reported by the exchange; each is announced by an event.
CREATE TABLE order_fills (
    id             INTEGER PRIMARY KEY,
    fill_id        TEXT    NOT NULL,
    order_id       TEXT    NOT NULL REFERENCES orders (order_id),
    order_event_id INTEGER NOT NULL REFERENCES order_events (id),
    quantity       REAL    NOT NULL CHECK (quantity > 0),
    price          REAL    NOT NULL CHECK (price > 0),
    fee            REAL    NOT NULL CHECK (fee >= 0),
    fee_currency   TEXT    NOT NULL,
    liquidity      TEXT    NOT NULL CHECK (liquidity IN ('maker', 'taker')),
    filled_at      TEXT    NOT NULL
);

CREATE UNIQUE INDEX idx_order_fills_fill_id ON order_fills (fill_id);
CREATE INDEX idx_order_fills_order_id ON order_fills (order_id);

CREATE TRIGGER trg_order_fills_no_update BEFORE UPDATE ON order_fills
BEGIN
    SELECT RAISE(ABORT, 'order_fills is append-only');
END;

CREATE TRIGGER trg_order_fills_no_delete BEFORE DELETE ON order_fills
BEGIN
    SELECT RAISE(ABORT, 'order_fills is append-only');
END;

-- Representative data: one order request, its decision context and risk checks,
-- one order executed in three partial fills, the fee aggregation, a PnL snapshot
-- and a reconciliation with the exchange. Apply after the migrations.
--
-- Fills (fee 0.1% taker, 0.05% maker):
--   F-1  0.2 @ 29990  fee 5.998   taker
--   F-2  0.2 @ 29995  fee 5.999   taker
--   F-3  0.1 @ 30000  fee 1.500   maker
--   total 0.5, notional 14997, average price 29994, fees 13.497 USD
-- PnL at mark 30100: unrealized (30100 - 29994) * 0.5 = 53, net 53 - 13.497 = 39.503

PRAGMA foreign_keys = ON;

-- Intent ---------------------------------------------------------------------

INSERT INTO order_requests
    (id, order_request_id, strategy_id, symbol, side, order_type, quantity,
     limit_price, time_in_force, requested_at)
VALUES
    (1, 'req-0001', 'momentum-1', 'BTC-USD', 'buy', 'limit', 0.5,
     30000, 'gtc', '2026-01-15T09:30:00.000Z');

INSERT INTO order_decision_context
    (id, order_request_id, strategy_version, signal, inputs, decided_at)
VALUES
    (1, 'req-0001', '1.4.0', 'breakout_long', '{"close": 29980.5, "atr": 210.0}',
     '2026-01-15T09:29:59.900Z');

INSERT INTO order_risk_checks
    (id, order_request_id, check_name, outcome, limit_value, observed_value, checked_at)
VALUES
    (1, 'req-0001', 'max_position_size', 'pass', 2.0, 0.5, '2026-01-15T09:30:00.010Z'),
    (2, 'req-0001', 'max_order_notional', 'pass', 50000, 15000, '2026-01-15T09:30:00.010Z');

-- Execution: the order row follows its events ----------------------------------

INSERT INTO orders
    (id, order_id, order_request_id, exchange, exchange_order_id, symbol, side,
     order_type, quantity, limit_price, status, filled_quantity, created_at, updated_at)
VALUES
    (1, 'ord-0001', 'req-0001', 'example-exchange', NULL, 'BTC-USD', 'buy',
     'limit', 0.5, 30000, 'new', 0, '2026-01-15T09:30:00.050Z', '2026-01-15T09:30:00.050Z');

INSERT INTO order_events
    (id, order_id, seq, event_type, status_after, exchange_order_id, detail,
     occurred_at, recorded_at)
VALUES
    (1, 'ord-0001', 1, 'created', 'new', NULL, NULL,
     '2026-01-15T09:30:00.050Z', '2026-01-15T09:30:00.051Z'),
    (2, 'ord-0001', 2, 'submitted', 'submitted', NULL, NULL,
     '2026-01-15T09:30:00.100Z', '2026-01-15T09:30:00.101Z'),
    (3, 'ord-0001', 3, 'acknowledged', 'acknowledged', 'EX-778899', NULL,
     '2026-01-15T09:30:00.300Z', '2026-01-15T09:30:00.302Z');

UPDATE orders
SET status = 'acknowledged', exchange_order_id = 'EX-778899',
    updated_at = '2026-01-15T09:30:00.300Z'
WHERE order_id = 'ord-0001';

INSERT INTO order_events
    (id, order_id, seq, event_type, status_after, exchange_order_id, detail,
     occurred_at, recorded_at)
VALUES
    (4, 'ord-0001', 4, 'partially_filled', 'partially_filled', 'EX-778899', 'F-1',
     '2026-01-15T09:30:01.000Z', '2026-01-15T09:30:01.004Z'),
    (5, 'ord-0001', 5, 'partially_filled', 'partially_filled', 'EX-778899', 'F-2',
     '2026-01-15T09:30:02.500Z', '2026-01-15T09:30:02.503Z'),
    (6, 'ord-0001', 6, 'filled', 'filled', 'EX-778899', 'F-3',
     '2026-01-15T09:30:04.000Z', '2026-01-15T09:30:04.002Z');

INSERT INTO order_fills
    (id, fill_id, order_id, order_event_id, quantity, price, fee, fee_currency,
     liquidity, filled_at)
VALUES
    (1, 'F-1', 'ord-0001', 4, 0.2, 29990, 5.998, 'USD', 'taker', '2026-01-15T09:30:01.000Z'),
    (2, 'F-2', 'ord-0001', 5, 0.2, 29995, 5.999, 'USD', 'taker', '2026-01-15T09:30:02.500Z'),
    (3, 'F-3', 'ord-0001', 6, 0.1, 30000, 1.500, 'USD', 'maker', '2026-01-15T09:30:04.000Z');

UPDATE orders
SET status = 'filled', filled_quantity = 0.5, updated_at = '2026-01-15T09:30:04.000Z'
WHERE order_id = 'ord-0001';

-- Outcome ------------------------------------------------------------------------

INSERT INTO order_costs
    (id, order_id, fee_currency, fill_count, filled_quantity, notional, total_fee,
     computed_at)
VALUES
    (1, 'ord-0001', 'USD', 3, 0.5, 14997, 13.497, '2026-01-15T09:30:05.000Z');

INSERT INTO order_pnl
    (id, order_id, snapshot_at, mark_price, filled_quantity, average_price, fees,
     realized_pnl, unrealized_pnl, net_pnl, currency)
VALUES
    (1, 'ord-0001', '2026-01-15T09:35:00.000Z', 30100, 0.5, 29994, 13.497,
     0, 53, 39.503, 'USD');

INSERT INTO exchange_reconciliation
    (id, order_id, exchange_order_id, local_status, exchange_status,
     local_filled_quantity, exchange_filled_quantity, outcome, reconciled_at)
VALUES
    (1, 'ord-0001', 'EX-778899', 'filled', 'filled', 0.5, 0.5, 'match',
     '2026-01-15T09:30:10.000Z');

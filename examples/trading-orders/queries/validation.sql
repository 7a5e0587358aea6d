-- Validation queries for the order database (sot_schema_v1).
--
-- Convention: every query returns ZERO rows when the data is consistent; each
-- row it returns is one violation. The comment line `-- check: NAME` above a
-- query names it. Numbers are compared with a tolerance of 1e-6.
--
-- Groups: lifecycle traceability, fill-based fee correctness, referential
-- integrity.

-- Lifecycle traceability ------------------------------------------------------

-- check: request_without_decision_context
SELECT r.order_request_id
FROM order_requests r
LEFT JOIN order_decision_context d ON d.order_request_id = r.order_request_id
WHERE d.id IS NULL;

-- check: order_without_passed_risk_checks
SELECT o.order_id
FROM orders o
WHERE NOT EXISTS (SELECT 1 FROM order_risk_checks c
                  WHERE c.order_request_id = o.order_request_id)
   OR EXISTS (SELECT 1 FROM order_risk_checks c
              WHERE c.order_request_id = o.order_request_id AND c.outcome = 'fail');

-- check: order_differs_from_request
SELECT o.order_id, r.order_request_id
FROM orders o
JOIN order_requests r ON r.order_request_id = o.order_request_id
WHERE o.symbol <> r.symbol
   OR o.side <> r.side
   OR o.order_type <> r.order_type
   OR o.limit_price IS NOT r.limit_price
   OR o.quantity > r.quantity + 1e-6;

-- check: order_without_created_event
SELECT o.order_id
FROM orders o
WHERE NOT EXISTS (SELECT 1 FROM order_events e
                  WHERE e.order_id = o.order_id AND e.seq = 1 AND e.event_type = 'created');

-- check: order_event_sequence_gap
SELECT order_id, COUNT(*) AS events, MAX(seq) AS last_seq
FROM order_events
GROUP BY order_id
HAVING COUNT(*) <> MAX(seq);

-- check: order_status_differs_from_last_event
SELECT o.order_id, o.status, e.status_after
FROM orders o
JOIN order_events e ON e.order_id = o.order_id
 AND e.seq = (SELECT MAX(seq) FROM order_events WHERE order_id = o.order_id)
WHERE e.status_after <> o.status;

-- check: event_exchange_order_id_differs
SELECT e.order_id, e.seq, e.exchange_order_id, o.exchange_order_id
FROM order_events e
JOIN orders o ON o.order_id = e.order_id
WHERE e.exchange_order_id IS NOT NULL
  AND e.exchange_order_id IS NOT o.exchange_order_id;

-- check: fill_without_fill_event
SELECT f.fill_id, f.order_event_id
FROM order_fills f
JOIN order_events e ON e.id = f.order_event_id
WHERE e.order_id <> f.order_id
   OR e.event_type NOT IN ('partially_filled', 'filled');

-- check: fill_event_without_fill
SELECT e.order_id, e.seq
FROM order_events e
WHERE e.event_type IN ('partially_filled', 'filled')
  AND NOT EXISTS (SELECT 1 FROM order_fills f WHERE f.order_event_id = e.id);

-- check: filled_quantity_differs_from_fills
SELECT o.order_id, o.filled_quantity, COALESCE(SUM(f.quantity), 0) AS from_fills
FROM orders o
LEFT JOIN order_fills f ON f.order_id = o.order_id
GROUP BY o.order_id
HAVING ABS(o.filled_quantity - COALESCE(SUM(f.quantity), 0)) > 1e-6;

-- check: filled_status_differs_from_quantity
SELECT order_id, status, filled_quantity, quantity
FROM orders
WHERE (status = 'filled') <> (ABS(filled_quantity - quantity) <= 1e-6);

-- Fill-based fee correctness ------------------------------------------------

-- check: fee_aggregation_differs_from_fills
SELECT c.order_id, c.fee_currency, c.total_fee, f.fee
FROM order_costs c
LEFT JOIN (SELECT order_id, fee_currency, COUNT(*) AS n, SUM(quantity) AS qty,
                  SUM(quantity * price) AS notional, SUM(fee) AS fee
           FROM order_fills
           GROUP BY order_id, fee_currency) f
  ON f.order_id = c.order_id AND f.fee_currency = c.fee_currency
WHERE f.order_id IS NULL
   OR c.fill_count <> f.n
   OR ABS(c.filled_quantity - f.qty) > 1e-6
   OR ABS(c.notional - f.notional) > 1e-6
   OR ABS(c.total_fee - f.fee) > 1e-6;

-- check: fills_without_fee_aggregation
SELECT DISTINCT f.order_id, f.fee_currency
FROM order_fills f
LEFT JOIN order_costs c ON c.order_id = f.order_id AND c.fee_currency = f.fee_currency
WHERE c.id IS NULL;

-- check: pnl_differs_from_fills
WITH at_snapshot AS (
    SELECT p.id AS pnl_id,
           COALESCE(SUM(f.quantity), 0) AS qty,
           COALESCE(SUM(f.quantity * f.price), 0) AS notional,
           COALESCE(SUM(f.fee), 0) AS fee
    FROM order_pnl p
    LEFT JOIN order_fills f ON f.order_id = p.order_id AND f.filled_at <= p.snapshot_at
    GROUP BY p.id
)
SELECT p.order_id, p.snapshot_at
FROM order_pnl p
JOIN at_snapshot a ON a.pnl_id = p.id
JOIN orders o ON o.order_id = p.order_id
WHERE ABS(p.filled_quantity - a.qty) > 1e-6
   OR (a.qty = 0) <> (p.average_price IS NULL)
   OR (a.qty > 0 AND ABS(p.average_price - a.notional / a.qty) > 1e-6)
   OR ABS(p.fees - a.fee) > 1e-6
   OR ABS(p.unrealized_pnl - (CASE o.side WHEN 'buy' THEN 1 ELSE -1 END)
                             * (p.mark_price * a.qty - a.notional)) > 1e-6
   OR ABS(p.net_pnl - (p.realized_pnl + p.unrealized_pnl - p.fees)) > 1e-6;

-- Referential integrity -----------------------------------------------------

-- check: foreign_key_violations
PRAGMA foreign_key_check;

-- check: reconciliation_exchange_order_id_differs
SELECT r.id, r.exchange_order_id, o.exchange_order_id
FROM exchange_reconciliation r
JOIN orders o ON o.order_id = r.order_id
WHERE r.exchange_order_id IS NOT o.exchange_order_id;

-- check: reconciliation_outcome_wrong
SELECT id, outcome
FROM exchange_reconciliation
WHERE (outcome = 'match')
   <> (local_status = exchange_status
       AND ABS(local_filled_quantity - exchange_filled_quantity) <= 1e-6);

"""The trading-orders example: migrations, seed data, validation queries, immutability."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from sot_builder import sqlschema

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trading-orders"
QUERIES = EXAMPLE / "queries" / "validation.sql"
CHECK_NAMES = re.findall(r"^-- check: (\S+)$", QUERIES.read_text(encoding="utf-8"), re.MULTILINE)
IMMUTABLE = (
    "order_requests",
    "order_events",
    "order_fills",
    "order_decision_context",
    "order_risk_checks",
    "exchange_reconciliation",
)


def migrations(root: Path) -> list[Path]:
    return sorted((root / "migrations").glob("*.sql"))


def seeded(root: Path) -> sqlite3.Connection:
    """An in-memory database built the way the README tells."""
    con = sqlite3.connect(":memory:", isolation_level=None)
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("PRAGMA recursive_triggers = ON")
    for path in [*migrations(root), root / "seed" / "seed.sql"]:
        con.executescript(path.read_text(encoding="utf-8"))
    return con


def run_checks(root: Path, *extra_seed: Path) -> dict[str, list[tuple[object, ...]]]:
    results = sqlschema.run_validation_queries(
        migrations(root),
        [root / "seed" / "seed.sql", *extra_seed],
        [root / "queries" / "validation.sql"],
    )
    return dict(results)


def test_example_layout(example_dir: Path) -> None:
    names = {p.relative_to(example_dir).as_posix() for p in example_dir.rglob("*.*")}
    assert {
        "README.md",
        "SoT/SoT.ACTUAL_SCHEMA.md",
        "migrations/001_core.sql",
        "migrations/002_derived.sql",
        "queries/validation.sql",
        "seed/seed.sql",
        "sotb.toml",
    } <= names
    assert 'sql_migrations = ["migrations/*.sql"]' in (example_dir / "sotb.toml").read_text(encoding="utf-8")


def test_migrations_apply(example_dir: Path) -> None:
    tables = sqlschema.actual_schema(migrations(example_dir))
    assert list(tables) == [
        "order_requests",
        "orders",
        "order_events",
        "order_fills",
        "order_costs",
        "order_pnl",
        "order_decision_context",
        "order_risk_checks",
        "exchange_reconciliation",
    ]
    orders = tables["orders"]
    assert orders.path is not None and orders.path.name == "001_core.sql"
    assert orders.primary_key == ("id",)
    assert {i.name for i in orders.indexes} == {
        "idx_orders_order_id",
        "idx_orders_order_request_id",
        "idx_orders_symbol",
        "idx_orders_status",
        "idx_orders_exchange_order_id",
    }
    fills = tables["order_fills"]
    assert [(k.columns, k.table, k.ref_columns) for k in fills.foreign_keys] == [
        (("order_id",), "orders", ("order_id",)),
        (("order_event_id",), "order_events", ("id",)),
    ]


def test_seed_loads(example_dir: Path) -> None:
    con = seeded(example_dir)
    count = {
        t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("order_requests", "orders", "order_events", "order_fills", "order_costs")
    }
    assert count == {
        "order_requests": 1,
        "orders": 1,
        "order_events": 6,
        "order_fills": 3,
        "order_costs": 1,
    }
    assert con.execute("SELECT status, exchange_order_id FROM orders").fetchone() == (
        "filled",
        "EX-778899",
    )


def test_every_check_is_run() -> None:
    assert len(CHECK_NAMES) >= 15
    assert [name for name, _ in run_checks(EXAMPLE).items()] == CHECK_NAMES


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_validation_query_returns_no_rows(name: str) -> None:
    assert run_checks(EXAMPLE)[name] == []


# Each case breaks the seeded data so that the named check must return rows.
SABOTAGE = {
    "request_without_decision_context": """
        INSERT INTO order_requests (id, order_request_id, strategy_id, symbol, side,
            order_type, quantity, limit_price, requested_at)
        VALUES (2, 'req-0002', 'momentum-1', 'ETH-USD', 'sell', 'market', 1, NULL,
            '2026-01-15T10:00:00.000Z');""",
    "order_without_passed_risk_checks": """
        INSERT INTO order_risk_checks (order_request_id, check_name, outcome, checked_at)
        VALUES ('req-0001', 'max_daily_loss', 'fail', '2026-01-15T09:30:00.020Z');""",
    "order_differs_from_request": """
        INSERT INTO orders (order_id, order_request_id, exchange, symbol, side, order_type,
            quantity, limit_price, created_at, updated_at)
        VALUES ('ord-0002', 'req-0001', 'example-exchange', 'ETH-USD', 'buy', 'limit',
            0.5, 30000, '2026-01-15T09:31:00.000Z', '2026-01-15T09:31:00.000Z');""",
    "order_without_created_event": """
        INSERT INTO orders (order_id, order_request_id, exchange, symbol, side, order_type,
            quantity, limit_price, created_at, updated_at)
        VALUES ('ord-0002', 'req-0001', 'example-exchange', 'BTC-USD', 'buy', 'limit',
            0.5, 30000, '2026-01-15T09:31:00.000Z', '2026-01-15T09:31:00.000Z');""",
    "order_event_sequence_gap": """
        INSERT INTO order_events (order_id, seq, event_type, status_after, occurred_at,
            recorded_at)
        VALUES ('ord-0001', 8, 'cancel_requested', 'filled', '2026-01-15T09:40:00.000Z',
            '2026-01-15T09:40:00.000Z');""",
    "order_status_differs_from_last_event": """
        INSERT INTO order_events (order_id, seq, event_type, status_after, occurred_at,
            recorded_at)
        VALUES ('ord-0001', 7, 'cancelled', 'cancelled', '2026-01-15T09:40:00.000Z',
            '2026-01-15T09:40:00.000Z');""",
    "event_exchange_order_id_differs": """
        INSERT INTO order_events (order_id, seq, event_type, status_after,
            exchange_order_id, occurred_at, recorded_at)
        VALUES ('ord-0001', 7, 'cancel_requested', 'filled', 'EX-OTHER',
            '2026-01-15T09:40:00.000Z', '2026-01-15T09:40:00.000Z');""",
    "fill_without_fill_event": """
        INSERT INTO order_fills (fill_id, order_id, order_event_id, quantity, price, fee,
            fee_currency, liquidity, filled_at)
        VALUES ('F-4', 'ord-0001', 1, 0.1, 30000, 3, 'USD', 'taker',
            '2026-01-15T09:30:05.000Z');""",
    "fill_event_without_fill": """
        INSERT INTO order_events (order_id, seq, event_type, status_after,
            exchange_order_id, occurred_at, recorded_at)
        VALUES ('ord-0001', 7, 'filled', 'filled', 'EX-778899',
            '2026-01-15T09:40:00.000Z', '2026-01-15T09:40:00.000Z');""",
    "filled_quantity_differs_from_fills": """
        UPDATE orders SET filled_quantity = 0.4 WHERE order_id = 'ord-0001';""",
    "filled_status_differs_from_quantity": """
        INSERT INTO order_events (order_id, seq, event_type, status_after,
            exchange_order_id, occurred_at, recorded_at)
        VALUES ('ord-0001', 7, 'cancel_requested', 'partially_filled', 'EX-778899',
            '2026-01-15T09:40:00.000Z', '2026-01-15T09:40:00.000Z');
        UPDATE orders SET status = 'partially_filled' WHERE order_id = 'ord-0001';""",
    "fee_aggregation_differs_from_fills": """
        UPDATE order_costs SET total_fee = 13.0 WHERE order_id = 'ord-0001';""",
    "fills_without_fee_aggregation": """
        DELETE FROM order_costs;""",
    "pnl_differs_from_fills": """
        UPDATE order_pnl SET unrealized_pnl = 60, net_pnl = 46.503;""",
    "foreign_key_violations": """
        PRAGMA foreign_keys = OFF;
        INSERT INTO order_costs (order_id, fee_currency, fill_count, filled_quantity,
            notional, total_fee, computed_at)
        VALUES ('ord-9999', 'USD', 1, 1, 1, 0, '2026-01-15T09:30:05.000Z');""",
    "reconciliation_exchange_order_id_differs": """
        INSERT INTO exchange_reconciliation (order_id, exchange_order_id, local_status,
            exchange_status, local_filled_quantity, exchange_filled_quantity, outcome,
            reconciled_at)
        VALUES ('ord-0001', 'EX-OTHER', 'filled', 'filled', 0.5, 0.5, 'match',
            '2026-01-15T09:31:00.000Z');""",
    "reconciliation_outcome_wrong": """
        INSERT INTO exchange_reconciliation (order_id, exchange_order_id, local_status,
            exchange_status, local_filled_quantity, exchange_filled_quantity, outcome,
            reconciled_at)
        VALUES ('ord-0001', 'EX-778899', 'filled', 'partially_filled', 0.5, 0.4, 'match',
            '2026-01-15T09:31:00.000Z');""",
}


def test_every_check_has_a_sabotage_case() -> None:
    assert sorted(SABOTAGE) == sorted(CHECK_NAMES)


@pytest.mark.parametrize("name", sorted(SABOTAGE))
def test_validation_query_finds_broken_data(name: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.sql"
    broken.write_text(SABOTAGE[name], encoding="utf-8")
    assert run_checks(EXAMPLE, broken)[name] != []


@pytest.mark.parametrize("table", IMMUTABLE)
@pytest.mark.parametrize("statement", ["UPDATE {t} SET id = id + 100", "DELETE FROM {t}"])
def test_immutable_tables_reject_changes(table: str, statement: str) -> None:
    con = seeded(EXAMPLE)
    before = con.execute(f"SELECT * FROM {table}").fetchall()
    assert before, "seed data should fill every immutable table"
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute(statement.format(t=table))
    assert con.execute(f"SELECT * FROM {table}").fetchall() == before


def test_insert_or_replace_cannot_overwrite_a_fill() -> None:
    con = seeded(EXAMPLE)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute(
            "INSERT OR REPLACE INTO order_fills SELECT id, fill_id, order_id, order_event_id,"
            " quantity, price, 0, fee_currency, liquidity, filled_at FROM order_fills"
            " WHERE id = 1"
        )
    assert con.execute("SELECT fee FROM order_fills WHERE id = 1").fetchone() == (5.998,)


def test_orders_change_status_but_not_identity() -> None:
    con = seeded(EXAMPLE)
    con.execute("UPDATE orders SET updated_at = '2026-01-15T10:00:00.000Z'")
    for change, message in [
        ("symbol = 'ETH-USD'", "identity columns are fixed"),
        ("quantity = 1", "identity columns are fixed"),
        ("exchange_order_id = 'EX-1'", "exchange_order_id is set once"),
    ]:
        with pytest.raises(sqlite3.IntegrityError, match=message):
            con.execute(f"UPDATE orders SET {change}")
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        con.execute("DELETE FROM orders")


def test_derived_tables_can_be_rebuilt() -> None:
    con = seeded(EXAMPLE)
    con.execute("DELETE FROM order_pnl")
    con.execute("DELETE FROM order_costs")
    assert con.execute("SELECT COUNT(*) FROM order_costs").fetchone() == (0,)


def test_shipped_documentation_matches_migrations(example_dir: Path) -> None:
    lines = (example_dir / "SoT" / "SoT.ACTUAL_SCHEMA.md").read_text(encoding="utf-8")
    lines_list = lines.splitlines()
    entries = sqlschema.find_entries(lines_list)
    documented = sqlschema.documented_schema(lines_list, entries)
    assert len(documented) == 9
    assert sqlschema.compare(documented, sqlschema.actual_schema(migrations(example_dir))) == []


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="sqlite3 CLI not installed")
def test_readme_cli_steps(example: Path) -> None:
    db = example / "orders.db"
    for sql in [*migrations(example), example / "seed" / "seed.sql"]:
        with sql.open("rb") as stdin:
            subprocess.run(["sqlite3", "-bail", str(db)], stdin=stdin, check=True)
    with (example / "queries" / "validation.sql").open("rb") as stdin:
        done = subprocess.run(
            ["sqlite3", "-header", str(db)], stdin=stdin, check=True, capture_output=True
        )
    assert done.stdout == b""
    assert done.stderr == b""


def test_schema_doc_links_resolve(example_dir: Path) -> None:
    from markdown_it import MarkdownIt
    from mdit_py_plugins.anchors import anchors_plugin
    from mdit_py_plugins.front_matter import front_matter_plugin

    text = (example_dir / "SoT" / "SoT.ACTUAL_SCHEMA.md").read_text(encoding="utf-8")
    md = MarkdownIt("commonmark").use(front_matter_plugin).use(anchors_plugin, max_level=6)
    slugs = {t.attrs["id"] for t in md.parse(text) if t.type == "heading_open"}
    fragments = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert len(fragments) == 9
    assert fragments <= slugs


def test_entries_from_the_parser_give_the_same_tables(example_dir: Path) -> None:
    from sot_builder.parse import parse_document

    path = example_dir / "SoT" / "SoT.ACTUAL_SCHEMA.md"
    doc = parse_document(path.read_bytes(), "SoT/SoT.ACTUAL_SCHEMA.md")
    lines = list(doc.lines)
    parsed = [(e.id, e.line, e.end_line) for e in doc.entries]
    assert [e[:2] for e in parsed] == [e[:2] for e in sqlschema.find_entries(lines)]
    from_parser = sqlschema.documented_schema(lines, parsed)
    from_scan = sqlschema.documented_schema(lines, sqlschema.find_entries(lines))
    # the parser ends an entry before its closing rule, the scan at the next heading
    assert {k: replace(t, end_line=0) for k, t in from_parser.items()} == {
        k: replace(t, end_line=0) for k, t in from_scan.items()
    }

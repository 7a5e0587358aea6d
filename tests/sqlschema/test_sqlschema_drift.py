"""compare() on broken copies of the example: every kind of difference, at its line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sot_builder import sqlschema

DOC = "SoT/SoT.ACTUAL_SCHEMA.md"
CORE = "migrations/001_core.sql"
EXTRA = "migrations/003_change.sql"

Found = tuple[str, str, str, int]  # kind, table, detail, line


def differences(root: Path) -> list[sqlschema.SchemaDifference]:
    lines = (root / DOC).read_text(encoding="utf-8").splitlines()
    documented = sqlschema.documented_schema(lines, sqlschema.find_entries(lines))
    actual = sqlschema.actual_schema(sorted((root / "migrations").glob("*.sql")))
    return sqlschema.compare(documented, actual)


def found(root: Path) -> list[Found]:
    return [(d.kind, d.table, d.detail, d.line) for d in differences(root)]


def _span(text: str, entry: str) -> tuple[int, int]:
    if not entry:
        return 0, len(text)
    start = text.index(f"\n## {entry}:") + 1
    end = text.find("\n## ", start)
    return start, len(text) if end < 0 else end + 1


def edit(path: Path, old: str, new: str, entry: str = "") -> None:
    """Replace the one occurrence of `old` (inside entry `entry` if given)."""
    text = path.read_text(encoding="utf-8")
    start, end = _span(text, entry)
    part = text[start:end]
    assert part.count(old) == 1, f"{old!r} occurs {part.count(old)} times"
    path.write_text(text[:start] + part.replace(old, new) + text[end:], encoding="utf-8")


def line_of(path: Path, needle: str, entry: str = "") -> int:
    """1-based line of the one occurrence of `needle` (inside entry `entry` if given)."""
    text = path.read_text(encoding="utf-8")
    start, end = _span(text, entry)
    part = text[start:end]
    assert part.count(needle) == 1, f"{needle!r} occurs {part.count(needle)} times"
    return text.count("\n", 0, start + part.index(needle)) + 1


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(text)


# Each case edits a copy of the example and returns the differences it expects.
CASES: dict[str, Callable[[Path], list[Found]]] = {}


def case(fn: Callable[[Path], list[Found]]) -> Callable[[Path], list[Found]]:
    CASES[fn.__name__] = fn
    return fn


@case
def missing_table(root: Path) -> list[Found]:
    doc = root / DOC
    append(doc, "\n---\n\n## DBT-106: order_notes\n\n**ID**: DBT-106\n**Table**: `order_notes`\n")
    return [("missing-table", "order_notes", "", line_of(doc, "**Table**: `order_notes`"))]


@case
def extra_table(root: Path) -> list[Found]:
    (root / EXTRA).write_text(
        "-- tags\n\nCREATE TABLE order_tags (\n    id INTEGER PRIMARY KEY\n);\n",
        encoding="utf-8",
    )
    return [("extra-table", "order_tags", "", 0)]


@case
def missing_column(root: Path) -> list[Found]:
    doc = root / DOC
    row = "| updated_at | TEXT | NO | | |"
    edit(doc, row, row + "\n| venue | TEXT | YES | | |", entry="DBT-002")
    return [("missing-column", "orders", "venue", line_of(doc, "| venue |"))]


@case
def extra_column(root: Path) -> list[Found]:
    (root / EXTRA).write_text("ALTER TABLE orders ADD COLUMN note TEXT;\n", encoding="utf-8")
    return [("extra-column", "orders", "note", line_of(root / DOC, "### Columns", "DBT-002"))]


@case
def column_type(root: Path) -> list[Found]:
    doc = root / DOC
    edit(doc, "| quantity | REAL |", "| quantity | INTEGER |", entry="DBT-004")
    return [("column-type", "order_fills", "quantity", line_of(doc, "| quantity |", "DBT-004"))]


@case
def column_null(root: Path) -> list[Found]:
    doc = root / DOC
    edit(doc, "| exchange_order_id | TEXT | YES |", "| exchange_order_id | TEXT | NO |", "DBT-002")
    line = line_of(doc, "| exchange_order_id |", "DBT-002")
    return [("column-null", "orders", "exchange_order_id", line)]


@case
def column_default(root: Path) -> list[Found]:
    doc = root / DOC
    edit(doc, "`'new'`", "`'submitted'`", entry="DBT-002")
    return [("column-default", "orders", "status", line_of(doc, "| status | TEXT", "DBT-002"))]


@case
def primary_key(root: Path) -> list[Found]:
    doc = root / DOC
    edit(doc, "**Primary Key**: `id`", "**Primary Key**: `order_id`, `seq`", entry="DBT-003")
    return [("primary-key", "order_events", "", line_of(doc, "**Primary Key**", "DBT-003"))]


@case
def foreign_key_not_declared(root: Path) -> list[Found]:
    doc = root / DOC
    row = "| exchange_order_id | TEXT | YES | |"
    edit(doc, row + " |", row + " `orders.exchange_order_id` |", entry="DBT-003")
    detail = "(exchange_order_id) -> orders(exchange_order_id)"
    return [("foreign-key", "order_events", detail, line_of(doc, row, "DBT-003"))]


@case
def foreign_key_not_documented(root: Path) -> list[Found]:
    doc = root / DOC
    edit(doc, "[DBT-003](#dbt-003-order_events) `order_events.id`", "", entry="DBT-004")
    line = line_of(doc, "| order_event_id |", "DBT-004")
    return [("foreign-key", "order_fills", "(order_event_id) -> order_events(id)", line)]


@case
def missing_index(root: Path) -> list[Found]:
    doc = root / DOC
    row = "| idx_order_requests_symbol | symbol | no |"
    edit(doc, row, row + "\n| idx_order_requests_strategy_id | strategy_id | no |")
    line = line_of(doc, "| idx_order_requests_strategy_id |")
    return [("missing-index", "order_requests", "idx_order_requests_strategy_id", line)]


@case
def extra_index(root: Path) -> list[Found]:
    (root / EXTRA).write_text(
        "CREATE INDEX idx_order_fills_filled_at ON order_fills (filled_at);\n", encoding="utf-8"
    )
    line = line_of(root / DOC, "### Indexes", "DBT-004")
    return [("extra-index", "order_fills", "idx_order_fills_filled_at", line)]


@case
def index_columns(root: Path) -> list[Found]:
    doc = root / DOC
    edit(doc, "| idx_orders_symbol | symbol |", "| idx_orders_symbol | symbol, status |")
    line = line_of(doc, "| idx_orders_symbol |")
    return [("index-definition", "orders", "idx_orders_symbol", line)]


@case
def index_uniqueness(root: Path) -> list[Found]:
    doc = root / DOC
    edit(doc, "| idx_orders_status | status | no |", "| idx_orders_status | status | yes |")
    line = line_of(doc, "| idx_orders_status |")
    return [("index-definition", "orders", "idx_orders_status", line)]


@case
def delete_trigger_dropped(root: Path) -> list[Found]:
    edit(
        root / CORE,
        "CREATE TRIGGER trg_order_fills_no_delete BEFORE DELETE ON order_fills\n"
        "BEGIN\n"
        "    SELECT RAISE(ABORT, 'order_fills is append-only');\n"
        "END;\n",
        "",
    )
    line = line_of(root / DOC, "**Kind**", "DBT-004")
    return [("not-append-only", "order_fills", "DELETE", line)]


@case
def update_trigger_made_conditional(root: Path) -> list[Found]:
    edit(
        root / CORE,
        "BEFORE UPDATE ON order_events\nBEGIN",
        "BEFORE UPDATE ON order_events\nWHEN OLD.seq > 1\nBEGIN",
    )
    line = line_of(root / DOC, "**Kind**", "DBT-003")
    return [("not-append-only", "order_events", "UPDATE", line)]


@case
def mutable_table_documented_immutable(root: Path) -> list[Found]:
    doc = root / DOC
    edit(doc, "**Kind**: mutable", "**Kind**: immutable", entry="DBT-002")
    return [("not-append-only", "orders", "UPDATE", line_of(doc, "**Kind**", "DBT-002"))]


@pytest.mark.parametrize("name", sorted(CASES))
def test_difference_reported_at_its_line(name: str, example: Path) -> None:
    expected = CASES[name](example)
    assert found(example) == expected


def test_cases_cover_every_kind(example: Path) -> None:
    """All edits in one copy: every kind appears, for the tables and details expected."""
    expected: list[Found] = []
    extra = example / EXTRA
    for fn in CASES.values():
        before = extra.read_text(encoding="utf-8") if extra.exists() else ""
        expected += fn(example)
        after = extra.read_text(encoding="utf-8") if extra.exists() else ""
        if after != before:  # cases that add a migration share one file
            extra.write_text(before + after, encoding="utf-8")
    # later edits shift the lines computed by earlier cases: lines are checked above
    got = found(example)
    assert {d[0] for d in got} == set(sqlschema.KINDS)
    assert {d[:3] for d in got} == {d[:3] for d in expected}


def test_extra_table_message_names_the_migration(example: Path) -> None:
    extra_table(example)
    (diff,) = differences(example)
    assert "003_change.sql line 3" in diff.message


def test_autoindexes_are_not_extra_indexes(example: Path) -> None:
    edit(example / CORE, "fill_id        TEXT    NOT NULL,", "fill_id TEXT NOT NULL UNIQUE,")
    tables = sqlschema.actual_schema(sorted((example / "migrations").glob("*.sql")))
    assert any(i.name.startswith("sqlite_autoindex_") for i in tables["order_fills"].indexes)
    assert found(example) == []


def test_type_comparison_ignores_case_and_spacing(example: Path) -> None:
    doc = example / DOC
    edit(doc, "| quantity | REAL |", "| quantity |  real  |", entry="DBT-004")
    (example / EXTRA).write_text(
        "CREATE TABLE order_prices (\n"
        "    id INTEGER PRIMARY KEY,\n"
        "    amount decimal( 10 , 2 ) NOT NULL DEFAULT (0.0)\n"
        ");\n",
        encoding="utf-8",
    )
    append(
        doc,
        "\n---\n\n## DBT-106: order_prices\n\n"
        "**Table**: `order_prices`\n**Kind**: derived\n**Primary Key**: `id`\n\n"
        "### Columns\n\n"
        "| Column | Type | Null | Default | References |\n"
        "|---|---|---|---|---|\n"
        "| id | INTEGER | NO | | |\n"
        "| amount | DECIMAL(10, 2) | NO | `0.0` | |\n",
    )
    assert found(example) == []
    edit(doc, "| DECIMAL(10, 2) |", "| DECIMAL(10, 3) |")
    assert [d[:3] for d in found(example)] == [("column-type", "order_prices", "amount")]

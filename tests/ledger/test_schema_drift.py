"""SOT510/SOT511: the documented schema against the configured SQL migrations."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sot_builder import engine
from sot_builder.cli import main
from sot_builder.config import load_config
from sot_builder.project import load_project

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trading-orders"
DOC = "SoT/SoT.ACTUAL_SCHEMA.md"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    if not (EXAMPLE / DOC).is_file():
        pytest.skip("the trading-orders example is not there")
    root = tmp_path / "trading-orders"
    shutil.copytree(EXAMPLE, root)
    (root / "sotb.toml").write_text('sql_migrations = ["migrations/*.sql"]\n', encoding="utf-8")
    return root


def drift(root: Path) -> list[tuple[str, int, str, tuple[str, ...], str]]:
    config = load_config(root)
    rules = engine.active_rules(config.values, extra_select=("SOT51",))
    diags = engine.run(load_project(config, use_cache=False), rules)
    return [(d.path, d.line, d.code, d.ids, d.message) for d in diags]


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    [n] = [i for i, text in enumerate(lines, 1) if needle in text]
    return n


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_the_example_matches_its_migrations(example: Path) -> None:
    assert drift(example) == []


def test_each_difference_is_reported_at_its_documented_line(example: Path) -> None:
    doc = example / DOC
    replace(doc, "| order_request_id | TEXT | NO | | |", "| order_request_id | INTEGER | NO | | |")
    type_line = line_of(doc, "| order_request_id | INTEGER | NO | | |")
    core = example / "migrations" / "001_core.sql"
    replace(core, "CREATE TRIGGER trg_order_requests_no_delete BEFORE DELETE",
            "CREATE TRIGGER trg_order_requests_no_delete AFTER DELETE")
    (example / "migrations" / "003_tags.sql").write_text(
        "CREATE TABLE order_tags (\n    id INTEGER PRIMARY KEY\n);\n", encoding="utf-8")
    found = drift(example)
    by_message = {m.split(" ")[1]: (path, line, code, ids) for path, line, code, ids, m in found}
    assert by_message["`order_requests.order_request_id`"] == (DOC, type_line, "SOT510", ("DBT-001",))
    assert by_message["`order_requests`"] == (DOC, _kind_line(doc, "DBT-001"), "SOT510", ("DBT-001",))
    assert by_message["`order_tags`"] == (DOC, 1, "SOT510", ())
    assert len(found) == 3


def _kind_line(doc: Path, entry: str) -> int:
    lines = doc.read_text(encoding="utf-8").splitlines()
    start = next(i for i, text in enumerate(lines, 1) if text.startswith(f"## {entry}:"))
    return next(i for i, text in enumerate(lines, 1) if i > start and text.startswith("**Kind**:"))


def test_lint_exit_code(example: Path, capsys) -> None:
    assert main(["lint", str(example), "--select", "SOT51"]) == 0
    replace(example / DOC, "| order_request_id | TEXT | NO | | |", "| order_request_id | INTEGER | NO | | |")
    assert main(["lint", str(example), "--select", "SOT51"]) == 1
    assert "declared `TEXT`" in capsys.readouterr().out


def test_a_failing_migration_is_reported_at_its_line(example: Path) -> None:
    (example / "migrations" / "003_bad.sql").write_text(
        "-- broken\n\nCREATE TABLE t (\n    id INTEGER PRIMARY KEY,,\n);\n", encoding="utf-8")
    [(path, line, code, _ids, message)] = drift(example)
    assert (path, code) == ("migrations/003_bad.sql", "SOT511")
    assert line in (3, 4) and "syntax error" in message


def test_a_pattern_that_matches_nothing_is_reported_in_the_config(example: Path) -> None:
    (example / "sotb.toml").write_text('sql_migrations = [\n  "migrations/*.sql",\n  "db/*.sql",\n]\n',
                                       encoding="utf-8")
    assert drift(example) == [("sotb.toml", 3, "SOT511", (), "sql_migrations pattern 'db/*.sql' matches no file")]


def test_silent_without_sql_migrations(example: Path) -> None:
    (example / "sotb.toml").write_text("", encoding="utf-8")
    (example / "migrations" / "003_bad.sql").write_text("CREATE TABLE (;\n", encoding="utf-8")
    assert drift(example) == []


def test_undocumented_tables_without_any_schema_file_are_reported_in_the_migrations(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "SoT").mkdir()
    (tmp_path / "sotb.toml").write_text('sql_migrations = ["db/*.sql"]\n', encoding="utf-8")
    (tmp_path / "db" / "001.sql").write_text("-- one\nCREATE TABLE a (id INTEGER PRIMARY KEY);\n", encoding="utf-8")
    assert [(p, line, c) for p, line, c, _i, _m in drift(tmp_path)] == [("db/001.sql", 2, "SOT510")]

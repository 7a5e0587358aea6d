"""sotb export: SQLite, SQL dump, JSON and CSV hold the same rows."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from sot_builder import export
from sot_builder.cli import main
from sot_builder.config import load_config
from sot_builder.model import Document, Entry, Field, Ref
from sot_builder.project import Project
from sot_builder.registry import build_registry
from tests.export.helpers import make_project

HOSTILE = ("'); DROP TABLE entries; --", 'quote \' and "double"', "nul\x00byte", "emoji 🚀✓",
           "line\nbreak", "tab\there", "back\\slash")


def rows_of(con: sqlite3.Connection, table: str) -> list[tuple]:
    cols = ", ".join(export.TABLES[table])
    return con.execute(f"SELECT {cols} FROM {table} ORDER BY rowid").fetchall()


def sqlite_export(project, path: Path) -> sqlite3.Connection:
    export.export_sqlite(project, path)
    return sqlite3.connect(path)


def json_export(project) -> dict:
    out = io.StringIO()
    export.write_json(project, out)
    return json.loads(out.getvalue())


def synthetic(tmp_path: Path, titles: list[str], values: list[str] | None = None) -> Project:
    """A project built from model values directly (no parsing): any text can be put in."""
    (tmp_path / "sotb.toml").write_text("[types]\nBR = {}\n", encoding="utf-8")
    config = load_config(tmp_path)
    registry = build_registry({"BR": {}}, tmp_path, "test")
    path = "SoT/SoT.BUSINESS_RULES.md"
    entries = []
    refs = []
    for n, title in enumerate(titles, start=1):
        ident = f"BR-{n:03d}"
        line = 10 * n
        value = values[n - 1] if values else title
        ref = Ref(target=f"BR-{n + 1:03d}", line=line + 2, column=1, kind="bare", source=ident, note=value)
        refs.append(ref)
        entries.append(Entry(id=ident, prefix="BR", subtype="", number=n, title=title, path=path,
                             line=line, column=4, end_line=line + 9, level=2, anchor=ident.lower(),
                             fields=(Field("Status", "Active", line + 1, 1), Field("Note", value, line + 3, 1)),
                             refs=(ref,)))
    doc = Document(path=path, role="sot", lines=("",) * (10 * len(titles) + 10), entries=tuple(entries),
                   refs=tuple(refs), sha="0" * 32)
    return Project(config=config, registry=registry, documents=[doc])


def test_sqlite_and_json_exports_have_the_same_entry_and_reference_counts(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    con = sqlite_export(project, tmp_path / "out.sqlite")
    data = json_export(project)
    for table in ("entries", "refs", "fields", "files", "version_history"):
        count = con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        assert count == len(data["tables"][table]), table
    assert len(data["tables"]["entries"]) == len(project.entries()) == 3
    assert len(data["tables"]["refs"]) == sum(1 for d in project.documents for r in d.refs if r.target) == 5


def test_sqlite_export_is_one_consistent_versioned_database(tmp_path: Path) -> None:
    con = sqlite_export(make_project(tmp_path / "p"), tmp_path / "out.sqlite")
    assert con.execute("PRAGMA user_version").fetchone()[0] == export.SCHEMA_VERSION
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    con.execute("PRAGMA foreign_keys = ON")
    with pytest.raises(sqlite3.IntegrityError):
        con.execute("INSERT INTO fields (entry_key, entry_id, name, value, section, file, line, column) "
                    "VALUES (999, 'X', 'n', 'v', '', 'SoT/SoT.BUSINESS_RULES.md', 1, 1)")


def test_entries_refs_fields_and_history_rows(tmp_path: Path) -> None:
    con = sqlite_export(make_project(tmp_path / "p"), tmp_path / "out.sqlite")
    entries = con.execute("SELECT id, prefix, number, title, status, file, line FROM entries").fetchall()
    assert entries == [
        ("BR-001", "BR", 1, "Refund window", "Active", "SoT/SoT.BUSINESS_RULES.md", 3),
        ("BR-002", "BR", 2, "'); DROP TABLE entries; --", "Draft", "SoT/SoT.BUSINESS_RULES.md", 20),
        ("PIC-001", "PIC", 1, "Stripe", "Active", "SoT/SoT.PARTNER_INTEGRATIONS.md", 3),
    ]
    refs = con.execute("SELECT source, target, relation, resolved, line, column FROM refs "
                       "WHERE source = 'BR-001' ORDER BY line, column").fetchall()
    assert refs == [("BR-001", "PIC-001", "", 1, 8, 10), ("BR-001", "BR-002", "", 1, 8, 68),
                    ("BR-001", "PIC-001", "affected-by", 1, 11, 3)]
    assert con.execute("SELECT value FROM fields WHERE entry_id = 'BR-002' AND name = 'Note'").fetchone() == (
        "O'Brien said \"hi\" 🚀 — ✓",)
    history = con.execute("SELECT entry_id, version, date, changes, author, line FROM version_history").fetchall()
    assert history == [("BR-001", "1.0", "2025-01-10", "Initial creation", "Product Team", 17),
                       ("BR-001", "1.1", "2025-02-10", "Window to 30 days", "Billing", 18),
                       (None, "1.0", "2025-01-01", "File created", "", 31)]


def test_views(tmp_path: Path) -> None:
    con = sqlite_export(make_project(tmp_path / "p"), tmp_path / "out.sqlite")
    assert con.execute("SELECT source, target, line FROM broken_refs").fetchall() == [("BR-002", "PIC-009", 25)]
    # BR-001 is affected by PIC-001 (a relation that wants a back-reference) and PIC-001 links back
    assert con.execute("SELECT * FROM missing_backrefs").fetchall() == []
    con.execute("DELETE FROM refs WHERE source = 'PIC-001'")
    assert con.execute("SELECT source, target, relation, expected_relation FROM missing_backrefs").fetchall() == [
        ("BR-001", "PIC-001", "affected-by", "affects")]
    index = con.execute("SELECT prefix, entries, first_number, last_number, next_number FROM id_index").fetchall()
    assert index == [("BR", 2, 1, 2, 3), ("PIC", 1, 1, 1, 2)]


def test_sql_dump_rebuilds_the_same_database_and_is_deterministic(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    first, second = io.StringIO(), io.StringIO()
    export.write_sql(project, first)
    export.write_sql(make_project(tmp_path / "p"), second)
    assert first.getvalue() == second.getvalue()
    assert first.getvalue().count("\nINSERT INTO entries ") == 3
    rebuilt = sqlite3.connect(":memory:")
    rebuilt.executescript(first.getvalue())
    original = sqlite_export(project, tmp_path / "out.sqlite")
    for table in export.TABLES:
        assert rows_of(rebuilt, table) == rows_of(original, table), table
    assert rebuilt.execute("PRAGMA user_version").fetchone()[0] == export.SCHEMA_VERSION
    assert rebuilt.execute("SELECT COUNT(*) FROM broken_refs").fetchone()[0] == 1


def test_hostile_text_round_trips_through_every_format(tmp_path: Path) -> None:
    project = synthetic(tmp_path, list(HOSTILE))
    con = sqlite_export(project, tmp_path / "out.sqlite")
    assert [r[0] for r in con.execute("SELECT title FROM entries ORDER BY entry_key")] == list(HOSTILE)
    assert [r[0] for r in con.execute("SELECT value FROM fields WHERE name = 'Note' ORDER BY entry_key")] == list(
        HOSTILE)
    assert con.execute("SELECT name FROM sqlite_master WHERE name = 'entries'").fetchone() == ("entries",)

    dump = io.StringIO()
    export.write_sql(project, dump)
    assert "\x00" not in dump.getvalue()
    assert all(line.endswith(";") for line in dump.getvalue().splitlines() if line.startswith("INSERT"))
    rebuilt = sqlite3.connect(":memory:")
    rebuilt.executescript(dump.getvalue())
    for table in export.TABLES:
        assert rows_of(rebuilt, table) == rows_of(con, table), table

    data = json_export(project)
    assert [e["title"] for e in data["tables"]["entries"]] == list(HOSTILE)

    export.export_csv(project, tmp_path / "csv")
    with open(tmp_path / "csv" / "entries.csv", encoding="utf-8", newline="") as fh:
        titles = [row["title"] for row in csv.DictReader(fh)]
    assert titles == list(HOSTILE)


def test_sql_literal() -> None:
    assert export.sql_literal(None) == "NULL"
    assert export.sql_literal(7) == "7"
    assert export.sql_literal("it's") == "'it''s'"
    assert export.sql_literal("a\x00b") == "CAST(X'610062' AS TEXT)"


def test_csv_writes_one_file_per_table_with_a_header(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    written = export.export_csv(project, tmp_path / "csv")
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == sorted(f"{t}.csv" for t in export.TABLES)
    with open(tmp_path / "csv" / "refs.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == export.TABLES["refs"]
    assert len(rows) - 1 == written["refs"] == 5


def test_text_formats_stream_rows_as_they_are_produced(tmp_path: Path, monkeypatch) -> None:
    project = synthetic(tmp_path, [f"Rule {n}" for n in range(1, 201)])
    produced = {"entries": 0}
    real = export.table_rows

    def counting(p, table):
        for row in real(p, table):
            if table == "entries":
                produced["entries"] += 1
            yield row

    monkeypatch.setattr(export, "table_rows", counting)
    seen_at_first_write: list[int] = []

    class Probe(io.StringIO):
        def write(self, s: str) -> int:
            if '"entries"' in s or s.startswith("INSERT INTO entries"):
                seen_at_first_write.append(produced["entries"])
            return super().write(s)

    export.write_sql(project, Probe())
    assert seen_at_first_write[0] == 1 and seen_at_first_write[-1] == 200
    seen_at_first_write.clear()
    produced["entries"] = 0
    export.write_json(project, Probe())
    assert seen_at_first_write[0] == 0  # the table's opening is written before any row is made


@pytest.mark.slow
def test_100k_entries_export_without_holding_the_sql_text(tmp_path: Path) -> None:
    import resource

    project = synthetic(tmp_path, [f"Rule number {n}" for n in range(1, 100_001)])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with open(tmp_path / "dump.sql", "w", encoding="utf-8") as out:
        written = export.write_sql(project, out)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    size = (tmp_path / "dump.sql").stat().st_size
    assert written["entries"] == 100_000
    assert size > 50_000_000
    # the text is written as it is produced: the peak grows by an index of the
    # entries at most, never by the size of the text
    assert grown < size / 2
    counts = export.export_sqlite(project, tmp_path / "big.sqlite")
    assert counts["entries"] == 100_000 and counts["refs"] == 100_000


def test_export_command(tmp_path: Path, capsys) -> None:
    make_project(tmp_path / "p")
    out = tmp_path / "out.sqlite"
    assert main(["export", str(tmp_path / "p"), "-o", str(out)]) == 0
    assert sqlite3.connect(out).execute("SELECT COUNT(*) FROM entries").fetchone() == (3,)
    capsys.readouterr()
    assert main(["export", str(tmp_path / "p"), "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["tables"]["entries"]) == 3
    assert main(["export", str(tmp_path / "p"), "--format", "sql", "-o", str(tmp_path / "d.sql")]) == 0
    assert (tmp_path / "d.sql").read_text(encoding="utf-8").startswith("-- sotb export")
    assert main(["export", str(tmp_path / "p"), "--format", "csv"]) == 2
    assert "needs an output path" in capsys.readouterr().err


def test_export_replaces_an_existing_database_atomically(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    out = tmp_path / "out.sqlite"
    out.write_bytes(b"not a database")
    out.chmod(0o640)
    export.export_sqlite(project, out)
    assert out.stat().st_mode & 0o777 == 0o640
    assert sqlite3.connect(out).execute("SELECT COUNT(*) FROM entries").fetchone() == (3,)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".sotb-tmp")] == []


def test_the_repository_registry_exports_the_same_counts_to_sqlite_and_json(tmp_path: Path) -> None:
    from sot_builder.project import load_project

    repo = Path(__file__).resolve().parents[2]
    if not (repo / "sotb.toml").is_file() or not (repo / "SoT").is_dir():
        pytest.skip("the repository has no registry of its own")
    project = load_project(load_config(repo), use_cache=False)
    assert project.entries(), "the repository registry defines no entries"
    con = sqlite_export(project, tmp_path / "repo.sqlite")
    data = json_export(project)
    for table in ("entries", "refs"):
        count = con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        assert count == len(data["tables"][table]) > 0, table

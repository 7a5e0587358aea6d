"""open_store: URL forms, SQLite files and clear errors instead of tracebacks."""

from __future__ import annotations

import socket
import sqlite3
import sys
from pathlib import Path

import pytest

from sot_builder.diagnostics import SotbError
from sot_builder.reserve import (
    SCHEMA_VERSION,
    SqliteStore,
    next_number,
    open_store,
    redact_url,
    store_url,
)


@pytest.mark.parametrize(
    ("used", "expected"),
    [((), 1), ((1, 2, 3), 4), ((1, 5), 6), ((3,), 4), ((0, 1000), 1), ((9,), None)],
)
def test_next_number(used: tuple[int, ...], expected: int | None) -> None:
    assert next_number(1, 9, used) == expected


def test_sqlite_url_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    cases: list[tuple[str | Path, Path]] = [
        (f"sqlite:///{tmp_path}/abs.db", tmp_path / "abs.db"),
        ("sqlite:///rel.db", Path("rel.db")),
        ("sub/bare.db", Path("sub/bare.db")),
        (tmp_path / "pathlike.db", tmp_path / "pathlike.db"),
    ]
    for url, expected in cases:
        with open_store(url) as store:
            assert isinstance(store, SqliteStore)
            assert store.path == expected
            store.reserve("PIC", 1, 9)
        assert expected.is_file()


def test_relative_paths_are_taken_from_base(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".sotb").mkdir(parents=True)
    for url, name in [("sqlite:///.sotb/ids.db", ".sotb/ids.db"), ("bare.db", "bare.db")]:
        with open_store(url, base=project) as store:
            store.reserve("PIC", 1, 9)
        assert (project / name).is_file()


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SotbError, match="folder for the reservation store does not exist"):
        open_store(tmp_path / "nope" / "ids.db")


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "ids.db"
    junk.write_text("not a database\n" * 100)
    with pytest.raises(SotbError, match="cannot create the tables of reservation store"):
        open_store(junk)


@pytest.mark.parametrize("url", ["mysql://x@host/db", "sqlite://", "sqlite:///", "  "])
def test_unsupported_urls(url: str) -> None:
    with pytest.raises(SotbError):
        open_store(url)


def test_schema_is_created_with_a_version_row(tmp_path: Path) -> None:
    open_store(tmp_path / "ids.db").close()
    with sqlite3.connect(tmp_path / "ids.db") as conn:
        version = conn.execute("SELECT value FROM sotb_meta WHERE key = 'schema_version'")
        assert version.fetchall() == [(str(SCHEMA_VERSION),)]
        columns = [row[1] for row in conn.execute("PRAGMA table_info(sotb_reservations)")]
    assert columns == ["prefix", "number", "who", "reserved_at"]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    open_store(tmp_path / "ids.db").close()
    with sqlite3.connect(tmp_path / "ids.db") as conn:
        conn.execute("UPDATE sotb_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SotbError, match="schema version 99 is newer"):
        open_store(tmp_path / "ids.db")


def test_who_and_time_are_recorded(tmp_path: Path) -> None:
    with open_store(tmp_path / "ids.db") as store:
        store.reserve("PIC", 1, 9, who="alice@laptop")
    with sqlite3.connect(tmp_path / "ids.db") as conn:
        rows = conn.execute("SELECT prefix, number, who, reserved_at FROM sotb_reservations")
        ((prefix, number, who, when),) = rows.fetchall()
    assert (prefix, number, who) == ("PIC", 1, "alice@laptop")
    assert when.endswith("+00:00")


def test_busy_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ids.db"
    open_store(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(SotbError, match="reservation store is busy"):
            SqliteStore(path, busy_timeout=0)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_missing_psycopg_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` fail
    with pytest.raises(SotbError, match=r"needs psycopg 3: pip install 'sotb\[postgres\]'"):
        open_store("postgresql://sotb@127.0.0.1/sotb")


def test_unreachable_server_is_a_clear_error() -> None:
    pytest.importorskip("psycopg")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SotbError, match="cannot connect to reservation store") as caught:
        open_store(f"postgresql://sotb:secret@127.0.0.1:{port}/sotb?connect_timeout=5")
    assert "secret" not in str(caught.value)


def test_redact_url() -> None:
    assert redact_url("postgresql://u:pw@h:5/db") == "postgresql://u:***@h:5/db"
    assert redact_url("postgresql://h/db?password=pw&x=1") == "postgresql://h/db?password=***&x=1"
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact_url("ids.db") == "ids.db"


def test_environment_wins_over_config() -> None:
    assert store_url("cfg.db", {"SOTB_RESERVATION_DB": "env.db"}) == "env.db"
    assert store_url("cfg.db", {}) == "cfg.db"
    assert store_url(None, {"SOTB_RESERVATION_DB": ""}) is None

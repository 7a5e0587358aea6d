"""PostgreSQL store: lost connections, retries and connection errors on a real server."""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from sot_builder.diagnostics import SotbError
from sot_builder.reserve import SCHEMA_VERSION, PostgresStore, open_store

psycopg = pytest.importorskip("psycopg")


def _backend_pid(store: Any) -> int:
    return int(store._conn.info.backend_pid)


def _wait_until_waiting_for_lock(admin: Any, pid: int) -> None:
    """Block until backend `pid` waits for an advisory lock (a state, not a duration)."""
    deadline = time.monotonic() + 60
    query = "SELECT count(*) FROM pg_locks WHERE pid = %s AND locktype = 'advisory' AND NOT granted"
    while admin.execute(query, (pid,)).fetchone()[0] == 0:
        assert time.monotonic() < deadline, "the second reservation never waited for the lock"
        time.sleep(0.01)


def test_open_store_with_postgres_urls(pg_url: str) -> None:
    for url in (pg_url, "postgres://" + pg_url.split("://", 1)[1]):
        with open_store(url) as store:
            assert isinstance(store, PostgresStore)


def test_schema_version_row(pg_url: str) -> None:
    open_store(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT value FROM sotb_meta WHERE key = 'schema_version'").fetchone()
    assert row == (str(SCHEMA_VERSION),)


def test_lost_connection_mid_transaction_leaves_no_row(
    pg_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(pg_url) as setup:
        for _ in range(3):
            setup.reserve(prefix, 1, 99)
        setup.release(prefix, 2)  # reserved {1, 3}: a gap that must stay a gap
    victim = PostgresStore(pg_url)
    other = PostgresStore(pg_url)
    admin = psycopg.connect(pg_url, autocommit=True)
    seen: dict[str, int] = {}

    def other_reserves() -> None:
        seen["other"] = other.reserve(prefix, 1, 99, who="other")

    thread = threading.Thread(target=other_reserves)
    real_insert = victim._insert

    def insert_then_lose_connection(cur: Any, prefix_: str, number: int, who: str) -> None:
        real_insert(cur, prefix_, number, who)
        seen["victim"] = number
        thread.start()  # queues behind the victim's lock on the prefix
        _wait_until_waiting_for_lock(admin, _backend_pid(other))
        # Wait (up to 10 s) until the victim's backend is gone, before it can commit.
        admin.execute("SELECT pg_terminate_backend(%s, 10000)", (_backend_pid(victim),))

    monkeypatch.setattr(victim, "_insert", insert_then_lose_connection)
    try:
        with pytest.raises(SotbError, match="lost the connection") as caught:
            victim.reserve(prefix, 1, 99, who="victim")
        assert "run the command again" in str(caught.value)
        thread.join(timeout=60)

        assert seen == {"victim": 4, "other": 4}
        rows = admin.execute(
            "SELECT number, who FROM sotb_reservations WHERE prefix = %s ORDER BY number",
            (prefix,),
        ).fetchall()
        assert rows == [(1, ""), (3, ""), (4, "other")]
        monkeypatch.undo()
        assert victim.reserve(prefix, 1, 99, who="victim") == 5  # reconnects
    finally:
        for store in (victim, other):
            store.close()
        admin.close()


def test_unique_violation_is_retried(
    pg_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that bypasses the lock takes our number: the next attempt goes above it."""
    with PostgresStore(pg_url) as store, psycopg.connect(pg_url, autocommit=True) as rogue:
        real_insert = store._insert
        calls: list[int] = []

        def insert_after_rogue(cur: Any, prefix_: str, number: int, who: str) -> None:
            if not calls:
                rogue.execute(
                    "INSERT INTO sotb_reservations (prefix, number) VALUES (%s, %s)",
                    (prefix_, number),
                )
            calls.append(number)
            real_insert(cur, prefix_, number, who)

        monkeypatch.setattr(store, "_insert", insert_after_rogue)

        assert store.reserve(prefix, 1, 99) == 2
        assert calls == [1, 2]
        assert store.reserved(prefix) == {1, 2}


def test_wrong_password_is_a_clear_error_without_the_password(pg_url: str) -> None:
    parts = urlsplit(pg_url)
    if not parts.password:
        pytest.skip("the test server URL has no password")
    bad = pg_url.replace(f":{parts.password}@", ":not-the-password@", 1)

    with pytest.raises(SotbError, match="cannot connect to reservation store") as caught:
        open_store(bad)
    assert "not-the-password" not in str(caught.value)
    assert ":***@" in str(caught.value)

"""Shared ID reservation store: hands out "highest used + 1" numbers per prefix.

Two branches that each add "the next" PIC entry would both pick PIC-042. A reservation
store sits outside git and hands out each number once: a SQLite file for one machine,
or a PostgreSQL database for a team and CI.

    with open_store("postgresql://sotb@db.example.org/sotb") as store:
        n = store.reserve("PIC", 1, 999, taken={1, 2, 3}, who="alice")

`reserve` never fills a gap: it returns the lowest number above everything used in
the range (numbers in the files *and* numbers reserved before), so a number that was
reserved and then abandoned is not handed out again.
"""

from __future__ import annotations

import os
import re
import sqlite3
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

from sot_builder.diagnostics import SotbError

SCHEMA_VERSION = 1
ENV_VAR = "SOTB_RESERVATION_DB"
TABLE = "sotb_reservations"
META_TABLE = "sotb_meta"

SQLITE_BUSY_TIMEOUT_S = 30.0
PG_CONNECT_TIMEOUT_S = 10
PG_LOCK_TIMEOUT_MS = 30_000
# A client that stalls inside a transaction loses its lock after this long.
PG_IDLE_IN_TRANSACTION_MS = 60_000
PG_RETRIES = 5

# Advisory lock key space: (class, key) pairs, the class marks the lock as ours.
_LOCK_CLASS_PREFIX = 0x50_49_43  # one lock per prefix
_LOCK_CLASS_SCHEMA = 0x50_49_44  # one lock for creating the tables


def next_number(first: int, last: int, used: Iterable[int]) -> int | None:
    """Lowest n in [first, last] above every used number in that range; None if full."""
    in_range = [n for n in used if first <= n <= last]
    n = max(in_range, default=first - 1) + 1
    return n if n <= last else None


def store_url(configured: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The store to use: $SOTB_RESERVATION_DB wins over the configured `reservation_db`."""
    return environ.get(ENV_VAR) or configured or None


def redact_url(url: str) -> str:
    """`url` with any password replaced by ***, fit for messages."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}:***@{hostinfo}"
    query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def open_store(url: str | os.PathLike[str], base: Path | None = None) -> ReservationStore:
    """Open (and on first use create) the store at `url`.

    `url` is `postgresql://...` / `postgres://...` (any libpq URI), `sqlite:///relative.db`,
    `sqlite:////absolute/path.db`, or a bare file path. Relative SQLite paths are taken
    from `base` when given (e.g. the project root), else from the working directory.
    """
    text = os.fspath(url).strip()
    if not text:
        raise SotbError("reservation store URL is empty")
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("postgresql", "postgres"):
        return PostgresStore(text)
    if scheme == "sqlite":
        return SqliteStore(_sqlite_path(text, base))
    if scheme:
        raise SotbError(
            f"unsupported reservation store URL {redact_url(text)!r}: "
            "use postgresql://..., sqlite:///file.db or a file path"
        )
    return SqliteStore(_resolve(Path(text), base))


def _sqlite_path(url: str, base: Path | None) -> Path:
    rest = url.split("://", 1)[1]
    if not rest.startswith("/") or rest == "/":
        raise SotbError(
            f"bad SQLite URL {url!r}: use sqlite:///relative.db or sqlite:////absolute/file.db"
        )
    return _resolve(Path(rest[1:]), base)


def _resolve(path: Path, base: Path | None) -> Path:
    path = path.expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    return path


def _check_request(prefix: str, first: int, last: int) -> None:
    if not prefix or prefix != prefix.strip():
        raise SotbError(f"bad ID prefix {prefix!r}")
    if first < 0 or last < first:
        raise SotbError(f"bad number range {prefix}-{first}..{last}")


def _full(prefix: str, first: int, last: int) -> SotbError:
    return SotbError(f"range {prefix}-{first}..{last} is full")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ReservationStore(ABC):
    """A table of (prefix, number, who, reserved_at) rows, unique on (prefix, number)."""

    url: str  # for messages; passwords redacted

    def reserve(
        self, prefix: str, first: int, last: int, taken: Iterable[int] = (), who: str = ""
    ) -> int:
        """Record and return the next number for `prefix` in [first, last].

        The number is the lowest one above every number in the range that is either in
        `taken` (used in the files) or already reserved: gaps are never filled. Numbers
        outside [first, last] are ignored, so category blocks (101..199) work. Pick, insert
        and commit happen in one transaction, serialised per prefix across processes.
        Raises SotbError("range PREFIX-first..last is full") when nothing is left.
        """
        _check_request(prefix, first, last)
        return self._reserve(prefix, first, last, frozenset(taken), who)

    @abstractmethod
    def _reserve(
        self, prefix: str, first: int, last: int, taken: frozenset[int], who: str
    ) -> int: ...

    @abstractmethod
    def reserved(self, prefix: str) -> set[int]:
        """All numbers reserved for `prefix`."""

    @abstractmethod
    def release(self, prefix: str, number: int) -> bool:
        """Forget one reservation; True if it existed.

        Only for a number that was never used in any file or branch. Releasing the
        highest reserved number lets the next `reserve` hand it out again; releasing a
        lower one only leaves a gap, which `reserve` never fills.
        """

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --- SQLite -------------------------------------------------------------------------

_SQLITE_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"INSERT INTO {META_TABLE} (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}')"
    " ON CONFLICT (key) DO NOTHING",
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
        prefix TEXT NOT NULL,
        number INTEGER NOT NULL CHECK (number >= 0),
        who TEXT NOT NULL DEFAULT '',
        reserved_at TEXT NOT NULL,
        PRIMARY KEY (prefix, number)
    )""",
)


class SqliteStore(ReservationStore):
    """A store in one SQLite file; BEGIN IMMEDIATE serialises writers on this machine."""

    def __init__(self, path: Path, busy_timeout: float = SQLITE_BUSY_TIMEOUT_S):
        self.path = path
        self.url = str(path)
        if not path.parent.is_dir():
            raise SotbError("folder for the reservation store does not exist", path=str(path))
        with self._errors("open"):
            # isolation_level=None: no implicit transactions, we issue BEGIN ourselves.
            self._conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        try:
            with self._errors("create the tables of"), self._immediate() as conn:
                for statement in _SQLITE_SCHEMA:
                    conn.execute(statement)
                row = conn.execute(
                    f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'"
                ).fetchone()
            _check_version(row[0] if row else None, self.url)
        except BaseException:
            self._conn.close()
            raise

    def _reserve(self, prefix: str, first: int, last: int, taken: frozenset[int], who: str) -> int:
        with self._errors("reserve a number in"), self._immediate() as conn:
            rows = conn.execute(
                f"SELECT number FROM {TABLE} WHERE prefix = ? AND number BETWEEN ? AND ?",
                (prefix, first, last),
            ).fetchall()
            n = next_number(first, last, taken.union(r[0] for r in rows))
            if n is None:
                raise _full(prefix, first, last)
            conn.execute(
                f"INSERT INTO {TABLE} (prefix, number, who, reserved_at) VALUES (?, ?, ?, ?)",
                (prefix, n, who, _now()),
            )
        return n

    def reserved(self, prefix: str) -> set[int]:
        with self._errors("read"):
            rows = self._conn.execute(
                f"SELECT number FROM {TABLE} WHERE prefix = ?", (prefix,)
            ).fetchall()
        return {r[0] for r in rows}

    def release(self, prefix: str, number: int) -> bool:
        with self._errors("release a number in"), self._immediate() as conn:
            cur = conn.execute(
                f"DELETE FROM {TABLE} WHERE prefix = ? AND number = ?", (prefix, number)
            )
        return cur.rowcount > 0

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE waits (busy timeout) for other writers."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise SotbError(
                    f"reservation store is busy (another sotb holds it): {e}", path=self.url
                ) from None
            raise SotbError(f"cannot {action} reservation store: {e}", path=self.url) from None
        except sqlite3.Error as e:
            raise SotbError(f"cannot {action} reservation store: {e}", path=self.url) from None


def _check_version(value: object, where: str) -> None:
    try:
        version = int(str(value))
    except ValueError:
        raise SotbError(
            f"reservation store has no valid schema version ({value!r})", path=where
        ) from None
    if version > SCHEMA_VERSION:
        raise SotbError(
            f"reservation store schema version {version} is newer than this sotb "
            f"understands ({SCHEMA_VERSION}); upgrade sotb",
            path=where,
        )


# --- PostgreSQL ---------------------------------------------------------------------

_PG_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key text PRIMARY KEY, value text NOT NULL)",
    f"INSERT INTO {META_TABLE} (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}')"
    " ON CONFLICT (key) DO NOTHING",
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
        prefix text NOT NULL,
        number integer NOT NULL CHECK (number >= 0),
        who text NOT NULL DEFAULT '',
        reserved_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (prefix, number)
    )""",
)


def _import_psycopg() -> ModuleType:
    try:
        import psycopg  # noqa: PLC0415 - optional dependency, imported on use
    except ImportError:
        raise SotbError(
            "a PostgreSQL reservation store needs psycopg 3: pip install 'sotb[postgres]'"
        ) from None
    return psycopg


def _lock_key(prefix: str) -> int:
    """A stable signed 32-bit key for the per-prefix advisory lock."""
    key = zlib.crc32(prefix.encode("utf-8"))
    return key - (1 << 32) if key >= (1 << 31) else key


class PostgresStore(ReservationStore):
    """A store in a PostgreSQL database, shared by a team and CI.

    Each reservation takes a transaction-level advisory lock on its prefix, so pick +
    insert + commit run one at a time per prefix; a unique violation or serialization
    failure (e.g. a writer that does not take the lock) is retried.
    """

    def __init__(self, url: str):
        self.url = redact_url(url)
        self._pg = _import_psycopg()
        self._params = self._conn_params(url)
        self._conn: Any = None
        try:
            self._connect()
            self._init_schema()
        except BaseException:
            self.close()
            raise

    def _conn_params(self, url: str) -> dict[str, Any]:
        try:
            params: dict[str, Any] = self._pg.conninfo.conninfo_to_dict(url)
        except self._pg.Error as e:
            raise SotbError(f"bad PostgreSQL URL {self.url!r}: {e}") from None
        params.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
        params.setdefault("application_name", "sotb")
        timeouts = (
            f"-c lock_timeout={PG_LOCK_TIMEOUT_MS} "
            f"-c idle_in_transaction_session_timeout={PG_IDLE_IN_TRANSACTION_MS}"
        )
        params["options"] = f"{params.get('options', '')} {timeouts}".strip()
        return params

    def _connect(self) -> Any:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        self.close()
        try:
            self._conn = self._pg.connect(**self._params, autocommit=True)
        except self._pg.Error as e:
            raise SotbError(
                f"cannot connect to reservation store {self.url}: {_first_line(e)}"
            ) from None
        return self._conn

    def _init_schema(self) -> None:
        with self._errors("create the tables of"):
            conn = self._connect()
            with conn.transaction(), conn.cursor() as cur:
                # Creating tables needs CREATE rights; skip when they are already there.
                cur.execute("SELECT to_regclass(%s), to_regclass(%s)", (META_TABLE, TABLE))
                if None in cur.fetchone():
                    cur.execute("SELECT pg_advisory_xact_lock(%s, 0)", (_LOCK_CLASS_SCHEMA,))
                    for statement in _PG_SCHEMA:
                        cur.execute(statement)
                cur.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'")
                row = cur.fetchone()
        _check_version(row[0] if row else None, self.url)

    def _reserve(self, prefix: str, first: int, last: int, taken: frozenset[int], who: str) -> int:
        errors = self._pg.errors
        retryable = (errors.UniqueViolation, errors.SerializationFailure, errors.DeadlockDetected)
        for attempt in range(PG_RETRIES):
            try:
                with self._errors(f"reserve a {prefix} number in"):
                    return self._reserve_once(prefix, first, last, taken, who)
            except SotbError as e:
                if attempt + 1 < PG_RETRIES and isinstance(e.__cause__, retryable):
                    continue
                raise
        raise AssertionError("unreachable")

    def _reserve_once(
        self, prefix: str, first: int, last: int, taken: frozenset[int], who: str
    ) -> int:
        conn = self._connect()
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS_PREFIX, _lock_key(prefix))
            )
            cur.execute(
                f"SELECT number FROM {TABLE} WHERE prefix = %s AND number BETWEEN %s AND %s",
                (prefix, first, last),
            )
            n = next_number(first, last, taken.union(r[0] for r in cur.fetchall()))
            if n is None:
                raise _full(prefix, first, last)
            self._insert(cur, prefix, n, who)
        return n

    def _insert(self, cur: Any, prefix: str, number: int, who: str) -> None:
        cur.execute(
            f"INSERT INTO {TABLE} (prefix, number, who) VALUES (%s, %s, %s)",
            (prefix, number, who),
        )

    def reserved(self, prefix: str) -> set[int]:
        with self._errors("read"):
            rows = (
                self._connect()
                .execute(f"SELECT number FROM {TABLE} WHERE prefix = %s", (prefix,))
                .fetchall()
            )
        return {r[0] for r in rows}

    def release(self, prefix: str, number: int) -> bool:
        with self._errors("release a number in"):
            cur = self._connect().execute(
                f"DELETE FROM {TABLE} WHERE prefix = %s AND number = %s", (prefix, number)
            )
        return bool(cur.rowcount)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn driver errors into SotbError; the driver error stays as __cause__."""
        pg = self._pg
        try:
            yield
        except pg.errors.LockNotAvailable as e:
            raise SotbError(
                f"reservation store {self.url} is busy: timed out waiting for a lock"
            ) from e
        except pg.OperationalError as e:
            if self._conn is None or self._conn.broken or self._conn.closed:
                raise SotbError(
                    f"lost the connection to reservation store {self.url} "
                    f"({_first_line(e)}); nothing was handed out, run the command again"
                ) from e
            raise SotbError(
                f"cannot {action} reservation store {self.url}: {_first_line(e)}"
            ) from e
        except pg.Error as e:
            raise SotbError(
                f"cannot {action} reservation store {self.url}: {_first_line(e)}"
            ) from e


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__

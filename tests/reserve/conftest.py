"""Fixtures for the reservation store: a throwaway PostgreSQL server and unique prefixes.

`pg_url` is $SOTB_TEST_POSTGRES_URL when set; otherwise a cluster made with initdb in a
temporary folder, listening on 127.0.0.1 on a free port, stopped at the end of the
session. Without PostgreSQL binaries the PostgreSQL tests are skipped, or fail when
$SOTB_REQUIRE_POSTGRES is set (CI).
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PG_TOOLS = ("initdb", "pg_ctl", "postgres")
TEST_DB = "sotb_test"
TEST_ROLE = "sotb"


def find_pg_tools() -> dict[str, str] | None:
    """Paths of initdb, pg_ctl and postgres: on PATH, else the newest Debian install."""
    on_path = {tool: shutil.which(tool) for tool in PG_TOOLS}
    if all(on_path.values()):
        return {tool: str(path) for tool, path in on_path.items()}
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True):
        paths = {tool: os.path.join(bindir, tool) for tool in PG_TOOLS}
        if all(os.access(p, os.X_OK) for p in paths.values()):
            return paths
    return None


def _version(bindir: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bindir))


@dataclass(frozen=True)
class RunAs:
    """Who runs the server: postgres refuses to run as root."""

    uid: int
    gid: int

    @classmethod
    def for_server(cls) -> RunAs | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue
            return cls(entry.pw_uid, entry.pw_gid)
        raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL")

    def kwargs(self) -> dict[str, Any]:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """A PostgreSQL cluster in a temporary folder."""

    def __init__(self, tools: dict[str, str]):
        self.tools = tools
        self.run_as = RunAs.for_server()
        self.root = Path(tempfile.mkdtemp(prefix="sotb-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.password = secrets.token_hex(12)
        self.port = 0
        if self.run_as:
            os.chown(self.root, self.run_as.uid, self.run_as.gid)

    def run(self, *args: str) -> None:
        extra = self.run_as.kwargs() if self.run_as else {}
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        done = subprocess.run(
            args, cwd=self.root, env=env, capture_output=True, text=True, check=False, **extra
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}{log}"
            )

    def init(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.run_as:
            os.chown(pwfile, self.run_as.uid, self.run_as.gid)
        self.run(
            self.tools["initdb"], "-D", str(self.data), "-U", TEST_ROLE,
            f"--pwfile={pwfile}", "--auth=scram-sha-256", "--locale=C", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        pwfile.unlink()

    def start(self) -> None:
        for _ in range(3):  # another process may grab the free port first
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                "-c fsync=off -c full_page_writes=off"
            )
            try:
                self.run(
                    self.tools["pg_ctl"], "start", "-w", "-t", "60", "-D", str(self.data),
                    "-l", str(self.log), "-o", options,
                )  # fmt: skip
                return
            except RuntimeError:
                if "could not bind" not in self.log.read_text(errors="replace"):
                    raise
        raise RuntimeError(f"PostgreSQL could not bind a free port:\n{self.log.read_text()}")

    def url(self, database: str) -> str:
        return f"postgresql://{TEST_ROLE}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {TEST_DB}")

    def stop(self) -> None:
        if self.port and (self.data / "postmaster.pid").exists():
            self.run(self.tools["pg_ctl"], "stop", "-w", "-m", "fast", "-D", str(self.data))
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a PostgreSQL database the tests may create tables in."""
    external = os.environ.get("SOTB_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed")
    tools = find_pg_tools()
    if tools is None:
        reason = (
            "no PostgreSQL binaries (initdb, pg_ctl, postgres) on PATH or under "
            "/usr/lib/postgresql/*/bin; install postgresql or set SOTB_TEST_POSTGRES_URL"
        )
        if os.environ.get("SOTB_REQUIRE_POSTGRES"):
            pytest.fail(reason)
        pytest.skip(reason)
    server = LocalServer(tools)
    try:
        server.init()
        server.start()
        server.create_database()
        yield server.url(TEST_DB)
    finally:
        server.stop()


@pytest.fixture
def prefix() -> str:
    """A prefix no other test uses, so tests can share one database."""
    return "T" + uuid.uuid4().hex[:8].upper()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same behaviour tests run against both back ends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'reservations.db'}"
    return str(request.getfixturevalue("pg_url"))

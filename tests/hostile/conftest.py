"""Hang guard and fuzzing budget for the hostile-input suite.

The normal suite runs a small hypothesis budget. The long fuzz mode runs many
more examples and is started by hand, never in CI:

    SOTB_FUZZ_EXAMPLES=10000 python -m pytest tests/hostile -m fuzz

`SOTB_FUZZ_EXAMPLES` sets the examples of each fuzz test (default 25); the
`fuzz` marker selects the fuzz tests. In the long mode the hang guard is off.
"""

from __future__ import annotations

import os
import signal

import pytest

from ._support import make_project

DEFAULT_EXAMPLES = 25
LONG_MODE_MIN = 1000
HANG_SECONDS = 300  # an in-process case still running after this long is a hang


def fuzz_examples() -> int:
    try:
        return max(1, int(os.environ.get("SOTB_FUZZ_EXAMPLES", DEFAULT_EXAMPLES)))
    except ValueError:
        return DEFAULT_EXAMPLES


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fuzz: hypothesis fuzzing; SOTB_FUZZ_EXAMPLES=10000 is the long mode (tests/hostile)",
    )


class Hang(BaseException):
    """Raised by the alarm: a BaseException, so sotb's own error handling cannot swallow it."""


@pytest.fixture(autouse=True)
def hang_guard():
    """Fail a test that runs far longer than any case should, instead of blocking the suite."""
    if not hasattr(signal, "SIGALRM") or fuzz_examples() >= LONG_MODE_MIN:
        yield
        return

    def alarm(signum, frame):
        raise Hang(f"still running after {HANG_SECONDS} s: a hang")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A small registry to work in, as the working folder, with a fixed date."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1736467200")
    monkeypatch.delenv("SOTB_RESERVATION_DB", raising=False)
    root = make_project(tmp_path / "project")
    (root / ".git").mkdir()  # the search for a configuration stops here
    monkeypatch.chdir(root)
    return root

"""Hang guard and fuzzing budget for the hostile-input suite.

The normal suite runs a small hypothesis budget. The long fuzz mode runs many
more examples and is started by hand, never in CI:

    SOTB_FUZZ_EXAMPLES=10000 python -m pytest tests/hostile -m fuzz_long -p no:cacheprovider

`SOTB_FUZZ_EXAMPLES` sets the examples per fuzz test (default 25); tests
marked `fuzz_long` run only when it is set to 1000 or more.
"""

from __future__ import annotations

import os
import signal

import pytest

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
        "markers", "fuzz_long: long fuzzing run; only with SOTB_FUZZ_EXAMPLES >= 1000 (see tests/hostile/conftest.py)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if fuzz_examples() >= LONG_MODE_MIN:
        return
    skip = pytest.mark.skip(reason=f"long fuzz mode: set SOTB_FUZZ_EXAMPLES >= {LONG_MODE_MIN}")
    for item in items:
        if "fuzz_long" in item.keywords:
            item.add_marker(skip)


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

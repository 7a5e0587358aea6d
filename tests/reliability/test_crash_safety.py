"""SIGKILL `sotb sync` and `sotb add` at random moments on a large registry.

After every kill each SoT file must be one whole version: the old bytes or a
version an uninterrupted run writes, never truncated or mixed. The next run
must then succeed (the fcntl lock died with the killed process), finish the
work and leave no temp files behind.

Half of the kills wait until a temp file shows up in the SoT folder (a write
is under way) and strike a few milliseconds later; the others strike at a
random time in the run.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from sot_builder.config import load_config
from sot_builder.parse import parse_document

from ._registry import (
    allowed_versions,
    check_versions,
    copy_registry,
    generate_registry,
    record_writes,
    snapshot,
    start,
    wait_for_temp,
)

pytestmark = pytest.mark.slow

KILLS = 3
STARTUP = 0.5  # seconds a sotb process spends starting before it reads the registry
PIC = "SoT/SoT.PARTNER_INTEGRATIONS.md"
TITLE = "Crash Test Partner"
CATEGORY = "Compliance"  # the generated registry fills the first categories


@pytest.fixture(scope="module")
def registries(tmp_path_factory) -> dict[str, Path]:
    """A freshly generated registry (sync has work to do) and a synced copy of it."""
    base = tmp_path_factory.mktemp("big")
    fresh = generate_registry(base / "fresh", entries=2000, files=5)
    synced = copy_registry(fresh, base / "synced")
    from sot_builder.sync import sync_project

    sync_project(load_config(synced), write=True)
    return {"fresh": fresh, "synced": synced}


def _temps(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.name.endswith((".sotb-tmp", ".tmp")))


def _kill_loop(
    source: Path,
    work: Path,
    args: tuple[str, ...],
    allowed: dict[str, set[bytes]],
    duration: float,
    rng: random.Random,
    recover,
) -> tuple[list[str], int]:
    """Kill `sotb ARGS` KILLS times; returns (problems, kills that struck during a write)."""
    problems: list[str] = []
    mid_write = 0
    for i in range(KILLS):
        copy_registry(source, work)
        proc = start(work, *args)
        if i % 2 == 0:
            if wait_for_temp(work / "SoT", proc, limit=duration * 3 + 10):
                time.sleep(rng.uniform(0, 0.01))
                mid_write += proc.poll() is None
        else:
            time.sleep(rng.uniform(0.1, 1.1) * duration)
        proc.kill()
        proc.wait()
        problems += check_versions(work, allowed, f"kill {i}")
        recover(work, i)
    return problems, mid_write


def test_a_killed_sync_leaves_whole_files_and_the_next_sync_recovers(
    registries, tmp_path, monkeypatch
):
    from sot_builder.sync import sync_project

    fresh = registries["fresh"]
    before = snapshot(fresh)
    reference = copy_registry(fresh, tmp_path / "reference")
    began = time.monotonic()
    writes = record_writes(
        lambda: sync_project(load_config(reference), write=True), monkeypatch, reference
    )
    duration = time.monotonic() - began + STARTUP
    final = snapshot(reference)
    assert len(writes) >= 5  # every SoT file gets its generated regions
    allowed = allowed_versions(before, writes)

    def recover(work: Path, i: int) -> None:
        sync_project(load_config(work), write=True)  # takes the lock the killed process held
        assert snapshot(work) == final, f"kill {i}: the next sync did not finish the work"
        assert _temps(work) == [], f"kill {i}"

    problems, mid_write = _kill_loop(
        fresh, tmp_path / "work", ("sync",), allowed, duration, random.Random(11), recover
    )
    assert problems == []
    assert mid_write >= 1, "no kill struck while a file was being written"


def test_a_killed_add_leaves_whole_files_and_the_next_add_recovers(
    registries, tmp_path, monkeypatch
):
    from sot_builder.scaffold import add_entry
    from sot_builder.sync import sync_project

    synced = registries["synced"]
    before = snapshot(synced)
    reference = copy_registry(synced, tmp_path / "reference")
    began = time.monotonic()

    def run() -> None:
        add_entry(load_config(reference), "PIC", TITLE, CATEGORY, today="2025-01-10")

    writes = record_writes(run, monkeypatch, reference)
    duration = time.monotonic() - began + STARTUP
    assert PIC in writes
    allowed = allowed_versions(before, writes)
    count = _pic_entries(before[PIC])

    def recover(work: Path, i: int) -> None:
        config = load_config(work)
        interrupted = snapshot(work) != before  # the killed run wrote something
        result = add_entry(
            config, "PIC", TITLE, CATEGORY, today="2025-01-10"
        )  # takes the freed lock
        assert _temps(work) == [], f"kill {i}"
        ids = [e.id for e in parse_document((work / PIC).read_bytes(), PIC).entries]
        assert len(ids) == len(set(ids)), f"kill {i}: duplicate IDs"
        assert len(ids) - count in (1, 2), f"kill {i}: {len(ids) - count} entries added"
        assert result.id in ids
        if interrupted:
            pending = sync_project(config, write=False).changes
            assert pending == (), f"kill {i}: the registry is not consistent after the next add"

    args = ("add", "PIC", "--title", TITLE, "--category", CATEGORY)
    problems, mid_write = _kill_loop(
        synced, tmp_path / "work", args, allowed, duration, random.Random(12), recover
    )
    assert problems == []
    assert mid_write >= 1, "no kill struck while a file was being written"


def _pic_entries(data: bytes) -> int:
    return len(parse_document(data, PIC).entries)

"""Several sotb processes at once: `add` mixed with `sync` and `lint`, and readers during a sync."""

from __future__ import annotations

import json
import time

import pytest

from sot_builder.config import load_config
from sot_builder.parse import parse_document
from tests.hostile._support import ENTRY, PIC_FILE, make_project, pic_file

from ._registry import (
    allowed_versions,
    copy_registry,
    finish,
    generate_registry,
    record_writes,
    snapshot,
    start,
)

pytestmark = pytest.mark.slow

ADDS = 6


def _bad_output(out: str, err: str) -> str:
    text = out + err
    return text if ("Traceback" in text or "internal error" in text) else ""


def test_parallel_adds_mixed_with_sync_and_lint_give_distinct_ids(tmp_path):
    second = ENTRY.replace("PIC-001", "PIC-002").replace("Stripe Payment Processing", "Adyen")
    root = make_project(tmp_path / "p", {PIC_FILE: pic_file(ENTRY + "\n" + second)})
    procs = []
    for i in range(ADDS):
        procs.append(("add", start(root, "add", "PIC", "--title", f"Parallel Partner {i}")))
        if i % 3 == 0:
            procs.append(("sync", start(root, "sync")))
        if i % 3 == 1:
            procs.append(("lint", start(root, "lint", "--format", "json")))
    ids = []
    for kind, proc in procs:
        code, out, err = finish(proc)
        assert not _bad_output(out, err), (kind, out, err)
        if kind == "add":
            assert code == 0, err
            ids.append(out.strip())
        elif kind == "sync":
            assert code == 0, err
        else:
            assert code in (0, 1), err
            codes = {p["code"] for p in json.loads(out)}
            assert not {c for c in codes if c.startswith("SOT00")}, out  # never a half-written file
    assert len(ids) == ADDS and len(set(ids)) == ADDS, ids
    doc = parse_document((root / PIC_FILE).read_bytes(), PIC_FILE)
    titles = {e.id: e.title for e in doc.entries}
    assert len(titles) == len(doc.entries) == ADDS + 2  # no duplicate, none lost
    assert sorted(titles[i] for i in ids) == sorted(f"Parallel Partner {i}" for i in range(ADDS))
    assert not list(root.rglob("*.sotb-tmp"))
    code, out, err = finish(start(root, "sync", "--check"))
    assert code == 0, out + err


def test_readers_during_a_sync_see_only_whole_files(tmp_path, monkeypatch):
    from sot_builder.sync import sync_project

    fresh = generate_registry(tmp_path / "fresh", entries=1000, files=5)
    before = snapshot(fresh)
    reference = copy_registry(fresh, tmp_path / "reference")
    writes = record_writes(
        lambda: sync_project(load_config(reference), write=True), monkeypatch, reference
    )
    allowed = allowed_versions(before, writes)
    work = copy_registry(fresh, tmp_path / "work")

    sync = start(work, "sync")
    lints = []
    reads = 0
    torn = []
    began = time.monotonic()
    while sync.poll() is None:
        if len(lints) < 2 and time.monotonic() - began > 0.3 * (len(lints) + 1):
            lints.append(start(work, "lint", "--no-cache", "--format", "json"))
        for rel, old in before.items():
            try:
                data = (work / rel).read_bytes()
            except FileNotFoundError:  # never: os.replace swaps the name atomically
                torn.append(f"{rel} missing")
                continue
            reads += 1
            if data not in allowed[rel]:
                torn.append(f"{rel}: {len(data)} bytes")
    code, _, err = finish(sync)
    assert code == 0, err
    assert torn == []
    assert reads > len(before)  # the readers ran while sync worked
    assert snapshot(work) == snapshot(reference)
    for proc in lints:
        code, out, err = finish(proc)
        assert code in (0, 1) and not _bad_output(out, err), err
        codes = {p["code"] for p in json.loads(out)}
        assert not {c for c in codes if c.startswith("SOT00")}, out

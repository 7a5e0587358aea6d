"""20 `sotb add` processes at once: 20 distinct IDs, no entry lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sot_builder.parse import parse_document

PROCESSES = 20


@pytest.mark.slow  # twenty interpreters on two cores: several seconds
def test_concurrent_adds_get_distinct_ids_and_lose_nothing(registry, sotb):
    assert sotb("new", "PIC").code in (0, 1)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "sot_builder", "add", "PIC", "--title", f"Partner {k:02d}",
             "--field", f"Partner=Company {k:02d}"],
            cwd=registry, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for k in range(PROCESSES)
    ]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert [code for code, _, _ in results] == [0] * PROCESSES, [err for _, _, err in results]
    printed = [out.strip() for _, out, _ in results]
    expected = {f"PIC-{n:03d}" for n in range(1, PROCESSES + 1)}
    assert set(printed) == expected  # distinct, and no number skipped

    path = Path("SoT/SoT.PARTNER_INTEGRATIONS.md")
    doc = parse_document(path.read_bytes(), path.as_posix())
    entries = {e.id: e for e in doc.entries}
    assert set(entries) == expected
    assert [e.id for e in doc.entries] == sorted(expected)
    # each process's entry carries its own title and field
    by_title = {e.title: e.value("Partner") for e in doc.entries}
    assert by_title == {f"Partner {k:02d}": f"Company {k:02d}" for k in range(PROCESSES)}
    nav = [line for line in doc.lines if line.startswith("- [PIC-")]
    assert len(nav) == PROCESSES
    assert not list(Path("SoT").glob(".*.sotb-tmp"))
    lint = sotb("lint")
    assert "[error]" not in lint.out, lint.out

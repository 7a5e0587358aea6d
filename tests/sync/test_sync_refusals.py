"""sync writes nothing while a file cannot be read, or a registry file cannot be rewritten safely:
region markers without a partner, frontmatter that is never closed or hides Markdown."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sync_helpers import edit, snapshot

from sot_builder.cli import main

BR = "SoT/SoT.BUSINESS_RULES.md"


@pytest.fixture
def synced(registry: Path, monkeypatch, capsys) -> Path:
    """The registry after a first sync (regions marked), with the working directory in it."""
    monkeypatch.chdir(registry)
    assert main(["sync"]) == 0
    capsys.readouterr()
    return registry


def _pending_change(root: Path) -> None:
    """A new API entry: the API navigation and the ID index would change."""
    edit(root / "SoT" / "SoT.API_CONTRACTS.md", "## API-046", "## API-047: Unlisted\n\n## API-046")


def _refused(capsys, args: list[str], where: str, why: str) -> None:
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sotb: error: {where}: ") and why in err, err
    assert "internal error" not in err


def test_frontmatter_that_runs_over_the_navigation_is_refused(synced: Path, capsys) -> None:
    # without its closing `---` the frontmatter runs to the rule below the navigation
    edit(synced / BR, "last_updated: 2025-01-10\n---\n", "last_updated: 2025-01-10\n")
    _pending_change(synced)
    before = snapshot(synced)
    why = "the frontmatter opened at line 1 runs to the '---' at line"
    _refused(capsys, ["sync"], f"{BR}:1", why)
    assert snapshot(synced) == before  # no second navigation region, nor any other file written
    _refused(capsys, ["sync", "--check"], f"{BR}:1", why)
    edit(synced / BR, "last_updated: 2025-01-10\n", "last_updated: 2025-01-10\n---\n")
    assert main(["sync"]) == 0
    assert (synced / BR).read_text(encoding="utf-8").count("sotb:begin navigation") == 1


def test_frontmatter_that_is_never_closed_is_refused(synced: Path, capsys) -> None:
    text = (synced / BR).read_text(encoding="utf-8")
    (synced / BR).write_text("---\n" + text[4:].replace("\n---\n", "\n***\n"), encoding="utf-8")
    _pending_change(synced)
    before = snapshot(synced)
    _refused(capsys, ["sync"], f"{BR}:1", "the frontmatter opened at line 1 is never closed")
    assert snapshot(synced) == before


def test_invalid_frontmatter_that_hides_nothing_is_still_synced(synced: Path, capsys) -> None:
    edit(synced / BR, "version: 1.0\n", "version: [1.0\n")
    _pending_change(synced)
    assert main(["sync"]) == 0
    assert "API-047" in (synced / "SoT" / "SoT.UNIQUE_ID_SYSTEM.md").read_text(encoding="utf-8")
    assert main(["lint", "--no-cache", "--select", "SOT001"]) == 1


@pytest.mark.parametrize("marker, why", [
    ("<!-- sotb:end navigation -->\n", "region 'navigation' has a begin marker but no end marker"),
    ("<!-- sotb:begin navigation -->\n", "end marker for region 'navigation' without a begin marker"),
])
def test_a_region_marker_without_its_partner_is_refused(synced: Path, capsys, marker: str, why: str) -> None:
    kept = "<!-- sotb:begin navigation -->" if "end" in marker else "<!-- sotb:end navigation -->"
    line = (synced / BR).read_text(encoding="utf-8").split("\n").index(kept) + 1
    if "begin" in marker:
        line -= 1  # the end marker moves up a line
    edit(synced / BR, marker, "")
    _pending_change(synced)
    before = snapshot(synced)
    for _ in range(2):  # never "nothing to change" while the marker stays alone
        _refused(capsys, ["sync"], f"{BR}:{line}", why)
        assert snapshot(synced) == before
    _refused(capsys, ["lint", "--fix"], f"{BR}:{line}", why)
    assert snapshot(synced) == before


@pytest.mark.parametrize("bad, why", [(b"thr\xe9e", "not valid UTF-8"),
                                      (b"thr\x00e", "binary file (NUL byte)")])
def test_a_file_that_cannot_be_decoded_stops_every_write(synced: Path, capsys, bad: bytes, why: str) -> None:
    pic = synced / "SoT" / "SoT.PARTNER_INTEGRATIONS.md"
    data = pic.read_bytes()
    line = data[:data.index(b"## PIC-101")].count(b"\n") + 1
    pic.write_bytes(data.replace(b"## PIC-101", bad + b"\n## PIC-002", 1))
    _pending_change(synced)
    before = snapshot(synced)
    for args in (["sync"], ["sync", "--check"]):
        _refused(capsys, args, f"SoT/SoT.PARTNER_INTEGRATIONS.md:{line}", why)
    # the README and the ID index keep the rows of that file's entries
    assert snapshot(synced) == before


def test_a_symlink_loop_does_not_stop_sync(synced: Path, capsys) -> None:
    os.symlink("SoT.LOOP.md", synced / "SoT" / "SoT.LOOP.md")
    _pending_change(synced)
    assert main(["sync"]) == 0
    assert "API-047" in (synced / "SoT" / "SoT.UNIQUE_ID_SYSTEM.md").read_text(encoding="utf-8")


def without_write_access() -> list[str]:
    """A command prefix under which folder permissions apply: root loses its override."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv is needed to run without root's permission override")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}"]


@pytest.mark.parametrize("lock_file, why", [(False, "cannot lock "), (True, "")])
def test_a_sot_folder_sotb_cannot_write_to_is_an_error_line(synced: Path, lock_file: bool, why: str) -> None:
    prefix = without_write_access()
    if lock_file:  # the lock can be taken; the temp file next to the first file written cannot
        why = f"{synced / 'SoT' / 'SoT.API_CONTRACTS.md'}: cannot write file"
    else:
        (synced / "SoT" / ".sotb.lock").unlink()
    _pending_change(synced)
    before = snapshot(synced)
    os.chmod(synced / "SoT", 0o555)
    try:
        run = subprocess.run([*prefix, sys.executable, "-m", "sot_builder", "sync"], cwd=synced,
                             capture_output=True, text=True, timeout=120)
    finally:
        os.chmod(synced / "SoT", 0o755)
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith(f"sotb: error: {why}") and "Permission denied" in run.stderr
    assert "internal error" not in run.stderr
    assert snapshot(synced) == before

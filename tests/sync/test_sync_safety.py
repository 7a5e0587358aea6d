"""Writes are atomic, keep file modes, and are refused when the result would change entries."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sync_helpers import snapshot

import sot_builder.sync as sync_module
from sot_builder.cli import main
from sot_builder.config import load_config
from sot_builder.diagnostics import SotbError
from sot_builder.sync import TextFile, sync_project


def test_a_result_that_changes_entries_is_refused(registry: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sync_module, "navigation_region", lambda project, doc: "## PIC-999: Injected")
    before = snapshot(registry)
    with pytest.raises(SotbError, match="does not intend"):
        sync_project(load_config(registry), write=True)
    assert snapshot(registry) == before
    monkeypatch.chdir(registry)
    assert main(["sync"]) == 2
    assert "nothing written" in capsys.readouterr().err
    assert snapshot(registry) == before


def test_a_result_that_adds_references_to_entries_is_refused(registry: Path, monkeypatch) -> None:
    # a navigation appended to SoT.API_CONTRACTS.md would land inside its last entry, API-050
    (registry / "SoT" / "SoT.API_CONTRACTS.md").write_text("# API\n\n## API-050: SMS\n", encoding="utf-8")
    monkeypatch.setattr(sync_module, "_navigation_placement",
                        lambda project, doc: sync_module.Placement(len(doc.lines), len(doc.lines)))
    with pytest.raises(SotbError, match="API-050 gains unexpected references"):
        sync_project(load_config(registry), write=True)


def test_modes_are_kept_and_no_temp_files_remain(registry: Path) -> None:
    path = registry / "SoT" / "SoT.README.md"
    os.chmod(path, 0o640)
    sync_project(load_config(registry), write=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert "sotb:begin files" in path.read_text(encoding="utf-8")
    assert not list((registry / "SoT").glob(".*.sotb-tmp"))


def test_a_file_changed_during_sync_is_not_overwritten(registry: Path, monkeypatch) -> None:
    real = sync_module.plan_sync
    readme = registry / "SoT" / "SoT.README.md"

    def plan_then_edit(project):
        result = real(project)
        readme.write_text("# edited meanwhile\n", encoding="utf-8")
        return result

    monkeypatch.setattr(sync_module, "plan_sync", plan_then_edit)
    with pytest.raises(SotbError, match="changed while"):
        sync_project(load_config(registry), write=True)
    assert readme.read_text(encoding="utf-8") == "# edited meanwhile\n"


@pytest.mark.parametrize("data", [
    b"", b"a", b"a\n", b"a\r\nb", b"\xef\xbb\xbfx\r\n\r\ny", b"mixed\r\nends\nhere\r\n", b"\n\n",
])
def test_text_file_round_trips(data: bytes) -> None:
    assert TextFile(data).to_bytes() == data


def test_text_file_insertions_keep_the_file_style() -> None:
    crlf = TextFile(b"a\r\nb\r\n")
    crlf.apply([sync_module.Edit(1, 1, ("x", "y"))])
    assert crlf.to_bytes() == b"a\r\nx\r\ny\r\nb\r\n"
    unterminated = TextFile(b"a\nb")
    unterminated.apply([sync_module.Edit(2, 2, ("x",), 1), sync_module.Edit(2, 2, ("w",), 0)])
    assert unterminated.to_bytes() == b"a\nb\nw\nx"
    replaced = TextFile(b"a\nb")
    replaced.apply([sync_module.Edit(1, 2, ("c", "d"))])
    assert replaced.to_bytes() == b"a\nc\nd"


@pytest.mark.parametrize("opener, what", [("```sql\nSELECT 1;\n", "code fence"),
                                          ("<!-- a note\nstill hidden\n", "HTML comment")])
def test_a_file_with_an_unclosed_block_is_never_rewritten(registry: Path, monkeypatch, capsys,
                                                          opener: str, what: str) -> None:
    pic = registry / "SoT" / "SoT.PARTNER_INTEGRATIONS.md"
    api = registry / "SoT" / "SoT.API_CONTRACTS.md"
    line = pic.read_bytes().count(b"\n") + 1
    pic.write_bytes(pic.read_bytes() + opener.encode())
    api.write_bytes(api.read_bytes().replace(b"## API-046", b"## API-047: Unlisted\n\n## API-046"))
    before = pic.read_bytes()
    monkeypatch.chdir(registry)
    capsys.readouterr()
    assert main(["sync", "--check"]) == 1
    err = capsys.readouterr().err
    expected = f"SoT/SoT.PARTNER_INTEGRATIONS.md:{line}: the {what} opened at line {line} is never closed"
    assert expected in err and "skipped" in err
    assert main(["sync"]) == 1
    captured = capsys.readouterr()
    assert expected in captured.err
    assert "updated SoT/SoT.API_CONTRACTS.md" in captured.out  # the other files are still synced
    assert pic.read_bytes() == before
    assert main(["sync"]) == 1
    assert "nothing to change" not in capsys.readouterr().out
    assert pic.read_bytes() == before
    result = sync_project(load_config(registry), write=True)
    assert result.changes == () and [s[:2] for s in result.skipped] == [("SoT/SoT.PARTNER_INTEGRATIONS.md", line)]


def _in_two_processes(monkeypatch) -> list[int]:
    """Make sync check every batch in a forked child too; the list collects the children made."""
    from sot_builder import forking

    started: list[int] = []
    real = forking.start

    def start(work, *args, **kwargs):
        child = real(work, *args, **kwargs)
        started.append(child.pid if child else 0)
        return child

    monkeypatch.setattr(sync_module, "VERIFY_PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(forking, "cores", lambda: 2)
    monkeypatch.setattr(forking, "start", start)
    return started


def test_a_child_checking_half_the_files_gives_the_same_result(registry: Path, monkeypatch) -> None:
    alone = sync_project(load_config(registry), write=False)
    started = _in_two_processes(monkeypatch)
    shared = sync_project(load_config(registry), write=False)
    assert started and all(started)
    assert len(alone.changes) >= 2 and shared == alone


def test_a_refusal_found_by_the_child_is_the_one_a_single_process_gives(registry: Path, monkeypatch) -> None:
    monkeypatch.setattr(sync_module, "navigation_region", lambda project, doc: "## PIC-999: Injected")
    with pytest.raises(SotbError, match="does not intend") as alone:
        sync_project(load_config(registry), write=False)
    started = _in_two_processes(monkeypatch)
    with pytest.raises(SotbError, match="does not intend") as shared:
        sync_project(load_config(registry), write=False)
    assert started and str(shared.value) == str(alone.value) and shared.value.path == alone.value.path

"""All or nothing: a renumber killed with SIGKILL is rolled back or forward on the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sot_builder import engine
from sot_builder.cli import main
from sot_builder.config import load_config
from sot_builder.diagnostics import SotbError
from sot_builder.ledger import read_ledger
from sot_builder.project import load_project
from sot_builder.renumber import JOURNAL_NAME, commit, plan_renumber, recover

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL")

# Run `sotb renumber PIC-002` in a child that kills itself on the N-th call of one step.
CHILD = textwrap.dedent("""
    import os, signal, sys
    from sot_builder import renumber as rn
    step, when = sys.argv[1], int(sys.argv[2])
    real = getattr(rn, step)
    calls = []
    def step_then_maybe_die(*args, **kwargs):
        calls.append(1)
        if len(calls) == when:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    setattr(rn, step, step_then_maybe_die)
    from sot_builder.cli import main
    sys.exit(main(["renumber", "PIC-002", "--no-sync"]))
""")

FILES = ("SoT/SoT.API.md", "SoT/SoT.LEDGER.jsonl", "SoT/SoT.PARTNERS.md", "docs/guide.md")


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and ".sotb_cache" not in p.parts
            and p.name != ".sotb.lock"}


def side_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.name.endswith((".sotb-new", ".sotb-old", ".sotb-tmp")))


@pytest.fixture
def ledgered(project: Path) -> Path:
    assert main(["ledger", "update"]) == 0
    return project


@pytest.fixture
def expected_after(ledgered: Path) -> dict[str, bytes]:
    """Every file as a complete renumber leaves it (planned, not written)."""
    plan = plan_renumber(load_project(load_config(ledgered), use_cache=False), "PIC-002")
    assert sorted(plan.files) == list(FILES)
    out = snapshot(ledgered)
    out.update({c.path: c.after for c in plan.changes})
    return out


def kill_at(root: Path, step: str, when: int) -> None:
    done = subprocess.run([sys.executable, "-c", CHILD, step, str(when)], cwd=root, capture_output=True,
                          text=True, env={**os.environ, "SOURCE_DATE_EPOCH": "1736467200"}, timeout=120,
                          check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr


def lint_codes(root: Path) -> set[str]:
    config = load_config(root)
    return {d.code for d in engine.run(load_project(config, use_cache=False), engine.active_rules(config.values))}


def test_killed_while_writing_new_files_is_rolled_back(ledgered: Path, capsys) -> None:
    before = snapshot(ledgered)
    kill_at(ledgered, "_write_new", 3)  # two new files written, the third not

    assert (ledgered / "SoT" / JOURNAL_NAME).is_file()
    assert side_files(ledgered)
    targets = {k: v for k, v in snapshot(ledgered).items()
               if k != f"SoT/{JOURNAL_NAME}" and not k.endswith((".sotb-new", ".sotb-old"))}
    assert targets == before  # no target was touched
    assert "SOT112" in lint_codes(ledgered)

    assert main(["renumber", "--recover"]) == 0

    assert "interrupted renumber of PIC-002 to PIC-003: rolled back" in capsys.readouterr().err
    assert snapshot(ledgered) == before
    assert side_files(ledgered) == []
    assert "SOT112" not in lint_codes(ledgered)


def test_killed_between_replacements_is_rolled_forward(ledgered: Path, expected_after, capsys) -> None:
    before = snapshot(ledgered)
    kill_at(ledgered, "_replace", 3)  # two targets replaced, two not yet

    now = snapshot(ledgered)
    changed = [p for p in FILES if now[p] != before[p]]
    assert len(changed) == 2  # a half-made renumber is on disk...

    # ...and the next run finishes it before doing anything else
    assert main(["renumber", "PIC-002", "--no-sync"]) == 1
    err = capsys.readouterr().err
    assert "interrupted renumber of PIC-002 to PIC-003: rolled forward" in err
    assert "nothing else was done" in err

    assert snapshot(ledgered) == expected_after
    assert side_files(ledgered) == []
    ledger = read_ledger(ledgered / "SoT" / "SoT.LEDGER.jsonl")
    assert ledger is not None and ledger.problems == ()
    assert [e.kind for e in ledger.events].count("renumbered") == 1


def test_killed_after_the_last_replacement_only_cleans_up(ledgered: Path, expected_after) -> None:
    kill_at(ledgered, "_finish", 1)
    assert (ledgered / "SoT" / JOURNAL_NAME).is_file()

    assert main(["renumber", "--recover"]) == 0

    assert snapshot(ledgered) == expected_after
    assert side_files(ledgered) == []


def test_a_missing_new_file_rolls_everything_back(ledgered: Path) -> None:
    before = snapshot(ledgered)
    kill_at(ledgered, "_replace", 2)
    for p in ledgered.rglob("*.sotb-new"):
        p.unlink()  # lost: cannot roll forward

    assert main(["renumber", "--recover"]) == 0

    assert snapshot(ledgered) == before
    assert side_files(ledgered) == []


def test_a_file_edited_since_the_interruption_is_not_overwritten(ledgered: Path) -> None:
    kill_at(ledgered, "_replace", 1)  # nothing replaced yet, journal committed
    guide = ledgered / "docs" / "guide.md"
    guide.write_text("edited by hand\n")
    config = load_config(ledgered)

    with pytest.raises(SotbError, match="changed after a renumber of PIC-002 was interrupted"):
        recover(config)

    assert guide.read_text() == "edited by hand\n"
    assert (ledgered / "SoT" / JOURNAL_NAME).is_file()


def test_a_dry_run_refuses_while_a_journal_is_pending(ledgered: Path, capsys) -> None:
    kill_at(ledgered, "_replace", 1)
    assert main(["renumber", "PIC-002", "--dry-run"]) == 2
    assert "sotb renumber --recover" in capsys.readouterr().err


def test_a_file_changed_during_commit_writes_nothing(ledgered: Path, monkeypatch) -> None:
    config = load_config(ledgered)
    plan = plan_renumber(load_project(config, use_cache=False), "PIC-002")
    (ledgered / "docs" / "guide.md").write_text("changed meanwhile\n")
    before = snapshot(ledgered)

    with pytest.raises(SotbError, match="file changed while sotb was renumbering"):
        commit(config, plan.changes, {"from": "PIC-002", "to": "PIC-003"})

    assert snapshot(ledgered) == before
    assert side_files(ledgered) == []
    assert not (ledgered / "SoT" / JOURNAL_NAME).exists()


def test_recover_without_a_journal_says_so(project: Path, capsys) -> None:
    assert main(["renumber", "--recover"]) == 0
    assert "no interrupted renumber" in capsys.readouterr().err

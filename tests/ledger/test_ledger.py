"""The ledger: append-only events, hash chain that survives union merges, replay, lint rules."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from sot_builder import engine, ledger
from sot_builder.cli import main
from sot_builder.config import load_config
from sot_builder.project import load_project

DATE = "2026-01-15"
CONFIG = "[types]\nPIC = {}\n"


def entry(n: int, title: str, status: str = "Active", extra: str = "") -> str:
    return f"## PIC-{n:03d}: {title}\n\n**Status**: {status}\n{extra}\n"


def write_sot(root: Path, *entries: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "sotb.toml").write_text(CONFIG, encoding="utf-8")
    (root / "SoT").mkdir(exist_ok=True)
    text = "# Partner Integrations\n\n" + "\n".join(entries)
    (root / "SoT" / "SoT.PARTNER_INTEGRATIONS.md").write_text(text, encoding="utf-8")


def update(root: Path, date: str = DATE) -> list[dict]:
    config = load_config(root)
    return ledger.update(config, load_project(config, use_cache=False), date=date)


def ledger_file(root: Path) -> Path:
    return root / "SoT" / "SoT.LEDGER.jsonl"


def lint(root: Path, select: str = "SOT5") -> list[tuple[str, int, str, tuple[str, ...]]]:
    config = load_config(root)
    rules = engine.active_rules(config.values, extra_select=(select,))
    diags = engine.run(load_project(config, use_cache=False), rules)
    return [(d.path, d.line, d.code, d.ids) for d in diags]


def lines(root: Path) -> list[dict]:
    return [json.loads(x) for x in ledger_file(root).read_text(encoding="utf-8").splitlines() if x]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    write_sot(root, entry(1, "Stripe"), entry(2, "Adyen"))
    return root


def test_update_issues_every_id_once_and_starts_a_union_merged_file(project: Path) -> None:
    events = update(project)
    assert [(e["event"], e["id"], e["title"], e["file"]) for e in events] == [
        ("issued", "PIC-001", "Stripe", "SoT.PARTNER_INTEGRATIONS.md"),
        ("issued", "PIC-002", "Adyen", "SoT.PARTNER_INTEGRATIONS.md"),
    ]
    assert events[0]["parents"] == [] and events[1]["parents"] == [events[0]["hash"]]
    assert all(e["date"] == DATE for e in events)
    assert update(project) == []
    assert (project / "SoT" / ".gitattributes").read_text() == "SoT.LEDGER.jsonl merge=union\n"
    found = ledger.read_ledger(ledger_file(project))
    assert found is not None and found.ok and len(found.events) == 2


def test_changes_are_appended_and_earlier_bytes_never_change(project: Path) -> None:
    update(project)
    before = ledger_file(project).read_bytes()
    write_sot(project, entry(1, "Stripe Payments", "Expired"),
              entry(2, "Adyen (DEPRECATED)", "Deprecated"),
              entry(3, "Mollie"), entry(4, "PayPal", "Superseded", "**Superseded By**: [PIC-003](#pic-003-mollie)"))
    events = update(project, "2026-02-01")
    after = ledger_file(project).read_bytes()
    assert after.startswith(before)
    assert [(e["event"], e["id"]) for e in events] == [
        ("title-changed", "PIC-001"), ("status-changed", "PIC-001"),
        ("title-changed", "PIC-002"), ("status-changed", "PIC-002"), ("deprecated", "PIC-002"),
        ("issued", "PIC-003"), ("issued", "PIC-004"), ("superseded", "PIC-004"),
    ]
    assert events[0]["from"] == "Stripe" and events[0]["to"] == "Stripe Payments"
    assert events[-1]["by"] == "PIC-003"
    assert events[0]["parents"] == [lines(project)[1]["hash"]]


def test_replay_at_n_shows_the_registry_as_it_stood(project: Path, capsys) -> None:
    update(project)
    write_sot(project, entry(1, "Stripe Payments"), entry(2, "Adyen"))
    update(project)
    found = ledger.read_ledger(ledger_file(project))
    assert [(r.id, r.title) for r in ledger.live(ledger.replay(found.events, at=2))] == [
        ("PIC-001", "Stripe"), ("PIC-002", "Adyen")]
    assert [(r.id, r.title) for r in ledger.live(ledger.replay(found.events))] == [
        ("PIC-001", "Stripe Payments"), ("PIC-002", "Adyen")]
    assert main(["ledger", "replay", str(project), "--at", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["ID", "TITLE", "STATUS", "FILE"]
    assert out[1].split() == ["PIC-001", "Stripe", "Active", "SoT.PARTNER_INTEGRATIONS.md"]
    assert len(out) == 2
    assert main(["ledger", "replay", str(project), "--format", "json"]) == 0
    assert [r["title"] for r in json.loads(capsys.readouterr().out)] == ["Stripe Payments", "Adyen"]


def test_deleting_an_entry_after_update_fails_lint_naming_the_id_and_the_ledger(project: Path, capsys) -> None:
    update(project)
    assert lint(project) == []
    write_sot(project, entry(1, "Stripe"))
    assert lint(project) == [("SoT/SoT.LEDGER.jsonl", 2, "SOT501", ("PIC-002",))]
    capsys.readouterr()
    assert main(["lint", str(project), "--select", "SOT5"]) == 1
    out = capsys.readouterr().out
    assert "PIC-002" in out and "SoT/SoT.LEDGER.jsonl" in out


def test_editing_an_earlier_line_fails_lint_and_verify(project: Path, capsys) -> None:
    update(project)
    write_sot(project, entry(1, "Stripe"), entry(2, "Adyen"), entry(3, "Mollie"))
    update(project)
    path = ledger_file(project)
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace('"Adyen"', '"Klarna"', 1), encoding="utf-8")
    assert lint(project) == [("SoT/SoT.LEDGER.jsonl", 2, "SOT504", ())]
    assert main(["lint", str(project), "--select", "SOT5"]) == 1
    assert main(["ledger", "verify", str(project)]) == 1
    assert "line 2" in capsys.readouterr().out

    # rewriting the hash as well leaves the next event pointing at nothing
    data = json.loads(original.splitlines()[1])
    data["title"] = "Klarna"
    data["hash"] = ledger.event_hash(data)
    edited = original.splitlines()
    edited[1] = json.dumps(data)
    path.write_text("\n".join(edited) + "\n", encoding="utf-8")
    assert [(p.line, p.kind) for p in ledger.read_ledger(path).problems] == [(3, "parent")]
    assert lint(project) == [("SoT/SoT.LEDGER.jsonl", 3, "SOT504", ())]

    # a removed line is found the same way
    path.write_text("\n".join(original.splitlines()[:1] + original.splitlines()[2:]) + "\n", encoding="utf-8")
    assert [p.kind for p in ledger.read_ledger(path).problems] == ["parent"]


def test_update_refuses_to_append_to_a_damaged_ledger(project: Path, capsys) -> None:
    update(project)
    path = ledger_file(project)
    path.write_text(path.read_text(encoding="utf-8").replace("Stripe", "Strype"), encoding="utf-8")
    before = path.read_bytes()
    assert main(["ledger", "update", str(project)]) == 2
    assert "damaged" in capsys.readouterr().err
    assert path.read_bytes() == before


def branch(base: Path, name: str, *entries: str) -> Path:
    """A copy of `base` with other entries, and the ledger updated there."""
    copy = base.parent / name
    shutil.copytree(base, copy)
    write_sot(copy, *entries)
    update(copy, "2026-03-01")
    return copy


def test_union_merge_of_two_branches_verifies_and_later_updates_join_them(project: Path) -> None:
    update(project)
    base = ledger_file(project).read_text(encoding="utf-8")
    a = branch(project, "a", entry(1, "Stripe"), entry(2, "Adyen"), entry(3, "Mollie"))
    b = branch(project, "b", entry(1, "Stripe Payments"), entry(2, "Adyen"), entry(4, "Klarna"))
    ours = ledger_file(a).read_text(encoding="utf-8")[len(base):]
    theirs = ledger_file(b).read_text(encoding="utf-8")[len(base):]
    assert ours and theirs
    # what `merge=union` produces: the common lines, then both sides' additions
    ledger_file(project).write_text(base + ours + theirs, encoding="utf-8")
    write_sot(project, entry(1, "Stripe Payments"), entry(2, "Adyen"), entry(3, "Mollie"), entry(4, "Klarna"))
    assert lint(project) == []
    merged = ledger.read_ledger(ledger_file(project))
    assert merged.ok and len(merged.tips()) == 2
    assert {r.id for r in ledger.live(ledger.replay(merged.events))} == {"PIC-001", "PIC-002", "PIC-003", "PIC-004"}

    # the next event follows both branches, so neither side's tip can be edited unseen
    write_sot(project, entry(1, "Stripe Payments"), entry(2, "Adyen"), entry(3, "Mollie"), entry(4, "Klarna"),
              entry(5, "Wise"))
    [issued] = update(project)
    assert sorted(issued["parents"]) == sorted(merged.tips())
    assert ledger.read_ledger(ledger_file(project)).tips() == [issued["hash"]]

    # the other order of the two sides verifies as well, and so does a line both sides appended
    ledger_file(project).write_text(base + theirs + ours + ours.splitlines()[0] + "\n", encoding="utf-8")
    assert ledger.read_ledger(ledger_file(project)).ok


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_union_merge_of_two_branches_verifies(project: Path) -> None:
    def git(*args: str) -> str:
        env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@example.org", "HOME": str(project), "PATH": "/usr/bin:/bin"}
        return subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True,
                              text=True).stdout

    update(project)
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    git("checkout", "-q", "-b", "other")
    (project / "SoT" / "SoT.PARTNER_INTEGRATIONS.md").write_text(
        "# Partner Integrations\n\n" + entry(1, "Stripe") + "\n" + entry(2, "Adyen") + "\n" + entry(4, "Klarna"),
        encoding="utf-8")
    update(project, "2026-03-02")
    git("commit", "-q", "-am", "klarna")
    git("checkout", "-q", "main")
    write_sot(project, entry(1, "Stripe"), entry(2, "Adyen"), entry(3, "Mollie"))
    update(project, "2026-03-01")
    git("commit", "-q", "-am", "mollie")
    git("merge", "-q", "--no-edit", "other", "-X", "theirs")  # the Markdown conflict is not the point here
    merged = ledger.read_ledger(ledger_file(project))
    assert merged.ok
    assert {e.id for e in merged.events} == {"PIC-001", "PIC-002", "PIC-003", "PIC-004"}


def test_reused_id_after_deprecation_is_an_error(project: Path) -> None:
    write_sot(project, entry(1, "Stripe"), entry(2, "Adyen (DEPRECATED)", "Deprecated"))
    update(project)
    write_sot(project, entry(1, "Stripe"), entry(2, "Adyen Checkout (DEPRECATED)", "Deprecated"))
    assert lint(project, "SOT502") == []
    write_sot(project, entry(1, "Stripe"), entry(2, "Twilio SMS"))
    assert lint(project, "SOT502") == [("SoT/SoT.PARTNER_INTEGRATIONS.md", 8, "SOT502", ("PIC-002",))]
    update(project)  # recording the new title does not make the reuse right
    assert lint(project, "SOT502") == [("SoT/SoT.PARTNER_INTEGRATIONS.md", 8, "SOT502", ("PIC-002",))]


def test_ids_missing_from_the_ledger_are_a_stale_warning(project: Path, capsys) -> None:
    update(project)
    write_sot(project, entry(1, "Stripe"), entry(2, "Adyen"), entry(3, "Mollie"))
    assert lint(project) == [("SoT/SoT.PARTNER_INTEGRATIONS.md", 13, "SOT503", ("PIC-003",))]
    assert main(["lint", str(project), "--select", "SOT5"]) == 0
    assert "ledger stale: run `sotb ledger update`" in capsys.readouterr().out
    assert main(["ledger", "update", str(project), "--check"]) == 1
    assert main(["ledger", "update", str(project)]) == 0
    assert main(["ledger", "update", str(project), "--check"]) == 0
    assert lint(project) == []


def test_without_a_ledger_the_rules_are_silent(project: Path) -> None:
    assert lint(project) == []
    assert not ledger_file(project).exists()
    assert main(["ledger", "verify", str(project)]) == 2


def test_append_events_renumbered_and_ledger_ids(project: Path) -> None:
    update(project)
    config = load_config(project)
    [event] = ledger.append_events(config, [{"event": "renumbered", "from": "PIC-002", "to": "PIC-007"}],
                                   date=DATE)
    assert event["id"] == "PIC-002" and event["parents"] == [lines(project)[1]["hash"]]
    write_sot(project, entry(1, "Stripe"), entry(7, "Adyen"))
    assert lint(project) == []
    write_sot(project, entry(1, "Stripe"))
    assert lint(project) == [("SoT/SoT.LEDGER.jsonl", 3, "SOT501", ("PIC-007",))]
    project_ = load_project(config, use_cache=False)
    assert ledger.ledger_ids(project_) == {"PIC-001", "PIC-002", "PIC-007"}
    with pytest.raises(Exception, match="needs a string 'to'"):
        ledger.append_events(config, [{"event": "renumbered", "from": "PIC-001"}])


def test_hash_covers_content_and_parents() -> None:
    first = ledger.chain([{"event": "issued", "id": "PIC-001", "title": "A", "file": "f.md"}], [], DATE)[0]
    other_parent = ledger.chain([{"event": "issued", "id": "PIC-001", "title": "A", "file": "f.md"}],
                                [first["hash"]], DATE)[0]
    assert first["hash"] != other_parent["hash"]
    assert ledger.event_hash(first) == first["hash"]
    assert ledger.event_hash({**first, "title": "B"}) != first["hash"]


def test_syntax_problems_are_reported_at_their_line() -> None:
    ok = ledger.chain([{"event": "issued", "id": "PIC-001", "title": "A", "file": "f.md"}], [], DATE)[0]
    text = json.dumps(ok) + "\n<<<<<<< HEAD\n" + json.dumps({"event": "nope", "id": "X"}) + "\n\n"
    found = ledger.parse_ledger(text)
    assert [(p.line, p.kind) for p in found.problems] == [(2, "syntax"), (3, "syntax")]
    assert [e.id for e in found.events] == ["PIC-001"]


def test_an_empty_ledger_setting_turns_the_ledger_off(project: Path, capsys) -> None:
    update(project)
    write_sot(project, entry(1, "Stripe"))  # PIC-002 deleted: an error while the ledger is on
    (project / "sotb.toml").write_text('ledger = ""\n' + CONFIG, encoding="utf-8")
    assert lint(project) == []
    assert main(["ledger", "update", str(project)]) == 2
    assert "turned off" in capsys.readouterr().err


def test_may_have_ledger_is_false_exactly_when_load_ledger_finds_none(project: Path) -> None:
    from sot_builder.paths import may_have_ledger

    def both() -> tuple[bool, bool]:
        config = load_config(project)
        return may_have_ledger(config), ledger.load_ledger(config) is not None

    assert both() == (False, False)
    update(project)
    assert both() == (True, True)
    (project / "sotb.toml").write_text('ledger = ""\n' + CONFIG, encoding="utf-8")
    assert both() == (False, False)
    (project / "sotb.toml").write_text('ledger = "SoT.PARTNER_INTEGRATIONS.md/x"\n' + CONFIG, encoding="utf-8")
    assert both() == (True, True)  # not a folder: load_ledger reports the ledger unreadable

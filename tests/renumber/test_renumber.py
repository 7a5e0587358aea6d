"""`sotb renumber`: the entry moves, every mention follows, the ledger records it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sot_builder.cli import main
from sot_builder.config import load_config
from sot_builder.diagnostics import SotbError
from sot_builder.ledger import read_ledger
from sot_builder.project import load_project
from sot_builder.renumber import plan_renumber, renumber
from tests.renumber.conftest import API, GUIDE, PARTNERS

PARTNERS_AFTER = PARTNERS.replace(
    "- [PIC-002](#pic-002-adyen-payments)", "- [PIC-003](#pic-003-adyen-payments)"
).replace(
    "**Fallback**: [PIC-002](#pic-002-adyen-payments)", "**Fallback**: [PIC-003](#pic-003-adyen-payments)"
).replace(
    '<a id="pic-002"></a>\n## PIC-002: Adyen Payments', '<a id="pic-003"></a>\n## PIC-003: Adyen Payments'
).replace(
    "PIC-002 is also called `PIC-002` in logs", "PIC-003 is also called `PIC-003` in logs"
)
API_AFTER = API.replace(
    "[PIC-002](SoT.PARTNERS.md#pic-002-adyen-payments)", "[PIC-003](SoT.PARTNERS.md#pic-003-adyen-payments)"
).replace(
    "(SoT.PARTNERS.md#pic-002)", "(SoT.PARTNERS.md#pic-003)"
).replace("| PIC-002 | Adyen", "| PIC-003 | Adyen")
GUIDE_AFTER = GUIDE.replace(
    "through PIC-002 ([details](../SoT/SoT.PARTNERS.md#pic-002-adyen-payments))",
    "through PIC-003 ([details](../SoT/SoT.PARTNERS.md#pic-003-adyen-payments))",
)


def read(project: Path, rel: str) -> str:
    return (project / rel).read_bytes().decode("utf-8")


def run(*args: str) -> int:
    return main(list(args))


def test_expected_texts_differ_from_the_originals() -> None:
    # guards the expectations below against a replace() that silently matched nothing
    assert PARTNERS_AFTER.count("PIC-003") == 5 and PARTNERS_AFTER.count("pic-003") == 3
    assert API_AFTER.count("PIC-003") == 2 and API_AFTER.count("pic-003") == 2
    assert GUIDE_AFTER.count("PIC-003") == 1 and "P:PIC-002" in GUIDE_AFTER


def test_every_mention_moves_to_the_next_free_number(project: Path) -> None:
    assert run("renumber", "PIC-002", "--no-sync") == 0

    assert read(project, "SoT/SoT.PARTNERS.md") == PARTNERS_AFTER
    assert read(project, "SoT/SoT.API.md") == API_AFTER
    assert read(project, "docs/guide.md") == GUIDE_AFTER  # P:PIC-002 names another registry


def test_plan_lists_what_it_rewrote(project: Path) -> None:
    config = load_config(project)
    plan = plan_renumber(load_project(config, use_cache=False), "PIC-002")

    assert (plan.old, plan.new, plan.entry.title, plan.others) == ("PIC-002", "PIC-003", "Adyen Payments", ())
    kinds = sorted(m.kind for m in plan.rewritten)
    assert kinds == ["anchor", "bare", "bare", "code", "fragment", "fragment", "fragment", "fragment",
                     "fragment", "heading", "link", "link", "link", "table"]
    assert plan.ambiguous == ()
    assert plan.event is None  # no ledger in this project
    assert plan.files == ["SoT/SoT.API.md", "SoT/SoT.PARTNERS.md", "docs/guide.md"]


def test_dry_run_prints_a_diff_and_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def files() -> dict[Path, bytes]:  # the parse cache may be written, as by `sotb lint`
        return {p: p.read_bytes() for p in project.rglob("*") if p.is_file() and ".sotb_cache" not in p.parts}

    before = files()

    assert run("renumber", "PIC-002", "--dry-run") == 0

    out = capsys.readouterr()
    assert "--- a/SoT/SoT.PARTNERS.md\n+++ b/SoT/SoT.PARTNERS.md\n" in out.out
    assert "\n-## PIC-002: Adyen Payments\n" in out.out and "\n+## PIC-003: Adyen Payments\n" in out.out
    assert "+Card payments go through PIC-003" in out.out
    assert "would move PIC-002 'Adyen Payments'" in out.err
    assert ("  would rewrite 1 anchor, 2 bare mentions, 1 code span, 5 fragments, 1 heading, 3 links, "
            "1 table cell in 3 files\n") in out.err
    assert files() == before
    assert run("renumber", "PIC-002") == 0
    assert "  rewrote 1 anchor, 2 bare mentions" in capsys.readouterr().err


def test_to_names_the_new_id(project: Path) -> None:
    assert run("renumber", "PIC-002", "--to", "PIC-150", "--no-sync") == 0

    text = read(project, "SoT/SoT.PARTNERS.md")
    assert "## PIC-150: Adyen Payments" in text
    assert "[PIC-150](SoT.PARTNERS.md#pic-150-adyen-payments)" in read(project, "SoT/SoT.API.md")


@pytest.mark.parametrize(("to", "message"), [
    ("PIC-001", "already defined"),
    ("API-009", "must keep the prefix"),
    ("pic-9", "not an ID"),
])
def test_to_refuses_ids_it_cannot_take(project: Path, to: str, message: str) -> None:
    config = load_config(project)
    with pytest.raises(SotbError, match=message):
        renumber(config, "PIC-002", to=to, sync=False)
    assert read(project, "SoT/SoT.PARTNERS.md") == PARTNERS


def test_unknown_id_is_a_usage_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("renumber", "PIC-042") == 2
    assert "PIC-042 is defined nowhere" in capsys.readouterr().err


def test_the_ledger_records_the_move_and_still_verifies(project: Path) -> None:
    assert run("ledger", "update") == 0
    assert run("renumber", "PIC-002", "--no-sync") == 0

    ledger = read_ledger(project / "SoT" / "SoT.LEDGER.jsonl")
    assert ledger is not None and ledger.problems == ()
    last = ledger.events[-1].data
    assert (last["event"], last["from"], last["to"], last["title"]) == (
        "renumbered", "PIC-002", "PIC-003", "Adyen Payments")
    assert last["parents"] == [ledger.events[-2].hash]
    assert run("ledger", "verify") == 0


def test_an_id_the_ledger_issued_is_never_taken_again(project: Path) -> None:
    assert run("ledger", "update") == 0
    assert run("renumber", "PIC-002", "--no-sync") == 0  # PIC-002 -> PIC-003
    with pytest.raises(SotbError, match="never reused"):
        renumber(load_config(project), "PIC-003", to="PIC-002", sync=False)
    assert run("renumber", "PIC-003", "--no-sync") == 0
    assert "## PIC-004: Adyen Payments" in read(project, "SoT/SoT.PARTNERS.md")


def test_line_endings_and_byte_order_mark_are_kept(project: Path) -> None:
    path = project / "SoT" / "SoT.PARTNERS.md"
    path.write_bytes(b"\xef\xbb\xbf" + PARTNERS.replace("\n", "\r\n").encode())
    path.chmod(0o640)

    assert run("renumber", "PIC-002", "--no-sync") == 0

    data = path.read_bytes()
    assert data == b"\xef\xbb\xbf" + PARTNERS_AFTER.replace("\n", "\r\n").encode()
    assert path.stat().st_mode & 0o777 == 0o640


def test_reserve_takes_the_number_from_the_store(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sot_builder.reserve import open_store

    url = f"sqlite:///{project.parent / 'reservations.db'}"
    monkeypatch.setenv("SOTB_RESERVATION_DB", url)
    with open_store(url) as store:
        for _ in range(6):  # another branch reserved up to PIC-006
            store.reserve("PIC", 1, 99)

    assert run("renumber", "PIC-002", "--reserve", "--no-sync") == 0

    assert "## PIC-007: Adyen Payments" in read(project, "SoT/SoT.PARTNERS.md")
    with open_store(url) as store:
        assert 7 in store.reserved("PIC")


def test_a_table_row_entry_moves_too(project: Path) -> None:
    (project / "sotb.toml").write_text(
        (project / "sotb.toml").read_text() + '\n[types.GL]\nfile = "SoT.GLOSSARY.md"\ntable_rows = true\n'
        'fields = []\n')
    (project / "SoT" / "SoT.GLOSSARY.md").write_text(
        "# Glossary\n\n| ID | Term | Meaning |\n|----|------|---------|\n"
        "| GL-001 | Charge | Taking money |\n| GL-002 | Refund | Giving it back (see GL-001) |\n")
    (project / "docs" / "terms.md").write_text("A refund (GL-002) undoes a charge (GL-001).\n")

    assert run("renumber", "GL-002", "--no-sync") == 0

    assert "| GL-003 | Refund | Giving it back (see GL-001) |" in read(project, "SoT/SoT.GLOSSARY.md")
    assert read(project, "docs/terms.md") == "A refund (GL-003) undoes a charge (GL-001).\n"


def test_reference_style_links_and_their_definitions_follow(project: Path) -> None:
    (project / "docs" / "refs.md").write_text(
        "See [PIC-002][], [Adyen][a] and [PIC-002].\n\n"
        "[PIC-002]: ../SoT/SoT.PARTNERS.md#pic-002-adyen-payments\n"
        "[a]: ../SoT/SoT.PARTNERS.md#pic-002-adyen-payments\n")

    assert run("renumber", "PIC-002", "--no-sync") == 0

    assert read(project, "docs/refs.md") == (
        "See [PIC-003][], [Adyen][a] and [PIC-003].\n\n"
        "[PIC-003]: ../SoT/SoT.PARTNERS.md#pic-003-adyen-payments\n"
        "[a]: ../SoT/SoT.PARTNERS.md#pic-003-adyen-payments\n")


def test_an_id_or_recover_is_required(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("renumber") == 2
    assert "missing ID (or --recover)" in capsys.readouterr().err
    assert run("renumber", "PIC-002", "--recover") == 2
    assert "--recover takes no ID" in capsys.readouterr().err

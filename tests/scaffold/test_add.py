"""`sotb add PREFIX`: allocate the next ID, write the entry, its navigation item and back-references."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sot_builder.config import load_config
from sot_builder.parse import parse_document
from sot_builder.project import load_project
from sot_builder.render import md_inline

from .conftest import TODAY

PIC = Path("SoT/SoT.PARTNER_INTEGRATIONS.md")
API = Path("SoT/SoT.API_CONTRACTS.md")


@pytest.fixture
def pic(registry, sotb):
    assert sotb("new", "PIC").code in (0, 1)
    return registry


def _entries(path: Path) -> dict:
    doc = parse_document(path.read_bytes(), path.as_posix())
    return {e.id: e for e in doc.entries}


def _add(sotb, *args: str) -> str:
    r = sotb("add", *args)
    assert r.code == 0, r.err
    return r.out


def _errors(sotb) -> list[str]:
    r = sotb("lint", "--format", "text")
    return [line for line in r.out.splitlines() if "[error]" in line]


def test_ids_follow_the_category_ranges(pic, sotb):
    assert sotb("new", "API").code in (0, 1)
    assert _add(sotb, "PIC", "--title", "Stripe Payment Processing", "--category", "Payment providers") == "PIC-001\n"
    assert _add(sotb, "PIC", "--title", "Twilio SMS/Voice", "--category", "Communication services") == "PIC-101\n"
    assert _add(sotb, "PIC", "--title", "Adyen", "--category", "payment PROVIDERS") == "PIC-002\n"
    assert _add(sotb, "PIC", "--title", "Braintree") == "PIC-003\n"  # the first category by default
    entries = _entries(PIC)
    assert list(entries) == ["PIC-001", "PIC-002", "PIC-003", "PIC-101"]  # kept in number order
    assert entries["PIC-001"].title == "Stripe Payment Processing"
    text = PIC.read_text(encoding="utf-8")
    nav = text[text.index("## Navigation by Category"):text.index("## PIC-001")]
    assert nav.index("[PIC-001](#pic-001-stripe-payment-processing)") < nav.index("[PIC-002]")
    assert nav.index("[PIC-003]") < nav.index("**Communication services**") < nav.index("[PIC-101]")
    assert _errors(sotb) == []


def test_entry_has_every_required_field(pic, sotb):
    _add(sotb, "PIC", "--title", "Stripe", "--field", "Partner=Stripe, Inc.")
    e = _entries(PIC)["PIC-001"]
    assert e.value("ID") == "PIC-001"
    assert e.value("Partner") == "Stripe, Inc."
    assert e.value("Status") == "Pending"  # the type's status for new entries
    assert e.value("SLA Guarantee") == "{Uptime and response guarantees}"
    assert e.value("Billing Contact") == "{billing@example.com}"
    assert e.field("Fallback Provider") is None  # optional and not given
    assert [p for p, _ in e.placeholders] == ["{Uptime and response guarantees}", "{billing@example.com}"]
    r = sotb("lint")
    assert "SOT304" in r.out  # unfilled placeholders are flagged ...
    assert _errors(sotb) == []  # ... as warnings only


def test_field_values_are_checked(pic, sotb):
    _add(sotb, "PIC", "--title", "A", "--field", "status=active", "--field", "Contract Signed=2024-06-15")
    e = _entries(PIC)["PIC-001"]
    assert e.value("Status") == "Active"
    assert e.value("Contract Signed") == "2024-06-15"
    before = PIC.read_bytes()
    for bad, words in (
        ("Status=Done", "Active | Expired | Pending"),
        ("Renewal Date=2024-13-45", "YYYY-MM-DD"),
        ("Colour=blue", "no field 'Colour'"),
        ("no-equals-sign", "NAME=VALUE"),
    ):
        r = sotb("add", "PIC", "--title", "B", "--field", bad)
        assert r.code == 2 and words in r.err, (bad, r.err)
    assert PIC.read_bytes() == before


def test_numbers_are_never_reused(pic, sotb):
    text = PIC.read_text(encoding="utf-8")
    text = text.replace(
        "|----|-------|------------|-------------|\n",
        "|----|-------|------------|-------------|\n| PIC-007 | Old gateway | 2024-01-01 | - |\n",
    )
    text = text.replace("---\n\n## Deprecated", "## PIC-004: Kept\n\n**ID**: PIC-004\n**Partner**: K\n"
                        "**Status**: Active\n**SLA Guarantee**: 1\n**Billing Contact**: k@x\n\n---\n\n## Deprecated")
    PIC.write_text(text, encoding="utf-8")
    assert _add(sotb, "PIC", "--title", "Next") == "PIC-008\n"  # above the retired PIC-007
    # deleting the highest entry does not hand its number out again once the ledger saw it
    assert _add(sotb, "PIC", "--title", "Gap kept") == "PIC-009\n"


def test_ledger_numbers_are_skipped_and_new_ids_recorded(pic, sotb):
    ledger = pytest.importorskip("sot_builder.ledger")
    config = load_config(Path.cwd())
    ledger.append_events(config, [{"event": "issued", "id": "PIC-012", "title": "Gone",
                                   "file": "SoT.PARTNER_INTEGRATIONS.md"}])
    assert _add(sotb, "PIC", "--title", "After the ledger") == "PIC-013\n"
    project = load_project(load_config(Path.cwd()), use_cache=False)
    assert {"PIC-012", "PIC-013"} <= ledger.ledger_ids(project)


def test_a_full_category_is_a_clear_error(pic, sotb):
    text = PIC.read_text(encoding="utf-8").replace(
        "| PIC-001 to PIC-099", "| PIC-001 to PIC-099")
    text = text.replace("---\n\n## Deprecated", "## PIC-099: Last\n\n**Status**: Active\n\n---\n\n## Deprecated")
    PIC.write_text(text, encoding="utf-8")
    before = PIC.read_bytes()
    r = sotb("add", "PIC", "--title", "One more", "--category", "Payment providers")
    assert r.code == 2
    assert "'Payment providers' of PIC is full (PIC-001 to PIC-099" in r.err
    assert PIC.read_bytes() == before
    assert _add(sotb, "PIC", "--title", "Elsewhere", "--category", "Infrastructure services") == "PIC-201\n"


def test_unknown_category_lists_the_choices(pic, sotb):
    r = sotb("add", "PIC", "--title", "X", "--category", "Payments")
    assert r.code == 2
    assert "'Payment providers' (PIC-001 to PIC-099)" in r.err


def test_add_needs_the_file(registry, sotb):
    r = sotb("add", "PIC", "--title", "X")
    assert r.code == 2
    assert "sotb new PIC" in r.err
    r = sotb("add", "ZZZ", "--title", "X")
    assert r.code == 2 and "sotb type add" in r.err


@pytest.mark.parametrize("title, heading", [
    ("{{ 7*7 }} {% raw %}", "## PIC-001: {{ 7\\*7 }} {% raw %}"),
    ("`code` | pipe <b>bold</b>", "## PIC-001: \\`code\\` \\| pipe \\<b\\>bold\\</b\\>"),
    ("two\nlines\r\n  here", "## PIC-001: two lines here"),
    ("Ticket ##", "## PIC-001: Ticket \\##"),
    ("Anchor {#pic-009}", "## PIC-001: Anchor {\\#pic-009}"),
    ("[link](x.md) *star* _under_ # not-a-heading", "## PIC-001: \\[link\\](x.md) \\*star\\* \\_under\\_ # not-a-heading"),
])
def test_titles_are_written_literally(pic, sotb, title, heading):
    assert _add(sotb, "PIC", "--title", title) == "PIC-001\n"
    lines = PIC.read_text(encoding="utf-8").splitlines()
    assert heading in lines
    assert "49" not in "\n".join(lines)
    doc = parse_document(PIC.read_bytes(), PIC.as_posix())
    assert [e.id for e in doc.entries] == ["PIC-001"]  # nothing in the title made a second entry
    assert doc.entries[0].title == heading.split(": ", 1)[1]
    assert doc.entries[0].anchor.startswith("pic-001-")
    assert [r.target for r in doc.entries[0].refs if r.target != "PIC-001"] == []  # nor a reference
    nav = [ln for ln in lines if ln.startswith("- [PIC-001](")]
    assert len(nav) == 1 and nav[0].startswith(f"- [PIC-001](#{doc.entries[0].anchor}) - ")
    assert nav[0].endswith((" - " + md_inline(title), " - " + doc.entries[0].title))
    assert _errors(sotb) == []


def test_empty_title_is_refused(pic, sotb):
    r = sotb("add", "PIC", "--title", " \n ")
    assert r.code == 2 and "title is empty" in r.err


def test_references_and_back_references(pic, sotb):
    assert sotb("new", "API").code in (0, 1)
    assert _add(sotb, "API", "--title", "POST /payments/charge", "--field", "Method=POST") == "API-001\n"
    assert _add(sotb, "PIC", "--title", "Stripe", "--ref", "API-001") == "PIC-001\n"
    pic_entry = _entries(PIC)["PIC-001"]
    api_entry = _entries(API)["API-001"]
    forward = [r for r in pic_entry.refs if r.target == "API-001"]
    assert forward and forward[0].section == "Integration Points"
    assert forward[0].href == "SoT.API_CONTRACTS.md#api-001-post-paymentscharge"
    back = [r for r in api_entry.refs if r.target == "PIC-001"]
    assert back and back[0].section == "Uses Partner"
    assert back[0].href == "SoT.PARTNER_INTEGRATIONS.md#pic-001-stripe"
    assert back[0].note == "Stripe"
    text = API.read_text(encoding="utf-8")
    assert text.index("### Uses Partner") < text.index("### Version History", text.index("## API-001"))
    # a second partner joins the same section
    assert _add(sotb, "PIC", "--title", "Adyen", "--ref", "API-001") == "PIC-002\n"
    api_entry = _entries(API)["API-001"]
    assert [r.target for r in api_entry.refs if r.section == "Uses Partner"] == ["PIC-001", "PIC-002"]
    assert API.read_text(encoding="utf-8").count("### Uses Partner") == 1
    r = sotb("lint", "--select", "SOT2")
    assert "[error]" not in r.out, r.out
    if "SOT208" in sotb("rules").out:
        assert "SOT208" not in sotb("lint").out


def test_reference_to_an_undefined_id_is_refused(pic, sotb):
    before = PIC.read_bytes()
    r = sotb("add", "PIC", "--title", "X", "--ref", "API-404")
    assert r.code == 2 and "API-404 is not defined" in r.err
    assert PIC.read_bytes() == before


def test_line_endings_encoding_and_mode_are_kept(pic, sotb):
    text = PIC.read_text(encoding="utf-8").replace("\n", "\r\n")
    PIC.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    os.chmod(PIC, 0o640)
    assert _add(sotb, "PIC", "--title", "Stripe") == "PIC-001\n"
    data = PIC.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\n") == data.count(b"\r\n")
    assert b"## PIC-001: Stripe\r\n" in data
    assert stat.S_IMODE(PIC.stat().st_mode) == 0o640


def test_last_updated_moves_to_today(pic, sotb):
    PIC.write_text(PIC.read_text(encoding="utf-8").replace(f"last_updated: {TODAY}", "last_updated: 2020-01-01"),
                   encoding="utf-8")
    _add(sotb, "PIC", "--title", "Stripe")
    assert f"\nlast_updated: {TODAY}\n" in PIC.read_text(encoding="utf-8")


def test_dry_run_prints_a_diff(pic, sotb):
    before = PIC.read_bytes()
    r = sotb("add", "PIC", "--title", "Stripe", "--dry-run")
    assert r.code == 0
    assert "+## PIC-001: Stripe\n" in r.out
    assert "would add PIC-001" in r.err
    assert PIC.read_bytes() == before


def test_reserve_takes_numbers_from_the_store(pic, sotb, tmp_path, monkeypatch):
    pytest.importorskip("sot_builder.reserve")
    r = sotb("add", "PIC", "--title", "X", "--reserve")
    assert r.code == 2 and "reservation" in r.err
    monkeypatch.setenv("SOTB_RESERVATION_DB", str(tmp_path / "reservations.db"))
    assert _add(sotb, "PIC", "--title", "A", "--reserve") == "PIC-001\n"
    # a number reserved elsewhere (another branch) is not handed out again
    from sot_builder.reserve import open_store

    with open_store(tmp_path / "reservations.db") as store:
        assert store.reserve("PIC", 1, 99) == 2
    assert _add(sotb, "PIC", "--title", "B", "--reserve") == "PIC-003\n"
    assert _add(sotb, "PIC", "--title", "C", "--reserve", "--category", "Communication services") == "PIC-101\n"


def test_a_missing_final_newline_stays_missing(pic, sotb):
    PIC.write_bytes(PIC.read_bytes().rstrip(b"\n"))
    _add(sotb, "PIC", "--title", "Stripe")
    data = PIC.read_bytes()
    assert not data.endswith(b"\n") and b"## PIC-001: Stripe\n" in data


@pytest.mark.parametrize("opener, what", [("```\nopen fence\n", "code fence"), ("<!-- open\n", "HTML comment")])
def test_add_refuses_a_file_with_an_unclosed_block(pic, sotb, opener, what):
    assert _add(sotb, "PIC", "--title", "Stripe") == "PIC-001\n"
    line = PIC.read_bytes().count(b"\n") + 1
    PIC.write_bytes(PIC.read_bytes() + opener.encode())
    before = PIC.read_bytes()
    r = sotb("add", "PIC", "--title", "After the block")
    assert r.code == 2
    assert f"{PIC.as_posix()}:{line}: the {what} opened at line {line} is never closed; close it first" in r.err
    assert PIC.read_bytes() == before


def test_add_refuses_a_reference_whose_file_cannot_get_the_link_back(pic, sotb):
    assert sotb("new", "API").code in (0, 1)
    assert _add(sotb, "API", "--title", "Charge") == "API-001\n"
    line = API.read_bytes().count(b"\n") + 1
    API.write_bytes(API.read_bytes() + b"```\nopen fence\n")
    before = {path: path.read_bytes() for path in Path("SoT").glob("*.md")}
    r = sotb("add", "PIC", "--title", "Stripe", "--ref", "API-001")
    assert r.code == 2
    assert (f"{API.as_posix()}:{line}: API-001 cannot get its link back: the code fence opened at line {line} "
            "is never closed") in r.err
    assert {path: path.read_bytes() for path in Path("SoT").glob("*.md")} == before


def test_a_file_changed_while_the_registry_files_are_written_is_refused_whole(pic, sotb, monkeypatch):
    import sot_builder.sync as sync_module
    from sot_builder.diagnostics import SotbError
    from sot_builder.scaffold import run_sync

    _add(sotb, "PIC", "--title", "Stripe Payment Processing")
    pic_file = pic / "SoT" / "SoT.PARTNER_INTEGRATIONS.md"
    with pic_file.open("a", encoding="utf-8") as fh:  # an entry by hand: navigation and index are behind
        fh.write("\n## PIC-002: Adyen\n\n**Status**: Active\n")
    index = pic / "SoT" / "SoT.UNIQUE_ID_SYSTEM.md"
    real = sync_module.plan_sync

    def plan_then_edit(project):
        result = real(project)
        assert {c.path for c in result.changes} >= {"SoT/SoT.PARTNER_INTEGRATIONS.md", "SoT/SoT.UNIQUE_ID_SYSTEM.md"}
        index.write_text(index.read_text(encoding="utf-8") + "\nedited meanwhile\n", encoding="utf-8")
        return result

    monkeypatch.setattr(sync_module, "plan_sync", plan_then_edit)
    before = pic_file.read_bytes()
    with pytest.raises(SotbError, match="changed while sotb was writing"):
        run_sync(load_config(pic))
    assert pic_file.read_bytes() == before  # nothing written, though this file had not changed
    assert index.read_text(encoding="utf-8").endswith("edited meanwhile\n")

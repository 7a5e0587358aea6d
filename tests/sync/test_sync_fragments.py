"""Giving links whose fragment names their entry by ID (`#api-045`, an old title's slug) the entry's anchor."""

from __future__ import annotations

from pathlib import Path

from sync_helpers import edit, snapshot

from sot_builder.cli import main
from sot_builder.config import load_config
from sot_builder.engine import run
from sot_builder.project import load_project
from sot_builder.rules import all_rules
from sot_builder.sync import sync_project

GOOD = "[API-045](SoT.API_CONTRACTS.md#api-045-post-paymentscharge)"
BODY = "A failed charge is retried at most three times."


def sync(root: Path, write: bool = True):
    return sync_project(load_config(root), write=write)


def diagnostics(root: Path, code: str) -> list:
    return [d for d in run(load_project(load_config(root), use_cache=False), all_rules()) if d.code == code]


def business_rules(root: Path) -> Path:
    return root / "SoT" / "SoT.BUSINESS_RULES.md"


def test_a_short_fragment_and_an_old_title_s_slug_get_the_entry_s_anchor(registry: Path) -> None:
    path = business_rules(registry)
    edit(path, BODY, BODY + " Charged by [API-045](SoT.API_CONTRACTS.md#api-045).\n\n"
         "**Charged by**: [API-045](SoT.API_CONTRACTS.md#api-045-post-charge \"old title\"), see [the API]"
         "(SoT.API_CONTRACTS.md#api-045)")
    found = diagnostics(registry, "SOT203")
    assert [(d.line, d.fix) for d in found] == [(26, "run `sotb sync`")] * 1 + [(28, "run `sotb sync`")] * 2
    result = sync(registry)
    assert [(f.line, f.href) for f in result.fragments] == [
        (26, "SoT.API_CONTRACTS.md#api-045"), (28, "SoT.API_CONTRACTS.md#api-045-post-charge"),
        (28, "SoT.API_CONTRACTS.md#api-045")]
    text = path.read_text(encoding="utf-8")
    assert (BODY + f" Charged by {GOOD}.\n\n**Charged by**: [API-045](SoT.API_CONTRACTS.md"
            "#api-045-post-paymentscharge \"old title\"), see [the API](SoT.API_CONTRACTS.md"
            "#api-045-post-paymentscharge)\n") in text
    assert diagnostics(registry, "SOT203") == []
    assert sync(registry).changes == ()


def test_links_that_could_mean_something_else_are_left_as_written(registry: Path) -> None:
    sync(registry)  # the navigation is wrapped in markers: the next sync changes only what the links ask
    path = business_rules(registry)
    doubtful = [
        "[API-046](SoT.API_CONTRACTS.md#api-045)",  # the label names another entry
        "[API-045](SoT.API_CONTRACTS.md#payments)",  # the fragment names no entry
        "[API-045][charge]",  # the destination is written elsewhere
    ]
    edit(path, BODY, BODY + "\n\n" + "\n".join(f"- {link}" for link in doubtful)
         + "\n\n[charge]: SoT.API_CONTRACTS.md#api-045\n")
    api = registry / "SoT" / "SoT.API_CONTRACTS.md"
    api.write_text(api.read_text(encoding="utf-8") + "\n## API-046: A second heading of API-046\n",
                   encoding="utf-8")
    edit(path, "### Affected By", "### Charged by [API-045](SoT.API_CONTRACTS.md#api-045)\n\n### Affected By")
    edit(path, "- [API-046](SoT.API_CONTRACTS.md#api-045)",
         "- [API-046](SoT.API_CONTRACTS.md#api-045)\n- [API-046](SoT.API_CONTRACTS.md#api-046)")
    assert all(not d.fix for d in diagnostics(registry, "SOT203"))
    before = snapshot(registry)
    result = sync(registry)
    assert result.fragments == ()
    after = snapshot(registry)
    assert after["SoT/SoT.BUSINESS_RULES.md"] == before["SoT/SoT.BUSINESS_RULES.md"]


def test_a_suppressed_or_ignored_link_is_not_repaired(registry: Path) -> None:
    path = business_rules(registry)
    edit(path, BODY, BODY + "\n\n<!-- sotb-disable-next-line SOT203 -->\nSee [API-045](SoT.API_CONTRACTS.md#api-045).")
    assert sync(registry).fragments == ()
    assert "[API-045](SoT.API_CONTRACTS.md#api-045)." in path.read_text(encoding="utf-8")
    edit(path, "<!-- sotb-disable-next-line SOT203 -->\n", "")
    toml = registry / "sotb.toml"
    toml.write_text('ignore = ["SOT203"]\n' + toml.read_text(encoding="utf-8"), encoding="utf-8")
    assert sync(registry).fragments == ()


def test_check_shows_the_repair_and_writes_nothing(registry: Path, capsys) -> None:
    path = business_rules(registry)
    edit(path, BODY, BODY + " Charged by [API-045](SoT.API_CONTRACTS.md#api-045).")
    before = snapshot(registry)
    assert main(["sync", "--check", str(registry)]) == 1
    out = capsys.readouterr().out
    assert f"+{BODY} Charged by {GOOD}." in out
    assert snapshot(registry) == before
    assert main(["sync", str(registry)]) == 0
    assert "gave 1 link(s) their entry's anchor" in capsys.readouterr().out


def test_a_crlf_file_keeps_its_line_endings(registry: Path) -> None:
    path = business_rules(registry)
    edit(path, BODY, BODY + " Charged by [API-045](SoT.API_CONTRACTS.md#api-045).")
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    sync(registry)
    data = path.read_bytes()
    assert f" Charged by {GOOD}.\r\n".encode() in data
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_a_line_keeps_its_own_ending_in_a_file_of_mixed_endings(registry: Path) -> None:
    path = business_rules(registry)
    edit(path, BODY, BODY + " Charged by [API-045](SoT.API_CONTRACTS.md#api-045).\r")
    sync(registry)
    assert f" Charged by {GOOD}.\r\n".encode() in path.read_bytes()

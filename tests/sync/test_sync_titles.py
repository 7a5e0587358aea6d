"""Titles with Markdown control characters survive the index table: written by sync, read back the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from sot_builder.config import load_config
from sot_builder.engine import run
from sot_builder.parse import parse_document
from sot_builder.project import load_project
from sot_builder.render import md_cell, md_inline
from sot_builder.rules import all_rules
from sot_builder.rules.registry_files import index_rows, shown_text
from sot_builder.sync import sync_project

HOSTILE = [
    r"\ backslash \| \*",
    "a | b || c",
    "ends with a backslash \\",
    "`code | span` and `tick",
    "*stars* and **bold**",
    "<b>bold</b> & <!-- x",
]


@pytest.mark.parametrize("title", HOSTILE)
@pytest.mark.parametrize("heading", [md_inline, str], ids=["escaped", "raw"])
def test_a_cell_reads_back_as_the_heading_title(title: str, heading) -> None:
    raw = heading(title)
    entry = parse_document(f"## PIC-001: {raw}\n", "SoT/SoT.PIC.md", "sot").entries[0]
    row = f"| ID | Title |\n|----|-------|\n| PIC-001 | {md_cell(entry.title)} |\n"
    table = parse_document(row, "t.md", "doc").tables[0]
    assert table.rows[0].cells == ("PIC-001", entry.title)
    assert shown_text(table.rows[0].cells[1]) == shown_text(entry.title)


@pytest.mark.parametrize("cell, title", [(r"a \| b", r"a \| b"), (r"\*x\*", "*x*"), ("a\\\\b", "a\\b")])
def test_shown_text_resolves_escapes(cell: str, title: str) -> None:
    assert shown_text(cell.replace(r"\|", "|")) == shown_text(title)


def test_hostile_titles_round_trip_through_sync(registry: Path) -> None:
    pic = registry / "SoT" / "SoT.PARTNER_INTEGRATIONS.md"
    entries = "".join(f"\n## PIC-{150 + k}: {md_inline(t)}\n\n**Status**: Active\n" for k, t in enumerate(HOSTILE))
    entries += "\n## PIC-199: a \\| b \\\\| c\n\n**Status**: Active\n"
    pic.write_text(pic.read_text(encoding="utf-8").replace("\n## Update Protocol", entries + "\n## Update Protocol"),
                   encoding="utf-8")
    config = load_config(registry)
    assert sync_project(config, write=True).changes
    project = load_project(config, use_cache=False)
    rows = index_rows(project.document_named("SoT.UNIQUE_ID_SYSTEM.md"))
    for e in project.entries():
        if e.prefix == "PIC" and e.number >= 150:
            assert rows[e.id][0] == e.title
    assert [d for d in run(project, all_rules()) if d.code == "SOT407"] == []
    assert sync_project(config, write=True).changes == ()

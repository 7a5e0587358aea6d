"""The pure parts of scaffolding: allocation, text insertion, config edits, escaping."""

from __future__ import annotations

import pytest

from sot_builder.diagnostics import SotbError
from sot_builder.parse import parse_document
from sot_builder.scaffold import (
    config_with_types,
    deprecated_mentions,
    heading_inline,
    insert_block,
    insertion_line,
    next_number,
    yaml_scalar,
)


@pytest.mark.parametrize("used, expected", [
    ((), 1), ((1, 2, 3), 4), ((1, 5), 6), ((150, 7), 8), ((99,), None), ((98,), 99),
])
def test_next_number_is_highest_plus_one_in_the_range(used, expected):
    assert next_number(1, 99, used) == expected


def test_entries_go_in_number_order_and_keep_the_file_style():
    text = "# T\n\n## Navigation\n\n## PIC-001: A\n\nx\n## PIC-005: B\n\ny\n"
    doc = parse_document(text, "t.md")
    lines = text.split("\n")[:-1]
    at = insertion_line(doc, "PIC", 3)
    assert lines[at] == "## PIC-005: B"
    out = insert_block(lines, at, ["## PIC-003: C", "", "z"])
    # no `---` rules in this file: none added
    assert "\n".join(out) + "\n" == "# T\n\n## Navigation\n\n## PIC-001: A\n\nx\n\n## PIC-003: C\n\nz\n\n## PIC-005: B\n\ny\n"
    at = insertion_line(doc, "PIC", 9)
    assert at == len(lines)
    assert insert_block(lines, at, ["## PIC-009: D"])[-3:] == ["y", "", "## PIC-009: D"]


def test_deprecated_sections_are_read_whatever_their_shape():
    text = ("## PIC-001: A\n\n## Deprecated\n\n| PIC-007 | Old |\n|---|---|\n\n- PIC-008 retired\n\n"
            "### PIC-009: Gone\n\n## Update Protocol\n\nPIC-050\n")
    assert deprecated_mentions(parse_document(text, "t.md")) == ["PIC-007", "PIC-008", "PIC-009"]


def test_config_edits_append_tables_and_refuse_what_they_cannot_add():
    text = 'root = "SoT"\n\n[types]\n\n[severity]\nSOT304 = "off"\n'
    out = config_with_types(text, "types", [("PIC", {}), ("ORD", {"definition": "types/ord.yaml"})])
    assert out.startswith(text)
    assert out.endswith('\n[types.PIC]\n\n[types.ORD]\ndefinition = "types/ord.yaml"\n')
    with pytest.raises(SotbError, match="add it by hand"):
        config_with_types('types = { BR = {} }\n', "types", [("PIC", {})])


@pytest.mark.parametrize("text, expected", [
    ("Plain purpose", "Plain purpose"),
    ("yes", '"yes"'),
    ("1.10", '"1.10"'),
    ("key: value # not a comment", '"key: value # not a comment"'),
    ("line\nbreak", "line break"),
])
def test_frontmatter_scalars_read_back_unchanged(text, expected):
    import yaml

    assert yaml_scalar(text) == expected
    assert yaml.safe_load(f"k: {yaml_scalar(text)}") == {"k": " ".join(text.split())}


def test_heading_titles_cannot_close_the_heading_or_name_an_anchor():
    assert heading_inline("Issue #") == "Issue \\#"
    assert heading_inline("Set {#x}") == "Set {\\#x}"
    assert heading_inline("C# client") == "C# client"

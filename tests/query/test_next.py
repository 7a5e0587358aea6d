"""`sotb next`: the next free ID, writing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from sot_builder.cli import main

pytest.importorskip("sot_builder.scaffold")  # `sotb next` uses the allocator of `sotb add`


def run(registry: Path, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["next", "-C", str(registry), *args])
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of the project but the parse cache."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".sotb_cache" not in p.parts}


def test_highest_used_plus_one(registry: Path, capsys) -> None:
    assert run(registry, capsys, "FEA") == (0, "FEA-005\n", "")  # FEA-004 is deprecated, still used
    assert run(registry, capsys, "br") == (0, "BR-001\n", "")  # BR has entries only in Security


def test_dangling_references_count_as_used(registry: Path, capsys) -> None:
    # API-099 is referenced (and defined nowhere): a new entry must not capture that link,
    # so Core endpoints (API-001 to API-099) has no number left
    code, out, err = run(registry, capsys, "API")
    assert (code, out) == (2, "")
    assert "category 'Core endpoints' of API is full (API-001 to API-099" in err


def test_category(registry: Path, capsys) -> None:
    assert run(registry, capsys, "API", "--category", "Admin endpoints")[1] == "API-102\n"
    assert run(registry, capsys, "API", "--category", "webhooks")[1] == "API-201\n"
    code, _, err = run(registry, capsys, "API", "--category", "Nope")
    assert code == 2 and "no category 'Nope'" in err


def test_numbers_named_in_deprecated_sections_are_skipped(registry: Path, capsys) -> None:
    path = registry / "SoT" / "SoT.FEATURES.md"
    path.write_text(path.read_text().replace(
        "Invoices sent by post. Replaced by card payments.",
        "Invoices sent by post. Replaced by card payments.\n\n- FEA-009: Fax orders (retired in 2023)"))
    assert run(registry, capsys, "FEA")[1] == "FEA-010\n"


def test_writes_nothing(registry: Path, capsys) -> None:
    before = snapshot(registry)
    run(registry, capsys, "PIC", "--category", "Communication services")
    assert snapshot(registry) == before


def test_unknown_prefix(registry: Path, capsys) -> None:
    code, out, err = run(registry, capsys, "XYZ")
    assert code == 2 and out == ""
    assert "unknown prefix XYZ; registered prefixes: API, BR, EPIC, FEA, PIC" in err

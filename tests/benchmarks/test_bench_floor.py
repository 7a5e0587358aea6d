"""benchmarks/floor.py: finds nothing on clean registries, everything injected."""

from __future__ import annotations

from pathlib import Path

import floor
import generate
import pytest


def problems(root: Path) -> list[floor.Problem]:
    return floor.check(floor.scan_root(str(root)))


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_clean_registry_has_no_problems(tmp_path: Path) -> None:
    generate.generate(tmp_path, 700, files=5, seed=2)
    scan = floor.scan_root(str(tmp_path / "SoT"))
    assert floor.check(scan) == []
    assert len(scan.entries) == 700
    assert scan.files == 7
    assert scan.fields >= 700 * 3
    assert sum(1 for link in scan.links if link[0]) > 700 * 5


@pytest.mark.parametrize("seed, count", [(1, 4), (7, 12)])
def test_finds_exactly_the_injected_defects(tmp_path: Path, seed: int, count: int) -> None:
    defects = generate.generate(tmp_path, 900, files=6, seed=seed, defects=count)
    found = problems(tmp_path / "SoT")
    got = sorted((p.kind, f"SoT/{p.path}", p.entry, p.target) for p in found)
    want = sorted((d.kind, d.path, d.entry, d.target) for d in defects)
    assert got == want


def test_repeated_headings_get_numbered_anchors(tmp_path: Path) -> None:
    write(tmp_path, {
        "a.md": "## AB-001: One\n\n### Notes\n\n- [AB-002](#notes-1)\n\n"
                "## AB-002: Two\n\n### Notes\n\n- [AB-001](#ab-001-one)\n",
    })  # fmt: skip
    assert problems(tmp_path) == []


def test_links_to_missing_files_and_anchors(tmp_path: Path) -> None:
    write(tmp_path, {
        "a.md": "## AB-001: One\n\n- [CD-001](b.md#cd-001)\n- [CD-001](c.md#cd-001-two)\n",
        "b.md": "## CD-001: Two\n\n- [AB-001](a.md#ab-001-one)\n",
    })  # fmt: skip
    found = sorted((p.kind, p.path, p.entry, p.target) for p in problems(tmp_path))
    assert found == [("fragment", "a.md", "AB-001", "CD-001")] * 2


def test_links_in_subfolders_resolve_relative_to_their_file(tmp_path: Path) -> None:
    write(tmp_path, {
        "sub/a.md": "## AB-001: One\n\n- [CD-001](../b.md#cd-001-two)\n",
        "b.md": "## CD-001: Two\n\n- [AB-001](sub/a.md#ab-001-one)\n",
    })  # fmt: skip
    assert problems(tmp_path) == []


def test_back_references_count_only_links_inside_entries(tmp_path: Path) -> None:
    write(tmp_path, {
        "a.md": "# Title\n\n- [AB-002](#ab-002-two)\n\n## AB-001: One\n\n- [AB-002](#ab-002-two)\n\n"
                "## Notes\n\n- [AB-001](#ab-001-one)\n\n## AB-002: Two\n\nText.\n",
    })  # fmt: skip
    found = [(p.kind, p.entry, p.target) for p in problems(tmp_path)]
    assert found == [("backref", "AB-002", "AB-001")]


def test_duplicates_and_dangling_links(tmp_path: Path) -> None:
    write(tmp_path, {
        "a.md": "## AB-001: One\n\n- [AB-009](#ab-009-gone)\n\n### AB-001: Again\n\nText.\n",
    })  # fmt: skip
    found = sorted((p.kind, p.entry, p.target) for p in problems(tmp_path))
    assert found == [("dangling", "AB-001", "AB-009"), ("duplicate", "AB-001", "")]


def test_command_line_counts_and_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {"a.md": "---\nx: 1\n---\n# T\n\n## AB-001: One\n\n- [AB-009](#x)\n"})
    assert floor.main([str(tmp_path), "--list"]) == 1
    out = capsys.readouterr().out
    assert "entries 1," in out
    assert "duplicate 0, dangling 1, fragment 0, backref 0" in out
    assert "a.md:8: dangling AB-001 -> AB-009" in out
    assert "elapsed" in out
    generate.generate(tmp_path / "reg", 50, files=2)
    assert floor.main([str(tmp_path / "reg" / "SoT")]) == 0

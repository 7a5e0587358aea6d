"""benchmarks/generate.py: determinism, sizes, links, anchors, defects."""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections import Counter
from pathlib import Path

import generate
import pytest
import yaml

ENTRY = re.compile(r"^## ([A-Z]+-\d+): (.+)$", re.MULTILINE)
HEADING = re.compile(r"^(#{1,6}) (.+)$", re.MULTILINE)
LINK = re.compile(r"\[([A-Z]+-\d+)\]\(([^)#]*)#([^)]*)\)")
GOLDEN = Path(__file__).parent / "golden" / "tiny"


def tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def sot_files(root: Path) -> dict[str, str]:
    return {
        name: text
        for name, text in tree(root / "SoT").items()
        if name not in ("SoT.README.md", "SoT.UNIQUE_ID_SYSTEM.md")
    }


def github_slugs(text: str) -> set[str]:
    """Anchors of every heading, with GitHub's -1, -2 suffixes for repeats."""
    seen: Counter[str] = Counter()
    out = set()
    for _, title in HEADING.findall(text):
        base = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        out.add(base if seen[base] == 0 else f"{base}-{seen[base]}")
        seen[base] += 1
    return out


def entry_blocks(text: str) -> dict[str, str]:
    """Entry ID -> its text (up to the next entry heading); last duplicate wins."""
    marks = list(ENTRY.finditer(text))
    blocks = {}
    for m, nxt in zip(marks, [*marks[1:], None]):
        blocks[m.group(1)] = text[m.start() : nxt.start() if nxt else len(text)]
    return blocks


def related_links(root: Path) -> set[tuple[str, str]]:
    pairs = set()
    for text in sot_files(root).values():
        for entry_id, block in entry_blocks(text).items():
            pairs.update((entry_id, target) for target, _, _ in LINK.findall(block))
    return pairs


@pytest.mark.parametrize("value, expected", [
    ("BR-001: Rate limit", "br-001-rate-limit"),
    ("BR-001 | Rate limit", "br-001--rate-limit"),
    ("PIC-101: Twilio SMS/Voice (v2)", "pic-101-twilio-smsvoice-v2"),
    ("API-002: Retry & Alerts, Phase 2", "api-002-retry--alerts-phase-2"),
    ("DBT-015: user_preferences table", "dbt-015-user_preferences-table"),
])  # fmt: skip
def test_slug_follows_github_rules(value: str, expected: str) -> None:
    assert generate.slug(value) == expected


def test_numbers_skip_hundreds_and_grow_to_four_digits() -> None:
    numbers = [generate.number_for(k) for k in range(200)]
    assert numbers[:2] == [1, 2]
    assert numbers[98:100] == [99, 101]
    assert 100 not in numbers and 200 not in numbers
    assert generate.format_id("BR", generate.number_for(999)) == "BR-1010"
    assert generate.format_id("BR", 7) == "BR-007"


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert generate.generate(a, 300, files=4, seed=5, defects=4) == generate.generate(
        b, 300, files=4, seed=5, defects=4
    )
    generate.generate(c, 300, files=4, seed=6, defects=4)
    assert tree(a) == tree(b)
    assert tree(a) != tree(c)


def test_small_registry_matches_golden_files(tmp_path: Path) -> None:
    generate.generate(tmp_path, 7, files=2, seed=3)
    got = tree(tmp_path)
    if os.environ.get("SOTB_UPDATE_GOLDEN"):
        for rel, text in got.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_text(text, encoding="utf-8")
    assert got == tree(GOLDEN)


@pytest.mark.parametrize("entries, files", [(0, 3), (5, 10), (250, 3), (1000, 1)])
def test_requested_number_of_entries_and_files(tmp_path: Path, entries: int, files: int) -> None:
    generate.generate(tmp_path, entries, files=files, seed=1)
    sot = sot_files(tmp_path)
    assert len(sot) == files
    ids = [m.group(1) for text in sot.values() for m in ENTRY.finditer(text)]
    assert len(ids) == len(set(ids)) == entries
    if entries == 1000:
        assert {"BR-099", "BR-101", "BR-1010"} <= set(ids)
        assert "BR-100" not in ids and "BR-1011" not in ids


def test_files_have_frontmatter_title_and_navigation(tmp_path: Path) -> None:
    generate.generate(tmp_path, 500, files=3, seed=2)
    for name, text in sot_files(tmp_path).items():
        _, front, body = text.split("---\n", 2)
        meta = yaml.safe_load(front)
        prefix = ENTRY.search(body).group(1).split("-")[0]
        assert set(meta) == {"version", "purpose", "id_prefix", "last_updated", "authority"}
        assert meta["id_prefix"] == f"{prefix}-###"
        assert str(meta["last_updated"]) == "2025-01-10"
        assert re.search(r"^# .+$", body, re.MULTILINE)
        nav = body[body.index("## Navigation by Category") : ENTRY.search(body).start()]
        listed = re.findall(r"^- \[([A-Z]+-\d+)\]\(#", nav, re.MULTILINE)
        assert listed == [m.group(1) for m in ENTRY.finditer(body)], name
        assert f"**Core** ({prefix}-001 to {prefix}-099):" in nav
        assert f"**Extended** ({prefix}-101 to {prefix}-199):" in nav


def test_entries_have_fields_and_a_paragraph(tmp_path: Path) -> None:
    generate.generate(tmp_path, 200, files=2, seed=4)
    for text in sot_files(tmp_path).values():
        for entry_id, block in entry_blocks(text).items():
            fields = re.findall(r"^\*\*([^*]+)\*\*: (.+)$", block, re.MULTILINE)
            assert 3 <= len(fields) <= 6
            assert fields[0] == ("ID", entry_id)
            assert dict(fields)["Status"] in ("Active", "Draft", "Deprecated")
            paragraphs = [p for p in block.split("\n\n") if p and p[0].isupper()]
            assert paragraphs, entry_id


def test_links_go_both_ways(tmp_path: Path) -> None:
    generate.generate(tmp_path, 400, files=5, seed=9)
    pairs = related_links(tmp_path)
    assert pairs
    assert all((b, a) in pairs for a, b in pairs)
    assert all(a != b for a, b in pairs)
    assert 5 <= len(pairs) / 400 <= 7  # about six links per entry


def test_every_link_lands_on_a_heading(tmp_path: Path) -> None:
    generate.generate(tmp_path, 600, files=4, seed=11)
    sot = sot_files(tmp_path)
    slugs = {name: github_slugs(text) for name, text in sot.items()}
    checked = 0
    for name, text in sot.items():
        for target, file_part, fragment in LINK.findall(text):
            where = file_part or name
            assert fragment in slugs[where], (name, target, file_part, fragment)
            assert fragment.startswith(target.lower() + "-")
            checked += 1
    assert checked > 600 * 6


def test_registry_files_and_config_list_every_prefix(tmp_path: Path) -> None:
    generate.generate(tmp_path, 150, files=12, seed=1)
    names = sorted(sot_files(tmp_path))
    readme = (tmp_path / "SoT" / "SoT.README.md").read_text(encoding="utf-8")
    id_system = (tmp_path / "SoT" / "SoT.UNIQUE_ID_SYSTEM.md").read_text(encoding="utf-8")
    assert "| File | Prefixes | Purpose |" in readme
    assert "| Prefix | Meaning | File |" in id_system
    listed = re.findall(r"^\| `(SoT\.[A-Z_]+\.md)` \|", readme, re.MULTILINE)
    assert sorted(set(listed) - {"SoT.UNIQUE_ID_SYSTEM.md"}) == names
    prefixes = re.findall(r"^\| \*\*([A-Z]+)\*\* \|", id_system, re.MULTILINE)
    assert len(prefixes) == len(set(prefixes)) == 12
    assert all(2 <= len(p) <= 5 for p in prefixes)
    config = tomllib.loads((tmp_path / "sotb.toml").read_text(encoding="utf-8"))
    assert config["root"] == "SoT"
    assert list(config["types"]) == prefixes
    assert set(config["back_references"]) == set(prefixes)


def test_config_categories_cover_every_entry(tmp_path: Path) -> None:
    generate.generate(tmp_path, 2500, files=2, seed=1)
    config = tomllib.loads((tmp_path / "sotb.toml").read_text(encoding="utf-8"))
    for name, text in sot_files(tmp_path).items():
        entry_id = ENTRY.search(text).group(1)
        prefix = entry_id.split("-")[0]
        spec = config["types"][prefix]
        assert spec["file"] == name
        ranges = [(c["first"], c["last"]) for c in spec["categories"]]
        for m in ENTRY.finditer(text):
            number = int(m.group(1).split("-")[1])
            assert any(lo <= number <= hi for lo, hi in ranges), m.group(1)


def test_defects_are_injected_as_reported(tmp_path: Path) -> None:
    defects = generate.generate(tmp_path, 800, files=4, seed=3, defects=8)
    assert [d.kind for d in defects] == list(generate.DEFECT_KINDS) * 2
    sot = sot_files(tmp_path)
    all_ids = Counter(m.group(1) for text in sot.values() for m in ENTRY.finditer(text))
    pairs = related_links(tmp_path)
    for d in defects:
        text = (tmp_path / d.path).read_text(encoding="utf-8")
        block = entry_blocks(text)[d.entry]
        if d.kind == "dangling":
            assert d.target not in all_ids
            assert f"[{d.target}](" in block
        elif d.kind == "duplicate":
            assert all_ids[d.entry] == 2
        elif d.kind == "fragment":
            assert re.search(rf"\[{d.target}\]\([^)#]*#{d.target.lower()}\)", text)
        else:
            assert (d.target, d.entry) in pairs and (d.entry, d.target) not in pairs
            assert f"[{d.target}](" not in block


def test_defects_leave_the_rest_untouched(tmp_path: Path) -> None:
    generate.generate(tmp_path / "clean", 500, files=3, seed=8)
    defects = generate.generate(tmp_path / "bad", 500, files=3, seed=8, defects=4)
    clean, bad = tree(tmp_path / "clean"), tree(tmp_path / "bad")
    assert clean.keys() == bad.keys()
    removed = added = 0
    for rel in clean:
        for line in difflib.unified_diff(clean[rel].splitlines(), bad[rel].splitlines(), n=0):
            if line.startswith("-") and not line.startswith("---"):
                removed += 1
            elif line.startswith("+") and not line.startswith("+++"):
                added += 1
    assert len(defects) == 4
    assert removed == 2  # the rewritten fragment link and the dropped back-reference
    assert 3 <= added <= 20  # the dangling link, the new fragment link, the duplicate entry


def test_too_many_defects_for_a_tiny_registry(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate.generate(tmp_path, 1, files=1, defects=4)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reg"
    assert generate.main([str(out), "--entries", "120", "--files", "3", "--defects", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "defect dangling",
        "defect duplicate",
        "defect fragment",
    ]
    assert generate.main([str(out), "--entries", "50", "--files", "2"]) == 2
    assert "--force" in capsys.readouterr().err
    assert generate.main([str(out), "--entries", "50", "--files", "2", "--force"]) == 0
    assert len(sot_files(out)) == 2

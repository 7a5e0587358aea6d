"""`sotb lint` end to end on generated registries in tmp_path."""

from __future__ import annotations

import json
import random
from pathlib import Path

from sot_builder.cli import main
from sot_builder.slugs import slug

PREFIXES = {"BR": "SoT.BUSINESS_RULES.md", "API": "SoT.API_CONTRACTS.md", "UJ": "SoT.USER_JOURNEYS.md"}


def make_registry(root: Path, per_prefix: int = 99, seed: int = 7) -> dict[str, tuple[str, str]]:
    """A registry with GitHub-slug links in both directions; returns id -> (file, anchor)."""
    rng = random.Random(seed)
    ids = {}
    for prefix, name in PREFIXES.items():
        for n in range(1, per_prefix + 1):
            ident = f"{prefix}-{n:03d}"
            title = f"{rng.choice(['Rate', 'Limit', 'Search', 'Pay'])} {rng.choice(['cafes', 'orders', 'users'])} {n}"
            ids[ident] = (name, slug(f"{ident}: {title}"), title)
    links: dict[str, set[str]] = {i: set() for i in ids}
    keys = sorted(ids)
    for a in keys:
        for b in rng.sample(keys, 3):
            if a != b:
                links[a].add(b)
                links[b].add(a)
    (root / "SoT").mkdir()
    types = "\n".join(f"[types.{p}]\nfile = \"{f}\"\n" for p, f in PREFIXES.items())
    (root / "sotb.toml").write_text(f'root = "SoT"\n{types}')
    for prefix, name in PREFIXES.items():
        out = [f"# {name}\n"]
        for ident in (i for i in keys if i.startswith(prefix + "-")):
            _, anchor, title = ids[ident]
            out.append(f"## {ident}: {title}\n\n**Status**: Active\n\n### Related\n")
            for other in sorted(links[ident]):
                f, a, t = ids[other]
                target = "" if f == name else f
                out.append(f"- [{other}]({target}#{a}) - {t}\n")
            out.append("\n")
        (root / "SoT" / name).write_text("".join(out))
    return {i: (f, a) for i, (f, a, _) in ids.items()}


def run_json(tmp_path: Path, monkeypatch, capsys, *args: str) -> tuple[int, list[dict]]:
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    code = main(["lint", "--no-cache", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_clean_registry_passes(tmp_path, monkeypatch, capsys):
    make_registry(tmp_path)
    code, diags = run_json(tmp_path, monkeypatch, capsys)
    assert [d for d in diags if d["severity"] == "error"] == [] and code == 0


def test_deleting_an_entry_fails_every_line_linking_it(tmp_path, monkeypatch, capsys):
    make_registry(tmp_path)
    f = tmp_path / "SoT" / "SoT.API_CONTRACTS.md"
    text = f.read_text()
    start = text.index("## API-010:")
    end = text.index("## API-011:")
    f.write_text(text[:start] + text[end:])
    expected = set()
    for p in (tmp_path / "SoT").glob("*.md"):
        for n, line in enumerate(p.read_text().splitlines(), 1):
            if line.startswith("- [API-010]"):
                expected.add((f"SoT/{p.name}", n))
    code, diags = run_json(tmp_path, monkeypatch, capsys)
    assert code == 1
    undefined = {(d["path"], d["line"]) for d in diags if d["code"] == "SOT201"}
    assert expected and undefined == expected
    assert all(d["ids"] == ["API-010"] for d in diags if d["code"] == "SOT201")


def test_each_problem_at_its_line(tmp_path, monkeypatch, capsys):
    make_registry(tmp_path, per_prefix=20)
    f = tmp_path / "SoT" / "SoT.BUSINESS_RULES.md"
    lines = f.read_text().splitlines()
    lines += [
        "## BR-005: Duplicate of five",                                   # duplicate
        "**Status**: Active",
        "- [API-001](SoT.API_CONTRACTS.md#api-001-wrong)",                # broken fragment
        "## QQ-001: Unknown prefix",                                      # unknown prefix
        "- [UJ-001](SoT.MISSING.md#uj-001)",                              # missing file
    ]
    f.write_text("\n".join(lines) + "\n")
    n = len(lines)
    code, diags = run_json(tmp_path, monkeypatch, capsys)
    got = {(d["code"], d["line"]) for d in diags if d["path"] == "SoT/SoT.BUSINESS_RULES.md"}
    assert ("SOT101", n - 4) in got
    assert ("SOT203", n - 2) in got
    assert ("SOT102", n - 1) in got
    assert ("SOT202", n) in got
    assert code == 1


def test_text_output_and_exit_codes(tmp_path, monkeypatch, capsys):
    make_registry(tmp_path, per_prefix=5)
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "--select", "SOT1,SOT2,SOT3"]) == 0
    assert "All checks passed" in capsys.readouterr().out
    (tmp_path / "sotb.toml").write_text('root = "SoT"\nbogus = 1\n')
    assert main(["lint"]) == 2
    err = capsys.readouterr().err
    assert "unknown configuration key" in err and "Traceback" not in err
    assert main(["lint", "--format", "nope"]) == 2


def test_paths_are_relative_to_working_directory(tmp_path, monkeypatch, capsys):
    make_registry(tmp_path, per_prefix=5)
    (tmp_path / "SoT" / "SoT.USER_JOURNEYS.md").write_text("## UJ-001: x\n**Status**: Active\n- [BR-999](#x)\n")
    monkeypatch.chdir(tmp_path / "SoT")
    capsys.readouterr()
    assert main(["lint", "--no-cache", "--format", "json"]) == 1
    paths = {d["path"] for d in json.loads(capsys.readouterr().out)}
    assert "SoT.USER_JOURNEYS.md" in paths


def test_cache_gives_same_result(tmp_path, monkeypatch, capsys):
    make_registry(tmp_path, per_prefix=10)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "SoT" / "SoT.USER_JOURNEYS.md").write_text("## UJ-001: x\n- [BR-999](#x)\n")
    outs = []
    for _ in range(2):
        capsys.readouterr()
        main(["lint", "--format", "json"])
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and "BR-999" in outs[0]
    assert list((tmp_path / ".sotb_cache").glob("parse-*/*.pickle"))


def test_result_cache_sees_every_change(tmp_path, monkeypatch, capsys):
    make_registry(tmp_path, per_prefix=5)
    monkeypatch.chdir(tmp_path)
    uj = tmp_path / "SoT" / "SoT.USER_JOURNEYS.md"
    uj.write_text("## UJ-001: x\n**Status**: Active\n- [runbook](../docs/run.md)\n")

    def codes() -> list[str]:
        capsys.readouterr()
        main(["lint", "--format", "json"])
        return [d["code"] for d in json.loads(capsys.readouterr().out)]

    assert "SOT202" in codes() and "SOT202" in codes()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "run.md").write_text("# Runbook\n")
    assert "SOT202" not in codes()  # a linked file appeared: the cached result is not reused
    uj.write_text(uj.read_text() + "- [BR-999](#x)\n")
    assert "SOT201" in codes()
    (tmp_path / "sotb.toml").write_text('ignore = ["SOT201"]\n' + (tmp_path / "sotb.toml").read_text())
    assert "SOT201" not in codes()


def test_the_program_flushes_its_whole_report_before_it_exits():
    """`sotb` ends with os._exit (no heap teardown): the report must still be complete."""
    import json
    import subprocess
    import sys

    broken = Path(__file__).resolve().parents[2] / "examples" / "broken-registry"
    done = subprocess.run([sys.executable, "-m", "sot_builder", "lint", "--no-cache", "--format", "json"],
                          cwd=broken, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert len(json.loads(done.stdout)) >= 15
    done = subprocess.run([sys.executable, "-m", "sot_builder", "lint", "--select", "SOT999"],
                          cwd=broken, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "SOT999" in done.stderr

"""Hostile text on disk -> `sotb export` (sqlite, json, sql) -> read back: exactly what sotb parsed.

The text reaches sotb as real files: a UTF-8 SoT file, a UTF-16 one (the only
way a NUL character gets into a title), and the configuration (TOML escapes
`\\u0000` in type titles). The exports are produced by the real command.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from sot_builder.config import load_config
from sot_builder.project import load_project
from tests.hostile._support import assert_clean_exit, run_inprocess, run_subprocess, sotb_env

HOSTILE = [
    'it\'s "quoted" and `ticked`',
    "'); DROP TABLE entries; --",
    "Robert\"); DROP TABLE x; -- ' OR '1'='1",
    "🚀 ✓ 👩‍👩‍👧 e\u0301 é",
    "rtl \u202eevil\u202c zero\u200bwidth",
    "back\\slash \\' %s %d {0} $1 :name ? ; --",
    "<b>html</b> &amp; {{ jinja }} {% raw %}",
    "line\u2028separator and \u00a0nbsp",
]
NUL_TITLES = ["nul \x00 inside", "\x00leading and trailing\x00", "ctrl \x01\x07\x1b[31m red"]


def _entries(prefix: str, titles: list[str]) -> str:
    out = []
    for n, title in enumerate(titles, 1):
        out.append(f"## {prefix}-{n:03d}: {title}\n\n**Status**: Active\n**Note**: {title}\n")
    return "\n".join(out)


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "project"
    (root / "SoT").mkdir(parents=True)
    (root / "sotb.toml").write_text(
        'root = "SoT"\n\n[types.PIC]\ntitle = "Partner \\u0000 Contracts \'single\' \\"double\\" 🚀"\n'
        'purpose = "\'); DROP TABLE types; --"\n\n[types.API]\n',
        encoding="utf-8",
    )
    (root / "SoT" / "SoT.PARTNER_INTEGRATIONS.md").write_text(
        "# Partner Integration Contracts\n\n" + _entries("PIC", HOSTILE), encoding="utf-8"
    )
    (root / "SoT" / "SoT.API_CONTRACTS.md").write_bytes(
        ("# API Contracts\n\n" + _entries("API", NUL_TITLES)).encode("utf-16")
    )
    monkeypatch.chdir(root)
    return root


def _model(root: Path) -> dict[str, tuple[str, str]]:
    """ID -> (title, Note field) as sotb parsed them."""
    project = load_project(load_config(root), use_cache=False)
    return {e.id: (e.title, e.field("Note").value) for e in project.entries()}  # type: ignore[union-attr]


def test_the_model_holds_the_hostile_text(project):
    model = _model(project)
    for n, text in enumerate(HOSTILE, 1):
        title, note = model[f"PIC-{n:03d}"]
        assert (
            title == " ".join(text.split()) and note == text.strip()
        )  # titles collapse whitespace only
    for n, text in enumerate(NUL_TITLES, 1):
        assert model[f"API-{n:03d}"][0] == " ".join(text.split())
    assert "\x00" in model["API-001"][0]


def test_sqlite_export_reads_back_exactly(project, capsys):
    model = _model(project)
    result = run_inprocess(capsys, "export", "--format", "sqlite", "-o", "out.sqlite", "--no-cache")
    assert_clean_exit(result, (0,))
    con = sqlite3.connect(project / "out.sqlite")
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"entries", "fields", "types", "refs"} <= names  # nothing was dropped
    titles = dict(con.execute("SELECT id, title FROM entries"))
    notes = dict(con.execute("SELECT entry_id, value FROM fields WHERE name = 'Note'"))
    assert {i: (titles[i], notes[i]) for i in titles} == model
    pic = con.execute("SELECT title, purpose FROM types WHERE prefix = 'PIC'").fetchone()
    assert pic == ("Partner \x00 Contracts 'single' \"double\" 🚀", "'); DROP TABLE types; --")


def test_json_export_reads_back_exactly(project, capsys):
    model = _model(project)
    result = run_inprocess(capsys, "export", "--format", "json", "--no-cache")
    assert_clean_exit(result, (0,))
    tables = json.loads(result.out)["tables"]
    titles = {row["id"]: row["title"] for row in tables["entries"]}
    notes = {row["entry_id"]: row["value"] for row in tables["fields"] if row["name"] == "Note"}
    assert {i: (titles[i], notes[i]) for i in titles} == model
    assert {row["prefix"]: row["title"] for row in tables["types"]}["PIC"].startswith(
        "Partner \x00 "
    )


def test_sql_dump_rebuilds_the_same_rows(project, capsys):
    model = _model(project)
    result = run_inprocess(capsys, "export", "--format", "sql", "-o", "dump.sql", "--no-cache")
    assert_clean_exit(result, (0,))
    script = (project / "dump.sql").read_text(encoding="utf-8")
    assert "\x00" not in script  # sqlite3 would cut the script at a NUL
    con = sqlite3.connect(":memory:")
    con.executescript(script)
    titles = dict(con.execute("SELECT id, title FROM entries"))
    notes = dict(con.execute("SELECT entry_id, value FROM fields WHERE name = 'Note'"))
    assert {i: (titles[i], notes[i]) for i in titles} == model


@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])
def test_json_to_stdout_in_a_subprocess_under_any_locale(project, locale):
    model = _model(project)
    env = sotb_env(LC_ALL=locale, LANG=locale)
    env.pop("PYTHONIOENCODING", None)
    env.pop("PYTHONUTF8", None)
    result = run_subprocess(project, "export", "--format", "json", timeout=120, env=env)
    assert_clean_exit(result, (0,))
    tables = json.loads(result.out)["tables"]
    assert {row["id"]: row["title"] for row in tables["entries"]} == {
        i: t for i, (t, _) in model.items()
    }

"""`sotb rules`, `sotb rule CODE`, `sotb config`, docs/rules.md and docs/configuration.md."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from sot_builder.cli import main
from sot_builder.commands.meta import toml_value
from sot_builder.config import DEFAULTS
from sot_builder.parse import parse_document
from sot_builder.paths import schemas_dir
from sot_builder.ruledocs import render_page, render_rule
from sot_builder.rules import all_rules

REPO = Path(__file__).resolve().parents[2]
RULES_MD = REPO / "docs" / "rules.md"
CONFIGURATION_MD = REPO / "docs" / "configuration.md"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# --- sotb rules / sotb rule -------------------------------------------------------


def test_rules_lists_every_rule_once(capsys) -> None:
    code, out, _ = run(capsys, "rules")
    assert code == 0
    rows = [line.split(None, 3) for line in out.splitlines()]
    expected = [[r.code, r.name, r.severity.value, r.summary] for r in all_rules()]
    assert rows == expected


def test_rules_as_json(capsys) -> None:
    code, out, _ = run(capsys, "rules", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert [d["code"] for d in data] == [r.code for r in all_rules()]
    assert set(data[0]) == {"code", "name", "severity", "summary", "help_uri"}


@pytest.mark.parametrize("spelling", ["SOT201", "sot201", "undefined-id"])
def test_rule_prints_its_documentation(capsys, spelling: str) -> None:
    code, out, _ = run(capsys, "rule", spelling)
    r = next(r for r in all_rules() if r.code == "SOT201")
    assert code == 0
    assert out == render_rule(r)
    assert out.startswith("# SOT201 undefined-id\n")
    assert r.doc in out and "Bad:" in out and "Good:" in out
    assert out.rstrip().endswith(r.help_uri)


def test_unknown_rule_is_a_usage_error(capsys) -> None:
    code, out, err = run(capsys, "rule", "SOT299")
    assert code == 2 and out == ""
    assert "unknown rule 'SOT299'" in err and "SOT201" in err


# --- docs/rules.md ----------------------------------------------------------------


def test_rules_page_is_up_to_date() -> None:
    expected = render_page(all_rules())
    actual = RULES_MD.read_text(encoding="utf-8") if RULES_MD.is_file() else ""
    if actual != expected:
        on_page = set(re.findall(r"^### (SOT\d{3}) ", actual, re.MULTILINE))
        in_code = {r.code for r in all_rules()}
        pytest.fail(
            "docs/rules.md is stale; run `python -m sot_builder.ruledocs`"
            f" (rules missing from the page: {sorted(in_code - on_page) or 'none'};"
            f" rules no longer in the code: {sorted(on_page - in_code) or 'none'})",
            pytrace=False,
        )


def test_every_help_uri_lands_on_a_heading_of_the_rules_page() -> None:
    page = parse_document(RULES_MD.read_bytes(), "docs/rules.md", "doc")
    anchors = {h.slug for h in page.headings}
    for r in all_rules():
        page, _, fragment = r.help_uri.partition("#")
        assert page.endswith("/docs/rules.md")
        assert fragment in anchors, r.code


def test_ruledocs_check_mode(tmp_path: Path) -> None:
    from sot_builder import ruledocs

    target = tmp_path / "rules.md"
    assert ruledocs.main(["--check", str(target)]) == 1
    assert ruledocs.main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_page(all_rules())
    assert ruledocs.main(["--check", str(target)]) == 0
    target.write_text(target.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    assert ruledocs.main(["--check", str(target)]) == 1


# --- sotb config ------------------------------------------------------------------


def test_config_without_a_file_shows_defaults(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "config")
    assert code == 0
    assert "# configuration file: none (defaults only)" in out
    assert tomllib.loads(out) == DEFAULTS  # the listing itself is valid TOML
    assert all(line.endswith("# default") for line in out.splitlines() if " = " in line)


def test_config_shows_where_each_value_came_from(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.sotb]\nroot = "docs/SoT"\nignore = ["SOT209"]\n'
        '[tool.sotb.severity]\n"wrong-description" = "error"\n'
    )
    sub = tmp_path / "docs"
    sub.mkdir()
    monkeypatch.chdir(sub)
    code, out, _ = run(capsys, "config")
    assert code == 0
    lines = {line.split(" ", 1)[0]: line for line in out.splitlines() if " = " in line}
    assert lines["root"].endswith('"docs/SoT"  # ../pyproject.toml [tool.sotb]')
    assert lines["severity"].endswith('{ wrong-description = "error" }  # ../pyproject.toml [tool.sotb]')
    assert lines["strict"].endswith("false  # default")
    values = tomllib.loads(out)
    assert values["ignore"] == ["SOT209"] and values["cache_dir"] == DEFAULTS["cache_dir"]


def test_config_as_json(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "sotb.toml").write_text('root = "registry"\nstrict = true\n[types.PIC]\n')
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "config", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert data["config_file"] == str(tmp_path / "sotb.toml")
    assert data["project_dir"] == str(tmp_path)
    assert data["values"] == {**DEFAULTS, "root": "registry", "strict": True, "types": {"PIC": {}}}
    assert data["origins"]["root"] == data["origins"]["types"] == str(tmp_path / "sotb.toml")
    assert data["origins"]["jobs"] == "default"
    assert set(data["origins"]) == set(DEFAULTS)


def test_config_with_explicit_file_and_folder(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "other.toml").write_text('readme = "INDEX.md"\n')
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "config", "--config", "other.toml", "--format", "json")
    assert code == 0 and json.loads(out)["values"]["readme"] == "INDEX.md"
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "sotb.toml").write_text("jobs = 2\n")
    code, out, _ = run(capsys, "config", "proj", "--format", "json")
    assert code == 0 and json.loads(out)["origins"]["jobs"].endswith("sotb.toml")


def test_config_with_an_unknown_key_is_an_error(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "sotb.toml").write_text('roots = "SoT"\n')
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "config")
    assert code == 2 and "unknown configuration key" in err and "roots" in err


@pytest.mark.parametrize("value, literal", [
    (True, "true"), (3, "3"), (2.5, "2.5"), ('a "b"', '"a \\"b\\""'), ([], "[]"),
    ({"SoT/a b.md": ["SOT2"]}, '{ "SoT/a b.md" = ["SOT2"] }'), ({"PIC": {}}, "{ PIC = {} }"),
])
def test_toml_value(value: object, literal: str) -> None:
    assert toml_value(value) == literal
    assert tomllib.loads(f"x = {literal}")["x"] == value


# --- docs/configuration.md ----------------------------------------------------------


def config_keys_documented() -> dict[str, str]:
    """`### \\`key\\`` sections of docs/configuration.md -> their `Default:` literal."""
    text = CONFIGURATION_MD.read_text(encoding="utf-8")
    found = {}
    for m in re.finditer(r"^### `([a-z_]+)`\n\nDefault: `(.*)`$", text, re.MULTILINE):
        found[m.group(1)] = m.group(2)
    return found


def test_configuration_page_documents_every_key_with_its_default() -> None:
    schema = json.loads((schemas_dir() / "config.schema.json").read_text(encoding="utf-8"))
    keys = list(schema["properties"])
    documented = config_keys_documented()
    assert sorted(documented) == sorted(keys), "docs/configuration.md and the schema list different keys"
    assert sorted(keys) == sorted(DEFAULTS)
    for key in keys:
        assert documented[key] == toml_value(DEFAULTS[key]), key

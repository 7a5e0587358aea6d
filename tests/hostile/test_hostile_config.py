"""Hostile configuration, ledgers and shipped files: a clear error with its file, never a traceback.

Broken settings, a ledger line nested too deeply, a ledger path that leaves the
project or names a folder, type definitions that disagree with their table, and a
damaged installation (a copy of the shipped schemas, never the real ones).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from sot_builder import config as config_mod
from sot_builder import registry
from sot_builder.diagnostics import SotbError

from ._support import (
    ENTRY,
    PIC_FILE,
    assert_clean_exit,
    pic_file,
    problem_at,
    run_inprocess,
    snapshot,
)

LEDGER = "SoT/SoT.LEDGER.jsonl"
DEEP_LINE = "[" * 100_000 + "]" * 100_000 + "\n"



@pytest.fixture
def ledgered(project, capsys):
    assert run_inprocess(capsys, "ledger", "update").code == 0
    assert (project / LEDGER).is_file()
    return project


def write_config(root: Path, text: str, name: str = "sotb.toml") -> None:
    (root / name).write_text(text, encoding="utf-8")


# -- a ledger line nested too deeply --------------------------------------------------------------
def test_a_deeply_nested_ledger_line_is_sot504_at_its_line(ledgered, capsys):
    path = ledgered / LEDGER
    lines = path.read_text(encoding="utf-8").count("\n")
    with path.open("a", encoding="utf-8") as f:
        f.write(DEEP_LINE)
    lint = run_inprocess(capsys, "lint", "--no-cache", "--format", "json")
    assert_clean_exit(lint, (1,))
    assert "nested too deeply" in problem_at(lint, LEDGER, "SOT504", lines + 1)["message"]
    verify = run_inprocess(capsys, "ledger", "verify")
    assert_clean_exit(verify, (1,))
    assert f"{LEDGER}:{lines + 1}: line {lines + 1} is nested too deeply" in verify.out


@pytest.mark.parametrize("command", [("ledger", "update"), ("add", "PIC", "--title", "Adyen")])
def test_writers_refuse_a_ledger_with_a_deeply_nested_line(ledgered, capsys, command):
    path = ledgered / LEDGER
    with path.open("a", encoding="utf-8") as f:
        f.write(DEEP_LINE)
    before = snapshot(ledgered)
    result = run_inprocess(capsys, *command)
    assert_clean_exit(result, (2,))
    assert "the ledger is damaged" in result.err and "nested too deeply" in result.err
    assert snapshot(ledgered) == before  # the entry is not written either


# -- [tool] and [tool.sotb] that are not tables ---------------------------------------------------
@pytest.mark.parametrize(
    "pyproject, expected",
    [
        ("[tool]\nsotb = 5\n", "pyproject.toml: [tool.sotb] must be a table"),
        ('[tool]\nsotb = "SoT"\n', "pyproject.toml: [tool.sotb] must be a table"),
        ('tool = "x"\n', "pyproject.toml: [tool] must be a table"),
        ("tool = [1, 2]\n", "pyproject.toml: [tool] must be a table"),
    ],
)
def test_a_tool_section_that_is_not_a_table_is_an_error(project, capsys, pyproject, expected):
    (project / "sotb.toml").unlink()
    write_config(project, pyproject, "pyproject.toml")
    for args in (("lint",), ("lint", "--config", "pyproject.toml")):
        result = run_inprocess(capsys, *args)
        assert_clean_exit(result, (2,))
        assert expected in result.err and result.err.startswith("sotb: error: ")


def test_a_tool_value_in_sotb_toml_is_an_unknown_key(project, capsys):
    write_config(project, 'root = "SoT"\ntool = 5\n\n[types.PIC]\n')
    result = run_inprocess(capsys, "lint")
    assert_clean_exit(result, (2,))
    assert "unknown configuration key" in result.err


# -- NUL characters in settings -------------------------------------------------------------------
@pytest.mark.parametrize(
    "setting, pointer",
    [
        ('root = "So\\u0000T"', "/root"),
        ('readme = "SoT.README\\u0000.md"', "/readme"),
        ('id_system = "\\u0000"', "/id_system"),
        ('ledger = "SoT.LEDGER\\u0000.jsonl"', "/ledger"),
        ('cache_dir = ".sotb\\u0000cache"', "/cache_dir"),
        ('documents = ["PRD\\u0000.md"]', "/documents/0"),
        ('exclude = ["x\\u0000"]', "/exclude/0"),
        ('sql_migrations = ["m\\u0000/*.sql"]', "/sql_migrations/0"),
        ('reservation_db = "ids\\u0000.sqlite"', "/reservation_db"),
        ('portfolio = { P = "../p\\u0000" }', "/portfolio/P"),
        ('dashboard = { file = "d\\u0000.md" }', "/dashboard/file"),
        ('per_path_ignores = { "SoT/\\u0000*.md" = ["SOT2"] }', "/per_path_ignores"),
    ],
)
def test_a_nul_in_a_setting_is_an_error_naming_the_key(project, capsys, setting, pointer):
    write_config(project, f'{setting}\n\n[types.PIC]\n')
    for command in (("lint", "--no-cache"), ("add", "PIC", "--title", "Adyen")):
        result = run_inprocess(capsys, *command)
        assert_clean_exit(result, (2,))
        assert f"sotb.toml: invalid configuration at {pointer}: NUL character in a file name" in result.err


@pytest.mark.parametrize("key", ["file", "definition"])
def test_a_nul_in_a_type_table_is_an_error_naming_the_key(project, capsys, key):
    write_config(project, f'root = "SoT"\n\n[types.PIC]\n{key} = "x\\u0000.md"\n')
    result = run_inprocess(capsys, "lint", "--no-cache")
    assert_clean_exit(result, (2,))
    assert f"invalid configuration at /types/PIC/{key}: NUL character in a file name" in result.err


def test_a_nul_in_a_title_is_text_not_a_file_name(project, capsys):
    write_config(project, 'root = "SoT"\n\n[types.PIC]\ntitle = "Partner \\u0000 Contracts"\n')
    result = run_inprocess(capsys, "lint", "--no-cache")
    assert_clean_exit(result, (0, 1))
    assert "NUL" not in result.err


def test_a_nul_in_a_definition_file_is_an_error_naming_the_file(project, capsys):
    (project / "types").mkdir()
    (project / "types" / "ord.yaml").write_text('prefix: ORD\ntitle: Orders\nfile: "SoT.O\\0.md"\n')
    write_config(project, 'root = "SoT"\n\n[types.PIC]\n[types.ORD]\ndefinition = "types/ord.yaml"\n')
    result = run_inprocess(capsys, "lint", "--no-cache")
    assert_clean_exit(result, (2,))
    assert "types/ord.yaml: invalid type definition at /file: NUL character in a file name" in result.err


# -- a byte-order mark before the configuration ---------------------------------------------------
@pytest.mark.parametrize(
    "name, text",
    [
        ("sotb.toml", 'root = "Registry"\n\n[types.PIC]\n'),
        ("pyproject.toml", '[tool.sotb]\nroot = "Registry"\n\n[tool.sotb.types.PIC]\n'),
    ],
)
def test_a_configuration_starting_with_a_bom_is_read(project, capsys, name, text):
    (project / "sotb.toml").unlink()
    (project / "SoT").rename(project / "Registry")
    (project / name).write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    result = run_inprocess(capsys, "config", "--format", "json")
    assert_clean_exit(result, (0,))
    assert json.loads(result.out)["values"]["root"] == "Registry"
    lint = run_inprocess(capsys, "lint", "--no-cache")
    assert_clean_exit(lint, (0, 1))
    assert "invalid TOML" not in lint.err


# -- a damaged installation: the shipped schemas and type definitions ----------------------------
@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A copy of the shipped schemas that sotb reads instead of its own; no cached copy survives."""
    copy = tmp_path / "schemas"
    shutil.copytree(registry.schemas_dir(), copy)
    monkeypatch.setattr(registry, "schemas_dir", lambda: copy)
    monkeypatch.setattr(config_mod, "schemas_dir", lambda: copy)
    caches = (registry.builtin_definitions, registry._validator, config_mod._validator)
    for cached in caches:
        cached.cache_clear()
    yield copy
    for cached in caches:
        cached.cache_clear()


@pytest.mark.parametrize(
    "rel, text, where",
    [
        ("types/PIC.yaml", "prefix: PIC\ntitle: [unclosed\n", "types/PIC.yaml:3: did not find expected"),
        ("types/PIC.yaml", "- PIC\n- API\n", "types/PIC.yaml:1: not a mapping of keys to values"),
        ("types/SEC.yaml", "prefix: SEC\ntitle: x\n  bad: : :\n", "types/SEC.yaml:3: mapping values"),
        ("types/SEC.yaml", "prefix: SECURITY\ntitle: x\n", "types/SEC.yaml: its prefix is not SEC"),
        ("types/PIC.yaml", "prefix: PIC\ntitle: P\ncategories: 5\n",
         "types/PIC.yaml: invalid type definition at /categories: 5 is not of type 'array'"),
        ("config.schema.json", '{"type": \n', "config.schema.json:2: Expecting value"),
        ("config.schema.json", "[1, 2]\n", "config.schema.json:1: not a JSON object"),
        ("config.schema.json", '{"type": 5}\n', "config.schema.json: not a usable JSON Schema"),
        ("type.schema.json", '{"type": \n', "type.schema.json:2: Expecting value"),
    ],
)
def test_a_damaged_shipped_file_is_a_broken_installation(project, capsys, shipped, rel, text, where):
    (shipped / rel).write_text(text, encoding="utf-8")
    # an override makes PIC validated against type.schema.json
    write_config(project, 'root = "SoT"\n\n[types.PIC]\ntitle = "Partners"\n')
    result = run_inprocess(capsys, "lint", "--no-cache")
    assert_clean_exit(result, (2,))
    assert result.err.startswith(f"sotb: error: broken installation: {shipped}/")
    assert where in result.err and "reinstall sotb" in result.err
    assert len(result.err.splitlines()) == 1


def test_a_shipped_definition_used_as_it_is_is_checked_too(project, capsys, shipped):
    (shipped / "types" / "PIC.yaml").write_text("prefix: PIC\ntitle: P\ncategories: 5\n")
    result = run_inprocess(capsys, "lint", "--no-cache")
    assert_clean_exit(result, (2,))
    assert result.err.startswith(f"sotb: error: broken installation: {shipped}/types/PIC.yaml: ")
    assert "not a valid type definition" in result.err


# -- the ledger, README and ID-system settings -------------------------------------------------
@pytest.mark.parametrize("key", ["ledger", "readme", "id_system"])
@pytest.mark.parametrize("name", ["/etc/passwd", "../outside.md", "../../outside.md",
                                  "sub/../../outside.md", "C:\\\\outside.md"])
def test_a_file_sotb_writes_outside_the_project_is_a_configuration_error(project, capsys, key, name):
    write_config(project, f'{key} = "{name}"\nroot = "SoT"\n\n[types.PIC]\n')
    before = snapshot(project.parent)
    for command in (("lint", "--no-cache"), ("sync",), ("ledger", "update"), ("ledger", "verify"),
                    ("add", "PIC", "--title", "Adyen")):
        result = run_inprocess(capsys, *command)
        assert_clean_exit(result, (2,))
        assert f"sotb.toml: invalid configuration at /{key}:" in result.err
        assert "is outside the project" in result.err and "passwd" not in result.out
    assert snapshot(project.parent) == before


@pytest.mark.parametrize("key", ["readme", "id_system"])
@pytest.mark.parametrize("name", ["meta/INDEX.md", "./INDEX.md", "meta\\\\INDEX.md"])
def test_a_readme_or_id_system_in_a_folder_is_a_configuration_error(project, capsys, key, name):
    """They are found by name among the files of the root: in a folder, lint took the file for
    a SoT file, and sync, never finding it, said there was nothing to change."""
    write_config(project, f'{key} = "{name}"\nroot = "SoT"\n\n[types.PIC]\n')
    before = snapshot(project.parent)
    for command in (("lint", "--no-cache"), ("sync",), ("new", "BR")):
        result = run_inprocess(capsys, *command)
        assert_clean_exit(result, (2,))
        assert f"sotb.toml: invalid configuration at /{key}:" in result.err
        assert "names a folder" in result.err
    assert snapshot(project.parent) == before


@pytest.mark.parametrize("name", ["../outside.md", "sub/inside.md", "/tmp/absolute.md"])
def test_a_type_file_outside_the_root_is_refused_even_after_a_planted_validation_marker(
        project, capsys, name):
    """The JSON Schema limits a type's file to a name in `root`; a marker in the cache folder
    (which a commit can plant) lets a run skip the schema, so the name is checked again."""
    from sot_builder.registry import _valid_marker

    types = {"PIC": {"file": name}}
    write_config(project, f'root = "SoT"\n\n[types.PIC]\nfile = "{name}"\n')
    from sot_builder.fsutil import folder_identity

    memo_dir = project / ".sotb_cache"
    folder_identity(memo_dir, make=True)  # the worst case: a marker that does match
    _valid_marker(memo_dir, types, project).touch()
    def files() -> dict[str, bytes]:
        return {k: v for k, v in snapshot(project.parent).items()
                if "/.sotb_cache/" not in k and not k.endswith("/.sotb.lock")}

    before = files()
    for command in (("new", "PIC", "--force"), ("add", "PIC", "--title", "Adyen"), ("lint", "--no-cache")):
        result = run_inprocess(capsys, *command)
        assert_clean_exit(result, (2,))
        assert "invalid type definition at /file:" in result.err
    assert files() == before and not Path("/tmp/absolute.md").exists()


def test_sql_migrations_outside_the_project_are_never_read(project, capsys):
    """SQLite's message for a statement it rejects quotes the statement: a migration pattern
    reaching out of the project (absolute, `../`, a link) must not read a secret into the report."""
    secret = project.parent / "credentials"
    secret.write_text("aws_secret_access_key = SECRET-4711\n", encoding="utf-8")
    (project / "db").mkdir()
    (project / "db" / "001.sql").symlink_to(secret)
    write_config(project, f'sql_migrations = ["{secret}", "../credentials", "db/*.sql"]\n'
                          'root = "SoT"\n\n[types.PIC]\n')
    result = run_inprocess(capsys, "lint", "--no-cache", "--format", "json")
    assert_clean_exit(result, (1,))
    assert "SECRET" not in result.out and "aws_secret" not in result.out
    messages = sorted(d["message"] for d in json.loads(result.out) if d["code"] == "SOT511")
    assert messages == [f"sql_migrations pattern '{p}' matches no file"
                        for p in sorted(["../credentials", "db/*.sql", str(secret)])]


def test_a_ledger_in_a_folder_below_the_root_is_accepted(project, capsys):
    write_config(project, 'ledger = "ids/ledger.jsonl"\nroot = "SoT"\n\n[types.PIC]\n')
    (project / "SoT" / "ids").mkdir()
    result = run_inprocess(capsys, "ledger", "update")
    assert_clean_exit(result, (0,))
    assert (project / "SoT" / "ids" / "ledger.jsonl").is_file()


def test_a_ledger_that_links_outside_the_project_is_never_read_or_written(ledgered, capsys):
    outside = ledgered.parent / "outside.jsonl"
    outside.write_bytes((ledgered / LEDGER).read_bytes())
    (ledgered / LEDGER).unlink()
    (ledgered / LEDGER).symlink_to(outside)
    before, kept = snapshot(ledgered), outside.read_bytes()
    lint = run_inprocess(capsys, "lint", "--no-cache", "--format", "json")
    assert_clean_exit(lint, (1,))
    assert "leads outside the project; not read" in problem_at(lint, LEDGER, "SOT504", 1)["message"]
    for command in (("ledger", "update"), ("add", "PIC", "--title", "Adyen")):
        result = run_inprocess(capsys, *command)
        assert_clean_exit(result, (2,))
        assert "the ledger is a link that leads outside the project" in result.err
    assert snapshot(ledgered) == before and outside.read_bytes() == kept


def test_a_ledger_that_is_a_folder_stops_add_before_it_writes(ledgered, capsys):
    (ledgered / LEDGER).unlink()
    (ledgered / LEDGER).mkdir()
    before = snapshot(ledgered)
    for command in (("add", "PIC", "--title", "Adyen"), ("ledger", "update")):
        result = run_inprocess(capsys, *command)
        assert_clean_exit(result, (2,))
        assert f"{LEDGER}: the ledger is a folder, not a file" in result.err
    assert snapshot(ledgered) == before
    lint = run_inprocess(capsys, "lint", "--no-cache", "--format", "json")
    assert "is a folder" in problem_at(lint, LEDGER, "SOT504", 1)["message"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_ledger_that_is_a_pipe_is_never_opened(ledgered, capsys):
    (ledgered / LEDGER).unlink()
    os.mkfifo(ledgered / LEDGER)  # opening it for reading would wait for a writer forever
    before = snapshot(ledgered)
    for command in (("add", "PIC", "--title", "Adyen"), ("ledger", "update")):
        result = run_inprocess(capsys, *command)
        assert_clean_exit(result, (2,))
        assert "the ledger is not a regular file" in result.err
    assert snapshot(ledgered) == before
    lint = run_inprocess(capsys, "lint", "--no-cache", "--format", "json")
    assert "not a regular file" in problem_at(lint, LEDGER, "SOT504", 1)["message"]


# -- type files and definitions -------------------------------------------------------------------
@pytest.mark.parametrize("name, setting", [("SoT.README.md", "readme"),
                                           ("SoT.UNIQUE_ID_SYSTEM.md", "id_system")])
def test_a_type_file_that_is_the_readme_or_the_id_system_is_an_error(project, capsys, name, setting):
    write_config(project, f'root = "SoT"\n\n[types.PIC]\nfile = "{name}"\n')
    before = snapshot(project)
    for command in (("lint", "--no-cache"), ("add", "PIC", "--title", "Adyen")):
        result = run_inprocess(capsys, *command)
        assert_clean_exit(result, (2,))
        assert f"invalid configuration at /types/PIC/file: {name} is the `{setting}` file" in result.err
    assert snapshot(project) == before


def test_a_definition_file_naming_the_readme_is_refused_by_the_registry(project):
    (project / "ord.yaml").write_text("prefix: ORD\ntitle: Orders\nfile: SoT.README.md\n")
    types = {"ORD": {"definition": "ord.yaml"}}
    assert registry.build_registry(types, project, "sotb.toml").get("ORD").file == "SoT.README.md"
    with pytest.raises(SotbError, match="ord.yaml: invalid type definition at /file: SoT.README.md is the"):
        registry.build_registry(types, project, "sotb.toml", reserved={"SoT.README.md": "readme"})


def test_a_definition_file_naming_the_readme_stops_every_command(project, capsys):
    (project / "ord.yaml").write_text("prefix: ORD\ntitle: Orders\nfile: SoT.README.md\n")
    write_config(project, 'root = "SoT"\n\n[types.PIC]\n[types.ORD]\ndefinition = "ord.yaml"\n')
    before = snapshot(project)
    for command in (("lint", "--no-cache"), ("add", "ORD", "--title", "First order")):
        result = run_inprocess(capsys, *command)
        assert_clean_exit(result, (2,))
        assert "ord.yaml: invalid type definition at /file: SoT.README.md is the `readme` file" in result.err
    after = snapshot(project)
    after.pop("SoT/.sotb.lock", None)  # add took the lock before it loaded the project
    assert after == before


def test_a_definition_file_of_another_prefix_is_an_error(project, capsys):
    (project / "types").mkdir()
    (project / "types" / "ord.yaml").write_text("prefix: ORD\ntitle: Orders\nfile: SoT.ORDERS.md\n")
    write_config(project, 'root = "SoT"\n\n[types.PIC]\n[types.XYZ]\ndefinition = "types/ord.yaml"\n')
    result = run_inprocess(capsys, "lint", "--no-cache")
    assert_clean_exit(result, (2,))
    assert "types/ord.yaml: invalid type definition at /prefix: 'ORD' does not match [types.XYZ]" in result.err


RELATION = "relations:\n  - name: uses\n    inverse: used-by\n    targets: [{targets}]\n"


def test_a_relation_to_a_prefix_no_type_defines_is_an_error(project, capsys):
    (project / "types").mkdir()
    (project / "types" / "ord.yaml").write_text(
        "prefix: ORD\ntitle: Orders\nfile: SoT.ORDERS.md\n" + RELATION.format(targets="PIC, PCI"))
    write_config(project, 'root = "SoT"\n\n[types.PIC]\n[types.ORD]\ndefinition = "types/ord.yaml"\n')
    result = run_inprocess(capsys, "lint", "--no-cache")
    assert_clean_exit(result, (2,))
    assert ("types/ord.yaml: invalid type definition at /relations/0/targets/1: "
            "no type defines the prefix PCI") in result.err


def test_a_reference_field_to_a_prefix_no_type_defines_is_an_error(project, capsys):
    (project / "types").mkdir()
    (project / "types" / "ord.yaml").write_text(
        "prefix: ORD\ntitle: Orders\nfile: SoT.ORDERS.md\nfields:\n"
        "  - {name: Paid by, kind: references, prefixes: [PIC, PCI]}\n")
    write_config(project, 'root = "SoT"\n\n[types.PIC]\n[types.ORD]\ndefinition = "types/ord.yaml"\n')
    result = run_inprocess(capsys, "lint", "--no-cache")
    assert_clean_exit(result, (2,))
    assert ("types/ord.yaml: invalid type definition at /fields/0/prefixes/1: "
            "no type defines the prefix PCI") in result.err


def test_a_relation_to_a_builtin_type_the_project_does_not_use_is_accepted(project, capsys):
    (project / "types").mkdir()
    (project / "types" / "ord.yaml").write_text(
        "prefix: ORD\ntitle: Orders\nfile: SoT.ORDERS.md\n" + RELATION.format(targets="PIC, FEA"))
    write_config(project, 'root = "SoT"\n\n[types.PIC]\n[types.ORD]\ndefinition = "types/ord.yaml"\n')
    assert (project / PIC_FILE).read_text(encoding="utf-8") == pic_file(ENTRY)
    result = run_inprocess(capsys, "lint", "--no-cache")
    assert_clean_exit(result, (0, 1))
    assert "invalid type definition" not in result.err

"""The examples in docs/ci.md and docs/configuration.md are valid as written."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import click
import pytest
import yaml

from sot_builder.cli import COMMANDS, cli
from sot_builder.config import DEFAULTS, validate
from sot_builder.engine import active_rules

DOCS = Path(__file__).resolve().parents[2] / "docs"
MANIFEST = DOCS.parent / ".pre-commit-hooks.yaml"


def blocks(name: str, lang: str) -> list[str]:
    text = (DOCS / name).read_text(encoding="utf-8")
    return re.findall(rf"^```{lang}\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


def commands(node: object) -> list[str]:
    """Every `sotb ...` command in the string values of a parsed YAML document."""
    if isinstance(node, dict):
        return [c for v in node.values() for c in commands(v)]
    if isinstance(node, list):
        return [c for v in node for c in commands(v)]
    if isinstance(node, str):
        return [m.group(0) for m in re.finditer(r"\bsotb [a-z][a-z-]*(?: [^|#\n]*[^|#\s])?", node)]
    return []


def test_ci_yaml_examples_parse() -> None:
    found = blocks("ci.md", "yaml")
    assert len(found) >= 4
    for block in found:
        yaml.safe_load(block)


def test_ci_commands_exist_with_these_options() -> None:
    found = [c for block in blocks("ci.md", "yaml") for c in commands(yaml.safe_load(block))]
    assert any(c.startswith("sotb lint") for c in found)
    assert "sotb sync --check" in found
    assert any("--format sarif" in c for c in found)
    ctx = click.Context(cli)
    for line in found:
        name, *args = shlex.split(line)[1:]
        if name not in cli.list_commands(ctx):
            assert name in COMMANDS, line
            continue  # a command of the design this checkout does not have yet
        command = cli.get_command(ctx, name)
        with command.make_context(name, list(args), resilient_parsing=False):
            pass  # raises click.UsageError on an unknown option or bad value


def test_ci_pre_commit_example_names_the_shipped_hooks() -> None:
    hook_ids = {h["id"] for h in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))}
    used = set()
    for block in blocks("ci.md", "yaml"):
        data = yaml.safe_load(block)
        if isinstance(data, dict) and "repos" in data:
            used |= {h["id"] for repo in data["repos"] for h in repo["hooks"]}
    assert used == hook_ids


def test_configuration_example_is_valid() -> None:
    [example] = [b for b in blocks("configuration.md", "toml")]
    data = tomllib.loads(example)
    validate(data, "docs/configuration.md")
    rules = {r.code: r for r in active_rules({**DEFAULTS, **data})}
    assert "SOT209" not in rules
    assert rules["SOT205"].severity.value == "error"


def test_unknown_key_is_rejected_as_the_page_says() -> None:
    from sot_builder.diagnostics import SotbError

    with pytest.raises(SotbError, match="unknown configuration key"):
        validate({"rooot": "SoT"}, "sotb.toml")


def test_ci_hook_arguments_are_valid_for_the_hook_entry() -> None:
    entries = {h["id"]: h["entry"] for h in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))}
    checked = 0
    ctx = click.Context(cli)
    for block in blocks("ci.md", "yaml"):
        data = yaml.safe_load(block)
        if not isinstance(data, list):
            continue
        for hook in data:
            name, *args = shlex.split(entries[hook["id"]])[1:] + list(hook.get("args", []))
            if name not in cli.list_commands(ctx):
                continue
            with cli.get_command(ctx, name).make_context(name, args):
                checked += 1
    assert checked >= 1

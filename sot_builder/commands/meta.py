"""`sotb rules`, `sotb rule CODE` and `sotb config`: what sotb checks and how it is set up."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from sot_builder.commands._common import config_option, load, write
from sot_builder.diagnostics import SotbError


@click.command()
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def rules(fmt: str) -> None:
    """List every rule: code, name, default severity and what it finds."""
    from sot_builder.rules import all_rules

    found = all_rules()
    if fmt == "json":
        data = [{"code": r.code, "name": r.name, "severity": r.severity.value,
                 "summary": r.summary, "help_uri": r.help_uri} for r in found]
        write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    name_width = max((len(r.name) for r in found), default=0)
    lines = [f"{r.code}  {r.name:<{name_width}}  {r.severity.value:<7}  {r.summary}" for r in found]
    write("".join(line.rstrip() + "\n" for line in lines))


@click.command()
@click.argument("code")
def rule(code: str) -> None:
    """Print the documentation of one rule, by code (SOT201) or name (undefined-id)."""
    from sot_builder.ruledocs import render_rule
    from sot_builder.rules import all_rules, rule_by_code

    found = rule_by_code(code.strip().upper()) or rule_by_code(code.strip().lower())
    if found is None:
        close = [r.code for r in all_rules() if r.code.startswith(code.strip().upper()[:4])]
        hint = f"; rules of that family: {', '.join(close)}" if close else "; `sotb rules` lists them"
        raise SotbError(f"unknown rule '{code}'{hint}")
    write(render_rule(found))


@click.command()
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@config_option
def config(folder: Path | None, fmt: str, config_path: Path | None) -> None:
    """Print the effective configuration and where each value came from.

    FOLDER is where the search for sotb.toml / pyproject.toml starts (default: here).
    """
    cfg = load(folder, config_path)
    if fmt == "json":
        data = {
            "project_dir": str(cfg.project_dir),
            "config_file": str(cfg.config_file) if cfg.config_file else None,
            "values": cfg.values,
            "origins": {key: cfg.origins.get(key, "default") for key in cfg.values},
        }
        write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
        return
    write(render_config(cfg.values, cfg.origins, cfg.config_file, cfg.project_dir))


def render_config(values: dict[str, Any], origins: dict[str, str], config_file: Path | None,
                  project_dir: Path) -> str:
    """`key = value  # origin` lines in TOML syntax, after a header naming the files."""
    out = [
        f"# project folder: {_shown(str(project_dir))}",
        f"# configuration file: {_shown(str(config_file)) if config_file else 'none (defaults only)'}",
    ]
    width = max((len(k) for k in values), default=0)
    for key, value in values.items():
        origin = origins.get(key, "default")
        if config_file is not None and origin == str(config_file):
            origin = _shown(origin) + (" [tool.sotb]" if config_file.name == "pyproject.toml" else "")
        out.append(f"{key:<{width}} = {toml_value(value)}  # {origin}")
    return "\n".join(out) + "\n"


def toml_value(value: Any) -> str:
    """A value as a one-line TOML literal (inline tables for mappings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key, ensure_ascii=False)


def _shown(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith(".." + os.sep + "..") else rel

"""Shared glue for commands: loading the project, paths, output."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from sot_builder.config import Config, load_config
from sot_builder.diagnostics import Diagnostic

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration file (default: sotb.toml or pyproject.toml [tool.sotb], found walking up).",
)


def load(start: Path | None = None, config_path: Path | None = None) -> Config:
    return load_config(start or Path.cwd(), config_path)


def display_path(config: Config, rel: str) -> str:
    """A project-relative path as the user should see it: relative to the working directory."""
    full = config.project_dir / rel
    try:
        shown = os.path.relpath(full, Path.cwd())
    except ValueError:
        return str(full)
    return shown.replace(os.sep, "/")


def for_display(config: Config, diags: list[Diagnostic]) -> list[Diagnostic]:
    from dataclasses import replace

    shown: dict[str, str] = {}
    for d in diags:
        if d.path not in shown:
            shown[d.path] = display_path(config, d.path)
    return [d if shown[d.path] == d.path else replace(d, path=shown[d.path]) for d in diags]


def use_color() -> bool:
    # https://no-color.org: a non-empty NO_COLOR turns colour off
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()

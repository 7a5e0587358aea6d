"""Shared glue for commands: loading the project, paths, output."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from sot_builder.config import Config, load_config
from sot_builder.diagnostics import Diagnostic, SotbError

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration file (default: sotb.toml or pyproject.toml [tool.sotb], found walking up).",
)


def load(start: Path | None = None, config_path: Path | None = None) -> Config:
    return load_config(start or Path.cwd(), config_path)


def require_root(config: Config) -> None:
    """Refuse a project without its SoT folder (outside any project, or `root` names no folder):
    what lint and sync need before they read or write anything."""
    root = str(config["root"])
    try:
        found, there = config.root.is_dir(), os.path.lexists(config.root)
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL byte
        found, there = False, True
    if found:
        return
    where = str(config.config_file) if config.config_file else None
    shown = root if os.path.isabs(root) else display_path(config, root)
    what = "is not a folder" if there else "does not exist"
    hint = "set `root` in sotb.toml or [tool.sotb]"
    if where is None:
        hint = "no sotb.toml found; run `sotb init`"
    raise SotbError(f"no SoT folder: {shown.rstrip('/')}/ {what} ({hint})", where)


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
    from sot_builder.paths import printable  # a file name that is not UTF-8, shown escaped

    sys.stdout.write(printable(text))
    sys.stdout.flush()

"""`sotb lint`: check the registry and report problems."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import click

from sot_builder import __version__, collector
from sot_builder.cli import set_exit
from sot_builder.commands._common import (
    config_option, for_display, load, require_root, use_color, write,
)
from sot_builder.diagnostics import Severity, SotbError
from sot_builder.output import FORMATS


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--strict", is_flag=True, default=None, help="Warnings also make the exit code 1.")
@click.option("--select", multiple=True, help="Only these rules (code, code prefix or name).")
@click.option("--ignore", multiple=True, help="Skip these rules (code, code prefix or name).")
@click.option("--no-cache", is_flag=True, help="Parse every file afresh; do not read or write the cache.")
@click.option("--changed-since", metavar="REF", help="Report only problems in files changed since a git ref.")
@click.option("--fix", is_flag=True, help="Run `sotb sync` first: regenerate what can be generated.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to a file.")
@config_option
def lint(paths, fmt, strict, select, ignore, no_cache, changed_since, fix, output, config_path) -> None:
    """Check the SoT registry: IDs, fields, references, registry files.

    PATHS may name the project folder, or files whose problems alone are reported
    (the whole registry is always loaded: cross-file rules need it).
    """
    from sot_builder import engine, lintrun

    start, only = _split_paths(paths)
    config = load(start, config_path)
    # the command line is checked first: selectors, then the git ref (after --fix, once it wrote)
    rules = engine.active_rules(config.values, _split(select), _split(ignore))
    changed = None if fix or not changed_since else _changed_files(config.project_dir, changed_since)
    require_root(config)
    if fix:
        from sot_builder.sync import sync_project

        sync_project(config, write=True)
        changed = _changed_files(config.project_dir, changed_since) if changed_since else None
    with collector.paused():
        diags, files_checked = lintrun.lint(config, rules, use_cache=not no_cache)
    if only:
        wanted = {_project_rel(config, p) for p in only}
        diags = [d for d in diags if d.path in wanted or any(d.path.startswith(w + "/") for w in wanted)]
    if changed is not None:
        diags = [d for d in diags if d.path in changed]
    from sot_builder.output import render
    from sot_builder.rules import all_rules

    shown = _for_ci(config, diags, os.environ.get("GITHUB_WORKSPACE")) if fmt in ("github", "sarif") \
        else for_display(config, diags)
    text = render(fmt, shown, all_rules(), color=use_color() and output is None,
                  files_checked=files_checked, tool_version=__version__)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        write(text)
    strict = config["strict"] if strict is None else strict
    failing = any(d.severity == Severity.ERROR or (strict and d.severity == Severity.WARNING) for d in diags)
    set_exit(1 if failing else 0)


def _for_ci(config, diags: list, workspace: str | None) -> list:
    """GitHub resolves annotation and SARIF paths against the checkout, not the working folder."""
    if not workspace:
        return for_display(config, diags)
    base = Path(workspace).resolve()
    try:
        prefix = config.project_dir.resolve().relative_to(base).as_posix()
    except ValueError:
        return for_display(config, diags)
    if prefix == ".":
        return list(diags)
    return [replace(d, path=f"{prefix}/{d.path}") for d in diags]


def _split(tokens: tuple[str, ...]) -> list[str]:
    """`--select SOT1,SOT2 --select SOT301` -> ["SOT1", "SOT2", "SOT301"]."""
    return [t.strip() for token in tokens for t in token.split(",") if t.strip()]


def _split_paths(paths: tuple[Path, ...]) -> tuple[Path | None, list[Path]]:
    dirs = [p for p in paths if p.is_dir()]
    files = [p for p in paths if not p.is_dir()]
    for p in files:
        if not p.exists():
            raise SotbError("no such file or folder", str(p))
    if len(dirs) > 1:
        raise SotbError("give at most one project folder")
    return (dirs[0] if dirs else (files[0].parent if files else None)), files


def _project_rel(config, path: Path) -> str:
    try:
        return path.resolve().relative_to(config.project_dir.resolve()).as_posix()
    except ValueError:
        raise SotbError("file is outside the project", str(path))


def _changed_files(project_dir: Path, ref: str) -> set[str]:
    """Files changed since `ref` (committed, staged or not, or untracked), relative to the project dir."""
    import subprocess

    def git(*args: str) -> str:
        try:
            out = subprocess.run(["git", *args], cwd=project_dir, capture_output=True, check=True)
        except FileNotFoundError:
            raise SotbError("--changed-since needs git on PATH")
        except subprocess.CalledProcessError as exc:
            message = exc.stderr.decode("utf-8", "replace").strip()
            raise SotbError(f"git failed: {message or exc}")
        return out.stdout.decode("utf-8", "surrogateescape")

    if ref.startswith("-"):
        raise SotbError(f"--changed-since: not a git ref: {ref!r}")
    top = Path(git("rev-parse", "--show-toplevel").rstrip("\n")).resolve()
    # -z: names unquoted; --no-relative / --full-name: names relative to the top folder
    changed = git("diff", "--name-only", "--no-relative", "-z", ref, "--").split("\0")
    untracked = git("ls-files", "--others", "--exclude-standard", "--full-name", "-z").split("\0")
    base = project_dir.resolve()
    out = set()
    for name in filter(None, set(changed) | set(untracked)):
        try:
            out.add((top / name).relative_to(base).as_posix())
        except ValueError:
            continue
    return out

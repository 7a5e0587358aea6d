"""`sotb ledger`: record issued IDs and their changes; replay and verify the ledger."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sot_builder.cli import set_exit
from sot_builder.commands._common import config_option, display_path, load, write
from sot_builder.diagnostics import SotbError

folder_argument = click.argument("folder", required=False,
                                 type=click.Path(file_okay=False, path_type=Path))


@click.group()
def ledger() -> None:
    """The append-only ledger of every ID ever issued (docs/ledger.md)."""


@ledger.command()
@folder_argument
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when the ledger is behind the files.")
@click.option("--no-cache", is_flag=True, help="Parse every file afresh; do not read or write the cache.")
@config_option
def update(folder, check, no_cache, config_path) -> None:
    """Append events for new IDs and for changed titles, statuses, files and deprecations."""
    from sot_builder.ledger import ledger_rel
    from sot_builder.ledger import update as run_update
    from sot_builder.project import load_project

    config = load(folder, config_path)
    project = load_project(config, use_cache=not no_cache)
    events = run_update(config, project, write=not check)
    where = display_path(config, ledger_rel(config))
    for ev in events:
        write(_describe(ev) + "\n")
    if check:
        write(f"{where}: {len(events)} event(s) to record\n" if events else f"{where}: up to date\n")
        set_exit(1 if events else 0)
        return
    write(f"{where}: appended {len(events)} event(s)\n" if events else f"{where}: up to date\n")
    set_exit(0)


def _describe(ev: dict) -> str:
    kind, ident = ev["event"], ev["id"]
    if kind == "issued":
        return f"issued {ident}: {ev['title']} ({ev['file']})"
    if kind == "superseded":
        return f"superseded {ident}" + (f" by {ev['by']}" if ev.get("by") else "")
    if kind in ("title-changed", "status-changed", "moved", "renumbered"):
        return f"{kind} {ident}: {ev['from']!r} -> {ev['to']!r}"
    return f"{kind} {ident}"


def _require(config):
    from sot_builder.ledger import require_enabled, ledger_path, ledger_rel, read_ledger

    require_enabled(config)
    found = read_ledger(ledger_path(config))
    if found is None:
        raise SotbError("no ledger yet; run `sotb ledger update` to start one", ledger_rel(config))
    return found


@ledger.command()
@folder_argument
@click.option("--at", "at", type=click.IntRange(min=0), metavar="N",
              help="Stop after event N (line N of the ledger); default: all events.")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@config_option
def replay(folder, at, fmt, config_path) -> None:
    """Print the registry (ID, title, status, file) as it stood after event N."""
    from sot_builder.ledger import live
    from sot_builder.ledger import replay as run_replay

    config = load(folder, config_path)
    found = _require(config)
    rows = live(run_replay(found.events, at))
    if fmt == "json":
        data = [{"id": r.id, "title": r.title, "status": r.status, "file": r.file,
                 "deprecated": r.deprecated} for r in rows]
        write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        write(_table([(r.id, r.title, r.status, r.file) for r in rows]))
    set_exit(0)


def _table(rows: list[tuple[str, str, str, str]]) -> str:
    header = ("ID", "TITLE", "STATUS", "FILE")
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in (header, *rows)]
    return "\n".join(lines) + "\n"


@ledger.command()
@folder_argument
@config_option
def verify(folder, config_path) -> None:
    """Check that no ledger line was edited, removed or reordered."""
    from sot_builder.ledger import ledger_rel

    config = load(folder, config_path)
    found = _require(config)
    where = display_path(config, ledger_rel(config))
    for problem in found.problems:
        write(f"{where}:{problem.line}: {problem.message}\n")
    if found.problems:
        write(f"{where}: {len(found.problems)} problem(s)\n")
        set_exit(1)
        return
    write(f"{where}: {len(found.events)} event(s), intact\n")
    set_exit(0)

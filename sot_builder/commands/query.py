"""`sotb graph`, `show`, `refs`, `context`, `next`: read the registry, write nothing.

An ID or prefix that the registry does not know is an error (exit code 2).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from sot_builder.cli import set_exit
from sot_builder.commands._common import config_option, display_path, load, write

format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                             show_default=True)
project_option = click.option(
    "-C", "--project", "start", type=click.Path(file_okay=False, path_type=Path),
    help="Project folder (default: the working directory).",
)


def _load_project(start: Path | None, config_path: Path | None):
    from sot_builder.project import load_project

    return load_project(load(start, config_path))


@click.command()
@click.argument("ids", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "json"]), default="mermaid",
              show_default=True)
@click.option("--depth", type=click.IntRange(min=0), default=1, show_default=True,
              help="With IDs: how many steps of neighbours to include.")
@project_option
@config_option
def graph(ids, fmt, depth, start, config_path) -> None:
    """The relation graph: whole, or around the given IDs."""
    from sot_builder import graph as g
    from sot_builder.query import find_entry

    project = _load_project(start, config_path)
    full = g.build_graph(project)
    if ids:
        wanted = [find_entry(project, i).id for i in ids]
        full = g.neighbourhood(full, wanted, depth)
    write(g.FORMATS[fmt](full))
    set_exit(0)


@click.command()
@click.argument("ident", metavar="ID")
@format_option
@project_option
@config_option
def show(ident, fmt, start, config_path) -> None:
    """An entry: where it is, its fields, its references and its backlinks."""
    from sot_builder.query import show_data

    project = _load_project(start, config_path)
    data = show_data(project, ident)
    if fmt == "json":
        write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        write(_show_text(project, data))
    set_exit(0)


def _show_text(project, data: dict) -> str:
    cfg = project.config
    lines = [f"{data['id']}: {data['title']}",
             f"  file: {display_path(cfg, data['file'])}:{data['line']}  #{data['anchor']}"]
    if data["deprecated"]:
        lines.append("  DEPRECATED")
    for extra in data["definitions"][1:]:
        path, _, line = extra.rpartition(":")
        lines.append(f"  also defined at {display_path(cfg, path)}:{line}")
    if data["fields"]:
        lines.append("fields:")
        width = max(len(f["name"]) for f in data["fields"])
        lines += [f"  {f['name']:<{width}}  {f['value']}" for f in data["fields"]]
    lines.append(f"references ({len(data['references'])}):")
    for o in data["references"]:
        note = o["title"] if o["defined"] else "(undefined)"
        lines.append(f"  {o['relation'] or 'mentions':<16} {o['target']:<12} {note}")
    lines.append(f"referenced by ({len(data['backlinks'])}):")
    lines += [_backlink_line(project, b) for b in data["backlinks"]]
    return "\n".join(lines) + "\n"


def _backlink_line(project, b: dict) -> str:
    where = f"{display_path(project.config, b['path'])}:{b['line']}"
    return f"  {b['relation'] or 'mentions':<16} {b['source'] or '-':<12} {where}"


@click.command()
@click.argument("ident", metavar="ID")
@format_option
@project_option
@config_option
def refs(ident, fmt, start, config_path) -> None:
    """Who points at an entry, and under which relation."""
    from sot_builder.query import backlinks, find_entry

    project = _load_project(start, config_path)
    entry = find_entry(project, ident)
    found = backlinks(project, entry.id)
    if fmt == "json":
        write(json.dumps({"id": entry.id, "backlinks": [b.__dict__ for b in found]},
                         indent=2, ensure_ascii=False) + "\n")
    else:
        head = f"{entry.id} is referenced {len(found)} time{'s' if len(found) != 1 else ''}"
        write("\n".join([head + (":" if found else "."),
                         *(_backlink_line(project, b.__dict__) for b in found)]) + "\n")
    set_exit(0)


@click.command()
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@click.option("--depth", type=click.IntRange(min=0), default=1, show_default=True,
              help="How many steps of related entries to include.")
@click.option("--max-chars", type=click.IntRange(min=0), default=20000, show_default=True,
              help="The pack never exceeds this many characters.")
@project_option
@config_option
def context(ids, depth, max_chars, start, config_path) -> None:
    """A Markdown context pack: the entries and their neighbours, most related first."""
    from sot_builder.query import context_pack

    project = _load_project(start, config_path)
    write(context_pack(project, list(ids), depth, max_chars))
    set_exit(0)


@click.command("next")
@click.argument("prefix")
@click.option("--category", default="", help="Category name (default: the type's first category).")
@click.option("--reserve", is_flag=True,
              help="Reserve the number in the shared reservation store (reservation_db / SOTB_RESERVATION_DB) "
                   "so that no other branch or clone receives it.")
@project_option
@config_option
def next_id(prefix, category, reserve, start, config_path) -> None:
    """The next free ID of a prefix (writes nothing, unless --reserve records it in the store)."""
    from sot_builder.query import next_id as compute

    project = _load_project(start, config_path)
    write((_reserve_next(project, prefix, category) if reserve else compute(project, prefix, category)) + "\n")
    set_exit(0)


def _reserve_next(project, prefix: str, category: str) -> str:
    """Take the next number from the shared store: above every number used here or reserved elsewhere."""
    import os

    from sot_builder import scaffold
    from sot_builder.diagnostics import SotbError
    from sot_builder.query import type_for
    from sot_builder.reserve import open_store, store_url

    t = type_for(project, prefix)
    cat = scaffold.pick_category(t, category or None)
    url = store_url(project.config["reservation_db"])
    if not url:
        raise SotbError("--reserve needs a reservation store: set reservation_db in the configuration "
                        "or SOTB_RESERVATION_DB")
    used = scaffold.used_numbers(project, t, scaffold.ledger_ids(project))
    with open_store(url, base=project.config.project_dir) as store:
        return t.format_id(store.reserve(t.prefix, cat.first, cat.last, taken=used, who=os.environ.get("USER", "")))

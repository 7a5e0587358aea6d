"""`sotb export`: the registry as SQLite, a SQL dump, JSON or CSV."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sot_builder.cli import set_exit
from sot_builder.commands._common import config_option, load
from sot_builder.export import FORMATS


@click.command()
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="sqlite", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="File to write (a folder for csv), in a folder that exists; never a file "
                   "sotb reads. sql and json go to stdout without it or with '-'.")
@click.option("--no-cache", is_flag=True, help="Parse every file afresh; do not read or write the cache.")
@config_option
def export(folder, fmt, output, no_cache, config_path) -> None:
    """Export the registry: files, types, entries, fields, references, version history.

    The SQLite and SQL formats also hold the views broken_refs, missing_backrefs
    and id_index; the schema is described in docs/export-schema.md.
    """
    from sot_builder.export import export as run_export
    from sot_builder.project import load_project

    config = load(folder, config_path)
    project = load_project(config, use_cache=not no_cache)
    to_stdout = output is None or str(output) == "-"
    written = run_export(project, fmt, None if to_stdout else output, stdout=sys.stdout)
    if to_stdout:
        sys.stdout.flush()
    else:
        click.echo(f"exported {written['entries']} entries and {written['refs']} references "
                   f"to {output} ({fmt})", err=True)
    set_exit(0)

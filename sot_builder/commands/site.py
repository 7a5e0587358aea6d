"""`sotb site -o DIR`: write the registry as a static HTML site that works offline."""

from __future__ import annotations

from pathlib import Path

import click

from sot_builder.cli import set_exit
from sot_builder.commands._common import config_option, load, write


@click.command()
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--output", "out_dir", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the site into (created if needed).")
@config_option
def site(path, out_dir, config_path) -> None:
    """Render the registry as HTML: dashboard, search, a page per SoT file, relation graph.

    PATH is the project folder (default: the working directory). Open
    DIR/index.html in a browser; nothing is fetched from a network.
    """
    from sot_builder.project import load_project
    from sot_builder.site import write_site

    project = load_project(load(path, config_path))
    written = write_site(project, out_dir)
    pages = sum(1 for p in written if p.suffix == ".html")
    write(f"Wrote {pages} pages to {out_dir / 'index.html'}\n")
    set_exit(0)

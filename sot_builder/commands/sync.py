"""`sotb sync`: regenerate navigation, registry tables and missing back-references."""

from __future__ import annotations

from pathlib import Path

import click

from sot_builder.cli import set_exit
from sot_builder.commands._common import config_option, display_path, load, require_root, write


@click.command()
@click.argument("path", required=False, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--check", is_flag=True,
              help="Write nothing; print the diff and exit 1 when something would change.")
@click.option("--diff", "show_diff", is_flag=True, help="Also print the unified diff of what is written.")
@config_option
def sync(path: Path | None, check: bool, show_diff: bool, config_path: Path | None) -> None:
    """Regenerate what can be generated, and insert missing back-references.

    Rewrites the Navigation by Category of every SoT file, the file table of
    SoT.README.md, the prefix and index tables of SoT.UNIQUE_ID_SYSTEM.md, and
    adds each missing back-reference (SOT208) to its entry. A link whose
    fragment names its entry by ID but is not its anchor (SOT203: a short
    `#api-045`, or the slug of an old title) gets the entry's anchor. Only the
    generated regions (`<!-- sotb:begin NAME -->` ... `<!-- sotb:end NAME -->`),
    the inserted lines and those destinations change; the first run wraps the
    existing sections in markers.

    A file with an unterminated code fence or HTML comment is never rewritten:
    sync leaves it unchanged, names the line where the fence or comment opens
    on stderr, and exits 1 (with or without --check) until it is closed.

    Nothing at all is written (exit 2, naming the file and line) while a
    scanned file cannot be read or decoded, or a registry file has a region
    marker without its partner or frontmatter that is never closed or hides
    entries or regions: fix the file first.

    PATH is the project folder (default: found from the working directory).
    """
    from sot_builder.sync import sync_project

    config = load(path, config_path)
    require_root(config)
    result = sync_project(config, write=not check)
    if check or show_diff:
        write(result.diff)
    shown = [display_path(config, p) for p in result.changed_files]
    for rel, line, why in result.skipped:
        click.echo(f"{display_path(config, rel)}:{line}: {why}; skipped", err=True)
    if check:
        if shown:
            click.echo(f"sotb sync: {len(shown)} file(s) would change: {', '.join(shown)}", err=True)
        set_exit(1 if shown or result.skipped else 0)
        return
    for name in shown:
        write(f"updated {name}\n")
    if result.back_references:
        write(f"inserted {len(result.back_references)} back-reference(s)\n")
    if result.fragments:
        write(f"gave {len(result.fragments)} link(s) their entry's anchor\n")
    if not shown and not result.skipped:
        write("nothing to change\n")
    set_exit(1 if result.skipped else 0)

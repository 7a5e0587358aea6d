"""`sotb new`, `sotb add` and `sotb type add`: create SoT files, entries and types."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sot_builder.cli import set_exit
from sot_builder.commands._common import config_option, display_path, for_display, load, write
from sot_builder.diagnostics import Severity, SotbError


@click.command()
@click.argument("prefix")
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
@click.option("--dry-run", is_flag=True, help="Print the changes as a diff; write nothing.")
@config_option
def new(prefix: str, force: bool, dry_run: bool, config_path: Path | None) -> None:
    """Create the SoT file of type PREFIX and register it.

    Writes SoT/SoT.<NAME>.md with frontmatter, navigation for every category,
    Deprecated, Cross-Reference Index and Update Protocol sections; declares the
    type in the configuration; updates SoT.README.md and SoT.UNIQUE_ID_SYSTEM.md
    (creating them, as `sotb init --new` does, where the project has none); then
    lints the result.
    """
    from sot_builder.scaffold import create_file

    config = load(None, config_path)
    result = create_file(config, prefix.strip().upper(), force=force, dry_run=dry_run)
    if dry_run:
        write("".join(c.diff(config.project_dir) for c in result.changes))
        click.echo(f"not shown: the {config['readme']} and {config['id_system']} tables, "
                   "which are regenerated after writing", err=True)
        set_exit(0)
        return
    write(f"created {display_path(config, result.path)}\n")
    for path in result.registry_files:
        write(f"created {display_path(config, path)}\n")
    diags = result.diagnostics
    if diags:
        from sot_builder.output import render
        from sot_builder.rules import all_rules

        shown = for_display(config, diags)
        click.echo(render("text", shown, all_rules(), files_checked=len({d.path for d in shown})),
                   err=True, nl=False)
    set_exit(1 if any(d.severity == Severity.ERROR for d in diags) else 0)


@click.command()
@click.argument("prefix")
@click.option("--title", required=True, help="The entry's title.")
@click.option("--category", help="Category name (default: the type's first category).")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE", help="A field value (repeatable).")
@click.option("--ref", "refs", multiple=True, metavar="ID", help="An entry this one references (repeatable).")
@click.option("--reserve", is_flag=True,
              help="Take the number from the shared reservation store (reservation_db / SOTB_RESERVATION_DB).")
@click.option("--dry-run", is_flag=True, help="Print the changes as a diff; write nothing.")
@config_option
def add(prefix: str, title: str, category: str | None, fields: tuple[str, ...], refs: tuple[str, ...],
        reserve: bool, dry_run: bool, config_path: Path | None) -> None:
    """Add an entry of type PREFIX with the next free ID; print the ID.

    The number is the highest used in the category plus one; numbers seen in
    Deprecated sections or the ledger are never reused. Required fields not
    given get {placeholders}; referenced entries get a link back. Nothing is
    written while a file cannot be read, a registry file or the file of a
    referenced entry cannot be rewritten safely (see `sotb sync --help`).
    """
    from sot_builder.scaffold import add_entry

    config = load(None, config_path)
    pairs = [_pair(f) for f in fields]
    result = add_entry(config, prefix.strip().upper(), title, category, pairs, refs,
                       reserve=reserve, dry_run=dry_run)
    if dry_run:
        click.echo(f"would add {result.id} to {display_path(config, result.path)}"
                   f"{'; links back from the referenced entries are not shown' if refs else ''}", err=True)
        write("".join(c.diff(config.project_dir) for c in result.changes))
    else:
        write(f"{result.id}\n")
    set_exit(0)


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise SotbError(f"bad --field '{text}': write NAME=VALUE")
    return name.strip(), value


@click.group("type")
def type_group() -> None:
    """Define SoT types."""


@type_group.command("add")
@click.option("--prefix", help="ID prefix, 2-5 capitals (e.g. PIC).")
@click.option("--title", help="What the entries are (e.g. 'Partner Integration Contracts').")
@click.option("--purpose", help="The artifact the file tracks, one sentence.")
@click.option("--why", help="Why the existing SoT types cannot hold these entries.")
@click.option("--category", "categories", multiple=True, metavar="NAME=FIRST-LAST",
              help="A category and its number range, e.g. 'Payment providers=1-99' (repeatable).")
@click.option("--field", "fields", multiple=True, metavar="NAME[:KIND[=ARGS]][:required]",
              help="A field, e.g. 'Status:enum=Active,Expired:required', 'Integration APIs:references=API' "
                   "(repeatable).")
@click.option("--relation", "relations", multiple=True, metavar="NAME:INVERSE[:TARGETS[:SECTION]]",
              help="A relation to other types, e.g. 'used-by:uses-partner:API:Integration Points' (repeatable).")
@click.option("--section", "sections", multiple=True, help="A sub-section of every entry (repeatable).")
@click.option("--file", "file_name", help="File name inside the SoT folder (default: SoT.<TITLE>.md).")
@click.option("--authority", help="What the file is the authority on.")
@click.option("--keyword", "keywords", multiple=True, help="A word that describes the entries (repeatable).")
@click.option("--width", type=click.IntRange(1, 9), default=3, show_default=True, help="Digits in an ID number.")
@click.option("--dry-run", is_flag=True, help="Print the changes as a diff; write nothing.")
@config_option
def type_add(prefix, title, purpose, why, categories, fields, relations, sections, file_name, authority,
             keywords, width, dry_run, config_path) -> None:
    """Define a new SoT type: write types/<prefix>.yaml and declare it in the configuration.

    Run in a terminal without flags to be asked for each answer. Refuses a
    prefix already registered, a purpose an existing type covers, a type with
    no ID structure, and methodology text in the template.
    """
    from sot_builder.scaffold import build_definition, write_type

    interactive = _interactive()
    prefix = _ask(prefix, "ID prefix (2-5 capitals)", "--prefix", interactive)
    title = _ask(title, "What artifact does it track (title)", "--title", interactive)
    purpose = _ask(purpose, "Purpose (one sentence)", "--purpose", interactive)
    why = _ask(why, "Why can't the existing SoT files hold it", "--why", interactive)
    categories = categories or _ask_many("Category as NAME=FIRST-LAST", "--category", interactive)
    fields = fields or _ask_many("Required field as NAME[:KIND[=ARGS]][:required]", "--field", interactive)
    if interactive and not relations:
        relations = tuple(_ask_list("Relation as NAME:INVERSE[:TARGETS[:SECTION]]"))
    config = load(None, config_path)
    data = build_definition(prefix, title, purpose, categories, fields, relations, file=file_name or "",
                            authority=authority or "", keywords=keywords, sections=sections, width=width)
    result = write_type(config, data, why, dry_run=dry_run)
    if dry_run:
        write("".join(c.diff(config.project_dir) for c in result.changes))
    else:
        for c in result.changes:
            write(f"wrote {display_path(config, str(c.path.relative_to(config.project_dir)))}\n")
        click.echo(f"next: sotb new {data['prefix']}", err=True)
    set_exit(0)


def _interactive() -> bool:
    """Ask questions only when a person is at a terminal."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def _ask(value: str | None, question: str, flag: str, interactive: bool) -> str:
    if value:
        return value
    if not interactive:
        raise SotbError(f"missing {flag}")
    return click.prompt(question).strip()


def _ask_many(question: str, flag: str, interactive: bool) -> tuple[str, ...]:
    """Answers to a repeated question; none without a terminal (the checks then say what is missing)."""
    return tuple(_ask_list(question)) if interactive else ()


def _ask_list(question: str) -> list[str]:
    answers: list[str] = []
    while True:
        answer = click.prompt(f"{question} (empty line to finish)", default="", show_default=False).strip()
        if not answer:
            return answers
        answers.append(answer)

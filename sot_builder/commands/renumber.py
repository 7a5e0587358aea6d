"""`sotb renumber`: move one entry to a new ID and rewrite every reference to it."""

from __future__ import annotations

from pathlib import Path

import click

from sot_builder.cli import set_exit
from sot_builder.commands._common import config_option, display_path, load, write
from sot_builder.diagnostics import SotbError
from sot_builder.output.text import plural


@click.command()
@click.argument("ident", metavar="ID", required=False)
@click.option("--to", "to", metavar="NEW", default="", help="The new ID (default: the next free number in its category).")
@click.option("--file", "where", metavar="PATH[:LINE]", default="",
              help="Which definition moves when the ID is defined more than once.")
@click.option("--reserve", is_flag=True,
              help="Take the new number from the shared reservation store (reservation_db / SOTB_RESERVATION_DB).")
@click.option("--dry-run", is_flag=True, help="Print the changes as a unified diff; write nothing.")
@click.option("--no-sync", is_flag=True, help="Do not regenerate navigation and registry tables afterwards.")
@click.option("--recover", is_flag=True, help="Only finish or undo an interrupted renumber.")
@config_option
def renumber(ident, to, where, reserve, dry_run, no_sync, recover, config_path) -> None:
    """Give entry ID a new number and rewrite every reference to it.

    When two entries share ID (two branches each added "the next" one), the
    entry the ledger issued second moves; name another with --file. Every file
    is rewritten or none is; the move is recorded in the ledger as a
    `renumbered` event. References that could mean either entry are listed and
    left alone. Nothing is written while a scanned file cannot be read or decoded.
    """
    from sot_builder import renumber as rn

    config = load(None, config_path)
    if recover:
        if ident:
            raise SotbError("--recover takes no ID")
        _report_recovery(config, rn.recover_only(config))
        set_exit(0)
        return
    if not ident:
        raise SotbError("missing ID (or --recover)")
    file, line = _where(config, where)
    result = rn.renumber(config, ident.strip(), to=to.strip(), file=file, line=line, reserve=reserve,
                         dry_run=dry_run, sync=not no_sync)
    if result.recovered is not None:
        _report_recovery(config, result.recovered)
        click.echo("nothing else was done: check the IDs and run the command again if still needed", err=True)
        set_exit(1)
        return
    plan = result.plan
    assert plan is not None
    if dry_run:
        write(plan.diff)
    _summary(config, plan, dry_run)
    for m in plan.ambiguous:
        click.echo(f"{display_path(config, m.path)}:{m.line}:{m.column}: left {plan.old} alone "
                   f"(it may mean another entry {plan.old}); check it by hand", err=True)
    if result.sync_error:
        click.echo(f"sotb: warning: navigation not regenerated: {result.sync_error}", err=True)
    set_exit(0)


def _where(config, where: str) -> tuple[str, int]:
    """--file PATH[:LINE] as a project-relative path and a line (0 = any)."""
    if not where:
        return "", 0
    path, _, line = where.rpartition(":")
    if not path or not line.isdigit():
        path, line = where, ""
    full = (Path.cwd() / path).resolve()
    try:
        rel = full.relative_to(config.project_dir.resolve()).as_posix()
    except ValueError:
        raise SotbError(f"--file {path} is outside the project") from None
    return rel, int(line) if line else 0


# what each kind of rewritten mention is called in the summary
_MENTION_WORDS = {"bare": "bare mention", "code": "code span", "table": "table cell"}


def _summary(config, plan, dry_run: bool) -> None:
    e = plan.entry
    verb = "would move" if dry_run else "moved"
    click.echo(f"{verb} {plan.old} '{e.title}' ({display_path(config, e.path)}:{e.line}) to {plan.new}",
               err=True)
    if plan.others:
        kept = ", ".join(f"'{o.title}' ({display_path(config, o.path)}:{o.line})" for o in plan.others)
        click.echo(f"  {plan.reason}; {plan.old} stays with {kept}", err=True)
    counts: dict[str, int] = {}
    for m in plan.rewritten:
        counts[m.kind] = counts.get(m.kind, 0) + 1
    parts = ", ".join(plural(n, _MENTION_WORDS.get(kind, kind)) for kind, n in sorted(counts.items()))
    files = len([c for c in plan.changes if c.path != _ledger_rel(config)])
    click.echo(f"  {'would rewrite' if dry_run else 'rewrote'} {parts or 'nothing'} in {plural(files, 'file')}",
               err=True)
    if plan.event is not None:
        click.echo(f"  ledger: renumbered {plan.old} -> {plan.new}", err=True)
    else:
        click.echo(f"  no ledger: the move is not recorded and {plan.old} could be handed out again "
                   "(start one with `sotb ledger update`)", err=True)


def _ledger_rel(config) -> str:
    from sot_builder.ledger import ledger_rel

    return ledger_rel(config)


def _report_recovery(config, rec) -> None:
    if rec is None:
        click.echo("no interrupted renumber", err=True)
        return
    files = ", ".join(display_path(config, p) for p in rec.files)
    click.echo(f"interrupted renumber of {rec.old} to {rec.new}: {rec.action} ({files})", err=True)


"""The command line: a thin click shell over the pure core.

Only this module (and `commands/`) reads argv, prints and picks exit codes:
0 = clean, 1 = problems found, 2 = usage, configuration or internal error.
Commands are imported lazily so `sotb lint` does not pay for the others.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from typing import NoReturn

import click

from sot_builder import __version__, collector
from sot_builder.diagnostics import SotbError

COMMANDS = {
    "lint": "sot_builder.commands.lint:lint",
    "init": "sot_builder.commands.init:init",
    "sync": "sot_builder.commands.sync:sync",
    "new": "sot_builder.commands.scaffold:new",
    "add": "sot_builder.commands.scaffold:add",
    "type": "sot_builder.commands.scaffold:type_group",
    "export": "sot_builder.commands.export:export",
    "ledger": "sot_builder.commands.ledger:ledger",
    "site": "sot_builder.commands.site:site",
    "graph": "sot_builder.commands.query:graph",
    "show": "sot_builder.commands.query:show",
    "refs": "sot_builder.commands.query:refs",
    "context": "sot_builder.commands.query:context",
    "next": "sot_builder.commands.query:next_id",
    "renumber": "sot_builder.commands.renumber:renumber",
    "rules": "sot_builder.commands.meta:rules",
    "rule": "sot_builder.commands.meta:rule",
    "config": "sot_builder.commands.meta:config",
}


def _available() -> dict[str, str]:
    here = os.path.join(os.path.dirname(__file__), "commands")
    return {
        name: target
        for name, target in COMMANDS.items()
        if os.path.exists(os.path.join(here, target.split(":")[0].rsplit(".", 1)[1] + ".py"))
    }


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_available())

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = _available().get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sotb")
def cli() -> None:
    """sotb — scaffold and lint Markdown Source of Truth registries."""


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="sotb", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.exceptions.Abort:
        click.echo("sotb: aborted", err=True)
        return 2
    except click.ClickException as exc:
        exc.show()
        return 2
    except SotbError as exc:
        click.echo(f"sotb: error: {exc}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("sotb: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # never a traceback for users; SOTB_DEBUG=1 shows it
        if os.environ.get("SOTB_DEBUG"):
            raise
        click.echo(f"sotb: internal error: {type(exc).__name__}: {exc}", err=True)
        return 2
    return _EXIT.pop() if _EXIT else 0


_EXIT: list[int] = []


def run() -> NoReturn:
    """The `sotb` program: main() with the cycle collector off, then an exit that skips teardown.

    A command on a big registry builds millions of objects that live until the
    end and make no garbage cycles worth collecting; the collector would only
    walk them again and again (3.3 s of a 25 s `sotb export` at 100,000
    entries). They would also be freed one by one on the way out (a tenth of a
    lint at 10,000 entries). Every file sotb writes is closed by then, and
    nothing registers exit handlers, so the output is flushed and the process
    ends at once; big structures are kept to the end for the same reason.
    """
    gc.disable()
    collector.keep_until_exit()
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = code or 1
    except OSError:
        code = 2
    os._exit(code)


def set_exit(code: int) -> None:
    """Commands report their exit code here (click's return value is not kept)."""
    _EXIT.clear()
    _EXIT.append(code)


if __name__ == "__main__":
    run()

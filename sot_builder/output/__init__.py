"""Report formats for `sotb lint`: pure functions from diagnostics to text.

Each format lives in its own module and is imported only when asked for, so the
lint path pays for the one it uses. Every result ends with a newline: write it
out as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from sot_builder.diagnostics import Diagnostic, SotbError
from sot_builder.paths import printable

if TYPE_CHECKING:
    from sot_builder.rules.base import Rule

FORMATS = ("text", "json", "github", "sarif", "junit")


def render(
    fmt: str,
    diagnostics: Sequence[Diagnostic],
    rules: Sequence[Rule],
    *,
    color: bool = False,
    files_checked: int = 0,
    tool_version: str = "",
) -> str:
    """Render sorted, filtered `diagnostics` in format `fmt` (one of FORMATS)."""
    if fmt != "sarif":  # SARIF keeps the exact name in its URIs and escapes its texts itself
        diagnostics = [printable_diagnostic(d) for d in diagnostics]
    if fmt == "text":
        from sot_builder.output import text

        return text.render(diagnostics, color=color, files_checked=files_checked)
    if fmt == "json":
        from sot_builder.output import json

        return json.render(diagnostics)
    if fmt == "github":
        from sot_builder.output import github

        return github.render(diagnostics, files_checked=files_checked)
    if fmt == "sarif":
        from sot_builder.output import sarif

        return sarif.render(diagnostics, rules, tool_version=tool_version)
    if fmt == "junit":
        from sot_builder.output import junit

        return junit.render(diagnostics, files_checked=files_checked)
    raise SotbError(f"unknown output format {fmt!r} (choose from {', '.join(FORMATS)})")


def printable_diagnostic(diag: Diagnostic) -> Diagnostic:
    path, message, fix = printable(diag.path), printable(diag.message), printable(diag.fix)
    if (path, message, fix) == (diag.path, diag.message, diag.fix):
        return diag
    return replace(diag, path=path, message=message, fix=fix)

"""GitHub Actions workflow commands: one annotation per problem, then a summary.

GitHub shows at most 10 annotations of each kind per step and hides the command
lines from the log, so the plain summary line is what carries the full counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.output.text import severity_counts, summary, visible

COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
SHOWN_PER_KIND = 10


def render(diagnostics: Sequence[Diagnostic], *, files_checked: int = 0) -> str:
    lines = [annotation(d) for d in diagnostics]
    line = summary(diagnostics, files_checked)
    if any(n > SHOWN_PER_KIND for n in severity_counts(diagnostics).values()):
        line += f" GitHub shows only the first {SHOWN_PER_KIND} annotations of each kind."
    lines.append(line)
    return "\n".join(lines) + "\n"


def annotation(diag: Diagnostic) -> str:
    """`::error file=PATH,line=N,col=N,title=CODE::message`"""
    props = {
        "file": diag.path,
        "line": str(diag.line),
        "col": str(diag.column),
        "title": diag.code,
    }
    joined = ",".join(f"{key}={escape_property(value)}" for key, value in props.items())
    message = diag.message + (f" (fix: {diag.fix})" if diag.fix else "")
    return f"::{COMMAND[diag.severity]} {joined}::{escape_data(message)}"


def escape_data(value: str) -> str:
    value = visible(value)
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")

"""Human-readable report: one line per problem, then a summary line."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from sot_builder.diagnostics import Diagnostic, Severity

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
RED = "\x1b[31m"
GREEN = "\x1b[32m"
YELLOW = "\x1b[33m"
CYAN = "\x1b[36m"

SEVERITY_COLOR = {Severity.ERROR: RED, Severity.WARNING: YELLOW, Severity.INFO: CYAN}

# Control characters (other than tab and line breaks) from user files must not
# reach a terminal or a CI log raw.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NEWLINES = re.compile(r"\r\n|\r|\n")


def render(
    diagnostics: Sequence[Diagnostic], *, color: bool = False, files_checked: int = 0
) -> str:
    lines = [problem_line(d, color=color) for d in diagnostics]
    lines.append(summary(diagnostics, files_checked, color=color))
    return "\n".join(lines) + "\n"


def problem_line(diag: Diagnostic, *, color: bool = False) -> str:
    """`path:line:col: CODE [severity] message (fix: hint)` on one line."""
    where = f"{one_line(diag.path)}:{diag.line}:{diag.column}:"
    tag = f"{diag.code} [{diag.severity.value}]"
    message = one_line(diag.message)
    hint = f" (fix: {one_line(diag.fix)})" if diag.fix else ""
    if color:
        paint = SEVERITY_COLOR[diag.severity]
        where = f"{BOLD}{where}{RESET}"
        tag = f"{paint}{BOLD}{diag.code}{RESET} {paint}[{diag.severity.value}]{RESET}"
        hint = f"{DIM}{hint}{RESET}" if hint else ""
    return f"{where} {tag} {message}{hint}"


def summary(diagnostics: Sequence[Diagnostic], files_checked: int, *, color: bool = False) -> str:
    """`Found 3 errors and 1 warning in 12 files.` or `All checks passed (12 files).`"""
    files = plural(files_checked, "file")
    if not diagnostics:
        line = f"All checks passed ({files})."
        return f"{GREEN}{BOLD}{line}{RESET}" if color else line
    line = f"Found {count_phrase(diagnostics)} in {files}."
    if not color:
        return line
    worst = max(diagnostics, key=lambda d: d.severity.rank).severity
    return f"{SEVERITY_COLOR[worst]}{BOLD}{line}{RESET}"


def count_phrase(diagnostics: Sequence[Diagnostic]) -> str:
    """`3 errors, 1 warning and 2 info messages`, leaving out the zero counts."""
    counts = severity_counts(diagnostics)
    words = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info message"}
    parts = [plural(counts[s], words[s]) for s in Severity if counts[s]]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def severity_counts(diagnostics: Sequence[Diagnostic]) -> Counter[Severity]:
    return Counter(d.severity for d in diagnostics)


def plural(n: int, word: str, many: str = "") -> str:
    """`1 file`, `2 files`; `many` for a word that does not just take an s."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def one_line(value: str) -> str:
    """Fold line breaks to spaces and show other control characters as escapes."""
    if value.isprintable():  # the usual case: no line break nor control character
        return value
    return visible(_NEWLINES.sub(" ", value))


def visible(value: str) -> str:
    """Show control characters other than tab and line breaks as `\\xNN` escapes."""
    if value.isprintable():
        return value
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], value)

"""The rule contract: a small unit with a stable code that only yields diagnostics."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from sot_builder.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from sot_builder.project import Project

DOCS_URL = "https://github.com/sotb/sotb/blob/main/docs/rules.md"


@dataclass(frozen=True)
class Rule:
    code: str  # "SOT101"
    name: str  # "duplicate-id"
    severity: Severity
    summary: str  # one line
    doc: str  # why, bad example, good example (Markdown)
    check: Callable[["Project"], Iterator[Diagnostic]]
    message: str = "{msg}"  # message template

    @property
    def help_uri(self) -> str:
        return f"{DOCS_URL}#{self.code.lower()}-{self.name}"

    def diag(
        self,
        path: str,
        line: int,
        column: int = 1,
        ids: tuple[str, ...] = (),
        fix: str = "",
        **fmt: object,
    ) -> Diagnostic:
        # positional: a frozen dataclass takes them faster (a rule may report thousands)
        return Diagnostic(self.code, self.message.format(**fmt), path, line, column, self.severity,
                          ids, self.name, fix)


def rule(code: str, name: str, severity: Severity, summary: str, message: str = "{msg}"):
    """Decorator turning a generator function into a Rule; its docstring is the doc."""

    def wrap(fn: Callable[["Project"], Iterator[Diagnostic]]) -> Rule:
        r: Rule
        doc = (fn.__doc__ or "").strip()

        def check(project: "Project") -> Iterator[Diagnostic]:
            return fn(project, r)  # type: ignore[call-arg]

        r = Rule(code, name, severity, summary, _dedent(doc), check, message)
        return r

    return wrap


def _dedent(text: str) -> str:
    """The first line, then the others less their common indentation, as `textwrap.dedent` does.

    Written out because importing textwrap and running its patterns for every
    rule cost a small lint about 1%.
    """
    first, _, rest = text.partition("\n")
    lines = [line if line.strip(" \t") else "" for line in rest.split("\n")]
    margin = os.path.commonprefix([line[:len(line) - len(line.lstrip(" \t"))] for line in lines if line])
    rest = "\n".join(line[len(margin):] for line in lines)
    return (first + "\n" + rest).strip()

"""Problems found by sotb: one frozen value per problem."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from operator import attrgetter


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    path: str  # relative to the project root, "/" separated
    line: int = 1  # 1-based
    column: int = 1  # 1-based
    severity: Severity = Severity.ERROR
    ids: tuple[str, ...] = ()
    name: str = ""  # rule name, e.g. "duplicate-id"
    fix: str = ""  # a short hint how to repair ("run `sotb sync`", "use #pic-001-stripe")

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        return SORT_KEY(self)

    def with_severity(self, severity: Severity) -> "Diagnostic":
        return Diagnostic(
            self.code, self.message, self.path, self.line, self.column, severity,
            self.ids, self.name, self.fix,
        )


SORT_KEY = attrgetter("path", "line", "column", "code", "message")  # the order problems are reported in


class SotbError(Exception):
    """A usage, configuration or environment error: exit code 2, no traceback."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        super().__init__(f"{where}{message}")

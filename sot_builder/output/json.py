"""Machine-readable report: a JSON array of problems.

The key set and order is a public contract: code, severity, path, line, column,
message, ids. Add new information in a new format, not here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sot_builder.diagnostics import Diagnostic

KEYS = ("code", "severity", "path", "line", "column", "message", "ids")


def render(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps([as_dict(d) for d in diagnostics], indent=2, ensure_ascii=False) + "\n"


def as_dict(diag: Diagnostic) -> dict[str, Any]:
    return {
        "code": diag.code,
        "severity": diag.severity.value,
        "path": diag.path,
        "line": diag.line,
        "column": diag.column,
        "message": diag.message,
        "ids": list(diag.ids),
    }

"""Every rule family lives in its own module and exports a RULES tuple."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from sot_builder.rules.base import Rule


@lru_cache(maxsize=1)
def all_rules() -> tuple[Rule, ...]:
    """ALL rules, sorted by code; codes and names are unique."""
    found: list[Rule] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name == "base" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(getattr(module, "RULES", ()))
    found.sort(key=lambda r: r.code)
    return tuple(found)


def rule_by_code(code: str) -> Rule | None:
    for r in all_rules():
        if r.code == code or r.name == code:
            return r
    return None

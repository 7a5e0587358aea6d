"""A small TOML writer for the configuration sotb generates (strings, numbers, lists, tables)."""

from __future__ import annotations

import json
import re
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name)


def value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def table(name: str, values: dict[str, Any]) -> str:
    lines = [f"[{name}]"]
    for k, v in values.items():
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            lines.append(f"{key(k)} = [")
            lines.extend(f"  {value(x)}," for x in v)
            lines.append("]")
        else:
            lines.append(f"{key(k)} = {value(v)}")
    return "\n".join(lines) + "\n"

"""Small registries on disk, and one rule run over them."""

from __future__ import annotations

from pathlib import Path

from sot_builder.config import load_config
from sot_builder.diagnostics import Diagnostic
from sot_builder.project import load_project
from sot_builder.rules import rule_by_code

CONFIG = """root = "SoT"

[types.PIC]
fields = []

[types.API]
fields = []

[types.BR]
fields = []
"""


def tree(root: Path, files: dict[str, str], config: str = CONFIG) -> Path:
    (root / "SoT").mkdir(parents=True, exist_ok=True)
    (root / ".git").mkdir(exist_ok=True)
    (root / "sotb.toml").write_text(config, encoding="utf-8")
    for name, text in files.items():
        (root / "SoT" / name).write_text(text, encoding="utf-8")
    return root


def check(root: Path, code: str) -> list[Diagnostic]:
    rule = rule_by_code(code)
    assert rule is not None, code
    project = load_project(load_config(root), use_cache=False)
    return sorted(rule.check(project), key=lambda d: d.sort_key)

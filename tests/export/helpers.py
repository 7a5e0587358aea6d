"""Small project trees for the export tests."""

from __future__ import annotations

from pathlib import Path

from sot_builder.config import load_config
from sot_builder.project import Project, load_project

CONFIG = """\
[types]
BR = {}
PIC = {}
"""

RULES = """\
# Business Rules

## BR-001: Refund window

**Status**: Active
**Owner**: it's "quoted"

Mentions [PIC-001](SoT.PARTNER_INTEGRATIONS.md#pic-001-stripe) and BR-002.

### Affected By
- [PIC-001](SoT.PARTNER_INTEGRATIONS.md#pic-001-stripe) - Stripe

### Version History

| Version | Date | Changes | Updated By |
|---------|------|---------|------------|
| 1.0 | 2025-01-10 | Initial creation | Product Team |
| 1.1 | 2025-02-10 | Window to 30 days | Billing |

## BR-002: '); DROP TABLE entries; --

**Status**: Draft
**Note**: O'Brien said "hi" 🚀 — ✓

See [PIC-009](SoT.PARTNER_INTEGRATIONS.md#pic-009).

## Version History

| Version | Date | Changes |
|---------|------|---------|
| 1.0 | 2025-01-01 | File created |
"""

PARTNERS = """\
# Partner Integrations

## PIC-001: Stripe

**Status**: Active

### Integration Points
- [BR-001](SoT.BUSINESS_RULES.md#br-001-refund-window) - refunds
"""


def make_project(root: Path, files: dict[str, str] | None = None, config: str = CONFIG) -> Project:
    """Write a project tree under `root` and load it."""
    files = files if files is not None else {
        "SoT/SoT.BUSINESS_RULES.md": RULES,
        "SoT/SoT.PARTNER_INTEGRATIONS.md": PARTNERS,
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / "sotb.toml").write_text(config, encoding="utf-8")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return load_project(load_config(root), use_cache=False)

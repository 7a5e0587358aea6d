"""A small registry written by hand: PIC-002 is mentioned in every way sotb rewrites."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFIG = """root = "SoT"
documents = ["docs/*.md"]
portfolio = { P = "../elsewhere" }

[types.PIC]
file = "SoT.PARTNERS.md"
categories = [
  { name = "Payment providers", first = 1, last = 99 },
  { name = "Communication services", first = 101, last = 199 },
]
fields = []

[types.API]
file = "SoT.API.md"
fields = []
"""

PARTNERS = """# Partners

## Navigation by Category

**Payment providers** (PIC-001 to PIC-099):
- [PIC-001](#pic-001-stripe) - Stripe
- [PIC-002](#pic-002-adyen-payments) - Adyen Payments

---

## PIC-001: Stripe

**Status**: Active
**Fallback**: [PIC-002](#pic-002-adyen-payments)

---

<a id="pic-002"></a>
## PIC-002: Adyen Payments

**Status**: Active

Falls back to PIC-001; PIC-002 is also called `PIC-002` in logs.

---
"""

API = """# API

## API-001: Charge

**Status**: Active
**Partner**: [PIC-002](SoT.PARTNERS.md#pic-002-adyen-payments)

See [the Adyen entry](SoT.PARTNERS.md#pic-002) and PIC-001.

| Partner | Name |
|---------|------|
| PIC-002 | Adyen Payments |
"""

GUIDE = """# Checkout guide

Card payments go through PIC-002 ([details](../SoT/SoT.PARTNERS.md#pic-002-adyen-payments)).
The other registry's P:PIC-002 is a different thing.
"""


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    return root


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1736467200")  # 2025-01-10
    monkeypatch.delenv("SOTB_RESERVATION_DB", raising=False)
    root = tmp_path / "project"
    write_tree(root, {
        "sotb.toml": CONFIG,
        "SoT/SoT.PARTNERS.md": PARTNERS,
        "SoT/SoT.API.md": API,
        "docs/guide.md": GUIDE,
    })
    monkeypatch.chdir(root)
    return root

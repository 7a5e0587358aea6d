"""A fresh registry in tmp_path (what `sotb init --new` leaves) and a CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from sot_builder.cli import main

README = """# Source of Truth Registry

## SoT Files

| File | Prefixes | Purpose |
|------|----------|---------|
"""

ID_SYSTEM = """# Unique ID System

## 1. Prefixes

### 1.2 Prefix Registry

| Prefix | Meaning | File |
|--------|---------|------|

## 2. ID Index

### 2.2 Index Tables
"""

TODAY_EPOCH = "1736467200"  # 2025-01-10
TODAY = "2025-01-10"


@dataclass
class Result:
    code: int
    out: str
    err: str


def make_registry(folder: Path, config: str = 'root = "SoT"\n\n[types]\n') -> Path:
    (folder / "SoT").mkdir(parents=True, exist_ok=True)
    (folder / "sotb.toml").write_text(config, encoding="utf-8")
    (folder / "SoT" / "SoT.README.md").write_text(README, encoding="utf-8")
    (folder / "SoT" / "SoT.UNIQUE_ID_SYSTEM.md").write_text(ID_SYSTEM, encoding="utf-8")
    return folder


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", TODAY_EPOCH)
    monkeypatch.delenv("SOTB_RESERVATION_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    return make_registry(tmp_path)


@pytest.fixture
def sotb(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run the CLI in the working directory; returns exit code, stdout and stderr."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run

"""Fixtures for the SQL schema tests: the shipped example and an editable copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trading-orders"


@pytest.fixture
def example_dir() -> Path:
    """The shipped example project (read only)."""
    return EXAMPLE


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A fresh copy of the example project, free to edit."""
    root = tmp_path / "trading-orders"
    shutil.copytree(EXAMPLE, root)
    return root

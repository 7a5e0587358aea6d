"""Fixtures for the query tests: a copy of the sample registry of the site tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parents[1] / "site" / "fixture"


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    target = tmp_path / "registry"
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns(".sotb_cache"))
    return target


@pytest.fixture
def project(registry: Path):
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    return load_project(load_config(registry), use_cache=False)

from __future__ import annotations

from pathlib import Path

import pytest
from sync_helpers import copy_registry


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    return copy_registry(tmp_path / "project")

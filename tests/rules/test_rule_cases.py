"""One runner for every golden rule case under `cases/<CODE>/<case>/`.

Refresh an `expected.txt` after a deliberate change with
`SOTB_UPDATE_GOLDEN=1 pytest tests/rules` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.rules.casefiles import EXPECTED, Case, all_cases, run_case

CASE_LIST = all_cases()


@pytest.mark.parametrize("case", CASE_LIST, ids=[c.id for c in CASE_LIST])
def test_rule_case(case: Case, tmp_path: Path) -> None:
    actual = run_case(case, tmp_path / "tree")
    if os.environ.get("SOTB_UPDATE_GOLDEN") == "1":
        header = [ln for ln in (case.folder / EXPECTED).read_text(encoding="utf-8").splitlines()
                  if ln.startswith("#")]
        (case.folder / EXPECTED).write_text("\n".join(header + actual) + "\n", encoding="utf-8")
    expected = case.expected()
    assert actual == expected, (
        f"{case.id}: problems differ from {EXPECTED}\n"
        f"expected:\n  " + "\n  ".join(expected or ["(none)"]) + "\n"
        "actual:\n  " + "\n  ".join(actual or ["(none)"])
    )

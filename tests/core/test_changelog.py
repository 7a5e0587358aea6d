from pathlib import Path

from sot_builder.rules import all_rules

CHANGELOG = (Path(__file__).resolve().parents[2] / "CHANGELOG.md").read_text(encoding="utf-8")


def test_every_rule_code_has_a_changelog_entry():
    missing = [r.code for r in all_rules() if f"`{r.code}`" not in CHANGELOG]
    assert missing == [], f"add CHANGELOG.md entries for {missing}"

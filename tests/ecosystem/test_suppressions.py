"""Inline suppression comments: which lines they silence and when they are unused."""

from __future__ import annotations

import pytest

from sot_builder.diagnostics import Diagnostic
from sot_builder.engine import apply_suppressions
from sot_builder.parse import parse_document
from sot_builder.rules import rule_by_code

PATH = "SoT/SoT.X.md"
UNUSED = rule_by_code("SOT005")
ALL_ACTIVE = {"SOT005", "SOT101", "SOT201", "SOT202", "SOT203", "SOT301"}


def problems_on(lines: list[int], code: str = "SOT201", name: str = "") -> list[Diagnostic]:
    return [Diagnostic(code, "problem", PATH, n, 1, name=name) for n in lines]


def check(text: str, diags: list[Diagnostic], active: set[str] = ALL_ACTIVE) -> list[tuple[int, str]]:
    """Apply the comments of `text` to `diags`; return (line, code) of what remains, sorted."""
    doc = parse_document(text, PATH)
    kept = apply_suppressions([doc], diags, UNUSED, active)
    return sorted((d.line, d.code) for d in kept)


def messages(text: str, diags: list[Diagnostic]) -> list[str]:
    doc = parse_document(text, PATH)
    return [d.message for d in apply_suppressions([doc], diags, UNUSED, ALL_ACTIVE) if d.code == "SOT005"]


def test_disable_next_line_silences_exactly_the_next_line() -> None:
    text = "# T\n<!-- sotb-disable-next-line SOT201 -->\nbad\nbad\n"
    assert check(text, problems_on([2, 3, 4])) == [(2, "SOT201"), (4, "SOT201")]


def test_disable_next_line_is_reported_when_the_next_line_is_clean() -> None:
    text = "# T\n<!-- sotb-disable-next-line SOT201 -->\nfine\nbad\n"
    assert check(text, problems_on([4])) == [(2, "SOT005"), (4, "SOT201")]
    assert messages(text, problems_on([4])) == ["unused suppression 'sotb-disable-next-line' for SOT201"]


def test_disable_next_line_only_silences_the_codes_it_names() -> None:
    text = "# T\n<!-- sotb-disable-next-line SOT202 -->\nbad\n"
    assert check(text, problems_on([3])) == [(2, "SOT005"), (3, "SOT201")]


@pytest.mark.parametrize("selector", ["SOT201", "sot201", "SOT2", "undefined-id", "SOT201,SOT202", "ALL"])
def test_selectors_are_codes_prefixes_or_names(selector: str) -> None:
    text = f"# T\n<!-- sotb-disable-next-line {selector} -->\nbad\n"
    assert check(text, problems_on([3], name="undefined-id")) == []


def test_a_reason_after_double_dash_is_not_a_code() -> None:
    text = "# T\n<!-- sotb-disable-next-line SOT201 -- API-099 ships in March -->\nbad\n"
    assert check(text, problems_on([3])) == []


def test_unknown_codes_are_reported_and_silence_nothing() -> None:
    text = "# T\n<!-- sotb-disable-next-line SOT999 legacy -->\nbad\n"
    assert check(text, problems_on([3])) == [(2, "SOT005"), (3, "SOT201")]
    [message] = messages(text, problems_on([3]))
    assert "'SOT999', 'legacy'" in message


def test_bare_disable_next_line_silences_every_rule() -> None:
    text = "# T\n<!-- sotb-disable-next-line -->\nbad\n"
    diags = problems_on([3]) + problems_on([3], "SOT301")
    assert check(text, diags) == []


def test_disable_enable_block() -> None:
    text = "# T\nbad\n<!-- sotb-disable SOT201 -->\nbad\nbad\n<!-- sotb-enable SOT201 -->\nbad\n"
    assert check(text, problems_on([2, 4, 5, 7])) == [(2, "SOT201"), (7, "SOT201")]


def test_disable_without_enable_lasts_to_the_end_of_the_file() -> None:
    text = "# T\n<!-- sotb-disable SOT201 -->\n\n\nbad\n"
    assert check(text, problems_on([5])) == []


def test_enable_of_one_code_keeps_the_others_disabled() -> None:
    text = "# T\n<!-- sotb-disable -->\nbad\n<!-- sotb-enable SOT201 -->\nbad\n"
    diags = problems_on([3, 5]) + problems_on([5], "SOT301")
    assert check(text, diags) == [(5, "SOT201")]


def test_enable_of_a_prefix_ends_a_disable_of_a_code_in_it() -> None:
    text = "# T\n<!-- sotb-disable SOT201 SOT301 -->\n<!-- sotb-enable SOT2 -->\nbad\n"
    diags = problems_on([4]) + problems_on([4], "SOT301")
    assert check(text, diags) == [(4, "SOT201")]


def test_empty_disable_block_is_reported_but_enable_is_not() -> None:
    text = "# T\n<!-- sotb-disable SOT201 -->\nfine\n<!-- sotb-enable SOT201 -->\n"
    assert check(text, []) == [(2, "SOT005")]


def test_disable_file_covers_the_whole_file() -> None:
    text = "# T\nbad\n\nbad\n<!-- sotb-disable-file SOT201 -->\nbad\n"
    diags = problems_on([2, 4, 6]) + problems_on([4], "SOT301")
    assert check(text, diags) == [(4, "SOT301")]


def test_unused_disable_file_is_reported() -> None:
    text = "<!-- sotb-disable-file SOT203 -->\n# T\n"
    assert check(text, problems_on([2])) == [(1, "SOT005"), (2, "SOT201")]


def test_comments_in_code_blocks_are_examples_not_suppressions() -> None:
    text = "# T\n```markdown\n<!-- sotb-disable-next-line SOT201 -->\n```\nbad\n"
    assert check(text, problems_on([5])) == [(5, "SOT201")]


def test_comments_for_rules_that_are_switched_off_are_not_reported() -> None:
    text = "# T\n<!-- sotb-disable-next-line SOT203 -->\nfine\n"
    assert check(text, [], active={"SOT005", "SOT201"}) == []
    assert check(text, [], active={"SOT005", "SOT203"}) == [(2, "SOT005")]


def test_unused_report_can_itself_be_silenced_by_naming_sot005() -> None:
    text = "<!-- sotb-disable-file SOT005 -->\n# T\n<!-- sotb-disable-next-line SOT201 -->\nfine\n"
    assert check(text, []) == []


def test_without_the_unused_rule_nothing_is_reported() -> None:
    doc = parse_document("# T\n<!-- sotb-disable-next-line SOT201 -->\nfine\n", PATH)
    assert apply_suppressions([doc], [], None) == []


def test_problems_in_other_files_are_untouched() -> None:
    doc = parse_document("<!-- sotb-disable-file -->\n# T\n", PATH)
    other = Diagnostic("SOT201", "problem", "SoT/other.md", 3)
    kept = apply_suppressions([doc], [other], UNUSED, ALL_ACTIVE)
    assert other in kept

"""Every rule is unique, documented with a Bad and a Good example, and has golden cases."""

from __future__ import annotations

import re
from collections import Counter

from sot_builder.rules import all_rules
from tests.rules.casefiles import CASES, EXPECTED, all_cases

CODE_RE = re.compile(r"^SOT\d{3}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def test_rule_codes_and_names_are_unique_and_well_formed() -> None:
    rules = all_rules()
    assert rules, "no rules found"
    codes = Counter(r.code for r in rules)
    names = Counter(r.name for r in rules)
    assert [c for c, n in codes.items() if n > 1] == [], "duplicate rule codes"
    assert [c for c, n in names.items() if n > 1] == [], "duplicate rule names"
    assert [r.code for r in rules if not CODE_RE.match(r.code)] == []
    assert [r.name for r in rules if not NAME_RE.match(r.name)] == []


def example_after(doc: str, label: str) -> bool:
    """Whether `doc` has a paragraph starting with `label` followed by an example:
    a fenced block right after it, or inline code in the paragraph itself."""
    lines = doc.splitlines()
    for k, line in enumerate(lines):
        if not line.startswith(label):
            continue
        if "`" in line.replace("```", ""):
            return True
        rest = [ln for ln in lines[k + 1:] if ln.strip()]
        if rest and rest[0].lstrip().startswith(("```", "~~~")):
            return True
    return False


def test_every_rule_has_a_summary_and_a_documented_bad_and_good_example() -> None:
    problems = []
    for r in all_rules():
        if not r.summary.strip() or "\n" in r.summary:
            problems.append(f"{r.code}: summary must be one line")
        if len(r.doc.split("\n\n")[0]) < 20:
            problems.append(f"{r.code}: docstring must open with why the rule exists")
        for label in ("Bad", "Good"):
            if not example_after(r.doc, label):
                problems.append(f"{r.code}: docstring needs a '{label}' paragraph with an example")
    assert problems == [], "\n".join(problems)


def test_every_rule_has_a_failing_and_a_passing_case() -> None:
    cases = all_cases()
    where = CASES.relative_to(CASES.parents[2]).as_posix()  # tests/rules/cases
    missing = []
    for r in all_rules():
        own = [c for c in cases if c.code == r.code]
        if not any(r.code in c.expected_codes() for c in own):
            missing.append(f"{where}/{r.code}/<failing case>/ with an {EXPECTED} listing {r.code}")
        if not any(r.code not in c.expected_codes() for c in own):
            missing.append(f"{where}/{r.code}/<passing case>/ with an {EXPECTED} without {r.code}")
    assert missing == [], "missing rule case folders:\n  " + "\n  ".join(missing)


def test_case_folders_name_existing_rules_and_hold_expected_files() -> None:
    codes = {r.code for r in all_rules()}
    problems = []
    for case in all_cases():
        if case.code not in codes:
            problems.append(f"{case.id}: no rule has the code {case.code}")
        if not (case.folder / EXPECTED).is_file():
            problems.append(f"{case.id}: {EXPECTED} is missing")
        else:
            case.expected()  # raises on a malformed line
    assert problems == [], "\n".join(problems)


def test_rule_docs_are_dedented_as_textwrap_does() -> None:
    import random
    import textwrap

    from sot_builder.rules.base import _dedent

    rng = random.Random(3)
    chars = [" ", " ", "\t", "\n", "\n", "a", "b", "\r", "\x0b", "\xa0"]
    for _ in range(3000):
        text = "".join(rng.choice(chars) for _ in range(rng.randint(0, 24)))
        first, _, rest = text.partition("\n")
        assert _dedent(text) == (first + "\n" + textwrap.dedent(rest)).strip(), repr(text)

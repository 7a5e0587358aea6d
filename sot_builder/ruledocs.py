"""Rule documentation from the rule docstrings: `docs/rules.md` and `sotb rule CODE`.

Regenerate the page after changing a rule:

    python -m sot_builder.ruledocs            # writes docs/rules.md
    python -m sot_builder.ruledocs --check    # exit 1 when it is stale
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from sot_builder.rules.base import Rule

FAMILIES = {
    "SOT0": "Loading files",
    "SOT1": "IDs",
    "SOT2": "References",
    "SOT3": "Fields",
    "SOT4": "Registry files",
    "SOT5": "Ledger and SQL",
    "SOT6": "Purity and style",
}
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
GENERATED = "<!-- Generated from the rule docstrings by `python -m sot_builder.ruledocs`; do not edit. -->"


def family(code: str) -> str:
    return FAMILIES.get(code[:4], "Other")


def heading(r: Rule) -> str:
    """The section heading; its GitHub anchor is the rule's help URI fragment."""
    return f"{r.code} {r.name}"


def render_page(rules: Sequence[Rule]) -> str:
    """The whole `docs/rules.md` page."""
    out = [
        "# Rules",
        "",
        GENERATED,
        "",
        (
            f"`sotb lint` runs {len(rules)} rules. Select or ignore them by code (`SOT201`), code "
            "prefix (`SOT2`) or name (`undefined-id`), change their severity, or silence one place "
            "with an inline comment: see [configuration](configuration.md). `sotb rules` lists "
            "them and `sotb rule CODE` prints one of these sections."
        ),
        "",
        "| Code | Name | Default severity | Summary |",
        "|---|---|---|---|",
    ]
    for r in rules:
        anchor = _anchor(r)
        out.append(f"| [{r.code}](#{anchor}) | {r.name} | {r.severity.value} | {_cell(r.summary)} |")
    current = None
    for r in rules:
        if family(r.code) != current:
            current = family(r.code)
            out += ["", f"## {r.code[:4]}xx: {current}"]
        out += ["", f"### {heading(r)}", "", _lead(r), "", r.doc.strip()]
    return "\n".join(out) + "\n"


def render_rule(r: Rule) -> str:
    """One rule's documentation for the terminal (Markdown, as on the page)."""
    return f"# {heading(r)}\n\n{_lead(r)}\n\n{r.doc.strip()}\n\nDocumentation: {r.help_uri}\n"


def _lead(r: Rule) -> str:
    summary = r.summary.strip()
    summary = summary[:1].upper() + summary[1:]
    if not summary.endswith("."):
        summary += "."
    return f"*Default severity: {r.severity.value}.* {summary}"


def _anchor(r: Rule) -> str:
    from sot_builder.slugs import slug

    return slug(heading(r))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with --check, compare) the rules page; returns the exit code."""
    from sot_builder.fsutil import atomic_write_text
    from sot_builder.rules import all_rules

    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    target = Path(paths[0]) if paths else DEFAULT_OUTPUT
    text = render_page(all_rules())
    current = target.read_text(encoding="utf-8") if target.is_file() else None
    if check:
        if current != text:
            sys.stderr.write(f"{target} is stale; run `python -m sot_builder.ruledocs`\n")
            return 1
        return 0
    if current != text:
        atomic_write_text(target, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

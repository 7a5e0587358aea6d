"""SOT6xx: template purity — SoT files hold facts, not methodology."""

from __future__ import annotations

import re
from collections.abc import Iterator

from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.rules.base import Rule, rule

_LEAD_RE = re.compile(r"^[^\w]*(?:\d+(?:\.\d+)*\.?\s+)?", re.UNICODE)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def methodology_phrase(heading: str, phrases: list[str] | dict[str, list[str]]) -> str:
    """The configured phrase a heading starts with (whole words, any case), or ""."""
    words = _words(_LEAD_RE.sub("", heading))
    wanted = phrases if isinstance(phrases, dict) else {p: _words(p) for p in phrases}
    for phrase, want in wanted.items():
        if want and words[: len(want)] == want:
            return phrase
    return ""


@rule("SOT601", "methodology-section", Severity.WARNING,
      "a SoT file contains a methodology section (Best Practices, Tips, How to ...)",
      "'{heading}' is methodology ({phrase}); SoT files hold facts only")
def methodology_section(project, r: Rule) -> Iterator[Diagnostic]:
    """SoT files are pure templates: entries, fields, references — no teaching.

    Methodology inside a SoT file ("Best Practices for This Migration", "Key
    Learnings", "How to ...") bloats every context the file is loaded into,
    goes stale, and is copied into each new entry. Keep it in a separate
    guide. The headings reported are those starting with one of the phrases of
    the `purity_sections` setting (whole words, any case, leading numbering
    and emoji ignored).

    Bad:
    ```markdown
    ## MIG-001: Add user_preferences table
    **Status**: Pending

    ### Best Practices for This Migration
    1. Always add created_at and updated_at columns
    ```

    Good:
    ```markdown
    ## MIG-001: Add user_preferences table
    **Status**: Pending

    ### Migration Script
    ```
    """
    phrases = {p: _words(p) for p in project.config["purity_sections"] if _words(p)}
    phrases = dict(sorted(phrases.items(), key=lambda kv: -len(kv[1])))  # longest phrase first
    if not phrases:
        return
    firsts = {want[0] for want in phrases.values()}
    # cheap pre-check: a first word of the heading is a substring of its case-folded text
    mentions = re.compile("|".join(re.escape(w) for w in sorted(firsts))).search
    for doc in project.sot_documents():
        for h in doc.headings:
            if h.level < 2 or not mentions(h.text.casefold()):
                continue
            if not firsts & set(_words(h.text)[:3]):
                continue
            phrase = methodology_phrase(h.text, phrases)
            if phrase:
                yield r.diag(doc.path, h.line, fix="move it to a guide outside the SoT files",
                             heading=h.text, phrase=phrase)


RULES = (methodology_section,)

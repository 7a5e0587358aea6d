"""Run the rules over a project, apply configuration and suppressions, sort."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sot_builder import collector
from sot_builder.diagnostics import SORT_KEY, Diagnostic, Severity, SotbError
from sot_builder.model import Document, Suppression
from sot_builder.rules import all_rules, rule_by_code
from sot_builder.rules.base import Rule

UNUSED_SUPPRESSION = "SOT005"


def _specificity(rule_: Rule, token: str) -> int:
    """How closely a selector names a rule: -1 no match, 0 ALL, prefix length, 100 exact.

    A selector is a code ("SOT201"), a code prefix ("SOT2"), a rule name or ALL.
    """
    token = token.strip()
    upper = token.upper()
    if upper == "ALL":
        return 0
    if rule_.code == upper or rule_.name == token:
        return 100
    if upper.startswith("SOT") and rule_.code.startswith(upper):
        return len(upper)
    return -1


def _matches(rule_: Rule, token: str) -> bool:
    return _specificity(rule_, token) >= 0


def _best(rule_: Rule, tokens: Iterable[str]) -> int:
    return max((_specificity(rule_, t) for t in tokens), default=-1)


def check_selectors(tokens: Iterable[str], source: str) -> None:
    rules = all_rules()
    for token in tokens:
        if not any(_matches(r, token) for r in rules):
            raise SotbError(f"unknown rule selector '{token}'", source)


def active_rules(config_values: dict, extra_select: Sequence[str] = (),
                 extra_ignore: Sequence[str] = ()) -> list[Rule]:
    """The rules to run. Command-line `--select` replaces the configured `select`;
    `--ignore` adds to `ignore`. The more specific selector wins; on a tie, ignore wins."""
    select = list(extra_select) if extra_select else list(config_values.get("select") or [])
    ignore = list(config_values.get("ignore") or []) + list(extra_ignore)
    check_selectors(select + ignore, "configuration")
    severities = config_values.get("severity") or {}
    check_selectors(severities, "configuration [severity]")
    per_path = config_values.get("per_path_ignores") or {}
    check_selectors((t for tokens in per_path.values() for t in tokens), "configuration [per_path_ignores]")
    out = []
    for r in all_rules():
        chosen = _best(r, select) if select else 0
        if chosen < 0 or _best(r, ignore) >= chosen:
            continue
        level = _severity_for(r, severities)
        if level == "off":
            continue
        if level:
            r = Rule(r.code, r.name, Severity(level), r.summary, r.doc, r.check, r.message)
        out.append(r)
    return out


def _severity_for(r: Rule, severities: dict[str, str]) -> str:
    """The level of the most specific selector naming the rule ("" = its default)."""
    best, level = -1, ""
    for token, value in severities.items():
        score = _specificity(r, token)
        if score > best:
            best, level = score, value
    return level


PARALLEL_MIN_LINES = 100_000  # below this, one process checks faster than two
# Rules that share an index are one job, run by one process, so that no index is built
# twice. The jobs are handed out in this order, biggest first (their time at 10,000 and
# 100,000 entries); `()` stands for the rules no other job names.
_JOBS = (
    ("SOT208",),  # back-references, with an index of the IDs each entry states
    ("SOT202", "SOT203", "SOT204", "SOT207"),  # links grouped by the file they point to
    ("SOT205",),  # link notes against entry titles
    ("SOT209",),
    (),
    ("SOT102", "SOT201", "SOT206"),  # the set of referenced IDs
    ("SOT3",),  # field rules: an index of each type's fields
)


def run(project, rules: Sequence[Rule], jobs: int | None = None) -> list[Diagnostic]:
    with collector.paused():
        diags = _check_shared(project, rules, jobs if jobs is not None else int(project.config["jobs"] or 0))
        diags = _per_path(diags, project.config["per_path_ignores"])
        unused_rule = next((r for r in rules if r.code == UNUSED_SUPPRESSION), None)
        diags = apply_suppressions(project.documents, diags, unused_rule, {r.code for r in rules})
        return sorted(set(diags), key=SORT_KEY)


def _check_shared(project, rules: Sequence[Rule], jobs: int) -> list[Diagnostic]:
    """Run `rules`; on a big project, shared with a forked child, a job (`_JOBS`) at a time."""
    if sum(len(d.lines) for d in project.documents) < PARALLEL_MIN_LINES:
        return _check(project, rules)
    from sot_builder import forking

    parts = rule_jobs(rules)
    if (jobs or forking.cores()) < 2 or len(parts) < 2:
        return _check(project, rules)
    found = forking.by_tickets(len(parts), lambda k: _check(project, parts[k]))
    if found is None:
        return _check(project, rules)
    return [d for diags in found for d in diags]


def rule_jobs(rules: Sequence[Rule]) -> list[list[Rule]]:
    """`rules` cut into the jobs of `_JOBS`, in its order, leaving out those with no rule."""
    named = tuple(code for job in _JOBS for code in job)
    out = []
    for job in _JOBS:
        if job:
            out.append([r for r in rules if r.code.startswith(job)])
        else:
            out.append([r for r in rules if not r.code.startswith(named)])
    return [job for job in out if job]


def _check(project, rules: Sequence[Rule]) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for r in rules:
        for d in r.check(project):
            if d.severity != r.severity:
                d = d.with_severity(r.severity)
            diags.append(d)
    return diags


def _per_path(diags: list[Diagnostic], per_path: dict[str, list[str]]) -> list[Diagnostic]:
    if not per_path:
        return diags
    return [
        d for d in diags
        if not any(fnmatch.fnmatch(d.path, pattern) and any(_names(t, d) for t in tokens)
                   for pattern, tokens in per_path.items())
    ]


def _names(selector: str, d: Diagnostic) -> bool:
    """Whether a selector (code, code prefix, rule name or ALL) names the diagnostic's rule."""
    upper = selector.upper()
    return upper == "ALL" or d.code == upper or d.name == selector or (
        upper.startswith("SOT") and d.code.startswith(upper)
    )


# -- inline suppressions ---------------------------------------------------------------


def _selectors(s: Suppression) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(known selectors as codes or code prefixes, unknown tokens); text after `--` is a reason."""
    known: list[str] = []
    unknown: list[str] = []
    for token in s.codes:
        if token.startswith("--"):
            break
        token = token.strip(",;:")
        if not token:
            continue
        if token.upper() == "ALL":
            known.append("SOT")
            continue
        r = rule_by_code(token.upper()) or rule_by_code(token)
        if r is not None:
            known.append(r.code)
        elif token.upper().startswith("SOT") and any(
            x.code.startswith(token.upper()) for x in all_rules()
        ):
            known.append(token.upper())
        else:
            unknown.append(token)
    return tuple(known), tuple(unknown)


@dataclass(frozen=True)
class _Comment:
    index: int
    kind: str
    line: int
    selectors: tuple[str, ...]  # codes or code prefixes
    unknown: tuple[str, ...]  # tokens naming no rule

    @property
    def blanket(self) -> bool:
        """A comment naming no rule at all covers every rule."""
        return not self.selectors and not self.unknown

    def covers(self, code: str) -> bool:
        return self.blanket or any(code.startswith(s) for s in self.selectors)


def _comments(doc: Document) -> list[_Comment]:
    out = []
    for k, s in enumerate(doc.suppressions):
        known, unknown = _selectors(s)
        out.append(_Comment(k, s.kind, s.line, known, unknown))
    return out


def apply_suppressions(docs: Sequence[Document], diags: list[Diagnostic],
                       unused_rule: Rule | None, active_codes: set[str] | None = None) -> list[Diagnostic]:
    """Drop problems silenced by `<!-- sotb-disable ... -->` comments; report unused ones.

    An unused comment is reported (as `unused_rule`) unless every rule it names is
    switched off anyway; comments naming unknown rules are always reported.
    """
    by_path: dict[str, list[Diagnostic]] = {}
    for d in diags:
        by_path.setdefault(d.path, []).append(d)
    with_comments = {doc.path: doc for doc in docs if doc.suppressions}
    out: list[Diagnostic] = [d for d in diags if d.path not in with_comments]
    for doc in with_comments.values():
        comments = _comments(doc)
        used: set[int] = set()
        for d in by_path.get(doc.path, []):
            hit = suppressed_by(comments, d.code, d.line)
            if hit is None:
                out.append(d)
            else:
                used.add(hit)
        if unused_rule is not None:
            out.extend(_unused(doc, comments, used, unused_rule, active_codes))
    return out


def _unused(doc: Document, comments: list[_Comment], used: set[int], unused_rule: Rule,
            active_codes: set[str] | None) -> list[Diagnostic]:
    candidates = [c for c in comments if _is_unused(c, used, active_codes)]
    silenced = set()
    for c in candidates:  # a comment naming SOT005 may silence the report of another one
        j = suppressed_by(comments, unused_rule.code, c.line, exclude=c.index, explicit=True)
        if j is not None:
            silenced.add(c.index)
            used.add(j)
    out = []
    for c in candidates:
        if c.index in silenced or (c.index in used and not c.unknown):
            continue
        if c.unknown:
            what = ", ".join(f"'{t}'" for t in c.unknown)
            msg = f"'sotb-{c.kind}' names unknown rules {what}; put a reason after ' -- '"
        else:
            what = ", ".join(c.selectors) if not c.blanket else "all rules"
            msg = f"unused suppression 'sotb-{c.kind}' for {what}"
        out.append(unused_rule.diag(doc.path, c.line, 1, msg=msg))
    return out


def _is_unused(c: _Comment, used: set[int], active_codes: set[str] | None) -> bool:
    if c.unknown:
        return True
    if c.kind == "enable" or c.index in used:
        return False
    # a comment for rules that are all switched off has nothing to silence: not worth a report
    return active_codes is None or c.blanket or any(
        code.startswith(s) for s in c.selectors for code in active_codes
    )


def suppressed_by(comments: Sequence[_Comment], code: str, line: int, exclude: int = -1,
                  explicit: bool = False) -> int | None:
    """Index of the comment that silences a problem `code` at `line`, if any.

    `disable-file` covers the file, `disable-next-line` the line below it, and
    `disable` the lines from it to the matching `enable` (or the end of the file).
    `explicit` only counts comments that name the code (not bare ones).
    """
    def applies(c: _Comment) -> bool:
        return c.index != exclude and c.covers(code) and not (explicit and c.blanket)

    for c in comments:
        if c.kind == "disable-file" and applies(c):
            return c.index
        if c.kind == "disable-next-line" and line == c.line + 1 and applies(c):
            return c.index
    active: list[_Comment] = []
    for c in comments:
        if c.line > line:
            break
        if c.kind == "disable":
            active.append(c)
        elif c.kind == "enable":
            active = [a for a in active if not _ends(c, code)]
    for a in reversed(active):
        if applies(a):
            return a.index
    return None


def _ends(enable: _Comment, code: str) -> bool:
    """Whether `enable` re-enables problems of `code` (ending earlier `disable`s for it)."""
    return enable.covers(code)


def count(diags: Sequence[Diagnostic]) -> dict[str, int]:
    out = {"error": 0, "warning": 0, "info": 0}
    for d in diags:
        out[d.severity.value] += 1
    return out

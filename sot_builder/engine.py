"""Run the rules over a project, apply configuration and suppressions, sort."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sot_builder.diagnostics import Diagnostic, Severity, SotbError
from sot_builder.model import Document
from sot_builder.rules import all_rules
from sot_builder.rules.base import Rule

UNUSED_SUPPRESSION = "SOT005"


@dataclass(frozen=True)
class Selection:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: tuple[tuple[str, str], ...] = ()
    per_path_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _matches(rule_: Rule, token: str) -> bool:
    """A selector is a code ("SOT201"), a code prefix ("SOT2") or a rule name."""
    token = token.strip()
    if token.upper() == "ALL":
        return True
    return rule_.code == token.upper() or rule_.name == token or (
        token.upper().startswith("SOT") and rule_.code.startswith(token.upper())
    )


def check_selectors(tokens: Iterable[str], source: str) -> None:
    rules = all_rules()
    for token in tokens:
        if not any(_matches(r, token) for r in rules):
            raise SotbError(f"unknown rule selector '{token}'", source)


def active_rules(config_values: dict, extra_select: Sequence[str] = (),
                 extra_ignore: Sequence[str] = ()) -> list[Rule]:
    select = list(config_values.get("select") or []) + list(extra_select)
    ignore = list(config_values.get("ignore") or []) + list(extra_ignore)
    check_selectors(select + ignore, "configuration")
    severities = config_values.get("severity") or {}
    check_selectors(severities, "configuration [severity]")
    out = []
    for r in all_rules():
        if select and not any(_matches(r, t) for t in select):
            continue
        if any(_matches(r, t) for t in ignore):
            continue
        level = _severity_for(r, severities)
        if level == "off":
            continue
        if level:
            r = Rule(r.code, r.name, Severity(level), r.summary, r.doc, r.check, r.message)
        out.append(r)
    return out


def _severity_for(r: Rule, severities: dict[str, str]) -> str:
    for token, level in severities.items():
        if _matches(r, token):
            return level
    return ""


def run(project, rules: Sequence[Rule]) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for r in rules:
        for d in r.check(project):
            if d.severity != r.severity:
                d = d.with_severity(r.severity)
            diags.append(d)
    diags = _per_path(diags, project.config["per_path_ignores"])
    want_unused = any(r.code == UNUSED_SUPPRESSION for r in rules)
    unused_rule = next((r for r in rules if r.code == UNUSED_SUPPRESSION), None)
    diags = apply_suppressions(project.documents, diags, unused_rule if want_unused else None)
    return sorted(set(diags), key=lambda d: d.sort_key)


def _per_path(diags: list[Diagnostic], per_path: dict[str, list[str]]) -> list[Diagnostic]:
    if not per_path:
        return diags
    out = []
    for d in diags:
        ignored = False
        for pattern, tokens in per_path.items():
            if fnmatch.fnmatch(d.path, pattern) and any(
                t.upper() == "ALL" or d.code == t.upper() or d.name == t or d.code.startswith(t.upper())
                for t in tokens
            ):
                ignored = True
                break
        if not ignored:
            out.append(d)
    return out


def _covers(codes: tuple[str, ...], d: Diagnostic) -> bool:
    return not codes or any(c.upper() == d.code or c == d.name or d.code.startswith(c.upper()) for c in codes)


def apply_suppressions(docs: Sequence[Document], diags: list[Diagnostic],
                       unused_rule: Rule | None) -> list[Diagnostic]:
    """Drop problems silenced by `<!-- sotb-disable ... -->` comments; report unused ones."""
    by_path: dict[str, list[Diagnostic]] = {}
    for d in diags:
        by_path.setdefault(d.path, []).append(d)
    out: list[Diagnostic] = [d for d in diags if d.path not in {doc.path for doc in docs if doc.suppressions}]
    for doc in docs:
        if not doc.suppressions:
            continue
        used = [False] * len(doc.suppressions)
        for d in by_path.get(doc.path, []):
            hit = _suppressed_by(doc, d)
            if hit is None:
                out.append(d)
            else:
                used[hit] = True
        if unused_rule is None:
            continue
        for k, s in enumerate(doc.suppressions):
            if s.kind == "enable" or used[k]:
                continue
            codes = ", ".join(s.codes) or "all rules"
            out.append(unused_rule.diag(doc.path, s.line, 1,
                                        msg=f"unused suppression 'sotb-{s.kind}' for {codes}"))
    return out


def _suppressed_by(doc: Document, d: Diagnostic) -> int | None:
    """Index of the suppression comment that silences `d`, if any."""
    active: dict[int, tuple[str, ...]] = {}
    for k, s in enumerate(doc.suppressions):
        if s.kind == "disable-file" and _covers(s.codes, d):
            return k
        if s.kind == "disable-next-line" and d.line == s.line + 1 and _covers(s.codes, d):
            return k
    for k, s in enumerate(doc.suppressions):
        if s.line > d.line:
            break
        if s.kind == "disable":
            active[k] = s.codes
        elif s.kind == "enable":
            for j in [j for j, codes in active.items() if not s.codes or set(s.codes) & set(codes) or not codes]:
                del active[j]
    for k, codes in active.items():
        if _covers(codes, d):
            return k
    return None


def count(diags: Sequence[Diagnostic]) -> dict[str, int]:
    out = {"error": 0, "warning": 0, "info": 0}
    for d in diags:
        out[d.severity.value] += 1
    return out

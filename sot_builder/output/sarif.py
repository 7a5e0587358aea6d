"""SARIF 2.1.0 log for code scanning (GitHub, GitLab, Azure DevOps).

Every result's ruleId is described in tool.driver.rules; codes without a Rule
(load and config problems) get a minimal descriptor. partialFingerprints leave
the line out, so moving a problem does not open a new alert.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.paths import printable
from sot_builder.rules.base import DOCS_URL, Rule

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = DOCS_URL.split("/blob/")[0]
FINGERPRINT_KEY = "sotbProblemHash/v1"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render(
    diagnostics: Sequence[Diagnostic], rules: Sequence[Rule], *, tool_version: str = ""
) -> str:
    return (
        json.dumps(sarif_log(diagnostics, rules, tool_version), indent=2, ensure_ascii=False) + "\n"
    )


def sarif_log(
    diagnostics: Sequence[Diagnostic], rules: Sequence[Rule], tool_version: str = ""
) -> dict[str, Any]:
    descriptors = rule_descriptors(diagnostics, rules)
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    driver: dict[str, Any] = {"name": "sotb"}
    if tool_version:
        driver["version"] = tool_version
    driver["informationUri"] = INFORMATION_URI
    driver["rules"] = descriptors
    fingerprints = partial_fingerprints(diagnostics)
    results = [result(d, index[d.code], fp) for d, fp in zip(diagnostics, fingerprints)]
    run = {"tool": {"driver": driver}, "columnKind": "unicodeCodePoints", "results": results}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def rule_descriptors(
    diagnostics: Sequence[Diagnostic], rules: Sequence[Rule]
) -> list[dict[str, Any]]:
    """One descriptor per rule given (first wins per code), then any code seen only in results."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in rules:
        if r.code not in seen:
            seen.add(r.code)
            out.append(rule_descriptor(r))
    extra = {d.code: d for d in diagnostics if d.code not in seen}
    for code in sorted(extra):
        out.append(bare_descriptor(extra[code]))
    return out


def rule_descriptor(r: Rule) -> dict[str, Any]:
    summary = r.summary or r.name or r.code
    doc = r.doc or summary
    return {
        "id": r.code,
        "name": r.name or r.code,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": first_paragraph(doc)},
        "help": {"text": doc, "markdown": doc},
        "helpUri": r.help_uri,
        "defaultConfiguration": {"level": LEVEL[r.severity]},
    }


def bare_descriptor(diag: Diagnostic) -> dict[str, Any]:
    return {
        "id": diag.code,
        "name": diag.name or diag.code,
        "shortDescription": {"text": diag.name or diag.code},
        "defaultConfiguration": {"level": LEVEL[diag.severity]},
    }


def result(diag: Diagnostic, rule_index: int, fingerprint: str) -> dict[str, Any]:
    text = printable(diag.message + (f" (fix: {diag.fix})" if diag.fix else ""))
    region = {"startLine": max(diag.line, 1), "startColumn": max(diag.column, 1)}
    location = {
        "physicalLocation": {
            "artifactLocation": {"uri": uri(diag.path)},
            "region": region,
        }
    }
    out: dict[str, Any] = {
        "ruleId": diag.code,
        "ruleIndex": rule_index,
        "level": LEVEL[diag.severity],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
    }
    if diag.ids:
        out["properties"] = {"ids": list(diag.ids)}
    return out


def uri(path: str) -> str:
    """The path as a relative URI; a name that is not UTF-8 keeps its bytes, percent-encoded."""
    try:
        return quote(path, safe="/", errors="surrogateescape")
    except UnicodeEncodeError:  # a surrogate no file name decodes to
        return quote(printable(path), safe="/")


def partial_fingerprints(diagnostics: Sequence[Diagnostic]) -> list[str]:
    """Hash of code, path, message and IDs, plus `:N` for the N-th identical problem."""
    seen: Counter[str] = Counter()
    out = []
    for d in diagnostics:
        key = "\0".join((d.code, d.path, d.message, "\x1f".join(d.ids)))
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        seen[digest] += 1
        out.append(f"{digest}:{seen[digest]}")
    return out


def first_paragraph(doc: str) -> str:
    return doc.strip().split("\n\n", 1)[0].strip()

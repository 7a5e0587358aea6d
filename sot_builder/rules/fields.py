"""SOT3xx: fields — required fields, enum values, dates, placeholders."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.parse import ID_RE
from sot_builder.rules.base import Rule, rule

_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\b")
_EMPTY = {"", "-", "—", "n/a", "none", "tbd"}


def _is_placeholder(value: str) -> bool:
    return bool(re.search(r"\{[A-Za-z][^{}]*\}", value))


def _typed_entries(project):
    for e in project.entries():
        t = project.registry.get(e.prefix)
        if t is not None:
            yield e, t


@rule("SOT301", "missing-field", Severity.ERROR, "an entry lacks a required field",
      "{id} has no '{field}' field{hint}")
def missing_field(project, r: Rule) -> Iterator[Diagnostic]:
    """Every entry carries the fields its type requires.

    Deprecated entries are exempt.

    Bad (MIG requires Status):
    ```markdown
    ## MIG-001: Add user_preferences table
    **ID**: MIG-001
    ```

    Good:
    ```markdown
    ## MIG-001: Add user_preferences table
    **ID**: MIG-001
    **Status**: Pending
    ```
    """
    for e, t in _typed_entries(project):
        if e.deprecated:
            continue
        for fd in t.fields:
            if fd.required and e.field(fd.name) is None:
                hint = f"; add `**{fd.name}**: {fd.placeholder or '...'}`"
                yield r.diag(e.path, e.line, e.column, ids=(e.id,), id=e.id, field=fd.name, hint=hint)


@rule("SOT302", "enum-value", Severity.ERROR, "a field value is not one of its allowed values",
      "{id}: '{field}' is '{value}'; allowed: {allowed}")
def enum_value(project, r: Rule) -> Iterator[Diagnostic]:
    """Enumerated fields take one of the values their type lists (case-insensitive).

    A value may be followed by a note in parentheses or after a dash.

    Bad (MIG Status is Pending | Applied | Rolled Back):
    ```markdown
    **Status**: Done
    ```

    Good:
    ```markdown
    **Status**: Applied (2025-01-12)
    ```
    """
    for e, t in _typed_entries(project):
        for fd in t.fields:
            if fd.kind != "enum":
                continue
            f = e.field(fd.name)
            if f is None or _is_placeholder(f.value) or not f.value.strip():
                continue
            value = re.sub(r"[*_`]", "", f.value).strip()
            ok = any(
                re.match(re.escape(v) + r"(?:$|[\s(\-—–:,;.])", value, re.I) for v in fd.values
            )
            if not ok:
                yield r.diag(e.path, f.line, f.column, ids=(e.id,), id=e.id, field=f.name,
                             value=f.value, allowed=" | ".join(fd.values))


@rule("SOT303", "bad-date", Severity.ERROR, "a date field is not a real YYYY-MM-DD date",
      "{id}: '{field}' is '{value}', not a YYYY-MM-DD date")
def bad_date(project, r: Rule) -> Iterator[Diagnostic]:
    """Date fields hold real ISO dates (`YYYY-MM-DD`); `TBD` and `-` mean not yet.

    Bad:
    ```markdown
    **Contract Signed**: 2024-13-45
    ```

    Good:
    ```markdown
    **Contract Signed**: 2024-06-15
    ```
    """
    for e, t in _typed_entries(project):
        for fd in t.fields:
            if fd.kind != "date":
                continue
            f = e.field(fd.name)
            if f is None or _is_placeholder(f.value):
                continue
            value = f.value.strip().strip("*_`")
            if value.lower() in _EMPTY:
                continue
            m = _DATE_RE.match(value)
            if m:
                try:
                    dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                    continue
                except ValueError:
                    pass
            yield r.diag(e.path, f.line, f.column, ids=(e.id,), id=e.id, field=f.name, value=f.value)


@rule("SOT304", "unfilled-placeholder", Severity.WARNING, "an entry still holds template placeholders",
      "{id} still holds the placeholder {text}")
def unfilled_placeholder(project, r: Rule) -> Iterator[Diagnostic]:
    """Scaffolded entries carry `{placeholders}` until someone fills them in.

    Bad:
    ```markdown
    **Billing Contact**: {billing@example.com}
    ```

    Good:
    ```markdown
    **Billing Contact**: payments@ourcompany.com
    ```
    """
    for e in project.entries():
        seen: set[int] = set()
        for text, line in e.placeholders:
            if line in seen:
                continue
            seen.add(line)
            yield r.diag(e.path, line, 1, ids=(e.id,), id=e.id, text=text)


@rule("SOT305", "reference-field", Severity.ERROR,
      "a reference field names IDs of the wrong prefix or no ID at all",
      "{id}: '{field}' should reference {prefixes}; found {found}")
def reference_field(project, r: Rule) -> Iterator[Diagnostic]:
    """Fields of kind reference hold IDs of the prefixes their type names.

    `None` (with an explanation) is fine for an empty list.

    Bad (MIG Affects Tables references DBT):
    ```markdown
    **Affects Tables**: user_preferences
    ```

    Good:
    ```markdown
    **Affects Tables**: [DBT-015](SoT.ACTUAL_SCHEMA.md#dbt-015-user_preferences)
    ```
    """
    for e, t in _typed_entries(project):
        for fd in t.fields:
            if fd.kind not in ("reference", "references") or not fd.prefixes:
                continue
            f = e.field(fd.name)
            if f is None or _is_placeholder(f.value):
                continue
            ids = [m.group(0) for m in ID_RE.finditer(f.value)]
            if not ids:
                if f.value.strip().lower().split(" ")[0].strip("*_`(").rstrip(".,") in _EMPTY:
                    continue
                found = f"'{f.value}'"
            else:
                wrong = [i for i in ids if i.split("-", 1)[0] not in fd.prefixes]
                if not wrong:
                    continue
                found = ", ".join(wrong)
            yield r.diag(e.path, f.line, f.column, ids=(e.id,), id=e.id, field=f.name,
                         prefixes=" or ".join(fd.prefixes), found=found)


@rule("SOT306", "field-pattern", Severity.ERROR, "a field value does not match its type's pattern",
      "{id}: '{field}' is '{value}', which does not match {pattern}")
def field_pattern(project, r: Rule) -> Iterator[Diagnostic]:
    """Fields with a `pattern` in their type definition must match it.

    Bad (pattern `^(GET|POST) /`):
    ```markdown
    **Endpoint**: payments/charge
    ```

    Good:
    ```markdown
    **Endpoint**: POST /payments/charge
    ```
    """
    compiled: dict[str, re.Pattern[str]] = {}
    for e, t in _typed_entries(project):
        for fd in t.fields:
            if not fd.pattern:
                continue
            f = e.field(fd.name)
            if f is None or _is_placeholder(f.value) or not f.value:
                continue
            pat = compiled.get(fd.pattern) or compiled.setdefault(fd.pattern, re.compile(fd.pattern))
            if not pat.search(f.value[:1000]):
                yield r.diag(e.path, f.line, f.column, ids=(e.id,), id=e.id, field=f.name,
                             value=f.value, pattern=fd.pattern)


RULES = (missing_field, enum_value, bad_date, unfilled_placeholder, reference_field, field_pattern)

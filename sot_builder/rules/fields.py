"""SOT3xx: fields — required fields, enum values, dates, placeholders."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from operator import attrgetter

from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.model import Entry, Field
from sot_builder.parse import ID_RE
from sot_builder.registry import FieldDef, TypeDef
from sot_builder.rules.base import Rule, rule

_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\b")
_EMPTY = {"", "-", "—", "n/a", "none", "tbd"}


_PLACEHOLDER_RE = re.compile(r"\{[A-Za-z][^{}]*\}")
_MARKUP_RE = re.compile(r"[*_`]")


def _is_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER_RE.search(value))


def _typed_entries(project) -> Iterator[tuple[Entry, TypeDef, dict[str, int]]]:
    """(entry, its type, case-folded field name -> index of the entry's first field of that
    name) for entries of a registered type. Like `Entry.field`, the first field of a name wins."""
    entries, maps = project.memo("fields.typed_entries", _field_maps)
    types = project.registry.types
    for e, index in zip(entries, maps):
        yield e, types[e.prefix], index


def _field_maps(project) -> tuple[list[Entry], list[dict[str, int]]]:
    """The entries of a registered type, and their field index maps: one map is shared by all
    the entries that list the same field names, so little is kept per entry."""
    entries, maps = [], []
    shared: dict[tuple[str, ...], dict[str, int]] = {}
    types = project.registry.types
    for doc in project.documents:
        for e in doc.entries:
            if e.prefix not in types:
                continue
            names = tuple(map(_NAME, e.fields))
            index = shared.get(names)
            if index is None:
                index = shared[names] = {n.casefold(): k for k, n in reversed(list(enumerate(names)))}
            entries.append(e)
            maps.append(index)
    return entries, maps


_NAME = attrgetter("name")


def _checked(project, wanted: Callable[[FieldDef], bool]) -> Iterator[tuple[Entry, FieldDef, Field, dict]]:
    """(entry, field definition, the entry's field, answers so far for that definition) for every
    field of a registered type that `wanted` selects and the entry has.

    The answers dict (value -> verdict) lets a rule judge each distinct value once.
    """
    per_prefix = {prefix: [(fd, fd.name.casefold(), {}) for fd in t.fields if wanted(fd)]
                  for prefix, t in project.registry.types.items()}
    if not any(per_prefix.values()):
        return  # no type has such a field
    for e, _t, index in _typed_entries(project):
        for fd, key, answers in per_prefix[e.prefix]:
            k = index.get(key)
            if k is not None:
                yield e, fd, e.fields[k], answers


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
    required: dict[str, list[tuple[FieldDef, str]]] = {}  # prefix -> required fields and their keys
    for e, t, index in _typed_entries(project):
        if e.deprecated:
            continue
        wanted = required.get(e.prefix)
        if wanted is None:
            wanted = required[e.prefix] = [(fd, fd.name.casefold()) for fd in t.fields if fd.required]
        for fd, key in wanted:
            if key not in index:
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
    for e, fd, f, answers in _checked(project, lambda fd: fd.kind == "enum"):
        bad = answers.get(f.value)
        if bad is None:
            bad = answers[f.value] = _not_allowed(fd, f.value)
        if bad:
            yield r.diag(e.path, f.line, f.column, ids=(e.id,), id=e.id, field=f.name,
                         value=f.value, allowed=" | ".join(fd.values))


def _not_allowed(fd: FieldDef, raw: str) -> bool:
    """Whether an enum field's value is none of the allowed ones (placeholders and blanks pass)."""
    if _is_placeholder(raw) or not raw.strip():
        return False
    value = _MARKUP_RE.sub("", raw).strip()
    return not any(_starts_with(value, v) for v in fd.values)


def _starts_with(value: str, allowed: str) -> bool:
    """Whether `value` is `allowed` (any case), alone or followed by a space or punctuation.

    ASCII text is compared directly: the pattern, compiled once per allowed
    value, would cost more than all the comparisons of a small registry.
    """
    if value.isascii() and allowed.isascii():
        n = len(allowed)
        after = value[n:n + 1]
        return value[:n].lower() == allowed.lower() and (not after or after.isspace() or after in "(-:,;.")
    return re.match(re.escape(allowed) + r"(?:$|[\s(\-—–:,;.])", value, re.IGNORECASE) is not None


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
    bad_values: dict[str, bool] = {}
    for e, _fd, f, _answers in _checked(project, lambda fd: fd.kind == "date"):
        bad = bad_values.get(f.value)
        if bad is None:
            bad = bad_values[f.value] = _not_a_date(f.value)
        if bad:
            yield r.diag(e.path, f.line, f.column, ids=(e.id,), id=e.id, field=f.name, value=f.value)


def _not_a_date(raw: str) -> bool:
    """Whether a date field's value is no real date (placeholders, TBD and blanks pass)."""
    if _is_placeholder(raw):
        return False
    value = raw.strip().strip("*_`")
    if value.lower() in _EMPTY:
        return False
    m = _DATE_RE.match(value)
    if m:
        try:
            dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            return False
        except ValueError:
            pass
    return True


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
    for e, fd, f, answers in _checked(project, _is_reference_field):
        found = answers.get(f.value)
        if found is None:
            found = answers[f.value] = _wrong_references(fd, f.value)
        if found:
            yield r.diag(e.path, f.line, f.column, ids=(e.id,), id=e.id, field=f.name,
                         prefixes=" or ".join(fd.prefixes), found=found)


def _is_reference_field(fd: FieldDef) -> bool:
    return fd.kind in ("reference", "references") and bool(fd.prefixes)


def _wrong_references(fd: FieldDef, value: str) -> str:
    """What is wrong in a reference field's value, "" when nothing is."""
    if _is_placeholder(value):
        return ""
    ids = [m.group(0) for m in ID_RE.finditer(value)]
    if not ids:
        if value.strip().lower().split(" ")[0].strip("*_`(").rstrip(".,") in _EMPTY:
            return ""
        return f"'{value}'"
    return ", ".join(i for i in ids if i.split("-", 1)[0] not in fd.prefixes)


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
    for e, fd, f, answers in _checked(project, lambda fd: bool(fd.pattern)):
        bad = answers.get(f.value)
        if bad is None:
            if _is_placeholder(f.value) or not f.value:
                bad = False
            else:
                pat = compiled.get(fd.pattern) or compiled.setdefault(fd.pattern, re.compile(fd.pattern))
                bad = not pat.search(f.value[:1000])
            answers[f.value] = bad
        if bad:
            yield r.diag(e.path, f.line, f.column, ids=(e.id,), id=e.id, field=f.name,
                         value=f.value, pattern=fd.pattern)


RULES = (missing_field, enum_value, bad_date, unfilled_placeholder, reference_field, field_pattern)

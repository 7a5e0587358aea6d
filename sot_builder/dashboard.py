"""The registry dashboard: status, problems, staleness and latest changes per SoT file.

`dashboard_data` computes the numbers; `dashboard_region` renders them as the
Markdown body of the generated region named "dashboard" (kept by `sotb sync`
in SoT.README.md or in the file named by `dashboard.file`); the HTML site shows
the same data.

Staleness needs a "today". To keep the region idempotent, it is never the wall
clock: by default it is the reference date, the newest date found in the
registry (frontmatter `last_updated`, `Last Updated` fields, version-history
tables). An entry is stale when its own newest date is more than
`dashboard.stale_days` days older than the reference date. Callers may pass
`today` to measure against another date.

For the same reason the problem counts leave out what `sotb sync` repairs in
the run that rewrites the dashboard: problems inside generated regions and the
registry bookkeeping rules listed in `SYNC_REPAIRS`.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.model import Document, Entry, Table
from sot_builder.output.text import plural
from sot_builder.paths import printable
from sot_builder.render import md_cell

REGION = "dashboard"
BROKEN_CODES = frozenset({"SOT201", "SOT202", "SOT203"})
MISSING_BACK_CODES = frozenset({"SOT208"})
# Bookkeeping that `sotb sync` repairs in the same run that rewrites the dashboard
# (navigation, README file table, ID index, stale regions): not counted, or a
# second sync would change the numbers. SOT414 would also call back into this module.
SYNC_REPAIRS = frozenset({
    "SOT105", "SOT401", "SOT402", "SOT403", "SOT404", "SOT405", "SOT406", "SOT407",
    "SOT410", "SOT411", "SOT412", "SOT413", "SOT414",
})

DEFAULTS: dict[str, Any] = {
    "file": "",  # "" = the configured readme (SoT.README.md)
    "stale_days": 90,
    "recent_changes": 10,
    "yellow_problems": 1,
    "red_problems": 10,
    "yellow_stale_percent": 10.0,
    "red_stale_percent": 25.0,
}

DATE_FIELDS = frozenset(
    {"last updated", "last_updated", "last-updated", "updated", "last modified"})
_DATE_RE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
HEALTH_MARK = {"green": "🟢", "yellow": "🟡", "red": "🔴"}


@dataclass(frozen=True)
class Row:
    """One line of the dashboard: a prefix in a SoT file."""

    path: str
    prefix: str
    entries: int = 0
    statuses: tuple[tuple[str, int], ...] = ()  # (status, count), most frequent first
    deprecated: int = 0
    broken: int = 0
    missing_back: int = 0
    stale: int = 0
    stale_ids: tuple[str, ...] = ()
    last_updated: date | None = None


@dataclass(frozen=True)
class Change:
    """A row of a version-history table."""

    when: date
    path: str
    line: int
    entry: str  # enclosing entry ID ("" for a file-level history)
    anchor: str
    version: str
    changes: str


@dataclass(frozen=True)
class Dashboard:
    rows: tuple[Row, ...]
    changes: tuple[Change, ...]
    health: str  # "green" | "yellow" | "red"
    errors: int
    warnings: int
    stale: int
    active: int  # entries that are not deprecated (the base of the stale percentage)
    reference: date | None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def problems(self) -> int:
        return self.errors + self.warnings

    @property
    def stale_percent(self) -> float:
        return 100.0 * self.stale / self.active if self.active else 0.0

    def total(self) -> Row:
        statuses: Counter[str] = Counter()
        for r in self.rows:
            statuses.update(dict(r.statuses))
        dates = [r.last_updated for r in self.rows if r.last_updated]
        return Row(
            path="", prefix="",
            entries=sum(r.entries for r in self.rows),
            statuses=_ordered(statuses),
            deprecated=sum(r.deprecated for r in self.rows),
            broken=sum(r.broken for r in self.rows),
            missing_back=sum(r.missing_back for r in self.rows),
            stale=sum(r.stale for r in self.rows),
            last_updated=max(dates) if dates else None,
        )


def settings(config_values: dict[str, Any]) -> dict[str, Any]:
    return {**DEFAULTS, **(config_values.get("dashboard") or {})}


def dashboard_path(project) -> str:
    """Project-relative path of the file holding the dashboard region."""
    name = settings(project.config.values)["file"] or project.config["readme"]
    return project.rel_in_root(name)


def lint(project) -> list[Diagnostic]:
    """The project's own rule selection, without the rules `sotb sync` makes pass."""
    from sot_builder import engine

    rules = [r for r in engine.active_rules(project.config.values) if r.code not in SYNC_REPAIRS]
    return engine.run(project, rules)


def parse_date(value: Any) -> date | None:
    """The first ISO date (YYYY-MM-DD) in a value, or None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    m = _DATE_RE.search(str(value or ""))
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def dashboard_data(project, diagnostics: Sequence[Diagnostic] | None = None,
                   today: date | None = None) -> Dashboard:
    """Compute the dashboard. `diagnostics` defaults to a lint run with the project's rules."""
    opts = settings(project.config.values)
    diags = list(lint(project) if diagnostics is None else diagnostics)
    diags = [d for d in _outside_regions(project, diags) if d.code not in SYNC_REPAIRS]
    docs = sorted(project.sot_documents(), key=lambda d: d.path)
    histories = {d.path: version_rows(d) for d in docs}
    entry_dates = {e.id: _entry_date(e, histories[d.path]) for d in docs for e in d.entries}
    reference = today or _newest(
        [*entry_dates.values(), *(c.when for cs in histories.values() for c in cs),
         *(_frontmatter_date(d) for d in docs)]
    )
    rows: list[Row] = []
    for doc in docs:
        rows.extend(_rows(project, doc, diags, entry_dates, histories[doc.path], reference,
                          int(opts["stale_days"])))
    changes = sorted((c for cs in histories.values() for c in cs),
                     key=lambda c: (-c.when.toordinal(), c.path, c.line))
    counted = [d for d in diags if project.by_path.get(d.path) is not None]
    errors = sum(1 for d in counted if d.severity == Severity.ERROR)
    warnings = sum(1 for d in counted if d.severity == Severity.WARNING)
    stale = sum(r.stale for r in rows)
    active = sum(r.entries - r.deprecated for r in rows)
    pct = 100.0 * stale / active if active else 0.0
    return Dashboard(tuple(rows), tuple(changes[: int(opts["recent_changes"])]),
                     health(errors + warnings, pct, opts), errors, warnings, stale, active,
                     reference, opts)


def health(problems: int, stale_percent: float, opts: dict[str, Any]) -> str:
    """Red or yellow when the problems or the stale percentage reach the thresholds."""
    if problems >= int(opts["red_problems"]) or stale_percent >= float(opts["red_stale_percent"]):
        return "red"
    if problems >= int(opts["yellow_problems"]) \
            or stale_percent >= float(opts["yellow_stale_percent"]):
        return "yellow"
    return "green"


def _outside_regions(project, diags: list[Diagnostic]) -> list[Diagnostic]:
    """Drop problems inside generated regions: `sotb sync` rewrites those (the dashboard
    itself among them, which must not feed on itself)."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for doc in project.documents:
        if doc.regions:
            spans[doc.path] = [(r.begin_line, r.end_line or len(doc.lines)) for r in doc.regions]
    return [d for d in diags if not any(a <= d.line <= b for a, b in spans.get(d.path, ()))]


def _rows(project, doc: Document, diags: list[Diagnostic], entry_dates: dict[str, date | None],
          history: list[Change], reference: date | None, stale_days: int) -> list[Row]:
    prefixes = list(dict.fromkeys(e.prefix for e in doc.entries)) or [_owner(project, doc)]
    by_prefix: dict[str, list[Entry]] = {p: [] for p in prefixes}
    for e in doc.entries:
        by_prefix[e.prefix].append(e)
    broken: Counter[str] = Counter()
    missing: Counter[str] = Counter()
    for d in diags:
        if d.path != doc.path or d.code not in BROKEN_CODES | MISSING_BACK_CODES:
            continue
        owner = _entry_at(doc, d.line)
        prefix = owner.prefix if owner else prefixes[0]
        (broken if d.code in BROKEN_CODES else missing)[prefix] += 1
    file_date = _newest([_frontmatter_date(doc), *(c.when for c in history)])
    rows = []
    for prefix in prefixes:
        entries = by_prefix[prefix]
        stale_ids = tuple(
            e.id for e in entries
            if not e.deprecated and _is_stale(entry_dates.get(e.id), reference, stale_days)
        )
        newest = _newest([file_date, *(entry_dates.get(e.id) for e in entries)])
        rows.append(Row(
            path=doc.path, prefix=prefix, entries=len(entries),
            statuses=_ordered(Counter(e.status.strip() or "(none)" for e in entries)),
            deprecated=sum(1 for e in entries if e.deprecated),
            broken=broken[prefix], missing_back=missing[prefix],
            stale=len(stale_ids), stale_ids=stale_ids, last_updated=newest,
        ))
    return rows


def _owner(project, doc: Document) -> str:
    name = posixpath.basename(doc.path)
    for t in project.registry.unique_types():
        if t.file == name:
            return t.prefix
    return "—"


def _entry_at(doc: Document, line: int) -> Entry | None:
    for e in doc.entries:
        if e.line <= line <= e.end_line:
            return e
    return None


def _is_stale(when: date | None, reference: date | None, stale_days: int) -> bool:
    return when is not None and reference is not None and (reference - when).days > stale_days


def _ordered(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _newest(dates: Sequence[date | None]) -> date | None:
    real = [d for d in dates if d is not None]
    return max(real) if real else None


def _frontmatter_date(doc: Document) -> date | None:
    fm = doc.frontmatter or {}
    return parse_date(fm.get("last_updated") or fm.get("updated") or "")


def _entry_date(e: Entry, history: list[Change]) -> date | None:
    dates = [parse_date(f.value) for f in e.fields if f.name.casefold() in DATE_FIELDS]
    dates += [c.when for c in history if c.entry == e.id]
    return _newest(dates)


# -- version-history tables ----------------------------------------------------

def is_history_table(table: Table) -> bool:
    names = {_header(h) for h in table.header}
    return {"version", "date"} <= names and bool(names & {"changes", "change", "description"})


def version_rows(doc: Document) -> list[Change]:
    """Every dated row of the document's version-history tables (generated regions skipped)."""
    spans = [(r.begin_line, r.end_line or len(doc.lines)) for r in doc.regions]
    out: list[Change] = []
    for table in doc.tables:
        if not is_history_table(table) or any(a <= table.line <= b for a, b in spans):
            continue
        cols = {_header(h): k for k, h in enumerate(table.header)}
        change_col = next(cols[n] for n in ("changes", "change", "description") if n in cols)
        owner = _entry_at(doc, table.line) if table.line else None
        owner = owner if owner is not None and owner.level else None
        for row in table.rows:
            cells = row.cells
            when = parse_date(_cell(cells, cols["date"]))
            if when is None:
                continue
            out.append(Change(
                when, doc.path, row.line, owner.id if owner else "", owner.anchor if owner else "",
                _cell(cells, cols["version"]), _cell(cells, change_col),
            ))
    return out


def _header(text: str) -> str:
    return text.strip(" *_`").casefold()


def _cell(cells: tuple[str, ...], k: int) -> str:
    return cells[k].strip() if k < len(cells) else ""


# -- Markdown ------------------------------------------------------------------

def dashboard_region(project, diagnostics: Sequence[Diagnostic] | None = None,
                     today: date | None = None) -> str:
    """The Markdown body of the "dashboard" region (no markers, ends with a newline)."""
    board = dashboard_data(project, diagnostics, today)
    base = posixpath.dirname(dashboard_path(project))
    return render_markdown(board, base)


def health_line(board: Dashboard, mark: bool = True) -> str:
    pct = f"{board.stale_percent:.0f}%"
    return (
        f"{HEALTH_MARK[board.health] + ' ' if mark else ''}{board.health}: "
        f"{plural(board.errors, 'error')}, "
        f"{plural(board.warnings, 'warning')}; "
        f"{board.stale} of {board.active} entries stale ({pct})"
    )


def status_text(statuses: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{name} {n}" for name, n in statuses) or "—"


def render_markdown(board: Dashboard, base: str) -> str:
    opts = board.settings
    ref = board.reference.isoformat() if board.reference else "none"
    lines = [f"**Health**: {health_line(board)}", ""]
    lines += [
        ("| File | Prefix | Entries | By status | Deprecated | Broken refs | Missing back-refs "
         "| Stale | Last updated |"),
        ("|------|--------|--------:|-----------|-----------:|------------:|------------------:"
         "|------:|--------------|"),
    ]
    for r in board.rows:
        name = posixpath.basename(r.path)
        link = f"[{md_cell(printable(name))}]({_href(base, r.path)})"
        lines.append(_row_line(link, md_cell(r.prefix), r))
    if board.rows:
        lines.append(_row_line("**Total**", "", board.total()))
    lines.append("")
    if board.changes:
        lines += ["**Latest changes**:", "", "| Date | Entry | Version | Changes |",
                  "|------|-------|---------|---------|"]
        for c in board.changes:
            href = _href(base, c.path) + (f"#{c.anchor}" if c.anchor else "")
            label = c.entry or posixpath.basename(c.path)
            lines.append(f"| {c.when.isoformat()} | [{md_cell(printable(label))}]({href}) | "
                         f"{md_cell(c.version)} | {md_cell(c.changes)} |")
        lines.append("")
    yellow = plural(int(opts["yellow_problems"]), "problem")
    red = plural(int(opts["red_problems"]), "problem")
    lines.append(
        f"_Stale: Last Updated more than {opts['stale_days']} days before {ref} (the newest date "
        f"in the registry). Yellow from {yellow} or {opts['yellow_stale_percent']:g}% stale, "
        f"red from {red} or {opts['red_stale_percent']:g}% stale._"
    )
    return "\n".join(lines) + "\n"


def _row_line(file_cell: str, prefix: str, r: Row) -> str:
    updated = r.last_updated.isoformat() if r.last_updated else "—"
    return (f"| {file_cell} | {prefix} | {r.entries} | {md_cell(status_text(r.statuses))} | "
            f"{r.deprecated} | {r.broken} | {r.missing_back} | {r.stale} | {updated} |")


_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # the bytes of a file name that is not UTF-8, as read


def _href(base: str, path: str) -> str:
    rel = posixpath.relpath(path, base or ".")
    rel = rel.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return _NOT_UTF8.sub(lambda m: f"%{ord(m.group()) - 0xDC00:02X}", rel)



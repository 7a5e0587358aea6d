"""SOT4xx: registry files — README file table, UNIQUE_ID_SYSTEM prefix and index tables,
frontmatter, navigation, cross-reference indexes, stale generated regions.

The readers here (which table is the file table, what a file defines, which
prefixes are in use) are shared with `sot_builder.sync`, so lint checks
exactly what `sotb sync` writes.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Iterator

from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.model import Document, Entry, Ref, Table
from sot_builder.navigation import find_navigation
from sot_builder.parse import ID_RE
from sot_builder.registry import TypeDef
from sot_builder.rules.base import Rule, rule

SYNC_FIX = "run `sotb sync`"
ID_SYSTEM_PURPOSE = "Registry of every ID prefix and index of every ID"

_LINK_CELL_RE = re.compile(r"\[([^\]]*)\]\(\s*<?([^)>\s]*)>?[^)]*\)")
_PREFIX_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9])([A-Z][A-Z0-9]{1,4})(?=-|\b)")
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_XREF_TITLE_RE = re.compile(r"cross[\s-]*references?\s+(?:index|map|matrix)", re.IGNORECASE)
_REGION_ALIASES = {
    "navigation": ("navigation", "nav", "navigation-by-category", "toc"),
    "files": ("files", "sot-files", "file-table", "file-list"),
    "prefixes": ("prefixes", "prefix-registry", "prefix-table", "prefix-list"),
    "index": ("index", "index-tables", "id-index", "indexes"),
}


# -- region names -----------------------------------------------------------------------
def canonical_region(name: str) -> str:
    """`<!-- SECTION: Navigation by Category -->` and `sotb:begin navigation` both name "navigation"."""
    norm = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
    for canon, aliases in _REGION_ALIASES.items():
        if norm in aliases:
            return canon
    return norm


def find_region(doc: Document, canon: str):
    for r in doc.regions:
        if r.end_line and canonical_region(r.name) == canon:
            return r
    return None


def in_region(doc: Document, canon: str, line: int) -> bool:
    r = find_region(doc, canon)
    return r is not None and r.begin_line < line < r.end_line


# -- cells ------------------------------------------------------------------------------
def cell_file(cell: str) -> str:
    """The file a table cell names: a link's target, or the cell without `code`/**bold**."""
    m = _LINK_CELL_RE.search(cell)
    if m and m.group(2):
        from urllib.parse import unquote

        return unquote(m.group(2).partition("#")[0], errors="surrogateescape")
    return cell.strip().strip("`*_ ").strip()


def cell_prefixes(cell: str) -> list[str]:
    """`PIC-###, API-XXX` -> ["PIC", "API"]; placeholders like XXX and NNN are skipped."""
    out = []
    for m in _PREFIX_TOKEN_RE.finditer(cell.replace("*", "").replace("`", "")):
        token = m.group(1)
        if set(token) <= {"X", "N"} or token in out:
            continue
        out.append(token)
    return out


def clean(text: str) -> str:
    """A cell's text on one line; the parser has already turned the table's `\\|` into `|`."""
    return " ".join(text.split())


_ESCAPED_RE = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown_text(markdown: str) -> str:
    """Inline Markdown as a reader sees it: backslash escapes resolved, spaces collapsed.

    `\\*` and `*`, `\\|` and `|`, `\\\\` and `\\` name the same title in a heading and a cell.
    """
    return clean(_ESCAPED_RE.sub(r"\1", markdown))


def column(table: Table, *words: str) -> int:
    """Index of the first header cell containing one of `words` (case-insensitive), or -1."""
    for k, h in enumerate(table.header):
        low = h.casefold().strip("*` ")
        if any(w in low for w in words):
            return k
    return -1


def cell(row_cells: tuple[str, ...], k: int) -> str:
    return row_cells[k] if 0 <= k < len(row_cells) else ""


# -- what the registry holds ------------------------------------------------------------
def readme_doc(project) -> Document | None:
    return project.document_named(project.config["readme"])


def id_system_doc(project) -> Document | None:
    return project.document_named(project.config["id_system"])


def owned_prefixes(project, doc: Document) -> list[str]:
    return sorted(
        t.prefix for t in project.registry.unique_types()
        if t.file and project.rel_in_root(t.file) == doc.path
    )


def file_prefixes(project, doc: Document) -> list[str]:
    """The prefixes a SoT file holds: the types that own it, then the prefixes its entries use."""
    owned = owned_prefixes(project, doc)
    used = sorted({e.prefix for e in doc.entries} - set(owned))
    return owned + used


def listed_files(project) -> list[Document]:
    """The files the README lists: every SoT file, then the ID system file."""
    docs = sorted((d for d in project.documents if d.role == "sot"), key=lambda d: d.path)
    ids = id_system_doc(project)
    return docs + ([ids] if ids is not None else [])


def types_in_use(project) -> list[TypeDef]:
    """Types that define entries or whose owning file exists, by prefix."""
    used = {e.prefix for e in project.entries()}
    out = []
    for t in project.registry.unique_types():
        owner = project.rel_in_root(t.file) if t.file else ""
        if used & set(t.prefixes) or (owner and owner in project.by_path):
            out.append(t)
    return out


def index_entries(project, t: TypeDef) -> list[Entry]:
    """The entries a type's index table lists: one per ID, in ID order."""
    seen: dict[str, Entry] = {}
    for e in project.entries():
        if e.prefix in t.prefixes:
            seen.setdefault(e.id, e)
    return sorted(seen.values(), key=id_key)


def id_key(e: Entry) -> tuple[str, str, int, str]:
    return (e.prefix, e.subtype, e.number, e.id)


def used_by(project, ident: str) -> list[str]:
    """IDs of the entries that reference `ident`, in ID order."""
    from sot_builder.parse import split_id

    found = {r.source for r in project.refs_to.get(ident, ()) if r.source and r.source != ident}

    def key(x: str) -> tuple:
        parts = split_id(x)
        return (parts[0], parts[1], parts[2], x) if parts else (x, "", 0, x)

    return sorted(found, key=key)


def file_table(doc: Document) -> Table | None:
    region = find_region(doc, "files")
    for t in doc.tables:
        if region is not None:
            if region.begin_line < t.line < region.end_line:
                return t
        elif column(t, "file") >= 0:
            return t
    return None


def prefix_table(doc: Document) -> Table | None:
    region = find_region(doc, "prefixes")
    for t in doc.tables:
        if region is not None:
            if region.begin_line < t.line < region.end_line:
                return t
        elif t.header and t.header[0].casefold().strip("*` ").startswith("prefix"):
            return t
    return None


def is_index_table(t: Table) -> bool:
    return bool(t.header) and t.header[0].casefold().strip("*` ") == "id" and column(t, "title") > 0


def index_tables(doc: Document) -> list[Table]:
    return [t for t in doc.tables if is_index_table(t)]


def readme_rows(project, doc: Document, table: Table) -> dict[str, tuple[str, list[str], str, int]]:
    """Project path -> (name as written, prefixes, purpose, line) for each row of the file table."""
    kf = column(table, "file")
    kf = max(kf, 0)
    kp = column(table, "prefix")
    ku = column(table, "purpose", "description")
    out = {}
    for row in table.rows:
        name = cell_file(cell(row.cells, kf))
        if not name:
            continue
        path, _ = project.resolve_link(doc.path, name)
        out.setdefault(path, (name, cell_prefixes(cell(row.cells, kp)) if kp >= 0 else [],
                              clean(cell(row.cells, ku)) if ku >= 0 else "", row.line))
    return out


def prefix_rows(doc: Document, table: Table) -> dict[str, tuple[str, int]]:
    """Prefix -> (file as written, line) for each row of the prefix table."""
    kf = column(table, "file")
    out = {}
    for row in table.rows:
        names = cell_prefixes(cell(row.cells, 0)) or [cell(row.cells, 0).strip("*` ")]
        if not names or not names[0]:
            continue
        out.setdefault(names[0], (cell_file(cell(row.cells, kf)) if kf >= 0 else "", row.line))
    return out


def index_rows(doc: Document) -> dict[str, tuple[str, str, int]]:
    """ID -> (title, status, line) for each row of the index tables."""
    out = {}
    for t in index_tables(doc):
        kt = column(t, "title")
        ks = column(t, "status")
        for row in t.rows:
            m = ID_RE.search(cell(row.cells, 0))
            if m:
                out.setdefault(m.group(0), (clean(cell(row.cells, kt)),
                                            clean(cell(row.cells, ks)) if ks >= 0 else "", row.line))
    return out


def navigation_refs(doc: Document, project=None) -> list[Ref] | None:
    """The links of a file's navigation (its `navigation` region, else its Navigation section).

    With `project`, the navigation is read once per document and the answer remembered.
    """
    if project is None:
        return _navigation_refs(doc, find_navigation)
    found = project.memo("registry_files.navigation_refs", lambda _: {})
    if doc.path not in found:
        found[doc.path] = _navigation_refs(doc, project.navigation)
    return found[doc.path]


def _navigation_refs(doc: Document, read_navigation) -> list[Ref] | None:
    region = find_region(doc, "navigation")
    if region is None:
        nav = read_navigation(doc)
        return None if nav is None else [r for r in nav.refs if not r.source]
    lo, hi = region.begin_line, region.end_line
    return [r for r in doc.refs if lo < r.line < hi and r.kind == "link" and r.target and not r.source]


def heading_entries(doc: Document) -> list[Entry]:
    return [e for e in doc.entries if e.level > 0]


def _status(value: str) -> str:
    v = clean(value)
    return "" if v in ("—", "-", "–") else v


# -- README -----------------------------------------------------------------------------
@rule("SOT401", "readme-missing-file", Severity.ERROR,
      "a SoT file is not listed in the README's file table",
      "{file} is not listed in {readme}")
def readme_missing_file(project, r: Rule) -> Iterator[Diagnostic]:
    """SoT.README.md lists every SoT file, so readers know it exists.

    A file missing from the README is invisible to anyone (or any agent) who
    starts from the README. `sotb sync` regenerates the table.

    Bad (SoT.MIGRATIONS.md exists):
    ```markdown
    | File | Prefixes | Purpose |
    |------|----------|---------|
    | [SoT.API_CONTRACTS.md](SoT.API_CONTRACTS.md) | API-### | Our API endpoints |
    ```

    Good:
    ```markdown
    | File | Prefixes | Purpose |
    |------|----------|---------|
    | [SoT.API_CONTRACTS.md](SoT.API_CONTRACTS.md) | API-### | Our API endpoints |
    | [SoT.MIGRATIONS.md](SoT.MIGRATIONS.md) | MIG-### | Database migrations |
    ```
    """
    doc = readme_doc(project)
    if doc is None:
        return
    table = file_table(doc)
    rows = readme_rows(project, doc, table) if table is not None else {}
    line = table.line if table is not None else 1
    readme = posixpath.basename(doc.path)
    for listed in listed_files(project):
        if listed.path not in rows:
            name = posixpath.relpath(listed.path, posixpath.dirname(doc.path) or ".")
            yield r.diag(doc.path, line, fix=SYNC_FIX, file=name, readme=readme)


@rule("SOT402", "readme-unknown-file", Severity.ERROR,
      "the README's file table lists a file that does not exist",
      "{readme} lists {file}, which does not exist")
def readme_unknown_file(project, r: Rule) -> Iterator[Diagnostic]:
    """The README lists no file that does not exist.

    A renamed or deleted file left in the README sends readers to nothing.

    Bad (there is no SoT.PAYMENTS.md):
    ```markdown
    | [SoT.PAYMENTS.md](SoT.PAYMENTS.md) | PAY-### | Payments |
    ```

    Good: remove the row, or run `sotb sync`.
    """
    doc = readme_doc(project)
    table = file_table(doc) if doc is not None else None
    if doc is None or table is None:
        return
    readme = posixpath.basename(doc.path)
    for path, (name, _, _, line) in readme_rows(project, doc, table).items():
        inside = not path.startswith("../") and not posixpath.isabs(path)
        if inside and not project.exists(path):
            yield r.diag(doc.path, line, fix=SYNC_FIX, file=name, readme=readme)


@rule("SOT403", "readme-row", Severity.WARNING,
      "a README file-table row names the wrong prefixes or has no purpose",
      "{file}: {problem}")
def readme_row(project, r: Rule) -> Iterator[Diagnostic]:
    """Each README row gives the file's prefixes and its purpose.

    Bad (SoT.MIGRATIONS.md defines MIG entries):
    ```markdown
    | [SoT.MIGRATIONS.md](SoT.MIGRATIONS.md) | DBT-### | |
    ```

    Good:
    ```markdown
    | [SoT.MIGRATIONS.md](SoT.MIGRATIONS.md) | MIG-### | Database migration procedures |
    ```
    """
    doc = readme_doc(project)
    table = file_table(doc) if doc is not None else None
    if doc is None or table is None:
        return
    rows = readme_rows(project, doc, table)
    has_prefix_col = column(table, "prefix") >= 0
    has_purpose_col = column(table, "purpose", "description") >= 0
    for listed in listed_files(project):
        if listed.path not in rows:
            continue
        name, prefixes, purpose, line = rows[listed.path]
        want = file_prefixes(project, listed) if listed.role == "sot" else []
        if has_prefix_col and sorted(prefixes) != sorted(want):
            shown = ", ".join(f"{p}-###" for p in want) or "none"
            got = ", ".join(f"{p}-###" for p in prefixes) or "none"
            yield r.diag(doc.path, line, fix=SYNC_FIX, file=name,
                         problem=f"listed with prefixes {got}; the file holds {shown}")
        if has_purpose_col and not purpose.strip("—- "):
            yield r.diag(doc.path, line, fix="add `purpose:` to its frontmatter and run `sotb sync`",
                         file=name, problem="no purpose given")


# -- UNIQUE_ID_SYSTEM -------------------------------------------------------------------
@rule("SOT404", "unregistered-prefix", Severity.ERROR,
      "a prefix in use is missing from the UNIQUE_ID_SYSTEM prefix table",
      "prefix {prefix} ({title}) is not registered in {registry}")
def unregistered_prefix(project, r: Rule) -> Iterator[Diagnostic]:
    """SoT.UNIQUE_ID_SYSTEM.md registers every prefix in use, with its owning file.

    The prefix table is where a new prefix is claimed; a prefix used but not
    registered can be claimed twice. `sotb sync` regenerates the table.

    Bad (MIG entries exist):
    ```markdown
    | Prefix | Meaning | File |
    |--------|---------|------|
    | **API** | API Contracts | `SoT.API_CONTRACTS.md` |
    ```

    Good:
    ```markdown
    | Prefix | Meaning | File |
    |--------|---------|------|
    | **API** | API Contracts | `SoT.API_CONTRACTS.md` |
    | **MIG** | Migration Procedures | `SoT.MIGRATIONS.md` |
    ```
    """
    doc = id_system_doc(project)
    if doc is None:
        return
    table = prefix_table(doc)
    rows = prefix_rows(doc, table) if table is not None else {}
    line = table.line if table is not None else 1
    for t in types_in_use(project):
        for p in t.prefixes:
            if p not in rows:
                yield r.diag(doc.path, line, fix=SYNC_FIX, prefix=p, title=t.title,
                             registry=posixpath.basename(doc.path))


@rule("SOT405", "prefix-registration", Severity.ERROR,
      "a UNIQUE_ID_SYSTEM prefix row names a missing or wrong file, or an unused prefix",
      "prefix {prefix}: {problem}")
def prefix_registration(project, r: Rule) -> Iterator[Diagnostic]:
    """Registered prefixes name the file that owns them, and that file exists.

    Bad:
    ```markdown
    | **PIC** | Partner Integration Contracts | `SoT.PARTNERS.md` |
    ```

    Good:
    ```markdown
    | **PIC** | Partner Integration Contracts | `SoT.PARTNER_INTEGRATIONS.md` |
    ```
    """
    doc = id_system_doc(project)
    table = prefix_table(doc) if doc is not None else None
    if doc is None or table is None:
        return
    in_use = {p: t for t in types_in_use(project) for p in t.prefixes}
    for prefix, (name, line) in prefix_rows(doc, table).items():
        t = in_use.get(prefix)
        if t is None:
            known = project.registry.get(prefix) is not None
            problem = "no entries and no file use it" if known else "no type defines it"
            yield r.diag(doc.path, line, fix=SYNC_FIX, prefix=prefix, problem=f"listed, but {problem}")
            continue
        if not name:
            continue
        path, inside = project.resolve_link(doc.path, name)
        if inside and not project.exists(path):
            yield r.diag(doc.path, line, fix=SYNC_FIX, prefix=prefix,
                         problem=f"registered file {name} does not exist")
        elif t.file and path != project.rel_in_root(t.file):
            yield r.diag(doc.path, line, fix=SYNC_FIX, prefix=prefix,
                         problem=f"registered to {name}, but {t.file} owns it")


@rule("SOT406", "index-missing-id", Severity.WARNING,
      "an ID is missing from the UNIQUE_ID_SYSTEM index tables",
      "{id} ({title}) is missing from the index tables of {registry}")
def index_missing_id(project, r: Rule) -> Iterator[Diagnostic]:
    """Where SoT.UNIQUE_ID_SYSTEM.md keeps per-prefix index tables, they list every ID.

    Checked only when the file keeps index tables at all (`| ID | Title | Status | Used By |`).
    `sotb sync` regenerates them.

    Bad (PIC-101 exists):
    ```markdown
    | ID | Title | Status | Used By |
    |----|-------|--------|---------|
    | PIC-001 | Stripe Payment Processing | Active | API-045 |
    ```

    Good:
    ```markdown
    | ID | Title | Status | Used By |
    |----|-------|--------|---------|
    | PIC-001 | Stripe Payment Processing | Active | API-045 |
    | PIC-101 | Twilio SMS/Voice | Active | API-050 |
    ```
    """
    doc = id_system_doc(project)
    if doc is None:
        return
    tables = index_tables(doc)
    if not tables and find_region(doc, "index") is None:
        return
    rows = index_rows(doc)
    line = tables[0].line if tables else find_region(doc, "index").begin_line
    for t in types_in_use(project):
        for e in index_entries(project, t):
            if e.id not in rows:
                yield r.diag(doc.path, line, ids=(e.id,), fix=SYNC_FIX, id=e.id, title=e.title,
                             registry=posixpath.basename(doc.path))


@rule("SOT407", "index-row", Severity.WARNING,
      "an index-table row names an ID that does not exist, or a stale title or status",
      "{id}: {problem}")
def index_row(project, r: Rule) -> Iterator[Diagnostic]:
    """Index rows agree with the entries: same title, same status, and no ID that does not exist.

    Bad (PIC-001's title is "Stripe Payment Processing"):
    ```markdown
    | PIC-001 | Stripe | Draft | API-045 |
    ```

    Good:
    ```markdown
    | PIC-001 | Stripe Payment Processing | Active | API-045 |
    ```
    """
    doc = id_system_doc(project)
    if doc is None:
        return
    for ident, (title, status, line) in index_rows(doc).items():
        e = project.entry(ident)
        if e is None:
            yield r.diag(doc.path, line, ids=(ident,), fix=SYNC_FIX, id=ident,
                         problem="no entry defines this ID")
            continue
        if title and shown_text(title) != shown_text(e.title):
            yield r.diag(doc.path, line, ids=(ident,), fix=SYNC_FIX, id=ident,
                         problem=f"title '{title}' differs from the entry's '{e.title}'")
        if _status(status).casefold() != _status(e.status).casefold() and (status or e.status):
            yield r.diag(doc.path, line, ids=(ident,), fix=SYNC_FIX, id=ident,
                         problem=f"status '{status}' differs from the entry's '{e.status or '—'}'")


# -- frontmatter ------------------------------------------------------------------------
@rule("SOT408", "frontmatter-id-prefix", Severity.WARNING,
      "frontmatter `id_prefix` does not match the prefixes the file defines",
      "id_prefix '{value}' {problem}")
def frontmatter_id_prefix(project, r: Rule) -> Iterator[Diagnostic]:
    """A SoT file's `id_prefix` names the prefixes its entries use.

    Bad (the file defines PIC entries):
    ```markdown
    ---
    id_prefix: API-###
    ---
    ```

    Good:
    ```markdown
    ---
    id_prefix: PIC-###
    ---
    ```
    """
    for doc in project.sot_documents():
        fm = doc.frontmatter or {}
        if "id_prefix" not in fm or fm["id_prefix"] is None:
            continue
        value = str(fm["id_prefix"]) if not isinstance(fm["id_prefix"], list) else \
            ", ".join(str(v) for v in fm["id_prefix"])
        listed = set(cell_prefixes(value))
        defined = {e.prefix for e in doc.entries}
        allowed = defined | set(owned_prefixes(project, doc)) | {e.subtype for e in doc.entries if e.subtype}
        line = doc.frontmatter_lines.get("id_prefix", 1)
        missing = sorted(defined - listed)
        extra = sorted(listed - allowed)
        if missing:
            yield r.diag(doc.path, line, value=value,
                         problem=f"does not name {', '.join(missing)}, which the file defines")
        if extra:
            yield r.diag(doc.path, line, value=value,
                         problem=f"names {', '.join(extra)}, which the file neither defines nor owns")


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    m = re.fullmatch(r"\s*(\d{4})-(\d{2})-(\d{2})\s*", str(value))
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def newest_change(doc: Document) -> tuple[dt.date, int] | None:
    """The newest date in the file's version-history tables, and its line."""
    best: tuple[dt.date, int] | None = None
    for t in doc.tables:
        if "version history" not in t.heading.casefold() and "changelog" not in t.heading.casefold():
            continue
        k = column(t, "date")
        if k < 0:
            continue
        for row in t.rows:
            m = _DATE_RE.search(cell(row.cells, k))
            d = _as_date(m.group(0)) if m else None
            if d is not None and (best is None or d > best[0]):
                best = (d, row.line)
    return best


@rule("SOT409", "last-updated", Severity.WARNING,
      "frontmatter `last_updated` is not a real date, or older than the file's newest change",
      "last_updated {problem}")
def last_updated(project, r: Rule) -> Iterator[Diagnostic]:
    """`last_updated` is a real YYYY-MM-DD date, no older than the newest version-history row.

    Readers judge freshness by it; a date older than the file's own change log
    is simply wrong.

    Bad:
    ```markdown
    last_updated: 2025-01-10
    ...
    | 1.1 | 2025-03-02 | Added PIC-101 | Product Team |
    ```

    Good:
    ```markdown
    last_updated: 2025-03-02
    ```
    """
    for doc in project.sot_documents():
        fm = doc.frontmatter or {}
        if "last_updated" not in fm:
            continue
        line = doc.frontmatter_lines.get("last_updated", 1)
        raw = fm["last_updated"]
        date = _as_date(raw)
        if date is None:
            yield r.diag(doc.path, line, problem=f"'{raw}' is not a real date (YYYY-MM-DD)")
            continue
        newest = newest_change(doc)
        if newest is not None and newest[0] > date:
            yield r.diag(doc.path, line, fix=f"set last_updated: {newest[0].isoformat()}",
                         problem=f"{date.isoformat()} is older than the newest version-history "
                                 f"change ({newest[0].isoformat()}, line {newest[1]})")


# -- navigation -------------------------------------------------------------------------
@rule("SOT410", "navigation-missing-entry", Severity.WARNING,
      "an entry is missing from its file's Navigation by Category",
      "{id} is not listed in the Navigation by Category (line {nav_line})")
def navigation_missing_entry(project, r: Rule) -> Iterator[Diagnostic]:
    """Navigation by Category lists every entry of the file.

    The navigation is how readers find an entry without reading the whole
    file. `sotb sync` regenerates it.

    Bad:
    ```markdown
    ## Navigation by Category
    **Payment providers** (PIC-001 to PIC-099):
    - [PIC-001](#pic-001-stripe-payment-processing) - Stripe Payment Processing

    ## PIC-002: Adyen
    ```

    Good:
    ```markdown
    **Payment providers** (PIC-001 to PIC-099):
    - [PIC-001](#pic-001-stripe-payment-processing) - Stripe Payment Processing
    - [PIC-002](#pic-002-adyen) - Adyen
    ```
    """
    for doc in project.sot_documents():
        refs = navigation_refs(doc, project)
        if refs is None:
            continue
        listed = {ref.target for ref in refs}
        nav_line = _nav_line(project, doc)
        for e in heading_entries(doc):
            if e.id not in listed:
                yield r.diag(doc.path, e.line, e.column, ids=(e.id,), fix=SYNC_FIX, id=e.id,
                             nav_line=nav_line)


def _nav_line(project, doc: Document) -> int:
    region = find_region(doc, "navigation")
    if region is not None:
        return region.begin_line
    nav = project.navigation(doc)
    return nav.line if nav is not None else 1


@rule("SOT411", "navigation-extra-entry", Severity.ERROR,
      "the navigation lists an ID that is not an entry of this file, or lists one twice",
      "the navigation lists {id}, {problem}")
def navigation_extra_entry(project, r: Rule) -> Iterator[Diagnostic]:
    """Navigation by Category lists only the file's own entries, each once.

    Bad (PIC-007 was deleted, PIC-001 appears twice):
    ```markdown
    - [PIC-001](#pic-001-stripe-payment-processing) - Stripe Payment Processing
    - [PIC-007](#pic-007-braintree) - Braintree
    - [PIC-001](#pic-001-stripe-payment-processing) - Stripe Payment Processing
    ```

    Good:
    ```markdown
    - [PIC-001](#pic-001-stripe-payment-processing) - Stripe Payment Processing
    ```
    """
    for doc in project.sot_documents():
        refs = navigation_refs(doc, project)
        if refs is None:
            continue
        own = {e.id for e in heading_entries(doc)}
        seen: set[str] = set()
        for ref in refs:
            if ref.target in seen:
                yield r.diag(doc.path, ref.line, ref.column, ids=(ref.target,), fix=SYNC_FIX,
                             id=ref.target, problem="which it already lists")
            elif ref.target not in own:
                where = project.definitions.get(ref.target)
                problem = f"which is defined in {where[0].path}" if where else "which no entry defines"
                yield r.diag(doc.path, ref.line, ref.column, ids=(ref.target,), fix=SYNC_FIX,
                             id=ref.target, problem=problem)
            seen.add(ref.target)


@rule("SOT412", "missing-navigation", Severity.WARNING,
      "a SoT file with entries has no Navigation by Category",
      "{file} has entries but no Navigation by Category")
def missing_navigation(project, r: Rule) -> Iterator[Diagnostic]:
    """Every SoT file with entries opens with a Navigation by Category.

    Bad:
    ```markdown
    # Partner Integration Contracts (SoT File)

    ## PIC-001: Stripe Payment Processing
    ```

    Good:
    ```markdown
    # Partner Integration Contracts (SoT File)

    ## Navigation by Category

    **Payment providers** (PIC-001 to PIC-099):
    - [PIC-001](#pic-001-stripe-payment-processing) - Stripe Payment Processing

    ## PIC-001: Stripe Payment Processing
    ```
    """
    for doc in project.sot_documents():
        entries = heading_entries(doc)
        if entries and navigation_refs(doc, project) is None:
            yield r.diag(doc.path, entries[0].line, fix=SYNC_FIX,
                         file=posixpath.basename(doc.path))


# -- cross-reference index --------------------------------------------------------------
def _xref_sections(doc: Document) -> Iterator[tuple[int, int]]:
    heads = doc.headings
    for k, h in enumerate(heads):
        if not _XREF_TITLE_RE.search(h.text):
            continue
        end = len(doc.lines)
        for h2 in heads[k + 1:]:
            if h2.level <= h.level:
                end = h2.line - 1
                break
        yield h.line, end


@rule("SOT413", "cross-reference-index", Severity.WARNING,
      "a Cross-Reference Index disagrees with the entries",
      "Cross-Reference Index {problem}")
def cross_reference_index(project, r: Rule) -> Iterator[Diagnostic]:
    """A Cross-Reference Index section agrees with the entries it summarises.

    Each line (list item or table row) names a subject ID first and the IDs it
    is linked with after it. Every pair must be backed by a reference in one
    of the two entries, and a subject's line lists every ID its entry
    references under a relation.

    Bad (PIC-001 does not mention API-050, and API-050 does not mention PIC-001):
    ```markdown
    ## Cross-Reference Index
    - PIC-001 → API-045, API-050
    ```

    Good:
    ```markdown
    ## Cross-Reference Index
    - PIC-001 → API-045, API-046, BR-101
    ```
    """
    reg = project.registry
    for doc in project.sot_documents():
        for start, end in _xref_sections(doc):
            by_line: dict[int, list[Ref]] = {}
            for ref in doc.refs:
                if start < ref.line <= end and ref.target:
                    by_line.setdefault(ref.line, []).append(ref)
            claimed: dict[str, tuple[set[str], int]] = {}
            for line in sorted(by_line):
                refs = sorted(by_line[line], key=lambda x: x.column)
                subject = refs[0].target
                objects, _ = claimed.setdefault(subject, (set(), line))
                for ref in refs[1:]:
                    if ref.target == subject:
                        continue
                    objects.add(ref.target)
                    a, b = project.entry(subject), project.entry(ref.target)
                    if a is None or b is None:
                        continue  # undefined IDs are reported by SOT201
                    if not any(x.target == b.id for x in a.refs) and not any(x.target == a.id for x in b.refs):
                        yield r.diag(doc.path, line, ref.column, ids=(subject, ref.target),
                                     problem=f"pairs {subject} with {ref.target}, but neither entry "
                                             "references the other")
            for subject, (objects, line) in claimed.items():
                a = project.entry(subject)
                if a is None or not objects:
                    continue
                for ref in a.refs:
                    if ref.target and ref.target != subject and ref.target not in objects \
                            and reg.relation_of(a.prefix, ref) and project.entry(ref.target) is not None:
                        objects.add(ref.target)
                        yield r.diag(doc.path, line, ids=(subject, ref.target),
                                     problem=f"omits {ref.target}, which {subject} references "
                                             f"({a.path}:{ref.line})")


# -- stale generated regions ------------------------------------------------------------
_SPECIFIC = {
    "navigation": {"SOT105", "SOT410", "SOT411"},
    "files": {"SOT401", "SOT402", "SOT403"},
    "prefixes": {"SOT404", "SOT405"},
    "index": {"SOT406", "SOT407"},
}


@rule("SOT414", "stale-region", Severity.WARNING,
      "a generated region differs from what `sotb sync` would write",
      "generated region '{name}' is out of date")
def stale_region(project, r: Rule) -> Iterator[Diagnostic]:
    """Generated regions (`<!-- sotb:begin NAME -->` ... `<!-- sotb:end NAME -->`) hold what
    `sotb sync` writes; hand edits inside them are overwritten.

    Reported only when no more specific rule (missing file, unregistered
    prefix, missing navigation entry, ...) already explains the difference.

    Bad (an entry's title changed, the index still shows the old one):
    ```markdown
    <!-- sotb:begin index -->
    | PIC-001 | Stripe | Active | API-045 |
    <!-- sotb:end index -->
    ```

    Good: run `sotb sync`.
    """
    if not any(doc.regions for doc in project.documents):
        return  # nothing generated to compare (and no need to load the sync machinery)
    from sot_builder.sync import stale_regions

    stale = stale_regions(project)
    if not stale:
        return
    specific: dict[str, set[str]] = {}
    wanted = set().union(*(_SPECIFIC[canon] for _, canon, _ in stale if canon in _SPECIFIC))
    if wanted:
        from sot_builder.rules import all_rules

        for other in all_rules():
            if other.code in wanted:
                for d in other.check(project):
                    specific.setdefault(d.path, set()).add(d.code)
    for path, canon, region in stale:
        if specific.get(path, set()) & _SPECIFIC.get(canon, set()):
            continue
        yield r.diag(path, region.begin_line, fix=SYNC_FIX, name=region.name)


RULES = (readme_missing_file, readme_unknown_file, readme_row, unregistered_prefix,
         prefix_registration, index_missing_id, index_row, frontmatter_id_prefix, last_updated,
         navigation_missing_entry, navigation_extra_entry, missing_navigation,
         cross_reference_index, stale_region)

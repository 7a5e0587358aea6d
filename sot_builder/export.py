"""Export the registry as SQLite, a SQL text dump, JSON or CSV.

Every format is built from the same row generators (`table_rows`), so the
formats hold the same rows. Rows are produced lazily and written as they come:
SQLite gets them through `executemany`, the text formats line by line. The
schema is documented in docs/export-schema.md; `SCHEMA_VERSION` is stored as
`PRAGMA user_version` and bumped on every incompatible change.
"""

from __future__ import annotations

import contextlib
import csv
import fnmatch
import glob
import json
import os
import re
import sqlite3
import tempfile
from bisect import bisect_right
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

from sot_builder.diagnostics import SotbError
from sot_builder.model import Document, Entry, Table

if TYPE_CHECKING:
    from sot_builder.project import Project

SCHEMA_VERSION = 1
FORMATS = ("sqlite", "sql", "json", "csv")

# Table name -> column names, in insertion order (parents before children).
TABLES: dict[str, tuple[str, ...]] = {
    "meta": ("key", "value"),
    "files": ("path", "role", "sha", "lines"),
    "types": ("prefix", "title", "file", "purpose", "authority", "width", "table_rows", "source"),
    "prefixes": ("prefix", "type"),
    "categories": ("type", "name", "first", "last"),
    "relations": ("type", "name", "inverse", "targets", "back_reference"),
    "entries": ("entry_key", "id", "prefix", "subtype", "number", "title", "status", "deprecated",
                "file", "line", "end_line", "anchor"),
    "fields": ("entry_key", "entry_id", "name", "value", "section", "file", "line", "column"),
    "refs": ("source_entry", "source", "source_prefix", "target", "target_prefix", "relation",
             "resolved", "kind", "label", "href", "fragment", "section", "field", "file", "line",
             "column"),
    "version_history": ("entry_key", "entry_id", "version", "date", "changes", "author", "file",
                        "line"),
}

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
)""",
    """CREATE TABLE files (
    path TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('sot', 'readme', 'registry', 'doc')),
    sha TEXT NOT NULL,
    lines INTEGER NOT NULL
)""",
    """CREATE TABLE types (
    prefix TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    file TEXT NOT NULL,
    purpose TEXT NOT NULL,
    authority TEXT NOT NULL,
    width INTEGER NOT NULL,
    table_rows INTEGER NOT NULL CHECK (table_rows IN (0, 1)),
    source TEXT NOT NULL
)""",
    """CREATE TABLE prefixes (
    prefix TEXT PRIMARY KEY,
    type TEXT NOT NULL REFERENCES types (prefix)
)""",
    """CREATE TABLE categories (
    type TEXT NOT NULL REFERENCES types (prefix),
    name TEXT NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (type, name)
)""",
    """CREATE TABLE relations (
    type TEXT NOT NULL REFERENCES types (prefix),
    name TEXT NOT NULL,
    inverse TEXT NOT NULL,
    targets TEXT NOT NULL,
    back_reference INTEGER NOT NULL CHECK (back_reference IN (0, 1)),
    PRIMARY KEY (type, name)
)""",
    """CREATE TABLE entries (
    entry_key INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    prefix TEXT NOT NULL,
    subtype TEXT NOT NULL,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    deprecated INTEGER NOT NULL CHECK (deprecated IN (0, 1)),
    file TEXT NOT NULL REFERENCES files (path),
    line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    anchor TEXT NOT NULL
)""",
    """CREATE TABLE fields (
    entry_key INTEGER NOT NULL REFERENCES entries (entry_key),
    entry_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    section TEXT NOT NULL,
    file TEXT NOT NULL REFERENCES files (path),
    line INTEGER NOT NULL,
    column INTEGER NOT NULL
)""",
    """CREATE TABLE refs (
    source_entry INTEGER REFERENCES entries (entry_key),
    source TEXT,
    source_prefix TEXT,
    target TEXT NOT NULL,
    target_prefix TEXT NOT NULL,
    relation TEXT NOT NULL,
    resolved INTEGER NOT NULL CHECK (resolved IN (0, 1)),
    kind TEXT NOT NULL CHECK (kind IN ('link', 'bare', 'code', 'table')),
    label TEXT NOT NULL,
    href TEXT NOT NULL,
    fragment TEXT NOT NULL,
    section TEXT NOT NULL,
    field TEXT NOT NULL,
    file TEXT NOT NULL REFERENCES files (path),
    line INTEGER NOT NULL,
    column INTEGER NOT NULL
)""",
    """CREATE TABLE version_history (
    entry_key INTEGER REFERENCES entries (entry_key),
    entry_id TEXT,
    version TEXT NOT NULL,
    date TEXT NOT NULL,
    changes TEXT NOT NULL,
    author TEXT NOT NULL,
    file TEXT NOT NULL REFERENCES files (path),
    line INTEGER NOT NULL
)""",
)

INDEXES: tuple[str, ...] = (
    "CREATE INDEX entries_id ON entries (id)",
    "CREATE INDEX entries_prefix_number ON entries (prefix, number)",
    "CREATE INDEX fields_entry ON fields (entry_key)",
    "CREATE INDEX refs_source ON refs (source, target)",
    "CREATE INDEX refs_target ON refs (target)",
    "CREATE INDEX version_history_entry ON version_history (entry_key)",
)

VIEWS: tuple[str, ...] = (
    """CREATE VIEW broken_refs AS
SELECT r.source, r.target, r.kind, r.href, r.file, r.line, r.column
FROM refs AS r
WHERE r.resolved = 0 AND r.target_prefix IN (SELECT prefix FROM prefixes)""",
    """CREATE VIEW missing_backrefs AS
SELECT r.source, r.target, r.relation, rel.inverse AS expected_relation,
       r.file, MIN(r.line) AS line
FROM refs AS r
JOIN prefixes AS p ON p.prefix = r.source_prefix
JOIN relations AS rel ON rel.type = p.type AND rel.name = r.relation
WHERE rel.back_reference = 1 AND r.resolved = 1 AND r.source <> r.target
  AND NOT EXISTS (SELECT 1 FROM refs AS b WHERE b.source = r.target AND b.target = r.source)
GROUP BY r.source, r.target, r.relation, rel.inverse, r.file""",
    """CREATE VIEW id_index AS
SELECT t.prefix, t.title, t.file, t.purpose,
       COUNT(DISTINCT e.id) AS entries,
       MIN(e.number) AS first_number,
       MAX(e.number) AS last_number,
       COALESCE(MAX(e.number), 0) + 1 AS next_number
FROM types AS t
LEFT JOIN prefixes AS p ON p.type = t.prefix
LEFT JOIN entries AS e ON e.prefix = p.prefix
GROUP BY t.prefix, t.title, t.file, t.purpose""",
)

Row = tuple[object, ...]
T = TypeVar("T")


# ---------------------------------------------------------------------------
# Rows


def table_rows(project: Project, table: str) -> Iterator[Row]:
    """The rows of one export table, produced lazily in a stable order."""
    makers = {
        "meta": _meta_rows, "files": _file_rows, "types": _type_rows, "prefixes": _prefix_rows,
        "categories": _category_rows, "relations": _relation_rows, "entries": _entry_rows,
        "fields": _field_rows, "refs": _ref_rows, "version_history": _history_rows,
    }
    return makers[table](project)


def _documents(project: Project) -> list[Document]:
    return sorted(project.documents, key=lambda d: d.path)


def _entry_bases(project: Project) -> dict[str, int]:
    """First entry_key minus one, per document path (keys run 1..n in path order)."""
    out: dict[str, int] = {}
    base = 0
    for doc in _documents(project):
        out[doc.path] = base
        base += len(doc.entries)
    return out


def _meta_rows(project: Project) -> Iterator[Row]:
    from sot_builder import __version__

    yield ("generator", f"sotb {__version__}")
    yield ("root", project.config.root_rel)
    yield ("schema_version", str(SCHEMA_VERSION))


def _file_rows(project: Project) -> Iterator[Row]:
    for doc in _documents(project):
        yield (doc.path, doc.role, doc.sha, len(doc.lines))


def _type_rows(project: Project) -> Iterator[Row]:
    for t in project.registry.unique_types():
        yield (t.prefix, t.title, t.file, t.purpose, t.authority, t.width, int(t.table_rows), t.source)


def _prefix_rows(project: Project) -> Iterator[Row]:
    for prefix, t in sorted(project.registry.types.items()):
        yield (prefix, t.prefix)


def _category_rows(project: Project) -> Iterator[Row]:
    for t in project.registry.unique_types():
        seen: set[str] = set()
        for c in t.categories:
            if c.name not in seen:
                seen.add(c.name)
                yield (t.prefix, c.name, c.first, c.last)


def _relation_rows(project: Project) -> Iterator[Row]:
    for t in project.registry.unique_types():
        seen: set[str] = set()
        for r in t.relations:
            if r.name not in seen:
                seen.add(r.name)
                yield (t.prefix, r.name, r.inverse, ",".join(r.targets), int(r.back_reference))


def _entry_rows(project: Project) -> Iterator[Row]:
    bases = _entry_bases(project)
    for doc in _documents(project):
        for i, e in enumerate(doc.entries, start=1):
            yield (bases[doc.path] + i, e.id, e.prefix, e.subtype, e.number, e.title, e.status,
                   int(e.deprecated), doc.path, e.line, e.end_line, e.anchor)


def _field_rows(project: Project) -> Iterator[Row]:
    bases = _entry_bases(project)
    for doc in _documents(project):
        for i, e in enumerate(doc.entries, start=1):
            for f in e.fields:
                yield (bases[doc.path] + i, e.id, f.name, f.value, f.section, doc.path, f.line, f.column)


def _ref_rows(project: Project) -> Iterator[Row]:
    bases = _entry_bases(project)
    reg = project.registry
    defined = project.definitions
    for doc in _documents(project):
        locate = _EntryLocator(doc)
        for ref in doc.refs:
            if not ref.target:
                continue
            key, entry = locate(ref.line, ref.source)
            source_entry = bases[doc.path] + key if key else None
            source_prefix = entry.prefix if entry is not None else None
            relation = reg.relation_of(entry.prefix, ref) if entry is not None else ""
            yield (source_entry, ref.source or None, source_prefix, ref.target,
                   ref.target.split("-", 1)[0], relation, int(ref.target in defined), ref.kind,
                   ref.label, ref.href, ref.fragment, ref.section, ref.field, doc.path, ref.line,
                   ref.column)


class _EntryLocator:
    """Finds the innermost entry of a document that holds a line (and has a given ID)."""

    def __init__(self, doc: Document):
        self.entries = sorted(enumerate(doc.entries, start=1), key=lambda p: (p[1].line, -p[1].end_line))
        self.starts = [e.line for _, e in self.entries]
        self.reach: list[int] = []  # the furthest end_line among entries[0..i]
        for _, e in self.entries:
            self.reach.append(max(e.end_line, self.reach[-1] if self.reach else 0))

    def __call__(self, line: int, ident: str | None) -> tuple[int, Entry | None]:
        """(1-based index in doc.entries, entry), or (0, None). `ident=None` accepts any ID."""
        if ident == "":
            return 0, None
        i = bisect_right(self.starts, line) - 1
        while i >= 0 and self.reach[i] >= line:
            key, e = self.entries[i]
            if (ident is None or e.id == ident) and e.line <= line <= e.end_line:
                return key, e
            i -= 1
        if ident is not None:
            for key, e in self.entries:
                if e.id == ident:
                    return key, e
        return 0, None


def _history_columns(table: Table) -> dict[str, int] | None:
    """Column positions of a Version | Date | Changes table, or None for other tables."""
    names = [h.strip().casefold() for h in table.header]
    if not {"version", "date", "changes"} <= set(names):
        return None
    cols = {k: names.index(k) for k in ("version", "date", "changes")}
    for i, name in enumerate(names):
        if name.endswith(" by") or name in ("by", "author"):
            cols["author"] = i
            break
    return cols


def _history_rows(project: Project) -> Iterator[Row]:
    bases = _entry_bases(project)
    for doc in _documents(project):
        locate = _EntryLocator(doc)
        for table in doc.tables:
            cols = _history_columns(table)
            if cols is None:
                continue
            index, entry = locate(table.line, None)
            key = bases[doc.path] + index if entry is not None else None
            ident = entry.id if entry is not None else None
            for row in table.rows:
                version, date, changes, author = (_cell(row.cells, cols.get(name, -1))
                                                  for name in ("version", "date", "changes", "author"))
                yield (key, ident, version, date, changes, author, doc.path, row.line)


def _cell(cells: tuple[str, ...], i: int) -> str:
    return cells[i] if 0 <= i < len(cells) else ""


# ---------------------------------------------------------------------------
# SQLite


def _insert_sql(table: str) -> str:
    cols = TABLES[table]
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def counts(con: sqlite3.Connection) -> dict[str, int]:
    """Rows per table of an exported database."""
    return {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def fill_database(project: Project, con: sqlite3.Connection) -> None:
    """Create the schema in an empty database and load the project, in one transaction."""
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("BEGIN")
    try:
        for statement in SCHEMA:
            con.execute(statement)
        for table in TABLES:
            con.executemany(_insert_sql(table), table_rows(project, table))
        for statement in (*INDEXES, *VIEWS):
            con.execute(statement)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        bad = con.execute("PRAGMA foreign_key_check").fetchone()
        if bad is not None:
            raise SotbError(f"internal error: export broke a foreign key in table {bad[0]}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def export_sqlite(project: Project, path: Path) -> dict[str, int]:
    """Write a fresh SQLite database to `path` (replaced atomically); rows per table."""
    path = _through_link(Path(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".sotb-tmp", dir=path.parent)
    os.close(fd)
    try:
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            # a private temp file: no journal on disk, one fsync below before it goes live
            con.execute("PRAGMA journal_mode = MEMORY")
            con.execute("PRAGMA synchronous = OFF")
            fill_database(project, con)
            written = counts(con)
        finally:
            con.close()
        _fsync(tmp)
        _replace(Path(tmp), path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return written


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace(tmp: Path, path: Path) -> None:
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------
# Text formats


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f]")


def sql_literal(value: object) -> str:
    """A SQL literal for a value; text with control characters becomes CAST(X'..' AS TEXT)."""
    if type(value) is str:
        if _CONTROL.search(value):
            return f"CAST(X'{value.encode('utf-8').hex().upper()}' AS TEXT)"
        return "'" + value.replace("'", "''") + "'"
    if value is None:
        return "NULL"
    if isinstance(value, (bool, int)):
        return str(int(value))
    return sql_literal(str(value))


def write_sql(project: Project, out: TextIO) -> dict[str, int]:
    """A deterministic SQL script that rebuilds the SQLite export: one INSERT per line."""
    written = {t: 0 for t in TABLES}
    out.write(f"-- sotb export, schema version {SCHEMA_VERSION}\n")
    out.write("PRAGMA foreign_keys = ON;\nBEGIN TRANSACTION;\n")
    out.writelines(statement + ";\n" for statement in SCHEMA)
    for table, cols in TABLES.items():
        head = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ("
        for row in table_rows(project, table):
            out.write(head + ", ".join(sql_literal(v) for v in row) + ");\n")
            written[table] += 1
    out.writelines(statement + ";\n" for statement in (*INDEXES, *VIEWS))
    out.write(f"PRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;\n")
    return written


def write_json(project: Project, out: TextIO) -> dict[str, int]:
    """One JSON document: {"format", "schema_version", "tables": {name: [row objects]}}."""
    written = {t: 0 for t in TABLES}
    out.write(f'{{"format": "sotb-export", "schema_version": {SCHEMA_VERSION:d}, "tables": {{')
    for n, (table, cols) in enumerate(TABLES.items()):
        out.write(("," if n else "") + f"\n{json.dumps(table)}: [")
        for row in table_rows(project, table):
            sep = "," if written[table] else ""
            out.write(sep + "\n  " + json.dumps(dict(zip(cols, row)), ensure_ascii=False))
            written[table] += 1
        out.write("\n]" if written[table] else "]")
    out.write("\n}}\n")
    return written


def export_csv(project: Project, folder: Path) -> dict[str, int]:
    """One CSV file per table (`folder/<table>.csv`, header row first), each replaced atomically."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise SotbError("the csv format writes one file per table: give a folder", str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for table, cols in TABLES.items():
        def write(out: TextIO, table: str = table, cols: tuple[str, ...] = cols) -> int:
            w = csv.writer(out, lineterminator="\n")
            w.writerow(cols)
            n = 0
            for row in table_rows(project, table):
                w.writerow(["" if v is None else v for v in row])
                n += 1
            return n

        written[table] = _write_text_file(folder / f"{table}.csv", write)
    return written


def _write_text_file(path: Path, writer: Callable[[TextIO], T]) -> T:
    """Stream text into a temp file beside `path`, then replace `path` atomically.

    A device or a named pipe at `path` is written into instead (never replaced).
    """
    path = _through_link(Path(path))
    if path.exists() and not path.is_file():
        with open(path, "w", encoding="utf-8", newline="") as out:
            return writer(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".sotb-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            result = writer(out)
            out.flush()
            os.fsync(out.fileno())
        _replace(Path(tmp), path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return result


def export(project: Project, fmt: str, path: Path | None, stdout: TextIO | None = None) -> dict[str, int]:
    """Export in `fmt` to `path` (sql and json may go to `stdout` when path is None)."""
    if fmt not in FORMATS:
        raise SotbError(f"unknown export format '{fmt}'; use one of {', '.join(FORMATS)}")
    if fmt in ("sqlite", "csv") and path is None:
        raise SotbError(f"the {fmt} format needs an output path (-o)")
    try:
        if path is not None:
            check_output(project, fmt, Path(path))
        return _export_to(project, fmt, path, stdout)
    except (OSError, sqlite3.OperationalError) as exc:
        if path is None:
            raise
        raise SotbError(f"export: cannot write -o {path}: {_reason(exc)}") from None


def _export_to(project: Project, fmt: str, path: Path | None,
               stdout: TextIO | None) -> dict[str, int]:
    if fmt == "sqlite":
        return export_sqlite(project, path)  # type: ignore[arg-type]
    if fmt == "csv":
        return export_csv(project, path)  # type: ignore[arg-type]
    writer = write_sql if fmt == "sql" else write_json
    if path is None:
        if stdout is None:
            raise SotbError(f"the {fmt} format needs an output path or a stream")
        return writer(project, stdout)
    return _write_text_file(path, lambda out: writer(project, out))


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _through_link(path: Path) -> Path:
    """The file a symlink names (written in place of the link), else `path` itself."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


# ---------------------------------------------------------------------------
# Output checks


def check_output(project: Project, fmt: str, path: Path) -> None:
    """Refuse an output path export cannot or must not write, before anything is written.

    Refused: a folder (but for csv), a path in a missing folder, a file that is
    not a regular file (for sqlite), and any file sotb reads as a source.
    """
    folder = Path(os.path.realpath(path)).parent
    while not folder.exists():  # missing folders are made: the first that exists must be one
        folder = folder.parent
    if not folder.is_dir():
        raise SotbError(f"export: {folder} is not a folder (-o {path})")
    if fmt == "csv":
        _not_a_source(project, [path / f"{table}.csv" for table in TABLES])
        return
    if path.is_dir():
        raise SotbError(f"export: -o {path} is a folder; name a file "
                        "(only --format csv writes a folder)")
    if fmt == "sqlite" and path.exists() and not path.is_file():
        raise SotbError(f"export: -o {path} is not a regular file; the sqlite format needs one")
    _not_a_source(project, [path])


def _not_a_source(project: Project, paths: list[Path]) -> None:
    known = _read_files(project)
    for path in paths:
        what = _read_file_at(known, path) or _would_be_source(project, path)
        if what:
            raise SotbError(f"export: -o {path} would overwrite {what}; export to another file")


def _read_file_at(known: dict[str, str], path: Path) -> str:
    """What `path` is among the files sotb reads (`known`), or ""."""
    what = known.get(os.path.realpath(path))
    if what or not path.exists():
        return what or ""
    # the same file under another spelling (a case-insensitive file system)
    for name, what in known.items():
        with contextlib.suppress(OSError):
            if os.path.samefile(name, path):
                return what
    return ""


def _read_files(project: Project) -> dict[str, str]:
    """Real path -> what it is, for every file sotb reads from this project."""
    config = project.config
    base = config.project_dir
    real = os.path.realpath
    found = {real(base / d.path): f"the registry source {d.path}" for d in project.documents}
    if config.config_file is not None:
        found[real(config.config_file)] = f"the configuration file {config.config_file.name}"
    if config["ledger"]:
        found[real(config.root / str(config["ledger"]))] = f"the ledger {config['ledger']}"
    for pattern in config["sql_migrations"]:
        for name in glob.glob(str(base / pattern), recursive=True):
            found[real(name)] = f"the SQL migration {os.path.relpath(name, base)}"
    for spec in (config["types"] or {}).values():
        if isinstance(spec, dict) and spec.get("definition"):
            found[real(base / spec["definition"])] = f"the type definition {spec['definition']}"
    return found


def _would_be_source(project: Project, path: Path) -> str:
    """"a Markdown file ..." when a new file at `path` would be read as a source, else ""."""
    real = Path(os.path.realpath(path))
    root = Path(os.path.realpath(project.config.root))
    if real.suffix != ".md" or not real.is_relative_to(root):
        return ""
    if any(part.startswith(".") for part in real.relative_to(root).parts[:-1]):
        return ""
    rel = Path(os.path.relpath(real, os.path.realpath(project.config.project_dir))).as_posix()
    if any(fnmatch.fnmatch(rel, pat) for pat in project.config["exclude"]):
        return ""
    return "a Markdown file in the registry folder (sotb would read it as a source)"

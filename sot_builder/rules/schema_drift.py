"""SOT51x: the documented database schema against the schema the SQL migrations build.

Both rules run only when `sql_migrations` (globs relative to the project folder)
is configured. The migrations are applied, in file-name order, to an in-memory
SQLite database; the DBT entries of the SoT files document the tables.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.paths import lies_in
from sot_builder.rules.base import Rule, rule

SCHEMA_PREFIX = "DBT"


def migration_files(config) -> tuple[list[Path], list[str]]:
    """(files matched by `sql_migrations`, patterns that match no file). Only regular files
    inside the project count: the statements of a migration SQLite rejects are quoted in
    the report, so a file outside it (`/etc/*`, `../../.aws/*`, a link leading out) is
    never read."""
    files: dict[str, Path] = {}
    empty: list[str] = []
    for pattern in config["sql_migrations"]:
        matched = [Path(m) for m in sorted(glob.glob(str(config.project_dir / pattern), recursive=True))]
        matched = [m for m in matched if m.is_file() and lies_in(m, config.project_dir)]
        if not matched:
            empty.append(pattern)
        for m in matched:
            files.setdefault(str(m.resolve()), m)
    return list(files.values()), empty


@lru_cache(maxsize=4)
def _apply(key: tuple[tuple[str, int, int], ...]):
    from sot_builder.sqlschema import SchemaError, actual_schema

    try:
        return actual_schema([Path(p) for p, _, _ in key]), None
    except SchemaError as exc:
        return None, exc


def actual_tables(files: list[Path]):
    """(tables by name, None) or (None, SchemaError) — cached while the files are unchanged."""
    key = []
    for f in files:
        try:
            st = f.stat()
            key.append((str(f), st.st_mtime_ns, st.st_size))
        except OSError:
            key.append((str(f), 0, 0))
    return _apply(tuple(key))


def _rel(project, path: Path | str) -> str:
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(project.project_dir)).as_posix()
    except ValueError:
        return str(path)


def _schema_prefixes(project) -> set[str]:
    t = project.registry.get(SCHEMA_PREFIX)
    return set(t.prefixes) if t is not None else {SCHEMA_PREFIX}


def documented_tables(project):
    """(documented tables by name, table name (casefolded) -> document path, schema documents)."""
    from sot_builder.sqlschema import documented_schema

    prefixes = _schema_prefixes(project)
    documented: dict = {}
    owners: dict[str, str] = {}
    docs: list[str] = []
    for doc in sorted(project.sot_documents(), key=lambda d: d.path):
        spans = [(e.id, e.line, e.end_line) for e in doc.entries if e.prefix in prefixes and e.level > 0]
        if not spans:
            continue
        docs.append(doc.path)
        for name, table in documented_schema(doc.lines, spans).items():
            if name.casefold() not in owners:
                owners[name.casefold()] = doc.path
                documented[name] = table
    return documented, owners, docs


@rule("SOT510", "schema-drift", Severity.ERROR,
      "the documented database schema differs from the schema the migrations build",
      "{message}")
def schema_drift(project, r: Rule) -> Iterator[Diagnostic]:
    """The DBT entries describe the tables exactly as the SQL migrations create them.

    Configure `sql_migrations = ["db/migrations/*.sql"]`; the migrations are
    applied to an in-memory SQLite database and every table, column, type,
    nullability, default, primary key, foreign key and index is compared with
    the documentation. A table documented `immutable` needs BEFORE UPDATE and
    BEFORE DELETE triggers that abort. Each difference is reported at the line
    of the SoT file to fix (a table nobody documented, at the top of the schema
    file).

    Bad (the migration declares `quantity REAL NOT NULL`):
    ```markdown
    | quantity | INTEGER | NO | | |
    ```

    Good:
    ```markdown
    | quantity | REAL | NO | | |
    ```
    """
    if not project.config["sql_migrations"]:
        return
    files, _empty = migration_files(project.config)
    if not files:
        return
    from sot_builder.sqlschema import compare

    actual, error = actual_tables(files)
    if error is not None:
        return  # reported by SOT511
    documented, owners, docs = documented_tables(project)
    found = {name.casefold(): t for name, t in actual.items()}
    for diff in compare(documented, actual):
        key = diff.table.casefold()
        owner = owners.get(key)
        if owner is not None and diff.line > 0:
            ident = documented_id(documented, key)
            yield r.diag(owner, diff.line, ids=(ident,) if ident else (), message=diff.message)
            continue
        if docs:
            yield r.diag(docs[0], 1, message=diff.message, fix=f"document `{diff.table}` in a DBT entry")
            continue
        table = found.get(key)
        path = _rel(project, table.path) if table is not None and table.path else _rel(project, files[0])
        line = table.line if table is not None and table.line else 1
        yield r.diag(path, line, message=diff.message, fix=f"document `{diff.table}` in a DBT entry")


def documented_id(documented: dict, key: str) -> str:
    for name, table in documented.items():
        if name.casefold() == key:
            return table.id
    return ""


@rule("SOT511", "migration-error", Severity.ERROR,
      "a configured SQL migration fails or no file matches a migration pattern",
      "{message}")
def migration_error(project, r: Rule) -> Iterator[Diagnostic]:
    """Every configured migration applies cleanly to an empty SQLite database.

    A migration SQLite rejects is reported at the failing statement; a
    `sql_migrations` pattern that matches no file is reported in the
    configuration file.

    Bad:
    ```sql
    CREATE TABLE orders (id INTEGER PRIMARY KEY,, symbol TEXT);
    ```

    Good:
    ```sql
    CREATE TABLE orders (id INTEGER PRIMARY KEY, symbol TEXT);
    ```
    """
    config = project.config
    if not config["sql_migrations"]:
        return
    files, empty = migration_files(config)
    for pattern in empty:
        path, line = _config_position(project, pattern)
        yield r.diag(path, line, message=f"sql_migrations pattern '{pattern}' matches no file")
    if not files:
        return
    _actual, error = actual_tables(files)
    if error is not None:
        yield r.diag(_rel(project, error.path), max(error.line, 1), message=error.message)


def _config_position(project, pattern: str) -> tuple[str, int]:
    """The configuration file and the line that names `pattern` (or `sql_migrations`)."""
    cfg = project.config.config_file
    if cfg is None:
        return "sotb.toml", 1
    try:
        lines = Path(cfg).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    line = next((i for i, text in enumerate(lines, 1) if pattern in text), 0) or next(
        (i for i, text in enumerate(lines, 1) if "sql_migrations" in text), 1)
    return _rel(project, cfg), line


RULES = (schema_drift, migration_error)

"""Compare the schema SQLite migrations build with the schema a SoT file documents.

Three steps, each a plain function:

* `actual_schema(files)` applies the migration files (in file-name order) to an
  in-memory SQLite database and reads back tables, columns, keys, indexes and
  triggers.
* `documented_schema(lines, entries)` reads the table entries of a SoT file such as
  `SoT/SoT.ACTUAL_SCHEMA.md`.
* `compare(documented, actual)` lists the differences, each with the line of the
  SoT file where it should be fixed.

The documented entry format (one entry per table)::

    ## DBT-002: orders

    **ID**: DBT-002
    **Table**: `orders`                (defaults to the heading title)
    **Kind**: mutable                  (immutable | mutable | derived)
    **Primary Key**: `id`              (comma separated; `none` for no key)

    ### Columns

    | Column | Type | Null | Default | References |
    |--------|------|------|---------|------------|
    | order_request_id | TEXT | NO | | [DBT-001](#dbt-001-order_requests) `order_requests.order_request_id` |

    ### Indexes

    | Name | Columns | Unique |
    |------|---------|--------|
    | idx_orders_symbol | symbol | no |

    ### Foreign Keys                   (optional, for keys over several columns)

    | Columns | References |
    |---------|------------|
    | `order_id`, `seq` | `order_events(order_id, seq)` |

A single-column foreign key is written in the References cell of its column as
`table.column` or `table(column)`; links in the cell are allowed and ignored. The
Null, Default and Unique cells are compared only where the column exists in the
documented table; an empty Null or Unique cell means "not stated". Types and
defaults are compared after normalising case and whitespace.

An entry whose Kind is `immutable` must have a BEFORE UPDATE trigger and a BEFORE
DELETE trigger on the table, each without an `OF` column list or a `WHEN` clause,
whose body runs `SELECT RAISE(ABORT | FAIL | ROLLBACK, ...)`.

Only the standard library is used.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sot_builder.diagnostics import SotbError

__all__ = [
    "KINDS",
    "Column",
    "DocumentedColumn",
    "DocumentedForeignKey",
    "DocumentedIndex",
    "DocumentedTable",
    "ForeignKey",
    "Index",
    "SchemaDifference",
    "SchemaError",
    "TableSchema",
    "Trigger",
    "actual_schema",
    "compare",
    "documented_schema",
    "find_entries",
    "run_validation_queries",
]


# ---------------------------------------------------------------------------
# Values


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # declared type as written ("" when none)
    notnull: bool  # True also for an INTEGER PRIMARY KEY (rowid alias)
    default: str | None  # default expression as SQLite reports it
    pk: int  # 1-based position in the primary key, 0 if not part of it


@dataclass(frozen=True, slots=True)
class ForeignKey:
    columns: tuple[str, ...]
    table: str  # referenced table
    ref_columns: tuple[str, ...]  # resolved to the parent's primary key when omitted
    on_update: str = "NO ACTION"
    on_delete: str = "NO ACTION"


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    columns: tuple[str, ...]  # "<expr>" for an expression
    unique: bool
    origin: str  # "c" CREATE INDEX, "u" UNIQUE constraint, "pk" PRIMARY KEY
    partial: bool = False

    @property
    def is_auto(self) -> bool:
        return self.origin != "c" or self.name.startswith("sqlite_autoindex_")


@dataclass(frozen=True, slots=True)
class Trigger:
    name: str
    timing: str  # "BEFORE" | "AFTER" | "INSTEAD OF"
    event: str  # "INSERT" | "UPDATE" | "DELETE"
    columns: tuple[str, ...] = ()  # UPDATE OF columns
    has_when: bool = False
    aborts: bool = False  # body runs SELECT RAISE(ABORT|FAIL|ROLLBACK, ...)

    def forbids(self, event: str) -> bool:
        """True if this trigger makes every `event` statement on its table fail."""
        return (
            self.timing == "BEFORE"
            and self.event == event
            and not self.columns
            and not self.has_when
            and self.aborts
        )


@dataclass(frozen=True, slots=True)
class TableSchema:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[Index, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    path: Path | None = None  # migration file with the CREATE TABLE statement
    line: int = 0  # line of that statement

    def column(self, name: str) -> Column | None:
        want = name.casefold()
        return next((c for c in self.columns if c.name.casefold() == want), None)

    def append_only_gaps(self) -> tuple[str, ...]:
        """Events ("UPDATE", "DELETE") that no aborting trigger forbids."""
        return tuple(
            e for e in ("UPDATE", "DELETE") if not any(t.forbids(e) for t in self.triggers)
        )


@dataclass(frozen=True, slots=True)
class DocumentedColumn:
    name: str
    type: str
    line: int
    nullable: bool | None = None  # None: not stated
    default: str | None = None  # None: the table has no Default column
    references: tuple[str, tuple[str, ...]] | None = None  # (table, columns)


@dataclass(frozen=True, slots=True)
class DocumentedIndex:
    name: str
    columns: tuple[str, ...]
    line: int
    unique: bool | None = None  # None: not stated


@dataclass(frozen=True, slots=True)
class DocumentedForeignKey:
    columns: tuple[str, ...]
    table: str
    ref_columns: tuple[str, ...]
    line: int


@dataclass(frozen=True, slots=True)
class DocumentedTable:
    id: str  # entry ID, e.g. "DBT-002"
    name: str  # table name
    line: int  # entry heading line
    end_line: int
    name_line: int  # line of **Table** (heading line when absent)
    kind: str = ""  # **Kind** value, lower-cased
    kind_line: int = 0
    primary_key: tuple[str, ...] | None = None  # None: not stated
    primary_key_line: int = 0
    columns: tuple[DocumentedColumn, ...] = ()
    indexes: tuple[DocumentedIndex, ...] = ()
    foreign_keys: tuple[DocumentedForeignKey, ...] = ()
    columns_line: int = 0  # "### Columns" heading (or table header) line, 0 if none
    indexes_line: int = 0


KINDS = (
    "missing-table",  # documented, not created by the migrations
    "extra-table",  # created, not documented (line 0: no place in the document)
    "missing-column",
    "extra-column",
    "column-type",
    "column-null",
    "column-default",
    "primary-key",
    "foreign-key",  # documented but not declared, or declared but not documented
    "missing-index",
    "extra-index",  # sqlite_autoindex_* never counts
    "index-definition",  # same name, other columns or uniqueness
    "not-append-only",  # Kind immutable without aborting BEFORE UPDATE/DELETE triggers
)

MESSAGES = {
    "missing-table": "table `{table}` is documented but no migration creates it",
    "extra-table": "table `{table}` is created in {where} but not documented",
    "missing-column": "column `{table}.{detail}` is documented but does not exist",
    "extra-column": "column `{table}.{detail}` exists but is not documented",
    "column-type": "column `{table}.{detail}` is documented as `{doc}` but declared `{actual}`",
    "column-null": "column `{table}.{detail}` is documented as {doc} but is {actual}",
    "column-default": "column `{table}.{detail}` is documented with default `{doc}` "
    "but has `{actual}`",
    "primary-key": "primary key of `{table}` is documented as ({doc}) but is ({actual})",
    "foreign-key": "foreign key `{table}`: {detail} is {doc} but {actual}",
    "missing-index": "index `{detail}` on `{table}` is documented but does not exist",
    "extra-index": "index `{detail}` on `{table}` exists but is not documented",
    "index-definition": "index `{detail}` on `{table}` is documented as {doc} but is {actual}",
    "not-append-only": "table `{table}` is documented as immutable but no trigger aborts {detail}",
}


@dataclass(frozen=True, slots=True)
class SchemaDifference:
    """One difference between the documented and the actual schema.

    `line` is the 1-based line of the SoT file to fix, or 0 for a table that
    has no entry at all (kind "extra-table").
    """

    kind: str
    table: str
    detail: str  # column, index or foreign key concerned ("" for the table itself)
    message: str
    line: int


class SchemaError(SotbError):
    """A migration, seed or query file that SQLite rejects.

    `line` is 1-based; 0 when the whole file is concerned (unreadable).
    """

    def __init__(self, path: Path | str, line: int, message: str):
        self.message = message
        super().__init__(message, str(path), line)
        self.path = str(path)
        self.line = line


# ---------------------------------------------------------------------------
# SQL text: tokens and statements

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<str>'(?:[^']|'')*'?)
  | (?P<ident>"(?:[^"]|"")*"?|`(?:[^`]|``)*`?|\[[^\]]*\]?)
  | (?P<word>[^\W\d][\w$]*)
  | (?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "str" | "ident" | "word" | "num" | "punct"
    text: str  # as written
    start: int
    end: int

    @property
    def keyword(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    @property
    def value(self) -> str:
        """Identifier without quotes."""
        if self.kind == "ident" and len(self.text) >= 2:
            inner = self.text[1:-1]
            return inner if self.text[0] == "[" else inner.replace(self.text[0] * 2, self.text[0])
        return self.text


def _tokens(text: str) -> list[_Token]:
    """Code tokens of `text`; whitespace and comments dropped."""
    return [
        _Token(m.lastgroup or "punct", m.group(), m.start(), m.end())
        for m in _TOKEN.finditer(text)
        if m.lastgroup not in ("space", "comment")
    ]


@dataclass(frozen=True, slots=True)
class _Statement:
    sql: str  # text from the end of the previous statement to this one's ';'
    offset: int  # offset of `sql` in the file text
    code: int  # offset of the first code character in the file text
    line: int  # 1-based line of that character
    name: str  # from a leading `-- check: NAME` comment, "" if none


_NAME = re.compile(r"--\s*check:\s*(\S+)")


def _statements(text: str) -> Iterator[_Statement]:
    """Split SQL text into statements, keeping their offsets and lines."""
    chunks = []
    start = 0
    for m in re.finditer(";", text):
        if sqlite3.complete_statement(text[start : m.end()]):
            chunks.append((start, m.end()))
            start = m.end()
    chunks.append((start, len(text)))
    line, counted = 1, 0
    for start, end in chunks:
        sql = text[start:end]
        toks = [t for t in _tokens(sql) if t.text != ";"]
        if not toks:
            continue
        code = start + toks[0].start
        line += text.count("\n", counted, code)
        counted = code
        found = _NAME.findall(sql[: toks[0].start])
        yield _Statement(sql, start, code, line, found[-1] if found else "")


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _error_line(text: str, st: _Statement, message: str) -> int:
    """Best guess at the line of `text` that SQLite's `message` is about."""
    offset = _error_offset(st, message)
    return _line_at(text, st.offset + offset) if offset is not None else st.line


_NAMED_ERROR = re.compile(
    r"no such (?:table|column|index|collation|function|module): (\S+)"
    r"|(?:table|index|trigger|view) (\S+) already exists"
)


def _error_offset(st: _Statement, message: str) -> int | None:
    toks = _tokens(st.sql)
    if "syntax error" in message or "unrecognized token" in message:
        return _syntax_error_offset(st.sql, toks)
    if "incomplete input" in message:
        return toks[-1].start if toks else None
    m = _NAMED_ERROR.search(message)
    if m:
        name = (m.group(1) or m.group(2)).strip("\"'`").rsplit(".", 1)[-1].casefold()
        for t in toks:
            if t.kind in ("word", "ident") and t.value.casefold() == name:
                return t.start
    return None


def _syntax_error_offset(sql: str, toks: list[_Token]) -> int | None:
    """Offset of the first token at which SQLite's parser fails (binary search)."""
    if not toks:
        return None
    with closing(sqlite3.connect(":memory:")) as scratch:

        def fails(i: int) -> bool:
            try:
                scratch.execute("EXPLAIN " + sql[: toks[i].end])
            except sqlite3.Error as exc:
                return "syntax error" in str(exc) or "unrecognized token" in str(exc)
            return False

        lo, hi = 0, len(toks) - 1
        if not fails(hi):
            return None
        while lo < hi:
            mid = (lo + hi) // 2
            if fails(mid):
                hi = mid
            else:
                lo = mid + 1
        return toks[lo].start


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(path, 0, f"cannot read: {exc}") from None


def _run_file(
    con: sqlite3.Connection, path: Path
) -> Iterator[tuple[_Statement, list[tuple[object, ...]]]]:
    """Execute each statement of `path`, yielding it with the rows it returned."""
    text = _read(path)
    for st in _statements(text):
        try:
            rows = con.execute(st.sql).fetchall()
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise SchemaError(path, _error_line(text, st, str(exc)), str(exc)) from None
        yield st, rows


def _connect() -> sqlite3.Connection:
    con = sqlite3.connect(":memory:", isolation_level=None)
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("PRAGMA recursive_triggers = ON")
    return con


def _in_name_order(files: Iterable[Path]) -> list[Path]:
    return sorted((Path(f) for f in files), key=lambda p: (p.name, str(p)))


# ---------------------------------------------------------------------------
# Actual schema


def actual_schema(migration_files: Sequence[Path]) -> dict[str, TableSchema]:
    """Apply `migration_files` in file-name order to an empty in-memory database
    and return its tables by name (creation order).

    Raises SchemaError(path, line, message) for the first statement SQLite rejects.
    """
    created: dict[str, tuple[Path, int]] = {}
    with closing(_connect()) as con:
        for path in _in_name_order(migration_files):
            for st, _rows in _run_file(con, path):
                name = _created_table(st.sql)
                if name and name.casefold() not in created:
                    created[name.casefold()] = (path, st.line)
        return _introspect(con, created)


def _created_table(sql: str) -> str:
    """Table name of a CREATE TABLE statement, "" for any other statement."""
    kw = _tokens(sql)
    i = 0
    if i < len(kw) and kw[i].keyword == "CREATE":
        i += 1
        if i < len(kw) and kw[i].keyword in ("TEMP", "TEMPORARY"):
            i += 1
        if i < len(kw) and kw[i].keyword == "TABLE":
            i += 1
            if [t.keyword for t in kw[i : i + 3]] == ["IF", "NOT", "EXISTS"]:
                i += 3
            if i + 2 < len(kw) and kw[i + 1].text == ".":
                i += 2
            return kw[i].value if i < len(kw) else ""
    return ""


def _introspect(
    con: sqlite3.Connection, created: dict[str, tuple[Path, int]]
) -> dict[str, TableSchema]:
    triggers: dict[str, list[Trigger]] = {}
    for name, table, sql in con.execute(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY rowid"
    ):
        triggers.setdefault(table.casefold(), []).append(parse_trigger(name, sql or ""))
    tables = [
        (name, sql or "")
        for name, sql in con.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY rowid"
        )
        if not name.startswith("sqlite_")
    ]
    pks = {name.casefold(): _primary_key(con, name) for name, _ in tables}
    out: dict[str, TableSchema] = {}
    for name, sql in tables:
        where = created.get(name.casefold(), (None, 0))
        out[name] = TableSchema(
            name=name,
            columns=_columns(con, name, sql),
            primary_key=pks[name.casefold()],
            foreign_keys=_foreign_keys(con, name, pks),
            indexes=_indexes(con, name),
            triggers=tuple(triggers.get(name.casefold(), ())),
            path=where[0],
            line=where[1],
        )
    return out


def _primary_key(con: sqlite3.Connection, table: str) -> tuple[str, ...]:
    rows = con.execute("SELECT name, pk FROM pragma_table_info(?) WHERE pk > 0", (table,))
    return tuple(name for name, _ in sorted(rows, key=lambda r: r[1]))


def _columns(con: sqlite3.Connection, table: str, sql: str) -> tuple[Column, ...]:
    rows = con.execute(
        'SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?)'
        " ORDER BY cid",
        (table,),
    ).fetchall()
    keys = [r for r in rows if r[4]]
    without_rowid = "WITHOUT ROWID" in " ".join(t.keyword for t in _tokens(sql))
    alias = len(keys) == 1 and keys[0][1].upper() == "INTEGER" and not without_rowid
    return tuple(
        Column(name, ctype or "", bool(notnull) or bool(pk and alias), dflt, pk)
        for name, ctype, notnull, dflt, pk, hidden in rows
        if hidden != 1
    )


def _foreign_keys(
    con: sqlite3.Connection, table: str, pks: dict[str, tuple[str, ...]]
) -> tuple[ForeignKey, ...]:
    groups: dict[int, list[tuple[str, str, str | None, str, str]]] = {}
    for key, parent, src, ref, on_update, on_delete in con.execute(
        'SELECT id, "table", "from", "to", on_update, on_delete'
        " FROM pragma_foreign_key_list(?) ORDER BY id, seq",
        (table,),
    ):
        groups.setdefault(key, []).append((parent, src, ref, on_update, on_delete))
    out = []
    for rows in groups.values():
        parent, _, _, on_update, on_delete = rows[0]
        refs = tuple(r[2] or "" for r in rows)
        if any(r[2] is None for r in rows):
            refs = pks.get(parent.casefold(), ())
        out.append(ForeignKey(tuple(r[1] for r in rows), parent, refs, on_update, on_delete))
    # pragma_foreign_key_list lists keys in reverse declaration order
    return tuple(reversed(out))


def _indexes(con: sqlite3.Connection, table: str) -> tuple[Index, ...]:
    out = []
    for _seq, name, unique, origin, partial in con.execute(
        'SELECT seq, name, "unique", origin, partial FROM pragma_index_list(?) ORDER BY name',
        (table,),
    ):
        cols = tuple(
            col if col is not None else "<expr>"
            for (col,) in con.execute(
                "SELECT name FROM pragma_index_info(?) ORDER BY seqno", (name,)
            )
        )
        out.append(Index(name, cols, bool(unique), origin, bool(partial)))
    return tuple(out)


def parse_trigger(name: str, sql: str) -> Trigger:
    """Read timing, event, `UPDATE OF` columns, WHEN and the abort body of a trigger."""
    toks = _tokens(sql)
    kws = [t.keyword for t in toks]
    i = kws.index("TRIGGER") + 1 if "TRIGGER" in kws else len(toks)
    if kws[i : i + 3] == ["IF", "NOT", "EXISTS"]:
        i += 3
    i += 3 if i + 1 < len(toks) and toks[i + 1].text == "." else 1
    timing = "BEFORE"
    if i < len(toks) and kws[i] in ("BEFORE", "AFTER"):
        timing = kws[i]
        i += 1
    elif kws[i : i + 2] == ["INSTEAD", "OF"]:
        timing = "INSTEAD OF"
        i += 2
    event = kws[i] if i < len(toks) else ""
    i += 1
    columns: list[str] = []
    if event == "UPDATE" and i < len(toks) and kws[i] == "OF":
        i += 1
        while i < len(toks) and kws[i] != "ON":
            if toks[i].text != ",":
                columns.append(toks[i].value)
            i += 1
    begin = kws.index("BEGIN", i) if "BEGIN" in kws[i:] else len(toks)
    has_when = "WHEN" in kws[i:begin]
    body = toks[begin + 1 : -1] if toks and kws[-1] == "END" else toks[begin + 1 :]
    aborts = any(_is_raise(stmt) for stmt in _split_tokens(body))
    return Trigger(name, timing, event, tuple(columns), has_when, aborts)


def _split_tokens(toks: list[_Token]) -> Iterator[list[_Token]]:
    cur: list[_Token] = []
    for t in toks:
        if t.text == ";":
            if cur:
                yield cur
            cur = []
        else:
            cur.append(t)
    if cur:
        yield cur


def _is_raise(stmt: list[_Token]) -> bool:
    """True for exactly `SELECT RAISE(ABORT|FAIL|ROLLBACK, ...)`."""
    if len(stmt) < 5 or [t.keyword for t in stmt[:2]] != ["SELECT", "RAISE"]:
        return False
    if stmt[2].text != "(" or stmt[3].keyword not in ("ABORT", "FAIL", "ROLLBACK"):
        return False
    depth = 0
    for i, t in enumerate(stmt[2:], start=2):
        depth += {"(": 1, ")": -1}.get(t.text, 0)
        if depth == 0:
            return i == len(stmt) - 1
    return False


# ---------------------------------------------------------------------------
# Documented schema

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_FIELD = re.compile(r"^\*\*(?P<name>[^*]+?)(?::\*\*|\*\*:)\s*(?P<value>.*?)\s*$")
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_IDENT = r"[^\W\d][\w$]*"
_REF = re.compile(rf"({_IDENT})\s*(?:\.\s*({_IDENT})|\(([^)]*)\))")
_ENTRY = re.compile(r"^##\s+([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-\d+)\b")

# Accepted header names (lower-cased) of the three tables, first match wins.
_COLUMN_HEADERS = {
    "name": ("column", "name", "column name"),
    "type": ("type", "data type"),
    "null": ("null", "nullable", "null?"),
    "default": ("default", "default value"),
    "references": ("references", "foreign key", "fk", "ref"),
}
_INDEX_HEADERS = {
    "name": ("name", "index", "index name"),
    "columns": ("columns", "column", "on"),
    "unique": ("unique", "unique?"),
}
_FK_HEADERS = {
    "columns": ("columns", "column", "from"),
    "references": ("references", "to", "ref"),
}


@dataclass(frozen=True, slots=True)
class _MdTable:
    section: str  # heading above, lower-cased
    section_line: int
    header: tuple[str, ...]  # lower-cased
    header_line: int
    rows: tuple[tuple[tuple[str, ...], int], ...]  # (cells, line)


def find_entries(lines: Sequence[str]) -> list[tuple[str, int, int]]:
    """(id, first_line, last_line) of every `## ID: Title` entry (1-based, inclusive).

    A minimal scan for callers without the full parser: an entry runs up to the
    next heading of level 1 or 2; fenced code is skipped.
    """
    out: list[tuple[str, int, int]] = []
    current: tuple[str, int] | None = None
    for no, is_code, text in _lines(lines, 1, len(lines)):
        h = None if is_code else _HEADING.match(text)
        if h and len(h.group(1)) <= 2:
            if current:
                out.append((current[0], current[1], no - 1))
            m = _ENTRY.match(text)
            current = (m.group(1), no) if m else None
    if current:
        out.append((current[0], current[1], len(lines)))
    return out


def documented_schema(
    lines: Sequence[str], entries: Iterable[tuple[str, int, int]]
) -> dict[str, DocumentedTable]:
    """Read the table entries of a SoT file, keyed by documented table name.

    `lines` are the file's lines without newlines; `entries` holds
    (id, first_line, last_line), 1-based inclusive, first_line being the heading.
    An entry naming no table (no **Table** field and no identifier title) is
    skipped; when two entries name the same table the first one wins.
    """
    out: dict[str, DocumentedTable] = {}
    for entry_id, first, last in entries:
        table = _documented_table(lines, entry_id, first, last)
        if table and table.name.casefold() not in {k.casefold() for k in out}:
            out[table.name] = table
    return out


def _lines(lines: Sequence[str], first: int, last: int) -> Iterator[tuple[int, bool, str]]:
    """(line number, inside fenced code, text) for lines first..last."""
    fence = ""
    for no in range(max(first, 1), min(last, len(lines)) + 1):
        text = lines[no - 1]
        m = _FENCE.match(text)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = ""
            yield no, True, text
        elif m:
            fence = m.group(1)
            yield no, True, text
        else:
            yield no, False, text


def _documented_table(
    lines: Sequence[str], entry_id: str, first: int, last: int
) -> DocumentedTable | None:
    fields: dict[str, tuple[str, int]] = {}
    tables: list[_MdTable] = []
    section, section_line = "", 0
    block = list(_lines(lines, first, last))
    i = 0
    while i < len(block):
        no, is_code, text = block[i]
        i += 1
        if is_code or no == first:
            continue
        h = _HEADING.match(text)
        if h:
            section, section_line = _plain(h.group(2)).casefold(), no
            continue
        f = _FIELD.match(text.strip())
        if f and not section:
            fields.setdefault(f.group("name").strip().casefold(), (f.group("value"), no))
            continue
        if text.lstrip().startswith("|") and i < len(block) and _SEPARATOR.match(block[i][2]):
            rows = []
            i += 1
            while i < len(block) and not block[i][1] and block[i][2].lstrip().startswith("|"):
                rows.append((_cells(block[i][2]), block[i][0]))
                i += 1
            header = tuple(c.casefold() for c in map(_plain, _cells(text)))
            tables.append(_MdTable(section, section_line, header, no, tuple(rows)))
    name_field = fields.get("table")
    title = _HEADING.match(lines[first - 1]) if 0 < first <= len(lines) else None
    heading_name = _plain(title.group(2).split(":", 1)[-1]) if title else ""
    if name_field:
        name, name_line = _plain(name_field[0]), name_field[1]
    elif re.fullmatch(_IDENT, heading_name):
        name, name_line = heading_name, first
    else:
        return None
    kind = fields.get("kind", ("", 0))
    pk = fields.get("primary key")
    cols = [t for t in tables if _table_role(t) == "columns"]
    idxs = [t for t in tables if _table_role(t) == "indexes"]
    fks = [t for t in tables if _table_role(t) == "foreign keys"]
    columns = tuple(c for t in cols for c in _doc_columns(t))
    return DocumentedTable(
        id=entry_id,
        name=name,
        line=first,
        end_line=last,
        name_line=name_line,
        kind=(_plain(kind[0]).casefold().split() or [""])[0],
        kind_line=kind[1] or first,
        primary_key=_names(pk[0]) if pk else None,
        primary_key_line=pk[1] if pk else first,
        columns=columns,
        indexes=tuple(x for t in idxs for x in _doc_indexes(t)),
        foreign_keys=tuple(
            [
                DocumentedForeignKey((c.name,), c.references[0], c.references[1], c.line)
                for c in columns
                if c.references
            ]
            + [k for t in fks for k in _doc_foreign_keys(t)]
        ),
        columns_line=(cols[0].section_line or cols[0].header_line) if cols else 0,
        indexes_line=(idxs[0].section_line or idxs[0].header_line) if idxs else 0,
    )


def _table_role(t: _MdTable) -> str:
    """Which of the three tables `t` is, from its sub-heading (or header if none)."""
    for role in ("foreign key", "index", "column"):
        if role in t.section:
            return {"foreign key": "foreign keys", "index": "indexes"}.get(role, "columns")
    if t.section:
        return ""
    if "type" in t.header:
        return "columns"
    if "unique" in t.header:
        return "indexes"
    if "references" in t.header and "columns" in t.header:
        return "foreign keys"
    return ""


def _positions(t: _MdTable, headers: Mapping[str, tuple[str, ...]]) -> dict[str, int]:
    """Cell index of each role in `t` (-1 when the table lacks it)."""
    return {
        role: next((t.header.index(a) for a in aliases if a in t.header), -1)
        for role, aliases in headers.items()
    }


def _cell(cells: tuple[str, ...], i: int) -> str | None:
    return cells[i] if 0 <= i < len(cells) else None


def _doc_columns(t: _MdTable) -> Iterator[DocumentedColumn]:
    at = _positions(t, _COLUMN_HEADERS)
    for cells, line in t.rows:
        name = _plain(_cell(cells, at["name"]) or "")
        if not name:
            continue
        null = _cell(cells, at["null"])
        default = _cell(cells, at["default"])
        refs = _cell(cells, at["references"])
        ref = _reference(refs) if refs else None
        yield DocumentedColumn(
            name=name,
            type=_plain(_cell(cells, at["type"]) or ""),
            line=line,
            nullable=_yes_no(null, {"not null"}, {"null"}) if null is not None else None,
            default=_plain(default) if default is not None else None,
            references=(ref[0], ref[1] or (name,)) if ref else None,
        )


def _doc_indexes(t: _MdTable) -> Iterator[DocumentedIndex]:
    at = _positions(t, _INDEX_HEADERS)
    for cells, line in t.rows:
        name = _plain(_cell(cells, at["name"]) or "")
        if name:
            unique = _cell(cells, at["unique"])
            yield DocumentedIndex(
                name,
                _names(_cell(cells, at["columns"]) or ""),
                line,
                _yes_no(unique, {"unique"}, set()) if unique is not None else None,
            )


def _doc_foreign_keys(t: _MdTable) -> Iterator[DocumentedForeignKey]:
    at = _positions(t, _FK_HEADERS)
    for cells, line in t.rows:
        ref = _reference(_cell(cells, at["references"]) or "")
        cols = _names(_cell(cells, at["columns"]) or "")
        if ref and cols:
            yield DocumentedForeignKey(cols, ref[0], ref[1] or cols, line)


def _cells(row: str) -> tuple[str, ...]:
    row = row.strip()
    row = row.removeprefix("|")
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return tuple(c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row))


def _plain(text: str) -> str:
    """Cell or field text without links' targets, emphasis and code quotes."""
    text = _LINK.sub(r"\1", text).strip()
    return text.replace("`", "").replace("**", "").strip()


def _names(text: str) -> tuple[str, ...]:
    """A comma separated list of names; "none" or a dash is the empty list."""
    names = tuple(n.strip() for n in _plain(text).split(",") if n.strip())
    return () if len(names) == 1 and names[0].casefold() in ("none", "-", "—", "n/a") else names


def _reference(cell: str) -> tuple[str, tuple[str, ...]] | None:
    """(table, columns) from `table.column` or `table(col, ...)`, ignoring link targets."""
    text = _LINK.sub(lambda link: link.group(1) if "." in link.group(1) else "", cell)
    m = _REF.search(text.replace("`", ""))
    if not m:
        return None
    if m.group(2):
        return m.group(1), (m.group(2),)
    return m.group(1), tuple(c.strip() for c in m.group(3).split(",") if c.strip())


def _yes_no(cell: str | None, yes: set[str], no: set[str]) -> bool | None:
    value = _plain(cell or "").casefold()
    if value in {"yes", "y", "true", "x", "✓", "✔"} | yes:
        return True
    if value in {"no", "n", "false", "-", "—"} | no:
        return False
    return None


# ---------------------------------------------------------------------------
# Comparison


def _norm(sql: str | None) -> str:
    """SQL text with keywords upper-cased and whitespace only between words."""
    out = ""
    prev = ""
    for t in _tokens(sql or ""):
        text = t.text.upper() if t.kind == "word" else t.text
        if prev in ("word", "num", "ident") and t.kind in ("word", "num", "ident"):
            out += " "
        out += text
        prev = t.kind
    return out


def _norm_default(sql: str | None) -> str:
    value = _norm(sql)
    while value.startswith("(") and value.endswith(")") and _balanced(value[1:-1]):
        value = value[1:-1]
    return "" if value == "NULL" else value


def _balanced(text: str) -> bool:
    depth = 0
    for t in _tokens(text):
        depth += {"(": 1, ")": -1}.get(t.text, 0)
        if depth < 0:
            return False
    return depth == 0


def _fold(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(n.casefold() for n in names)


def _diff(kind: str, table: str, detail: str, line: int, **fmt: str) -> SchemaDifference:
    message = MESSAGES[kind].format(table=table, detail=detail, **fmt)
    return SchemaDifference(kind, table, detail, message, line)


def _fk_text(columns: Sequence[str], table: str, refs: Sequence[str]) -> str:
    return f"({', '.join(columns)}) -> {table}({', '.join(refs)})"


def compare(
    documented: dict[str, DocumentedTable], actual: dict[str, TableSchema]
) -> list[SchemaDifference]:
    """Differences between `documented_schema(...)` and `actual_schema(...)`.

    Names of tables, columns and indexes match case-insensitively. The result is
    sorted by (line, table, kind, detail); see KINDS for the kinds.
    """
    found = {name.casefold(): t for name, t in actual.items()}
    out: list[SchemaDifference] = []
    seen: set[str] = set()
    for doc in documented.values():
        table = found.get(doc.name.casefold())
        if table is None:
            out.append(_diff("missing-table", doc.name, "", doc.name_line))
            continue
        seen.add(table.name.casefold())
        out.extend(_compare_table(doc, table))
    for key, table in found.items():
        if key not in seen:
            where = f"{table.path.name} line {table.line}" if table.path else "the migrations"
            out.append(_diff("extra-table", table.name, "", 0, where=where))
    return sorted(out, key=lambda d: (d.line, d.table, d.kind, d.detail))


def _compare_table(doc: DocumentedTable, table: TableSchema) -> Iterator[SchemaDifference]:
    yield from _compare_columns(doc, table)
    if doc.primary_key is not None and _fold(doc.primary_key) != _fold(table.primary_key):
        yield _diff(
            "primary-key",
            table.name,
            "",
            doc.primary_key_line,
            doc=", ".join(doc.primary_key) or "none",
            actual=", ".join(table.primary_key) or "none",
        )
    yield from _compare_foreign_keys(doc, table)
    yield from _compare_indexes(doc, table)
    gaps = table.append_only_gaps()
    if doc.kind == "immutable" and gaps:
        yield _diff("not-append-only", table.name, ", ".join(gaps), doc.kind_line)


def _compare_columns(doc: DocumentedTable, table: TableSchema) -> Iterator[SchemaDifference]:
    documented = {c.name.casefold() for c in doc.columns}
    for col in doc.columns:
        real = table.column(col.name)
        if real is None:
            yield _diff("missing-column", table.name, col.name, col.line)
            continue
        if _norm(col.type) != _norm(real.type):
            yield _diff(
                "column-type",
                table.name,
                real.name,
                col.line,
                doc=col.type or "(none)",
                actual=real.type or "(none)",
            )
        if col.nullable is not None and col.nullable == real.notnull:
            yield _diff(
                "column-null",
                table.name,
                real.name,
                col.line,
                doc=_null_text(not col.nullable),
                actual=_null_text(real.notnull),
            )
        if col.default is not None and _norm_default(col.default) != _norm_default(real.default):
            yield _diff(
                "column-default",
                table.name,
                real.name,
                col.line,
                doc=col.default or "(none)",
                actual=real.default or "(none)",
            )
    for real in table.columns:
        if real.name.casefold() not in documented:
            yield _diff("extra-column", table.name, real.name, doc.columns_line or doc.line)


def _null_text(notnull: bool) -> str:
    return "NOT NULL" if notnull else "nullable"


def _compare_foreign_keys(doc: DocumentedTable, table: TableSchema) -> Iterator[SchemaDifference]:
    def key(columns: Sequence[str], parent: str, refs: Sequence[str]) -> tuple[object, ...]:
        return (_fold(columns), parent.casefold(), _fold(refs))

    declared = {key(k.columns, k.table, k.ref_columns) for k in table.foreign_keys}
    written = {key(k.columns, k.table, k.ref_columns) for k in doc.foreign_keys}
    for k in doc.foreign_keys:
        if key(k.columns, k.table, k.ref_columns) not in declared:
            text = _fk_text(k.columns, k.table, k.ref_columns)
            yield _diff(
                "foreign-key",
                table.name,
                text,
                k.line,
                doc="documented",
                actual="not declared",
            )
    rows = {c.name.casefold(): c.line for c in doc.columns}
    for fk in table.foreign_keys:
        if key(fk.columns, fk.table, fk.ref_columns) not in written:
            line = rows.get(fk.columns[0].casefold()) or doc.columns_line or doc.line
            text = _fk_text(fk.columns, fk.table, fk.ref_columns)
            yield _diff(
                "foreign-key",
                table.name,
                text,
                line,
                doc="declared",
                actual="not documented",
            )


def _compare_indexes(doc: DocumentedTable, table: TableSchema) -> Iterator[SchemaDifference]:
    real = {i.name.casefold(): i for i in table.indexes}
    for idx in doc.indexes:
        found = real.get(idx.name.casefold())
        if found is None:
            yield _diff("missing-index", table.name, idx.name, idx.line)
            continue
        same_cols = _fold(idx.columns) == _fold(found.columns)
        if not same_cols or (idx.unique is not None and idx.unique != found.unique):
            yield _diff(
                "index-definition",
                table.name,
                found.name,
                idx.line,
                doc=_index_text(idx.columns, idx.unique),
                actual=_index_text(found.columns, found.unique),
            )
    documented = {i.name.casefold() for i in doc.indexes}
    for index in table.indexes:
        if not index.is_auto and index.name.casefold() not in documented:
            yield _diff("extra-index", table.name, index.name, doc.indexes_line or doc.line)


def _index_text(columns: Sequence[str], unique: bool | None) -> str:
    return ("unique " if unique else "") + f"({', '.join(columns)})"


# ---------------------------------------------------------------------------
# Running seed data and validation queries


def run_validation_queries(
    migrations: Sequence[Path], seed_files: Sequence[Path], query_files: Sequence[Path]
) -> list[tuple[str, list[tuple[object, ...]]]]:
    """Build an in-memory database and run every query in `query_files`.

    Migrations run in file-name order, then seed files and query files in the
    order given, with foreign keys and recursive triggers on. Returns one
    (name, rows) pair per query statement; the name comes from a
    `-- check: NAME` comment above the statement, else "FILE:LINE".
    Raises SchemaError for a statement SQLite rejects.
    """
    results: list[tuple[str, list[tuple[object, ...]]]] = []
    with closing(_connect()) as con:
        for path in [*_in_name_order(migrations), *map(Path, seed_files)]:
            for _ in _run_file(con, path):
                pass
        for path in map(Path, query_files):
            for st, rows in _run_file(con, path):
                results.append((st.name or f"{path.name}:{st.line}", rows))
    return results

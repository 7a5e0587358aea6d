"""sqlschema pieces: migration errors, trigger reading, documented entries, queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from sot_builder import sqlschema
from sot_builder.diagnostics import SotbError
from sot_builder.sqlschema import SchemaError, parse_trigger


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- migration errors -----------------------------------------------------------

GOOD = "CREATE TABLE a (id INTEGER PRIMARY KEY);\n"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # syntax error in the middle of a statement: the line of the bad token
        (
            GOOD + "\nCREATE TABLE b (\n    id INTEGER,\n    name TEXT NOT NULL,,\n    x INT\n);\n",
            5,
        ),
        # unknown table named on a later line of the statement
        (GOOD + "-- index\nCREATE INDEX i\n    ON missing_table (x);\n", 4),
        # unknown column
        (GOOD + "CREATE INDEX i ON a (\n    id,\n    nope\n);\n", 4),
        # a table created twice: the second CREATE
        (GOOD + "\n\nCREATE TABLE IF NOT EXISTS a (id);\n/* again */ CREATE TABLE a (id);\n", 5),
        # statement cut off at the end of the file
        (GOOD + "CREATE TABLE c (\n    id INTEGER,\n    name TEXT", 4),
        # a token SQLite does not know
        (GOOD + "SELECT 1;\nSELECT\n  @@ FROM a;\n", 4),
        # a semicolon inside a string or comment does not end the statement
        (GOOD + "INSERT INTO a VALUES ('x;y'); -- ; \nINSERT INTO a\nVALUES (1, 2);\n", 2),
    ],
)
def test_migration_error_line(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path / "001_bad.sql", text)
    with pytest.raises(SchemaError) as info:
        sqlschema.actual_schema([path])
    assert (info.value.path, info.value.line) == (str(path), line)
    assert isinstance(info.value, SotbError)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_unreadable_migration(tmp_path: Path) -> None:
    path = tmp_path / "001_missing.sql"
    with pytest.raises(SchemaError) as info:
        sqlschema.actual_schema([path])
    assert info.value.line == 0


def test_migrations_run_in_file_name_order(tmp_path: Path) -> None:
    first = write(tmp_path / "b" / "001_parent.sql", "CREATE TABLE p (id INTEGER PRIMARY KEY);")
    second = write(
        tmp_path / "a" / "002_child.sql",
        "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p);\n"
        "CREATE INDEX idx_c_p ON c (p_id);",
    )
    tables = sqlschema.actual_schema([second, first])
    assert list(tables) == ["p", "c"]
    assert tables["c"].foreign_keys == (sqlschema.ForeignKey(("p_id",), "p", ("id",)),)
    assert (tables["c"].path, tables["c"].line) == (second, 1)


def test_introspection_details(tmp_path: Path) -> None:
    path = write(
        tmp_path / "001.sql",
        """
        CREATE TABLE t (
            code TEXT NOT NULL,
            n INT PRIMARY KEY,
            note TEXT DEFAULT (lower('X')),
            UNIQUE (code)
        );
        CREATE TABLE w (a TEXT, b TEXT, PRIMARY KEY (b, a)) WITHOUT ROWID;
        CREATE TABLE r (id INTEGER PRIMARY KEY, wa TEXT, wb TEXT,
            FOREIGN KEY (wb, wa) REFERENCES w (b, a));
        CREATE INDEX idx_t_expr ON t (lower(note), code) WHERE code <> '';
        """,
    )
    tables = sqlschema.actual_schema([path])
    t = tables["t"]
    assert t.primary_key == ("n",)
    # INT PRIMARY KEY is no rowid alias: SQLite lets it be NULL
    assert [(c.name, c.notnull, c.default) for c in t.columns] == [
        ("code", True, None),
        ("n", False, None),
        ("note", False, "lower('X')"),
    ]
    assert {(i.name, i.columns, i.unique, i.is_auto, i.partial) for i in t.indexes} == {
        ("idx_t_expr", ("<expr>", "code"), False, False, True),
        ("sqlite_autoindex_t_1", ("n",), True, True, False),
        ("sqlite_autoindex_t_2", ("code",), True, True, False),
    }
    assert tables["w"].primary_key == ("b", "a")
    assert tables["r"].foreign_keys[0].columns == ("wb", "wa")
    assert tables["r"].foreign_keys[0].ref_columns == ("b", "a")


# --- triggers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "forbids"),
    [
        ("CREATE TRIGGER x BEFORE DELETE ON t BEGIN SELECT RAISE(ABORT, 'no'); END", "DELETE"),
        ("create trigger x before update on t begin select raise(fail, 'no'); end", "UPDATE"),
        # BEFORE is the default timing
        ("CREATE TRIGGER x UPDATE ON t BEGIN SELECT RAISE(ROLLBACK, 'no'); END", "UPDATE"),
        (
            (
                'CREATE TEMP TRIGGER IF NOT EXISTS main."x y" BEFORE DELETE ON "t" FOR EACH ROW\n'
                "BEGIN -- a comment; with a semicolon\n"
                "  INSERT INTO log VALUES ('END; BEGIN');\n"
                "  SELECT RAISE(ABORT, 'no');\n"
                "END"
            ),
            "DELETE",
        ),
        # only some columns, a condition, IGNORE, a conditional raise, AFTER: not enough
        ("CREATE TRIGGER x BEFORE UPDATE OF a, b ON t BEGIN SELECT RAISE(ABORT, 'n'); END", ""),
        (
            "CREATE TRIGGER x BEFORE DELETE ON t WHEN OLD.a > 1 BEGIN SELECT RAISE(ABORT, 'n'); END",
            "",
        ),
        ("CREATE TRIGGER x BEFORE DELETE ON t BEGIN SELECT RAISE(IGNORE); END", ""),
        (
            (
                "CREATE TRIGGER x BEFORE DELETE ON t BEGIN "
                "SELECT CASE WHEN OLD.a THEN RAISE(ABORT, 'n') END; END"
            ),
            "",
        ),
        ("CREATE TRIGGER x BEFORE DELETE ON t BEGIN SELECT RAISE(ABORT, 'n') WHERE 0; END", ""),
        ("CREATE TRIGGER x AFTER DELETE ON t BEGIN SELECT RAISE(ABORT, 'n'); END", ""),
        ("CREATE TRIGGER x BEFORE INSERT ON t BEGIN SELECT RAISE(ABORT, 'n'); END", "INSERT"),
    ],
)
def test_trigger_forbids(sql: str, forbids: str) -> None:
    trigger = parse_trigger("x", sql)
    assert [e for e in ("INSERT", "UPDATE", "DELETE") if trigger.forbids(e)] == (
        [forbids] if forbids else []
    )


def test_trigger_fields() -> None:
    t = parse_trigger(
        "x", "CREATE TRIGGER x BEFORE UPDATE OF [a], `b` ON t WHEN 1 BEGIN SELECT 1; END"
    )
    assert (t.timing, t.event, t.columns, t.has_when, t.aborts) == (
        "BEFORE",
        "UPDATE",
        ("a", "b"),
        True,
        False,
    )


# --- documented entries ---------------------------------------------------------

DOC = """\
---
id_prefix: DBT-###
---

# Schema

```markdown
## DBT-900: in_a_fence

| Column | Type |
|---|---|
| nope | TEXT |
```

## DBT-001: parent

**Table:** `parent`
**Kind**: Immutable (append-only)
**Primary Key**: `a`, `b`

### Columns

| Name | Type | Nullable | References |
|:-----|:----:|---------:|------------|
| `a` | text | no | |
| `b` | text | x | |
| `c` | real | | [DBT-002](#dbt-002-child) |

```sql
| not | a | table |
|-----|---|-------|
```

### Foreign Keys

| Columns | References |
|---------|------------|
| `b`, `a` | `other(y, x)` |

### Indexes

| Index | Column | Unique |
|-------|--------|--------|
| idx_parent_c | `c` | |

### Version History

| Version | Type | Changes |
|---------|------|---------|
| 1.0 | minor | first |

## DBT-002: child

**Primary Key**: none

| Column | Type | Null | Default | References |
|--------|------|------|---------|------------|
| p_a | TEXT | YES | `NULL` | `parent(a)` |
| tag | TEXT | NO | `'x'` | [parent.c](#dbt-001-parent) |

## Not an entry

| Column | Type |
|---|---|
| z | TEXT |
"""


def test_find_entries_skips_fenced_headings() -> None:
    lines = DOC.splitlines()
    assert sqlschema.find_entries(lines) == [("DBT-001", 15, 51), ("DBT-002", 52, 60)]


def test_documented_schema_reads_entries() -> None:
    lines = DOC.splitlines()
    tables = sqlschema.documented_schema(lines, sqlschema.find_entries(lines))
    assert list(tables) == ["parent", "child"]
    parent = tables["parent"]
    assert (parent.id, parent.line, parent.name_line, parent.kind, parent.kind_line) == (
        "DBT-001",
        15,
        17,
        "immutable",
        18,
    )
    assert (parent.primary_key, parent.primary_key_line) == (("a", "b"), 19)
    assert [(c.name, c.type, c.nullable, c.default, c.line) for c in parent.columns] == [
        ("a", "text", False, None, 25),
        ("b", "text", True, None, 26),
        ("c", "real", None, None, 27),
    ]
    assert parent.columns_line == 21
    assert parent.foreign_keys == (
        sqlschema.DocumentedForeignKey(("b", "a"), "other", ("y", "x"), 38),
    )
    assert parent.indexes == (sqlschema.DocumentedIndex("idx_parent_c", ("c",), 44, None),)
    assert parent.indexes_line == 40

    child = tables["child"]
    assert (child.name, child.name_line, child.primary_key) == ("child", 52, ())
    assert child.columns_line == 56  # no sub-heading: the table's header row
    assert [(c.name, c.nullable, c.default, c.references) for c in child.columns] == [
        ("p_a", True, "NULL", ("parent", ("a",))),
        ("tag", False, "'x'", ("parent", ("c",))),
    ]


def test_entries_without_a_table_name_are_skipped() -> None:
    lines = ["## DBT-001: Orders and fills", "", "**Status**: Active"]
    assert sqlschema.documented_schema(lines, [("DBT-001", 1, 3)]) == {}


def test_first_entry_wins_for_a_table() -> None:
    lines = ["## DBT-001: t", "", "## DBT-002: Other", "**Table**: `T`"]
    tables = sqlschema.documented_schema(lines, [("DBT-001", 1, 2), ("DBT-002", 3, 4)])
    assert [(t.id, t.name) for t in tables.values()] == [("DBT-001", "t")]


def test_compare_matches_names_case_insensitively(tmp_path: Path) -> None:
    path = write(
        tmp_path / "001.sql",
        "CREATE TABLE Parent (A TEXT PRIMARY KEY, B INT NOT NULL DEFAULT 0);\n"
        "CREATE INDEX Idx_P ON Parent (B);",
    )
    lines = [
        "## DBT-001: parent",
        "**Primary Key**: a",
        "| Column | Type | Null | Default |",
        "|---|---|---|---|",
        "| a | text | yes | |",
        "| b | int | no | 0 |",
        "### Indexes",
        "| Name | Columns | Unique |",
        "|---|---|---|",
        "| idx_p | b | no |",
    ]
    documented = sqlschema.documented_schema(lines, [("DBT-001", 1, len(lines))])
    assert sqlschema.compare(documented, sqlschema.actual_schema([path])) == []


# --- validation queries -----------------------------------------------------------


def test_run_validation_queries_names_and_rows(tmp_path: Path) -> None:
    migration = write(tmp_path / "001.sql", "CREATE TABLE t (id INTEGER PRIMARY KEY, v INT);")
    seed = write(tmp_path / "seed.sql", "INSERT INTO t VALUES (1, 5), (2, -1);")
    queries = write(
        tmp_path / "checks.sql",
        "-- Each query returns zero rows when all is well.\n\n"
        "-- check: negative_values\n"
        "SELECT id FROM t WHERE v < 0;\n"
        "\n"
        "SELECT id FROM t WHERE v > 100;\n",
    )
    assert sqlschema.run_validation_queries([migration], [seed], [queries]) == [
        ("negative_values", [(2,)]),
        ("checks.sql:6", []),
    ]


def test_run_validation_queries_reports_seed_errors(tmp_path: Path) -> None:
    migration = write(
        tmp_path / "001.sql",
        "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
        "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER NOT NULL REFERENCES p);",
    )
    seed = write(
        tmp_path / "seed.sql", "INSERT INTO p VALUES (1);\n\nINSERT INTO c VALUES (1, 2);\n"
    )
    with pytest.raises(SchemaError, match="FOREIGN KEY constraint failed") as info:
        sqlschema.run_validation_queries([migration], [seed], [])
    assert (info.value.path, info.value.line) == (str(seed), 3)

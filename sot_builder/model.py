"""The document model: immutable values produced by `parse.py`.

Entries, fields, references and headings are NamedTuples: a large registry has
hundreds of thousands of them, and tuples are cheap to build, compare and
cache. A Document is a frozen dataclass.

All line and column numbers are 1-based and refer to the file as it is on
disk (frontmatter lines included).
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, NamedTuple, overload


class Field(NamedTuple):
    name: str
    value: str
    line: int
    column: int
    section: str = ""  # sub-heading of the entry the field sits under ("" = entry top)


class Ref(NamedTuple):
    """A mention of an ID or a Markdown link, found in running text."""

    target: str  # the ID referred to ("" for a plain link that names no ID)
    line: int
    column: int
    kind: str  # "link" | "bare" | "code" | "table"
    label: str = ""  # link text
    href: str = ""  # link destination as written ("" for bare mentions)
    file: str = ""  # href's path part, unquoted ("" = same file)
    fragment: str = ""  # href's fragment without '#'
    source: str = ""  # ID of the enclosing entry ("" outside entries)
    section: str = ""  # enclosing sub-heading inside the entry
    field: str = ""  # field name when on a `**Field**:` line, or the bold label above a list
    note: str = ""  # text after the link on the same line (description / annotation)
    is_image: bool = False


class Heading(NamedTuple):
    level: int
    text: str  # heading text as written, explicit `{#id}` removed
    line: int
    slug: str  # GitHub anchor, duplicate suffix included
    explicit: str = ""  # `{#id}` anchor if present


class TableRow(NamedTuple):
    cells: tuple[str, ...]
    line: int


class Table(NamedTuple):
    header: tuple[str, ...]
    rows: tuple[TableRow, ...]
    line: int  # line of the header row
    end_line: int  # last line of the table
    heading: str = ""  # nearest heading above the table
    heading_line: int = 0


class Section(NamedTuple):
    title: str
    level: int
    line: int
    end_line: int  # last line inside the section


class Entry(NamedTuple):
    id: str
    prefix: str  # registered prefix, e.g. "BR" for BR-FEA-001
    subtype: str  # "FEA" for BR-FEA-001, "" otherwise
    number: int
    title: str
    path: str
    line: int
    column: int
    end_line: int
    level: int  # heading level; 0 for a table-row entry
    anchor: str  # GitHub slug of the heading (or explicit anchor)
    anchors: tuple[str, ...] = ()  # every anchor that lands on this entry
    fields: tuple[Field, ...] = ()
    sections: tuple[Section, ...] = ()
    refs: tuple[Ref, ...] = ()
    deprecated: bool = False
    placeholders: tuple[tuple[str, int], ...] = ()  # ("{Rule name}", line)
    in_deprecated_section: bool = False

    @property
    def is_table_row(self) -> bool:
        return self.level == 0

    def field(self, name: str) -> Field | None:
        want = name.casefold()
        for f in self.fields:
            if f.name.casefold() == want:
                return f
        return None

    def value(self, name: str, default: str = "") -> str:
        f = self.field(name)
        return f.value if f else default

    @property
    def status(self) -> str:
        return self.value("Status")


class Region(NamedTuple):
    """A generated region: `<!-- sotb:begin NAME -->` ... `<!-- sotb:end NAME -->`."""

    name: str
    begin_line: int  # line of the begin marker
    end_line: int  # line of the end marker
    style: str = "sotb"  # "sotb" or "section" (`<!-- SECTION: x -->`)


class Suppression(NamedTuple):
    kind: str  # "disable" | "enable" | "disable-next-line" | "disable-file"
    codes: tuple[str, ...]  # empty = all
    line: int


class ParseProblem(NamedTuple):
    code: str
    message: str
    line: int
    column: int = 1


class Lines(Sequence[str]):
    """A file's lines without their terminators, kept as one string.

    It reads like a tuple of strings, in half the memory: a line is cut out of
    the text when asked for (the line offsets are found on the first such ask).
    A long text (PACK_MIN characters or more) is kept compressed until a single
    line is asked for: most rules read only the parsed entries and references,
    so a lint of a big registry never holds most texts whole. Reading many lines
    at once (a slice, iterating, `joined`, comparing) decompresses without
    keeping the result.
    """

    __slots__ = ("_text", "_packed", "_count", "_starts")
    PACK_MIN = 1 << 20

    def __init__(self, lines: Sequence[str] = ()) -> None:
        self._set("\n".join(lines), len(lines))

    def _set(self, text: str, count: int) -> None:
        self._count = count
        self._starts: array | None = None
        if len(text) >= self.PACK_MIN:
            self._text, self._packed = None, zlib.compress(text.encode("utf-8", "surrogatepass"), 1)
        else:
            self._text, self._packed = text, None

    @classmethod
    def _restore(cls, text: str | bytes, count: int) -> Lines:
        new = cls.__new__(cls)
        if isinstance(text, bytes):  # sent compressed
            new._text, new._packed, new._count, new._starts = None, text, count, None
        else:
            new._set(text, count)
        return new

    def __reduce__(self) -> tuple:
        return restore_lines, (self._text if self._packed is None else self._packed, self._count)

    def __len__(self) -> int:
        return self._count

    def _whole(self) -> str:
        """The text, decompressed for this once if it is kept compressed."""
        if self._packed is None:
            return self._text  # type: ignore[return-value]
        return zlib.decompress(self._packed).decode("utf-8", "surrogatepass")

    def _head(self, count: int) -> str:
        """The text from its start through at least its first `count` lines.

        A compressed text is decompressed only that far (and cut after a whole
        line): the navigation at the top of a big file is read without the rest.
        """
        if self._packed is None or count >= self._count:  # the last line has no newline
            return self._whole()
        inflate = zlib.decompressobj()
        parts: list[bytes] = []
        newlines = 0
        pending = self._packed
        while newlines < count:
            chunk = inflate.decompress(pending, 1 << 18)
            pending = inflate.unconsumed_tail
            if not chunk:
                return self._whole()
            newlines += chunk.count(b"\n")
            parts.append(chunk)
        data = b"".join(parts)
        return data[:data.rfind(b"\n")].decode("utf-8", "surrogatepass")

    def _unpacked(self) -> str:
        """The text, decompressed for good: lines are about to be cut out of it."""
        if self._packed is not None:
            self._text, self._packed = self._whole(), None
        return self._text  # type: ignore[return-value]

    def _offsets(self) -> array:
        """Where each line starts, and one past the end of the last line."""
        if self._starts is None:
            lengths = map(len, self._unpacked().split("\n")) if self._count else ()
            self._starts = array("L", accumulate(map((1).__add__, lengths), initial=0))
        return self._starts

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index):
        n = self._count
        if isinstance(index, slice):
            first, stop, step = index.indices(n)
            if step != 1:
                return tuple(self._whole().split("\n")[index]) if n else ()
            if stop <= first:
                return ()
            if self._starts is None:  # the lines up to `stop` cut apart, the rest left whole
                return tuple(self._head(stop).split("\n", stop)[first:stop])
            starts = self._starts
            return tuple(self._unpacked()[starts[first]:starts[stop] - 1].split("\n"))
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("line index out of range")
        starts = self._offsets()
        return self._unpacked()[starts[index]:starts[index + 1] - 1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._whole().split("\n") if self._count else ())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Lines):
            return self._count == other._count and self._whole() == other._whole()
        if isinstance(other, (tuple, list)):
            return len(self) == len(other) and tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Lines({list(self)!r})"

    def joined(self, newline: str = "\n") -> str:
        """The lines joined by `newline` (no newline after the last one)."""
        return self._whole() if newline == "\n" else newline.join(self)


def restore_lines(text: str | bytes, count: int) -> Lines:
    """A pickled `Lines` restored: a plain function, the one callable a cache entry may name."""
    return Lines._restore(text, count)


@dataclass(frozen=True, slots=True)
class Document:
    path: str  # relative to the project root, "/" separated
    role: str  # "sot" | "readme" | "registry" | "doc"
    lines: Sequence[str]  # text lines without line terminators (a Lines, or a tuple)
    newline: str = "\n"
    frontmatter: dict[str, Any] | None = None
    frontmatter_lines: dict[str, int] = field(default_factory=dict)
    body_start: int = 1  # first line after the frontmatter
    headings: tuple[Heading, ...] = ()
    anchors: frozenset[str] = frozenset()  # slugs + explicit anchors
    explicit_anchors: frozenset[str] = frozenset()
    entries: tuple[Entry, ...] = ()
    refs: tuple[Ref, ...] = ()  # every ref, inside and outside entries
    tables: tuple[Table, ...] = ()
    regions: tuple[Region, ...] = ()
    suppressions: tuple[Suppression, ...] = ()
    problems: tuple[ParseProblem, ...] = ()
    sha: str = ""  # content hash of the bytes parsed
    colon_refs: bool = False  # a reference may name another registry (`NS:ID`): a ':' in a link's
    # label, or right before an ID written outside a link

    @property
    def text(self) -> str:
        if isinstance(self.lines, Lines):
            return self.lines.joined(self.newline)
        return self.newline.join(self.lines)

    def section_at(self, title: str) -> Heading | None:
        want = title.casefold()
        for h in self.headings:
            if h.text.casefold() == want:
                return h
        return None

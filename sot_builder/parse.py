"""Markdown file -> Document.

A single pass over the lines: block structure (frontmatter, fences, HTML
comments, headings, tables) is recognised line by line, and IDs and links are
found by compiled regular expressions on the lines that can hold them. Every
position is fixed here, 1-based, counted on the file as it is on disk.
"""

from __future__ import annotations

import datetime
import re
from bisect import bisect_right
from itertools import accumulate
from operator import itemgetter
from dataclasses import dataclass
from urllib.parse import unquote

from sot_builder.hashing import file_sha
from sot_builder.model import (
    Document,
    Entry,
    Field,
    Heading,
    Lines,
    ParseProblem,
    Ref,
    Region,
    Section,
    Suppression,
    Table,
    TableRow,
)
from sot_builder.slugs import Slugger

_new = tuple.__new__  # builds a NamedTuple from a tuple, without its keyword-argument wrapper

# An ID: PREFIX-NNN or PREFIX-SUB-NNN. Prefix 2-5 capitals, 3 to 9 digits.
_ID_BODY = r"([A-Z]{2,5})(?:-([A-Z]{2,5}))?-(\d{3,9})(?![A-Za-z0-9_])"
# The same, written to start with a character class (the check on the character
# before it comes after the first letter): the regular expression engine then
# skips ahead to the next capital letter instead of trying every position.
ID_PATTERN = r"([A-Z](?<![A-Za-z0-9_\-][A-Z])[A-Z]{1,4})(?:-([A-Z]{2,5}))?-(\d{3,9})(?![A-Za-z0-9_])"
ID_RE = re.compile(ID_PATTERN)
ID_FULL_RE = re.compile(r"^([A-Z]{2,5})(?:-([A-Z]{2,5}))?-(\d{3,9})$")
FRAGMENT_ID_RE = re.compile(r"^([a-z]{2,5})(?:-([a-z]{2,5}))?-(\d{3,9})(?![0-9a-z_])")
RANGE_RE = re.compile(
    ID_PATTERN + r"[ \t]*(?:→|->|=>|⇒|\.\.\.?|…|–|—|[ \t]-[ \t]|\bto\b|\bthrough\b|\bthru\b)[ \t]*"
    + ID_PATTERN
)

# ATX heading: its text is group 2 less a closing sequence (`atx_text`); a lazy
# `(.*?)` followed by the closing sequence would retry at every character
_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
_EXPLICIT_RE = re.compile(r"\s*\{#([^}\s]+)\}\s*$")
_ENTRY_HEAD_RE = re.compile(
    r"^(?:\*\*|\[)?(" + _ID_BODY + r")(?:\*\*|\])?"
    r"(?:\s*(?::|—|–|\||-|\.)\s*|\s+|$)(.*)$"
)
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_ANCHOR_RE = re.compile(r"(?<!\\)<a\s+(?:[^>]*?\s)?(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", re.I)
# `[label](href "title")`; an image's `!` is looked up before the match. Starting
# with the literal `[` lets the engine skip ahead to the next bracket. The label's
# plain characters are one run between escapes and bracketed parts (the engine takes
# a run at once, but an alternation a character at a time).
_LINK_RE = re.compile(
    r"\[([^\[\]\\\n]*(?:(?:\\.|\[[^\[\]\n]*\])[^\[\]\\\n]*)*)\]\([ \t]*(<[^>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)"
    r"(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^)\n]*\)))?[ \t]*\)"
)
_REFDEF_RE = re.compile(r"^ {0,3}\[([^\]]+)\]:\s*(\S+)")
_REFLINK_RE = re.compile(r"(!?)\[((?:[^\[\]\\\n]|\\.)*)\]\[([^\]\n]*)\]")
_FIELD_RE = re.compile(  # the value (group 2) keeps its trailing blanks: a lazy one would retry at each character
    r"^\s*(?:[-*+]\s+)?\*\*([^*\n]{1,80}?)(?::\*\*|\*\*\s*:)[ \t]*(.*)$"
)
_FIELD_BARE_RE = re.compile(r"^\s*(?:[-*+]\s+)?\*\*([^*\n:]{1,80})\*\*\s*$")
_LIST_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_DELIM_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_PLACEHOLDER_RE = re.compile(r"\{(?![{%#])[A-Za-z][^{}\n]{0,60}\}")
_TICKS_RE = re.compile(r"``*")  # not "`+": a literal first character is searched for fast
_SUPPRESS_RE = re.compile(
    r"<!--\s*sotb-(disable-next-line|disable-file|disable|enable)\b(.*?)-->"
)
_REGION_RE = re.compile(r"^\s*<!--\s*sotb:(begin|end)\s+([\w.\-/]+)\s*-->\s*$")
_SECTION_RE = re.compile(r"^\s*<!--\s*(/|END\s*)?SECTION:\s*([^>]*?)\s*-->\s*$", re.I)
_DEPRECATED_RE = re.compile(r"\b(?:deprecated|superseded|retired)\b", re.I)
_EMPTY_ANCHOR_RE = re.compile(r"<a\s[^>]*>\s*</a>")
_DEPRECATED_TITLE_RE = re.compile(r"\[(?:DEPRECATED|SUPERSEDED)\]|\(deprecated\)", re.I)
_TABLE_ID_CELL_RE = re.compile(r"^(?:\*\*|`)?\[?([A-Z]{2,5}(?:-[A-Z]{2,5})?-\d{3,9})\]?(?:\([^)]*\))?(?:\*\*|`)?$")

MAX_FRONTMATTER_LINES = 2000
MAX_FRONTMATTER_ALIASES = 100
MAX_FRONTMATTER_VALUES = 100_000  # values in the frontmatter with every alias expanded
MAX_FRONTMATTER_DEPTH = 50  # lists and mappings inside each other
INLINE_BLOCK = 2048  # lines the inline pass reads at a time
LINK_MEMO_MAX = 250_000  # links a ParseMemo keeps at most: some megabytes of dict
MAX_NOTE = 500  # a link's note is the text after it, up to the next link and at most this long
_NOTE_MARKS = frozenset("-–—:|")  # a note's leading punctuation, dropped


@dataclass(frozen=True)
class ParseOptions:
    table_prefixes: frozenset[str] = frozenset()  # prefixes whose entries may be table rows
    code_spans: bool = True  # do IDs inside `code spans` count as references?
    entries: bool = True  # registry files define no entries


class ParseMemo:
    """Values shared between the documents of one load: equal strings are stored once.

    A registry mentions each ID, file, anchor and title many times; keeping one
    copy of each saves about a fifth of the memory parsed documents take.
    """

    def __init__(self) -> None:
        self.strings: dict[str, str] = {}
        self.numbers: list[int] = [0]  # numbers[k] is k: one int object per line number
        # href -> the last link to it that was taken apart, whose target, label, file and
        # fragment the next link written the same way shares: most links of a registry are
        # written several times. The Ref is one a document holds anyway; the memo is
        # emptied when it holds LINK_MEMO_MAX, so that it never costs more than some megabytes
        self.links: dict[str, Ref] = {}

    def line_numbers(self, count: int) -> list[int]:
        """The shared ints 0..count: line numbers above 256 are each a separate object otherwise."""
        numbers = self.numbers
        if len(numbers) <= count:
            numbers.extend(range(len(numbers), count + 1))
        return numbers


def atx_text(rest: str | None) -> str:
    """A heading's text from what follows its `#`s and blanks: trailing blanks and a
    closing sequence of `#`s (one blank or more before it) removed."""
    text = (rest or "").rstrip(" \t")
    if text.endswith("#"):
        bare = text.rstrip("#")
        if bare.endswith((" ", "\t")):
            return bare.rstrip(" \t")
    return text


def split_id(text: str) -> tuple[str, str, int] | None:
    """'BR-FEA-001' -> ('BR', 'FEA', 1); None when `text` is not an ID."""
    m = ID_FULL_RE.match(text)
    if not m:
        return None
    return m.group(1), m.group(2) or "", int(m.group(3))


def fragment_id(fragment: str) -> str:
    """The ID an anchor like `api-045-title` names, or ""."""
    m = FRAGMENT_ID_RE.match(fragment)
    if not m:
        return ""
    return m.group(0).upper()


def unclosed_block(doc: Document) -> ParseProblem | None:
    """The unterminated code fence or HTML comment (SOT003) that makes `doc` unsafe to rewrite.

    sotb never writes to a file it could not parse: text inserted after such a
    fence or comment would be code or hidden, and every later run would add it
    again. The problem's message says how to fix it, for a `path:line:` prefix.
    """
    for p in doc.problems:
        if p.code == "SOT003":
            what = "HTML comment" if "comment" in p.message else "code fence"
            return p._replace(message=f"the {what} opened at line {p.line} is never closed; "
                                      "close it first, sotb does not rewrite this file until then")
    return None


def decode(data: bytes) -> tuple[str, ParseProblem | None]:
    """Bytes -> text. Undecodable or binary input gives a problem and empty text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError as exc:
            return "", ParseProblem("SOT002", f"cannot decode UTF-16 text: {exc.reason}", 1)
    if b"\x00" in data:
        line = _line_at(data, data.index(b"\x00"))
        return "", ParseProblem("SOT002", "binary file (NUL byte): not Markdown text", line)
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = _line_at(data, exc.start)
        return "", ParseProblem("SOT002", f"not valid UTF-8 (byte {exc.start})", line)


def _line_at(data: bytes, offset: int) -> int:
    """The 1-based line of a byte offset, lines ending as `split_lines` ends them."""
    end = b"\n" if b"\n" in data or b"\r" not in data else b"\r"
    return data.count(end, 0, offset) + 1


def newline_of(text: str) -> str:
    """A text's newline style: "\\r\\n" or "\\n" as its first line ends, "\\r" when it has lone CRs and
    no LF at all (a classic Mac file)."""
    first = text.find("\n")
    if first < 0:
        return "\r" if "\r" in text else "\n"
    return "\r\n" if first and text[first - 1] == "\r" else "\n"


def split_lines(text: str) -> tuple[list[str], str]:
    """Split on \\n (like editors and git, a CR before it dropped), or on \\r in a text with lone
    CRs and no \\n at all; report the file's newline style (`newline_of`)."""
    newline = newline_of(text)
    if newline == "\r":
        text = text.replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if "\r" in text:
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    return lines, newline


def parse_document(
    data: bytes | str, path: str, role: str = "sot", options: ParseOptions = ParseOptions(),
    memo: ParseMemo | None = None,
) -> Document:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    sha = file_sha(raw)
    if isinstance(data, str):
        text, problem = data, None
    else:
        text, problem = decode(data)
    if problem:
        return Document(path=path, role=role, lines=(), problems=(problem,), sha=sha)
    lines, newline = split_lines(text)
    return _Parser(path, role, lines, newline, options, sha, memo or ParseMemo()).run()


class _Parser:
    def __init__(
        self, path: str, role: str, lines: list[str], newline: str, options: ParseOptions, sha: str,
        memo: ParseMemo,
    ) -> None:
        self.memo = memo
        self.path = path
        self.role = role
        self.lines = lines
        self.newline = newline
        self.opts = options
        self.sha = sha
        self.problems: list[ParseProblem] = []
        self.headings: list[Heading] = []
        self.explicit: set[str] = set()
        self.refs: list[Ref] = []
        self.tables: list[Table] = []
        self.regions: list[Region] = []
        self.suppressions: list[Suppression] = []
        self.refdefs: dict[str, str] = {}
        self.colon_refs = False  # see Document.colon_refs
        self.entries: list[dict] = []  # open and closed entry builders
        self.slugger = Slugger()
        self.stack: list[tuple[int, bool]] = []  # open headings, outermost first: (level, deprecated?)
        self.cur: dict | None = None  # the entry being read, until a heading closes it
        self.visible = list(lines)  # text that counts, per line
        self.hidden: list[int] = []  # indexes of lines that do not count (fences, comments)
        self.table_lines: set[int] = set()
        self.line_field: dict[int, str] = {}  # field name, or bold label above a list
        self.line_owner: dict[int, int] = {}  # table rows that are entries: entry index

    # -- driver ---------------------------------------------------------------
    def run(self) -> Document:
        fm, fm_lines, body = self.frontmatter()
        self.numbers = self.memo.line_numbers(len(self.lines) + 1)
        self.scan(body)
        entries = tuple(self.finish_entry(e) for e in self.entries)
        anchors = frozenset(h.slug for h in self.headings) | frozenset(self.explicit)
        return Document(
            path=self.path,
            role=self.role,
            lines=Lines(self.lines),
            newline=self.newline,
            frontmatter=fm,
            frontmatter_lines=fm_lines,
            body_start=body,
            headings=tuple(self.headings),
            anchors=anchors,
            explicit_anchors=frozenset(self.explicit),
            entries=entries,
            refs=tuple(self.refs),
            tables=tuple(self.tables),
            regions=tuple(self.regions),
            suppressions=tuple(self.suppressions),
            problems=tuple(self.problems),
            sha=self.sha,
            colon_refs=self.colon_refs,
        )

    # -- frontmatter ----------------------------------------------------------
    def frontmatter(self) -> tuple[dict | None, dict[str, int], int]:
        lines = self.lines
        if not lines or lines[0].rstrip() != "---":
            return None, {}, 1
        end = 0
        for i in range(1, min(len(lines), MAX_FRONTMATTER_LINES)):
            if lines[i].rstrip() in ("---", "..."):
                end = i
                break
        if not end:
            within = f" within {MAX_FRONTMATTER_LINES} lines" if len(lines) > MAX_FRONTMATTER_LINES else ""
            self.problems.append(
                ParseProblem("SOT001", f"frontmatter starts with '---' but is never closed{within}", 1)
            )
            return None, {}, 1
        source = "\n".join(lines[1:end])
        key_lines = {}
        for i in range(1, end):
            m = re.match(r"^([A-Za-z_][\w\-]*)\s*:", lines[i])
            if m:
                key_lines.setdefault(m.group(1), i + 1)
        data = self.load_yaml(source)
        return data, key_lines, end + 2

    def load_yaml(self, source: str) -> dict | None:
        simple = simple_frontmatter(source)
        if simple is not None:
            return simple
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        if source.count("*") and _alias_count(source, loader) > MAX_FRONTMATTER_ALIASES:
            self.problems.append(
                ParseProblem("SOT001", "frontmatter uses too many YAML aliases", 2)
            )
            return None
        try:
            data = yaml.load(source, Loader=loader)  # noqa: S506 - a safe loader
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 2 if mark is not None else 2
            col = mark.column + 1 if mark is not None else 1
            reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            self.problems.append(ParseProblem("SOT001", f"invalid YAML frontmatter: {reason}", line, col))
            return None
        except (RecursionError, ValueError) as exc:
            self.problems.append(ParseProblem("SOT001", f"invalid YAML frontmatter: {exc}", 2))
            return None
        if data is None:
            return {}
        if _expanded_size(data, MAX_FRONTMATTER_VALUES) > MAX_FRONTMATTER_VALUES:
            self.problems.append(ParseProblem(
                "SOT001", f"frontmatter nests deeper than {MAX_FRONTMATTER_DEPTH} levels, refers to itself "
                f"or expands (through aliases) to more than {MAX_FRONTMATTER_VALUES} values", 2))
            return None
        if not isinstance(data, dict):
            self.problems.append(
                ParseProblem("SOT001", "frontmatter must be a mapping of keys to values", 2)
            )
            return None
        return {str(k): v for k, v in data.items()}

    # -- block scan -----------------------------------------------------------
    def scan(self, start: int) -> None:
        lines = self.lines
        visible = self.visible
        hidden = self.hidden
        hidden.extend(range(start - 1))  # the frontmatter
        n = len(lines)
        fence: tuple[str, int] | None = None
        fence_line = 0
        in_comment = False
        comment_line = 0
        table: dict | None = None
        label = ""  # bold label ("**Our APIs**:") governing the list below it
        heading_text = ""
        heading_line = 0
        numbers = self.numbers
        i = start - 1
        while i < n:
            line = lines[i]
            lineno = numbers[i + 1]
            i += 1
            # fenced code: nothing inside counts
            if fence is not None:
                hidden.append(i - 1)
                s = line.lstrip(" ")
                if s.startswith(fence[0] * fence[1]) and len(line) - len(s) <= 3:
                    if s.rstrip().strip(fence[0]) == "":
                        fence = None
                continue
            # multi-line HTML comment
            if in_comment:
                end = line.find("-->")
                if end < 0:
                    hidden.append(i - 1)
                    continue
                in_comment = False
                line = visible[i - 1] = " " * (end + 3) + line[end + 3 :]
            stripped = line.strip()
            if not stripped:
                hidden.append(i - 1)
                if table is not None:
                    self.close_table(table)
                    table = None
                continue
            if table is not None:
                if "|" in line:
                    self.table_row(table, line, lineno)
                    continue
                self.close_table(table)
                table = None
            first = stripped[0]
            if first in "`~":
                m = _FENCE_RE.match(line)
                if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                    fence = (m.group(1)[0], len(m.group(1)))
                    fence_line = lineno
                    hidden.append(i - 1)
                    continue
            tag = "<" in line  # comments and anchors both need one: one scan for the usual line
            if tag and "<!--" in line:
                if self.comment_markers(line, lineno):
                    hidden.append(i - 1)
                    continue
                line, in_comment = _strip_comments(line)
                visible[i - 1] = line
                if in_comment:
                    comment_line = lineno
                stripped = line.strip()
                if not stripped:
                    hidden.append(i - 1)
                    continue
                first = stripped[0]
            if first == "#":
                m = _HEADING_RE.match(line)
                if m:
                    self.heading(len(m.group(1)), atx_text(m.group(2)), lineno, line)
                    heading_text, heading_line = self.headings[-1].text, lineno
                    label = ""
                    continue
            if tag and ("<a " in line or "<A " in line):
                for m in _ANCHOR_RE.finditer(line):
                    self.explicit.add(m.group(1))
                    self.add_anchor(m.group(1))
            if "|" in line and i < n and _DELIM_RE.match(lines[i]) and "-" in lines[i]:
                table = {
                    "header": _cells(line),
                    "rows": [],
                    "line": lineno,
                    "end": i + 1,
                    "heading": heading_text,
                    "heading_line": heading_line,
                }
                self.table_lines.add(lineno)
                hidden.append(i)  # the delimiter row
                i += 1
                continue
            if first == "[":
                m = _REFDEF_RE.match(line)
                if m:
                    self.refdefs[m.group(1).lower()] = m.group(2)
            # fields and the bold label above a list
            if "**" in line:
                label, field = self.field_line(line, lineno, label)
                if field or label:
                    self.line_field[lineno] = field or label
            elif label:
                if _LIST_RE.match(line):
                    self.line_field[lineno] = label
                else:
                    label = ""
        if table is not None:
            self.close_table(table)
        if fence is not None:
            self.problems.append(
                ParseProblem("SOT003", "code fence is never closed; the rest of the file is code", fence_line)
            )
        if in_comment:
            self.problems.append(
                ParseProblem("SOT003", "HTML comment is never closed; the rest of the file is hidden", comment_line)
            )
        self.close_entries(n, 0)
        self.inline_pass()

    def comment_markers(self, line: str, lineno: int) -> bool:
        """Record suppression and region markers; True when the line is only a marker."""
        found = False
        for m in _SUPPRESS_RE.finditer(line):
            codes = tuple(c for c in re.split(r"[\s,]+", m.group(2).strip()) if c)
            self.suppressions.append(Suppression(m.group(1), codes, lineno))
            found = True
        m = _REGION_RE.match(line)
        if m:
            self.region_marker(m.group(1), m.group(2), lineno, "sotb")
            return True
        m = _SECTION_RE.match(line)
        if m:
            self.region_marker("end" if m.group(1) else "begin", m.group(2).strip(), lineno, "section")
            return True
        return found and line.strip().startswith("<!--") and line.strip().endswith("-->")

    def region_marker(self, kind: str, name: str, lineno: int, style: str) -> None:
        if kind == "begin":
            self.regions.append(Region(name, lineno, 0, style))
            return
        for k in range(len(self.regions) - 1, -1, -1):
            r = self.regions[k]
            if r.name == name and r.end_line == 0:
                self.regions[k] = Region(name, r.begin_line, lineno, style)
                return
        self.problems.append(
            ParseProblem("SOT004", f"end marker for region '{name}' without a begin marker", lineno)
        )

    # -- headings and entries -------------------------------------------------
    def heading(self, level: int, text: str, lineno: int, line: str) -> None:
        explicit = ""
        if "{#" in text:
            m = _EXPLICIT_RE.search(text)
            if m:
                explicit = m.group(1)
                text = text[: m.start()]
                self.explicit.add(explicit)
        anchor_tags = [a.group(1) for a in _ANCHOR_RE.finditer(text)] if "<a" in text else []
        for a in anchor_tags:
            self.explicit.add(a)
        slug = self.kept(self.slugger(text))
        plain = (_EMPTY_ANCHOR_RE.sub("", text) if "<a" in text else text).strip()
        m = _ENTRY_HEAD_RE.match(plain) if self.opts.entries else None
        if m and RANGE_RE.match(plain):
            m = None
        stripped = text.strip()
        if m is None:  # an entry's heading is written once: only other headings repeat
            stripped = self.kept(stripped)
        self.headings.append(_new(Heading, (level, stripped, lineno, slug, explicit)))
        stack = self.stack
        while stack and stack[-1][0] >= level:
            stack.pop()
        deprecated_parent = bool(stack) and stack[-1][1]
        stack.append((level, deprecated_parent or says_deprecated(stripped)))
        # a heading that starts with an ID opens a new entry, whatever its level
        self.close_entries(lineno - 1, 1 if m else level)
        entry = self.cur
        if entry is not None:
            # a sub-heading inside an entry starts a section
            entry["sections"].append([stripped, level, lineno, 0])
            return
        if m:
            title = m.group(5).strip()
            extra = [explicit] if explicit else []
            self.open_entry(m, title, level, lineno, line.find(m.group(1)) + 1, slug,
                            extra + anchor_tags, deprecated_parent)
            # IDs in the title after the entry's own ID are references
            self.mark(lineno, line, skip=m.group(1))

    def open_entry(self, m: re.Match, title: str, level: int, lineno: int, col: int,
                   slug: str, anchors: list[str], deprecated_parent: bool) -> None:
        self.cur = {
            "id": self.kept(m.group(1)),
            "prefix": self.kept(m.group(2)),
            "subtype": m.group(3) or "",
            "number": self.number(int(m.group(4))), "title": title, "line": lineno, "col": max(col, 1),
            "level": level, "anchor": anchors[0] if anchors else slug,
            "anchors": [slug, *anchors], "fields": [], "sections": [], "refs": [],
            "placeholders": [], "end": 0, "in_deprecated": deprecated_parent,
        }
        self.entries.append(self.cur)

    def number(self, n: int) -> int:
        """`n`, as the shared int object when it is no bigger than a line number of this file."""
        return self.numbers[n] if n < len(self.numbers) else n

    def kept(self, text: str) -> str:
        """`text`, as the one copy of it this load keeps."""
        return self.memo.strings.setdefault(text, text)

    def close_entries(self, last_line: int, level: int) -> None:
        """A heading of `level` (0 = end of file) closes the entry above it."""
        e = self.cur
        if e is not None and (level == 0 or level <= e["level"]):
            while last_line > e["line"] and not self.lines[last_line - 1].strip(" -\t"):
                last_line -= 1
            e["end"] = self.numbers[last_line]
            self.cur = None
            self.close_sections(e, last_line)

    def close_sections(self, e: dict, last_line: int) -> None:
        """A section ends above the next one of its level or higher, or with its entry."""
        open_sections: list[list] = []
        for s in e["sections"]:
            while open_sections and open_sections[-1][1] >= s[1]:
                open_sections.pop()[3] = self.numbers[s[2] - 1]
            open_sections.append(s)
        for s in open_sections:
            s[3] = last_line

    def add_anchor(self, anchor: str) -> None:
        e = self.cur
        if e is not None:
            e["anchors"].append(anchor)

    def finish_entry(self, e: dict) -> Entry:
        fields = tuple(e["fields"])
        status = next((f.value for f in fields if f.name.casefold() == "status"), "")
        deprecated = bool(
            e["in_deprecated"]
            or ("(" in e["title"] or "[" in e["title"]) and _DEPRECATED_TITLE_RE.search(e["title"])
            or says_deprecated(status)
        )
        return _new(Entry, (
            e["id"], e["prefix"], e["subtype"], e["number"],
            self.kept(_clean_title(e["title"])),  # also the note of links to the entry: kept once
            self.path,
            e["line"], e["col"], e["end"] or e["line"], e["level"], e["anchor"],
            tuple(dict.fromkeys(e["anchors"])), fields,
            tuple(_new(Section, (s[0], s[1], s[2], s[3] or e["end"])) for s in e["sections"]),
            tuple(e["refs"]), deprecated, tuple(e["placeholders"]), e["in_deprecated"],
        ))

    # -- fields ---------------------------------------------------------------
    def field_line(self, line: str, lineno: int, label: str) -> tuple[str, str]:
        """Record a `**Field**: value` line; return (bold label for a list below, field name)."""
        e = self.cur
        m = _FIELD_RE.match(line)
        bare = None if m else _FIELD_BARE_RE.match(line)
        if not m and not bare:
            return (label if _LIST_RE.match(line) else ""), ""
        keep = self.memo.strings.setdefault
        name = (m or bare).group(1).strip()  # type: ignore[union-attr]
        name = keep(name, name)
        value = written = m.group(2).strip() if m else ""
        if not value and lineno < len(self.lines):
            nxt = self.lines[lineno]
            if nxt.strip() and not _LIST_RE.match(nxt) and not nxt.lstrip().startswith(("#", "|", "**", "<", ">", "```")):
                value = nxt.strip()
        if e is not None:
            section = e["sections"][-1][0] if e["sections"] else ""
            if value.endswith("\\"):
                value = value.rstrip("\\").strip()
            e["fields"].append(_new(Field, (name, keep(value, value), lineno, line.find("**") + 1, section)))
        return (name if not written else ""), name

    # -- tables ---------------------------------------------------------------
    def table_row(self, table: dict, line: str, lineno: int) -> None:
        cells = _cells(line)
        table["rows"].append(TableRow(tuple(cells), lineno))
        table["end"] = lineno
        source = ""
        if self.opts.entries and self.opts.table_prefixes and cells:
            m = _TABLE_ID_CELL_RE.match(cells[0])
            if m and m.group(1).split("-")[0] in self.opts.table_prefixes:
                if self.table_entry(table, cells, line, lineno, m.group(1)):
                    source = m.group(1)
        self.mark(lineno, line, table=True, skip=source,
                  owner=len(self.entries) - 1 if source else -1)

    def table_entry(self, table: dict, cells: list[str], line: str, lineno: int, id_: str) -> bool:
        e = self.cur
        if e is not None and e["level"]:
            return False  # rows inside a heading entry belong to that entry
        parts = split_id(id_)
        assert parts is not None
        header = table["header"]
        fields = [
            Field(header[k].strip("* "), cells[k], lineno, 1)
            for k in range(1, min(len(header), len(cells)))
            if header[k].strip()
        ]
        title = cells[1] if len(cells) > 1 else ""
        self.entries.append({
            "id": id_, "prefix": parts[0], "subtype": parts[1], "number": parts[2],
            "title": title, "line": lineno, "col": line.find(id_) + 1, "level": 0,
            "anchor": "", "anchors": [], "fields": fields, "sections": [], "refs": [],
            "placeholders": [], "end": lineno, "in_deprecated": False,
        })
        return True

    def close_table(self, table: dict) -> None:
        self.tables.append(Table(
            tuple(table["header"]), tuple(table["rows"]), table["line"], table["end"],
            table["heading"], table["heading_line"],
        ))

    # -- lines the inline pass treats specially ---------------------------------
    def mark(self, lineno: int, line: str, table: bool = False, skip: str = "", owner: int = -1) -> None:
        """Record a line whose visible text or context differs from the default for the inline pass."""
        if skip:
            at = line.find(skip)
            if at >= 0:
                line = line[:at] + " " * len(skip) + line[at + len(skip):]
        self.visible[lineno - 1] = line
        if table:
            self.table_lines.add(lineno)
        if owner >= 0:
            self.line_owner[lineno] = owner

    # -- inline: links, IDs, code spans, over the visible text -----------------
    def inline_pass(self) -> None:
        """Links, IDs, code spans and placeholders, a block of lines at a time.

        None of them crosses a line, so blocks give what the whole text would,
        and a block's text, offsets and hits stay small: made for a whole 8 MB
        file at once, they left the process a third bigger (275 MiB against 201
        MiB after three such files), memory the next files could not all reuse.
        """
        visible = self.visible
        for k in self.hidden:
            visible[k] = ""
        owner: list[int] | None = None  # the line and entry maps, made for the first block that needs them
        for first in range(0, len(visible), INLINE_BLOCK):
            block = visible[first:first + INLINE_BLOCK]
            text = "\n".join(block)
            if not ID_RE.search(text) and "[" not in text and "{" not in text:
                continue
            if owner is None:
                owner, section = self.line_maps()
                entry_refs, ids = [e["refs"] for e in self.entries], [e["id"] for e in self.entries]
            last = first + len(block)
            self.inline_block(first, block, text, owner[first:last], section[first:last], entry_refs, ids)

    def inline_block(self, first: int, visible: list[str], text: str, owner: list[int],
                     section: list[str], entry_refs: list[list[Ref]], ids: list[str]) -> None:
        """The inline pass over lines first+1.. (`visible`, joined as `text`; `owner` and
        `section` are the line maps of these lines; `entry_refs` and `ids` those of the entries)."""
        full = text
        starts = list(accumulate(map((1).__add__, map(len, visible)), initial=0))  # line offsets
        # (start, kind, ID or link label, link end, href, image?)
        hits: list[tuple[int, str, str, int, str, bool]] = []
        spans: list[tuple[int, int]] = []
        if "`" in text:
            for a, b, c, d in _code_spans(text):
                spans.append((a, b))
                if self.opts.code_spans:
                    inner = _mask_ranges(text[c:d])
                    for idm in ID_RE.finditer(inner):
                        hits.append((c + idm.start(), "code", idm.group(0), 0, "", False))
            text = _blank(text, spans)
        if "](" in text or "][" in text:
            kept: list[str] = []  # the text with every link blanked out, built as links are found
            pos = 0
            for m in _LINK_RE.finditer(text):
                label, href = m.group(1, 2)
                if href.startswith("<") and href.endswith(">"):
                    href = href[1:-1]
                start, end = m.span()
                image = False
                if start and text[start - 1] == "!":
                    start -= 1
                    image = True
                hits.append((start, "link", label, end, href, image))
                kept.append(text[pos:start])
                kept.append(" " * (end - start))
                pos = end
            ref_spans = []  # reference-style links
            if self.refdefs and "][" in text:
                inline_spans = [(h[0], h[3]) for h in hits if h[1] == "link"]  # sorted, not overlapping
                inline_starts = [a for a, _ in inline_spans]
                for m in _REFLINK_RE.finditer(text):
                    key = (m.group(3) or m.group(2)).lower()
                    k = bisect_right(inline_starts, m.start()) - 1
                    if key in self.refdefs and not (k >= 0 and inline_spans[k][1] > m.start()):
                        hits.append((m.start(), "link", m.group(2), m.end(), self.refdefs[key],
                                     bool(m.group(1))))
                        ref_spans.append(m.span())
            if ref_spans:
                text = _blank(text, inline_spans + ref_spans)
            else:
                kept.append(text[pos:])
                text = "".join(kept)
        bare = ids_in(text)
        in_range = _range_ends(text, bare)
        for k, m in enumerate(bare):
            if k not in in_range:
                hits.append((m.start(), "bare", m.group(0), 0, "", False))
        hits.sort(key=itemgetter(0))
        link_starts = [h[0] for h in hits if h[1] == "link"]
        link_starts.append(len(full) + 1)
        next_link = 0  # index in link_starts of the link after the current one
        line_owner, line_field, table_lines = self.line_owner, self.line_field, self.table_lines
        strings, refs, numbers, links = self.memo.strings, self.refs, self.numbers, self.memo.links
        if len(links) >= LINK_MEMO_MAX:
            links.clear()
        new = tuple.__new__
        base = first + 1  # the number of the block's first line
        for pos, kind, ident, end, href, image in hits:
            i = bisect_right(starts, pos) - 1
            lineno = numbers[base + i]
            col = pos - starts[i] + 1
            k = owner[i]
            sec = section[i]
            if line_owner and lineno in line_owner:
                k, sec = line_owner[lineno], ""
            src = ids[k] if k >= 0 else ""
            fld = line_field.get(lineno, "") if line_field else ""
            if kind == "link":
                known = links.get(href)
                if known is None or known[4] != ident:
                    known = None
                    parts = _link_parts(ident, href, strings)
                next_link += 1
                stop = starts[i + 1] - 1  # the end of the line, or the next link, or MAX_NOTE
                if link_starts[next_link] < stop:
                    stop = link_starts[next_link]
                if end + MAX_NOTE < stop:
                    stop = end + MAX_NOTE
                note = full[end:stop].strip() if stop > end else ""
                if note and note[0] in _NOTE_MARKS:
                    note = note[1:].lstrip()
                note = strings.setdefault(note, note)
                if known is not None:
                    ref = new(Ref, (known[0], lineno, col, "link", known[4], known[5], known[6], known[7],
                                    src, sec, fld, note, image))
                else:
                    ref = links[href] = new(Ref, (parts[0], lineno, col, "link", parts[1], parts[2],
                                                  parts[3], parts[4], src, sec, fld, note, image))
                if ":" in ident and ref[0]:
                    self.colon_refs = True
            else:
                if kind == "bare" and lineno in table_lines:
                    kind = "table"
                if col > 2 and not self.colon_refs and self.lines[lineno - 1][col - 2] == ":":
                    self.colon_refs = True
                ref = new(Ref, (strings.setdefault(ident, ident), lineno, col, kind, "", "", "", "",
                                src, sec, fld, "", False))
            refs.append(ref)
            if k >= 0:
                entry_refs[k].append(ref)
        if "{" in text:
            self.find_placeholders(text, starts, owner, first)

    def line_maps(self) -> tuple[list[int], list[str]]:
        """Per line: the index of the heading entry holding it (-1: none), and its sub-section."""
        n = len(self.lines)
        owner = [-1] * n
        section = [""] * n
        for k, e in enumerate(self.entries):
            if not e["level"]:
                continue
            a, b = e["line"] - 1, e["end"] or e["line"]
            owner[a:b] = [k] * (b - a)
            for title, _level, line, _end in e["sections"]:
                section[line - 1:b] = [title] * (b - line + 1)
        return owner, section

    def find_placeholders(self, text: str, starts: list[int], owner: list[int], first: int) -> None:
        for m in _PLACEHOLDER_RE.finditer(text):
            i = bisect_right(starts, m.start()) - 1
            lineno = first + i + 1
            k = self.line_owner.get(lineno, owner[i])
            if k >= 0:
                self.entries[k]["placeholders"].append((m.group(0), lineno))


_ID_TAIL_RE = re.compile(r"-\d{3,9}(?![A-Za-z0-9_])")  # how every ID ends; starts with a literal
_ID_HEAD_MAX = 11  # letters, '-' and letters: the most an ID has before its tail


def ids_in(text: str) -> list[re.Match]:
    """The matches of ID_RE in `text`, as `finditer` gives them.

    Found from the `-digits` tails, which a search for a literal reaches fast, and
    matched only just before each: in prose, ID_RE alone tries every capital.
    """
    out = []
    last = 0  # end of the previous ID: matches do not overlap
    search = ID_RE.search
    for tail in _ID_TAIL_RE.finditer(text):
        at = tail.start()
        if at < last:
            continue
        m = search(text, max(last, at - _ID_HEAD_MAX), tail.end())
        if m is not None:
            out.append(m)
            last = m.end()
    return out


def _link_parts(label: str, href: str, strings: dict[str, str]) -> tuple[str, str, str, str, str]:
    """(target ID, label, href, file, fragment) of a link `[label](href)`, each string once per load."""
    file, _, fragment = href.partition("#")
    external = "://" in file or file.startswith(("mailto:", "tel:", "data:"))
    if not external and "%" in file:
        file = unquote(file, errors="surrogateescape")  # %FF: the byte of a name that is not UTF-8
    keep = strings.setdefault
    label = keep(label, label)
    if ID_FULL_RE.match(label):
        target = label  # the usual case: the label is the ID, and already kept
    else:
        idm = ID_RE.search(_mask_ranges(label)) if "-" in label else None
        target = idm.group(0) if idm else (fragment_id(fragment) if not external else "")
        target = keep(target, target)
    return target, label, keep(href, href), keep(file, file) if file else "", keep(fragment, fragment)


def _code_spans(text: str) -> list[tuple[int, int, int, int]]:
    """Code spans as (start, end, content start, content end), each within one line.

    A run of n backticks opens a span that the next run of exactly n backticks
    on the same line closes; an opener without a closer is plain text. Linear
    in the text (a backtracking regex is cubic on a long run of backticks).
    """
    runs = [m.span() for m in _TICKS_RE.finditer(text)]
    newlines = [m.start() for m in re.finditer("\n", text)] if len(runs) > 1 else []
    closer = [-1] * len(runs)  # index of the next run of the same length on the same line
    seen: dict[int, int] = {}
    line = -1
    for k in range(len(runs) - 1, -1, -1):
        a, b = runs[k]
        here = bisect_right(newlines, a)
        if here != line:
            seen, line = {}, here
        closer[k] = seen.get(b - a, -1)
        seen[b - a] = k
    out = []
    k = 0
    while k < len(runs):
        j = closer[k]
        if j < 0:
            k += 1
            continue
        out.append((runs[k][0], runs[j][1], runs[k][1], runs[j][0]))
        k = j + 1
    return out


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """Replace each span of `text` by spaces (positions and newlines kept)."""
    if not spans:
        return text
    spans.sort()
    parts = []
    pos = 0
    for a, b in spans:
        if a < pos:
            continue
        parts.append(text[pos:a])
        parts.append(" " * (b - a))
        pos = b
    parts.append(text[pos:])
    return "".join(parts)


def _expanded_size(data: object, limit: int, max_depth: int = MAX_FRONTMATTER_DEPTH) -> int:
    """How many values `data` holds with every YAML alias expanded.

    limit + 1 for a structure that contains itself or nests deeper than
    `max_depth`. Aliases make the loaded data a graph of shared lists and dicts:
    a few lines can stand for billions of values (or refer to themselves), and
    deep nesting breaks every recursive walk (pickle, json); either would hang
    or crash whatever later reads them. Counted without recursion, each shared
    node once.
    """
    sizes: dict[int, tuple[int, int]] = {}  # id -> (values, depth)
    open_nodes: set[int] = set()
    stack: list[tuple[object, bool]] = [(data, False)]
    while stack:
        node, done = stack.pop()
        kids = list(node.keys()) + list(node.values()) if isinstance(node, dict) else node
        if done:
            open_nodes.discard(id(node))
            below = [sizes.get(id(k), (1, 0)) for k in kids]  # type: ignore[union-attr]
            total = 1 + sum(b[0] for b in below)
            depth = 1 + max((b[1] for b in below), default=0)
            if total > limit or depth > max_depth:
                return limit + 1
            sizes[id(node)] = (total, depth)
        elif isinstance(node, (dict, list)) and id(node) not in sizes:
            if id(node) in open_nodes or len(open_nodes) > max_depth:
                return limit + 1  # a node inside itself, or nested too deep
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((k, False) for k in kids if isinstance(k, (dict, list)))
    return sizes.get(id(data), (1, 0))[0]


# Frontmatter as `sotb new` writes it: `key: value` lines, each value plain text,
# a whole number, a decimal or a date. Such lines are read here as yaml reads
# them; importing yaml would cost as much as the rest of a small lint.
_SIMPLE_FM_LINE_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]{0,63}):(?: +(.*?))? *")
_SIMPLE_FM_NUMBER_RE = re.compile(r"0|[1-9][0-9]{0,17}|([0-9]+\.[0-9]+)|([0-9]{4})-([0-9]{2})-([0-9]{2})")
_YAML_WORDS = frozenset(  # plain words yaml reads as booleans or null
    "yes Yes YES no No NO true True TRUE false False FALSE on On ON off Off OFF null Null NULL".split()
)
_NOT_SIMPLE = object()


def simple_frontmatter(source: str) -> dict | None:
    """What yaml loads from `source` when every line is blank or a simple `key: value`; else None."""
    data: dict = {}
    for line in source.split("\n"):
        m = _SIMPLE_FM_LINE_RE.fullmatch(line)
        if m is None:
            if line.strip(" "):
                return None
            continue
        key, text = m.groups()
        value = _simple_value(text) if text else None
        if value is _NOT_SIMPLE or key in _YAML_WORDS:
            return None
        data[key] = value  # a repeated key keeps its first place and its last value, as in yaml
    return data


def _simple_value(text: str) -> object:
    """The value yaml gives the plain scalar `text`, if it is text, a number or a date; else _NOT_SIMPLE."""
    m = _SIMPLE_FM_NUMBER_RE.fullmatch(text)
    if m is not None:
        decimal, year, month, day = m.groups()
        if decimal:
            return float(text)
        if year:
            try:
                return datetime.date(int(year), int(month), int(day))
            except ValueError:  # yaml reports it
                return _NOT_SIMPLE
        return int(text)
    if not (text[0].isascii() and text[0].isalpha() and text.isprintable()) or text in _YAML_WORDS \
            or ": " in text or " #" in text or text.endswith(":"):
        return _NOT_SIMPLE
    return text


def _alias_count(source: str, loader: type) -> int:
    import yaml

    count = 0
    try:
        for event in yaml.parse(source, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                count += 1
    except yaml.YAMLError:
        return 0
    return count


def _strip_comments(line: str) -> tuple[str, bool]:
    """Blank out `<!-- ... -->` parts of a line; report an unclosed comment.

    An escaped `\\<!--` and a `<!--` inside a code span are text, not comments.
    """
    code = [(a, b) for a, b, _, _ in _code_spans(line)] if "`" in line else []
    code_starts = [a for a, _ in code]
    out = []
    pos = search = 0
    while True:
        start = line.find("<!--", search)
        if start < 0:
            out.append(line[pos:])
            return "".join(out), False
        k = bisect_right(code_starts, start) - 1
        if (start and line[start - 1] == "\\") or (k >= 0 and code[k][1] > start):
            search = start + 4
            continue
        out.append(line[pos:start])
        end = line.find("-->", start + 4)
        if end < 0:
            return "".join(out), True
        out.append(" " * (end + 3 - start))
        pos = search = end + 3


def _mask_ranges(text: str) -> str:
    """Blank out ranges like `API-001 → API-003`: their endpoints are not references."""
    if "-" not in text:
        return text
    spans = [m.span() for m in RANGE_RE.finditer(text) if m.group(1) == m.group(4)]
    return _blank(text, spans) if spans else text


_RANGE_SEP_RE = re.compile(r"[ \t]*(?:→|->|=>|⇒|\.\.\.?|…|–|—|-|to|through|thru)[ \t]*")


def _range_ends(text: str, ids: list[re.Match]) -> set[int]:
    """Indexes of ID matches that are the two ends of a range (`API-001 → API-003`)."""
    out: set[int] = set()
    for k in range(len(ids) - 1):
        a, b = ids[k], ids[k + 1]
        gap = b.start() - a.end()
        if gap > 12 or a.group(1) != b.group(1):
            continue
        between = text[a.end():b.start()]
        if "\n" in between or not _RANGE_SEP_RE.fullmatch(between):
            continue
        if between.strip() == "-" and not (between.startswith((" ", "\t")) and between.endswith((" ", "\t"))):
            continue  # "API-001-API-003" is not written as a range
        out.update((k, k + 1))
    return out


def _cells(line: str) -> list[str]:
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", s)]


def says_deprecated(text: str) -> bool:
    """Whether `text` holds the word deprecated, superseded or retired, in any case."""
    if text.isascii():  # one look for the usual heading, not the case-blind pattern's
        low = text.lower()
        if "deprecated" not in low and "superseded" not in low and "retired" not in low:
            return False
    return _DEPRECATED_RE.search(text) is not None


def _clean_title(title: str) -> str:
    if "<a" in title:
        title = _EMPTY_ANCHOR_RE.sub("", title)
    return " ".join(title.split())

"""Parse many files: a content-hash cache of parsed documents and worker processes.

The cache is one pickle file in the cache directory. It is keyed by the sotb
version and the parse options, and each document by the hash of its bytes, so
it is always safe to delete and is ignored when either changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

from sot_builder import __version__, collector, forking
from sot_builder.config import Config
from sot_builder.model import (
    Document,
    Entry,
    Field,
    Heading,
    ParseProblem,
    Ref,
    Region,
    Section,
    Suppression,
    Table,
    TableRow,
)
from sot_builder.parse import ParseMemo, ParseOptions
from sot_builder.project import SourceFile, parse_options, parse_source, read_source
from sot_builder.registry import Registry

PARALLEL_MIN_BYTES = 4 * 1024 * 1024  # below this, one process is faster


def parse_all(
    config: Config,
    registry: Registry,
    sources: list,
    use_cache: bool = True,
    jobs: int | None = None,
) -> list[Document]:
    options = {role: parse_options(config, registry, role) for role in ("sot", "readme", "registry", "doc")}
    cache_path = _cache_path(config, options) if use_cache else None
    cached = _load(cache_path) if cache_path else {}
    docs: dict[str, Document] = {}
    todo: list[tuple[SourceFile, ParseOptions]] = []
    for src in sources:
        hit = cached.get(src.path)
        if hit is not None and hit.role == src.role:  # a changed file is read again to parse it
            data, _ = read_source(src)
            if data is not None and hit.sha == hashlib.blake2b(data, digest_size=16).hexdigest():
                docs[src.path] = hit
                continue
        todo.append((src, options[src.role]))
    fresh = _parse_many(todo, jobs if jobs is not None else int(config["jobs"] or 0))
    docs.update(fresh)
    if cache_path is not None and fresh:
        _store(cache_path, docs)
    return [docs[s.path] for s in sources]


def _parse_many(todo: list[tuple[SourceFile, ParseOptions]], jobs: int) -> dict[str, Document]:
    """Parse `todo`; big inputs are shared between this process and forked children.

    Each process reads the files of its share, so no file's bytes are held
    longer than its parse. A child pickles each document as soon as it is
    parsed and sends them all when its share is done; this process unpacks
    them one at a time once its own share is done. Documents a failed child
    did not send are parsed here.
    """
    sizes = {src.path: _size(src) for src, _ in todo}
    workers = min(jobs or forking.cores(), len(todo), 4)
    if workers <= 1 or sum(sizes.values()) < PARALLEL_MIN_BYTES or not hasattr(os, "fork"):
        return _parse_chunk(todo)
    chunks: list[list] = [[] for _ in range(workers)]
    loads = [0] * workers
    for item in sorted(todo, key=lambda t: -sizes[t[0].path]):
        k = loads.index(min(loads))
        chunks[k].append(item)
        loads[k] += sizes[item[0].path]
    with collector.paused():
        children = [forking.start(lambda c=chunk: map(pack, _parse_each(c)), stream=True)
                    for chunk in chunks[1:]]
        memo = ParseMemo()
        out = _parse_chunk(chunks[0], memo)
        for chunk, child in zip(chunks[1:], children):
            for packed in forking.receive(child):
                out[packed[0]] = unpack(packed, memo)
            missing = [item for item in chunk if item[0].path not in out]
            if missing:
                out.update(_parse_chunk(missing, memo))
    return out


def _size(src: SourceFile) -> int:
    try:
        return src.abspath.stat().st_size
    except OSError:
        return 0


def pack(doc: Document) -> tuple:
    """A Document as plain tuples: pickles about ten times faster than the NamedTuples."""
    ref_index = {id(r): k for k, r in enumerate(doc.refs)}
    entries = tuple(
        (tuple(e[:12]), tuple(map(tuple, e.fields)), tuple(map(tuple, e.sections)),
         tuple(ref_index.get(id(r), -1) for r in e.refs), e.deprecated, e.placeholders,
         e.in_deprecated_section)
        for e in doc.entries
    )
    tables = tuple((t.header, tuple(map(tuple, t.rows))) + tuple(t[2:]) for t in doc.tables)
    return (
        doc.path, doc.role, doc.lines, doc.newline, doc.frontmatter, doc.frontmatter_lines,
        doc.body_start, tuple(map(tuple, doc.headings)), doc.anchors, doc.explicit_anchors, entries,
        tuple(map(tuple, doc.refs)), tables, tuple(map(tuple, doc.regions)),
        tuple(map(tuple, doc.suppressions)), tuple(map(tuple, doc.problems)), doc.sha,
    )


def unpack(t: tuple, memo: ParseMemo | None = None) -> Document:
    """The Document `pack` made `t` from.

    With `memo`, the strings and line numbers most repeated across files (those of
    references and headings) are shared with the documents already loaded through
    it, as if they had been parsed here.
    """
    new = tuple.__new__
    refs = tuple(new(Ref, r) for r in t[11]) if memo is None else _shared_refs(t[11], memo)
    headings = tuple(new(Heading, h) for h in t[7]) if memo is None else _shared_headings(t[7], memo)
    nums = memo.line_numbers(len(t[2])) if memo is not None else None
    entries = []
    for head, fields, sections, ref_ids, deprecated, placeholders, in_dep in t[10]:
        if nums is not None:
            fields = [(name, value, nums[line], col, sec) for name, value, line, col, sec in fields]
        entries.append(new(Entry, head + (
            tuple(new(Field, f) for f in fields), tuple(new(Section, s) for s in sections),
            tuple(refs[k] for k in ref_ids if k >= 0), deprecated, placeholders, in_dep,
        )))
    tables = tuple(
        new(Table, (tb[0], tuple(new(TableRow, r) for r in tb[1])) + tuple(tb[2:]))
        for tb in t[12]
    )
    return Document(
        path=t[0], role=t[1], lines=t[2], newline=t[3], frontmatter=t[4], frontmatter_lines=t[5],
        body_start=t[6], headings=headings, anchors=t[8],
        explicit_anchors=t[9], entries=tuple(entries), refs=refs, tables=tables,
        regions=tuple(new(Region, r) for r in t[13]),
        suppressions=tuple(new(Suppression, s) for s in t[14]),
        problems=tuple(new(ParseProblem, x) for x in t[15]), sha=t[16],
    )


def _shared_refs(rows: tuple, memo: ParseMemo) -> tuple[Ref, ...]:
    keep, new = memo.strings.setdefault, tuple.__new__
    nums = memo.line_numbers(max((r[1] for r in rows), default=0))
    return tuple(
        new(Ref, (keep(target, target), nums[line], col, kind, keep(label, label), keep(href, href), file,
                  keep(fragment, fragment), source, section, field, keep(note, note), image))
        for target, line, col, kind, label, href, file, fragment, source, section, field, note, image in rows
    )


def _shared_headings(rows: tuple, memo: ParseMemo) -> tuple[Heading, ...]:
    keep, new = memo.strings.setdefault, tuple.__new__
    nums = memo.line_numbers(max((h[2] for h in rows), default=0))
    return tuple(new(Heading, (level, keep(text, text), nums[line], keep(slug, slug), explicit))
                 for level, text, line, slug, explicit in rows)


def _parse_chunk(items: list[tuple[SourceFile, ParseOptions]], memo: ParseMemo | None = None,
                 ) -> dict[str, Document]:
    with collector.paused():
        return {doc.path: doc for doc in _parse_each(items, memo)}


def _parse_each(items: list[tuple[SourceFile, ParseOptions]], memo: ParseMemo | None = None,
                ) -> Iterator[Document]:
    memo = memo or ParseMemo()
    for src, opts in items:
        yield parse_source(src, opts, memo)


def _cache_path(config: Config, options: dict[str, ParseOptions]) -> Path:
    key = hashlib.blake2b(
        repr((__version__, sorted((k, repr(v)) for k, v in options.items()))).encode(), digest_size=8
    ).hexdigest()
    return config.project_dir / config["cache_dir"] / f"parse-{key}.pickle"


def _load(path: Path) -> dict[str, Document]:
    try:
        with open(path, "rb") as fh:
            data = pickle.load(fh)
        if isinstance(data, dict) and data.get("version") == __version__:
            return {path: unpack(t) for path, t in data["docs"].items()}
    except Exception:  # a missing, stale or damaged cache is simply rebuilt
        pass
    return {}


def _store(path: Path, docs: dict[str, Document]) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        gitignore = path.parent / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text("*\n", encoding="utf-8")
        with open(tmp, "wb") as fh:
            packed = {path: pack(doc) for path, doc in docs.items()}
            pickle.dump({"version": __version__, "docs": packed}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except Exception:  # a read-only checkout (or unpicklable data) still lints, just without a cache
        with contextlib.suppress(OSError):
            tmp.unlink()
        return
    remove_dead_temps(path.parent)


def remove_dead_temps(folder: Path) -> list[Path]:
    """Remove `NAME.<pid>.tmp` files whose writing process is gone (a killed run left them)."""
    removed = []
    if os.name != "posix":
        return removed
    for tmp in folder.glob("*.tmp"):
        pid = tmp.suffixes[-2][1:] if len(tmp.suffixes) >= 2 else ""
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True

"""Parse many files: a content-hash cache of parsed documents and worker processes.

The cache is a folder in the cache directory, named by the sotb version and
the parse options, with one pickle per parsed file, named by the file's path,
role and the hash of its bytes. It is always safe to delete and is ignored when
any of these changes; a run writes only the files it parsed, and removes the
entries no current file has.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any

from sot_builder import __version__, collector
from sot_builder.config import Config
from sot_builder.hashing import blake2b, file_sha
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
from sot_builder.paths import lies_in
from sot_builder.project import SourceFile, parse_options, parse_source, read_source
from sot_builder.registry import Registry

PARALLEL_MIN_BYTES = 4 * 1024 * 1024  # below this, one process is faster
# From this size on, a child parses the changed files while this process loads the others
# from the parse cache, if they are at least as big
OVERLAP_MIN_BYTES = 512 * 1024
# From this size on, the documents a child sends share their strings and line numbers
# with those parsed here: it saves an eighth of the peak memory at 100,000 entries, and
# would cost some 7% of a lint at 10,000 entries (8 MB), where memory is no concern.
SHARE_MIN_BYTES = 32 * 1024 * 1024


def parse_all(
    config: Config,
    registry: Registry,
    sources: list,
    use_cache: bool = True,
    jobs: int | None = None,
) -> list[Document]:
    options = {role: parse_options(config, registry, role) for role in ("sot", "readme", "registry", "doc")}
    folder = _cache_folder(config, options) if use_cache else None
    memo = ParseMemo()
    keys: dict[str, str] = {}  # path -> cache entry of the file as it is now
    todo: list[tuple[SourceFile, ParseOptions]] = []
    cached: list[tuple[SourceFile, ParseOptions, Path]] = []  # files whose cache entry is there
    with collector.paused():
        for src in sources:
            if folder is not None:
                key = _entry_key(src)
                if key is not None:
                    keys[src.path] = key
                    entry = folder / f"{key}.pickle"
                    if entry.is_file():
                        cached.append((src, options[src.role], entry))
                        continue
            todo.append((src, options[src.role]))
        store = folder if folder is not None and _prepare(folder, config.project_dir) else None  # None: no cache this time
        jobs = jobs if jobs is not None else int(config["jobs"] or 0)
        fresh, written, loaded = _parse_many(todo, jobs, memo, store, cached)
    if store is not None and _store(store, [d for p, d in fresh.items() if p not in written]):
        _remove_stale(store, set(keys.values()))
    docs = {**loaded, **fresh}
    return [docs[s.path] for s in sources]


def _parse_many(todo: list[tuple[SourceFile, ParseOptions]], jobs: int, memo: ParseMemo | None = None,
                store: Path | None = None, cached: list[tuple[SourceFile, ParseOptions, Path]] = (),
                ) -> tuple[dict[str, Document], set[str], dict[str, Document]]:
    """Parse `todo`, and load the documents of `cached` from their cache entries; big
    inputs are shared between this process and forked children.

    The files, biggest first, are handed out one at a time to whichever process
    is free (`forking.Tickets`), so a process slowed down by the machine takes
    fewer. Each process reads the files it takes, so no file's bytes are held
    longer than its parse. A child sends each document as soon as it is parsed,
    and writes its cache entry in the folder `store` on the way: the bytes it
    sends are those of the entry. This process first loads the cached documents
    (so the children parse while it does), then takes files too, writing the cache
    entry of each as it is parsed (so the children take more files meanwhile); it
    takes in the documents that have arrived after each document of its own, and
    the rest once no file is left. Documents a failed child did not send, and
    those whose cache entry could not be loaded, are parsed here.

    Returns the documents parsed, the paths of those whose cache entries are
    written (a child's are tried only: where it could not write one, the file is
    parsed again next time), and the documents loaded from the cache.
    """
    sizes = {src.path: _size(src) for src, _ in todo}
    memo = memo or ParseMemo()
    loaded: dict[str, Document] = {}
    failed: list[tuple[SourceFile, ParseOptions]] = []  # cache entries that could not be loaded
    cached_bytes = sum(_size(src) for src, _, _ in cached)
    workers = _workers(sum(sizes.values()), len(todo), cached_bytes, jobs)
    tickets = None
    if workers > 1:
        from sot_builder import forking

        order = sorted(todo, key=lambda t: -sizes[t[0].path])
        batches = [order[k::forking.Tickets.MOST] for k in range(min(len(order), forking.Tickets.MOST))]
        tickets = forking.Tickets.make(len(batches))
    if tickets is None:
        loaded.update((doc.path, doc) for doc in _load_cached(cached, memo, failed))
        return _parse_chunk(failed + todo, memo), set(), loaded
    import pickle

    def taken() -> Iterator[tuple[SourceFile, ParseOptions]]:
        for k in tickets:
            yield from batches[k]

    def sent() -> Iterator[bytes]:  # in a child
        for doc in _parse_each(taken()):
            data = pickle.dumps(pack(doc), protocol=pickle.HIGHEST_PROTOCOL)
            if store is not None and doc.sha:
                _write_bytes(_entry_path(store, doc), data)
            yield data

    out: dict[str, Document] = {}
    written: set[str] = set()
    shared = memo if sum(sizes.values()) + cached_bytes >= SHARE_MIN_BYTES else None

    def take(blobs: Iterable[bytes]) -> None:
        for data in blobs:
            try:
                packed = pickle.loads(data)
            except Exception:  # noqa: BLE001 - garbled: the document is parsed here
                continue
            del data  # its megabytes go before the document is built
            out[packed[0]] = unpack(packed, shared)
            written.add(packed[0])

    with collector.paused():
        children = [forking.start_stream(sent) for _ in range(workers - 1)]
        for doc in _load_cached(cached, memo, failed):
            loaded[doc.path] = doc
            for child in children:
                take(forking.ready(child))
        storing = store is not None
        for doc in _parse_each(taken(), memo):
            out[doc.path] = doc
            if storing:  # until a write fails; the caller tries the rest again, and knows then
                storing = _store(store, [doc])
                if storing:
                    written.add(doc.path)
            for child in children:
                take(forking.ready(child))
        tickets.close()
        memo.links.clear()  # no more parsing here (but for a failed child's files): its megabytes go
        for child in children:
            take(forking.receive(child))
        missing = failed + [item for item in todo if item[0].path not in out]
        if missing:
            out.update(_parse_chunk(missing, memo))
    return out, written, loaded


def _workers(parse_bytes: int, files: int, cached_bytes: int, jobs: int) -> int:
    """How many processes parse `files` files of `parse_bytes` bytes in all, while this
    process also loads cached documents parsed from `cached_bytes` bytes: more than one for
    big inputs, or when this process has as much to load as a child has to parse."""
    if not files or not hasattr(os, "fork"):
        return 1
    overlap = cached_bytes >= parse_bytes >= OVERLAP_MIN_BYTES
    if parse_bytes < PARALLEL_MIN_BYTES and not overlap:
        return 1
    from sot_builder import forking

    return min(jobs or forking.cores(), files + (1 if overlap else 0), 4)


def _load_cached(cached: Iterable[tuple[SourceFile, ParseOptions, Path]], memo: ParseMemo,
                 failed: list[tuple[SourceFile, ParseOptions]]) -> Iterator[Document]:
    """The documents of `cached` loaded from their entries; those that cannot be (missing,
    stale or damaged, or another file's) go to `failed`, to be parsed."""
    for src, opts, entry in cached:
        doc = _load_entry(entry, memo)
        if doc is not None and doc.path == src.path and doc.role == src.role:
            yield doc
        else:
            failed.append((src, opts))


def _size(src: SourceFile) -> int:
    try:
        return src.abspath.stat().st_size
    except OSError:
        return 0


# The layout `pack` writes, raised also when the parser reads some files differently (5: a
# file of lone CRs has lines; 6: a text is restored by `restore_lines`, not a method found
# through `getattr`): cache entries of another layout are not read.
PACK_LAYOUT = 6
# The fields of references and headings whose strings are shared between documents: the
# others (kind, file, source, section, field) are few, and already shared within one. Nor
# is a heading's text: most are entries' headings, each written once, and the others repeat
# within their file, where the pickle already keeps one copy.
_REF_STRINGS = tuple(Ref._fields.index(name) for name in ("target", "label", "href", "fragment", "note"))
_HEADING_STRINGS = (Heading._fields.index("slug"),)
_HEAD = 12  # an Entry's fields before its fields, sections and references


def pack(doc: Document) -> tuple:
    """A Document as plain tuples, with entries, fields, references and headings as columns.

    Columns of plain values pickle several times faster than one NamedTuple
    per reference or field; it matters most when a child sends a big document
    to its parent. The fields, sections and references of all entries are one
    column set each, with each entry's count.
    """
    entries = doc.entries
    ref_index = {id(r): k for k, r in enumerate(doc.refs)}
    entry_refs = [[k for k in map(ref_index.get, map(id, e.refs)) if k is not None] for e in entries]
    packed_entries = (
        _columns(tuple(e[:_HEAD] for e in entries)),
        _columns(tuple(f for e in entries for f in e.fields)), tuple(len(e.fields) for e in entries),
        _columns(tuple(x for e in entries for x in e.sections)), tuple(len(e.sections) for e in entries),
        tuple(k for ks in entry_refs for k in ks), tuple(map(len, entry_refs)),
        tuple(e.deprecated for e in entries), tuple(e.placeholders for e in entries),
        tuple(e.in_deprecated_section for e in entries),
    )
    tables = tuple((t.header, tuple(map(tuple, t.rows))) + tuple(t[2:]) for t in doc.tables)
    return (
        doc.path, doc.role, doc.lines, doc.newline, doc.frontmatter, doc.frontmatter_lines,
        doc.body_start, _columns(doc.headings), doc.anchors, doc.explicit_anchors, packed_entries,
        _columns(doc.refs), tables, tuple(map(tuple, doc.regions)),
        tuple(map(tuple, doc.suppressions)), tuple(map(tuple, doc.problems)), doc.sha,
        doc.colon_refs,
    )


def _columns(rows: tuple) -> tuple:
    return tuple(zip(*rows))


def unpack(t: tuple, memo: ParseMemo | None = None) -> Document:
    """The Document `pack` made `t` from.

    With `memo`, the strings and numbers most repeated across files (those of
    references, headings and entry titles, and line numbers) are shared with the
    documents already loaded through it, as if they had been parsed here.
    """
    new = tuple.__new__
    refs = _rows(Ref, t[11], _REF_STRINGS, 1, memo)
    headings = _rows(Heading, t[7], _HEADING_STRINGS, 2, memo)
    entries = _entries(t[10], refs, memo)
    tables = tuple(
        new(Table, (tb[0], tuple(new(TableRow, r) for r in tb[1])) + tuple(tb[2:]))
        for tb in t[12]
    )
    return Document(
        path=t[0], role=t[1], lines=t[2], newline=t[3], frontmatter=t[4], frontmatter_lines=t[5],
        body_start=t[6], headings=headings, anchors=t[8],
        explicit_anchors=t[9], entries=entries, refs=refs, tables=tables,
        regions=tuple(new(Region, r) for r in t[13]),
        suppressions=tuple(new(Suppression, s) for s in t[14]),
        problems=tuple(new(ParseProblem, x) for x in t[15]), sha=t[16], colon_refs=t[17],
    )


def _entries(packed: tuple, refs: tuple, memo: ParseMemo | None) -> tuple:
    """The Entries `pack` made columns of (one count per entry for its fields, sections and
    references); `refs` are the document's references, which entries point into."""
    heads, fields, field_counts, sections, section_counts, ref_ids, ref_counts, deprecated, \
        placeholders, in_deprecated = packed
    if not field_counts:
        return ()
    heads = list(heads)
    if memo is not None:  # the IDs, titles and numbers, as the fields' line numbers below
        keep = memo.strings.setdefault
        heads[0] = map(keep, heads[0], heads[0])  # the very strings references name them by
        heads[4] = map(keep, heads[4], heads[4])
        nums = memo.line_numbers(max(heads[6]))
        heads[3] = [nums[n] if n < len(nums) else n for n in heads[3]]
    fields = _rows(Field, fields, (), 2, memo)
    sections = _rows(Section, sections, (), -1, None)
    pick = refs.__getitem__
    return tuple(map(
        tuple.__new__, repeat(Entry),
        map(tuple.__add__, zip(*heads), zip(
            _split(fields, field_counts), _split(sections, section_counts),
            map(tuple, map(map, repeat(pick), _split(ref_ids, ref_counts))),
            deprecated, placeholders, in_deprecated,
        )),
    ))


def _split(items: tuple, counts: tuple[int, ...]) -> Iterator[tuple]:
    """`items` cut into consecutive runs of `counts[k]` items."""
    at = 0
    for n in counts:
        yield items[at:at + n]
        at += n


def _rows(kind: type, columns: tuple, strings: tuple[int, ...], line: int, memo: ParseMemo | None) -> tuple:
    """NamedTuples of `kind` from `columns`; with `memo`, their strings and the line numbers of
    column `line` (none if negative) shared."""
    if not columns:
        return ()
    cols: list = list(columns)
    if memo is not None:
        keep = memo.strings.setdefault
        for k in strings:
            cols[k] = map(keep, cols[k], cols[k])
        if line >= 0:
            cols[line] = map(memo.line_numbers(max(cols[line])).__getitem__, cols[line])
    return tuple(map(tuple.__new__, repeat(kind), zip(*cols)))


def _parse_chunk(items: list[tuple[SourceFile, ParseOptions]], memo: ParseMemo | None = None,
                 ) -> dict[str, Document]:
    with collector.paused():
        return {doc.path: doc for doc in _parse_each(items, memo)}


def _parse_each(items: list[tuple[SourceFile, ParseOptions]], memo: ParseMemo | None = None,
                ) -> Iterator[Document]:
    memo = memo or ParseMemo()
    for src, opts in items:
        yield parse_source(src, opts, memo)


def _cache_folder(config: Config, options: dict[str, ParseOptions]) -> Path | None:
    """The cache of this sotb version, these parse options and this machine's cache folder
    (`cache_identity`): one pickle per parsed file. None when the folder has no identity."""
    identity = cache_identity(config)
    if identity is None:
        return None
    key = blake2b(
        repr((__version__, PACK_LAYOUT, sorted((k, repr(v)) for k, v in options.items()), identity)).encode(),
        digest_size=8,
    ).hexdigest()
    return config.project_dir / config["cache_dir"] / f"parse-{key}"


def cache_identity(config: Config) -> str | None:
    """What makes the cache folder this checkout's own (`fsutil.folder_identity`), made on the
    first run. A cache folder that came with the repository (a commit can carry one, with
    results or parsed files made to pass a gate) names its caches otherwise, so nothing in it
    is ever used. None where the file cannot be made (a read-only checkout): no cache then."""
    return _identity(str(config.project_dir / config["cache_dir"]))


@lru_cache(maxsize=4)
def _identity(folder: str) -> str | None:
    from sot_builder.fsutil import folder_identity

    return folder_identity(folder, make=True)


def _entry_key(src: SourceFile) -> str | None:
    """The name of the cache entry for `src` as it is now (its path, role and bytes); None if unreadable."""
    data, _ = read_source(src)
    if data is None:
        return None
    return _entry_name(src.path, src.role, file_sha(data))


def _entry_name(path: str, role: str, sha: str) -> str:
    # a name that is not UTF-8 holds surrogates (os.fsdecode)
    key = f"{path}\0{role}\0{sha}".encode("utf-8", "surrogatepass")
    return blake2b(key, digest_size=16).hexdigest()


def _entry_path(folder: Path, doc: Document) -> Path:
    """Where the cache entry of `doc` goes: named by the bytes it was parsed from, which may
    not be those its file had when the run looked it up, if the file changed in between."""
    return folder / f"{_entry_name(doc.path, doc.role, doc.sha)}.pickle"


def _load_entry(path: Path, memo: ParseMemo) -> Document | None:
    try:
        return unpack(load_pickle(path), memo)
    except Exception:  # noqa: BLE001 - missing, stale, damaged or hostile: the file is parsed again
        return None


# What a pickle read from the cache folder may name: the cache is in the project, where a
# commit can put anything, and a pickle that names any other callable could run code.
_PICKLE_NAMES = frozenset({
    ("sot_builder.model", "restore_lines"),
    ("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"),
    ("datetime", "timedelta"), ("datetime", "timezone"),
    ("builtins", "set"), ("builtins", "frozenset"),
})
_unpickler: type | None = None


def load_pickle(path: Path) -> Any:
    """The data pickled in the regular file `path`, naming nothing but `_PICKLE_NAMES`
    (pickle.UnpicklingError otherwise; OSError for a pipe or a device, never waited on)."""
    global _unpickler
    import pickle

    if _unpickler is None:
        class CacheUnpickler(pickle.Unpickler):
            def find_class(self, module: str, name: str) -> Any:
                if (module, name) not in _PICKLE_NAMES:
                    raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a cache file")
                return super().find_class(module, name)

        _unpickler = CacheUnpickler
    from sot_builder.fsutil import open_regular

    with open_regular(path) as fh:
        return _unpickler(fh).load()


def _prepare(folder: Path, project_dir: Path) -> bool:
    """Make the cache folder, ignored by git when it lies in the project; False where it cannot
    be made (a read-only checkout)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        gitignore = folder.parent / ".gitignore"
        if lies_in(folder.parent, project_dir) and not os.path.lexists(gitignore):  # nor a link
            gitignore.write_text("*\n", encoding="utf-8")
    except OSError:  # a read-only checkout still lints, just without a cache
        return False
    return True


def _store(folder: Path, fresh: list[Document]) -> bool:
    """Write the cache entries of these documents (not of unreadable files); False at the first
    that cannot be written."""
    import pickle

    for doc in fresh:
        if not doc.sha:
            continue
        try:
            data = pickle.dumps(pack(doc), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - data pickle cannot write: no cache this time
            return False
        if not _write_bytes(_entry_path(folder, doc), data):
            return False
    return True


# The names sotb gives what it writes in the cache folder: nothing else there is ever removed
# (the folder may be a link, or a `cache_dir` outside the project, shared with other files).
_ENTRY_NAME = re.compile(r"[0-9a-f]{32}\.pickle")
_CACHE_NAME = re.compile(r"parse-[0-9a-f]{16}(\.pickle)?")  # a parse cache, or the one-file cache of 0.1
_TEMP_NAME = re.compile(r"(?:[0-9a-f]{32}|lint-result|parse-[0-9a-f]+)\.(\d+)\.tmp")  # + 0.1's cache


def _remove_stale(folder: Path, keep: set[str]) -> None:
    """Remove the entries no current file has, older caches and files a killed run left."""
    for old in folder.glob("*.pickle"):
        if old.stem not in keep and _ENTRY_NAME.fullmatch(old.name):
            with contextlib.suppress(OSError):
                old.unlink()
    for other in folder.parent.glob("parse-*"):  # other versions and options
        if other != folder and _CACHE_NAME.fullmatch(other.name) and not other.is_symlink():
            with contextlib.suppress(OSError):
                if other.is_dir():
                    shutil.rmtree(other)
                else:
                    other.unlink()
    remove_dead_temps(folder)
    remove_dead_temps(folder.parent)


def _write_bytes(path: Path, data: bytes) -> bool:
    """Write `path` whole or not at all (temporary file, then rename)."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError:  # no space, read-only: no cache this time
        with contextlib.suppress(OSError):
            tmp.unlink()
        return False
    return True


def remove_dead_temps(folder: Path) -> list[Path]:
    """Remove `NAME.<pid>.tmp` files whose writing process is gone (a killed run left them)."""
    removed = []
    if os.name != "posix":
        return removed
    for tmp in folder.glob("*.tmp"):
        m = _TEMP_NAME.fullmatch(tmp.name)
        pid = m.group(1) if m else ""
        if pid and int(pid) != os.getpid() and not _alive(int(pid)):
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

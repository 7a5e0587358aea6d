"""Discover the files of a project, parse them, and index IDs and references."""

from __future__ import annotations

import fnmatch
import glob
import os
import posixpath
import stat
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from sot_builder.config import Config
from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.hashing import file_sha
from sot_builder.model import Document, Entry, ParseProblem, Ref
from sot_builder.navigation import Navigation, find_navigation
from sot_builder.parse import ParseMemo, ParseOptions, parse_document
from sot_builder.registry import Registry, build_registry

MAX_FILE_BYTES = 32 * 1024 * 1024
_EXTERNAL = ("mailto:", "tel:", "data:")
T = TypeVar("T")


class LinkGroup(NamedTuple):
    """The links of one document to one file (as written), resolved once."""

    doc: Document
    file: str  # as written in the links ("" = the document itself)
    path: str  # project-relative path it resolves to
    inside: bool  # whether it stays inside the project
    refs: list[Ref]  # the links, in document order


@dataclass
class SourceFile:
    path: str  # relative to the project dir, "/" separated
    abspath: Path
    role: str
    problem: str = ""  # why it cannot be read, known before reading (a folder not listed)


@dataclass
class Project:
    config: Config
    registry: Registry
    documents: list[Document]
    load_problems: list[Diagnostic] = field(default_factory=list)
    by_path: dict[str, Document] = field(default_factory=dict)
    definitions: dict[str, tuple[Entry, ...]] = field(default_factory=dict)  # ID -> its entries
    checked_paths: dict[str, bool] = field(default_factory=dict)  # paths asked about by exists()
    memos: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        self.memos.clear()
        self.by_path = {d.path: d for d in self.documents}
        defs: dict[str, tuple[Entry, ...]] = {}
        for doc in self.documents:
            for e in doc.entries:
                found = defs.get(e.id)
                defs[e.id] = (e,) if found is None else (*found, e)
        self.definitions = defs

    @property
    def refs_to(self) -> dict[str, list[Ref]]:
        """ID -> every reference to it, in document order; built when first asked for."""
        return self.memo("refs_to", _refs_to)

    def referenced(self) -> set[str]:
        """Every ID some reference names; callers must not change it."""
        return self.memo("referenced", _referenced)

    @property
    def root_rel(self) -> str:
        return self.config.root_rel

    @property
    def project_dir(self) -> Path:
        return self.config.project_dir

    def link_groups(self) -> list[LinkGroup]:
        """Every link to a repository path, grouped by document and file as written.

        Resolved once per project and shared by the link rules.
        """
        return self.memo("link_groups", _link_groups)

    def memo(self, key: str, factory: Callable[[Project], T]) -> T:
        """`factory(self)`, computed once per project: indexes shared by the rules."""
        try:
            return self.memos[key]
        except KeyError:
            value = self.memos[key] = factory(self)
            return value

    def entries(self) -> list[Entry]:
        return [e for d in self.documents for e in d.entries]

    def entry(self, ident: str) -> Entry | None:
        found = self.definitions.get(ident)
        return found[0] if found else None

    def first_definitions(self) -> dict[str, Entry]:
        """ID -> the entry `entry(ID)` returns (the first that defines it)."""
        return self.memo("first_definitions", _first_definitions)

    def navigation(self, doc: Document) -> Navigation | None:
        """`find_navigation(doc)`, read once per document; callers must not change it."""
        found: dict[str, tuple[Document, Navigation | None]] = self.memo("navigation", lambda _: {})
        known = found.get(doc.path)
        if known is None or known[0] is not doc:
            known = found[doc.path] = (doc, find_navigation(doc))
        return known[1]

    def sot_documents(self) -> list[Document]:
        return [d for d in self.documents if d.role == "sot"]

    def document_named(self, name: str) -> Document | None:
        """The SoT-root document called `name` (e.g. SoT.README.md)."""
        return self.by_path.get(self.rel_in_root(name))

    def rel_in_root(self, name: str) -> str:
        root = self.root_rel
        return name if root == "." else f"{root}/{name}"

    def resolve_link(self, doc_path: str, file: str) -> tuple[str, bool]:
        """Project-relative path of a link target, and whether it stays inside the project."""
        if not file:
            return doc_path, True
        return _resolve(posixpath.dirname(doc_path), file)

    def exists(self, rel: str) -> bool:
        """Does a project-relative path exist? Answers are remembered (see `lintrun`)."""
        if rel in self.by_path:
            return True
        known = self.checked_paths.get(rel)
        if known is not None:
            return known
        try:
            found = (self.project_dir / rel).exists()
        except OSError:
            found = False
        self.checked_paths[rel] = found
        return found


def _link_groups(project: Project) -> list[LinkGroup]:
    out = []
    for doc in project.documents:
        for file, refs in _links_by_file(doc.refs).items():
            path, inside = project.resolve_link(doc.path, file)
            out.append(LinkGroup(doc, file, path, inside, refs))
    return out


_HREF = attrgetter("href")


def _links_by_file(refs: tuple[Ref, ...]) -> dict[str, list[Ref]]:
    """File as written -> the links to it among `refs`, but those to another scheme
    (`https://`, `mailto:`, ...); files in the order of their first link."""
    some_external = ":" in "".join(map(_HREF, refs))  # without a ':', no href needs a look
    groups: dict[str, list[Ref]] = {}
    get = groups.get
    for ref in refs:
        if ref.kind != "link" or (some_external and _external(ref.href)):
            continue
        file = ref.file
        group = get(file)
        if group is None:
            group = groups[file] = []
        group.append(ref)
    return groups


def _external(href: str) -> bool:
    return "://" in href or href.startswith(_EXTERNAL)


def _refs_to(project: Project) -> dict[str, list[Ref]]:
    refs_to: dict[str, list[Ref]] = defaultdict(list)
    for doc in project.documents:
        for r in doc.refs:
            if r.target:
                refs_to[r.target].append(r)
    return dict(refs_to)


_TARGET = attrgetter("target")


def _referenced(project: Project) -> set[str]:
    out: set[str] = set()
    for doc in project.documents:
        out.update(map(_TARGET, doc.refs))
    out.discard("")
    return out


def _first_definitions(project: Project) -> dict[str, Entry]:
    return {ident: found[0] for ident, found in project.definitions.items()}


@lru_cache(maxsize=4096)
def _resolve(folder: str, file: str) -> tuple[str, bool]:
    if file.startswith("/") or (len(file) > 1 and file[1] == ":"):
        return file, False
    joined = posixpath.normpath(posixpath.join(folder, file))
    if joined == ".." or joined.startswith("../"):
        return joined, False
    return joined, True


def discover(config: Config) -> list[SourceFile]:
    """Every Markdown file of the SoT root, plus the configured documents."""
    project_dir = config.project_dir
    excludes = list(config["exclude"])
    readme, id_system = config["readme"], config["id_system"]
    found: dict[str, SourceFile] = {}
    root = config.root
    if root.is_dir():
        unlisted: list[OSError] = []
        for folder, dirs, files in os.walk(root, onerror=unlisted.append, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.endswith(".md"):
                    continue
                abspath = Path(folder) / name
                rel = _rel(abspath, project_dir)
                if rel is None or _excluded(rel, excludes):
                    continue
                role = "readme" if name == readme else "registry" if name == id_system else "sot"
                found[rel] = SourceFile(rel, abspath, role)
        for error in unlisted:
            _add_unlisted(found, error, project_dir, excludes)
    for pattern in config["documents"]:
        for abspath in _glob(project_dir, pattern):
            if abspath.is_dir():
                continue
            rel = _rel(abspath, project_dir)
            if rel is None or rel in found or _excluded(rel, excludes):
                continue
            found[rel] = SourceFile(rel, abspath, "doc")
    return sorted(found.values(), key=lambda s: s.path)


def _add_unlisted(found: dict[str, SourceFile], error: OSError, project_dir: Path,
                  excludes: list[str]) -> None:
    """A folder of the SoT root that cannot be listed: reported in place of the files it hides."""
    folder = Path(os.fsdecode(error.filename or ""))
    rel = _rel(folder, project_dir)
    if rel is None or _excluded(rel, excludes) or _excluded(rel + "/", excludes):
        return
    why = f"cannot read folder: {error.strerror or error}; the files in it are not checked"
    found[rel] = SourceFile(rel, folder, "doc", why)


def _glob(base: Path, pattern: str) -> list[Path]:
    """Paths under `base` matching `pattern`, as glob.glob finds them but without
    following symlinked folders (a link loop would never end) and without hidden
    names the pattern does not spell out."""
    literal = set(Path(pattern).parts)
    try:
        matches = list(base.glob(pattern))
    except (ValueError, NotImplementedError, OSError):  # an absolute or malformed pattern
        matches = [Path(m) for m in glob.glob(str(base / pattern))]
    return sorted(
        m for m in matches
        if not any(part.startswith(".") and part not in literal for part in _parts_below(m, base))
    )


def _parts_below(path: Path, base: Path) -> tuple[str, ...]:
    try:
        return path.relative_to(base).parts
    except ValueError:
        return ()


def _rel(path: Path, base: Path) -> str | None:
    """The project-relative path of a found file; None when it is (or links) outside the project."""
    try:
        lexical = posixpath.normpath(path.relative_to(base).as_posix())
        try:
            real = path.resolve()
        except RuntimeError:  # a symlink loop: keep the name, reading it reports the problem
            return lexical
        real_base = base.resolve()
        if lexical == ".." or lexical.startswith("../"):
            return None  # never read: `../` patterns
        link = path.is_symlink()
        if link and not _regular(path):
            return lexical  # dangling, or to a device or pipe: reported by name, never opened
        if not real.is_relative_to(real_base):
            return None  # never read: links and linked folders that leave the project
        return real.relative_to(real_base).as_posix() if link else lexical
    except (ValueError, OSError):
        return None


def _regular(path: Path) -> bool:
    """Is `path` (followed if a link) a regular file? Asks for its status only."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _excluded(rel: str, excludes: list[str]) -> bool:
    return any(fnmatch.fnmatch(rel, pat) for pat in excludes)


def parse_options(config: Config, registry: Registry, role: str) -> ParseOptions:
    table_prefixes = frozenset(p for p, t in registry.types.items() if t.table_rows)
    return ParseOptions(
        table_prefixes=table_prefixes,
        code_spans=bool(config["code_spans"]),
        entries=role in ("sot", "doc"),
    )


def read_source(src: SourceFile) -> tuple[bytes | None, ParseProblem | None]:
    if src.problem:
        return None, ParseProblem("SOT002", src.problem, 1)
    try:
        info = os.stat(src.abspath)
        if not stat.S_ISREG(info.st_mode):  # a pipe or a device: reading could block or never end
            return None, ParseProblem("SOT002", "not a regular file; skipped", 1)
        if info.st_size > MAX_FILE_BYTES:
            return None, ParseProblem("SOT002", f"file larger than {MAX_FILE_BYTES // 2**20} MiB; skipped", 1)
        return src.abspath.read_bytes(), None
    except OSError as exc:
        return None, ParseProblem("SOT002", f"cannot read file: {exc.strerror or exc}", 1)


def load_project(config: Config, use_cache: bool = True, jobs: int | None = None) -> Project:
    """Discover, parse and index. Without `[types]`, the prefixes the SoT files define are used."""
    from sot_builder.cache import parse_all

    source = str(config.config_file or "defaults")
    declared = bool(config["types"])
    memo_dir = config.project_dir / str(config["cache_dir"])
    reserved = {config["readme"]: "readme", config["id_system"]: "id_system"} if declared else None
    registry = build_registry(config["types"] if declared else _builtin_table_types(memo_dir), config.project_dir,
                              source, memo_dir=memo_dir, reserved=reserved)  # no type's file is one of these
    sources = discover(config)
    documents = parse_all(config, registry, sources, use_cache=use_cache, jobs=jobs)
    if not declared:
        registry = build_registry(implied_types(documents, config), config.project_dir, source, memo_dir=memo_dir)
    return Project(config=config, registry=registry, documents=documents)


def _builtin_table_types(memo_dir: Path) -> dict[str, dict]:
    from sot_builder.registry import builtin_definitions

    return {p: {} for p, d in builtin_definitions(memo_dir).items() if d.get("table_rows")}


def implied_types(documents: list[Document], config: Config) -> dict[str, dict]:
    """Types implied by the entries of the SoT files: prefix -> {file: owning file}."""
    from collections import Counter

    owners: dict[str, Counter] = defaultdict(Counter)
    for doc in documents:
        if doc.role != "sot":
            continue
        for e in doc.entries:
            owners[e.prefix][posixpath.basename(doc.path)] += 1
    return {p: {"file": c.most_common(1)[0][0]} for p, c in sorted(owners.items())}


def parse_source(src: SourceFile, options: ParseOptions, memo: ParseMemo | None = None) -> Document:
    """Read and parse one file; a file that cannot be read gives a document with its problem."""
    data, problem = read_source(src)
    if problem is not None or data is None:
        return Document(path=src.path, role=src.role, lines=(), problems=(problem,) if problem else ())
    try:
        return parse_document(data, src.path, src.role, options, memo)
    except RecursionError:
        return Document(path=src.path, role=src.role, lines=(), problems=(
            ParseProblem("SOT002", "file is nested too deeply to parse", 1),), sha=file_sha(data))


def problem_diagnostics(doc: Document) -> list[Diagnostic]:
    names = {"SOT001": "frontmatter", "SOT002": "unreadable-file", "SOT003": "unterminated-block",
             "SOT004": "region-marker"}
    return [
        Diagnostic(p.code, p.message, doc.path, p.line, p.column,
                   Severity.WARNING if p.code == "SOT003" else Severity.ERROR, (), names.get(p.code, ""))
        for p in doc.problems
    ]

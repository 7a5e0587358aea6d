"""Portfolio references: IDs of other registries, named through a namespace.

A registry names the others it refers to in its configuration::

    [tool.sotb.portfolio]
    P = "../payments"              # a project folder: its sotb.toml, or its SoT/ folder
    B = "exports/billing.sqlite"   # a `sotb export` SQLite file
    C = "exports/crm.json"         # a `sotb export --format json` file

and its Markdown refers to their entries as `[P:BR-003](../payments/SoT/SoT.BUSINESS_RULES.md#br-003-rate-limit)`
or as `P:BR-003` in running text. `portfolio:BR-003` looks the ID up in every
registry of the portfolio. Paths are relative to the project folder.
"""

from __future__ import annotations

import copy
import json
import os
import posixpath
import re
import sqlite3
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from sot_builder.config import CONFIG_FILE, DEFAULTS, Config, load_config
from sot_builder.diagnostics import SotbError
from sot_builder.model import Document, Ref

if TYPE_CHECKING:
    from sot_builder.project import Project

ANY = "portfolio"  # `portfolio:ID` searches every registry
SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
_NS_BEFORE_RE = re.compile(r"(?<![\w.\-/:])([A-Za-z][\w.\-]{0,39}):$")
_NS_LABEL_RE = re.compile(r"^\s*([A-Za-z][\w.\-]{0,39}):([A-Z]{2,5}(?:-[A-Z]{2,5})?-\d{3,9})\s*$")


@dataclass(frozen=True)
class ForeignEntry:
    id: str
    title: str
    file: str  # relative to the other registry's project folder
    anchors: tuple[str, ...]  # the first is the one to link to
    deprecated: bool = False

    @property
    def anchor(self) -> str:
        return self.anchors[0] if self.anchors else ""


@dataclass(frozen=True)
class Catalog:
    """The entries of one registry of the portfolio."""

    name: str
    spec: str  # the path as configured
    path: Path  # resolved
    kind: str  # "project" | "sqlite" | "json" | "missing"
    entries: Mapping[str, ForeignEntry] = field(default_factory=dict)
    problem: str = ""  # why the registry could not be read ("" = read)
    project_dir: Path | None = None  # a project folder's own folder, for checking link paths

    @property
    def ok(self) -> bool:
        return not self.problem


@dataclass(frozen=True)
class PortfolioRef:
    namespace: str  # as written: a configured name, or "portfolio"
    id: str
    ref: Ref  # the parsed reference (its target is `id`)


# ---------------------------------------------------------------------------
# Finding portfolio references


def namespace_of(doc: Document, ref: Ref) -> str:
    """The namespace written before a reference's ID (`P` for `P:BR-003`), or ""."""
    if not ref.target:
        return ""
    if ref.kind == "link":
        if ":" not in ref.label:  # the pattern needs one
            return ""
        m = _NS_LABEL_RE.match(ref.label)
        return m.group(1) if m and m.group(2) == ref.target else ""
    if not 0 < ref.line <= len(doc.lines):
        return ""
    line = doc.lines[ref.line - 1]
    start = ref.column - 1
    if start < 2 or line[start - 1] != ":" or line[start:start + len(ref.target)] != ref.target:
        return ""
    m = _NS_BEFORE_RE.search(line, max(0, start - 41), start)
    return m.group(1) if m else ""


def names(config: Config) -> frozenset[str]:
    """Every namespace a reference may use: the configured ones and `portfolio`."""
    return frozenset((config.values.get("portfolio") or {}).keys()) | {ANY}


def is_foreign_ref(doc: Document, ref: Ref, namespaces: frozenset[str] | set[str]) -> bool:
    """Whether a reference names an entry of another registry (local rules should skip it)."""
    ns = namespace_of(doc, ref)
    return bool(ns) and ns in namespaces


def portfolio_refs(project: Project) -> list[tuple[Document, PortfolioRef]]:
    """Every reference of the project that names another registry's entry (found once per project)."""
    return project.memo("portfolio.refs", _portfolio_refs)


def _portfolio_refs(project: Project) -> list[tuple[Document, PortfolioRef]]:
    wanted = names(project.config)
    out = []
    for doc in project.documents:
        for ref in doc.refs:
            if ref.kind == "link" and ":" not in ref.label:
                continue  # the common case, told without a call: no namespace
            ns = namespace_of(doc, ref)
            if ns and ns in wanted:
                out.append((doc, PortfolioRef(ns, ref.target, ref)))
    return out


# ---------------------------------------------------------------------------
# Reading the other registries


def catalogs(project: Project) -> dict[str, Catalog]:
    """The configured registries, read once per project."""
    cached = project.__dict__.get("_portfolio")
    if cached is None:
        cached = load_catalogs(project.config)
        project.__dict__["_portfolio"] = cached
    return cached


def load_catalogs(config: Config) -> dict[str, Catalog]:
    table = config.values.get("portfolio") or {}
    return {name: load_catalog(name, spec, config.project_dir) for name, spec in sorted(table.items())}


def load_catalog(name: str, spec: str, base: Path) -> Catalog:
    path = (base / spec).resolve()
    try:
        if path.is_dir():
            return _project_catalog(name, spec, path)
        if not path.exists():
            return Catalog(name, spec, path, "missing", problem=f"{spec} does not exist")
        if path.suffix.lower() in SQLITE_SUFFIXES:
            return Catalog(name, spec, path, "sqlite", _sqlite_entries(path))
        if path.suffix.lower() == ".json":
            return Catalog(name, spec, path, "json", _json_entries(path))
        return Catalog(name, spec, path, "missing",
                       problem=f"{spec} is neither a project folder nor a .sqlite/.json export")
    except (SotbError, OSError, sqlite3.Error, ValueError, KeyError, TypeError) as exc:
        kind = "project" if path.is_dir() else "missing"
        return Catalog(name, spec, path, kind, problem=f"cannot read {spec}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def project_config(path: Path) -> Config:
    """The configuration of a project folder: its sotb.toml or [tool.sotb], else the defaults."""
    if (path / CONFIG_FILE).is_file():
        return load_config(path, path / CONFIG_FILE)
    pyproject = path / "pyproject.toml"
    if pyproject.is_file():
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        if "sotb" in data.get("tool", {}):
            return load_config(path, pyproject)
    values = copy.deepcopy(DEFAULTS)
    if not (path / "SoT").is_dir() and any(path.glob("SoT.*.md")):
        values["root"] = "."
    return Config(path, None, values, {k: "default" for k in values})


def _project_catalog(name: str, spec: str, path: Path) -> Catalog:
    from sot_builder.project import load_project

    config = project_config(path)
    if not config.root.is_dir():
        return Catalog(name, spec, path, "project", problem=f"{spec} has no SoT folder ({config.root_rel}/)")
    project = load_project(config, use_cache=False)
    entries: dict[str, ForeignEntry] = {}
    for doc in project.documents:
        for e in doc.entries:
            if e.id not in entries:
                anchors = tuple(dict.fromkeys(a for a in (e.anchor, *e.anchors) if a))
                entries[e.id] = ForeignEntry(e.id, e.title, e.path, anchors, e.deprecated)
    return Catalog(name, spec, path, "project", entries, project_dir=config.project_dir)


def _sqlite_entries(path: Path) -> dict[str, ForeignEntry]:
    con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT id, title, file, anchor, deprecated FROM entries ORDER BY entry_key").fetchall()
    finally:
        con.close()
    return _entries_from_rows(rows)


def _json_entries(path: Path) -> dict[str, ForeignEntry]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("format") != "sotb-export":
        raise ValueError("not a `sotb export --format json` file")
    rows = [(r["id"], r["title"], r["file"], r.get("anchor", ""), r.get("deprecated", 0))
            for r in data["tables"]["entries"]]
    return _entries_from_rows(rows)


def _entries_from_rows(rows: list[tuple]) -> dict[str, ForeignEntry]:
    out: dict[str, ForeignEntry] = {}
    for ident, title, file, anchor, deprecated in rows:
        if ident not in out:
            out[str(ident)] = ForeignEntry(str(ident), str(title), str(file), (str(anchor),) if anchor else (),
                                           bool(deprecated))
    return out


def portfolio_files(config: Config) -> list[Path]:
    """Every file whose content decides how portfolio references resolve (for result caches)."""
    from sot_builder.project import discover

    out: list[Path] = []
    for spec in (config.values.get("portfolio") or {}).values():
        path = (config.project_dir / spec).resolve()
        if not path.is_dir():
            out.append(path)
            continue
        try:
            other = project_config(path)
        except (SotbError, OSError, ValueError):
            out.append(path / CONFIG_FILE)
            continue
        if other.config_file is not None:
            out.append(other.config_file)
        out.extend(src.abspath for src in discover(other))
    return out


# ---------------------------------------------------------------------------
# Resolving


@dataclass(frozen=True)
class Resolution:
    entry: ForeignEntry | None
    catalog: Catalog | None
    candidates: tuple[str, ...] = ()  # registries holding the ID (for `portfolio:` references)


def resolve(found: Mapping[str, Catalog], pref: PortfolioRef) -> Resolution:
    if pref.namespace != ANY or ANY in found:
        cat = found.get(pref.namespace)
        if cat is None or not cat.ok:
            return Resolution(None, cat)
        return Resolution(cat.entries.get(pref.id), cat)
    holders = [c for c in found.values() if c.ok and pref.id in c.entries]
    if len(holders) == 1:
        return Resolution(holders[0].entries[pref.id], holders[0], (holders[0].name,))
    return Resolution(None, None, tuple(c.name for c in holders))


def link_problem(project: Project, doc: Document, ref: Ref, cat: Catalog, entry: ForeignEntry) -> str:
    """Why a portfolio link does not land on its entry ("" when it does, or cannot be told)."""
    href = ref.href
    if not href or ref.kind != "link":
        return ""
    external = "://" in href or href.startswith(("mailto:", "tel:"))
    if not external and cat.project_dir is not None and ref.file:
        where = (project.project_dir / posixpath.dirname(doc.path) / ref.file).resolve()
        expected = (cat.project_dir / entry.file).resolve()
        if where != expected:
            return f"{entry.id} is in {_from_doc(project, doc, expected)}, not {ref.file}"
    if ref.fragment and entry.anchors:
        frag = unquote(ref.fragment)
        if frag not in entry.anchors and frag.lower() not in {a.lower() for a in entry.anchors}:
            return f"#{ref.fragment} is not the anchor of {entry.id} ('{entry.title}')"
    return ""


def expected_href(project: Project, doc: Document, cat: Catalog, entry: ForeignEntry) -> str:
    """A relative link from `doc` to a project registry's entry ("" for exports)."""
    if cat.project_dir is None:
        return f"#{entry.anchor}" if entry.anchor else ""
    rel = _from_doc(project, doc, (cat.project_dir / entry.file).resolve())
    return f"{rel}#{entry.anchor}" if entry.anchor else rel


def _from_doc(project: Project, doc: Document, path: Path) -> str:
    """`path` relative to the folder of `doc`, as a link from it would be written."""
    here = (project.project_dir / doc.path).resolve().parent
    return os.path.relpath(path, here).replace(os.sep, "/")

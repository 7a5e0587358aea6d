"""Infer a project's types from what its files already say (for `sotb init`).

Sources, strongest first: the UNIQUE_ID_SYSTEM prefix table, a
`.claude/domain-profile.yaml` `id_prefixes` map, frontmatter `id_prefix` keys,
the README file table, and the entry headings (and table-row IDs) found.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sot_builder.model import Document
from sot_builder.navigation import find_navigation
from sot_builder.output.text import plural
from sot_builder.parse import ID_RE, ParseOptions, parse_document
from sot_builder.registry import builtin_definitions

_PREFIX_CELL_RE = re.compile(r"\b([A-Z]{2,5})(?:-(?:#+|X+|N+|\d+|\*|\{[^}]*\}))?\b")
_FILE_CELL_RE = re.compile(r"(SoT\.[\w.\-]+\.md|[\w.\-]+\.md)")


@dataclass
class Inferred:
    prefix: str
    file: str = ""
    title: str = ""
    sources: list[str] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    table_rows: bool = False
    fields: list[dict[str, Any]] | None = None
    categories: list[dict[str, Any]] | None = None
    entries: int = 0


def find_root(project_dir: Path) -> str:
    """The folder of the SoT files: `SoT/` if present, else the first folder holding SoT.*.md."""
    if (project_dir / "SoT").is_dir():
        return "SoT"
    for path in sorted(project_dir.rglob("SoT.*.md")):
        if any(part.startswith(".") or part == "node_modules" for part in path.parts):
            continue
        return path.parent.relative_to(project_dir).as_posix() or "."
    return "SoT"


def infer_types(project_dir: Path, root: str, docs_globs: list[str]) -> tuple[dict[str, Inferred], list[str]]:
    """Return prefix -> Inferred, and the documents (outside the root) that mention IDs."""
    root_dir = project_dir / root
    docs: list[Document] = []
    for path in sorted(root_dir.rglob("*.md")) if root_dir.is_dir() else []:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        role = "readme" if path.name == "SoT.README.md" else "registry" if path.name == "SoT.UNIQUE_ID_SYSTEM.md" else "sot"
        docs.append(parse_document(data, path.relative_to(root_dir).as_posix(), role,
                                   ParseOptions(entries=role == "sot")))
    found: dict[str, Inferred] = {}

    def get(prefix: str) -> Inferred:
        return found.setdefault(prefix, Inferred(prefix))

    for doc in docs:
        if doc.role == "registry":
            _from_prefix_table(doc, get)
        if doc.role == "readme":
            _from_readme_table(doc, get)
    _from_domain_profile(project_dir, get)
    for doc in docs:
        if doc.role != "sot":
            continue
        owners = Counter(e.prefix for e in doc.entries)
        fm_prefixes = _frontmatter_prefixes(doc)
        for p in fm_prefixes:
            inf = get(p)
            inf.file = inf.file or doc.path
            inf.sources.append(f"frontmatter id_prefix of {doc.path}")
        for p, count in owners.items():
            inf = get(p)
            if not inf.file:
                inf.file = doc.path
                inf.sources.append(f"{plural(count, 'entry heading')} in {doc.path}")
        _table_rows(doc, owners, get)
    _collect(docs, found)
    return found, _documents_with_ids(project_dir, root, docs_globs)


def _from_prefix_table(doc: Document, get) -> None:
    for t in doc.tables:
        header = [h.strip("* ").lower() for h in t.header]
        if not any("prefix" in h for h in header):
            continue
        pi = next(i for i, h in enumerate(header) if "prefix" in h)
        fi = next((i for i, h in enumerate(header) if "file" in h or "location" in h or "sot" == h), -1)
        mi = next((i for i, h in enumerate(header) if h in ("meaning", "name", "type", "description", "purpose")), -1)
        for row in t.rows:
            cells = row.cells
            m = _PREFIX_CELL_RE.search(cells[pi]) if pi < len(cells) else None
            if not m:
                continue
            inf = get(m.group(1))
            if fi >= 0 and fi < len(cells):
                fm = _FILE_CELL_RE.search(cells[fi])
                if fm and not inf.file:
                    inf.file = fm.group(1).split("/")[-1]
            if mi >= 0 and mi < len(cells) and not inf.title:
                inf.title = re.sub(r"[*`]", "", cells[mi]).strip()
            inf.sources.append(f"prefix table in {doc.path}:{row.line}")


def _from_readme_table(doc: Document, get) -> None:
    for t in doc.tables:
        for row in t.rows:
            text = " | ".join(row.cells)
            fm = _FILE_CELL_RE.search(text)
            if not fm:
                continue
            for cell in row.cells[1:]:
                for m in re.finditer(r"\b([A-Z]{2,5})-(?:#+|X+|N+|\d{3,}|\*)", cell):
                    inf = get(m.group(1))
                    if not inf.file:
                        inf.file = fm.group(1).split("/")[-1]
                    inf.sources.append(f"file table in {doc.path}:{row.line}")


def _from_domain_profile(project_dir: Path, get) -> None:
    path = project_dir / ".claude" / "domain-profile.yaml"
    if not path.is_file():
        return
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except Exception:
        return
    prefixes = data.get("id_prefixes") if isinstance(data, dict) else None
    if isinstance(prefixes, list):
        prefixes = {str(p): "" for p in prefixes}
    if not isinstance(prefixes, dict):
        return
    for key, value in prefixes.items():
        m = _PREFIX_CELL_RE.search(str(key))
        if not m:
            continue
        inf = get(m.group(1))
        if isinstance(value, dict):
            f = value.get("file") or value.get("sot_file") or ""
            inf.file = inf.file or str(f).split("/")[-1]
            inf.title = inf.title or str(value.get("name") or value.get("title") or value.get("meaning") or "")
        elif isinstance(value, str):
            if value.endswith(".md"):
                inf.file = inf.file or value.split("/")[-1]
            else:
                inf.title = inf.title or value
        inf.sources.append(".claude/domain-profile.yaml id_prefixes")


def _frontmatter_prefixes(doc: Document) -> list[str]:
    fm = doc.frontmatter or {}
    value = fm.get("id_prefix") or fm.get("id_prefixes") or []
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        for m in _PREFIX_CELL_RE.finditer(str(v)):
            out.append(m.group(1))
    return out


def _table_rows(doc: Document, owners: Counter, get) -> None:
    """Prefixes whose IDs open table rows (and have no heading entries) are table-row types."""
    counts: Counter = Counter()
    for t in doc.tables:
        for row in t.rows:
            if row.cells:
                m = re.match(r"^(?:\*\*|`)?\[?([A-Z]{2,5})(?:-[A-Z]{2,5})?-\d{3,9}", row.cells[0])
                if m:
                    counts[m.group(1)] += 1
    for p, n in counts.items():
        if p not in owners and n >= 1:
            inf = get(p)
            inf.table_rows = True
            inf.file = inf.file or doc.path
            inf.sources.append(f"{plural(n, 'table row')} in {doc.path}")


def _collect(docs: list[Document], found: dict[str, Inferred]) -> None:
    """Numbers, fields and navigation ranges per prefix, to fit categories and fields."""
    table_prefixes = frozenset(p for p, i in found.items() if i.table_rows)
    values: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    ranges: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for doc in docs:
        if doc.role != "sot":
            continue
        if table_prefixes:
            doc = parse_document("\n".join(doc.lines), doc.path, "sot", ParseOptions(table_prefixes=table_prefixes))
        for e in doc.entries:
            inf = found.setdefault(e.prefix, Inferred(e.prefix, file=doc.path))
            inf.numbers.append(e.number)
            inf.entries += 1
            for f in e.fields:
                values[e.prefix][f.name.casefold()].append(f.value)
        nav = find_navigation(doc)
        if nav:
            for c in nav.categories:
                ranges[c.prefix].append((c.name, c.first, c.last))
    builtins = builtin_definitions()
    for p, inf in found.items():
        base = builtins.get(p)
        inf.categories = _fit_categories(base, inf.numbers, ranges.get(p, []))
        inf.fields = _fit_fields(base, values.get(p, {}), inf.entries)


def _fit_categories(base: dict | None, numbers: list[int], nav: list[tuple[str, int, int]]):
    if nav:
        cats, seen = [], set()
        for name, first, last in sorted(nav, key=lambda x: x[1]):
            if (first, last) in seen or any(first <= c["last"] and c["first"] <= last for c in cats):
                continue
            seen.add((first, last))
            cats.append({"name": name or f"{first}-{last}", "first": first, "last": last})
        if all(any(c["first"] <= n <= c["last"] for c in cats) for n in numbers):
            return cats
    if base is not None:
        cats = base.get("categories", [])
        if all(any(c["first"] <= n <= c["last"] for c in cats) for n in numbers):
            return None  # the built-in ranges fit: keep them
    if not numbers:
        return None if base is not None else []
    blocks = sorted({n // 100 for n in numbers})
    return [{"name": f"{b * 100:03d}-{b * 100 + 99:03d}", "first": max(b * 100, 0), "last": b * 100 + 99}
            for b in blocks]


def _fit_fields(base: dict | None, values: dict[str, list[str]], entries: int):
    """Built-in fields relaxed to what the entries already hold; None when they fit as they are."""
    if base is None:
        return None
    out, changed = [], False
    for f in base.get("fields", []):
        f = dict(f)
        have = values.get(f["name"].casefold(), [])
        if f.get("required") and len(have) < entries:
            f["required"] = False
            changed = True
        if f.get("kind") == "enum":
            allowed = {v.casefold() for v in f["values"]}
            extra = sorted({_first_word(v) for v in have if v and _first_word(v).casefold() not in allowed
                            and not v.startswith("{")} - {""})
            if extra:
                f["values"] = list(f["values"]) + extra
                changed = True
        if f.get("kind") == "date" and any(v and not re.match(r"^\d{4}-\d{2}-\d{2}", v) for v in have):
            f["kind"] = "text"
            changed = True
        out.append(f)
    return out if changed else None


def _first_word(value: str) -> str:
    v = re.sub(r"[*_`]", "", value).strip()
    return re.split(r"\s+[(\-—–:]|\s*\(", v, maxsplit=1)[0].strip()


def _documents_with_ids(project_dir: Path, root: str, globs: list[str]) -> list[str]:
    """Markdown files outside the SoT root that mention IDs (PRD.md, epics/...)."""
    if globs:
        return globs
    out = []
    for candidate in ("PRD.md", "README.md", "docs/PRD.md"):
        p = project_dir / candidate
        if p.is_file() and ID_RE.search(p.read_text(encoding="utf-8", errors="replace")):
            out.append(candidate)
    for folder in ("epics", "prd", "specs"):
        if (project_dir / folder).is_dir() and any((project_dir / folder).rglob("*.md")):
            out.append(f"{folder}/**/*.md")
    return [d for d in out if not d.startswith(root + "/")]


def types_config(found: dict[str, Inferred], root: str) -> dict[str, dict[str, Any]]:
    """The `[types]` table to write."""
    builtins = builtin_definitions()
    out: dict[str, dict[str, Any]] = {}
    for p in sorted(found):
        inf = found[p]
        spec: dict[str, Any] = {}
        base = builtins.get(p)
        file = inf.file.split("/")[-1] if inf.file else ""
        if file and (base is None or base.get("file") != file):
            spec["file"] = file
        if base is None:
            spec["title"] = inf.title or p
        if inf.table_rows and not (base and base.get("table_rows")):
            spec["table_rows"] = True
        if inf.categories is not None and (base is None or inf.categories != base.get("categories")):
            if inf.categories:
                spec["categories"] = inf.categories
        if inf.fields is not None:
            spec["fields"] = inf.fields
        out[p] = spec
    return out

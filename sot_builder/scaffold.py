"""Scaffolding: new SoT files, new entries and new type definitions.

Rendering and text edits are pure functions from values to text. The three
functions that write (`create_file`, `add_entry`, `write_type`) hold the
project lock for their whole read-decide-write cycle and write atomically,
keeping each file's line endings and byte-order mark. `new` and `add` refuse,
before writing anything, what the sync that follows them would refuse
(`guard.refuse_unsafe`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import json
import os
import posixpath
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sot_builder.config import Config, load_config
from sot_builder.diagnostics import Diagnostic, SotbError
from sot_builder.guard import refuse_unsafe
from sot_builder.model import Document, Entry, Ref
from sot_builder.parse import ID_RE, ParseOptions, parse_document, split_id, unclosed_block
from sot_builder.registry import (
    Category,
    FieldDef,
    Registry,
    RelationDef,
    TypeDef,
    builtin_definitions,
    make_type,
    validate_definition,
)

NEW_STATUSES = ("Draft", "Proposed", "Pending", "Planned")  # preferred Status of a new entry
_DEPRECATED_HEAD_RE = re.compile(r"\bdeprecated\b|\bretired\b|\bsuperseded\b", re.IGNORECASE)
_TAIL_HEAD_RE = re.compile(r"deprecated|cross-reference|update protocol|changelog|retired", re.IGNORECASE)
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_EMPTY_VALUES = {"-", "—", "n/a", "none", "tbd"}


# -- types ---------------------------------------------------------------------------

def resolve_type(registry: Registry, prefix: str) -> TypeDef | None:
    """The project's type for `prefix`, else the built-in one, else None."""
    t = registry.get(prefix)
    if t is not None:
        return t
    data = builtin_definitions().get(prefix)
    return make_type(data, f"built-in {prefix}") if data else None


def default_file_name(title: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", title)
    return f"SoT.{'_'.join(w.upper() for w in words) or 'UNTITLED'}.md"


def type_file(project: Any, t: TypeDef) -> str:
    """Project-relative path of the file that holds `t`'s entries."""
    if t.file:
        return project.rel_in_root(t.file)
    for doc in project.sot_documents():
        if any(e.prefix == t.prefix for e in doc.entries):
            return doc.path
    return project.rel_in_root(default_file_name(t.title))


def with_type(registry: Registry, t: TypeDef) -> Registry:
    """`registry` plus `t` (when the project does not register it yet)."""
    if registry.get(t.prefix) is t:
        return registry
    return Registry(types={**registry.types, **{p: t for p in t.prefixes}})


def _target_file(registry: Registry, prefix: str) -> str:
    t = resolve_type(registry, prefix)
    return t.file if t and t.file else f"SoT.{prefix}.md"


def _title_case(name: str) -> str:
    return " ".join(w.capitalize() for w in re.split(r"[-_\s]+", name) if w)


# -- rendering -----------------------------------------------------------------------

def yaml_scalar(text: str) -> str:
    """`text` as a YAML scalar: plain when it reads back unchanged, else double-quoted."""
    import yaml

    text = " ".join(text.split())
    try:
        if text and yaml.safe_load(f"k: {text}") == {"k": text}:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)


def checklist(t: TypeDef, registry: Registry) -> list[dict[str, str]]:
    """Bidirectional Reference Checklist items: one per relation target with a back-reference."""
    items: list[dict[str, str]] = []
    for r in t.relations:
        if not r.back_reference:
            continue
        for target in r.targets:
            section = inverse_section(registry, target, r.inverse, t.prefix)
            items.append({"file": _target_file(registry, target), "section": section, "prefix": target})
    return items


def inverse_section(registry: Registry, target_prefix: str, inverse: str, source_prefix: str = "") -> str:
    """The section of a `target_prefix` entry that lists its `inverse` references to `source_prefix`.

    The first section the inverse relation names, else the generic "Related".
    """
    tt = resolve_type(registry, target_prefix)
    for r in tt.relations if tt else ():
        if r.name == inverse and r.sections and (not r.targets or not source_prefix
                                                  or source_prefix in r.targets):
            return r.sections[0]
    return "Related"


def render_file(t: TypeDef, registry: Registry, config: Config, today: str) -> str:
    """The text of a new, empty SoT file for type `t`."""
    from sot_builder.render import render

    cats = t.categories or (Category("All", 1, 10**t.width - 1),)
    relations = [
        {"name": r.name, "inverse": r.inverse, "targets": list(r.targets),
         "files": [_target_file(registry, p) for p in r.targets]}
        for r in t.relations if r.targets
    ]
    cross = list(dict.fromkeys(f for r in relations for f in r["files"] if f != t.file))
    purpose = t.purpose or f"Source of Truth for {t.title}"
    authority = t.authority or f"This SoT defines every {t.prefix} entry"
    return render(
        "sot/file.md.j2", config.project_dir,
        prefix=t.prefix, title=t.title, purpose=purpose,
        fm_purpose=yaml_scalar(purpose), fm_authority=yaml_scalar(authority),
        id_pattern=f"{t.prefix}-{'#' * t.width}", today=today,
        categories=[{"name": c.name, "first_id": t.format_id(c.first), "last_id": t.format_id(c.last)}
                    for c in cats],
        cross_files=cross, relations=relations, checklist=checklist(t, registry),
        readme=config["readme"], id_system=config["id_system"],
    )


@dataclass(frozen=True)
class LinkItem:
    id: str
    href: str
    note: str


@dataclass(frozen=True)
class EntryField:
    name: str
    value: str
    markdown: bool = False  # True: already Markdown (a placeholder or links we built)


def render_link(item: LinkItem, project_dir: Path | None) -> str:
    from sot_builder.render import render

    return render("sot/link_item.md.j2", project_dir, id=item.id, href=item.href, note=item.note).rstrip("\n")


def render_entry(
    t: TypeDef,
    ident: str,
    title: str,
    fields: Sequence[EntryField],
    refs: Sequence[tuple[str, LinkItem]],
    level: int,
    today: str,
    project_dir: Path | None,
) -> str:
    """One entry: heading, `**ID**`, the given fields, then the type's sections.

    `refs` pairs a section title with a link item. Sections that repeat a field
    name are left out; sections that hold references appear only when there
    are references to list.
    """
    from sot_builder.render import render

    return render(
        "sot/entry.md.j2", project_dir, hashes="#" * level, id=ident, title=title,
        heading_title=heading_inline(title), fields=fields,
        sections=_entry_sections(t, fields, refs), today=today,
    )


def heading_inline(title: str) -> str:
    """`title` escaped for a heading line: Markdown escapes, plus the two heading-only traps.

    A trailing run of `#` would be read as a closing sequence, and a trailing
    `{#name}` as an explicit anchor; escaping their first `#` keeps them text.
    """
    from sot_builder.render import md_inline

    text = md_inline(title)
    text = re.sub(r"(^|\s)(#+)$", r"\1\\\2", text)
    return text.replace("{#", "{\\#")


def _entry_sections(t: TypeDef, fields: Sequence[EntryField],
                    refs: Sequence[tuple[str, LinkItem]]) -> list[dict[str, Any]]:
    field_names = {f.name.casefold() for f in fields} | {f.name.casefold() for f in t.fields}
    relation_sections = {s.casefold() for r in t.relations for s in r.sections}
    by_section: dict[str, list[LinkItem]] = {}
    for section, item in refs:
        by_section.setdefault(section, []).append(item)
    order = list(t.sections)
    for section in by_section:
        if section.casefold() not in {s.casefold() for s in order}:
            at = next((k for k, s in enumerate(order) if s.casefold() == "version history"), len(order))
            order.insert(at, section)
    out: list[dict[str, Any]] = []
    for s in order:
        key = s.casefold()
        items = next((v for k, v in by_section.items() if k.casefold() == key), None)
        if items:
            out.append({"title": s, "kind": "refs", "links": items})
        elif key == "version history":
            out.append({"title": s, "kind": "history", "links": []})
        elif key in field_names or key in relation_sections:
            continue
        else:
            out.append({"title": s, "kind": "text", "links": [], "placeholder": "{" + s + "}"})
    return out


# -- allocation ----------------------------------------------------------------------

def used_numbers(project: Any, t: TypeDef, ledger: Iterable[str] = ()) -> set[int]:
    """Every number of `t.prefix` that must not be handed out again.

    Defined entries, IDs named in any Deprecated section, IDs referenced from
    SoT files and documents (a new entry must not capture a dangling link),
    and IDs the ledger has seen.
    """
    used: set[int] = set()

    def note(ident: str) -> None:
        parts = split_id(ident)
        if parts and parts[0] == t.prefix and not parts[1]:
            used.add(parts[2])

    for ident in project.definitions:
        note(ident)
    for ident in ledger:
        note(ident)
    for doc in project.documents:
        for ident in deprecated_mentions(doc):
            note(ident)
        if doc.role in ("sot", "doc"):
            for ref in doc.refs:
                if ref.target:
                    note(ref.target)
    return used


def deprecated_mentions(doc: Document) -> list[str]:
    """IDs written anywhere inside a section whose heading says deprecated, retired or superseded."""
    found: list[str] = []
    heads = doc.headings
    for k, h in enumerate(heads):
        if not _DEPRECATED_HEAD_RE.search(h.text):
            continue
        end = next((h2.line - 1 for h2 in heads[k + 1:] if h2.level <= h.level), len(doc.lines))
        for line in doc.lines[h.line - 1:end]:
            found.extend(m.group(0) for m in ID_RE.finditer(line))
    return found


def next_number(first: int, last: int, used: Iterable[int]) -> int | None:
    """Highest used number in [first, last] plus one (gaps are never filled); None when full."""
    top = max((n for n in used if first <= n <= last), default=first - 1)
    return top + 1 if top < last else None


def pick_category(t: TypeDef, name: str | None) -> Category:
    if not t.categories:
        if name:
            raise SotbError(f"{t.prefix} has no categories; leave out --category")
        return Category("All", 1, 10**t.width - 1)
    if not name:
        return t.categories[0]
    c = t.category_named(name)
    if c is None:
        known = "; ".join(f"'{c.name}' ({t.format_id(c.first)} to {t.format_id(c.last)})" for c in t.categories)
        raise SotbError(f"{t.prefix} has no category '{name}'; choose one of: {known}")
    return c


def ledger_ids(project: Any) -> set[str]:
    """IDs the ledger has issued, when a ledger module is installed."""
    try:
        from sot_builder import ledger
    except ImportError:
        return set()
    fn = getattr(ledger, "ledger_ids", None)
    return set(fn(project)) if fn else set()


# -- text edits ----------------------------------------------------------------------

def split_text(text: str) -> list[str]:
    """Lines of `text` ("\\n" line ends) without terminators; a final newline gives no extra line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def join_lines(lines: list[str]) -> str:
    return "\n".join(lines) + "\n" if lines else ""


def insertion_line(doc: Document, prefix: str, number: int) -> int:
    """0-based index of the line a new entry `prefix`-`number` goes before.

    In number order among the file's active entries; with none, before the
    Deprecated / Cross-Reference Index / Update Protocol sections; else at the end.
    """
    active = [e for e in doc.entries if not e.in_deprecated_section and e.level > 0]
    same = [e for e in active if e.prefix == prefix and not e.subtype]
    later = [e for e in same if e.number > number]
    if later:
        return min(later, key=lambda e: e.number).line - 1
    after = max((e.end_line for e in active), default=0)
    if not after:
        from sot_builder.navigation import find_navigation

        nav = find_navigation(doc)
        after = nav.line if nav is not None else 0
    for h in doc.headings:
        if h.line > after and h.level <= 2 and _TAIL_HEAD_RE.search(h.text):
            return h.line - 1
    return len(doc.lines)


def entry_level(doc: Document) -> int:
    levels = [e.level for e in doc.entries if e.level > 0 and not e.in_deprecated_section]
    return min(levels) if levels else 2


def insert_block(lines: list[str], at: int, block: list[str]) -> list[str]:
    """Insert an entry block before line `at`, one blank line around it.

    In a file that separates entries with `---` rules (the text above ends
    with one), the new block gets its own closing rule.
    """
    head = lines[:at]
    tail = lines[at:]
    while head and not head[-1].strip():
        head.pop()
    while tail and not tail[0].strip():
        tail.pop(0)
    out = head + ([""] if head else []) + block
    if head and head[-1].strip() == "---":
        out += ["", "---"]
    return out + [""] + tail if tail else out


def insert_nav_item(lines: list[str], doc: Document, prefix: str, number: int, item: str) -> list[str]:
    """Add `item` under the Navigation category whose range holds `number`, in number order."""
    from sot_builder.navigation import find_navigation

    nav = find_navigation(doc)
    if nav is None:
        return lines
    cat = next((c for c in nav.categories if c.prefix == prefix and c.holds(number)), None)
    if cat is None:
        return lines
    at = cat.line  # 0-based index after the category line
    for ref in cat.items:
        parts = split_id(ref.target)
        if parts and parts[2] < number:
            at = max(at, ref.line)
    out = list(lines)
    out.insert(at, item)
    return out


def set_last_updated(lines: list[str], today: str) -> list[str]:
    if not lines or lines[0].rstrip() != "---":
        return lines
    out = list(lines)
    for k in range(1, min(len(out), 200)):
        if out[k].rstrip() in ("---", "..."):
            break
        if re.match(r"^last_updated\s*:", out[k]):
            out[k] = f"last_updated: {today}"
            break
    return out


# -- config edits --------------------------------------------------------------------

def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def types_table(config_file: Path) -> str:
    """The dotted name of the types table in this config file."""
    if config_file.name == "pyproject.toml":
        return "tool.sotb.types"
    data = tomllib.loads(config_file.read_text(encoding="utf-8"))
    return "tool.sotb.types" if "sotb" in data.get("tool", {}) else "types"


def config_with_types(text: str, table: str, additions: Sequence[tuple[str, dict[str, str]]]) -> str:
    """`text` with a `[table.PREFIX]` block appended per addition; checked by re-reading it."""
    out = text
    if out and not out.endswith("\n"):
        out += "\n"
    for prefix, spec in additions:
        out += f"\n[{table}.{prefix}]\n"
        out += "".join(f"{k} = {toml_string(v)}\n" for k, v in spec.items())
    try:
        after = _dig(tomllib.loads(out), table)
        before = _dig(tomllib.loads(text), table) if text.strip() else {}
    except tomllib.TOMLDecodeError as exc:
        raise SotbError(f"cannot add [{table}.PREFIX] to the configuration ({exc}); add it by hand") from None
    for prefix, spec in additions:
        if after.get(prefix) != spec:
            raise SotbError(f"cannot add [{table}.{prefix}] to the configuration; add it by hand")
    if any(after.get(k) != v for k, v in before.items()):
        raise SotbError(f"adding to [{table}] would change existing types; add them by hand")
    return out


def _dig(data: dict[str, Any], dotted: str) -> dict[str, Any]:
    for part in dotted.split("."):
        data = data.get(part, {})
        if not isinstance(data, dict):
            raise SotbError(f"[{dotted}] in the configuration is not a table")
    return data


def registration(project: Any, t: TypeDef) -> list[tuple[str, dict[str, str]]]:
    """The `[types.X]` blocks to add so that `t` is registered.

    When the configuration declares no types yet, sotb infers them from the
    entries; declaring the first type turns that off, so the inferred ones are
    declared along with it.
    """
    config = project.config
    if t.prefix in config["types"]:
        return []
    from sot_builder.project import implied_types

    out: list[tuple[str, dict[str, str]]] = []
    builtins = builtin_definitions()
    if not config["types"]:
        for prefix, spec in implied_types(project.documents, config).items():
            if prefix == t.prefix:
                continue
            same = prefix in builtins and builtins[prefix].get("file") == spec["file"]
            out.append((prefix, {} if same else {"file": spec["file"]}))
    out.append((t.prefix, {}))
    return out


# -- writing -------------------------------------------------------------------------

@dataclass
class Change:
    path: Path
    before: str | None  # None: a new file
    after: str
    newline: str = "\n"
    bom: bool = False

    def diff(self, project_dir: Path) -> str:
        rel = os.path.relpath(self.path, project_dir).replace(os.sep, "/")
        a = (self.before or "").splitlines(keepends=True)
        b = self.after.splitlines(keepends=True)
        old = "/dev/null" if self.before is None else f"a/{rel}"
        return "".join(difflib.unified_diff(a, b, old, f"b/{rel}"))


def read_change(path: Path) -> Change:
    from sot_builder.fsutil import read_text_keep

    text, newline, bom = read_text_keep(path)
    return Change(path, text, text, newline, bom)


def write_changes(changes: Iterable[Change]) -> list[Path]:
    from sot_builder.fsutil import write_text_keep

    written = []
    for c in changes:
        if c.before != c.after:
            after = c.after
            if c.before and not c.before.endswith("\n") and after.endswith("\n"):
                after = after[:-1]  # the file had no final newline; it keeps having none
            write_text_keep(c.path, after, c.newline, c.bom)
            written.append(c.path)
    return written


def run_sync(config: Config) -> list[str]:
    """Regenerate navigation, registry tables and back-references; the caller holds the lock.

    `sync_project(write=True)` takes the project lock itself, so the plan is
    made with `write=False` and written here, inside the caller's lock.
    Returns the project-relative paths written.
    """
    try:
        from sot_builder.sync import sync_project, write_changes
    except ImportError:  # an installation without sync: the files are still complete
        return []

    result = sync_project(config, write=False)
    write_changes(config, result.changes, "writing")
    return [c.path for c in result.changes]


def today_iso() -> str:
    """Today's date; SOURCE_DATE_EPOCH (seconds) pins it for reproducible output."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date().isoformat()
    return dt.date.today().isoformat()


def _lock(config: Config) -> Any:
    from sot_builder.fsutil import project_lock

    return project_lock(config.root)


def _load(config: Config) -> Any:
    from sot_builder.project import load_project

    return load_project(config)


def _options(project: Any, registry: Registry) -> ParseOptions:
    from sot_builder.project import parse_options

    return parse_options(project.config, registry, "sot")


# -- sotb new ------------------------------------------------------------------------

@dataclass
class NewResult:
    path: str  # project-relative path of the new file
    changes: list[Change]
    registry_files: list[str] = field(default_factory=list)  # README and ID system files created
    diagnostics: list[Diagnostic] = field(default_factory=list)
    written: bool = False


def create_file(config: Config, prefix: str, force: bool = False, dry_run: bool = False,
                today: str | None = None) -> NewResult:
    """Render the SoT file of `prefix`, register the type, write, sync, then lint the result."""
    if config.config_file is None:
        raise SotbError("no sotb.toml or [tool.sotb] found; run `sotb init --new` first")
    if dry_run:
        return _plan_file(config, prefix, force, today or today_iso())
    with _lock(config):
        result = _plan_file(config, prefix, force, today or today_iso())
        write_changes(result.changes)
        fresh = load_config(config.project_dir, config.config_file)
        run_sync(fresh)
    result.written = True
    result.diagnostics = lint_paths(fresh, {result.path, _rel_root(fresh, fresh["readme"]),
                                            _rel_root(fresh, fresh["id_system"])})
    return result


def _plan_file(config: Config, prefix: str, force: bool, today: str) -> NewResult:
    project = _load(config)
    refuse_unsafe(project)  # what the sync that follows would refuse
    t = resolve_type(project.registry, prefix)
    if t is None:
        raise SotbError(f"unknown type {prefix}: define it first with `sotb type add --prefix {prefix}`")
    if t.prefix != prefix:
        raise SotbError(f"{prefix} is an alias of {t.prefix}; run `sotb new {t.prefix}`")
    if not t.file:
        t = replace(t, file=default_file_name(t.title))
    rel = project.rel_in_root(t.file)
    path = config.project_dir / rel
    if path.is_symlink() and not path.exists():
        raise SotbError("is a symbolic link that leads nowhere (a loop or a missing target); "
                        "remove it or point it at a file first", rel)
    if path.exists() and not force:
        raise SotbError(f"{rel} already exists; use --force to overwrite it")
    registry = with_type(project.registry, t)
    text = render_file(t, registry, config, today)
    before = read_change(path) if path.exists() else Change(path, None, text)
    changes = [replace(before, after=text)]
    created = _missing_registry_files(config)
    changes.extend(created.values())
    additions = registration(project, t)
    if additions:
        assert config.config_file is not None
        c = read_change(config.config_file)
        c.after = config_with_types(c.before or "", types_table(config.config_file), additions)
        changes.append(c)
    return NewResult(rel, changes, list(created))


# The files `sotb init --new` starts a registry with, by the setting that names them
REGISTRY_TEMPLATES = {"readme": "init/SoT.README.md.j2", "id_system": "init/SoT.UNIQUE_ID_SYSTEM.md.j2"}


def _missing_registry_files(config: Config) -> dict[str, Change]:
    """Project-relative path -> the README or ID system file, as `sotb init --new` writes it,
    that the project does not have: the new SoT file is listed and registered in them."""
    from sot_builder.render import render

    out = {}
    for key, template in REGISTRY_TEMPLATES.items():
        path = config.root / str(config[key])
        if not path.exists() and not path.is_symlink():
            out[_rel_root(config, str(config[key]))] = Change(path, None, render(template, config.project_dir))
    return out


def lint_paths(config: Config, paths: set[str]) -> list[Diagnostic]:
    """Lint the project and keep the problems found in `paths`."""
    from sot_builder import engine
    from sot_builder.project import load_project

    project = load_project(config)
    return [d for d in engine.run(project, engine.active_rules(config.values)) if d.path in paths]


def _rel_root(config: Config, name: str) -> str:
    root = config.root_rel
    return name if root == "." else f"{root}/{name}"


# -- sotb add ------------------------------------------------------------------------

@dataclass
class AddResult:
    id: str
    path: str
    changes: list[Change]
    entry: Entry  # as parsed from the planned text


def add_entry(
    config: Config,
    prefix: str,
    title: str,
    category: str | None = None,
    fields: Sequence[tuple[str, str]] = (),
    refs: Sequence[str] = (),
    reserve: bool = False,
    dry_run: bool = False,
    today: str | None = None,
) -> AddResult:
    """Allocate the next ID of `prefix` and write its entry; the whole cycle holds the lock."""
    if not " ".join(title.split()):
        raise SotbError("the title is empty")
    today = today or today_iso()
    if dry_run:
        return _plan_entry(config, prefix, title, category, fields, refs, reserve=False, today=today)
    warm_up(config)
    with _lock(config):
        result = _plan_entry(config, prefix, title, category, fields, refs, reserve, today)
        write_changes(result.changes)
        record_issued(config, result.entry)  # before the sync, so that the dashboard sees it recorded
        run_sync(config)
    return result


def warm_up(config: Config) -> None:
    """Do the work that does not depend on the files before taking the lock.

    Concurrent writers then wait for each other only while they read, decide
    and write, not while they import modules and load the built-in types.
    """
    from sot_builder.render import environment

    builtin_definitions()
    local = str(config.project_dir / "templates")
    for name in ("sot/entry.md.j2", "sot/link_item.md.j2"):
        environment(local).get_template(name)  # the cache key render() uses
    with contextlib.suppress(ImportError):
        import sot_builder.sync  # noqa: F401


def _plan_entry(config: Config, prefix: str, title: str, category: str | None,
                fields: Sequence[tuple[str, str]], refs: Sequence[str], reserve: bool,
                today: str) -> AddResult:
    project = _load(config)
    refuse_unsafe(project)  # what the sync that follows would refuse
    _refuse_damaged_ledger(config)
    t = resolve_type(project.registry, prefix)
    if t is None:
        raise SotbError(f"unknown type {prefix}: define it with `sotb type add` and run `sotb new {prefix}`")
    rel = type_file(project, t)
    path = config.project_dir / rel
    if not path.is_file():
        raise SotbError(f"{rel} does not exist; run `sotb new {t.prefix}` first")
    registry = with_type(project.registry, t)
    cat = pick_category(t, category)
    entry_fields = build_fields(project, t, dict(_check_field_names(t, fields)), rel)
    targets = [_defined(project, x.strip()) for x in dict.fromkeys(refs)]
    for target in targets:  # each gets its link back, from the sync that follows
        unclosed = unclosed_block(project.by_path[target.path])
        if unclosed is not None:
            raise SotbError(f"{target.id} cannot get its link back: {unclosed.message}", target.path,
                            unclosed.line)
    options = _options(project, registry)
    change = read_change(path)
    assert change.before is not None
    lines = split_text(change.before)
    doc = parse_document(join_lines(lines), rel, "sot", options)
    unclosed = unclosed_block(doc)
    if unclosed is not None:  # checked before an ID is reserved
        raise SotbError(unclosed.message, rel, unclosed.line)
    number = _allocate(config, t, cat, used_numbers(project, t, ledger_ids(project)), reserve)
    ident = t.format_id(number)
    links = link_sections(registry, t, ident, rel, targets)
    block = render_entry(t, ident, title, entry_fields, links, entry_level(doc), today, config.project_dir)
    lines = insert_block(lines, insertion_line(doc, t.prefix, number), split_text(block))
    doc = parse_document(join_lines(lines), rel, "sot", options)
    entry = next(e for e in doc.entries if e.id == ident)
    item = render_link(LinkItem(ident, f"#{entry.anchor}", entry.title), config.project_dir)
    lines = insert_nav_item(lines, doc, t.prefix, number, item)
    change.after = join_lines(set_last_updated(lines, today))
    return AddResult(ident, rel, [change], entry)


def _allocate(config: Config, t: TypeDef, cat: Category, used: set[int], reserve: bool) -> int:
    if reserve:
        from sot_builder.reserve import open_store, store_url

        url = store_url(config["reservation_db"])
        if not url:
            raise SotbError("--reserve needs a reservation store: set reservation_db in the "
                            "configuration or SOTB_RESERVATION_DB")
        with open_store(url, base=config.project_dir) as store:
            return store.reserve(t.prefix, cat.first, cat.last, taken=used,
                                 who=os.environ.get("USER", ""))
    number = next_number(cat.first, cat.last, used)
    if number is None:
        raise SotbError(
            f"category '{cat.name}' of {t.prefix} is full ({t.format_id(cat.first)} to "
            f"{t.format_id(cat.last)} used or retired); choose another --category"
        )
    return number


def _check_field_names(t: TypeDef, fields: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    out = []
    for name, value in fields:
        fd = t.field_def(name.strip())
        if fd is None and t.fields:
            known = ", ".join(f.name for f in t.fields)
            raise SotbError(f"{t.prefix} has no field '{name}'; its fields are: {known}")
        out.append((fd.name if fd else name.strip(), value))
    return out


def placeholder(fd: FieldDef) -> str:
    if fd.placeholder:
        return fd.placeholder
    if fd.kind == "date":
        return "{YYYY-MM-DD}"
    if fd.kind in ("reference", "references"):
        return "{" + " or ".join(f"{p}-NNN" for p in fd.prefixes or ("ID",)) + "}"
    if fd.kind == "enum":
        return "{" + " | ".join(fd.values) + "}"
    return "{" + fd.name + "}"


def build_fields(project: Any, t: TypeDef, given: dict[str, str], rel: str) -> list[EntryField]:
    """Every required field (a placeholder when not given) and every given one, in type order."""
    out: list[EntryField] = []
    names = [f.name for f in t.fields] + [n for n in given if t.field_def(n) is None]
    for name in names:
        fd = t.field_def(name) or FieldDef(name)
        if name in given:
            out.append(field_value(project, t, fd, given[name], rel))
        elif fd.required:
            default = _new_status(fd) if fd.kind == "enum" else ""
            out.append(EntryField(fd.name, default or placeholder(fd), markdown=not default))
    return out


def _new_status(fd: FieldDef) -> str:
    return next((v for want in NEW_STATUSES for v in fd.values if v.casefold() == want.casefold()), "")


def field_value(project: Any, t: TypeDef, fd: FieldDef, value: str, rel: str) -> EntryField:
    """A given value, checked against the field's kind; references become links."""
    value = " ".join(value.split())
    if fd.kind == "enum":
        match = next((v for v in fd.values if re.match(re.escape(v) + r"(?:$|[\s(\-—–:,;.])", value, re.IGNORECASE)), None)
        if match is None:
            raise SotbError(f"{t.prefix} '{fd.name}' must be one of: {' | '.join(fd.values)} (got '{value}')")
        return EntryField(fd.name, match + value[len(match):])
    if fd.kind == "date" and value.lower() not in _EMPTY_VALUES:
        m = _DATE_RE.match(value)
        try:
            ok = bool(m) and dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))) is not None  # type: ignore[union-attr]
        except ValueError:
            ok = False
        if not ok:
            raise SotbError(f"{t.prefix} '{fd.name}' must be a YYYY-MM-DD date (got '{value}')")
    if fd.pattern and not re.search(fd.pattern, value):
        raise SotbError(f"{t.prefix} '{fd.name}' must match {fd.pattern} (got '{value}')")
    if fd.kind in ("reference", "references"):
        ids = [m.group(0) for m in ID_RE.finditer(value)]
        if ids:
            links = []
            for ident in ids:
                if fd.prefixes and ident.split("-", 1)[0] not in fd.prefixes:
                    raise SotbError(f"{t.prefix} '{fd.name}' references {' or '.join(fd.prefixes)} IDs (got {ident})")
                target = _defined(project, ident)
                links.append(f"[{ident}]({_href(rel, target)})")
            return EntryField(fd.name, ", ".join(links), markdown=True)
    return EntryField(fd.name, value)


def _defined(project: Any, ident: str) -> Entry:
    if split_id(ident) is None:
        raise SotbError(f"'{ident}' is not an ID (PREFIX-NNN)")
    target = project.entry(ident)
    if target is None:
        raise SotbError(f"{ident} is not defined by any entry")
    return target


def _href(from_path: str, target: Entry) -> str:
    if target.path == from_path:
        return f"#{target.anchor}"
    rel = posixpath.relpath(target.path, posixpath.dirname(from_path) or ".")
    return f"{quote(rel)}#{target.anchor}" if target.anchor else quote(rel)


def relation_for(t: TypeDef, target_prefix: str) -> RelationDef | None:
    """The relation an entry of `t` has with an entry of `target_prefix`."""
    for r in t.relations:
        if target_prefix in r.targets:
            return r
    return next((r for r in t.relations if not r.targets), None)


def link_sections(registry: Registry, t: TypeDef, ident: str, rel: str,
                  targets: Sequence[Entry]) -> list[tuple[str, LinkItem]]:
    """(section, link item) for each entry a new entry references.

    The section is the first one the relation names, so that the reference
    reads as that relation; when it would not, the item says the relation.
    """
    out = []
    for target in targets:
        r = relation_for(t, target.prefix)
        section = (r.sections[0] if r.sections else _title_case(r.name)) if r else "Related"
        note = target.title
        if r is not None and registry.relation_of(t.prefix, _probe(target.id, ident, section)) != r.name:
            note = f"{r.name}: {note}"
        out.append((section, LinkItem(target.id, _href(rel, target), note)))
    return out


def _probe(target: str, source: str, section: str) -> Ref:
    return Ref(target, 1, 1, "link", label=target, source=source, section=section)


def _refuse_damaged_ledger(config: Config) -> None:
    """Refuse before writing the entry what `record_issued` would refuse after it."""
    try:
        from sot_builder import ledger
    except ImportError:
        return
    ledger.check_appendable(config)


def record_issued(config: Config, entry: Entry) -> bool:
    """Append an "issued" event for `entry` to the ledger, when the project keeps one."""
    try:
        from sot_builder import ledger
    except ImportError:
        return False
    if not ledger.ledger_path(config).is_file():
        return False
    root = config.root_rel
    file = entry.path if root == "." else posixpath.relpath(entry.path, root)
    ledger.append_events(config, [{"event": "issued", "id": entry.id, "title": entry.title,
                                   "file": file, "status": entry.status}])
    return True


# -- sotb type add -------------------------------------------------------------------

_CATEGORY_RE = re.compile(
    r"^\s*(?P<name>.+?)\s*[=:]\s*(?:[A-Z]{2,5}-)?(?P<first>\d+)\s*(?:-|–|\.\.|\bto\b)\s*"
    r"(?:[A-Z]{2,5}-)?(?P<last>\d+)\s*$"
)
_FIELD_NAME_RE = re.compile(r"^[^*:|\n\[\]`]{1,80}$")
_KINDS = ("text", "enum", "date", "reference", "references")

# Words that carry no meaning when comparing a new type with the existing ones.
_GENERIC = frozenset(
    "a an and or of for the to in on with by our their its all every each this that these those "
    "source truth sot file files entry entries track tracks tracked tracking record records list "
    "lists registry define defines defined specification specifications spec specs we us it "
    "what which how about any new from into at as is are be per some various kept keep used".split()
)
# Words that mark transient material rather than durable, identifiable artifacts: the first
# kind always, the second when nothing else describes the entries ("notes", "meeting notes").
_TRANSIENT = frozenset("scratch scratchpad misc miscellaneous random brainstorm brainstorming todo "
                       "jotting".split())
_TRANSIENT_ALONE = frozenset("note idea thought meeting session".split())
# Category names and the words that point at them (for "add X entries in its Y range").
_CATEGORY_HINTS = {
    "security": frozenset("authentication authorization auth login logout password permission access "
                          "credential token session encryption privacy role".split()),
    "billing": frozenset("payment invoice price pricing subscription refund charge tax plan".split()),
}
METHODOLOGY_PHRASES = ("best practice", "best practices")


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def content_words(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z0-9]+", text.casefold()) if w not in _GENERIC}


def parse_category(text: str) -> dict[str, Any]:
    m = _CATEGORY_RE.match(text)
    if not m:
        raise SotbError(f"bad category '{text}': write NAME=FIRST-LAST, e.g. 'Payment providers=1-99'")
    return {"name": " ".join(m.group("name").split()), "first": int(m.group("first")),
            "last": int(m.group("last"))}


def parse_field(text: str) -> dict[str, Any]:
    """`NAME[:KIND[=ARGS]][:required]`, e.g. `Status:enum=Active,Expired:required`."""
    name, *parts = [p.strip() for p in text.split(":")]
    if not _FIELD_NAME_RE.match(name):
        raise SotbError(f"bad field name '{name}': 1-80 characters, none of * : | [ ] `")
    out: dict[str, Any] = {"name": name, "required": False, "kind": "text"}
    for part in parts:
        word, _, args = part.partition("=")
        word = word.strip().casefold()
        values = [v.strip() for v in re.split(r"[,|]", args) if v.strip()]
        if word in ("required", "optional"):
            out["required"] = word == "required"
        elif word in _KINDS:
            out["kind"] = word
            if word == "enum":
                out["values"] = values
            elif word in ("reference", "references") and values:
                out["prefixes"] = values
        else:
            raise SotbError(f"bad field '{text}': '{part}' is not a kind ({', '.join(_KINDS)}) "
                            "nor required/optional")
    if out["kind"] == "enum" and not out.get("values"):
        raise SotbError(f"bad field '{text}': an enum needs values, e.g. '{name}:enum=Active,Retired'")
    return out


def parse_relation(text: str) -> dict[str, Any]:
    """`NAME:INVERSE[:TARGET,...][:SECTION]`, e.g. `used-by:uses-partner:API:Integration Points`."""
    parts = [p.strip() for p in text.split(":")]
    if len(parts) < 2 or len(parts) > 4:
        raise SotbError(f"bad relation '{text}': write NAME:INVERSE[:TARGETS[:SECTION]], "
                        "e.g. 'used-by:uses-partner:API'")
    name, inverse = parts[0].casefold(), parts[1].casefold()
    targets = [p.strip().upper() for p in parts[2].split(",") if p.strip()] if len(parts) > 2 else []
    section = parts[3] if len(parts) > 3 and parts[3] else _title_case(name)
    return {"name": name, "inverse": inverse, "targets": targets, "sections": [section],
            "back_reference": bool(targets)}


def build_definition(
    prefix: str,
    title: str,
    purpose: str,
    categories: Sequence[str],
    fields: Sequence[str],
    relations: Sequence[str] = (),
    file: str = "",
    authority: str = "",
    keywords: Sequence[str] = (),
    sections: Sequence[str] = (),
    width: int = 3,
) -> dict[str, Any]:
    """A type definition (the YAML's data) from the answers of `sotb type add`."""
    title = " ".join(title.split())
    rels = [parse_relation(r) for r in relations]
    if not any(r["name"] == "related" for r in rels):
        rels.append({"name": "related", "inverse": "related",
                     "sections": ["Related", "Related IDs", "Cross-References", "See Also"],
                     "back_reference": False})
    data: dict[str, Any] = {
        "prefix": prefix.strip().upper(),
        "title": title,
        "file": file.strip() or default_file_name(title),
        "purpose": " ".join(purpose.split()),
        "authority": " ".join(authority.split()) or f"This SoT defines every {title} entry",
        "keywords": [k.strip() for k in keywords if k.strip()],
        "width": width,
        "categories": [parse_category(c) for c in categories],
        "fields": [parse_field(f) for f in fields],
        "relations": rels,
        "sections": [s.strip() for s in sections if s.strip()] or ["Version History"],
    }
    if not data["keywords"]:
        del data["keywords"]
    return data


def known_types(registry: Registry) -> list[TypeDef]:
    """The project's types and every built-in type, one per prefix."""
    out = {t.prefix: t for t in registry.unique_types()}
    for prefix, data in builtin_definitions().items():
        out.setdefault(prefix, make_type(data, f"built-in {prefix}"))
    return sorted(out.values(), key=lambda t: t.prefix)


def type_problems(data: dict[str, Any], registry: Registry,
                  purity_words: Sequence[str] = ()) -> list[str]:
    """Why this type should not be created (the seed's anti-patterns); empty when it is fine."""
    problems: list[str] = []
    prefix = data.get("prefix", "")
    existing = registry.get(prefix)
    builtin = builtin_definitions().get(prefix)
    if existing is not None:
        problems.append(f"prefix {prefix} is already registered ({existing.title}, {existing.file or 'no file'}); "
                        f"add {prefix} entries with `sotb add {prefix}` instead")
    elif builtin is not None:
        problems.append(f"prefix {prefix} is a built-in type ({builtin['title']}); "
                        f"use it with `sotb new {prefix}`")
    for t in known_types(registry):
        if t.prefix != prefix and t.file and t.file == data.get("file"):
            problems.append(f"file {t.file} already belongs to {t.prefix} ({t.title}); choose another --file")
    text = f"{data.get('title', '')} {data.get('purpose', '')}"
    words = content_words(text)
    transient = sorted(words & (_TRANSIENT | _TRANSIENT_ALONE))
    if words & _TRANSIENT or (words and words <= _TRANSIENT_ALONE):
        problems.append(
            f"{', '.join(transient)}: transient material, not durable artifacts that need IDs and "
            "cross-references; keep it in a scratch file outside SoT/ and move durable insights "
            "into an existing type (e.g. CFD customer feedback)")
    if not data.get("categories"):
        problems.append("no ID structure: give at least one category with a number range "
                        "(--category 'NAME=FIRST-LAST')")
    if not any(f.get("required") for f in data.get("fields", ())):
        problems.append("no required fields: an entry type needs fields that every entry carries "
                        "(--field 'Status:enum=Active,Deprecated:required')")
    if existing is None and builtin is None and words:
        dup = duplicate_of(words, registry, prefix)
        if dup:
            problems.append(dup)
    problems.extend(methodology_problems(data, purity_words))
    return problems


def duplicate_of(words: set[str], registry: Registry, prefix: str) -> str:
    """A reason when an existing type already covers what `words` describe, else ""."""
    best: tuple[float, TypeDef] | None = None
    for t in known_types(registry):
        if t.prefix == prefix:
            continue
        keywords = content_words(" ".join(t.keywords))
        vocabulary = keywords | content_words(t.title) | content_words(t.purpose)
        hits = words & vocabulary
        score = len(hits) / len(words)
        if hits & keywords and score >= 0.6 and (best is None or score > best[0]):
            best = (score, t)
    if best is None:
        return ""
    t = best[1]
    where = ""
    title_words = content_words(t.title)
    for c in t.categories:
        names = content_words(c.name) - title_words  # "Core rules" of Business Rules says only "core"
        hints = set().union(*(_CATEGORY_HINTS.get(n, frozenset()) for n in names)) if names else set()
        if words & (names | hints):
            where = f" in its '{c.name}' category ({t.format_id(c.first)} to {t.format_id(c.last)})"
            break
    return (f"duplicates {t.prefix} ({t.title}, {t.file}): add {t.prefix} entries{where} "
            "instead of a new type that fragments the same information")


def methodology_problems(data: dict[str, Any], purity_words: Sequence[str] = ()) -> list[str]:
    """Methodology text (best practices, tips, how-tos) has no place in a SoT template."""
    phrases = list(dict.fromkeys([*METHODOLOGY_PHRASES, *purity_words]))
    places: list[tuple[str, str]] = [
        ("title", data.get("title", "")), ("purpose", data.get("purpose", "")),
        ("authority", data.get("authority", "")),
    ]
    places += [("section", s) for s in data.get("sections", ())]
    places += [("field", f.get("name", "")) for f in data.get("fields", ())]
    places += [("field placeholder", f.get("placeholder", "")) for f in data.get("fields", ())]
    places += [("category", c.get("name", "")) for c in data.get("categories", ())]
    places += [("relation section", s) for r in data.get("relations", ()) for s in r.get("sections", ())]
    out = []
    for where, text in places:
        for phrase in phrases:
            if text and re.search(r"\b" + re.escape(phrase) + r"\b", text, re.IGNORECASE):
                out.append(f"methodology text '{phrase}' in the {where} '{text}': a SoT template holds "
                           "structure only; keep methodology in separate guidance")
                break
    return out


@dataclass
class TypeResult:
    definition: dict[str, Any]
    changes: list[Change]


def type_yaml(data: dict[str, Any], why: str) -> str:
    import yaml

    head = f"# {data['prefix']}: {data['title']}\n"
    if why.strip():
        head += "".join(f"# {line}\n" for line in _wrap(f"Why a new type: {' '.join(why.split())}"))
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
    return head + body


def _wrap(text: str, width: int = 96) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]


def write_type(config: Config, data: dict[str, Any], why: str, dry_run: bool = False) -> TypeResult:
    """Validate `data`, refuse anti-patterns, then write `types/x.yaml` and `[types.X]`."""
    if config.config_file is None:
        raise SotbError("no sotb.toml or [tool.sotb] found; run `sotb init --new` first")
    if not " ".join(why.split()):
        raise SotbError("say why the existing types cannot hold these entries (--why)")
    validate_definition(data, f"type {data.get('prefix', '?')}")
    with _lock(config) if not dry_run else contextlib.nullcontext():
        project = _load(config)
        problems = type_problems(data, project.registry, config["purity_sections"])
        if problems:
            raise SotbError("refusing to define type " + data["prefix"] + ":\n  - " + "\n  - ".join(problems))
        rel = f"types/{data['prefix'].lower()}.yaml"
        path = config.project_dir / rel
        if path.exists():
            raise SotbError(f"{rel} already exists; remove it or register it by hand")
        text = type_yaml(data, why)
        c = read_change(config.config_file)
        c.after = config_with_types(c.before or "", types_table(config.config_file),
                                    [(p, s) for p, s in registration(project, make_type(data, rel))
                                     if p != data["prefix"]] + [(data["prefix"], {"definition": rel})])
        changes = [Change(path, None, text), c]
        if not dry_run:
            write_changes(changes)
            from sot_builder.registry import load_definition_file

            load_definition_file(path)  # what we wrote reads back as a valid definition
    return TypeResult(data, changes)

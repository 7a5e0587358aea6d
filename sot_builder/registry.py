"""The type registry: which prefixes exist, their files, categories, fields, relations.

Type definitions are YAML or JSON files validated by `schemas/type.schema.json`.
Built-in definitions live in `schemas/types/`; a project names the types it
uses in `[tool.sotb.types]`, optionally overriding keys or pointing at its own
definition files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sot_builder.diagnostics import SotbError
from sot_builder.model import Entry, Ref
from sot_builder.paths import schemas_dir

RELATION_SECTION_WORDS = (
    "related", "cross-reference", "integration points", "dependencies", "depends on",
    "see also", "links", "references", "used by", "uses", "implements", "affects",
)


@dataclass(frozen=True)
class Category:
    name: str
    first: int
    last: int

    def holds(self, number: int) -> bool:
        return self.first <= number <= self.last


@dataclass(frozen=True)
class FieldDef:
    name: str
    required: bool = False
    kind: str = "text"
    values: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    relation: str = ""
    pattern: str = ""
    placeholder: str = ""


@dataclass(frozen=True)
class RelationDef:
    name: str
    inverse: str
    targets: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    back_reference: bool = False


@dataclass(frozen=True)
class TypeDef:
    prefix: str
    title: str
    file: str = ""
    aliases: tuple[str, ...] = ()
    purpose: str = ""
    authority: str = ""
    keywords: tuple[str, ...] = ()
    width: int = 3
    table_rows: bool = False
    categories: tuple[Category, ...] = ()
    fields: tuple[FieldDef, ...] = ()
    relations: tuple[RelationDef, ...] = ()
    sections: tuple[str, ...] = ()
    source: str = ""  # where the definition came from

    @property
    def prefixes(self) -> tuple[str, ...]:
        return (self.prefix, *self.aliases)

    def category_of(self, number: int) -> Category | None:
        for c in self.categories:
            if c.holds(number):
                return c
        return None

    def category_named(self, name: str) -> Category | None:
        want = _norm(name)
        for c in self.categories:
            if _norm(c.name) == want:
                return c
        return None

    def field_def(self, name: str) -> FieldDef | None:
        want = name.casefold()
        for f in self.fields:
            if f.name.casefold() == want:
                return f
        return None

    def format_id(self, number: int, prefix: str = "") -> str:
        return f"{prefix or self.prefix}-{number:0{self.width}d}"


@dataclass
class Registry:
    types: dict[str, TypeDef] = field(default_factory=dict)  # by every prefix it owns

    def get(self, prefix: str) -> TypeDef | None:
        return self.types.get(prefix)

    def unique_types(self) -> list[TypeDef]:
        seen: dict[str, TypeDef] = {}
        for t in self.types.values():
            seen.setdefault(t.prefix, t)
        return sorted(seen.values(), key=lambda t: t.prefix)

    def inverse_of(self, relation: str) -> str:
        for t in self.types.values():
            for r in t.relations:
                if r.name == relation:
                    return r.inverse
                if r.inverse == relation:
                    return r.name
        return relation

    def relation_of(self, entry_prefix: str, ref: Ref) -> str:
        """The relation a reference expresses, or "" when it is a plain mention."""
        t = self.get(entry_prefix)
        if t is None or not ref.target:
            return ""
        target_prefix = ref.target.split("-", 1)[0]
        # 1. an annotation after the link: "- [API-045](...) — implements: ..."
        if ref.note:
            m = re.match(r"^([a-z][a-z0-9-]*)\s*:", ref.note)
            if m:
                name = m.group(1)
                if any(name in (r.name, r.inverse) for tt in self.types.values() for r in tt.relations):
                    return name
        # 2. a reference field with a declared relation
        if ref.field:
            fd = t.field_def(ref.field)
            if fd is not None and fd.relation:
                return fd.relation
        # 3. a relation whose sections name the section or the bold label
        context = " ".join(x for x in (ref.section, ref.field) if x).casefold()
        candidates = [r for r in t.relations if not r.targets or target_prefix in r.targets]
        for r in candidates:
            if any(s.casefold() in context for s in r.sections if s):
                return r.name
        # 4. a relation section in general: the first relation that accepts the target
        if context and any(w in context for w in RELATION_SECTION_WORDS):
            for r in candidates:
                if r.targets and target_prefix in r.targets:
                    return r.name
            return "related"
        return ""


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.casefold()).strip()


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads((schemas_dir() / "type.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def validate_definition(data: Any, source: str) -> None:
    """Raise SotbError naming the file and JSON pointer of the first problem."""
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        pointer = "/" + "/".join(str(p) for p in err.absolute_path)
        raise SotbError(f"invalid type definition at {pointer}: {err.message}", source)
    if isinstance(data, dict):
        _check_semantics(data, source)


def _check_semantics(data: dict, source: str) -> None:
    cats = data.get("categories", [])
    for i, c in enumerate(cats):
        if c["first"] > c["last"]:
            raise SotbError(f"invalid type definition at /categories/{i}: first > last", source)
        for j, d in enumerate(cats[:i]):
            if c["first"] <= d["last"] and d["first"] <= c["last"]:
                raise SotbError(
                    f"invalid type definition at /categories/{i}: overlaps /categories/{j}", source
                )
    for i, f in enumerate(data.get("fields", [])):
        pattern = f.get("pattern")
        if pattern:
            _check_pattern(pattern, f"{source}", f"/fields/{i}/pattern")


_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*](?:[^()\\]|\\.)*\)\s*[+*{]")


def _check_pattern(pattern: str, source: str, pointer: str) -> None:
    """Reject patterns that do not compile or that can backtrack catastrophically."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise SotbError(f"invalid type definition at {pointer}: bad regular expression: {exc}", source)
    if _NESTED_QUANTIFIER.search(pattern) or re.search(r"\\1|\(\?<?[=!]", pattern):
        raise SotbError(
            f"invalid type definition at {pointer}: nested quantifiers, back-references and "
            "look-arounds are not allowed (catastrophic backtracking)",
            source,
        )


def load_definition_file(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SotbError(f"cannot read type definition: {exc}", str(path))
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except Exception as exc:  # yaml and json errors both
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        line = line + 1 if line is not None else getattr(exc, "lineno", None)
        raise SotbError(f"cannot parse type definition: {str(exc).splitlines()[0]}", str(path), line)
    validate_definition(data, str(path))
    return data


@lru_cache(maxsize=1)
def builtin_definitions() -> dict[str, dict]:
    """The shipped definitions (validated against the meta-schema by the test suite)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out: dict[str, dict] = {}
    for path in sorted((schemas_dir() / "types").glob("*.yaml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
        out[data["prefix"]] = data
    return out


def make_type(data: dict, source: str) -> TypeDef:
    return TypeDef(
        prefix=data["prefix"],
        title=data["title"],
        file=data.get("file", ""),
        aliases=tuple(data.get("aliases", ())),
        purpose=data.get("purpose", ""),
        authority=data.get("authority", ""),
        keywords=tuple(data.get("keywords", ())),
        width=data.get("width", 3),
        table_rows=data.get("table_rows", False),
        categories=tuple(Category(c["name"], c["first"], c["last"]) for c in data.get("categories", ())),
        fields=tuple(
            FieldDef(
                f["name"], f.get("required", False), f.get("kind", "text"), tuple(f.get("values", ())),
                tuple(f.get("prefixes", ())), f.get("relation", ""), f.get("pattern", ""),
                f.get("placeholder", ""),
            )
            for f in data.get("fields", ())
        ),
        relations=tuple(
            RelationDef(r["name"], r["inverse"], tuple(r.get("targets", ())),
                        tuple(r.get("sections", ())), r.get("back_reference", False))
            for r in data.get("relations", ())
        ),
        sections=tuple(data.get("sections", ())),
        source=source,
    )


def build_registry(types_config: dict[str, Any], base_dir: Path, source: str) -> Registry:
    """Build the project's registry from `[tool.sotb.types]`.

    Each key is a prefix; its value is a table of overrides on top of the
    built-in definition of that prefix (if any) or of the file named by
    `definition` (relative to the config file).
    """
    builtins = builtin_definitions()
    reg = Registry()
    for prefix, spec in types_config.items():
        spec = dict(spec or {})
        where = f"{source} [types.{prefix}]"
        definition = spec.pop("definition", None)
        if definition:
            path = (base_dir / definition).resolve()
            data = dict(load_definition_file(path))
            where = str(definition)
        elif prefix in builtins:
            data = dict(builtins[prefix])
            where = f"built-in {prefix}"
        else:
            data = {"prefix": prefix, "title": spec.get("title", prefix)}
        data.update(spec)
        data["prefix"] = prefix
        if spec or definition or prefix not in builtins:
            validate_definition(data, where)  # shipped definitions are validated by the tests
        t = make_type(data, where)
        for p in t.prefixes:
            if p in reg.types:
                raise SotbError(f"prefix {p} is defined twice in [types]", source)
            reg.types[p] = t
    return reg


def required_fields(t: TypeDef) -> list[FieldDef]:
    return [f for f in t.fields if f.required]


def entry_type(reg: Registry, entry: Entry) -> TypeDef | None:
    return reg.get(entry.prefix)

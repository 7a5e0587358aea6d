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


_ANNOTATION_RE = re.compile(r"^([a-z][a-z0-9-]*)\s*:")


@dataclass
class Registry:
    types: dict[str, TypeDef] = field(default_factory=dict)  # by every prefix it owns
    # relation_of() answers by (entry prefix, target prefix, annotation, field, section)
    _relations: dict[tuple[str, str, str, str, str], str] = field(
        default_factory=dict, init=False, repr=False, compare=False)

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
        """The relation a reference expresses, or "" when it is a plain mention.

        Answers are remembered by everything they depend on (the registry is not
        changed once built).
        """
        target = ref.target
        if not target:
            return ""
        note = ref.note
        m = _ANNOTATION_RE.match(note) if note and ":" in note else None
        key = (entry_prefix, target.partition("-")[0], m.group(1) if m else "", ref.field, ref.section)
        found = self._relations.get(key)
        if found is None:
            found = self._relations[key] = self._relation(*key)
        return found

    def target_prefix_matters(self, entry_prefix: str) -> bool:
        """Whether `relation_of(entry_prefix, ref)` may depend on the prefix of the ID referenced:
        only when a relation of the entry's type names target prefixes. When it does not, the
        answer for a reference without a ':' in its note (so without an annotation) depends only
        on the reference's field and section."""
        t = self.get(entry_prefix)
        return t is not None and any(r.targets for r in t.relations)

    def _relation(self, entry_prefix: str, target_prefix: str, annotation: str, field_name: str,
                  section: str) -> str:
        t = self.get(entry_prefix)
        if t is None:
            return ""
        # 1. an annotation after the link: "- [API-045](...) — implements: ..."
        if annotation and any(annotation in (r.name, r.inverse) for tt in self.types.values()
                              for r in tt.relations):
            return annotation
        # 2. a reference field with a declared relation
        if field_name:
            fd = t.field_def(field_name)
            if fd is not None and fd.relation:
                return fd.relation
        # 3. a relation whose sections name the section or the bold label
        context = " ".join(x for x in (section, field_name) if x).casefold()
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

    from sot_builder.config import load_schema

    return Draft202012Validator(load_schema(schemas_dir() / "type.schema.json"))


def validate_definition(data: Any, source: str) -> None:
    """Raise SotbError naming the file and JSON pointer of the first problem."""
    if not isinstance(data, dict):
        raise SotbError("invalid type definition at /: the file must hold a mapping of keys to values", source)
    from sot_builder.config import check_no_nul, schema_errors

    check_no_nul(data, source, "type definition", ("file",))
    errors = schema_errors(_validator(), data, schemas_dir() / "type.schema.json")
    if errors:
        err = errors[0]
        pointer = "/" + "/".join(str(p) for p in err.absolute_path)
        message = err.message if len(err.message) <= 200 else err.message[:200] + "..."  # never echo a whole file
        raise SotbError(f"invalid type definition at {pointer}: {message}", source)
    _check_semantics(data, source)


MAX_ID_NUMBER = 999_999_999  # parse.ID_RE: 3 to 9 digits


def _check_semantics(data: dict, source: str) -> None:
    cats = data.get("categories", [])
    width = data.get("width", 3)
    for i, c in enumerate(cats):
        if c["first"] > c["last"]:
            raise SotbError(f"invalid type definition at /categories/{i}: first > last", source)
        # an ID number has 3 to 9 digits (zero-padded to `width`): others would never parse as IDs
        if c["last"] > MAX_ID_NUMBER:
            raise SotbError(f"invalid type definition at /categories/{i}/last: {c['last']} has more "
                            f"than {len(str(MAX_ID_NUMBER))} digits, the most an ID number may have", source)
        if max(width, len(str(c["first"]))) < 3:
            raise SotbError(f"invalid type definition at /categories/{i}/first: IDs need at least 3 "
                            f"digits; set width to 3 or more", source)
        for j, d in enumerate(cats[:i]):
            if c["first"] <= d["last"] and d["first"] <= c["last"]:
                raise SotbError(
                    f"invalid type definition at /categories/{i}: overlaps /categories/{j}", source
                )
    for i, f in enumerate(data.get("fields", [])):
        pattern = f.get("pattern")
        if pattern:
            _check_pattern(pattern, f"{source}", f"/fields/{i}/pattern")


def _check_pattern(pattern: str, source: str, pointer: str) -> None:
    """Reject patterns that do not compile or that can backtrack catastrophically."""
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise SotbError(f"invalid type definition at {pointer}: bad regular expression: {exc}", source)
    why = backtracking_risk(pattern)
    if why:
        raise SotbError(
            f"invalid type definition at {pointer}: {why} (catastrophic backtracking); "
            "nested quantifiers, alternation under a quantifier, back-references and look-arounds "
            "are not allowed",
            source,
        )


# Characters used to decide whether two repeated parts of a pattern can match the same text.
_PROBE = tuple(chr(c) for c in range(32, 127)) + ("\t", "é", "Ж", "€", "\u00a0", "٣", "中")


def backtracking_risk(pattern: str) -> str:
    """Why matching `pattern` can take exponential or high-polynomial time, or "".

    Exponential: a repeated group holding a repeat or an alternation (`(a+)+`,
    `((a+))+`, `(a|aa)*`). Polynomial: three or more unbounded repeats in a row
    that can all match the same character (`\\w+\\w+\\w+x`, `.*,.*,.*`), which on a
    1000-character value never ends. Back-references and look-arounds are refused.
    """
    from re import _constants as C  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    try:
        tree = _parser.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return "not a regular expression"
    state = {"common": None, "run": 0}
    return _walk(list(tree), C, False, state)


def _walk(items: list, C: Any, repeated: bool, state: dict) -> str:
    every = frozenset(_PROBE)
    for op, av in items:
        if op in (C.GROUPREF, C.GROUPREF_EXISTS):
            return "a back-reference"
        if op in (C.ASSERT, C.ASSERT_NOT):
            return "a look-around"
        if op is C.SUBPATTERN:
            why = _walk(list(av[-1]), C, repeated, state)
        elif op is C.ATOMIC_GROUP:
            why = _walk(list(av), C, repeated, state)
        elif op is C.BRANCH:
            if repeated:
                return "an alternation under a quantifier"
            why = next((w for alt in av[1] if (w := _walk(list(alt), C, False, dict(state)))), "")
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            low, high, sub = av
            many = high > 1
            if many and repeated:
                return "a quantifier inside a repeated group"
            why = _walk(list(sub), C, repeated or many, {"common": None, "run": 0})
            if not why and high == C.MAXREPEAT:
                chars = _chars(list(sub), C) or every
                common = state["common"]
                if common is not None and common & chars:
                    state["common"], state["run"] = common & chars, state["run"] + 1
                else:
                    state["common"], state["run"] = chars, 1
                if state["run"] >= 3:
                    return "three unbounded repeats in a row can match the same text"
            elif not why and low >= 1:
                _separate(_chars(list(sub), C) or every, state)
        else:
            chars = _chars([(op, av)], C)
            if chars is not None:
                _separate(chars, state)
            why = ""
        if why:
            return why
    return ""


def _separate(chars: frozenset[str], state: dict) -> None:
    """A required character the current run of repeats cannot match ends the run."""
    common = state["common"]
    if common is not None and not common & chars:
        state["common"], state["run"] = None, 0


def _chars(items: list, C: Any) -> frozenset[str] | None:
    """The probe characters a single-character item matches; None for anything longer."""
    if len(items) != 1:
        return None
    op, av = items[0]
    if op is C.LITERAL:
        return frozenset({chr(av)})
    if op is C.NOT_LITERAL:
        return frozenset(c for c in _PROBE if c != chr(av))
    if op is C.ANY:
        return frozenset(_PROBE)
    if op is C.IN:
        negate = any(o is C.NEGATE for o, _ in av)
        hit = frozenset(c for c in _PROBE if any(_in_item(c, o, a, C) for o, a in av))
        return frozenset(_PROBE) - hit if negate else hit
    return None


_CATEGORY_RE = {"DIGIT": r"\d", "NOT_DIGIT": r"\D", "SPACE": r"\s", "NOT_SPACE": r"\S",
                "WORD": r"\w", "NOT_WORD": r"\W"}


def _in_item(c: str, op: Any, av: Any, C: Any) -> bool:
    if op is C.LITERAL:
        return c == chr(av)
    if op is C.RANGE:
        return av[0] <= ord(c) <= av[1]
    if op is C.CATEGORY:
        name = str(av).removeprefix("CATEGORY_").removeprefix("UNI_")
        return bool(re.match(_CATEGORY_RE.get(name, "."), c))
    return False


def load_definition_file(path: Path, validate: bool = True) -> dict:
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
    if validate:  # False only for bytes that passed before (see build_registry)
        validate_definition(data, str(path))
    return data


@lru_cache(maxsize=4)
def builtin_definitions(memo_dir: Path | None = None) -> dict[str, dict]:
    """The shipped definitions (validated against the meta-schema by the test suite).

    With `memo_dir` (an existing folder), they are read from a JSON copy kept
    there, named by the hash of the YAML files: a run then neither imports yaml
    nor parses YAML (together 0.02-0.03 s).
    """
    paths = sorted((schemas_dir() / "types").glob("*.yaml"))
    texts = [p.read_bytes() for p in paths]
    memo = _builtin_memo(memo_dir, paths, texts)
    if memo is not None:
        try:
            copy = json.loads(memo.read_bytes())
        except (OSError, ValueError):
            copy = None
        if _usable_copy(copy, [p.stem for p in paths]):
            return copy
    out: dict[str, dict] = {}
    for path, text in zip(paths, texts):
        out[path.stem] = _read_builtin(path, text)
    if memo is not None:
        _write_memo(memo, out)
    return out


def _usable_copy(data: Any, prefixes: list[str]) -> bool:
    """Whether a JSON copy read from the cache folder (which lies in the project, where a commit
    can put anything) holds one definition per shipped file, each of which builds and passes
    the checks a project's own definitions do but for the JSON Schema: else the YAML files
    are read again, and the copy written anew."""
    if not isinstance(data, dict) or sorted(data) != prefixes:
        return False
    try:
        for prefix, definition in data.items():
            if not isinstance(definition, dict) or definition.get("prefix") != prefix:
                return False
            _check_semantics(definition, f"built-in {prefix}")
            make_type(definition, f"built-in {prefix}")
    except Exception:  # noqa: BLE001 - whatever the copy holds, the shipped files decide
        return False
    return True


def _read_builtin(path: Path, text: bytes) -> dict:
    """One shipped definition; a damaged one is a broken installation, named with its line."""
    import yaml

    from sot_builder.config import broken_installation

    try:
        data = yaml.load(text.decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except UnicodeDecodeError as exc:
        raise broken_installation(path, None, f"not UTF-8: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise broken_installation(path, mark.line + 1 if mark else None, what) from None
    if not isinstance(data, dict):
        raise broken_installation(path, 1, "not a mapping of keys to values")
    if data.get("prefix") != path.stem:
        raise broken_installation(path, None, f"its prefix is not {path.stem}")
    return data


def _builtin_memo(memo_dir: Path | None, paths: list[Path], texts: list[bytes]) -> Path | None:
    from sot_builder.hashing import blake2b

    if memo_dir is None or not memo_dir.is_dir():
        return None
    h = blake2b(digest_size=12)
    for path, text in zip(paths, texts):
        h.update(path.name.encode() + b"\0" + text + b"\0")
    return memo_dir / f"types-builtin-{h.hexdigest()}.json"


def _write_memo(memo: Path, data: dict) -> None:
    """Keep `data` as `memo`, in place of older copies."""
    from sot_builder.fsutil import atomic_write_bytes

    try:
        text = json.dumps(data, ensure_ascii=False)
    except (TypeError, ValueError):  # a value JSON cannot hold: read the YAML every time
        return
    try:
        for old in memo.parent.glob("types-builtin-*.json"):
            old.unlink()
        atomic_write_bytes(memo, text.encode("utf-8"))
    except OSError:
        pass


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


def build_registry(types_config: dict[str, Any], base_dir: Path, source: str,
                   memo_dir: Path | None = None, reserved: dict[str, str] | None = None) -> Registry:
    """Build the project's registry from `[tool.sotb.types]`.

    Each key is a prefix; its value is a table of overrides on top of the
    built-in definition of that prefix (if any) or of the file named by
    `definition` (relative to the config file). With `memo_dir`, a marker there
    remembers that exactly these definitions passed the JSON Schema, so the
    next run neither imports jsonschema nor validates them again. `reserved`
    maps file names no type may own (the README, the ID system file) to their setting.
    """
    builtins = builtin_definitions(memo_dir)
    reg = Registry()
    marker = _valid_marker(memo_dir, types_config, base_dir)
    known_valid = marker is not None and marker.is_file()
    for prefix, spec in types_config.items():
        spec = dict(spec or {})
        where = f"{source} [types.{prefix}]"
        definition = spec.pop("definition", None)
        if definition:
            path = (base_dir / definition).resolve()
            data = dict(load_definition_file(path, validate=not known_valid))
            where = str(definition)
            _check_prefix(data, prefix, where)
        elif prefix in builtins:
            data = dict(builtins[prefix])
            where = f"built-in {prefix}"
        else:
            data = {"prefix": prefix, "title": spec.get("title", prefix)}
        data.update(spec)
        data["prefix"] = prefix
        if spec or definition or prefix not in builtins:  # shipped definitions are validated by the tests
            if known_valid:
                _check_semantics(data, where)
            else:
                _validate_override(data, where, builtins.get(prefix) if not definition else None)
        t = _make_checked(data, where, prefix)
        _check_file(t, reserved or {})
        for p in t.prefixes:
            if p in reg.types:
                raise SotbError(f"prefix {p} is defined twice in [types]", source)
            reg.types[p] = t
    _check_targets(reg, builtins)
    if marker is not None and not known_valid:
        from sot_builder.config import remember_valid

        remember_valid(marker, "types-valid-*")
    return reg


def _check_prefix(data: Any, prefix: str, where: str) -> None:
    """A definition file is named by its own prefix: `[types.ORD]` loads a file with `prefix: ORD`."""
    found = data.get("prefix") if isinstance(data, dict) else None
    if found != prefix:
        raise SotbError(f"invalid type definition at /prefix: {found!r} does not match "
                        f"[types.{prefix}] that names this file", where)


def _validate_override(data: dict, where: str, builtin: dict | None) -> None:
    """validate_definition; when a shipped definition is itself invalid, the installation is to blame."""
    try:
        validate_definition(data, where)
    except SotbError:
        if builtin is not None:
            try:
                validate_definition(builtin, where)
            except SotbError as exc:
                raise _broken_builtin(builtin["prefix"], str(exc).removeprefix(f"{where}: ")) from None
        raise


def _broken_builtin(prefix: str, what: str) -> SotbError:
    from sot_builder.config import broken_installation

    return broken_installation(schemas_dir() / "types" / f"{prefix}.yaml", None, what)


def _make_checked(data: dict, where: str, prefix: str) -> TypeDef:
    """make_type; a shipped definition too damaged to use is a broken installation."""
    try:
        return make_type(data, where)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if not where.startswith("built-in "):
            raise
        raise _broken_builtin(prefix, f"not a valid type definition ({exc!r})") from None


def _check_file(t: TypeDef, reserved: dict[str, str]) -> None:
    """A type's file is a Markdown file of the root itself, and not a registry file. Checked
    here as well as by the JSON Schema, which a marker in the cache folder lets a run skip:
    `sotb new` and `sotb add` write this file."""
    if t.file and ("/" in t.file or "\\" in t.file or not t.file.endswith(".md")):
        raise SotbError(f"invalid type definition at /file: {t.file!r} is not the name of a "
                        "Markdown file in `root` (no folder)", t.source)
    if t.file in reserved:
        raise SotbError(f"invalid type definition at /file: {t.file} is the `{reserved[t.file]}` "
                        f"file; give {t.prefix} a file of its own", t.source)


def _check_targets(reg: Registry, builtins: dict[str, dict]) -> None:
    """Relations and reference fields may name types the project does not use, but not
    prefixes no type defines (typos)."""
    for t in reg.unique_types():
        named = [(f"/relations/{i}/targets/{j}", target)
                 for i, r in enumerate(t.relations) for j, target in enumerate(r.targets)]
        named += [(f"/fields/{i}/prefixes/{j}", prefix)
                  for i, f in enumerate(t.fields) for j, prefix in enumerate(f.prefixes)]
        for pointer, prefix in named:
            if prefix not in reg.types and prefix not in builtins:
                raise SotbError(f"invalid type definition at {pointer}: no type defines the "
                                f"prefix {prefix}", t.source)


def _valid_marker(memo_dir: Path | None, types_config: dict[str, Any], base_dir: Path) -> Path | None:
    """The marker that these type definitions (and the files they name) passed validation."""
    from sot_builder import __version__
    from sot_builder.hashing import blake2b

    from sot_builder.fsutil import folder_identity

    identity = folder_identity(memo_dir, make=memo_dir.is_dir()) if memo_dir is not None else None
    if identity is None:  # a marker a commit put in the cache folder never matches
        return None
    h = blake2b(digest_size=12)
    h.update(__version__.encode() + identity.encode() + json.dumps(types_config, sort_keys=True, default=str).encode())
    for spec in types_config.values():
        if isinstance(spec, dict) and spec.get("definition"):
            try:
                h.update((base_dir / str(spec["definition"])).read_bytes())
            except OSError:
                return None  # loading it reports the problem
    return memo_dir / f"types-valid-{h.hexdigest()}"



def required_fields(t: TypeDef) -> list[FieldDef]:
    return [f for f in t.fields if f.required]


def entry_type(reg: Registry, entry: Entry) -> TypeDef | None:
    return reg.get(entry.prefix)

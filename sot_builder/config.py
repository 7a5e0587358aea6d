"""Configuration: defaults < `[tool.sotb]` / `sotb.toml` < command-line flags."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from sot_builder.diagnostics import SotbError
from sot_builder.paths import schemas_dir

CONFIG_FILE = "sotb.toml"

DEFAULTS: dict[str, Any] = {
    "root": "SoT",
    "documents": [],
    "exclude": [],
    "readme": "SoT.README.md",
    "id_system": "SoT.UNIQUE_ID_SYSTEM.md",
    "types": {},
    "select": [],
    "ignore": [],
    "severity": {},
    "per_path_ignores": {},
    "code_spans": True,
    "bare_references": True,
    "strict": False,
    "cache_dir": ".sotb_cache",
    "ledger": "SoT.LEDGER.jsonl",
    "sql_migrations": [],
    "reservation_db": "",
    "back_references": {},
    "purity_sections": [
        "Best Practices", "Key Learnings", "Lessons Learned", "Implementation Notes",
        "Tips", "How to", "How To", "Guidelines", "Methodology", "Recommendations",
    ],
    "dashboard": {},
    "portfolio": {},
    "jobs": 0,
}


@dataclass(frozen=True)
class Config:
    project_dir: Path  # folder of the config file (or the working directory)
    config_file: Path | None
    values: dict[str, Any]
    origins: dict[str, str] = field(default_factory=dict)  # key -> "default" | file | "command line"

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def root(self) -> Path:
        return (self.project_dir / self.values["root"]).resolve()

    @property
    def root_rel(self) -> str:
        return self.values["root"].strip("/") or "."

    def with_overrides(self, **overrides: Any) -> "Config":
        values = dict(self.values)
        origins = dict(self.origins)
        for key, value in overrides.items():
            if value is None:
                continue
            values[key] = value
            origins[key] = "command line"
        return Config(self.project_dir, self.config_file, values, origins)


def find_config(start: Path) -> tuple[Path | None, dict[str, Any]]:
    """Walk up from `start`: the first sotb.toml, or pyproject.toml with [tool.sotb]."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate, _read_toml(candidate)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            section = _sotb_table(_read_toml(pyproject), pyproject)
            if section is not None:
                return pyproject, section
        if (folder / ".git").exists():
            break
    return None, {}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # editors on Windows may start it with a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise SotbError(f"cannot read configuration: {exc}", str(path))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        raise SotbError(f"invalid TOML: {exc}", str(path), line)
    if path.name == CONFIG_FILE and isinstance(data.get("tool"), dict) and "sotb" in data["tool"]:
        data = _sotb_table(data, path) or {}
    return data


def _sotb_table(data: dict[str, Any], path: Path) -> dict[str, Any] | None:
    """The `[tool.sotb]` table of parsed TOML, or None when there is none."""
    tool = data.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise SotbError("[tool] must be a table", str(path))
    section = tool.get("sotb")
    if section is not None and not isinstance(section, dict):
        raise SotbError("[tool.sotb] must be a table", str(path))
    return section


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(schemas_dir() / "config.schema.json"))


def schema_errors(validator: Any, data: Any, schema: Path) -> list[Any]:
    """The validation errors of `data`, first by position; a schema that fails is a broken installation."""
    try:
        return sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    except Exception as exc:  # plain TOML or YAML values cannot fail a sound schema
        raise broken_installation(schema, None, f"not a usable JSON Schema: {exc}") from None


def validate(data: dict[str, Any], source: str) -> None:
    errors = schema_errors(_validator(), data, schemas_dir() / "config.schema.json")
    if errors:
        err = errors[0]
        pointer = "/" + "/".join(str(p) for p in err.absolute_path)
        if err.validator == "additionalProperties":
            raise SotbError(f"unknown configuration key at {pointer}: {err.message}", source)
        raise SotbError(f"invalid configuration at {pointer}: {err.message}", source)


def load_config(start: Path | None = None, explicit: Path | None = None) -> Config:
    if explicit is not None:
        path: Path | None = explicit.resolve()
        if not path.is_file():
            raise SotbError("configuration file not found", str(explicit))
        data = _read_toml(path)
        if path.name == "pyproject.toml":
            data = _sotb_table(data, path) or {}
    else:
        path, data = find_config(start or Path.cwd())
    source = str(path) if path else "defaults"
    project_dir = path.parent if path else (start or Path.cwd()).resolve()
    check_no_nul(data, source, "configuration")
    if not _validated_before(project_dir, data):
        validate(data, source)
        _remember_valid(project_dir, data)
    values = json.loads(json.dumps(DEFAULTS))
    origins = {k: "default" for k in DEFAULTS}
    for key, value in data.items():
        values[key] = value
        origins[key] = source
    for key in ("ledger", "readme", "id_system"):
        _check_in_root(key, values[key], source)
    for key in ("readme", "id_system"):
        _check_plain_name(key, values[key], source)
    _check_type_files(values, source)
    return Config(project_dir, path, values, origins)


# Settings that name files, folders or patterns of them ("*": every item, "@": every key).
PATH_SETTINGS = (
    "root", "readme", "id_system", "cache_dir", "ledger", "reservation_db", "documents/*",
    "exclude/*", "sql_migrations/*", "per_path_ignores/@", "dashboard/file", "portfolio/*",
    "types/*/file", "types/*/definition",
)


def check_no_nul(data: Any, source: str, what: str, settings: tuple[str, ...] = PATH_SETTINGS) -> None:
    """Refuse a NUL character in a path setting: no file name or pattern may hold one."""
    for setting in settings:
        for pointer, value in _values_at(data, setting.split("/"), ""):
            if isinstance(value, str) and "\0" in value:
                raise SotbError(f"invalid {what} at {pointer}: NUL character in a file name", source)


def _values_at(data: Any, parts: list[str], pointer: str) -> Any:
    """(JSON pointer, value) of every value the setting path `parts` reaches in `data`."""
    if not parts:
        yield pointer, data
        return
    head, rest = parts[0], parts[1:]
    if head == "@" and isinstance(data, dict):
        yield from ((pointer, key) for key in data)
    elif head == "*" and isinstance(data, (dict, list)):
        items = data.items() if isinstance(data, dict) else enumerate(data)
        for key, value in items:
            yield from _values_at(value, rest, f"{pointer}/{key}")
    elif isinstance(data, dict) and head in data:
        yield from _values_at(data[head], rest, f"{pointer}/{head}")


def _check_in_root(key: str, name: str, source: str) -> None:
    """The ledger, README and ID-system files lie below `root`: no absolute path, no `..`
    (sotb writes them, and never writes outside the project)."""
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or windows.anchor or ".." in windows.parts:
        raise SotbError(f"invalid configuration at /{key}: {name!r} is outside the project; "
                        "give a path relative to `root`, without `..`", source)


def _check_plain_name(key: str, name: str, source: str) -> None:
    """The README and ID-system files are found by their name among the files of `root`
    itself: a name with a folder would never be found, and sync would never fill them."""
    if "/" in name or "\\" in name:
        raise SotbError(f"invalid configuration at /{key}: {name!r} names a folder; give the name "
                        "of a file in `root` itself", source)


def _check_type_files(values: dict[str, Any], source: str) -> None:
    """A type's entries need a file of their own, not the README or the ID system file."""
    taken = {values["readme"]: "readme", values["id_system"]: "id_system"}
    for prefix, spec in (values["types"] or {}).items():
        name = spec.get("file") if isinstance(spec, dict) else None
        if name in taken:
            raise SotbError(f"invalid configuration at /types/{prefix}/file: {name} is the "
                            f"`{taken[name]}` file; give the type a file of its own", source)


def load_schema(path: Path) -> Any:
    """A JSON Schema shipped with sotb; a missing or broken one is a broken installation."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise broken_installation(path, None, f"cannot read: {exc}") from None
    except ValueError as exc:
        raise broken_installation(path, getattr(exc, "lineno", None), str(exc)) from None
    if not isinstance(schema, dict):
        raise broken_installation(path, 1, "not a JSON object")
    return schema


def broken_installation(path: Path, line: int | None, what: str) -> SotbError:
    """The error for a damaged file shipped with sotb: reinstalling it is the fix."""
    where = f"{path}:{line}" if line else str(path)
    return SotbError(f"broken installation: {where}: {what}; reinstall sotb")


def _memo_path(project_dir: Path, data: dict[str, Any]) -> Path | None:
    """A marker that exactly this configuration passed validation with this sotb version, in
    this checkout's cache folder: named by its identity too, so that a marker a commit put
    there never matches (None while the folder has no identity)."""
    from sot_builder import __version__
    from sot_builder.fsutil import folder_identity
    from sot_builder.hashing import blake2b

    folder = project_dir / str(data.get("cache_dir", DEFAULTS["cache_dir"]))
    identity = folder_identity(folder, make=folder.is_dir())  # markers go only in a folder that is there
    if identity is None:
        return None
    key = blake2b(
        (__version__ + identity + json.dumps(data, sort_keys=True, default=str)).encode(), digest_size=12
    ).hexdigest()
    return folder / f"config-valid-{key}"


def _validated_before(project_dir: Path, data: dict[str, Any]) -> bool:
    if not isinstance(data.get("cache_dir", ""), str):
        return False
    try:
        marker = _memo_path(project_dir, data)
        return marker is not None and marker.is_file()
    except OSError:
        return False


def _remember_valid(project_dir: Path, data: dict[str, Any]) -> None:
    """Skip the JSON Schema import next time (it is a noticeable share of a lint run)."""
    marker = _memo_path(project_dir, data)
    if marker is not None:
        remember_valid(marker, "config-valid-*")


def remember_valid(marker: Path, family: str) -> None:
    """Leave `marker` in its (existing) cache folder, in place of the others matching `family`."""
    try:
        if marker.parent.is_dir():
            for old in marker.parent.glob(family):
                old.unlink()
            # never through a link: one planted there would make this create its target
            os.close(os.open(marker, os.O_CREAT | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), 0o666))
    except OSError:
        pass

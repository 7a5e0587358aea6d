"""Configuration: defaults < `[tool.sotb]` / `sotb.toml` < command-line flags."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
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
            data = _read_toml(pyproject)
            section = data.get("tool", {}).get("sotb")
            if section is not None:
                return pyproject, section
        if (folder / ".git").exists():
            break
    return None, {}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SotbError(f"cannot read configuration: {exc}", str(path))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        raise SotbError(f"invalid TOML: {exc}", str(path), line)
    if path.name == CONFIG_FILE and "tool" in data and "sotb" in data.get("tool", {}):
        data = data["tool"]["sotb"]
    return data


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads((schemas_dir() / "config.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def validate(data: dict[str, Any], source: str) -> None:
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
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
            data = data.get("tool", {}).get("sotb", {})
    else:
        path, data = find_config(start or Path.cwd())
    source = str(path) if path else "defaults"
    project_dir = path.parent if path else (start or Path.cwd()).resolve()
    if not _validated_before(project_dir, data):
        validate(data, source)
        _remember_valid(project_dir, data)
    values = json.loads(json.dumps(DEFAULTS))
    origins = {k: "default" for k in DEFAULTS}
    for key, value in data.items():
        values[key] = value
        origins[key] = source
    return Config(project_dir, path, values, origins)


def _memo_path(project_dir: Path, data: dict[str, Any]) -> Path:
    """A marker that exactly this configuration passed validation with this sotb version."""
    from sot_builder import __version__
    from sot_builder.hashing import blake2b

    key = blake2b(
        (__version__ + json.dumps(data, sort_keys=True, default=str)).encode(), digest_size=12
    ).hexdigest()
    cache = data.get("cache_dir", DEFAULTS["cache_dir"])
    return project_dir / str(cache) / f"config-valid-{key}"


def _validated_before(project_dir: Path, data: dict[str, Any]) -> bool:
    if not isinstance(data.get("cache_dir", ""), str):
        return False
    try:
        return _memo_path(project_dir, data).is_file()
    except OSError:
        return False


def _remember_valid(project_dir: Path, data: dict[str, Any]) -> None:
    """Skip the JSON Schema import next time (it is a noticeable share of a lint run)."""
    remember_valid(_memo_path(project_dir, data), "config-valid-*")


def remember_valid(marker: Path, family: str) -> None:
    """Leave `marker` in its (existing) cache folder, in place of the others matching `family`."""
    try:
        if marker.parent.is_dir():
            for old in marker.parent.glob(family):
                old.unlink()
            marker.touch()
    except OSError:
        pass

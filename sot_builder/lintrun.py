"""One lint run, with a cache of its result.

When nothing that can change the result has changed — sotb's version, the
configuration, the selected rules, the bytes of every scanned file and of the
other files rules read (ledger, SQL migrations, type definitions), the answer
of every file-existence check the run made, and the date — the previous
diagnostics are returned without parsing anything.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from sot_builder import __version__, collector
from sot_builder.config import Config
from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.hashing import blake2b
from sot_builder.rules.base import Rule

RESULT_FILE = "lint-result.pickle"


def lint(config: Config, rules: Sequence[Rule], use_cache: bool = True) -> tuple[list[Diagnostic], int]:
    """Run `rules` over the project: (sorted diagnostics, number of files checked)."""
    from sot_builder import engine
    from sot_builder.project import discover, load_project

    key = None
    if use_cache:
        sources = discover(config)
        key = _fingerprint(config, rules, sources)
        hit = _load(config, key) if key is not None else None
        if hit is not None:
            return hit, len(sources)
    project = load_project(config, use_cache=use_cache)
    collector.keep(project)  # freeing it would cost a twentieth of the run
    diags = engine.run(project, rules)
    if key is not None:
        _store(config, key, project.checked_paths, diags)
    return diags, len(project.documents)


def _extra_files(config: Config) -> list[Path]:
    """Files besides the Markdown sources whose content rules read."""
    base = config.project_dir
    out = [config.root / str(config["ledger"])]
    for pattern in config["sql_migrations"]:
        out.extend(Path(p) for p in sorted(glob.glob(str(base / pattern), recursive=True)))
    for spec in (config["types"] or {}).values():
        if isinstance(spec, dict) and spec.get("definition"):
            out.append(base / spec["definition"])
    if config["portfolio"]:  # other registries decide how `P:ID` references resolve
        from sot_builder.portfolio import portfolio_files

        out.extend(portfolio_files(config))
    templates = base / "templates"
    if templates.is_dir():  # a project's own templates shape the generated regions
        out.extend(sorted(p for p in templates.rglob("*") if p.is_file()))
    return out


def _fingerprint(config: Config, rules: Sequence[Rule], sources) -> str | None:
    """The key of a lint's result; None when the cache folder has no identity (no cache then)."""
    import datetime as dt  # only when the result cache is used

    from sot_builder.cache import cache_identity

    identity = cache_identity(config)  # a result that came with the repository never matches
    if identity is None:
        return None
    h = blake2b(digest_size=20)
    h.update(__version__.encode() + b"\0" + identity.encode())
    h.update(json.dumps(config.values, sort_keys=True, default=str).encode())
    h.update(_encoded(str(config.project_dir)))
    h.update(",".join(f"{r.code}:{r.severity.value}" for r in rules).encode())
    h.update(dt.date.today().isoformat().encode())
    for src in sources:
        h.update(_encoded(src.path) + b"\0" + src.role.encode() + b"\0")
        h.update(_file_digest(src.abspath))
    for path in _extra_files(config):
        h.update(_encoded(str(path)) + b"\0")
        h.update(_file_digest(path))
    return h.hexdigest()


def _encoded(path: str) -> bytes:
    return path.encode("utf-8", "surrogatepass")  # a name that is not UTF-8 has surrogates


def _file_digest(path: Path) -> bytes:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # a pipe or a device is never opened
            return f"special:{stat.S_IFMT(info.st_mode)}".encode()
        return blake2b(path.read_bytes(), digest_size=16).digest()
    except OSError as exc:
        return f"missing:{exc.errno}".encode()


def _result_path(config: Config) -> Path:
    return config.project_dir / config["cache_dir"] / RESULT_FILE


def _load(config: Config, key: str) -> list[Diagnostic] | None:
    from sot_builder.cache import load_pickle  # only a run that uses the cache reads results

    try:
        data = load_pickle(_result_path(config))
        if data.get("key") != key:
            return None
        for rel, existed in data["checked"].items():
            if (config.project_dir / rel).exists() != existed:
                return None
        return [Diagnostic(*row[:5], Severity(row[5]), *row[6:]) for row in data["diags"]]
    except Exception:  # missing or damaged: simply lint
        return None


def _store(config: Config, key: str, checked: dict[str, bool], diags: list[Diagnostic]) -> None:
    import pickle

    rows = [(d.code, d.message, d.path, d.line, d.column, d.severity.value, d.ids, d.name, d.fix)
            for d in diags]
    path = _result_path(config)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            pickle.dump({"key": key, "checked": checked, "diags": rows}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except Exception:  # no cache this time; the result stands
        with contextlib.suppress(OSError):
            tmp.unlink()
        return
    from sot_builder.cache import remove_dead_temps

    remove_dead_temps(path.parent)

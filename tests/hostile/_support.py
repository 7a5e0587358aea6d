"""Shared helpers for the hostile-input and reliability suites: tiny registries and CLI runners."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sot_builder.cli import main

REPO = Path(__file__).resolve().parents[2]

README = """# Source of Truth Registry

## SoT Files

<!-- sotb:begin files -->
| File | Prefixes | Purpose |
|------|----------|---------|
| [SoT.PARTNER_INTEGRATIONS.md](SoT.PARTNER_INTEGRATIONS.md) | PIC-### | Partner integrations |
| [SoT.UNIQUE_ID_SYSTEM.md](SoT.UNIQUE_ID_SYSTEM.md) | — | Registry of every ID prefix and index of every ID |
<!-- sotb:end files -->
"""

ID_SYSTEM = """# Unique ID System

## Prefix Registry

<!-- sotb:begin prefixes -->
| Prefix | Meaning | File |
|--------|---------|------|
| **PIC** | Partner Integration Contracts | `SoT.PARTNER_INTEGRATIONS.md` |
<!-- sotb:end prefixes -->

## ID Index

<!-- sotb:begin index -->
### Partner Integration Contracts (PIC-XXX)

| ID | Title | Status | Used By |
|----|-------|--------|---------|
| PIC-001 | Stripe Payment Processing | Active | — |
<!-- sotb:end index -->
"""

NAVIGATION = """## Navigation by Category

<!-- sotb:begin navigation -->
**Payment providers** (PIC-001 to PIC-099):
- [PIC-001](#pic-001-stripe-payment-processing) - Stripe Payment Processing

**Communication services** (PIC-101 to PIC-199):

**Infrastructure services** (PIC-201 to PIC-299):
<!-- sotb:end navigation -->

"""

PIC_FILE = "SoT/SoT.PARTNER_INTEGRATIONS.md"

ENTRY = """## PIC-001: Stripe Payment Processing

**Status**: Active
**Partner**: Stripe
**Billing Contact**: billing@example.com
**SLA Guarantee**: 99.9%
"""

CONFIG = 'root = "SoT"\n\n[types.PIC]\n'


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def problems(self) -> list[dict]:
        """The problems of a `--format json` run."""
        return json.loads(self.out)


def pic_file(body: str, head: str = "") -> str:
    """The PIC file: `head` (e.g. frontmatter), title, navigation, then `body`."""
    return f"{head}# Partner Integration Contracts\n\n{NAVIGATION}{body}"


def make_project(
    root: Path, files: dict[str, bytes | str] | None = None, config: str = CONFIG
) -> Path:
    """A small registry: README, ID system and one PIC file; `files` adds or replaces files."""
    (root / "SoT").mkdir(parents=True, exist_ok=True)
    (root / "sotb.toml").write_text(config, encoding="utf-8")
    base = {
        "SoT/SoT.README.md": README,
        "SoT/SoT.UNIQUE_ID_SYSTEM.md": ID_SYSTEM,
        PIC_FILE: pic_file(ENTRY),
    }
    base.update(files or {})
    for rel, data in base.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every regular file below `root` (cache folder excluded) -> its bytes."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(".sotb_cache") or path.is_symlink() or not path.is_file():
            continue
        try:
            out[rel] = path.read_bytes()
        except OSError:
            continue
    return out


def assert_clean_exit(result: Result, codes: tuple[int, ...] = (1, 2)) -> None:
    """The run ended with one of `codes` and without a traceback or an internal error."""
    assert "Traceback" not in result.text, result.text[-3000:]
    assert "internal error" not in result.text, result.text[-3000:]
    assert result.code in codes, (result.code, result.text[-3000:])


def problem_at(result: Result, path: str, code: str | None = None, line: int | None = None) -> dict:
    """The first `--format json` problem in `path` (with `code`, at `line`); fails if none."""
    for p in result.problems():
        if (
            p["path"].endswith(path)
            and (code is None or p["code"] == code)
            and (line is None or p["line"] == line)
        ):
            return p
    raise AssertionError(f"no {code or 'problem'} at {path}:{line}: {result.out[:3000]}")


def run_inprocess(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def sotb_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SOTB_DEBUG", None)
    env.pop("SOTB_RESERVATION_DB", None)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_subprocess(
    cwd: Path, *args: str, timeout: float = 120.0, env: dict[str, str] | None = None
) -> Result:
    """`python -m sot_builder ARGS` in `cwd`; running past `timeout` fails the test (a hang)."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "sot_builder", *args],
            cwd=cwd,
            capture_output=True,
            timeout=timeout,
            env=env or sotb_env(),
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"sotb {' '.join(args)} did not finish within {timeout:.0f} s (hang)")
    return Result(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


class AccessRecorder:
    """Records each open, folder listing and stat of the given files or of paths below the folders.

    Opens and listings come from an audit hook (installed once: hooks cannot be
    removed), stats from a patched os.stat; both only record. Use as a context manager.
    """

    _active: list["AccessRecorder"] = []
    _hooked = False

    def __init__(
        self, folders: tuple[Path, ...] = (), files: tuple[Path, ...] = (), opens_only: bool = False
    ):
        self.opens_only = opens_only  # True: only opened files count, not stats and folder listings
        self.monkeypatch = pytest.MonkeyPatch()
        self.folders = tuple(Path(os.path.realpath(f)) for f in folders)
        self.files = {Path(os.path.realpath(f)) for f in files}
        self.touched: list[str] = []

    def note(self, path: object, event: str = "open") -> None:
        if isinstance(path, int) or (self.opens_only and event != "open"):
            return
        try:
            real = Path(os.path.realpath(os.fsdecode(path)))  # lstat only: never back into os.stat
        except (OSError, TypeError, ValueError):
            return
        if real in self.files or any(real.is_relative_to(f) for f in self.folders):
            self.touched.append(f"{event} {real}")

    @classmethod
    def _audit(cls, event: str, args: tuple) -> None:
        if cls._active and event in ("open", "os.listdir", "os.scandir") and args:
            for recorder in cls._active:
                recorder.note(args[0], event)

    def __enter__(self) -> "AccessRecorder":
        if not AccessRecorder._hooked:
            sys.addaudithook(AccessRecorder._audit)
            AccessRecorder._hooked = True
        real_stat = os.stat

        def stat(path, *args, **kwargs):
            self.note(path, "stat")
            return real_stat(path, *args, **kwargs)

        self.monkeypatch.setattr(os, "stat", stat)
        AccessRecorder._active.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        AccessRecorder._active.remove(self)
        self.monkeypatch.undo()

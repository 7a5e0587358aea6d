"""Large generated registries and the file versions a command may leave behind."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.hostile._support import REPO, sotb_env

TODAY_EPOCH = "1736467200"  # 2025-01-10: `sotb add` writes the same bytes on every run


def _generator():
    spec = importlib.util.spec_from_file_location(
        "sotb_bench_generate", REPO / "benchmarks" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def generate_registry(folder: Path, entries: int = 2500, files: int = 6, seed: int = 3) -> Path:
    """A registry of `entries` entries written by benchmarks/generate.py (not yet synced)."""
    _generator().generate(folder, entries, files=files, seed=seed)
    return folder


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the SoT folder (the lock file excluded) -> bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted((root / "SoT").iterdir())
        if p.is_file() and p.name != ".sotb.lock"
    }


def record_writes(
    run: Callable[[], object], monkeypatch: pytest.MonkeyPatch, root: Path
) -> dict[str, list[bytes]]:
    """Run `run` in-process and collect every whole-file version it writes, by project path."""
    from sot_builder import fsutil

    original = fsutil.atomic_write_bytes
    writes: dict[str, list[bytes]] = {}

    def recording(path, data):
        rel = Path(path).resolve().relative_to(root.resolve()).as_posix()
        writes.setdefault(rel, []).append(bytes(data))
        return original(path, data)

    monkeypatch.setattr(fsutil, "atomic_write_bytes", recording)
    for name, module in list(sys.modules.items()):
        if (
            name.startswith("sot_builder.")
            and getattr(module, "atomic_write_bytes", None) is original
        ):
            monkeypatch.setattr(module, "atomic_write_bytes", recording)
    try:
        run()
    finally:
        monkeypatch.undo()
    return writes


def allowed_versions(
    before: dict[str, bytes], writes: dict[str, list[bytes]]
) -> dict[str, set[bytes]]:
    """Per file: its old bytes and every version a completed write produced."""
    allowed = {rel: {data} for rel, data in before.items()}
    for rel, versions in writes.items():
        allowed.setdefault(rel, set()).update(versions)
    return allowed


def check_versions(root: Path, allowed: dict[str, set[bytes]], where: str) -> list[str]:
    """Files that are neither an old nor a new version (truncated, mixed or unknown)."""
    bad = []
    for rel, data in snapshot(root).items():
        if rel.endswith(".sotb-tmp") or "/." in rel:
            continue  # a writer's temp file: never read as a SoT file, removed by the next writer
        if data not in allowed.get(rel, set()):
            bad.append(f"{where}: {rel} ({len(data)} bytes) is no version sotb wrote")
    return bad


def start(cwd: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sot_builder", *args],
        cwd=cwd,
        env=sotb_env(SOURCE_DATE_EPOCH=TODAY_EPOCH),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(proc: subprocess.Popen, timeout: float = 120.0) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"{proc.args} did not finish within {timeout:.0f} s (hang)")
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def wait_for_temp(folder: Path, proc: subprocess.Popen, limit: float) -> bool:
    """Poll until a writer's temp file shows up in `folder` (True), the process ends or time runs out."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if any(e.name.endswith(".sotb-tmp") for e in os.scandir(folder)):
                return True
        except OSError:
            pass
        time.sleep(0.0005)
    return False


def copy_registry(source: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=True)
    return target

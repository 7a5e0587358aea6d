"""Time sotb against the regex floor on generated registries.

    python benchmarks/run.py [--sizes 1000,10000,100000] [--repeat 3] [--sotb COMMAND]
                             [--cache-dir DIR] [--no-check] [--doc docs/performance.md]

For each size it generates a registry (or reuses one under --cache-dir), then
runs each command R times at each size, alternating between commands and
sizes, as a subprocess in the registry folder, and keeps the median wall time
and the peak resident memory. It prints a table with ratios to the floor,
checks the targets (exit 1 when one is missed, unless --no-check) and writes
the table into the documentation between BEGIN and END markers.

Run it with the Python of the environment sotb is installed in: by default the
`sotb` script beside that Python is timed, started directly like the floor,
not through whatever `PATH` finds first (a version manager's shim in front of
it adds a shell and a second program to every run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # a sibling script, not a package

FLOOR = HERE / "floor.py"
DEFAULT_DOC = HERE.parent / "docs" / "performance.md"
BEGIN = "<!-- sotb-bench:begin -->"
END = "<!-- sotb-bench:end -->"
STAMP = ".sotb-bench.json"
EXPORT_NAME = "bench-export.db"


@dataclass(frozen=True, slots=True)
class Command:
    key: str
    label: str
    argv: tuple[str, ...]
    ok: frozenset[int]  # exit codes that count as a completed run
    prepare: Callable[[], None] | None = None  # called before each run, untimed


@dataclass(frozen=True, slots=True)
class Sample:
    wall: float  # seconds
    rss_kib: int | None  # largest resident set of one process of the tree, None if unknown
    code: int  # exit code; negative for a signal, 127 if the program was not found
    error: str = ""  # last lines of stderr for a failed run


@dataclass(slots=True)
class Result:
    size: int
    key: str
    label: str
    samples: list[Sample] = field(default_factory=list)
    failure: str = ""  # why the command is not timed ("" = it ran fine)

    @property
    def ok(self) -> bool:
        return not self.failure and bool(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def peak_mib(self) -> float | None:
        values = [s.rss_kib for s in self.samples if s.rss_kib is not None]
        return max(values) / 1024 if values else None

    @property
    def code(self) -> int:
        return self.samples[-1].code if self.samples else 0


@dataclass(frozen=True, slots=True)
class TargetRow:
    name: str
    measured: str
    limit: str
    status: str  # "pass" | "MISS" | "not measured"


# --- measuring -----------------------------------------------------------------------


# Runs argv with stdout sent to /dev/null and prints "wall maxrss exit-code".
# A child's ru_maxrss starts at the RSS of the process that spawned it, so the
# command is spawned from this small, fresh interpreter (python -S: ~8 MiB),
# never from the runner, which holds a whole generated registry in memory.
HELPER = """
import os, sys, time
argv = sys.argv[1:]
quiet = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
start = time.perf_counter()
try:
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=quiet)
except OSError as exc:
    sys.stderr.write(f"{argv[0]}: {exc}\\n")
    print(0.0, 0, 127)
    sys.exit(0)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
rss = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
print(wall, rss, os.waitstatus_to_exitcode(status))
"""


def measure(argv: list[str] | tuple[str, ...], cwd: Path, timeout: float = 600.0) -> Sample:
    """Run argv once in cwd: wall time, peak memory (KiB) and exit code.

    The peak is the largest resident set of the command or any child it waited
    for (os.wait4 in a helper process), so samples never leak into each other
    the way getrusage(RUSAGE_CHILDREN) would.
    """
    helper = [sys.executable, "-S", "-E", "-c", HELPER, *argv]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            helper,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
        )
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.communicate()
            return Sample(timeout, None, -signal.SIGKILL, f"timed out after {timeout:g} s")
        err.seek(0)
        tail = err.read()[-4000:].decode("utf-8", "replace").strip()
    try:
        wall, rss, code = out.split()
        return Sample(float(wall), int(rss), int(code), tail)
    except ValueError:
        return Sample(0.0, None, proc.returncode or 2, tail or "no report from the helper")


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def commands(sotb: list[str], export_path: Path) -> list[Command]:
    def clear_export() -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{export_path}{suffix}").unlink(missing_ok=True)

    floor = (sys.executable, str(FLOOR), generate.ROOT_DIR)
    checks = frozenset({0, 1})
    return [
        Command("floor", "floor (regex script)", floor, checks),
        Command("lint_cold", "sotb lint --no-cache", (*sotb, "lint", "--no-cache"), checks),
        Command("lint_warm", "sotb lint (warm)", (*sotb, "lint"), checks),
        Command("sync_check", "sotb sync --check", (*sotb, "sync", "--check"), checks),
        Command(
            "export",
            "sotb export -o x.db",
            (*sotb, "export", "-o", str(export_path)),
            frozenset({0}),
            clear_export,
        ),
    ]


def _failure(sample: Sample) -> str:
    last = sample.error.splitlines()[-1].strip() if sample.error else ""
    if len(last) > 100:
        last = last[:97] + "..."
    reason = f"exit {sample.code}" if sample.code >= 0 else f"signal {-sample.code}"
    return f"{reason}: {last}" if last else reason


def run_sizes(
    registries: dict[int, Path],
    cmds: list[Command],
    repeat: int,
    timeout: float,
    log: Callable[[str], None],
) -> list[Result]:
    """Time every command `repeat` times in each registry folder, alternating.

    Each round runs every command at every size, so the sizes are timed in the
    same minutes: the ratio of two sizes compares runs made under the same load,
    not a quiet period of the machine with a busy one.
    """
    results = {(size, c.key): Result(size, c.key, c.label) for size in registries for c in cmds}
    by_key = {c.key: c for c in cmds}
    for size, registry in registries.items():
        # Untimed: the floor once (page cache), lint once (so the warm run has a cache).
        measure(by_key["floor"].argv, registry, timeout)
        if "lint_warm" in by_key:
            primed = measure(by_key["lint_warm"].argv, registry, timeout)
            if primed.code not in by_key["lint_warm"].ok:
                results[size, "lint_warm"].failure = _failure(primed)
    for round_no in range(1, repeat + 1):
        for size, registry in registries.items():
            for cmd in cmds:
                _time_once(results[size, cmd.key], cmd, registry, timeout, round_no, log)
    for cmd in cmds:
        if cmd.prepare:
            cmd.prepare()
    return [results[size, c.key] for size in registries for c in cmds]


def _time_once(result: Result, cmd: Command, registry: Path, timeout: float, round_no: int,
               log: Callable[[str], None]) -> None:
    if result.failure:
        return
    if cmd.prepare:
        cmd.prepare()
    sample = measure(cmd.argv, registry, timeout)
    if sample.code not in cmd.ok:
        result.failure = _failure(sample)
        log(f"  {result.size:>7,} {cmd.label}: failed ({result.failure})")
        return
    result.samples.append(sample)
    log(f"  {result.size:>7,} {cmd.label}: {sample.wall:.3f} s (round {round_no})")


# --- registries ----------------------------------------------------------------------


def registry_for(size: int, files: int, seed: int, base: Path, log: Callable[[str], None]) -> Path:
    """A generated registry under base, reused when its stamp matches."""
    folder = base / f"registry-{size}-f{files}-s{seed}"
    stamp = {"entries": size, "files": files, "seed": seed, "generator": _generator_digest()}
    stamp_path = folder / STAMP
    if stamp_path.is_file():
        try:
            if json.loads(stamp_path.read_text(encoding="utf-8")) == stamp:
                log(f"reusing {folder}")
                return folder
        except ValueError:
            pass
    if folder.exists():
        shutil.rmtree(folder)
    started = time.perf_counter()
    generate.generate(folder, size, files, seed)
    stamp_path.write_text(json.dumps(stamp), encoding="utf-8")
    log(f"generated {size:,} entries in {time.perf_counter() - started:.1f} s: {folder}")
    return folder


def _generator_digest() -> str:
    """Changes whenever generate.py changes, so stale cached registries are rebuilt."""
    import hashlib

    return hashlib.sha256(Path(generate.__file__).read_bytes()).hexdigest()[:16]


# --- targets -------------------------------------------------------------------------


def check_targets(results: list[Result]) -> list[TargetRow]:
    """The performance targets, evaluated on whatever sizes were measured."""
    found = {(r.size, r.key): r for r in results}
    rows = [
        _ratio_target(found, 10_000, "lint_cold", 3.0),
        _ratio_target(found, 100_000, "lint_cold", 3.0),
        _memory_target(found, 100_000, "lint_cold", 500.0),
        _ratio_target(found, 10_000, "lint_warm", 1.5),
        _ratio_target(found, 100_000, "lint_warm", 1.5),
        _scaling_target(found, "lint_cold", 10_000, 100_000, 12.0),
    ]
    return rows


def _label(found: dict[tuple[int, str], Result], key: str) -> str:
    for (_, k), result in found.items():
        if k == key:
            return result.label
    return key


def _ratio_target(found: dict, size: int, key: str, limit: float) -> TargetRow:
    name = f"{_label(found, key)}, {size:,} entries: time / floor"
    result, floor = found.get((size, key)), found.get((size, "floor"))
    if result is None or floor is None:
        return TargetRow(name, "-", f"<= {limit:g}x", "not measured")
    if not result.ok or not floor.ok:
        return TargetRow(name, "failed", f"<= {limit:g}x", "MISS")
    ratio = result.median / floor.median
    return TargetRow(name, f"{_figure(ratio, limit, 2)}x", f"<= {limit:g}x", _verdict(ratio <= limit))


def _memory_target(found: dict, size: int, key: str, limit_mib: float) -> TargetRow:
    name = f"{_label(found, key)}, {size:,} entries: peak memory"
    result = found.get((size, key))
    if result is None:
        return TargetRow(name, "-", f"<= {limit_mib:g} MiB", "not measured")
    peak = result.peak_mib if result.ok else None
    if peak is None:
        return TargetRow(
            name, "failed" if not result.ok else "unknown", f"<= {limit_mib:g} MiB", "MISS"
        )
    measured = f"{_figure(peak, limit_mib, 0)} MiB"
    return TargetRow(name, measured, f"<= {limit_mib:g} MiB", _verdict(peak <= limit_mib))


def _scaling_target(found: dict, key: str, small: int, large: int, limit: float) -> TargetRow:
    name = f"{_label(found, key)}: time at {large:,} / time at {small:,}"
    a, b = found.get((small, key)), found.get((large, key))
    if a is None or b is None:
        return TargetRow(name, "-", f"<= {limit:g}", "not measured")
    if not a.ok or not b.ok:
        return TargetRow(name, "failed", f"<= {limit:g}", "MISS")
    ratio = b.median / a.median
    return TargetRow(name, _figure(ratio, limit, 1), f"<= {limit:g}", _verdict(ratio <= limit))


def _verdict(passed: bool) -> str:
    return "pass" if passed else "MISS"


def _figure(value: float, limit: float, digits: int) -> str:
    """`value` with `digits` decimals, or more where fewer would show it equal to `limit`
    (12.003 is shown so, not as 12.0, next to a limit of 12 it misses)."""
    text = f"{value:.{digits}f}"
    while value != limit and float(text) == limit and digits < 6:
        digits += 1
        text = f"{value:.{digits}f}"
    return text


# --- reporting -----------------------------------------------------------------------


def results_table(results: list[Result]) -> list[str]:
    floors = {r.size: r for r in results if r.key == "floor"}
    lines = [
        "| Entries | Command | Median (s) | x floor | Peak MiB | Exit |",
        "|--------:|---------|-----------:|--------:|---------:|-----:|",
    ]
    for r in results:
        if not r.ok:
            reason = r.failure.replace("|", "\\|") or "not run"
            lines.append(f"| {r.size:,} | {r.label} | failed: {reason} | - | - | - |")
            continue
        floor = floors.get(r.size)
        ratio = f"{r.median / floor.median:.2f}" if floor and floor.ok else "-"
        peak = f"{r.peak_mib:.0f}" if r.peak_mib is not None else "-"
        lines.append(f"| {r.size:,} | {r.label} | {r.median:.3f} | {ratio} | {peak} | {r.code} |")
    return lines


def targets_table(rows: list[TargetRow]) -> list[str]:
    lines = ["| Target | Measured | Limit | Result |", "|--------|---------:|------:|--------|"]
    lines.extend(f"| {t.name} | {t.measured} | {t.limit} | {t.status} |" for t in rows)
    return lines


def environment(args: argparse.Namespace) -> str:
    cpus = os.cpu_count() or 0
    when = time.strftime("%Y-%m-%d %H:%M %Z")
    sizes = ",".join(str(n) for n in args.sizes)
    sotb = f" --sotb {shlex.quote(args.sotb)}" if args.sotb else ""
    return (
        f"Measured {when} on {platform.system()} {platform.machine()}, {cpus} CPUs, "
        f"Python {platform.python_version()}{_git_revision()}, with "
        f"`python benchmarks/run.py --sizes {sizes} --repeat {args.repeat}{sotb}`: "
        f"{args.files} files, seed {args.seed}; wall-clock medians of {args.repeat} "
        "runs (commands and sizes alternating), interpreter start-up included; peak memory is the "
        "largest resident set of any one process of the command."
    )


def _git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            check=False,
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    rev = out.stdout.strip()
    return f", revision {rev}" if out.returncode == 0 and rev else ""


def floor_growth(results: list[Result], small: int = 10_000, large: int = 100_000) -> list[str]:
    """A line giving the floor's own growth between the two sizes of the scaling target, when
    both were measured: the part of sotb's growth the machine alone accounts for. Not a target."""
    floors = {r.size: r for r in results if r.key == "floor" and r.ok}
    if small not in floors or large not in floors:
        return []
    growth = floors[large].median / floors[small].median
    return [
        f"For comparison, the floor's own time at {large:,} / time at {small:,} in this run: "
        f"{growth:.1f} (not a target)."
    ]


def report_block(header: str, results: list[Result], targets: list[TargetRow]) -> str:
    growth = floor_growth(results)
    lines = [header, "", *results_table(results), "", *targets_table(targets)]
    if growth:
        lines.extend(["", *growth])
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    """Put block between the BEGIN/END markers of text (appended if there are none)."""
    begin, end = text.find(BEGIN), text.find(END)
    if begin < 0 and end < 0:
        sep = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{sep}\n{BEGIN}\n{block}\n{END}\n"
    if begin < 0 or end < begin or text.count(BEGIN) > 1 or text.count(END) > 1:
        raise ValueError(f"expected one {BEGIN} followed by one {END}")
    return f"{text[: begin + len(BEGIN)]}\n{block}\n{text[end:]}"


def write_block(path: Path, block: str) -> None:
    """Replace the generated block in path, atomically, keeping the file's mode."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = replace_block(old, block)
    if new == old:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(new)
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- command line --------------------------------------------------------------------


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def default_sotb() -> str:
    """The sotb script installed with the Python running this, else the one on PATH."""
    here = Path(sys.executable).parent
    for name in ("sotb", "sotb.exe"):
        if (here / name).is_file():
            return str(here / name)
    return shutil.which("sotb") or "sotb"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark sotb against the regex floor.")
    parser.add_argument("--sizes", type=_sizes, default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (median)")
    parser.add_argument("--files", type=int, default=10, help="SoT files per registry")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sotb", help='how to call sotb (default: the sotb installed beside this Python), '
        'e.g. "python -m sot_builder"'
    )
    parser.add_argument(
        "--cache-dir", type=Path, help="keep generated registries here and reuse them"
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument(
        "--doc", type=Path, default=DEFAULT_DOC, help="file to write the table into"
    )
    parser.add_argument("--no-doc", action="store_true", help="do not write the table anywhere")
    parser.add_argument("--no-check", action="store_true", help="report only; never exit 1")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.files < 1:
        parser.error("--repeat and --files must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    sotb = shlex.split(args.sotb) if args.sotb else [default_sotb()]
    log(f"timing {shlex.join(sotb)}")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="sotb-bench-") as scratch:
        base = args.cache_dir or Path(scratch)
        base.mkdir(parents=True, exist_ok=True)
        cmds = commands(sotb, Path(scratch) / EXPORT_NAME)
        registries = {
            size: registry_for(size, args.files, args.seed, base.resolve(), log) for size in args.sizes
        }
        results.extend(run_sizes(registries, cmds, args.repeat, args.timeout, log))
    targets = check_targets(results)
    block = report_block(environment(args), results, targets)
    print(block)
    if not args.no_doc:
        try:
            write_block(args.doc, block)
        except (OSError, ValueError) as exc:
            log(f"run: cannot write {args.doc}: {exc}")
            return 2
        log(f"wrote {args.doc}")
    missed = [t for t in targets if t.status == "MISS"]
    if missed and not args.no_check:
        log(f"run: {len(missed)} target(s) missed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

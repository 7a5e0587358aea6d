"""benchmarks/run.py: measuring, targets, and the generated block in the docs."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
import run

STUB = """\
import sys
args = sys.argv[1:]
if args[0] == "export":
    open(args[args.index("-o") + 1], "w").write("db")
elif args[0] == "sync":
    print("sync is broken", file=sys.stderr)
    sys.exit(2)
sys.exit(1 if args[0] == "lint" else 0)
"""

DOC = f"""\
# Performance

Intro text.

{run.BEGIN}
old table
{run.END}

## Profile

Kept as written.
"""


# --- the block between the markers ---------------------------------------------------


def test_replace_block_keeps_text_outside_the_markers() -> None:
    new = run.replace_block(DOC, "| new | table |")
    before, _, rest = DOC.partition(run.BEGIN)
    _, _, after = rest.partition(run.END)
    assert new.startswith(before + run.BEGIN + "\n| new | table |\n" + run.END)
    assert new.endswith(run.END + after)
    assert "old table" not in new
    assert run.replace_block(new, "| new | table |") == new


def test_replace_block_appends_markers_when_missing() -> None:
    new = run.replace_block("# Performance\n", "table")
    assert new == f"# Performance\n\n{run.BEGIN}\ntable\n{run.END}\n"


@pytest.mark.parametrize("text", [
    f"{run.END}\n{run.BEGIN}\n",
    f"{run.BEGIN}\nno end\n",
    f"{run.BEGIN}\n{run.END}\n{run.BEGIN}\n{run.END}\n",
])  # fmt: skip
def test_replace_block_refuses_broken_markers(text: str) -> None:
    with pytest.raises(ValueError):
        run.replace_block(text, "table")


def test_write_block_keeps_mode_and_outside_text(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(DOC, encoding="utf-8")
    doc.chmod(0o640)
    run.write_block(doc, "fresh")
    text = doc.read_text(encoding="utf-8")
    assert "Intro text." in text and "Kept as written." in text and "fresh" in text
    assert stat.S_IMODE(doc.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["performance.md"]


# --- measuring -----------------------------------------------------------------------


def test_peak_memory_is_per_run(tmp_path: Path) -> None:
    big = run.measure([sys.executable, "-c", "x = b'x' * (120 << 20)"], tmp_path)
    small = run.measure([sys.executable, "-c", "pass"], tmp_path)
    assert big.code == small.code == 0
    assert big.rss_kib is not None and small.rss_kib is not None
    assert big.rss_kib > 120 * 1024
    assert small.rss_kib < 60 * 1024


def test_measure_reports_exit_codes_and_stderr(tmp_path: Path) -> None:
    sample = run.measure([sys.executable, "-c", "import sys; sys.exit('bad input')"], tmp_path)
    assert sample.code == 1 and "bad input" in sample.error
    missing = run.measure(["no-such-program-for-sotb-bench"], tmp_path)
    assert missing.code == 127
    slow = run.measure([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path, timeout=0.5)
    assert slow.code < 0 and "timed out" in slow.error


def test_measure_runs_in_the_given_folder(tmp_path: Path) -> None:
    code = "import os, sys; sys.exit(0 if os.path.exists('marker') else 3)"
    (tmp_path / "marker").write_text("", encoding="utf-8")
    assert run.measure([sys.executable, "-c", code], tmp_path).code == 0
    assert run.measure([sys.executable, "-c", code], tmp_path.parent).code == 3


# --- targets -------------------------------------------------------------------------


def result(size: int, key: str, wall: float, rss_mib: int = 100, failure: str = "") -> run.Result:
    samples = [] if failure else [run.Sample(wall, rss_mib * 1024, 0)] * 3
    return run.Result(size, key, key, samples, failure)


def statuses(results: list[run.Result]) -> list[str]:
    return [t.status for t in run.check_targets(results)]


def test_targets_pass_miss_and_not_measured() -> None:
    good = [
        result(10_000, "floor", 0.3), result(10_000, "lint_cold", 0.8),
        result(10_000, "lint_warm", 0.4),
        result(100_000, "floor", 3.0), result(100_000, "lint_cold", 8.5, rss_mib=400),
        result(100_000, "lint_warm", 4.6),
    ]  # fmt: skip
    assert statuses(good) == ["pass", "pass", "pass", "pass", "MISS", "pass"]
    only_10k = [r for r in good if r.size == 10_000]
    assert statuses(only_10k) == ["pass"] + ["not measured"] * 2 + ["pass"] + ["not measured"] * 2


def test_targets_miss_on_slow_big_or_failed_runs() -> None:
    bad = [
        result(10_000, "floor", 0.3), result(10_000, "lint_cold", 1.0),
        result(10_000, "lint_warm", 0.3, failure="exit 2"),
        result(100_000, "floor", 3.0), result(100_000, "lint_cold", 12.5, rss_mib=600),
    ]  # fmt: skip
    rows = run.check_targets(bad)
    assert [t.status for t in rows] == ["MISS", "MISS", "MISS", "MISS", "not measured", "MISS"]
    assert rows[0].measured == "3.33x"
    assert rows[2].measured == "600 MiB"
    assert rows[3].measured == "failed"


def test_a_figure_just_past_its_limit_is_not_shown_as_the_limit() -> None:
    rows = run.check_targets([
        result(10_000, "floor", 1.0), result(10_000, "lint_cold", 3.004),
        result(100_000, "floor", 10.0), result(100_000, "lint_cold", 36.05, rss_mib=500),
    ])  # fmt: skip
    assert (rows[0].measured, rows[0].status) == ("3.004x", "MISS")
    assert (rows[5].measured, rows[5].status) == ("12.001", "MISS")
    assert (rows[2].measured, rows[2].status) == ("500 MiB", "pass")  # on the limit: within it
    plain = run.check_targets([result(10_000, "floor", 1.0), result(10_000, "lint_cold", 2.5)])
    assert plain[0].measured == "2.50x"


def test_results_table_shows_failures_without_times() -> None:
    lines = run.results_table([
        result(1_000, "floor", 0.1), result(1_000, "lint_cold", 0.25),
        result(1_000, "export", 0, failure="exit 2: no | such"),
    ])  # fmt: skip
    assert lines[2] == "| 1,000 | floor | 0.100 | 1.00 | 100 | 0 |"
    assert lines[3] == "| 1,000 | lint_cold | 0.250 | 2.50 | 100 | 0 |"
    assert lines[4] == "| 1,000 | export | failed: exit 2: no \\| such | - | - | - |"


def test_each_round_times_every_size_so_sizes_share_the_same_minutes(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    note = f"import os; open({str(log)!r}, 'a').write(os.path.basename(os.getcwd()) + ' {{}}\\n')"
    cmds = [
        run.Command("floor", "floor", (sys.executable, "-c", note.format("floor")), frozenset({0})),
        run.Command("lint_cold", "lint", (sys.executable, "-c", note.format("lint")), frozenset({0})),
    ]
    registries = {}
    for size in (10, 20):
        registries[size] = tmp_path / f"r{size}"
        registries[size].mkdir()
    results = run.run_sizes(registries, cmds, 2, 60.0, lambda message: None)
    assert [(r.size, r.key, len(r.samples)) for r in results] == [
        (10, "floor", 2), (10, "lint_cold", 2), (20, "floor", 2), (20, "lint_cold", 2),
    ]
    timed = log.read_text(encoding="utf-8").splitlines()[2:]  # after the untimed floor runs
    assert timed == ["r10 floor", "r10 lint", "r20 floor", "r20 lint"] * 2


# --- the whole runner with a stand-in for sotb ---------------------------------------


def test_runner_end_to_end_with_a_stub(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stub = tmp_path / "stub.py"
    stub.write_text(STUB, encoding="utf-8")
    doc = tmp_path / "performance.md"
    doc.write_text(DOC, encoding="utf-8")
    cache = tmp_path / "cache"
    argv = [
        "--sizes", "120", "--repeat", "2", "--files", "3",
        "--sotb", f"{sys.executable} {stub}", "--doc", str(doc), "--cache-dir", str(cache),
    ]  # fmt: skip
    assert run.main(argv) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Performance\n\nIntro text.\n\n" + run.BEGIN)
    assert text.endswith(run.END + "\n\n## Profile\n\nKept as written.\n")
    rows = {line.split(" | ")[1]: line for line in text.splitlines() if line.startswith("| 120 |")}
    assert set(rows) == {c.label for c in run.commands([], tmp_path / "x.db")}
    assert rows["sotb lint --no-cache"].endswith("| 1 |")
    assert "failed: exit 2: sync is broken" in rows["sotb sync --check"]
    assert rows["sotb export -o x.db"].endswith("| 0 |")
    assert "not measured" in capsys.readouterr().out
    registry = cache / "registry-120-f3-s1"
    assert (registry / "sotb.toml").is_file()
    mtime = os.stat(registry / "SoT" / "SoT.README.md").st_mtime_ns
    assert run.main([*argv, "--no-doc", "--repeat", "1"]) == 0
    assert os.stat(registry / "SoT" / "SoT.README.md").st_mtime_ns == mtime
    assert "reusing" in capsys.readouterr().err


def test_runner_exit_code_follows_the_targets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missed = [run.TargetRow("t", "9x", "<= 3x", "MISS")]
    monkeypatch.setattr(run, "check_targets", lambda results: missed)
    argv = ["--sizes", "50", "--repeat", "1", "--files", "2", "--no-doc", "--sotb", "true"]
    assert run.main(argv) == 1
    assert run.main([*argv, "--no-check"]) == 0


def test_sotb_is_taken_from_beside_this_python_before_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_bin, shims = tmp_path / "env" / "bin", tmp_path / "shims"
    env_bin.mkdir(parents=True)
    shims.mkdir()
    for folder in (env_bin, shims):
        (folder / "sotb").write_text("#!/bin/sh\n", encoding="utf-8")
        (folder / "sotb").chmod(0o755)
    monkeypatch.setenv("PATH", str(shims))
    monkeypatch.setattr(sys, "executable", str(env_bin / "python"))
    assert run.default_sotb() == str(env_bin / "sotb")
    (env_bin / "sotb").unlink()
    assert run.default_sotb() == str(shims / "sotb")


def test_report_gives_the_floors_own_growth_when_both_sizes_were_timed() -> None:
    both = [
        result(10_000, "floor", 0.25), result(10_000, "lint_cold", 0.6),
        result(100_000, "floor", 3.5), result(100_000, "lint_cold", 7.7),
    ]  # fmt: skip
    block = run.report_block("header", both, run.check_targets(both))
    assert block.endswith(
        "\n\nFor comparison, the floor's own time at 100,000 / time at 10,000 in this run: "
        "14.0 (not a target)."
    )
    small_only = [r for r in both if r.size == 10_000]
    assert "floor's own" not in run.report_block("header", small_only, run.check_targets(small_only))
    failed = [*small_only, result(100_000, "floor", 0, failure="exit 1")]
    assert run.floor_growth(failed) == []

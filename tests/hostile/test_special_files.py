"""Special files in the SoT folder and projects without one: named pipes, devices, dangling
links, folders that cannot be listed, file names that are not UTF-8, no SoT folder at all.

Each ends in a problem line naming the path (or an error, exit 2), never a hang or a traceback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ._support import (
    ENTRY,
    PIC_FILE,
    AccessRecorder,
    Result,
    assert_clean_exit,
    make_project,
    pic_file,
    problem_at,
    run_inprocess,
    run_subprocess,
    sotb_env,
)



def _unread(result, path: str) -> str:
    """The message of the SOT002 problem at line 1 of `path`."""
    return problem_at(result, path, "SOT002", 1)["message"]


# -- pipes and devices --------------------------------------------------------------------------
def test_a_named_pipe_is_reported_and_never_hangs(project):
    os.mkfifo(project / "SoT" / "SoT.FIFO.md")
    for args in (["--no-cache"], [], []):  # the result cache must not open it either
        result = run_subprocess(project, "lint", "--format", "json", *args, timeout=60)
        assert_clean_exit(result, (1,))
        assert _unread(result, "SoT/SoT.FIFO.md") == "not a regular file; skipped"
    synced = run_subprocess(project, "sync", timeout=60)
    assert_clean_exit(synced, (0, 1, 2))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_in_place_of_a_parse_cache_entry_is_never_opened(project):
    """A lint opened each cache entry it found by name: a pipe there hung it."""
    first = run_subprocess(project, "lint", "--format", "json", timeout=60)
    assert_clean_exit(first, (0, 1))
    (entry, *_) = sorted((project / ".sotb_cache").glob("parse-*/*.pickle"))
    entry.unlink()
    os.mkfifo(entry)
    (project / ".sotb_cache" / "lint-result.pickle").unlink()  # so that the files are loaded
    again = run_subprocess(project, "lint", "--format", "json", timeout=60)
    assert_clean_exit(again, (0, 1))
    assert again.out == first.out
    assert entry.is_file()  # parsed, and the entry written anew


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_in_place_of_the_result_cache_is_never_opened(project):
    first = run_subprocess(project, "lint", "--format", "json", timeout=60)
    result = project / ".sotb_cache" / "lint-result.pickle"
    result.unlink()
    os.mkfifo(result)
    again = run_subprocess(project, "lint", "--format", "json", timeout=60)
    assert_clean_exit(again, (0, 1))
    assert again.out == first.out


class _Planted:
    """A pickle that makes a folder when it is loaded: what a commit could leave in the cache."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def test_a_planted_pickle_in_the_parse_cache_is_never_run(project, capsys):
    import pickle

    expected = run_inprocess(capsys, "lint", "--format", "json", "--no-cache").out
    assert_clean_exit(run_inprocess(capsys, "lint"), (0, 1))  # fills the caches
    marker = project.parent / "planted"
    entries = sorted((project / ".sotb_cache").glob("parse-*/*.pickle"))
    assert entries
    for entry in entries:
        entry.write_bytes(pickle.dumps(_Planted(marker)))
    (project / ".sotb_cache" / "lint-result.pickle").unlink()
    result = run_inprocess(capsys, "lint", "--format", "json")
    assert_clean_exit(result, (0, 1))
    assert not marker.exists()
    assert result.out == expected
    assert all(b"posix" not in entry.read_bytes() for entry in entries)  # parsed and written anew


def test_a_planted_pickle_in_place_of_the_result_cache_is_never_run(project, capsys):
    import pickle

    expected = run_inprocess(capsys, "lint", "--format", "json").out
    marker = project.parent / "planted"
    (project / ".sotb_cache" / "lint-result.pickle").write_bytes(pickle.dumps(_Planted(marker)))
    result = run_inprocess(capsys, "lint", "--format", "json")
    assert_clean_exit(result, (0, 1))
    assert not marker.exists()
    assert result.out == expected


@pytest.mark.parametrize("change", ["fields", "pattern"])
def test_a_planted_copy_of_the_built_in_types_is_not_trusted(project, change):
    """The cache folder keeps a JSON copy of the shipped type definitions: one a commit put
    there is used only if it builds like the shipped files, else they are read again."""
    pic = project / PIC_FILE
    value = "**Partner**: " + "a" * 40 + "!\n"  # what `^(a+)+$` would backtrack on for ever
    pic.write_text(pic.read_text(encoding="utf-8").replace("**Status**", value + "**Status**", 1),
                   encoding="utf-8")
    for _ in range(2):  # the first makes the cache folder, the second the copy in it
        assert_clean_exit(run_subprocess(project, "lint", timeout=60), (0, 1))
    expected = run_subprocess(project, "lint", "--format", "json", "--no-cache", timeout=60).out
    (copy,) = (project / ".sotb_cache").glob("types-builtin-*.json")
    data = json.loads(copy.read_text(encoding="utf-8"))
    if change == "fields":
        data["PIC"]["fields"] = 5  # was "broken installation: ... reinstall sotb"
    else:
        data["PIC"]["fields"].append({"name": "Partner", "pattern": "^(a+)+$"})
    copy.write_text(json.dumps(data), encoding="utf-8")
    result = run_subprocess(project, "lint", "--format", "json", "--no-cache", timeout=60)
    assert_clean_exit(result, (0, 1))
    assert result.out == expected
    assert json.loads(copy.read_text(encoding="utf-8"))["PIC"]["fields"] != data["PIC"]["fields"]


@pytest.mark.parametrize("how", ["setting", "link"])
def test_a_cache_folder_outside_the_project_loses_nothing_of_its_own(project, capsys, how):
    """`cache_dir` may lead out of the project (a setting, or a link a commit adds): sotb then
    removes only what it wrote there. It used to remove every `parse-*` folder and file,
    `*.<dead pid>.tmp` file and stale `*.pickle` in it, and to leave a `.gitignore` of `*`."""
    import subprocess

    shared = project.parent / "shared"
    (shared / "parse-server").mkdir(parents=True)
    (shared / "parse-server" / "index.js").write_text("kept\n", encoding="utf-8")
    (shared / "parse-notes.txt").write_text("kept\n", encoding="utf-8")
    child = subprocess.Popen(["true"])  # a pid of a process that has ended
    child.wait()
    dead = child.pid
    (shared / f"draft.{dead}.tmp").write_text("kept\n", encoding="utf-8")
    if how == "setting":
        (project / "sotb.toml").write_text('root = "SoT"\ncache_dir = "../shared"\n\n[types.PIC]\n',
                                          encoding="utf-8")
    else:
        (project / ".sotb_cache").symlink_to(shared)
    pic = project / PIC_FILE
    for _ in range(2):  # the second run finds the first one's cache, and an edit to parse again
        assert_clean_exit(run_inprocess(capsys, "lint"), (0, 1))
        pic.write_text(pic.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    (parse,) = (p for p in shared.iterdir() if re.fullmatch(r"parse-[0-9a-f]{16}", p.name))
    inside = sorted(e.name for e in parse.iterdir())
    (parse / ("0" * 32 + ".pickle")).write_bytes(b"stale")  # an entry no file has: removed
    (parse / "mine.pickle").write_bytes(b"not sotb's")
    assert_clean_exit(run_inprocess(capsys, "lint"), (0, 1))
    assert (shared / "parse-server" / "index.js").read_text(encoding="utf-8") == "kept\n"
    assert (shared / "parse-notes.txt").exists() and (shared / f"draft.{dead}.tmp").exists()
    assert (parse / "mine.pickle").exists() and not (parse / ("0" * 32 + ".pickle")).exists()
    assert not (shared / ".gitignore").exists()
    assert inside  # the cache was used


def test_links_planted_in_the_cache_folder_never_create_their_targets(project, capsys):
    """A commit can put links where sotb writes its markers and the cache's .gitignore:
    writing through one created the file it leads to, anywhere."""
    import tomllib

    from sot_builder.config import _memo_path

    from sot_builder.fsutil import folder_identity

    cache = project / ".sotb_cache"
    folder_identity(cache, make=True)  # so that the marker's name is the one a run would use
    outside = project.parent / "outside"
    outside.mkdir()
    data = tomllib.loads((project / "sotb.toml").read_text(encoding="utf-8"))
    _memo_path(project, data).symlink_to(outside / "marker")
    (cache / ".gitignore").symlink_to(outside / "gitignore")
    for _ in range(2):
        assert_clean_exit(run_inprocess(capsys, "lint"), (0, 1))
    assert list(outside.iterdir()) == []


def test_a_lint_result_that_came_with_the_checkout_is_never_used(project, capsys):
    """A commit can carry a cache folder. A result made for the files as they are, on the
    machine of whoever made it, passed the lint gate where the files had errors; parsed files
    alike. The caches are named by a file the checkout's own first run makes in the folder."""
    import pickle
    import shutil

    from sot_builder import cache, engine, lintrun
    from sot_builder.config import load_config
    from sot_builder.project import discover

    assert_clean_exit(run_subprocess(project, "lint", timeout=60), (0,))
    pic = project / PIC_FILE
    pic.write_text(pic.read_text(encoding="utf-8") + "\nSee [API-999](SoT.API.md#api-999).\n",
                   encoding="utf-8")
    # what the commit's author does on their machine: the key of the lint as it now is, a clean result
    cache._identity.cache_clear()
    config = load_config(project)
    rules = engine.active_rules(config.values)
    key = lintrun._fingerprint(config, rules, discover(config))
    result = project / ".sotb_cache" / "lint-result.pickle"
    result.write_bytes(pickle.dumps({"key": key, "checked": {}, "diags": []}))
    forged = run_subprocess(project, "lint", timeout=60)
    assert forged.code == 0  # there, the forged result is taken: it is that machine's cache
    parse_before = sorted(p.name for p in (project / ".sotb_cache").glob("parse-*"))

    # the checkout: the same files, made anew where the gate runs
    moved = project.parent / "moved"
    shutil.move(str(project), moved)
    shutil.copytree(moved, project, symlinks=True)
    checked = run_subprocess(project, "lint", "--format", "json", timeout=60)
    assert_clean_exit(checked, (1,))
    assert any("API-999" in d["message"] for d in json.loads(checked.out)), checked.out
    parse_after = sorted(p.name for p in (project / ".sotb_cache").glob("parse-*"))
    assert parse_after and not set(parse_after) & set(parse_before)  # parsed again, in a cache of its own


def _make_device(path: Path, minor: int) -> None:
    """A character device at `path`: 3 as /dev/null is, 5 as /dev/zero is."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    except (PermissionError, AttributeError) as exc:
        pytest.skip(f"cannot make a device file here: {exc}")


def _run(root: Path, *args: str, prefix: tuple[str, ...] = (), **options) -> Result:
    """`python -m sot_builder ARGS` in `root`, started through `prefix`; 60 s at most."""
    try:
        proc = subprocess.run(
            [*prefix, sys.executable, "-m", "sot_builder", *args],
            cwd=root, capture_output=True, timeout=60, env=sotb_env(), **options,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"sotb {' '.join(args)} did not finish within 60 s (hang)")
    out, err = (stream.decode("utf-8", "replace") for stream in (proc.stdout, proc.stderr))
    return Result(proc.returncode, out, err)


def test_a_device_is_reported_without_being_opened(project, capsys):
    device = project / "SoT" / "SoT.NULL.md"
    _make_device(device, 3)
    with AccessRecorder(files=(device,), opens_only=True) as recorder:
        cold = run_inprocess(capsys, "lint", "--format", "json")
        warm = run_inprocess(capsys, "lint", "--format", "json")
        synced = run_inprocess(capsys, "sync")
    assert recorder.touched == []
    for result in (cold, warm):
        assert_clean_exit(result, (1,))
        assert _unread(result, "SoT/SoT.NULL.md") == "not a regular file; skipped"
    assert_clean_exit(synced, (0, 1, 2))


def test_a_device_with_endless_content_is_not_read(project):
    _make_device(project / "SoT" / "SoT.ZERO.md", 5)
    # memory capped: reading the device would take all there is
    result = _run(project, "lint", "--no-cache", "--format", "json", preexec_fn=_cap_memory)
    assert_clean_exit(result, (1,))
    assert _unread(result, "SoT/SoT.ZERO.md") == "not a regular file; skipped"


def _cap_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))


# -- links --------------------------------------------------------------------------------------
def test_dangling_links_and_links_to_devices_are_reported(project, tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.md"
    secret.write_text("## PIC-001: not yours\n", encoding="utf-8")
    sot = project / "SoT"
    os.symlink(os.devnull, sot / "SoT.NULL.md")  # a device, outside the project
    os.symlink(outside / "gone.md", sot / "SoT.GONE.md")  # dangling, outside the project
    os.symlink("SoT.NOWHERE.md", sot / "SoT.LOST.md")  # dangling, inside the project
    os.symlink(secret, sot / "SoT.SECRET.md")  # a file outside the project: never read
    with AccessRecorder(folders=(outside,), files=(Path(os.devnull),), opens_only=True) as recorder:
        result = run_inprocess(capsys, "lint", "--no-cache", "--format", "json")
        cached = run_inprocess(capsys, "lint", "--format", "json")
        synced = run_inprocess(capsys, "sync")
    assert recorder.touched == []
    assert_clean_exit(result, (1,))
    assert _unread(result, "SoT/SoT.NULL.md") == "not a regular file; skipped"
    assert "No such file or directory" in _unread(result, "SoT/SoT.GONE.md")
    assert "No such file or directory" in _unread(result, "SoT/SoT.LOST.md")
    assert not any("SECRET" in p["path"] or "NOWHERE" in p["path"] for p in result.problems())
    assert cached.problems() == result.problems()
    assert_clean_exit(synced, (0, 1, 2))
    assert all(os.path.islink(sot / n) for n in ("SoT.NULL.md", "SoT.GONE.md", "SoT.LOST.md"))


def test_a_dangling_document_link_is_reported(tmp_path, monkeypatch, capsys):
    config = 'root = "SoT"\ndocuments = ["docs/*.md"]\n\n[types.PIC]\n'
    root = make_project(tmp_path / "project", config=config)
    (root / "docs").mkdir()
    os.symlink("../nowhere/PRD.md", root / "docs" / "PRD.md")
    os.mkfifo(root / "docs" / "PIPE.md")
    (root / "docs" / "folder.md").mkdir()  # a folder the pattern matches is no document
    monkeypatch.chdir(root)
    result = run_inprocess(capsys, "lint", "--no-cache", "--format", "json")
    assert_clean_exit(result, (1,))
    assert "No such file or directory" in _unread(result, "docs/PRD.md")
    assert _unread(result, "docs/PIPE.md") == "not a regular file; skipped"
    assert not any(p["path"].endswith("folder.md") for p in result.problems())


# -- folders that cannot be listed ----------------------------------------------------------------
def _as_unprivileged() -> tuple[str, ...]:
    """A command prefix under which a chmod 000 folder cannot be listed; skips where none is."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: root lists any folder")
    prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search")  # root, less its reach
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot drop the capabilities that let root list any folder: {probe.stderr!r}")
    return prefix


def test_a_folder_that_cannot_be_listed_is_reported(project):
    prefix = _as_unprivileged()
    sub = project / "SoT" / "sub"
    sub.mkdir()
    (sub / "SoT.HIDDEN.md").write_text(pic_file(ENTRY), encoding="utf-8")
    (project / "SoT" / "empty").mkdir()
    (project / "SoT" / "skipped").mkdir()
    config = 'root = "SoT"\nexclude = ["SoT/skipped/*"]\n\n[types.PIC]\n'
    (project / "sotb.toml").write_text(config, encoding="utf-8")
    first = run_subprocess(project, "lint", "--format", "json")  # fills both caches
    assert_clean_exit(first, (1,))  # PIC-001 twice
    assert any(p["path"] == "SoT/sub/SoT.HIDDEN.md" for p in first.problems())
    for folder in ("sub", "empty", "skipped"):
        (project / "SoT" / folder).chmod(0)
    try:
        for args in ((), (), ("--no-cache",)):
            result = _run(project, "lint", "--format", "json", *args, prefix=prefix)
            assert_clean_exit(result, (1,))
            problems = {p["path"]: p for p in result.problems() if p["code"] == "SOT002"}
            assert set(problems) == {"SoT/sub", "SoT/empty"}, result.out  # not the excluded one
            assert all(p["line"] == 1 for p in problems.values())
            assert "cannot read folder: Permission denied" in problems["SoT/sub"]["message"]
    finally:
        for folder in ("sub", "empty", "skipped"):
            (project / "SoT" / folder).chmod(0o755)


# -- file names that are not UTF-8 ----------------------------------------------------------------
BAD_NAME = b"SoT.BAD\xffNAME.md"
SHOWN = "SoT/SoT.BAD\\xffNAME.md"
STRICT = sotb_env(PYTHONIOENCODING="utf-8:strict")  # output that cannot carry the raw bytes


def _sotb(root: Path, *args: str):
    return run_subprocess(root, *args, timeout=60, env=STRICT)


def test_a_file_name_that_is_not_utf8_is_shown_escaped_in_every_format(project):
    with open(os.fsencode(project / "SoT") + b"/" + BAD_NAME, "wb") as fh:
        fh.write(pic_file(ENTRY).encode("utf-8"))  # PIC-001 once more: problems in both files
    for args in (["--no-cache"], [], []):
        result = _sotb(project, "lint", "--format", "json", *args)
        assert_clean_exit(result, (1,))
        assert problem_at(result, SHOWN, "SOT101")["path"] == SHOWN
        assert SHOWN in problem_at(result, PIC_FILE, "SOT101")["message"]
    text = _sotb(project, "lint")
    assert_clean_exit(text, (1,))
    assert any(line.startswith(f"{SHOWN}:") for line in text.out.splitlines()), text.out
    github = _sotb(project, "lint", "--format", "github")
    assert_clean_exit(github, (1,))
    assert f"file={SHOWN}," in github.out
    sarif = _sotb(project, "lint", "--format", "sarif")
    assert_clean_exit(sarif, (1,))
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in json.loads(sarif.out)["runs"][0]["results"]
    }
    assert "SoT/SoT.BAD%FFNAME.md" in uris  # the exact bytes, percent-encoded
    junit = _sotb(project, "lint", "--format", "junit")
    assert_clean_exit(junit, (1,))
    files = {case.get("file") for case in ET.fromstring(junit.out).iter("testcase")}
    assert SHOWN in files
    report = project / "report.txt"
    written = _sotb(project, "lint", "-o", str(report))
    assert_clean_exit(written, (1,))
    assert SHOWN in report.read_text(encoding="utf-8")


def test_sync_lists_and_rewrites_a_file_name_that_is_not_utf8(project):
    stale = pic_file(ENTRY.replace("PIC-001", "PIC-002"))  # its navigation lists PIC-001
    with open(os.fsencode(project / "SoT") + b"/" + BAD_NAME, "wb") as fh:
        fh.write(stale.encode("utf-8"))
    synced = _sotb(project, "sync")
    assert_clean_exit(synced, (0,))
    assert f"updated {SHOWN}\n" in synced.out
    readme = (project / "SoT" / "SoT.README.md").read_text(encoding="utf-8")
    assert "[SoT.BAD\\xffNAME.md](SoT.BAD%FFNAME.md)" in readme
    with open(os.fsencode(project / "SoT") + b"/" + BAD_NAME, "rb") as fh:
        assert b"- [PIC-002](#pic-002-" in fh.read()


# -- no SoT folder ------------------------------------------------------------------------------
def test_lint_outside_any_project_is_an_error(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    for command in ("lint", "sync"):
        result = run_inprocess(capsys, command)
        assert_clean_exit(result, (2,))
        assert result.err.startswith("sotb: error: no SoT folder: SoT/ does not exist"), result.err
        assert list(empty.iterdir()) == []  # no cache folder or lock file either
    assert_clean_exit(run_inprocess(capsys, "config"), (0,))  # needs no SoT folder
    assert_clean_exit(run_inprocess(capsys, "init", "--new"), (0,))
    assert_clean_exit(run_inprocess(capsys, "lint"), (0,))


@pytest.mark.parametrize(
    "root, expected",
    [
        ("nope", "no SoT folder: nope/ does not exist"),
        ("/no/such/folder", "no SoT folder: /no/such/folder/ does not exist"),
        ("sotb.toml", "no SoT folder: sotb.toml/ is not a folder"),
    ],
)
def test_a_root_that_is_no_folder_is_an_error(tmp_path, monkeypatch, capsys, root, expected):
    project = make_project(tmp_path / "project", config=f'root = "{root}"\n')
    monkeypatch.chdir(project)
    for args in (["lint"], ["lint", "--no-cache", "--format", "json"], ["lint", "--fix"]):
        result = run_inprocess(capsys, *args)
        assert_clean_exit(result, (2,))
        assert expected in result.err and "sotb.toml" in result.err, result.err
        assert result.out == ""
    assert not (project / ".sotb_cache").exists()


def test_a_file_name_that_is_not_utf8_in_a_registry_with_a_dashboard(tmp_path):
    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(repo / "SoT", tmp_path / "SoT")
    shutil.copy(repo / "sotb.toml", tmp_path / "sotb.toml")
    rules = (tmp_path / "SoT" / "SoT.BUSINESS_RULES.md").read_bytes()
    with open(os.fsencode(tmp_path / "SoT") + b"/" + BAD_NAME, "wb") as fh:
        fh.write(rules.replace(b"BR-", b"BX-"))
    synced = _sotb(tmp_path, "sync")
    assert_clean_exit(synced, (0,))
    readme = (tmp_path / "SoT" / "SoT.README.md").read_text(encoding="utf-8")
    assert "| [SoT.BAD\\xffNAME.md](SoT.BAD%FFNAME.md) | BX | 1 |" in readme  # the dashboard's row
    lint = _sotb(tmp_path, "lint", "--no-cache", "--format", "json")
    assert_clean_exit(lint, (1,))
    codes = {p["code"] for p in json.loads(lint.out) if p["path"] == SHOWN}
    assert codes == {"SOT102", "SOT503"}  # BX is not registered, nor in the ledger: its links resolve

"""The pre-commit hooks of `.pre-commit-hooks.yaml`, run by the real `pre-commit try-repo`.

The hook repository is a fresh git repository holding this checkout's package files
(committed or not), so the hooks install and run the code under test. try-repo
builds a new environment on every call, so the two runs (broken and clean sample
registry) are shared by the tests of this module.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from sot_builder.cli import main

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / ".pre-commit-hooks.yaml"
PACKAGE_PATHS = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "sot_builder", "templates", "schemas")
HOOK_NAMES = {"sotb-lint": "sotb lint", "sotb-sync": "sotb sync --check"}
HAS_SYNC = importlib.util.find_spec("sot_builder.commands.sync") is not None
needs_sync = pytest.mark.skipif(not HAS_SYNC, reason="this checkout has no `sotb sync` command")
# Each try-repo run builds a fresh environment with pip: 10-15 s on an idle machine,
# over a minute on a busy one.
slow = pytest.mark.slow

SOTB_TOML = """root = "SoT"
# the rules this sample is about; the hooks run whatever the configuration selects
select = ["SOT0", "SOT1", "SOT201", "SOT202", "SOT203", "SOT204"]

[types.PIC]
file = "SoT.PARTNER_INTEGRATIONS.md"
fields = []

[types.API]
file = "SoT.API_CONTRACTS.md"
fields = []
"""
PARTNERS = """# Partner Integrations

## PIC-001: Stripe Payment Processing

**Status**: Active

- Used by [API-045](SoT.API_CONTRACTS.md#api-045-post-paymentscharge)

## PIC-101: Twilio SMS

**Status**: Active
"""
APIS = """# API Contracts

## API-045: POST /payments/charge

**Status**: Active

- Calls [PIC-001](SoT.PARTNER_INTEGRATIONS.md#pic-001-stripe-payment-processing)
"""
# A new entry, missing from the generated navigation, with a dangling reference.
BROKEN_ENTRY = """
## PIC-002: Adyen

**Status**: Active

- Used by [API-099](SoT.API_CONTRACTS.md#api-099)
"""


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without git variables that would point git at another repository."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(extra)
    return env


def git(cwd: Path, *args: str) -> str:
    cmd = ["git", "-c", "user.name=sotb tests", "-c", "user.email=tests@example.com",
           "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args]
    done = subprocess.run(cmd, cwd=cwd, env=clean_env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)} failed: {done.stderr}"
    return done.stdout


def package_files() -> list[str]:
    """This checkout's package files, committed or not (ignored files left out)."""
    out = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *PACKAGE_PATHS)
    return sorted(name for name in set(out.split("\0")) if name and (REPO / name).is_file())


def make_hook_repo(dest: Path) -> Path:
    for name in package_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    templates = dest / "templates"
    if not any(templates.rglob("*")):  # git keeps no empty folder; the build needs it
        templates.mkdir(exist_ok=True)
        (templates / ".keep").write_text("")
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "hooks")
    return dest


def make_sample(dest: Path, broken: bool, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry whose generated regions are up to date (`sotb sync` has run), then
    with BROKEN_ENTRY appended when `broken`."""
    (dest / "SoT").mkdir(parents=True)
    (dest / "sotb.toml").write_text(SOTB_TOML)
    (dest / "SoT" / "SoT.PARTNER_INTEGRATIONS.md").write_text(PARTNERS)
    (dest / "SoT" / "SoT.API_CONTRACTS.md").write_text(APIS)
    (dest / "notes.txt").write_text("not part of the registry\n")
    with monkeypatch.context() as m:
        m.chdir(dest)
        if HAS_SYNC:
            assert main(["sync"]) == 0
            assert main(["sync", "--check"]) == 0, "sync is not idempotent on the sample"
        assert main(["lint", "--no-cache"]) == 0, "the clean sample does not lint clean"
        if broken:
            with (dest / "SoT" / "SoT.PARTNER_INTEGRATIONS.md").open("a") as fh:
                fh.write(BROKEN_ENTRY)
            assert main(["lint", "--no-cache"]) == 1
            assert not HAS_SYNC or main(["sync", "--check"]) == 1
    shutil.rmtree(dest / ".sotb_cache", ignore_errors=True)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "registry")
    return dest


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str

    def status(self, hook_id: str) -> str:
        """Passed / Failed / Skipped for one hook, from pre-commit's report."""
        name = re.escape(HOOK_NAMES[hook_id])
        line = rf"^{name}(?:\.+|\(no files to check\))(Passed|Failed|Skipped)$"
        m = re.search(line, self.output, re.MULTILINE)
        assert m, f"no result line for {hook_id}:\n{self.output}"
        return m.group(1)

    def hook_output(self, hook_id: str) -> str:
        """What the hook printed: the lines after its `- hook id:` block."""
        start = self.output.index(f"- hook id: {hook_id}")
        rest = self.output[start:]
        m = re.search(r"^\S.*\.(Passed|Failed|Skipped)$", rest, re.MULTILINE)
        return rest[: m.start()] if m else rest


def try_repo(samples: dict[str, Path], hook_repo: Path, home: Path, *args: str) -> dict[str, Run]:
    """`pre-commit try-repo HOOK_REPO ARGS` in each sample, run side by side (each builds
    its own hook environment, mostly waiting on pip)."""
    pre_commit = shutil.which("pre-commit")
    cmd = [pre_commit] if pre_commit else [sys.executable, "-m", "pre_commit"]
    env = clean_env(PRE_COMMIT_HOME=str(home), NO_COLOR="1")
    procs = {
        state: subprocess.Popen([*cmd, "try-repo", str(hook_repo), *args, "--color", "never"],
                                cwd=sample, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for state, sample in samples.items()
    }
    runs = {}
    for state, proc in procs.items():
        out, _ = proc.communicate(timeout=900)
        runs[state] = Run(proc.returncode, out)
    return runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    pytest.importorskip("pre_commit")
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout of sotb")
    base = tmp_path_factory.mktemp("precommit")
    hook_repo = make_hook_repo(base / "hooks")
    monkeypatch = pytest.MonkeyPatch()
    try:
        samples = {state: make_sample(base / state, state == "broken", monkeypatch)
                   for state in ("broken", "clean")}
    finally:
        monkeypatch.undo()
    return try_repo(samples, hook_repo, base / "pre-commit-home", "--all-files")


@slow
def test_lint_hook_fails_on_a_broken_registry(runs: dict[str, Run]) -> None:
    run = runs["broken"]
    assert run.status("sotb-lint") == "Failed", run.output
    out = run.hook_output("sotb-lint")
    assert "- exit code: 1" in out
    assert re.search(r"SoT/SoT\.PARTNER_INTEGRATIONS\.md:\d+:\d+: SOT201 \[error\] API-099", out), out
    assert run.returncode == 1


@slow
@needs_sync
def test_sync_hook_fails_with_a_diff_on_stale_regions(runs: dict[str, Run]) -> None:
    run = runs["broken"]
    assert run.status("sotb-sync") == "Failed", run.output
    out = run.hook_output("sotb-sync")
    assert "- exit code: 1" in out
    assert "--- a/SoT/SoT.PARTNER_INTEGRATIONS.md" in out, out
    assert re.search(r"^\+- \[PIC-002\]", out, re.MULTILINE), out


@slow
def test_lint_hook_passes_on_a_clean_registry(runs: dict[str, Run]) -> None:
    assert runs["clean"].status("sotb-lint") == "Passed", runs["clean"].output


@slow
@needs_sync
def test_sync_hook_passes_on_a_clean_registry(runs: dict[str, Run]) -> None:
    run = runs["clean"]
    assert run.status("sotb-sync") == "Passed", run.output
    assert run.returncode == 0


# --- the manifest itself (no hook environment needed) -------------------------------


def manifest() -> dict[str, dict]:
    return {hook["id"]: hook for hook in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))}


def test_manifest_is_valid_for_pre_commit() -> None:
    clientlib = pytest.importorskip("pre_commit.clientlib")
    hooks = clientlib.load_manifest(str(MANIFEST))
    assert sorted(h["id"] for h in hooks) == sorted(HOOK_NAMES)


@pytest.mark.parametrize("hook_id, entry", [("sotb-lint", "sotb lint"), ("sotb-sync", "sotb sync --check")])
def test_hooks_check_the_whole_registry_in_one_process(hook_id: str, entry: str) -> None:
    hook = manifest()[hook_id]
    assert hook["name"] == HOOK_NAMES[hook_id]
    assert hook["entry"] == entry
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    assert hook["require_serial"] is True
    assert hook["always_run"] is False


@pytest.mark.parametrize("path, runs_hook", [
    ("SoT/SoT.PARTNER_INTEGRATIONS.md", True),
    ("docs/SoT/SoT.README.md", True),
    ("PRD.md", True),
    ("epics/checkout.markdown", True),
    ("sotb.toml", True),
    ("service/pyproject.toml", True),
    ("src/app.py", False),
    ("notes.txt", False),
    ("not-sotb.toml", False),
    ("SoT/diagram.png", False),
])
def test_hooks_run_only_for_markdown_and_configuration(path: str, runs_hook: bool) -> None:
    for hook in manifest().values():
        # pre-commit matches `files` with re.search against the repository-relative path
        assert bool(re.search(hook["files"], path)) is runs_hook, (hook["id"], path)

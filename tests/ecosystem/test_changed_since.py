"""`sotb lint --changed-since REF`: the whole registry is checked, only changed files reported."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sot_builder.cli import main

BROKEN = "# {title}\n\n## {prefix}-001: One\n\n- Uses BR-099, which is undefined\n"


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose sotb project lives in a sub-folder; every file has one problem."""
    project = tmp_path / "product"
    (project / "SoT").mkdir(parents=True)
    (project / "sotb.toml").write_text('root = "SoT"\nselect = ["SOT201"]\n[types.BR]\n[types.PIC]\n[types.MIG]\n')
    (project / "SoT" / "SoT.BUSINESS_RULES.md").write_text(BROKEN.format(title="Rules", prefix="BR"))
    (project / "SoT" / "SoT.PARTNER_INTEGRATIONS.md").write_text(BROKEN.format(title="Partners", prefix="PIC"))
    (project / "SoT" / "SoT.MIGRATIONS.md").write_text(BROKEN.format(title="Migrations", prefix="MIG"))
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "registry")
    return project


def reported(project: Path, monkeypatch, capsys, *args: str) -> tuple[int, list[str]]:
    monkeypatch.chdir(project)
    capsys.readouterr()
    code = main(["lint", "--no-cache", "--format", "json", *args])
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    return code, sorted(d["path"] for d in json.loads(captured.out))


def test_nothing_changed_reports_nothing(repo: Path, monkeypatch, capsys) -> None:
    assert reported(repo, monkeypatch, capsys, "--changed-since", "HEAD") == (0, [])
    code, paths = reported(repo, monkeypatch, capsys)
    assert code == 1 and len(paths) == 3


def test_modified_staged_and_untracked_files_are_reported(repo: Path, monkeypatch, capsys) -> None:
    rules = repo / "SoT" / "SoT.BUSINESS_RULES.md"
    rules.write_text(rules.read_text() + "\nMore text.\n")
    partners = repo / "SoT" / "SoT.PARTNER_INTEGRATIONS.md"
    partners.write_text(partners.read_text() + "\nStaged.\n")
    git(repo, "add", str(partners))
    (repo / "SoT" / "SoT.NÖTES.md").write_text("# Notes\n\nSee BR-098.\n")  # untracked, non-ASCII name
    code, paths = reported(repo, monkeypatch, capsys, "--changed-since", "HEAD")
    assert code == 1
    assert paths == ["SoT/SoT.BUSINESS_RULES.md", "SoT/SoT.NÖTES.md", "SoT/SoT.PARTNER_INTEGRATIONS.md"]


def test_committed_changes_since_an_older_ref(repo: Path, monkeypatch, capsys) -> None:
    migrations = repo / "SoT" / "SoT.MIGRATIONS.md"
    migrations.write_text(migrations.read_text() + "\nCommitted.\n")
    git(repo, "commit", "-q", "-am", "change")
    assert reported(repo, monkeypatch, capsys, "--changed-since", "HEAD~1") == (1, ["SoT/SoT.MIGRATIONS.md"])
    assert reported(repo, monkeypatch, capsys, "--changed-since", "HEAD") == (0, [])


def test_cross_file_problems_still_see_the_whole_registry(repo: Path, monkeypatch, capsys) -> None:
    # the changed file links an entry of an unchanged file: that is no problem
    partners = repo / "SoT" / "SoT.PARTNER_INTEGRATIONS.md"
    partners.write_text("# Partners\n\n## PIC-001: One\n\n- Governed by BR-001\n")
    assert reported(repo, monkeypatch, capsys, "--changed-since", "HEAD") == (0, [])


def test_a_bad_ref_is_an_error(repo: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(repo)
    assert main(["lint", "--changed-since", "no-such-ref"]) == 2
    assert "git failed" in capsys.readouterr().err
    assert main(["lint", "--changed-since=--output=x"]) == 2
    assert not (repo / "x").exists()


def test_outside_a_git_repository_is_an_error(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "sotb.toml").write_text('root = "SoT"\nselect = ["SOT201"]\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert main(["lint", "--changed-since", "HEAD"]) == 2
    assert "git failed" in capsys.readouterr().err

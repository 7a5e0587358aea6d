"""sotb export -o: refused targets get a clear message and exit 2, and nothing is written."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from sot_builder.cli import main
from tests.export.helpers import make_project

FORMATS = ("sqlite", "json", "sql")


def export(capsys, project: Path, fmt: str, output: Path | str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["export", str(project), "--no-cache", "--format", fmt, "-o", str(output)])
    return code, capsys.readouterr().err


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` with its bytes (None for folders)."""
    return {p.relative_to(folder).as_posix(): None if p.is_dir() else p.read_bytes()
            for p in sorted(folder.rglob("*")) if ".sotb_cache" not in p.parts}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    make_project(root, files={
        "SoT/SoT.BUSINESS_RULES.md": "# Rules\n\n## BR-001: Refunds\n\n**Status**: Active\n",
        "SoT/SoT.PARTNER_INTEGRATIONS.md": "# Partners\n\n## PIC-001: Stripe\n",
        "SoT/SoT.README.md": "# Registry\n",
        "SoT/SoT.UNIQUE_ID_SYSTEM.md": "# IDs\n",
        "SoT/SoT.LEDGER.jsonl": "",
    })
    return root


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_existing_folder_is_refused(capsys, project: Path, fmt: str) -> None:
    before = tree(project)
    code, err = export(capsys, project, fmt, project / "SoT")
    assert code == 2
    assert f"export: -o {project / 'SoT'} is a folder" in err
    assert "internal error" not in err
    assert tree(project) == before  # no temp file left behind either


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_folders_are_made(capsys, project: Path, fmt: str) -> None:
    out = project / "build" / "exports" / "x.db"
    code, err = export(capsys, project, fmt, out)
    assert code == 0 and err.startswith("exported")
    assert out.is_file() and out.stat().st_size > 0


@pytest.mark.parametrize("fmt", (*FORMATS, "csv"))
def test_a_path_below_a_file_is_refused(capsys, project: Path, fmt: str) -> None:
    code, err = export(capsys, project, fmt, project / "sotb.toml" / "x.db")
    assert code == 2
    assert "is not a folder" in err and "internal error" not in err


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_that_cannot_be_created_gives_a_clear_error(capsys, project: Path, fmt: str) -> None:
    out = project / ("x" * 300 + ".db")  # longer than any file system allows
    code, err = export(capsys, project, fmt, out)
    assert code == 2
    assert "export: cannot write -o" in err and "internal error" not in err
    assert [p.name for p in project.iterdir() if p.name.endswith(".sotb-tmp")] == []


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", [
    "SoT/SoT.BUSINESS_RULES.md", "SoT/SoT.README.md", "SoT/SoT.UNIQUE_ID_SYSTEM.md",
    "SoT/SoT.LEDGER.jsonl", "sotb.toml",
])
def test_a_file_sotb_reads_is_never_overwritten(capsys, project: Path, fmt: str, name: str) -> None:
    before = tree(project)
    code, err = export(capsys, project, fmt, project / name)
    assert code == 2
    assert "would overwrite" in err and Path(name).name in err
    assert tree(project) == before


def test_a_new_markdown_file_in_the_registry_folder_is_refused(capsys, project: Path) -> None:
    code, err = export(capsys, project, "json", project / "SoT" / "export.md")
    assert code == 2
    assert "would read it as a source" in err
    assert not (project / "SoT" / "export.md").exists()


def test_a_symlink_to_a_source_is_refused(capsys, project: Path) -> None:
    link = project / "link.json"
    try:
        link.symlink_to(project / "SoT" / "SoT.BUSINESS_RULES.md")
    except OSError:
        pytest.skip("no symlinks here")
    before = tree(project)
    code, err = export(capsys, project, "json", link)
    assert code == 2
    assert "the registry source SoT/SoT.BUSINESS_RULES.md" in err
    assert tree(project) == before and link.is_symlink()


def test_a_csv_file_named_by_a_source_pattern_is_refused(capsys, tmp_path: Path) -> None:
    root = tmp_path / "p"
    config = 'documents = ["out/entries.csv"]\n\n[types]\nBR = {}\n'
    make_project(root, files={"SoT/SoT.BUSINESS_RULES.md": "# Rules\n\n## BR-001: A\n",
                              "out/entries.csv": "hand,written\n"}, config=config)
    code, err = export(capsys, root, "csv", root / "out")
    assert code == 2 and "would overwrite the registry source out/entries.csv" in err
    assert (root / "out" / "entries.csv").read_text(encoding="utf-8") == "hand,written\n"


def test_a_previous_export_is_replaced(capsys, project: Path) -> None:
    out = project.parent / "exports"
    out.mkdir()
    for fmt, name in (("sqlite", "registry.db"), ("json", "registry.json"),
                      ("sql", "registry.sql")):
        (out / name).write_text("an old export\n", encoding="utf-8")
        code, err = export(capsys, project, fmt, out / name)
        assert code == 0, err
    con = sqlite3.connect(out / "registry.db")
    assert con.execute("SELECT COUNT(*) FROM entries").fetchone() == (2,)
    data = json.loads((out / "registry.json").read_text(encoding="utf-8"))
    assert len(data["tables"]["entries"]) == 2
    assert (out / "registry.sql").read_text(encoding="utf-8").startswith("-- sotb export")


def test_an_export_in_the_project_folder_is_allowed(capsys, project: Path) -> None:
    code, err = export(capsys, project, "sqlite", project / "registry.db")
    assert code == 0, err
    code, err = export(capsys, project, "json", project / "SoT" / "registry.json")
    assert code == 0, err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_pipe_is_never_replaced(capsys, project: Path) -> None:
    pipe = project / "pipe"
    os.mkfifo(pipe)
    code, err = export(capsys, project, "sqlite", pipe)
    assert code == 2 and "not a regular file" in err
    assert stat.S_ISFIFO(pipe.stat().st_mode)

    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    code, err = export(capsys, project, "json", pipe)
    reader.join(30)
    assert code == 0, err
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert len(json.loads(received[0])["tables"]["entries"]) == 2

"""`sotb new`, `add` and `renumber` refuse before writing anything when a file cannot be read or
cannot be rewritten safely; they leave nothing for `sotb sync` to do when they succeed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PIC = Path("SoT/SoT.PARTNER_INTEGRATIONS.md")
README = Path("SoT/SoT.README.md")


def snapshot(root: Path) -> dict[str, bytes]:
    """The configuration and the SoT folder, but the lock (which a refused run may have created)."""
    files = [root / "sotb.toml", *sorted((root / "SoT").rglob("*"))]
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files
            if p.is_file() and p.name != ".sotb.lock"}


@pytest.fixture
def pic(registry, sotb):
    """A registry with SoT.PARTNER_INTEGRATIONS.md, PIC-001 and an API file referencing it."""
    assert sotb("new", "PIC").code in (0, 1)
    assert sotb("new", "API").code in (0, 1)
    assert sotb("add", "PIC", "--title", "Stripe").out == "PIC-001\n"
    assert sotb("add", "API", "--title", "Charge", "--ref", "PIC-001").code == 0
    return registry


def _refused(sotb, args: tuple[str, ...], where: str, why: str) -> None:
    r = sotb(*args)
    assert r.code == 2, (r.out, r.err)
    assert r.err.startswith(f"sotb: error: {where}") and why in r.err, r.err
    assert "internal error" not in r.err


@pytest.mark.parametrize("bad, why", [(b"caf\xe9", "not valid UTF-8"), (b"caf\x00", "binary file (NUL byte)")])
def test_add_and_renumber_refuse_while_a_file_cannot_be_decoded(pic: Path, sotb, bad: bytes, why: str) -> None:
    api = pic / "SoT" / "SoT.API_CONTRACTS.md"
    data = api.read_bytes()
    line = data.count(b"\n") + 1
    api.write_bytes(data + bad + b"\n")
    before = snapshot(pic)
    _refused(sotb, ("add", "PIC", "--title", "Adyen"), f"SoT/SoT.API_CONTRACTS.md:{line}: ", why)
    _refused(sotb, ("renumber", "PIC-001", "--to", "PIC-050"), f"SoT/SoT.API_CONTRACTS.md:{line}: ", why)
    _refused(sotb, ("renumber", "PIC-001", "--to", "PIC-050", "--dry-run"), "SoT/SoT.API_CONTRACTS.md", why)
    # the link to PIC-001 in the file sotb cannot read still finds its entry
    assert snapshot(pic) == before


def test_new_refuses_a_readme_it_cannot_decode_before_writing_anything(registry: Path, sotb) -> None:
    readme = registry / README
    readme.write_bytes(readme.read_bytes().replace(b"Source", b"S\xf6urce", 1))
    before = snapshot(registry)
    _refused(sotb, ("new", "PIC"), f"{README.as_posix()}:1: ", "not valid UTF-8")
    assert snapshot(registry) == before  # no new file, no [types.PIC] in sotb.toml


def test_add_refuses_frontmatter_that_hides_the_navigation(pic: Path, sotb) -> None:
    text = (pic / PIC).read_text(encoding="utf-8")
    close = text.index("\n---\n", 4)
    (pic / PIC).write_text(text[:close] + text[close + 4:], encoding="utf-8")  # the closing `---` goes
    before = snapshot(pic)
    _refused(sotb, ("add", "PIC", "--title", "Adyen"), f"{PIC.as_posix()}:1: ",
             "the frontmatter opened at line 1 runs to the '---' at line")
    assert snapshot(pic) == before


def test_add_refuses_a_region_marker_without_its_partner(pic: Path, sotb) -> None:
    lines = (pic / PIC).read_text(encoding="utf-8").split("\n")
    end = lines.index("<!-- sotb:end navigation -->")
    (pic / PIC).write_text("\n".join(lines[:end] + lines[end + 1:]), encoding="utf-8")
    begin = lines.index("<!-- sotb:begin navigation -->") + 1
    before = snapshot(pic)
    _refused(sotb, ("add", "PIC", "--title", "Adyen"), f"{PIC.as_posix()}:{begin}: ",
             "region 'navigation' has a begin marker but no end marker")
    _refused(sotb, ("new", "API", "--force"), f"{PIC.as_posix()}:{begin}: ", "no end marker")
    assert snapshot(pic) == before


def test_after_add_there_is_nothing_left_to_sync(pic: Path, sotb) -> None:
    # the dashboard counts problems, and the ledger's "not recorded" warning among them
    with open(pic / "sotb.toml", "a", encoding="utf-8") as fh:
        fh.write("\n[dashboard]\nstale_days = 365\n")
    assert sotb("ledger", "update").code == 0
    assert sotb("sync").code == 0
    assert sotb("sync", "--check").code == 0
    assert sotb("add", "PIC", "--title", "Adyen").out == "PIC-002\n"
    check = sotb("sync", "--check")
    assert check.code == 0, check.out
    assert "PIC-002" in (pic / "SoT" / "SoT.LEDGER.jsonl").read_text(encoding="utf-8")


def test_new_refuses_a_target_that_is_a_symlink_loop(registry: Path, sotb) -> None:
    os.symlink("SoT.PARTNER_INTEGRATIONS.md", registry / PIC)
    before = snapshot(registry)
    _refused(sotb, ("new", "PIC"), f"{PIC.as_posix()}: ", "symbolic link that leads nowhere")
    assert os.path.islink(registry / PIC)
    assert snapshot(registry) == before


def test_a_write_that_fails_is_an_error_line(pic: Path, sotb, monkeypatch) -> None:
    # simulated: a temp file that cannot be created (a full disk, a folder gone read-only)
    import tempfile

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    before = snapshot(pic)
    _refused(sotb, ("add", "PIC", "--title", "Adyen"), f"{pic / PIC}: ", "cannot write file: No space left")
    assert snapshot(pic) == before


def test_add_in_a_sot_folder_sotb_cannot_write_to_is_an_error_line(pic: Path) -> None:
    prefix = []
    if os.geteuid() == 0:  # root writes anywhere: run without its permission override
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv is needed to run without root's permission override")
        caps = "-dac_override,-dac_read_search"
        prefix = [shutil.which("setpriv"), f"--bounding-set={caps}", f"--inh-caps={caps}"]
    (pic / "SoT" / ".sotb.lock").unlink()
    before = snapshot(pic)
    os.chmod(pic / "SoT", 0o555)
    try:
        run = subprocess.run([*prefix, sys.executable, "-m", "sot_builder", "add", "PIC", "--title", "x"],
                             cwd=pic, capture_output=True, text=True, timeout=120)
    finally:
        os.chmod(pic / "SoT", 0o755)
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("sotb: error: cannot lock ") and "Permission denied" in run.stderr
    assert snapshot(pic) == before

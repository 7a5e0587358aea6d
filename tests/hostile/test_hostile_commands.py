"""Hostile projects through the real CLI: unreadable files, links out of the project,
catastrophic type patterns, control characters in titles, broken configuration."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sot_builder.parse import parse_document

from ._support import (
    ENTRY,
    PIC_FILE,
    REPO,
    AccessRecorder,
    assert_clean_exit,
    make_project,
    pic_file,
    problem_at,
    run_inprocess,
    run_subprocess,
)



# -- unreadable files -------------------------------------------------------------------------
def test_a_file_that_cannot_be_read_is_reported(project, monkeypatch, capsys):
    """Tests run as root here and in CI, and root reads a chmod 000 file: simulate the refusal."""
    target = (project / PIC_FILE).resolve()
    real = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if Path(self).resolve() == target:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    result = run_inprocess(capsys, "lint", "--no-cache", "--format", "json")
    assert_clean_exit(result, (1,))
    assert "Permission denied" in problem_at(result, PIC_FILE, "SOT002", 1)["message"]
    synced = run_inprocess(capsys, "sync")
    assert_clean_exit(synced, (0, 1, 2))
    monkeypatch.undo()
    assert (project / PIC_FILE).read_text(encoding="utf-8") == pic_file(ENTRY)


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root reads chmod 000 files; covered by the simulated case above"
)
def test_a_chmod_000_file_is_reported(project, capsys):
    (project / PIC_FILE).chmod(0)
    try:
        result = run_inprocess(capsys, "lint", "--no-cache", "--format", "json")
        assert_clean_exit(result, (1,))
        problem_at(result, PIC_FILE, "SOT002", 1)
    finally:
        (project / PIC_FILE).chmod(0o644)


def test_a_file_over_the_size_limit_is_reported_without_reading_it(project, capsys):
    big = project / "SoT" / "SoT.HUGE.md"
    with open(big, "wb") as fh:  # sparse: 40 MB on paper, nothing on disk
        fh.truncate(40 * 1024 * 1024)
    result = run_inprocess(capsys, "lint", "--no-cache", "--format", "json")
    assert_clean_exit(result, (1,))
    assert "larger than" in problem_at(result, "SoT/SoT.HUGE.md", "SOT002", 1)["message"]


# -- links out of the project -------------------------------------------------------------------
OUTSIDE_LINKS = """
## Related

- [passwd](../../../etc/passwd)
- [shadow](/etc/shadow)
- [secret](../../outside/secret.md#pic-001)
- [absolute secret]({secret})
- ![image](../../outside/secret.png)
- [reference style][ref]

[ref]: ../../../../../../outside/secret.md
"""


def test_links_outside_the_project_are_reported_and_never_opened(tmp_path, monkeypatch, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.md"
    secret.write_text("## PIC-001: not yours\n", encoding="utf-8")
    body = ENTRY + OUTSIDE_LINKS.replace("{secret}", str(secret))
    root = make_project(tmp_path / "deep" / "er" / "project", {PIC_FILE: pic_file(body)})
    monkeypatch.chdir(root)

    forbidden = (Path("/etc/passwd"), Path("/etc/shadow"))
    with AccessRecorder(folders=(outside,), files=forbidden) as recorder:
        secret.read_bytes()  # the recorder sees a read ...
        os.path.exists(outside / "secret.png")  # ... and a stat
        assert len(recorder.touched) == 2
        recorder.touched.clear()
        result = run_inprocess(capsys, "lint", "--no-cache", "--strict", "--format", "json")
        synced = run_inprocess(capsys, "sync")
        exported = run_inprocess(capsys, "export", "--format", "json", "--no-cache")
    touched = recorder.touched
    assert touched == []
    assert_clean_exit(result, (1,))
    assert_clean_exit(synced, (0,))
    assert_clean_exit(exported, (0,))
    text = (root / PIC_FILE).read_text(encoding="utf-8")
    outside_lines = [
        n
        for n, line in enumerate(text.splitlines(), 1)
        if "](" in line and ("etc/" in line or "outside" in line)
    ]
    reported = {p["line"] for p in result.problems() if p["code"] == "SOT207"}
    assert set(outside_lines) <= reported, (outside_lines, result.out)
    ref_line = next(
        n for n, line in enumerate(text.splitlines(), 1) if line.startswith("- [reference style]")
    )
    assert ref_line in reported


def test_files_and_folders_outside_the_project_are_never_read(tmp_path, monkeypatch, capsys):
    outside = tmp_path / "outside"
    (outside / "docs").mkdir(parents=True)
    for path in (outside / "secret.md", outside / "docs" / "other.md"):
        path.write_text("## PIC-001: not yours\n\n[x](#nowhere)\n", encoding="utf-8")
    patterns = '["../outside/*.md", "linked/*.md", "**/*.md", "%s/*.md"]'
    config = f'root = "SoT"\ndocuments = {patterns}\n\n[types.PIC]\n'
    root = make_project(tmp_path / "project", config=config % outside)
    os.symlink(outside / "docs", root / "linked")  # a folder link out of the project
    os.symlink(outside / "secret.md", root / "SoT" / "SoT.SECRET.md")  # a file link out of it
    os.symlink(outside, root / "SoT" / "archive")
    monkeypatch.chdir(root)
    with AccessRecorder(folders=(outside,), opens_only=True) as recorder:
        result = run_inprocess(capsys, "lint", "--no-cache", "--format", "json")
        synced = run_inprocess(capsys, "sync")
        exported = run_inprocess(capsys, "export", "--format", "json", "--no-cache")
    assert recorder.touched == []
    assert_clean_exit(result, (0,))
    assert_clean_exit(synced, (0,))
    assert_clean_exit(exported, (0,))
    assert "not yours" not in exported.out and "outside" not in exported.out


# -- type definitions with catastrophic patterns ------------------------------------------------
@pytest.mark.parametrize("pattern", [r"^(a+)+$", r"^((\w+))+x$", r"^(a|aa)*$", r"\w+\w+\w+!"])
def test_a_catastrophic_field_pattern_is_refused_with_its_file(project, capsys, pattern):
    (project / "types").mkdir()
    (project / "types" / "slow.yaml").write_text(
        "prefix: SLW\ntitle: Slow\nfile: SoT.SLOW.md\nfields:\n"
        f"  - name: Code\n    pattern: '{pattern}'\n",
        encoding="utf-8",
    )
    (project / "sotb.toml").write_text(
        'root = "SoT"\n\n[types.PIC]\n\n[types.SLW]\ndefinition = "types/slow.yaml"\n',
        encoding="utf-8",
    )
    (project / "SoT" / "SoT.SLOW.md").write_text(
        "# Slow\n\n## SLW-001: x\n\n**Code**: " + "a" * 5000 + "!\n"
    )
    for result in (run_inprocess(capsys, "lint"), run_subprocess(project, "lint", timeout=60)):
        assert_clean_exit(result, (2,))
        assert "types/slow.yaml: invalid type definition at /fields/0/pattern" in result.err
        assert "catastrophic backtracking" in result.err


def test_a_definition_file_outside_the_project_is_not_echoed(project, capsys):
    (project / "sotb.toml").write_text('root = "SoT"\n\n[types.PIC]\ndefinition = "/etc/passwd"\n')
    result = run_inprocess(capsys, "lint")
    assert_clean_exit(result, (2,))
    assert "root:" not in result.err and "must hold a mapping" in result.err


# -- titles with template, HTML and Markdown control characters -------------------------------
HOSTILE_TITLES = [
    "{{ 7*7 }} {% if true %}x{% endif %} {# c #}",
    "<script>alert(1)</script> & <!-- sotb:end navigation -->",
    "| pipe | **bold** _it_ [link](http://x) `code` # hash",
    "```",
    "-->",
    "😀 émoji ﷽ \u202ertl",
    "'); DROP TABLE entries; --",
    '<a id="pic-001"></a> anchor',
    "~~~ tilde",
    "</details> <details>",
    "${HOME} $(id) `id`",
]


def test_hostile_titles_are_written_as_text(project, capsys):
    added = []
    for title in HOSTILE_TITLES:
        result = run_inprocess(capsys, "add", "PIC", "--title", title)
        assert_clean_exit(result, (0,))
        added.append((result.out.strip(), title))
    doc = parse_document((project / PIC_FILE).read_bytes(), PIC_FILE)
    assert doc.problems == ()
    entries = {e.id: e for e in doc.entries}
    for ident, title in added:
        assert ident in entries
        assert "49" not in entries[ident].title  # never rendered as a template
    lint = run_inprocess(capsys, "lint", "--no-cache", "--format", "json")
    assert_clean_exit(lint, (0, 1))
    bad = [
        p
        for p in lint.problems()
        if p["code"] in ("SOT001", "SOT002", "SOT003", "SOT004", "SOT203", "SOT204")
    ]
    assert bad == []
    # a second sync changes nothing
    assert run_inprocess(capsys, "sync").code == 0
    before = (project / PIC_FILE).read_bytes()
    assert run_inprocess(capsys, "sync").out == "nothing to change\n"
    assert (project / PIC_FILE).read_bytes() == before


def test_a_title_with_backslashes_and_pipes_survives_sync(project, capsys):
    assert run_inprocess(capsys, "add", "PIC", "--title", r"\ backslash \| \*").code == 0
    assert run_inprocess(capsys, "sync").code == 0
    lint = run_inprocess(capsys, "lint", "--no-cache", "--format", "json")
    assert [p for p in lint.problems() if p["code"] == "SOT407"] == []


@pytest.mark.parametrize(
    "name, data, where",
    [
        ("latin-1", pic_file(ENTRY + "Café\n").encode("latin-1"), ":20: not valid UTF-8"),
        ("utf-16", pic_file(ENTRY).encode("utf-16"), ": UTF-16 text"),
        ("nul", pic_file(ENTRY).encode() + b"\x00\n", ":20: binary file (NUL byte)"),
    ],
    ids=["latin-1", "utf-16", "nul"],
)
def test_add_never_writes_a_file_it_cannot_parse(tmp_path, monkeypatch, capsys, name, data, where):
    root = make_project(tmp_path / "p", {PIC_FILE: data})
    monkeypatch.chdir(root)
    result = run_inprocess(capsys, "add", "PIC", "--title", "New partner")
    assert_clean_exit(result, (2,))
    assert f"{PIC_FILE}{where}" in result.err
    assert (root / PIC_FILE).read_bytes() == data


def test_add_after_an_unterminated_fence_fails_cleanly(tmp_path, monkeypatch, capsys):
    root = make_project(tmp_path / "p", {PIC_FILE: pic_file(ENTRY + "\n```\nopen fence\n")})
    monkeypatch.chdir(root)
    before = (root / PIC_FILE).read_bytes()
    result = run_inprocess(capsys, "add", "PIC", "--title", "After the fence")
    assert_clean_exit(result, (0, 2))
    if result.code == 2:
        assert (root / PIC_FILE).read_bytes() == before


# -- a project's own templates ------------------------------------------------------------------
@pytest.mark.parametrize(("template", "command"), [
    ("sync/navigation.md.j2", ("lint",)),
    ("sync/readme_files.md.j2", ("sync",)),
    ("sot/file.md.j2", ("new", "BR")),
    ("site/base.html.j2", ("site", "-o", "out")),
])
def test_a_template_that_reaches_for_python_is_refused_and_never_run(project, capsys, template, command):
    """Templates in the project's templates/ folder come with the repository: rendered
    unsandboxed, `{{ cycler.__init__.__globals__.os.mkdir(...) }}` ran on a lint."""
    marker = project.parent / "from-a-template"
    built_in = REPO / "templates" / template
    path = project / "templates" / template
    path.parent.mkdir(parents=True)
    path.write_text(built_in.read_text(encoding="utf-8")
                    + "{{ cycler.__init__.__globals__.os.mkdir('%s') }}\n" % marker, encoding="utf-8")
    result = run_inprocess(capsys, *command)
    assert_clean_exit(result, (2,))
    assert result.err.startswith("sotb: error: templates/") and ": template error: " in result.err
    assert "unsafe" in result.err  # named: the template rendered, or the one it extends
    assert not marker.exists()


# -- configuration ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "config, expected",
    [
        ('root = "SoT"\n[types.PIC\n', "sotb.toml: invalid TOML"),
        ('root = "SoT"\nbogus = 1\n', "unknown configuration key"),
        ("root = 'SoT'\n\x00\n", "sotb.toml"),
        ('root = "SoT"\njobs = "many"\n', "invalid configuration at /jobs"),
        (b"\xff\xfe r\x00o\x00", "cannot read configuration"),
    ],
)
def test_a_broken_configuration_is_an_error_with_its_file(project, capsys, config, expected):
    path = project / "sotb.toml"
    path.write_bytes(config if isinstance(config, bytes) else config.encode())
    result = run_inprocess(capsys, "lint")
    assert_clean_exit(result, (2,))
    assert expected in result.err and result.err.startswith("sotb: error: ")


# -- the real program in a subprocess -----------------------------------------------------------
def test_the_program_survives_hostile_files_in_a_subprocess(tmp_path):
    laughs = (
        "---\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + "".join(
            f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")
        )
        + "last_updated: *i\n---\n"
    )
    root = make_project(
        tmp_path / "p",
        {
            PIC_FILE: pic_file(ENTRY + "\n" + "x`" * 200_000 + "\n", laughs),
            "SoT/SoT.BINARY.md": bytes(range(256)) * 100,
        },
    )
    lint = run_subprocess(root, "lint", "--format", "json", timeout=120)
    assert_clean_exit(lint, (1,))
    problem_at(lint, PIC_FILE, "SOT001", 2)
    problem_at(lint, "SoT/SoT.BINARY.md", "SOT002", 1)
    binary = (root / "SoT/SoT.BINARY.md").read_bytes()
    for argv in (("sync",), ("add", "PIC", "--title", "x")):  # nothing is written meanwhile
        refused = run_subprocess(root, *argv, timeout=120)
        assert_clean_exit(refused, (2,))
        assert "SoT/SoT.BINARY.md:1: binary file (NUL byte)" in refused.err
    assert (root / "SoT/SoT.BINARY.md").read_bytes() == binary
    (root / "SoT/SoT.BINARY.md").unlink()
    sync = run_subprocess(root, "sync", timeout=120)
    assert_clean_exit(sync, (0,))
    add = run_subprocess(root, "add", "PIC", "--title", "{{ config }} <b>x</b>", timeout=120)
    assert_clean_exit(add, (0,))
    assert add.out == "PIC-002\n"
    export = run_subprocess(root, "export", "--format", "json", timeout=120)
    assert_clean_exit(export, (0,))

"""Properties of `sotb sync` on generated registries.

1. Sync is idempotent, and afterwards lint finds nothing sync is meant to repair,
   whatever the level of the entry headings (`#` to `###`), the separator after
   the ID, and whether a `---` closes the navigation.
2. Sync never changes a byte outside generated regions: once the markers are in
   place, any edit outside them (prose, trailing spaces, line endings, BOM) and any
   junk inside them leaves the outside exactly as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sot_builder.config import load_config
from sot_builder.engine import run
from sot_builder.project import load_project
from sot_builder.rules import all_rules
from sot_builder.sync import sync_project

SYNC_CODES = ("SOT208", "SOT4")
MARKER_RE = re.compile(r"^\s*<!--\s*sotb:(begin|end)\s+\S+\s*-->\s*$")

# prose that is neither Markdown structure nor an ID: a letter first, no digits, no markup
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüß中 .,;:!?'()", min_size=1,
               max_size=30)
PROSE = st.builds(lambda first, rest, pad: first + rest.rstrip() + pad,
                  st.sampled_from("AbcdEfgXyz"), WORD, st.sampled_from(["", " ", "  ", "\t"]))
PIC_NUMBERS = st.lists(st.integers(1, 199).filter(lambda n: n != 100), min_size=1, max_size=3, unique=True)
API_NUMBERS = st.lists(st.integers(1, 99), min_size=1, max_size=3, unique=True)


@dataclass
class Spec:
    pics: list[int]
    apis: list[int]
    edges: list[tuple[int, int, bool, bool]]  # pic, api, listed by the PIC, listed by the API
    nav: str  # "fresh" | "stale" | "absent"
    readme: str  # "empty" | "stale" | "fresh"
    ids: str  # "empty" | "stale"
    history: bool
    prose: list[str]
    crlf: bool
    bom: bool
    final_newline: bool
    level: int = 2  # of the PIC entry headings (the file's title is a `#` heading)
    sep: str = ":"  # between a PIC entry's ID and title
    rule: bool = True  # a `---` between the navigation and the first entry


@st.composite
def specs(draw) -> Spec:
    pics = draw(PIC_NUMBERS)
    apis = draw(API_NUMBERS)
    edges = []
    for p in pics:
        for a in apis:
            kind = draw(st.sampled_from(["none", "none", "both", "pic", "api"]))
            if kind != "none":
                edges.append((p, a, kind in ("both", "pic"), kind in ("both", "api")))
    return Spec(pics, apis, edges, draw(st.sampled_from(["fresh", "stale", "absent"])),
                draw(st.sampled_from(["empty", "stale", "fresh"])), draw(st.sampled_from(["empty", "stale"])),
                draw(st.booleans()), draw(st.lists(PROSE, min_size=1, max_size=4)), draw(st.booleans()),
                draw(st.booleans()), draw(st.booleans()), draw(st.sampled_from([1, 2, 3])),
                draw(st.sampled_from([":", " |", " \u2014", ""])), draw(st.booleans()))


def pid(n: int) -> str:
    return f"PIC-{n:03d}"


def aid(n: int) -> str:
    return f"API-{n:03d}"


def pic_anchor(s: Spec, n: int) -> str:
    """GitHub's slug of the PIC heading: the separator's punctuation goes, its blank stays."""
    return f"{pid(n).lower()}{'-' if s.sep[:1] == ' ' else ''}-partner-{n}"


def pic_file(s: Spec) -> str:
    out = [f"# Partners\n\n{s.prose[0]}\n"]
    if s.nav != "absent":
        shown = s.pics if s.nav == "fresh" else s.pics[:-1]
        out.append("## Navigation by Category\n\n**Payment providers** (PIC-001 to PIC-099):")
        out += [f"- [{pid(n)}](#{pic_anchor(s, n)}) - Partner {n}" for n in sorted(shown) if n < 100]
        out.append("\n**Communication services** (PIC-101 to PIC-199):")
        out += [f"- [{pid(n)}](#{pic_anchor(s, n)}) - Partner {n}" for n in sorted(shown) if n > 100]
        out.append("\n**Infrastructure services** (PIC-201 to PIC-299):\n" + ("\n---\n" if s.rule else ""))
    head, sub = "#" * s.level, "#" * (s.level + 1)
    for k, n in enumerate(s.pics):
        out.append(f"{head} {pid(n)}{s.sep} Partner {n}\n\n**Status**: Active\n\n{s.prose[k % len(s.prose)]}\n")
        listed = [a for p, a, by_pic, _ in s.edges if p == n and by_pic]
        if listed:
            out.append(f"{sub} Integration Points\n")
            out += [f"- [{aid(a)}](SoT.API.md#{aid(a).lower()}-endpoint-{a}) - Endpoint {a}" for a in listed]
            out.append("")
        if s.history:
            out.append(f"{sub} Version History\n\n| Version | Date | Changes |\n|---|---|---|\n| 1.0 | 2025-01-10 | New |\n")
    return "\n".join(out)


def api_file(s: Spec) -> str:
    out = ["# API\n"]
    for n in s.apis:
        out.append(f"## {aid(n)}: Endpoint {n}\n\n**Status**: Active\n\n{s.prose[-1]}\n")
        listed = [p for p, a, _, by_api in s.edges if a == n and by_api]
        if listed:
            out.append("### Uses Partner\n")
            out += [f"- [{pid(p)}](SoT.PARTNERS.md#{pic_anchor(s, p)}) - Partner {p}" for p in listed]
            out.append("")
    return "\n".join(out)


def readme_file(s: Spec) -> str:
    if s.readme == "empty":
        return ""
    rows = ["| [SoT.PARTNERS.md](SoT.PARTNERS.md) | PIC-### | Partners |"]
    if s.readme == "fresh":
        rows = ["| [SoT.API.md](SoT.API.md) | API-### | Endpoints |", *rows,
                "| [SoT.UNIQUE_ID_SYSTEM.md](SoT.UNIQUE_ID_SYSTEM.md) | — | IDs |"]
    return "# Registry\n\n" + s.prose[0] + "\n\n| File | Prefixes | Purpose |\n|---|---|---|\n" + "\n".join(rows) + "\n"


def ids_file(s: Spec) -> str:
    if s.ids == "empty":
        return ""
    return ("# IDs\n\n| Prefix | Meaning | File |\n|---|---|---|\n| **PIC** | Partners | `SoT.PARTNERS.md` |\n\n"
            "#### Partners (PIC-XXX)\n\n| ID | Title | Status | Used By |\n|---|---|---|---|\n"
            f"| {pid(s.pics[0])} | Old title | Draft | — |\n\n{s.prose[-1]}\n")


def encode(text: str, s: Spec) -> bytes:
    if not s.final_newline:
        text = text.rstrip("\n")
    if s.crlf:
        text = text.replace("\n", "\r\n")
    data = text.encode("utf-8")
    return b"\xef\xbb\xbf" + data if s.bom else data


CONFIG = """root = "SoT"

[types.PIC]
file = "SoT.PARTNERS.md"
fields = []

[types.API]
file = "SoT.API.md"
fields = []
"""


def write_registry(root: Path, s: Spec) -> None:
    (root / "SoT").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "sotb.toml").write_text(CONFIG, encoding="utf-8")
    for name, text in (("SoT.PARTNERS.md", pic_file(s)), ("SoT.API.md", api_file(s)),
                       ("SoT.README.md", readme_file(s)), ("SoT.UNIQUE_ID_SYSTEM.md", ids_file(s))):
        (root / "SoT" / name).write_bytes(encode(text, s))


def files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "SoT").glob("*.md"))}


def lint_codes(root: Path) -> list[str]:
    return [d.code for d in run(load_project(load_config(root), use_cache=False), all_rules())]


def outside_regions(data: bytes) -> bytes:
    """The bytes of a file with the bodies of its generated regions cut out."""
    out, inside = [], False
    for line in data.split(b"\n"):
        m = MARKER_RE.match(line.decode("utf-8-sig"))
        if m:
            inside = m.group(1) == "begin"
            out.append(line)
        elif not inside:
            out.append(line)
    return b"\n".join(out)


def mutate(data: bytes, prose: list[str], junk: str, k: int) -> bytes:
    """Edit outside the regions (prose, trailing spaces) and replace region bodies with junk."""
    text = data.decode("utf-8")
    lines = text.split("\n")
    out, inside = [], False
    for i, line in enumerate(lines):
        bare = line.lstrip("\ufeff").rstrip("\r")
        m = MARKER_RE.match(bare)
        cr = "\r" if line.endswith("\r") else ""
        if m:
            out.append(line)
            if m.group(1) == "begin":
                inside = True
                out.append(junk + cr)
            else:
                inside = False
            continue
        if inside:
            continue
        if i % (k + 2) == 1 and bare and not bare.startswith(("#", "|")):
            line = bare + "  " + cr  # trailing spaces on a text line
        out.append(line)
        if bare.startswith("# ") and prose:
            out.extend(["" + cr, prose[0] + cr])  # a new paragraph under the title
    return "\n".join(out).encode("utf-8")


@contextmanager
def registry_at(spec: Spec):
    """A fresh registry at one fixed path per process (so compiled templates are reused)."""
    root = Path(tempfile.gettempdir()) / f"sotb-sync-property-{os.getpid()}"
    shutil.rmtree(root, ignore_errors=True)
    write_registry(root, spec)
    try:
        with mock.patch("os.fsync"):  # durability is not the point here
            yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_sync_is_idempotent_and_leaves_nothing_to_repair(spec: Spec) -> None:
    with registry_at(spec) as root:
        config = load_config(root)
        sync_project(config, write=True)
        assert sync_project(config, write=True).changes == ()
        assert sync_project(config, write=False).changes == ()
        left = [c for c in lint_codes(root) if c.startswith(SYNC_CODES)]
        assert left == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs(), st.lists(PROSE, min_size=1, max_size=2), PROSE, st.integers(0, 3))
def test_sync_never_changes_bytes_outside_generated_regions(spec: Spec, prose: list[str], junk: str,
                                                           k: int) -> None:
    with registry_at(spec) as root:
        config = load_config(root)
        sync_project(config, write=True)  # markers and back-references in place
        for path in (root / "SoT").glob("*.md"):
            path.write_bytes(mutate(path.read_bytes(), prose, junk, k))
        before = files(root)
        sync_project(config, write=True)
        after = files(root)
        assert after != before  # the junk inside the regions was replaced
        for name in before:
            assert outside_regions(after[name]) == outside_regions(before[name]), name
        assert sync_project(config, write=True).changes == ()

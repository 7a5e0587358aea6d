"""Golden rule cases: `cases/<CODE>/<case>/` holds an input tree and `expected.txt`.

`expected.txt` lists the expected problems, one `path:line:col: CODE` a line
(paths relative to the case folder); blank lines and `#` comments are ignored.
A case runs the rule named by its folder only, unless the case's `sotb.toml`
sets `select` itself.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from sot_builder import engine
from sot_builder.config import load_config
from sot_builder.diagnostics import Diagnostic
from sot_builder.project import load_project

CASES = Path(__file__).parent / "cases"
EXPECTED = "expected.txt"
LINE_RE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>SOT\d{3})$")


@dataclass(frozen=True)
class Case:
    code: str
    name: str
    folder: Path

    @property
    def id(self) -> str:
        return f"{self.code}/{self.name}"

    def expected(self) -> list[str]:
        """The expected lines, validated and in file order."""
        out = []
        text = (self.folder / EXPECTED).read_text(encoding="utf-8")
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not LINE_RE.match(line):
                raise ValueError(f"{self.folder / EXPECTED}:{n}: not 'path:line:col: CODE': {raw!r}")
            out.append(line)
        return out

    def expected_codes(self) -> set[str]:
        return {LINE_RE.match(line)["code"] for line in self.expected()}  # type: ignore[index]


def all_cases() -> list[Case]:
    if not CASES.is_dir():
        return []
    return [
        Case(code_dir.name, case_dir.name, case_dir)
        for code_dir in sorted(CASES.iterdir()) if code_dir.is_dir()
        for case_dir in sorted(code_dir.iterdir()) if case_dir.is_dir()
    ]


def run_case(case: Case, workdir: Path) -> list[str]:
    """Copy the case's input tree to `workdir`, lint it and return `path:line:col: CODE` lines."""
    shutil.copytree(case.folder, workdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(EXPECTED))
    config = load_config(workdir, workdir / "sotb.toml" if (workdir / "sotb.toml").is_file() else None)
    extra = () if config["select"] else (case.code,)
    rules = engine.active_rules(config.values, extra_select=extra)
    diags = engine.run(load_project(config, use_cache=False), rules)
    return [format_line(d) for d in diags]


def format_line(d: Diagnostic) -> str:
    return f"{d.path}:{d.line}:{d.column}: {d.code}"

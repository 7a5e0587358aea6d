"""Jinja rendering of Markdown (and HTML) from `templates/`.

StrictUndefined, no HTML autoescape for Markdown, trailing newlines kept.
User text enters templates only as values, through escaping filters; it is
never compiled as template code. A project's own `templates/` folder
overrides the built-in templates file by file.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from sot_builder.paths import templates_dir

_TABLE_ESCAPE = re.compile(r"([|\\])")
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def md_inline(value: Any) -> str:
    """Text safe inside a heading or a line: one line, Markdown control characters escaped."""
    text = " ".join(str(value).split())
    return _INLINE_SPECIAL.sub(r"\\\1", text)


def md_cell(value: Any) -> str:
    """Text safe inside a table cell: one line, `|` escaped, nothing else touched."""
    text = " ".join(str(value).split())
    return text.replace("|", "\\|")


def one_line(value: Any) -> str:
    return " ".join(str(value).split())


@lru_cache(maxsize=8)
def environment(project_templates: str = "", html: bool = False) -> Any:
    """The Jinja environment: a sandboxed one when the project has templates of its own,
    which come with the repository and may have been written by anyone who can commit
    (`{{ cycler.__init__.__globals__.os }}` would otherwise reach any module)."""
    import jinja2

    paths = [p for p in (project_templates, str(templates_dir())) if p and Path(p).is_dir()]
    if project_templates and project_templates in paths:
        from jinja2.sandbox import ImmutableSandboxedEnvironment as kind
    else:
        kind = jinja2.Environment
    env = kind(
        loader=jinja2.FileSystemLoader(paths),
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md_inline"] = md_inline
    env.filters["md_cell"] = md_cell
    env.filters["one_line"] = one_line
    return env


def render(name: str, project_dir: Path | None = None, html: bool = False, **values: Any) -> str:
    """Render template `name` (e.g. "sot/file.md.j2") with `values`."""
    local = str(project_dir / "templates") if project_dir else ""
    try:
        template = environment(local, html).get_template(name)
        return template.render(**values)
    except Exception as exc:  # jinja2 errors: report with the template's name
        from sot_builder.diagnostics import SotbError

        if isinstance(exc, SotbError):
            raise
        line = getattr(exc, "lineno", None)
        raise SotbError(f"template error: {exc}", f"templates/{name}", line) from None

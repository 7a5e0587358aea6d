"""Refusals before any write: a scanned file sotb could not read, or a registry file it
could not rewrite without damaging it. Writers (sync, add, new, renumber) call these
first, so a refusal leaves every file as it was."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sot_builder.diagnostics import SotbError


def refuse_unsafe(project: Any) -> None:
    """Raise SotbError, before anything is written, when a scanned file cannot be read or a
    registry file cannot be rewritten safely (see `refuse_unreadable` and `rewrite_problem`)."""
    from sot_builder.project import parse_options

    refuse_unreadable(project)
    for doc in project.documents:
        if doc.role == "doc":  # documents are read, never rewritten
            continue
        options = partial(parse_options, project.config, project.registry, doc.role)
        found = rewrite_problem(doc, options)
        if found is not None:
            raise SotbError(f"{found[1]}; fix it first, sotb does not rewrite this file until then",
                            doc.path, found[0])


def refuse_unreadable(project: Any) -> None:
    """Raise SotbError when a scanned file or folder could not be read or decoded (SOT002):
    its entries and references would be missing from every table sotb writes. A link loop,
    a dangling link or a pipe holds no text and does not count."""
    for doc in project.documents:
        problem = next((p for p in doc.problems if p.code == "SOT002"), None)
        full = project.project_dir / doc.path
        if problem is not None and (full.is_file() or full.is_dir()):
            raise SotbError(f"{problem.message}; fix or remove it first, sotb writes nothing while "
                            "a file cannot be read", doc.path, problem.line)


def rewrite_problem(doc: Any, options: Callable[[], Any]) -> tuple[int, str] | None:
    """(line, why) when rewriting `doc` could damage it: a region marker without its partner
    (a new region would be added next to it on every run), or frontmatter that hides Markdown.
    `options` gives the parse options of the file, asked for only when its frontmatter is broken."""
    for p in doc.problems:
        if p.code == "SOT004":
            return p.line, p.message
    for r in doc.regions:
        if not r.end_line:
            return r.begin_line, f"region '{r.name}' has a begin marker but no end marker"
    return _frontmatter_problem(doc, options)


def _frontmatter_problem(doc: Any, options: Callable[[], Any]) -> tuple[int, str] | None:
    """Frontmatter that is never closed, or invalid YAML whose block (up to a later `---`)
    holds entries or region markers. Other frontmatter problems are harmless to rewrite."""
    from sot_builder.parse import parse_document

    invalid = next((p for p in doc.problems if p.code == "SOT001"), None)
    if doc.body_start > 1 and invalid is None:  # closed frontmatter that parsed
        return None
    lines = doc.lines
    first = lines[:1]  # of a text kept compressed, only its head is read
    if not first or first[0].rstrip() != "---":
        return None
    if doc.body_start <= 1:
        return 1, ("the frontmatter opened at line 1 is never closed, so sotb cannot tell where "
                   "the Markdown starts")
    close = doc.body_start - 1  # closed, and `invalid` is its problem
    block = parse_document("\n".join(lines[1:close - 1]) + "\n", doc.path, doc.role, options())
    if block.entries or block.regions or any(p.code == "SOT004" for p in block.problems):
        return 1, (f"the frontmatter opened at line 1 runs to the '---' at line {close} and hides "
                   "the entries or generated regions in between (its YAML is invalid at line "
                   f"{invalid.line})")
    return None

"""A static HTML site of the registry that works offline.

`render_site` is pure: it returns every file of the site (relative path ->
text). `write_site` writes them. Pages come from the Jinja templates in
`templates/site/` with HTML autoescaping on; the search, the relation graph
and the styles are the files of `templates/site/static/`, copied next to the
pages. Nothing is fetched from a network: external images become links.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sot_builder.diagnostics import Diagnostic
from sot_builder.model import Document, Entry, Ref
from sot_builder.parse import fragment_id
from sot_builder.paths import templates_dir

STATIC = ("site.css", "search.js", "graph.js")
RESERVED = frozenset({"index", "graph"})
SUPERSEDED_FIELDS = ("superseded by", "replaced by", "replacement")


@dataclass
class Site:
    """What every page needs to know about the others."""

    project: Any
    pages: dict[str, str] = field(default_factory=dict)  # document path -> page file name
    anchors: dict[str, dict[str, str]] = field(default_factory=dict)  # path -> anchor -> entry ID
    incoming: dict[str, list[tuple[str, Ref]]] = field(default_factory=dict)  # ID -> (path, ref)
    diags: dict[str, list[Diagnostic]] = field(default_factory=dict)  # path -> problems

    def entry_href(self, ident: str) -> str:
        e = self.project.entry(ident)
        if e is None or e.path not in self.pages:
            return ""
        return f"{self.pages[e.path]}#{e.id}"

    def link(self, doc_path: str, href: str) -> str | None:
        """Where a link written in `doc_path` points in the site; None when it leaves the site."""
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href):
            return href  # an absolute URL: a link out, followed only when clicked
        file, _, fragment = href.partition("#")
        path, inside = self.project.resolve_link(doc_path, unquote(file))
        if not inside or path not in self.pages:
            return None
        frag = unquote(fragment)
        anchors = self.anchors.get(path, {})
        ident = anchors.get(frag) or anchors.get(frag.lower())
        if ident is None and frag:  # a short "#pic-001" that GitHub would not resolve
            guess = fragment_id(frag.lower())
            found = self.project.entry(guess) if guess else None
            ident = found.id if found is not None and found.path == path else None
        target = f"#{ident}" if ident else (f"#{frag}" if frag else "")
        return self.pages[path] + target if path != doc_path or not target else target


def page_names(project) -> dict[str, str]:
    """A flat, unique .html name for each document that gets a page."""
    root = project.root_rel
    out: dict[str, str] = {}
    taken: set[str] = set()
    for doc in sorted(project.documents, key=lambda d: d.path):
        if doc.role == "doc" and not doc.entries:
            continue
        inside = root != "." and doc.path.startswith(root + "/")
        rel = doc.path[len(root) + 1 :] if inside else doc.path
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", rel.removesuffix(".md").replace("/", "__")) or "page"
        name = stem
        k = 1
        while name.lower() in taken or name.lower() in RESERVED:
            k += 1
            name = f"{stem}-{k}"
        taken.add(name.lower())
        out[doc.path] = name + ".html"
    return out


def _anchor_map(doc: Document) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in doc.entries:
        for a in (e.anchor, *e.anchors):
            if a:
                out.setdefault(a, e.id)
        out.setdefault(e.id.lower(), e.id)
    return out


def build_site_model(project, diagnostics: Sequence[Diagnostic]) -> Site:
    site = Site(project, page_names(project))
    site.anchors = {d.path: _anchor_map(d) for d in project.documents}
    incoming: dict[str, list[tuple[str, Ref]]] = defaultdict(list)
    for doc in project.documents:
        for ref in doc.refs:
            if ref.target and ref.target != ref.source:
                incoming[ref.target].append((doc.path, ref))
    site.incoming = dict(incoming)
    by_path: dict[str, list[Diagnostic]] = defaultdict(list)
    for d in diagnostics:
        by_path[d.path].append(d)
    site.diags = dict(by_path)
    return site


# -- Markdown to HTML ----------------------------------------------------------------

def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


class Renderer:
    """Markdown of one document to HTML: site links, heading anchors, no remote images."""

    def __init__(self, site: Site, doc: Document):
        self.site = site
        self.doc = doc
        self.md = _markdown()
        self.slugs = {h.line: (h.explicit or h.slug) for h in doc.headings}

    def block(self, first: int, last: int, skip: frozenset[int] = frozenset()) -> str:
        """Lines first..last (1-based, inclusive) as HTML; lines in `skip` left out."""
        lines = [("" if n in skip else self.doc.lines[n - 1]) for n in range(first, last + 1)]
        text = "\n".join(lines)
        if not text.strip():
            return ""
        tokens = self.md.parse(text)
        for t in tokens:
            if t.type == "heading_open" and t.map:
                slug = self.slugs.get(first + t.map[0])
                if slug:
                    t.attrSet("id", slug)
            if t.children:
                t.children = self._inline(t.children)
        return self.md.renderer.render(tokens, self.md.options, {})

    def inline(self, text: str) -> str:
        tokens = self.md.parseInline(text)
        for t in tokens:
            if t.children:
                t.children = self._inline(t.children)
        return self.md.renderer.render(tokens, self.md.options, {})

    def _inline(self, children: list) -> list:
        from markdown_it.token import Token

        out = []
        pending_close: list[bool] = []
        for t in children:
            if t.type == "link_open":
                href = self.site.link(self.doc.path, str(t.attrGet("href") or ""))
                if href is None:
                    t.tag = "span"
                    title = f"{t.attrGet('href')} (not in the site)"
                    t.attrs = {"class": "file-link", "title": title}
                else:
                    t.attrSet("href", href)
                pending_close.append(href is None)
            elif t.type == "link_close":
                if pending_close and pending_close.pop():
                    t.tag = "span"
            elif t.type == "image":
                src = str(t.attrGet("src") or "")
                alt = t.content or src
                out += [Token("link_open", "a", 1, attrs={"href": src, "class": "image-link"}),
                        Token("text", "", 0, content=f"image: {alt}"), Token("link_close", "a", -1)]
                if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", src):
                    out[-3].tag = out[-1].tag = "span"
                    out[-3].attrs = {"class": "file-link", "title": src}
                continue
            out.append(t)
        return out


# -- pages -----------------------------------------------------------------------------

def entry_view(site: Site, r: Renderer, e: Entry) -> dict:
    project = site.project
    from markupsafe import Markup

    from sot_builder.query import outgoing

    top_fields = frozenset(f.line for f in e.fields if not f.section)
    body = "" if e.is_table_row else r.block(e.line + 1, e.end_line, top_fields)
    refs_out = [
        {"relation": o.relation or "mentions", "id": o.target, "title": o.title,
         "href": site.entry_href(o.target), "defined": o.defined}
        for o in outgoing(project, e)
    ]
    refs_in = []
    seen: set[tuple[str, str, int]] = set()
    for path, ref in site.incoming.get(e.id, ()):
        if not ref.source and path == e.path:
            continue  # the file's own navigation list
        relation = ""
        if ref.source:
            src = project.entry(ref.source)
            prefix = src.prefix if src else ref.source.split("-")[0]
            relation = project.registry.relation_of(prefix, ref)
        key = (ref.source or path, relation, 0 if ref.source else ref.line)
        if key in seen:
            continue
        seen.add(key)
        src_entry = project.entry(ref.source) if ref.source else None
        refs_in.append({
            "relation": relation or "mentions",
            "id": ref.source,
            "title": src_entry.title if src_entry else "",
            "href": site.entry_href(ref.source) if ref.source else site.pages.get(path, ""),
            "where": f"{posixpath.basename(path)}:{ref.line}",
        })
    last = max(e.end_line, e.line)
    problems = [d for d in site.diags.get(e.path, ()) if e.line <= d.line <= last]
    superseded = next((f for f in e.fields if f.name.casefold() in SUPERSEDED_FIELDS), None)
    return {
        "id": e.id,
        "title": e.title,
        "status": e.status,
        "deprecated": e.deprecated,
        "superseded": Markup(r.inline(superseded.value)) if superseded else "",
        "anchors": [a for a in dict.fromkeys((e.anchor, *e.anchors)) if a and a != e.id],
        "fields": [{"name": f.name, "value": Markup(r.inline(f.value))} for f in e.fields],
        "body": Markup(body),
        "outgoing": refs_out,
        "incoming": refs_in,
        "problems": [_problem(d) for d in problems],
        "line": e.line,
    }


def _problem(d: Diagnostic) -> dict:
    return {"code": d.code, "severity": d.severity.value, "line": d.line, "column": d.column,
            "message": d.message, "fix": d.fix}


def document_view(site: Site, doc: Document) -> dict:
    """The document as a list of parts: rendered Markdown between entry cards."""
    from markupsafe import Markup

    r = Renderer(site, doc)
    heading_entries = sorted((e for e in doc.entries if not e.is_table_row), key=lambda e: e.line)
    parts: list[dict] = []
    cursor = doc.body_start
    for e in heading_entries:
        if e.line > cursor:
            parts.append({"kind": "html", "html": Markup(r.block(cursor, e.line - 1))})
        parts.append({"kind": "entry", "entry": entry_view(site, r, e)})
        cursor = max(cursor, e.end_line + 1)
    if cursor <= len(doc.lines):
        parts.append({"kind": "html", "html": Markup(r.block(cursor, len(doc.lines)))})
    table_entries = [entry_view(site, r, e) for e in doc.entries if e.is_table_row]
    in_entries = [(e.line, e.end_line) for e in doc.entries]
    loose = [_problem(d) for d in site.diags.get(doc.path, ())
             if not any(a <= d.line <= b for a, b in in_entries)]
    return {"parts": [p for p in parts if p["kind"] == "entry" or str(p["html"]).strip()],
            "table_entries": table_entries, "problems": loose}


def _json_for_html(data: Any) -> str:
    """JSON safe inside a <script type="application/json"> element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def search_index(site: Site) -> list[dict]:
    out = []
    seen: set[str] = set()
    for e in sorted(site.project.entries(), key=lambda e: (e.prefix, e.number, e.id, e.path)):
        if e.path in site.pages and e.id not in seen:
            seen.add(e.id)
            href = f"{site.pages[e.path]}#{e.id}"
            out.append({"id": e.id, "title": e.title, "status": e.status, "href": href,
                        "deprecated": e.deprecated, "file": posixpath.basename(e.path)})
    return out


def graph_data(site: Site) -> dict:
    from sot_builder.graph import build_graph

    g = build_graph(site.project)
    nodes = [{"id": n.id, "title": n.title, "prefix": n.prefix, "status": n.status,
              "deprecated": n.deprecated, "defined": n.defined, "href": site.entry_href(n.id)}
             for n in sorted(g.nodes.values(), key=lambda n: n.id)]
    edges = [{"source": e.source, "target": e.target, "relation": e.relation} for e in g.edges]
    return {"nodes": nodes, "edges": edges}


def render_site(project, diagnostics: Sequence[Diagnostic] | None = None) -> dict[str, str]:
    """Every file of the site: relative path -> text. Deterministic for a given registry."""
    from markupsafe import Markup

    from sot_builder import dashboard
    from sot_builder.render import render

    diags = list(dashboard.lint(project) if diagnostics is None else diagnostics)
    site = build_site_model(project, diags)
    board = dashboard.dashboard_data(project, diags)
    files: dict[str, str] = {}
    nav = [{"name": posixpath.basename(p), "href": name} for p, name in sorted(site.pages.items())]
    common = {"nav": nav, "project_name": project.project_dir.name}
    pdir = project.project_dir
    for doc in project.documents:
        name = site.pages.get(doc.path)
        if name is None:
            continue
        title = next((h.text for h in doc.headings if h.level == 1), posixpath.basename(doc.path))
        files[name] = render("site/page.html.j2", pdir, html=True, **common, page="doc",
                             title=title, path=doc.path, doc=document_view(site, doc))
    rows = [{**r.__dict__, "name": posixpath.basename(r.path), "href": site.pages.get(r.path, ""),
             "statuses": dashboard.status_text(r.statuses)} for r in board.rows]
    changes = [{**c.__dict__, "href": (f"{site.pages.get(c.path, '')}#{c.entry}" if c.entry
                                        else site.pages.get(c.path, ""))} for c in board.changes]
    files["index.html"] = render(
        "site/index.html.j2", pdir, html=True, **common, page="index", title="Registry",
        board=board, health=dashboard.health_line(board, mark=False), rows=rows,
        total=board.total(),
        total_statuses=dashboard.status_text(board.total().statuses), changes=changes,
        index_json=Markup(_json_for_html(search_index(site))), problems=len(diags),
    )
    files["graph.html"] = render(
        "site/graph.html.j2", pdir, html=True, **common, page="graph", title="Relation graph",
        graph_json=Markup(_json_for_html(graph_data(site))),
    )
    for name in STATIC:
        files[f"static/{name}"] = _static(pdir, name)
    return files


def _static(project_dir: Path, name: str) -> str:
    local = project_dir / "templates" / "site" / "static" / name
    path = local if local.is_file() else templates_dir() / "site" / "static" / name
    return path.read_text(encoding="utf-8")


def write_site(project, out_dir: Path,
               diagnostics: Sequence[Diagnostic] | None = None) -> list[Path]:
    """Write the site into `out_dir` (created if needed); files no longer produced are kept."""
    from sot_builder.fsutil import atomic_write_text

    files = render_site(project, diagnostics)
    written = []
    for rel, text in sorted(files.items()):
        target = out_dir / rel
        try:
            if target.read_text(encoding="utf-8") == text:
                written.append(target)
                continue
        except (OSError, UnicodeDecodeError):
            pass
        atomic_write_text(target, text)
        written.append(target)
    return written

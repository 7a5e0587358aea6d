"""The relation graph: entries as nodes, references between entries as edges.

An edge carries the relation the reference expresses (from the type
registry, `Registry.relation_of`), or "mentions" for a plain mention.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

MENTIONS = "mentions"


@dataclass(frozen=True)
class Node:
    id: str
    title: str = ""
    prefix: str = ""
    path: str = ""
    line: int = 0
    anchor: str = ""
    status: str = ""
    deprecated: bool = False
    defined: bool = True  # False for an ID that is referenced but defined nowhere


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    relation: str
    path: str
    line: int


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def neighbours(self) -> dict[str, list[Edge]]:
        """Edges touching each node, in either direction."""
        out: dict[str, list[Edge]] = {n: [] for n in self.nodes}
        for e in self.edges:
            out.setdefault(e.source, []).append(e)
            if e.target != e.source:
                out.setdefault(e.target, []).append(e)
        return out


def build_graph(project) -> Graph:
    """The whole graph of a project: one node per defined or referenced ID."""
    g = Graph()
    for e in project.entries():
        if e.id not in g.nodes:
            g.nodes[e.id] = Node(e.id, e.title, e.prefix, e.path, e.line, e.anchor, e.status,
                                 e.deprecated)
    seen: set[tuple[str, str, str]] = set()
    registry = project.registry
    for e in project.entries():
        for ref in e.refs:
            target = ref.target
            if not target or target == e.id:
                continue
            if target not in g.nodes:
                prefix = target.split("-", 1)[0]
                if registry.get(prefix) is None:
                    continue  # looks like an ID but names no registered type
                g.nodes[target] = Node(target, prefix=prefix, defined=False)
            relation = registry.relation_of(e.prefix, ref) or MENTIONS
            key = (e.id, target, relation)
            if key not in seen:
                seen.add(key)
                g.edges.append(Edge(e.id, target, relation, e.path, ref.line))
    g.edges.sort(key=lambda x: (x.source, x.target, x.relation))
    return g


def distances(graph: Graph, start: Iterable[str], depth: int) -> dict[str, int]:
    """Breadth-first distance (edges taken in both directions) up to `depth`."""
    adj = graph.neighbours()
    dist: dict[str, int] = {}
    queue: deque[str] = deque()
    for ident in start:
        if ident not in dist:
            dist[ident] = 0
            queue.append(ident)
    while queue:
        cur = queue.popleft()
        if dist[cur] >= depth:
            continue
        for e in sorted(adj.get(cur, ()), key=lambda x: (x.source, x.target, x.relation)):
            other = e.target if e.source == cur else e.source
            if other not in dist:
                dist[other] = dist[cur] + 1
                queue.append(other)
    return dist


def subgraph(graph: Graph, keep: Iterable[str]) -> Graph:
    wanted = set(keep)
    return Graph(
        {k: v for k, v in graph.nodes.items() if k in wanted},
        [e for e in graph.edges if e.source in wanted and e.target in wanted],
    )


def neighbourhood(graph: Graph, ids: Iterable[str], depth: int) -> Graph:
    return subgraph(graph, distances(graph, ids, max(depth, 0)))


# -- output formats -----------------------------------------------------------

def to_json(graph: Graph) -> str:
    data = {
        "nodes": [asdict(n) for n in sorted(graph.nodes.values(), key=lambda n: n.id)],
        "edges": [asdict(e) for e in graph.edges],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _mermaid_id(ident: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", ident)


def _mermaid_label(text: str) -> str:
    text = " ".join(text.split())
    for ch, ent in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(ch, ent)
    return text


def to_mermaid(graph: Graph) -> str:
    lines = ["graph LR"]
    for n in sorted(graph.nodes.values(), key=lambda n: n.id):
        label = f"{n.id}: {n.title}" if n.title else n.id
        lines.append(f'  {_mermaid_id(n.id)}["{_mermaid_label(label)}"]')
    for e in graph.edges:
        arrow = f"-->|{_mermaid_label(e.relation)}|"
        lines.append(f"  {_mermaid_id(e.source)} {arrow} {_mermaid_id(e.target)}")
    nodes = sorted(graph.nodes.values(), key=lambda n: n.id)
    deprecated = [_mermaid_id(n.id) for n in nodes if n.deprecated]
    missing = [_mermaid_id(n.id) for n in nodes if not n.defined]
    if deprecated:
        lines += ["  classDef deprecated stroke-dasharray: 5 5,color:#777",
                  f"  class {','.join(deprecated)} deprecated"]
    if missing:
        lines += ["  classDef missing stroke:#c00,color:#c00",
                  f"  class {','.join(missing)} missing"]
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    return '"' + " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Graph) -> str:
    lines = ["digraph sot {", "  rankdir=LR;", '  node [shape=box, fontname="sans-serif"];']
    for n in sorted(graph.nodes.values(), key=lambda n: n.id):
        label = _dot_string(n.id)
        if n.title:  # two lines: the ID, then the title
            label = label[:-1] + "\\n" + _dot_string(n.title)[1:]
        attrs = [f"label={label}"]
        if n.deprecated:
            attrs.append("style=dashed")
        if not n.defined:
            attrs.append("color=red")
        lines.append(f"  {_dot_string(n.id)} [{', '.join(attrs)}];")
    for e in graph.edges:
        ends = f"{_dot_string(e.source)} -> {_dot_string(e.target)}"
        lines.append(f"  {ends} [label={_dot_string(e.relation)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


FORMATS = {"mermaid": to_mermaid, "dot": to_dot, "json": to_json}

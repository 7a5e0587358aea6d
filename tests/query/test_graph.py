"""`sotb graph`: nodes, edges with relations, neighbourhoods, mermaid / dot / json."""

from __future__ import annotations

import json
from pathlib import Path

from sot_builder.cli import main
from sot_builder.graph import build_graph, distances, neighbourhood, to_dot, to_mermaid


def test_edges_carry_relations(project) -> None:
    g = build_graph(project)
    edges = {(e.source, e.relation, e.target) for e in g.edges}
    assert {
        ("EPIC-001", "contains", "FEA-001"), ("FEA-001", "part-of", "EPIC-001"),
        ("API-045", "uses-partner", "PIC-001"), ("PIC-001", "used-by", "API-045"),
        ("BR-101", "enforced-by", "API-045"), ("FEA-004", "mentions", "FEA-001"),
    } <= edges
    assert not any(e.source == e.target for e in g.edges)  # "**ID**: FEA-001" is no edge
    assert len(g.nodes) == 12 and g.nodes["API-099"].defined is False
    assert g.nodes["FEA-004"].deprecated is True


def test_neighbourhood_depth(project) -> None:
    g = build_graph(project)
    assert set(neighbourhood(g, ["EPIC-001"], 0).nodes) == {"EPIC-001"}
    assert set(neighbourhood(g, ["EPIC-001"], 1).nodes) == {"EPIC-001", "FEA-001", "FEA-002"}
    two = distances(g, ["EPIC-001"], 2)
    assert two["API-099"] == 2 and two["BR-102"] == 2 and "PIC-001" not in two


def test_mermaid(project) -> None:
    text = to_mermaid(neighbourhood(build_graph(project), ["EPIC-001"], 1))
    assert text.splitlines() == [
        "graph LR",
        '  EPIC_001["EPIC-001: Checkout"]',
        '  FEA_001["FEA-001: Card payments"]',
        '  FEA_002["FEA-002: Saved wallets"]',
        "  EPIC_001 -->|contains| FEA_001",
        "  EPIC_001 -->|contains| FEA_002",
        "  FEA_001 -->|part-of| EPIC_001",
        "  FEA_002 -->|part-of| EPIC_001",
    ]


def test_labels_are_quoted(project) -> None:
    from sot_builder.graph import Graph, Node

    g = Graph({"A-001": Node("A-001", 'Say "hi" <now> #1\\')}, [])
    assert '["A-001: Say #quot;hi#quot; #lt;now#gt; #35;1\\"]' in to_mermaid(g)
    assert 'label="A-001\\nSay \\"hi\\" <now> #1\\\\"' in to_dot(g)


def test_dot_marks_missing_and_deprecated(project) -> None:
    text = to_dot(build_graph(project))
    assert text.startswith("digraph sot {\n") and text.endswith("}\n")
    assert '"API-099" [label="API-099", color=red];' in text
    assert '"FEA-004" [label="FEA-004\\nPaper invoices", style=dashed];' in text
    assert '"FEA-002" -> "API-099" [label="related"];' in text


def test_graph_command_json(registry: Path, capsys) -> None:
    assert main(["graph", "-C", str(registry), "--format", "json", "fea-002", "--depth", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [n["id"] for n in data["nodes"]] == ["API-046", "API-099", "EPIC-001", "FEA-002"]
    assert {"source": "FEA-002", "target": "API-046", "relation": "related",
            "path": "SoT/SoT.FEATURES.md", "line": 63} in data["edges"]


def test_graph_command_whole_and_unknown(registry: Path, capsys) -> None:
    assert main(["graph", "-C", str(registry)]) == 0
    assert capsys.readouterr().out.count(" -->|") == 19
    assert main(["graph", "-C", str(registry), "NOPE-001"]) == 2
    assert "unknown ID NOPE-001" in capsys.readouterr().err

"""`sotb context`: entries and their neighbours, most related first, within the budget."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sot_builder.cli import main
from sot_builder.graph import build_graph
from sot_builder.query import context_pack, related_order


def blocks(pack: str) -> list[str]:
    """IDs of the entries in a pack, in order."""
    return [line.split()[1] for line in pack.splitlines() if line.startswith("<!-- ") and " · " in line]


def test_requested_first_then_neighbours_by_closeness(project) -> None:
    order = related_order(build_graph(project), ["FEA-002"], 2)
    assert [i for i, _, _ in order][:3] == ["FEA-002", "API-046", "EPIC-001"]
    dist = {i: d for i, d, _ in order}
    assert dist["FEA-001"] == 2 and dist["PIC-001"] == 2
    assert "API-099" not in dist  # referenced but defined nowhere: nothing to show
    # named relations rank above plain mentions at the same distance
    order = [i for i, _, _ in related_order(build_graph(project), ["FEA-001"], 1)]
    assert order.index("API-045") < order.index("FEA-004")


def test_pack_holds_the_entries_as_written(project) -> None:
    pack = context_pack(project, ["EPIC-001"], depth=1, max_chars=100_000)
    assert pack.startswith("# Context: EPIC-001\n")
    assert blocks(pack) == ["EPIC-001", "FEA-001", "FEA-002"]
    assert "## FEA-001: Card payments\n\n**ID**: FEA-001\n**Status**: Active" in pack
    assert "distance 1: EPIC-001 contains FEA-001; FEA-001 part-of EPIC-001" in pack


def test_budget_leaves_out_the_least_related(project) -> None:
    full = context_pack(project, ["FEA-001"], depth=1, max_chars=100_000)
    cut = context_pack(project, ["FEA-001"], depth=1, max_chars=len(full) - 50)
    assert len(cut) <= len(full) - 50
    assert blocks(cut)[0] == "FEA-001" and len(blocks(cut)) < len(blocks(full))
    assert "left out" in cut


def test_requested_entry_is_truncated_rather_than_dropped(project) -> None:
    pack = context_pack(project, ["FEA-001"], depth=1, max_chars=400)
    assert len(pack) <= 400
    assert "## FEA-001: Card payments" in pack and "<!-- truncated:" in pack


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(budget=st.integers(min_value=0, max_value=6000), depth=st.integers(min_value=0, max_value=3),
       ids=st.lists(st.sampled_from(["EPIC-001", "FEA-001", "FEA-002", "API-045", "PIC-001", "FEA-004"]),
                    min_size=1, max_size=3))
def test_never_exceeds_the_budget(project, budget: int, depth: int, ids: list[str]) -> None:
    assert len(context_pack(project, ids, depth=depth, max_chars=budget)) <= budget


def test_context_command(registry: Path, capsys) -> None:
    assert main(["context", "-C", str(registry), "EPIC-001", "--depth", "2", "--max-chars", "1500"]) == 0
    out = capsys.readouterr().out
    assert len(out) <= 1500 and out.startswith("# Context: EPIC-001")
    assert main(["context", "-C", str(registry), "EPIC-404"]) == 2

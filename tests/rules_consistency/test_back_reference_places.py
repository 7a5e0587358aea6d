"""SOT208 remembers the relation of a reference by its section and field when its type's
relations name no target prefixes: the answers must be those of `Registry.relation_of`."""

from __future__ import annotations

from pathlib import Path

from consistency_helpers import tree

from sot_builder.config import load_config
from sot_builder.project import load_project
from sot_builder.rules.backrefs import _stated_targets, place_memo

CONFIG = """root = "SoT"

[types.API]
fields = [{name = "Rules", kind = "references", relation = "implements"}]
relations = [
  { name = "implements", inverse = "implemented-by", sections = ["Implements"] },
  { name = "related", inverse = "related", sections = ["Related", "See Also"] },
]

[types.BR]
fields = []
relations = [
  { name = "implemented-by", inverse = "implements", sections = ["Implemented By"] },
  { name = "uses", inverse = "used-by", sections = ["Links"], targets = ["API"] },
  { name = "related", inverse = "related", sections = ["Related"] },
]
"""

API = """# API

## API-001: Charge

**Status**: Active
**Rules**: [BR-001](SoT.BUSINESS_RULES.md#br-001-retry), BR-002

### Implements

- [BR-001](SoT.BUSINESS_RULES.md#br-001-retry) - Retry
- [BR-002](SoT.BUSINESS_RULES.md#br-002-refund) — related: refunds
- [API-002](#api-002-refund) — implemented-by: the other way round
- [BR-002](SoT.BUSINESS_RULES.md#br-002-refund) - Refund: partial

### Related

- [BR-002](SoT.BUSINESS_RULES.md#br-002-refund) - Refund
- API-002 and BR-001 in a sentence
- [API-002](#api-002-refund) — implements: odd but allowed

### Integration Points

- [BR-001](SoT.BUSINESS_RULES.md#br-001-retry) - Retry

### Notes

Mentions BR-001 and [API-002](#api-002-refund).

## API-002: Refund

**Status**: Active

### See Also

- [API-001](#api-001-charge) - Charge
- [BR-001](SoT.BUSINESS_RULES.md#br-001-retry) - Retry
"""

BR = """# Rules

## BR-001: Retry

**Status**: Active

### Links

- [API-001](SoT.API_CONTRACTS.md#api-001-charge) - Charge
- [BR-002](#br-002-refund) - Refund

### Implemented By

- [API-001](SoT.API_CONTRACTS.md#api-001-charge) - Charge

## BR-002: Refund

**Status**: Active

### Dependencies

- [API-002](SoT.API_CONTRACTS.md#api-002-refund) - Refund
- [BR-001](#br-001-retry) - Retry
"""


def _project(tmp_path: Path):
    root = tree(tmp_path / "p", {"SoT.API_CONTRACTS.md": API, "SoT.BUSINESS_RULES.md": BR}, CONFIG)
    return load_project(load_config(root), use_cache=False)


def _one_by_one(entry, relation_of) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What `_stated_targets` finds, asking `relation_of` about each reference."""
    pairs = [(ref.target, relation_of(entry.prefix, ref)) for ref in entry.refs
             if ref.target and ref.target != entry.id]
    return (tuple(t for t, rel in pairs if rel), tuple(t for t, rel in pairs if rel == "related"))


def test_relations_remembered_by_place_are_those_relation_of_gives(tmp_path: Path) -> None:
    project = _project(tmp_path)
    reg = project.registry
    assert not reg.target_prefix_matters("API") and reg.target_prefix_matters("BR")
    places = {p: place_memo(reg, p) for p in ("API", "BR")}  # shared by a prefix's entries, as in SOT208
    assert places["API"] == {} and places["BR"] is None
    for e in project.entries():
        assert _stated_targets(e, reg.relation_of, places[e.prefix]) == _one_by_one(e, reg.relation_of), e.id
    assert len(places["API"]) >= 4  # several (section, field) places were remembered


def test_where_relations_name_targets_the_target_prefix_changes_the_answer(tmp_path: Path) -> None:
    # why BR entries are asked about one reference at a time: under "Links" a reference to an
    # API entry is `uses` and one to a BR entry is not
    project = _project(tmp_path)
    br = project.entry("BR-001")
    links = {ref.target: project.registry.relation_of("BR", ref) for ref in br.refs if ref.section == "Links"}
    assert links["API-001"] == "uses" and links["BR-002"] != "uses"
    memo: dict = {}
    assert _stated_targets(br, project.registry.relation_of, memo) != _one_by_one(br, project.registry.relation_of)

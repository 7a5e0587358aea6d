"""The shipped type definitions are valid and internally consistent."""

import pytest

from sot_builder.registry import builtin_definitions, validate_definition

BUILTINS = builtin_definitions()


def test_every_seed_prefix_ships():
    wanted = {"PIC", "MIG", "DBT", "API", "BR", "UJ", "PER", "SCR", "CFD", "DES", "TEST", "DEP", "RUN",
              "MON", "SEC", "TECH", "ARC", "ENV", "INT", "FEA", "RISK", "GTM", "KPI", "EPIC"}
    assert wanted <= set(BUILTINS)


@pytest.mark.parametrize("prefix", sorted(BUILTINS))
def test_builtin_definition_is_valid(prefix):
    validate_definition(BUILTINS[prefix], f"built-in {prefix}")


def test_relation_inverses_agree():
    names = {r["name"]: r["inverse"] for d in BUILTINS.values() for r in d.get("relations", [])}
    for name, inverse in names.items():
        if inverse in names:
            assert names[inverse] == name, f"{name} <-> {inverse}"

"""The lookups and indexes rules share give the answers of the plain scans they replace."""

from __future__ import annotations

import random

from sot_builder.registry import Category
from sot_builder.rules.ids import category_holder


def test_category_holder_agrees_with_every_category() -> None:
    rng = random.Random(7)
    for _ in range(200):
        cats = []
        for _ in range(rng.randint(0, 6)):
            first = rng.randint(-3, 60)
            cats.append(Category(f"c{len(cats)}", first, first + rng.randint(-3, 15)))
        holds = category_holder(cats)
        for n in range(-5, 80):
            assert holds(n) == any(c.holds(n) for c in cats), (cats, n)


def test_category_holder_of_adjacent_and_nested_ranges() -> None:
    holds = category_holder([Category("a", 1, 99), Category("b", 100, 199), Category("c", 150, 160),
                             Category("d", 301, 399)])
    assert [n for n in (0, 1, 99, 100, 199, 200, 300, 301, 399, 400) if holds(n)] == [1, 99, 100, 199, 301, 399]

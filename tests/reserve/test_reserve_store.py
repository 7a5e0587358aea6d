"""Behaviour shared by the SQLite and PostgreSQL stores."""

from __future__ import annotations

import pytest

from sot_builder.diagnostics import SotbError
from sot_builder.reserve import open_store


def test_first_reservation_starts_at_first(store_url: str, prefix: str) -> None:
    with open_store(store_url) as store:
        assert store.reserve(prefix, 1, 999) == 1
        assert store.reserve(prefix, 1, 999) == 2
        assert store.reserved(prefix) == {1, 2}


def test_taken_numbers_are_skipped(store_url: str, prefix: str) -> None:
    with open_store(store_url) as store:
        assert store.reserve(prefix, 1, 999, taken={1, 2, 3, 7}) == 8
        assert store.reserve(prefix, 1, 999, taken={1, 2, 3}) == 9


def test_gaps_are_never_filled(store_url: str, prefix: str) -> None:
    with open_store(store_url) as store:
        assert store.reserve(prefix, 1, 999, taken={1, 5}) == 6
        assert store.reserve(prefix, 1, 999) == 7
        assert store.release(prefix, 6)

        assert store.reserve(prefix, 1, 999) == 8


def test_releasing_the_highest_number_hands_it_out_again(store_url: str, prefix: str) -> None:
    with open_store(store_url) as store:
        store.reserve(prefix, 1, 999)
        assert store.reserve(prefix, 1, 999) == 2
        assert store.release(prefix, 2)
        assert not store.release(prefix, 2)

        assert store.reserve(prefix, 1, 999) == 2


def test_range_ignores_numbers_outside_it(store_url: str, prefix: str) -> None:
    with open_store(store_url) as store:
        store.reserve(prefix, 1, 999, taken={1, 2, 250})
        assert store.reserve(prefix, 101, 199, taken={5, 250}) == 101
        assert store.reserve(prefix, 101, 199, taken={150}) == 151


def test_full_range_is_an_error(store_url: str, prefix: str) -> None:
    with open_store(store_url) as store:
        assert store.reserve(prefix, 1, 3, taken={1}) == 2
        assert store.reserve(prefix, 1, 3) == 3

        with pytest.raises(SotbError, match=rf"^range {prefix}-1\.\.3 is full$"):
            store.reserve(prefix, 1, 3)
        assert store.reserved(prefix) == {2, 3}


def test_range_full_because_of_taken_numbers(store_url: str, prefix: str) -> None:
    with open_store(store_url) as store, pytest.raises(SotbError, match="is full"):
        store.reserve(prefix, 10, 20, taken={20})


def test_prefixes_are_independent(store_url: str, prefix: str) -> None:
    with open_store(store_url) as store:
        assert store.reserve(prefix + "A", 1, 9) == 1
        assert store.reserve(prefix + "B", 1, 9, taken={4}) == 5
        assert store.reserve(prefix + "A", 1, 9) == 2


def test_reservations_persist_across_connections(store_url: str, prefix: str) -> None:
    with open_store(store_url) as store:
        store.reserve(prefix, 1, 999, who="alice")
    with open_store(store_url) as store:
        assert store.reserve(prefix, 1, 999, who="bob") == 2
        assert store.reserved(prefix) == {1, 2}


@pytest.mark.parametrize(("first", "last"), [(5, 4), (-1, 10)])
def test_bad_range_is_an_error(store_url: str, prefix: str, first: int, last: int) -> None:
    with open_store(store_url) as store, pytest.raises(SotbError, match="bad number range"):
        store.reserve(prefix, first, last)


def test_empty_prefix_is_an_error(store_url: str) -> None:
    with open_store(store_url) as store, pytest.raises(SotbError, match="bad ID prefix"):
        store.reserve("", 1, 9)

"""Many processes reserving at once never get the same number."""

from __future__ import annotations

from reserve_workers import reserve_concurrently

from sot_builder.reserve import open_store


def test_fifty_reservations_from_ten_processes_are_distinct(store_url: str, prefix: str) -> None:
    numbers = reserve_concurrently(store_url, prefix, processes=10, each=5)

    assert len(numbers) == 50
    assert sorted(numbers) == list(range(1, 51))
    with open_store(store_url) as store:
        assert store.reserved(prefix) == set(range(1, 51))

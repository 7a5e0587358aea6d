"""Code run in child processes by the reservation tests (importable after spawn)."""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.synchronize import Barrier
from typing import Any

from sot_builder.reserve import open_store


def reserve_many(url: str, prefix: str, count: int, barrier: Barrier, results: Any) -> None:
    """Open the store, wait for all siblings, then reserve `count` numbers."""
    try:
        with open_store(url) as store:
            barrier.wait(timeout=60)
            got = [store.reserve(prefix, 1, 999, who=f"pid {os.getpid()}") for _ in range(count)]
        results.put(("ok", got))
    except BaseException as e:  # reported to the parent, which fails the test
        results.put(("error", repr(e)))


def reserve_concurrently(url: str, prefix: str, processes: int, each: int) -> list[int]:
    """All numbers `processes` spawned processes got, `each` reservations apiece."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    workers = [
        ctx.Process(target=reserve_many, args=(url, prefix, each, barrier, results))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        outcomes = [results.get(timeout=120) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.kill()
    errors = [detail for status, detail in outcomes if status == "error"]
    assert not errors, errors
    return [n for _, numbers in outcomes for n in numbers]

"""Pausing Python's cycle collector while many long-lived objects are built.

Parsing and checking a registry allocate millions of small objects and create
no garbage cycles worth collecting; a collection in the middle would walk every
one of them again (seconds at 100,000 entries) and free nothing. For the same
reason the `sotb` program keeps a loaded project until it exits (`keep`):
freeing its objects one by one would cost more than the exit, which frees
nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_kept: list[object] | None = None  # held until the process ends; None: `keep` holds nothing


def keep_until_exit() -> None:
    """From now on `keep` holds what it is given: the process will end without freeing it."""
    global _kept
    if _kept is None:
        _kept = []


def keep(obj: object) -> None:
    """Hold `obj` until the process ends, when it ends without freeing memory; else nothing."""
    if _kept is not None:
        _kept.append(obj)

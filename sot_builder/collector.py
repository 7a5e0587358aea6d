"""Pausing Python's cycle collector while many long-lived objects are built.

Parsing and checking a registry allocate millions of small objects and create
no garbage cycles worth collecting; a collection in the middle would walk every
one of them again (seconds at 100,000 entries) and free nothing.
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

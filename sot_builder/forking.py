"""Work shared with a forked child: it runs a function and pickles the result back through a pipe.

A child sees the parent's memory as it was at the fork, so nothing has to be
sent to it; only its result crosses the pipe. Where processes cannot be forked
(Windows, a sandbox), or the child fails, the caller does the work itself.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple


class Child(NamedTuple):
    pid: int
    read_end: int  # file descriptor of the pipe the result comes through


def cores() -> int:
    """How many cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def start(work: Callable[[], Any], stream: bool = False) -> Child | None:
    """Fork a child that runs `work()` and sends back its result; None if no child could be made.

    With `stream`, `work()` gives an iterable and each item is sent as a pickle of
    its own, to be read with `receive`. Items are pickled as they are made, so the
    child holds only their bytes, and written once all are made: a full pipe then
    cannot stall the work while the parent is busy with its own.
    """
    if not hasattr(os, "fork"):
        return None
    try:
        read_end, write_end = os.pipe()
        pid = os.fork()
    except OSError:
        return None
    if pid:
        os.close(write_end)
        return Child(pid, read_end)
    code = 1  # the child never returns from here, whatever happens
    try:
        os.close(read_end)
        result = work()
        if stream:
            blobs = [pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL) for item in result]
        with os.fdopen(write_end, "wb") as fh:
            if stream:
                for blob in blobs:
                    fh.write(blob)
            else:
                pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
        code = 0
    finally:
        os._exit(code)


def collect(child: Child | None) -> Any:
    """The result `child` sent; None when there is no child or it failed."""
    if child is None:
        return None
    try:
        with os.fdopen(child.read_end, "rb") as fh:
            result = pickle.load(fh)
        _, status = os.waitpid(child.pid, 0)
    except Exception:  # noqa: BLE001 - a child that died or sent garbage: the caller redoes its work
        with contextlib.suppress(OSError):
            os.waitpid(child.pid, 0)
        return None
    return result if status == 0 else None


def in_two(here: Callable[[], Any], there: Callable[[], Any]) -> tuple[Any, Any]:
    """`(here(), there())`, with `there` run by a forked child while this process runs `here`.

    Where no child can be made, or it fails, `there` runs here afterwards; so it
    must not return None, which stands for a failed child.
    """
    child = start(there)
    try:
        mine = here()
    finally:
        theirs = collect(child)
    return mine, (theirs if theirs is not None else there())


def receive(child: Child | None) -> Iterator[Any]:
    """The items a streaming child sent, in order, each as soon as it is read.

    It ends early when the child failed or an item did not arrive whole; every
    item given is whole, and the caller redoes the ones that are missing.
    """
    if child is None:
        return
    try:
        with os.fdopen(child.read_end, "rb") as fh:
            while True:
                try:
                    item = pickle.load(fh)
                except Exception:  # noqa: BLE001 - the end (EOFError), or an item cut off or garbled
                    return
                yield item
    finally:
        with contextlib.suppress(OSError):
            os.waitpid(child.pid, 0)


"""Work shared with a forked child: it runs a function and pickles the result back.

A child sees the parent's memory as it was at the fork, so nothing has to be
sent to it; only its result comes back, through a pipe, or as bytes, item by
item, through a temporary file (`start_stream`). `Tickets` lets this process
and its children share a list of jobs as each is free. Where processes cannot
be forked (Windows, a sandbox), or the child fails, the caller does the work
itself.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Child(NamedTuple):
    pid: int
    read_end: int  # file descriptor of the pipe the result comes through


@dataclass
class Stream:
    """A child that sends items (bytes) one at a time, each as soon as it is made.

    The child writes each item to an unnamed temporary file shared with
    this process, then sends through the pipe only where the item ends; so it
    never waits for this process to read, however busy this process is.
    """

    pid: int
    read_end: int
    spool: int  # file descriptor of the temporary file
    read: int = 0  # where the next item starts in the spool
    notes: bytes = b""  # a notice of the pipe not yet read in full
    ends: list[int] = field(default_factory=list)  # where the items sent and not yet read end
    open: bool = True  # until the pipe is read to its end, or the child failed


class Tickets:
    """The numbers 0..count-1, each handed out once, to whichever process asks first.

    They wait in a pipe, written in full before any child is forked: a read of
    one ticket takes it whole, so this process and its children each take the
    next job when they are free, and a slow one takes fewer. The numbers a
    process took and did not finish (it failed) are simply not done: the caller
    finds what is missing. `None` from `make` when there is no pipe to share.
    """

    SIZE = 4  # bytes per ticket
    MOST = 1024  # tickets that always fit in a pipe's buffer, whatever the system

    def __init__(self, read_end: int) -> None:
        self.read_end = read_end

    @classmethod
    def make(cls, count: int) -> Tickets | None:
        if count > cls.MOST or not hasattr(os, "set_blocking"):
            return None
        try:
            read_end, write_end = os.pipe()
        except OSError:
            return None
        try:
            os.set_blocking(write_end, False)
            data = b"".join(k.to_bytes(cls.SIZE, "little") for k in range(count))
            if os.write(write_end, data) != len(data):
                raise OSError("pipe too small")
            os.set_blocking(read_end, False)  # no ticket left is the end: never wait for one
        except OSError:
            os.close(read_end)
            return None
        finally:
            os.close(write_end)
        return cls(read_end)

    def __iter__(self) -> Iterator[int]:
        """The tickets this process takes, one at a time, until none is left."""
        while True:
            try:
                data = os.read(self.read_end, self.SIZE)
            except OSError:  # empty (EAGAIN) or closed
                return
            if len(data) != self.SIZE:
                return
            yield int.from_bytes(data, "little")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.read_end)


def cores() -> int:
    """How many cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def start(work: Callable[[], Any]) -> Child | None:
    """Fork a child that runs `work()` and sends back its result; None if no child could be made."""
    def send(write_end: int) -> None:
        result = work()
        with os.fdopen(write_end, "wb", closefd=False) as fh:  # closed by _fork
            pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)

    forked = _fork(send)
    return Child(*forked) if forked else None


def start_stream(work: Callable[[], Iterable[bytes]]) -> Stream | None:
    """Fork a child that sends each item of `work()`, bytes, as it is made; None if no child could be made.

    Read the items with `ready` (those sent so far) and `receive` (all the rest).
    """
    if not hasattr(os, "fork"):
        return None
    try:
        spool = tempfile.TemporaryFile(prefix="sotb-")
    except OSError:
        return None

    def send(write_end: int) -> None:
        end = 0
        for item in work():
            view = memoryview(item)
            while view:
                done = os.pwrite(spool.fileno(), view, end)
                end, view = end + done, view[done:]
            _write_all(write_end, b"%d\n" % end)

    with spool:
        forked = _fork(send)
        return Stream(*forked, os.dup(spool.fileno())) if forked else None


def _fork(send: Callable[[int], None]) -> tuple[int, int] | None:
    """Fork a child that runs `send(the write end of a pipe)` and exits: (its pid, the read end)."""
    if not hasattr(os, "fork"):
        return None
    _reap()
    try:
        read_end, write_end = os.pipe()
        pid = os.fork()
    except OSError:
        return None
    if pid:
        os.close(write_end)
        return pid, read_end
    code = 1  # the child never returns from here, whatever happens
    try:
        os.close(read_end)
        send(write_end)
        code = 0
    finally:
        # the end of the pipe first: the parent need not wait while the exit frees this
        # process's memory (18 ms for 200 MB)
        with contextlib.suppress(OSError):
            os.close(write_end)
        os._exit(code)


_unreaped: list[int] = []  # children that had sent everything but were still exiting


def _done_with(pid: int) -> None:
    """Reap `pid` if it has exited; else later, without waiting for it now."""
    with contextlib.suppress(OSError):
        if os.waitpid(pid, os.WNOHANG)[0] == 0:
            _unreaped.append(pid)


def _reap() -> None:
    for pid in list(_unreaped):
        with contextlib.suppress(OSError):
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                continue
        _unreaped.remove(pid)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def collect(child: Child | None) -> Any:
    """The result `child` sent; None when there is no child or it failed."""
    if child is None:
        return None
    try:
        with os.fdopen(child.read_end, "rb") as fh:
            result = pickle.load(fh)  # whole, or it raises: the child finished its work
    except Exception:  # noqa: BLE001 - a child that died or sent garbage: the caller redoes its work
        result = None
    _done_with(child.pid)
    return result


def by_tickets(count: int, do: Callable[[int], Any]) -> list[Any] | None:
    """`[do(0), ..., do(count - 1)]`, the jobs shared with a forked child as each process is free.

    Both take the next job when done with one (`Tickets`), so a process slowed down
    by the machine does fewer. Jobs the child took and did not send back (it
    failed) are done here afterwards. None when no tickets can be shared: the
    caller then does the work itself.
    """
    tickets = Tickets.make(count)
    if tickets is None:
        return None
    child = start(lambda: [(k, do(k)) for k in tickets])
    try:
        done = {k: do(k) for k in tickets}
    finally:
        tickets.close()
        theirs = collect(child)
    done.update(theirs or ())
    return [done[k] if k in done else do(k) for k in range(count)]


def ready(stream: Stream | None) -> Iterator[bytes]:
    """The items `stream` has sent so far and not yet given, without waiting for more."""
    if stream is None:
        return
    while stream.open and _readable(stream.read_end):
        _read_notes(stream)
    yield from _items(stream)


def _readable(fd: int) -> bool:
    """Whether reading `fd` would not wait (something to read, or the end)."""
    poller = select.poll()  # not select(): it fails on descriptors above 1023
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def receive(stream: Stream | None) -> Iterator[bytes]:
    """The items `stream` sends, in order, each as soon as it is made, until the child is done.

    It ends early when the child failed or an item did not arrive whole; every
    item given is whole, and the caller redoes the ones that are missing.
    """
    if stream is None:
        return
    try:
        yield from _items(stream)
        while stream.open:
            _read_notes(stream)
            yield from _items(stream)
    finally:
        _close(stream)


def _read_notes(stream: Stream) -> None:
    try:
        data = os.read(stream.read_end, 65536)
    except OSError:
        data = b""
    if not data:
        stream.open = False
        return
    *whole, stream.notes = (stream.notes + data).split(b"\n")
    for note in whole:
        if not note.isdigit():  # not a notice this module writes: nothing after it is trusted
            stream.open = False
            return
        stream.ends.append(int(note))


def _items(stream: Stream) -> Iterator[bytes]:
    while stream.ends:
        end = stream.ends.pop(0)
        size = end - stream.read
        try:
            item = os.pread(stream.spool, size, stream.read) if size >= 0 else None
        except OSError:
            item = None
        if item is None or len(item) != size:  # cut off, or notices out of order: trust nothing more
            stream.ends.clear()
            stream.open = False
            return
        stream.read = end
        given, item = [item], None
        yield given.pop()  # not kept here while the caller works on it


def _close(stream: Stream) -> None:
    stream.open = False
    for fd in (stream.read_end, stream.spool):
        with contextlib.suppress(OSError):
            os.close(fd)
    _done_with(stream.pid)

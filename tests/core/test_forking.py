import os
import tempfile
from pathlib import Path

from sot_builder import engine, forking
from sot_builder.config import load_config
from sot_builder.project import load_project

BROKEN = Path(__file__).resolve().parents[2] / "examples" / "broken-registry"


def test_a_child_sends_its_result_back():
    big = ["x" * 100] * 5000  # far more than a pipe holds at once
    child = forking.start(lambda: (os.getpid(), big))
    pid, value = forking.collect(child)
    assert pid != os.getpid() and value == big


def test_a_failing_child_gives_none():
    def fail():
        raise ValueError("no")

    assert forking.collect(forking.start(fail)) is None
    assert forking.collect(forking.start(lambda: os._exit(3))) is None
    assert forking.collect(None) is None


def test_rules_shared_with_a_child_give_the_same_diagnostics(monkeypatch):
    config = load_config(BROKEN)
    rules = engine.active_rules(config.values)
    alone = engine.run(load_project(config, use_cache=False), rules, jobs=1)
    monkeypatch.setattr(engine, "PARALLEL_MIN_LINES", 0)
    shared = engine.run(load_project(config, use_cache=False), rules, jobs=2)
    assert len(alone) >= 15 and alone == shared
    assert {d.code[:4] for d in shared} >= {"SOT1", "SOT2"}  # both processes found some


def test_rules_of_a_failed_child_run_here(monkeypatch):
    config = load_config(BROKEN)
    rules = engine.active_rules(config.values)
    alone = engine.run(load_project(config, use_cache=False), rules, jobs=1)
    monkeypatch.setattr(engine, "PARALLEL_MIN_LINES", 0)
    monkeypatch.setattr(forking, "start", lambda work: forking.Child(os.getpid(), -1))  # an unusable pipe
    assert engine.run(load_project(config, use_cache=False), rules, jobs=2) == alone


def test_rule_jobs_hold_each_rule_once_with_the_rules_that_share_its_index():
    rules = engine.active_rules({})
    jobs = engine.rule_jobs(rules)
    assert sorted(r.code for job in jobs for r in job) == sorted(r.code for r in rules)
    codes = [{r.code for r in job} for job in jobs]
    assert codes[0] == {"SOT208"}
    assert {"SOT202", "SOT203", "SOT204", "SOT207"} in codes
    assert {"SOT301", "SOT302", "SOT303"} <= next(c for c in codes if "SOT301" in c)
    assert {"SOT101", "SOT105", "SOT401"} <= next(c for c in codes if "SOT101" in c)
    picked = engine.rule_jobs([r for r in rules if r.code in ("SOT203", "SOT301", "SOT101")])
    assert [[r.code for r in job] for job in picked] == [["SOT203"], ["SOT101"], ["SOT301"]]


def test_jobs_shared_by_tickets_are_each_done_once_in_order():
    parent = os.getpid()
    read_end, write_end = os.pipe()
    child_did, child_does = os.pipe()

    def do(k):
        os.write(write_end, k.to_bytes(2, "little"))  # whichever process does it
        if os.getpid() != parent:
            os.write(child_does, b"x")
        elif k == 0:
            os.read(child_did, 1)  # so that the child does one at least
        os.sched_yield()  # let the other process take more
        return k * 10

    try:
        assert forking.by_tickets(200, do) == [k * 10 for k in range(200)]
        calls = os.read(read_end, 1000)
    finally:
        for fd in (read_end, write_end, child_did, child_does):
            os.close(fd)
    assert sorted(int.from_bytes(calls[i:i + 2], "little") for i in range(0, len(calls), 2)) == list(range(200))


def test_jobs_a_failed_child_took_are_done_here():
    parent = os.getpid()
    read_end, write_end = os.pipe()

    def do(k):
        if os.getpid() != parent:
            os.write(write_end, b"x")  # it took job k, and fails
            os._exit(3)
        if k == 0:
            os.read(read_end, 1)  # so that the child takes one before this process takes all
        return k, os.getpid()

    try:
        assert forking.by_tickets(3, do) == [(0, parent), (1, parent), (2, parent)]
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_streaming_child_sends_each_item_in_order():
    items = [b"doc %d " % k + b"x" * 50_000 for k in range(8)] + [b""]  # far more than a pipe holds
    stream = forking.start_stream(lambda: iter(items))
    assert list(forking.receive(stream)) == items


def test_items_already_sent_are_ready_without_waiting_for_the_rest():
    read_end, write_end = os.pipe()

    def items():
        yield b"first"
        os.read(read_end, 1)  # the second item waits until the test has the first
        yield b"second"

    stream = forking.start_stream(items)
    got: list = []
    while not got:
        got = list(forking.ready(stream))
    assert got == [b"first"]
    assert list(forking.ready(stream)) == []
    os.write(write_end, b"x")
    assert list(forking.receive(stream)) == [b"second"]
    os.close(read_end)
    os.close(write_end)


def test_a_streaming_child_that_fails_sends_what_it_finished():
    def items():
        yield b"1"
        raise ValueError("no")

    assert list(forking.receive(forking.start_stream(items))) == [b"1"]
    assert list(forking.receive(None)) == []
    assert list(forking.ready(None)) == []


def _stream_of(blob: bytes, notes: bytes) -> forking.Stream:
    """A stream whose (finished) child wrote `blob` to the spool and `notes` to the pipe."""
    read_end, write_end = os.pipe()
    os.write(write_end, notes)
    os.close(write_end)
    spool = tempfile.TemporaryFile()
    spool.write(blob)
    spool.flush()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    return forking.Stream(pid, read_end, os.dup(spool.fileno()))


def test_an_item_given_is_not_held_by_the_stream_while_the_caller_works_on_it():
    import sys

    item = b"doc " + b"x" * 100
    stream = _stream_of(item + item, b"%d\n%d\n" % (len(item), 2 * len(item)))
    items = forking.receive(stream)
    got = next(items)
    assert got == item
    assert sys.getrefcount(got) == 2  # `got` and the argument: the generator has let go of it
    assert list(items) == [item]


def test_items_cut_off_or_garbled_are_left_out_with_all_after_them():
    whole, cut = b"first", b"second" + b"x" * 100
    blob = whole + cut[: len(cut) // 2]
    stream = _stream_of(blob, b"%d\n%d\n" % (len(whole), len(whole) + len(cut)))
    assert list(forking.receive(stream)) == [whole]
    stream = _stream_of(whole + whole, b"%d\nnot a number\n%d\n" % (len(whole), 2 * len(whole)))
    assert list(forking.receive(stream)) == [whole]
    stream = _stream_of(whole + whole, b"%d\n%d\n%d\n" % (len(whole), 1, 2 * len(whole)))  # out of order
    assert list(forking.receive(stream)) == [whole]


def test_tickets_are_each_taken_once_by_whichever_process_asks():
    tickets = forking.Tickets.make(300)
    assert tickets is not None

    def take_all() -> list[int]:
        taken = []
        for k in tickets:
            taken.append(k)
            os.sched_yield()  # let the other process take some
        return taken

    child = forking.start(take_all)
    mine = take_all()
    theirs = forking.collect(child)
    tickets.close()
    assert sorted(mine + theirs) == list(range(300))
    assert list(tickets) == []  # closed: nothing more, and no waiting


def test_tickets_beyond_what_a_pipe_surely_holds_are_refused():
    assert forking.Tickets.make(forking.Tickets.MOST + 1) is None
    tickets = forking.Tickets.make(0)
    assert tickets is not None and list(tickets) == []


def test_results_are_taken_without_waiting_for_the_child_to_exit(monkeypatch):
    import time

    real_exit = os._exit

    def slow_exit(code):  # stands for a child freeing a lot of memory on its way out
        time.sleep(1.0)
        real_exit(code)

    monkeypatch.setattr(os, "_exit", slow_exit)  # the children inherit it
    start = time.perf_counter()
    child = forking.start(lambda: "result")
    assert forking.collect(child) == "result"
    stream = forking.start_stream(lambda: iter([b"a", b"b"]))
    assert list(forking.receive(stream)) == [b"a", b"b"]
    assert time.perf_counter() - start < 0.9
    assert {child.pid, stream.pid} <= set(forking._unreaped)
    monkeypatch.undo()
    time.sleep(1.2)
    forking._reap()
    assert not {child.pid, stream.pid} & set(forking._unreaped)
    for pid in (child.pid, stream.pid):  # reaped: no such child any more
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        raise AssertionError(f"{pid} was not reaped")

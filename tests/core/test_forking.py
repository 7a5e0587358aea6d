import os
import pickle
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


def test_a_streaming_child_sends_each_item_in_order():
    items = [("doc", k, "x" * 50_000) for k in range(8)]  # together far more than a pipe holds
    child = forking.start(lambda: iter(items), stream=True)
    assert list(forking.receive(child)) == items


def test_a_streaming_child_that_fails_sends_nothing():
    def items():
        yield 1
        raise ValueError("no")

    assert list(forking.receive(forking.start(items, stream=True))) == []
    assert list(forking.receive(None)) == []


def test_items_cut_off_in_the_pipe_are_left_out():
    read_end, write_end = os.pipe()
    whole, cut = pickle.dumps(["first"]), pickle.dumps(["second", "x" * 100])
    os.write(write_end, whole + cut[: len(cut) // 2])
    os.close(write_end)
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    assert list(forking.receive(forking.Child(pid, read_end))) == [["first"]]

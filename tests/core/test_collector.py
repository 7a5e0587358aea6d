import gc
import weakref

from sot_builder import collector


class _Big:
    pass


def test_keep_holds_nothing_unless_the_process_ends_without_freeing(monkeypatch):
    monkeypatch.setattr(collector, "_kept", None)
    obj = _Big()
    ref = weakref.ref(obj)
    collector.keep(obj)
    del obj
    gc.collect()
    assert ref() is None  # a library caller gets its memory back

    collector.keep_until_exit()
    obj = _Big()
    ref = weakref.ref(obj)
    collector.keep(obj)
    del obj
    gc.collect()
    assert ref() is not None  # the `sotb` program never frees it one object at a time


def test_paused_restores_the_collector_as_it_was():
    was = gc.isenabled()
    try:
        gc.enable()
        with collector.paused():
            assert not gc.isenabled()
        assert gc.isenabled()
        gc.disable()
        with collector.paused():
            pass
        assert not gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()

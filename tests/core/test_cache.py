import os
from pathlib import Path

import pytest

from sot_builder.cache import pack, unpack
from sot_builder.parse import ParseOptions, parse_document

SAMPLE = (Path(__file__).resolve().parents[2] / "SoT" / "SoT.PARTNER_INTEGRATIONS.md").read_bytes()


def test_pack_round_trip_is_exact():
    extra = b"\n| ID | Name |\n|----|------|\n| ENV-001 | Prod |\n<!-- sotb-disable SOT201 -->\n"
    doc = parse_document(SAMPLE + extra, "SoT/x.md", "sot", ParseOptions(table_prefixes=frozenset({"ENV"})))
    assert doc.entries and doc.refs and doc.tables and doc.suppressions
    back = unpack(pack(doc))
    assert back == doc
    assert [type(r).__name__ for r in back.entries[0].refs][:1] == ["Ref"]
    assert back.entries[0].field("Status").value == "Active"


def test_worker_processes_give_the_same_documents(tmp_path, monkeypatch):
    from sot_builder import cache
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    repo = Path(__file__).resolve().parents[2]
    config = load_config(repo)
    one = load_project(config, use_cache=False, jobs=1).documents
    monkeypatch.setattr(cache, "PARALLEL_MIN_BYTES", 0)
    two = load_project(config, use_cache=False, jobs=2).documents
    assert [d.path for d in one] == [d.path for d in two] and one == two


def _generated_registry(tmp_path, entries):
    import sys

    bench = Path(__file__).resolve().parents[2] / "benchmarks"
    sys.path.insert(0, str(bench))
    try:
        import generate
    finally:
        sys.path.remove(str(bench))
    generate.generate(tmp_path / "reg", entries, 6, 1, 0, False)
    return tmp_path / "reg"


def test_forked_workers_send_big_documents_back_whole(tmp_path, monkeypatch):
    """Each share is far bigger than a pipe's buffer: the documents come back whole all the same."""
    from sot_builder import cache
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    config = load_config(_generated_registry(tmp_path, 600))
    one = load_project(config, use_cache=False, jobs=1).documents
    monkeypatch.setattr(cache, "PARALLEL_MIN_BYTES", 0)
    two = load_project(config, use_cache=False, jobs=2).documents
    assert sum(len(d.text) for d in two) > 4 * 65536  # several pipe buffers
    assert [d.path for d in one] == [d.path for d in two] and one == two


def test_more_files_than_tickets_are_handed_out_in_batches(tmp_path, monkeypatch):
    from sot_builder import cache, forking
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    config = load_config(_generated_registry(tmp_path, 120))
    one = load_project(config, use_cache=False, jobs=1).documents
    monkeypatch.setattr(cache, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(forking.Tickets, "MOST", 3)  # fewer tickets than files
    made = []
    real = forking.Tickets.make.__func__
    monkeypatch.setattr(forking.Tickets, "make", classmethod(lambda cls, n: made.append(n) or real(cls, n)))
    assert load_project(config, use_cache=False, jobs=2).documents == one
    assert made == [3]


def test_a_failing_worker_is_replaced_by_this_process(tmp_path, monkeypatch):
    from sot_builder import cache
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    config = load_config(_generated_registry(tmp_path, 60))
    one = load_project(config, use_cache=False, jobs=1).documents

    def broken_pack(doc):
        raise RuntimeError("cannot pack")

    monkeypatch.setattr(cache, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(cache, "pack", broken_pack)  # only the children pack
    two = load_project(config, use_cache=False, jobs=2).documents
    assert one == two


def test_without_a_place_for_temporary_files_this_process_parses_everything(tmp_path, monkeypatch):
    import tempfile

    from sot_builder import cache
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    config = load_config(_generated_registry(tmp_path, 120))
    one = load_project(config, use_cache=False, jobs=1).documents
    monkeypatch.setattr(cache, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))  # no spool file can be made
    forks = []
    monkeypatch.setattr(cache.os, "fork", lambda: forks.append(1) or os.getpid())  # never reached
    assert load_project(config, use_cache=False, jobs=2).documents == one
    assert forks == []


def test_the_link_memo_is_let_go_once_this_process_has_nothing_left_to_parse(tmp_path, monkeypatch):
    from sot_builder import cache
    from sot_builder.config import load_config
    from sot_builder.parse import ParseMemo, ParseOptions
    from sot_builder.project import discover

    config = load_config(_generated_registry(tmp_path, 120))
    todo = [(src, ParseOptions()) for src in discover(config) if src.role == "sot"]
    monkeypatch.setattr(cache, "PARALLEL_MIN_BYTES", 0)
    memo = ParseMemo()
    docs, _, _ = cache._parse_many(todo, 2, memo)
    assert len(docs) == len(todo) and memo.strings
    assert memo.links == {}  # the documents it remembered links of are all in


def test_documents_a_worker_did_not_send_are_parsed_here(tmp_path, monkeypatch):
    from sot_builder import cache, forking
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    config = load_config(_generated_registry(tmp_path, 120))
    one = load_project(config, use_cache=False, jobs=1).documents
    real = forking.receive

    def first_only(child):
        for item in real(child):
            yield item
            return  # the rest of the child's share never arrives

    monkeypatch.setattr(cache, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(forking, "receive", first_only)
    two = load_project(config, use_cache=False, jobs=2).documents
    assert one == two


def test_a_garbled_document_from_a_worker_is_parsed_here(tmp_path, monkeypatch):
    from sot_builder import cache, forking
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    config = load_config(_generated_registry(tmp_path, 120))
    one = load_project(config, use_cache=False, jobs=1).documents
    garbled: list[bytes] = []

    def first_garbled(real):
        def items(child):
            for item in real(child):
                if not garbled:
                    garbled.append(item)
                    item = item[:-1] + b"?"  # no longer ends like a pickle
                yield item
        return items

    monkeypatch.setattr(cache, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(cache, "_parse_each", _slow_here(cache._parse_each))
    monkeypatch.setattr(forking, "ready", first_garbled(forking.ready))
    monkeypatch.setattr(forking, "receive", first_garbled(forking.receive))
    two = load_project(config, use_cache=False, jobs=2).documents
    assert garbled and one == two


def _slow_here(parse_each, here: bool = True):
    """`_parse_each`, slowed down in this process only (so a forked worker takes most files),
    or with `here=False` in forked workers only (so this process takes most)."""
    import time

    pid = os.getpid()

    def slow(items, memo=None):
        for doc in parse_each(items, memo):
            if (os.getpid() == pid) == here:
                time.sleep(0.2)
            yield doc

    return slow


def test_workers_write_the_cache_entries_of_the_documents_they_parse(tmp_path, monkeypatch):
    from sot_builder import cache
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    root = _generated_registry(tmp_path, 120)
    config = load_config(root)
    monkeypatch.setattr(cache, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(cache, "_parse_each", _slow_here(cache._parse_each))
    stored: list[str] = []  # the documents this process packed for the cache
    real_store = cache._store
    monkeypatch.setattr(cache, "_store", lambda folder, fresh: stored.extend(d.path for d in fresh)
                        or real_store(folder, fresh))
    first = load_project(config, jobs=2).documents
    entries = list((root / ".sotb_cache").glob("parse-*/*.pickle"))
    assert len(entries) == len(first)
    assert 0 < len(stored) < len(first) // 2  # the others were written by the worker
    parsed: list[str] = []
    real = cache.parse_source
    monkeypatch.setattr(cache, "parse_source", lambda src, *a: parsed.append(src.path) or real(src, *a))
    assert load_project(config, jobs=2).documents == first
    assert parsed == []


def test_this_process_writes_the_cache_entry_of_each_document_as_it_parses_it(tmp_path, monkeypatch):
    """So that the children parse more files meanwhile, rather than all of them waiting at the end."""
    from sot_builder import cache
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    root = _generated_registry(tmp_path, 120)
    config = load_config(root)
    monkeypatch.setattr(cache, "PARALLEL_MIN_BYTES", 0)
    here = os.getpid()
    events: list[tuple[str, tuple[str, ...]]] = []
    parse_each = _slow_here(cache._parse_each, here=False)

    def logged(items, memo=None):
        for doc in parse_each(items, memo):
            if os.getpid() == here:
                events.append(("parsed", (doc.path,)))
            yield doc

    real_store = cache._store
    monkeypatch.setattr(cache, "_parse_each", logged)
    monkeypatch.setattr(cache, "_store", lambda folder, fresh: events.append(
        ("stored", tuple(d.path for d in fresh))) or real_store(folder, fresh))
    docs = load_project(config, jobs=2).documents
    parsed = [paths[0] for kind, paths in events if kind == "parsed"]
    assert len(parsed) >= 2
    for k, event in enumerate(events):
        if event[0] == "parsed":
            assert events[k + 1] == ("stored", event[1])
    assert len(list((root / ".sotb_cache").glob("parse-*/*.pickle"))) == len(docs)


def _copies(docs) -> tuple[dict[str, set[int]], dict[str, set[str]]]:
    """Per link destination: the string objects that hold it, and the files that write it."""
    hrefs: dict[str, set[int]] = {}
    files: dict[str, set[str]] = {}
    for doc in docs:
        for ref in doc.refs:
            hrefs.setdefault(ref.href, set()).add(id(ref.href))
            files.setdefault(ref.href, set()).add(doc.path)
    return hrefs, files


def test_documents_sent_back_share_strings_and_line_numbers_with_this_process(tmp_path, monkeypatch):
    from sot_builder import cache
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    config = load_config(_generated_registry(tmp_path, 300))
    monkeypatch.setattr(cache, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(cache, "SHARE_MIN_BYTES", 0)
    docs = load_project(config, use_cache=False, jobs=2).documents
    hrefs, files = _copies(docs)
    assert max(len(paths) for paths in files.values()) >= 3  # the same link, written in several files
    assert all(len(ids) == 1 for ids in hrefs.values())
    lines = {id(r.line) for d in docs for r in d.refs if r.line == 300}
    assert len(lines) <= 1
    ids = {e.id: e.id for d in docs for e in d.entries}
    named = [r.target for d in docs for r in d.refs if r.target in ids]
    assert named and all(t is ids[t] for t in named)  # an entry's ID is the string its references hold


def test_below_the_sharing_size_documents_sent_back_keep_their_own_strings(tmp_path, monkeypatch):
    from sot_builder import cache
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    config = load_config(_generated_registry(tmp_path, 300))
    one = load_project(config, use_cache=False, jobs=1).documents
    monkeypatch.setattr(cache, "PARALLEL_MIN_BYTES", 0)
    two = load_project(config, use_cache=False, jobs=2).documents
    assert one == two
    assert any(len(ids) > 1 for ids in _copies(two)[0].values())  # equal, not shared: no time spent on it


def test_the_parse_cache_keeps_one_entry_per_file_and_rewrites_only_changed_ones(tmp_path, monkeypatch):
    from sot_builder import cache
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    root = _generated_registry(tmp_path, 120)
    config = load_config(root)
    first = load_project(config).documents
    (folder,) = (root / ".sotb_cache").glob("parse-*")
    entries = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.pickle")}
    assert len(entries) == len(first)

    (root / ".sotb_cache" / "parse-0123456789abcdef.pickle").write_bytes(b"a cache of 0.1")
    (root / ".sotb_cache" / "parse-fedcba9876543210").mkdir()  # another version's
    changed = root / "SoT" / "SoT.API_CONTRACTS.md"
    changed.write_text(changed.read_text() + "\nOne more line.\n")
    parsed: list[str] = []
    real = cache.parse_source
    monkeypatch.setattr(cache, "parse_source", lambda src, *a: parsed.append(src.path) or real(src, *a))
    second = load_project(config).documents
    assert parsed == ["SoT/SoT.API_CONTRACTS.md"]
    now = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.pickle")}
    assert len(now) == len(entries) and len(set(now) - set(entries)) == 1  # the old entry is gone
    assert all(now[name] == entries[name] for name in set(now) & set(entries))  # not rewritten
    assert [p.name for p in (root / ".sotb_cache").glob("parse-*")] == [folder.name]
    fresh = load_project(config, use_cache=False).documents
    assert second == fresh and second != first


def test_a_file_changed_during_the_run_is_cached_by_the_bytes_parsed(tmp_path, monkeypatch):
    from sot_builder import cache
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    root = _generated_registry(tmp_path, 60)
    config = load_config(root)
    path = root / "SoT" / "SoT.API_CONTRACTS.md"
    original = path.read_bytes()
    real = cache.parse_source

    def changed_first(src, *args):
        if src.path == "SoT/SoT.API_CONTRACTS.md":  # after the run looked its entry up
            path.write_bytes(original + b"\n## API-999: Added while linting\n")
        return real(src, *args)

    monkeypatch.setattr(cache, "parse_source", changed_first)
    assert any(e.id == "API-999" for d in load_project(config).documents for e in d.entries)
    monkeypatch.undo()
    path.write_bytes(original)
    again = load_project(config).documents
    assert not any(e.id == "API-999" for d in again for e in d.entries)
    assert again == load_project(config, use_cache=False).documents


def test_a_damaged_cache_entry_is_parsed_again(tmp_path):
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    root = _generated_registry(tmp_path, 60)
    config = load_config(root)
    first = load_project(config).documents
    for entry in (root / ".sotb_cache").glob("parse-*/*.pickle"):
        entry.write_bytes(entry.read_bytes()[:100])
    assert load_project(config).documents == first


def _parsed_here(monkeypatch, cache) -> list[str]:
    """The paths this process parses from now on (a forked child's parses are not seen)."""
    parsed: list[str] = []
    real = cache.parse_source
    monkeypatch.setattr(cache, "parse_source", lambda src, *a: parsed.append(src.path) or real(src, *a))
    return parsed


def test_a_child_parses_a_changed_file_while_this_process_loads_the_others_from_the_cache(
        tmp_path, monkeypatch):
    from sot_builder import cache, forking
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    root = _generated_registry(tmp_path, 120)
    config = load_config(root)
    load_project(config, jobs=2)  # fills the parse cache
    changed = root / "SoT" / "SoT.API_CONTRACTS.md"
    changed.write_text(changed.read_text() + "\nOne more line.\n")
    monkeypatch.setattr(cache, "OVERLAP_MIN_BYTES", 0)
    parsed = _parsed_here(monkeypatch, cache)
    forks: list[int] = []
    real = forking.start_stream
    monkeypatch.setattr(forking, "start_stream", lambda work: forks.append(1) or real(work))
    docs = load_project(config, jobs=2).documents
    assert forks == [1] and parsed == []  # the child parsed it
    monkeypatch.undo()
    assert docs == load_project(config, use_cache=False, jobs=1).documents
    parsed = _parsed_here(monkeypatch, cache)
    assert load_project(config, jobs=1).documents == docs and parsed == []  # the child cached it


def test_a_damaged_cache_entry_is_parsed_here_while_a_child_parses_a_changed_file(tmp_path, monkeypatch):
    from sot_builder import cache
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    root = _generated_registry(tmp_path, 120)
    config = load_config(root)
    load_project(config, jobs=2)
    changed = root / "SoT" / "SoT.API_CONTRACTS.md"
    changed.write_text(changed.read_text() + "\nOne more line.\n")
    damaged = cache._entry_name("SoT/SoT.FEATURES.md", "sot",
                                cache.file_sha((root / "SoT" / "SoT.FEATURES.md").read_bytes()))
    (entry,) = (root / ".sotb_cache").glob(f"parse-*/{damaged}.pickle")
    entry.write_bytes(entry.read_bytes()[:100])
    monkeypatch.setattr(cache, "OVERLAP_MIN_BYTES", 0)
    parsed = _parsed_here(monkeypatch, cache)
    docs = load_project(config, jobs=2).documents
    assert parsed == ["SoT/SoT.FEATURES.md"]
    assert docs == load_project(config, use_cache=False, jobs=1).documents


@pytest.mark.parametrize(("parse_bytes", "files", "cached_bytes", "jobs", "workers"), [
    (0, 0, 10 << 20, 2, 1),  # nothing to parse
    (1 << 20, 1, 1 << 20, 2, 2),  # as much to load as to parse: a child parses meanwhile
    (1 << 20, 1, (1 << 20) - 1, 2, 1),  # less to load: the child's file would be waited for
    (100 << 10, 1, 10 << 20, 2, 1),  # a small file: quicker to parse than to send
    (1 << 20, 1, 1 << 20, 1, 1),  # jobs = 1
    (1 << 20, 3, 0, 2, 1),  # nothing cached, too little to share
    (8 << 20, 1, 0, 2, 1),  # one big file and nothing to load: parsed here
    (8 << 20, 3, 100, 2, 2),  # big: shared as before
    (8 << 20, 3, 8 << 20, 4, 4),  # and this process loads the cache before it takes files
])
def test_how_many_processes_parse(parse_bytes, files, cached_bytes, jobs, workers):
    from sot_builder import cache

    assert cache._workers(parse_bytes, files, cached_bytes, jobs) == workers


def test_hashing_gives_hashlibs_blake2b() -> None:
    import hashlib

    from sot_builder.hashing import blake2b

    assert blake2b(b"sotb", digest_size=16).hexdigest() == hashlib.blake2b(b"sotb", digest_size=16).hexdigest()

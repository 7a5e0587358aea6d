from pathlib import Path

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
    """Each share is far bigger than a pipe's buffer: the child blocks until it is read."""
    from sot_builder import cache
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    config = load_config(_generated_registry(tmp_path, 600))
    one = load_project(config, use_cache=False, jobs=1).documents
    monkeypatch.setattr(cache, "PARALLEL_MIN_BYTES", 0)
    two = load_project(config, use_cache=False, jobs=2).documents
    assert sum(len(d.text) for d in two) > 4 * 65536  # several pipe buffers
    assert [d.path for d in one] == [d.path for d in two] and one == two


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


def test_documents_sent_back_share_strings_and_line_numbers_with_this_process(tmp_path, monkeypatch):
    from sot_builder import cache
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    config = load_config(_generated_registry(tmp_path, 300))
    monkeypatch.setattr(cache, "PARALLEL_MIN_BYTES", 0)
    docs = load_project(config, use_cache=False, jobs=2).documents
    hrefs: dict[str, set[int]] = {}
    files: dict[str, set[str]] = {}
    for doc in docs:
        for ref in doc.refs:
            hrefs.setdefault(ref.href, set()).add(id(ref.href))
            files.setdefault(ref.href, set()).add(doc.path)
    assert max(len(paths) for paths in files.values()) >= 3  # the same link, written in several files
    assert all(len(ids) == 1 for ids in hrefs.values())
    lines = {id(r.line) for d in docs for r in d.refs if r.line == 300}
    assert len(lines) <= 1

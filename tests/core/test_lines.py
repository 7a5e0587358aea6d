import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sot_builder.model import Lines
from sot_builder.parse import parse_document

line_lists = st.lists(st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=8), max_size=12)
indexes = st.integers(min_value=-15, max_value=15)


@given(line_lists, indexes, st.one_of(st.none(), indexes), st.sampled_from([None, 1, 2, -1]))
def test_lines_read_like_a_tuple(lines, start, stop, step):
    got, want = Lines(lines), tuple(lines)
    assert len(got) == len(want) and list(got) == list(want) and got == want
    assert got[start:stop:step] == want[start:stop:step]
    assert bool(got) == bool(want)
    if -len(want) <= start < len(want):
        assert got[start] == want[start]
    else:
        with pytest.raises(IndexError):
            got[start]
    got[0:1]  # a slice cuts the lines apart only up to its end; one line finds every offset
    if want:
        got[-1]
    assert got[start:stop:step] == want[start:stop:step]
    assert pickle.loads(pickle.dumps(got)) == got
    assert got.joined("\r\n") == "\r\n".join(want)


def test_no_lines_and_one_empty_line_differ():
    assert len(Lines([])) == 0 and len(Lines([""])) == 1
    assert Lines([]) != Lines([""]) and list(Lines([""])) == [""]


def test_parsed_document_keeps_the_text_as_on_disk():
    data = b"# T\r\n\r\n## API-001: One\r\n**Status**: Active\r\n"
    doc = parse_document(data, "SoT/x.md")
    assert isinstance(doc.lines, Lines)
    assert doc.lines[2] == "## API-001: One" and doc.lines[-1] == "**Status**: Active"
    assert (doc.text + doc.newline).encode() == data


@given(line_lists, indexes, st.one_of(st.none(), indexes), st.sampled_from([None, 1, 2, -1]))
def test_compressed_lines_read_like_a_tuple(lines, start, stop, step):
    packed = _packed(lines)
    want = tuple(lines)
    assert len(packed) == len(want) and list(packed) == list(want) and packed == want
    assert packed[start:stop:step] == want[start:stop:step]
    assert packed.joined("\r\n") == "\r\n".join(want)
    back = pickle.loads(pickle.dumps(packed))
    assert back == packed and back._packed is not None
    if -len(want) <= start < len(want):
        assert packed[start] == want[start]
        assert packed._packed is None  # asked for one line: kept whole from then on


def test_a_long_text_is_kept_compressed_until_a_line_is_asked_for():
    data = b"# T\n\n" + b"".join(b"## API-%03d: Entry\n**Status**: Active\n\n" % k for k in range(1, 900))
    doc = parse_document(data * 40, "SoT/x.md")
    assert len(data * 40) > Lines.PACK_MIN and doc.lines._packed is not None
    assert len(doc.lines._packed) < len(data) * 40 // 10
    assert doc.lines[2:4] == ("## API-001: Entry", "**Status**: Active") and doc.lines._packed is not None
    assert (doc.text + "\n").encode() == data * 40
    assert doc.lines[2] == "## API-001: Entry" and doc.lines._packed is None


def _packed(lines: list[str]) -> Lines:
    old = Lines.PACK_MIN
    Lines.PACK_MIN = 0
    try:
        return Lines(lines)
    finally:
        Lines.PACK_MIN = old


def test_a_slice_of_a_compressed_text_decompresses_only_the_lines_it_needs(monkeypatch):
    import zlib

    lines = [f"{k} é€\U0001F600 " + "x" * (k % 300) for k in range(6000)]  # ~1.2 MB, multi-byte
    packed = _packed(lines)
    assert packed._packed is not None and len(packed._packed) > 1 << 14
    inflated = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self):
            self.inner = real()

        def decompress(self, data, limit):
            out = self.inner.decompress(data, limit)
            inflated.append(len(out))
            return out

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(zlib, "decompressobj", Counting)
    assert packed[10:20] == tuple(lines[10:20])
    assert 0 < sum(inflated) < 1 << 19  # the first chunks, not the whole text
    for a, b in ((0, 1), (1000, 2500), (2999, 3001), (5990, 5999), (5998, 6000), (0, 6000)):
        assert packed[a:b] == tuple(lines[a:b])
    assert packed._packed is not None  # slices never keep the text decompressed

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

import difflib

from sot_builder.sync import LONG_DIFF, FileChange


def _lines(n):
    return [f"line {k}\n" for k in range(1, n + 1)]


def test_a_long_file_is_diffed_around_its_changes_with_the_right_line_numbers():
    before = _lines(LONG_DIFF + 1000)
    after = list(before)
    after[2499] = "changed\n"  # line 2500
    after.insert(2800, "new\n")  # after line 2799
    change = FileChange("SoT/x.md", "".join(before).encode(), "".join(after).encode())
    full = "".join(difflib.unified_diff(before, after, "a/SoT/x.md", "b/SoT/x.md"))
    assert change.diff() == full  # unique lines: only one way to align them
    assert "@@ -2497,7 +2497,7 @@" in change.diff()


def test_a_short_file_gets_difflib_s_own_diff():
    before = ["\n", "a\n", "\n", "a\n", "\n"] * 10
    after = before[:7] + ["b\n"] + before[7:]
    change = FileChange("x.md", "".join(before).encode(), "".join(after).encode())
    assert change.diff() == "".join(difflib.unified_diff(before, after, "a/x.md", "b/x.md"))

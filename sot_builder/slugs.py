"""GitHub heading anchors (the rules of github-slugger).

GitHub renders the heading, takes its text, lower-cases it, removes every
character that is not a letter, digit, mark, `_`, `-` or space, and turns each
space into `-`. Repeats get `-1`, `-2`, ... appended.
"""

from __future__ import annotations

import re

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_REF_LINK = re.compile(r"!?\[([^\]]*)\]\[[^\]]*\]")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_EMPHASIS = re.compile(r"(\*{1,3}|~~|(?<!\w)_{1,3})(?=\S)(.+?)(?<=\S)\1(?!\w)")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_RESTORE = re.compile("\x01(\\d+)\x02")
_DROP = re.compile(r"[^\w\- ]", re.UNICODE)


_SPECIAL = frozenset("[]<`*_~")


def heading_text(markdown: str) -> str:
    """Plain text of an inline Markdown heading, as GitHub renders it."""
    if _SPECIAL.isdisjoint(markdown) and "\\" not in markdown:
        return markdown.strip()
    # backslash escapes stand for the literal character: hide them from the steps below
    text = _ESCAPED.sub(lambda m: f"\x01{ord(m.group(1))}\x02", markdown)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    text = text.replace("`", "")
    for _ in range(3):
        new = _EMPHASIS.sub(r"\2", text)
        if new == text:
            break
        text = new
    if "\x01" in text:
        text = _RESTORE.sub(lambda m: chr(int(m.group(1))), text)
    return text.strip()


def slug(markdown: str) -> str:
    """GitHub's anchor for a heading, without the duplicate suffix."""
    return _DROP.sub("", heading_text(markdown).lower()).replace(" ", "-")


class Slugger:
    """Hands out unique slugs the way GitHub does for repeated headings."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, markdown: str) -> str:
        return self.unique(slug(markdown))

    def unique(self, base: str) -> str:
        result = base
        if base in self.seen:
            count = self.seen[base]
            while True:
                count += 1
                result = f"{base}-{count}"
                if result not in self.seen:
                    break
            self.seen[base] = count
        self.seen[result] = 0
        return result

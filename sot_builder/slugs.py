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
_DROP = re.compile(r"[^\w\- ]", re.UNICODE)


_SPECIAL = frozenset("[]<`*_~")


def heading_text(markdown: str) -> str:
    """Plain text of an inline Markdown heading, as GitHub renders it."""
    if _SPECIAL.isdisjoint(markdown):
        return markdown.strip()
    text = _LINK.sub(r"\1", markdown)
    text = _REF_LINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    text = text.replace("`", "")
    for _ in range(3):
        new = _EMPHASIS.sub(r"\2", text)
        if new == text:
            break
        text = new
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

"""SOT0xx: files that cannot be read or parsed as they are."""

from __future__ import annotations

from collections.abc import Iterator

from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.rules.base import Rule, rule


def _problems(project, r: Rule) -> Iterator[Diagnostic]:
    for doc in project.documents:
        for p in doc.problems:
            if p.code == r.code:
                yield r.diag(doc.path, p.line, p.column, msg=p.message)


@rule("SOT001", "frontmatter", Severity.ERROR, "YAML frontmatter is broken or not a mapping")
def frontmatter(project, r: Rule) -> Iterator[Diagnostic]:
    """Frontmatter must be valid YAML and a mapping of keys to values.

    sotb reads `id_prefix`, `last_updated` and the other keys from it, so a
    broken header hides the file's metadata.

    Bad:
    ```markdown
    ---
    version: 1.0
    purpose: [unclosed
    ---
    ```

    Good:
    ```markdown
    ---
    version: 1.0
    purpose: Source of Truth for partner integrations
    ---
    ```
    """
    return _problems(project, r)


@rule("SOT002", "unreadable-file", Severity.ERROR, "a file cannot be read as UTF-8 Markdown text")
def unreadable(project, r: Rule) -> Iterator[Diagnostic]:
    """A scanned file must be readable UTF-8 (or UTF-16 with a byte-order mark) text.

    Binary files, files with NUL bytes, invalid UTF-8 and unreadable files are
    reported and skipped; nothing else is checked in them. Named pipes, devices,
    dangling symbolic links and folders that cannot be listed are reported too,
    at line 1, and never opened. While such a file is there, the commands that
    write (`sync`, `add`, `new`, `renumber`) write nothing.

    Bad: a file `SoT/SoT.NOTES.md` saved as Latin-1 with `café`.

    Good: the same file saved as UTF-8:
    ```markdown
    # Notes
    Café opening hours
    ```
    """
    return _problems(project, r)


@rule("SOT003", "unterminated-block", Severity.WARNING, "a code fence or HTML comment is never closed")
def unterminated(project, r: Rule) -> Iterator[Diagnostic]:
    """A code fence or HTML comment that is never closed hides the rest of the file.

    Everything after it is treated as code (or comment), so entries and
    references below it are invisible.

    Bad:
    ````markdown
    ```sql
    CREATE TABLE t (id INTEGER);
    ## MIG-002: Next migration
    ````

    Good:
    ````markdown
    ```sql
    CREATE TABLE t (id INTEGER);
    ```
    ## MIG-002: Next migration
    ````
    """
    return _problems(project, r)


@rule("SOT004", "region-marker", Severity.ERROR, "a generated-region marker has no partner")
def region_marker(project, r: Rule) -> Iterator[Diagnostic]:
    """Generated regions are delimited by a begin and an end marker.

    Bad:
    ```markdown
    <!-- sotb:end navigation -->
    ```

    Good:
    ```markdown
    <!-- sotb:begin navigation -->
    ...
    <!-- sotb:end navigation -->
    ```
    """
    yield from _problems(project, r)
    for doc in project.documents:
        for region in doc.regions:
            if region.end_line == 0:
                yield r.diag(doc.path, region.begin_line,
                             msg=f"region '{region.name}' has a begin marker but no end marker")


RULES = (frontmatter, unreadable, unterminated, region_marker)


@rule("SOT005", "unused-suppression", Severity.WARNING, "a sotb-disable comment silences nothing")
def unused_suppression(project, r: Rule) -> Iterator[Diagnostic]:
    """A suppression comment that no longer silences a problem should go.

    Stale suppressions would hide the next real problem on that line.

    Bad (nothing wrong on the next line):
    ```markdown
    <!-- sotb-disable-next-line SOT201 -->
    - [API-045](SoT.API_CONTRACTS.md#api-045-post-paymentscharge)
    ```

    Good:
    ```markdown
    - [API-045](SoT.API_CONTRACTS.md#api-045-post-paymentscharge)
    ```
    """
    return iter(())  # reported by the engine, which knows which suppressions were used


RULES = (frontmatter, unreadable, unterminated, region_marker, unused_suppression)

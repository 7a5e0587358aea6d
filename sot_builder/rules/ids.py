"""SOT1xx: IDs — duplicates, unregistered prefixes, numbers outside their ranges."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator

from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.rules.base import Rule, rule


@rule("SOT101", "duplicate-id", Severity.ERROR, "an ID is defined by more than one entry",
      "{id} is defined {count} times; also at {other}{titles}")
def duplicate_id(project, r: Rule) -> Iterator[Diagnostic]:
    """An ID names exactly one entry, across all SoT files and scanned documents.

    Two headings with the same ID make every reference to it ambiguous. Keep
    one entry; give the other the next free number (`sotb renumber`).

    Bad:
    ```markdown
    ## PIC-001: Stripe Payment Processing
    ...
    ## PIC-001: Adyen Payments
    ```

    Good:
    ```markdown
    ## PIC-001: Stripe Payment Processing
    ...
    ## PIC-002: Adyen Payments
    ```
    """
    for ident, entries in project.definitions.items():
        if len(entries) < 2:
            continue
        titles = {e.title for e in entries}
        for e in entries:
            others = [o for o in entries if o is not e]
            where = ", ".join(f"{o.path}:{o.line}" for o in others)
            shown = ""
            if len(titles) > 1:
                shown = " (titles: " + " / ".join(f"'{o.title}'" for o in entries) + ")"
            yield r.diag(e.path, e.line, e.column, ids=(ident,), id=ident, count=len(entries),
                         other=where, titles=shown)


@rule("SOT102", "unknown-prefix", Severity.ERROR, "an ID uses a prefix no type registers",
      "prefix {prefix} of {id} is not registered{hint}")
def unknown_prefix(project, r: Rule) -> Iterator[Diagnostic]:
    """Every prefix that defines entries or is linked must be a registered type.

    Register it in `[tool.sotb.types]` (and SoT.UNIQUE_ID_SYSTEM.md), or fix a
    typo in the ID. Bare mentions of unknown prefixes in prose (`ISO-8601`) are
    not references and are not reported.

    Bad:
    ```markdown
    ## PAY-001: Stripe
    ```

    Good (with PIC registered):
    ```markdown
    ## PIC-001: Stripe
    ```
    """
    from sot_builder.rules.refs import _foreign_check

    reg = project.registry
    foreign = _foreign_check(project)
    hint = "; add it to [tool.sotb.types] or run `sotb init`"
    seen: set[tuple[str, int, str]] = set()
    # referenced IDs of unregistered prefixes that no entry defines: usually none at all
    unknown = {ident for ident in project.referenced() - project.definitions.keys()
               if reg.get(ident.split("-", 1)[0]) is None}
    for doc in project.documents:
        for e in doc.entries:
            if reg.get(e.prefix) is None:
                seen.add((doc.path, e.line, e.id))
                yield r.diag(doc.path, e.line, e.column, ids=(e.id,), prefix=e.prefix, id=e.id, hint=hint)
        if not unknown:
            continue
        for ref in doc.refs:
            if ref.kind != "link" or ref.target not in unknown:
                continue
            prefix = ref.target.split("-", 1)[0]
            if not foreign(doc, ref):
                key = (doc.path, ref.line, ref.target)
                if key not in seen:
                    seen.add(key)
                    yield r.diag(doc.path, ref.line, ref.column, ids=(ref.target,), prefix=prefix,
                                 id=ref.target, hint=hint)


@rule("SOT103", "out-of-range", Severity.ERROR, "an ID number lies outside every category range",
      "{id} is outside every category of {prefix} ({ranges})")
def out_of_range(project, r: Rule) -> Iterator[Diagnostic]:
    """An entry's number must fall inside one of its type's category ranges.

    Categories give numbers meaning (PIC-001..099 payment providers,
    PIC-101..199 communication services); a number outside them has none.

    Bad (PIC categories 1-99, 101-199, 201-299):
    ```markdown
    ## PIC-100: Adyen
    ```

    Good:
    ```markdown
    ## PIC-002: Adyen
    ```
    """
    holders: dict[str, Callable[[int], bool] | None] = {}  # prefix -> None when it has no categories
    for e in project.entries():
        if e.prefix not in holders:
            t = project.registry.get(e.prefix)
            cats = t.categories if t is not None else ()
            holders[e.prefix] = category_holder(cats) if cats else None
        holds = holders[e.prefix]
        if holds is None or holds(e.number):
            continue
        t = project.registry.get(e.prefix)
        ranges = ", ".join(f"{c.name} {c.first}-{c.last}" for c in t.categories)
        yield r.diag(e.path, e.line, e.column, ids=(e.id,), id=e.id, prefix=e.prefix, ranges=ranges)


def category_holder(categories) -> Callable[[int], bool]:
    """`number -> any(c.holds(number) for c in categories)`, by bisection over the merged ranges."""
    starts: list[int] = []
    ends: list[int] = []
    for first, last in sorted((c.first, c.last) for c in categories if c.first <= c.last):
        if ends and first <= ends[-1] + 1:
            ends[-1] = max(ends[-1], last)  # overlapping or adjacent: one range
        else:
            starts.append(first)
            ends.append(last)

    def holds(number: int) -> bool:
        k = bisect_right(starts, number) - 1
        return k >= 0 and number <= ends[k]

    return holds


@rule("SOT104", "wrong-file", Severity.WARNING, "an entry is defined outside the file that owns its prefix",
      "{id} belongs in {file} (the file that owns {prefix})")
def wrong_file(project, r: Rule) -> Iterator[Diagnostic]:
    """Each prefix has one owning SoT file; its entries live there.

    Scanned documents (PRD.md, epics) may define their own prefixes, but an
    entry of a registered type in another SoT file is misplaced.

    Bad: `## BR-007: Refund window` inside `SoT/SoT.API_CONTRACTS.md`.

    Good: `## BR-007: Refund window` inside `SoT/SoT.BUSINESS_RULES.md`.
    """
    owners: dict[str, str] = {}  # type file -> its project path
    for doc in project.sot_documents():
        for e in doc.entries:
            t = project.registry.get(e.prefix)
            if t is None or not t.file:
                continue
            owner = owners.get(t.file)
            if owner is None:
                owner = owners[t.file] = project.rel_in_root(t.file)
            if doc.path != owner and owner in project.by_path:
                yield r.diag(doc.path, e.line, e.column, ids=(e.id,), id=e.id, file=t.file, prefix=e.prefix)


@rule("SOT105", "navigation-category", Severity.ERROR,
      "an entry is listed in the navigation under a category whose range does not hold it",
      "{id} is listed under '{category}' ({prefix}-{first:03d} to {prefix}-{last:03d}){hint}")
def navigation_category(project, r: Rule) -> Iterator[Diagnostic]:
    """Navigation by Category lists each entry under the category that holds its number.

    Bad:
    ```markdown
    **Payment Providers** (PIC-001 to PIC-099):
    - [PIC-101](#pic-101-twilio) - Twilio SMS/Voice
    ```

    Good:
    ```markdown
    **Communication Services** (PIC-101 to PIC-199):
    - [PIC-101](#pic-101-twilio) - Twilio SMS/Voice
    ```
    """
    from sot_builder.parse import split_id

    for doc in project.sot_documents():
        nav = project.navigation(doc)
        if nav is None:
            continue
        for cat in nav.categories:
            prefix, first, last = cat.prefix, cat.first, cat.last
            dash = prefix + "-"
            for ref in cat.items:
                number = _plain_number(ref.target, dash)  # the usual item, read without a regex
                parts = (prefix, "", number) if number is not None else split_id(ref.target)
                if parts is None or parts[0] != prefix or first <= parts[2] <= last:
                    continue
                right = next((c for c in nav.categories if c.prefix == parts[0] and c.holds(parts[2])), None)
                hint = f"; it belongs under '{right.name}'" if right else ""
                yield r.diag(doc.path, ref.line, ref.column, ids=(ref.target,), id=ref.target,
                             category=cat.name, prefix=cat.prefix, first=cat.first, last=cat.last,
                             hint=hint, fix="run `sotb sync`")


def _plain_number(ident: str, dash: str) -> int | None:
    """The number of `ident` when it is `dash` (a prefix and '-') and 3 to 9 digits, as
    `split_id` reads it; None for any other text."""
    if not ident.startswith(dash):
        return None
    digits = ident[len(dash):]
    return int(digits) if 3 <= len(digits) <= 9 and digits.isdecimal() else None


RULES = (duplicate_id, unknown_prefix, out_of_range, wrong_file, navigation_category)

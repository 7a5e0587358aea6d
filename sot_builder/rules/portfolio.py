"""SOT21x: portfolio references — IDs of other registries named through a namespace.

Every rule here is silent when no reference uses a portfolio namespace.
"""

from __future__ import annotations

from collections.abc import Iterator

from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.rules.base import Rule, rule


def _state(project):
    if not project.memo("portfolio.spelled", _namespace_spelled):
        return [], {}
    from sot_builder.portfolio import catalogs, portfolio_refs

    found = portfolio_refs(project)
    return (found, catalogs(project)) if found else ([], {})


def _namespace_spelled(project) -> bool:
    """Whether any reference may be spelled `NS:ID` (the parser notes a ':' in a link's label or
    right before an ID outside links). Without one no rule here has anything to check (nor to load)."""
    return any(doc.colon_refs for doc in project.documents)


@rule("SOT210", "portfolio-registry", Severity.ERROR,
      "a portfolio reference names a registry that cannot be read or is ambiguous",
      "{msg}")
def portfolio_registry(project, r: Rule) -> Iterator[Diagnostic]:
    """A namespace must name a registry that sotb can read.

    `portfolio = { P = "../payments" }` points at a project folder (its
    sotb.toml, or its SoT/ folder), a `sotb export` SQLite file or a JSON
    export. When it cannot be read, no `P:` reference can be checked; the
    problem is reported once per document. `portfolio:ID` (no registry named)
    must be defined in exactly one registry of the portfolio.

    Bad (`../payments` does not exist, or two registries define BR-003):
    ```markdown
    Limits follow [P:BR-003](../payments/SoT/SoT.BUSINESS_RULES.md#br-003-rate-limit).
    Refunds follow portfolio:BR-003.
    ```

    Good (`portfolio = { P = "../payments" }` and the folder is there):
    ```markdown
    Limits follow [P:BR-003](../payments/SoT/SoT.BUSINESS_RULES.md#br-003-rate-limit).
    Refunds follow P:BR-003.
    ```
    """
    refs, cats = _state(project)
    if not refs:
        return
    from sot_builder.portfolio import ANY, resolve

    told: set[tuple[str, str]] = set()
    for doc, pref in refs:
        ref = pref.ref
        if pref.namespace == ANY and ANY not in cats:
            if not cats:
                yield r.diag(doc.path, ref.line, ref.column, ids=(pref.id,),
                             msg=f"portfolio:{pref.id} but no registries are configured",
                             fix="name the registries in `portfolio = { NAME = \"path\" }`")
                continue
            res = resolve(cats, pref)
            if len(res.candidates) > 1:
                names = ", ".join(res.candidates)
                yield r.diag(doc.path, ref.line, ref.column, ids=(pref.id,),
                             msg=f"portfolio:{pref.id} is defined in several registries ({names})",
                             fix=f"name one: {res.candidates[0]}:{pref.id}")
            continue
        cat = cats.get(pref.namespace)
        if cat is None or cat.ok or (doc.path, cat.name) in told:
            continue
        told.add((doc.path, cat.name))
        yield r.diag(doc.path, ref.line, ref.column, ids=(pref.id,),
                     msg=f"registry {cat.name} cannot be read: {cat.problem}; its references are not checked",
                     fix=f"fix `portfolio.{cat.name}` in the configuration")


@rule("SOT211", "portfolio-undefined-id", Severity.ERROR,
      "a portfolio reference names an ID that its registry does not define",
      "{ref} is defined nowhere in {where}{hint}")
def portfolio_undefined_id(project, r: Rule) -> Iterator[Diagnostic]:
    """A reference into another registry must name an entry that registry defines.

    `P:BR-003` is looked up in the registry configured as `P`; `portfolio:BR-003`
    in every registry of the portfolio. A deleted or mistyped ID there leaves
    this registry pointing at nothing, exactly as a dangling local reference.

    Bad (the payments registry has no BR-099):
    ```markdown
    - [P:BR-099](../payments/SoT/SoT.BUSINESS_RULES.md#br-099) - Rate limit
    ```

    Good:
    ```markdown
    - [P:BR-003](../payments/SoT/SoT.BUSINESS_RULES.md#br-003-rate-limit) - Rate limit
    ```
    """
    from sot_builder.rules.refs import close_match

    refs, cats = _state(project)
    if not refs:
        return
    from sot_builder.portfolio import ANY, resolve

    for doc, pref in refs:
        if pref.namespace == ANY and ANY not in cats:
            if not cats or not all(c.ok for c in cats.values()):
                continue
            res = resolve(cats, pref)
            if res.candidates:
                continue
            yield r.diag(doc.path, pref.ref.line, pref.ref.column, ids=(pref.id,),
                         ref=f"portfolio:{pref.id}",
                         where=f"the portfolio ({', '.join(sorted(cats))})", hint="")
            continue
        cat = cats.get(pref.namespace)
        if cat is None or not cat.ok or pref.id in cat.entries:
            continue
        prefix = pref.id.split("-", 1)[0]
        close = close_match(pref.id, [i for i in cat.entries if i.startswith(prefix)], 0.8)
        hint = f"; did you mean {cat.name}:{close}?" if close is not None else ""
        yield r.diag(doc.path, pref.ref.line, pref.ref.column, ids=(pref.id,),
                     ref=f"{pref.namespace}:{pref.id}", where=f"registry {cat.name} ({cat.spec})", hint=hint)


@rule("SOT212", "portfolio-link", Severity.ERROR,
      "a portfolio link points at the wrong file or anchor of the other registry",
      "{ref} links to {href}; {problem}")
def portfolio_link(project, r: Rule) -> Iterator[Diagnostic]:
    """A link to another registry's entry must land on that entry.

    The link's path must be the file that defines the entry (for a registry
    configured as a project folder) and its `#fragment` the entry's GitHub
    anchor (for every kind of registry; exports carry the anchor too).

    Bad:
    ```markdown
    [P:BR-003](../payments/SoT/SoT.BUSINESS_RULES.md#br-003)
    ```

    Good:
    ```markdown
    [P:BR-003](../payments/SoT/SoT.BUSINESS_RULES.md#br-003-rate-limit)
    ```
    """
    refs, cats = _state(project)
    if not refs:
        return
    from sot_builder.portfolio import expected_href, link_problem, resolve

    for doc, pref in refs:
        if pref.ref.kind != "link":
            continue
        res = resolve(cats, pref)
        if res.entry is None or res.catalog is None:
            continue
        problem = link_problem(project, doc, pref.ref, res.catalog, res.entry)
        if not problem:
            continue
        if "://" in pref.ref.href:
            right = f"#{res.entry.anchor}" if res.entry.anchor else ""
            fix = f"use {right}" if right else ""
        else:
            right = expected_href(project, doc, res.catalog, res.entry)
            fix = f"link to {right}" if right else ""
        yield r.diag(doc.path, pref.ref.line, pref.ref.column, ids=(pref.id,),
                     ref=f"{pref.namespace}:{pref.id}", href=pref.ref.href, problem=problem, fix=fix)


RULES = (portfolio_registry, portfolio_undefined_id, portfolio_link)

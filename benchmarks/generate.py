"""Generate a synthetic SoT registry for benchmarks and tests.

    python benchmarks/generate.py OUT_DIR --entries N [--files F] [--seed S] [--defects K]

Writes `OUT_DIR/sotb.toml`, `OUT_DIR/SoT/SoT.README.md`,
`OUT_DIR/SoT/SoT.UNIQUE_ID_SYSTEM.md` and one `OUT_DIR/SoT/SoT.<NAME>.md` per
prefix. Every entry links to about six others and every link is present in
both directions. The output depends only on the arguments.

`--defects K` injects K problems, cycling through DEFECT_KINDS, and prints one
line per defect. Defects are drawn from their own random stream, so the rest of
a defective registry is byte-identical to the clean one with the same seed
(apart from the injected lines).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT_DIR = "SoT"
LINKS_PER_ENTRY = 3  # links each entry starts; with the ones it receives, ~6 per entry
PER_CATEGORY = 99  # numbers x01..x99 of each hundred

# (prefix, file name, title, what the entries are)
KNOWN_PREFIXES = (
    ("BR", "BUSINESS_RULES", "Business Rules", "business rules and policies"),
    ("API", "API_CONTRACTS", "API Contracts", "API endpoints and their contracts"),
    ("PIC", "PARTNER_INTEGRATIONS", "Partner Integration Contracts", "third-party integrations"),
    ("UJ", "USER_JOURNEYS", "User Journeys", "user journeys and flows"),
    ("FEA", "FEATURES", "Features", "product features"),
    ("MIG", "MIGRATIONS", "Migration Procedures", "database migration procedures"),
    ("DBT", "ACTUAL_SCHEMA", "Database Tables", "database tables"),
    ("SEC", "SECURITY", "Security Controls", "security controls"),
    ("TECH", "TECHNICAL_DECISIONS", "Technical Decisions", "technical decisions"),
    ("RUN", "RUNBOOKS", "Runbooks", "operational runbooks"),
    ("DEP", "DEPLOYMENT", "Deployments", "deployment procedures"),
    ("EVT", "EVENTS", "Domain Events", "domain events"),
    ("MET", "METRICS", "Metrics", "metrics and alerts"),
    ("ERR", "ERROR_CODES", "Error Codes", "error codes"),
    ("CFG", "CONFIGURATION", "Configuration", "configuration settings"),
    ("TST", "TEST_PLANS", "Test Plans", "test plans"),
    ("INC", "INCIDENTS", "Incidents", "incident reviews"),
    ("RSK", "RISKS", "Risks", "risks and mitigations"),
    ("GLO", "GLOSSARY", "Glossary", "glossary terms"),
    ("OPS", "OPERATIONS", "Operations", "operational procedures"),
)

CATEGORY_NAMES = (
    "Core", "Extended", "Integration", "Operations", "Compliance",
    "Reporting", "Lifecycle", "Platform", "Analytics", "Support",
)  # fmt: skip

TITLE_WORDS = (
    "Account", "Access", "Audit", "Balance", "Batch", "Billing", "Cache", "Checkout",
    "Consent", "Customer", "Data", "Delivery", "Discount", "Email", "Export", "Feed",
    "Gateway", "Import", "Inventory", "Invoice", "Ledger", "Limit", "Login", "Order",
    "Partner", "Password", "Payment", "Policy", "Profile", "Quota", "Rate", "Refund",
    "Report", "Retention", "Retry", "Review", "Search", "Session", "Shipping", "Signup",
    "Storage", "Subscription", "Sync", "Tax", "Tenant", "Token", "Upload", "Webhook",
)  # fmt: skip
TITLE_TAILS = (" (v2)", " / Fallback", " & Alerts", ", Phase 2", ": Limits")

TEXT_WORDS = (
    "the", "entry", "service", "applies", "to", "each", "request", "and", "is", "checked",
    "before", "a", "change", "ships", "owners", "review", "it", "every", "quarter", "when",
    "traffic", "grows", "data", "must", "stay", "consistent", "across", "regions", "with",
    "clear", "rollback", "steps", "documented", "for", "operators", "on", "call", "teams",
)  # fmt: skip

OWNERS = ("Platform Team", "Payments Team", "Identity Team", "Data Team", "Growth Team")
STATUSES = ("Active", "Draft", "Deprecated")
STATUS_WEIGHTS = (17, 2, 1)
PRIORITIES = ("High", "Medium", "Low")

DEFECT_KINDS = ("dangling", "duplicate", "fragment", "backref")

_SLUG_DROP = re.compile(r"[^\w\- ]")


def slug(text: str) -> str:
    """GitHub's anchor for a heading text (without the `-1` suffix for repeats)."""
    return _SLUG_DROP.sub("", text.lower()).replace(" ", "-")


def format_id(prefix: str, number: int) -> str:
    return f"{prefix}-{number:03d}"


def number_for(index: int) -> int:
    """The entry number of the index-th entry of a file: 1..99, 101..199, ..."""
    return (index // PER_CATEGORY) * 100 + index % PER_CATEGORY + 1


@dataclass(frozen=True, slots=True)
class SotFile:
    prefix: str
    name: str  # SoT.<name>.md
    title: str
    subject: str

    @property
    def filename(self) -> str:
        return f"SoT.{self.name}.md"


@dataclass(slots=True)
class Entry:
    id: str
    file: int  # index into Plan.files
    number: int
    title: str
    anchor: str
    fields: list[tuple[str, str]]
    text: str
    links: list[int] = field(default_factory=list)  # indices of linked entries


@dataclass(frozen=True, slots=True)
class Defect:
    kind: str
    path: str  # relative to the output dir, "/" separated
    entry: str  # ID of the entry that carries the defect
    target: str  # the other ID involved ("" if none)
    detail: str

    def describe(self) -> str:
        where = f"{self.path} {self.entry}"
        return f"defect {self.kind}: {where}: {self.detail}"


@dataclass(slots=True)
class Plan:
    """Everything needed to render a registry, defects included."""

    files: list[SotFile]
    entries: list[Entry]
    first: list[int]  # index of each file's first entry (len(files) + 1 items)
    extra_links: dict[int, list[tuple[str, str, str]]] = field(default_factory=dict)
    dropped_links: set[tuple[int, int]] = field(default_factory=set)
    hrefs: dict[tuple[int, int], str] = field(default_factory=dict)  # overridden links
    extra_entries: dict[int, list[Entry]] = field(default_factory=dict)  # per file
    defects: list[Defect] = field(default_factory=list)


def make_files(count: int) -> list[SotFile]:
    files = [SotFile(*row) for row in KNOWN_PREFIXES[:count]]
    for i in range(count - len(files)):
        prefix = "Q" + _letters(i)
        files.append(SotFile(prefix, f"EXTRA_{prefix}", f"Extra Registry {prefix}", "extra items"))
    return files


def _letters(i: int) -> str:
    """0 -> AA, 1 -> AB, ..., 675 -> ZZ, 676 -> AAA, ..."""
    width, span = 2, 26 * 26
    while i >= span:
        i -= span
        width, span = width + 1, span * 26
    out = []
    for _ in range(width):
        i, r = divmod(i, 26)
        out.append(chr(65 + r))
    return "".join(reversed(out))


def split_counts(entries: int, files: int) -> list[int]:
    base, rest = divmod(entries, files)
    return [base + (1 if i < rest else 0) for i in range(files)]


def make_title(rng: random.Random) -> str:
    words = rng.sample(TITLE_WORDS, rng.randint(2, 4))
    title = " ".join(words)
    if rng.random() < 0.1:
        title += rng.choice(TITLE_TAILS)
    return title


def make_text(rng: random.Random) -> str:
    words = rng.choices(TEXT_WORDS, k=rng.randint(10, 22))
    return " ".join(words).capitalize() + "."


def make_fields(rng: random.Random, entry_id: str) -> list[tuple[str, str]]:
    status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
    fields = [("ID", entry_id), ("Status", status), ("Owner", rng.choice(OWNERS))]
    extras = rng.randint(0, 3)
    if extras >= 1:
        fields.append(("Created", f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"))
    if extras >= 2:
        fields.append(("Priority", rng.choice(PRIORITIES)))
    if extras >= 3:
        fields.append(("Version", f"1.{rng.randint(0, 9)}"))
    return fields


def make_entry(rng: random.Random, sot: SotFile, file_index: int, number: int) -> Entry:
    entry_id = format_id(sot.prefix, number)
    title = make_title(rng)
    return Entry(
        id=entry_id,
        file=file_index,
        number=number,
        title=title,
        anchor=slug(f"{entry_id}: {title}"),
        fields=make_fields(rng, entry_id),
        text=make_text(rng),
    )


def link_entries(rng: random.Random, entries: list[Entry]) -> None:
    """Give each entry up to LINKS_PER_ENTRY new partners, both directions."""
    total = len(entries)
    if total < 2:
        return
    for i, entry in enumerate(entries):
        for _ in range(LINKS_PER_ENTRY):
            j = rng.randrange(total)
            if j != i and j not in entry.links:
                entry.links.append(j)
                entries[j].links.append(i)
    for entry in entries:
        entry.links.sort()


def build_plan(entries: int, files: int = 10, seed: int = 1, defects: int = 0) -> Plan:
    if entries < 0 or files < 1 or defects < 0:
        raise ValueError("need entries >= 0, files >= 1 and defects >= 0")
    rng = random.Random(seed)
    sot_files = make_files(files)
    all_entries: list[Entry] = []
    first = []
    for file_index, (sot, count) in enumerate(zip(sot_files, split_counts(entries, files))):
        first.append(len(all_entries))
        for k in range(count):
            all_entries.append(make_entry(rng, sot, file_index, number_for(k)))
    first.append(len(all_entries))
    link_entries(rng, all_entries)
    plan = Plan(files=sot_files, entries=all_entries, first=first)
    inject_defects(plan, defects, random.Random(f"defects-{seed}"))
    return plan


# --- defects -------------------------------------------------------------------------


def inject_defects(plan: Plan, count: int, rng: random.Random) -> None:
    used: set[int] = set()
    for k in range(count):
        kind = DEFECT_KINDS[k % len(DEFECT_KINDS)]
        if kind == "dangling":
            _add_dangling(plan, rng, used, k)
        elif kind == "duplicate":
            _add_duplicate(plan, rng, used)
        elif kind == "fragment":
            _add_broken_fragment(plan, rng, used)
        else:
            _drop_back_reference(plan, rng, used)


def _pick_entry(plan: Plan, rng: random.Random, used: set[int]) -> int:
    for _ in range(1000):
        i = rng.randrange(len(plan.entries)) if plan.entries else -1
        if i >= 0 and i not in used:
            used.add(i)
            return i
    raise ValueError("registry too small for the requested defects")


def _pick_link(plan: Plan, rng: random.Random, used: set[int]) -> tuple[int, int]:
    for _ in range(1000):
        i = rng.randrange(len(plan.entries)) if plan.entries else -1
        if i < 0 or i in used:
            continue
        free = [j for j in plan.entries[i].links if j not in used]
        if free:
            j = rng.choice(free)
            used.update((i, j))
            return i, j
    raise ValueError("registry too small for the requested defects")


def _path(plan: Plan, entry: Entry) -> str:
    return f"{ROOT_DIR}/{plan.files[entry.file].filename}"


def _add_dangling(plan: Plan, rng: random.Random, used: set[int], k: int) -> None:
    i = _pick_entry(plan, rng, used)
    source = plan.entries[i]
    target_file = rng.randrange(len(plan.files))
    sot = plan.files[target_file]
    count = plan.first[target_file + 1] - plan.first[target_file]
    categories = (count + PER_CATEGORY - 1) // PER_CATEGORY
    missing = format_id(sot.prefix, (categories + 1) * 100 + 1 + k)
    title = "Retired entry"
    href = f"{sot.filename}#{slug(f'{missing}: {title}')}"
    if target_file == source.file:
        href = href[len(sot.filename) :]
    plan.extra_links.setdefault(i, []).append((missing, href, title))
    plan.defects.append(
        Defect(
            "dangling",
            _path(plan, source),
            source.id,
            missing,
            f"links to {missing}, which does not exist",
        )
    )


def _add_duplicate(plan: Plan, rng: random.Random, used: set[int]) -> None:
    i = _pick_entry(plan, rng, used)
    original = plan.entries[i]
    title = "Copied entry"
    copy = Entry(
        id=original.id,
        file=original.file,
        number=original.number,
        title=title,
        anchor=slug(f"{original.id}: {title}"),
        fields=[("ID", original.id), ("Status", "Draft"), ("Owner", OWNERS[0])],
        text="This entry reuses an ID that is already taken.",
    )
    plan.extra_entries.setdefault(original.file, []).append(copy)
    plan.defects.append(
        Defect(
            "duplicate", _path(plan, original), original.id, "", f"second heading for {original.id}"
        )
    )


def _add_broken_fragment(plan: Plan, rng: random.Random, used: set[int]) -> None:
    i, j = _pick_link(plan, rng, used)
    source, target = plan.entries[i], plan.entries[j]
    fragment = target.id.lower()  # the short form, which GitHub does not render
    href = _href(plan, source, target, fragment)
    plan.hrefs[(i, j)] = href
    plan.defects.append(
        Defect(
            "fragment", _path(plan, source), source.id, target.id, f"links to {target.id} as {href}"
        )
    )


def _drop_back_reference(plan: Plan, rng: random.Random, used: set[int]) -> None:
    i, j = _pick_link(plan, rng, used)
    source, target = plan.entries[i], plan.entries[j]
    plan.dropped_links.add((j, i))
    plan.defects.append(
        Defect(
            "backref",
            _path(plan, target),
            target.id,
            source.id,
            f"{source.id} links here but {target.id} does not link back",
        )
    )


# --- rendering -----------------------------------------------------------------------


def _href(plan: Plan, source: Entry, target: Entry, fragment: str) -> str:
    if source.file == target.file:
        return f"#{fragment}"
    return f"{plan.files[target.file].filename}#{fragment}"


def render_entry(plan: Plan, index: int, entry: Entry, out: list[str]) -> None:
    out.append(f"## {entry.id}: {entry.title}")
    out.append("")
    out.extend(f"**{name}**: {value}" for name, value in entry.fields)
    links = [j for j in entry.links if (index, j) not in plan.dropped_links]
    extra = plan.extra_links.get(index, [])
    if links or extra:
        out.append("")
        out.append("### Related")
        out.append("")
        for j in links:
            target = plan.entries[j]
            href = plan.hrefs.get((index, j)) or _href(plan, entry, target, target.anchor)
            out.append(f"- [{target.id}]({href}) - {target.title}")
        out.extend(f"- [{tid}]({href}) - {title}" for tid, href, title in extra)
    out.append("")
    out.append(entry.text)
    out.append("")
    out.append("---")
    out.append("")


def _category_name(c: int) -> str:
    return CATEGORY_NAMES[c] if c < len(CATEGORY_NAMES) else f"Group {c + 1}"


def render_navigation(entries: list[Entry], prefix: str, out: list[str]) -> None:
    out.append("## Navigation by Category")
    out.append("")
    category = -1
    for entry in entries:
        c = entry.number // 100
        if c != category:
            if category >= 0:
                out.append("")
            category = c
            name = _category_name(c)
            low, high = format_id(prefix, c * 100 + 1), format_id(prefix, c * 100 + 99)
            out.append(f"**{name}** ({low} to {high}):")
        out.append(f"- [{entry.id}](#{entry.anchor}) - {entry.title}")
    out.append("")
    out.append("---")
    out.append("")


def render_file(plan: Plan, file_index: int) -> str:
    sot = plan.files[file_index]
    others = [f.filename for f in plan.files if f is not sot][:3]
    start, stop = plan.first[file_index], plan.first[file_index + 1]
    out = [
        "---",
        "version: 1.0",
        f"purpose: Source of Truth for {sot.subject}",
        f"id_prefix: {sot.prefix}-###",
        "last_updated: 2025-01-10",
        f"authority: This SoT defines all {sot.subject}",
        "---",
        "",
        f"# {sot.title} (SoT File)",
        "",
        f"> **Purpose**: Specifications for all {sot.subject}",
        f"> **ID Prefix**: {sot.prefix}-XXX",
        "> **Status**: Active SoT file",
        f"> **Cross-References**: {', '.join(others) or 'None'}",
        "",
    ]
    render_navigation(plan.entries[start:stop], sot.prefix, out)
    for index in range(start, stop):
        render_entry(plan, index, plan.entries[index], out)
    for extra in plan.extra_entries.get(file_index, []):
        render_entry(plan, -1, extra, out)
    return "\n".join(out)


def render_readme(plan: Plan) -> str:
    out = [
        "# SoT Registry",
        "",
        "The Source of Truth files of this project.",
        "",
        "| File | Prefixes | Purpose |",
        "|------|----------|---------|",
    ]
    for sot in plan.files:
        out.append(f"| `{sot.filename}` | {sot.prefix}-### | Source of Truth for {sot.subject} |")
    out.append("| `SoT.UNIQUE_ID_SYSTEM.md` | — | Registry of every ID prefix |")
    out.append("")
    return "\n".join(out)


def render_id_system(plan: Plan) -> str:
    out = [
        "# Unique ID System",
        "",
        "Every entry ID is a registered prefix, a dash and a number of three or more digits.",
        "",
        "## 1. Prefixes",
        "",
        "### 1.2 Registered Prefixes",
        "",
        "| Prefix | Meaning | File |",
        "|--------|---------|------|",
    ]
    for sot in plan.files:
        out.append(f"| **{sot.prefix}** | {sot.title} | `{sot.filename}` |")
    out.append("")
    return "\n".join(out)


def _toml_list(items: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def render_config(plan: Plan) -> str:
    """sotb.toml: the root, one type per prefix matching what was generated, and
    back-references required for every prefix.

    Declaring the types keeps the registry clean whatever defaults sotb ships for
    these prefixes (categories, required fields, allowed statuses).
    """
    out = [f'root = "{ROOT_DIR}"']
    for i, sot in enumerate(plan.files):
        count = plan.first[i + 1] - plan.first[i]
        categories = max(1, (count + PER_CATEGORY - 1) // PER_CATEGORY)
        out += [
            "",
            f"[types.{sot.prefix}]",
            f'title = "{sot.title}"',
            f'file = "{sot.filename}"',
            f'purpose = "Source of Truth for {sot.subject}"',
            f'authority = "This SoT defines all {sot.subject}"',
            'sections = ["Related"]',
            "categories = [",
        ]
        for c in range(categories):
            out.append(
                f'  {{ name = "{_category_name(c)}", first = {c * 100 + 1}, last = {c * 100 + 99} }},'
            )
        out += [
            "]",
            "fields = [",
            f'  {{ name = "Status", required = true, kind = "enum", values = {_toml_list(STATUSES)} }},',
            '  { name = "Owner", required = true },',
            '  { name = "Created", kind = "date" },',
            f'  {{ name = "Priority", kind = "enum", values = {_toml_list(PRIORITIES)} }},',
            '  { name = "Version" },',
            "]",
            "relations = [",
            '  { name = "related", inverse = "related", sections = ["Related"], back_reference = true },',
            "]",
        ]
    out += ["", "# every link needs one in the other direction", "[back_references]"]
    out += [f"{sot.prefix} = true" for sot in plan.files]
    return "\n".join(out) + "\n"


def render(plan: Plan) -> dict[str, str]:
    """Relative path -> file text, for every file of the registry."""
    texts = {"sotb.toml": render_config(plan)}
    texts[f"{ROOT_DIR}/SoT.README.md"] = render_readme(plan)
    texts[f"{ROOT_DIR}/SoT.UNIQUE_ID_SYSTEM.md"] = render_id_system(plan)
    for i, sot in enumerate(plan.files):
        texts[f"{ROOT_DIR}/{sot.filename}"] = render_file(plan, i)
    return texts


def generate(
    out_dir: Path,
    entries: int,
    files: int = 10,
    seed: int = 1,
    defects: int = 0,
    force: bool = False,
) -> list[Defect]:
    """Write a registry under out_dir and return the injected defects.

    Refuses to write into a non-empty `SoT/` folder unless `force` is set; then
    `.md` files there that the new registry does not contain are removed.
    """
    plan = build_plan(entries, files, seed, defects)
    texts = render(plan)
    root = out_dir / ROOT_DIR
    old = sorted(root.glob("*.md")) if root.is_dir() else []
    if old and not force:
        raise ValueError(f"{root} already holds Markdown files (use --force to replace them)")
    for path in old:
        if f"{ROOT_DIR}/{path.name}" not in texts:
            path.unlink()
    for rel, text in texts.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    return plan.defects


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a synthetic SoT registry.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--entries", type=int, required=True)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--defects", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="replace an existing registry")
    args = parser.parse_args(argv)
    try:
        injected = generate(
            args.out_dir, args.entries, args.files, args.seed, args.defects, args.force
        )
    except (ValueError, OSError) as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 2
    for defect in injected:
        print(defect.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ID ledger: an append-only JSON Lines file recording every ID ever issued.

One event per line, e.g.::

    {"event": "issued", "id": "PIC-001", "title": "Stripe", "file": "SoT.PARTNER_INTEGRATIONS.md",
     "status": "Active", "date": "2025-01-10", "parents": [], "hash": "3f1c..."}

`hash` is the SHA-256 of the event's canonical JSON (every key but `hash`, keys
sorted, no spaces), so it covers the event's content *and* `parents`: the hashes
of the events it was appended after. Verification accepts any order in which
every parent appears earlier in the file, so the union merge of two branches
that both appended events still verifies, while an edited line no longer
matches its own hash and a rewritten hash leaves its children pointing at
nothing. See docs/ledger.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sot_builder.config import Config
from sot_builder.diagnostics import SotbError
from sot_builder.fsutil import atomic_write_bytes, project_lock, read_text_keep, write_text_keep
from sot_builder.parse import split_id

if TYPE_CHECKING:
    from sot_builder.project import Project

# event name -> keys it must carry besides event, id, date, parents, hash
EVENTS: dict[str, tuple[str, ...]] = {
    "issued": ("title", "file"),
    "title-changed": ("from", "to"),
    "status-changed": ("from", "to"),
    "moved": ("from", "to"),
    "deprecated": (),
    "superseded": ("by",),
    "renumbered": ("from", "to"),
}
KEY_ORDER = ("event", "id", "title", "file", "status", "from", "to", "by", "date", "parents", "hash")
HASH_RE = re.compile(r"^[0-9a-f]{64}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SUPERSEDED_FIELDS = ("superseded by", "replaced by")


@dataclass(frozen=True)
class Event:
    line: int  # 1-based line of the ledger file
    data: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return self.data["event"]

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def hash(self) -> str:
        return self.data["hash"]

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(self.data["parents"])


@dataclass(frozen=True)
class LedgerProblem:
    line: int
    kind: str  # "syntax" | "hash" | "parent" | "unreadable"
    message: str


@dataclass(frozen=True)
class Ledger:
    path: Path
    events: tuple[Event, ...]
    problems: tuple[LedgerProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def tips(self) -> list[str]:
        """Hashes of the events no other event names as parent, in file order."""
        referenced = {p for e in self.events for p in e.parents}
        out: list[str] = []
        for e in self.events:
            if e.hash not in referenced and e.hash not in out:
                out.append(e.hash)
        return out


@dataclass
class Record:
    """One ID as the ledger knows it, after replaying events."""

    id: str
    title: str = ""
    status: str = ""
    file: str = ""
    issued_line: int = 0
    last_line: int = 0
    deprecated: bool = False
    deprecated_title: str = ""
    deprecated_line: int = 0
    superseded_by: str = ""
    renumbered_to: str = ""
    history: list[int] = field(default_factory=list)  # lines of its events
    # later `issued` events for the same ID (two branches took the number), until renumbered away
    duplicates: list[Record] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Hashing and reading


def canonical(data: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in data.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_hash(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(data)).hexdigest()


def ledger_path(config: Config) -> Path:
    return config.root / config["ledger"]


def require_enabled(config: Config) -> None:
    if not config["ledger"]:
        raise SotbError("the ledger is turned off (the `ledger` setting is empty)")


def ledger_rel(config: Config) -> str:
    """The ledger's path relative to the project dir, "/" separated."""
    root = config.root_rel
    name = str(config["ledger"]).replace(os.sep, "/")
    return posixpath.normpath(name if root == "." else f"{root}/{name}")


def _shape_problem(obj: Any) -> str:
    if not isinstance(obj, dict):
        return "not a JSON object"
    kind = obj.get("event")
    if kind not in EVENTS:
        return f"unknown event {kind!r}; expected one of {', '.join(EVENTS)}"
    for key in ("id", "date", "hash", *EVENTS[kind]):
        if not isinstance(obj.get(key), str):
            return f"'{key}' is missing or not a string"
    if not obj["id"]:
        return "'id' is empty"
    if not DATE_RE.match(obj["date"]):
        return f"'date' {obj['date']!r} is not YYYY-MM-DD"
    parents = obj.get("parents")
    if not isinstance(parents, list) or not all(isinstance(p, str) and HASH_RE.match(p) for p in parents):
        return "'parents' must be a list of event hashes"
    if not HASH_RE.match(obj["hash"]):
        return "'hash' is not a SHA-256 hex digest"
    return ""


def _read_line(raw: str, lineno: int) -> tuple[Any, str, str]:
    """(event, its computed hash, "") for an event line; (None, "", what is wrong) for others."""
    try:
        obj = json.loads(raw)
        shape = _shape_problem(obj)
        digest = "" if shape else event_hash(obj)
    except RecursionError:  # JSON nested thousands of levels deep
        return None, "", f"line {lineno} is nested too deeply to be an event"
    except ValueError as exc:
        return None, "", f"line {lineno} is not valid JSON: {exc}"
    return obj, digest, f"line {lineno}: {shape}" if shape else ""


def parse_ledger(text: str, path: Path = Path("SoT.LEDGER.jsonl")) -> Ledger:
    """Read ledger text; every line must be an event whose hash matches and whose parents come earlier."""
    events: list[Event] = []
    problems: list[LedgerProblem] = []
    seen: set[str] = set()
    for lineno, raw in enumerate(text.split("\n"), start=1):
        raw = raw.rstrip("\r")
        if not raw.strip():
            continue
        obj, digest, shape = _read_line(raw, lineno)
        if shape:
            problems.append(LedgerProblem(lineno, "syntax", shape))
            continue
        if digest != obj["hash"]:
            problems.append(LedgerProblem(
                lineno, "hash", f"line {lineno} ({obj['event']} {obj['id']}) was changed after it was "
                "written: its content no longer matches its hash"))
        for parent in obj["parents"]:
            if parent not in seen:
                problems.append(LedgerProblem(
                    lineno, "parent", f"line {lineno} ({obj['event']} {obj['id']}) follows event "
                    f"{parent[:12]}, which is not on an earlier line: an earlier line was edited, "
                    "removed or moved"))
        if obj["hash"] in seen:
            continue  # the same event twice (both sides of a merge appended it)
        seen.add(obj["hash"])
        events.append(Event(lineno, obj))
    return Ledger(Path(path), tuple(events), tuple(problems))


def read_ledger(path: Path) -> Ledger | None:
    """The ledger at `path`, or None when there is no ledger file."""
    path = Path(path)
    try:
        data = _ledger_bytes(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Ledger(path, (), (LedgerProblem(1, "unreadable", _unreadable(exc)),))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Ledger(path, (), (LedgerProblem(1, "unreadable", f"the ledger is not UTF-8: {exc}"),))
    return parse_ledger(text, path)


class NotAFile(OSError):
    """The ledger path names a folder, a pipe or a device."""


def _ledger_bytes(path: Path) -> bytes:
    """The ledger's bytes; a folder, pipe or device is refused without opening it."""
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise NotAFile("the ledger is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise NotAFile("the ledger is not a regular file (a pipe or a device); not read")
    return path.read_bytes()


def _unreadable(exc: OSError) -> str:
    if isinstance(exc, NotAFile):
        return str(exc)
    return f"cannot read the ledger: {exc.strerror or exc}"


@lru_cache(maxsize=8)
def _read_cached(path: str, mtime_ns: int, size: int) -> Ledger | None:
    return read_ledger(Path(path))


def load_ledger(config: Config) -> Ledger | None:
    """The project's ledger (cached while the file is unchanged), or None when it does not exist.

    An empty `ledger` setting turns the ledger off.
    """
    if not config["ledger"]:
        return None
    path = ledger_path(config)
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError:
        return read_ledger(path)
    if _leaves_project(config, path):
        return Ledger(path, (), (LedgerProblem(1, "unreadable", OUTSIDE),))
    return _read_cached(str(path), st.st_mtime_ns, st.st_size)


OUTSIDE = "the ledger is a link that leads outside the project; not read"


def _leaves_project(config: Config, path: Path) -> bool:
    """Does the ledger path (a link, say) lead outside the project folder?"""
    try:
        return not path.resolve().is_relative_to(config.project_dir.resolve())
    except (OSError, RuntimeError):  # a link loop: reading it reports the problem
        return False


# ---------------------------------------------------------------------------
# Replay


def replayed(ledger: Ledger) -> dict[str, Record]:
    """replay(ledger.events), remembered for the last ledger asked about (treat as read-only)."""
    if _REPLAYED and _REPLAYED[0] is ledger:
        return _REPLAYED[1]
    records = replay(ledger.events)
    _REPLAYED[:] = [ledger, records]
    return records


_REPLAYED: list = []


def replay(events: Iterable[Event], at: int | None = None) -> dict[str, Record]:
    """Every ID's record after the events up to line `at` (all events when None)."""
    records: dict[str, Record] = {}
    for ev in events:
        if at is not None and ev.line > at:
            break
        _apply(records, ev)
    return records


def _record(records: dict[str, Record], ident: str) -> Record:
    rec = records.get(ident)
    if rec is None:
        rec = records[ident] = Record(ident)
    return rec


def _apply(records: dict[str, Record], ev: Event) -> None:
    d = ev.data
    kind = ev.kind
    if kind == "issued":
        old = records.get(ev.id)
        if old is not None and old.issued_line and not old.renumbered_to:
            # issued twice (two branches took the number): the first is the record, the others wait
            # for the `renumbered` event that moves them
            old.duplicates.append(Record(ev.id, d["title"], d.get("status", "") or "", d["file"],
                                         issued_line=ev.line, last_line=ev.line, history=[ev.line]))
            return
        records[ev.id] = Record(ev.id, d["title"], d.get("status", "") or "", d["file"],
                                issued_line=ev.line)
        rec = records[ev.id]
    elif kind == "renumbered":
        src = _record(records, d["from"])
        mover = _mover(src, d)
        if mover is src:
            src.renumbered_to = d["to"]
            src.history.append(ev.line)
            src.last_line = ev.line
            if src.duplicates:  # the next entry issued under the old ID keeps it
                heir, *rest = src.duplicates
                heir.duplicates, src.duplicates = rest, []
                records[d["from"]] = heir
        else:
            src.duplicates.remove(mover)
        rec = replace(mover, id=d["to"], renumbered_to="", history=[], issued_line=ev.line, duplicates=[])
        records[d["to"]] = rec
    else:
        rec = _record(records, ev.id)
        if kind == "title-changed":
            rec.title = d["to"]
        elif kind == "status-changed":
            rec.status = d["to"]
        elif kind == "moved":
            rec.file = d["to"]
        elif kind in ("deprecated", "superseded"):
            if not rec.deprecated:
                rec.deprecated_title = d.get("title") or rec.title
                rec.deprecated_line = ev.line
            rec.deprecated = True
            if kind == "superseded":
                rec.superseded_by = d["by"]
    rec.history.append(ev.line)
    rec.last_line = ev.line


def _mover(src: Record, d: Mapping[str, Any]) -> Record:
    """The record a `renumbered` event moves: the one issued under its title, else in its file.

    Among `src` and its duplicates; `src` itself when neither key tells them apart.
    """
    candidates = [src, *src.duplicates]
    for key in ("title", "file"):
        want = _loose(d.get(key))
        narrowed = [r for r in candidates if want and _loose(getattr(r, key)) == want]
        if narrowed:
            candidates = narrowed
    return candidates[0]


def _loose(text: Any) -> str:
    return " ".join(text.casefold().split()) if isinstance(text, str) else ""


def live(records: Mapping[str, Record]) -> list[Record]:
    """The registry as the records describe it: IDs not renumbered away, in ID order."""
    return sorted((r for r in records.values() if not r.renumbered_to), key=lambda r: id_key(r.id))


def id_key(ident: str) -> tuple[str, str, int, str]:
    parts = split_id(ident)
    return (parts[0], parts[1], parts[2], ident) if parts else (ident, "", 0, ident)


def known_ids(ledger: Ledger) -> set[str]:
    """Every ID any event names: issued, renumbered from or to, changed."""
    out: set[str] = set()
    for ev in ledger.events:
        out.add(ev.id)
        if ev.kind == "renumbered":
            out.update((ev.data["from"], ev.data["to"]))
    return out


def ledger_ids(project: Project) -> set[str]:
    """Every ID the project's ledger has ever seen (empty without a ledger).

    New numbers must avoid these: a number once issued is never handed out again.
    """
    ledger = load_ledger(project.config)
    if ledger is None:
        return set()
    if any(p.kind == "unreadable" for p in ledger.problems):  # no issued ID is known
        raise _broken(ledger)
    return known_ids(ledger)


def check_appendable(config: Config) -> None:
    """Refuse (SotbError) when events could not be appended to the ledger: damaged or not a file.

    Writers call this before they change any file, so a refusal leaves the project as it was.
    """
    if not config["ledger"]:
        return
    ledger = load_ledger(config)
    if ledger is not None and ledger.problems:
        raise _broken(ledger)


# ---------------------------------------------------------------------------
# Changes between the ledger and the files


@dataclass(frozen=True)
class Snapshot:
    id: str
    title: str
    status: str
    file: str  # relative to the SoT root
    deprecated: bool
    superseded: bool
    superseded_by: str


def snapshot(project: Project) -> dict[str, Snapshot]:
    """The IDs the SoT files define now (first definition wins), in ID order."""
    root = project.config.root_rel
    out: dict[str, Snapshot] = {}
    for doc in sorted(project.sot_documents(), key=lambda d: d.path):
        rel = doc.path if root == "." else posixpath.relpath(doc.path, root)
        for e in doc.entries:
            if e.id in out:
                continue
            by = ""
            for f in e.fields:
                if f.name.casefold() in SUPERSEDED_FIELDS:
                    ids = [r.target for r in e.refs if r.line == f.line and r.target and r.target != e.id]
                    by = ids[0] if ids else ""
            superseded = bool(by) or "supersed" in e.status.casefold()
            out[e.id] = Snapshot(e.id, e.title, e.status, rel, e.deprecated or superseded, superseded, by)
    return dict(sorted(out.items(), key=lambda kv: id_key(kv[0])))


def changes(records: Mapping[str, Record], now: Mapping[str, Snapshot], date: str) -> list[dict[str, Any]]:
    """Events that bring the ledger's records up to `now` (no hashes yet)."""
    out: list[dict[str, Any]] = []
    for ident, s in now.items():
        rec = records.get(ident)
        if rec is None or rec.renumbered_to:
            out.append({"event": "issued", "id": ident, "title": s.title, "file": s.file,
                        "status": s.status, "date": date})
            rec = Record(ident, s.title, s.status, s.file)
        if rec.title != s.title:
            out.append({"event": "title-changed", "id": ident, "from": rec.title, "to": s.title, "date": date})
        if rec.status != s.status:
            out.append({"event": "status-changed", "id": ident, "from": rec.status, "to": s.status,
                        "date": date})
        if rec.file != s.file:
            out.append({"event": "moved", "id": ident, "from": rec.file, "to": s.file, "date": date})
        if s.superseded and (not rec.deprecated or (s.superseded_by and s.superseded_by != rec.superseded_by)):
            out.append({"event": "superseded", "id": ident, "title": s.title, "by": s.superseded_by,
                        "date": date})
        elif s.deprecated and not rec.deprecated:
            out.append({"event": "deprecated", "id": ident, "title": s.title, "date": date})
    return out


def today() -> str:
    """Today's UTC date; SOURCE_DATE_EPOCH (seconds) pins it for reproducible runs."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC).date().isoformat()
    return datetime.now(UTC).date().isoformat()


# ---------------------------------------------------------------------------
# Writing


def _normalise(event: Mapping[str, Any], date: str) -> dict[str, Any]:
    data = dict(event)
    data.setdefault("date", date)
    if data.get("event") == "renumbered" and "id" not in data:
        data["id"] = data.get("from")
    data.pop("hash", None)
    data.pop("parents", None)
    kind = data.get("event")
    if kind not in EVENTS:
        raise SotbError(f"unknown ledger event {kind!r}; expected one of {', '.join(EVENTS)}")
    for key in ("id", "date", *EVENTS[kind]):
        if not isinstance(data.get(key), str) or (key == "id" and not data[key]):
            raise SotbError(f"ledger event {kind!r} needs a string '{key}'")
    return data


def event_line(data: Mapping[str, Any]) -> str:
    """One ledger line: the event's JSON with keys in KEY_ORDER, then any others sorted."""
    ordered = {k: data[k] for k in KEY_ORDER if k in data}
    ordered.update({k: v for k, v in sorted(data.items()) if k not in ordered})
    return json.dumps(ordered, ensure_ascii=False)


def chain(events: Iterable[Mapping[str, Any]], parents: list[str], date: str) -> list[dict[str, Any]]:
    """Give each event its parents and hash: the first follows `parents`, each next one its predecessor."""
    out: list[dict[str, Any]] = []
    for event in events:
        data = _normalise(event, date)
        data["parents"] = list(parents)
        data["hash"] = event_hash(data)
        parents = [data["hash"]]
        out.append(data)
    return out


def _broken(ledger: Ledger) -> SotbError:
    first = ledger.problems[0]
    if first.kind == "unreadable":
        return SotbError(first.message, str(ledger.path))
    return SotbError(f"the ledger is damaged ({first.message}); restore it from version control "
                     "and run `sotb ledger verify`", str(ledger.path), first.line)


def _append_locked(config: Config, events: Iterable[Mapping[str, Any]], date: str) -> list[dict[str, Any]]:
    path = ledger_path(config)
    if _leaves_project(config, path):
        raise SotbError(OUTSIDE.replace("not read", "not written"), str(path))
    try:
        old = _ledger_bytes(path)
    except FileNotFoundError:
        old = None
    except OSError as exc:
        raise SotbError(_unreadable(exc), str(path)) from None
    try:
        ledger = parse_ledger(old.decode("utf-8-sig"), path) if old else Ledger(path, ())
    except UnicodeDecodeError:
        raise SotbError("the ledger is not UTF-8", str(path)) from None
    if ledger.problems:
        raise _broken(ledger)
    written = chain(events, ledger.tips(), date)
    if not written:
        return []
    newline = b"\r\n" if old and b"\r\n" in old else b"\n"
    body = newline.join(event_line(d).encode("utf-8") for d in written) + newline
    prefix = old or b""
    if prefix and not prefix.endswith(b"\n"):
        prefix += newline
    atomic_write_bytes(path, prefix + body)  # earlier bytes are copied unchanged
    if old is None:
        ensure_union_merge(config)
    return written


def append_events(config: Config, events: Iterable[Mapping[str, Any]], date: str | None = None) -> list[dict[str, Any]]:
    """Append events to the ledger under the project lock; returns them with parents and hashes.

    Each event is a mapping with "event", "id" and that event's keys (see EVENTS);
    "date" defaults to today. A renumbered event may give just "from" and "to".
    Refuses (SotbError) when the ledger fails verification.
    """
    require_enabled(config)
    with project_lock(config.root):
        return _append_locked(config, list(events), date or today())


def update(config: Config, project: Project, date: str | None = None, write: bool = True) -> list[dict[str, Any]]:
    """Append the events that record new IDs and changes since the last update."""
    require_enabled(config)
    date = date or today()
    with project_lock(config.root):
        ledger = read_ledger(ledger_path(config))
        if ledger is not None and ledger.problems:
            raise _broken(ledger)
        records = replay(ledger.events) if ledger is not None else {}
        pending = changes(records, snapshot(project), date)
        if not write:
            return chain(pending, ledger.tips() if ledger else [], date)
        return _append_locked(config, pending, date)


def ensure_union_merge(config: Config) -> bool:
    """Add `<ledger> merge=union` to the SoT root's .gitattributes; True when the file changed."""
    pattern = str(config["ledger"]).replace(os.sep, "/")
    path = config.root / ".gitattributes"
    text, newline, bom = ("", "\n", False)
    if path.exists():
        text, newline, bom = read_text_keep(path)
    for line in text.split("\n"):
        words = line.split()
        if words and words[0] == pattern and "merge=union" in words[1:]:
            return False
    if text and not text.endswith("\n"):
        text += "\n"
    write_text_keep(path, text + f"{pattern} merge=union\n", newline, bom)
    return True

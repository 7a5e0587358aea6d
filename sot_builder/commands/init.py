"""`sotb init`: adopt an existing repository, or start an empty registry."""

from __future__ import annotations

from pathlib import Path

import click

from sot_builder import tomlwrite
from sot_builder.cli import set_exit
from sot_builder.config import CONFIG_FILE
from sot_builder.diagnostics import SotbError
from sot_builder.fsutil import atomic_write_text
from sot_builder.infer import find_root, infer_types, types_config
from sot_builder.output.text import plural
from sot_builder.render import render

GITATTRIBUTES_LINE = "{root}/SoT.LEDGER.jsonl merge=union"


@click.command()
@click.option("--new", "new", is_flag=True, help="Create an empty registry (README, UNIQUE_ID_SYSTEM, config).")
@click.option("--root", help="Folder of the SoT files (default: SoT/, or where SoT.*.md files are).")
@click.option("--force", is_flag=True, help="Overwrite an existing sotb.toml.")
@click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
def init(new: bool, root: str | None, force: bool, dry_run: bool, folder: Path | None) -> None:
    """Write sotb.toml for this repository, inferring the types from its files.

    Reads SoT.UNIQUE_ID_SYSTEM.md prefix tables, .claude/domain-profile.yaml,
    frontmatter `id_prefix` keys, SoT.README.md's file table and the entry
    headings found. Never asks questions: it prints what it inferred.
    """
    project_dir = (folder or Path.cwd()).resolve()
    config_path = project_dir / CONFIG_FILE
    if config_path.exists() and not force and not dry_run:
        raise SotbError("already exists; use --force to replace it", str(config_path))
    root = (root or ("SoT" if new else find_root(project_dir))).strip("/") or "."
    if new:
        _new_registry(project_dir, root, dry_run)
        text = _config_text(root, [], {})
    else:
        found, documents = infer_types(project_dir, root, [])
        types = types_config(found, root)
        text = _config_text(root, documents, types)
        _report(found, types, documents, root)
    if dry_run:
        click.echo(text, nl=False)
    else:
        atomic_write_text(config_path, text)
        _gitattributes(project_dir, root)
        _gitignore(project_dir)
        click.echo(f"wrote {config_path.name}")
    set_exit(0)


def _new_registry(project_dir: Path, root: str, dry_run: bool) -> None:
    folder = project_dir / root
    for name in ("SoT.README.md", "SoT.UNIQUE_ID_SYSTEM.md"):
        target = folder / name
        if target.exists():
            click.echo(f"kept existing {root}/{name}")
            continue
        if not dry_run:
            atomic_write_text(target, render(f"init/{name}.j2", project_dir))
        click.echo(f"{'would create' if dry_run else 'created'} {root}/{name}")


def _config_text(root: str, documents: list[str], types: dict[str, dict]) -> str:
    parts = [
        "# sotb configuration (https://github.com/sotb/sotb/blob/main/docs/configuration.md)\n",
        f"root = {tomlwrite.value(root)}\n",
    ]
    if documents:
        parts.append(f"documents = {tomlwrite.value(documents)}\n")
    for prefix, spec in types.items():
        parts.append("\n" + tomlwrite.table(f"types.{prefix}", spec))
    return "".join(parts)


def _report(found, types, documents, root) -> None:
    if not found:
        click.echo(f"no SoT entries or prefix tables found under {root}/; wrote an empty [types] "
                   "(`sotb new PREFIX` starts a SoT file, with the README and ID system files)", err=True)
    for prefix in sorted(found):
        inf = found[prefix]
        spec = types[prefix]
        bits = [f"file {inf.file or '?'}", plural(inf.entries, "entry", "entries")]
        if spec.get("table_rows") or inf.table_rows:
            bits.append("table rows")
        if "categories" in spec:
            bits.append(plural(len(spec["categories"]), "category", "categories") + " from the files")
        if "fields" in spec:
            bits.append("built-in fields relaxed to fit existing entries")
        source = inf.sources[0] if inf.sources else "entry headings"
        click.echo(f"{prefix}: " + ", ".join(bits) + f" (from {source})", err=True)
    for d in documents:
        click.echo(f"scanning document {d}", err=True)


def _gitattributes(project_dir: Path, root: str) -> None:
    """Let git merge the append-only ledger of two branches without conflicts."""
    path = project_dir / ".gitattributes"
    line = GITATTRIBUTES_LINE.format(root=root) if root != "." else "SoT.LEDGER.jsonl merge=union"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if line in text.splitlines():
        return
    if text and not text.endswith("\n"):
        text += "\n"
    atomic_write_text(path, text + line + "\n")


def _gitignore(project_dir: Path) -> None:
    """Keep the parse cache and the writers' lock file out of commits."""
    path = project_dir / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    have = set(text.splitlines())
    missing = [line for line in (".sotb_cache/", ".sotb.lock") if line not in have]
    if not missing:
        return
    if text and not text.endswith("\n"):
        text += "\n"
    atomic_write_text(path, text + "\n".join(missing) + "\n")

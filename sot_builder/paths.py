"""Where the shipped templates and schemas live (wheel or source checkout), fixed file names,
and file names that are not UTF-8 shown as text."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent

# The journal `sotb renumber` keeps in the SoT root while it runs; SOT112 reports one left behind.
RENUMBER_JOURNAL = ".sotb-renumber.journal"


def lies_in(path: Path | str, folder: Path | str) -> bool:
    """Does `path`, links followed, lie in `folder` (links followed too)? A link loop: False."""
    try:
        return Path(path).resolve().is_relative_to(Path(folder).resolve())
    except (OSError, RuntimeError):
        return False


def data_dir(name: str) -> Path:
    """Return the folder of shipped data `name` ("templates" or "schemas")."""
    packed = _HERE / f"_{name}"
    if packed.is_dir():
        return packed
    return _HERE.parent / name


def templates_dir() -> Path:
    return data_dir("templates")


def schemas_dir() -> Path:
    return data_dir("schemas")


def may_have_ledger(config) -> bool:
    """False when the project surely has no ledger: the setting is empty or the file is missing.

    The ledger rules ask this first: most projects keep no ledger, and the
    ledger module is costly to import for a lint that does not need it.
    """
    if not config["ledger"]:
        return False
    try:
        (config.root / config["ledger"]).stat()
    except FileNotFoundError:
        return False
    except OSError:  # load_ledger reports it
        pass
    return True


def printable(text: str) -> str:
    """`text` with the bytes of a file name that is not UTF-8 shown as `\\xNN` escapes.

    Such names are read as lone surrogates (`os.fsdecode`), which no UTF-8
    output can carry.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file name decodes to
        return text.encode("utf-8", "backslashreplace").decode("utf-8")

"""Safe writes: atomic replacement, kept file modes and line endings, a project lock."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sot_builder.diagnostics import SotbError

LOCK_NAME = ".sotb.lock"
_held = threading.local()  # folders whose project lock this thread holds


class WriteError(SotbError, OSError):
    """A file or lock sotb could not write: an error line for the command (exit 2),
    still an OSError for callers that carry on without the file (caches)."""


IDENTITY_FILE = "identity"


def folder_identity(folder: Path | str, make: bool = False) -> str | None:
    """The device, inode and change time of the empty `identity` file in `folder` (with
    `make`, made first where it is missing): set when this checkout's first run made it, so
    nobody can know it beforehand, and so it names the caches and markers a run may trust.
    None where there is none (or it is not a regular file), or it cannot be made."""
    import stat

    path = os.path.join(folder, IDENTITY_FILE)
    try:
        if make:
            os.makedirs(folder, exist_ok=True)
            try:  # empty, and never written: its change time stays that of its making
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), 0o644))
            except FileExistsError:
                pass
        info = os.lstat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return f"{info.st_dev}:{info.st_ino}:{info.st_ctime_ns}"


def open_regular(path: Path):
    """`path` opened for reading in binary; OSError unless it is a regular file (a pipe is
    opened without waiting for a writer, then refused)."""
    import stat

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so readers see the old or the new file, never a mix.

    The temp file lives in the same folder, is fsynced, takes the original
    file's mode, and replaces the target with os.replace. A failure (read-only
    folder, full disk, a link loop at `path`) raises WriteError; the target is
    left as it was.
    """
    try:
        _atomic_write(Path(path), data)
    except OSError as exc:  # named by the target, not by its temp file
        raise WriteError(f"cannot write file: {exc.strerror or exc}", str(path)) from None


def _atomic_write(path: Path, data: bytes) -> None:
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".sotb-tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def atomic_write_text(path: Path, text: str, newline: str = "\n", encoding: str = "utf-8") -> None:
    """Write text with "\\n" line ends converted to `newline` (the file's own style)."""
    if newline != "\n":
        text = text.replace("\r\n", "\n").replace("\n", newline)
    atomic_write_bytes(path, text.encode(encoding))


def read_text_keep(path: Path) -> tuple[str, str, bool]:
    """(text with \\n line ends, the file's newline, whether it had a UTF-8 BOM).

    Raises SotbError for a file sotb cannot parse as UTF-8 text (binary, NUL
    bytes, UTF-16, invalid UTF-8): such a file is never rewritten.
    """
    from sot_builder.parse import decode, newline_of

    data = Path(path).read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SotbError("UTF-16 text: sotb writes UTF-8 only, so it does not rewrite this file", str(path))
    _, problem = decode(data)
    if problem is not None:
        raise SotbError(f"{problem.message}; not rewritten", str(path), problem.line)
    bom = data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    if newline_of(text) == "\r":  # a classic Mac file: lone CRs, no LF
        return text.replace("\r", "\n"), "\r", bom
    newline = "\r\n" if "\r\n" in text else "\n"
    return text.replace("\r\n", "\n"), newline, bom


def write_text_keep(path: Path, text: str, newline: str = "\n", bom: bool = False) -> None:
    if newline != "\n":
        text = text.replace("\n", newline)
    data = text.encode("utf-8")
    atomic_write_bytes(path, (b"\xef\xbb\xbf" + data) if bom else data)


def clean_stale_temps(folder: Path) -> list[Path]:
    """Remove temp files left by a killed writer (they never replaced anything)."""
    removed = []
    for tmp in Path(folder).glob(".*.sotb-tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed.append(tmp)
    return removed


@contextlib.contextmanager
def project_lock(folder: Path, timeout: float = 60.0) -> Iterator[None]:
    """Serialise writers of one SoT root.

    An OS-level lock (fcntl.flock) on `folder/.sotb.lock`: the kernel drops it
    when the holder dies, so a killed writer never leaves a stale lock behind;
    the lock file itself may stay and is reused. A thread that holds the lock may
    take it again (a writer calling another): the inner one neither waits nor releases it.
    """
    folder = Path(folder)
    held = _held.__dict__.setdefault("folders", set())
    key = os.path.abspath(folder)
    if key in held:  # this thread holds it already (`add` records the new ID in the ledger)
        yield
        return
    path = folder / LOCK_NAME
    fd = _open_lock(folder, path)
    try:
        _acquire(fd, path, timeout)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass
        clean_stale_temps(folder)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
    finally:
        with contextlib.suppress(OSError):
            _release(fd)
        os.close(fd)


def _open_lock(folder: Path, path: Path) -> int:
    """The lock file's descriptor; a folder sotb cannot write to gives an error line."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WriteError(f"cannot lock {folder}: {exc.strerror or exc} (sotb needs to write "
                         f"{LOCK_NAME} there)") from None


def _acquire(fd: int, path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise SotbError("another sotb process holds the lock", str(path))
                time.sleep(0.05)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise SotbError(f"cannot lock: {exc}", str(path))
            if time.monotonic() > deadline:
                raise SotbError(f"another sotb process held the lock for {timeout:.0f} s", str(path))
            time.sleep(0.02)


def _release(fd: int) -> None:
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)
    except ImportError:
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

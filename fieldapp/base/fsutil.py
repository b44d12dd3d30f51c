"""Files on disk: owner-only permissions set before any data, atomic replaces.

A file is written to a temporary sibling created with mode 0600, flushed and
fsynced, renamed over the target, then the directory is fsynced: after a power
cut the target holds either the old bytes or the new ones, never a mix.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def secure_dir(path: Path) -> Path:
    """Create ``path`` (and parents) owner-only; tighten it if it already exists."""
    path = Path(path)
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode != DIR_MODE:
            os.chmod(path, DIR_MODE)
    return path


def create_private(path: Path) -> None:
    """Create an empty owner-only file if it does not exist (before anything writes to it)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    if os.name == "posix":
        os.chmod(path, FILE_MODE)


def fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably, mode 0600."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        if os.name == "posix":
            os.fchmod(fd, FILE_MODE)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def atomic_write_json(path: Path, obj) -> None:
    atomic_write(path, json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8"))


def read_json(path: Path):
    with open(path, "rb") as fh:
        return json.loads(fh.read().decode("utf-8"))


LOW_SPACE = 1024 * 1024


def free_bytes(path) -> int | None:
    """Free bytes for unprivileged writes on the filesystem of ``path`` (or its nearest existing parent)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        st = os.statvfs(path)
    except (OSError, AttributeError):  # Windows has no statvfs: shutil.disk_usage instead
        try:
            import shutil

            return shutil.disk_usage(path).free
        except OSError:
            return None
    return st.f_bavail * st.f_frsize


def is_disk_full(exc: BaseException, path=None) -> bool:
    """Whether ``exc`` means the disk is full: ENOSPC/EDQUOT, SQLite's "database or disk is full", or an I/O
    error while the filesystem of ``path`` has (almost) no space left (SQLite reports a failed WAL write so)."""
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return True
    text = f"{exc} {getattr(exc, 'detail', '')}".lower()  # a FieldappError's English detail (SpoolError)
    if "disk is full" in text or "no space" in text:
        return True
    if path is not None and ("i/o error" in text or "unusable" in text or "disk" in text):
        free = free_bytes(path)
        return free is not None and free < LOW_SPACE
    return False

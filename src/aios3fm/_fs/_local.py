"""The local twin of each FileManager method: synchronous, run in a worker thread by the
callers, with the semantics and builtin exceptions of the S3 side.

Where POSIX and S3 differ, the S3 behaviour is the contract and the local code follows
it: writing a file creates its parent directories (S3 has no directories to create
first), ``rename`` refuses an existing directory as destination, and byte ranges past
the end read as empty.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat as stat_module
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .._models import Entry, ObjectInfo

__all__ = [
    "create_directory",
    "create_file",
    "du",
    "glob",
    "info",
    "listdir",
    "read_bytes",
    "remove",
    "rename",
    "rmdir",
    "walk",
    "write_bytes",
]


def info(path: Path) -> ObjectInfo:
    st = path.stat()
    is_dir = stat_module.S_ISDIR(st.st_mode)
    return ObjectInfo("", str(path), 0 if is_dir else st.st_size, st.st_mtime, None, is_dir)


def listdir(path: Path) -> list[Entry]:
    entries = []
    with os.scandir(path) as it:
        for item in sorted(it, key=lambda e: e.name):
            st = item.stat()
            is_dir = stat_module.S_ISDIR(st.st_mode)
            size = 0 if is_dir else st.st_size
            entries.append(Entry(item.name, item.path, is_dir, size, st.st_mtime, None))
    return entries


def read_bytes(path: Path, start: int | None, end: int | None) -> bytes:
    with path.open("rb") as f:  # IsADirectoryError for a directory, as on S3
        size = os.fstat(f.fileno()).st_size
        first, last = slice(start, end).indices(size)[:2]
        if last <= first:
            return b""
        f.seek(first)
        return f.read(last - first)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    _atomic_write(path, data)


def create_file(path: Path, exist_ok: bool) -> None:
    if path.is_dir() or (path.exists() and not exist_ok):
        raise FileExistsError(errno.EEXIST, "file exists", str(path))
    if not path.exists():
        _atomic_write(path, b"")


def create_directory(path: Path, parents: bool, exist_ok: bool) -> None:
    path.mkdir(parents=parents, exist_ok=exist_ok)


def remove(path: Path) -> None:
    os.remove(path)  # IsADirectoryError for a directory, FileNotFoundError when missing


def rmdir(path: Path) -> None:
    os.rmdir(path)  # OSError(ENOTEMPTY) when not empty


def rename(source: Path, destination: Path) -> None:
    if not source.exists():
        raise FileNotFoundError(errno.ENOENT, "no such file or directory", str(source))
    if destination.is_dir():
        if source.is_dir():
            raise FileExistsError(errno.EEXIST, "destination directory exists", str(destination))
        raise IsADirectoryError(errno.EISDIR, "destination is a directory", str(destination))
    if source.is_dir() and destination.exists():
        raise NotADirectoryError(errno.ENOTDIR, "destination is a file", str(destination))
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(source, destination)


def walk(top: Path) -> list[tuple[str, list[str], list[str]]]:
    found = []
    for directory, dirnames, filenames in os.walk(top):
        dirnames.sort()
        found.append((directory, list(dirnames), sorted(filenames)))
    return found


def glob(base: Path, pattern: str) -> list[str]:
    """Matches of ``pattern`` under ``base``, directories ending in ``/``, sorted; a
    pattern ending in ``/`` matches directories only (as on S3, and on every Python)."""
    dirs_only = pattern.endswith(("/", os.sep))
    found = []
    for path in base.glob(pattern.rstrip("/" + os.sep) or "."):
        if path.is_dir():
            found.append(str(path) + "/")
        elif not dirs_only:
            found.append(str(path))
    return sorted(found)


def _files(top: Path) -> Iterator[Path]:
    for directory, _, filenames in os.walk(top):
        for name in filenames:
            yield Path(directory, name)


def du(path: Path) -> tuple[int, int]:
    if path.is_file():
        return path.stat().st_size, 1
    if not path.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such file or directory", str(path))
    sizes = [p.stat().st_size for p in _files(path)]
    return sum(sizes), len(sizes)

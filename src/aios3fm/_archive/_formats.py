"""Archive formats (zip and the tar family), synchronous, for worker threads: what a
member is, how one is written, and the safety check every member passes before anything
is extracted."""

from __future__ import annotations

import lzma
import os
import posixpath
import stat
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Protocol

from .._exceptions import CorruptArchiveError, UnsafeArchiveMember

__all__ = [
    "READ_ERRORS",
    "ArchiveMember",
    "Reader",
    "Writer",
    "check_members",
    "format_for",
    "open_reader",
    "open_writer",
]

FORMATS = {
    ".tar.gz": "tar.gz", ".tgz": "tar.gz", ".tar.bz2": "tar.bz2", ".tbz2": "tar.bz2",
    ".tar.xz": "tar.xz", ".txz": "tar.xz", ".tar": "tar", ".zip": "zip",
}  # fmt: skip
_TAR_MODES = {"tar": "", "tar.gz": "gz", "tar.bz2": "bz2", "tar.xz": "xz"}


def format_for(name: str, given: str | None = None) -> str:
    """The format named by ``given`` (``zip``, ``tar``, ``tar.gz``/``tgz``, ...) or by the
    suffix of ``name``; ValueError when neither says."""
    if given is not None:
        wanted = FORMATS.get("." + given.lstrip("."))
        if wanted is None:
            known = sorted(set(FORMATS.values()))
            raise ValueError(f"unknown archive format {given!r}; one of {known}")
        return wanted
    lowered = name.lower()
    for suffix, fmt in FORMATS.items():
        if lowered.endswith(suffix):
            return fmt
    raise ValueError(f"{name}: cannot tell the archive format from the name; pass format=")


@dataclass(frozen=True, slots=True)
class ArchiveMember:
    """One entry of an archive: ``name`` without a trailing ``/``, ``is_dir`` for folders."""

    name: str
    size: int
    mtime: float
    is_dir: bool


class Writer(Protocol):
    def add_dir(self, name: str, mtime: float) -> None: ...
    def add_stream(self, name: str, size: int, mtime: float, stream: IO[bytes]) -> None: ...
    def close(self) -> None: ...


class Reader(Protocol):
    def members(self) -> list[ArchiveMember]: ...
    def raw(self) -> Iterator[tuple[ArchiveMember, object]]: ...
    def open_member(self, handle: object) -> IO[bytes]: ...
    def close(self) -> None: ...


class _TarWriter:
    def __init__(self, file: IO[bytes], fmt: str) -> None:
        mode = "w:" + _TAR_MODES[fmt] if _TAR_MODES[fmt] else "w"
        # gzip's own default level (tarfile's 9 is several times slower for a few percent)
        options = {"compresslevel": 6} if fmt == "tar.gz" else {}
        # closed by close(), the Writer protocol's end (a with-block cannot span threads)
        self._tar = tarfile.open(  # type: ignore[call-overload]  # noqa: SIM115
            fileobj=file, mode=mode, format=tarfile.PAX_FORMAT, **options
        )

    def add_dir(self, name: str, mtime: float) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(mtime)
        self._tar.addfile(info)

    def add_stream(self, name: str, size: int, mtime: float, stream: IO[bytes]) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o644, int(mtime)
        self._tar.addfile(info, stream)

    def close(self) -> None:
        self._tar.close()


class _ZipWriter:
    def __init__(self, file: IO[bytes]) -> None:
        self._zip = zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)

    @staticmethod
    def _info(name: str, mtime: float) -> zipfile.ZipInfo:
        stamp = time.localtime(max(mtime, 315532800.0))[:6]  # zip dates start in 1980
        return zipfile.ZipInfo(name, date_time=stamp)

    def add_dir(self, name: str, mtime: float) -> None:
        info = self._info(name + "/", mtime)
        info.external_attr = (0o40755 << 16) | 0x10
        self._zip.writestr(info, b"")

    def add_stream(self, name: str, size: int, mtime: float, stream: IO[bytes]) -> None:
        info = self._info(name, mtime)
        info.external_attr = 0o100644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with self._zip.open(info, "w", force_zip64=size > 2**31) as out:
            while chunk := stream.read(1024 * 1024):
                out.write(chunk)

    def close(self) -> None:
        self._zip.close()


def open_writer(file: IO[bytes], fmt: str) -> Writer:
    return _ZipWriter(file) if fmt == "zip" else _TarWriter(file, fmt)


class _TarReader:
    def __init__(self, path: str, fmt: str) -> None:
        self._tar = tarfile.open(path, "r:" + (_TAR_MODES[fmt] or ""))  # type: ignore[call-overload]  # noqa: SIM115
        self._members = self._tar.getmembers()

    def raw(self) -> Iterator[tuple[ArchiveMember, object]]:
        for info in self._members:
            name = info.name.rstrip("/")
            yield ArchiveMember(name, info.size, float(info.mtime), info.isdir()), info

    def members(self) -> list[ArchiveMember]:
        return [member for member, _ in self.raw()]

    def open_member(self, handle: object) -> IO[bytes]:
        assert isinstance(handle, tarfile.TarInfo)
        stream: IO[bytes] | None = self._tar.extractfile(handle)
        assert stream is not None
        return stream

    def kind_problem(self, handle: object) -> str | None:
        info = handle
        assert isinstance(info, tarfile.TarInfo)
        if info.issym() or info.islnk():
            return "is a link"
        if info.ischr() or info.isblk() or info.isfifo() or info.isdev():
            return "is a device or fifo"
        if not (info.isfile() or info.isdir()):
            return "is not a regular file or directory"
        return None

    def close(self) -> None:
        self._tar.close()


class _ZipReader:
    def __init__(self, path: str) -> None:
        self._zip = zipfile.ZipFile(path)
        self._infos = self._zip.infolist()

    def raw(self) -> Iterator[tuple[ArchiveMember, object]]:
        for info in self._infos:
            mtime = time.mktime((*info.date_time, 0, 0, -1))
            name = info.filename.rstrip("/")
            yield ArchiveMember(name, info.file_size, mtime, info.is_dir()), info

    def members(self) -> list[ArchiveMember]:
        return [member for member, _ in self.raw()]

    def open_member(self, handle: object) -> IO[bytes]:
        assert isinstance(handle, zipfile.ZipInfo)
        return self._zip.open(handle)

    def kind_problem(self, handle: object) -> str | None:
        assert isinstance(handle, zipfile.ZipInfo)
        mode = handle.external_attr >> 16
        if stat.S_ISLNK(mode):
            return "is a link"
        # permission bits without a file type (zipfile.writestr writes 0o600) are a file
        if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            return "is a device or fifo"
        return None

    def close(self) -> None:
        self._zip.close()


def open_reader(path: str, fmt: str, label: str) -> _TarReader | _ZipReader:
    try:
        return _ZipReader(path) if fmt == "zip" else _TarReader(path, fmt)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise CorruptArchiveError(f"{label}: not a readable {fmt} archive ({exc})") from exc


def _name_problem(name: str) -> str | None:
    unified = name.replace("\\", "/")
    if not unified or unified.startswith("/") or (len(unified) > 1 and unified[1] == ":"):
        return "has an absolute name"
    parts = unified.split("/")
    if ".." in parts:
        return "climbs out with '..'"
    if posixpath.normpath(unified).startswith(".."):
        return "points outside"
    if any(ord(c) < 32 for c in unified):
        return "has a control character in its name"
    return None


def check_members(
    reader: _TarReader | _ZipReader,
    label: str,
    max_total_size: int | None,
    max_ratio: float | None = None,
    archive_size: int = 0,
) -> list[tuple[ArchiveMember, object]]:
    """Every member, after refusing the whole archive if any member is unsafe (absolute
    name, ``..``, link, device or fifo), if the sizes add up past ``max_total_size`` or
    past ``max_ratio`` times the archive's own size (a bomb), or if a name is both a file
    and the directory of another member (it cannot be extracted whole)."""
    members = list(reader.raw())
    total = 0
    files = {member.name for member, _ in members if not member.is_dir}
    for member, handle in members:
        problem = _name_problem(member.name) or reader.kind_problem(handle)
        if problem:
            raise UnsafeArchiveMember(
                f"{label}: member {member.name!r} {problem}; nothing extracted"
            )
        parent = posixpath.dirname(member.name)
        while parent:
            if parent in files:
                raise CorruptArchiveError(
                    f"{label}: {parent!r} is a file and also the directory of "
                    f"{member.name!r}; nothing extracted"
                )
            parent = posixpath.dirname(parent)
        total += member.size
    if max_total_size is not None and total > max_total_size:
        raise UnsafeArchiveMember(
            f"{label}: members add up to {total} bytes, over max_total_size={max_total_size}; "
            "nothing extracted"
        )
    if max_ratio is not None and total > max_ratio * max(archive_size, 1):
        raise UnsafeArchiveMember(
            f"{label}: members add up to {total} bytes, {total / max(archive_size, 1):.0f} "
            f"times the archive's {archive_size}, over max_ratio={max_ratio:g}; nothing "
            "extracted"
        )
    return members


READ_ERRORS = (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, lzma.LZMAError)
"""What reading a damaged member raises (a bad CRC, a truncated or garbled stream)."""


def safe_join(root: str, name: str) -> str:
    """``root/name``, refusing (again, belt and braces) anything that lands outside root."""
    target = os.path.realpath(os.path.join(root, *name.split("/")))
    base = os.path.realpath(root)
    if target != base and not target.startswith(base + os.sep):
        raise UnsafeArchiveMember(f"member {name!r} would be written outside {root}")
    return target

"""S3Path: a path object for S3 locations and local paths, from ``fm.path(...)``.

Pure methods (``name``, ``parent``, ``/``, ``with_suffix``, ...) are synchronous and never
touch the network; I/O methods are awaited and go through the FileManager (so through
its cache); ``iterdir``, ``glob`` and ``rglob`` are async iterators. Like pathlib, an
S3Path has no trailing ``/``: ``fm.path("s3://b/dir/")`` is ``s3://b/dir``, and the
directory methods (``iterdir``, ``mkdir``, ``rmdir``, ``is_dir``) treat it as ``dir/``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path, PurePath, PurePosixPath
from typing import Protocol

from .._location import S3Location, parse_location
from .._models import DiskUsage, Entry, ObjectInfo
from ._read import FileReader

__all__ = ["S3Path"]


class _Files(Protocol):
    """What an S3Path asks of its FileManager (which it does not import)."""

    async def stat(self, path: str) -> ObjectInfo: ...
    async def exists(self, path: str) -> bool: ...
    async def is_dir(self, path: str) -> bool: ...
    async def is_file(self, path: str) -> bool: ...
    async def read_bytes(
        self, path: str, *, start: int | None = ..., end: int | None = ...
    ) -> bytes: ...
    async def read_text(self, path: str, *, encoding: str = ..., errors: str = ...) -> str: ...
    def open(self, path: str) -> AbstractAsyncContextManager[FileReader]: ...
    async def write_bytes(self, path: str, data: bytes) -> None: ...
    async def write_text(self, path: str, text: str, *, encoding: str = ...) -> None: ...
    async def create_file(self, path: str, *, exist_ok: bool = ...) -> None: ...
    async def create_directory(
        self, path: str, *, parents: bool = ..., exist_ok: bool = ...
    ) -> None: ...
    async def remove(self, path: str) -> None: ...
    async def rmdir(self, path: str) -> None: ...
    async def rename(self, source: str, destination: str) -> str: ...
    async def du(self, path: str) -> DiskUsage: ...
    async def listdir(self, path: str) -> list[Entry]: ...
    def glob(self, pattern: str) -> AsyncIterator[str]: ...
    def rglob(self, path: str, pattern: str) -> AsyncIterator[str]: ...
    def walk(self, top: str) -> AsyncIterator[tuple[str, list[str], list[str]]]: ...


class S3Path:
    __slots__ = ("_fm", "_local", "_s3")

    def __init__(self, fm: _Files, location: str | os.PathLike[str] | S3Location) -> None:
        parsed = location if isinstance(location, S3Location) else parse_location(location)
        self._fm = fm
        self._local: PurePath | None = None
        self._s3: S3Location | None = None
        if isinstance(parsed, Path):
            self._local = parsed
        else:
            self._s3 = S3Location(parsed.bucket, parsed.key.rstrip("/"))

    # -- identity -------------------------------------------------------------------------

    def __str__(self) -> str:
        if self._local is not None:
            return str(self._local)
        assert self._s3 is not None
        return str(self._s3)

    def __repr__(self) -> str:
        return f"S3Path({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, S3Path) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(("S3Path", str(self)))

    @property
    def is_s3(self) -> bool:
        return self._s3 is not None

    @property
    def bucket(self) -> str:
        """The bucket (``""`` for ``s3://`` and for local paths)."""
        return self._s3.bucket if self._s3 is not None else ""

    @property
    def key(self) -> str:
        """The key without a trailing ``/`` (for local paths, the path)."""
        return self._s3.key if self._s3 is not None else str(self._local)

    def _new(self, location: str | os.PathLike[str] | S3Location) -> S3Path:
        return S3Path(self._fm, location)

    def _key_path(self) -> PurePosixPath:
        return PurePosixPath(self.key) if self.key else PurePosixPath()

    # -- pure methods ---------------------------------------------------------------------

    @property
    def name(self) -> str:
        if self._local is not None:
            return self._local.name
        return self.key.rsplit("/", 1)[-1] if self.key else self.bucket

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix

    @property
    def suffixes(self) -> list[str]:
        return PurePosixPath(self.name).suffixes

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem

    @property
    def parent(self) -> S3Path:
        """The directory holding this path; ``s3://b/`` for a top-level key, ``s3://``
        for a bucket, and ``s3://`` for itself (as pathlib's root)."""
        if self._local is not None:
            return self._new(self._local.parent)
        if not self.key:
            return self._new(S3Location("", ""))
        cut = self.key.rfind("/")
        return self._new(S3Location(self.bucket, self.key[:cut] if cut >= 0 else ""))

    @property
    def parents(self) -> tuple[S3Path, ...]:
        found: list[S3Path] = []
        current = self
        while (parent := current.parent) != current:
            found.append(parent)
            current = parent
        return tuple(found)

    def joinpath(self, *parts: str) -> S3Path:
        if self._local is not None:
            return self._new(self._local.joinpath(*parts))
        if not self.bucket:
            head, *rest = "/".join(parts).split("/", 1) or [""]
            return self._new(S3Location(head, rest[0] if rest else ""))
        joined = "/".join(p.strip("/") for p in parts if p.strip("/"))
        key = f"{self.key}/{joined}" if self.key else joined
        return self._new(S3Location(self.bucket, key))

    def __truediv__(self, part: str) -> S3Path:
        return self.joinpath(part)

    def with_name(self, name: str) -> S3Path:
        if not self.name or (self._s3 is not None and not self.key):
            raise ValueError(f"{self} has an empty name")
        if not name or "/" in name:
            raise ValueError(f"invalid name {name!r}")
        return self.parent.joinpath(name)

    def with_suffix(self, suffix: str) -> S3Path:
        if suffix and not suffix.startswith("."):
            raise ValueError(f"invalid suffix {suffix!r}")
        return self.with_name(self.stem + suffix)

    def relative_to(self, other: S3Path | str) -> PurePosixPath:
        base = other if isinstance(other, S3Path) else self._new(other)
        if self._local is not None and base._local is not None:
            return PurePosixPath(self._local.relative_to(base._local))
        if self.bucket != base.bucket or (self._local is None) != (base._local is None):
            raise ValueError(f"{self} is not under {base}")
        return self._key_path().relative_to(base._key_path())

    def as_uri(self) -> str:
        if self._local is not None:
            return Path(self._local).absolute().as_uri()
        return str(self)

    def _dir(self) -> str:
        text = str(self)
        return text if text.endswith("/") else text + "/"

    # -- I/O, through the FileManager ------------------------------------------------------

    async def stat(self) -> ObjectInfo:
        return await self._fm.stat(str(self))

    async def exists(self) -> bool:
        return await self._fm.exists(str(self))

    async def is_dir(self) -> bool:
        return await self._fm.is_dir(str(self))

    async def is_file(self) -> bool:
        return await self._fm.is_file(str(self))

    async def read_bytes(self, *, start: int | None = None, end: int | None = None) -> bytes:
        return await self._fm.read_bytes(str(self), start=start, end=end)

    async def read_text(self, *, encoding: str = "utf-8", errors: str = "strict") -> str:
        return await self._fm.read_text(str(self), encoding=encoding, errors=errors)

    def open(self) -> AbstractAsyncContextManager[FileReader]:
        return self._fm.open(str(self))

    async def write_bytes(self, data: bytes) -> None:
        await self._fm.write_bytes(str(self), data)

    async def write_text(self, text: str, *, encoding: str = "utf-8") -> None:
        await self._fm.write_text(str(self), text, encoding=encoding)

    async def touch(self, *, exist_ok: bool = True) -> None:
        await self._fm.create_file(str(self), exist_ok=exist_ok)

    async def mkdir(self, *, parents: bool = False, exist_ok: bool = False) -> None:
        await self._fm.create_directory(self._dir(), parents=parents, exist_ok=exist_ok)

    async def unlink(self) -> None:
        await self._fm.remove(str(self))

    async def rmdir(self) -> None:
        await self._fm.rmdir(self._dir())

    async def rename(self, target: S3Path | str) -> S3Path:
        return self._new(await self._fm.rename(str(self), str(target)))

    async def du(self) -> DiskUsage:
        return await self._fm.du(str(self))

    async def iterdir(self) -> AsyncIterator[S3Path]:
        for entry in await self._fm.listdir(self._dir() if self._s3 is not None else str(self)):
            yield self._new(entry.location)

    async def glob(self, pattern: str) -> AsyncIterator[S3Path]:
        base = self._dir() if self._s3 is not None else str(self).rstrip(os.sep) + os.sep
        async for match in self._fm.glob(base + pattern):
            yield self._new(match)

    async def rglob(self, pattern: str) -> AsyncIterator[S3Path]:
        async for match in self._fm.rglob(str(self), pattern):
            yield self._new(match)

    async def walk(self) -> AsyncIterator[tuple[S3Path, list[str], list[str]]]:
        async for directory, dirnames, filenames in self._fm.walk(str(self)):
            yield self._new(directory), dirnames, filenames

"""The read side of FileManager: listdir, iterdir, stat, exists, is_dir, is_file,
read_bytes, read_text, open, walk, glob, rglob and du.

Every method takes an ``s3://`` location or a local path with the same semantics and the
same exceptions. S3 goes through the cache; local I/O runs in a worker thread (anyio),
never on the event loop.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Protocol

import anyio
import anyio.to_thread

from .._cache import S3Cache, dir_form
from .._exceptions import (
    InvalidRangeError,
    NotFoundError,
    is_a_directory,
    not_a_directory,
    not_found,
)
from .._location import S3Location, parse_location
from .._models import DiskUsage, Entry, ObjectInfo
from .._ops import Glob
from .._s3 import S3Client
from . import _local

__all__ = ["FileReader", "PathLike", "ReadMethods"]

PathLike = str | os.PathLike[str]
_CHUNK = 256 * 1024


class FileReader(Protocol):
    """What ``open()`` yields, for S3 and local files alike."""

    async def read(self, n: int = -1) -> bytes: ...

    def __aiter__(self) -> AsyncIterator[bytes]: ...


class _LocalReader:
    def __init__(self, file: anyio.AsyncFile[bytes]) -> None:
        self._file = file

    async def read(self, n: int = -1) -> bytes:
        return await self._file.read(n)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self._file.read(_CHUNK):
            yield chunk


def _check_range(start: int | None, end: int | None) -> None:
    if (start is not None and start < 0 and end is not None) or (end is not None and end < 0):
        raise ValueError("a range is [start:end] with end >= 0, or [-n:] for the last n bytes")


class ReadMethods:
    """Mixed into FileManager; needs ``self.cache`` and ``self._client``."""

    cache: S3Cache
    _client: S3Client

    # -- directories ----------------------------------------------------------------------

    async def listdir(self, path: PathLike) -> list[Entry]:
        """The children of a directory, files and sub-directories (names without ``/``),
        in name order. ``s3://`` lists the buckets. One ListObjectsV2 per 1000 children
        on a miss; none while the listing is cached."""
        location = parse_location(path)
        if isinstance(location, Path):
            return await anyio.to_thread.run_sync(_local.listdir, location)
        if not location.bucket:
            buckets = await self.cache.list_buckets()
            return [Entry(b.name, f"s3://{b.name}/", True, 0, b.created, None) for b in buckets]
        listing = await self.cache.list_dir(location.bucket, location.key)
        if not listing.exists:
            key = location.key.rstrip("/")
            if key and await self.cache.file(location.bucket, key) is not None:
                raise not_a_directory(location, "listdir")
            raise not_found(location, "listdir", "directory")
        bucket = location.bucket
        entries = [Entry.from_info(info) for info in listing.files]
        entries.extend(
            Entry(d.rstrip("/").rsplit("/", 1)[-1], f"s3://{bucket}/{d}", True, 0, None, None)
            for d in listing.dirs
        )
        return sorted(entries, key=lambda e: e.name)

    async def iterdir(self, path: PathLike) -> AsyncIterator[Entry]:
        """Like :meth:`listdir`, as an async iterator."""
        for entry in await self.listdir(path):
            yield entry

    # -- facts ----------------------------------------------------------------------------

    async def stat(self, path: PathLike) -> ObjectInfo:
        """The file, else the directory, at ``path``; NotFoundError when neither exists.
        A child of a cached listing costs no API call."""
        location = parse_location(path)
        if isinstance(location, Path):
            return await anyio.to_thread.run_sync(_local.info, location)
        if not location.bucket:
            return ObjectInfo("", "s3://", 0, None, None, True)
        return await self.cache.stat(location.bucket, location.key)

    async def exists(self, path: PathLike) -> bool:
        location = parse_location(path)
        if isinstance(location, Path):
            return await anyio.Path(location).exists()
        if not location.bucket:
            return True
        try:
            return await self.cache.lookup(location.bucket, location.key) is not None
        except NotFoundError:  # the bucket itself is missing
            return False

    async def is_dir(self, path: PathLike) -> bool:
        """True for a directory (a common prefix or a marker). Never a HEAD."""
        location = parse_location(path)
        if isinstance(location, Path):
            return await anyio.Path(location).is_dir()
        if not location.bucket:
            return True
        try:
            return await self.cache.directory(location.bucket, location.key) is not None
        except NotFoundError:
            return False

    async def is_file(self, path: PathLike) -> bool:
        location = parse_location(path)
        if isinstance(location, Path):
            return await anyio.Path(location).is_file()
        if not location.bucket or not location.key or location.key.endswith("/"):
            return False
        return await self.cache.file(location.bucket, location.key) is not None

    # -- contents -------------------------------------------------------------------------

    async def read_bytes(
        self, path: PathLike, *, start: int | None = None, end: int | None = None
    ) -> bytes:
        """The file's bytes, or the slice ``[start:end]`` of them (``start < 0`` reads the
        last ``-start`` bytes; a slice past the end is empty, as in Python)."""
        _check_range(start, end)
        location = parse_location(path)
        if isinstance(location, Path):
            return await anyio.to_thread.run_sync(_local.read_bytes, location, start, end)
        async with self.open(location, start=start, end=end) as reader:
            return await reader.read()

    async def read_text(
        self, path: PathLike, *, encoding: str = "utf-8", errors: str = "strict"
    ) -> str:
        return (await self.read_bytes(path)).decode(encoding, errors)

    @asynccontextmanager
    async def open(
        self, path: PathLike | S3Location, *, start: int | None = None, end: int | None = None
    ) -> AsyncIterator[FileReader]:
        """Stream a file: ``async with fm.open(p) as f: await f.read(n)`` or
        ``async for chunk in f``. S3 holds one request slot until the block exits."""
        _check_range(start, end)
        location = path if isinstance(path, S3Location) else parse_location(path)
        async with AsyncExitStack() as stack:
            if isinstance(location, Path):
                file = await anyio.open_file(location, "rb")
                stack.push_async_callback(file.aclose)
                if start and start < 0:  # the last -start bytes, or all of a shorter file
                    size = await file.seek(0, os.SEEK_END)
                    await file.seek(max(0, size + start))
                elif start:
                    await file.seek(start)
                yield _LocalReader(file) if end is None else _Slice(file, (end - (start or 0)))
                return
            reader = await self._open_s3(stack, location, start, end)
            yield reader

    async def _open_s3(
        self, stack: AsyncExitStack, location: S3Location, start: int | None, end: int | None
    ) -> FileReader:
        if not location.bucket or not location.key or location.key.endswith("/"):
            raise is_a_directory(location, "read")
        try:
            return await stack.enter_async_context(
                self._client.get(location.bucket, location.key, start=start, end=end)
            )
        except InvalidRangeError:
            return _Empty()  # a slice past the end is empty, as for local files
        except NotFoundError:
            if await self.cache.directory(location.bucket, location.key) is not None:
                raise is_a_directory(location, "read") from None
            raise

    # -- trees ----------------------------------------------------------------------------

    async def walk(self, top: PathLike) -> AsyncIterator[tuple[str, list[str], list[str]]]:
        """``(dirpath, dirnames, filenames)`` top-down, as ``os.walk`` (prune by editing
        ``dirnames``). S3 makes one recursive listing, ⌈objects/1000⌉ calls, which also
        fills the cache with a complete listing of every directory below ``top``; no call
        at all when every directory below ``top`` is cached already (so for ``du`` too)."""
        location = parse_location(top)
        if isinstance(location, Path):
            for item in await anyio.to_thread.run_sync(_local.walk, location):
                yield item
            return
        tree = await self.cache.tree(location.bucket, location.key)
        if not tree.exists:
            return
        stack = [tree.top]
        while stack:
            directory = stack.pop()
            subdirs = {d.rstrip("/").rsplit("/", 1)[-1]: d for d in tree.subdirs.get(directory, ())}
            dirnames = sorted(subdirs)
            filenames = sorted(f.name for f in tree.files.get(directory, ()))
            yield f"s3://{location.bucket}/{directory}", dirnames, filenames
            stack.extend(subdirs[name] for name in reversed(dirnames) if name in subdirs)

    async def du(self, path: PathLike) -> DiskUsage:
        """Bytes and number of files at or under ``path`` (directory markers not counted)."""
        location = parse_location(path)
        if isinstance(location, Path):
            size, files = await anyio.to_thread.run_sync(_local.du, location)
            return DiskUsage(size, files)
        key = location.key
        if key and not key.endswith("/"):
            info = await self.cache.file(location.bucket, key)
            if info is not None:
                return DiskUsage(info.size, 1)
        tree = await self.cache.tree(location.bucket, dir_form(key))
        if not tree.exists:
            raise not_found(location, "du")
        infos = [info for files in tree.files.values() for info in files]
        return DiskUsage(sum(i.size for i in infos), len(infos))

    async def glob(self, pattern: PathLike) -> AsyncIterator[str]:
        """Locations matching ``pattern`` (``*``, ``?``, ``[...]`` within a name, ``**``
        across directories); directories end in ``/``. On S3 the listing is narrowed
        server-side by the pattern's literal prefix, then matched name by name."""
        location = parse_location(pattern)
        if isinstance(location, Path):
            text = os.fspath(pattern)  # as typed: Path() would drop a trailing "/"
            base = Glob(text).base
            matches = await anyio.to_thread.run_sync(
                _local.glob, Path(base or "."), text[len(base) :]
            )
            for match in matches:
                yield match
            return
        async for match in self._glob_s3(location):
            yield match

    async def rglob(self, path: PathLike, pattern: str) -> AsyncIterator[str]:
        """:meth:`glob` of ``pattern`` in ``path`` and every directory below it."""
        base = str(path)
        base = base if base.endswith(("/", os.sep)) else base + "/"
        async for match in self.glob(base + "**/" + pattern):
            yield match

    async def _glob_s3(self, location: S3Location) -> AsyncIterator[str]:
        bucket, key = location.bucket, location.key
        glob = Glob(key)
        if not glob.is_pattern:  # no wildcard: the path itself, if it exists
            info = await self.cache.lookup(bucket, key)
            if info is not None:
                yield f"s3://{bucket}/{dir_form(key) if info.is_dir else key}"
            return
        seen_dirs: set[str] = set()
        async for page in self._client.list_tree(bucket, glob.literal):
            for info in page:
                for matched, is_dir in glob.matches(info.key):
                    if is_dir:
                        if matched in seen_dirs:
                            continue
                        seen_dirs.add(matched)
                    yield f"s3://{bucket}/{matched}"


class _Empty:
    async def read(self, n: int = -1) -> bytes:
        return b""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        nothing: tuple[bytes, ...] = ()
        for chunk in nothing:
            yield chunk


class _Slice(_LocalReader):
    """A local reader that stops after ``remaining`` bytes (the ``end`` of a range)."""

    def __init__(self, file: anyio.AsyncFile[bytes], remaining: int) -> None:
        super().__init__(file)
        self._remaining = max(0, remaining)

    async def read(self, n: int = -1) -> bytes:
        size = self._remaining if n < 0 else min(n, self._remaining)
        if size <= 0:
            return b""
        data = await super().read(size)
        self._remaining -= len(data)
        return data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self.read(_CHUNK):
            yield chunk

"""The read side of FileManager: listdir, iterdir, stat, exists, is_dir, is_file.

S3 locations go through the cache; local paths through anyio.Path (a worker thread), so
neither blocks the event loop.
"""

from __future__ import annotations

import os
import stat as stat_module
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

from ._cache import S3Cache
from ._exceptions import NotADirectoryS3Error, NotFoundError
from ._location import S3Location, parse_location
from ._models import Entry, ObjectInfo

__all__ = ["ReadMethods"]

PathLike = str | os.PathLike[str]


def _local_info(path: Path, st: os.stat_result) -> ObjectInfo:
    is_dir = stat_module.S_ISDIR(st.st_mode)
    return ObjectInfo("", str(path), 0 if is_dir else st.st_size, st.st_mtime, None, is_dir)


def _bucket_entry(name: str, created: float | None) -> Entry:
    return Entry(name, f"s3://{name}/", True, 0, created, None)


class ReadMethods:
    """Mixed into FileManager; needs ``self.cache``."""

    cache: S3Cache

    async def listdir(self, path: PathLike) -> list[Entry]:
        """The children of a directory, files and sub-directories (names without ``/``),
        in S3's order. ``s3://`` lists the buckets. One ListObjectsV2 per 1000 children
        on a miss; none while the listing is cached."""
        location = parse_location(path)
        if isinstance(location, Path):
            return await _local_listdir(location)
        if not location.bucket:
            return [_bucket_entry(b.name, b.created) for b in await self.cache.list_buckets()]
        listing = await self.cache.list_dir(location.bucket, location.key)
        if not listing.exists:
            await self._raise_not_a_directory(location)
        entries = [Entry.from_info(info) for info in listing.files]
        entries.extend(
            Entry(
                d.rstrip("/").rsplit("/", 1)[-1], f"s3://{location.bucket}/{d}", True, 0, None, None
            )
            for d in listing.dirs
        )
        return entries

    async def iterdir(self, path: PathLike) -> AsyncIterator[Entry]:
        """Like :meth:`listdir`, as an async iterator."""
        for entry in await self.listdir(path):
            yield entry

    async def _raise_not_a_directory(self, location: S3Location) -> None:
        key = location.key.rstrip("/")
        if key and await self.cache.file(location.bucket, key) is not None:
            raise NotADirectoryS3Error(
                f"{location}: not a directory", code="NotADirectory", operation="listdir",
                location=str(location),
            )  # fmt: skip
        raise NotFoundError(f"{location}: no such directory", code="NotFound",
                            operation="listdir", location=str(location))  # fmt: skip

    async def stat(self, path: PathLike) -> ObjectInfo:
        """The file, else the directory, at ``path``; NotFoundError when neither exists.
        A child of a cached listing costs no API call."""
        location = parse_location(path)
        if isinstance(location, Path):
            return _local_info(location, await anyio.Path(location).stat())
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


async def _local_listdir(path: Path) -> list[Entry]:
    def scan() -> list[Entry]:
        entries = []
        with os.scandir(path) as it:
            for item in sorted(it, key=lambda e: e.name):
                st = item.stat()
                is_dir = stat_module.S_ISDIR(st.st_mode)
                entries.append(Entry(item.name, item.path, is_dir, 0 if is_dir else st.st_size,
                                     st.st_mtime, None))  # fmt: skip
        return entries

    return await anyio.to_thread.run_sync(scan)

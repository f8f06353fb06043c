"""The write side of FileManager: write_bytes, write_text, create_file, create_directory,
remove, rmdir and rename, for S3 locations and local paths alike.

Read-your-writes: every S3 write emits a change event and waits until the invalidator has
applied it before it returns (also when it fails, since a failed request may still have
been applied), so the next listdir of the parent shows it and ancestors gain or lose their
prefixes. An invalidation error is logged and never fails the write.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import anyio.to_thread

from .._cache import BatchedInvalidator, S3Cache, dir_form, parent_dir
from .._events import ChangeEvent
from .._exceptions import (
    DirectoryNotEmptyError,
    InvalidLocationError,
    PreconditionFailedError,
    already_exists,
    is_a_directory,
    not_a_directory,
    not_found,
)
from .._location import S3Location, parse_location
from .._models import ObjectInfo
from .._ops import OperationScheduler, Source
from .._s3 import S3Client
from .._tasks import task_group
from . import _local
from ._read import PathLike

__all__ = ["WriteMethods"]

Lookup = Callable[[str, str], Awaitable[ObjectInfo | None]]


def _in_bucket(location: S3Location, operation: str) -> S3Location:
    if not location.bucket or not location.key:
        raise InvalidLocationError(
            f"{location}: {operation} needs a key inside a bucket "
            "(use make_bucket/remove_bucket for buckets)"
        )
    return location


class WriteMethods:
    """Mixed into FileManager; needs its cache, invalidator, scheduler and client."""

    cache: S3Cache
    invalidator: BatchedInvalidator
    scheduler: OperationScheduler
    _client: S3Client

    async def _changed(
        self,
        bucket: str,
        *,
        written: tuple[str, ...] = (),
        deleted: tuple[str, ...] = (),
        prefixes: tuple[str, ...] = (),
    ) -> None:
        """Emit what changed and wait until it is applied; shielded, so that a cancelled
        write still leaves no stale listing behind."""
        self.invalidator.emit(ChangeEvent(bucket, written, deleted, prefixes))
        with anyio.CancelScope(shield=True):
            await self.invalidator.flush()

    async def write_bytes(self, path: PathLike, data: bytes | bytearray | memoryview) -> None:
        """Write a file whole (multipart above ``multipart_threshold``); parent
        directories come into being as needed, as on S3. IsADirectoryError when a
        directory is there."""
        location = parse_location(path)
        if isinstance(location, Path):
            await anyio.to_thread.run_sync(_local.write_bytes, location, bytes(data))
            return
        location = _in_bucket(location, "write")
        bucket, key = location.bucket, location.key
        if key.endswith("/"):
            raise is_a_directory(location, "write")
        await self._check_writable(location, "write")
        try:
            await self._client.put(bucket, key, data)
        finally:
            await self._changed(bucket, written=(key,))

    async def _check_writable(self, location: S3Location, operation: str) -> None:
        """IsADirectoryError when ``key/`` holds objects, NotADirectoryError when the
        parent is a file, as a local file system would say; both looked up at once (and
        free when the parent's listing is cached)."""
        bucket, key = location.bucket, location.key
        parent = key.rpartition("/")[0]
        found: dict[str, object] = {}

        async def look(name: str, lookup: Lookup, name_key: str) -> None:
            found[name] = await lookup(bucket, name_key)

        async with task_group() as tg:
            tg.start_soon(look, "directory", self.cache.directory, key)
            if parent:
                tg.start_soon(look, "parent", self.cache.file, parent)
        if found["directory"] is not None:
            raise is_a_directory(location, operation)
        if found.get("parent") is not None:
            raise not_a_directory(S3Location(bucket, parent), operation)

    async def write_text(
        self, path: PathLike, text: str, *, encoding: str = "utf-8", errors: str = "strict"
    ) -> None:
        await self.write_bytes(path, text.encode(encoding, errors))

    async def create_file(self, path: PathLike, *, exist_ok: bool = False) -> None:
        """Create an empty file. FileExistsError when a directory is there, or a file and
        not ``exist_ok`` (an existing file is left as it is). On S3 the write happens only
        if no object has the key (``If-None-Match: *``, decided by S3), so a file written
        meanwhile, by anyone, is never replaced."""
        location = parse_location(path)
        if isinstance(location, Path):
            await anyio.to_thread.run_sync(_local.create_file, location, exist_ok)
            return
        location = _in_bucket(location, "create_file")
        bucket, key = location.bucket, location.key
        if key.endswith("/"):
            raise is_a_directory(location, "create_file")
        existing = await self.cache.lookup(bucket, key, fresh=True)
        if existing is not None:
            if existing.is_dir or not exist_ok:
                raise already_exists(location, "create_file")
            return
        try:
            await self._client.put(bucket, key, b"", if_none_match=True)
        except PreconditionFailedError as exc:  # written by another since the lookup
            if not exist_ok:
                raise already_exists(location, "create_file") from exc
        finally:
            await self._changed(bucket, written=(key,))

    async def create_directory(
        self, path: PathLike, *, parents: bool = False, exist_ok: bool = False
    ) -> None:
        """Create a directory (on S3 a zero-byte marker ``dir/``; ``new`` and ``new/``
        alike). Without ``parents`` the parent must exist (FileNotFoundError); with it,
        each missing ancestor gets a marker too. FileExistsError when a file or (unless
        ``exist_ok``) a directory is there."""
        location = parse_location(path)
        if isinstance(location, Path):
            await anyio.to_thread.run_sync(_local.create_directory, location, parents, exist_ok)
            return
        location = _in_bucket(location, "create_directory")
        bucket, prefix = location.bucket, dir_form(location.key)
        if await self.cache.file(bucket, prefix[:-1], fresh=True) is not None:
            raise already_exists(location, "create_directory", "a file exists there")
        if await self.cache.directory(bucket, prefix, fresh=True) is not None:
            if exist_ok:
                return
            raise already_exists(location, "create_directory", "directory exists")
        missing = [prefix]
        parent = parent_dir(prefix)
        while parent and await self.cache.directory(bucket, parent) is None:
            if await self.cache.file(bucket, parent[:-1]) is not None:
                raise not_a_directory(S3Location(bucket, parent[:-1]), "create_directory")
            if not parents:
                raise not_found(S3Location(bucket, parent), "create_directory", "parent directory")
            missing.append(parent)
            parent = parent_dir(parent)
        if not parent:
            await self.cache.directory(bucket, "")  # BucketNotFoundError for a missing bucket
        taken: set[str] = set()

        async def mark(marker: str) -> None:
            """A marker only where none is: an object there (it may hold bytes) stays."""
            try:
                await self._client.put(bucket, marker, b"", if_none_match=True)
            except PreconditionFailedError:
                taken.add(marker)

        try:
            async with task_group() as tg:
                for marker in missing:
                    tg.start_soon(mark, marker)
        finally:
            await self._changed(bucket, written=tuple(missing))
        if prefix in taken and not exist_ok:  # made by another since the lookup
            raise already_exists(location, "create_directory", "directory exists")

    async def remove(self, path: PathLike) -> None:
        """Delete one file. IsADirectoryError for a directory, FileNotFoundError when
        there is nothing (S3 itself would answer a silent success)."""
        location = parse_location(path)
        if isinstance(location, Path):
            await anyio.to_thread.run_sync(_local.remove, location)
            return
        location = _in_bucket(location, "remove")
        bucket, key = location.bucket, location.key
        if key.endswith("/") or await self.cache.file(bucket, key) is None:
            if await self.cache.directory(bucket, key) is not None:
                raise is_a_directory(location, "remove")
            raise not_found(location, "remove", "file")
        try:
            await self._client.delete(bucket, key)
        finally:
            await self._changed(bucket, deleted=(key,))

    async def rmdir(self, path: PathLike) -> None:
        """Delete an empty directory: on S3 one whose only content is its own marker.
        DirectoryNotEmptyError (an OSError, ENOTEMPTY) otherwise."""
        location = parse_location(path)
        if isinstance(location, Path):
            await anyio.to_thread.run_sync(_local.rmdir, location)
            return
        location = _in_bucket(location, "rmdir")
        bucket, prefix = location.bucket, dir_form(location.key)
        listing = await self.cache.list_dir(bucket, prefix)
        if not listing.exists:
            if await self.cache.file(bucket, prefix[:-1]) is not None:
                raise not_a_directory(location, "rmdir")
            raise not_found(location, "rmdir", "directory")
        if listing.files or listing.dirs:
            raise DirectoryNotEmptyError(f"{location}: directory not empty", code="NotEmpty",
                                         operation="rmdir", location=str(location))  # fmt: skip
        try:
            await self._client.delete(bucket, prefix)
        finally:
            await self._changed(bucket, deleted=(prefix,))

    async def rename(self, source: PathLike, destination: PathLike) -> str:
        """Move a file or a whole directory to ``destination`` (its new name, not a
        directory to move into) and return the new location. On S3 this is the bulk
        move: every object copied server-side (sizes from the listing, no HEADs) and each
        source deleted only once its copy is verified; if some items fail, their sources
        stay and the first failure is raised. An existing file is replaced; an existing
        directory is refused (IsADirectoryError for a file, FileExistsError for a
        directory)."""
        src, dst = parse_location(source), parse_location(destination)
        if isinstance(src, Path) and isinstance(dst, Path):
            await anyio.to_thread.run_sync(_local.rename, src, dst)
            return str(dst)
        if isinstance(src, Path) or isinstance(dst, Path):
            raise InvalidLocationError(
                f"rename stays on one side ({source} -> {destination}); use copy or move"
            )
        src, dst = _in_bucket(src, "rename"), _in_bucket(dst, "rename")
        info = await self.cache.lookup(src.bucket, src.key)
        if info is None:
            raise not_found(src, "rename")
        target = await self.cache.lookup(dst.bucket, dst.key.rstrip("/"), fresh=True)
        if target is not None and target.is_dir:
            if info.is_dir:
                raise already_exists(dst, "rename", "destination directory exists")
            raise is_a_directory(dst, "rename")
        if info.is_dir:
            if target is not None:
                raise not_a_directory(dst, "rename")
            old, new = dir_form(src.key), dir_form(dst.key)
            if src.bucket == dst.bucket and new.startswith(old):
                raise InvalidLocationError(f"cannot move {src} into itself ({dst})")
            await self._move_to(Source(f"s3://{src.bucket}/{old}", name=_name(new)), dst)
            return f"s3://{dst.bucket}/{new}"
        await self._move_to(Source(str(src), name=_name(dst.key), info=info), dst)
        return str(dst)

    async def _move_to(self, source: Source, dst: S3Location) -> None:
        """The scheduler's verified move of ``source`` to the exact name ``dst``; the
        first failed item's error is raised (the others stay where they are)."""
        parent = f"s3://{dst.bucket}/{parent_dir(dst.key)}"
        result = await self.scheduler.run("move", [source], parent)
        if result.failed:
            error = result.failed[0].error
            if isinstance(error, Exception):
                raise error
            result.raise_for_errors()


def _name(key: str) -> str:
    return key.rstrip("/").rsplit("/", 1)[-1]

"""FileManager: the object applications hold. It owns one S3Client (one connection pool);
later layers (cache, scheduler, invalidator) hang off it and are closed in order."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Coroutine, Iterable
from types import TracebackType
from typing import Any

from ._archive import ArchiveMethods
from ._cache import S3Cache
from ._cache_manager import CacheManager
from ._client import S3Client
from ._config import AddressingStyle, Settings
from ._exceptions import InvalidLocationError
from ._fs import PathLike, ReadMethods
from ._fs_write import WriteMethods
from ._invalidator import BatchedInvalidator
from ._location import parse_s3
from ._models import BucketInfo, OperationResult, Progress, Statistics, _frozen_counts
from ._ops import Conflict, OperationHandle, OperationScheduler, current_handle
from ._path import S3Path

__all__ = ["FileManager"]


class FileManager(ReadMethods, WriteMethods, ArchiveMethods):
    """An async S3 file manager; use as ``async with FileManager(...) as fm``.

    Keyword arguments override the matching fields of ``settings`` (by default
    :meth:`Settings.from_env`); see :class:`~aios3fm.Settings` for every field.

    ``endpoint_url``: S3 endpoint (``None`` for AWS). ``region``, ``profile``,
    ``addressing_style``: as in the AWS configuration. ``concurrency`` (default 64):
    requests in flight at once, for everything this FileManager does. ``cache_ttl``
    (default 60 s): how long listings and object facts are trusted. ``clock``: the
    monotonic clock the cache reads (tests inject one to drive TTLs without sleeping).
    """

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        addressing_style: AddressingStyle | None = None,
        concurrency: int | None = None,
        cache_ttl: float | None = None,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        base = settings if settings is not None else Settings.from_env()
        self.settings = s = base.replace(
            endpoint_url=endpoint_url,
            region=region,
            profile=profile,
            addressing_style=addressing_style,
            concurrency=concurrency,
            cache_ttl=cache_ttl,
        )
        self._client = S3Client(s)
        self.cache = S3Cache(
            self._client,
            max_entries=s.cache_max_entries,
            ttl=s.cache_ttl,
            negative_ttl=s.cache_negative_ttl,
            clock=clock,
        )
        self.invalidator = BatchedInvalidator(self.cache)
        self.cache_manager = CacheManager(self.invalidator)
        self.scheduler = OperationScheduler(self._client, self.cache, self.invalidator)
        self._submitted: set[asyncio.Task[OperationResult]] = set()
        self._open = False

    def __repr__(self) -> str:
        state = "open" if self._open else "closed"
        return f"<FileManager {state} {self._client!r}>"

    async def __aenter__(self) -> FileManager:
        await self._client.open()
        self.invalidator.start()
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        try:
            for task in list(self._submitted):  # background operations end with their owner
                task.cancel()
            await asyncio.gather(*self._submitted, return_exceptions=True)
            await self.invalidator.aclose()
            await self.cache.aclose()
        finally:
            await self._client.close()

    # -- bulk operations ------------------------------------------------------------------

    async def copy(
        self,
        sources: PathLike | Iterable[PathLike],
        destination_dir: PathLike,
        *,
        conflict: Conflict = "overwrite",
        dry_run: bool = False,
        progress: Callable[[Progress], None] | None = None,
    ) -> OperationResult:
        """Copy files, directories (recursively) and glob matches, local or S3, into
        ``destination_dir``, each under its own name (as ``cp -r SRC... DIR/``). S3 to S3
        is a server-side copy. ``conflict``: ``overwrite`` (default, no existence check),
        ``skip`` or ``error`` for destinations that exist. ``dry_run`` plans and reports
        without writing. ``progress`` is called at most ~20 times a second. One failed
        item never stops the others: see the result's ``failed``."""
        return await self.scheduler.run(
            "copy",
            _sources(sources),
            str(destination_dir),
            conflict=conflict,
            dry_run=dry_run,
            progress=progress,
        )

    async def move(
        self,
        sources: PathLike | Iterable[PathLike],
        destination_dir: PathLike,
        *,
        conflict: Conflict = "overwrite",
        dry_run: bool = False,
        progress: Callable[[Progress], None] | None = None,
    ) -> OperationResult:
        """As :meth:`copy`, then each source is deleted, only once its copy is verified
        (size, and checksum where S3 gives one). A source whose copy failed stays."""
        return await self.scheduler.run(
            "move",
            _sources(sources),
            str(destination_dir),
            conflict=conflict,
            dry_run=dry_run,
            progress=progress,
        )

    async def delete(
        self,
        paths: PathLike | Iterable[PathLike],
        *,
        dry_run: bool = False,
        progress: Callable[[Progress], None] | None = None,
    ) -> OperationResult:
        """Delete files and directories (recursively) and glob matches. S3 objects go in
        DeleteObjects batches of 1000; every per-key error is reported in the result."""
        return await self.scheduler.run(
            "delete", _sources(paths), None, dry_run=dry_run, progress=progress
        )

    def submit(self, operation: Coroutine[Any, Any, OperationResult]) -> OperationHandle:
        """Run ``fm.copy(...)``, ``fm.move(...)`` or ``fm.delete(...)`` in the background:
        ``handle = fm.submit(fm.copy(src, dst))``; ``await handle`` for the result,
        ``handle.cancel()`` to stop it (the result lists what completed), and
        ``handle.progress`` to watch it. The FileManager owns the task: closing it cancels."""
        handle = OperationHandle()

        async def runner() -> OperationResult:
            current_handle.set(handle)
            return await operation

        task = asyncio.get_running_loop().create_task(runner())
        self._submitted.add(task)
        task.add_done_callback(self._submitted.discard)
        handle.task = task
        return handle

    def path(self, location: PathLike) -> S3Path:
        """An :class:`S3Path` for an ``s3://`` location or a local path."""
        return S3Path(self, location)

    @property
    def client(self) -> S3Client:
        """The S3Client under this FileManager (uncached; every call is an API call)."""
        return self._client

    def statistics(self) -> Statistics:
        """API calls by S3 operation name, the HTTP requests they sent, and the cache's
        counters."""
        return Statistics(
            api_calls=_frozen_counts(self._client.api_calls),
            requests_sent=_frozen_counts(self._client.requests_sent),
            cache=self.cache.statistics(),
            invalidator=self.invalidator.statistics(),
        )

    async def list_buckets(self) -> list[BucketInfo]:
        """The buckets, through the cache."""
        return await self.cache.list_buckets()

    async def make_bucket(self, bucket: str) -> None:
        """Create ``bucket`` (a name, or ``s3://name``) in the configured region."""
        bucket = _bucket_name(bucket)
        try:
            await self._client.make_bucket(bucket)
        finally:
            self.cache.invalidate_bucket(bucket)

    async def remove_bucket(self, bucket: str) -> None:
        """Delete an empty ``bucket`` (a name, or ``s3://name``; DirectoryNotEmptyError
        when it is not empty)."""
        bucket = _bucket_name(bucket)
        try:
            await self._client.remove_bucket(bucket)
        finally:
            self.cache.invalidate_bucket(bucket)


def _bucket_name(text: str) -> str:
    """``name`` for ``name``, ``s3://name`` or ``s3://name/``; InvalidLocationError for a
    bucket name S3 refuses, or a location with a key."""
    location = parse_s3(text if text.startswith("s3://") else f"s3://{text}")
    if not location.bucket or location.key:
        raise InvalidLocationError(f"{text!r} is not a bucket (a name, or s3://name)")
    return location.bucket


def _sources(sources: PathLike | Iterable[PathLike]) -> list[str]:
    if isinstance(sources, (str, os.PathLike)):
        return [str(sources)]
    return [str(s) for s in sources]

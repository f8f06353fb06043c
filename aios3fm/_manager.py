"""FileManager: the object applications hold. It owns one S3Client (one connection pool);
later layers (cache, scheduler, invalidator) hang off it and are closed in order."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from ._cache import S3Cache
from ._cache_manager import CacheManager
from ._client import S3Client
from ._config import AddressingStyle, Settings
from ._fs import PathLike, ReadMethods
from ._fs_write import WriteMethods
from ._invalidator import BatchedInvalidator
from ._models import BucketInfo, Statistics, _frozen_counts
from ._path import S3Path

__all__ = ["FileManager"]


class FileManager(ReadMethods, WriteMethods):
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
            endpoint_url=endpoint_url, region=region, profile=profile,
            addressing_style=addressing_style, concurrency=concurrency, cache_ttl=cache_ttl,
        )  # fmt: skip
        self._client = S3Client(s)
        self.cache = S3Cache(
            self._client, max_entries=s.cache_max_entries, ttl=s.cache_ttl,
            negative_ttl=s.cache_negative_ttl, clock=clock,
        )  # fmt: skip
        self.invalidator = BatchedInvalidator(self.cache)
        self.cache_manager = CacheManager(self.invalidator)
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
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self._open = False
        try:
            await self.invalidator.aclose()
            await self.cache.aclose()
        finally:
            await self._client.close()

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
        """Create ``bucket`` in the configured region."""
        try:
            await self._client.make_bucket(bucket)
        finally:
            self.cache.invalidate_bucket(bucket)

    async def remove_bucket(self, bucket: str) -> None:
        """Delete an empty ``bucket`` (DirectoryNotEmptyError when it is not)."""
        try:
            await self._client.remove_bucket(bucket)
        finally:
            self.cache.invalidate_bucket(bucket)

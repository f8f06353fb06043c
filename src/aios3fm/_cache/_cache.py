"""S3Cache: cached, single-flight reads over an S3Client, and the invalidation API.

Reads look in the store first, with no await between the look and the answer; a miss
joins (or starts) the one call in flight for that entry. Truth under concurrency:

- a call in flight is joined only if no invalidation covering the entry came since it
  began, so a read that starts after an operation returned never gets an answer from
  before it (``fresh=True``, for checks that guard a write, never joins at all);
- a fill is stored only if no such invalidation came while it was in flight, and only if
  it arrived within the TTL counted from when it began (the store checks both);
- every fill goes through this: HEADs, directory probes, listings, the list of buckets
  and recursive trees.

How a location is answered, fewest calls first:

- a child of a complete listing in the store: from the fact the listing stored under the
  child's own key, or "absent" when the listing does not name it (0 calls);
- otherwise a file: one HeadObject; on 404, one ``MaxKeys=1`` ListObjectsV2 of ``key/``
  to find a directory. Both answers are stored, "absent" with the short negative TTL;
- a directory (``is_dir``, ``key/``) is never HEADed: its listing, its parent's, or the
  one-key LIST answer it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .._exceptions import NotFoundError, bucket_not_found, not_found
from .._models import BucketInfo, CacheStatistics, DirListing, ObjectInfo
from .._s3 import S3Client
from ._flight import SingleFlight
from ._store import MISS, CacheStore, Fill, dir_form, dir_info
from ._tree import Tree, cached_tree

__all__ = ["S3Cache"]

T = TypeVar("T")


class S3Cache:
    """The asyncio-side cache of one FileManager (``fm.cache``).

    ``invalidate_key``, ``invalidate_prefix`` and ``invalidate_bucket`` are synchronous
    and cost what they remove plus the key's depth.
    """

    def __init__(
        self,
        client: S3Client,
        *,
        max_entries: int = 100_000,
        ttl: float = 60.0,
        negative_ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.store = CacheStore(
            max_entries=max_entries, ttl=ttl, negative_ttl=negative_ttl, clock=clock
        )
        self._flights: SingleFlight[Fill] = SingleFlight(self.store.begin_fill, self.store.end_fill)

    def __repr__(self) -> str:
        s = self.store
        return (
            f"<S3Cache entries={len(s)}/{s.max_entries} ttl={s.ttl} "
            f"hits={s.counters.hits} misses={s.counters.misses} "
            f"in_flight={self._flights.in_flight}>"
        )

    async def aclose(self) -> None:
        await self._flights.aclose()

    def statistics(self) -> CacheStatistics:
        return CacheStatistics(
            **dataclasses.asdict(self.store.counters), coalesced=self._flights.coalesced,
            joins_refused=self._flights.joins_refused, entries=len(self.store),
            max_entries=self.store.max_entries,
        )  # fmt: skip

    # -- invalidation ---------------------------------------------------------------------

    def invalidate_key(self, bucket: str, key: str) -> int:
        """Forget what is cached of ``key`` (a directory when it ends in ``/``), its
        parent's listing, and the ancestors' listings that the change could alter."""
        return self.store.invalidate_key(bucket, key)

    def invalidate_prefix(self, bucket: str, prefix: str) -> int:
        """Forget everything under ``prefix`` and the listings above it that could change."""
        return self.store.invalidate_prefix(bucket, prefix)

    def invalidate_bucket(self, bucket: str) -> int:
        """Forget everything about ``bucket``, and the list of buckets."""
        return self.store.invalidate_bucket(bucket)

    def clear(self) -> None:
        """Forget everything; calls in flight now store nothing either."""
        self.store.clear()

    # -- single-flight ----------------------------------------------------------------------

    async def _call(
        self,
        flight: tuple[str, ...],
        bucket: str,
        entry: str,
        fill: Callable[[Fill], Awaitable[T]],
        fresh: bool,
    ) -> T:
        """``fill`` through the single flight for ``flight``: joined only while no
        invalidation of ``entry`` came since it began, never when ``fresh``."""

        def joinable(ticket: Fill) -> bool:
            return not self.store.changed_since(ticket, bucket, (entry,))

        return await self._flights.run(flight, fill, joinable=None if fresh else joinable)

    # -- cached reads ---------------------------------------------------------------------

    async def list_buckets(self, *, fresh: bool = False) -> list[BucketInfo]:
        cached = self.store.get_buckets()
        if cached is not MISS:
            return cached  # type: ignore[return-value]
        return list(await self._call(("buckets",), "", "", self._fill_buckets, fresh))

    async def _fill_buckets(self, fill: Fill) -> list[BucketInfo]:
        buckets = await self._client.list_buckets()
        self.store.put_buckets(buckets, fill)
        return buckets

    async def list_dir(self, bucket: str, prefix: str, *, fresh: bool = False) -> DirListing:
        """The complete listing of the directory ``prefix`` (``""`` for the bucket root)."""
        prefix = dir_form(prefix)
        cached = self.store.get_listing(bucket, prefix)
        if cached is not MISS:
            return cached  # type: ignore[return-value]

        async def fill(ticket: Fill) -> DirListing:
            listing = await self._client.list_dir(bucket, prefix)
            self.store.put_listing(bucket, listing, ticket)
            return listing

        return await self._call(("list", bucket, prefix), bucket, prefix, fill, fresh)

    async def lookup(self, bucket: str, key: str, *, fresh: bool = False) -> ObjectInfo | None:
        """The file ``key``, else the directory ``key/``, else None. A key ending in ``/``
        asks for the directory only; ``""`` is the bucket's root."""
        if not key:
            return await self._root(bucket)
        if key.endswith("/"):
            return await self.directory(bucket, key, fresh=fresh)
        info = await self.file(bucket, key, fresh=fresh)
        return info if info is not None else await self.directory(bucket, key + "/", fresh=fresh)

    async def stat(self, bucket: str, key: str) -> ObjectInfo:
        info = await self.lookup(bucket, key)
        if info is None:
            raise not_found(f"s3://{bucket}/{key}", "stat")
        return info

    async def file(self, bucket: str, key: str, *, fresh: bool = False) -> ObjectInfo | None:
        """The object ``key`` (not a directory), or None."""
        known = self.store.get_fact(bucket, key)
        if known is not MISS:
            return known  # type: ignore[return-value]

        async def fill(ticket: Fill) -> ObjectInfo | None:
            try:
                info: ObjectInfo | None = await self._client.head(bucket, key)
            except NotFoundError:
                info = None
            self.store.put_fact(bucket, key, info, ticket)
            return info

        return await self._call(("head", bucket, key), bucket, key, fill, fresh)

    async def directory(self, bucket: str, key: str, *, fresh: bool = False) -> ObjectInfo | None:
        """The directory ``key/`` (its marker, if it has one), or None. Never a HEAD."""
        prefix = dir_form(key)
        if not prefix:
            return await self._root(bucket)
        known = self.store.get_fact(bucket, prefix)
        if known is not MISS:
            return known  # type: ignore[return-value]

        async def fill(ticket: Fill) -> ObjectInfo | None:
            info = await self._client.probe_dir(bucket, prefix)
            self.store.put_fact(bucket, prefix, info, ticket)
            return info

        return await self._call(("dir", bucket, prefix), bucket, prefix, fill, fresh)

    async def _root(self, bucket: str) -> ObjectInfo:
        """A bucket's root is a directory as long as the bucket exists."""
        if self.store.get_listing(bucket, "") is MISS:
            try:
                await self._client.head_bucket(bucket)
            except NotFoundError as exc:  # HEAD answers a bare 404, without NoSuchBucket
                raise bucket_not_found(bucket, "HeadBucket") from exc
        return dir_info(bucket, "")

    # -- recursive trees ------------------------------------------------------------------

    async def tree(self, bucket: str, top: str) -> Tree:
        """The tree under ``top``: from the cache when every directory of it is cached,
        else from one recursive listing (:meth:`scan_tree`)."""
        return cached_tree(self.store, bucket, top) or await self.scan_tree(bucket, top)

    async def scan_tree(self, bucket: str, top: str) -> Tree:
        """One recursive listing of ``top`` (⌈objects/1000⌉ calls), stored as a complete
        listing of every directory found, or as "absent" when nothing is there. Never
        shared: each caller's scan begins when it asks."""
        top = dir_form(top)
        fill = self.store.begin_fill()
        tree = Tree(bucket, top)
        try:
            async for page in self._client.list_tree(bucket, top):
                for info in page:
                    tree.add(info)
        except BaseException:
            self.store.end_fill(fill)
            raise
        directories = tree.directories() if tree.exists else [top]
        self.store.put_listings(bucket, (tree.listing(d) for d in directories), fill)
        return tree

"""S3Cache: cached, single-flight reads over an S3Client, and the invalidation API.

Reads look in the store first, with no await between the look and the answer; a miss
joins (or starts) the one call in flight for that entry. A fill is stored only if no
invalidation covering it came while its call was in flight (the store checks).

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
from collections.abc import Callable

from .._exceptions import NotFoundError, bucket_not_found, not_found
from .._models import BucketInfo, CacheStatistics, DirListing, ObjectInfo
from .._s3 import S3Client
from ._flight import SingleFlight
from ._store import MISS, CacheStore, dir_form, dir_info
from ._tree import Tree, cached_tree

__all__ = ["S3Cache"]


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
        self._flights = SingleFlight()
        self._buckets: tuple[float, list[BucketInfo]] | None = None

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
            entries=len(self.store), max_entries=self.store.max_entries,
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
        self._buckets = None
        return self.store.invalidate_bucket(bucket)

    def clear(self) -> None:
        self._buckets = None
        self.store.clear()

    # -- cached reads ---------------------------------------------------------------------

    async def list_buckets(self) -> list[BucketInfo]:
        cached = self._buckets
        if cached is not None and cached[0] > self.store.clock():
            self.store.counters.hits += 1
            return list(cached[1])
        self.store.counters.misses += 1
        return list(await self._flights.run(("buckets",), self._fill_buckets))

    async def _fill_buckets(self) -> list[BucketInfo]:
        buckets = await self._client.list_buckets()
        if self.store.max_entries:
            self._buckets = (self.store.clock() + self.store.ttl, buckets)
        return buckets

    async def list_dir(self, bucket: str, prefix: str) -> DirListing:
        """The complete listing of the directory ``prefix`` (``""`` for the bucket root)."""
        prefix = dir_form(prefix)
        cached = self.store.get_listing(bucket, prefix)
        if cached is not MISS:
            return cached  # type: ignore[return-value]
        return await self._flights.run(
            ("list", bucket, prefix), lambda: self._fill_listing(bucket, prefix)
        )

    async def _fill_listing(self, bucket: str, prefix: str) -> DirListing:
        token = self.store.begin_fill()
        try:
            listing = await self._client.list_dir(bucket, prefix)
        except BaseException:
            self.store.end_fill(token)
            raise
        self.store.put_listing(bucket, listing, token)
        return listing

    async def lookup(self, bucket: str, key: str) -> ObjectInfo | None:
        """The file ``key``, else the directory ``key/``, else None. A key ending in ``/``
        asks for the directory only; ``""`` is the bucket's root."""
        if not key:
            return await self._root(bucket)
        if key.endswith("/"):
            return await self.directory(bucket, key)
        info = await self.file(bucket, key)
        return info if info is not None else await self.directory(bucket, key + "/")

    async def stat(self, bucket: str, key: str) -> ObjectInfo:
        info = await self.lookup(bucket, key)
        if info is None:
            raise not_found(f"s3://{bucket}/{key}", "stat")
        return info

    async def file(self, bucket: str, key: str) -> ObjectInfo | None:
        """The object ``key`` (not a directory), or None."""
        known = self.store.get_fact(bucket, key)
        if known is not MISS:
            return known  # type: ignore[return-value]
        return await self._flights.run(("head", bucket, key), lambda: self._fill_head(bucket, key))

    async def _fill_head(self, bucket: str, key: str) -> ObjectInfo | None:
        token = self.store.begin_fill()
        try:
            try:
                info: ObjectInfo | None = await self._client.head(bucket, key)
            except NotFoundError:
                info = None
        except BaseException:
            self.store.end_fill(token)
            raise
        self.store.put_fact(bucket, key, info, token)
        return info

    async def directory(self, bucket: str, key: str) -> ObjectInfo | None:
        """The directory ``key/`` (its marker, if it has one), or None. Never a HEAD."""
        prefix = dir_form(key)
        if not prefix:
            return await self._root(bucket)
        known = self.store.get_fact(bucket, prefix)
        if known is not MISS:
            return known  # type: ignore[return-value]
        return await self._flights.run(
            ("dir", bucket, prefix), lambda: self._fill_dir(bucket, prefix)
        )

    async def _fill_dir(self, bucket: str, prefix: str) -> ObjectInfo | None:
        token = self.store.begin_fill()
        try:
            info = await self._client.probe_dir(bucket, prefix)
        except BaseException:
            self.store.end_fill(token)
            raise
        self.store.put_fact(bucket, prefix, info, token)
        return info

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
        listing of every directory found, or as "absent" when nothing is there."""
        top = dir_form(top)
        token = self.store.begin_fill()
        tree = Tree(bucket, top)
        try:
            async for page in self._client.list_tree(bucket, top):
                for info in page:
                    tree.add(info)
        except BaseException:
            self.store.end_fill(token)
            raise
        directories = tree.directories() if tree.exists else [top]
        self.store.put_listings(bucket, (tree.listing(d) for d in directories), token)
        return tree

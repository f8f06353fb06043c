"""CacheStore: the synchronous TTL + LRU store under S3Cache. No I/O, no await, no lock.

Two kinds of fact, one canonical key each:

- an object fact, ``(bucket, key)`` -> ObjectInfo, or ``None`` for "does not exist".
  A key ending in ``/`` is a directory fact. Facts come from a HEAD (standalone) or from a
  complete listing of their parent (owned by that listing, stored under their own key);
- a listing, ``(bucket, prefix)`` -> DirListing, ``prefix`` in directory form (``dir/``),
  so ``dir`` and ``dir/`` are one entry.

Invariants (checked by ``_check`` in the tests):

1. ``_units`` holds every LRU unit, least recently used first: a listing, or a standalone
   fact. A fact owned by a listing is not a unit: using it refreshes its owner.
2. Every fact in ``_facts`` is standalone (a unit) or owned by a listing in ``_listings``
   whose ``children`` names its key; a listing's owned facts expire with it.
3. ``_weight`` is the sum of unit weights (a fact 1, a listing its number of children, at
   least 1) and never exceeds ``max_entries`` after a public method returns.
4. ``_index`` names exactly the fact keys and listing prefixes stored, by directory
   (see ``_index.py``). Invalidation finds what to remove through it, so it costs what
   it removes plus the key's depth, never the size of the store.
5. ``_log`` holds every invalidation newer than the oldest fill still in flight, so a fill
   whose call started before an invalidation that covers it is dropped, not stored, and a
   caller can tell whether a call in flight began before a change to its entry
   (``changed_since``) and so must not be joined.
6. An entry expires ``ttl`` after its fill began (``Fill.started``, the oldest moment its
   answer can describe), never after it arrived; an answer that arrives later than that
   is not stored at all. ``ttl`` is a true bound on staleness.

The list of buckets is one more entry of the same kind, guarded the same way: any
invalidation of a bucket covers it.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Literal

from .._models import BucketInfo, DirListing, ObjectInfo
from ._index import DirectoryIndex, parent_dir

__all__ = ["MISS", "CacheStore", "Fill", "dir_form", "parent_dir"]


class _Miss:
    def __repr__(self) -> str:
        return "MISS"


MISS: Final = _Miss()
"""Returned by lookups when the store knows nothing (``None`` means "known absent")."""

_UnitKey = tuple[str, str, str]  # ("f" | "l", bucket, key-or-prefix)
_Kind = Literal["key", "prefix", "bucket", "all"]


def dir_form(key: str) -> str:
    """``"a/b"`` and ``"a/b/"`` -> ``"a/b/"``; the bucket root stays ``""``."""
    return key if not key or key.endswith("/") else key + "/"


def dir_info(bucket: str, prefix: str, marker: ObjectInfo | None = None) -> ObjectInfo:
    if marker is not None:
        return marker
    return ObjectInfo(bucket, prefix, 0, None, None, True)


@dataclass(slots=True, eq=False)
class _Listing:
    bucket: str
    prefix: str
    value: DirListing
    expires: float
    children: tuple[str, ...]

    @property
    def weight(self) -> int:
        return max(1, len(self.children))


@dataclass(slots=True, eq=False)
class _Fact:
    info: ObjectInfo | None
    expires: float
    owner: _Listing | None = None


@dataclass(frozen=True, slots=True)
class _Invalidation:
    seq: int
    kind: _Kind
    bucket: str
    key: str

    def covers(self, bucket: str, key: str) -> bool:
        """Would this invalidation have removed the fact or listing ``key`` of ``bucket``?
        (``bucket == ""`` is the list of buckets, which a bucket's invalidation changes.)"""
        if self.kind == "all":
            return True
        if not bucket:
            return self.kind == "bucket"
        if bucket != self.bucket or self.kind == "bucket":
            return bucket == self.bucket
        # a listing or directory fact is covered by any change at or below it
        if (key.endswith("/") or not key) and self.key.startswith(key):
            return True
        if self.kind == "prefix":
            return key.startswith(self.key)
        return key in (self.key, dir_form(self.key))


@dataclass(slots=True, eq=False)
class Fill:
    """A fill about to call S3, from :meth:`CacheStore.begin_fill`: ``seq`` is the last
    invalidation it has seen, ``started`` the clock when it began (the oldest moment its
    answer can describe). Ended once, by ``put_*`` or ``end_fill``."""

    seq: int
    started: float
    open: bool = True


@dataclass
class StoreCounters:
    hits: int = 0
    misses: int = 0
    stale_fills_dropped: int = 0
    late_fills_dropped: int = 0
    evictions: int = 0
    expirations: int = 0
    invalidations: int = 0
    removed_by_invalidation: int = 0
    oversized_listings: int = 0


class CacheStore:
    """TTL + LRU store of S3 facts and listings. ``max_entries == 0`` disables storing."""

    def __init__(
        self,
        *,
        max_entries: int = 100_000,
        ttl: float = 60.0,
        negative_ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 0 or ttl < 0 or negative_ttl < 0:
            raise ValueError("max_entries, ttl and negative_ttl must not be negative")
        self.max_entries = max_entries
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.clock = clock
        self.counters = StoreCounters()
        self._facts: dict[tuple[str, str], _Fact] = {}
        self._listings: dict[tuple[str, str], _Listing] = {}
        self._units: OrderedDict[_UnitKey, None] = OrderedDict()
        self._weight = 0
        self._index = DirectoryIndex()
        self._seq = 0
        self._log: deque[_Invalidation] = deque()
        self._fills: Counter[int] = Counter()
        self._buckets: tuple[float, tuple[BucketInfo, ...]] | None = None

    def __len__(self) -> int:
        """Entries held, counted as the bound counts them (a listing as its children)."""
        return self._weight

    def __repr__(self) -> str:
        return (
            f"<CacheStore entries={self._weight}/{self.max_entries} listings="
            f"{len(self._listings)} facts={len(self._facts)} ttl={self.ttl}>"
        )

    # -- reads ----------------------------------------------------------------------------

    def get_listing(self, bucket: str, prefix: str) -> DirListing | _Miss:
        listing = self._listings.get((bucket, dir_form(prefix)))
        if listing is None or self._expired(listing):
            self.counters.misses += 1
            return MISS
        self._units.move_to_end(("l", bucket, listing.prefix))
        self.counters.hits += 1
        return listing.value

    def get_fact(self, bucket: str, key: str) -> ObjectInfo | _Miss | None:
        """What is known of ``key`` (a directory when it ends in ``/``)."""
        fact = self._facts.get((bucket, key))
        if fact is not None:
            owner = fact.owner
            if owner is not None and not self._expired(owner):
                self._units.move_to_end(("l", bucket, owner.prefix))
                self.counters.hits += 1
                return fact.info
            if owner is None and fact.expires > self.clock():
                self._units.move_to_end(("f", bucket, key))
                self.counters.hits += 1
                return fact.info
            if owner is None:
                self.counters.expirations += 1
                self._remove_fact(bucket, key)
        if key.endswith("/"):  # the directory's own listing answers for it
            own = self._listings.get((bucket, key))
            if own is not None and not self._expired(own):
                self._units.move_to_end(("l", bucket, key))
                self.counters.hits += 1
                return dir_info(bucket, key, own.value.marker) if own.value.exists else None
        parent = self._listings.get((bucket, parent_dir(key)))
        if parent is not None and not self._expired(parent):
            # A complete listing of the parent that does not name the key: it is absent.
            self._units.move_to_end(("l", bucket, parent.prefix))
            self.counters.hits += 1
            return None
        self.counters.misses += 1
        return MISS

    def get_buckets(self) -> list[BucketInfo] | _Miss:
        if self._buckets is not None and self._buckets[0] > self.clock():
            self.counters.hits += 1
            return list(self._buckets[1])
        if self._buckets is not None:
            self.counters.expirations += 1
            self._buckets = None
        self.counters.misses += 1
        return MISS

    def _expired(self, listing: _Listing) -> bool:
        if listing.expires > self.clock():
            return False
        self.counters.expirations += 1
        self._remove_listing(listing)
        return True

    # -- fills ----------------------------------------------------------------------------

    def begin_fill(self) -> Fill:
        """A ticket for a fill about to call S3; pass it to ``put_*`` or ``end_fill``."""
        self._fills[self._seq] += 1
        return Fill(self._seq, self.clock())

    def end_fill(self, fill: Fill) -> None:
        """Done with ``fill`` (idempotent): invalidations older than every fill still in
        flight are forgotten."""
        if not fill.open:
            return
        fill.open = False
        self._fills[fill.seq] -= 1
        if self._fills[fill.seq] <= 0:
            del self._fills[fill.seq]
        oldest = min(self._fills, default=self._seq)
        while self._log and self._log[0].seq <= oldest:
            self._log.popleft()

    def changed_since(self, fill: Fill, bucket: str, keys: Iterable[str]) -> bool:
        """Whether an invalidation after ``fill`` began covers one of ``keys`` of
        ``bucket``: its answer may be older than that change."""
        wanted = tuple(keys)
        for entry in reversed(self._log):
            if entry.seq <= fill.seq:
                break
            if any(entry.covers(bucket, key) for key in wanted):
                return True
        return False

    def _refused(self, fill: Fill, bucket: str, keys: Iterable[str], ttl: float) -> bool:
        """True (and counted) when ``fill``'s answer must not be stored: the cache is off,
        a change came while it was in flight, or it arrived after it would have expired."""
        if not self.max_entries:
            return True
        if self.changed_since(fill, bucket, keys):
            self.counters.stale_fills_dropped += 1
            return True
        if self.clock() >= fill.started + ttl:
            self.counters.late_fills_dropped += 1
            return True
        return False

    def put_fact(self, bucket: str, key: str, info: ObjectInfo | None, fill: Fill) -> bool:
        """Store what a HEAD (or a one-key LIST) said of ``key``; False when not stored."""
        try:
            ttl = self.ttl if info is not None else self.negative_ttl
            if self._refused(fill, bucket, (key,), ttl):
                return False
            self._remove_fact(bucket, key)
            self._facts[(bucket, key)] = _Fact(info, fill.started + ttl)
            self._units[("f", bucket, key)] = None
            self._weight += 1
            self._index.add(bucket, key)
            self._evict()
            return True
        finally:
            self.end_fill(fill)

    def put_buckets(self, buckets: list[BucketInfo], fill: Fill) -> bool:
        """Store the list of buckets; False when not stored."""
        try:
            if self._refused(fill, "", ("",), self.ttl):
                return False
            self._buckets = (fill.started + self.ttl, tuple(buckets))
            return True
        finally:
            self.end_fill(fill)

    def put_listing(self, bucket: str, listing: DirListing, fill: Fill) -> bool:
        """Store a complete listing and a fact for each child under the child's own key."""
        return self.put_listings(bucket, (listing,), fill) == 1

    def put_listings(self, bucket: str, listings: Iterable[DirListing], fill: Fill) -> int:
        """Store listings that one call (say, a recursive listing) produced; returns how
        many were stored. Each is checked against invalidations since ``fill`` began."""
        stored = 0
        try:
            for listing in listings:
                stored += self._store_listing(bucket, listing, fill)
            return stored
        finally:
            self.end_fill(fill)

    def _store_listing(self, bucket: str, listing: DirListing, fill: Fill) -> bool:
        prefix = listing.prefix
        children = tuple(f.key for f in listing.files) + listing.dirs
        if self._refused(fill, bucket, (prefix,), self.ttl):
            return False
        if max(1, len(children)) > self.max_entries:
            self.counters.oversized_listings += 1  # served, never stored: no self-eviction
            return False
        old = self._listings.get((bucket, prefix))
        if old is not None:
            self._remove_listing(old)
        entry = _Listing(bucket, prefix, listing, fill.started + self.ttl, children)
        self._listings[(bucket, prefix)] = entry
        self._units[("l", bucket, prefix)] = None
        self._weight += entry.weight
        self._index.add(bucket, prefix)
        for info in [*listing.files, *(dir_info(bucket, d) for d in listing.dirs)]:
            self._remove_fact(bucket, info.key)
            self._facts[(bucket, info.key)] = _Fact(info, entry.expires, entry)
            self._index.add(bucket, info.key)
        self._evict()
        return True

    def _evict(self) -> None:
        while self._weight > self.max_entries and self._units:
            kind, bucket, key = next(iter(self._units))
            self.counters.evictions += 1
            if kind == "l":
                self._remove_listing(self._listings[(bucket, key)])
            else:
                self._remove_fact(bucket, key)

    # -- invalidation ---------------------------------------------------------------------

    def _record(self, kind: _Kind, bucket: str, key: str) -> None:
        self._seq += 1
        self.counters.invalidations += 1
        if self._fills:
            self._log.append(_Invalidation(self._seq, kind, bucket, key))

    def invalidate_key(self, bucket: str, key: str) -> int:
        """Forget ``key`` (and, for ``dir/``, that directory's listing), its parent's
        listing, and each ancestor's listing for as long as the change could make a
        directory appear or vanish there. Returns the number of entries removed."""
        self._record("key", bucket, key)
        removed = self._remove_fact(bucket, key)
        if key.endswith("/"):
            removed += self._remove_listing_at(bucket, key)
        return self._count(removed + self._invalidate_ancestors(bucket, key, exact=True))

    def invalidate_prefix(self, bucket: str, prefix: str) -> int:
        """Forget every fact and listing whose key starts with ``prefix``, and the
        ancestors' listings as :meth:`invalidate_key` does."""
        self._record("prefix", bucket, prefix)
        removed = 0
        for key in self._index.under(bucket, prefix):
            removed += self._remove_member(bucket, key)
        if prefix:
            removed += self._invalidate_ancestors(bucket, prefix, exact=False)
        return self._count(removed)

    def invalidate_bucket(self, bucket: str) -> int:
        """Forget everything cached about ``bucket``, and the list of buckets."""
        self._record("bucket", bucket, "")
        self._buckets = None
        return self._count(self._remove_bucket(bucket))

    def _remove_bucket(self, bucket: str) -> int:
        return sum(self._remove_member(bucket, key) for key in self._index.under(bucket, ""))

    def clear(self) -> None:
        """Forget everything; fills in flight now are not stored either."""
        self._record("all", "", "")
        for bucket in {bucket for bucket, _ in (*self._facts, *self._listings)}:
            self._remove_bucket(bucket)
        self._buckets = None

    def _count(self, removed: int) -> int:
        self.counters.removed_by_invalidation += removed
        return removed

    def _invalidate_ancestors(self, bucket: str, key: str, *, exact: bool) -> int:
        removed = 0
        child = key
        while True:
            parent = parent_dir(child)
            listing = self._listings.get((bucket, parent))
            still_there = False
            if listing is not None:
                value = listing.value
                others = [
                    c
                    for c in listing.children
                    if (c != child if exact else not c.startswith(child))
                ]
                # The directory keeps other entries (or its marker): its parent's view of it
                # cannot change, so the walk stops after this level.
                still_there = bool(others or value.marker is not None or not parent)
                removed += self._remove_listing(listing)
            if not parent or still_there:
                return removed
            # The directory itself may have appeared or vanished. A standalone fact about it
            # goes now; one owned by the grandparent's listing goes with that listing, on the
            # next level, after the listing has been read.
            fact = self._facts.get((bucket, parent))
            if fact is not None and fact.owner is None:
                removed += self._remove_fact(bucket, parent)
            child, exact = parent, True

    # -- removal helpers (each returns the number of entries it removed) -------------------

    def _remove_fact(self, bucket: str, key: str) -> int:
        fact = self._facts.get((bucket, key))
        if fact is None:
            return 0
        if fact.owner is not None:
            # A listing's child is wrong or gone: the whole listing is stale.
            return self._remove_listing(fact.owner)
        del self._facts[(bucket, key)]
        del self._units[("f", bucket, key)]
        self._weight -= 1
        if (bucket, key) not in self._listings:
            self._index.discard(bucket, key)
        return 1

    def _remove_listing_at(self, bucket: str, prefix: str) -> int:
        listing = self._listings.get((bucket, prefix))
        return self._remove_listing(listing) if listing is not None else 0

    def _remove_listing(self, listing: _Listing) -> int:
        bucket = listing.bucket
        if self._listings.get((bucket, listing.prefix)) is not listing:
            return 0
        del self._listings[(bucket, listing.prefix)]
        del self._units[("l", bucket, listing.prefix)]
        self._weight -= listing.weight
        if (bucket, listing.prefix) not in self._facts:
            self._index.discard(bucket, listing.prefix)
        for key in listing.children:
            fact = self._facts.get((bucket, key))
            if fact is not None and fact.owner is listing:
                del self._facts[(bucket, key)]
                if (bucket, key) not in self._listings:
                    self._index.discard(bucket, key)
        return listing.weight

    def _remove_member(self, bucket: str, key: str) -> int:
        removed = self._remove_fact(bucket, key)
        if key.endswith("/") or not key:
            removed += self._remove_listing_at(bucket, key)
        return removed

    # -- for tests ------------------------------------------------------------------------

    def check_invariants(self) -> None:
        """Assert the invariants of the module docstring (tests call this after each step)."""
        weight = 0
        for kind, bucket, key in self._units:
            if kind == "l":
                weight += self._listings[(bucket, key)].weight
            else:
                assert self._facts[(bucket, key)].owner is None, key
                weight += 1
        assert weight == self._weight, (weight, self._weight)
        assert self._weight <= self.max_entries, (self._weight, self.max_entries)
        standalone = 0
        for (bucket, key), fact in self._facts.items():
            owner = fact.owner
            if owner is None:
                standalone += 1
                assert ("f", bucket, key) in self._units, key
            else:
                assert self._listings.get((bucket, owner.prefix)) is owner, key
                assert key in owner.children, key
        for bucket, prefix in self._listings:
            assert ("l", bucket, prefix) in self._units, prefix
        assert len(self._units) == standalone + len(self._listings)
        self._index.check(set(self._facts) | set(self._listings))
        if not self._fills:
            assert not self._log

"""CacheStore on its own: TTL and LRU through an injected clock, canonical keys, the
bound, and exactly what each invalidation removes. Invariants are checked after each step."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from aios3fm import DirListing, ObjectInfo
from aios3fm._cache import MISS, CacheStore, dir_form, parent_dir

from ..conftest import Clock

B = "bkt"


def info(key: str, size: int = 1) -> ObjectInfo:
    return ObjectInfo(B, key, size, 1.0, "etag", key.endswith("/"))


def listing(
    prefix: str, files: Sequence[str] = (), dirs: Sequence[str] = (), marker: bool = False
) -> DirListing:
    return DirListing(
        B, prefix, tuple(info(prefix + f) for f in files), tuple(prefix + d for d in dirs),
        info(prefix) if marker else None,
    )  # fmt: skip


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> CacheStore:
    return CacheStore(max_entries=100, ttl=60, negative_ttl=5, clock=clock)


def fill_listing(store: CacheStore, value: DirListing) -> bool:
    stored = store.put_listing(B, value, store.begin_fill())
    store.check_invariants()
    return stored


def fill_fact(store: CacheStore, key: str, value: ObjectInfo | None) -> bool:
    stored = store.put_fact(B, key, value, store.begin_fill())
    store.check_invariants()
    return stored


def test_key_helpers() -> None:
    assert [dir_form(k) for k in ("", "a", "a/", "a/b")] == ["", "a/", "a/", "a/b/"]
    assert [parent_dir(k) for k in ("", "a", "a/", "a/b", "a/b/", "a//b")] == [
        "", "", "", "a/", "a/", "a//",
    ]  # fmt: skip


def test_listing_answers_for_its_children_under_their_own_keys(store: CacheStore) -> None:
    assert fill_listing(store, listing("d/", ["f1", "f2"], ["sub/"]))
    assert store.get_fact(B, "d/f1") == info("d/f1")
    assert store.get_fact(B, "d/sub/") == ObjectInfo(B, "d/sub/", 0, None, None, True)
    assert store.get_fact(B, "d/absent") is None  # named by no complete listing: absent
    assert store.get_fact(B, "d/absent/") is None
    assert store.get_fact(B, "d/") == ObjectInfo(B, "d/", 0, None, None, True)
    assert store.get_fact(B, "elsewhere") is MISS
    assert store.get_listing(B, "d") == store.get_listing(B, "d/")  # one entry for both
    assert len(store) == 3  # a listing counts as its children


def test_empty_listing_says_the_directory_does_not_exist(store: CacheStore) -> None:
    fill_listing(store, listing("gone/"))
    assert store.get_fact(B, "gone/") is None
    assert len(store) == 1


def test_marker_is_the_directory_not_a_child(store: CacheStore) -> None:
    fill_listing(store, listing("m/", ["x"], marker=True))
    assert store.get_fact(B, "m/") == info("m/")
    assert [f.key for f in store.get_listing(B, "m/").files] == ["m/x"]  # type: ignore[union-attr]


def test_ttl_and_negative_ttl(store: CacheStore, clock: Clock) -> None:
    fill_fact(store, "k", info("k"))
    fill_fact(store, "missing", None)
    fill_listing(store, listing("d/", ["a"]))
    clock.now += 5.0
    assert store.get_fact(B, "missing") is MISS  # negative answers live 5 s
    assert store.get_fact(B, "k") == info("k")
    clock.now += 55.0
    assert store.get_fact(B, "k") is MISS
    assert store.get_fact(B, "d/a") is MISS  # a listing's children expire with it
    assert store.get_listing(B, "d/") is MISS
    store.check_invariants()
    assert len(store) == 0
    assert store.counters.expirations == 3


def test_lru_evicts_least_recently_used_by_weight(clock: Clock) -> None:
    store = CacheStore(max_entries=5, clock=clock)
    fill_listing(store, listing("a/", ["1", "2"]))  # weight 2
    fill_fact(store, "x", info("x"))  # 1
    fill_fact(store, "y", info("y"))  # 1
    assert store.get_fact(B, "a/1") is not MISS  # using a child refreshes its listing
    fill_listing(store, listing("b/", ["1", "2"]))  # weight 2: 6 > 5, evict "x"
    assert store.get_fact(B, "x") is MISS
    assert store.get_fact(B, "y") is not MISS
    assert store.get_listing(B, "a/") is not MISS
    assert (len(store), store.counters.evictions) == (5, 1)


def test_listing_bigger_than_the_bound_is_not_stored(clock: Clock) -> None:
    store = CacheStore(max_entries=3, clock=clock)
    fill_fact(store, "keep", info("keep"))
    assert not fill_listing(store, listing("big/", ["1", "2", "3", "4"]))
    assert store.get_fact(B, "keep") == info("keep")  # nothing was evicted for it
    assert store.counters.oversized_listings == 1


def test_max_entries_zero_disables(clock: Clock) -> None:
    store = CacheStore(max_entries=0, clock=clock)
    assert not fill_fact(store, "k", info("k"))
    assert not fill_listing(store, listing("d/", ["a"]))
    assert store.get_fact(B, "k") is MISS
    assert len(store) == 0


def test_invalidate_key_drops_the_parent_listing_and_stops_where_nothing_changes(
    store: CacheStore,
) -> None:
    fill_listing(store, listing("", [], ["a/"]))
    fill_listing(store, listing("a/", ["other"], ["b/"]))
    fill_listing(store, listing("a/b/", ["k"]))
    fill_fact(store, "a/b/k2", info("a/b/k2"))

    # a/b/ holds only k: removing or adding k may make a/b/ vanish or appear, so a/'s
    # listing goes too; a/ keeps "other", so the root listing stays.
    removed = store.invalidate_key(B, "a/b/k")
    store.check_invariants()
    assert store.get_listing(B, "a/b/") is MISS
    assert store.get_listing(B, "a/") is MISS
    assert store.get_listing(B, "") is not MISS
    assert store.get_fact(B, "a/b/k2") == info("a/b/k2")  # a sibling fact is untouched
    assert removed == 1 + 2  # a/b/ (1 child) and a/ (2 children)


def test_invalidate_key_walks_up_when_ancestors_are_unknown(store: CacheStore) -> None:
    fill_listing(store, listing("", ["top"], ["x/"]))
    store.invalidate_key(B, "x/y/z/new")  # nothing cached between the root and the key
    store.check_invariants()
    assert store.get_listing(B, "") is MISS  # x/ could have appeared or vanished


def test_invalidate_key_of_a_directory_drops_its_listing(store: CacheStore) -> None:
    fill_listing(store, listing("d/", ["a", "b"], marker=True))
    store.invalidate_key(B, "d/")
    store.check_invariants()
    assert store.get_listing(B, "d/") is MISS


def test_invalidate_prefix_removes_the_subtree_only(store: CacheStore) -> None:
    fill_listing(store, listing("p/", ["f"], ["q/"]))
    fill_listing(store, listing("p/q/", ["1", "2"]))
    fill_fact(store, "p/q/r/deep", info("p/q/r/deep"))
    fill_fact(store, "p/qq", info("p/qq"))
    fill_fact(store, "other", info("other"))

    store.invalidate_prefix(B, "p/q/")
    store.check_invariants()
    assert store.get_listing(B, "p/q/") is MISS
    assert store.get_fact(B, "p/q/r/deep") is MISS
    assert store.get_listing(B, "p/") is MISS  # its view of q/ may change
    assert store.get_fact(B, "p/qq") == info("p/qq")
    assert store.get_fact(B, "other") == info("other")


def test_invalidate_prefix_without_slash_matches_names(store: CacheStore) -> None:
    fill_fact(store, "logs/2026-01", info("logs/2026-01"))
    fill_fact(store, "logs/2026-02", info("logs/2026-02"))
    fill_fact(store, "logs/2027-01", info("logs/2027-01"))
    fill_listing(store, listing("logs/2026/", ["x"]))
    store.invalidate_prefix(B, "logs/2026")
    store.check_invariants()
    assert store.get_fact(B, "logs/2026-01") is MISS
    assert store.get_listing(B, "logs/2026/") is MISS
    assert store.get_fact(B, "logs/2027-01") == info("logs/2027-01")


def test_invalidate_bucket_removes_everything_of_that_bucket(store: CacheStore) -> None:
    fill_listing(store, listing("", ["a"], ["d/"]))
    fill_listing(store, listing("d/", ["x"]))
    store.put_fact("other-bucket", "k", info("k"), store.begin_fill())
    assert store.invalidate_bucket(B) == 3
    store.check_invariants()
    assert store.get_listing(B, "") is MISS
    assert len(store) == 1
    assert store.get_fact("other-bucket", "k") is not MISS


def test_fill_started_before_a_covering_invalidation_is_dropped(store: CacheStore) -> None:
    listing_token = store.begin_fill()
    fact_token = store.begin_fill()
    unrelated = store.begin_fill()
    store.invalidate_key(B, "d/new")  # covers the listing of d/ and the fact d/new
    assert not store.put_listing(B, listing("d/", ["old"]), listing_token)
    assert not store.put_fact(B, "d/new", None, fact_token)
    assert store.put_fact(B, "elsewhere/k", info("elsewhere/k"), unrelated)
    store.check_invariants()
    assert store.counters.stale_fills_dropped == 2
    # a fill that starts after the invalidation is stored
    assert store.put_listing(B, listing("d/", ["new"]), store.begin_fill())


def test_invalidation_cost_does_not_grow_with_the_store(clock: Clock) -> None:
    store = CacheStore(max_entries=10**6, clock=clock)
    for i in range(2000):
        store.put_listing(B, listing(f"dir{i}/", ["a", "b"]), store.begin_fill())
    removed = store.invalidate_key(B, "dir7/a")
    # the listing of dir7/ (2) and, since dir7/ may have vanished, nothing above it cached
    assert removed == 2
    assert store.invalidate_prefix(B, "dir8/") == 2
    store.check_invariants()

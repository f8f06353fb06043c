"""Recursive views of S3: one recursive listing becomes a tree (for walk and du) that also
fills the cache with a complete listing of every sub-directory; and glob matching.

A recursive ListObjectsV2 of ``top/`` names every object below it, so the listing of any
directory inside can be derived from it exactly: its files, its sub-directories (common
prefixes) and its marker. Storing those makes every later listdir, stat, exists or is_dir
below ``top`` free, under the same stale-fill rule as any other fill.
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from ._cache import S3Cache, dir_form, parent_dir
from ._client import S3Client
from ._models import DirListing, ObjectInfo

__all__ = ["Tree", "cached_tree", "match_parts", "scan_tree", "split_pattern", "tree_of"]

_WILDCARD = re.compile(r"[*?\[]")


@dataclass
class Tree:
    """Every directory under ``top`` (``top`` included) with its files and sub-directories."""

    bucket: str
    top: str
    files: dict[str, list[ObjectInfo]] = field(default_factory=lambda: defaultdict(list))
    subdirs: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    markers: dict[str, ObjectInfo] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return bool(self.files or self.subdirs or self.markers) or not self.top

    def _add_dir(self, directory: str) -> None:
        while directory != self.top and directory not in self.subdirs.get(
            parent_dir(directory), ()
        ):
            self.subdirs[parent_dir(directory)].add(directory)
            directory = parent_dir(directory)

    def add(self, info: ObjectInfo) -> None:
        if info.key.endswith("/"):
            self.markers[info.key] = info
            if info.key != self.top:
                self._add_dir(info.key)
        else:
            directory = parent_dir(info.key)
            self.files[directory].append(info)
            self._add_dir(directory)

    def directories(self) -> list[str]:
        """Every directory, ``top`` first, then depth-first in name order."""
        order: list[str] = []
        stack = [self.top]
        while stack:
            directory = stack.pop()
            order.append(directory)
            stack.extend(sorted(self.subdirs.get(directory, ()), reverse=True))
        return order

    def listing(self, directory: str) -> DirListing:
        return DirListing(
            self.bucket, directory, tuple(self.files.get(directory, ())),
            tuple(sorted(self.subdirs.get(directory, ()))), self.markers.get(directory),
        )  # fmt: skip


async def scan_tree(client: S3Client, cache: S3Cache, bucket: str, top: str) -> Tree:
    """One recursive listing of ``top`` (⌈objects/1000⌉ calls), stored in the cache as a
    complete listing of every directory found."""
    top = dir_form(top)
    store = cache.store
    token = store.begin_fill()
    tree = Tree(bucket, top)
    try:
        async for page in client.list_tree(bucket, top):
            for info in page:
                tree.add(info)
    except BaseException:
        store.end_fill(token)
        raise
    if tree.exists:
        store.put_listings(bucket, (tree.listing(d) for d in tree.directories()), token)
    else:
        store.put_listings(bucket, (tree.listing(top),), token)  # "absent", cached too
    return tree


def cached_tree(cache: S3Cache, bucket: str, top: str) -> Tree | None:
    """The tree under ``top`` put together from cached listings alone (no call), or None
    as soon as one directory of it is not cached."""
    top = dir_form(top)
    tree = Tree(bucket, top)
    stack = [top]
    while stack:
        directory = stack.pop()
        listing = cache.store.get_listing(bucket, directory)
        if not isinstance(listing, DirListing):
            return None
        if listing.marker is not None:
            tree.add(listing.marker)
        for info in listing.files:
            tree.add(info)
        for sub in listing.dirs:
            if sub != top:
                tree._add_dir(sub)
            stack.append(sub)
    return tree


async def tree_of(client: S3Client, cache: S3Cache, bucket: str, top: str) -> Tree:
    """The tree under ``top``: from the cache when every directory of it is cached,
    else from one recursive listing (which then fills the cache)."""
    return cached_tree(cache, bucket, top) or await scan_tree(client, cache, bucket, top)


def split_pattern(pattern: str) -> tuple[str, str]:
    """``("logs/2026-", "logs/")`` for ``logs/2026-*/app?.log``: the literal prefix the
    server can narrow the listing by, and the directory holding the first wildcard."""
    found = _WILDCARD.search(pattern)
    literal = pattern if found is None else pattern[: found.start()]
    return literal, literal[: literal.rfind("/") + 1]


@lru_cache(maxsize=256)
def _segment(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))


def match_parts(pattern: Sequence[str], parts: Sequence[str]) -> bool:
    """Glob match by path segment: ``*`` never crosses ``/``; ``**`` spans zero or more
    segments (as in pathlib)."""
    if not pattern:
        return not parts
    head = pattern[0]
    if head == "**":
        return any(match_parts(pattern[1:], parts[i:]) for i in range(len(parts) + 1))
    return (
        bool(parts) and bool(_segment(head).match(parts[0])) and match_parts(pattern[1:], parts[1:])
    )

"""Tree: every directory under ``top`` with its files, sub-directories and markers.

A recursive ListObjectsV2 of ``top/`` names every object below it, so the listing of any
directory inside can be derived from it exactly: its files, its sub-directories (common
prefixes) and its marker. S3Cache stores those (``scan_tree``), which makes every later
listdir, stat, exists or is_dir below ``top`` free, under the same stale-fill rule as any
other fill; ``cached_tree`` puts a tree back together from cached listings alone.
Synchronous, no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .._models import DirListing, ObjectInfo
from ._store import CacheStore, dir_form, parent_dir

__all__ = ["Tree", "cached_tree"]


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


def cached_tree(store: CacheStore, bucket: str, top: str) -> Tree | None:
    """The tree under ``top`` put together from cached listings alone (no call), or None
    as soon as one directory of it is not cached."""
    top = dir_form(top)
    tree = Tree(bucket, top)
    stack = [top]
    while stack:
        directory = stack.pop()
        listing = store.get_listing(bucket, directory)
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

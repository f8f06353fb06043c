"""CacheManager: the per-operation invalidation API, for applications that change S3 by
other means (another tool, another process) and want aios3fm's listings to follow.

Each method turns an operation into the change events DESIGN.md's table asks for and
sends them through the same BatchedInvalidator as aios3fm's own operations, then waits
until they are applied. Local paths are ignored. A path without a trailing ``/`` may be a
file or a directory, so both its key and its subtree are invalidated.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .._events import ChangeEvent
from .._location import S3Location, parse_location
from ._invalidator import BatchedInvalidator

__all__ = ["CacheManager"]

PathLike = str | os.PathLike[str]


def _s3(path: PathLike) -> S3Location | None:
    location = parse_location(path)
    if isinstance(location, Path) or not location.bucket:
        return None
    return location


def _changed_at(location: S3Location, *, removed: bool) -> ChangeEvent:
    """The object or directory at ``location`` changed (was written, or removed)."""
    key = location.key
    keys = (key,) if key else ()
    prefixes = (key if key.endswith("/") else key + "/",) if key else ("",)
    if removed:
        return ChangeEvent(location.bucket, deleted=keys, prefixes=prefixes)
    return ChangeEvent(location.bucket, written=keys, prefixes=prefixes)


class CacheManager:
    def __init__(self, invalidator: BatchedInvalidator) -> None:
        self._invalidator = invalidator

    def __repr__(self) -> str:
        return f"<CacheManager {self._invalidator!r}>"

    async def _apply(self, events: Iterable[ChangeEvent | None]) -> None:
        for event in events:
            if event is not None:
                self._invalidator.emit(event)
        await self._invalidator.flush()

    def _destinations(
        self, sources: Iterable[PathLike], destination_dir: PathLike
    ) -> list[ChangeEvent | None]:
        target = _s3(destination_dir)
        if target is None:
            return []
        base = target.key if not target.key or target.key.endswith("/") else target.key + "/"
        events: list[ChangeEvent | None] = [
            _changed_at(S3Location(target.bucket, base), removed=False)
        ]
        for source in sources:
            name = os.path.basename(str(source).rstrip("/"))
            if name:
                events.append(_changed_at(S3Location(target.bucket, base + name), removed=False))
        return events

    async def invalidate_cache_for_copy_operation(
        self, source_paths: Iterable[PathLike], destination_dir: PathLike
    ) -> None:
        """Each destination object (or subtree), the destination directory's listing and
        the ancestors whose listing may gain a prefix."""
        await self._apply(self._destinations(source_paths, destination_dir))

    async def invalidate_cache_for_move_operation(
        self, source_paths: Iterable[PathLike], destination_dir: PathLike
    ) -> None:
        """As for a copy, plus each source and its parent's listing and ancestors."""
        sources = list(source_paths)
        removed = [_s3(s) for s in sources]
        events = self._destinations(sources, destination_dir)
        events += [_changed_at(loc, removed=True) for loc in removed if loc is not None]
        await self._apply(events)

    async def invalidate_cache_for_delete_operation(
        self, deleted_paths: Iterable[PathLike]
    ) -> None:
        """Each deleted object or subtree, its parent's listing and the ancestors whose
        listing may lose a prefix."""
        locations = [_s3(p) for p in deleted_paths]
        await self._apply(_changed_at(loc, removed=True) for loc in locations if loc is not None)

    async def invalidate_cache_for_archive_operation(
        self, archive_path: PathLike, source_paths: Iterable[PathLike] | None = None
    ) -> None:
        """The archive object, its parent's listing and ancestors. (Sources are read, not
        changed, so they need nothing.)"""
        location = _s3(archive_path)
        del source_paths
        await self._apply([_changed_at(location, removed=False)] if location else [])

    async def invalidate_cache_for_create_operation(self, created_path: PathLike) -> None:
        """The created file or directory, its parent's listing and ancestors."""
        location = _s3(created_path)
        await self._apply([_changed_at(location, removed=False)] if location else [])

    async def invalidate_cache_for_directory(self, directory: PathLike) -> None:
        """Everything cached at or under ``directory`` (after an extraction into it, say)."""
        location = _s3(directory)
        if location is not None:
            prefix = (
                location.key
                if not location.key or location.key.endswith("/")
                else location.key + "/"
            )
            await self._apply([ChangeEvent(location.bucket, prefixes=(prefix,))])

"""BatchedInvalidator: applies change events to the cache in batches, grouped by bucket.

Events go into a queue; one task drains it in batches (up to ``batch_size`` events: what
arrived within ``window`` seconds of the first, or at once when someone awaits
:meth:`flush`), groups them by bucket, drops keys
that a prefix of the same batch already covers, and applies each bucket's keys and prefixes
in one synchronous section (the event loop's equivalent of one lock acquisition: nothing
else touches the cache meanwhile). Errors are logged and swallowed; an operation that
needs its changes visible awaits :meth:`flush`, which returns once every event emitted
before it has been applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterable

from .._events import ChangeEvent
from .._models import InvalidatorStatistics
from ._cache import S3Cache
from ._store import dir_form

__all__ = ["BatchedInvalidator", "InvalidatorStatistics"]

logger = logging.getLogger("aios3fm")


def _plan(events: Iterable[ChangeEvent]) -> dict[str, tuple[list[str], list[str], int]]:
    """bucket -> (keys, prefixes, keys dropped as covered), each list deduplicated."""
    keys: dict[str, set[str]] = defaultdict(set)
    prefixes: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.written or event.deleted:
            keys[event.bucket].update(event.written, event.deleted)
        if event.prefixes:
            prefixes[event.bucket].update(dir_form(p) for p in event.prefixes)
    plan = {}
    for bucket in keys.keys() | prefixes.keys():
        # the outermost prefixes only: an inner one is covered by its ancestor
        ordered = sorted(prefixes[bucket])
        outer: list[str] = []
        for prefix in ordered:
            if not outer or not prefix.startswith(outer[-1]):
                outer.append(prefix)
        kept = [k for k in sorted(keys[bucket]) if not any(k.startswith(p) for p in outer)]
        plan[bucket] = (kept, outer, len(keys[bucket]) - len(kept))
    return plan


class BatchedInvalidator:
    def __init__(self, cache: S3Cache, *, batch_size: int = 1000, window: float = 0.1) -> None:
        self._cache = cache
        self._batch_size = batch_size
        self._window = window
        self._queue: asyncio.Queue[ChangeEvent] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._emitted = 0
        self._applied = 0
        self._progress = asyncio.Condition()
        self._wake = asyncio.Event()
        self._counts = dict.fromkeys(InvalidatorStatistics.__slots__, 0)

    def __repr__(self) -> str:
        return (
            f"<BatchedInvalidator pending={self._emitted - self._applied} "
            f"events={self._counts['events']} batches={self._counts['batches']}>"
        )

    def statistics(self) -> InvalidatorStatistics:
        return InvalidatorStatistics(**self._counts)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        """Apply what is queued, then stop."""
        if self._task is None:
            return
        await self.flush()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    def emit(self, event: ChangeEvent) -> None:
        """Queue an event (S3 only: callers do not emit for local paths)."""
        self._emitted += 1
        self._counts["events"] += 1
        self._queue.put_nowait(event)
        if self._task is None:  # not started (no running FileManager): apply at once
            self._apply([self._queue.get_nowait()])

    async def flush(self) -> None:
        """Return once every event emitted before this call has been applied."""
        target = self._emitted
        if self._applied < target:
            self._wake.set()  # apply now rather than at the end of the window
        async with self._progress:
            await self._progress.wait_for(lambda: self._applied >= target)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if not self._wake.is_set():  # let events gather, unless someone waits on them
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._window)
            self._wake.clear()
            while len(batch) < self._batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._apply(batch)
            async with self._progress:
                self._progress.notify_all()

    def _apply(self, batch: list[ChangeEvent]) -> None:
        self._counts["batches"] += 1
        for bucket, (keys, prefixes, covered) in _plan(batch).items():
            try:
                # one synchronous section per bucket: no await, nothing interleaves
                for prefix in prefixes:
                    self._cache.invalidate_prefix(bucket, prefix)
                for key in keys:
                    self._cache.invalidate_key(bucket, key)
                self._counts["prefixes_invalidated"] += len(prefixes)
                self._counts["keys_invalidated"] += len(keys)
                self._counts["keys_covered_by_prefixes"] += covered
            except Exception:
                self._counts["errors"] += 1
                logger.warning("cache invalidation failed for s3://%s/", bucket, exc_info=True)
        self._applied += len(batch)

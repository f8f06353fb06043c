"""Run: what every operation keeps while it works, and the OperationResult it ends with.

Per-item results (kept for the result, handed to an ``on_item`` callback as each settles,
or both), counts, progress (throttled to ~20 calls a second), the OperationHandle of a
background operation (``fm.submit``) and its cancel scope, and the API calls made since
the operation began. The scheduler (copy, move, delete) and the archive operations are
both built on it, so results, progress and cancellation behave alike everywhere.
"""

from __future__ import annotations

import contextvars
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TypeVar

import anyio

from .._models import ItemResult, ItemStatus, OperationResult, Progress

__all__ = ["ItemCallback", "OperationHandle", "ProgressCallback", "Run", "current_handle"]

_T = TypeVar("_T")
ProgressCallback = Callable[[Progress], None]
ItemCallback = Callable[[ItemResult], None]
_STATUSES: tuple[ItemStatus, ...] = ("done", "skipped", "failed", "planned")
_PROGRESS_INTERVAL = 0.05  # at most ~20 progress calls a second


class OperationHandle:
    """A background operation from ``fm.submit(...)``: ``await handle`` for its
    OperationResult, ``handle.cancel()`` to stop it, ``handle.progress`` to watch it."""

    def __init__(self) -> None:
        self.progress = Progress()
        self._scope: anyio.CancelScope | None = None
        self._cancelled = False
        self.task: object = None

    def cancel(self) -> None:
        self._cancelled = True
        if self._scope is not None:
            self._scope.cancel()

    def _attach(self, scope: anyio.CancelScope) -> None:
        self._scope = scope
        if self._cancelled:
            scope.cancel()

    def __await__(self):  # type: ignore[no-untyped-def]
        return self.task.__await__()  # type: ignore[attr-defined]


current_handle: contextvars.ContextVar[OperationHandle | None] = contextvars.ContextVar(
    "aios3fm_operation_handle", default=None
)


class Run:
    """One operation in progress. ``calls`` is the client's live API-call counter; the
    result reports what it gained while the operation ran."""

    def __init__(
        self,
        operation: str,
        calls: Counter[str],
        *,
        dry_run: bool = False,
        progress: ProgressCallback | None = None,
        on_item: ItemCallback | None = None,
        keep_items: bool = True,
    ) -> None:
        self.operation = operation
        self.dry_run = dry_run
        self.handle = current_handle.get()
        self.results: dict[ItemStatus, list[ItemResult]] = defaultdict(list)
        self.counts: Counter[ItemStatus] = Counter()
        self.bytes_done = 0
        self._on_item = on_item
        self._keep = keep_items
        self.callback_error: Exception | None = None
        self.progress = Progress()
        self.cancelled = False
        self._on_progress = progress
        self._last_report = 0.0
        self._calls = calls
        self._calls_before = Counter(calls)
        self._started = time.monotonic()
        self._notes: dict[str, None] = {}

    def __repr__(self) -> str:
        return f"<Run {self.operation} {dict(self.counts)}>"

    @property
    def failures(self) -> int:
        return self.counts["failed"]

    def note(self, text: str) -> None:
        """Something the result must say about the whole operation (once, however often
        it is noted): what the endpoint could not guarantee, say."""
        self._notes[text] = None

    def record(self, result: ItemResult) -> None:
        """One item settled: counted, kept (unless ``keep_items=False``, which holds a long
        job's memory flat) and handed to ``on_item``."""
        self.counts[result.status] += 1
        if result.status == "done":
            self.bytes_done += result.size
        if self._keep:
            self.results[result.status].append(result)
        self._call(self._on_item, result)
        done = result.status in ("done", "planned")
        self.progress = replace(
            self.progress,
            objects_done=self.progress.objects_done + (result.status != "failed"),
            bytes_done=self.progress.bytes_done + (result.size if done else 0),
            failed=self.progress.failed + (result.status == "failed"),
        )
        self.report()

    def _call(self, callback: Callable[[_T], object] | None, value: _T) -> None:
        """A user's callback, kept from the work: an exception it raises must neither
        fail the item nor stop the operation halfway. The first is kept, the callback is
        not called again, and ``result()`` raises it once the operation has ended and
        cleaned up (the CLI's stdout closing under ``| head`` is one such exception)."""
        if callback is None or self.callback_error is not None:
            return
        try:
            callback(value)
        except Exception as exc:
            self.callback_error = exc

    def totals(self, objects: int, size: int) -> None:
        """Every source is expanded: the totals are known from now on."""
        self.progress = replace(self.progress, objects_total=objects, bytes_total=size)
        self.report()

    def report(self, *, final: bool = False) -> None:
        if self.handle is not None:
            self.handle.progress = self.progress
        now = time.monotonic()
        if self._on_progress is not None and (
            final or now - self._last_report >= _PROGRESS_INTERVAL
        ):
            self._last_report = now
            self._call(self._on_progress, self.progress)

    @contextmanager
    def cancellable(self) -> Iterator[anyio.CancelScope]:
        """The scope ``handle.cancel()`` cancels; a cancellation that ends it is caught
        and remembered (``cancelled``), so the operation still returns its result."""
        with anyio.CancelScope() as scope:
            if self.handle is not None:
                self.handle._attach(scope)
            yield scope
        self.cancelled = self.cancelled or scope.cancelled_caught

    def result(self) -> OperationResult:
        """The OperationResult; raises the first exception a callback raised, if any."""
        self.report(final=True)
        if self.callback_error is not None:
            raise self.callback_error
        calls = Counter(self._calls)
        calls.subtract(self._calls_before)
        return OperationResult(
            operation=self.operation,
            succeeded=tuple(self.results["done"]),
            skipped=tuple(self.results["skipped"]),
            failed=tuple(self.results["failed"]),
            planned=tuple(self.results["planned"]),
            bytes=self.bytes_done,
            duration=time.monotonic() - self._started,
            api_calls={k: v for k, v in sorted(calls.items()) if v},
            cancelled=self.cancelled,
            dry_run=self.dry_run,
            counts={status: self.counts[status] for status in _STATUSES},
            notes=tuple(self._notes),
        )

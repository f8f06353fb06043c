"""OperationScheduler: copy, move and delete of many objects, concurrently, item by item.

A producer expands the sources into a bounded queue (so memory stays flat and work starts
after the first listing page); ``concurrency`` workers take items from it, a sliding
window rather than lockstep batches, and every request they make passes through the
client's one semaphore. Deletes go in DeleteObjects batches of 1000 per bucket. A move
deletes a source only after its copy was verified (size, and MD5/ETag where S3 gives one).
Each completed item emits a change event; the operation returns once they are applied.
Cancelling (``handle.cancel()``) stops new work, lets cleanup run shielded, and returns a
result of what completed; sources whose copy finished but whose deletion did not start
stay where they are.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup

from .._cache import S3Cache, dir_form
from .._client import S3Client
from .._events import ChangeEvent
from .._exceptions import AlreadyExistsError, S3Error
from .._invalidator import BatchedInvalidator
from .._location import S3Location, parse_location
from .._models import ItemResult, ObjectInfo, OperationResult, Progress
from .._tasks import task_group
from .._tree import scan_tree
from ._plan import Item, Location, Missing, Refused, expand
from ._transfer import Written, md5_of, plain_md5, transfer

__all__ = ["Conflict", "OperationHandle", "OperationScheduler", "current_handle"]

Conflict = Literal["overwrite", "skip", "error"]
OperationKind = Literal["copy", "move", "delete"]
ProgressCallback = Callable[[Progress], None]
_DELETE_BATCH = 1000
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


def _text(location: Location | None) -> str | None:
    return None if location is None else str(location)


@dataclass
class _Run:
    kind: OperationKind
    conflict: Conflict
    dry_run: bool
    on_progress: ProgressCallback | None
    handle: OperationHandle | None
    results: dict[str, list[ItemResult]] = field(default_factory=lambda: defaultdict(list))
    progress: Progress = field(default_factory=Progress)
    seen_objects: int = 0
    seen_bytes: int = 0
    last_report: float = 0.0
    local_dirs: list[Path] = field(default_factory=list)
    existing: dict[str, ObjectInfo] | None = None
    """The objects under an S3 destination when the run began (conflict checks only)."""

    def record(self, result: ItemResult) -> None:
        self.results[result.status].append(result)
        done = result.status in ("done", "planned")
        self.progress = replace(
            self.progress,
            objects_done=self.progress.objects_done + (result.status != "failed"),
            bytes_done=self.progress.bytes_done + (result.size if done else 0),
            failed=self.progress.failed + (result.status == "failed"),
        )
        self.report()

    def report(self, *, final: bool = False) -> None:
        if self.handle is not None:
            self.handle.progress = self.progress
        now = time.monotonic()
        if self.on_progress is not None and (final or now - self.last_report >= _PROGRESS_INTERVAL):
            self.last_report = now
            self.on_progress(self.progress)


class _DeleteBatches:
    """Collects S3 keys per bucket and deletes them 1000 at a time."""

    def __init__(self, scheduler: OperationScheduler, run: _Run) -> None:
        self._scheduler = scheduler
        self._run = run
        self._pending: dict[str, list[tuple[str, ItemResult]]] = defaultdict(list)

    def add(self, tg: TaskGroup, bucket: str, key: str, result: ItemResult) -> None:
        batch = self._pending[bucket]
        batch.append((key, result))
        if len(batch) >= _DELETE_BATCH:
            self._pending[bucket] = []
            tg.start_soon(self._delete, bucket, batch)

    async def flush(self) -> None:
        pending, self._pending = self._pending, defaultdict(list)
        async with task_group() as tg:
            for bucket, batch in pending.items():
                if batch:
                    tg.start_soon(self._delete, bucket, batch)

    async def _delete(self, bucket: str, batch: list[tuple[str, ItemResult]]) -> None:
        keys = [key for key, _ in batch]
        try:
            outcome = await self._scheduler.client.delete_many(bucket, keys)
        except Exception as failure:
            for _, result in batch:
                reported: BaseException = failure
                if self._run.kind == "move":  # say that the copy is there and sound
                    reported = S3Error(
                        f"{result.source}: copied and verified to {result.destination}, "
                        f"but deleting the source failed: {failure}",
                        code=getattr(failure, "code", None) or "DeleteFailed",
                        operation="DeleteObjects",
                        location=result.source,
                    )
                    reported.__cause__ = failure
                self._run.record(replace(result, status="failed", error=reported))
            return
        errors = {e.key: e for e in outcome.errors}
        self._scheduler.invalidator.emit(ChangeEvent(bucket, deleted=outcome.deleted))
        for key, result in batch:
            error = errors.get(key)
            if error is None:
                self._run.record(result)
            else:
                exc = S3Error(
                    f"s3://{bucket}/{key}: {error.code}: {error.message}",
                    code=error.code,
                    operation="DeleteObjects",
                    location=f"s3://{bucket}/{key}",
                )
                self._run.record(replace(result, status="failed", error=exc))


class OperationScheduler:
    def __init__(self, client: S3Client, cache: S3Cache, invalidator: BatchedInvalidator) -> None:
        self.client = client
        self.cache = cache
        self.invalidator = invalidator

    def __repr__(self) -> str:
        return f"<OperationScheduler concurrency={self.client.settings.concurrency}>"

    async def run(
        self,
        kind: OperationKind,
        sources: list[str],
        destination: str | None,
        *,
        conflict: Conflict = "overwrite",
        dry_run: bool = False,
        progress: ProgressCallback | None = None,
    ) -> OperationResult:
        if conflict not in ("overwrite", "skip", "error"):
            raise ValueError(f"conflict must be 'overwrite', 'skip' or 'error', not {conflict!r}")
        started = time.monotonic()
        calls_before = Counter(self.client.api_calls)
        target = parse_location(destination) if destination is not None else None
        run = _Run(kind, conflict, dry_run, progress, current_handle.get())
        deletes = _DeleteBatches(self, run)
        with anyio.CancelScope() as scope:
            if run.handle is not None:
                run.handle._attach(scope)
            if conflict != "overwrite" and isinstance(target, S3Location) and target.bucket:
                # one recursive listing answers every existence check below; kept for the
                # run, since this run's own writes invalidate the cached listings
                tree = await scan_tree(self.client, self.cache, target.bucket, dir_form(target.key))
                run.existing = {i.key: i for infos in tree.files.values() for i in infos}
            send, receive = anyio.create_memory_object_stream[Item | Missing | Refused](1000)
            async with task_group() as tg:
                tg.start_soon(self._produce, send, sources, target, run)
                async with receive:
                    for _ in range(self.client.settings.concurrency):
                        tg.start_soon(self._work, receive.clone(), run, deletes, tg)
            await deletes.flush()
            await self._remove_local_dirs(run)
        with anyio.CancelScope(shield=True):
            await self.invalidator.flush()
        run.report(final=True)
        calls = Counter(self.client.api_calls)
        calls.subtract(calls_before)
        return OperationResult(
            operation=kind,
            succeeded=tuple(run.results["done"]),
            skipped=tuple(run.results["skipped"]),
            failed=tuple(run.results["failed"]),
            planned=tuple(run.results["planned"]),
            bytes=sum(r.size for r in run.results["done"]),
            duration=time.monotonic() - started,
            api_calls={k: v for k, v in sorted(calls.items()) if v},
            cancelled=scope.cancelled_caught,
            dry_run=dry_run,
        )

    async def _produce(
        self,
        send: anyio.abc.ObjectSendStream[Item | Missing | Refused],
        sources: list[str],
        target: Location | None,
        run: _Run,
    ) -> None:
        async with send:
            for text in sources:
                source = parse_location(text)
                if (
                    isinstance(source, Path)
                    and run.kind != "copy"
                    and await anyio.Path(source).is_dir()
                ):
                    run.local_dirs.append(source)
            async for item in expand(self.client, sources, target):
                if isinstance(item, Item):
                    run.seen_objects += 1
                    run.seen_bytes += item.size
                await send.send(item)
        run.progress = replace(
            run.progress, objects_total=run.seen_objects, bytes_total=run.seen_bytes
        )
        run.report()

    async def _work(
        self,
        receive: anyio.abc.ObjectReceiveStream[Item | Missing | Refused],
        run: _Run,
        deletes: _DeleteBatches,
        tg: TaskGroup,
    ) -> None:
        async with receive:
            async for item in receive:
                if isinstance(item, Missing):
                    error = FileNotFoundError(f"{item.source}: no such file or directory")
                    run.record(ItemResult(item.source, None, "failed", error=error))
                    continue
                if isinstance(item, Refused):
                    run.record(ItemResult(item.source, None, "failed", error=item.error))
                    continue
                try:
                    await self._one(item, run, deletes, tg)
                except Exception as exc:  # one bad item never stops the others
                    run.record(
                        ItemResult(
                            str(item.source), _text(item.destination), "failed", item.size, exc
                        )
                    )

    async def _one(self, item: Item, run: _Run, deletes: _DeleteBatches, tg: TaskGroup) -> None:
        source, target = item.source, item.destination
        result = ItemResult(str(source), _text(target), "done", item.size)
        checks = not item.is_dir and run.conflict != "overwrite"
        already_there = False
        if checks and target is not None and await self._exists(target, run):
            finishing = run.kind == "move" and run.conflict == "skip"
            if finishing and await self._identical(item, target, run):
                # an earlier, interrupted run copied it: finishing the move is safe
                already_there = True
                result = replace(result, reason="destination already held an identical copy")
            elif run.conflict == "skip":
                run.record(replace(result, status="skipped", reason="destination exists"))
                return
            else:
                raise AlreadyExistsError(
                    f"{target}: destination exists",
                    code="AlreadyExists",
                    operation=run.kind,
                    location=str(target),
                )
        if run.dry_run:
            run.record(replace(result, status="planned"))
            return
        if target is not None and not already_there:
            written = await transfer(self.client, item)
            if isinstance(target, S3Location):
                self.invalidator.emit(ChangeEvent(target.bucket, written=(target.key,)))
            if run.kind == "copy":
                run.record(result)
                return
            _verify(item, written)
        # a move whose copy is verified, or a delete: the source goes
        if isinstance(source, S3Location):
            deletes.add(tg, source.bucket, source.key, result)
        else:
            if not item.is_dir:
                await anyio.Path(source).unlink()
            run.record(result)

    async def _existing(self, target: S3Location, run: _Run) -> ObjectInfo | None:
        if run.existing is not None:
            return run.existing.get(target.key)
        return await self.cache.file(target.bucket, target.key)

    async def _exists(self, target: Location, run: _Run) -> bool:
        if isinstance(target, Path):
            return await anyio.Path(target).exists()
        return await self._existing(target, run) is not None

    async def _identical(self, item: Item, target: Location, run: _Run) -> bool:
        """Whether ``target`` holds the same bytes as the item's source, by size and MD5 (a
        single-part ETag is one). Unknown, as with a multipart ETag, counts as different."""
        source_md5 = plain_md5(item.etag)
        if isinstance(target, S3Location):
            info = await self._existing(target, run)
            target_md5 = plain_md5(info.etag) if info is not None else None
            if info is None or info.size != item.size or target_md5 is None:
                return False
        else:
            if (await anyio.Path(target).stat()).st_size != item.size:
                return False
            target_md5 = await anyio.to_thread.run_sync(md5_of, target)
        if source_md5 is None and isinstance(item.source, Path):
            source_md5 = await anyio.to_thread.run_sync(md5_of, item.source)
        return source_md5 is not None and source_md5 == target_md5

    async def _remove_local_dirs(self, run: _Run) -> None:
        """After a move or delete of local directories, remove the emptied folders."""
        for root in run.local_dirs:
            if not run.dry_run and not run.results["failed"]:
                await anyio.to_thread.run_sync(_remove_empty_tree, root)


def _verify(item: Item, written: Written) -> None:
    if item.is_dir:
        return
    expected_md5 = plain_md5(item.etag)
    if written.size != item.size or (expected_md5 and written.md5 and written.md5 != expected_md5):
        raise S3Error(
            f"{item.source}: the copy does not match the source (size or checksum); "
            "the source is kept",
            code="VerifyFailed",
            operation="move",
            location=str(item.source),
        )


def _remove_empty_tree(root: Path) -> None:
    for directory, _, _ in sorted(os.walk(root), key=lambda w: -len(w[0])):
        with contextlib.suppress(OSError):  # not empty: something in it was kept
            os.rmdir(directory)

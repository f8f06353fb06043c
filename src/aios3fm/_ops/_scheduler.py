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

This is the one copy and move path: bulk operations, ``rename`` and single files placed
at an exact name (a Source with a ``name``) all go through it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

import anyio
import anyio.abc
import anyio.to_thread

from .._cache import BatchedInvalidator, S3Cache, dir_form
from .._events import ChangeEvent
from .._exceptions import PreconditionFailedError, S3Error, already_exists
from .._location import S3Location, parse_location
from .._models import ItemResult, ObjectInfo, OperationResult
from .._s3 import S3Client, part_size
from .._tasks import task_group
from ._deletes import DeleteBatches
from ._items import Item, Location, Missing, Planned, Refused, Skipped, Source, Stamp
from ._names import same_refusal
from ._plan import Policy, expand
from ._run import ItemCallback, ProgressCallback, Run
from ._transfer import (
    Written,
    etag_matches,
    md5_of,
    plain_md5,
    source_changed,
    stamp_of,
    transfer,
)

__all__ = ["Conflict", "OperationKind", "OperationScheduler"]

Conflict = Literal["overwrite", "skip", "error"]
OperationKind = Literal["copy", "move", "delete"]


def _text(location: Location | None) -> str | None:
    return None if location is None else str(location)


class _Job:
    """What one scheduler run keeps beside its Run."""

    def __init__(
        self, kind: OperationKind, conflict: Conflict, run: Run, policy: Policy,
        if_unchanged: bool,
    ) -> None:  # fmt: skip
        self.kind = kind
        self.conflict = conflict
        self.run = run
        self.policy = policy
        self.if_unchanged = if_unchanged
        self.seen_objects = 0
        self.seen_bytes = 0
        self.local_dirs: list[Path] = []
        self.existing: dict[str, ObjectInfo] | None = None
        """The objects under an S3 destination when the run began (conflict checks only)."""


class OperationScheduler:
    """Runs copy, move and delete for one FileManager (``fm.scheduler``)."""

    def __init__(self, client: S3Client, cache: S3Cache, invalidator: BatchedInvalidator) -> None:
        self.client = client
        self.cache = cache
        self.invalidator = invalidator

    def __repr__(self) -> str:
        return f"<OperationScheduler concurrency={self.client.settings.concurrency}>"

    async def run(
        self,
        kind: OperationKind,
        sources: Sequence[Source],
        destination: str | None,
        *,
        conflict: Conflict = "overwrite",
        dry_run: bool = False,
        progress: ProgressCallback | None = None,
        follow_symlinks: bool = True,
        if_unchanged: bool = False,
        on_item: ItemCallback | None = None,
        keep_items: bool = True,
    ) -> OperationResult:
        """Act on every item the sources expand to, placing each inside ``destination``
        (a directory) under its own name or the name its Source gives.
        ``follow_symlinks`` (copies of local trees), ``if_unchanged`` (deletes: only
        what the listing showed), ``on_item`` and ``keep_items`` as for FileManager's
        methods."""
        if conflict not in ("overwrite", "skip", "error"):
            raise ValueError(f"conflict must be 'overwrite', 'skip' or 'error', not {conflict!r}")
        target = parse_location(destination) if destination is not None else None
        for source in sources:  # a malformed location is refused before anything starts
            parse_location(source.location)
        run = Run(
            kind, self.client.api_calls, dry_run=dry_run, progress=progress,
            on_item=on_item, keep_items=keep_items,
        )  # fmt: skip
        job = _Job(kind, conflict, run, Policy(kind, follow_symlinks), if_unchanged)
        self._note_what_is_not_atomic(job, sources, target)
        deletes = DeleteBatches(self.client, self.invalidator, run, move=kind == "move")
        try:
            with job.run.cancellable():
                if conflict != "overwrite" and isinstance(target, S3Location) and target.bucket:
                    await self._scan_destination(job, target, sources)
                send, receive = anyio.create_memory_object_stream[Planned](1000)
                async with task_group() as tg:
                    tg.start_soon(self._produce, send, sources, target, job)
                    async with receive:
                        for _ in range(self.client.settings.concurrency):
                            tg.start_soon(self._work, receive.clone(), job, deletes, tg)
                await deletes.flush()
                await self._remove_local_dirs(job)
        finally:
            with anyio.CancelScope(shield=True):
                await self.invalidator.flush()
        return job.run.result()

    def _note_what_is_not_atomic(
        self, job: _Job, sources: Sequence[Source], target: Location | None
    ) -> None:
        """Say in the result where the endpoint's capabilities (a probe's findings) make
        a guarantee a check of aios3fm's own instead of the server's atomic condition."""
        can = self.client.capabilities.honours
        from_s3 = [isinstance(parse_location(s.location), S3Location) for s in sources]
        if job.conflict != "overwrite" and isinstance(target, S3Location):
            ignored = []
            if not all(from_s3) and not can("conditional_put"):
                ignored.append("PutObject")
            if any(from_s3) and not can("conditional_copy"):
                ignored.append("CopyObject")
            if ignored:
                job.run.note(
                    f"conflict={job.conflict!r} is checked by a HEAD before each write: the "
                    f"endpoint does not honour If-None-Match on {' and '.join(ignored)}, so "
                    "a writer racing this job could still be overwritten"
                )
        pinned = job.kind == "move" or (job.kind == "delete" and job.if_unchanged)
        if pinned and any(from_s3) and not can("conditional_delete_batch"):
            if can("conditional_delete"):
                job.run.note(
                    "the endpoint ignores DeleteObjects' per-key ETags: each S3 source is "
                    "deleted by its own DeleteObject with If-Match"
                )
            else:
                job.run.note(
                    "the endpoint ignores conditional deletes: each S3 source's ETag is "
                    "checked by a HEAD before it is deleted, so a version written in "
                    "between could still be deleted"
                )

    async def _scan_destination(
        self, job: _Job, target: S3Location, sources: Sequence[Source]
    ) -> None:
        """One recursive listing answers every existence check of the run; kept for the
        run, since this run's own writes invalidate the cached listings. Sources that are
        known files (one item each) are checked one by one instead."""
        if all(s.info is not None and not s.info.is_dir for s in sources):
            return
        tree = await self.cache.scan_tree(target.bucket, dir_form(target.key))
        job.existing = {i.key: i for infos in tree.files.values() for i in infos}

    async def _produce(
        self,
        send: anyio.abc.ObjectSendStream[Planned],
        sources: Sequence[Source],
        target: Location | None,
        job: _Job,
    ) -> None:
        trees = job.local_dirs.append if job.kind != "copy" else None
        async with send:
            for source in sources:
                try:
                    async for item in expand(
                        self.client, [source], target, policy=job.policy, local_tree=trees
                    ):
                        if isinstance(item, Item):
                            job.seen_objects += 1
                            job.seen_bytes += item.size
                        await send.send(item)
                except Exception as exc:  # a listing page failed: what was done stays done
                    await send.send(Refused(source.location, exc))
        job.run.totals(job.seen_objects, job.seen_bytes)

    async def _work(
        self,
        receive: anyio.abc.ObjectReceiveStream[Planned],
        job: _Job,
        deletes: DeleteBatches,
        tg: anyio.abc.TaskGroup,
    ) -> None:
        run = job.run
        async with receive:
            async for item in receive:
                if isinstance(item, Missing):
                    error = FileNotFoundError(f"{item.source}: no such file or directory")
                    run.record(ItemResult(item.source, None, "failed", error=error))
                    continue
                if isinstance(item, Refused):
                    run.record(ItemResult(item.source, None, "failed", error=item.error))
                    continue
                if isinstance(item, Skipped):
                    run.record(ItemResult(item.source, None, "skipped", reason=item.reason))
                    continue
                try:
                    await self._one(item, job, deletes, tg)
                except Exception as exc:  # one bad item never stops the others
                    run.record(
                        ItemResult(
                            str(item.source), _text(item.destination), "failed", item.size, exc
                        )
                    )

    async def _one(
        self, item: Item, job: _Job, deletes: DeleteBatches, tg: anyio.abc.TaskGroup
    ) -> None:
        source, target = item.source, item.destination
        run = job.run
        result = ItemResult(str(source), _text(target), "done", item.size)
        if target is not None and await _same_object(source, target):
            raise same_refusal(source, target)
        checks = not item.is_dir and job.conflict != "overwrite"
        already_there = False
        if checks and target is not None and await self._exists(target, job):
            finishing = job.kind == "move" and job.conflict == "skip"
            if finishing and await self._identical(item, target, job):
                # an earlier, interrupted run copied it: finishing the move is safe
                already_there = True
                result = replace(result, reason="destination already held an identical copy")
            elif job.conflict == "skip":
                run.record(replace(result, status="skipped", reason="destination exists"))
                return
            else:
                raise already_exists(target, job.kind, "destination exists")
        if run.dry_run:
            run.record(replace(result, status="planned"))
            return
        written: Written | None = None
        if target is not None and not already_there:
            guarded = checks and isinstance(target, S3Location)  # If-None-Match: *
            try:
                written = await transfer(
                    self.client, item, pinned=job.kind == "move", if_none_match=guarded
                )
            except PreconditionFailedError:
                if not guarded or not await self._exists(target, None):
                    raise  # the pinned source changed, not the destination
                reason = "destination exists (written while this job ran)"
                if job.conflict == "skip":
                    run.record(replace(result, status="skipped", reason=reason))
                    return
                raise already_exists(target, job.kind, reason) from None
            finally:  # written, or perhaps written when it failed or was cancelled mid-call
                if isinstance(target, S3Location):
                    self.invalidator.emit(ChangeEvent(target.bucket, written=(target.key,)))
            if job.kind == "copy":
                run.record(result)
                return
            _verify(item, written)
        # a move whose copy is verified, or a delete: the source goes, in the version
        # that was copied (a move) or listed (if_unchanged), never a newer one
        if isinstance(source, S3Location):
            pinned = job.kind == "move" or job.if_unchanged
            version = (written.source_etag if written else None) or item.etag
            deletes.add(tg, source.bucket, source.key, version if pinned else None, result)
            return
        if not item.is_dir:
            expected = written.stamp if written is not None else None
            if expected is not None or job.if_unchanged:
                await _unlink_if(source, expected or item.stamp)
            else:
                await anyio.Path(source).unlink()
        run.record(result)

    async def _existing(self, target: S3Location, job: _Job | None) -> ObjectInfo | None:
        if job is not None and job.existing is not None:
            return job.existing.get(target.key)
        return await self.cache.file(target.bucket, target.key, fresh=True)  # guards a write

    async def _exists(self, target: Location, job: _Job | None) -> bool:
        """Whether ``target`` exists: by the job's scan of the destination when it made
        one, else asked now (``job`` None: always asked now)."""
        if isinstance(target, Path):
            return await anyio.Path(target).exists()
        return await self._existing(target, job) is not None

    async def _identical(self, item: Item, target: Location, job: _Job) -> bool:
        """Whether ``target`` holds the same bytes as the item's source: by size, then by
        MD5 (a single-part ETag is one) or by the multipart ETag recomputed from the local
        side. Unknown (two S3 objects with different kinds of ETag) counts as different."""
        source, size = item.source, item.size
        if isinstance(target, S3Location):
            info = await self._existing(target, job)
            if info is None or info.size != size:
                return False
            if isinstance(source, S3Location):
                return info.etag is not None and info.etag == item.etag
            own = part_size(size, self.client.settings.multipart_chunksize)
            return await anyio.to_thread.run_sync(etag_matches, source, info.etag, size, own)
        if (await anyio.Path(target).stat()).st_size != size:
            return False
        if isinstance(source, S3Location):
            own = part_size(size, self.client.settings.multipart_chunksize)
            return await anyio.to_thread.run_sync(etag_matches, target, item.etag, size, own)
        target_md5 = await anyio.to_thread.run_sync(md5_of, target)
        return target_md5 == await anyio.to_thread.run_sync(md5_of, source)

    async def _remove_local_dirs(self, job: _Job) -> None:
        """After a move or delete of local directories, remove the emptied folders."""
        for root in job.local_dirs:
            if not job.run.dry_run and not job.run.failures:
                await anyio.to_thread.run_sync(_remove_empty_tree, root)


async def _same_object(source: Location, target: Location) -> bool:
    """Whether both sides are one object: the same bucket and key, or the same local file
    once ``.``, ``..`` and symlinks are resolved (hard links included)."""
    if isinstance(source, S3Location) or isinstance(target, S3Location):
        return source == target
    return await anyio.to_thread.run_sync(_same_file, source, target)


def _same_file(source: Path, target: Path) -> bool:
    if os.path.realpath(source) == os.path.realpath(target):
        return True
    try:
        return os.path.samefile(source, target)
    except OSError:  # the target does not exist (yet)
        return False


async def _unlink_if(source: Path, stamp: Stamp | None) -> None:
    """Remove a local source only if it is still the file that was copied (or listed):
    same size, mtime in nanoseconds, inode and device; else keep it and say so."""
    if stamp is None or await anyio.to_thread.run_sync(stamp_of, source) != stamp:
        raise source_changed(source, "after it was read")
    await anyio.Path(source).unlink()


def _verify(item: Item, written: Written) -> None:
    if item.is_dir and not isinstance(item.source, S3Location):
        return  # a local directory, recreated: nothing to compare
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

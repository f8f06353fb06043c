"""DeleteBatches: the S3 deletes of an operation, 1000 keys per DeleteObjects per bucket.

A key may carry the ETag it must still have (a move deletes only the version it copied;
``delete(if_unchanged=True)`` only what the listing showed): S3 then deletes it only if it
still has that ETag, and reports the others one by one (PreconditionFailed), which become
failed items saying the source changed and was kept. What a batch may have deleted is
invalidated however the request ends, failed or cancelled included.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

import anyio.abc

from .._cache import BatchedInvalidator
from .._events import ChangeEvent
from .._exceptions import S3Error
from .._models import ItemResult
from .._s3 import S3Client
from .._tasks import task_group
from ._run import Run

__all__ = ["DeleteBatches"]

_DELETE_BATCH = 1000
_Pending = tuple[str, str | None, ItemResult]  # key, the ETag it must still have, result


class DeleteBatches:
    def __init__(
        self, client: S3Client, invalidator: BatchedInvalidator, run: Run, *, move: bool
    ) -> None:
        self._client = client
        self._invalidator = invalidator
        self._run = run
        self._move = move
        self._pending: dict[str, list[_Pending]] = defaultdict(list)

    def add(
        self, tg: anyio.abc.TaskGroup, bucket: str, key: str, etag: str | None, result: ItemResult
    ) -> None:
        batch = self._pending[bucket]
        batch.append((key, etag, result))
        if len(batch) >= _DELETE_BATCH:
            self._pending[bucket] = []
            tg.start_soon(self._delete, bucket, batch)

    async def flush(self) -> None:
        pending, self._pending = self._pending, defaultdict(list)
        async with task_group() as tg:
            for bucket, batch in pending.items():
                if batch:
                    tg.start_soon(self._delete, bucket, batch)

    async def _delete(self, bucket: str, batch: list[_Pending]) -> None:
        keys = [key for key, _, _ in batch]
        etags = {key: etag for key, etag, _ in batch if etag}
        try:
            outcome = await self._client.delete_many(bucket, keys, etags=etags)
        except Exception as failure:
            for _, _, result in batch:
                self._run.record(
                    replace(result, status="failed", error=self._failed(result, failure))
                )
            return
        finally:  # applied, or perhaps applied when it failed or was cancelled mid-call
            self._invalidator.emit(ChangeEvent(bucket, deleted=tuple(keys)))
        errors = {e.key: e for e in outcome.errors}
        for key, _, result in batch:
            error = errors.get(key)
            if error is None:
                self._run.record(result)
                continue
            location = f"s3://{bucket}/{key}"
            if error.code == "PreconditionFailed":
                what = "since it was copied" if self._move else "since it was listed"
                message = f"{location}: changed {what}; not deleted, the new version is kept"
                code = "SourceChanged"
            else:
                message, code = f"{location}: {error.code}: {error.message}", error.code
            exc = S3Error(message, code=code, operation="DeleteObjects", location=location)
            self._run.record(replace(result, status="failed", error=exc))

    def _failed(self, result: ItemResult, failure: Exception) -> BaseException:
        if not self._move:
            return failure
        reported = S3Error(  # say that the copy is there and sound
            f"{result.source}: copied and verified to {result.destination}, "
            f"but deleting the source failed: {failure}",
            code=getattr(failure, "code", None) or "DeleteFailed",
            operation="DeleteObjects",
            location=result.source,
        )
        reported.__cause__ = failure
        return reported

"""Writing objects: one PutObject, a multipart upload from bytes or a stream, and a
multipart copy, each on the Transport's counted, limited calls.

Parts go concurrently through the transport's one semaphore, in a sliding window of at
most ``_MAX_INFLIGHT_PARTS`` parts held in memory. Any failure or cancellation aborts the
upload (shielded, so a cancelled caller still leaves no orphaned parts behind).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager
from datetime import timedelta
from typing import Any

import anyio
import anyio.abc

from .._exceptions import PreconditionFailedError, S3Error
from .._models import PutResult
from .._tasks import task_group
from ._responses import strip_etag
from ._transport import Transport

__all__ = [
    "MAX_PARTS",
    "abort",
    "complete",
    "copy_multipart",
    "create",
    "part_size",
    "put_object",
    "upload_bytes",
    "upload_part",
    "upload_stream",
]

logger = logging.getLogger("aios3fm")

MAX_PARTS = 10_000
_CLOCK_SLACK = 5.0  # seconds an earlier attempt's initiation may read off the server's clock
_NONE: Mapping[str, Any] = {}
"""No condition: ``condition`` is what a write must find to happen (``IfNoneMatch``),
sent with PutObject and CompleteMultipartUpload (CreateMultipartUpload takes none)."""
_MAX_INFLIGHT_PARTS = 8  # parts held in memory at once: 8 x 8 MiB, about what aws cli keeps


def part_size(total: int, chunksize: int) -> int:
    """The smallest power-of-two multiple of ``chunksize`` that fits ``total`` in 10,000 parts."""
    size = chunksize
    while total > size * MAX_PARTS:
        size *= 2
    return size


def _location(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


# -- the calls, one per S3 operation --------------------------------------------------------


async def put_object(
    transport: Transport,
    bucket: str,
    key: str,
    data: bytes,
    extra: Mapping[str, Any],
    condition: Mapping[str, Any] = _NONE,
) -> PutResult:
    response = await transport.call(
        "PutObject", _location(bucket, key), Bucket=bucket, Key=key, Body=data, **extra,
        **condition,
    )  # fmt: skip
    return PutResult(bucket, key, len(data), strip_etag(response.get("ETag")) or "")


async def create(transport: Transport, bucket: str, key: str, extra: Mapping[str, Any]) -> str:
    """A new multipart upload. If it took a retry, an earlier attempt may have been
    applied with its answer lost: that orphan is found and aborted at once."""
    response, retried = await transport.call_retried(
        "CreateMultipartUpload", _location(bucket, key), Bucket=bucket, Key=key, **extra
    )
    upload_id = str(response["UploadId"])
    if retried:
        await _abort_orphans(transport, bucket, key, upload_id)
    return upload_id


async def _abort_orphans(transport: Transport, bucket: str, key: str, ours: str) -> None:
    """Abort the uploads of ``key`` initiated within one retry deadline before ``ours``:
    the ones our own earlier attempts made. Best effort: a failure is logged."""
    location = _location(bucket, key)
    try:
        response = await transport.call("ListMultipartUploads", location, Bucket=bucket, Prefix=key)
        uploads = [u for u in response.get("Uploads", ()) if u["Key"] == key]
        mine = next((u for u in uploads if u["UploadId"] == ours), None)
        if mine is None:
            return
        window = timedelta(seconds=transport.settings.retry_deadline + _CLOCK_SLACK)
        for upload in uploads:
            initiated = upload["Initiated"]
            if upload["UploadId"] != ours and mine["Initiated"] - window <= initiated:
                await abort(transport, bucket, key, str(upload["UploadId"]), missing_ok=True)
    except S3Error as exc:
        logger.warning("could not look for orphaned uploads of %s: %s", location, exc)


async def upload_part(
    transport: Transport, bucket: str, key: str, upload_id: str, number: int, data: bytes
) -> str:
    response = await transport.call(
        "UploadPart", _location(bucket, key), Bucket=bucket, Key=key, UploadId=upload_id,
        PartNumber=number, Body=data,
    )  # fmt: skip
    return str(response["ETag"])


async def complete(
    transport: Transport,
    bucket: str,
    key: str,
    upload_id: str,
    etags: Sequence[str],
    condition: Mapping[str, Any] = _NONE,
) -> str:
    """Complete with part ``i + 1`` having ``etags[i]``; returns the object's ETag."""
    parts = [{"PartNumber": i + 1, "ETag": etag} for i, etag in enumerate(etags)]
    response = await transport.call(
        "CompleteMultipartUpload", _location(bucket, key), Bucket=bucket, Key=key,
        UploadId=upload_id, MultipartUpload={"Parts": parts}, **condition,
    )  # fmt: skip
    return strip_etag(response.get("ETag")) or ""


async def abort(
    transport: Transport, bucket: str, key: str, upload_id: str, *, missing_ok: bool = False
) -> None:
    """Abort the upload. ``missing_ok``: one already gone (an abort whose answer was lost,
    retried, answers NoSuchUpload) is what was asked for, not an error."""
    try:
        await transport.call(
            "AbortMultipartUpload", _location(bucket, key), Bucket=bucket, Key=key,
            UploadId=upload_id,
        )  # fmt: skip
    except S3Error as exc:
        if not missing_ok or exc.code != "NoSuchUpload":
            raise


# -- uploads ----------------------------------------------------------------------------------


@asynccontextmanager
async def _multipart_upload(
    transport: Transport, bucket: str, key: str, extra: Mapping[str, Any]
) -> AsyncIterator[str]:
    upload_id = await create(transport, bucket, key, extra)
    try:
        yield upload_id
    except BaseException as failure:
        with anyio.CancelScope(shield=True):
            try:
                await abort(transport, bucket, key, upload_id, missing_ok=True)
            except S3Error as exc:
                logger.warning("could not abort multipart upload of %s: %s", exc.location, exc)
                if isinstance(failure, Exception):  # say so with the failure, not only a log
                    raise _left_behind(failure, bucket, key, upload_id, exc) from failure
        raise


def _left_behind(
    failure: Exception, bucket: str, key: str, upload_id: str, abort_error: S3Error
) -> S3Error:
    location = _location(bucket, key)
    return S3Error(
        f"{failure}; and its multipart upload {upload_id} could not be aborted "
        f"({abort_error}): its parts stay in s3://{bucket}/ until a lifecycle rule or "
        "abort_multipart_upload removes them",
        code=getattr(failure, "code", None) or "UploadLeftBehind",
        operation="AbortMultipartUpload", location=location,
    )  # fmt: skip


class _PartWindow:
    """Sends numbered parts concurrently, holding at most a fixed number in memory."""

    def __init__(self, transport: Transport, bucket: str, key: str, upload_id: str) -> None:
        self._transport = transport
        self._target = (bucket, key, upload_id)
        self._room = anyio.Semaphore(min(_MAX_INFLIGHT_PARTS, transport.settings.concurrency))
        self.etags: dict[int, str] = {}

    async def send(self, tg: anyio.abc.TaskGroup, number: int, data: bytes) -> None:
        if number > MAX_PARTS:
            raise ValueError(f"more than {MAX_PARTS} parts: pass a size_hint to grow the parts")
        await self._room.acquire()
        tg.start_soon(self._upload, number, data)

    async def _upload(self, number: int, data: bytes) -> None:
        try:
            bucket, key, upload_id = self._target
            self.etags[number] = await upload_part(
                self._transport, bucket, key, upload_id, number, data
            )
        finally:
            self._room.release()

    def ordered(self) -> list[str]:
        return [self.etags[n] for n in sorted(self.etags)]


async def upload_bytes(
    transport: Transport,
    bucket: str,
    key: str,
    data: bytes,
    extra: Mapping[str, Any],
    condition: Mapping[str, Any] = _NONE,
) -> PutResult:
    size = part_size(len(data), transport.settings.multipart_chunksize)
    view = memoryview(data)
    async with _multipart_upload(transport, bucket, key, extra) as upload_id:
        window = _PartWindow(transport, bucket, key, upload_id)
        async with task_group() as tg:
            for number, offset in enumerate(range(0, len(data), size), start=1):
                await window.send(tg, number, bytes(view[offset : offset + size]))
        etag = await complete(transport, bucket, key, upload_id, window.ordered(), condition)
    return PutResult(bucket, key, len(data), etag, len(window.etags))


async def _split(chunks: AsyncIterator[bytes], size: int) -> AsyncGenerator[bytes, None]:
    buffer = bytearray()
    try:
        async for chunk in chunks:
            buffer += chunk
            while len(buffer) >= size:
                yield bytes(buffer[:size])
                del buffer[:size]
        if buffer:
            yield bytes(buffer)
    finally:
        # close the source now (its file, say), not whenever the generator is collected
        close = getattr(chunks, "aclose", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await close()


async def upload_stream(
    transport: Transport,
    bucket: str,
    key: str,
    chunks: AsyncIterator[bytes],
    extra: Mapping[str, Any],
    size_hint: int | None,
    condition: Mapping[str, Any] = _NONE,
) -> PutResult:
    """One PutObject when the stream ends within the threshold, else a multipart upload."""
    size = part_size(size_hint or 0, transport.settings.multipart_chunksize)
    async with aclosing(_split(chunks, size)) as parts:
        return await _upload_parts(transport, bucket, key, parts, extra, condition)


async def _upload_parts(
    transport: Transport,
    bucket: str,
    key: str,
    parts: AsyncIterator[bytes],
    extra: Mapping[str, Any],
    condition: Mapping[str, Any],
) -> PutResult:
    head: list[bytes] = []
    total = 0
    async for part in parts:
        head.append(part)
        total += len(part)
        if total > transport.settings.multipart_threshold:
            break
    else:
        return await put_object(transport, bucket, key, b"".join(head), extra, condition)
    async with _multipart_upload(transport, bucket, key, extra) as upload_id:
        window = _PartWindow(transport, bucket, key, upload_id)
        async with task_group() as tg:
            number = 0
            for number, part in enumerate(head, start=1):
                await window.send(tg, number, part)
            head.clear()
            async for part in parts:
                number += 1
                total += len(part)
                await window.send(tg, number, part)
        etag = await complete(transport, bucket, key, upload_id, window.ordered(), condition)
    return PutResult(bucket, key, total, etag, len(window.etags))


# -- copies -----------------------------------------------------------------------------------


async def copy_multipart(
    transport: Transport,
    src_bucket: str,
    src_key: str,
    dst_bucket: str,
    dst_key: str,
    if_match: str | None = None,
    condition: Mapping[str, Any] = _NONE,
) -> PutResult:
    """UploadPartCopy in parallel ranges. The source is HEADed once for its size, type and
    metadata (a multipart copy does not carry them over by itself), and every part is
    pinned to that ETag so a source replaced mid-copy fails the copy instead of mixing;
    with ``if_match``, that must be the ETag the caller expects."""
    location = _location(src_bucket, src_key)
    head = await transport.call("HeadObject", location, Bucket=src_bucket, Key=src_key)
    total = int(head["ContentLength"])
    source_etag = head["ETag"]
    if if_match and strip_etag(source_etag) != strip_etag(if_match):
        raise PreconditionFailedError(
            f"{location}: the source changed (its ETag is not {if_match}) (UploadPartCopy)",
            code="PreconditionFailed", operation="UploadPartCopy", location=location,
            status=412,
        )  # fmt: skip
    extra: dict[str, Any] = {"Metadata": head.get("Metadata", {})}
    if head.get("ContentType"):
        extra["ContentType"] = head["ContentType"]
    size = part_size(total, transport.settings.copy_chunksize)
    location = _location(dst_bucket, dst_key)
    etags: dict[int, str] = {}

    async def copy_part(number: int, first: int, last: int) -> None:
        response = await transport.call(
            "UploadPartCopy", location, Bucket=dst_bucket, Key=dst_key, UploadId=upload_id,
            PartNumber=number, CopySource={"Bucket": src_bucket, "Key": src_key},
            CopySourceRange=f"bytes={first}-{last}", CopySourceIfMatch=source_etag,
        )  # fmt: skip
        etags[number] = response["CopyPartResult"]["ETag"]

    async with _multipart_upload(transport, dst_bucket, dst_key, extra) as upload_id:
        async with task_group() as tg:
            for number, offset in enumerate(range(0, total, size), start=1):
                tg.start_soon(copy_part, number, offset, min(offset + size, total) - 1)
        ordered = [etags[n] for n in sorted(etags)]
        etag = await complete(transport, dst_bucket, dst_key, upload_id, ordered, condition)
    return PutResult(dst_bucket, dst_key, total, etag, len(ordered))

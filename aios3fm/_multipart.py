"""Multipart upload and multipart copy, on top of S3Client's counted, limited calls.

Parts go concurrently through the client's one semaphore, in a sliding window of at most
``_MAX_INFLIGHT_PARTS`` parts held in memory. Any failure or cancellation aborts the
upload (shielded, so a cancelled caller still leaves no orphaned parts behind).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing, asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from ._exceptions import S3Error
from ._models import PutResult
from ._tasks import task_group

if TYPE_CHECKING:
    from ._client import S3Client

__all__ = ["MAX_PARTS", "copy_multipart", "part_size", "upload_bytes", "upload_stream"]

logger = logging.getLogger("aios3fm")

MAX_PARTS = 10_000
_MAX_INFLIGHT_PARTS = 8  # parts held in memory at once: 8 x 8 MiB, about what aws cli keeps


def part_size(total: int, chunksize: int) -> int:
    """The smallest power-of-two multiple of ``chunksize`` that fits ``total`` in 10,000 parts."""
    size = chunksize
    while total > size * MAX_PARTS:
        size *= 2
    return size


def _location(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


@asynccontextmanager
async def _multipart_upload(
    client: S3Client, bucket: str, key: str, extra: Mapping[str, Any]
) -> AsyncIterator[str]:
    response = await client.call(
        "CreateMultipartUpload", _location(bucket, key), Bucket=bucket, Key=key, **extra
    )
    upload_id = str(response["UploadId"])
    try:
        yield upload_id
    except BaseException:
        with anyio.CancelScope(shield=True):
            try:
                await client.abort_multipart(bucket, key, upload_id)
            except S3Error as exc:
                logger.warning("could not abort multipart upload of %s: %s", exc.location, exc)
        raise


class _PartWindow:
    """Sends numbered parts concurrently, holding at most a fixed number in memory."""

    def __init__(self, client: S3Client, bucket: str, key: str, upload_id: str) -> None:
        self._client = client
        self._target = (bucket, key, upload_id)
        self._room = anyio.Semaphore(min(_MAX_INFLIGHT_PARTS, client.settings.concurrency))
        self.etags: dict[int, str] = {}

    async def send(self, tg: anyio.abc.TaskGroup, number: int, data: bytes) -> None:
        if number > MAX_PARTS:
            raise ValueError(f"more than {MAX_PARTS} parts: pass a size_hint to grow the parts")
        await self._room.acquire()
        tg.start_soon(self._upload, number, data)

    async def _upload(self, number: int, data: bytes) -> None:
        try:
            bucket, key, upload_id = self._target
            self.etags[number] = await self._client.upload_part(
                bucket, key, upload_id, number, data
            )
        finally:
            self._room.release()

    def ordered(self) -> list[str]:
        return [self.etags[n] for n in sorted(self.etags)]


async def upload_bytes(
    client: S3Client, bucket: str, key: str, data: bytes, extra: Mapping[str, Any]
) -> PutResult:
    size = part_size(len(data), client.settings.multipart_chunksize)
    view = memoryview(data)
    async with _multipart_upload(client, bucket, key, extra) as upload_id:
        window = _PartWindow(client, bucket, key, upload_id)
        async with task_group() as tg:
            for number, offset in enumerate(range(0, len(data), size), start=1):
                await window.send(tg, number, bytes(view[offset : offset + size]))
        etag = await client.complete_multipart(bucket, key, upload_id, window.ordered())
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
    client: S3Client,
    bucket: str,
    key: str,
    chunks: AsyncIterator[bytes],
    extra: Mapping[str, Any],
    size_hint: int | None,
) -> PutResult:
    """One PutObject when the stream ends within the threshold, else a multipart upload."""
    settings = client.settings
    async with aclosing(
        _split(chunks, part_size(size_hint or 0, settings.multipart_chunksize))
    ) as parts:
        return await _upload_parts(client, bucket, key, parts, extra)


async def _upload_parts(
    client: S3Client, bucket: str, key: str, parts: AsyncIterator[bytes], extra: Mapping[str, Any]
) -> PutResult:
    settings = client.settings
    head: list[bytes] = []
    total = 0
    async for part in parts:
        head.append(part)
        total += len(part)
        if total > settings.multipart_threshold:
            break
    else:
        return await client._put_object(bucket, key, b"".join(head), extra)
    async with _multipart_upload(client, bucket, key, extra) as upload_id:
        window = _PartWindow(client, bucket, key, upload_id)
        async with task_group() as tg:
            number = 0
            for number, part in enumerate(head, start=1):
                await window.send(tg, number, part)
            head.clear()
            async for part in parts:
                number += 1
                total += len(part)
                await window.send(tg, number, part)
        etag = await client.complete_multipart(bucket, key, upload_id, window.ordered())
    return PutResult(bucket, key, total, etag, len(window.etags))


async def copy_multipart(
    client: S3Client, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str
) -> PutResult:
    """UploadPartCopy in parallel ranges. The source is HEADed once for its size, type and
    metadata (a multipart copy does not carry them over by itself), and every part is
    pinned to that ETag so a source replaced mid-copy fails the copy instead of mixing."""
    head = await client.call(
        "HeadObject", _location(src_bucket, src_key), Bucket=src_bucket, Key=src_key
    )
    total = int(head["ContentLength"])
    source_etag = head["ETag"]
    extra: dict[str, Any] = {"Metadata": head.get("Metadata", {})}
    if head.get("ContentType"):
        extra["ContentType"] = head["ContentType"]
    size = part_size(total, client.settings.copy_chunksize)
    location = _location(dst_bucket, dst_key)
    etags: dict[int, str] = {}

    async def copy_part(number: int, first: int, last: int) -> None:
        response = await client.call(
            "UploadPartCopy", location, Bucket=dst_bucket, Key=dst_key, UploadId=upload_id,
            PartNumber=number, CopySource={"Bucket": src_bucket, "Key": src_key},
            CopySourceRange=f"bytes={first}-{last}", CopySourceIfMatch=source_etag,
        )  # fmt: skip
        etags[number] = response["CopyPartResult"]["ETag"]

    async with _multipart_upload(client, dst_bucket, dst_key, extra) as upload_id:
        async with task_group() as tg:
            for number, offset in enumerate(range(0, total, size), start=1):
                tg.start_soon(copy_part, number, offset, min(offset + size, total) - 1)
        ordered = [etags[n] for n in sorted(etags)]
        etag = await client.complete_multipart(dst_bucket, dst_key, upload_id, ordered)
    return PutResult(dst_bucket, dst_key, total, etag, len(ordered))

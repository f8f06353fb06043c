"""Multipart upload and multipart copy with lowered thresholds: parts, counts, bytes, aborts."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import anyio
import pytest

from aios3fm import EmbeddedS3, FileManager, MiB, S3Client, TransientError

from .conftest import make_settings, reset_counts, wait_until

LOW = {
    "multipart_threshold": 5 * MiB,
    "multipart_chunksize": 5 * MiB,
    "copy_threshold": 5 * MiB,
    "copy_chunksize": 5 * MiB,
}


@pytest.fixture
async def low(s3: EmbeddedS3) -> AsyncIterator[S3Client]:
    async with FileManager(settings=make_settings(s3, **LOW)) as fm:
        await fm.make_bucket("mp-bucket")
        reset_counts(fm.client, s3)
        yield fm.client


async def chunks_of(data: bytes, sizes: list[int]) -> AsyncIterator[bytes]:
    offset = 0
    for size in sizes:
        yield data[offset : offset + size]
        offset += size
        await anyio.lowlevel.checkpoint()
    if offset < len(data):
        yield data[offset:]


async def test_bytes_above_threshold_upload_in_concurrent_parts(
    low: S3Client, s3: EmbeddedS3
) -> None:
    data = os.urandom(12 * MiB + 123)
    result = await low.put("mp-bucket", "big.bin", data, content_type="application/x-test")

    assert result.parts == 3
    assert await low.get_bytes("mp-bucket", "big.bin") == data
    assert (await low.head("mp-bucket", "big.bin")).etag == result.etag
    assert result.etag.endswith("-3")
    expected = {"CreateMultipartUpload": 1, "UploadPart": 3, "CompleteMultipartUpload": 1,
                "GetObject": 1, "HeadObject": 1}  # fmt: skip
    assert low.api_calls == expected
    assert s3.requests == expected


async def test_bytes_at_threshold_go_in_one_put(low: S3Client, s3: EmbeddedS3) -> None:
    result = await low.put("mp-bucket", "edge.bin", b"x" * (5 * MiB))
    assert (result.parts, s3.requests) == (0, {"PutObject": 1})


async def test_stream_upload_splits_odd_chunks_into_parts(low: S3Client, s3: EmbeddedS3) -> None:
    data = os.urandom(11 * MiB)
    sizes = [1, 3 * MiB, 7, 4 * MiB - 8, 2 * MiB, 17]
    result = await low.put("mp-bucket", "stream.bin", chunks_of(data, sizes))

    assert (result.size, result.parts) == (len(data), 3)
    assert await low.get_bytes("mp-bucket", "stream.bin") == data
    assert s3.requests == {"CreateMultipartUpload": 1, "UploadPart": 3,
                           "CompleteMultipartUpload": 1, "GetObject": 1}  # fmt: skip


async def test_short_stream_is_one_put_object(low: S3Client, s3: EmbeddedS3) -> None:
    data = os.urandom(MiB)
    result = await low.put("mp-bucket", "small.bin", chunks_of(data, [1000, 2000]))
    assert (result.size, result.parts) == (MiB, 0)
    assert await low.get_bytes("mp-bucket", "small.bin") == data
    assert s3.requests == {"PutObject": 1, "GetObject": 1}


async def test_empty_stream_writes_an_empty_object(low: S3Client) -> None:
    await low.put("mp-bucket", "empty", chunks_of(b"", []))
    assert await low.get_bytes("mp-bucket", "empty") == b""


async def test_failing_stream_aborts_the_upload(low: S3Client, s3: EmbeddedS3) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield os.urandom(6 * MiB)
        yield os.urandom(5 * MiB)
        raise OSError("source disk went away")

    with pytest.raises(OSError, match="source disk went away"):
        await low.put("mp-bucket", "broken.bin", broken())

    assert await low.list_multipart_uploads("mp-bucket") == []
    assert s3.requests["AbortMultipartUpload"] == 1
    assert [o async for page in low.list_tree("mp-bucket") for o in page] == []


async def test_failing_part_aborts_the_upload(low: S3Client, s3: EmbeddedS3) -> None:
    # 3 parts x max_attempts: every attempt of every part fails
    s3.inject("500", count=3 * low.settings.max_attempts, operation="UploadPart")
    with pytest.raises(TransientError):
        await low.put("mp-bucket", "part-fails.bin", os.urandom(11 * MiB))
    assert await low.list_multipart_uploads("mp-bucket") == []
    assert s3.requests["AbortMultipartUpload"] == 1


async def test_cancelled_upload_is_aborted(low: S3Client, s3: EmbeddedS3) -> None:
    held = s3.hold("UploadPart", count=4)  # parts are in flight when the scope is cancelled
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(low.put, "mp-bucket", "cancelled.bin", os.urandom(16 * MiB))
            await wait_until(lambda: held.arrived >= 1)
            scope.cancel()
    assert scope.cancelled_caught
    held.release()
    assert await low.list_multipart_uploads("mp-bucket") == []
    assert s3.requests["AbortMultipartUpload"] == 1
    assert [o async for page in low.list_tree("mp-bucket") for o in page] == []


async def test_multipart_copy_keeps_bytes_and_content_type(low: S3Client, s3: EmbeddedS3) -> None:
    data = os.urandom(11 * MiB)
    await low.put("mp-bucket", "src.bin", data, content_type="application/x-custom")
    reset_counts(low, s3)

    result = await low.copy("mp-bucket", "src.bin", "mp-bucket", "dst.bin", size=len(data))

    assert result.parts == 3
    expected = {"HeadObject": 1, "CreateMultipartUpload": 1, "UploadPartCopy": 3,
                "CompleteMultipartUpload": 1}  # fmt: skip
    assert low.api_calls == expected
    assert s3.requests == expected
    assert await low.get_bytes("mp-bucket", "dst.bin") == data
    response = await low.call(
        "HeadObject", "s3://mp-bucket/dst.bin", Bucket="mp-bucket", Key="dst.bin"
    )
    assert response["ContentType"] == "application/x-custom"


async def test_copy_below_threshold_is_one_copy_object(low: S3Client, s3: EmbeddedS3) -> None:
    await low.put("mp-bucket", "small", b"abc")
    reset_counts(low, s3)
    await low.copy("mp-bucket", "small", "mp-bucket", "small-copy", size=3)
    assert s3.requests == {"CopyObject": 1}
    assert await low.get_bytes("mp-bucket", "small-copy") == b"abc"


async def test_explicit_multipart_api(low: S3Client, s3: EmbeddedS3) -> None:
    upload_id = await low.create_multipart("mp-bucket", "manual.bin")
    first, second = os.urandom(5 * MiB), b"tail"
    etags = [
        await low.upload_part("mp-bucket", "manual.bin", upload_id, 1, first),
        await low.upload_part("mp-bucket", "manual.bin", upload_id, 2, second),
    ]
    assert await low.list_multipart_uploads("mp-bucket") == [("manual.bin", upload_id)]
    await low.complete_multipart("mp-bucket", "manual.bin", upload_id, etags)
    assert await low.get_bytes("mp-bucket", "manual.bin") == first + second
    assert await low.list_multipart_uploads("mp-bucket") == []

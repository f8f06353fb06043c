"""Multipart upload and multipart copy with lowered thresholds: parts, counts, bytes, aborts."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping

import anyio
import pytest

from aios3fm import EmbeddedS3, MiB, S3Client, S3Error, TransientError

from ..conftest import reset_counts, u, wait_until

LOW = {
    "multipart_threshold": 5 * MiB,
    "multipart_chunksize": 5 * MiB,
    "copy_threshold": 5 * MiB,
    "copy_chunksize": 5 * MiB,
}


@pytest.fixture
def settings_overrides() -> Mapping[str, object]:
    return LOW


async def chunks_of(data: bytes, sizes: list[int]) -> AsyncIterator[bytes]:
    offset = 0
    for size in sizes:
        yield data[offset : offset + size]
        offset += size
        await anyio.lowlevel.checkpoint()
    if offset < len(data):
        yield data[offset:]


async def test_bytes_above_threshold_upload_in_concurrent_parts(
    client: S3Client, bucket: str, s3: EmbeddedS3
) -> None:
    data = os.urandom(12 * MiB + 123)
    result = await client.put(bucket, "big.bin", data, content_type="application/x-test")

    assert result.parts == 3
    assert await client.get_bytes(bucket, "big.bin") == data
    assert (await client.head(bucket, "big.bin")).etag == result.etag
    assert result.etag.endswith("-3")
    expected = {"CreateMultipartUpload": 1, "UploadPart": 3, "CompleteMultipartUpload": 1,
                "GetObject": 1, "HeadObject": 1}  # fmt: skip
    assert client.api_calls == expected
    assert s3.requests == expected


async def test_bytes_at_threshold_go_in_one_put(
    client: S3Client, bucket: str, s3: EmbeddedS3
) -> None:
    result = await client.put(bucket, "edge.bin", b"x" * (5 * MiB))
    assert (result.parts, s3.requests) == (0, {"PutObject": 1})


async def test_stream_upload_splits_odd_chunks_into_parts(
    client: S3Client, bucket: str, s3: EmbeddedS3
) -> None:
    data = os.urandom(11 * MiB)
    sizes = [1, 3 * MiB, 7, 4 * MiB - 8, 2 * MiB, 17]
    result = await client.put(bucket, "stream.bin", chunks_of(data, sizes))

    assert (result.size, result.parts) == (len(data), 3)
    assert await client.get_bytes(bucket, "stream.bin") == data
    assert s3.requests == {"CreateMultipartUpload": 1, "UploadPart": 3,
                           "CompleteMultipartUpload": 1, "GetObject": 1}  # fmt: skip


async def test_short_stream_is_one_put_object(
    client: S3Client, bucket: str, s3: EmbeddedS3
) -> None:
    data = os.urandom(MiB)
    result = await client.put(bucket, "small.bin", chunks_of(data, [1000, 2000]))
    assert (result.size, result.parts) == (MiB, 0)
    assert await client.get_bytes(bucket, "small.bin") == data
    assert s3.requests == {"PutObject": 1, "GetObject": 1}


async def test_empty_stream_writes_an_empty_object(client: S3Client, bucket: str) -> None:
    await client.put(bucket, "empty", chunks_of(b"", []))
    assert await client.get_bytes(bucket, "empty") == b""


async def test_failing_stream_aborts_the_upload(
    client: S3Client, bucket: str, s3: EmbeddedS3
) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield os.urandom(6 * MiB)
        yield os.urandom(5 * MiB)
        raise OSError("source disk went away")

    with pytest.raises(OSError, match="source disk went away"):
        await client.put(bucket, "broken.bin", broken())

    assert await client.list_multipart_uploads(bucket) == []
    assert s3.requests["AbortMultipartUpload"] == 1
    assert [o async for page in client.list_tree(bucket) for o in page] == []


async def test_failing_part_aborts_the_upload(
    client: S3Client, bucket: str, s3: EmbeddedS3
) -> None:
    # 3 parts x max_attempts: every attempt of every part fails
    s3.inject("500", count=3 * client.settings.max_attempts, operation="UploadPart")
    with pytest.raises(TransientError):
        await client.put(bucket, "part-fails.bin", os.urandom(11 * MiB))
    assert await client.list_multipart_uploads(bucket) == []
    assert s3.requests["AbortMultipartUpload"] == 1


async def test_cancelled_upload_is_aborted(client: S3Client, bucket: str, s3: EmbeddedS3) -> None:
    held = s3.hold("UploadPart", count=4)  # parts are in flight when the scope is cancelled
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.put, bucket, "cancelled.bin", os.urandom(16 * MiB))
            await wait_until(lambda: held.arrived >= 1)
            scope.cancel()
    assert scope.cancelled_caught
    held.release()
    assert await client.list_multipart_uploads(bucket) == []
    assert s3.requests["AbortMultipartUpload"] == 1
    assert [o async for page in client.list_tree(bucket) for o in page] == []


async def test_multipart_copy_keeps_bytes_and_content_type(
    client: S3Client, bucket: str, s3: EmbeddedS3
) -> None:
    data = os.urandom(11 * MiB)
    await client.put(bucket, "src.bin", data, content_type="application/x-custom")
    reset_counts(client, s3)

    result = await client.copy(bucket, "src.bin", bucket, "dst.bin", size=len(data))

    assert result.parts == 3
    expected = {"HeadObject": 1, "CreateMultipartUpload": 1, "UploadPartCopy": 3,
                "CompleteMultipartUpload": 1}  # fmt: skip
    assert client.api_calls == expected
    assert s3.requests == expected
    assert await client.get_bytes(bucket, "dst.bin") == data
    response = await client.call("HeadObject", u("dst.bin"), Bucket=bucket, Key="dst.bin")
    assert response["ContentType"] == "application/x-custom"


async def test_copy_below_threshold_is_one_copy_object(
    client: S3Client, bucket: str, s3: EmbeddedS3
) -> None:
    await client.put(bucket, "small", b"abc")
    reset_counts(client, s3)
    await client.copy(bucket, "small", bucket, "small-copy", size=3)
    assert s3.requests == {"CopyObject": 1}
    assert await client.get_bytes(bucket, "small-copy") == b"abc"


async def test_explicit_multipart_api(client: S3Client, bucket: str, s3: EmbeddedS3) -> None:
    upload_id = await client.create_multipart(bucket, "manual.bin")
    first, second = os.urandom(5 * MiB), b"tail"
    etags = [
        await client.upload_part(bucket, "manual.bin", upload_id, 1, first),
        await client.upload_part(bucket, "manual.bin", upload_id, 2, second),
    ]
    assert await client.list_multipart_uploads(bucket) == [("manual.bin", upload_id)]
    await client.complete_multipart(bucket, "manual.bin", upload_id, etags)
    assert await client.get_bytes(bucket, "manual.bin") == first + second
    assert await client.list_multipart_uploads(bucket) == []


async def test_an_upload_created_by_an_attempt_whose_answer_was_lost_is_aborted(
    client: S3Client, bucket: str, s3: EmbeddedS3
) -> None:
    """CreateMultipartUpload is applied but its answer lost; the retry creates a second
    upload. The first is an orphan nobody would ever complete or abort: it is found
    (ListMultipartUploads of that key) and aborted at once."""
    s3.inject("lost", operation="CreateMultipartUpload")
    data = os.urandom(11 * MiB)
    await client.put(bucket, "orphan.bin", data)
    assert await client.get_bytes(bucket, "orphan.bin") == data
    assert await client.list_multipart_uploads(bucket) == []
    assert s3.requests["CreateMultipartUpload"] == 2
    assert s3.requests["ListMultipartUploads"] == 2  # the sweep, and the check above
    assert s3.requests["AbortMultipartUpload"] == 1


async def test_an_upload_that_cannot_be_aborted_is_reported_not_only_logged(
    client: S3Client, bucket: str, s3: EmbeddedS3
) -> None:
    attempts = client.settings.max_attempts
    s3.inject("500", count=3 * attempts, operation="UploadPart")  # every part fails ...
    s3.inject("500", count=attempts, operation="AbortMultipartUpload")  # ... and the abort
    with pytest.raises(S3Error) as caught:
        await client.put(bucket, "stuck.bin", os.urandom(11 * MiB))
    (left,) = await client.list_multipart_uploads(bucket)
    assert left[0] == "stuck.bin"
    assert f"multipart upload {left[1]} could not be aborted" in str(caught.value)
    assert isinstance(caught.value.__cause__, TransientError)


@pytest.mark.parametrize(
    "operation", ["CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"]
)
async def test_a_lost_answer_at_any_step_of_an_upload_still_writes_it_once(
    client: S3Client, bucket: str, s3: EmbeddedS3, operation: str
) -> None:
    """The server applies the request and the answer never arrives; the retry must find
    the step done, and leave no upload open."""
    s3.inject("lost", operation=operation)
    data = os.urandom(11 * MiB)
    written = await client.put(bucket, "lost.bin", data)
    assert await client.get_bytes(bucket, "lost.bin") == data
    assert (await client.head(bucket, "lost.bin")).etag == written.etag
    assert str(written.etag).endswith("-3")
    assert await client.list_multipart_uploads(bucket) == []
    assert s3.requests[operation] == (4 if operation == "UploadPart" else 2)


@pytest.mark.parametrize("operation", ["UploadPartCopy", "CompleteMultipartUpload"])
async def test_a_lost_answer_at_any_step_of_a_multipart_copy_still_copies_it_once(
    client: S3Client, bucket: str, s3: EmbeddedS3, operation: str
) -> None:
    data = os.urandom(11 * MiB)
    await client.put(bucket, "src.bin", data)
    s3.inject("lost", operation=operation)
    await client.copy(bucket, "src.bin", bucket, "dst.bin", size=len(data))
    assert await client.get_bytes(bucket, "dst.bin") == data
    assert await client.list_multipart_uploads(bucket) == []


async def test_an_abort_whose_answer_was_lost_is_not_reported_as_left_behind(
    client: S3Client, bucket: str, s3: EmbeddedS3
) -> None:
    s3.inject("500", count=3 * client.settings.max_attempts, operation="UploadPart")
    s3.inject("lost", operation="AbortMultipartUpload")  # aborted; the retry: NoSuchUpload
    with pytest.raises(TransientError) as caught:
        await client.put(bucket, "aborted.bin", os.urandom(11 * MiB))
    assert "could not be aborted" not in str(caught.value)
    assert await client.list_multipart_uploads(bucket) == []
    assert s3.requests["AbortMultipartUpload"] == 2

"""Each S3 error code reaches the caller as the matching aios3fm exception (and builtin),
with the botocore error kept as __cause__ and no credential in the message."""

from __future__ import annotations

import pickle

import pytest
from botocore.exceptions import ClientError

from aios3fm import (
    AccessDeniedError,
    AlreadyExistsError,
    BucketNotFoundError,
    DirectoryNotEmptyError,
    EmbeddedS3,
    FileManager,
    InvalidLocationError,
    InvalidRangeError,
    InvalidRequestError,
    NotFoundError,
    PreconditionFailedError,
    S3Client,
    S3Error,
    TransientError,
)

from ..conftest import make_settings


def assert_translated(exc: S3Error, code: str, operation: str, location: str) -> None:
    assert exc.code == code
    assert exc.operation == operation
    assert exc.location == location
    assert isinstance(exc.__cause__, ClientError)
    assert location in str(exc)
    assert "aios3fm-embedded-secret-key" not in str(exc)
    assert "aios3fm-embedded-access-key" not in str(exc)


async def test_no_such_key(client: S3Client, bucket: str) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        await client.get_bytes(bucket, "missing")
    assert type(caught.value) is NotFoundError
    assert_translated(caught.value, "NoSuchKey", "GetObject", f"s3://{bucket}/missing")


async def test_head_404(client: S3Client, bucket: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.head(bucket, "missing")
    assert_translated(caught.value, "404", "HeadObject", f"s3://{bucket}/missing")
    assert caught.value.status == 404


async def test_no_such_bucket(client: S3Client) -> None:
    with pytest.raises(BucketNotFoundError) as caught:
        await client.list_dir("no-such-bucket", "x/")
    assert isinstance(caught.value, FileNotFoundError)
    assert_translated(caught.value, "NoSuchBucket", "ListObjectsV2", "s3://no-such-bucket/x/")


async def test_access_denied_and_403(client: S3Client, s3: EmbeddedS3, bucket: str) -> None:
    await client.put(bucket, "secret/k", b"x")
    s3.deny("GetObject", "HeadObject", bucket=bucket, prefix="secret/")
    with pytest.raises(PermissionError) as get:
        await client.get_bytes(bucket, "secret/k")
    with pytest.raises(AccessDeniedError) as head:
        await client.head(bucket, "secret/k")
    assert type(get.value) is AccessDeniedError
    assert_translated(get.value, "AccessDenied", "GetObject", f"s3://{bucket}/secret/k")
    assert_translated(head.value, "403", "HeadObject", f"s3://{bucket}/secret/k")


async def test_bucket_already_owned_by_you(s3: EmbeddedS3) -> None:
    # Outside us-east-1 S3 answers BucketAlreadyOwnedByYou to a second create.
    async with FileManager(settings=make_settings(s3, region="eu-west-1")) as fm:
        await fm.make_bucket("owned-twice")
        with pytest.raises(FileExistsError) as caught:
            await fm.make_bucket("owned-twice")
    assert type(caught.value) is AlreadyExistsError
    assert_translated(caught.value, "BucketAlreadyOwnedByYou", "CreateBucket", "s3://owned-twice/")


async def test_bucket_not_empty(client: S3Client, bucket: str) -> None:
    await client.put(bucket, "k", b"x")
    with pytest.raises(DirectoryNotEmptyError) as caught:
        await client.remove_bucket(bucket)
    assert isinstance(caught.value, OSError)
    assert_translated(caught.value, "BucketNotEmpty", "DeleteBucket", f"s3://{bucket}/")


async def test_precondition_failed(client: S3Client, bucket: str) -> None:
    await client.put(bucket, "k", b"x")
    with pytest.raises(PreconditionFailedError) as caught:
        await client.call(
            "GetObject", f"s3://{bucket}/k", Bucket=bucket, Key="k", IfMatch='"not-the-etag"'
        )
    assert_translated(caught.value, "PreconditionFailed", "GetObject", f"s3://{bucket}/k")


async def test_invalid_range(client: S3Client, bucket: str) -> None:
    await client.put(bucket, "k", b"0123456789")
    with pytest.raises(InvalidRangeError) as caught:
        await client.get_bytes(bucket, "k", start=50, end=60)
    assert isinstance(caught.value, ValueError)
    assert_translated(caught.value, "InvalidRange", "GetObject", f"s3://{bucket}/k")


async def test_no_such_upload(client: S3Client, bucket: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.abort_multipart(bucket, "k", "no-such-upload-id")
    assert_translated(caught.value, "NoSuchUpload", "AbortMultipartUpload", f"s3://{bucket}/k")


async def test_slow_down_past_the_retries_is_transient(
    client: S3Client, s3: EmbeddedS3, bucket: str
) -> None:
    attempts = client.settings.max_attempts
    s3.inject("503", count=attempts, operation="PutObject")
    with pytest.raises(TransientError) as caught:
        await client.put(bucket, "k", b"x")
    assert isinstance(caught.value, ConnectionError)
    assert_translated(caught.value, "SlowDown", "PutObject", f"s3://{bucket}/k")
    assert client.api_calls == {"PutObject": 1}
    assert client.requests_sent == {"PutObject": attempts}
    assert s3.requests == {"PutObject": attempts}


async def test_invalid_bucket_name_is_a_location_error(client: S3Client) -> None:
    with pytest.raises(InvalidLocationError) as caught:
        await client.list_dir("bad/bucket", "")
    assert isinstance(caught.value, ValueError)
    assert "bad/bucket" in str(caught.value)


async def test_explicit_credentials_never_appear_in_errors(s3: EmbeddedS3) -> None:
    settings = make_settings(
        s3, access_key_id="AKIAFAKEACCESSKEY123", secret_access_key="FAKE/secret+key/very/secret"
    )
    async with FileManager(settings=settings) as fm:
        with pytest.raises(NotFoundError) as caught:
            await fm.client.get_bytes("no-such-bucket", "AKIAFAKEACCESSKEY123")
    text = str(caught.value) + repr(caught.value) + repr(fm) + repr(settings)
    assert "FAKE/secret+key/very/secret" not in text
    assert "AKIAFAKEACCESSKEY123" not in str(caught.value)  # redacted even from the key


def test_errors_pickle_with_their_fields() -> None:
    error = NotFoundError("s3://b/k: 404 (HeadObject)", code="404", operation="HeadObject",
                          location="s3://b/k", status=404)  # fmt: skip
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is NotFoundError
    assert (copy.code, copy.operation, copy.location, copy.status, str(copy)) == (
        "404",
        "HeadObject",
        "s3://b/k",
        404,
        "s3://b/k: 404 (HeadObject)",
    )


async def test_invalid_bucket_name_from_the_server(client: S3Client) -> None:
    with pytest.raises(ValueError) as caught:
        await client.make_bucket("ab")  # too short for S3; botocore lets it through
    assert type(caught.value) is InvalidRequestError
    assert_translated(caught.value, "InvalidBucketName", "CreateBucket", "s3://ab/")

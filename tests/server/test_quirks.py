"""The embedded server as AWS S3 (every conditional write honoured) and as the
S3-compatible endpoints its switches play, each seen over HTTP by a plain boto3 client."""

from __future__ import annotations

import base64
import http.client
import json
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config

from aios3fm import EmbeddedS3
from aios3fm._server import CONTROL_PATH, server_process

from ..conftest import plain_boto3

BUCKET = "quirks"
DEST, ABSENT, SOURCE = "dest", "absent", "source"
OLD, NEW = b"old", b"new"
STALE = '"0123456789abcdef0123456789abcdef"'
SWITCHES = (
    "ignore_conditional_headers",
    "reject_checksum_trailers",
    "unordered_listings",
    "require_content_md5",
)

Outcome = tuple[int, str | None, bytes | None]
"""HTTP status, error code (a per-key one for DeleteObjects), the target's bytes after."""


@pytest.fixture
def raw(s3: EmbeddedS3) -> Any:
    """A plain boto3 client, with ``dest`` holding b"old" and ``source`` b"new"."""
    client = plain_boto3(s3)
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key=DEST, Body=OLD)
    client.put_object(Bucket=BUCKET, Key=SOURCE, Body=NEW)
    return client


def content(raw: Any, key: str) -> bytes | None:
    try:
        data: bytes = raw.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    except raw.exceptions.NoSuchKey:
        return None
    return data


def etag(raw: Any, key: str) -> str:
    tag: str = raw.head_object(Bucket=BUCKET, Key=key)["ETag"]
    return tag


def write(raw: Any, operation: str, key: str, condition: dict[str, str]) -> tuple[int, str | None]:
    """Send one write with ``condition`` (boto3's parameter names); its status and code."""
    try:
        answer = _send(raw, operation, key, condition)
    except raw.exceptions.ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"]
    errors = answer.get("Errors", [])
    return answer["ResponseMetadata"]["HTTPStatusCode"], errors[0]["Code"] if errors else None


def _send(raw: Any, operation: str, key: str, condition: dict[str, str]) -> Any:
    copy_source = f"{BUCKET}/{SOURCE}"
    if operation == "PutObject":
        return raw.put_object(Bucket=BUCKET, Key=key, Body=NEW, **condition)
    if operation == "CopyObject":
        return raw.copy_object(Bucket=BUCKET, Key=key, CopySource=copy_source, **condition)
    if operation == "DeleteObject":
        return raw.delete_object(Bucket=BUCKET, Key=key, **condition)
    if operation == "DeleteObjects":
        objects = [{"Key": key, "ETag": condition["IfMatch"]}]
        return raw.delete_objects(Bucket=BUCKET, Delete={"Objects": objects})
    upload = raw.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    if operation == "UploadPartCopy":
        return raw.upload_part_copy(
            Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=1, CopySource=copy_source,
            **condition,
        )  # fmt: skip
    part = raw.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=1, Body=NEW)
    parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    return raw.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload=parts, **condition
    )


def condition_of(raw: Any, name: str, value: str) -> dict[str, str]:
    """``value``: ``*``, ``stale``, or ``current`` (the ETag the object it names has now)."""
    if value == "current":
        value = etag(raw, SOURCE if name.startswith("CopySource") else DEST)
    return {name: STALE if value == "stale" else value}


PF, NSK = "PreconditionFailed", "NoSuchKey"
CREATED: Outcome = (200, None, NEW)
DELETED: Outcome = (204, None, None)
BATCH_DELETED: Outcome = (200, None, None)

# operation, target, condition, value -> honoured (AWS S3), ignored (ignore_conditional_headers)
CONDITIONAL_WRITES = [
    *(
        row
        for op, name in [
            ("PutObject", "put"),
            ("CopyObject", "copy"),
            ("CompleteMultipartUpload", "complete"),
        ]
        for row in [
            pytest.param(op, DEST, "IfNoneMatch", "*", (412, PF, OLD), CREATED,
                         id=f"{name}-if-none-match-over-an-object"),
            pytest.param(op, ABSENT, "IfNoneMatch", "*", CREATED, CREATED,
                         id=f"{name}-if-none-match-on-no-object"),
            pytest.param(op, DEST, "IfMatch", "current", CREATED, CREATED,
                         id=f"{name}-if-match-its-etag"),
            pytest.param(op, DEST, "IfMatch", "stale", (412, PF, OLD), CREATED,
                         id=f"{name}-if-match-another-etag"),
            pytest.param(op, ABSENT, "IfMatch", "stale", (404, NSK, None), CREATED,
                         id=f"{name}-if-match-on-no-object"),
        ]
    ),
    pytest.param("DeleteObject", DEST, "IfMatch", "current", DELETED, DELETED,
                 id="delete-if-match-its-etag"),
    pytest.param("DeleteObject", DEST, "IfMatch", "stale", (412, PF, OLD), DELETED,
                 id="delete-if-match-another-etag"),
    pytest.param("DeleteObject", DEST, "IfMatch", "*", DELETED, DELETED,
                 id="delete-if-match-any-etag"),
    pytest.param("DeleteObject", ABSENT, "IfMatch", "stale", (404, NSK, None), DELETED,
                 id="delete-if-match-on-no-object"),
    pytest.param("DeleteObjects", DEST, "IfMatch", "current", BATCH_DELETED, BATCH_DELETED,
                 id="delete-objects-etag-its-own"),
    pytest.param("DeleteObjects", DEST, "IfMatch", "stale", (200, PF, OLD), BATCH_DELETED,
                 id="delete-objects-another-etag"),
    pytest.param("DeleteObjects", DEST, "IfMatch", "*", BATCH_DELETED, BATCH_DELETED,
                 id="delete-objects-etag-any"),
    # the source's conditions are an old feature every server has: the switch keeps them
    pytest.param("CopyObject", DEST, "CopySourceIfMatch", "current", CREATED, CREATED,
                 id="copy-source-if-match-its-etag"),
    pytest.param("CopyObject", DEST, "CopySourceIfMatch", "stale", (412, PF, OLD),
                 (412, PF, OLD), id="copy-source-if-match-another-etag"),
    pytest.param("CopyObject", DEST, "CopySourceIfNoneMatch", "current", (412, PF, OLD),
                 (412, PF, OLD), id="copy-source-if-none-match-its-etag"),
    pytest.param("UploadPartCopy", DEST, "CopySourceIfMatch", "current", (200, None, OLD),
                 (200, None, OLD), id="upload-part-copy-source-if-match-its-etag"),
    pytest.param("UploadPartCopy", DEST, "CopySourceIfMatch", "stale", (412, PF, OLD),
                 (412, PF, OLD), id="upload-part-copy-source-if-match-another-etag"),
]  # fmt: skip

HEADER_OF = {
    "IfMatch": "if-match",
    "IfNoneMatch": "if-none-match",
    "CopySourceIfMatch": "x-amz-copy-source-if-match",
    "CopySourceIfNoneMatch": "x-amz-copy-source-if-none-match",
}


@pytest.mark.parametrize("ignored", [False, True], ids=["honoured", "ignored"])
@pytest.mark.parametrize(
    ("operation", "target", "name", "value", "honoured", "when_ignored"), CONDITIONAL_WRITES
)
def test_conditional_writes_are_honoured_as_s3_does_unless_ignored(
    raw: Any, s3: EmbeddedS3, ignored: bool, operation: str, target: str, name: str,
    value: str, honoured: Outcome, when_ignored: Outcome,
) -> None:  # fmt: skip
    s3.ignore_conditional_headers = ignored
    status, code = write(raw, operation, target, condition_of(raw, name, value))

    assert (status, code, content(raw, target)) == (when_ignored if ignored else honoured)
    if operation != "DeleteObjects":  # the client sent the condition; the server chose
        assert HEADER_OF[name] in s3.last_headers(operation)


def test_of_two_conditional_copies_at_once_one_wins(raw: Any, s3: EmbeddedS3) -> None:
    """The check and the write are one step, as on S3: the first copy to finish wins."""

    def copy(i: int) -> tuple[int, str | None]:
        return write(raw, "CopyObject", "contended", {"IfNoneMatch": "*"})

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(copy, range(8)), key=str)
    assert outcomes == [(200, None)] + [(412, PF)] * 7


# -- flexible checksums -------------------------------------------------------------------


def checksum_client(s3: EmbeddedS3, calculation: str) -> Any:
    c = s3.credentials
    config = Config(
        request_checksum_calculation=calculation, response_checksum_validation=calculation
    )
    return boto3.client(
        "s3", endpoint_url=s3.endpoint_url, region_name=c.region, config=config,
        aws_access_key_id=c.access_key_id, aws_secret_access_key=c.secret_access_key,
    )  # fmt: skip


REFUSED = "Unsupported header 'x-amz-sdk-checksum-algorithm' received for this API call."

# reject_checksum_trailers, request_checksum_calculation -> status, code, message, stored
CHECKSUM_UPLOADS = [
    pytest.param(False, "when_supported", 200, None, None, True, id="aws-accepts-a-checksum"),
    pytest.param(True, "when_supported", 400, "InvalidArgument", REFUSED, False,
                 id="old-server-refuses-a-checksum"),
    pytest.param(True, "when_required", 200, None, None, True,
                 id="old-server-accepts-no-checksum"),
    pytest.param(False, "when_required", 200, None, None, True, id="aws-accepts-no-checksum"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rejecting", "calculation", "status", "code", "message", "stored"), CHECKSUM_UPLOADS
)
def test_uploads_with_a_flexible_checksum_are_refused_by_an_old_server(
    raw: Any, s3: EmbeddedS3, rejecting: bool, calculation: str, status: int, code: str | None,
    message: str | None, stored: bool,
) -> None:  # fmt: skip
    s3.reject_checksum_trailers = rejecting
    client = checksum_client(s3, calculation)
    try:
        answer = client.put_object(Bucket=BUCKET, Key="checked", Body=b"payload")
        seen = (answer["ResponseMetadata"]["HTTPStatusCode"], None, None)
    except client.exceptions.ClientError as exc:
        error = exc.response["Error"]
        seen = (exc.response["ResponseMetadata"]["HTTPStatusCode"], error["Code"], error["Message"])

    assert seen == (status, code, message)
    sent = s3.last_headers("PutObject")
    s3.reject_checksum_trailers = False  # the plain client's GetObject asks for a checksum
    assert content(raw, "checked") == (b"payload" if stored else None)
    assert ("x-amz-checksum-crc32" in sent) is (calculation == "when_supported")
    assert ("x-amz-sdk-checksum-algorithm" in sent) is (calculation == "when_supported")


MODE_REFUSED = ("InvalidArgument", REFUSED.replace("sdk-checksum-algorithm", "checksum-mode"))


@pytest.mark.parametrize(
    ("rejecting", "validation", "outcome"),
    [
        pytest.param(False, "when_supported", b"old", id="aws-answers-checksum-mode"),
        pytest.param(True, "when_supported", MODE_REFUSED, id="old-server-refuses-it"),
        pytest.param(True, "when_required", b"old", id="old-server-without-checksum-mode"),
    ],
)
def test_downloads_asking_for_a_checksum_are_refused_by_an_old_server(
    raw: Any, s3: EmbeddedS3, rejecting: bool, validation: str, outcome: object
) -> None:
    """As Backblaze B2 refuses ``x-amz-checksum-mode``, the header botocore >= 1.36 sends
    with ``response_checksum_validation="when_supported"`` (its default)."""
    s3.reject_checksum_trailers = rejecting
    client = checksum_client(s3, validation)
    try:
        seen: object = client.get_object(Bucket=BUCKET, Key=DEST)["Body"].read()
    except client.exceptions.ClientError as exc:
        seen = (exc.response["Error"]["Code"], exc.response["Error"]["Message"])
    assert seen == outcome
    sent = s3.last_headers("GetObject")
    assert (sent.get("x-amz-checksum-mode") == "ENABLED") is (validation == "when_supported")


CRC = base64.b64encode(zlib.crc32(b"hello").to_bytes(4, "big")).decode()
UNSIGNED_CHUNKS = b"5\r\nhello\r\n0\r\n\r\n"
SIGNED_CHUNKS = b"5;chunk-signature=aa\r\nhello\r\n0;chunk-signature=bb\r\n\r\n"
TRAILING_CRC = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:" + CRC.encode() + b"\r\n\r\n"
CHUNKED = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": "5"}

# headers and body of a raw PUT -> the header an old server names (None: accepted), the
# bytes stored when accepted (moto decodes aws-chunked for STREAMING-* payloads only)
RAW_UPLOADS = [
    pytest.param({"x-amz-sdk-checksum-algorithm": "CRC32", "x-amz-checksum-crc32": CRC},
                 b"hello", "x-amz-sdk-checksum-algorithm", b"hello", id="sdk-checksum-algorithm"),
    pytest.param({"x-amz-checksum-crc32": CRC}, b"hello", "x-amz-checksum-crc32", b"hello",
                 id="checksum-header"),
    pytest.param({"x-amz-trailer": "x-amz-checksum-crc32"}, b"hello", "x-amz-trailer",
                 b"hello", id="trailer-announced"),
    pytest.param({**CHUNKED, "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
                 TRAILING_CRC, "x-amz-content-sha256", b"hello", id="unsigned-payload-trailer"),
    pytest.param({**CHUNKED, "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"},
                 SIGNED_CHUNKS, "x-amz-content-sha256", b"hello", id="signed-payload-trailer"),
    pytest.param({**CHUNKED, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, UNSIGNED_CHUNKS,
                 "content-encoding", UNSIGNED_CHUNKS, id="aws-chunked"),
    # SigV4's signed chunks are older than flexible checksums: every server takes them
    pytest.param({**CHUNKED, "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
                 SIGNED_CHUNKS, None, b"hello", id="signed-chunks-without-trailer"),
]  # fmt: skip


@pytest.fixture
def connection(s3: EmbeddedS3, raw: Any) -> Iterator[http.client.HTTPConnection]:
    connection = http.client.HTTPConnection(s3.host, s3.port, timeout=30)
    yield connection
    connection.close()


def put_raw(
    connection: http.client.HTTPConnection, key: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes]:
    connection.request("PUT", f"/{BUCKET}/{key}", body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


@pytest.mark.parametrize("rejecting", [False, True], ids=["aws", "old-server"])
@pytest.mark.parametrize(("headers", "body", "named", "stored"), RAW_UPLOADS)
def test_each_form_of_flexible_checksum_is_refused_and_its_body_drained(
    raw: Any, s3: EmbeddedS3, connection: http.client.HTTPConnection, rejecting: bool,
    headers: dict[str, str], body: bytes, named: str | None, stored: bytes,
) -> None:  # fmt: skip
    s3.reject_checksum_trailers = rejecting
    status, answer = put_raw(connection, "raw", headers, body)
    sock = connection.sock
    # the body was read to its end: the next request on the connection is understood
    assert put_raw(connection, "next", {}, b"next") == (200, b"")
    assert connection.sock is sock

    s3.reject_checksum_trailers = False  # the plain client's GetObject asks for a checksum
    assert content(raw, "next") == b"next"
    if rejecting and named is not None:
        assert status == 400
        assert b"<Code>InvalidArgument</Code>" in answer
        assert f"Unsupported header '{named}' received".encode() in answer
        assert content(raw, "raw") is None
    else:
        assert (status, content(raw, "raw")) == (200, stored)


# -- listings -----------------------------------------------------------------------------

Page = tuple[list[str], list[str], str | None]
"""A ListObjectsV2 page: its keys, its common prefixes, its continuation token."""


@pytest.fixture
def listed(raw: Any) -> Any:
    """The bucket ``listing``: 30 "directories" d00/ .. d29/ and 50 keys k00 .. k49."""
    raw.create_bucket(Bucket="listing")
    for i in range(50):
        raw.put_object(Bucket="listing", Key=f"k{i:02}", Body=b"")
    for i in range(30):
        raw.put_object(Bucket="listing", Key=f"d{i:02}/x", Body=b"")
    return raw


def pages(raw: Any, **params: str) -> list[Page]:
    found: list[Page] = []
    token: dict[str, str] = {}
    while True:
        page = raw.list_objects_v2(Bucket="listing", MaxKeys=10, **params, **token)
        keys = [o["Key"] for o in page.get("Contents", [])]
        prefixes = [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        found.append((keys, prefixes, page.get("NextContinuationToken")))
        if not page["IsTruncated"]:
            return found
        token = {"ContinuationToken": page["NextContinuationToken"]}


def in_order(page: Page) -> bool:
    keys, prefixes, _ = page
    return keys == sorted(keys) and prefixes == sorted(prefixes)


def as_sets(listing: list[Page]) -> list[tuple[set[str], set[str], str | None]]:
    return [(set(keys), set(prefixes), token) for keys, prefixes, token in listing]


LISTINGS = [
    pytest.param({"Prefix": "k"}, [10, 10, 10, 10, 10], id="keys"),
    pytest.param({"Delimiter": "/"}, [10, 10, 10, 10, 10, 10, 10, 10], id="prefixes-and-keys"),
    pytest.param({"Prefix": "k", "StartAfter": "k24"}, [10, 10, 5], id="start-after"),
]


@pytest.mark.parametrize("unordered", [False, True], ids=["s3-order", "shuffled"])
@pytest.mark.parametrize(("params", "sizes"), LISTINGS)
def test_unordered_listings_shuffle_each_page_and_keep_its_boundaries(
    listed: Any, s3: EmbeddedS3, unordered: bool, params: dict[str, str], sizes: list[int]
) -> None:
    ordered = pages(listed, **params)
    s3.unordered_listings = unordered
    s3.seed_faults(24)
    listing = pages(listed, **params)

    assert [len(keys) + len(prefixes) for keys, prefixes, _ in listing] == sizes
    assert as_sets(listing) == as_sets(ordered)  # same entries and tokens, page by page
    assert all(in_order(page) for page in ordered)
    if unordered:
        assert not all(in_order(page) for page in listing)
        s3.seed_faults(24)
        assert pages(listed, **params) == listing  # a seed replays the same order
    else:
        assert listing == ordered
    everything = {name for keys, prefixes, _ in listing for name in keys + prefixes}
    start = params.get("StartAfter", "")
    assert min(everything) > start
    assert len(everything) == sum(sizes)


# -- the switches themselves --------------------------------------------------------------


def test_reset_turns_every_switch_off(s3: EmbeddedS3, raw: Any) -> None:
    for name in SWITCHES:
        setattr(s3, name, True)
    assert all(getattr(s3, name) is True for name in SWITCHES)
    assert control(s3, "GET", "") == (200, dict.fromkeys(SWITCHES, True))

    s3.reset()

    assert [getattr(s3, name) for name in SWITCHES] == [False] * len(SWITCHES)
    assert control(s3, "GET", "") == (200, dict.fromkeys(SWITCHES, False))


def control(s3: EmbeddedS3, method: str, query: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(s3.host, s3.port, timeout=30)
    try:
        connection.request(method, f"{CONTROL_PATH}quirks{query}")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    is_json = response.getheader("Content-Type") == "application/json"
    return response.status, json.loads(body) if is_json else body.decode()


OFF = dict.fromkeys(SWITCHES, False)


@pytest.mark.parametrize(
    ("method", "query", "status", "after"),
    [
        pytest.param("GET", "", 200, OFF, id="read"),
        pytest.param("POST", "?ignore_conditional_headers=1&unordered_listings=true", 200,
                     {**OFF, "ignore_conditional_headers": True, "unordered_listings": True},
                     id="set-two"),
        pytest.param("POST", "?reject_checksum_trailers=on&require_content_md5=1", 200,
                     {**OFF, "reject_checksum_trailers": True, "require_content_md5": True},
                     id="set-the-others"),
        pytest.param("POST", "?unordered_listings=1&teapot=1", 400, OFF, id="unknown-switch"),
        pytest.param("POST", "?unordered_listings=maybe", 400, OFF, id="bad-value"),
    ],
)  # fmt: skip
def test_the_control_path_reads_and_sets_the_switches(
    s3: EmbeddedS3, method: str, query: str, status: int, after: dict[str, bool]
) -> None:
    answered, body = control(s3, method, query)
    assert answered == status
    if status == 200:
        assert body == after
    assert {name: getattr(s3, name) for name in SWITCHES} == after  # a bad request sets none


def test_a_server_in_its_own_process_takes_the_switches(isolate_aws_environment: None) -> None:
    with server_process() as server:
        assert server.quirks() == OFF
        on = server.set_quirks(ignore_conditional_headers=True)
        assert on == {**OFF, "ignore_conditional_headers": True}
        env = server.environ
        client = boto3.client(
            "s3", endpoint_url=server.endpoint_url, region_name=env["AWS_DEFAULT_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )  # fmt: skip
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key=DEST, Body=OLD)
        client.put_object(Bucket=BUCKET, Key=DEST, Body=NEW, IfNoneMatch="*")  # ignored
        assert server.set_quirks(ignore_conditional_headers=False) == OFF
        with pytest.raises(client.exceptions.ClientError, match="PreconditionFailed"):
            client.put_object(Bucket=BUCKET, Key=DEST, Body=OLD, IfNoneMatch="*")
        assert client.get_object(Bucket=BUCKET, Key=DEST)["Body"].read() == NEW

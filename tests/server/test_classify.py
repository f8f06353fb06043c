"""The embedded server's request classifier: every S3 operation aios3fm and its peers
send, told apart by method, path, query and headers (what the server counts by)."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from aios3fm._server import classify

COPY = {"HTTP_X_AMZ_COPY_SOURCE": "/b/src"}


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "operation"),
    [
        ("GET", "/", "", {}, "ListBuckets"),
        ("PUT", "/b", "", {}, "CreateBucket"),
        ("DELETE", "/b", "", {}, "DeleteBucket"),
        ("HEAD", "/b", "", {}, "HeadBucket"),
        ("GET", "/b", "list-type=2&prefix=a/", {}, "ListObjectsV2"),
        ("GET", "/b", "prefix=a/", {}, "ListObjects"),
        ("GET", "/b", "uploads", {}, "ListMultipartUploads"),
        ("GET", "/b", "versions", {}, "ListObjectVersions"),
        ("GET", "/b", "location", {}, "GetBucketLocation"),
        ("PUT", "/b", "versioning", {}, "PutBucketVersioning"),
        ("GET", "/b", "notification", {}, "GetBucketNotificationConfiguration"),
        ("POST", "/b", "delete", {}, "DeleteObjects"),
        ("GET", "/b/k", "", {}, "GetObject"),
        ("GET", "/b/dir/k", "tagging", {}, "GetObjectTagging"),
        ("GET", "/b/k", "uploadId=1", {}, "ListParts"),
        ("HEAD", "/b/k", "", {}, "HeadObject"),
        ("PUT", "/b/k", "", {}, "PutObject"),
        ("PUT", "/b/k", "", COPY, "CopyObject"),
        ("PUT", "/b/k", "partNumber=1&uploadId=1", {}, "UploadPart"),
        ("PUT", "/b/k", "partNumber=1&uploadId=1", COPY, "UploadPartCopy"),
        ("PUT", "/b/k", "acl", {}, "PutObjectAcl"),
        ("POST", "/b/k", "uploads", {}, "CreateMultipartUpload"),
        ("POST", "/b/k", "uploadId=1", {}, "CompleteMultipartUpload"),
        ("POST", "/b/k", "restore", {}, "RestoreObject"),
        ("DELETE", "/b/k", "", {}, "DeleteObject"),
        ("DELETE", "/b/k", "uploadId=1", {}, "AbortMultipartUpload"),
        ("DELETE", "/b/k", "tagging", {}, "DeleteObjectTagging"),
        ("GET", "/b/a%20b/%C3%BC", "", {}, "GetObject"),
    ],
)
def test_each_operation_is_named_as_s3_names_it(
    method: str, path: str, query: str, headers: dict[str, str], operation: str
) -> None:
    parsed = parse_qs(query, keep_blank_values=True)
    assert classify(method, path, parsed, headers) == operation

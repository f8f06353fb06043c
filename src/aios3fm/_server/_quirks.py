"""What the embedded server decides about a request beyond moto: the preconditions S3
honours and moto does not, and the switches that make it play an S3-compatible endpoint
instead of AWS S3 (an older server, a directory bucket).

Pure functions over a WSGI environ or an answer's body; the middleware calls them and
answers. Nothing here imports moto: the state of an object is read through ``EtagOf``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import unquote, urlparse

__all__ = [
    "CONDITIONAL_WRITES",
    "QUIRKS",
    "EtagOf",
    "Unmet",
    "checksum_header",
    "drop_conditions",
    "etag_matches",
    "forget_judged",
    "is_conditional",
    "shuffled_listing",
    "unmet_precondition",
]

QUIRKS = (
    "ignore_conditional_headers",
    "reject_checksum_trailers",
    "unordered_listings",
    "require_content_md5",
)
"""The switches, each False by default (AWS S3's behaviour): their names on EmbeddedS3, on
the middleware and in the control path's query."""

Environ = dict[str, Any]
EtagOf = Callable[[str, str], str | None]
"""The ETag an object has right now, or None when there is none: ``etag_of(bucket, key)``."""

Unmet = Literal["412", "no-such-key"]
"""How S3 answers a failed precondition: 412 PreconditionFailed, or 404 NoSuchKey for an
``If-Match`` on a key with no object."""

_DESTINATION_CONDITIONS = ("HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH")
CONDITIONAL_WRITES = frozenset(
    {"PutObject", "CopyObject", "CompleteMultipartUpload", "DeleteObject"}
)
"""The writes that take ``If-Match`` and ``If-None-Match`` (DeleteObject: ``If-Match``)."""
_SOURCE_IF_MATCH = "HTTP_X_AMZ_COPY_SOURCE_IF_MATCH"
_COPIES = frozenset({"CopyObject", "UploadPartCopy"})


# -- conditional writes -------------------------------------------------------------------


def is_conditional(operation: str, environ: Environ) -> bool:
    """Whether the request is a write whose outcome depends on the object's state now."""
    if operation in _COPIES and _SOURCE_IF_MATCH in environ:
        return True
    return operation in CONDITIONAL_WRITES and any(h in environ for h in _DESTINATION_CONDITIONS)


def drop_conditions(operation: str, environ: Environ) -> None:
    """Take ``If-Match`` and ``If-None-Match`` off a write, as a server without conditional
    writes never reads them. The ``x-amz-copy-source-if-*`` headers stay: every server has
    had those for years."""
    if operation in CONDITIONAL_WRITES:
        for header in _DESTINATION_CONDITIONS:
            environ.pop(header, None)


def unmet_precondition(
    operation: str, environ: Environ, bucket: str, key: str, etag_of: EtagOf
) -> Unmet | None:
    """How S3 fails a precondition that moto 5.2 does not check, or None when all of those
    hold (or there are none; moto checks the rest itself).

    moto checks ``If-Match`` and ``If-None-Match`` on PutObject, ``If-None-Match`` on
    CompleteMultipartUpload, an ETag ``If-Match`` on DeleteObject and
    ``x-amz-copy-source-if-none-match``. It ignores ``If-Match`` and ``If-None-Match`` on
    CopyObject (S3 has honoured them since 2025), ``If-Match`` on CompleteMultipartUpload,
    ``x-amz-copy-source-if-match``, and it refuses DeleteObject's ``If-Match: *`` (any
    ETag, S3 says) even when the object exists. A missing object is 404 NoSuchKey for an
    ``If-Match``, as the S3 User Guide says of "conditional writes or copies"
    (conditional-writes.html, "Conditional write behavior")."""
    if operation in _COPIES and _source_changed(environ, etag_of):
        return "412"
    if operation == "CopyObject":
        current = etag_of(bucket, key)
        if environ.get("HTTP_IF_NONE_MATCH", "").strip() == "*" and current is not None:
            return "412"
        return _if_match(environ, current)
    if operation == "CompleteMultipartUpload":
        return _if_match(environ, etag_of(bucket, key))
    if operation == "DeleteObject" and environ.get("HTTP_IF_MATCH", "").strip() == "*":
        return _if_match(environ, etag_of(bucket, key))
    return None


def forget_judged(operation: str, environ: Environ) -> None:
    """Take off the conditions judged here that moto would judge wrongly: DeleteObject's
    ``If-Match: *``, once it held."""
    if operation == "DeleteObject" and environ.get("HTTP_IF_MATCH", "").strip() == "*":
        del environ["HTTP_IF_MATCH"]


def etag_matches(sent: str, current: str) -> bool:
    """An ``If-Match`` value against an ETag: ``*`` matches any, quotes do not count."""
    sent = sent.strip()
    return sent == "*" or sent.strip('"') == current.strip('"')


def _if_match(environ: Environ, current: str | None) -> Unmet | None:
    sent = environ.get("HTTP_IF_MATCH")
    if sent is None:
        return None
    if current is None:
        return "no-such-key"
    return None if etag_matches(sent, current) else "412"


def _source_changed(environ: Environ, etag_of: EtagOf) -> bool:
    sent = environ.get(_SOURCE_IF_MATCH)
    source = urlparse(str(environ.get("HTTP_X_AMZ_COPY_SOURCE", "")))
    if sent is None or "versionId" in source.query:  # a version: moto has its ETag
        return False
    src_bucket, _, src_key = unquote(source.path).lstrip("/").partition("/")
    current = etag_of(src_bucket, src_key)
    return current is not None and not etag_matches(sent, current)  # missing: moto's 404


# -- flexible checksums -------------------------------------------------------------------

_TRAILER_PAYLOADS = frozenset(
    {"STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"}
)


def checksum_header(environ: Environ) -> str | None:
    """The first header (lower case) by which a request carries a flexible checksum, the
    kind S3's SDKs send by default since early 2025 (botocore 1.36), or None.

    ``Content-Encoding: aws-chunked`` alone is not one: SigV4's signed chunks
    (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``) use it too, and servers had those long before.
    The checksum of the response that ``x-amz-checksum-mode`` asks for counts, as Backblaze
    B2 refuses it as well."""
    if "HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM" in environ:
        return "x-amz-sdk-checksum-algorithm"
    checksums = sorted(name for name in environ if name.startswith("HTTP_X_AMZ_CHECKSUM_"))
    if checksums:
        return checksums[0][5:].replace("_", "-").lower()
    if "HTTP_X_AMZ_TRAILER" in environ:
        return "x-amz-trailer"
    payload = str(environ.get("HTTP_X_AMZ_CONTENT_SHA256", "")).upper()
    if payload in _TRAILER_PAYLOADS:
        return "x-amz-content-sha256"
    encoding = str(environ.get("HTTP_CONTENT_ENCODING", "")).lower()
    chunked = "aws-chunked" in {part.strip() for part in encoding.split(",")}
    if chunked and payload != "STREAMING-AWS4-HMAC-SHA256-PAYLOAD":
        return "content-encoding"
    return None


# -- listings -----------------------------------------------------------------------------

# moto renders each entry as one element with no element of the same name inside, and keys
# are escaped, so a non-greedy match finds exactly the entries
_ENTRIES = (
    re.compile(rb"<Contents>.*?</Contents>", re.DOTALL),
    re.compile(rb"<CommonPrefixes>.*?</CommonPrefixes>", re.DOTALL),
)


def shuffled_listing(body: bytes, rng: random.Random) -> bytes:
    """A ListObjectsV2 answer with its ``<Contents>``, and its ``<CommonPrefixes>``, each in
    a shuffled order, in the places they had: the page keeps its entries, its count and
    its continuation token, as a directory bucket answers (not in lexicographic order)."""
    for pattern in _ENTRIES:
        entries = pattern.findall(body)
        rng.shuffle(entries)
        pieces = pattern.split(body)  # the text around the entries, one more than them
        body = b"".join(p for pair in zip(pieces, [*entries, b""], strict=True) for p in pair)
    return body

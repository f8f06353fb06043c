"""S3Client: one method per S3 operation, on a Transport (the one place requests are sent).

Locations are given as ``bucket`` and ``key`` strings; keys keep every byte given. Answers
come back as aios3fm's frozen values (``_responses`` reads botocore's dicts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from .._config import Settings
from .._exceptions import NotFoundError, PreconditionFailedError, S3Error
from .._models import (
    BucketInfo,
    Capabilities,
    DeleteError,
    DeleteResult,
    DirListing,
    ObjectInfo,
    PutResult,
)
from .._tasks import task_group
from . import _multipart
from ._responses import (
    ObjectReader,
    dir_listing,
    dir_probe,
    head_info,
    object_info,
    range_header,
    strip_etag,
    timestamp,
)
from ._transport import Transport

__all__ = ["S3Client"]

_DEFAULT_REGION = "us-east-1"  # where CreateBucket needs no LocationConstraint
_DELETE_BATCH = 1000
_COPY_OBJECT_MAX = 5 * 1024**3  # the largest object one CopyObject may copy


def _quoted(etag: str) -> str:
    return etag if etag.startswith('"') else f'"{etag}"'


def _location(bucket: str | None, key: str | None = None) -> str:
    if not bucket:
        return "s3://"
    return f"s3://{bucket}/{key or ''}"


class S3Client:
    """Async S3 over one aiobotocore client; use as ``async with S3Client(settings) as c``.

    ``api_calls`` counts API calls by operation name (once per call, whatever was retried)
    and ``requests_sent`` the HTTP requests they sent, retries included. ``capabilities``:
    what the endpoint honours (set by a probe); where a conditional request is not
    honoured, the methods check with a request of their own first (not atomic).
    """

    def __init__(
        self, settings: Settings | None = None, *, capabilities: Capabilities | None = None
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.capabilities = capabilities or Capabilities()
        self._transport = Transport(self.settings)

    def __repr__(self) -> str:
        state = "open" if self._transport.is_open else "closed"
        endpoint = self.settings.endpoint_url or "aws"
        return (
            f"<S3Client {state} endpoint={endpoint} concurrency={self.settings.concurrency} "
            f"api_calls={sum(self.api_calls.values())}>"
        )

    @property
    def api_calls(self) -> Counter[str]:
        return self._transport.api_calls

    @property
    def requests_sent(self) -> Counter[str]:
        return self._transport.requests_sent

    # -- lifecycle ----------------------------------------------------------------------

    async def open(self) -> S3Client:
        await self._transport.open()
        return self

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> S3Client:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def call(self, operation: str, location: str, **params: Any) -> Any:
        """Any S3 API call by its name (``"PutObjectTagging"``, ...), with botocore's
        parameters: counted, limited, retried and translated like every other call."""
        return await self._transport.call(operation, location, **params)

    def translate(self, exc: BaseException, operation: str, location: str) -> S3Error:
        """The aios3fm exception for a botocore/aiohttp error (the caller raises it ``from``)."""
        return self._transport.translate(exc, operation, location)

    # -- buckets ------------------------------------------------------------------------

    async def list_buckets(self) -> list[BucketInfo]:
        response = await self.call("ListBuckets", "s3://")
        return [
            BucketInfo(b["Name"], timestamp(b.get("CreationDate"))) for b in response["Buckets"]
        ]

    async def make_bucket(self, bucket: str, *, region: str | None = None) -> None:
        params: dict[str, Any] = {"Bucket": bucket}
        wanted = region or self._transport.region
        if wanted and wanted != _DEFAULT_REGION:
            params["CreateBucketConfiguration"] = {"LocationConstraint": wanted}
        await self.call("CreateBucket", _location(bucket), **params)

    async def remove_bucket(self, bucket: str) -> None:
        await self.call("DeleteBucket", _location(bucket), Bucket=bucket)

    async def head_bucket(self, bucket: str) -> None:
        await self.call("HeadBucket", _location(bucket), Bucket=bucket)

    # -- listings -----------------------------------------------------------------------

    async def _pages(
        self, bucket: str, prefix: str, *, delimiter: str | None = None,
        max_keys: int | None = None,
    ) -> AsyncIterator[dict[str, Any]]:  # fmt: skip
        """ListObjectsV2 pages, one API call each, following continuation tokens."""
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if delimiter:
            params["Delimiter"] = delimiter
        if max_keys:
            params["MaxKeys"] = max_keys
        location = _location(bucket, prefix)
        while True:
            page = await self.call("ListObjectsV2", location, **params)
            yield page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token or max_keys:
                return
            params["ContinuationToken"] = token

    async def list_dir(self, bucket: str, prefix: str = "") -> DirListing:
        """Everything directly under ``prefix`` (``""`` or ending in ``/``), all pages."""
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        pages = [page async for page in self._pages(bucket, prefix, delimiter="/")]
        return dir_listing(bucket, prefix, pages)

    async def probe_dir(self, bucket: str, prefix: str) -> ObjectInfo | None:
        """The directory ``prefix`` (ending in ``/``) by one ``MaxKeys=1`` listing: its
        marker, a plain directory, or None when nothing lives under it."""
        page = await anext(self._pages(bucket, prefix, delimiter="/", max_keys=1))
        return dir_probe(bucket, prefix, page)

    async def list_tree(self, bucket: str, prefix: str = "") -> AsyncIterator[list[ObjectInfo]]:
        """Every object under ``prefix`` (markers included), one list per page as it arrives."""
        async for page in self._pages(bucket, prefix):
            yield [object_info(bucket, obj) for obj in page.get("Contents", ())]

    # -- objects ------------------------------------------------------------------------

    async def head(self, bucket: str, key: str) -> ObjectInfo:
        response = await self.call("HeadObject", _location(bucket, key), Bucket=bucket, Key=key)
        return head_info(bucket, key, response)

    @asynccontextmanager
    async def get(
        self, bucket: str, key: str, *, start: int | None = None, end: int | None = None,
        if_match: str | None = None,
    ) -> AsyncIterator[ObjectReader]:  # fmt: skip
        """Stream an object, or the slice ``[start:end]`` of it; the request holds one of
        the client's slots until the block exits. ``if_match``: only that version
        (its ETag), else PreconditionFailedError."""
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if if_match:
            params["IfMatch"] = _quoted(if_match)
        byte_range = range_header(start, end)
        if byte_range:
            params["Range"] = byte_range
        location = _location(bucket, key)

        def translate(exc: BaseException) -> S3Error:
            return self._transport.translate(exc, "GetObject", location)

        async with self._transport.stream("GetObject", location, **params) as response:
            yield ObjectReader(head_info(bucket, key, response), response["Body"], translate)

    async def get_bytes(
        self, bucket: str, key: str, *, start: int | None = None, end: int | None = None
    ) -> bytes:
        """The whole object, or the slice ``[start:end]`` of it (no call for an empty slice)."""
        if start is not None and end is not None and 0 <= end <= start:
            return b""
        async with self.get(bucket, key, start=start, end=end) as reader:
            return await reader.read()

    async def put(
        self, bucket: str, key: str, body: bytes | bytearray | memoryview | AsyncIterator[bytes],
        *, content_type: str | None = None, size_hint: int | None = None,
        if_none_match: bool = False,
    ) -> PutResult:  # fmt: skip
        """Write an object from bytes or an async iterator of chunks; multipart above
        ``settings.multipart_threshold`` (parts concurrent, aborted on any failure).
        ``if_none_match``: only if no object has the key (``If-None-Match: *``), decided
        by S3 atomically; PreconditionFailedError (412) when one does."""
        extra = {"ContentType": content_type} if content_type else {}
        condition = await self._if_none_match(if_none_match, "conditional_put", bucket, key)
        t = self._transport
        if isinstance(body, (bytes, bytearray, memoryview)):
            data = bytes(body)
            if len(data) > self.settings.multipart_threshold:
                return await _multipart.upload_bytes(t, bucket, key, data, extra, condition)
            return await _multipart.put_object(t, bucket, key, data, extra, condition)
        return await _multipart.upload_stream(t, bucket, key, body, extra, size_hint, condition)

    async def copy(
        self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str,
        *, size: int | None = None, if_match: str | None = None, if_none_match: bool = False,
    ) -> PutResult:  # fmt: skip
        """Server-side copy; multipart (UploadPartCopy) above ``settings.copy_threshold``
        (unless the endpoint refuses UploadPartCopy: then one CopyObject, up to 5 GiB).

        Pass ``size`` when known (from a listing): without it a HEAD decides the method.
        ``if_match``: copy only that version of the source (its ETag), else
        PreconditionFailedError. ``if_none_match``: only if no object has the destination
        key (``If-None-Match: *``), else PreconditionFailedError.
        """
        if size is None:
            size = (await self.head(src_bucket, src_key)).size
        multipart = size > self.settings.copy_threshold
        if multipart and not self.capabilities.honours("multipart_copy"):
            multipart = size > _COPY_OBJECT_MAX
        if multipart:  # the write happens at CompleteMultipartUpload: PutObject's rule
            written_if = await self._if_none_match(
                if_none_match, "conditional_put", dst_bucket, dst_key
            )
            return await _multipart.copy_multipart(
                self._transport, src_bucket, src_key, dst_bucket, dst_key, if_match, written_if
            )
        condition = await self._if_none_match(
            if_none_match, "conditional_copy", dst_bucket, dst_key
        )
        if if_match:
            condition["CopySourceIfMatch"] = _quoted(if_match)
        response = await self.call(
            "CopyObject", _location(dst_bucket, dst_key), Bucket=dst_bucket, Key=dst_key,
            CopySource={"Bucket": src_bucket, "Key": src_key}, **condition,
        )  # fmt: skip
        etag = strip_etag(response.get("CopyObjectResult", {}).get("ETag")) or ""
        return PutResult(dst_bucket, dst_key, size, etag)

    async def _if_none_match(
        self, wanted: bool, feature: str, bucket: str, key: str
    ) -> dict[str, Any]:
        """The condition a write sends for ``if_none_match``: the header, where the
        endpoint honours it; else a HEAD first (PreconditionFailedError if the key exists),
        which a writer racing this one can still beat."""
        if not wanted:
            return {}
        if self.capabilities.honours(feature):
            return {"IfNoneMatch": "*"}
        location = _location(bucket, key)
        try:
            await self.head(bucket, key)
        except NotFoundError:
            return {}
        raise PreconditionFailedError(
            f"{location}: exists (checked before writing: the endpoint does not honour "
            "If-None-Match)",
            code="PreconditionFailed", operation="HeadObject", location=location, status=412,
        )  # fmt: skip

    async def delete(self, bucket: str, key: str) -> None:
        await self.call("DeleteObject", _location(bucket, key), Bucket=bucket, Key=key)

    async def delete_many(
        self, bucket: str, keys: Iterable[str], *, etags: Mapping[str, str] | None = None
    ) -> DeleteResult:
        """DeleteObjects in batches of 1000, batches concurrent; every per-key error is
        reported in the result, none raised. A missing key counts as deleted (as in S3).
        ``etags``: a key found there is deleted only if it still has that ETag (else a
        per-key PreconditionFailed error). Where the endpoint ignores DeleteObjects'
        ETags (``capabilities``), those keys are deleted one by one with ``If-Match``, or,
        if DeleteObject ignores that too, HEADed first: a check that is not atomic."""
        ordered = list(dict.fromkeys(keys))
        conditions = etags or {}
        settled: set[str] = set()
        refused: dict[str, DeleteError] = {}
        if conditions and not self.capabilities.honours("conditional_delete_batch"):
            settled, refused = await self._delete_checked(bucket, ordered, conditions)
            conditions = {}  # the batch would ignore them: what is left was checked
        batched = [k for k in ordered if k not in settled and k not in refused]

        def identifier(key: str) -> dict[str, str]:
            etag = conditions.get(key)
            return {"Key": key, "ETag": _quoted(etag)} if etag else {"Key": key}

        batches = [batched[i : i + _DELETE_BATCH] for i in range(0, len(batched), _DELETE_BATCH)]
        errors: list[DeleteError] = []

        async def run(batch: Sequence[str]) -> None:
            response = await self.call(
                "DeleteObjects", _location(bucket), Bucket=bucket,
                Delete={"Objects": [identifier(k) for k in batch], "Quiet": True},
            )  # fmt: skip
            errors.extend(
                DeleteError(e.get("Key", ""), e.get("Code", ""), e.get("Message", ""))
                for e in response.get("Errors", ())
            )

        async with task_group() as tg:
            for batch in batches:
                tg.start_soon(run, batch)
        errors.extend(refused.values())
        failed = {e.key for e in errors}
        deleted = tuple(k for k in ordered if k not in failed)
        by_key = {e.key: e for e in errors}
        return DeleteResult(bucket, deleted, tuple(by_key[k] for k in ordered if k in by_key))

    async def _delete_checked(
        self, bucket: str, keys: Sequence[str], etags: Mapping[str, str]
    ) -> tuple[set[str], dict[str, DeleteError]]:
        """For an endpoint that ignores DeleteObjects' per-key ETags: each key that must
        still have an ETag is deleted on its own with ``If-Match`` where DeleteObject
        honours it, else HEADed first (not atomic) and left for the batch if unchanged.
        Returns the keys deleted (or found gone) here, and those refused."""
        gone: set[str] = set()
        refused: dict[str, DeleteError] = {}
        alone = self.capabilities.honours("conditional_delete")

        async def check(key: str, etag: str) -> None:
            try:
                if alone:
                    await self.call(
                        "DeleteObject", _location(bucket, key), Bucket=bucket, Key=key,
                        IfMatch=_quoted(etag),
                    )  # fmt: skip
                    gone.add(key)
                    return
                now = (await self.head(bucket, key)).etag
            except NotFoundError:
                gone.add(key)  # missing: deleted, as S3 counts a missing key
                return
            except PreconditionFailedError as exc:
                refused[key] = DeleteError(key, "PreconditionFailed", exc.message)
                return
            except S3Error as exc:  # reported per key, as DeleteObjects reports its errors
                refused[key] = DeleteError(key, exc.code or "Error", exc.message)
                return
            if now is not None and strip_etag(now) != strip_etag(etag):
                refused[key] = DeleteError(key, "PreconditionFailed", "its ETag changed")

        async with task_group() as tg:
            for key in keys:
                if key in etags:
                    tg.start_soon(check, key, etags[key])
        return gone, refused

    # -- multipart, for callers that drive the parts themselves ---------------------------

    async def create_multipart(
        self, bucket: str, key: str, *, content_type: str | None = None
    ) -> str:
        extra = {"ContentType": content_type} if content_type else {}
        return await _multipart.create(self._transport, bucket, key, extra)

    async def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: bytes
    ) -> str:
        return await _multipart.upload_part(
            self._transport, bucket, key, upload_id, part_number, data
        )

    async def complete_multipart(
        self, bucket: str, key: str, upload_id: str, etags: Sequence[str]
    ) -> str:
        """Complete with part ``i + 1`` having ``etags[i]``; returns the object's ETag."""
        return await _multipart.complete(self._transport, bucket, key, upload_id, etags)

    async def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        await _multipart.abort(self._transport, bucket, key, upload_id)

    async def list_multipart_uploads(self, bucket: str, prefix: str = "") -> list[tuple[str, str]]:
        """``(key, upload_id)`` of the uploads begun and neither completed nor aborted."""
        response = await self.call(
            "ListMultipartUploads", _location(bucket, prefix), Bucket=bucket, Prefix=prefix
        )
        return [(u["Key"], u["UploadId"]) for u in response.get("Uploads", ())]

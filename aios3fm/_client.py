"""S3Client: the only code that talks to aiobotocore.

One long-lived aiobotocore client (one connection pool sized to ``concurrency``), one
semaphore that every request of the client passes through (multipart parts included, so
limits never multiply), counters of API calls and of HTTP requests sent, and the single
place where botocore errors become aios3fm exceptions.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiohttp
import anyio
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    ParamValidationError,
)
from botocore.exceptions import (
    ConnectionError as BotocoreConnectionError,
)

from . import _multipart
from ._config import Settings
from ._exceptions import (
    AccessDeniedError,
    InvalidLocationError,
    S3Error,
    TransientError,
    error_class_for,
    redact,
)
from ._models import BucketInfo, DeleteError, DeleteResult, DirListing, ObjectInfo, PutResult
from ._objects import (
    ObjectReader,
    head_info,
    object_info,
    range_header,
    strip_etag,
    timestamp,
)
from ._session import open_botocore_client
from ._tasks import task_group

__all__ = ["ObjectReader", "S3Client"]

_DEFAULT_REGION = "us-east-1"  # where CreateBucket needs no LocationConstraint
_DELETE_BATCH = 1000


def _location(bucket: str | None, key: str | None = None) -> str:
    if not bucket:
        return "s3://"
    return f"s3://{bucket}/{key or ''}"


class S3Client:
    """Async S3 over one aiobotocore client; use as ``async with S3Client(settings) as c``.

    Locations are given as ``bucket`` and ``key`` strings; keys keep every byte given.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.api_calls: Counter[str] = Counter()
        self.requests_sent: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self._slots = anyio.Semaphore(self.settings.concurrency)
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._secrets: tuple[str | None, ...] = ()

    def __repr__(self) -> str:
        state = "open" if self._client is not None else "closed"
        endpoint = self.settings.endpoint_url or "aws"
        return (
            f"<S3Client {state} endpoint={endpoint} concurrency={self.settings.concurrency} "
            f"api_calls={sum(self.api_calls.values())}>"
        )

    # -- lifecycle ----------------------------------------------------------------------

    async def open(self) -> S3Client:
        if self._client is not None:
            return self
        stack = AsyncExitStack()
        try:
            self._client, self._secrets = await open_botocore_client(self.settings, stack)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        self._client.meta.events.register("before-send.s3", self._count_request)
        return self

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    async def __aenter__(self) -> S3Client:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _count_request(self, event_name: str, **kwargs: Any) -> None:
        self.requests_sent[event_name.rsplit(".", 1)[-1]] += 1

    # -- the one way requests are made --------------------------------------------------

    def translate(self, exc: BaseException, operation: str, location: str) -> S3Error:
        """The aios3fm exception for a botocore/aiohttp error (the caller raises it ``from``)."""
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            text = error.get("Message") or ""
            cls = error_class_for(code or None, status)
            message = f"{location}: {code or status}{': ' + text if text else ''} ({operation})"
            return cls(
                redact(message, self._secrets),
                code=code or None, operation=operation, location=location, status=status,
            )  # fmt: skip
        if isinstance(exc, NoCredentialsError):
            return AccessDeniedError(
                f"{location}: no AWS credentials found ({operation})",
                code="NoCredentials", operation=operation, location=location,
            )  # fmt: skip
        name = type(exc).__name__
        transient = (HTTPClientError, BotocoreConnectionError, aiohttp.ClientError, OSError,
                     asyncio.TimeoutError)  # fmt: skip
        if isinstance(exc, transient):
            detail = redact(str(exc), self._secrets)
            return TransientError(
                f"{location}: {name}: {detail} ({operation})",
                code=name, operation=operation, location=location,
            )  # fmt: skip
        detail = redact(str(exc), self._secrets)
        return S3Error(f"{location}: {name}: {detail} ({operation})", operation=operation,
                       location=location)  # fmt: skip

    async def _invoke(self, operation: str, location: str, params: Mapping[str, Any]) -> Any:
        if self._client is None:
            raise RuntimeError("S3Client is not open; use 'async with S3Client(...)'")
        method = getattr(self._client, _snake(operation))
        try:
            return await method(**params)
        except ParamValidationError as exc:
            raise InvalidLocationError(f"{location}: {exc}") from exc
        except (BotoCoreError, ClientError, aiohttp.ClientError, OSError) as exc:
            raise self.translate(exc, operation, location) from exc

    async def call(self, operation: str, location: str, **params: Any) -> Any:
        """One API call under the client's concurrency limit: counted once, translated,
        and retried on transient errors (see :meth:`_backoff`)."""
        self.api_calls[operation] += 1
        deadline = time.monotonic() + self.settings.retry_deadline
        attempt = 0
        while True:
            async with self._slots:
                try:
                    return await self._invoke(operation, location, params)
                except TransientError:
                    attempt += 1
                    delay = self._backoff(attempt, deadline)
            self.retries[operation] += 1
            await anyio.sleep(delay)  # outside the slot: a waiting retry holds no request

    def _backoff(self, attempt: int, deadline: float) -> float:
        """The one retry layer (botocore makes a single attempt, so retries never
        multiply): full-jitter exponential backoff, ``max_attempts`` tries in all, within
        ``retry_deadline`` seconds. Re-raises the error being handled when out of either."""
        s = self.settings
        delay = random.uniform(0, min(s.retry_max_delay, s.retry_base_delay * 2**attempt))
        if attempt >= s.max_attempts or time.monotonic() + delay > deadline:
            raise  # the TransientError being handled (only called from an except block)
        return delay

    # -- buckets ------------------------------------------------------------------------

    async def list_buckets(self) -> list[BucketInfo]:
        response = await self.call("ListBuckets", "s3://")
        return [
            BucketInfo(b["Name"], timestamp(b.get("CreationDate"))) for b in response["Buckets"]
        ]

    async def make_bucket(self, bucket: str, *, region: str | None = None) -> None:
        params: dict[str, Any] = {"Bucket": bucket}
        wanted = region or self._client_region()
        if wanted and wanted != _DEFAULT_REGION:
            params["CreateBucketConfiguration"] = {"LocationConstraint": wanted}
        await self.call("CreateBucket", _location(bucket), **params)

    async def remove_bucket(self, bucket: str) -> None:
        await self.call("DeleteBucket", _location(bucket), Bucket=bucket)

    async def head_bucket(self, bucket: str) -> None:
        await self.call("HeadBucket", _location(bucket), Bucket=bucket)

    def _client_region(self) -> str | None:
        return None if self._client is None else str(self._client.meta.region_name)

    # -- listings -----------------------------------------------------------------------

    async def list_pages(
        self, bucket: str, prefix: str = "", *, delimiter: str | None = None,
        max_keys: int | None = None, start_after: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:  # fmt: skip
        """Raw ListObjectsV2 pages, one API call each, following continuation tokens."""
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if delimiter:
            params["Delimiter"] = delimiter
        if max_keys:
            params["MaxKeys"] = max_keys
        if start_after:
            params["StartAfter"] = start_after
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
        files: list[ObjectInfo] = []
        dirs: list[str] = []
        marker: ObjectInfo | None = None
        async for page in self.list_pages(bucket, prefix, delimiter="/"):
            for obj in page.get("Contents", ()):
                info = object_info(bucket, obj)
                if obj["Key"] == prefix:
                    marker = info
                else:
                    files.append(info)
            dirs.extend(p["Prefix"] for p in page.get("CommonPrefixes", ()))
        return DirListing(bucket, prefix, tuple(files), tuple(dirs), marker)

    async def list_tree(self, bucket: str, prefix: str = "") -> AsyncIterator[list[ObjectInfo]]:
        """Every object under ``prefix`` (markers included), one list per page as it arrives."""
        async for page in self.list_pages(bucket, prefix):
            yield [object_info(bucket, obj) for obj in page.get("Contents", ())]

    # -- objects ------------------------------------------------------------------------

    async def head(self, bucket: str, key: str) -> ObjectInfo:
        response = await self.call("HeadObject", _location(bucket, key), Bucket=bucket, Key=key)
        return head_info(bucket, key, response)

    @asynccontextmanager
    async def get(
        self, bucket: str, key: str, *, start: int | None = None, end: int | None = None
    ) -> AsyncIterator[ObjectReader]:
        """Stream an object, or the slice ``[start:end]`` of it; the request holds one of
        the client's slots until the block exits."""
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        byte_range = range_header(start, end)
        if byte_range:
            params["Range"] = byte_range
        location = _location(bucket, key)
        self.api_calls["GetObject"] += 1
        deadline = time.monotonic() + self.settings.retry_deadline
        attempt = 0
        while True:
            await self._slots.acquire()
            try:
                response = await self._invoke("GetObject", location, params)
                break
            except TransientError:
                self._slots.release()
                attempt += 1
                delay = self._backoff(attempt, deadline)
            except BaseException:
                self._slots.release()
                raise
            self.retries["GetObject"] += 1
            await anyio.sleep(delay)
        body = response["Body"]
        try:
            yield ObjectReader(self, head_info(bucket, key, response), body, location)
        finally:
            body.close()
            self._slots.release()

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
    ) -> PutResult:  # fmt: skip
        """Write an object from bytes or an async iterator of chunks; multipart above
        ``settings.multipart_threshold`` (parts concurrent, aborted on any failure)."""
        extra = {"ContentType": content_type} if content_type else {}
        if isinstance(body, (bytes, bytearray, memoryview)):
            data = bytes(body)
            if len(data) > self.settings.multipart_threshold:
                return await _multipart.upload_bytes(self, bucket, key, data, extra)
            return await self._put_object(bucket, key, data, extra)
        return await _multipart.upload_stream(self, bucket, key, body, extra, size_hint)

    async def _put_object(
        self, bucket: str, key: str, data: bytes, extra: Mapping[str, Any]
    ) -> PutResult:
        response = await self.call(
            "PutObject", _location(bucket, key), Bucket=bucket, Key=key, Body=data, **extra
        )
        return PutResult(bucket, key, len(data), strip_etag(response.get("ETag")) or "")

    async def copy(
        self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str,
        *, size: int | None = None,
    ) -> PutResult:  # fmt: skip
        """Server-side copy; multipart (UploadPartCopy) above ``settings.copy_threshold``.

        Pass ``size`` when known (from a listing): without it a HEAD decides the method.
        """
        if size is None:
            size = (await self.head(src_bucket, src_key)).size
        if size > self.settings.copy_threshold:
            return await _multipart.copy_multipart(self, src_bucket, src_key, dst_bucket, dst_key)
        response = await self.call(
            "CopyObject", _location(dst_bucket, dst_key), Bucket=dst_bucket, Key=dst_key,
            CopySource={"Bucket": src_bucket, "Key": src_key},
        )  # fmt: skip
        etag = strip_etag(response.get("CopyObjectResult", {}).get("ETag")) or ""
        return PutResult(dst_bucket, dst_key, size, etag)

    async def delete(self, bucket: str, key: str) -> None:
        await self.call("DeleteObject", _location(bucket, key), Bucket=bucket, Key=key)

    async def delete_many(self, bucket: str, keys: Iterable[str]) -> DeleteResult:
        """DeleteObjects in batches of 1000, batches concurrent; every per-key error is
        reported in the result, none raised. A missing key counts as deleted (as in S3)."""
        ordered = list(dict.fromkeys(keys))
        batches = [ordered[i : i + _DELETE_BATCH] for i in range(0, len(ordered), _DELETE_BATCH)]
        errors: list[DeleteError] = []

        async def run(batch: Sequence[str]) -> None:
            response = await self.call(
                "DeleteObjects", _location(bucket), Bucket=bucket,
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )  # fmt: skip
            errors.extend(
                DeleteError(e.get("Key", ""), e.get("Code", ""), e.get("Message", ""))
                for e in response.get("Errors", ())
            )

        async with task_group() as tg:
            for batch in batches:
                tg.start_soon(run, batch)
        failed = {e.key for e in errors}
        deleted = tuple(k for k in ordered if k not in failed)
        by_key = {e.key: e for e in errors}
        return DeleteResult(bucket, deleted, tuple(by_key[k] for k in ordered if k in by_key))

    # -- multipart, for callers that drive the parts themselves ---------------------------

    async def create_multipart(
        self, bucket: str, key: str, *, content_type: str | None = None
    ) -> str:
        extra = {"ContentType": content_type} if content_type else {}
        response = await self.call(
            "CreateMultipartUpload", _location(bucket, key), Bucket=bucket, Key=key, **extra
        )
        return str(response["UploadId"])

    async def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: bytes
    ) -> str:
        response = await self.call(
            "UploadPart", _location(bucket, key), Bucket=bucket, Key=key, UploadId=upload_id,
            PartNumber=part_number, Body=data,
        )  # fmt: skip
        return str(response["ETag"])

    async def complete_multipart(
        self, bucket: str, key: str, upload_id: str, etags: Sequence[str]
    ) -> str:
        """Complete with part ``i + 1`` having ``etags[i]``; returns the object's ETag."""
        parts = [{"PartNumber": i + 1, "ETag": etag} for i, etag in enumerate(etags)]
        response = await self.call(
            "CompleteMultipartUpload", _location(bucket, key), Bucket=bucket, Key=key,
            UploadId=upload_id, MultipartUpload={"Parts": parts},
        )  # fmt: skip
        return strip_etag(response.get("ETag")) or ""

    async def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        await self.call(
            "AbortMultipartUpload", _location(bucket, key), Bucket=bucket, Key=key,
            UploadId=upload_id,
        )  # fmt: skip

    async def list_multipart_uploads(self, bucket: str, prefix: str = "") -> list[tuple[str, str]]:
        """``(key, upload_id)`` of the uploads begun and neither completed nor aborted."""
        response = await self.call(
            "ListMultipartUploads", _location(bucket, prefix), Bucket=bucket, Prefix=prefix
        )
        return [(u["Key"], u["UploadId"]) for u in response.get("Uploads", ())]


_SNAKE_CACHE: dict[str, str] = {}


def _snake(operation: str) -> str:
    name = _SNAKE_CACHE.get(operation)
    if name is None:
        from botocore import xform_name

        name = _SNAKE_CACHE[operation] = xform_name(operation)
    return name

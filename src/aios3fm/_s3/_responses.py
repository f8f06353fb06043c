"""What S3 answers become: the one place that reads botocore's response dicts.

ObjectInfo from listings and HEADs, a DirListing from ``Delimiter='/'`` pages, the answer
of a one-key directory probe, the Range header of a slice, and ObjectReader, a GetObject
body being streamed. Nothing above ``_s3`` sees a raw response.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import aiohttp
from botocore.exceptions import BotoCoreError

from .._exceptions import S3Error
from .._models import DirListing, ObjectInfo

__all__ = [
    "ObjectReader",
    "dir_listing",
    "dir_probe",
    "head_info",
    "object_info",
    "range_header",
    "strip_etag",
    "timestamp",
]

_READ_CHUNK = 256 * 1024


def strip_etag(etag: str | None) -> str | None:
    return etag.strip('"') if etag else etag


def timestamp(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def range_header(start: int | None, end: int | None) -> str | None:
    """HTTP Range for the Python slice ``[start:end]`` (end exclusive; negative start = suffix)."""
    if start is None and end is None:
        return None
    if start is not None and start < 0:
        if end is not None:
            raise ValueError("a suffix range (negative start) takes no end")
        return f"bytes={start}"
    first = start or 0
    return f"bytes={first}-" if end is None else f"bytes={first}-{end - 1}"


def object_info(bucket: str, obj: Mapping[str, Any]) -> ObjectInfo:
    """An entry of a ListObjectsV2 page's ``Contents``."""
    key = obj["Key"]
    return ObjectInfo(
        bucket, key, int(obj.get("Size", 0)), timestamp(obj.get("LastModified")),
        strip_etag(obj.get("ETag")), key.endswith("/"),
    )  # fmt: skip


def head_info(bucket: str, key: str, response: Mapping[str, Any]) -> ObjectInfo:
    """A HeadObject (or GetObject) answer; a ranged GET still gives the full size."""
    size = int(response.get("ContentLength", 0))
    content_range = response.get("ContentRange")
    if content_range and "/" in content_range:  # "bytes 0-9/1234": the object's full size
        total = content_range.rsplit("/", 1)[1]
        size = int(total) if total.isdigit() else size
    return ObjectInfo(
        bucket, key, size, timestamp(response.get("LastModified")),
        strip_etag(response.get("ETag")), key.endswith("/"),
    )  # fmt: skip


def dir_listing(bucket: str, prefix: str, pages: Iterable[Mapping[str, Any]]) -> DirListing:
    """The pages of one ``Delimiter='/'`` listing of ``prefix`` folded into a DirListing,
    sorted by key whatever order the endpoint listed them in; the directory's own marker
    (key == prefix) is its ``marker``, never one of its files."""
    files: list[ObjectInfo] = []
    dirs: list[str] = []
    marker: ObjectInfo | None = None
    for page in pages:
        for obj in page.get("Contents", ()):
            info = object_info(bucket, obj)
            if obj["Key"] == prefix:
                marker = info
            else:
                files.append(info)
        dirs.extend(p["Prefix"] for p in page.get("CommonPrefixes", ()))
    files.sort(key=lambda f: f.key)  # some endpoints (S3 Express) list in no order
    dirs.sort()
    return DirListing(bucket, prefix, tuple(files), tuple(dirs), marker)


def dir_probe(bucket: str, prefix: str, page: Mapping[str, Any]) -> ObjectInfo | None:
    """What a ``MaxKeys=1``, ``Delimiter='/'`` listing of ``prefix`` says of the directory:
    its marker's info, a plain directory, or None when nothing lives under it."""
    contents = page.get("Contents", ())
    if not contents and not page.get("CommonPrefixes"):
        return None
    if contents and contents[0]["Key"] == prefix:
        return object_info(bucket, contents[0])
    return ObjectInfo(bucket, prefix, 0, None, None, True)


class ObjectReader:
    """A GetObject body being streamed: ``await read(n)`` or ``async for chunk in reader``.

    ``info`` is what the GetObject answer said of the object (size, mtime, ETag).
    """

    def __init__(
        self, info: ObjectInfo, body: Any, translate: Callable[[BaseException], S3Error]
    ) -> None:
        self.info = info
        self._body = body
        self._translate = translate

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all that is left when ``n < 0``); ``b""`` at the end."""
        try:
            data: bytes = await (self._body.read() if n < 0 else self._body.read(n))
        except (BotoCoreError, aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise self._translate(exc) from exc
        return data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self.read(_READ_CHUNK):
            yield chunk

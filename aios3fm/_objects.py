"""What S3 responses become: ObjectInfo from listings and HEADs, the Range header of a
slice, and ObjectReader, a GetObject body being streamed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from botocore.exceptions import BotoCoreError

from ._models import ObjectInfo

if TYPE_CHECKING:
    from ._client import S3Client

__all__ = ["ObjectReader", "head_info", "object_info", "range_header", "strip_etag", "timestamp"]

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


class ObjectReader:
    """A GetObject body being streamed: ``await read(n)`` or ``async for chunk in reader``."""

    def __init__(self, client: S3Client, info: ObjectInfo, body: Any, location: str) -> None:
        self.info = info
        self._client = client
        self._body = body
        self._location = location

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all that is left when ``n < 0``); ``b""`` at the end."""
        try:
            data: bytes = await (self._body.read() if n < 0 else self._body.read(n))
        except (BotoCoreError, aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise self._client.translate(exc, "GetObject", self._location) from exc
        return data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self.read(_READ_CHUNK):
            yield chunk


def object_info(bucket: str, obj: Mapping[str, Any]) -> ObjectInfo:
    key = obj["Key"]
    return ObjectInfo(
        bucket, key, int(obj.get("Size", 0)), timestamp(obj.get("LastModified")),
        strip_etag(obj.get("ETag")), key.endswith("/"),
    )  # fmt: skip


def head_info(bucket: str, key: str, response: Mapping[str, Any]) -> ObjectInfo:
    size = int(response.get("ContentLength", 0))
    content_range = response.get("ContentRange")
    if content_range and "/" in content_range:  # "bytes 0-9/1234": the object's full size
        total = content_range.rsplit("/", 1)[1]
        size = int(total) if total.isdigit() else size
    return ObjectInfo(
        bucket, key, size, timestamp(response.get("LastModified")),
        strip_etag(response.get("ETag")), key.endswith("/"),
    )  # fmt: skip

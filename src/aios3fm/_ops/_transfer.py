"""Moving one item's bytes, for each pair: local->S3, S3->local, S3->S3, local->local.

Each returns what was written (size, and the ETag or MD5 when known) so that a move can
verify its copy before it deletes the source. Downloads and local copies go to a temporary
file in the destination directory, renamed into place only when complete; a failure or a
cancellation removes it (shielded). Uploads above the threshold stream the file in parts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread

from .._exceptions import S3Error
from .._location import S3Location
from .._s3 import S3Client
from ._plan import Item

__all__ = ["Written", "download", "file_chunks", "md5_of", "plain_md5", "transfer"]

_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Written:
    size: int
    md5: str | None = None
    """The MD5 of what was written, when known (an S3 single-part ETag is one)."""


def plain_md5(etag: str | None) -> str | None:
    """The MD5 an ETag is, or None for a multipart ETag (``md5-N``) or none at all."""
    return etag if etag and "-" not in etag else None


def md5_of(path: Path) -> str:
    """The MD5 of a local file (blocking: run it in a worker thread)."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    """A local file read in 1 MiB chunks in a worker thread; closed (shielded) however
    the reading ends, cancellation included."""
    f = await anyio.open_file(path, "rb")
    try:
        while chunk := await f.read(_CHUNK):
            yield chunk
    finally:
        with anyio.CancelScope(shield=True):  # a cancelled close would leak the file
            await f.aclose()


async def transfer(client: S3Client, item: Item) -> Written:
    source, target = item.source, item.destination
    assert target is not None
    if isinstance(source, S3Location) and isinstance(target, S3Location):
        # a directory marker is copied too: it may carry bytes and metadata of its own
        result = await client.copy(
            source.bucket, source.key, target.bucket, target.key, size=item.size
        )
        return Written(result.size, plain_md5(result.etag))
    if item.is_dir:
        if isinstance(target, S3Location):
            key = target.key if target.key.endswith("/") else target.key + "/"
            await client.put(target.bucket, key, b"")
        else:
            await anyio.Path(target).mkdir(parents=True, exist_ok=True)
        return Written(0)
    if isinstance(source, Path) and isinstance(target, S3Location):
        return await _upload(client, source, target, item.size)
    if isinstance(source, S3Location) and isinstance(target, Path):
        return await download(client, source, target)
    assert isinstance(source, Path)
    assert isinstance(target, Path)
    return await anyio.to_thread.run_sync(_copy_local, source, target)


async def _upload(client: S3Client, source: Path, target: S3Location, size: int) -> Written:
    if size <= client.settings.multipart_threshold:
        data = await anyio.Path(source).read_bytes()
        result = await client.put(target.bucket, target.key, data)
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if result.etag != md5:
            raise S3Error(
                f"{target}: the server stored other bytes than were sent",
                code="BadDigest",
                operation="upload",
                location=str(target),
            )
        return Written(len(data), md5)

    result = await client.put(target.bucket, target.key, file_chunks(source), size_hint=size)
    return Written(result.size)


async def download(client: S3Client, source: S3Location, target: Path) -> Written:
    """``source`` into the file ``target``, through a temporary file beside it that is
    checked against the ETag (an MD5 for single-part objects) and renamed into place."""
    await anyio.Path(target.parent).mkdir(parents=True, exist_ok=True)
    fd, name = await anyio.to_thread.run_sync(
        lambda: tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".aios3fm")
    )
    temporary = Path(name)
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        file = await anyio.open_file(fd, "wb", closefd=True)
        async with file, client.get(source.bucket, source.key) as reader:
            expected_md5 = plain_md5(reader.info.etag)
            async for chunk in reader:
                digest.update(chunk)
                size += len(chunk)
                await file.write(chunk)
        if expected_md5 is not None and digest.hexdigest() != expected_md5:
            raise S3Error(
                f"{source}: downloaded bytes do not match the ETag",
                code="BadDigest",
                operation="download",
                location=str(source),
            )
        await anyio.to_thread.run_sync(os.replace, temporary, target)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.Path(temporary).unlink(missing_ok=True)
        raise
    return Written(size, digest.hexdigest())


def _copy_local(source: Path, target: Path) -> Written:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".aios3fm")
    os.close(fd)
    try:
        shutil.copyfile(source, name)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Written(target.stat().st_size)

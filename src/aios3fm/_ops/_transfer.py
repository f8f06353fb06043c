"""Moving one item's bytes, for each pair: local->S3, S3->local, S3->S3, local->local.

Each returns what was written (size, and the ETag or MD5 when known) so that a move can
verify its copy before it deletes the source, and which version of the source it read
(an S3 ETag, or a local file's stamp) so that the move deletes that version only. A local
file that changes while it is read fails its item. Downloads and local copies go to a
temporary file in the destination directory, renamed into place only when complete; a
failure or a cancellation removes it (shielded). Uploads above the threshold stream the
file in parts.
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
from ._items import Item, Stamp

__all__ = [
    "Written", "download", "etag_matches", "file_chunks", "md5_of", "plain_md5",
    "source_changed", "stamp_of", "transfer",
]  # fmt: skip

_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Written:
    size: int
    md5: str | None = None
    """The MD5 of what was written, when known (an S3 single-part ETag is one)."""
    source_etag: str | None = None
    """The version of an S3 source that was read or copied."""
    stamp: Stamp | None = None
    """A local source as it was when it was read."""


def stamp_of(path: Path) -> Stamp:
    """``(size, mtime_ns, inode, device)`` of a local file (blocking: a worker thread)."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev


def source_changed(location: object, when: str) -> S3Error:
    return S3Error(
        f"{location}: changed {when}; the source is kept as it is now",
        code="SourceChanged", operation="move", location=str(location),
    )  # fmt: skip


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


_MiB = 1024 * 1024
_COMMON_PARTS = (5, 8, 16, 10, 15, 32, 50, 64, 100, 128, 256, 512)  # MiB, by the usual tools


class _MultipartETag:
    """The ETag S3 gives an object uploaded in parts of ``part`` bytes: the MD5 of the
    parts' MD5s, then ``-`` and the number of parts. Fed chunks of any size."""

    def __init__(self, part: int) -> None:
        self.part = part
        self._outer = hashlib.md5(usedforsecurity=False)
        self._current = hashlib.md5(usedforsecurity=False)
        self._filled = 0
        self._parts = 0

    def update(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            taken = view[: self.part - self._filled]
            self._current.update(taken)
            self._filled += len(taken)
            view = view[len(taken) :]
            if self._filled == self.part:
                self._close_part()

    def _close_part(self) -> None:
        self._outer.update(self._current.digest())
        self._current = hashlib.md5(usedforsecurity=False)
        self._filled = 0
        self._parts += 1

    def etag(self) -> str:
        if self._filled:
            self._close_part()
        return f"{self._outer.hexdigest()}-{self._parts}"


def etag_matches(path: Path, etag: str | None, size: int, own_part: int) -> bool:
    """Whether a local file holds the bytes an S3 ETag describes: its MD5 for a
    single-part object; for a multipart one (``md5-N``), the MD5 of the parts' MD5s,
    recomputed for each part size that gives N parts (aios3fm's own first, then those
    the usual tools use), all in one read of the file. Blocking: a worker thread."""
    if not etag:
        return False
    if "-" not in etag:
        return md5_of(path) == etag
    tail = etag.rsplit("-", 1)[1]
    if not tail.isdigit():
        return False
    count = int(tail)
    sizes = [own_part, *(m * _MiB for m in _COMMON_PARTS)]
    hashers = [_MultipartETag(p) for p in dict.fromkeys(sizes) if -(-size // p) == count]
    if not hashers:
        return False
    with path.open("rb") as f:
        while chunk := f.read(_MiB):
            for hasher in hashers:
                hasher.update(chunk)
    return any(hasher.etag() == etag for hasher in hashers)


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


async def transfer(
    client: S3Client, item: Item, *, pinned: bool = False, if_none_match: bool = False
) -> Written:
    """Copy ``item``; ``pinned``: an S3 source is copied only in the version its listing
    showed (a move deletes that version afterwards, and nothing newer). ``if_none_match``:
    an S3 target is written only if no object has its key (PreconditionFailedError)."""
    source, target = item.source, item.destination
    assert target is not None
    if isinstance(source, S3Location) and isinstance(target, S3Location):
        # a directory marker is copied too: it may carry bytes and metadata of its own
        version = item.etag if pinned else None
        result = await client.copy(
            source.bucket, source.key, target.bucket, target.key, size=item.size,
            if_match=version, if_none_match=if_none_match,
        )  # fmt: skip
        return Written(result.size, plain_md5(result.etag), source_etag=version)
    if item.is_dir:
        if isinstance(target, S3Location):
            key = target.key if target.key.endswith("/") else target.key + "/"
            await client.put(target.bucket, key, b"")
        else:
            await anyio.Path(target).mkdir(parents=True, exist_ok=True)
        return Written(0)
    if isinstance(source, Path) and isinstance(target, S3Location):
        return await _upload(client, source, target, item.size, if_none_match)
    if isinstance(source, S3Location) and isinstance(target, Path):
        return await download(client, source, target)
    assert isinstance(source, Path)
    assert isinstance(target, Path)
    return await anyio.to_thread.run_sync(_copy_local, source, target)


async def _upload(
    client: S3Client, source: Path, target: S3Location, size: int, if_none_match: bool
) -> Written:
    before = await anyio.to_thread.run_sync(stamp_of, source)
    if size <= client.settings.multipart_threshold:
        data = await anyio.Path(source).read_bytes()
        if await anyio.to_thread.run_sync(stamp_of, source) != before:
            raise source_changed(source, "while it was read")
        result = await client.put(target.bucket, target.key, data, if_none_match=if_none_match)
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if result.etag != md5:
            raise S3Error(
                f"{target}: the server stored other bytes than were sent",
                code="BadDigest",
                operation="upload",
                location=str(target),
            )
        return Written(len(data), md5, stamp=before)

    result = await client.put(
        target.bucket, target.key, file_chunks(source), size_hint=size,
        if_none_match=if_none_match,
    )  # fmt: skip
    if await anyio.to_thread.run_sync(stamp_of, source) != before or result.size != before[0]:
        raise source_changed(source, "while it was uploaded")
    return Written(result.size, stamp=before)


def _temporary(directory: Path) -> tuple[int, str]:
    """A temporary file beside the target: a short name of its own, so that a target
    name of 255 bytes still has room (blocking: a worker thread)."""
    return tempfile.mkstemp(dir=directory, prefix=".aios3fm-", suffix=".aios3fm")


async def download(client: S3Client, source: S3Location, target: Path) -> Written:
    """``source`` into the file ``target``, through a temporary file beside it that is
    checked against the ETag (an MD5 for single-part objects) and renamed into place."""
    await anyio.Path(target.parent).mkdir(parents=True, exist_ok=True)
    fd, name = await anyio.to_thread.run_sync(_temporary, target.parent)
    temporary = Path(name)
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        file = await anyio.open_file(fd, "wb", closefd=True)
        async with file, client.get(source.bucket, source.key) as reader:
            version = reader.info.etag
            expected_md5 = plain_md5(version)
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
    return Written(size, digest.hexdigest(), source_etag=version)


def _copy_local(source: Path, target: Path) -> Written:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = _temporary(target.parent)
    os.close(fd)
    try:
        before = stamp_of(source)
        shutil.copyfile(source, name)
        if stamp_of(source) != before:
            raise source_changed(source, "while it was copied")
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Written(target.stat().st_size, stamp=before)

"""ArchiveOperations: create, extract and list zip and tar-family archives, with the
archive and its members local or on S3 (FileManager's ``create_archive``,
``extract_archive`` and ``list_archive``).

Memory stays bounded: compression and decompression run in worker threads, members read
from S3 stream into the archive through a bridge (the thread asks the event loop for each
chunk), an archive bound for S3 is spooled to a temporary file and uploaded in parts, and
an S3 archive to extract or list is first downloaded to a temporary file. Every member is
checked before anything is extracted. Temporary files go in every case (shielded).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import anyio
import anyio.from_thread
import anyio.to_thread

from .._cache import BatchedInvalidator, dir_form
from .._events import ChangeEvent
from .._exceptions import CorruptArchiveError, S3Error, UnsafeArchiveMember
from .._location import S3Location, parse_location
from .._models import ItemResult, OperationResult
from .._ops import (
    ItemCallback,
    Missing,
    Planned,
    Policy,
    ProgressCallback,
    Refused,
    Run,
    Skipped,
    Source,
    download,
    expand,
    file_chunks,
)
from .._s3 import ObjectReader, S3Client
from .._tasks import task_group
from ._formats import (
    READ_ERRORS,
    ArchiveMember,
    check_members,
    format_for,
    open_reader,
    open_writer,
    safe_join,
)

__all__ = ["ArchiveOperations"]

_CHUNK = 1024 * 1024
_SMALL_IN_FLIGHT = 16  # members held in memory at once while uploading an extraction


@asynccontextmanager
async def _workdir() -> AsyncIterator[str]:
    """A temporary directory, made and removed in a worker thread (removal shielded)."""
    path = await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix="aios3fm-"))
    try:
        yield path
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(path, ignore_errors=True))


class _Bridge:
    """A blocking file-like over an ObjectReader, for the archive writer's thread."""

    def __init__(self, reader: ObjectReader) -> None:
        self._reader = reader

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            return anyio.from_thread.run(self._reader.read, -1)
        parts: list[bytes] = []
        wanted = n
        while wanted > 0:  # tarfile wants exactly n bytes, a stream gives what it has
            chunk = anyio.from_thread.run(self._reader.read, wanted)
            if not chunk:
                break
            parts.append(chunk)
            wanted -= len(chunk)
        return b"".join(parts)


class ArchiveOperations:
    """The archive operations of one FileManager, over its client and invalidator."""

    def __init__(self, client: S3Client, invalidator: BatchedInvalidator) -> None:
        self._client = client
        self.invalidator = invalidator

    def __repr__(self) -> str:
        return f"<ArchiveOperations {self._client!r}>"

    async def _local_copy(self, archive: S3Location | Path, workdir: str) -> Path:
        if isinstance(archive, Path):
            return archive
        target = Path(workdir) / (archive.key.rsplit("/", 1)[-1] or "archive")
        await download(self._client, archive, target)
        return target

    # -- create ---------------------------------------------------------------------------

    async def create(
        self, sources: Sequence[str], archive_path: str, *, format: str | None,
        progress: ProgressCallback | None, on_item: ItemCallback | None = None,
        keep_items: bool = True,
    ) -> OperationResult:  # fmt: skip
        fmt = format_for(archive_path, format)
        target = parse_location(archive_path)
        run = Run(
            "create_archive", self._client.api_calls, progress=progress, on_item=on_item,
            keep_items=keep_items,
        )  # fmt: skip
        spool_dir = str(target.parent) if isinstance(target, Path) else None
        if spool_dir:
            await anyio.Path(spool_dir).mkdir(parents=True, exist_ok=True)
        fd, name = await anyio.to_thread.run_sync(
            lambda: tempfile.mkstemp(dir=spool_dir, prefix=".aios3fm-archive-", suffix=".tmp")
        )
        spool = Path(name)
        try:
            with run.cancellable():
                file: IO[bytes] = await anyio.to_thread.run_sync(lambda: os.fdopen(fd, "wb"))
                try:
                    writer = await anyio.to_thread.run_sync(open_writer, file, fmt)
                    plan = expand(
                        self._client, [Source(s) for s in sources], Path("."),
                        policy=Policy("copy"),
                    )  # fmt: skip
                    async for item in plan:
                        await self._add_member(writer, item, run)
                    await anyio.to_thread.run_sync(writer.close)
                finally:
                    with anyio.CancelScope(shield=True):  # a cancelled close would leak it
                        await anyio.to_thread.run_sync(file.close)
                if isinstance(target, Path):
                    await anyio.to_thread.run_sync(os.replace, spool, target)
                else:
                    await self._upload_spool(spool, target)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.Path(spool).unlink(missing_ok=True)
        return run.result()

    async def _add_member(self, writer: Any, item: Planned, run: Run) -> None:
        if isinstance(item, Missing):
            error = FileNotFoundError(f"{item.source}: no such file or directory")
            run.record(ItemResult(item.source, None, "failed", error=error))
            return
        if isinstance(item, Refused):  # a key that would be an unsafe member name
            run.record(ItemResult(item.source, None, "failed", error=item.error))
            return
        if isinstance(item, Skipped):  # a symlink not followed, a special file
            run.record(ItemResult(item.source, None, "skipped", reason=item.reason))
            return
        assert isinstance(item.destination, Path)
        name = item.destination.as_posix()
        mtime = item.mtime or time.time()
        if item.is_dir:
            await anyio.to_thread.run_sync(writer.add_dir, name, mtime)
        elif isinstance(item.source, S3Location):
            async with contextlib.AsyncExitStack() as stack:
                try:  # the version listed and sized in the header, or none: never cut short
                    reader = await stack.enter_async_context(
                        self._client.get(item.source.bucket, item.source.key, if_match=item.etag)
                    )
                except Exception as exc:  # nothing of it written yet: left out, reported
                    run.record(ItemResult(str(item.source), name, "failed", item.size, exc))
                    return
                # a member broken mid-stream breaks the archive: that error propagates
                await anyio.to_thread.run_sync(
                    writer.add_stream, name, item.size, mtime, _Bridge(reader)
                )
        else:
            local = item.source

            def add_local() -> None:
                with open(local, "rb") as stream:
                    writer.add_stream(name, item.size, mtime, stream)

            await anyio.to_thread.run_sync(add_local)
        run.record(ItemResult(str(item.source), name, "done", item.size))

    async def _upload_spool(self, spool: Path, target: S3Location) -> None:
        size = (await anyio.Path(spool).stat()).st_size

        try:
            await self._client.put(target.bucket, target.key, file_chunks(spool), size_hint=size)
        finally:
            self.invalidator.emit(ChangeEvent(target.bucket, written=(target.key,)))
            with anyio.CancelScope(shield=True):
                await self.invalidator.flush()

    # -- list -----------------------------------------------------------------------------

    async def members(self, archive_path: str, *, format: str | None) -> list[ArchiveMember]:
        fmt = format_for(archive_path, format)
        archive = parse_location(archive_path)
        async with _workdir() as workdir:
            local = await self._local_copy(archive, workdir)
            reader = await anyio.to_thread.run_sync(open_reader, str(local), fmt, str(archive_path))
            try:
                return await anyio.to_thread.run_sync(reader.members)
            finally:
                await anyio.to_thread.run_sync(reader.close)

    # -- extract --------------------------------------------------------------------------

    async def extract(
        self, archive_path: str, destination_dir: str, *, format: str | None,
        max_total_size: int | None, max_ratio: float | None, progress: ProgressCallback | None,
        on_item: ItemCallback | None = None, keep_items: bool = True,
    ) -> OperationResult:  # fmt: skip
        fmt = format_for(archive_path, format)
        archive, destination = parse_location(archive_path), parse_location(destination_dir)
        run = Run(
            "extract_archive", self._client.api_calls, progress=progress, on_item=on_item,
            keep_items=keep_items,
        )  # fmt: skip
        label = archive_path
        async with _workdir() as workdir:
            local = await self._local_copy(archive, workdir)
            reader = await anyio.to_thread.run_sync(open_reader, str(local), fmt, label)
            try:
                size = (await anyio.Path(local).stat()).st_size
                members = await anyio.to_thread.run_sync(
                    check_members, reader, label, max_total_size, max_ratio, size
                )
                with run.cancellable():
                    if isinstance(destination, Path):
                        await self._extract_local(reader, members, destination, run, label)
                    else:
                        await self._extract_s3(reader, members, destination, run, label)
            finally:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(reader.close)
                    await self.invalidator.flush()
        return run.result()

    async def _extract_local(
        self, reader: Any, members: list[tuple[ArchiveMember, object]], root: Path, run: Run,
        label: str,
    ) -> None:  # fmt: skip
        await anyio.Path(root).mkdir(parents=True, exist_ok=True)
        for member, handle in members:
            source = f"{label}:{member.name}"
            try:
                path = safe_join(str(root), member.name)
                await anyio.to_thread.run_sync(_write_member, reader, handle, member, path, label)
            except (CorruptArchiveError, UnsafeArchiveMember, OSError) as exc:
                run.record(ItemResult(source, None, "failed", member.size, exc))  # nothing kept
                continue
            run.record(ItemResult(source, path, "done", member.size))

    async def _extract_s3(
        self, reader: Any, members: list[tuple[ArchiveMember, object]], root: S3Location,
        run: Run, label: str,
    ) -> None:  # fmt: skip
        bucket, base = root.bucket, dir_form(root.key)
        room = anyio.Semaphore(_SMALL_IN_FLIGHT)
        threshold = self._client.settings.multipart_threshold
        written: list[str] = []

        async def upload(key: str, data: bytes, member: ArchiveMember) -> None:
            try:
                await self._client.put(bucket, key, data)
            except Exception as exc:  # one member that cannot be written: reported
                record(member, key, exc)
            else:
                record(member, key)
            finally:
                room.release()

        def record(member: ArchiveMember, key: str, error: Exception | None = None) -> None:
            source, target = f"{label}:{member.name}", f"s3://{bucket}/{key}"
            if error is None:
                written.append(key)
                run.record(ItemResult(source, target, "done", member.size))
            else:
                run.record(ItemResult(source, target, "failed", member.size, error))

        try:
            async with task_group() as tg:
                for member, handle in members:
                    key = base + member.name + ("/" if member.is_dir else "")
                    try:
                        if member.is_dir or member.size <= threshold:
                            data = b"" if member.is_dir else await anyio.to_thread.run_sync(
                                _read_member, reader, handle, member, label
                            )  # fmt: skip
                            await room.acquire()
                            tg.start_soon(upload, key, data, member)
                            continue
                        stream = await anyio.to_thread.run_sync(reader.open_member, handle)
                        chunks = _chunks(stream, member, label)
                        await self._client.put(bucket, key, chunks, size_hint=member.size)
                    except (CorruptArchiveError, UnsafeArchiveMember, S3Error) as exc:
                        record(member, key, exc)  # a multipart upload was aborted: nothing kept
                    else:
                        record(member, key)
        finally:
            self.invalidator.emit(ChangeEvent(bucket, written=tuple(written), prefixes=(base,)))


async def _chunks(stream: IO[bytes], member: ArchiveMember, label: str) -> AsyncIterator[bytes]:
    """A large member's bytes for a multipart upload: damage and a member larger than it
    declares stop it (and so abort the upload)."""
    sent = 0
    try:
        while chunk := await anyio.to_thread.run_sync(_read, stream, _CHUNK, label, member.name):
            sent += len(chunk)
            if sent > member.size:
                raise UnsafeArchiveMember(
                    f"{label}: member {member.name!r} is larger than it declares"
                )
            yield chunk
        if sent != member.size:
            raise CorruptArchiveError(f"{label}: member {member.name!r} is truncated")
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(stream.close)


def _read(stream: IO[bytes], n: int, label: str, name: str) -> bytes:
    try:
        return stream.read(n)
    except READ_ERRORS as exc:  # a bad CRC, a truncated or garbled stream
        raise CorruptArchiveError(f"{label}: member {name!r} is damaged ({exc})") from exc


def _copy_limited(stream: IO[bytes], out: IO[bytes], size: int, label: str, name: str) -> int:
    """Copy a member, refusing one that decompresses past its declared size (a bomb)."""
    written = 0
    while chunk := _read(stream, _CHUNK, label, name):
        written += len(chunk)
        if written > size:
            raise UnsafeArchiveMember(f"{label}: member {name!r} is larger than it declares")
        out.write(chunk)
    return written


def _write_member(
    reader: Any, handle: object, member: ArchiveMember, path: str, label: str
) -> None:
    """A member into ``path`` through a temporary file beside it, renamed into place
    only when whole and sound: a damaged member leaves nothing (a worker thread)."""
    if member.is_dir:
        os.makedirs(path, exist_ok=True)
        os.utime(path, (member.mtime, member.mtime))
        return
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".aios3fm-", suffix=".aios3fm")
    try:
        with reader.open_member(handle) as stream, os.fdopen(fd, "wb") as out:
            written = _copy_limited(stream, out, member.size, label, member.name)
        if written != member.size:
            raise CorruptArchiveError(f"{label}: member {member.name!r} is truncated")
        os.utime(temporary, (member.mtime, member.mtime))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _read_member(reader: Any, handle: object, member: ArchiveMember, label: str) -> bytes:
    with reader.open_member(handle) as stream:
        data = _read(stream, member.size + 1, label, member.name)
    if len(data) > member.size:
        raise UnsafeArchiveMember(f"{label}: member {member.name!r} is larger than it declares")
    if len(data) != member.size:
        raise CorruptArchiveError(f"{label}: member {member.name!r} is truncated")
    return data

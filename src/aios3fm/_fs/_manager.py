"""FileManager: the facade applications hold. It owns one S3Client (one connection pool),
one cache, one invalidator, one scheduler and the archive operations, and closes them in
order; its read and write methods live in ``_read`` and ``_write``."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from .._archive import ArchiveMember, ArchiveOperations
from .._cache import BatchedInvalidator, CacheManager, S3Cache
from .._config import AddressingStyle, GiB, Settings
from .._exceptions import InvalidLocationError, is_a_directory
from .._location import parse_location, parse_s3
from .._models import (
    BucketInfo,
    Capabilities,
    ItemResult,
    OperationResult,
    ProbeReport,
    Progress,
    Statistics,
    _frozen_counts,
)
from .._ops import Conflict, OperationHandle, OperationScheduler, Source, current_handle
from .._s3 import S3Client, probe
from ._path import S3Path
from ._read import PathLike, ReadMethods
from ._write import WriteMethods

__all__ = ["DEFAULT_MAX_RATIO", "DEFAULT_MAX_TOTAL_SIZE", "FileManager"]

DEFAULT_MAX_TOTAL_SIZE = 32 * GiB
"""What extract_archive writes at most, in all, unless told otherwise."""
DEFAULT_MAX_RATIO = 200.0
"""How many times its own size an archive may unpack to: ordinary data compresses 2-20x,
a zip bomb 1,000x or more."""


class FileManager(ReadMethods, WriteMethods):
    """An async S3 file manager; use as ``async with FileManager(...) as fm``.

    Keyword arguments override the matching fields of ``settings`` (by default
    :meth:`Settings.from_env`); see :class:`~aios3fm.Settings` for every field.

    ``endpoint_url``: S3 endpoint (``None`` for AWS). ``region``, ``profile``,
    ``addressing_style``: as in the AWS configuration. ``concurrency`` (default 64):
    requests in flight at once, for everything this FileManager does. ``cache_ttl``
    (default 60 s): how long listings and object facts are trusted. ``clock``: the
    monotonic clock the cache reads (tests inject one to drive TTLs without sleeping).
    ``capabilities``: what the endpoint honours, from an earlier :meth:`probe` (by default
    every feature ``unknown``, which is treated as AWS S3 behaves).
    """

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        addressing_style: AddressingStyle | None = None,
        concurrency: int | None = None,
        cache_ttl: float | None = None,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.monotonic,
        capabilities: Capabilities | None = None,
    ) -> None:
        base = settings if settings is not None else Settings.from_env()
        self.settings = s = base.replace(
            endpoint_url=endpoint_url,
            region=region,
            profile=profile,
            addressing_style=addressing_style,
            concurrency=concurrency,
            cache_ttl=cache_ttl,
        )
        self._client = S3Client(s, capabilities=capabilities)
        self.cache = S3Cache(
            self._client,
            max_entries=s.cache_max_entries,
            ttl=s.cache_ttl,
            negative_ttl=s.cache_negative_ttl,
            clock=clock,
        )
        self.invalidator = BatchedInvalidator(self.cache)
        self.cache_manager = CacheManager(self.invalidator)
        self.scheduler = OperationScheduler(self._client, self.cache, self.invalidator)
        self._archives = ArchiveOperations(self._client, self.invalidator)
        self._submitted: set[asyncio.Task[OperationResult]] = set()
        self._open = False

    def __repr__(self) -> str:
        state = "open" if self._open else "closed"
        return f"<FileManager {state} {self._client!r}>"

    async def __aenter__(self) -> FileManager:
        await self._client.open()
        self.invalidator.start()
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        try:
            for task in list(self._submitted):  # background operations end with their owner
                task.cancel()
            await asyncio.gather(*self._submitted, return_exceptions=True)
            await self.invalidator.aclose()
            await self.cache.aclose()
        finally:
            await self._client.close()

    # -- bulk operations ------------------------------------------------------------------

    async def copy(
        self,
        sources: PathLike | Iterable[PathLike],
        destination_dir: PathLike,
        *,
        conflict: Conflict = "overwrite",
        dry_run: bool = False,
        progress: Callable[[Progress], None] | None = None,
        follow_symlinks: bool = True,
        on_item: Callable[[ItemResult], None] | None = None,
        keep_items: bool = True,
    ) -> OperationResult:
        """Copy files, directories (recursively) and glob matches, local or S3, into
        ``destination_dir``, each under its own name (as ``cp -r SRC... DIR/``). S3 to S3
        is a server-side copy. ``conflict``: ``overwrite`` (default, no existence check),
        ``skip`` or ``error`` for destinations that exist. ``dry_run`` plans and reports
        without writing. ``progress`` is called at most ~20 times a second. One failed
        item never stops the others: see the result's ``failed``.

        A location that holds ``*``, ``?`` or ``[`` and exists as typed means itself;
        otherwise it is a pattern (``[*]`` matches a literal ``*``). A source whose
        destination lies inside it is refused, and so is an item whose source and
        destination are the same object. Local symlinks are followed (as aws s3 does),
        except loops and links to directories outside the tree; ``follow_symlinks=False``
        skips them. Every entry left alone is in the result's ``skipped``, with why.

        ``on_item`` is called with each ItemResult as it settles (in the event loop: keep
        it quick). ``keep_items=False`` keeps only counts in the result (its ``counts``,
        ``objects``, ``bytes``; the item tuples stay empty), so a job of millions of
        objects holds its memory flat: what the CLI does. An exception raised by
        ``on_item`` or ``progress`` neither fails an item nor stops the work: the callback
        is not called again, and the exception is raised when the operation has ended and
        cleaned up."""
        return await self.scheduler.run(
            "copy",
            _sources(sources),
            str(destination_dir),
            conflict=conflict,
            dry_run=dry_run,
            progress=progress,
            follow_symlinks=follow_symlinks,
            on_item=on_item,
            keep_items=keep_items,
        )

    async def move(
        self,
        sources: PathLike | Iterable[PathLike],
        destination_dir: PathLike,
        *,
        conflict: Conflict = "overwrite",
        dry_run: bool = False,
        progress: Callable[[Progress], None] | None = None,
        follow_symlinks: bool = True,
        on_item: Callable[[ItemResult], None] | None = None,
        keep_items: bool = True,
    ) -> OperationResult:
        """As :meth:`copy`, then each source is deleted, only once its copy is verified
        (size, and checksum where S3 gives one), and only in the version that was copied:
        an S3 source must still have the ETag it was copied with (a conditional delete),
        a local one its size, mtime (ns) and inode; a source changed meanwhile is kept and
        its item fails saying so. A source whose copy failed stays. A symlink to a file
        is copied and then removed (the file it points to stays); a symlink to a
        directory is skipped, never followed."""
        return await self.scheduler.run(
            "move",
            _sources(sources),
            str(destination_dir),
            conflict=conflict,
            dry_run=dry_run,
            progress=progress,
            follow_symlinks=follow_symlinks,
            on_item=on_item,
            keep_items=keep_items,
        )

    async def delete(
        self,
        paths: PathLike | Iterable[PathLike],
        *,
        dry_run: bool = False,
        progress: Callable[[Progress], None] | None = None,
        if_unchanged: bool = False,
        on_item: Callable[[ItemResult], None] | None = None,
        keep_items: bool = True,
    ) -> OperationResult:
        """Delete files and directories (recursively) and glob matches. S3 objects go in
        DeleteObjects batches of 1000; every per-key error is reported in the result.
        ``if_unchanged``: only in the version the listing showed (S3: its ETag; local:
        size, mtime and inode); what changed meanwhile is kept and reported. A symlink is
        removed itself, never followed. ``on_item`` and ``keep_items`` as for :meth:`copy`."""
        return await self.scheduler.run(
            "delete", _sources(paths), None, dry_run=dry_run, progress=progress,
            if_unchanged=if_unchanged, on_item=on_item, keep_items=keep_items,
        )  # fmt: skip

    async def copy_file(
        self,
        source: PathLike,
        destination: PathLike,
        *,
        conflict: Conflict = "overwrite",
        dry_run: bool = False,
        progress: Callable[[Progress], None] | None = None,
        on_item: Callable[[ItemResult], None] | None = None,
    ) -> OperationResult:
        """Copy one file (local or S3) to the exact name ``destination`` (local or S3), with
        the same conflict handling, verification and invalidation as :meth:`copy`."""
        return await self._to_name(
            "copy", source, destination, conflict, dry_run, progress, on_item
        )

    async def move_file(
        self,
        source: PathLike,
        destination: PathLike,
        *,
        conflict: Conflict = "overwrite",
        dry_run: bool = False,
        progress: Callable[[Progress], None] | None = None,
        on_item: Callable[[ItemResult], None] | None = None,
    ) -> OperationResult:
        """As :meth:`copy_file`, then the source is deleted once its copy is verified."""
        return await self._to_name(
            "move", source, destination, conflict, dry_run, progress, on_item
        )

    async def _to_name(
        self,
        kind: Literal["copy", "move"],
        source: PathLike,
        destination: PathLike,
        conflict: Conflict,
        dry_run: bool,
        progress: Callable[[Progress], None] | None,
        on_item: Callable[[ItemResult], None] | None,
    ) -> OperationResult:
        target = parse_location(destination)
        text = str(target)
        if isinstance(target, Path):
            parent, name = str(target.parent), target.name
        else:
            if not target.bucket or not target.key or target.key.endswith("/"):
                raise InvalidLocationError(f"{text}: a file name is needed, not a directory")
            parent, _, name = text.rpartition("/")
            parent += "/"
        info = await self.stat(source)
        if info.is_dir:
            raise is_a_directory(source, kind, "use copy or move for directories")
        spec = Source(str(source), name=name, info=info if info.bucket else None)
        return await self.scheduler.run(
            kind, [spec], parent, conflict=conflict, dry_run=dry_run, progress=progress,
            on_item=on_item,
        )  # fmt: skip

    # -- archives -------------------------------------------------------------------------

    async def create_archive(
        self,
        sources: PathLike | Iterable[PathLike],
        archive_path: PathLike,
        *,
        format: str | None = None,
        progress: Callable[[Progress], None] | None = None,
        on_item: Callable[[ItemResult], None] | None = None,
        keep_items: bool = True,
    ) -> OperationResult:
        """Write the sources (files, directories, globs; local or S3) into a zip or tar
        archive, local or on S3, each under its own name (``s3://b/t/`` becomes members
        ``t/...``). The format comes from the suffix (.zip, .tar, .tar.gz/.tgz,
        .tar.bz2/.tbz2, .tar.xz/.txz) or ``format=``. ``on_item`` and ``keep_items`` as
        for :meth:`copy`."""
        return await self._archives.create(
            _texts(sources), str(archive_path), format=format, progress=progress,
            on_item=on_item, keep_items=keep_items,
        )  # fmt: skip

    async def extract_archive(
        self,
        archive_path: PathLike,
        destination_dir: PathLike,
        *,
        format: str | None = None,
        max_total_size: int | None = DEFAULT_MAX_TOTAL_SIZE,
        max_ratio: float | None = DEFAULT_MAX_RATIO,
        progress: Callable[[Progress], None] | None = None,
        on_item: Callable[[ItemResult], None] | None = None,
        keep_items: bool = True,
    ) -> OperationResult:
        """Recreate the members under ``destination_dir`` (local, or S3 where directories
        become markers; local files keep their mtimes). The whole archive is refused with
        UnsafeArchiveMember, before anything is written, if a member has an absolute name,
        climbs out with ``..``, is a link, a device or a fifo, or if the members add up
        past ``max_total_size`` bytes (32 GiB) or past ``max_ratio`` (200) times the
        archive's own size, as a bomb does (``None`` lifts either bound). A name that is
        both a file and a directory refuses it with CorruptArchiveError. A damaged member
        fails its item and leaves nothing behind (members are written under temporary
        names and renamed into place when whole); the others are extracted. ``on_item``
        and ``keep_items`` as for :meth:`copy`."""
        return await self._archives.extract(
            str(archive_path), str(destination_dir), format=format,
            max_total_size=max_total_size, max_ratio=max_ratio, progress=progress,
            on_item=on_item, keep_items=keep_items,
        )  # fmt: skip

    async def list_archive(
        self, archive_path: PathLike, *, format: str | None = None
    ) -> list[ArchiveMember]:
        """The members (name, size, mtime, is_dir) without extracting anything."""
        return await self._archives.members(str(archive_path), format=format)

    # -- background operations, paths, statistics --------------------------------------

    def submit(self, operation: Coroutine[Any, Any, OperationResult]) -> OperationHandle:
        """Run ``fm.copy(...)``, ``fm.move(...)`` or ``fm.delete(...)`` in the background:
        ``handle = fm.submit(fm.copy(src, dst))``; ``await handle`` for the result,
        ``handle.cancel()`` to stop it (the result lists what completed), and
        ``handle.progress`` to watch it. The FileManager owns the task: closing it cancels."""
        handle = OperationHandle()

        async def runner() -> OperationResult:
            current_handle.set(handle)
            return await operation

        task = asyncio.get_running_loop().create_task(runner())
        self._submitted.add(task)
        task.add_done_callback(self._submitted.discard)
        handle.task = task
        return handle

    def path(self, location: PathLike) -> S3Path:
        """An :class:`S3Path` for an ``s3://`` location or a local path."""
        return S3Path(self, location)

    @property
    def client(self) -> S3Client:
        """The S3Client under this FileManager (uncached; every call is an API call)."""
        return self._client

    def statistics(self) -> Statistics:
        """API calls by S3 operation name, the HTTP requests they sent, and the cache's
        counters."""
        return Statistics(
            api_calls=_frozen_counts(self._client.api_calls),
            requests_sent=_frozen_counts(self._client.requests_sent),
            cache=self.cache.statistics(),
            invalidator=self.invalidator.statistics(),
        )

    @property
    def capabilities(self) -> Capabilities:
        """What the endpoint honours, as the last :meth:`probe` found it (or as given)."""
        return self._client.capabilities

    async def probe(self, bucket: str) -> ProbeReport:
        """Check what the endpoint honours, in ``bucket`` (a name or ``s3://name``), under
        a temporary prefix removed afterwards: conditional PUT, CopyObject and deletes,
        flexible checksums, Content-MD5 on DeleteObjects, UploadPartCopy, the order of
        listings and ``StartAfter``; about 30 requests. The capabilities found are in
        force for this FileManager from then on: where a conditional request is ignored
        or refused, writes and deletes check first (not atomic, said in each result's
        ``notes``) instead of trusting it."""
        name = _bucket_name(bucket)
        try:
            return await probe(self._client, name)
        finally:
            self.cache.invalidate_bucket(name)

    async def list_buckets(self) -> list[BucketInfo]:
        """The buckets, through the cache."""
        return await self.cache.list_buckets()

    async def make_bucket(self, bucket: str) -> None:
        """Create ``bucket`` (a name, or ``s3://name``) in the configured region."""
        bucket = _bucket_name(bucket)
        try:
            await self._client.make_bucket(bucket)
        finally:
            self.cache.invalidate_bucket(bucket)

    async def remove_bucket(self, bucket: str) -> None:
        """Delete an empty ``bucket`` (a name, or ``s3://name``; DirectoryNotEmptyError
        when it is not empty)."""
        bucket = _bucket_name(bucket)
        try:
            await self._client.remove_bucket(bucket)
        finally:
            self.cache.invalidate_bucket(bucket)


def _bucket_name(text: str) -> str:
    """``name`` for ``name``, ``s3://name`` or ``s3://name/``; InvalidLocationError for a
    bucket name S3 refuses, or a location with a key."""
    location = parse_s3(text if text.startswith("s3://") else f"s3://{text}")
    if not location.bucket or location.key:
        raise InvalidLocationError(f"{text!r} is not a bucket (a name, or s3://name)")
    return location.bucket


def _texts(sources: PathLike | Iterable[PathLike]) -> list[str]:
    if isinstance(sources, (str, os.PathLike)):
        return [str(sources)]
    return [str(s) for s in sources]


def _sources(sources: PathLike | Iterable[PathLike]) -> list[Source]:
    return [Source(text) for text in _texts(sources)]

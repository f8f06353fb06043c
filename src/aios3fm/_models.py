"""Plain, frozen values that the client returns and the rest of the package passes around."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "BucketInfo",
    "Capabilities",
    "ProbeReport",
    "ProbeRow",
    "Support",
    "CacheStatistics",
    "Entry",
    "InvalidatorStatistics",
    "ItemResult",
    "OperationResult",
    "Progress",
    "DeleteError",
    "DeleteResult",
    "DirListing",
    "DiskUsage",
    "ObjectInfo",
    "PutResult",
    "Statistics",
]


def _frozen_counts(counts: Mapping[str, int] | None = None) -> Mapping[str, int]:
    return MappingProxyType(dict(sorted((counts or {}).items())))


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What S3 says about one object (or a directory, when ``is_dir``).

    ``mtime`` is seconds since the epoch; ``etag`` is unquoted; a directory known only as
    a common prefix has ``size == 0``, ``mtime is None`` and ``etag is None``.
    """

    bucket: str
    key: str
    size: int
    mtime: float | None
    etag: str | None
    is_dir: bool = False

    @property
    def location(self) -> str:
        """``s3://bucket/key``; for a local file (``bucket == ""``) its path."""
        return f"s3://{self.bucket}/{self.key}" if self.bucket else self.key

    @property
    def name(self) -> str:
        return self.key.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class Entry:
    """One child in a directory listing: a file, or a directory (``is_dir``, name without ``/``).

    ``location`` is the full ``s3://bucket/key`` of the child (ending in ``/`` for a
    directory); ``size``, ``mtime`` and ``etag`` are as in :class:`ObjectInfo`.
    """

    name: str
    location: str
    is_dir: bool
    size: int
    mtime: float | None
    etag: str | None

    @classmethod
    def from_info(cls, info: ObjectInfo) -> Entry:
        return cls(info.name, info.location, info.is_dir, info.size, info.mtime, info.etag)


@dataclass(frozen=True, slots=True)
class BucketInfo:
    name: str
    created: float | None


@dataclass(frozen=True, slots=True)
class DirListing:
    """One complete ``Delimiter='/'`` listing of ``prefix`` in ``bucket``.

    ``files`` are the objects directly under the prefix, ``dirs`` the sub-directories as
    full prefixes ending in ``/``. The directory's own marker object (key == prefix) is
    never among ``files``; it is ``marker`` instead.
    """

    bucket: str
    prefix: str
    files: tuple[ObjectInfo, ...]
    dirs: tuple[str, ...]
    marker: ObjectInfo | None = None

    @property
    def exists(self) -> bool:
        """True when anything lives under the prefix (or the prefix is the bucket root)."""
        return self.prefix == "" or bool(self.files or self.dirs or self.marker)


@dataclass(frozen=True, slots=True)
class DiskUsage:
    """What ``du`` counts: bytes and files at or under a location (markers not counted)."""

    bytes: int
    files: int


@dataclass(frozen=True, slots=True)
class PutResult:
    bucket: str
    key: str
    size: int
    etag: str
    parts: int = 0
    """Number of parts when written by a multipart upload or copy, else 0."""


@dataclass(frozen=True, slots=True)
class DeleteError:
    key: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class DeleteResult:
    bucket: str
    deleted: tuple[str, ...]
    errors: tuple[DeleteError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class CacheStatistics:
    """Counters of an S3Cache. ``hits``/``misses`` count lookups the store could or could
    not answer; of the misses, ``coalesced`` joined a call already in flight instead of
    making their own, and ``joins_refused`` did not join one because it began before a
    change to their entry; ``stale_fills_dropped`` the answers not stored because an
    invalidation covering them came while their call was in flight, and
    ``late_fills_dropped`` those that arrived after their TTL, counted from when the call
    began, had run out; ``removed_by_invalidation`` the entries invalidations removed;
    ``oversized_listings`` the listings served but not stored for being bigger than the
    bound; ``entries`` counts as the bound does (a listing as its number of children)."""

    hits: int = 0
    misses: int = 0
    stale_fills_dropped: int = 0
    late_fills_dropped: int = 0
    evictions: int = 0
    expirations: int = 0
    invalidations: int = 0
    removed_by_invalidation: int = 0
    oversized_listings: int = 0
    coalesced: int = 0
    joins_refused: int = 0
    entries: int = 0
    max_entries: int = 0


@dataclass(frozen=True, slots=True)
class InvalidatorStatistics:
    """Counters of the BatchedInvalidator: events received, batches applied, keys and
    prefixes invalidated, keys dropped because a prefix of the same batch covered them,
    and invalidation errors (logged, never raised)."""

    events: int = 0
    batches: int = 0
    keys_invalidated: int = 0
    prefixes_invalidated: int = 0
    keys_covered_by_prefixes: int = 0
    errors: int = 0


@dataclass(frozen=True)
class Statistics:
    """A snapshot of a FileManager's counters.

    ``api_calls`` counts S3 API calls by operation name, one per call whatever botocore
    retried underneath; ``requests_sent`` counts the HTTP requests those calls sent
    (retries included), which is what a server counts.
    """

    api_calls: Mapping[str, int] = field(default_factory=_frozen_counts)
    requests_sent: Mapping[str, int] = field(default_factory=_frozen_counts)
    cache: CacheStatistics = field(default_factory=CacheStatistics)
    invalidator: InvalidatorStatistics = field(default_factory=lambda: InvalidatorStatistics())

    @property
    def total_api_calls(self) -> int:
        return sum(self.api_calls.values())

    @property
    def retries(self) -> int:
        return sum(self.requests_sent.values()) - self.total_api_calls


ItemStatus = Literal["done", "skipped", "failed", "planned"]


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One object (or directory) of an operation: where from, where to, what happened.

    ``status`` is ``done``, ``skipped`` (``reason`` says why), ``failed`` (``error`` holds
    the exception) or ``planned`` (a dry run).
    """

    source: str
    destination: str | None
    status: ItemStatus
    size: int = 0
    error: BaseException | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Progress:
    """How far an operation is: ``objects_total``/``bytes_total`` are None until every
    source has been expanded."""

    objects_done: int = 0
    bytes_done: int = 0
    objects_total: int | None = None
    bytes_total: int | None = None
    failed: int = 0


@dataclass(frozen=True)
class OperationResult:
    """Everything an operation did: every success, skip and failure, and its cost.

    ``counts`` holds how many items ended in each status (``done``, ``skipped``,
    ``failed``, ``planned``). It is the truth when the operation ran with
    ``keep_items=False``: the item tuples are then empty (each item went to ``on_item``
    as it settled), while ``objects``, ``ok`` and the counts still say what happened.
    """

    operation: str
    succeeded: tuple[ItemResult, ...]
    skipped: tuple[ItemResult, ...]
    failed: tuple[ItemResult, ...]
    planned: tuple[ItemResult, ...]
    bytes: int
    duration: float
    api_calls: Mapping[str, int]
    cancelled: bool = False
    dry_run: bool = False
    counts: Mapping[ItemStatus, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    """What the endpoint could not guarantee for this operation (from its capabilities,
    see :meth:`FileManager.probe`): e.g. a conflict check that was not atomic."""

    def __post_init__(self) -> None:
        if not self.counts:  # built from the items alone: count them
            kept = {
                "done": self.succeeded,
                "skipped": self.skipped,
                "failed": self.failed,
                "planned": self.planned,
            }
            object.__setattr__(self, "counts", {k: len(v) for k, v in kept.items()})

    @property
    def objects(self) -> int:
        """Objects (and directories) done."""
        return self.counts.get("done", 0)

    @property
    def ok(self) -> bool:
        return not self.counts.get("failed", 0) and not self.cancelled

    def raise_for_errors(self) -> None:
        """Raise OperationError (from the first item's error) if any item failed."""
        if self.counts.get("failed", 0):
            from ._exceptions import OperationError

            first = self.failed[0] if self.failed else None
            raise OperationError(self) from (first.error if first else None)


Support = Literal["supported", "ignored", "refused", "unknown"]
"""How an endpoint treats a feature: honours it, accepts the request but ignores the
feature (a conditional header, say), refuses the request, or not probed (``unknown``,
treated as S3 treats it)."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What an S3 endpoint honours, as :meth:`FileManager.probe` found it.

    ``unknown`` (the default of every field) is treated as AWS S3 behaves. Where a
    conditional request is ``ignored`` or ``refused``, aios3fm checks with a request of
    its own before writing or deleting instead, and says in each OperationResult's
    ``notes`` that the check was not atomic.
    """

    conditional_put: Support = "unknown"
    """``If-None-Match: *`` on PutObject and CompleteMultipartUpload."""
    conditional_copy: Support = "unknown"
    """``If-None-Match: *`` on CopyObject."""
    conditional_delete: Support = "unknown"
    """``If-Match`` on DeleteObject."""
    conditional_delete_batch: Support = "unknown"
    """The per-key ``ETag`` of DeleteObjects."""
    checksum_trailers: Support = "unknown"
    """Flexible checksums (``x-amz-checksum-*``, aws-chunked trailers) on uploads."""
    delete_content_md5: Support = "unknown"
    """DeleteObjects with ``Content-MD5`` (aios3fm always sends it)."""
    multipart_copy: Support = "unknown"
    """UploadPartCopy."""
    ordered_listing: Support = "unknown"
    """ListObjectsV2 pages in lexicographic key order."""
    start_after: Support = "unknown"
    """ListObjectsV2 ``StartAfter``."""

    def honours(self, name: str) -> bool:
        """Whether the feature ``name`` (a field) may be relied on: supported or unknown."""
        value: Support = getattr(self, name)
        return value in ("supported", "unknown")


@dataclass(frozen=True, slots=True)
class ProbeRow:
    """One check of a probe: ``feature`` (a field of Capabilities), what was sent
    (``check``), how the endpoint answered (``outcome``, ``detail``) and what aios3fm
    does about it (``effect``)."""

    feature: str
    check: str
    outcome: Support | Literal["failed"]
    detail: str
    effect: str


@dataclass(frozen=True, slots=True)
class ProbeReport:
    """What :meth:`FileManager.probe` found: one row per check, the resulting
    capabilities (now in force for that FileManager), the API calls it made, and whether
    its temporary prefix was removed afterwards (``cleaned``)."""

    bucket: str
    prefix: str
    rows: tuple[ProbeRow, ...]
    capabilities: Capabilities
    api_calls: Mapping[str, int]
    cleaned: bool

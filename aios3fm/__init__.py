"""aios3fm: an async-first S3 file-manager core.

The whole public surface is re-exported here; everything else is private.
"""

from ._archive_formats import ArchiveMember
from ._cache import S3Cache
from ._cache_manager import CacheManager
from ._client import S3Client
from ._config import GiB, KiB, MiB, Settings
from ._embedded import EmbeddedCredentials, EmbeddedS3
from ._events import ChangeEvent
from ._exceptions import (
    AccessDeniedError,
    AioS3FMError,
    AlreadyExistsError,
    BucketNotFoundError,
    CorruptArchiveError,
    DirectoryNotEmptyError,
    InvalidLocationError,
    InvalidRangeError,
    InvalidRequestError,
    IsADirectoryS3Error,
    MissingDependencyError,
    NotADirectoryS3Error,
    NotFoundError,
    OperationError,
    PreconditionFailedError,
    S3Error,
    TransientError,
    UnsafeArchiveMember,
    UnsafeKeyError,
)
from ._fs import FileReader
from ._invalidator import BatchedInvalidator
from ._manager import FileManager
from ._models import (
    BucketInfo,
    CacheStatistics,
    DeleteError,
    DeleteResult,
    DirListing,
    DiskUsage,
    Entry,
    InvalidatorStatistics,
    ItemResult,
    ObjectInfo,
    OperationResult,
    Progress,
    PutResult,
    Statistics,
)
from ._objects import ObjectReader
from ._ops import OperationHandle, OperationScheduler
from ._path import S3Path
from ._runner import run

__version__ = "0.1.0.dev0"

__all__ = [
    # entry points
    "FileManager",
    "run",
    "S3Path",
    "S3Client",
    "S3Cache",
    "CacheManager",
    "BatchedInvalidator",
    "OperationScheduler",
    "OperationHandle",
    "EmbeddedS3",
    "EmbeddedCredentials",
    "Settings",
    # values
    "ArchiveMember",
    "BucketInfo",
    "CacheStatistics",
    "ChangeEvent",
    "InvalidatorStatistics",
    "DeleteError",
    "DeleteResult",
    "DirListing",
    "DiskUsage",
    "Entry",
    "FileReader",
    "ItemResult",
    "ObjectInfo",
    "OperationResult",
    "Progress",
    "ObjectReader",
    "PutResult",
    "Statistics",
    # errors
    "AioS3FMError",
    "S3Error",
    "NotFoundError",
    "OperationError",
    "BucketNotFoundError",
    "AlreadyExistsError",
    "AccessDeniedError",
    "IsADirectoryS3Error",
    "NotADirectoryS3Error",
    "DirectoryNotEmptyError",
    "PreconditionFailedError",
    "InvalidRangeError",
    "InvalidRequestError",
    "TransientError",
    "UnsafeArchiveMember",
    "UnsafeKeyError",
    "CorruptArchiveError",
    "InvalidLocationError",
    "MissingDependencyError",
    # sizes
    "KiB",
    "MiB",
    "GiB",
]

"""aios3fm: an async-first S3 file-manager core.

The whole public surface is re-exported here; everything else is private. Names are
imported on first use (PEP 562), so ``import aios3fm`` and the command line's ``--help``
load neither botocore nor aiohttp until something needs them.
"""

import importlib as _importlib
from typing import TYPE_CHECKING

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
    "Capabilities",
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
    "ProbeReport",
    "ProbeRow",
    "Progress",
    "ObjectReader",
    "PutResult",
    "Statistics",
    "Support",
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

_ERRORS = (
    "AioS3FMError", "S3Error", "NotFoundError", "OperationError", "BucketNotFoundError",
    "AlreadyExistsError", "AccessDeniedError", "IsADirectoryS3Error", "NotADirectoryS3Error",
    "DirectoryNotEmptyError", "PreconditionFailedError", "InvalidRangeError",
    "InvalidRequestError", "TransientError", "UnsafeArchiveMember", "UnsafeKeyError",
    "CorruptArchiveError", "InvalidLocationError", "MissingDependencyError",
)  # fmt: skip
_VALUES = (
    "BucketInfo", "CacheStatistics", "InvalidatorStatistics", "DeleteError", "DeleteResult",
    "DirListing", "DiskUsage", "Entry", "ItemResult", "ObjectInfo", "OperationResult",
    "Progress", "PutResult", "Statistics", "Capabilities", "ProbeReport", "ProbeRow", "Support",
)  # fmt: skip

# public name -> the module that defines it
_SOURCES: dict[str, str] = {
    "FileManager": "._fs",
    "S3Path": "._fs",
    "FileReader": "._fs",
    "run": "._runner",
    "S3Client": "._s3",
    "ObjectReader": "._s3",
    "S3Cache": "._cache",
    "CacheManager": "._cache",
    "BatchedInvalidator": "._cache",
    "OperationScheduler": "._ops",
    "OperationHandle": "._ops",
    "EmbeddedS3": "._server",
    "EmbeddedCredentials": "._server",
    "ArchiveMember": "._archive",
    "ChangeEvent": "._events",
    "Settings": "._config",
    "KiB": "._config",
    "MiB": "._config",
    "GiB": "._config",
    **dict.fromkeys(_ERRORS, "._exceptions"),
    **dict.fromkeys(_VALUES, "._models"),
}

if TYPE_CHECKING:
    from ._archive import ArchiveMember
    from ._cache import BatchedInvalidator, CacheManager, S3Cache
    from ._config import GiB, KiB, MiB, Settings
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
    from ._fs import FileManager, FileReader, S3Path
    from ._models import (
        BucketInfo,
        CacheStatistics,
        Capabilities,
        DeleteError,
        DeleteResult,
        DirListing,
        DiskUsage,
        Entry,
        InvalidatorStatistics,
        ItemResult,
        ObjectInfo,
        OperationResult,
        ProbeReport,
        ProbeRow,
        Progress,
        PutResult,
        Statistics,
        Support,
    )
    from ._ops import OperationHandle, OperationScheduler
    from ._runner import run
    from ._s3 import ObjectReader, S3Client
    from ._server import EmbeddedCredentials, EmbeddedS3


def __getattr__(name: str) -> object:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'aios3fm' has no attribute {name!r}")
    value = getattr(_importlib.import_module(source, __name__), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    """The public names and the module's dunders (the helpers above stay out of sight)."""
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})

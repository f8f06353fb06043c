"""The archive layer: zip and the tar family, local or on S3, streaming and safe.

Promises: formats are synchronous code for worker threads (``_formats``), every member is
checked before anything is extracted, and the operations (``_operations``) report results,
progress and cancellation through ``aios3fm._ops``' Run like every other operation.
May import: ``aios3fm._ops``, ``aios3fm._cache``, ``aios3fm._s3`` and the floor.
"""

from ._formats import ArchiveMember
from ._operations import ArchiveOperations

__all__ = ["ArchiveMember", "ArchiveOperations"]

"""The operations layer: copy, move and delete of many objects, and what they share.

Promises: sources expanded page by page into bounded queues (``_plan``), bytes moved for
every pair of local and S3 locations (``_transfer``), one scheduler with one move path
(``_scheduler``), and the per-item results, progress and cancellation every operation
reports (``_run``, which the archive layer builds on too).
May import: ``aios3fm._cache``, ``aios3fm._s3`` and the floor.
"""

from ._plan import Glob, Item, Missing, Refused, Source, expand, local_target
from ._run import OperationHandle, ProgressCallback, Run, current_handle
from ._scheduler import Conflict, OperationKind, OperationScheduler
from ._transfer import download, file_chunks

__all__ = [
    "Conflict",
    "Glob",
    "Item",
    "Missing",
    "OperationHandle",
    "OperationKind",
    "OperationScheduler",
    "ProgressCallback",
    "Refused",
    "Run",
    "Source",
    "current_handle",
    "download",
    "expand",
    "file_chunks",
    "local_target",
]

"""The operations layer: copy, move and delete of many objects, and what they share.

Promises: sources expanded page by page into bounded queues, every entry of a source
tree accounted for (``_items``: an item, missing, refused or skipped with its reason;
``_plan``, ``_local_plan``, ``_glob``, ``_names``), bytes moved for every pair of local and
S3 locations (``_transfer``), one scheduler with one move path that deletes only the
version it copied (``_scheduler``, ``_deletes``), and the per-item results, progress and
cancellation every operation reports (``_run``, which the archive layer builds on too).
May import: ``aios3fm._cache``, ``aios3fm._s3`` and the floor.
"""

from ._glob import Glob
from ._items import Item, Missing, Planned, Refused, Skipped, Source
from ._names import escapes, local_target
from ._plan import Policy, expand
from ._run import ItemCallback, OperationHandle, ProgressCallback, Run, current_handle
from ._scheduler import Conflict, OperationKind, OperationScheduler
from ._transfer import download, file_chunks

__all__ = [
    "Conflict",
    "Glob",
    "Item",
    "ItemCallback",
    "Missing",
    "OperationHandle",
    "OperationKind",
    "OperationScheduler",
    "Planned",
    "Policy",
    "ProgressCallback",
    "Refused",
    "Run",
    "Skipped",
    "Source",
    "current_handle",
    "download",
    "escapes",
    "expand",
    "file_chunks",
    "local_target",
]

"""The file-system layer: FileManager, the facade applications hold, and S3Path.

Promises: every method takes an ``s3://`` location or a local path with the same
semantics and exceptions (``_local`` is the synchronous local twin, run in worker
threads); reads go through the cache (``_read``); writes emit change events and return
only once they are applied (``_write``); bulk work goes to the scheduler and archives.
May import: ``aios3fm._archive``, ``_ops``, ``_cache``, ``_s3`` and the floor; never
``aios3fm._server`` or ``aios3fm._cli``.
"""

from ._manager import FileManager
from ._path import S3Path
from ._read import FileReader

__all__ = ["FileManager", "FileReader", "S3Path"]

"""The cache layer: what is known of S3, kept true.

Promises: a synchronous TTL + LRU store (no I/O, no await) with one canonical entry per
fact; S3Cache, which owns every fill (HEADs, listings, bucket lists, recursive trees) and
coalesces concurrent misses into one call; the BatchedInvalidator that applies change
events; and CacheManager, the per-operation invalidation API.
May import: ``aios3fm._s3`` and the floor.
"""

from ._cache import S3Cache
from ._invalidator import BatchedInvalidator
from ._manager import CacheManager
from ._store import MISS, CacheStore, dir_form, parent_dir
from ._tree import Tree

__all__ = [
    "MISS",
    "BatchedInvalidator",
    "CacheManager",
    "CacheStore",
    "S3Cache",
    "Tree",
    "dir_form",
    "parent_dir",
]
